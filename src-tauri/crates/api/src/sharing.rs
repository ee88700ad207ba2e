//! Sharing: a patient grants and revokes access to records; a doctor opens what was
//! shared with it.

use serde::{Deserialize, Serialize};

use crate::records::{Category, ContentKind};

/// What the share dialog asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareRequest {
    /// The records to share (one or several).
    pub record_ids: Vec<String>,
    /// The person, or with `clause` the clinic: a ledger address (`0x` + 40 hex digits).
    pub grantee: String,
    /// A role at a clinic: a clause under the clinic's authority, such as
    /// `role:doctor AND dept:cardiology` (`grantee` is then the clinic). `None` for a person.
    #[serde(default)]
    pub clause: Option<String>,
    /// One of your groups (such as `careteam`): everyone you add to it can read, and
    /// removing someone re-encrypts for the others. `grantee` is then ignored.
    #[serde(default)]
    pub group: Option<String>,
    /// Days until the grant expires; `None` for no expiry.
    pub expires_in_days: Option<u32>,
    /// The key fingerprint the preview showed for an address typed without a share code:
    /// keys are then sealed only to the keys that had that fingerprint.
    #[serde(default)]
    pub seen_fingerprint: Option<String>,
}

/// The share dialog's preview of a request, before anything is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharePreview {
    /// The grantee's address (EIP-55), in full.
    pub grantee: String,
    /// The role the grantee published (`patient`, `doctor`, `clinic`).
    pub grantee_role: String,
    /// The resulting policy of each record, in plain words.
    pub policy_words: String,
    /// A warning when the grant is broad; `None` for a grant to one person.
    pub warning: Option<String>,
    /// When the grant ends (RFC 3339), if it does.
    pub expires_at: Option<String>,
    /// Whether the grantee gets a key from this wallet first (a first share with them).
    pub issues_key: bool,
    /// The fingerprint of the keys the ledger publishes for the grantee (eight groups of
    /// four hex digits), to compare with the one their Keys page shows when only an
    /// address was typed.
    #[serde(default)]
    pub key_fingerprint: Option<String>,
    /// The grantee as the consortium attests it (a verified name), or unverified; `None`
    /// for a group.
    #[serde(default)]
    pub grantee_label: Option<crate::ProviderLabel>,
}

/// Where a grant is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum GrantState {
    /// Queued: the key, capsule or transaction is not sent yet.
    Sending {
        /// Why it waits, if it failed once.
        reason: Option<String>,
    },
    /// On the ledger; the grantee can open the record.
    Active,
    /// Being taken back: the record is re-encrypted and the revocation is sent.
    Revoking {
        /// Why it waits, if it failed once.
        reason: Option<String>,
    },
    /// Taken back.
    Revoked,
}

/// One grant of one record to one person, as the patient sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantSummary {
    /// The record.
    pub record_id: String,
    /// Its title (decrypted on this device).
    pub record_title: String,
    /// The grantee's address (EIP-55): the person, or the clinic of a clause grant.
    pub grantee: String,
    /// For a role at a clinic: the clause, and the same in plain words.
    pub clause: Option<ClauseText>,
    /// For a grant to one of your groups, or a member's removal from it: the group.
    pub group: Option<String>,
    /// A member's removal from `group` (the record re-encrypted for the others), not a
    /// grant: `grantee` is the member removed.
    pub leave: bool,
    /// The clinic of a role grant revoked a staff key: the record is re-encrypted under
    /// the clinic's new parameters (`grantee` is the clinic, `clause` the role). Not a
    /// grant either.
    #[serde(default)]
    pub rotation: bool,
    /// When it was asked for (RFC 3339).
    pub requested_at: String,
    /// When it expires (RFC 3339), if it does.
    pub expires_at: Option<String>,
    /// Whether the expiry has passed.
    pub expired: bool,
    /// Where it is.
    pub state: GrantState,
    /// The grant's transaction, once on the ledger.
    pub tx_hash: Option<String>,
    /// After a revocation: what the grantee could have fetched.
    pub exposure: Option<ExposureReport>,
}

/// A clause under a clinic's authority, as written and in plain words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClauseText {
    /// The clause (`role:doctor AND dept:cardiology`).
    pub clause: String,
    /// In plain words (`any doctor in cardiology`).
    pub words: String,
}

/// What a revoked grantee could have fetched, from the ledger's own events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExposureReport {
    /// The versions the grantee's key opened while the grant was active.
    pub versions: Vec<ExposedVersion>,
    /// When the grantee logged an opening (RFC 3339), oldest first.
    pub accesses: Vec<String>,
    /// The version made at revocation, which the grantee cannot open.
    pub new_version: u32,
    /// The whole report in one paragraph.
    pub summary: String,
}

/// One version the grantee could have fetched, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExposedVersion {
    /// The version.
    pub version: u32,
    /// From (RFC 3339).
    pub from: String,
    /// Until (RFC 3339).
    pub until: String,
}

/// A record someone shared with this wallet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedRecord {
    /// The record.
    pub record_id: String,
    /// Its current version.
    pub version: u32,
    /// The patient who owns it (EIP-55 address).
    pub owner: String,
    /// Title (decrypted with the key the owner issued).
    pub title: String,
    /// Category.
    pub category: Category,
    /// Date of the record.
    pub date: String,
    /// Author.
    pub author: String,
    /// File name.
    pub file_name: String,
    /// What it is.
    pub kind: ContentKind,
    /// Plaintext size in bytes.
    pub size: u64,
    /// When it was shared (RFC 3339).
    pub shared_at: String,
    /// When the grant ends (RFC 3339), if it does.
    pub expires_at: Option<String>,
    /// Whether the grant has expired (it no longer opens).
    pub expired: bool,
    /// Shared with the clinic's emergency staff (`role:emergency`): opening it is logged
    /// as an emergency access, shown as such to the patient.
    #[serde(default)]
    pub emergency: bool,
    /// Whether this wallet opened it before: its title, category, date, author, file and
    /// size come from that logged opening. Otherwise they are placeholders ("Not opened
    /// yet"): nothing of a record is decrypted for the list before an opening is logged.
    #[serde(default)]
    pub opened: bool,
    /// The owner as the consortium attests it (a verified name), or unverified (most
    /// patients); `None` when the ledger was not asked.
    #[serde(default)]
    pub owner_label: Option<crate::ProviderLabel>,
}

/// The doctor's inbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedInbox {
    /// Records that open, newest share first.
    pub records: Vec<SharedRecord>,
    /// Grants that could not be read (a node down, a damaged key), in words.
    pub problems: Vec<String>,
}

/// One of the patient's groups (an attribute under their own authority).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupSummary {
    /// Its name (`careteam`).
    pub name: String,
    /// Its epoch: members hold `<name>#<epoch>`; each removal moves to the next.
    pub epoch: u32,
    /// Active members (EIP-55 addresses).
    pub members: Vec<String>,
}

/// What a long sharing step is working through.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SharingWork {
    /// A patient's records re-encrypted under new data keys (a member left a group, a
    /// clinic revoked a staff key, grants revoked or expired together).
    #[default]
    Reencrypting,
    /// A clinic's staff given new keys after it revoked one (its next epoch).
    Rekeying,
}

/// One item a sharing step could not finish; the others went on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharingItemProblem {
    /// What it was: a record's title (or its id when the title cannot be read), or a
    /// staff member's address.
    pub name: String,
    /// Why, in words; it is tried again by the next pass.
    pub reason: String,
}

/// How far the unlocked wallet's sharing step is (`sharing_progress`, polled while a page
/// waits for one): "Re-encrypting 37 of 100 records".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharingProgress {
    /// Which run these figures are of: counts up from 1 while the app runs (0 before any),
    /// so a window that read the progress before a step can tell that step's end.
    #[serde(default)]
    pub run: u64,
    /// Running now; `false` once it ended (the figures are then its last).
    pub running: bool,
    /// What it works through.
    pub work: SharingWork,
    /// Items finished (done or failed).
    pub done: u32,
    /// Items in all.
    pub total: u32,
    /// A batch of records is re-encrypted and uploaded: their new versions are being
    /// registered on the ledger, the grants taken back there, and the versions they
    /// replace removed from this computer's IPFS node (their reports follow).
    #[serde(default)]
    pub finishing: bool,
    /// Those that failed, by name.
    pub failed: Vec<SharingItemProblem>,
}

/// The unlocked wallet's share code: its address and public keys signed with its Ed25519
/// key, for one ledger chain, as text to paste into another wallet's share dialog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareCodeText {
    /// The code (`mwshare1:…`).
    pub code: String,
    /// The ledger chain it is for.
    pub chain_id: u64,
}
