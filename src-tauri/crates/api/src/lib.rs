//! The types that cross medwallet's IPC boundary.
//!
//! Both sides compile this crate: the Tauri shell (native) and the Yew UI (wasm).
//! Every command the webview may call is a type implementing [`Command`], so the
//! command's name, its argument and its answer are declared once, here, and the UI's
//! typed IPC layer and the shell's handlers cannot drift apart.
//!
//! Invariant: nothing in this crate can carry key material or plaintext. The webview
//! gets display data only.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod health;
pub mod settings;

use serde::{de::DeserializeOwned, Serialize};

pub use health::{HealthReport, IpfsHealth, IpfsStatus, LedgerHealth, LedgerStatus, NodeProblem};
pub use settings::{NodeSettings, SettingsError};

/// One IPC command: its wire name, what the webview sends, what it gets back.
pub trait Command {
    /// The name registered with `tauri::generate_handler!` (the Rust fn name).
    const NAME: &'static str;
    /// The arguments object the webview sends.
    type Args: Serialize + DeserializeOwned;
    /// The successful answer.
    type Output: Serialize + DeserializeOwned;
}

/// Arguments of a command that takes none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NoArgs {}

/// A failed command, in words for the user: what happened and what to do next.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UserError {
    /// What happened, in the user's words.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
}

impl UserError {
    /// An error with a message and a hint.
    pub fn new(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self { message: message.into(), hint: Some(hint.into()) }
    }
}

impl std::fmt::Display for UserError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.hint {
            Some(hint) => write!(f, "{} {}", self.message, hint),
            None => f.write_str(&self.message),
        }
    }
}

/// The commands, one type each.
pub mod commands {
    use super::*;

    /// Check both nodes now and report their health.
    pub struct CheckHealth;
    impl Command for CheckHealth {
        const NAME: &'static str = "check_health";
        type Args = NoArgs;
        type Output = HealthReport;
    }

    /// Read the node settings.
    pub struct GetSettings;
    impl Command for GetSettings {
        const NAME: &'static str = "get_settings";
        type Args = NoArgs;
        type Output = NodeSettings;
    }

    /// Validate and store new node settings; answers the stored settings.
    pub struct SaveSettings;
    /// Arguments of [`SaveSettings`].
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    pub struct SaveSettingsArgs {
        /// The settings to store.
        pub settings: NodeSettings,
    }
    impl Command for SaveSettings {
        const NAME: &'static str = "save_settings";
        type Args = SaveSettingsArgs;
        type Output = SaveOutcome;
    }

    /// The answer of [`SaveSettings`]: refused input is an outcome, not a failure.
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    #[serde(tag = "outcome", rename_all = "snake_case")]
    pub enum SaveOutcome {
        /// Stored; these are the settings now in force.
        Saved {
            /// The stored settings.
            settings: NodeSettings,
        },
        /// Not stored: what is wrong, field by field.
        Invalid {
            /// The problems.
            errors: SettingsError,
        },
    }

    /// Forget stored node URLs and go back to the defaults.
    pub struct ResetSettings;
    impl Command for ResetSettings {
        const NAME: &'static str = "reset_settings";
        type Args = NoArgs;
        type Output = NodeSettings;
    }

    /// Every command name, for the shell's registration test.
    pub const ALL: &[&str] = &[
        CheckHealth::NAME,
        GetSettings::NAME,
        SaveSettings::NAME,
        ResetSettings::NAME,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_names_are_unique_snake_case() {
        let mut names = commands::ALL.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), commands::ALL.len(), "duplicate command name");
        for name in commands::ALL {
            assert!(name.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{name}");
        }
    }

    #[test]
    fn user_error_display_has_hint() {
        let e = UserError::new("The ledger node is unreachable.", "Check its URL in Settings.");
        assert_eq!(e.to_string(), "The ledger node is unreachable. Check its URL in Settings.");
    }
}
