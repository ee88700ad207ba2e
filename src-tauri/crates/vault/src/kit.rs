//! The Emergency Kit: the recovery phrase on one printable page, and the re-typing check that
//! proves the user wrote it down.

use std::time::SystemTime;

use zeroize::Zeroizing;

use crate::error::{Result, VaultError};
use crate::identity::PublicIdentity;
use crate::phrase::{RecoveryPhrase, WORD_COUNT};
use crate::seed::random_below;

/// Words asked back by default after the kit is shown.
pub const DEFAULT_CONFIRM_WORDS: usize = 3;

/// The recovery phrase of one wallet with what the page shows around it.
/// Not `Clone`; the phrase is zeroized on drop; `Debug` is redacted.
pub struct EmergencyKit {
    phrase: RecoveryPhrase,
    identity: PublicIdentity,
    created: SystemTime,
}

impl std::fmt::Debug for EmergencyKit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmergencyKit")
            .field("address", &self.identity.address)
            .field("phrase", &"[redacted]")
            .finish()
    }
}

impl EmergencyKit {
    pub(crate) fn new(
        phrase: RecoveryPhrase,
        identity: PublicIdentity,
        created: SystemTime,
    ) -> Self {
        Self {
            phrase,
            identity,
            created,
        }
    }

    /// The 24 words in order. This is the wallet: show them only on the kit screen.
    pub fn words(&self) -> Vec<&'static str> {
        self.phrase.words()
    }

    /// The wallet the kit restores.
    pub fn identity(&self) -> &PublicIdentity {
        &self.identity
    }

    /// The date printed on the kit, `YYYY-MM-DD` (UTC).
    pub fn date(&self) -> String {
        time::OffsetDateTime::from(self.created).date().to_string()
    }

    /// `count` distinct random 1-based positions, ascending, to ask the user to re-type.
    pub fn confirmation_positions(&self, count: usize) -> Result<Vec<usize>> {
        let count = count.clamp(1, WORD_COUNT);
        let mut pool: Vec<usize> = (1..=WORD_COUNT).collect();
        let mut picked = Vec::with_capacity(count);
        for _ in 0..count {
            // Bounded by WORD_COUNT (24), so the cast is exact.
            let i = random_below(pool.len() as u32)? as usize;
            picked.push(pool.swap_remove(i));
        }
        picked.sort_unstable();
        Ok(picked)
    }

    /// Checks re-typed words, given as `(1-based position, word)`. Case, spacing and 4-letter
    /// abbreviations are accepted as in restore. Names every position that does not match.
    pub fn check_confirmation(&self, answers: &[(usize, &str)]) -> Result<()> {
        let wrong: Vec<usize> = answers
            .iter()
            .filter(|(pos, word)| !self.phrase.word_matches(*pos, word))
            .map(|(pos, _)| *pos)
            .collect();
        if answers.is_empty() || !wrong.is_empty() {
            return Err(VaultError::ConfirmationMismatch { positions: wrong });
        }
        Ok(())
    }

    /// A self-contained printable HTML page: no scripts, no external resources (a
    /// Content-Security-Policy forbids them too), print styles for one A4/Letter page.
    pub fn to_html(&self) -> Zeroizing<String> {
        self.to_html_with(None)
    }

    /// [`to_html`](Self::to_html), naming the ledger the wallet uses (its chain id and
    /// contract), so that a restore can tell a ledger node on another chain from it.
    pub fn to_html_with(&self, ledger: Option<(u64, &str)>) -> Zeroizing<String> {
        let ledger = ledger.map_or(String::new(), |(chain_id, contract)| {
            format!(
                "\n  <dt>Ledger</dt><dd>chain {chain_id} · contract {}</dd>",
                escape(contract)
            )
        });
        let words = self.phrase.words();
        let mut list = String::new();
        for (i, w) in words.iter().enumerate() {
            list.push_str(&format!(
                "<li><span class=\"n\">{}</span> <span class=\"w\">{}</span></li>\n",
                i + 1,
                escape(w)
            ));
        }
        let html = format!(
            r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="referrer" content="no-referrer">
<title>medwallet Emergency Kit - {name}</title>
<style>
  @page {{ size: auto; margin: 15mm; }}
  * {{ box-sizing: border-box; }}
  body {{ font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #111; background: #fff; max-width: 180mm; margin: 0 auto; line-height: 1.4; }}
  h1 {{ font-size: 20pt; margin: 0 0 2mm; }}
  .warn {{ border: 2px solid #111; padding: 3mm 4mm; margin: 4mm 0; font-weight: 600; }}
  dl {{ display: grid; grid-template-columns: max-content 1fr; gap: 1mm 4mm; margin: 4mm 0; }}
  dt {{ font-weight: 600; }}
  dd {{ margin: 0; font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; word-break: break-all; }}
  ol {{ list-style: none; padding: 0; margin: 4mm 0; display: grid; grid-template-columns: repeat(4, 1fr); grid-auto-flow: column; grid-template-rows: repeat(6, auto); gap: 2mm 4mm; }}
  li {{ border: 1px solid #555; border-radius: 2mm; padding: 2mm; break-inside: avoid; }}
  .n {{ display: inline-block; min-width: 6mm; color: #444; font-size: 9pt; }}
  .w {{ font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; font-size: 13pt; font-weight: 700; }}
  h2 {{ font-size: 13pt; margin: 5mm 0 1mm; }}
  footer {{ margin-top: 6mm; font-size: 9pt; color: #444; }}
  @media print {{ body {{ max-width: none; }} .noprint {{ display: none; }} }}
</style>
</head>
<body>
<h1>medwallet Emergency Kit</h1>
<p>Your 24 recovery words. With them you can restore this wallet on any computer, even if you
forget your passphrase or lose this one.</p>
<p class="warn">Anyone who reads these words controls this wallet and your medical records.
Keep this page offline, somewhere safe (a locked drawer, a safe). Do not photograph it, email it or
store it in the cloud.</p>
<dl>
  <dt>Wallet</dt><dd>{name}</dd>
  <dt>Role</dt><dd>{role}</dd>
  <dt>Address</dt><dd>{address}</dd>
  <dt>Created</dt><dd>{date}</dd>{ledger}
</dl>
<ol>
{list}</ol>
<h2>How to restore</h2>
<ol class="steps" style="display:block; list-style: decimal; padding-left: 6mm;">
  <li style="border:0; padding:0">Open medwallet and choose <b>Restore from Emergency Kit</b>.</li>
  <li style="border:0; padding:0">Type the 24 words in the order of their numbers. The first four letters of each word are enough.</li>
  <li style="border:0; padding:0">Choose a new passphrase. The restored wallet has the address above: check it.</li>
  <li style="border:0; padding:0">Give the ledger chain id printed above, if there is one: a ledger node on another chain is then named, not read.</li>
  <li style="border:0; padding:0">Set the ledger node and contract this wallet used in Settings if they are not the defaults.
  The words bring back the keys; your records, grants, groups and (for a clinic) staff keys and key epoch are then
  rebuilt from the ledger. The records' contents come from an IPFS node that still holds them: one that is gone with
  this computer cannot give them back, and such records are listed as not found.</li>
</ol>
<footer>The words are a BIP-39 English phrase (256 bits with checksum). Printed {date}.</footer>
</body>
</html>
"#,
            name = escape(&self.identity.display_name),
            role = escape(self.identity.role.as_str()),
            address = escape(&self.identity.address),
            date = escape(&self.date()),
            list = list,
        );
        Zeroizing::new(html)
    }
}

/// Minimal HTML text escaping (the only untrusted text is the display name).
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::derive::WalletKeys;
    use crate::identity::Role;
    use crate::seed::Seed;
    use std::time::Duration;

    fn kit(name: &str) -> EmergencyKit {
        let seed = Seed::from_bytes([0u8; 32]);
        let keys = WalletKeys::derive(&seed, Role::Patient).unwrap();
        // 2026-01-02T00:00:00Z
        let created = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_312_000);
        EmergencyKit::new(
            RecoveryPhrase::from_seed(&seed),
            keys.public_identity(name),
            created,
        )
    }

    #[test]
    fn the_ledger_is_printed_when_known() {
        let k = kit("Ada");
        assert!(!k.to_html().contains("<dt>Ledger</dt>"));
        let html = k.to_html_with(Some((424242, "0xAbC<b>")));
        assert!(html.contains("<dt>Ledger</dt><dd>chain 424242 · contract 0xAbC&lt;b&gt;</dd>"));
    }

    #[test]
    fn html_is_self_contained_numbered_and_escaped() {
        let k = kit("Ada <script>alert(1)</script>");
        let html = k.to_html();
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(
            !html.contains("<script"),
            "no scripts, display name escaped"
        );
        assert!(html.contains("&lt;script&gt;"));
        for bad in ["src=", "href=", "url(", "@import", "http://", "https://"] {
            assert!(!html.contains(bad), "external resource marker {bad}");
        }
        assert!(html.contains("<span class=\"n\">1</span> <span class=\"w\">abandon</span>"));
        assert!(html.contains("<span class=\"n\">24</span> <span class=\"w\">art</span>"));
        assert!(html.contains(&k.identity().address));
        assert!(html.contains("2026-01-02"));
        assert!(html.contains("@page"));
        assert!(html.contains("Restore from Emergency Kit"));
    }

    #[test]
    fn confirmation_positions_are_distinct_and_in_range() {
        let k = kit("Ada");
        for _ in 0..50 {
            let p = k.confirmation_positions(3).unwrap();
            assert_eq!(p.len(), 3);
            assert!(p.windows(2).all(|w| w[0] < w[1]));
            assert!(p.iter().all(|&i| (1..=24).contains(&i)));
        }
        assert_eq!(k.confirmation_positions(99).unwrap().len(), 24);
    }

    #[test]
    fn confirmation_check_names_wrong_positions() {
        let k = kit("Ada");
        k.check_confirmation(&[(1, "abandon"), (24, "ART"), (5, "aban")])
            .unwrap();
        match k.check_confirmation(&[(1, "abandon"), (24, "zoo")]) {
            Err(VaultError::ConfirmationMismatch { positions }) => assert_eq!(positions, vec![24]),
            other => panic!("unexpected {other:?}"),
        }
        assert!(k.check_confirmation(&[]).is_err());
        assert!(!format!("{k:?}").contains("abandon"));
    }
}
