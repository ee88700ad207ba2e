//! Files the user chose: the webview never names a file by its path. The shell hands out
//! a [`FileToken`] for each file chosen in one of the app's own dialogs or dropped on its
//! window, and every command that reads or writes a file takes the token back; the shell
//! resolves it to the path it registered (and refuses any other).

use serde::{Deserialize, Serialize};

/// A file the shell handed to the webview: an opaque random handle, never a path. A token
/// the shell did not hand out (a path, a guess) names nothing and is refused.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FileToken(pub String);

impl FileToken {
    /// The token's text (for keys in the UI, e.g. a draft's).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for FileToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A file chosen in a dialog or dropped on the window: its token and, for showing, its
/// name (the last part of its path only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChosenFile {
    /// What the webview sends back to name the file.
    pub token: FileToken,
    /// The file name, for display.
    pub name: String,
}

/// What a single file is chosen for (the dialog's title and filters follow it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PickPurpose {
    /// A record a front desk uploads for a checked-in patient.
    UploadForPatient,
    /// A file to check against the ledger.
    Verify,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_a_plain_string_on_the_wire() {
        let token = FileToken("00ff".into());
        assert_eq!(serde_json::to_string(&token).unwrap(), "\"00ff\"");
        let back: FileToken = serde_json::from_str("\"00ff\"").unwrap();
        assert_eq!(back, token);
    }
}
