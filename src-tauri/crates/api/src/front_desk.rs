//! The clinic's front desk and the patient's side of it: a one-time check-in code shown as
//! a QR code, checking a patient in from it, verifying a file against the ledger, and
//! uploading a record for a checked-in patient.

use serde::{Deserialize, Serialize};

use crate::records::RecordMetadata;
use crate::sharing::SharedRecord;

/// What the patient's check-in card asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckInRequest {
    /// Records the front desk may open, once checked in (may be empty: identity only,
    /// and the clinic may upload records for you).
    pub record_ids: Vec<String>,
    /// Minutes the desk may open them (and add records for you) once you allow it
    /// (5 ..= 1440). The code itself can be redeemed for 15 minutes.
    pub valid_minutes: u32,
}

/// A check-in code made for the front desk: show the QR code, or give the text.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckInCode {
    /// The signed code (`mwshare1:…`). It holds no key: a desk that reads it can only ask
    /// you, and you allow or decline in your wallet.
    pub code: String,
    /// The same as a QR code, as an SVG document (made in the Rust process).
    pub qr_svg: String,
    /// Until when a desk can redeem it (RFC 3339, ledger time).
    pub expires_at: String,
    /// How many records you chose to let the desk open once you allow it.
    pub records: u32,
}

/// A verified or unverified provider, as the app names it everywhere an address appears.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderLabel {
    /// The address (EIP-55).
    pub address: String,
    /// The name the consortium's admins attest on the ledger (`None`: unverified).
    pub verified_name: Option<String>,
    /// "doctor" or "clinic", as attested.
    pub verified_role: Option<String>,
}

/// A desk read the patient's check-in code and asks to check them in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckInAsk {
    /// The check-in's id on the ledger.
    pub check_in_id: String,
    /// Who asks.
    pub clinic: ProviderLabel,
    /// The records the patient chose when making the code: (record id, title).
    pub records: Vec<(String, String)>,
    /// Until when an Allow lets the desk open them and add records (RFC 3339).
    pub until: String,
    /// The state: "asked", "allowed" or "declined".
    pub state: String,
    /// The confirmation code the desk's screen shows for this check-in (`XXX-XXX`):
    /// allow only if it is the same.
    pub confirmation: String,
}

/// The patient's answer to a check-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerCheckInArgs {
    /// The check-in.
    pub check_in_id: String,
    /// The desk's address as the patient was shown it: the answer is refused if the
    /// request names another desk by now.
    pub clinic: String,
    /// Allow (grant the records until the time chosen) or decline.
    pub allow: bool,
}

/// What the front desk read: pasted text, or a picture of a QR code.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckInArgs {
    /// The pasted code.
    pub text: Option<String>,
    /// A picture (PNG or JPEG) of the QR code, chosen or dropped.
    pub picture: Option<crate::FileToken>,
}

// The code's text names the patient and carries a one-time request: not a key, but not
// for logs either.
impl std::fmt::Debug for CheckInCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckInCode")
            .field("code", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .field("records", &self.records)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for CheckInArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckInArgs")
            .field("text", &self.text.as_ref().map(|_| "[redacted]"))
            .field("picture", &self.picture)
            .finish()
    }
}

/// A patient checked in at this clinic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckInSession {
    /// The check-in's id on the ledger.
    pub check_in_id: String,
    /// The confirmation code the patient's wallet shows with the request (`XXX-XXX`):
    /// tell it to the patient, who allows only if theirs is the same.
    pub confirmation: String,
    /// The patient's address (EIP-55), checked against the keys it published.
    pub patient: String,
    /// The name the patient put in the code (their choice).
    pub patient_name: String,
    /// When the patient made the code (RFC 3339).
    pub issued_at: String,
    /// When this clinic redeemed it (RFC 3339).
    pub checked_in_at: String,
    /// "waiting" (for the patient to answer on their device), "allowed" or "declined".
    pub state: String,
    /// Until when the patient allowed it: its grants open and records can be uploaded
    /// (RFC 3339, ledger time); until the patient answers, when the code could be redeemed.
    pub expires_at: String,
    /// Whether that time is over.
    pub expired: bool,
    /// The records the patient granted this clinic (titles decrypted for the desk).
    pub records: Vec<SharedRecord>,
    /// Grants that could not be read, in words.
    pub problems: Vec<String>,
}

/// One record of a check-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckInRecordArgs {
    /// The check-in's id.
    pub check_in_id: String,
    /// The record.
    pub record_id: String,
}

/// A record the desk uploads for a checked-in patient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadForPatientArgs {
    /// The check-in's id.
    pub check_in_id: String,
    /// The file, chosen or dropped.
    pub file: crate::FileToken,
    /// Its title, category, date and author.
    pub metadata: RecordMetadata,
}

/// A record uploaded for a patient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadedForPatient {
    /// The new record.
    pub record_id: String,
    /// Its title.
    pub title: String,
    /// Its owner (the patient).
    pub patient: String,
    /// The registering transaction.
    pub tx_hash: String,
}

/// What to verify: a CID, or a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyArgs {
    /// A CID (`bafy…`) of a record's object.
    pub cid: Option<String>,
    /// A file, chosen or dropped: a record as stored on IPFS, or a document this wallet
    /// can compare with a record it can read.
    pub file: Option<crate::FileToken>,
}

/// The answer of a verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifyOutcome {
    /// Exactly a version registered on the ledger, and the record's latest.
    Registered,
    /// Exactly a version registered on the ledger, since replaced by a newer one.
    Superseded,
    /// It claims to be (or resembles) a registered record, but its bytes differ.
    Altered,
    /// Nothing on the ledger (that this wallet can read) matches it.
    Unknown,
}

/// A verification, in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// The outcome.
    pub outcome: VerifyOutcome,
    /// One sentence for the desk.
    pub headline: String,
    /// What was compared, who registered it and when.
    pub details: Vec<String>,
    /// The record, if one was found.
    pub record_id: Option<String>,
    /// Its version, if one matched.
    pub version: Option<u32>,
    /// Who registered it (EIP-55).
    pub registered_by: Option<String>,
    /// When (RFC 3339, block time).
    pub registered_at: Option<String>,
}

/// A staff member's key from the clinic's authority.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffMember {
    /// Their wallet's address (EIP-55).
    pub holder: String,
    /// The attributes their key holds (`role:doctor`, `dept:emergency`).
    pub attributes: Vec<String>,
    /// Whether the key is still good (not revoked).
    pub active: bool,
    /// When it was issued (RFC 3339).
    pub issued_at: String,
    /// When it was revoked (RFC 3339).
    pub revoked_at: Option<String>,
    /// The `revokeKey` transaction that put the revocation on the ledger (from then on
    /// the contract refuses the holder's access logs); `None` while it waits to be sent.
    #[serde(default)]
    pub revocation_tx: Option<String>,
}

/// The clinic's staff and its authority's epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffList {
    /// The authority's epoch: it moves on each time a staff key is revoked.
    pub epoch: u32,
    /// The staff, active first.
    pub members: Vec<StaffMember>,
    /// Why some keys still wait to be issued (a node down), if they do.
    pub problem: Option<String>,
}

/// A staff key to issue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueStaffArgs {
    /// The staff member's wallet address.
    pub holder: String,
    /// Attributes, one each (`role:doctor`, `dept:cardiology`).
    pub attributes: Vec<String>,
}

/// A staff member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffHolderArgs {
    /// Their wallet address.
    pub holder: String,
}
