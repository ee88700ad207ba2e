//! The records room's refusals in words.

use super::{says, Words};
use crate::error::RecordsError;

pub(super) fn words(e: &RecordsError) -> Words {
    match e {
        RecordsError::NotInWallet { .. } => says(
            "This record is not in this wallet.",
            "Refresh the list; it may have been added to another wallet.",
        ),
        RecordsError::NoCopyName => says(
            "Choose a file name to save the decrypted copy as.",
            "Pick a folder and type a new file name.",
        ),
        RecordsError::NoFile => says(
            "No file was given.",
            "Type or paste the full path of a file, or choose it with Add records….",
        ),
        RecordsError::IsFolder { path } => says(
            format!("{} is a folder, not a file.", path.display()),
            "Choose the files inside it.",
        ),
        RecordsError::EmptyFile { path } => says(
            format!("{} is empty (0 bytes).", path.display()),
            "Choose the file that holds the record; an empty file has nothing to keep.",
        ),
        RecordsError::FileChanged { path } => says(
            format!("{} changed while it was being read.", path.display()),
            "Wait until the program writing it has finished, then add it again.",
        ),
        RecordsError::CutShort { path, source } => says(
            format!("{} could not be read to the end: {source}.", path.display()),
            "Check that the file and its disk are still there (a file removed or a drive unplugged while it is read cannot be added), then add it again.",
        ),
        RecordsError::EncryptFailed { path, source } => says(
            format!("Encrypting {} failed: {source}.", path.display()),
            "Try again; nothing of it was kept.",
        ),
        RecordsError::Cancelled { file_name } => says(
            match file_name {
                Some(name) => format!("Adding {name} was cancelled."),
                None => "Adding the file was cancelled.".to_owned(),
            },
            "Nothing of it was kept; add it again when you want.",
        ),
        RecordsError::NoTitle => says(
            "The record needs a title.",
            "Give it a title you will recognise, such as \"Blood test, March\".",
        ),
        RecordsError::TitleTooLong => says(
            "The title is longer than 200 characters.",
            "Shorten it; details belong in the file itself.",
        ),
        RecordsError::NotADate { text } => says(
            format!("\"{text}\" is not a date."),
            "Use the date picker, or write it as YYYY-MM-DD.",
        ),
        RecordsError::AuthorTooLong => {
            says("The author is longer than 200 characters.", "Shorten it.")
        }
        RecordsError::ReplicaIsOwnNode => says(
            "A replica node in Settings is this computer's own IPFS node under another name, so it holds no second copy.",
            "Remove it from the replica nodes in Settings and add another node: your clinic's, a family member's, a pinning service.",
        ),
        RecordsError::UploadRunning => says(
            "An upload of this record is already running.",
            "It goes on by itself; wait for it to finish.",
        ),
        RecordsError::RegistrationRunning => says(
            "A registration of this record is already running.",
            "It goes on by itself; wait for it to finish.",
        ),
        RecordsError::VersionGone => says("The record is gone.", "Refresh the list of records."),
        RecordsError::StoredIdUnreadable => says(
            "The record's id is not 32 bytes of hex.",
            super::DATABASE_ALTERED,
        ),
        RecordsError::VersionTaken { version } => says(
            format!("The ledger already holds a version {version} of this record with other contents: another device of this wallet changed it."),
            "Bring this device up to date with Rebuild from the ledger in Settings; this version is not sent.",
        ),
        RecordsError::NoRegistrationNonce => says(
            "This record was made by an older medwallet and cannot be registered on this ledger.",
            "Save a copy of it, delete it, and add the copy again.",
        ),
        RecordsError::SearchTooLong { max } => says(
            format!("The search is longer than {max} characters."),
            "Search for a few words of the title.",
        ),
    }
}
