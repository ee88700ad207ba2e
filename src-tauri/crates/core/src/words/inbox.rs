//! The inbox room (what others shared with this wallet) in words.

use medwallet_ledger::{LedgerError, Revert};

use super::{ledger_words, says, Words};
use crate::error::{InboxError, KeyProblem, Route};

pub(super) fn words(e: &InboxError) -> Words {
    match e {
        InboxError::NotShared => says(
            "This record is not shared with this wallet (or access was revoked).",
            "Ask the patient to share it again.",
        ),
        InboxError::Expired { at } => says(
            format!("Access to this record expired on {}.", super::rfc3339(*at)),
            "Ask the patient to share it again.",
        ),
        InboxError::KeyDoesNotHold => says(
            "This record is shared with a role or group that this wallet's key does not hold (any more).",
            "Ask the clinic for the right staff key, or the patient to share it with you.",
        ),
        InboxError::NotRegistered => says(
            "The ledger has no registration of this record by the patient who shared it.",
            "Ask the patient to check the record in their wallet.",
        ),
        InboxError::NoKeyIssued { issuer } => says(
            format!("{issuer} shared a record but issued no key to this wallet."),
            "Ask the patient to share it again; the key is issued with the share.",
        ),
        InboxError::KeyUnusable { issuer, why } => {
            let why = match why {
                KeyProblem::Envelope(e) => e.to_string(),
                KeyProblem::OtherParties => "it names another issuer or holder".to_owned(),
                KeyProblem::DoesNotOpen => "it does not open with this wallet's key".to_owned(),
                KeyProblem::NotAKey(e) => e.to_string(),
            };
            says(
                format!("The key {issuer} issued to this wallet cannot be used: {why}."),
                "Ask that person to share again (a new key is issued).",
            )
        }
        InboxError::OpeningNotLogged { route, source } => opening_not_logged(*route, source),
        InboxError::SharedUnreadable { owner, source } => {
            let (message, hint) = super::words(source);
            (
                format!("A record shared by {owner} could not be read: {message}"),
                hint,
            )
        }
    }
}

/// Why an opening could not be logged (and so is not made): the contract refused it
/// (the grant, or the check-in, is over), or the ledger did not answer.
fn opening_not_logged(route: Route, e: &LedgerError) -> Words {
    match e {
        LedgerError::Reverted {
            reason:
                Revert::GrantExpired { .. }
                | Revert::NotGrantee { .. }
                | Revert::CheckInExpired { .. }
                | Revert::NotCheckedIn { .. },
            ..
        } => says(
            format!("The ledger refused to log this opening: {}", ledger_words(e)),
            match route {
                Route::Shared => {
                    "Access was revoked or has expired; ask the patient to share it again."
                }
                Route::CheckIn => "The check-in is over or the patient took the record back; ask them to check in again or to share it.",
            },
        ),
        _ => says(
            ledger_words(e),
            "The record opens only once the opening is logged; try again when the ledger answers.",
        ),
    }
}
