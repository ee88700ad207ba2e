//! Emergency access (break-glass): a grant of `role:emergency` to a clinic.
//!
//! It is shared like any role, with three differences kept here: the grant first marks
//! the clinic as the record's emergency clinic on the ledger (`setEmergencyAccess`, so a
//! live emergency grant is always marked) and its revocation unmarks it; the share dialog
//! says what it allows in plain words; and a staff member opening through it is logged as
//! `EmergencyAccess` (see [`crate::inbox`]), which the patient's trail shows first.

use medwallet_ledger::{Address, B256};

use super::grant::clause_hash;
use super::Failure;
use crate::ledger::directory::Connected;

/// The clause of a grant to a clinic's emergency staff.
pub(crate) const EMERGENCY_CLAUSE: &str = "role:emergency";

/// Whether a grant's clause is the emergency clause.
pub(crate) fn is_emergency(clause: Option<&str>) -> bool {
    clause == Some(EMERGENCY_CLAUSE)
}

/// Whether a clause hash on the ledger is the emergency clause's.
pub(crate) fn is_emergency_hash(hash: B256) -> bool {
    hash == clause_hash(EMERGENCY_CLAUSE)
}

/// Marks (or unmarks) `clinic` as the record's emergency clinic on the ledger.
pub(crate) async fn mark(
    conn: &Connected,
    record: B256,
    clinic: Address,
    on: bool,
) -> Result<(), Failure> {
    tracing::info!(%record, %clinic, on, "emergency mark");
    conn.client
        .set_emergency_access(record, clinic, on)
        .await
        .map(|_| ())
        .map_err(Failure::ledger)
}

/// What the share dialog says of an emergency grant.
pub(crate) fn warning(clinic: &str) -> String {
    format!(
        "Emergency: whoever clinic {clinic} gives role:emergency can open it, without asking you. Each opening is logged as an emergency access and shown first in your audit trail."
    )
}
