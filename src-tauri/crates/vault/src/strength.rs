//! Passphrase strength, estimated with zxcvbn (realistic guess counts, not character classes).

use serde::{Deserialize, Serialize};

/// Scores below this ask the user to acknowledge the weak passphrase.
pub const MIN_ACCEPTED_SCORE: u8 = 3;

/// zxcvbn's verdict on a passphrase, ready to show under the input field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Strength {
    /// 0 (guessable in under 10^3 tries) to 4 (over 10^10 tries).
    pub score: u8,
    /// What is wrong with it, if anything.
    pub warning: Option<String>,
    /// How to make it stronger.
    pub suggestions: Vec<String>,
}

impl Strength {
    /// Whether the score is below [`MIN_ACCEPTED_SCORE`].
    pub fn is_weak(&self) -> bool {
        self.score < MIN_ACCEPTED_SCORE
    }
}

/// Estimates how hard `passphrase` is to guess. `user_inputs` are words an attacker would try
/// first for this user: the display name, the role, the app's name.
pub fn passphrase_strength(passphrase: &str, user_inputs: &[&str]) -> Strength {
    let mut inputs: Vec<&str> = user_inputs.to_vec();
    inputs.extend_from_slice(&[
        "medwallet",
        "wallet",
        "medical",
        "patient",
        "doctor",
        "clinic",
    ]);
    let entropy = zxcvbn::zxcvbn(passphrase, &inputs);
    let (warning, suggestions) = match entropy.feedback() {
        Some(f) => (
            f.warning().map(|w| w.to_string()),
            f.suggestions().iter().map(|s| s.to_string()).collect(),
        ),
        None => (None, Vec::new()),
    };
    Strength {
        score: u8::from(entropy.score()),
        warning,
        suggestions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_and_strong_passphrases() {
        let weak = passphrase_strength("password1", &[]);
        assert!(weak.is_weak());
        assert!(weak.warning.is_some() || !weak.suggestions.is_empty());

        let strong = passphrase_strength("correct horse battery staple orbit lantern", &[]);
        assert_eq!(strong.score, 4);
        assert!(!strong.is_weak());
    }

    #[test]
    fn user_inputs_count_against_the_passphrase() {
        let with = passphrase_strength("adalovelace1815", &["Ada Lovelace", "adalovelace"]);
        let without = passphrase_strength("adalovelace1815", &[]);
        assert!(with.score <= without.score);
    }
}
