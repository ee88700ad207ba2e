//! The outbox: what an add (or a revision) left to do on the nodes, run again until done.
//!
//! **Upload** needs no key (every object is already encrypted): add the three objects to
//! the IPFS node, check the CIDs it answers against those computed here, pin them, and
//! mark the record on IPFS in the transaction that deletes the outbox entry.
//! **Register** needs the unlocked wallet: `registerRecord` / `updateRecord` signed by its
//! ledger key (see [`register`](super::register)); the pass sends every due registration
//! together, in as few batch transactions as fit in a block. Every step is idempotent (content
//! addressing; a registration is looked up before it is sent again), so a retry after a
//! node outage or a killed app cannot make a duplicate. Failures back off (5 s doubling,
//! at most 5 min).

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use medwallet_api::{AddProgress, AddStage, SyncReport};
use medwallet_records::cid::Cid;
use medwallet_records::IpfsNode;
use url::Url;

use super::{lock, part_of, register, Progress, RecordService};
use crate::error::{Answer, CoreError, RecordsError};
use crate::ledger::{LedgerTarget, StepFailure};
use crate::session::Owner;
use crate::store::{Object, RecordStore, State, Step, StoredRecord};

impl RecordService {
    /// Uploads one record version's objects, checks the CIDs, pins them, and marks it done.
    pub(crate) async fn upload(&self, job: &Upload<'_>) -> Result<(), UploadFailure> {
        let Some(_running) = Running::claim(&self.uploading, job.record_id, job.version) else {
            return Err(UploadFailure::Node(RecordsError::UploadRunning.into()));
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
        let node_problem = |e: medwallet_records::IpfsError| UploadFailure::Node(e.into());
        let row = store
            .latest(record_id)
            .await
            .map_err(|e| UploadFailure::Node(e.into()))?
            .filter(|r| r.version == version)
            .ok_or_else(|| UploadFailure::Node(RecordsError::VersionGone.into()))?;
        if row.state == State::OnIpfs {
            return Ok(());
        }
        let node = IpfsNode::new(ipfs).map_err(node_problem)?;
        let parse = |cid: &str| {
            cid.parse::<Cid>()
                .map_err(|e| UploadFailure::Node(CoreError::StoredCidUnreadable(e)))
        };
        let content_cid = parse(&row.content_cid)?;
        let manifest_cid = parse(&row.manifest_cid)?;
        let capsule_cid = parse(&row.capsule_cid)?;
        let content_path = store.object_path(record_id, version, Object::Content);
        let total = tokio::fs::metadata(&content_path)
            .await
            .map(|m| m.len())
            .map_err(|e| UploadFailure::Node(CoreError::disk(&content_path, e)))?;
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
            let bytes = tokio::fs::read(&path)
                .await
                .map_err(|e| UploadFailure::Node(CoreError::disk(&path, e)))?;
            let got = node.add_bytes(bytes).await.map_err(node_problem)?;
            if &got != cid {
                return Err(UploadFailure::Node(CoreError::StoredAs {
                    part: Some(part_of(object)),
                    got: Box::new(got),
                    expected: Box::new(*cid),
                }));
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
            .map_err(|e| UploadFailure::Node(e.into()))?;
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
    pub(crate) async fn run_register(
        &self,
        store: &RecordStore,
        owner: &Owner,
        ledger: &LedgerTarget,
        record_id: &str,
        version: u32,
        attempts: u32,
    ) -> Result<(), StepFailure> {
        let Some(_running) = Running::claim(&self.registering, record_id, version) else {
            return Err(StepFailure::waiting(RecordsError::RegistrationRunning));
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
    ) -> Result<(), StepFailure> {
        let stored = StepFailure::store;
        let Some(row) = registrable(store, record_id, version)
            .await
            .map_err(stored)?
        else {
            return Ok(());
        };
        if let Some((tx, block)) = &row.ledger {
            return store
                .registered(record_id, version, tx, *block)
                .await
                .map_err(stored);
        }
        let nonce = store.record_nonce(record_id).await.map_err(stored)?;
        match register::register(owner, ledger, &row, nonce.as_deref(), &self.events).await {
            Ok((tx, block)) => store
                .registered(record_id, version, &tx, block)
                .await
                .map_err(stored),
            Err(failure) => {
                if let Err(e) = store
                    .step_failed(
                        Step::Register,
                        record_id,
                        version,
                        &failure.reason(),
                        backoff_until(attempts),
                    )
                    .await
                {
                    // The row keeps its old reason and time; the next pass tries again.
                    tracing::warn!(record = %record_id, version, error = e.kind(), "the registration's retry time was not saved");
                }
                Err(failure)
            }
        }
    }

    /// Registers the due versions together ([`register::register_many`]): at most one
    /// version per record, the lowest due, and only once the version before it is
    /// registered (the contract counts versions itself, so they go in order: the next
    /// waits until the contract counts this one); none that another task is registering.
    /// Each outcome is kept with its record; answers the first failure.
    async fn register_due(
        &self,
        store: &RecordStore,
        owner: &Owner,
        ledger: &LedgerTarget,
        due: Vec<crate::store::Due>,
    ) -> Option<StepFailure> {
        let mut claims = Vec::new();
        let mut pending = Vec::new();
        let mut attempts = Vec::new();
        let mut records = HashSet::new();
        let mut problem = None;
        let mut due = due;
        due.sort_by(|a, b| (&a.record_id, a.version).cmp(&(&b.record_id, b.version)));
        for item in due {
            if !records.insert(item.record_id.clone()) {
                continue;
            }
            let Some(claim) = Running::claim(&self.registering, &item.record_id, item.version)
            else {
                continue;
            };
            let row = match registrable(store, &item.record_id, item.version).await {
                Ok(Some(row)) => row,
                Ok(None) => continue,
                Err(e) => {
                    problem.get_or_insert(StepFailure::store(e));
                    continue;
                }
            };
            if let Some((tx, block)) = &row.ledger {
                if let Err(e) = store
                    .registered(&row.record_id, row.version, tx, *block)
                    .await
                {
                    problem.get_or_insert(StepFailure::store(e));
                }
                continue;
            }
            let nonce = match store.record_nonce(&row.record_id).await {
                Ok(nonce) => nonce,
                Err(e) => {
                    problem.get_or_insert(StepFailure::store(e));
                    continue;
                }
            };
            claims.push(claim);
            attempts.push(item.attempts);
            pending.push(register::Pending { row, nonce });
        }
        if pending.is_empty() {
            return problem;
        }
        let outcomes = match register::register_many(owner, ledger, &pending, &self.events).await {
            Ok(outcomes) => outcomes,
            Err(failure) => {
                // Nothing was sent: every version waits for the same reason.
                let reason = failure.reason();
                for (p, attempts) in pending.iter().zip(&attempts) {
                    self.note_register_failure(store, &p.row, &reason, *attempts)
                        .await;
                }
                return problem.or(Some(failure));
            }
        };
        for ((p, attempts), outcome) in pending.iter().zip(&attempts).zip(outcomes) {
            let row = &p.row;
            match outcome {
                Ok((tx, block)) => {
                    if let Err(e) = store
                        .registered(&row.record_id, row.version, &tx, block)
                        .await
                    {
                        problem.get_or_insert(StepFailure::store(e));
                    }
                }
                Err(failure) => {
                    let reason = failure.reason();
                    self.note_register_failure(store, row, &reason, *attempts)
                        .await;
                    problem.get_or_insert(failure);
                }
            }
        }
        drop(claims);
        problem
    }

    /// Keeps why a version's registration waits, and when to try again.
    async fn note_register_failure(
        &self,
        store: &RecordStore,
        row: &crate::store::StoredRecord,
        reason: &str,
        attempts: u32,
    ) {
        if let Err(e) = store
            .step_failed(
                Step::Register,
                &row.record_id,
                row.version,
                reason,
                backoff_until(attempts),
            )
            .await
        {
            // The row keeps its old reason and time; the next pass tries again.
            tracing::warn!(record = %row.record_id, version = row.version, error = e.kind(), "the registration's retry time was not saved");
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
            .await?;
        let mut report = SyncReport::default();
        let (uploaded, failed) = self.upload_due(&store, ipfs, due).await;
        report.uploaded = uploaded;
        report.problem = failed.map(|f| f.reason());
        if let Some(owner) = owner.filter(|o| o.wallet_id == wallet_id) {
            let due = store
                .due(Step::Register, if force { None } else { Some(now) })
                .await?;
            if let Some(failure) = self.register_due(&store, owner, ledger, due).await {
                report.problem.get_or_insert(failure.reason());
            }
        }
        report.waiting = store.waiting(Step::Upload).await?;
        Ok(report)
    }

    /// Uploads one record's versions waiting in the outbox now, whatever their backoff
    /// (a revocation's lane waits for its new version); a failure is kept with its row as
    /// [`sync`](Self::sync) keeps it, and answered.
    #[tracing::instrument(name = "upload_record", skip_all)]
    pub(crate) async fn upload_record(
        &self,
        store: &RecordStore,
        ipfs: &Url,
        record_id: &str,
    ) -> Result<(), StepFailure> {
        let due = store
            .due_of(Step::Upload, record_id)
            .await
            .map_err(StepFailure::store)?;
        match self.upload_due(store, ipfs, due).await {
            (_, Some(failure)) => Err(failure),
            (_, None) => Ok(()),
        }
    }

    /// Registers the versions of `record_ids` waiting in the outbox now, together
    /// ([`register_due`](Self::register_due): one transaction for as many as fit, at
    /// most one version per record), whatever their backoff; answers the first failure.
    #[tracing::instrument(name = "register_records", skip_all, fields(records = record_ids.len()))]
    pub(crate) async fn register_records(
        &self,
        store: &RecordStore,
        owner: &Owner,
        ledger: &LedgerTarget,
        record_ids: &[String],
    ) -> Option<StepFailure> {
        let mut due = Vec::new();
        for id in record_ids {
            match store.due_of(Step::Register, id).await {
                Ok(entries) => due.extend(entries),
                Err(e) => return Some(StepFailure::store(e)),
            }
        }
        self.register_due(store, owner, ledger, due).await
    }

    /// Uploads the outbox entries `due`, in order, each failure kept with its row; stops
    /// at the first (the node is failing: the rest waits for the next pass). Answers how
    /// many went up, and the failure.
    async fn upload_due(
        &self,
        store: &RecordStore,
        ipfs: &Url,
        due: Vec<crate::store::Due>,
    ) -> (u32, Option<StepFailure>) {
        let quiet: Progress = Arc::new(|_| {});
        let never = Arc::new(AtomicBool::new(false));
        let mut uploaded = 0;
        for item in due {
            let job = Upload {
                store,
                ipfs,
                record_id: &item.record_id,
                version: item.version,
                job_id: "sync",
                progress: &quiet,
                cancel: &never,
            };
            match self.upload(&job).await {
                Ok(()) => uploaded += 1,
                Err(UploadFailure::Cancelled) => {}
                Err(UploadFailure::Node(problem)) => {
                    let failure = StepFailure {
                        node_down: problem.node_down(),
                        error: problem,
                    };
                    if let Err(e) = store
                        .step_failed(
                            Step::Upload,
                            &item.record_id,
                            item.version,
                            &failure.reason(),
                            // `attempts` counts the failures so far: 5 s after the
                            // first, 10 s after the second, doubling.
                            backoff_until(item.attempts),
                        )
                        .await
                    {
                        // The row keeps its old reason and time; the next pass tries again.
                        tracing::warn!(record = %item.record_id, version = item.version, error = e.kind(), "the upload's retry time was not saved");
                    }
                    return (uploaded, Some(failure));
                }
            }
        }
        (uploaded, None)
    }

    /// Runs the outbox of every wallet that has records on this device; `owner` (the
    /// unlocked wallet, if any) lets its registrations go out.
    pub async fn sync_all(&self, ipfs: &Url, owner: Option<&Owner>, ledger: &LedgerTarget) {
        for id in self.wallet_folders() {
            // A failure is kept with its record (and shown in the window); the next pass
            // tries again.
            if let Err(e) = self.sync(&id, owner, ipfs, ledger, false).await {
                tracing::debug!(wallet = %id, error = e.kind(), "a wallet's outbox did not run");
            }
        }
    }
}

/// One upload of a record version's objects (from an add, or from the outbox).
#[derive(Clone, Copy)]
pub(crate) struct Upload<'a> {
    pub store: &'a RecordStore,
    pub ipfs: &'a Url,
    pub record_id: &'a str,
    pub version: u32,
    pub job_id: &'a str,
    pub progress: &'a Progress,
    pub cancel: &'a Arc<AtomicBool>,
}

/// Why an upload did not finish.
pub(crate) enum UploadFailure {
    /// The user cancelled the add.
    Cancelled,
    /// The node (or the disk) failed; the outbox tries again.
    Node(CoreError),
}

/// A record version marked as being worked on in one of the service's in-flight sets;
/// the mark goes when this is dropped, also when the future running the work is dropped
/// (a cancelled command), so a mark never outlives its work.
pub(crate) struct Running<'a> {
    set: &'a Mutex<HashSet<(String, u32)>>,
    key: (String, u32),
}

impl<'a> Running<'a> {
    /// Marks `record_id` version `version`, or `None` when it is already marked.
    pub(crate) fn claim(
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

/// When to try again after a failure, given the failures before it (`attempts`): 5 s
/// after the first, 10 s after the second, doubling, at most 5 minutes.
pub(crate) fn backoff_until(attempts: u32) -> i64 {
    let delay = 5i64.saturating_mul(1i64 << attempts.min(6)).min(300);
    chrono::Utc::now().timestamp() + delay
}

/// A version's row if it can be registered now: it exists, and it is version 1 or the
/// version before it is on the ledger. `None` when it waits for that one (a revision made
/// on top of a version whose registration failed: sent after it, never in its place,
/// since the contract would count it as the earlier version) or is gone.
async fn registrable(
    store: &RecordStore,
    record_id: &str,
    version: u32,
) -> crate::store::Result<Option<StoredRecord>> {
    if version > 1 {
        let before = store.version_row(record_id, version - 1).await?;
        if before.is_some_and(|b| b.ledger.is_none()) {
            return Ok(None);
        }
    }
    store.version_row(record_id, version).await
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

    #[tokio::test]
    async fn a_version_waits_for_the_one_before_it_to_be_registered() {
        let dir = tempfile::tempdir().unwrap();
        let store = RecordStore::open(dir.path()).await.unwrap();
        let id = "ab".repeat(32);
        let row = |version: u32| StoredRecord {
            record_id: id.clone(),
            version,
            sealed_dek: vec![1],
            manifest: vec![2],
            content_cid: format!("content-{version}"),
            manifest_cid: format!("manifest-{version}"),
            capsule_cid: format!("capsule-{version}"),
            state: State::OnIpfs,
            problem: None,
            added_at: "2026-12-07T00:00:00Z".to_owned(),
            ledger: None,
            ledger_problem: None,
        };
        store.insert(&row(1)).await.unwrap();
        store.registered(&id, 1, "0x01", 1).await.unwrap();
        // Version 2's registration failed; version 3 was made on top of it.
        store.insert(&row(2)).await.unwrap();
        store.insert(&row(3)).await.unwrap();
        let version = |r: Option<StoredRecord>| r.map(|r| r.version);
        assert_eq!(version(registrable(&store, &id, 2).await.unwrap()), Some(2));
        assert_eq!(
            version(registrable(&store, &id, 3).await.unwrap()),
            None,
            "version 3 is never sent before version 2: the contract would count it as 2"
        );
        store.registered(&id, 2, "0x02", 2).await.unwrap();
        assert_eq!(version(registrable(&store, &id, 3).await.unwrap()), Some(3));
        assert_eq!(
            version(registrable(&store, &id, 4).await.unwrap()),
            None,
            "gone"
        );
    }
}
