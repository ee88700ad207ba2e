//! The audit room in words: its refusals, and why a trail shows only what was read
//! before.

use medwallet_ledger::{Dispute, B256};

use super::{ledger_words, says, Words};
use crate::error::{AuditError, TrailGap};

pub(super) fn words(e: &AuditError) -> Words {
    const REBUILD: &str = "Delete the wallet's file in the app data folder's audit/ folder; it is rebuilt from the ledger.";
    match e {
        AuditError::FolderNotCreated { path, source } => says(
            format!(
                "The audit folder {} cannot be created: {source}.",
                path.display()
            ),
            "Check that the disk is not full and the app data folder is writable.",
        ),
        AuditError::CacheNotOpened(e) => {
            says(format!("The audit cache cannot be opened: {e}."), REBUILD)
        }
        AuditError::CacheUnreadable(e) => {
            says(format!("The audit cache cannot be read: {e}."), REBUILD)
        }
        AuditError::NoExportName => says(
            "Choose a file name for the exported trail.",
            "Pick a folder and type a new file name.",
        ),
        AuditError::NotWritten { path, source } => says(
            format!(
                "The trail could not be written to {}: {source}.",
                path.display()
            ),
            "Choose another folder, or check that the disk is not full.",
        ),
        AuditError::BadRecordId { text } => says(
            format!("{text} is not a record id."),
            "A record id is 0x and 64 hexadecimal digits; pick the record from the list.",
        ),
        AuditError::BadActor { text } => says(
            format!("{text} is not a ledger address."),
            "An address is 0x and 40 hexadecimal digits.",
        ),
        AuditError::BadDate { which, text } => says(
            format!("The {which} date {text} is not a date."),
            "Write it as YYYY-MM-DD.",
        ),
    }
}

/// Why the trail shows only the cached entries.
pub(crate) fn trail_problem(gap: &TrailGap<'_>) -> String {
    match gap {
        TrailGap::NoContract => "No ledger contract is set, so there is no trail to read yet. Save the contract address in Settings.".to_owned(),
        TrailGap::Ledger(e) => format!("{} The trail shows what was read before.", ledger_words(e)),
        TrailGap::TimedOut => {
            "The ledger node took too long to answer. The trail shows what was read before."
                .to_owned()
        }
    }
}

/// Ledger nodes holding different blocks at one height: "Ledger nodes disagree at block
/// 1,204: http://a says 0xabababab…abab, http://b says 0xcdcdcdcd…cdcd." `read_from` is the
/// node the trail was read from, with the hash it gave (`ours`).
pub(crate) fn ledger_dispute(
    block: u64,
    read_from: &str,
    ours: &B256,
    disputes: &[Dispute],
) -> String {
    let mut says = vec![format!("{read_from} says {}", short_hash(ours))];
    says.extend(
        disputes
            .iter()
            .map(|d| format!("{} says {}", d.witness, short_hash(&d.their_hash))),
    );
    format!(
        "Ledger nodes disagree at block {}: {}. Nothing in this block is confirmed.",
        thousands(block),
        says.join(", ")
    )
}

fn short_hash(hash: &B256) -> String {
    let s = hash.to_string();
    format!("{}…{}", &s[..10], &s[s.len() - 4..])
}

/// 1204 as "1,204".
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dispute_names_the_block_each_node_and_its_hash() {
        let ours = B256::repeat_byte(0xab);
        let theirs = B256::repeat_byte(0xcd);
        let words = ledger_dispute(
            1204,
            "http://a:8545",
            &ours,
            &[Dispute {
                block_number: 1204,
                witness: "http://b:8545".into(),
                their_hash: theirs,
                our_hash: ours,
            }],
        );
        assert_eq!(
            words,
            "Ledger nodes disagree at block 1,204: http://a:8545 says 0xabababab…abab, \
             http://b:8545 says 0xcdcdcdcd…cdcd. Nothing in this block is confirmed."
        );
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(12_345_678), "12,345,678");
    }
}
