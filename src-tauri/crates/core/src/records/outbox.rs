//! The outbox: what an add (or a revision) left to do on the nodes, run again until done.
//!
//! **Upload** needs no key (every object is already encrypted): add the three objects to
//! the IPFS node, check the CIDs it answers against those computed here, pin them, and
//! mark the record on IPFS in the transaction that deletes the outbox entry.
//! **Register** needs the unlocked wallet: `registerRecord` / `updateRecord` signed by its
//! ledger key (see [`register`](super::register)). Every step is idempotent (content
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
use crate::store::{Object, RecordStore, State, Step};

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
        let nonce = store.record_nonce(record_id).await.map_err(stored)?;
        match register::register(owner, ledger, &row, nonce.as_deref()).await {
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
        let due = |step| {
            let store = store.clone();
            async move { store.due(step, if force { None } else { Some(now) }).await }
        };
        let owner = owner.filter(|o| o.wallet_id == wallet_id);
        self.run_outbox(&store, owner, ipfs, ledger, due).await
    }

    /// Runs one record's outbox entries now, whatever their backoff (a revocation waits
    /// for its new version): its uploads, then its registrations, each failure kept with
    /// its row as [`sync`](Self::sync) keeps it.
    #[tracing::instrument(name = "sync_record", skip_all)]
    pub(crate) async fn sync_record(
        &self,
        store: &RecordStore,
        owner: &Owner,
        ipfs: &Url,
        ledger: &LedgerTarget,
        record_id: &str,
    ) -> Answer<SyncReport> {
        let due = |step| {
            let store = store.clone();
            let record_id = record_id.to_owned();
            async move { store.due_of(step, &record_id).await }
        };
        self.run_outbox(store, Some(owner), ipfs, ledger, due).await
    }

    /// The outbox's entries that `due` lists: uploads first, then (with the unlocked
    /// wallet) registrations.
    async fn run_outbox<F, Fut>(
        &self,
        store: &RecordStore,
        owner: Option<&Owner>,
        ipfs: &Url,
        ledger: &LedgerTarget,
        due: F,
    ) -> Answer<SyncReport>
    where
        F: Fn(Step) -> Fut,
        Fut: std::future::Future<Output = Result<Vec<crate::store::Due>, crate::store::StoreError>>,
    {
        let mut report = SyncReport::default();
        let quiet: Progress = Arc::new(|_| {});
        let never = Arc::new(AtomicBool::new(false));
        for item in due(Step::Upload).await? {
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
                Ok(()) => report.uploaded += 1,
                Err(UploadFailure::Cancelled) => {}
                Err(UploadFailure::Node(problem)) => {
                    let problem = crate::words::reason(&problem);
                    if let Err(e) = store
                        .step_failed(
                            Step::Upload,
                            &item.record_id,
                            item.version,
                            &problem,
                            // `attempts` counts the failures so far: 5 s after the
                            // first, 10 s after the second, doubling.
                            backoff_until(item.attempts),
                        )
                        .await
                    {
                        // The row keeps its old reason and time; the next pass tries again.
                        tracing::warn!(record = %item.record_id, version = item.version, error = e.kind(), "the upload's retry time was not saved");
                    }
                    report.problem = Some(problem);
                    // The node is failing: the rest waits for the next pass.
                    break;
                }
            }
        }
        if let Some(owner) = owner {
            for item in due(Step::Register).await? {
                let outcome = self
                    .run_register(
                        store,
                        owner,
                        ledger,
                        &item.record_id,
                        item.version,
                        item.attempts,
                    )
                    .await;
                if let Err(failure) = outcome {
                    if report.problem.is_none() {
                        report.problem = Some(failure.reason());
                    }
                    if failure.node_down {
                        break;
                    }
                }
            }
        }
        report.waiting = store.waiting(Step::Upload).await?;
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
                // A failure is kept with its record (and shown in the window); the next
                // pass tries again.
                if let Err(e) = self.sync(&id, owner, ipfs, ledger, false).await {
                    tracing::debug!(wallet = %id, error = e.kind(), "a wallet's outbox did not run");
                }
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
