//! The wallets in words: the vault's errors split into message and hint where it helps
//! the screen (the vault's own messages already say what to do), and the wallet room's
//! refusals.

use std::time::Duration;

use medwallet_vault::VaultError;

use super::{says, Words};
use crate::error::WalletError;

pub(super) fn words(e: &WalletError) -> Words {
    match e {
        WalletError::NotOpenYet => says("The vault is not open yet.", "Restart medwallet."),
        WalletError::Reopening => says("The vault is being reopened.", "Try again."),
        WalletError::Unusable(inner) => super::words(inner),
        WalletError::CalibrationFailed { detail } => says(
            format!("Measuring this computer's speed failed ({detail})."),
            "Try again.",
        ),
        WalletError::PrefsNotSaved(e) => says(
            format!("medwallet could not save its settings ({e})."),
            "Check the disk and its free space, then try again.",
        ),
        WalletError::KitNotSaved(e) => says(
            format!("The Emergency Kit could not be saved ({e})."),
            "Check the disk and its free space, then try again.",
        ),
        WalletError::NoPendingKit => says(
            "The recovery words are shown only once, right after a wallet is created.",
            "If you did not write them down, print a new Emergency Kit from Settings while the wallet is unlocked.",
        ),
        WalletError::IdleTimeoutRange => says(
            "The time before locking must be 1 to 120 minutes.",
            "Choose a value in that range.",
        ),
    }
}

/// A vault error in the user's words.
pub(super) fn vault(error: &VaultError) -> Words {
    let message = match error {
        VaultError::WrongPassphrase { retry_after, .. } if retry_after.is_zero() => {
            "That passphrase is not right.".to_owned()
        }
        VaultError::WrongPassphrase { retry_after, .. } => {
            format!(
                "That passphrase is not right. Wait {} before the next try.",
                human_secs(*retry_after)
            )
        }
        VaultError::TooManyAttempts { retry_after } => {
            format!(
                "Too many wrong passphrases in a row. Wait {} before the next try.",
                human_secs(*retry_after)
            )
        }
        VaultError::ConfirmationMismatch { positions } if !positions.is_empty() => {
            let list: Vec<String> = positions.iter().map(|p| p.to_string()).collect();
            let (what, verb) = if list.len() == 1 {
                ("Word number", "does")
            } else {
                ("Words number", "do")
            };
            let joined = match list.split_last() {
                Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
                _ => list.join(""),
            };
            format!("{what} {joined} {verb} not match your Emergency Kit.")
        }
        _ => error.to_string(),
    };
    let hint = match error {
        VaultError::WrongPassphrase { .. } | VaultError::TooManyAttempts { .. } => {
            "Passphrases are case-sensitive: check Caps Lock. After 3 wrong tries, medwallet makes you wait a little longer each time. If you forgot the passphrase, restore the wallet from its Emergency Kit with a new one."
        }
        VaultError::WeakPassphrase(_) => "Add more words, or tick \"Keep this weak passphrase\" to use it anyway.",
        VaultError::Phrase(_) => "Correct it in the recovery words box and try again. Your words are checked on this computer only.",
        VaultError::ConfirmationMismatch { .. } => "Look at the words you wrote down and type the asked ones again.",
        VaultError::Locked => "Unlock the wallet, then try again.",
        VaultError::KeyringUnavailable(_) | VaultError::QuickUnlockNotEnabled | VaultError::QuickUnlockStale => {
            "Your passphrase still unlocks the wallet."
        }
        // The vault's message says what to do (keep the file, restore from the kit...).
        _ => "",
    };
    (message, (!hint.is_empty()).then(|| hint.to_owned()))
}

/// "5 s", "2 min 8 s".
pub(crate) fn human_secs(d: Duration) -> String {
    let secs = secs_up(d);
    match (secs / 60, secs % 60) {
        (0, s) => format!("{s} s"),
        (m, 0) => format!("{m} min"),
        (m, s) => format!("{m} min {s} s"),
    }
}

/// Whole seconds, rounded up.
pub(crate) fn secs_up(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}
