//! Wallets: create, Emergency Kit, restore, unlock and lock, several wallets.
//!
//! Everything here is display data: addresses, public keys, names, messages. The one
//! exception is [`KitReveal::words`], the recovery phrase, which the webview must show once
//! on the kit screen; it is answered only by `reveal_kit`, only between creating a wallet
//! and confirming its kit.

use serde::{Deserialize, Serialize};

use crate::UserError;

/// What a wallet is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Holds their own records.
    Patient,
    /// Opens what patients share.
    Doctor,
    /// Front desk and staff.
    Clinic,
}

impl Role {
    /// Every role, in the order the onboarding offers them.
    pub const ALL: [Role; 3] = [Role::Patient, Role::Doctor, Role::Clinic];

    /// Lower-case wire name (`patient`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Patient => "patient",
            Role::Doctor => "doctor",
            Role::Clinic => "clinic",
        }
    }

    /// Capitalised name for people (`Patient`).
    pub fn label(self) -> &'static str {
        match self {
            Role::Patient => "Patient",
            Role::Doctor => "Doctor",
            Role::Clinic => "Clinic",
        }
    }
}

/// A wallet's public identity: safe to show and to copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// The wallet's id in this vault.
    pub wallet_id: String,
    /// Ledger address, `0x` + 40 hex (EIP-55).
    pub address: String,
    /// Ed25519 signature verification key (hex).
    pub signing_key: String,
    /// X25519 encryption public key (hex).
    pub encryption_key: String,
    /// The role.
    pub role: Role,
    /// The name the user gave it.
    pub display_name: String,
    /// Both public keys as eight groups of four hex digits, for someone sharing with
    /// this wallet to compare with what their share dialog shows.
    #[serde(default)]
    pub fingerprint: String,
}

/// A wallet as listed on the lock screen and the Wallets page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletSummary {
    /// The wallet's id in this vault.
    pub wallet_id: String,
    /// The name the user gave it.
    pub display_name: String,
    /// The role.
    pub role: Role,
    /// Ledger address.
    pub address: String,
    /// Whether quick unlock (system keyring) is on.
    pub quick_unlock: bool,
}

/// What the window should show, polled every few seconds. Polling does not count as activity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SessionState {
    /// The vault file cannot be used; it was not changed. Show full-window with the way out.
    Damaged {
        /// What is wrong and what to do.
        error: UserError,
    },
    /// medwallet did not open its data folder (another process holds it, or it cannot be
    /// written) and touched nothing in it. Show full-window; nothing else works.
    Unavailable {
        /// What is wrong and what to do.
        error: UserError,
    },
    /// No wallet yet: the onboarding.
    Empty,
    /// Wallets exist, none is unlocked: the lock screen.
    Locked {
        /// Every wallet.
        wallets: Vec<WalletSummary>,
        /// The one to preselect (the last unlocked).
        selected: Option<String>,
        /// Seconds before the selected wallet accepts the next passphrase (0: now).
        retry_after_secs: u64,
    },
    /// A wallet is unlocked.
    Unlocked {
        /// Its identity.
        identity: Identity,
        /// Every wallet.
        wallets: Vec<WalletSummary>,
        /// The new wallet's Emergency Kit is still to be written down and confirmed.
        kit_pending: bool,
        /// Whether quick unlock is on for this wallet.
        quick_unlock: bool,
        /// Minutes of inactivity before it locks itself.
        idle_minutes: u32,
    },
}

/// A damaged database found at start and kept aside (`startup_notices`): shown until
/// the app quits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartupNotice {
    /// Which file, where it is kept, and what to do.
    pub problem: UserError,
    /// For a wallet's records database: that wallet, whose "Rebuild from the ledger" the
    /// window offers once it is unlocked.
    pub rebuild_wallet: Option<String>,
}

/// zxcvbn's verdict on a passphrase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StrengthReport {
    /// 0 (very weak) to 4 (strong).
    pub score: u8,
    /// Below the accepted score: must be accepted explicitly.
    pub weak: bool,
    /// What is wrong with it.
    pub warning: Option<String>,
    /// How to make it stronger.
    pub suggestions: Vec<String>,
}

/// The recovery phrase, shown once on the kit screen, and which words to ask back.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KitReveal {
    /// The 24 words, in order. Secret: shown on the kit screen only.
    pub words: Vec<String>,
    /// 1-based positions the user must re-type.
    pub confirm_positions: Vec<usize>,
    /// The wallet the kit restores.
    pub address: String,
    /// The date printed on the kit.
    pub date: String,
}

impl std::fmt::Debug for KitReveal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KitReveal")
            .field("words", &"[redacted]")
            .field("address", &self.address)
            .finish()
    }
}

/// Where the printable kit was saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KitFile {
    /// Full path of the HTML file.
    pub path: String,
}

/// A command that has nothing to answer but success.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Done {}

/// The answer of an unlock attempt: a refusal is an outcome the lock screen shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum UnlockOutcome {
    /// Unlocked.
    Unlocked {
        /// The wallet.
        identity: Identity,
    },
    /// Refused: wrong passphrase or too early.
    Refused {
        /// What happened and what to do.
        error: UserError,
        /// Seconds before the next attempt is accepted (0: now).
        retry_after_secs: u64,
    },
}
