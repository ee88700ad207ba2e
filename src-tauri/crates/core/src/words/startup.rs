//! The data folder at start, in words: another medwallet on it, a folder that cannot be
//! written, a damaged database kept aside.

use super::{says, Words};
use crate::error::{LocalDatabase, StartupError};

/// What the file is, for the user: a wallet by its name when the vault gave it.
fn named(database: &LocalDatabase) -> String {
    let wallet = |id: &str, name: &Option<String>| match name {
        Some(name) => format!("wallet \"{name}\""),
        None => format!("wallet {id}"),
    };
    match database {
        LocalDatabase::Settings => "The settings file".to_owned(),
        LocalDatabase::Records { wallet_id, name } => {
            format!(
                "This device's records database of {}",
                wallet(wallet_id, name)
            )
        }
        LocalDatabase::AuditCache { wallet_id, name } => {
            format!("The ledger event cache of {}", wallet(wallet_id, name))
        }
    }
}

pub(super) fn words(e: &StartupError) -> Words {
    match e {
        StartupError::AlreadyRunning { dir, pid } => says(
            match pid {
                Some(pid) => format!(
                    "medwallet is already running with this data folder (pid {pid}): {}.",
                    dir.display()
                ),
                None => format!(
                    "medwallet is already running with this data folder: {}.",
                    dir.display()
                ),
            },
            "Use the window that is open, or close it and start medwallet again. Two copies on one folder would send the same wallet's transactions twice.",
        ),
        StartupError::FolderUnusable { dir, source } => says(
            match source.kind() {
                std::io::ErrorKind::ReadOnlyFilesystem | std::io::ErrorKind::PermissionDenied => {
                    format!(
                        "medwallet's data folder {} cannot be written ({source}).",
                        dir.display()
                    )
                }
                _ => format!(
                    "medwallet's data folder {} cannot be created or written ({source}).",
                    dir.display()
                ),
            },
            "Make the folder writable for your user (or free the disk it is on, or mount it read-write), or start medwallet with MEDWALLET_DATA_DIR set to a folder you can write; nothing was changed.",
        ),
        StartupError::SetAside {
            database,
            path,
            kept_as,
            what,
        } => {
            let message = format!(
                "{} ({}) was damaged ({what}); it is kept unchanged as {}.",
                named(database),
                path.display(),
                kept_as.display()
            );
            match &**database {
                LocalDatabase::Settings => says(
                    message,
                    "medwallet started on the default settings: set your nodes again in Settings.",
                ),
                LocalDatabase::Records { .. } => says(
                    message,
                    "Unlock the wallet and choose \"Rebuild from the ledger\": its records come back from the ledger and IPFS. Records never uploaded are in the damaged copy only.",
                ),
                LocalDatabase::AuditCache { .. } => says(
                    message,
                    "Nothing is lost: a new cache is read from the ledger the next time the audit trail is shown.",
                ),
            }
        }
        StartupError::NotSetAside {
            database,
            path,
            source,
        } => says(
            format!(
                "{} ({}) is damaged, and could not be moved aside ({source}).",
                named(database),
                path.display()
            ),
            "Quit medwallet, move the file out of the data folder (keep it), and start medwallet again.",
        ),
    }
}
