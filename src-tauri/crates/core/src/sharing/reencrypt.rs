//! Re-encrypting many records at once: a member leaving a group re-encrypts every record
//! shared with the group, a clinic's new epoch every record shared with a role there,
//! grants revoked or expiring together each their record. The sharing pass hands the
//! revocations it finds due to [`RecordService::run_revocations`], which runs them in
//! batches of at most [`RECORDS_PER_BATCH`] records:
//!
//! 1. the records go through [`REENCRYPT_LANES`] at a time, each in its lane: its next
//!    version made (once: the content fetched and re-encrypted in the pipeline's blocking
//!    task, the capsule's CP-ABE wrap in its own) and uploaded. A record's own
//!    revocations share that version;
//! 2. the batch's versions are registered together by the records outbox
//!    (`updateRecords`, as few transactions as fit in a block);
//! 3. the grants are taken off the ledger, one `revokeAccessBatch` per grantee and clause
//!    ([`revoke`](super::revoke)), each mined item's transaction kept at once;
//! 4. the replaced versions are unpinned, this computer's node collects its garbage once
//!    and lists its blocks once (on js-ipfs each walks the whole repository: run per
//!    record, they were most of a removal's time), and each exposure report is written.
//!
//! Each record ends as it would alone: the same new version, the same report, a failure
//! kept in its grant row with its backoff. A record that fails is named in the progress
//! and the others go on; a node that is down stops new records from starting (what did
//! not start waits for the next pass). A run cut off anywhere leaves each grant
//! `revoking` with what it reached (its version named, its `revokeAccess` kept), and the
//! next pass resumes it there: no version is made twice, no kept revocation sent again.
//!
//! The progress ("Re-encrypting 37 of 100 records") is a watch channel per wallet: the
//! window polls its value (`sharing_progress`); tests and benchmarks wait for changes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use futures_util::stream::{self, StreamExt};
use medwallet_api::{SharingItemProblem, SharingProgress, SharingWork};
use medwallet_ledger::RecordCapsule;
use tokio::sync::watch;
use url::Url;

use super::revoke::{registered_capsule, replaced_objects, revoke_group, revoke_on_ledger};
use super::Failure;
use crate::error::{CoreError, SharingError};
use crate::ipfs::unpin_and_collect_each;
use crate::ledger::directory::Connected;
use crate::ledger::LedgerTarget;
use crate::records::{lock, RecordService};
use crate::session::Owner;
use crate::store::grants::GrantRow;
use crate::store::RecordStore;

pub use crate::records::{Reencryption, RECORDS_PER_BATCH, REENCRYPT_LANES};

impl RecordService {
    /// How this service's sharing passes run revocations ([`Reencryption::APP`] unless
    /// a benchmark or a test says otherwise).
    pub fn set_reencryption(&self, how: Reencryption) {
        *lock(&self.reencryption) = Reencryption {
            lanes: how.lanes.max(1),
            records_per_batch: how.records_per_batch.max(1),
        };
    }

    fn progress_cell(&self, wallet_id: &str) -> Arc<watch::Sender<SharingProgress>> {
        lock(&self.progress)
            .entry(wallet_id.to_owned())
            .or_insert_with(|| Arc::new(watch::channel(SharingProgress::default()).0))
            .clone()
    }

    /// How far the wallet's re-encryption (or a clinic's re-keying) is, or where the last
    /// one ended.
    pub fn sharing_progress(&self, wallet_id: &str) -> SharingProgress {
        self.progress_cell(wallet_id).borrow().clone()
    }

    /// The wallet's progress as it changes (each step of a run publishes its figures).
    pub fn watch_sharing_progress(&self, wallet_id: &str) -> watch::Receiver<SharingProgress> {
        self.progress_cell(wallet_id).subscribe()
    }

    /// Starts counting `total` items of `work` for the wallet (nothing is published when
    /// there are none: a pass with nothing to do shows nothing).
    pub(crate) fn tally(&self, wallet_id: &str, work: SharingWork, total: usize) -> Option<Tally> {
        (total > 0).then(|| Tally::start(self.progress_cell(wallet_id), work, total))
    }

    /// Runs due revocations (a member's leaves, a clinic's rotations, grants revoked or
    /// expiring together) in batches, their records [`REENCRYPT_LANES`] at a time.
    /// Answers the revocations that failed, in the order they were asked, for the pass
    /// to keep with their rows (one whose node was down stops the run: after it, no
    /// record starts, and what did not start waits for the next pass).
    #[tracing::instrument(name = "run_revocations", skip_all, fields(grants = grants.len()))]
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn run_revocations(
        &self,
        store: &RecordStore,
        owner: &Owner,
        ipfs: &Url,
        ledger: &LedgerTarget,
        conn: &Connected,
        grants: Vec<GrantRow>,
        tally: Option<&Tally>,
    ) -> Vec<(GrantRow, Failure)> {
        let how = *lock(&self.reencryption);
        let run = Run {
            store,
            owner,
            ipfs,
            ledger,
            conn,
            tally,
            stop: AtomicBool::new(false),
        };
        let mut failures = Vec::new();
        let mut records = by_record(grants).into_iter().peekable();
        while records.peek().is_some() && !run.stop.load(Ordering::Relaxed) {
            let batch: Vec<Vec<GrantRow>> = records.by_ref().take(how.records_per_batch).collect();
            failures.extend(self.revoke_batch(&run, batch, how.lanes).await);
        }
        // In the order they were asked, as one by one: the pass answers the first.
        failures.sort_by_key(|(g, _)| g.id);
        failures
    }

    /// One batch: its records through the lanes, then their registrations, revocations,
    /// garbage collection and reports together.
    #[tracing::instrument(name = "revoke_batch", skip_all, fields(records = batch.len()))]
    async fn revoke_batch(
        &self,
        run: &Run<'_>,
        batch: Vec<Vec<GrantRow>>,
        lanes: usize,
    ) -> Vec<(GrantRow, Failure)> {
        let Run {
            store,
            owner,
            ipfs,
            ledger,
            conn,
            tally,
            ..
        } = *run;
        let done: Vec<Lane> = stream::iter(batch)
            .map(|grants| self.lane(run, grants))
            .buffer_unordered(lanes)
            .collect()
            .await;
        let mut failures = Vec::new();
        let mut made: Vec<(GrantRow, u32)> = Vec::new();
        for lane in done {
            failures.extend(lane.failures);
            made.extend(lane.made);
        }
        if made.is_empty() {
            return failures;
        }
        let finishing = tally.map(Tally::finishing);
        // What fails from here on, after its record was counted through its lane.
        let mut late: Vec<(GrantRow, Failure)> = Vec::new();
        let mut fail = |grant: GrantRow, f: Failure| {
            if f.node_down {
                run.stop.store(true, Ordering::Relaxed);
            }
            late.push((grant, f));
        };

        // The new versions registered together (those an earlier run registered are
        // found, not sent again).
        let mut ids: Vec<String> = made.iter().map(|(g, _)| g.record_id.clone()).collect();
        ids.dedup();
        if let Some(f) = self.register_records(store, owner, ledger, &ids).await {
            // Kept with each version's outbox row, which the check below reads.
            tracing::debug!(
                error = f.error.kind(),
                "a batch's registrations did not all go"
            );
            if f.node_down {
                run.stop.store(true, Ordering::Relaxed);
            }
        }
        let mut ready: Vec<(GrantRow, u32, RecordCapsule)> = Vec::new();
        for (grant, version) in made {
            match registered_capsule(store, &grant, version).await {
                Ok(capsule) => ready.push((grant, version, capsule)),
                Err(f) => fail(grant, f),
            }
        }

        // Off the ledger: one batch per grantee and clause.
        let mut groups: Vec<Vec<usize>> = Vec::new();
        let mut at: HashMap<_, usize> = HashMap::new();
        for (i, (grant, _, _)) in ready.iter().enumerate() {
            let key = revoke_group(grant);
            match at.get(&key) {
                Some(&g) => groups[g].push(i),
                None => {
                    at.insert(key, groups.len());
                    groups.push(vec![i]);
                }
            }
        }
        let mut txs: Vec<Option<Result<String, Failure>>> = ready.iter().map(|_| None).collect();
        for group in groups {
            let items: Vec<(&GrantRow, RecordCapsule)> = group
                .iter()
                .map(|&i| (&ready[i].0, ready[i].2.clone()))
                .collect();
            let sent = revoke_on_ledger(store, conn, &items).await;
            for (i, outcome) in group.into_iter().zip(sent) {
                txs[i] = Some(outcome);
            }
        }

        // The versions they replace are no longer the records': unpinned, and collected
        // once for all (those before them were unpinned when they were replaced).
        let mut revoked: Vec<(GrantRow, u32, String, Vec<String>)> = Vec::new();
        for ((grant, version, _), tx) in ready.into_iter().zip(txs) {
            let tx = tx.unwrap_or_else(|| {
                Err(Failure::waiting(CoreError::internal(
                    "a batch of revocations",
                    "an item was neither sent nor found",
                )))
            });
            match tx {
                Ok(tx) => match replaced_objects(store, &grant, version).await {
                    Ok(older) => revoked.push((grant, version, tx, older)),
                    Err(f) => fail(grant, f),
                },
                Err(f) => fail(grant, f),
            }
        }
        let sets: Vec<Vec<String>> = revoked.iter().map(|(.., older)| older.clone()).collect();
        let gone = if sets.is_empty() {
            Vec::new()
        } else {
            unpin_and_collect_each(ipfs, &sets).await
        };
        for ((grant, version, tx, older), gone) in revoked.into_iter().zip(gone) {
            let removed_here = gone && !older.is_empty();
            if let Err(f) = self
                .finish_revoke(store, owner, conn, &grant, version, &tx, removed_here)
                .await
            {
                fail(grant, f);
            }
        }
        drop(finishing);
        if let Some(tally) = tally {
            // Each record named once, with its first failure.
            let mut named: Vec<&str> = Vec::new();
            for (grant, f) in &late {
                if !named.contains(&grant.record_id.as_str()) {
                    named.push(&grant.record_id);
                    tally.failed(self.item_problem(store, owner, grant, f).await);
                }
            }
        }
        failures.extend(late);
        failures
    }

    /// One record's lane: its next version made (once for all its revocations) and
    /// uploaded; counted in the progress once through.
    #[tracing::instrument(name = "reencrypt_record", skip_all)]
    async fn lane(&self, run: &Run<'_>, grants: Vec<GrantRow>) -> Lane {
        let mut lane = Lane::default();
        // A node is down: what has not started waits for the next pass.
        if run.stop.load(Ordering::Relaxed) {
            return lane;
        }
        let Run {
            store,
            owner,
            ipfs,
            ledger,
            ..
        } = *run;
        // Versions earlier passes made for these revocations: this batch finishes them.
        let noted_here: Vec<u32> = grants.iter().filter_map(|g| g.revoke_version).collect();
        for grant in grants {
            // Read again: the version made for another revocation of this record names
            // this one too.
            let noted = match store.grant(grant.id).await {
                Ok(fresh) => fresh.and_then(|g| g.revoke_version),
                Err(_) => grant.revoke_version,
            };
            let version = match noted {
                Some(v) => Ok(v),
                None => match self.next_version_due(store, &grant, &noted_here).await {
                    Ok(true) => self
                        .make_revision(store, owner, ipfs, ledger, &grant.record_id)
                        .await
                        .map_err(|e| Failure {
                            node_down: e.node_down(),
                            error: e,
                        }),
                    // After the version this batch finishes: the next pass.
                    Ok(false) => continue,
                    Err(f) => Err(f),
                },
            };
            match version {
                Ok(v) => lane.made.push((grant, v)),
                Err(f) => {
                    if f.node_down {
                        run.stop.store(true, Ordering::Relaxed);
                    }
                    lane.failures.push((grant, f));
                }
            }
        }
        if let Some((grant, _)) = lane.made.first() {
            // Uploaded now rather than by the next outbox pass; what fails is kept in the
            // version's outbox row too.
            let record_id = grant.record_id.clone();
            if let Err(f) = self.upload_record(store, ipfs, &record_id).await {
                if f.node_down {
                    run.stop.store(true, Ordering::Relaxed);
                }
                let reason = f.reason();
                for (grant, version) in std::mem::take(&mut lane.made) {
                    // As the registration check would name it: the version waits, and why.
                    let waits = Failure {
                        error: SharingError::RevisionPending {
                            version,
                            problem: Some(reason.clone()),
                        }
                        .into(),
                        node_down: f.node_down,
                    };
                    lane.failures.push((grant, waits));
                }
            }
        }
        if let Some(tally) = run.tally {
            // Named with the reason its grant keeps.
            let problem = match lane.failures.first() {
                Some((grant, f)) => Some(self.item_problem(store, owner, grant, f).await),
                None => None,
            };
            tally.record_done(problem);
        }
        lane
    }

    /// Whether a revocation without a version may have one made now: only once the
    /// record's latest version is registered. The outbox registers a record's latest
    /// version only, so a version made while an earlier one (made for another revocation)
    /// is still on its way would hold both back. `false` when this batch finishes that
    /// one (`noted_here`); a failure naming it when it waits for its own reasons.
    async fn next_version_due(
        &self,
        store: &RecordStore,
        grant: &GrantRow,
        noted_here: &[u32],
    ) -> Result<bool, Failure> {
        let latest = store
            .latest(&grant.record_id)
            .await
            .map_err(Failure::store)?;
        match latest {
            Some(row) if row.ledger.is_none() => {
                if noted_here.contains(&row.version) {
                    return Ok(false);
                }
                Err(Failure::waiting(SharingError::RevisionPending {
                    version: row.version,
                    problem: row.ledger_problem.or(row.problem).filter(|p| !p.is_empty()),
                }))
            }
            _ => Ok(true),
        }
    }

    /// A revocation's failure named for the window: the record's title (its id when the
    /// title cannot be read) and the reason.
    async fn item_problem(
        &self,
        store: &RecordStore,
        owner: &Owner,
        grant: &GrantRow,
        failure: &Failure,
    ) -> SharingItemProblem {
        let title = match store.latest(&grant.record_id).await {
            Ok(Some(row)) => self.summary(owner, &row).ok().map(|s| s.title),
            _ => None,
        };
        SharingItemProblem {
            name: title
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| grant.record_id.clone()),
            reason: failure.reason(),
        }
    }
}

/// What every lane and step of one run shares.
struct Run<'a> {
    store: &'a RecordStore,
    owner: &'a Owner,
    ipfs: &'a Url,
    ledger: &'a LedgerTarget,
    conn: &'a Connected,
    tally: Option<&'a Tally>,
    /// Set when a node is down: no record starts after it.
    stop: AtomicBool,
}

/// The due revocations grouped by record, each group in the order it was asked, the
/// groups in the order of their first.
fn by_record(batch: Vec<GrantRow>) -> Vec<Vec<GrantRow>> {
    let mut at: HashMap<String, usize> = HashMap::new();
    let mut groups: Vec<Vec<GrantRow>> = Vec::new();
    for grant in batch {
        match at.get(&grant.record_id) {
            Some(&i) => groups[i].push(grant),
            None => {
                at.insert(grant.record_id.clone(), groups.len());
                groups.push(vec![grant]);
            }
        }
    }
    groups
}

/// The number of records among due revocations (what a pass's progress counts).
pub(crate) fn records_in<'a>(grants: impl Iterator<Item = &'a GrantRow>) -> usize {
    let mut ids: Vec<&str> = grants.map(|g| g.record_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    ids.len()
}

/// What one record's lane did: the revocations whose version is made and uploaded, and
/// those that failed (the others were not tried).
#[derive(Default)]
struct Lane {
    made: Vec<(GrantRow, u32)>,
    failures: Vec<(GrantRow, Failure)>,
}

/// A run's progress as it goes: published on each step, and marked ended when dropped
/// (also when the command that ran it is cancelled).
pub(crate) struct Tally {
    cell: Arc<watch::Sender<SharingProgress>>,
}

impl Tally {
    fn start(cell: Arc<watch::Sender<SharingProgress>>, work: SharingWork, total: usize) -> Self {
        let run = cell.borrow().run.wrapping_add(1);
        cell.send_replace(SharingProgress {
            run,
            running: true,
            work,
            done: 0,
            total: u32::try_from(total).unwrap_or(u32::MAX),
            finishing: false,
            failed: Vec::new(),
        });
        Self { cell }
    }

    /// One more item finished, failed if `problem`.
    pub(crate) fn record_done(&self, problem: Option<SharingItemProblem>) {
        self.cell.send_modify(|p| {
            p.done = p.done.saturating_add(1).min(p.total);
            p.failed.extend(problem);
        });
    }

    /// A batch's records are through their lanes: its registrations, revocations and
    /// collection run until the guard is dropped.
    fn finishing(&self) -> Finishing<'_> {
        self.cell.send_modify(|p| p.finishing = true);
        Finishing(self)
    }

    /// An item already counted failed at a later step.
    fn failed(&self, problem: SharingItemProblem) {
        self.cell.send_modify(|p| p.failed.push(problem));
    }
}

impl Drop for Tally {
    fn drop(&mut self) {
        self.cell.send_modify(|p| {
            p.running = false;
            p.finishing = false;
        });
    }
}

/// While a batch finishes ([`Tally::finishing`]).
struct Finishing<'a>(&'a Tally);

impl Drop for Finishing<'_> {
    fn drop(&mut self) {
        self.0.cell.send_modify(|p| p.finishing = false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(id: i64, record: &str) -> GrantRow {
        GrantRow {
            leave: true,
            clause: Some("careteam".to_owned()),
            ..GrantRow::sample(
                id,
                record,
                "0x0000000000000000000000000000000000000001",
                crate::store::grants::GrantPhase::Revoking,
            )
        }
    }

    #[test]
    fn a_records_revocations_stay_together_and_in_order() {
        let groups = by_record(vec![
            grant(1, "a"),
            grant(2, "b"),
            grant(3, "a"),
            grant(4, "c"),
        ]);
        let ids: Vec<Vec<i64>> = groups
            .iter()
            .map(|g| g.iter().map(|r| r.id).collect())
            .collect();
        assert_eq!(ids, vec![vec![1, 3], vec![2], vec![4]]);
        assert_eq!(
            records_in([grant(1, "a"), grant(2, "b"), grant(3, "a")].iter()),
            2
        );
    }

    #[test]
    fn a_tally_counts_up_to_its_total_and_ends_when_dropped() {
        let cell = Arc::new(watch::channel(SharingProgress::default()).0);
        let seen = cell.subscribe();
        let tally = Tally::start(cell.clone(), SharingWork::Reencrypting, 2);
        assert_eq!(
            (
                seen.borrow().run,
                seen.borrow().running,
                seen.borrow().total
            ),
            (1, true, 2)
        );
        tally.record_done(None);
        tally.record_done(Some(SharingItemProblem {
            name: "Blood panel".into(),
            reason: "why".into(),
        }));
        tally.record_done(None);
        {
            let _finishing = tally.finishing();
            assert!(seen.borrow().finishing);
        }
        assert!(!seen.borrow().finishing);
        drop(tally);
        let last = seen.borrow().clone();
        assert_eq!((last.running, last.done, last.failed.len()), (false, 2, 1));
        drop(Tally::start(cell, SharingWork::Rekeying, 1));
        assert_eq!(seen.borrow().run, 2);
    }

    #[tokio::test]
    async fn a_progress_naming_records_is_forgotten_when_its_wallet_is_not_the_sessions() {
        let dir = tempfile::tempdir().unwrap();
        let svc = RecordService::new(dir.path());
        let tally = svc.tally("a", SharingWork::Reencrypting, 1);
        assert!(tally.is_some());
        svc.lists_follow_session(Some("a")).await;
        assert!(
            lock(&svc.progress).contains_key("a"),
            "the session's own stays"
        );
        svc.forget_lists().await;
        assert!(lock(&svc.progress).is_empty(), "locked: nothing is kept");
    }
}
