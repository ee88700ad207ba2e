//! Every failure in the user's words: what happened, and what to do next.

use std::path::Path;

use medwallet_api::UserError;
use medwallet_records::capsule::CapsuleError;
use medwallet_records::manifest::ManifestError;
use medwallet_records::stream::StreamError;
use medwallet_records::IpfsError;

use crate::store::StoreError;

const DO_NOT_TRUST: &str = "Do not trust this copy. If it came from IPFS, the node holds a damaged or substituted object: add the original file again.";

/// A part of a record failed verification: named, never shown.
pub fn altered(part: &str, how: &str) -> UserError {
    UserError::new(
        format!("The record's {part} was altered: {how}."),
        DO_NOT_TRUST,
    )
}

/// A failed IPFS call.
pub fn node_error(e: &IpfsError) -> UserError {
    match e {
        IpfsError::InvalidUrl { url, reason } => UserError::new(
            format!("The IPFS node URL {url} cannot be used: {reason}."),
            "Correct it in Settings.",
        ),
        IpfsError::Unreachable { url, .. } => UserError::new(
            format!("The IPFS node at {url} does not answer."),
            "Records added now are kept on this device and uploaded when it is back. Check that the node runs, or its URL in Settings.",
        ),
        IpfsError::NotIpfs { url, .. } => UserError::new(
            format!("{url} answered, but it is not an IPFS node."),
            "Check the IPFS node URL in Settings.",
        ),
        IpfsError::CidMismatch { expected, got } => UserError::new(
            format!("The IPFS node answered {got} for data whose CID is {expected}: not what was asked for."),
            "The node may be faulty or not the one you expect; check its URL in Settings. Nothing was marked as uploaded.",
        ),
        IpfsError::NotFound { cid, .. } => UserError::new(
            format!("The IPFS node does not have {cid}."),
            "It may have been removed from the node (unpinned and collected). If you have the original file, add it again.",
        ),
        IpfsError::TooLarge { .. } => altered(
            "stored object",
            "the node answered more bytes than the record can have",
        ),
        other => UserError::new(
            format!("The IPFS node failed: {other}."),
            "Try again; if it persists, check the node.",
        ),
    }
}

/// A failed STREAM decryption of `part`.
pub fn stream_error(e: StreamError, part: &str) -> UserError {
    match e {
        StreamError::Tampered { chunk } => altered(
            part,
            &format!("chunk {chunk} does not authenticate (its bytes were changed, moved or are from another record)"),
        ),
        StreamError::Truncated => altered(part, "it is cut short (truncated)"),
        StreamError::WrongKey => altered(part, "its header does not authenticate under the record's key"),
        StreamError::TrailingData => altered(part, "bytes were appended after its end"),
        StreamError::BadHeader(_) | StreamError::UnsupportedVersion { .. } => {
            altered(part, "its header is not a medwallet content header")
        }
        StreamError::Io(e) => UserError::new(
            format!("Reading the record's {part} failed: {e}."),
            "Check the disk, then try again.",
        ),
        other => UserError::new(
            format!("Decrypting the record's {part} failed: {other}."),
            DO_NOT_TRUST,
        ),
    }
}

/// A failed encryption of the file at `source` into `dest`.
pub fn encrypt_error(e: StreamError, source: &str, dest: &Path) -> UserError {
    match e {
        StreamError::Cancelled => UserError::new(
            "Adding the file was cancelled.",
            "Nothing of it was kept; add it again when you want.",
        ),
        StreamError::Io(io) => {
            if is_disk_full(&io) {
                disk_error(dest, &io)
            } else {
                UserError::new(
                    format!("{source} could not be read to the end: {io}."),
                    "Check that the file and its disk are still there (a file removed or a drive unplugged while it is read cannot be added), then add it again.",
                )
            }
        }
        other => UserError::new(
            format!("Encrypting {source} failed: {other}."),
            "Try again; nothing of it was kept.",
        ),
    }
}

fn is_disk_full(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::StorageFull || e.raw_os_error() == Some(28)
}

/// A failed file operation on this device.
pub fn disk_error(path: &Path, e: &std::io::Error) -> UserError {
    if is_disk_full(e) {
        UserError::new(
            format!("The disk is full: {} could not be written.", path.display()),
            "Free some space (medwallet keeps an encrypted copy of each record until it is on IPFS), then try again. Nothing half-written was kept.",
        )
    } else {
        UserError::new(
            format!("{} could not be written or read: {e}.", path.display()),
            "Check the disk and the permissions of medwallet's data folder, then try again.",
        )
    }
}

/// A failed local database operation.
pub fn store_error(e: StoreError) -> UserError {
    match e {
        StoreError::Io { source, what } if is_disk_full(&source) => UserError::new(
            format!("The disk is full ({what})."),
            "Free some space, then try again. Nothing half-written was kept.",
        ),
        other => UserError::new(
            format!("The records database failed: {other}."),
            "Try again; if it persists, restart medwallet.",
        ),
    }
}

/// The local index does not open with this wallet's key.
pub fn local_index_damaged(record_id: &str) -> UserError {
    UserError::new(
        format!("This device's index entry for record {record_id} does not open with this wallet's key."),
        "The records database was altered or belongs to another wallet. Restore it from a backup, or add the record again.",
    )
}

/// A capsule that does not give the data key.
pub fn capsule_error(e: CapsuleError) -> UserError {
    match e {
        CapsuleError::NotAllowed => UserError::new(
            "This wallet's keys do not satisfy the record's access policy.",
            "Ask the record's owner to share it with you.",
        ),
        CapsuleError::NotThisRecord { .. } | CapsuleError::Tampered => {
            altered("capsule", "it was changed or belongs to another record")
        }
        other => altered("capsule", &other.to_string()),
    }
}

/// A manifest that does not open.
pub fn manifest_error(e: ManifestError) -> UserError {
    match e {
        ManifestError::NotThisRecord { .. } => altered("manifest", "it belongs to another record"),
        ManifestError::WrongKeyOrTampered => altered(
            "manifest",
            "it does not authenticate (its bytes were changed)",
        ),
        other => altered("manifest", &other.to_string()),
    }
}

/// An internal step failed: a bug or a broken environment, never the user's doing.
pub(crate) fn internal(what: &str, e: impl std::fmt::Display) -> UserError {
    UserError::new(
        format!("An internal step failed ({what}: {e})."),
        "Try again; if it persists, report it.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_named_as_such() {
        let e = std::io::Error::from_raw_os_error(28);
        let u = disk_error(Path::new("/data/x.content"), &e);
        assert!(u.message.starts_with("The disk is full"), "{u:?}");
        let u = encrypt_error(StreamError::Io(e), "/home/a/scan.pdf", Path::new("/data/x"));
        assert!(u.message.starts_with("The disk is full"), "{u:?}");
    }

    #[test]
    fn tampering_names_the_part_and_chunk() {
        let u = stream_error(StreamError::Tampered { chunk: 3 }, "content");
        assert!(u.message.contains("content was altered"), "{u:?}");
        assert!(u.message.contains("chunk 3"), "{u:?}");
        let u = stream_error(StreamError::Truncated, "content");
        assert!(u.message.contains("truncated"), "{u:?}");
    }
}
