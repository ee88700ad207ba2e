//! The audit room in words: its refusals, and why a trail shows only what was read
//! before.

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
