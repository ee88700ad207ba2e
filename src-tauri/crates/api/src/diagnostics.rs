//! Diagnostics: where the log is, and the report the user copies into a bug report.

use serde::{Deserialize, Serialize};

/// What Settings shows under Diagnostics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostics {
    /// The log file being written (or the log folder when there is no file yet).
    pub log_path: String,
    /// The plain-text report to copy: versions, node health and the last log lines. Never a
    /// secret, key, passphrase, plaintext or record title.
    pub text: String,
}
