//! Records: add (encrypt on this device, then store on IPFS), list, open and verify, save a
//! decrypted copy, and the outbox that finishes uploads whatever happens in between.
//!
//! Adding a file runs in two phases with a durable point between them:
//!
//! 1. **Encrypt** (needs the unlocked wallet): a fresh data key, the content as STREAM
//!    AES-256-GCM into `objects/`, the sealed manifest, the capsule (the data key wrapped by
//!    CP-ABE under `id:<owner>`). `adds_in_progress` names the record while this runs, so a
//!    crash leaves files that are removed at the next start, never a listed half-record.
//!    The phase ends with one transaction that inserts the record *and* its outbox entry.
//! 2. **Upload** (needs no key: every object is already encrypted): add the three objects to
//!    the IPFS node, check the CIDs it answers against those computed here, pin them, and
//!    mark the record on IPFS in the transaction that deletes the outbox entry. Every step is
//!    idempotent (content addressing), so a retry after a node outage or a killed app cannot
//!    make a duplicate. Failures back off (5 s doubling, at most 5 min).
//!
//! Opening always re-verifies: the capsule, manifest and content bytes are fetched (from
//! IPFS once uploaded), their CIDs recomputed, the capsule unwrapped with the owner's
//! attribute key and compared with the locally kept data key, the manifest opened, and the
//! content decrypted chunk by chunk; nothing is shown unless all of it holds.

mod errors;
mod inspect;
mod local_seal;
mod register;
mod sharing;
mod store;

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use medwallet_abe::rand_core::OsRng;
use medwallet_abe::{DataKey, MasterKey, Policy, UserKey};
use medwallet_api::{
    AddProgress, AddStage, Category, ContentKind, Inspection, LedgerMark, OpenedRecord,
    RecordMetadata, RecordStatus, RecordSummary, RecordView, SavedCopy, SyncReport, UserError,
    Verification,
};
use medwallet_records::cid::{cid_of, Cid};
use medwallet_records::{capsule, manifest, stream, IpfsNode};
use url::Url;
use zeroize::Zeroizing;

pub use errors::{node_error, stream_error};
pub use inspect::inspect as inspect_files;
pub(crate) use register::ledger_words;
pub use register::LedgerTarget;
pub use sharing::{OfferedCheckIn, MAX_CHECK_IN_MINUTES, MIN_CHECK_IN_MINUTES};
use store::{Object, RecordStore, State, Step, StoredRecord};

type Answer<T> = Result<T, UserError>;

/// Plaintext larger than this is verified but not shown (save a copy instead).
pub const MAX_VIEW_SIZE: u64 = 64 * 1024 * 1024;
/// Manifests and capsules larger than this are refused when fetched.
const MAX_SMALL_OBJECT: u64 = 1024 * 1024;

/// What the records use cases need of the unlocked wallet. Secrets are wiped on drop.
pub struct Owner {
    /// The wallet's id in the vault (its records live under `records/<id>/`).
    pub wallet_id: String,
    /// Ledger address (EIP-55): the owner's `id:` attribute.
    pub address: String,
    /// The wallet's display name (default author).
    pub display_name: String,
    local_key: Zeroizing<[u8; 32]>,
    authority_seed: Option<Zeroizing<[u8; 32]>>,
    /// The secp256k1 key that signs the wallet's ledger transactions.
    ledger_key: Zeroizing<[u8; 32]>,
    /// The X25519 key that opens attribute keys issued to this wallet.
    hpke_secret: Zeroizing<[u8; 32]>,
    /// Its public half, published on the ledger.
    x25519_public: [u8; 32],
    /// The Ed25519 verification key, published on the ledger.
    ed25519_public: [u8; 32],
    /// The role the wallet was made for.
    role: medwallet_vault::Role,
}

impl std::fmt::Debug for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Owner")
            .field("wallet_id", &self.wallet_id)
            .field("address", &self.address)
            .field("secrets", &"[redacted]")
            .finish()
    }
}

impl Owner {
    /// Collects what the records need from an unlocked wallet's keys.
    pub fn new(wallet_id: &str, display_name: &str, keys: &medwallet_vault::WalletKeys) -> Owner {
        Owner {
            wallet_id: wallet_id.to_owned(),
            address: keys.address().to_owned(),
            display_name: display_name.to_owned(),
            local_key: Zeroizing::new(*keys.local_records_key()),
            authority_seed: keys.abe_authority_seed().map(|s| Zeroizing::new(*s)),
            ledger_key: Zeroizing::new(*keys.ledger_secret_key()),
            hpke_secret: Zeroizing::new(*keys.x25519_secret()),
            x25519_public: *keys.x25519_public_key(),
            ed25519_public: *keys.ed25519_public_key(),
            role: keys.role(),
        }
    }

    /// The owner's `id:` attribute (lower-case address).
    fn id_attribute(&self) -> String {
        format!("id:{}", self.address.to_lowercase())
    }

    /// The wallet's own CP-ABE authority; only patients and clinics have one.
    fn authority(&self) -> Answer<MasterKey> {
        self.authority_at(1)
    }

    /// The wallet's authority at `epoch`. A patient's stays at 1 (its groups have their
    /// own epochs); a clinic moves to the next each time it revokes a staff key, so the
    /// revoked key opens nothing wrapped after. Epoch 1 keeps the label it always had.
    fn authority_at(&self, epoch: u32) -> Answer<MasterKey> {
        let seed = self.authority_seed.as_ref().ok_or_else(|| {
            UserError::new(
                "Only patient wallets keep their own records.",
                "Switch to (or create) a patient wallet to add records.",
            )
        })?;
        let address = self.address.to_lowercase();
        let label = match epoch {
            0 | 1 => format!("patient:{address}"),
            n => format!("patient:{address}#{n}"),
        };
        MasterKey::from_seed(seed, &label)
            .map_err(|e| internal("deriving the wallet's authority", e))
    }

    /// The owner's default policy: only the owner.
    fn own_policy(&self) -> Answer<Policy> {
        Policy::parse(&self.id_attribute()).map_err(|e| internal("the owner's policy", e))
    }

    /// The owner's own attribute key (`id:<owner>`), issued by its authority.
    fn own_key(&self) -> Answer<UserKey> {
        self.authority()?
            .issue_key(&[self.id_attribute()], &mut OsRng)
            .map_err(|e| internal("issuing the owner's key", e))
    }
}

fn internal(what: &str, e: impl std::fmt::Display) -> UserError {
    UserError::new(
        format!("An internal step failed ({what}: {e})."),
        "Try again; if it persists, report it.",
    )
}

/// The records use cases for one app data folder (`<data>/records/<wallet id>/`).
pub struct RecordService {
    dir: PathBuf,
    stores: tokio::sync::Mutex<HashMap<String, RecordStore>>,
    /// Record versions being uploaded now (an add and the outbox never upload one twice at once).
    uploading: Mutex<HashSet<(String, u32)>>,
    /// Record versions being registered now (never two transactions for one at once).
    registering: Mutex<HashSet<(String, u32)>>,
    /// Cancel flags of running adds, by job id.
    jobs: Mutex<HashMap<String, Arc<AtomicBool>>>,
    /// Held by a sharing pass (the background pass and the share, revoke and group
    /// commands), so two never make a record's next version or send its grants at once.
    sharing: tokio::sync::Mutex<()>,
}

/// Tells the caller how an add goes.
pub type Progress = Arc<dyn Fn(AddProgress) + Send + Sync>;

impl RecordService {
    /// The service for the app data folder `data_dir`.
    pub fn new(data_dir: &Path) -> Self {
        Self {
            dir: data_dir.join("records"),
            stores: Default::default(),
            uploading: Default::default(),
            registering: Default::default(),
            jobs: Default::default(),
            sharing: Default::default(),
        }
    }

    async fn store(&self, wallet_id: &str) -> Answer<RecordStore> {
        let mut stores = self.stores.lock().await;
        if let Some(store) = stores.get(wallet_id) {
            return Ok(store.clone());
        }
        if wallet_id.is_empty() || !wallet_id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(internal("wallet id", wallet_id));
        }
        let store = RecordStore::open(&self.dir.join(wallet_id))
            .await
            .map_err(errors::store_error)?;
        stores.insert(wallet_id.to_owned(), store.clone());
        Ok(store)
    }

    /// Closes every open database (tests; the app just exits).
    pub async fn close(&self) {
        for (_, store) in self.stores.lock().await.drain() {
            store.close().await;
        }
    }

    /// Checks files before adding them and proposes metadata.
    pub fn inspect(&self, owner: &Owner, paths: &[String]) -> Inspection {
        inspect::inspect(paths, &owner.display_name)
    }

    /// Cancels a running add. Nothing of it is kept. Unknown jobs are ignored (it may have
    /// just finished).
    pub fn cancel(&self, job_id: &str) {
        if let Some(flag) = lock(&self.jobs).get(job_id) {
            flag.store(true, Ordering::SeqCst);
        }
    }

    /// Encrypts the file at `path` on this device, stores it on the IPFS node at `ipfs`
    /// and registers it on the ledger at `ledger`.
    ///
    /// Answers the new record. When the IPFS node cannot be reached the record is kept on
    /// this device (status `LocalOnly`) and the outbox uploads it later; when the ledger
    /// cannot, its registration waits in the outbox (`LedgerMark::Pending`, with the
    /// reason). A cancelled or failed add leaves nothing behind.
    #[allow(clippy::too_many_arguments)]
    pub async fn add(
        &self,
        owner: &Owner,
        ipfs: &Url,
        ledger: &LedgerTarget,
        job_id: &str,
        path: &str,
        metadata: &RecordMetadata,
        progress: Progress,
    ) -> Answer<RecordSummary> {
        let metadata = inspect::validate(metadata)?;
        let cancel = Arc::new(AtomicBool::new(false));
        {
            let mut jobs = lock(&self.jobs);
            if jobs.contains_key(job_id) {
                return Err(internal("job id in use", job_id));
            }
            jobs.insert(job_id.to_owned(), cancel.clone());
        }
        let result = self
            .add_inner(
                owner, ipfs, ledger, job_id, path, metadata, progress, cancel,
            )
            .await;
        lock(&self.jobs).remove(job_id);
        result
    }

    #[allow(clippy::too_many_arguments)]
    async fn add_inner(
        &self,
        owner: &Owner,
        ipfs: &Url,
        ledger: &LedgerTarget,
        job_id: &str,
        path: &str,
        metadata: RecordMetadata,
        progress: Progress,
        cancel: Arc<AtomicBool>,
    ) -> Answer<RecordSummary> {
        let source = PathBuf::from(path.trim());
        let authority = owner.authority()?;
        let policy = owner.own_policy()?;
        let store = self.store(&owner.wallet_id).await?;

        let mut file =
            std::fs::File::open(&source).map_err(|e| inspect::unreadable(&source, &e))?;
        let size = file
            .metadata()
            .map_err(|e| inspect::unreadable(&source, &e))?
            .len();
        if size == 0 {
            return Err(UserError::new(
                format!("{} is empty (0 bytes).", source.display()),
                "Choose the file that holds the record; an empty file has nothing to keep.",
            ));
        }
        let mut head = vec![0u8; 4096];
        let n = read_up_to(&mut file, &mut head).map_err(|e| inspect::unreadable(&source, &e))?;
        head.truncate(n);
        let file_name = source
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (kind, mime) = medwallet_preview::sniff(&head, &file_name);
        // Read the file once, from its start, in the encryption pass below.
        let file = std::fs::File::open(&source).map_err(|e| inspect::unreadable(&source, &e))?;

        let record_id = format!("0x{}", hex::encode(random_bytes::<32>()));
        let version = 1u32;
        let dek = DataKey::generate(&mut OsRng);
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        store
            .begin_add(&record_id, &now)
            .await
            .map_err(errors::store_error)?;

        // Phase 1: encrypt. Any failure from here to the insert removes what was written.
        let sealed = self
            .seal_record(SealInput {
                store: &store,
                owner,
                authority: &authority,
                policy: &policy,
                record_id: &record_id,
                version,
                dek: &dek,
                file,
                source: &source,
                size,
                kind,
                mime,
                file_name: &file_name,
                metadata: &metadata,
                now: &now,
                job_id,
                progress: progress.clone(),
                cancel: cancel.clone(),
            })
            .await;
        let row = match sealed {
            Ok(row) => row,
            Err(error) => {
                let _ = store.abandon_add(&record_id, version).await;
                return Err(error);
            }
        };
        if let Err(e) = store.insert(&row).await {
            let _ = store.abandon_add(&record_id, version).await;
            return Err(errors::store_error(e));
        }

        // Phase 2: upload (the outbox entry exists; if this fails, the outbox retries).
        let outcome = self
            .upload(&Upload {
                store: &store,
                ipfs,
                record_id: &record_id,
                version,
                job_id,
                progress: &progress,
                cancel: &cancel,
            })
            .await;
        match outcome {
            Ok(()) => {
                // Phase 3: register on the ledger (if this fails, the outbox retries).
                let _ = self
                    .run_register(&store, owner, ledger, &record_id, version, 0)
                    .await;
            }
            Err(UploadFailure::Cancelled) => {
                let _ = store.delete(&record_id, version).await;
                if let Ok(node) = IpfsNode::new(ipfs) {
                    for cid in [&row.content_cid, &row.manifest_cid, &row.capsule_cid] {
                        if let Ok(cid) = cid.parse::<Cid>() {
                            let _ = node.unpin(&cid).await;
                        }
                    }
                }
                return Err(cancelled(&file_name));
            }
            Err(UploadFailure::Node(problem)) => {
                let _ = store
                    .step_failed(
                        Step::Upload,
                        &record_id,
                        version,
                        &problem,
                        backoff_until(0),
                    )
                    .await;
                progress(AddProgress {
                    job_id: job_id.to_owned(),
                    stage: AddStage::Queued,
                    done: 0,
                    total: 0,
                });
            }
        }
        let row = store
            .latest(&record_id)
            .await
            .map_err(errors::store_error)?
            .ok_or_else(|| internal("the new record", "missing after insert"))?;
        self.summary(owner, &row)
    }

    async fn seal_record(&self, input: SealInput<'_>) -> Answer<StoredRecord> {
        let SealInput {
            store,
            owner,
            authority,
            policy,
            record_id,
            version,
            dek,
            file,
            source,
            size,
            kind,
            mime,
            file_name,
            metadata,
            now,
            job_id,
            progress,
            cancel,
        } = input;
        let content_path = store.object_path(record_id, version, Object::Content);
        let part = RecordStore::part_path(&content_path);
        let dek_copy = DataKey::from_bytes(*dek.as_bytes());
        let job = job_id.to_owned();
        let source_shown = source.display().to_string();
        let encrypted = tokio::task::spawn_blocking(move || {
            let out = std::fs::File::create(&part).map_err(|e| errors::disk_error(&part, &e))?;
            let mut out = std::io::BufWriter::with_capacity(1 << 20, out);
            let mut report = |done: u64| {
                progress(AddProgress {
                    job_id: job.clone(),
                    stage: AddStage::Encrypting,
                    done,
                    total: size,
                })
            };
            let encrypted = stream::encrypt(
                &dek_copy,
                std::io::BufReader::with_capacity(1 << 20, file),
                &mut out,
                &mut report,
                &cancel,
            )
            .map_err(|e| errors::encrypt_error(e, &source_shown, &part))?;
            let file = out
                .into_inner()
                .map_err(|e| errors::disk_error(&part, e.error()))?;
            file.sync_all().map_err(|e| errors::disk_error(&part, &e))?;
            drop(file);
            std::fs::rename(&part, &content_path)
                .map_err(|e| errors::disk_error(&content_path, &e))?;
            Ok::<_, UserError>(encrypted)
        })
        .await
        .map_err(|e| internal("the encryption task", e))??;
        if encrypted.plaintext_len != size {
            return Err(UserError::new(
                format!("{} changed while it was being read.", source.display()),
                "Wait until the program writing it has finished, then add it again.",
            ));
        }

        let manifest = manifest::Manifest {
            record_id: record_id.to_owned(),
            version,
            title: metadata.title.clone(),
            category: metadata.category.as_str().to_owned(),
            mime_type: mime.to_owned(),
            kind: kind_name(kind),
            date: metadata.date.clone(),
            author: metadata.author.clone(),
            file_name: file_name.to_owned(),
            size,
            content_cid: encrypted.cid.to_string(),
            content_chunks: encrypted.chunks,
            created_at: now.to_owned(),
        };
        let manifest_bytes =
            manifest::seal(dek, &manifest).map_err(|e| internal("sealing the manifest", e))?;
        let capsule_bytes =
            capsule::wrap(authority.public_params(), policy, dek, record_id, version)
                .map_err(|e| internal("wrapping the data key", e))?;
        for (object, bytes) in [
            (Object::Manifest, &manifest_bytes),
            (Object::Capsule, &capsule_bytes),
        ] {
            let path = store.object_path(record_id, version, object);
            store::write_atomically(&path, bytes).map_err(|e| errors::disk_error(&path, &e))?;
        }
        Ok(StoredRecord {
            record_id: record_id.to_owned(),
            version,
            sealed_dek: local_seal::seal(&owner.local_key, record_id, version, dek)
                .map_err(|e| internal("sealing the data key", e))?,
            manifest: manifest_bytes.clone(),
            content_cid: encrypted.cid.to_string(),
            manifest_cid: cid_of(&manifest_bytes).to_string(),
            capsule_cid: cid_of(&capsule_bytes).to_string(),
            state: State::Local,
            problem: Some("Not uploaded yet.".to_owned()),
            added_at: now.to_owned(),
            ledger: None,
            ledger_problem: None,
        })
    }

    /// Uploads one record version's objects, checks the CIDs, pins them, and marks it done.
    async fn upload(&self, job: &Upload<'_>) -> Result<(), UploadFailure> {
        let Some(_running) = Running::claim(&self.uploading, job.record_id, job.version) else {
            return Err(UploadFailure::Node(
                "An upload of this record is already running.".to_owned(),
            ));
        };
        self.upload_inner(job).await
    }

    async fn upload_inner(&self, job: &Upload<'_>) -> Result<(), UploadFailure> {
        let Upload {
            store,
            ipfs,
            record_id,
            version,
            job_id,
            progress,
            cancel,
        } = *job;
        let node_problem =
            |e: medwallet_records::IpfsError| UploadFailure::Node(node_error(&e).message);
        let row = store
            .latest(record_id)
            .await
            .map_err(|e| UploadFailure::Node(e.to_string()))?
            .filter(|r| r.version == version)
            .ok_or_else(|| UploadFailure::Node("The record is gone.".to_owned()))?;
        if row.state == State::OnIpfs {
            return Ok(());
        }
        let node = IpfsNode::new(ipfs).map_err(node_problem)?;
        let parse = |cid: &str| {
            cid.parse::<Cid>()
                .map_err(|e| UploadFailure::Node(format!("A stored CID is unreadable: {e}.")))
        };
        let content_cid = parse(&row.content_cid)?;
        let manifest_cid = parse(&row.manifest_cid)?;
        let capsule_cid = parse(&row.capsule_cid)?;
        let content_path = store.object_path(record_id, version, Object::Content);
        let total = std::fs::metadata(&content_path)
            .map(|m| m.len())
            .map_err(|e| UploadFailure::Node(errors::disk_error(&content_path, &e).message))?;
        let (job, report) = (job_id.to_owned(), progress.clone());
        let send = move |done: u64| {
            report(AddProgress {
                job_id: job.clone(),
                stage: AddStage::Uploading,
                done,
                total,
            })
        };
        send(0);
        node.add_file(&content_path, &content_cid, send, cancel.clone())
            .await
            .map_err(|e| {
                if cancel.load(Ordering::SeqCst) {
                    UploadFailure::Cancelled
                } else {
                    node_problem(e)
                }
            })?;
        for (object, cid) in [
            (Object::Manifest, &manifest_cid),
            (Object::Capsule, &capsule_cid),
        ] {
            let path = store.object_path(record_id, version, object);
            let bytes = std::fs::read(&path)
                .map_err(|e| UploadFailure::Node(errors::disk_error(&path, &e).message))?;
            let got = node.add_bytes(bytes).await.map_err(node_problem)?;
            if &got != cid {
                return Err(UploadFailure::Node(format!(
                    "The IPFS node stored the {} as {got}, not {cid}.",
                    object_name(object)
                )));
            }
        }
        if cancel.load(Ordering::SeqCst) {
            return Err(UploadFailure::Cancelled);
        }
        progress(AddProgress {
            job_id: job_id.to_owned(),
            stage: AddStage::Pinning,
            done: 0,
            total: 3,
        });
        for (i, cid) in [&content_cid, &manifest_cid, &capsule_cid]
            .into_iter()
            .enumerate()
        {
            node.pin(cid).await.map_err(node_problem)?;
            progress(AddProgress {
                job_id: job_id.to_owned(),
                stage: AddStage::Pinning,
                done: i as u64 + 1,
                total: 3,
            });
        }
        if cancel.load(Ordering::SeqCst) {
            return Err(UploadFailure::Cancelled);
        }
        store
            .uploaded(record_id, version)
            .await
            .map_err(|e| UploadFailure::Node(e.to_string()))?;
        progress(AddProgress {
            job_id: job_id.to_owned(),
            stage: AddStage::Done,
            done: total,
            total,
        });
        Ok(())
    }

    /// Runs the registration step of one record version and records its outcome (done, or
    /// the reason and the next attempt).
    async fn run_register(
        &self,
        store: &RecordStore,
        owner: &Owner,
        ledger: &LedgerTarget,
        record_id: &str,
        version: u32,
        attempts: u32,
    ) -> Result<(), register::RegisterFailure> {
        let Some(_running) = Running::claim(&self.registering, record_id, version) else {
            return Err(register::RegisterFailure {
                reason: "A registration of this record is already running.".to_owned(),
                node_down: false,
            });
        };
        self.run_register_inner(store, owner, ledger, record_id, version, attempts)
            .await
    }

    async fn run_register_inner(
        &self,
        store: &RecordStore,
        owner: &Owner,
        ledger: &LedgerTarget,
        record_id: &str,
        version: u32,
        attempts: u32,
    ) -> Result<(), register::RegisterFailure> {
        let stored = |e: store::StoreError| register::RegisterFailure {
            reason: errors::store_error(e).message,
            node_down: false,
        };
        let Some(row) = store
            .latest(record_id)
            .await
            .map_err(stored)?
            .filter(|r| r.version == version)
        else {
            return Ok(());
        };
        if let Some((tx, block)) = &row.ledger {
            return store
                .registered(record_id, version, tx, *block)
                .await
                .map_err(stored);
        }
        match register::register(owner, ledger, &row).await {
            Ok((tx, block)) => store
                .registered(record_id, version, &tx, block)
                .await
                .map_err(stored),
            Err(failure) => {
                let _ = store
                    .step_failed(
                        Step::Register,
                        record_id,
                        version,
                        &failure.reason,
                        backoff_until(attempts),
                    )
                    .await;
                Err(failure)
            }
        }
    }

    /// Runs the outbox of one wallet: uploads what is due (everything when `force`), then,
    /// when `owner` is that wallet unlocked, registers what is on IPFS on the ledger (the
    /// transactions need its key; while it is locked they wait).
    pub async fn sync(
        &self,
        wallet_id: &str,
        owner: Option<&Owner>,
        ipfs: &Url,
        ledger: &LedgerTarget,
        force: bool,
    ) -> Answer<SyncReport> {
        let store = self.store(wallet_id).await?;
        let now = chrono::Utc::now().timestamp();
        let due = store
            .due(Step::Upload, if force { None } else { Some(now) })
            .await
            .map_err(errors::store_error)?;
        let mut report = SyncReport::default();
        let quiet: Progress = Arc::new(|_| {});
        let never = Arc::new(AtomicBool::new(false));
        for item in due {
            let job = Upload {
                store: &store,
                ipfs,
                record_id: &item.record_id,
                version: item.version,
                job_id: "sync",
                progress: &quiet,
                cancel: &never,
            };
            match self.upload(&job).await {
                Ok(()) => report.uploaded += 1,
                Err(UploadFailure::Cancelled) => {}
                Err(UploadFailure::Node(problem)) => {
                    let _ = store
                        .step_failed(
                            Step::Upload,
                            &item.record_id,
                            item.version,
                            &problem,
                            backoff_until(item.attempts + 1),
                        )
                        .await;
                    report.problem = Some(problem);
                    // The node is failing: the rest waits for the next pass.
                    break;
                }
            }
        }
        if let Some(owner) = owner.filter(|o| o.wallet_id == wallet_id) {
            let due = store
                .due(Step::Register, if force { None } else { Some(now) })
                .await
                .map_err(errors::store_error)?;
            for item in due {
                let outcome = self
                    .run_register(
                        &store,
                        owner,
                        ledger,
                        &item.record_id,
                        item.version,
                        item.attempts + 1,
                    )
                    .await;
                if let Err(failure) = outcome {
                    if report.problem.is_none() {
                        report.problem = Some(failure.reason);
                    }
                    if failure.node_down {
                        break;
                    }
                }
            }
        }
        report.waiting = store
            .waiting(Step::Upload)
            .await
            .map_err(errors::store_error)?;
        Ok(report)
    }

    /// Runs the outbox of every wallet that has records on this device; `owner` (the
    /// unlocked wallet, if any) lets its registrations go out.
    pub async fn sync_all(&self, ipfs: &Url, owner: Option<&Owner>, ledger: &LedgerTarget) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for entry in entries.flatten() {
            if entry.path().join("records.sqlite").exists() {
                let id = entry.file_name().to_string_lossy().into_owned();
                let _ = self.sync(&id, owner, ipfs, ledger, false).await;
            }
        }
    }

    /// What the audit trail needs of the wallet's records: their titles by id, and how
    /// many versions still wait for their ledger transaction (upload or registration).
    pub async fn audit_context(&self, owner: &Owner) -> Answer<crate::audit::AuditContext> {
        let titles = self
            .list(owner)
            .await?
            .into_iter()
            .map(|r| (r.id.to_lowercase(), r.title))
            .collect();
        let store = self.store(&owner.wallet_id).await?;
        let pending = store
            .pending_versions()
            .await
            .map_err(errors::store_error)?;
        Ok(crate::audit::AuditContext { titles, pending })
    }

    /// The owner's records, newest first.
    pub async fn list(&self, owner: &Owner) -> Answer<Vec<RecordSummary>> {
        let store = self.store(&owner.wallet_id).await?;
        let rows = store.all().await.map_err(errors::store_error)?;
        let mut latest: HashMap<&str, &StoredRecord> = HashMap::new();
        for row in &rows {
            let entry = latest.entry(&row.record_id).or_insert(row);
            if row.version > entry.version {
                *entry = row;
            }
        }
        let authors: HashMap<String, String> = store
            .uploaded_by()
            .await
            .map_err(errors::store_error)?
            .into_iter()
            .collect();
        let mut out = Vec::with_capacity(latest.len());
        for row in &rows {
            if latest.get(row.record_id.as_str()).map(|r| r.version) == Some(row.version) {
                let mut summary = self.summary(owner, row)?;
                summary.uploaded_by = authors.get(&row.record_id).cloned();
                out.push(summary);
            }
        }
        Ok(out)
    }

    fn summary(&self, owner: &Owner, row: &StoredRecord) -> Answer<RecordSummary> {
        let dek = local_seal::open(
            &owner.local_key,
            &row.record_id,
            row.version,
            &row.sealed_dek,
        )
        .map_err(|_| errors::local_index_damaged(&row.record_id))?;
        let m = manifest::open(&dek, &row.manifest, &row.record_id, row.version)
            .map_err(|_| errors::local_index_damaged(&row.record_id))?;
        let uploading = lock(&self.uploading).contains(&(row.record_id.clone(), row.version));
        Ok(summary_of(&m, row, uploading))
    }

    /// Fetches, verifies and decrypts the latest version of a record for display.
    pub async fn open(&self, owner: &Owner, ipfs: &Url, record_id: &str) -> Answer<OpenedRecord> {
        let (row, m, plaintext, verification) = self
            .fetch_verified(owner, ipfs, record_id, Sink::Memory)
            .await?;
        let uploading = lock(&self.uploading).contains(&(row.record_id.clone(), row.version));
        let record = summary_of(&m, &row, uploading);
        let view = match plaintext {
            Some(bytes) => {
                let kind = record.kind;
                let mime = record.mime_type.clone();
                tokio::task::spawn_blocking(move || medwallet_preview::render(&bytes, kind, &mime))
                    .await
                    .map_err(|e| internal("rendering the record", e))?
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
            return Err(UserError::new(
                "Choose a file name to save the decrypted copy as.",
                "Pick a folder and type a new file name.",
            ));
        }
        let mut part = dest.clone().into_os_string();
        part.push(".medwallet-part");
        let part = PathBuf::from(part);
        let result = self
            .fetch_verified(owner, ipfs, record_id, Sink::File(part.clone()))
            .await;
        match result {
            Ok((_, m, _, _)) => {
                std::fs::rename(&part, &dest).map_err(|e| {
                    let _ = std::fs::remove_file(&part);
                    errors::disk_error(&dest, &e)
                })?;
                Ok(SavedCopy {
                    path: dest.display().to_string(),
                    size: m.size,
                })
            }
            Err(e) => {
                let _ = std::fs::remove_file(&part);
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
            .await
            .map_err(errors::store_error)?
            .ok_or_else(|| {
                UserError::new(
                    "This record is not in this wallet.",
                    "Refresh the list; it may have been added to another wallet.",
                )
            })?;
        let local_dek = local_seal::open(
            &owner.local_key,
            &row.record_id,
            row.version,
            &row.sealed_dek,
        )
        .map_err(|_| errors::local_index_damaged(&row.record_id))?;
        let source = match row.state {
            State::OnIpfs => {
                Source::Ipfs(Box::new(IpfsNode::new(ipfs).map_err(|e| node_error(&e))?))
            }
            State::Local => Source::Device,
        };

        // Capsule: the data key, wrapped for the owner's attribute key.
        let capsule_bytes = self
            .fetch_small(&store, &source, &row, Object::Capsule, &row.capsule_cid)
            .await?;
        let user_key = owner.own_key()?;
        let dek = capsule::unwrap(&user_key, &capsule_bytes, &row.record_id, row.version)
            .map_err(errors::capsule_error)?;
        if dek != local_dek {
            return Err(errors::altered(
                "capsule",
                "it holds a different data key than the one this wallet sealed",
            ));
        }

        // Manifest.
        let manifest_bytes = self
            .fetch_small(&store, &source, &row, Object::Manifest, &row.manifest_cid)
            .await?;
        let m = manifest::open(&dek, &manifest_bytes, &row.record_id, row.version)
            .map_err(errors::manifest_error)?;
        if m.content_cid != row.content_cid {
            return Err(errors::altered(
                "manifest",
                "it names other content than the one registered",
            ));
        }

        // Content: fetched as ciphertext (from IPFS into a temp file), then decrypted chunk by
        // chunk while its CID is recomputed.
        let expected: Cid = row
            .content_cid
            .parse()
            .map_err(|e| errors::altered("record index", &format!("content CID: {e}")))?;
        let (ciphertext, temp) = match &source {
            Source::Device => (
                store.object_path(&row.record_id, row.version, Object::Content),
                None,
            ),
            Source::Ipfs(node) => {
                let temp = store.temp_path(&format!("{}-v{}.fetch", row.record_id, row.version));
                let file =
                    std::fs::File::create(&temp).map_err(|e| errors::disk_error(&temp, &e))?;
                let max = stream::ciphertext_len(m.size);
                let fetched = node.cat_to(&expected, file, max).await;
                if let Err(e) = fetched {
                    let _ = std::fs::remove_file(&temp);
                    return Err(node_error(&e));
                }
                (temp.clone(), Some(temp))
            }
        };
        let show = matches!(sink, Sink::Memory) && m.size <= MAX_VIEW_SIZE;
        let decrypted = decrypt_file(&dek, ciphertext, sink, show, m.size).await;
        if let Some(temp) = temp {
            let _ = std::fs::remove_file(temp);
        }
        let (result, memory) = decrypted?;
        let decrypted = result.map_err(|e| stream_error(e, "content"))?;
        if decrypted.cid != expected {
            return Err(errors::altered(
                "content",
                &format!(
                    "its bytes hash to {}, not to the registered {expected}",
                    decrypted.cid
                ),
            ));
        }
        if decrypted.plaintext_len != m.size {
            return Err(errors::altered(
                "content",
                "its length differs from the manifest's",
            ));
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
        let expected: Cid = cid
            .parse()
            .map_err(|e| errors::altered("record index", &format!("CID {cid}: {e}")))?;
        let bytes = match source {
            Source::Device => {
                let path = store.object_path(&row.record_id, row.version, object);
                std::fs::read(&path).map_err(|e| errors::disk_error(&path, &e))?
            }
            Source::Ipfs(node) => {
                let buffer = SharedBuffer::default();
                node.cat_to(&expected, buffer.clone(), MAX_SMALL_OBJECT)
                    .await
                    .map_err(|e| node_error(&e))?;
                buffer.take()
            }
        };
        let got = cid_of(&bytes);
        if got != expected {
            return Err(errors::altered(
                object_name(object),
                &format!("its bytes hash to {got}, not to the registered {expected}"),
            ));
        }
        Ok(bytes)
    }
}

/// Decrypts the ciphertext file into `sink` on a blocking thread; with [`Sink::Memory`]
/// and `show`, the plaintext is answered. The stream's own result is answered as is: the
/// caller names a failure and compares the CID.
async fn decrypt_file(
    dek: &DataKey,
    ciphertext: PathBuf,
    sink: Sink,
    show: bool,
    size: u64,
) -> Answer<(Result<stream::Decrypted, stream::StreamError>, Vec<u8>)> {
    let dek_copy = DataKey::from_bytes(*dek.as_bytes());
    tokio::task::spawn_blocking(move || {
        let input =
            std::fs::File::open(&ciphertext).map_err(|e| errors::disk_error(&ciphertext, &e))?;
        let input = std::io::BufReader::with_capacity(1 << 20, input);
        let mut memory = Vec::new();
        let result = match &sink {
            Sink::Memory if show => {
                memory.reserve(usize::try_from(size).unwrap_or(0));
                stream::decrypt(&dek_copy, input, &mut memory)
            }
            Sink::Memory => stream::decrypt(&dek_copy, input, std::io::sink()),
            Sink::File(path) => {
                let out = std::fs::File::create(path).map_err(|e| errors::disk_error(path, &e))?;
                let mut out = std::io::BufWriter::with_capacity(1 << 20, out);
                let r = stream::decrypt(&dek_copy, input, &mut out);
                out.flush().map_err(|e| errors::disk_error(path, &e))?;
                r
            }
        };
        Ok::<_, UserError>((result, memory))
    })
    .await
    .map_err(|e| internal("the decryption task", e))?
}

/// Everything `seal_record` needs (one struct, not eighteen arguments).
struct SealInput<'a> {
    store: &'a RecordStore,
    owner: &'a Owner,
    authority: &'a MasterKey,
    policy: &'a Policy,
    record_id: &'a str,
    version: u32,
    dek: &'a DataKey,
    file: std::fs::File,
    source: &'a Path,
    size: u64,
    kind: ContentKind,
    mime: &'static str,
    file_name: &'a str,
    metadata: &'a RecordMetadata,
    now: &'a str,
    job_id: &'a str,
    progress: Progress,
    cancel: Arc<AtomicBool>,
}

/// One upload of a record version's objects (from an add, or from the outbox).
#[derive(Clone, Copy)]
struct Upload<'a> {
    store: &'a RecordStore,
    ipfs: &'a Url,
    record_id: &'a str,
    version: u32,
    job_id: &'a str,
    progress: &'a Progress,
    cancel: &'a Arc<AtomicBool>,
}

enum UploadFailure {
    Cancelled,
    Node(String),
}

enum Source {
    Device,
    Ipfs(Box<IpfsNode>),
}

enum Sink {
    Memory,
    File(PathBuf),
}

/// A `Write` whose bytes the caller takes afterwards (for `cat_to` of small objects).
#[derive(Clone, Default)]
struct SharedBuffer(Arc<Mutex<Vec<u8>>>);

impl SharedBuffer {
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *lock(&self.0))
    }
}

impl Write for SharedBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        lock(&self.0).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A record version marked as being worked on in one of the service's in-flight sets;
/// the mark goes when this is dropped, also when the future running the work is dropped
/// (a cancelled command), so a mark never outlives its work.
struct Running<'a> {
    set: &'a Mutex<HashSet<(String, u32)>>,
    key: (String, u32),
}

impl<'a> Running<'a> {
    /// Marks `record_id` version `version`, or `None` when it is already marked.
    fn claim(
        set: &'a Mutex<HashSet<(String, u32)>>,
        record_id: &str,
        version: u32,
    ) -> Option<Running<'a>> {
        let key = (record_id.to_owned(), version);
        // Build the guard only once the lock is released: a guard dropped while the set
        // is locked would deadlock (and could release another job's mark).
        let claimed = lock(set).insert(key.clone());
        claimed.then(|| Running { set, key })
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        lock(self.set).remove(&self.key);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn object_name(object: Object) -> &'static str {
    match object {
        Object::Content => "content",
        Object::Manifest => "manifest",
        Object::Capsule => "capsule",
    }
}

fn cancelled(file_name: &str) -> UserError {
    UserError::new(
        format!("Adding {file_name} was cancelled."),
        "Nothing of it was kept; add it again when you want.",
    )
}

/// When to retry an upload after `attempts` failures: 5 s doubling, at most 5 minutes.
fn backoff_until(attempts: u32) -> i64 {
    let delay = 5i64.saturating_mul(1i64 << attempts.min(6)).min(300);
    chrono::Utc::now().timestamp() + delay
}

fn read_up_to(file: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

fn random_bytes<const N: usize>() -> [u8; N] {
    use medwallet_abe::rand_core::RngCore;
    let mut out = [0u8; N];
    OsRng.fill_bytes(&mut out);
    out
}

fn kind_name(kind: ContentKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "other".to_owned())
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let now = chrono::Utc::now().timestamp();
        let d = |a| backoff_until(a) - now;
        assert!((5..=6).contains(&d(0)));
        assert!((10..=11).contains(&d(1)));
        assert!((300..=301).contains(&d(20)));
    }

    #[test]
    fn a_running_mark_is_exclusive_and_released_on_drop() {
        let set = Mutex::new(HashSet::new());
        let first = Running::claim(&set, "r", 1).expect("free");
        assert!(Running::claim(&set, "r", 1).is_none(), "claimed twice");
        // A refused claim must not release the holder's mark.
        assert!(lock(&set).contains(&("r".to_owned(), 1)));
        let other = Running::claim(&set, "r", 2).expect("another version is free");
        drop(first);
        assert!(Running::claim(&set, "r", 1).is_some(), "released on drop");
        drop(other);
        assert!(lock(&set).is_empty());
    }
}
