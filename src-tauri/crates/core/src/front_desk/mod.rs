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
