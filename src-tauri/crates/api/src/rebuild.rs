//! Rebuilding a wallet from the ledger and IPFS (after a restore from the Emergency Kit,
//! or on demand): what the progress view and the Records page show.

use serde::{Deserialize, Serialize};

/// Where a rebuild is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RebuildState {
    /// None was asked for (a wallet made on this device), or the last one finished.
    #[default]
    Idle,
    /// Asked for, waiting for the ledger node to answer (the keys are restored; the
    /// rebuild starts by itself when the node answers).
    Waiting,
    /// Running now.
    Running,
    /// Cancelled by the user; what was read is kept, and starting again resumes.
    Cancelled,
    /// Finished.
    Done,
}

/// What a rebuild is doing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RebuildStage {
    /// Reading the wallet's events from the ledger (by indexed topics).
    #[default]
    ReadingLedger,
    /// Fetching and opening the records' manifests and capsules from IPFS.
    OpeningRecords,
    /// Rebuilding grants, groups, staff and the authority's epoch.
    Sharing,
}

/// A rebuild's progress (`rebuild_status`, polled while it runs).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RebuildStatus {
    /// Where it is.
    pub state: RebuildState,
    /// What it is doing (while running).
    pub stage: RebuildStage,
    /// The last ledger block read.
    pub block: u64,
    /// The ledger's head block when this run started.
    pub head: u64,
    /// Records this wallet registered (or a clinic registered for it) found on the
    /// ledger so far.
    pub records_found: u32,
    /// Of those, records whose latest version was opened and verified (its manifest and
    /// capsule fetched and checked, its objects pinned).
    pub records_opened: u32,
    /// Records registered on the ledger whose latest version was not brought back (not
    /// found on the IPFS node, or not opening).
    pub not_found: u32,
    /// Grants rebuilt (active and revoked).
    pub grants_found: u32,
    /// Why it waits or stopped, in words.
    pub problem: Option<String>,
    /// When the last run finished (RFC 3339).
    pub finished_at: Option<String>,
}

/// A record version registered on the ledger that this device could not bring back:
/// its objects are not on the IPFS node, or do not open with the wallet's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnrecoveredRecord {
    /// Record id (`0x` + 64 hex).
    pub id: String,
    /// Its latest version on the ledger.
    pub version: u32,
    /// The manifest's CID, as registered.
    pub manifest_cid: String,
    /// The capsule's CID (the newest the ledger names for this version).
    pub capsule_cid: String,
    /// Registered (RFC 3339, the block's time).
    pub registered_at: String,
    /// The registration's transaction.
    pub tx_hash: String,
    /// Its block.
    pub block_number: u64,
    /// The clinic that registered it for the patient, if one did.
    pub uploaded_by: Option<String>,
    /// What went wrong, in words.
    pub reason: String,
}
