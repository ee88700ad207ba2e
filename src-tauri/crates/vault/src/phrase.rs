//! The recovery phrase: the seed as 24 BIP-39 English words with a built-in checksum.
//!
//! 256 bits of seed are the BIP-39 entropy, so the phrase *is* the seed (no PBKDF2 stretching
//! as in BIP-39 wallets: we never use the BIP-39 "seed", only its entropy). Parsing names each
//! problem precisely so the user can fix the exact word they mistyped.

use bip39::{Language, Mnemonic};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::seed::{Seed, SEED_LEN};

/// Words in a phrase: 256 bits of entropy + 8 checksum bits = 24 x 11 bits.
pub const WORD_COUNT: usize = 24;

/// How many close list words an unknown word suggests.
const MAX_SUGGESTIONS: usize = 3;

/// A valid 24-word recovery phrase. Not `Clone`; zeroized on drop; `Debug` is redacted.
pub struct RecoveryPhrase {
    // Each word is from the public list; the secret is their order, held here.
    indices: Zeroizing<Vec<u16>>,
}

impl std::fmt::Debug for RecoveryPhrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveryPhrase([redacted])")
    }
}

/// A word of the typed phrase that is not in the BIP-39 English list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UnknownWord {
    /// 1-based position in the phrase as typed.
    pub position: usize,
    /// The word as typed (lower-cased).
    pub word: String,
    /// The closest list words by prefix and edit distance, best first (may be empty).
    pub suggestions: Vec<String>,
}

/// Why a typed recovery phrase was not accepted. Messages name the problem and the fix.
/// The typed words may be close to the real ones: show them to the user, do not log them.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize)]
pub enum PhraseError {
    /// Not 24 words.
    #[error(
        "The recovery phrase has {found} words; an Emergency Kit has {expected}. Check for a \
         missing, doubled or split word."
    )]
    WrongWordCount {
        /// Words found.
        found: usize,
        /// Words expected (24).
        expected: usize,
    },
    /// Some words are not in the word list.
    #[error("{}", describe_unknown(.0))]
    UnknownWords(Vec<UnknownWord>),
    /// Every word is valid but the checksum does not match: a word is wrong or out of order.
    #[error(
        "The recovery phrase does not check out: every word is a valid word, but one of them is \
         wrong or two are swapped. Compare each word and its number with your Emergency Kit."
    )]
    ChecksumMismatch,
}

fn describe_unknown(words: &[UnknownWord]) -> String {
    let mut out = String::new();
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&format!(
            "Word {} (\"{}\") is not in the word list.",
            w.position, w.word
        ));
        if !w.suggestions.is_empty() {
            out.push_str(&format!(" Did you mean: {}?", w.suggestions.join(", ")));
        }
    }
    out
}

impl RecoveryPhrase {
    /// The phrase of `seed`.
    pub fn from_seed(seed: &Seed) -> Self {
        // 32 bytes is always a valid BIP-39 entropy length, so this cannot fail; map the
        // impossible case to an empty phrase rather than panic, and let tests catch it.
        let indices = Mnemonic::from_entropy_in(Language::English, seed.as_bytes())
            .map(|m| m.word_indices().map(|i| i as u16).collect::<Vec<_>>())
            .unwrap_or_default();
        Self {
            indices: Zeroizing::new(indices),
        }
    }

    /// Parses a typed phrase: case and spacing are free, numbering such as `1.` or `2)` is
    /// ignored, and a unique prefix of at least 4 letters stands for its word (BIP-39 words
    /// are unique in their first 4 letters).
    pub fn parse(input: &str) -> Result<Self, PhraseError> {
        let lowered = Zeroizing::new(input.to_lowercase());
        let tokens: Vec<&str> = lowered
            .split(|c: char| c.is_whitespace() || c == ',' || c == ';')
            .filter(|t| !t.is_empty() && !is_numbering(t))
            .collect();
        if tokens.len() != WORD_COUNT {
            return Err(PhraseError::WrongWordCount {
                found: tokens.len(),
                expected: WORD_COUNT,
            });
        }
        let lang = Language::English;
        let mut indices = Zeroizing::new(Vec::with_capacity(WORD_COUNT));
        let mut unknown = Vec::new();
        for (i, t) in tokens.iter().enumerate() {
            match lookup(t) {
                Some(idx) => indices.push(idx),
                None => unknown.push(UnknownWord {
                    position: i + 1,
                    word: (*t).to_owned(),
                    suggestions: suggest(t).into_iter().map(str::to_owned).collect(),
                }),
            }
        }
        if !unknown.is_empty() {
            return Err(PhraseError::UnknownWords(unknown));
        }
        // Re-join the canonical words and let bip39 check the checksum.
        let list = lang.word_list();
        let canonical = Zeroizing::new(
            indices
                .iter()
                .map(|&i| list[usize::from(i)])
                .collect::<Vec<_>>()
                .join(" "),
        );
        match Mnemonic::parse_in_normalized(lang, &canonical) {
            Ok(_) => Ok(Self { indices }),
            Err(bip39::Error::InvalidChecksum) => Err(PhraseError::ChecksumMismatch),
            // Count and words were checked above; anything else is a checksum-class failure.
            Err(_) => Err(PhraseError::ChecksumMismatch),
        }
    }

    /// The seed this phrase encodes.
    pub fn to_seed(&self) -> Seed {
        let mut entropy = Zeroizing::new([0u8; SEED_LEN]);
        // 24 words x 11 bits: the first 256 bits are the entropy, the last 8 the checksum.
        let mut acc: u32 = 0;
        let mut bits = 0;
        let mut pos = 0;
        for &idx in self.indices.iter() {
            acc = (acc << 11) | u32::from(idx & 0x7ff);
            bits += 11;
            while bits >= 8 && pos < SEED_LEN {
                bits -= 8;
                entropy[pos] = (acc >> bits) as u8;
                pos += 1;
            }
            acc &= (1 << bits) - 1;
        }
        zeroize::Zeroize::zeroize(&mut acc);
        Seed::from_bytes(*entropy)
    }

    /// The words in order.
    pub fn words(&self) -> Vec<&'static str> {
        let list = Language::English.word_list();
        self.indices.iter().map(|&i| list[usize::from(i)]).collect()
    }

    /// The word at 1-based `position`.
    pub fn word(&self, position: usize) -> Option<&'static str> {
        let list = Language::English.word_list();
        position
            .checked_sub(1)
            .and_then(|p| self.indices.get(p))
            .map(|&i| list[usize::from(i)])
    }

    /// Whether `typed` is the word at 1-based `position` (same rules as [`Self::parse`]).
    pub fn word_matches(&self, position: usize, typed: &str) -> bool {
        let want = position.checked_sub(1).and_then(|p| self.indices.get(p));
        match (want, lookup(&typed.trim().to_lowercase())) {
            (Some(w), Some(t)) => *w == t,
            _ => false,
        }
    }
}

/// `12`, `12.`, `12)` are list numbering, not words.
fn is_numbering(t: &str) -> bool {
    let t = t.trim_end_matches(['.', ')', ':']);
    !t.is_empty() && t.chars().all(|c| c.is_ascii_digit())
}

/// The index of `word`, or of the only list word that starts with it if it has >= 4 letters.
fn lookup(word: &str) -> Option<u16> {
    let lang = Language::English;
    if let Some(i) = lang.find_word(word) {
        return Some(i);
    }
    if word.chars().count() >= 4 {
        if let [only] = lang.words_by_prefix(word) {
            return lang.find_word(only);
        }
    }
    None
}

/// Up to three list words closest to `typed`: shared prefix first, then edit distance <= 2.
pub fn suggest(typed: &str) -> Vec<&'static str> {
    let list = Language::English.word_list();
    let mut scored: Vec<(usize, usize, &'static str)> = list
        .iter()
        .filter_map(|&w| {
            let d = strsim::damerau_levenshtein(typed, w);
            let prefix = common_prefix(typed, w);
            // Close by edits, or sharing the first 3+ letters (BIP-39's distinguishing part).
            if d <= 2 || prefix >= 3 {
                Some((d, usize::MAX - prefix, w))
            } else {
                None
            }
        })
        .collect();
    scored.sort();
    scored
        .into_iter()
        .take(MAX_SUGGESTIONS)
        .map(|(_, _, w)| w)
        .collect()
}

fn common_prefix(a: &str, b: &str) -> usize {
    a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed_00_1f() -> Seed {
        let mut b = [0u8; 32];
        for (i, x) in b.iter_mut().enumerate() {
            *x = i as u8;
        }
        Seed::from_bytes(b)
    }

    #[test]
    fn all_zero_entropy_is_the_bip39_vector() {
        // BIP-39 reference vector: 32 zero bytes.
        let p = RecoveryPhrase::from_seed(&Seed::from_bytes([0u8; 32]));
        let words = p.words();
        assert_eq!(words.len(), 24);
        assert!(words[..23].iter().all(|w| *w == "abandon"));
        assert_eq!(words[23], "art");
    }

    #[test]
    fn phrase_round_trips_to_the_same_seed() {
        let seed = seed_00_1f();
        let p = RecoveryPhrase::from_seed(&seed);
        let typed = p.words().join("  ").to_uppercase();
        let back = RecoveryPhrase::parse(&typed).unwrap().to_seed();
        assert_eq!(back.as_bytes(), seed.as_bytes());
        for _ in 0..20 {
            let s = Seed::generate().unwrap();
            let p = RecoveryPhrase::from_seed(&s);
            let q = RecoveryPhrase::parse(&p.words().join(" ")).unwrap();
            assert_eq!(q.to_seed().as_bytes(), s.as_bytes());
        }
    }

    #[test]
    fn numbering_and_four_letter_prefixes_are_accepted() {
        let seed = seed_00_1f();
        let p = RecoveryPhrase::parse(
            &RecoveryPhrase::from_seed(&seed)
                .words()
                .iter()
                .enumerate()
                .map(|(i, w)| format!("{}. {}", i + 1, &w[..w.len().min(4)]))
                .collect::<Vec<_>>()
                .join("\n"),
        )
        .unwrap();
        assert_eq!(p.to_seed().as_bytes(), seed.as_bytes());
    }

    #[test]
    fn wrong_word_count_is_named() {
        let err = RecoveryPhrase::parse("abandon abandon art").unwrap_err();
        assert_eq!(
            err,
            PhraseError::WrongWordCount {
                found: 3,
                expected: 24
            }
        );
        assert!(err.to_string().contains("3 words"));
    }

    #[test]
    fn unknown_word_is_named_with_position_and_suggestions() {
        let mut words = vec!["abandon"; 23];
        words.push("art");
        words[4] = "abandn";
        words[9] = "zzzzzz";
        let err = RecoveryPhrase::parse(&words.join(" ")).unwrap_err();
        let PhraseError::UnknownWords(list) = &err else {
            panic!("expected unknown words, got {err:?}");
        };
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].position, 5);
        assert_eq!(list[0].word, "abandn");
        assert_eq!(
            list[0].suggestions.first().map(String::as_str),
            Some("abandon")
        );
        assert_eq!(list[1].position, 10);
        let msg = err.to_string();
        assert!(msg.contains("Word 5 (\"abandn\")"), "{msg}");
        assert!(msg.contains("Did you mean: abandon"), "{msg}");
    }

    #[test]
    fn checksum_failure_is_named() {
        let mut words = vec!["abandon"; 24];
        words[23] = "zoo";
        let err = RecoveryPhrase::parse(&words.join(" ")).unwrap_err();
        assert_eq!(err, PhraseError::ChecksumMismatch);
    }

    #[test]
    fn suggestions_by_prefix_and_distance() {
        assert_eq!(suggest("abandn")[0], "abandon");
        assert!(suggest("zebr").contains(&"zebra"));
        assert!(suggest("qqqqqqqq").is_empty());
    }

    #[test]
    fn word_matches_and_debug_is_redacted() {
        let p = RecoveryPhrase::from_seed(&Seed::from_bytes([0u8; 32]));
        assert!(p.word_matches(24, " ART "));
        assert!(!p.word_matches(24, "abandon"));
        assert!(!p.word_matches(25, "abandon"));
        assert_eq!(p.word(1), Some("abandon"));
        assert_eq!(format!("{p:?}"), "RecoveryPhrase([redacted])");
    }
}
