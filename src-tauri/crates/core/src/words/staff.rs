//! The staff room's refusals in words.

use super::{says, Words};
use crate::error::StaffError;

pub(super) fn words(e: &StaffError) -> Words {
    match e {
        StaffError::OnlyClinics => says(
            "Only clinic wallets issue staff keys.",
            "Switch to the clinic's wallet.",
        ),
        StaffError::NotOneAttribute { attribute } => says(
            format!("\"{attribute}\" is not a single attribute."),
            "Give attributes one by one, such as role:doctor and dept:emergency.",
        ),
        StaffError::NoAttribute => says(
            "A staff key needs at least one attribute.",
            "Give the staff member's role, such as role:doctor.",
        ),
        StaffError::NoActiveKey { holder } => says(
            format!("{holder} holds no active staff key from this clinic."),
            "Refresh the list; it may be revoked already.",
        ),
        StaffError::StoredParamsUnusable(e) => says(
            format!("A clinic's stored parameters are unusable: {e}."),
            "They are read from the ledger again on the next pass.",
        ),
    }
}
