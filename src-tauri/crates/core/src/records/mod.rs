//! Records: a patient's own records, from adding a file to opening it again.
//!
//! - [`add`]: encrypt on this device, then upload and register;
//! - [`pipeline`]: the one encryption pipeline (adds, uploads for a patient, re-encryption);
//! - [`outbox`]: uploads and registrations that wait for a node, retried until done;
//! - [`register`]: the ledger step of the outbox;
//! - [`inspect`]: checking files and proposing metadata before an add;
//! - [`list`]: the Records page, a page at a time, searched in an index decrypted once;
//! - this module: the service, listing, opening and saving a decrypted copy.
//!
//! Opening always re-verifies: the capsule, manifest and content bytes are fetched (from
//! IPFS once uploaded), their CIDs recomputed, the capsule unwrapped with the owner's
//! attribute key and compared with the locally kept data key, the manifest opened, and the
//! content decrypted chunk by chunk; nothing is shown unless all of it holds.

mod add;
pub(crate) mod inspect;
pub mod list;
pub(crate) mod outbox;
pub(crate) mod pipeline;
pub(crate) mod register;
pub mod replicas;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use medwallet_api::{
    AddProgress, AddStage, Category, ContentKind, LedgerMark, OpenedRecord, RecordStatus,
    RecordSummary, RecordView, SavedCopy, Verification,
};
use medwallet_records::cid::{cid_of, Cid};
use medwallet_records::{capsule, manifest, stream, IpfsNode};
use url::Url;

use crate::error::{Alteration, Answer, CidRef, CoreError, Part, RecordsError};
use crate::ipfs::SharedBuffer;
use crate::session::Owner;
use crate::store::{local_seal, remove_file, Object, RecordStore, State, StoredRecord};
pub(crate) use add::write_small_objects;
pub use inspect::inspect as inspect_files;
use pipeline::{decrypt_file, Sink};

/// Plaintext larger than this is verified but not shown (save a copy instead).
pub const MAX_VIEW_SIZE: u64 = 64 * 1024 * 1024;

/// The records use cases for one app data folder (`<data>/records/<wallet id>/`).
pub struct RecordService {
    pub(crate) dir: PathBuf,
    pub(crate) stores: tokio::sync::Mutex<HashMap<String, RecordStore>>,
    /// Record versions being uploaded now (an add and the outbox never upload one twice at once).
    pub(crate) uploading: Mutex<HashSet<(String, u32)>>,
    /// Record versions being registered now (never two transactions for one at once).
    pub(crate) registering: Mutex<HashSet<(String, u32)>>,
    /// Cancel flags of running adds, by job id.
    pub(crate) jobs: Mutex<HashMap<String, Arc<AtomicBool>>>,
    /// Wallet ids of restores under way: their folder exists before the vault keeps the
    /// wallet, and the passes over every wallet's folder leave it alone (a refused
    /// restore removes it).
    pub(crate) restoring: Mutex<HashSet<String>>,
    /// Held by a sharing pass (the background pass and the share, revoke and group
    /// commands), so two never make a record's next version or send its grants at once.
    pub(crate) sharing: tokio::sync::Mutex<()>,
    /// The wallets' ledger event caches (shared with the audit trail).
    pub(crate) events: std::sync::Arc<crate::ledger::EventCaches>,
    /// Counts the commands that changed sharing state (a share, a group, a staff key): the
    /// background pass of a quiet wallet runs in full after any (see `crate::background`).
    pub(crate) sharing_changes: std::sync::atomic::AtomicU64,
    /// The unlocked wallet's records list, decrypted once ([`list`]); gone when it locks.
    pub(crate) lists: tokio::sync::Mutex<list::Lists>,
    /// How a sharing pass runs revocations: records at once, records per batch
    /// ([`Reencryption`]).
    pub(crate) reencryption: Mutex<Reencryption>,
    /// Each wallet's sharing progress (`sharing::reencrypt`), by wallet id.
    pub(crate) progress:
        Mutex<HashMap<String, Arc<tokio::sync::watch::Sender<medwallet_api::SharingProgress>>>>,
}

/// Tells the caller how an add goes.
pub type Progress = Arc<dyn Fn(AddProgress) + Send + Sync>;

/// How often a window hears an add's progress at most.
pub const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

/// `progress`, told at most once each `every` within a stage, and always a stage's first
/// and last message. The pipeline reports every 64 KiB chunk (12,288 times for 768 MB):
/// a webview that renders each one falls behind the work it shows, and the add's answer
/// (done, cancelled) queues behind them.
pub fn throttled(progress: Progress, every: std::time::Duration) -> Progress {
    let last: Mutex<Option<(AddStage, std::time::Instant)>> = Mutex::new(None);
    Arc::new(move |p: AddProgress| {
        let now = std::time::Instant::now();
        let mut last = lock(&last);
        let due = match *last {
            None => true,
            Some((stage, at)) => {
                stage != p.stage
                    || now.duration_since(at) >= every
                    || (p.total > 0 && p.done >= p.total)
            }
        };
        if due {
            *last = Some((p.stage, now));
            drop(last);
            progress(p);
        }
    })
}

// How the sharing pass re-encrypts (`sharing::reencrypt` runs it): defined here, with the
// service that holds the setting, so that `records` does not use the room that uses it.

/// How many records are re-encrypted at once. Each holds one record's buffers only:
/// the pipeline streams content through a pipe and two 1 MiB buffers
/// (`pipeline::IO_BUFFER`), and a version fetched from IPFS goes to a temporary file, not
/// to memory; so four stay within a few MiB whatever the records' sizes. Four keep both
/// cores of a small machine busy with CP-ABE and AES (each on a blocking thread) while
/// the others wait for IPFS; more would only queue behind the node's own pace.
pub const REENCRYPT_LANES: usize = 4;

/// How many records one batch takes at most: their registrations and revocations fit in
/// a transaction each (the ledger client splits at about 200), and one garbage
/// collection takes their replaced versions. js-ipfs checks every block it deletes
/// against every recursive pin (about 40 ms a block with a few hundred pins here), so a
/// hundred records' 300 blocks take about 12 s: well inside the 60 s a collection may
/// take (`PIN_TIMEOUT`), which a collection of thousands would not be, and their reports
/// would then say the node still holds what it was removing. A batch is also what a run
/// cut off loses at most of its progress (its versions are kept, not made again).
pub const RECORDS_PER_BATCH: usize = 100;

/// How a sharing pass runs the revocations it finds due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reencryption {
    /// Records re-encrypted at once.
    pub lanes: usize,
    /// Records per batch (registered, revoked and collected together).
    pub records_per_batch: usize,
}

impl Reencryption {
    /// The app's: [`REENCRYPT_LANES`] at a time, [`RECORDS_PER_BATCH`] a batch.
    pub const APP: Self = Self {
        lanes: REENCRYPT_LANES,
        records_per_batch: RECORDS_PER_BATCH,
    };

    /// One record at a time, each to its end (its own registration, revocation and
    /// garbage collection) before the next starts: how revocations ran before lanes and
    /// batches, through the same steps, so that a benchmark measures both in one run.
    pub const ONE_BY_ONE: Self = Self {
        lanes: 1,
        records_per_batch: 1,
    };
}

impl Default for Reencryption {
    fn default() -> Self {
        Self::APP
    }
}

impl RecordService {
    /// Forgets every wallet's progress but `wallet_id`'s (the session's): a progress names
    /// the records that failed by their titles, which are not kept once locked.
    pub(crate) fn keep_progress_of(&self, wallet_id: Option<&str>) {
        lock(&self.progress).retain(|id, _| Some(id.as_str()) == wallet_id);
    }

    /// The service for the app data folder `data_dir`.
    pub fn new(data_dir: &Path) -> Self {
        Self {
            dir: data_dir.join("records"),
            events: crate::ledger::EventCaches::new(data_dir),
            sharing_changes: Default::default(),
            stores: Default::default(),
            uploading: Default::default(),
            registering: Default::default(),
            jobs: Default::default(),
            restoring: Default::default(),
            sharing: Default::default(),
            lists: Default::default(),
            reencryption: Default::default(),
            progress: Default::default(),
        }
    }

    /// Connects to the ledger as `owner`, its reads going through the wallet's event
    /// cache.
    pub(crate) async fn connect(
        &self,
        owner: &Owner,
        ledger: &crate::ledger::LedgerTarget,
    ) -> Result<crate::ledger::directory::Connected, crate::ledger::StepFailure> {
        Box::pin(crate::ledger::connect(owner, ledger, &self.events)).await
    }

    /// Notes that a command changed sharing state (see `sharing_changes`).
    pub(crate) fn sharing_changed(&self) {
        self.sharing_changes
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// How many commands changed sharing state so far.
    pub fn sharing_generation(&self) -> u64 {
        self.sharing_changes
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The event caches, to share with the audit trail.
    pub fn event_caches(&self) -> std::sync::Arc<crate::ledger::EventCaches> {
        self.events.clone()
    }

    pub(crate) async fn store(&self, wallet_id: &str) -> Answer<RecordStore> {
        let mut stores = self.stores.lock().await;
        if let Some(store) = stores.get(wallet_id) {
            return Ok(store.clone());
        }
        if wallet_id.is_empty() || !wallet_id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(CoreError::internal("wallet id", wallet_id));
        }
        let store = RecordStore::open(&self.dir.join(wallet_id)).await?;
        stores.insert(wallet_id.to_owned(), store.clone());
        Ok(store)
    }

    /// The ids of the wallets with a records folder on this device, but for restores
    /// under way.
    pub(crate) fn wallet_folders(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let restoring = lock(&self.restoring).clone();
        entries
            .flatten()
            .filter(|e| e.path().join("records.sqlite").exists())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|id| !restoring.contains(id))
            .collect()
    }

    /// A restore under `wallet_id` begins: see [`Self::restoring`](RecordService).
    pub(crate) fn restore_begins(&self, wallet_id: &str) {
        lock(&self.restoring).insert(wallet_id.to_owned());
    }

    /// The restore under `wallet_id` ended: kept (the vault has the wallet), or not, when
    /// its records folder is closed and removed. Only for an id just generated: it
    /// removes whatever is there.
    pub(crate) async fn restore_ends(&self, wallet_id: &str, kept: bool) {
        if !kept {
            if let Some(store) = self.stores.lock().await.remove(wallet_id) {
                store.close().await;
            }
            if !wallet_id.is_empty() && wallet_id.chars().all(|c| c.is_ascii_alphanumeric()) {
                let dir = self.dir.join(wallet_id);
                let removed =
                    tokio::task::spawn_blocking(move || std::fs::remove_dir_all(dir)).await;
                if let Ok(Err(e)) = removed {
                    tracing::warn!(error = %e, "a refused restore's records folder stays");
                }
            }
        }
        lock(&self.restoring).remove(wallet_id);
    }

    /// Closes every open database (tests; the app just exits).
    pub async fn close(&self) {
        for (_, store) in self.stores.lock().await.drain() {
            store.close().await;
        }
    }

    /// The owner's records, newest first.
    pub async fn list(&self, owner: &Owner) -> Answer<Vec<RecordSummary>> {
        let store = self.store(&owner.wallet_id).await?;
        let rows = store.all().await?;
        let mut latest: HashMap<&str, &StoredRecord> = HashMap::new();
        for row in &rows {
            let entry = latest.entry(&row.record_id).or_insert(row);
            if row.version > entry.version {
                *entry = row;
            }
        }
        let authors: HashMap<String, (String, Option<String>)> = store
            .uploaded_by()
            .await?
            .into_iter()
            .map(|(id, author, name)| (id, (author, name)))
            .collect();
        let mut out = Vec::with_capacity(latest.len());
        for row in &rows {
            if latest.get(row.record_id.as_str()).map(|r| r.version) == Some(row.version) {
                let mut summary = self.summary(owner, row)?;
                if let Some((author, name)) = authors.get(&row.record_id) {
                    summary.uploaded_by = Some(author.clone());
                    summary.uploaded_by_name = name.clone();
                }
                out.push(summary);
            }
        }
        Ok(out)
    }

    /// Every version of one of the owner's records this device holds, oldest first.
    pub async fn history(&self, owner: &Owner, record_id: &str) -> Answer<Vec<RecordSummary>> {
        let store = self.store(&owner.wallet_id).await?;
        let made_by = self.made_by(owner, record_id).await?;
        store
            .versions(record_id)
            .await?
            .iter()
            .map(|row| {
                let mut summary = self.summary(owner, row)?;
                if let Some((author, name)) = &made_by {
                    summary.uploaded_by = Some(author.clone());
                    summary.uploaded_by_name = name.clone();
                }
                Ok(summary)
            })
            .collect()
    }

    /// The clinic that made one of the owner's records at its front desk, if one did, with
    /// its attested name.
    async fn made_by(
        &self,
        owner: &Owner,
        record_id: &str,
    ) -> Answer<Option<(String, Option<String>)>> {
        let store = self.store(&owner.wallet_id).await?;
        Ok(store
            .uploaded_by()
            .await?
            .into_iter()
            .find_map(|(id, author, name)| (id == record_id).then_some((author, name))))
    }

    pub(crate) fn summary(&self, owner: &Owner, row: &StoredRecord) -> Answer<RecordSummary> {
        let dek = local_seal::open(
            &owner.local_key,
            &row.record_id,
            row.version,
            &row.sealed_dek,
        )
        .map_err(|_| index_damaged(row))?;
        let m = manifest::open(&dek, &row.manifest, &row.record_id, row.version)
            .map_err(|_| index_damaged(row))?;
        let uploading = lock(&self.uploading).contains(&(row.record_id.clone(), row.version));
        Ok(summary_of(&m, row, uploading))
    }

    /// Fetches, verifies and decrypts the latest version of a record for display.
    pub async fn open(&self, owner: &Owner, ipfs: &Url, record_id: &str) -> Answer<OpenedRecord> {
        let (row, m, plaintext, verification) = self
            .fetch_verified(owner, ipfs, record_id, Sink::Memory)
            .await?;
        let uploading = lock(&self.uploading).contains(&(row.record_id.clone(), row.version));
        let mut record = summary_of(&m, &row, uploading);
        if let Some((author, name)) = self.made_by(owner, &row.record_id).await? {
            record.uploaded_by = Some(author);
            record.uploaded_by_name = name;
        }
        let view = match plaintext {
            Some(bytes) => {
                let kind = record.kind;
                let mime = record.mime_type.clone();
                tokio::task::spawn_blocking(move || medwallet_preview::render(&bytes, kind, &mime))
                    .await
                    .map_err(|e| CoreError::internal("rendering the record", e))?
            }
            None => RecordView::SaveOnly {
                reason: format!(
                    "It is larger than {} MiB: save a decrypted copy to open it in another program.",
                    MAX_VIEW_SIZE >> 20
                ),
            },
        };
        Ok(OpenedRecord {
            record,
            verification,
            view,
        })
    }

    /// Verifies and decrypts the latest version of a record into a new file at `dest`.
    pub async fn save_copy(
        &self,
        owner: &Owner,
        ipfs: &Url,
        record_id: &str,
        dest: &str,
    ) -> Answer<SavedCopy> {
        let dest = PathBuf::from(dest.trim());
        if dest.as_os_str().is_empty() || dest.is_dir() {
            return Err(RecordsError::NoCopyName.into());
        }
        let mut part = dest.clone().into_os_string();
        part.push(".medwallet-part");
        let part = PathBuf::from(part);
        let result = self
            .fetch_verified(owner, ipfs, record_id, Sink::File(part.clone()))
            .await;
        match result {
            Ok((_, m, _, _)) => {
                if let Err(e) = tokio::fs::rename(&part, &dest).await {
                    remove_users_partial(&part);
                    return Err(CoreError::disk(&dest, e));
                }
                Ok(SavedCopy {
                    path: dest.display().to_string(),
                    size: m.size,
                })
            }
            Err(e) => {
                remove_users_partial(&part);
                Err(e)
            }
        }
    }

    /// Fetches the three objects of a record's latest version and checks everything.
    /// The plaintext goes to `sink`; with [`Sink::Memory`] it is answered when it is small
    /// enough to show (else `None`, after verifying it into nothing).
    async fn fetch_verified(
        &self,
        owner: &Owner,
        ipfs: &Url,
        record_id: &str,
        sink: Sink,
    ) -> Answer<(
        StoredRecord,
        manifest::Manifest,
        Option<Vec<u8>>,
        Verification,
    )> {
        let store = self.store(&owner.wallet_id).await?;
        let row = store
            .latest(record_id)
            .await?
            .ok_or_else(|| RecordsError::NotInWallet {
                record_id: record_id.to_owned(),
            })?;
        let local_dek = local_seal::open(
            &owner.local_key,
            &row.record_id,
            row.version,
            &row.sealed_dek,
        )
        .map_err(|_| index_damaged(&row))?;
        let source = match row.state {
            State::OnIpfs => Source::Ipfs(Box::new(IpfsNode::new(ipfs)?)),
            State::Local => Source::Device,
        };

        // Capsule: the data key, wrapped for the owner's attribute key.
        let capsule_bytes = self
            .fetch_small(&store, &source, &row, Object::Capsule, &row.capsule_cid)
            .await?;
        let user_key = owner.own_key()?;
        let dek = capsule::unwrap(&user_key, &capsule_bytes, &row.record_id, row.version)
            .map_err(CoreError::capsule)?;
        if dek != local_dek {
            return Err(CoreError::altered(Part::Capsule, Alteration::OtherDataKey));
        }

        // Manifest.
        let manifest_bytes = self
            .fetch_small(&store, &source, &row, Object::Manifest, &row.manifest_cid)
            .await?;
        let m = manifest::open(&dek, &manifest_bytes, &row.record_id, row.version)
            .map_err(CoreError::manifest)?;
        if m.content_cid != row.content_cid {
            return Err(CoreError::altered(
                Part::Manifest,
                Alteration::NamesOtherContent,
            ));
        }

        // Content: fetched as ciphertext (from IPFS into a temp file), then decrypted chunk by
        // chunk while its CID is recomputed.
        let expected = crate::ipfs::content_cid(&row.content_cid, Part::RecordIndex)?;
        let (ciphertext, temp) = match &source {
            Source::Device => (
                store.object_path(&row.record_id, row.version, Object::Content),
                None,
            ),
            Source::Ipfs(node) => {
                let temp = store.temp_path(&format!("{}-v{}.fetch", row.record_id, row.version));
                let file = tokio::fs::File::create(&temp)
                    .await
                    .map_err(|e| CoreError::disk(&temp, e))?
                    .into_std()
                    .await;
                let max = stream::ciphertext_len(m.size);
                let fetched = node.cat_to(&expected, file, max).await;
                if let Err(e) = fetched {
                    remove_file(&temp);
                    return Err(e.into());
                }
                (temp.clone(), Some(temp))
            }
        };
        let show = matches!(sink, Sink::Memory) && m.size <= MAX_VIEW_SIZE;
        let decrypted = decrypt_file(&dek, ciphertext, sink, show, m.size).await;
        if let Some(temp) = temp {
            remove_file(&temp);
        }
        let (result, memory) = decrypted?;
        let decrypted = result.map_err(|e| CoreError::stream(Part::Content, e))?;
        if decrypted.cid != expected {
            return Err(CoreError::altered(
                Part::Content,
                Alteration::HashNotRegistered {
                    got: decrypted.cid,
                    registered: expected,
                },
            ));
        }
        if decrypted.plaintext_len != m.size {
            return Err(CoreError::altered(Part::Content, Alteration::LengthDiffers));
        }
        let verification = Verification {
            content_cid: row.content_cid.clone(),
            manifest_cid: row.manifest_cid.clone(),
            capsule_cid: row.capsule_cid.clone(),
            chunks: decrypted.chunks,
            source: match source {
                Source::Ipfs(_) => "ipfs".to_owned(),
                Source::Device => "this device".to_owned(),
            },
        };
        Ok((row, m, show.then_some(memory), verification))
    }

    /// Reads a manifest or capsule, from IPFS or this device, and checks its CID.
    async fn fetch_small(
        &self,
        store: &RecordStore,
        source: &Source,
        row: &StoredRecord,
        object: Object,
        cid: &str,
    ) -> Answer<Vec<u8>> {
        let expected: Cid = cid.parse().map_err(|source| {
            CoreError::altered(
                Part::RecordIndex,
                Alteration::UnreadableCid {
                    which: CidRef::Stored {
                        cid: cid.to_owned(),
                    },
                    source,
                },
            )
        })?;
        let bytes = match source {
            Source::Device => {
                let path = store.object_path(&row.record_id, row.version, object);
                tokio::fs::read(&path)
                    .await
                    .map_err(|e| CoreError::disk(&path, e))?
            }
            Source::Ipfs(node) => {
                let buffer = SharedBuffer::default();
                node.cat_to(&expected, buffer.clone(), crate::ipfs::MAX_SMALL_OBJECT)
                    .await?;
                buffer.take()
            }
        };
        let got = cid_of(&bytes);
        if got != expected {
            return Err(CoreError::altered(
                part_of(object),
                Alteration::HashNotRegistered {
                    got,
                    registered: expected,
                },
            ));
        }
        Ok(bytes)
    }
}

enum Source {
    Device,
    Ipfs(Box<IpfsNode>),
}

/// This device's index entry for `row` does not open with the wallet's key.
pub(crate) fn index_damaged(row: &StoredRecord) -> CoreError {
    CoreError::LocalIndexDamaged {
        record_id: row.record_id.clone(),
    }
}

/// Removes a partial copy where the user chose to save one; its path is the user's, so
/// a failure is logged without it.
fn remove_users_partial(path: &Path) {
    if let Err(e) = std::fs::remove_file(path) {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(error = %e.kind(), "a partial decrypted copy could not be removed");
        }
    }
}

/// The part a stored object is.
pub(crate) fn part_of(object: Object) -> Part {
    match object {
        Object::Content => Part::Content,
        Object::Manifest => Part::Manifest,
        Object::Capsule => Part::Capsule,
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn summary_of(m: &manifest::Manifest, row: &StoredRecord, uploading: bool) -> RecordSummary {
    let status = match (row.state, uploading) {
        (State::OnIpfs, _) => RecordStatus::OnIpfs,
        (State::Local, true) => RecordStatus::Pending,
        (State::Local, false) => RecordStatus::LocalOnly {
            reason: row
                .problem
                .clone()
                .unwrap_or_else(|| "Waiting for the IPFS node.".to_owned()),
        },
    };
    let ledger = match (&row.ledger, row.state) {
        (Some((tx, block)), _) => LedgerMark::Registered {
            block_number: *block,
            tx_hash: tx.clone(),
        },
        (None, State::Local) => LedgerMark::Pending {
            reason: "It is registered on the ledger once it is on IPFS.".to_owned(),
        },
        (None, State::OnIpfs) => LedgerMark::Pending {
            reason: row
                .ledger_problem
                .clone()
                .unwrap_or_else(|| "Waiting to be registered on the ledger.".to_owned()),
        },
    };
    RecordSummary {
        ledger,
        id: row.record_id.clone(),
        version: row.version,
        title: m.title.clone(),
        category: Category::parse(&m.category).unwrap_or(Category::Other),
        date: m.date.clone(),
        author: m.author.clone(),
        file_name: m.file_name.clone(),
        mime_type: m.mime_type.clone(),
        kind: serde_json::from_value(serde_json::Value::String(m.kind.clone()))
            .unwrap_or(ContentKind::Other),
        size: m.size,
        status,
        content_cid: row.content_cid.clone(),
        added_at: row.added_at.clone(),
        uploaded_by: None,
        uploaded_by_name: None,
        copies: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_is_thinned_within_a_stage_and_keeps_each_stages_first_and_last() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let progress = throttled(
            Arc::new(move |p: AddProgress| lock(&sink).push((p.stage, p.done))),
            std::time::Duration::from_secs(3600),
        );
        let tell = |stage, done, total| {
            progress(AddProgress {
                job_id: "job".into(),
                stage,
                done,
                total,
            })
        };
        for done in 0..=12_288 {
            tell(AddStage::Encrypting, done * 65_536, 12_288 * 65_536);
        }
        for done in 0..=10 {
            tell(AddStage::Uploading, done, 10);
        }
        tell(AddStage::Queued, 0, 0);
        assert_eq!(
            *lock(&seen),
            vec![
                (AddStage::Encrypting, 0),
                (AddStage::Encrypting, 12_288 * 65_536),
                (AddStage::Uploading, 0),
                (AddStage::Uploading, 10),
                (AddStage::Queued, 0),
            ]
        );
    }
}
