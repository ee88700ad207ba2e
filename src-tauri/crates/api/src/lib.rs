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
pub mod wallet;

use serde::{de::DeserializeOwned, Serialize};

pub use health::{HealthReport, IpfsHealth, IpfsStatus, LedgerHealth, LedgerStatus, NodeProblem};
pub use settings::{NodeSettings, SettingsError};
pub use wallet::{
    Done, Identity, KitFile, KitReveal, Role, SessionState, StrengthReport, UnlockOutcome,
    WalletSummary,
};

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
        Self {
            message: message.into(),
            hint: Some(hint.into()),
        }
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

    /// What the window should show (onboarding, lock screen, unlocked, damaged vault).
    /// Polled every few seconds; it does not count as activity.
    pub struct GetSessionState;
    impl Command for GetSessionState {
        const NAME: &'static str = "session_state";
        type Args = NoArgs;
        type Output = SessionState;
    }

    /// Rates a passphrase while it is typed.
    pub struct RatePassphrase;
    /// Arguments of [`RatePassphrase`].
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    pub struct RatePassphraseArgs {
        /// The passphrase being typed.
        pub passphrase: String,
        /// The wallet's name (guessable words count against the passphrase).
        pub display_name: String,
    }
    impl Command for RatePassphrase {
        const NAME: &'static str = "rate_passphrase";
        type Args = RatePassphraseArgs;
        type Output = StrengthReport;
    }

    /// Creates a wallet; it is unlocked and its Emergency Kit is pending.
    pub struct CreateWallet;
    /// Arguments of [`CreateWallet`] and, with a phrase, [`RestoreWallet`].
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    pub struct NewWalletArgs {
        /// The role.
        pub role: Role,
        /// A name the user recognises.
        pub display_name: String,
        /// The passphrase.
        pub passphrase: String,
        /// The user saw the weak-passphrase warning and keeps it anyway.
        pub accept_weak: bool,
    }
    impl Command for CreateWallet {
        const NAME: &'static str = "create_wallet";
        type Args = NewWalletArgs;
        type Output = Identity;
    }

    /// The new wallet's recovery phrase: the only answer that carries it, valid only after
    /// creating a wallet and before its kit is confirmed.
    pub struct RevealKit;
    impl Command for RevealKit {
        const NAME: &'static str = "reveal_kit";
        type Args = NoArgs;
        type Output = KitReveal;
    }

    /// Checks the re-typed words; on success the phrase is forgotten by the app.
    pub struct ConfirmKit;
    /// Arguments of [`ConfirmKit`].
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    pub struct ConfirmKitArgs {
        /// `(1-based position, typed word)`.
        pub answers: Vec<(usize, String)>,
    }
    impl Command for ConfirmKit {
        const NAME: &'static str = "confirm_kit";
        type Args = ConfirmKitArgs;
        type Output = Done;
    }

    /// Writes the printable Emergency Kit to a file and answers its path (never the page).
    pub struct ExportKit;
    impl Command for ExportKit {
        const NAME: &'static str = "export_kit";
        type Args = NoArgs;
        type Output = KitFile;
    }

    /// Restores a wallet from its recovery phrase (into a new vault file if the vault is damaged).
    pub struct RestoreWallet;
    /// Arguments of [`RestoreWallet`].
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    pub struct RestoreWalletArgs {
        /// The 24 words as typed.
        pub phrase: String,
        /// Role, name and new passphrase.
        pub wallet: NewWalletArgs,
    }
    impl Command for RestoreWallet {
        const NAME: &'static str = "restore_wallet";
        type Args = RestoreWalletArgs;
        type Output = Identity;
    }

    /// Unlocks a wallet with its passphrase (locking any other).
    pub struct UnlockWallet;
    /// Arguments of [`UnlockWallet`].
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    pub struct UnlockArgs {
        /// Which wallet.
        pub wallet_id: String,
        /// Its passphrase.
        pub passphrase: String,
    }
    impl Command for UnlockWallet {
        const NAME: &'static str = "unlock_wallet";
        type Args = UnlockArgs;
        type Output = UnlockOutcome;
    }

    /// Unlocks a wallet with the key kept in the system keyring.
    pub struct QuickUnlock;
    /// Arguments naming one wallet.
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    pub struct WalletIdArgs {
        /// Which wallet.
        pub wallet_id: String,
    }
    impl Command for QuickUnlock {
        const NAME: &'static str = "quick_unlock";
        type Args = WalletIdArgs;
        type Output = Identity;
    }

    /// Locks the unlocked wallet now.
    pub struct LockWallet;
    impl Command for LockWallet {
        const NAME: &'static str = "lock_wallet";
        type Args = NoArgs;
        type Output = Done;
    }

    /// Turns quick unlock on or off for the unlocked wallet.
    pub struct SetQuickUnlock;
    /// Arguments of [`SetQuickUnlock`].
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    pub struct SetQuickUnlockArgs {
        /// On or off.
        pub enabled: bool,
    }
    impl Command for SetQuickUnlock {
        const NAME: &'static str = "set_quick_unlock";
        type Args = SetQuickUnlockArgs;
        type Output = Done;
    }

    /// Sets the idle time before auto-lock, for every wallet.
    pub struct SetIdleTimeout;
    /// Arguments of [`SetIdleTimeout`].
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    pub struct SetIdleTimeoutArgs {
        /// Minutes, 1 to 120.
        pub minutes: u32,
    }
    impl Command for SetIdleTimeout {
        const NAME: &'static str = "set_idle_timeout";
        type Args = SetIdleTimeoutArgs;
        type Output = Done;
    }

    /// Changes the unlocked wallet's passphrase.
    pub struct ChangePassphrase;
    /// Arguments of [`ChangePassphrase`].
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    pub struct ChangePassphraseArgs {
        /// The current passphrase.
        pub old_passphrase: String,
        /// The new one.
        pub new_passphrase: String,
        /// The user keeps a weak new passphrase anyway.
        pub accept_weak: bool,
    }
    impl Command for ChangePassphrase {
        const NAME: &'static str = "change_passphrase";
        type Args = ChangePassphraseArgs;
        type Output = Done;
    }

    /// Deletes a wallet from this vault (its kit still restores it).
    pub struct DeleteWallet;
    /// Arguments of [`DeleteWallet`].
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    pub struct DeleteWalletArgs {
        /// Which wallet.
        pub wallet_id: String,
        /// Its display name, typed by the user.
        pub confirm_name: String,
    }
    impl Command for DeleteWallet {
        const NAME: &'static str = "delete_wallet";
        type Args = DeleteWalletArgs;
        type Output = Done;
    }

    /// Every command name, for the shell's registration test.
    pub const ALL: &[&str] = &[
        CheckHealth::NAME,
        GetSettings::NAME,
        SaveSettings::NAME,
        ResetSettings::NAME,
        GetSessionState::NAME,
        RatePassphrase::NAME,
        CreateWallet::NAME,
        RevealKit::NAME,
        ConfirmKit::NAME,
        ExportKit::NAME,
        RestoreWallet::NAME,
        UnlockWallet::NAME,
        QuickUnlock::NAME,
        LockWallet::NAME,
        SetQuickUnlock::NAME,
        SetIdleTimeout::NAME,
        ChangePassphrase::NAME,
        DeleteWallet::NAME,
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
            assert!(
                name.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{name}"
            );
        }
    }

    #[test]
    fn user_error_display_has_hint() {
        let e = UserError::new(
            "The ledger node is unreachable.",
            "Check its URL in Settings.",
        );
        assert_eq!(
            e.to_string(),
            "The ledger node is unreachable. Check its URL in Settings."
        );
    }
}
