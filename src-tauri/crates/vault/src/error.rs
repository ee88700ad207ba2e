//! Every way the vault can fail, as one typed error whose message says what to do next.

use std::path::PathBuf;
use std::time::Duration;

use crate::phrase::PhraseError;
use crate::strength::Strength;

/// What to tell the user whenever the vault file cannot be trusted or read. The file is never
/// overwritten or deleted by this crate, so the advice is always the same: keep the file, and
/// restore from the Emergency Kit into a new vault file.
const RESTORE_ADVICE: &str = "The file has not been changed. Keep it as it is (it may be \
     repairable or useful to an expert), and restore your wallet from its Emergency Kit: choose \
     \"Restore from Emergency Kit\", type the 24 recovery words, and save the restored wallet in \
     a new vault file.";

/// The error type of every public function in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VaultError {
    /// The passphrase did not unlock the wallet.
    #[error(
        "Wrong passphrase ({failed_attempts} failed attempt(s) in a row).{}",
        retry_hint(*retry_after)
    )]
    WrongPassphrase {
        /// Failed attempts since the last success, this one included.
        failed_attempts: u32,
        /// How long the caller must wait before the next attempt is accepted (zero: no wait).
        retry_after: Duration,
    },

    /// Too many wrong passphrases: this attempt was refused without checking it.
    #[error(
        "Too many wrong passphrases: wait {} before trying again.",
        human_duration(*retry_after)
    )]
    TooManyAttempts {
        /// How long until the next attempt is accepted.
        retry_after: Duration,
    },

    /// The passphrase is weak and the caller did not acknowledge it.
    #[error("This passphrase is weak (score {}/4). {}", .0.score, weak_hint(.0))]
    WeakPassphrase(Strength),

    /// An empty passphrase is never accepted.
    #[error("The passphrase is empty: choose a passphrase of several words.")]
    EmptyPassphrase,

    /// The recovery phrase could not be read.
    #[error(transparent)]
    Phrase(#[from] PhraseError),

    /// The re-typed confirmation words do not match the Emergency Kit.
    #[error(
        "Word(s) at position(s) {positions:?} do not match your Emergency Kit: check what you \
         wrote down and type them again."
    )]
    ConfirmationMismatch {
        /// 1-based positions of the words that did not match.
        positions: Vec<usize>,
    },

    /// The session idled past its deadline or was locked: unlock again.
    #[error("The wallet is locked: unlock it with your passphrase.")]
    Locked,

    /// No wallet has that id in this vault.
    #[error("No wallet with id {0} in this vault: it may have been deleted.")]
    WalletNotFound(String),

    /// The wallet is already in this vault (same ledger address).
    #[error(
        "This wallet (address {address}) is already in this vault as \"{display_name}\": unlock \
         it instead of restoring it again."
    )]
    WalletExists {
        /// Its ledger address.
        address: String,
        /// Its display name in this vault.
        display_name: String,
    },

    /// Delete was asked with a confirmation that is not the wallet's display name.
    #[error(
        "To delete this wallet, type its name exactly as shown (\"{expected}\"). Nothing was \
         deleted."
    )]
    DeleteConfirmationMismatch {
        /// The display name the caller must type.
        expected: String,
    },

    /// A display name must not be empty and must be short enough to show.
    #[error("The wallet name must be 1 to 100 characters, not blank.")]
    InvalidDisplayName,

    /// The file is not an SQLite database at all, or not a medwallet vault.
    #[error("{path} is not a medwallet vault file ({detail}). {RESTORE_ADVICE}")]
    NotAVault {
        /// The file.
        path: PathBuf,
        /// What was found instead.
        detail: String,
    },

    /// The file is shorter than its own header says: it was cut off (disk full, copy aborted).
    #[error(
        "The vault file {path} is truncated: {actual} bytes on disk, {expected} bytes expected. \
         {RESTORE_ADVICE}"
    )]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Bytes the header promises.
        expected: u64,
        /// Bytes present.
        actual: u64,
    },

    /// The file was written by a newer medwallet.
    #[error(
        "The vault file {path} was written by a newer version of medwallet ({detail}). Update \
         medwallet to open it. If you cannot, restore your wallet from its Emergency Kit into a \
         new vault file; the file has not been changed."
    )]
    NewerSchema {
        /// The file.
        path: PathBuf,
        /// Which version marker is newer.
        detail: String,
    },

    /// The database structure is damaged or its migrations were edited.
    #[error("The vault file {path} is damaged ({detail}). {RESTORE_ADVICE}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What check failed.
        detail: String,
    },

    /// A wallet's ciphertext or public identity columns were edited after they were written.
    #[error(
        "The data of wallet \"{display_name}\" in the vault file was changed outside medwallet \
         ({detail}); it cannot be trusted. {RESTORE_ADVICE}"
    )]
    Tampered {
        /// The display name as stored (itself possibly edited).
        display_name: String,
        /// Which part failed its check.
        detail: String,
    },

    /// The OS keyring (Secret Service on Linux) cannot be used; the passphrase still works.
    #[error(
        "Quick unlock is unavailable: the system keyring cannot be reached ({0}). Unlock with \
         your passphrase instead."
    )]
    KeyringUnavailable(String),

    /// Quick unlock was not enabled for this wallet, or its keyring entry is gone.
    #[error("Quick unlock is not set up for this wallet: unlock with your passphrase.")]
    QuickUnlockNotEnabled,

    /// The key in the keyring no longer opens this wallet (the vault file was replaced).
    #[error(
        "The key saved in the system keyring does not open this wallet any more; it was \
         removed. Unlock with your passphrase and turn quick unlock on again."
    )]
    QuickUnlockStale,

    /// The vault file could not be read or written.
    #[error("The vault file could not be read or written ({0}). Check the disk and its free space, then try again.")]
    Database(#[from] sqlx::Error),

    /// The vault file could not be read.
    #[error(
        "The vault file could not be read ({0}). Check that it exists and that you may read it."
    )]
    Io(#[from] std::io::Error),

    /// The operating system's random generator or a crypto primitive failed.
    #[error("A cryptographic operation failed ({0}). Try again; if it persists, restart the app.")]
    Crypto(&'static str),
}

impl VaultError {
    /// The variant's name, for logs. Messages may hold a display name, a path or an id the
    /// user typed; the kind holds none of them.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Self::WrongPassphrase { .. } => "wrong_passphrase",
            Self::TooManyAttempts { .. } => "too_many_attempts",
            Self::WeakPassphrase(_) => "weak_passphrase",
            Self::EmptyPassphrase => "empty_passphrase",
            Self::Phrase(_) => "phrase",
            Self::ConfirmationMismatch { .. } => "confirmation_mismatch",
            Self::Locked => "locked",
            Self::WalletNotFound(_) => "wallet_not_found",
            Self::WalletExists { .. } => "wallet_exists",
            Self::DeleteConfirmationMismatch { .. } => "delete_confirmation_mismatch",
            Self::InvalidDisplayName => "invalid_display_name",
            Self::NotAVault { .. } => "not_a_vault",
            Self::Truncated { .. } => "truncated",
            Self::NewerSchema { .. } => "newer_schema",
            Self::Corrupt { .. } => "corrupt",
            Self::Tampered { .. } => "tampered",
            Self::KeyringUnavailable(_) => "keyring_unavailable",
            Self::QuickUnlockNotEnabled => "quick_unlock_not_enabled",
            Self::QuickUnlockStale => "quick_unlock_stale",
            Self::Database(_) => "database",
            Self::Io(_) => "io",
            Self::Crypto(_) => "crypto",
        }
    }
}

fn retry_hint(d: Duration) -> String {
    if d.is_zero() {
        " Check the passphrase and try again.".to_owned()
    } else {
        format!(" Wait {} before the next try.", human_duration(d))
    }
}

fn weak_hint(s: &Strength) -> String {
    let mut out = String::new();
    if let Some(w) = &s.warning {
        out.push_str(w);
        out.push(' ');
    }
    for sug in &s.suggestions {
        out.push_str(sug);
        out.push(' ');
    }
    out.push_str("Choose a stronger one, or confirm that you accept this one.");
    out
}

/// "5 s", "2 min 8 s": short and exact enough for a lock screen.
pub(crate) fn human_duration(d: Duration) -> String {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    if secs < 60 {
        format!("{secs} s")
    } else if secs.is_multiple_of(60) {
        format!("{} min", secs / 60)
    } else {
        format!("{} min {} s", secs / 60, secs % 60)
    }
}

/// Shorthand used throughout the crate.
pub type Result<T, E = VaultError> = std::result::Result<T, E>;
