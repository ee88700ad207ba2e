//! The clinic's front desk (a clinic wallet's first page):
//!
//! - [`check_in`]: the patient's one-time check-in code, offered on the ledger and shown
//!   as a QR code; the desk reads it, checks it, redeems it once and opens what it grants;
//! - [`upload_for`]: records the desk makes for a checked-in patient, and the patient's
//!   wallet adopting them;
//! - [`verify`]: a file or a CID checked against the ledger's registrations.

pub(crate) mod check_in;
pub(crate) mod upload_for;
pub(crate) mod verify;

pub use check_in::{OfferedCheckIn, MAX_CHECK_IN_MINUTES, MIN_CHECK_IN_MINUTES};

use crate::error::{Answer, CoreError, FrontDeskError};
use crate::qr;

/// Reads the share code in the picture at `path` (on a blocking thread, size-checked),
/// in words the front desk can act on.
pub(crate) async fn read_code_picture(path: &std::path::Path) -> Answer<String> {
    let (path, shown) = (path.to_owned(), path.to_owned());
    tokio::task::spawn_blocking(move || {
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        if size > qr::MAX_PICTURE_BYTES {
            return Err(qr::QrError::TooLarge(size));
        }
        let bytes = std::fs::read(&path).map_err(|e| qr::QrError::NotAPicture(e.to_string()))?;
        qr::read(&bytes)
    })
    .await
    .map_err(|e| CoreError::internal("reading the picture", e))?
    .map_err(|source| {
        FrontDeskError::QrUnreadable {
            path: shown,
            source,
        }
        .into()
    })
}
