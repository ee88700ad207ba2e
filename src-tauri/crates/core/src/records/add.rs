//! Adding a file: encrypt on this device, then store on IPFS and register on the ledger.
//!
//! Two phases with a durable point between them:
//!
//! 1. **Encrypt** (needs the unlocked wallet): a fresh data key, the content through the
//!    [pipeline](super::pipeline) into `objects/`, the sealed manifest, the capsule (the
//!    data key wrapped by CP-ABE under `id:<owner>`). `adds_in_progress` names the record
//!    while this runs, so a crash leaves files that are removed at the next start, never a
//!    listed half-record. The phase ends with one transaction that inserts the record
//!    *and* its outbox entry.
//! 2. **Upload and register** (the [outbox](super::outbox)'s steps, tried at once; if a
//!    node is down they wait in the outbox and nothing is lost).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use medwallet_abe::rand_core::OsRng;
use medwallet_abe::DataKey;
use medwallet_api::{AddProgress, AddStage, FileToken, Inspection, RecordMetadata, RecordSummary};
use medwallet_records::cid::cid_of;
use medwallet_records::stream;

use super::outbox::{backoff_until, Upload, UploadFailure};
use super::pipeline::{self, SourceFile};
use super::{inspect, lock, Progress, RecordService};
use crate::error::{Answer, CoreError, RecordsError, DATABASE_ROOM};
use crate::ipfs::unpin;
use crate::ledger::LedgerTarget;
use crate::session::Owner;
use crate::store::{self, local_seal, Object, RecordStore, State, Step, StoredRecord};

impl RecordService {
    /// Checks files (each the shell's token for it and its path) before adding them and
    /// proposes metadata.
    pub fn inspect(&self, owner: &Owner, files: &[(FileToken, String)]) -> Inspection {
        inspect::inspect(files, &owner.display_name)
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
        ipfs: &url::Url,
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
                return Err(CoreError::internal("job id in use", job_id));
            }
            jobs.insert(job_id.to_owned(), cancel.clone());
        }
        // Taken only once the lock is released (its drop locks the jobs).
        let running = JobMark {
            jobs: &self.jobs,
            job_id,
        };
        let job = AddJob {
            owner,
            ipfs,
            ledger,
            job_id,
            progress,
            cancel,
        };
        let result = self.add_inner(&job, path, metadata).await;
        drop(running);
        // A full disk met before the file's size was known (opening the records
        // database): named with the wallet's records folder and its free space now.
        result.map_err(|e| e.disk_full_in(&self.dir.join(&owner.wallet_id), None))
    }

    async fn add_inner(
        &self,
        job: &AddJob<'_>,
        path: &str,
        metadata: RecordMetadata,
    ) -> Answer<RecordSummary> {
        let owner = job.owner;
        owner.authority()?;
        let store = self.store(&owner.wallet_id).await?;
        let source = tokio::task::spawn_blocking({
            let path = path.to_owned();
            move || SourceFile::open(&path)
        })
        .await
        .map_err(|e| CoreError::internal("reading the file", e))??;
        // Refused before any byte is written when the disk cannot hold the encrypted copy
        // kept until the upload (and the database's room); a disk that fills meanwhile
        // fails the write, and is answered with the same need.
        let needed = stream::ciphertext_len(source.size).saturating_add(DATABASE_ROOM);
        let folder = store.dir().to_owned();
        CoreError::check_room(&folder, needed)?;
        self.add_source(job, &store, source, metadata)
            .await
            .map_err(|e| e.disk_full_in(&folder, Some(needed)))
    }

    /// An add once its file is open and the disk had room for it.
    async fn add_source(
        &self,
        job: &AddJob<'_>,
        store: &RecordStore,
        source: SourceFile,
        metadata: RecordMetadata,
    ) -> Answer<RecordSummary> {
        let owner = job.owner;
        let authority = owner.authority()?;
        let policy = owner.own_policy()?;
        let (record_id, nonce) = pipeline::new_record_id(&owner.address)?;
        let version = 1u32;
        let dek = DataKey::generate(&mut OsRng);
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        // The nonce first: a record that exists can always be registered.
        let begun = match store.set_record_nonce(&record_id, &nonce).await {
            Ok(()) => store.begin_add(&record_id, &now).await,
            Err(e) => Err(e),
        };
        if let Err(e) = begun {
            abandon(store, &record_id, version).await;
            return Err(e.into());
        }

        // Phase 1: encrypt. Any failure from here to the insert removes what was written.
        let sealed = seal_new_record(
            store,
            owner,
            (authority.public_params(), &policy),
            (&record_id, version, &dek),
            &source,
            &metadata,
            &now,
            job,
        )
        .await;
        let row = match sealed {
            Ok(row) => row,
            Err(error) => {
                abandon(store, &record_id, version).await;
                return Err(error);
            }
        };
        if let Err(e) = store.insert(&row).await {
            abandon(store, &record_id, version).await;
            return Err(e.into());
        }
        tracing::info!(record = %record_id, size = source.size, "record encrypted on this device");

        // Phase 2: upload (the outbox entry exists; if this fails, the outbox retries).
        let outcome = self
            .upload(&Upload {
                store,
                ipfs: job.ipfs,
                record_id: &record_id,
                version,
                job_id: job.job_id,
                progress: &job.progress,
                cancel: &job.cancel,
            })
            .await;
        match outcome {
            Ok(()) => {
                // Phase 3: register on the ledger. A failure is kept in the outbox row
                // with its reason and retried by the next pass: nothing to do here.
                if let Err(failure) = self
                    .run_register(store, owner, job.ledger, &record_id, version, 0)
                    .await
                {
                    tracing::info!(record = %record_id, node_down = failure.node_down, "registration queued");
                }
            }
            Err(UploadFailure::Cancelled) => {
                if let Err(e) = store.delete(&record_id, version).await {
                    tracing::warn!(record = %record_id, error = e.kind(), "a cancelled record could not be removed; the next start sweeps it");
                }
                // Best effort: an object left pinned is encrypted and unlisted.
                unpin(
                    job.ipfs,
                    &[&row.content_cid, &row.manifest_cid, &row.capsule_cid],
                )
                .await;
                return Err(RecordsError::Cancelled {
                    file_name: Some(source.file_name.clone()),
                }
                .into());
            }
            Err(UploadFailure::Node(problem)) => {
                tracing::info!(record = %record_id, error = problem.kind(), "upload queued: the IPFS node failed");
                if let Err(e) = store
                    .step_failed(
                        Step::Upload,
                        &record_id,
                        version,
                        &crate::words::reason(&problem),
                        backoff_until(0),
                    )
                    .await
                {
                    tracing::warn!(record = %record_id, error = e.kind(), "the upload's retry time was not saved; it is retried at the next pass");
                }
                (job.progress)(AddProgress {
                    job_id: job.job_id.to_owned(),
                    stage: AddStage::Queued,
                    done: 0,
                    total: 0,
                });
            }
        }
        let row = store
            .latest(&record_id)
            .await?
            .ok_or_else(|| CoreError::internal("the new record", "missing after insert"))?;
        self.summary(owner, &row)
    }
}

/// An add's job id, marked in use while the add runs; the mark goes when this is
/// dropped, also when the add's future is dropped (the command cancelled), so a job id
/// is never left in use by an add that no longer runs.
struct JobMark<'a> {
    jobs: &'a Mutex<HashMap<String, Arc<AtomicBool>>>,
    job_id: &'a str,
}

impl Drop for JobMark<'_> {
    fn drop(&mut self) {
        lock(self.jobs).remove(self.job_id);
    }
}

/// One add's context: who, which nodes, and how it is reported and cancelled.
struct AddJob<'a> {
    owner: &'a Owner,
    ipfs: &'a url::Url,
    ledger: &'a LedgerTarget,
    job_id: &'a str,
    progress: Progress,
    cancel: Arc<AtomicBool>,
}

/// Phase 1 of an add: the content through the pipeline, the manifest and the capsule
/// written, and the record's row (not inserted yet).
#[allow(clippy::too_many_arguments)]
async fn seal_new_record(
    store: &RecordStore,
    owner: &Owner,
    (params, policy): (&medwallet_abe::PublicParams, &medwallet_abe::Policy),
    (record_id, version, dek): (&str, u32, &DataKey),
    source: &SourceFile,
    metadata: &RecordMetadata,
    now: &str,
    job: &AddJob<'_>,
) -> Answer<StoredRecord> {
    let content_path = store.object_path(record_id, version, Object::Content);
    let (job_id, report, size) = (job.job_id.to_owned(), job.progress.clone(), source.size);
    let encrypted = pipeline::encrypt_file(
        dek,
        source,
        &content_path,
        move |done| {
            report(AddProgress {
                job_id: job_id.clone(),
                stage: AddStage::Encrypting,
                done,
                total: size,
            })
        },
        job.cancel.clone(),
    )
    .await?;
    let m = pipeline::manifest_for(record_id, version, metadata, source, &encrypted, now);
    let (manifest_bytes, capsule_bytes) = pipeline::seal_objects(dek, &m, params, policy)?;
    write_small_objects(store, record_id, version, &manifest_bytes, &capsule_bytes).await?;
    Ok(StoredRecord {
        record_id: record_id.to_owned(),
        version,
        sealed_dek: local_seal::seal(&owner.local_key, record_id, version, dek)
            .map_err(|e| CoreError::internal("sealing the data key", e))?,
        content_cid: encrypted.cid.to_string(),
        manifest_cid: cid_of(&manifest_bytes).to_string(),
        capsule_cid: cid_of(&capsule_bytes).to_string(),
        manifest: manifest_bytes,
        state: State::Local,
        problem: Some("Not uploaded yet.".to_owned()),
        added_at: now.to_owned(),
        ledger: None,
        ledger_problem: None,
    })
}

/// Writes a version's manifest and capsule next to its content, each atomically (synced,
/// then renamed), on a blocking thread.
pub(crate) async fn write_small_objects(
    store: &RecordStore,
    record_id: &str,
    version: u32,
    manifest: &[u8],
    capsule: &[u8],
) -> Answer<()> {
    let writes = [
        (
            store.object_path(record_id, version, Object::Manifest),
            manifest.to_vec(),
        ),
        (
            store.object_path(record_id, version, Object::Capsule),
            capsule.to_vec(),
        ),
    ];
    tokio::task::spawn_blocking(move || {
        for (path, bytes) in writes {
            store::write_atomically(&path, &bytes).map_err(|e| CoreError::disk(&path, e))?;
        }
        Ok(())
    })
    .await
    .map_err(|e| CoreError::internal("writing the manifest and capsule", e))?
}

/// Removes what a failed add wrote; what this cannot remove, the next start sweeps.
async fn abandon(store: &RecordStore, record_id: &str, version: u32) {
    if let Err(e) = store.abandon_add(record_id, version).await {
        tracing::warn!(record = %record_id, error = e.kind(), "a failed add could not be cleaned up; the next start sweeps it");
    }
}
