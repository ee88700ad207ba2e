//! The audit trail: the ledger's events about this wallet and its records, read back from
//! the ledger node, checked, cached, and shown as a timeline. Display data only: ids,
//! addresses, names this wallet knows, block numbers and transaction hashes.

use serde::{Deserialize, Serialize};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// A record was registered (uploaded).
    Uploaded,
    /// A new version of a record was registered.
    Updated,
    /// Access to a record was granted.
    Granted,
    /// Access to a record was revoked.
    Revoked,
    /// An authority issued an attribute key.
    KeyIssued,
    /// An authority revoked the keys it issued to a holder.
    KeyRevoked,
    /// A record was opened by someone it was shared with.
    Accessed,
    /// A record was opened under emergency access.
    EmergencyAccess,
    /// The owner allowed or withdrew a clinic's emergency access.
    EmergencyAccessSet,
    /// A wallet published its public keys.
    IdentityPublished,
    /// An authority published its public parameters.
    AuthorityPublished,
    /// A clinic registered a record it made for a checked-in patient.
    UploadedFor,
    /// The patient allowed or declined a clinic's check-in.
    CheckInAnswered,
    /// A clinic redeemed a patient's check-in code: it asks to check them in.
    CheckedIn,
    /// The consortium's admins attested a provider (or withdrew it, or named an admin).
    Attested,
}

impl AuditAction {
    /// Every action, in the order filters offer them.
    pub const ALL: [AuditAction; 15] = [
        AuditAction::Uploaded,
        AuditAction::Updated,
        AuditAction::Granted,
        AuditAction::Revoked,
        AuditAction::KeyIssued,
        AuditAction::KeyRevoked,
        AuditAction::Accessed,
        AuditAction::EmergencyAccess,
        AuditAction::EmergencyAccessSet,
        AuditAction::IdentityPublished,
        AuditAction::AuthorityPublished,
        AuditAction::UploadedFor,
        AuditAction::CheckInAnswered,
        AuditAction::CheckedIn,
        AuditAction::Attested,
    ];

    /// For people (`uploaded`, `granted to`).
    pub fn label(self) -> &'static str {
        match self {
            AuditAction::Uploaded => "uploaded",
            AuditAction::Updated => "updated",
            AuditAction::Granted => "granted to",
            AuditAction::Revoked => "revoked from",
            AuditAction::KeyIssued => "issued a key to",
            AuditAction::KeyRevoked => "revoked the keys of",
            AuditAction::Accessed => "accessed",
            AuditAction::EmergencyAccess => "emergency access",
            AuditAction::EmergencyAccessSet => "set emergency access for",
            AuditAction::IdentityPublished => "published their keys",
            AuditAction::AuthorityPublished => "published authority parameters",
            AuditAction::UploadedFor => "uploaded a record for",
            AuditAction::CheckInAnswered => "answered the check-in of",
            AuditAction::CheckedIn => "asked to check in",
            AuditAction::Attested => "attested",
        }
    }

    /// Wire name (`uploaded`).
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Uploaded => "uploaded",
            AuditAction::Updated => "updated",
            AuditAction::Granted => "granted",
            AuditAction::Revoked => "revoked",
            AuditAction::KeyIssued => "key_issued",
            AuditAction::KeyRevoked => "key_revoked",
            AuditAction::Accessed => "accessed",
            AuditAction::EmergencyAccess => "emergency_access",
            AuditAction::EmergencyAccessSet => "emergency_access_set",
            AuditAction::IdentityPublished => "identity_published",
            AuditAction::AuthorityPublished => "authority_published",
            AuditAction::UploadedFor => "uploaded_for",
            AuditAction::CheckInAnswered => "check_in_answered",
            AuditAction::CheckedIn => "checked_in",
            AuditAction::Attested => "attested",
        }
    }
}

/// Someone on the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    /// Ledger address (`0x` + 40 hex, EIP-55).
    pub address: String,
    /// A name this wallet knows for it (`You`, a wallet's display name), if any.
    pub name: Option<String>,
}

/// One event of the trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// What happened.
    pub action: AuditAction,
    /// Who did it (the transaction's sender, checked against the event).
    pub actor: Party,
    /// To whom (grantee, key holder, clinic), when there is one.
    pub subject: Option<Party>,
    /// The record, when the event is about one (`0x` + 64 hex).
    pub record_id: Option<String>,
    /// The record's title, when it is one of this wallet's records.
    pub record_title: Option<String>,
    /// Details in words (`version 2`, `until 2026-12-01`, `clause role:doctor`).
    pub detail: Option<String>,
    /// Block time (RFC 3339, UTC).
    pub time: String,
    /// Block number.
    pub block_number: u64,
    /// Transaction hash (`0x` + 64 hex).
    pub tx_hash: String,
    /// The event's index among its block's logs: with the transaction, what names the
    /// entry (one batch transaction carries many events).
    #[serde(default)]
    pub log_index: u64,
    /// Ledger nodes holding this entry's block with the hash it was read with: 1 is the
    /// node read from alone (no other node in the settings, or none confirmed it yet).
    #[serde(default = "one")]
    pub nodes_agreeing: u32,
    /// Ledger nodes asked: the node read from and every node to check against.
    #[serde(default = "one")]
    pub nodes_asked: u32,
    /// The ledger nodes disagree about this entry's block, in words (the block number and
    /// each node's hash); nothing in such a block counts as verified.
    #[serde(default)]
    pub dispute: Option<String>,
}

fn one() -> u32 {
    1
}

/// Filters of the trail; `None` means any.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditQuery {
    /// One record.
    pub record_id: Option<String>,
    /// One actor's address.
    pub actor: Option<String>,
    /// One action.
    pub action: Option<AuditAction>,
    /// From this date (`YYYY-MM-DD`, inclusive).
    pub from: Option<String>,
    /// To this date (`YYYY-MM-DD`, inclusive).
    pub to: Option<String>,
}

/// Arguments of `get_audit_trail`: the filters and the page wanted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrailPage {
    /// The filters.
    #[serde(default)]
    pub query: AuditQuery,
    /// The first matching entry to answer (0: the newest).
    #[serde(default)]
    pub offset: u64,
    /// How many entries to answer at most (at most [`TrailPage::MAX_LIMIT`]).
    #[serde(default)]
    pub limit: u32,
}

impl TrailPage {
    /// The largest page answered.
    pub const MAX_LIMIT: u32 = 1000;

    /// The newest `limit` entries that `query` selects.
    pub fn first(query: AuditQuery, limit: u32) -> Self {
        Self {
            query,
            offset: 0,
            limit,
        }
    }
}

/// The answer of `get_audit_trail`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditTrail {
    /// The page of matching entries asked for, newest first.
    pub entries: Vec<AuditEntry>,
    /// The position of the first one among the matches (the page's offset).
    #[serde(default)]
    pub offset: u64,
    /// How many entries match the filters.
    #[serde(default)]
    pub total: u64,
    /// The emergency openings among the matches, newest first (at most
    /// [`AuditTrail::MAX_EMERGENCIES`]): shown above the trail whatever the page.
    #[serde(default)]
    pub emergencies: Vec<AuditEntry>,
    /// How many emergency openings match.
    #[serde(default)]
    pub emergency_total: u64,
    /// The ledger's chain id, when the node answered.
    pub chain_id: Option<u64>,
    /// The last block read into the cache.
    pub synced_to_block: u64,
    /// Transactions of this wallet still waiting to be sent (queued while the node is down).
    pub pending: u32,
    /// Why the trail may be out of date (node unreachable, wrong chain, no contract).
    pub problem: Option<String>,
    /// A reorganisation the last sync found and repaired, in words.
    pub reorg: Option<String>,
}

impl AuditTrail {
    /// The most emergency openings answered with a page.
    pub const MAX_EMERGENCIES: u32 = 100;
}

/// Export formats of the trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    /// Comma-separated values, one row per entry.
    Csv,
    /// A FHIR R4 Bundle of AuditEvent resources (JSON).
    FhirBundle,
}

/// An emergency opening of one of the patient's records, not marked seen yet: what the red
/// banner lists (`emergency_alerts`). Found by the background pass in the ledger's
/// `EmergencyAccess` events naming this wallet as the owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmergencyAlert {
    /// This device's id for it (what `acknowledge_emergency_alerts` takes).
    pub id: i64,
    /// The record opened (`0x` + 64 hex).
    pub record_id: String,
    /// Its title, when this wallet holds the record.
    pub record_title: Option<String>,
    /// The version opened.
    pub version: u32,
    /// Who opened it: the clinic's staff member (EIP-55).
    pub accessor: String,
    /// On whose behalf: the clinic (EIP-55).
    pub clinic: String,
    /// When (the block's time, RFC 3339).
    pub time: String,
    /// The block.
    pub block_number: u64,
    /// The `logEmergencyAccess` transaction.
    pub tx_hash: String,
}

/// Arguments of `acknowledge_emergency_alerts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcknowledgeAlertsArgs {
    /// The alerts the patient saw (an alert found after the banner was read stays).
    pub ids: Vec<i64>,
}
