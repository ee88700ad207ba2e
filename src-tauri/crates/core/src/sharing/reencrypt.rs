//! Re-encrypting many records at once: a member leaving a group re-encrypts every record
//! shared with the group, a clinic's new epoch every record shared with a role there,
//! grants expiring together each their record. The sharing pass hands each run of due
//! revocations to [`RecordService::run_revocations`]:
//!
//! - the records go through [`REENCRYPT_LANES`] at a time; a record's own revocations run
//!   one after another in the order they were asked (each may make its next version);
//! - each runs [`revoke_steps`](RecordService::revoke_steps): the new version made (AES
//!   in the pipeline's blocking task, the capsule's CP-ABE wrap in its own), uploaded,
//!   registered, the replaced version unpinned. The ledger client sends one transaction
//!   per account at a time, from its nonce to its receipt (ARCHITECTURE.md), so the
//!   registrations queue there while the other records fetch, encrypt and upload;
//! - once all are through, this computer's node collects its garbage once and lists its
//!   blocks once, and each exposure report is written. On js-ipfs each of those walks
//!   the whole repository (about 0.5 s, and 0.15 s per object checked, with a few
//!   thousand blocks): run per record, they were nine tenths of a removal's time.
//!
//! Each record ends as it did one by one: the same new version, the same report, a
//! failure kept in its grant row with its backoff. A record that fails is named in the
//! progress and the others go on; a node that is down stops new records from starting
//! (the rest waits for the next pass, as before). A crash anywhere leaves each grant
//! `revoking` with what it reached (its version named, its `revokeAccess` kept), and the
//! next pass resumes it there: no version is made twice.
//!
//! The progress ("Re-encrypting 37 of 100 records") is a watch channel per wallet: the
//! window polls its value (`sharing_progress`); tests and benchmarks wait for changes.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use futures_util::stream::{self, StreamExt};
use medwallet_api::{SharingItemProblem, SharingProgress, SharingWork};
use tokio::sync::watch;
use url::Url;

use super::revoke::Revoked;
use super::Failure;
use crate::ipfs::collect_and_check;
use crate::ledger::directory::Connected;
use crate::ledger::LedgerTarget;
use crate::records::{lock, RecordService};
use crate::session::Owner;
use crate::store::grants::GrantRow;
use crate::store::RecordStore;

/// How many records are re-encrypted at once. Each holds one record's buffers only:
/// the pipeline streams content through a pipe and two 1 MiB buffers
/// (`pipeline::IO_BUFFER`), and a version fetched from IPFS goes to a temporary file, not
/// to memory; so four stay within a few MiB whatever the records' sizes. Four keep both
/// cores of a small machine busy with CP-ABE and AES (each on a blocking thread) while
/// the others wait for IPFS and the ledger; more would only queue behind the account's
/// one transaction at a time and the node's own pace.
pub const REENCRYPT_LANES: usize = 4;

/// How many records' replaced versions one garbage collection takes at most. js-ipfs
/// checks every block it deletes against every recursive pin (about 40 ms a block with a
/// few hundred pins here), so a hundred records' 300 blocks take about 12 s: well inside
/// the 60 s a collection may take (`PIN_TIMEOUT`), which a collection of thousands would
/// not be, and its reports would then say the node still holds what it was removing.
const RECORDS_PER_COLLECTION: usize = 100;

/// How a sharing pass runs the re-encryptions it finds due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reencryption {
    /// One record at a time, each revocation run to its end with its own garbage
    /// collection and block check: the path before, kept so that benchmarks measure
    /// both in one run.
    OneByOne,
    /// `n` records at a time, the replaced versions collected once for the batch.
    Lanes(usize),
}

impl RecordService {
    /// How this service's sharing passes re-encrypt (by default
    /// [`Reencryption::Lanes`]`(`[`REENCRYPT_LANES`]`)`).
    pub fn set_reencryption(&self, how: Reencryption) {
        let lanes = match how {
            Reencryption::OneByOne => 0,
            Reencryption::Lanes(n) => n.max(1),
        };
        self.reencrypt_lanes.store(lanes, Ordering::Relaxed);
    }

    fn reencryption(&self) -> Reencryption {
        match self.reencrypt_lanes.load(Ordering::Relaxed) {
            0 => Reencryption::OneByOne,
            n => Reencryption::Lanes(n),
        }
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

    /// Runs a batch of due revocations (a member's leaves, a clinic's rotations, grants
    /// revoked together), their records [`REENCRYPT_LANES`] at a time. Answers the
    /// revocations that failed, in the order they were asked, for the pass to keep with
    /// their rows (one whose node was down stops the pass: after it, no record starts,
    /// and what did not start waits for the next pass).
    #[tracing::instrument(name = "run_revocations", skip_all, fields(grants = batch.len()))]
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn run_revocations(
        &self,
        store: &RecordStore,
        owner: &Owner,
        ipfs: &Url,
        ledger: &LedgerTarget,
        conn: &Connected,
        batch: Vec<GrantRow>,
        tally: Option<&Tally>,
    ) -> Vec<(GrantRow, Failure)> {
        let how = self.reencryption();
        let stop = AtomicBool::new(false);
        let lane = |grants: Vec<GrantRow>| {
            let stop = &stop;
            async move {
                self.revoke_record(store, owner, ipfs, ledger, conn, grants, how, stop, tally)
                    .await
            }
        };
        let lanes = match how {
            Reencryption::OneByOne => 1,
            Reencryption::Lanes(n) => n,
        };
        let mut failures = Vec::new();
        let mut records = by_record(batch).into_iter().peekable();
        while records.peek().is_some() && !stop.load(Ordering::Relaxed) {
            let chunk: Vec<Vec<GrantRow>> = records.by_ref().take(RECORDS_PER_COLLECTION).collect();
            let done: Vec<Lane> = stream::iter(chunk)
                .map(lane)
                .buffer_unordered(lanes)
                .collect()
                .await;
            let mut revoked = Vec::new();
            for lane in done {
                failures.extend(lane.failures);
                revoked.extend(lane.revoked);
            }
            // Nothing to collect when none got this far (or, one by one, each collected
            // its own).
            if revoked.is_empty() {
                continue;
            }
            let sets: Vec<Vec<String>> = revoked.iter().map(|r| r.older.clone()).collect();
            if let Some(tally) = tally {
                tally.removing_old(true);
            }
            let gone = collect_and_check(ipfs, &sets).await;
            if let Some(tally) = tally {
                tally.removing_old(false);
            }
            let contract = conn.contract.to_string();
            for (revoked, gone) in revoked.into_iter().zip(gone) {
                let grant = revoked.grant.clone();
                if let Err(f) = self
                    .finish_revoke(store, owner, &contract, revoked, gone)
                    .await
                {
                    if let Some(tally) = tally {
                        tally.failed(self.item_problem(store, owner, &grant, &f).await);
                    }
                    failures.push((grant, f));
                }
            }
        }
        // In the order they were asked, as one by one: the pass answers the first.
        failures.sort_by_key(|(g, _)| g.id);
        failures
    }

    /// One record's revocations, in order; counted in the progress once they ran.
    #[allow(clippy::too_many_arguments)]
    async fn revoke_record(
        &self,
        store: &RecordStore,
        owner: &Owner,
        ipfs: &Url,
        ledger: &LedgerTarget,
        conn: &Connected,
        grants: Vec<GrantRow>,
        how: Reencryption,
        stop: &AtomicBool,
        tally: Option<&Tally>,
    ) -> Lane {
        let mut lane = Lane::default();
        let mut problem = None;
        for grant in grants {
            // A node is down: what has not started waits for the next pass.
            if stop.load(Ordering::Relaxed) {
                return lane;
            }
            let outcome = match how {
                Reencryption::OneByOne => self
                    .send_revoke(store, owner, ipfs, ledger, conn, &grant)
                    .await
                    .map(|()| None),
                Reencryption::Lanes(_) => self
                    .revoke_steps(store, owner, ipfs, ledger, conn, &grant)
                    .await
                    .map(Some),
            };
            match outcome {
                Ok(revoked) => lane.revoked.extend(revoked),
                Err(f) => {
                    if f.node_down {
                        stop.store(true, Ordering::Relaxed);
                    }
                    if problem.is_none() {
                        problem = Some(self.item_problem(store, owner, &grant, &f).await);
                    }
                    lane.failures.push((grant, f));
                }
            }
        }
        if let Some(tally) = tally {
            tally.record_done(problem);
        }
        lane
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

/// The due revocations grouped by record, each group in the order it was asked, the
/// groups in the order of their first.
fn by_record(batch: Vec<GrantRow>) -> Vec<Vec<GrantRow>> {
    let mut at: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
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
pub(crate) fn records_in(grants: &[GrantRow]) -> usize {
    let mut ids: Vec<&str> = grants.iter().map(|g| g.record_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    ids.len()
}

/// What one record's lane did.
#[derive(Default)]
struct Lane {
    revoked: Vec<Revoked>,
    failures: Vec<(GrantRow, Failure)>,
}

/// A run's progress as it goes: published on each step, and marked ended when dropped
/// (also when the command that ran it is cancelled).
pub(crate) struct Tally {
    cell: Arc<watch::Sender<SharingProgress>>,
}

impl Tally {
    fn start(cell: Arc<watch::Sender<SharingProgress>>, work: SharingWork, total: usize) -> Self {
        cell.send_replace(SharingProgress {
            running: true,
            work,
            done: 0,
            total: u32::try_from(total).unwrap_or(u32::MAX),
            removing_old: false,
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

    /// Whether the replaced versions are being removed from this computer's node (after
    /// the records are re-encrypted, before their reports are written).
    fn removing_old(&self, now: bool) {
        self.cell.send_modify(|p| p.removing_old = now);
    }

    /// An item already counted failed at its last step.
    fn failed(&self, problem: SharingItemProblem) {
        self.cell.send_modify(|p| p.failed.push(problem));
    }
}

impl Drop for Tally {
    fn drop(&mut self) {
        self.cell.send_modify(|p| {
            p.running = false;
            p.removing_old = false;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(id: i64, record: &str) -> GrantRow {
        GrantRow {
            id,
            leave: true,
            rotate: false,
            record_id: record.to_owned(),
            grantee: "0x0000000000000000000000000000000000000001".to_owned(),
            clause: Some("careteam".to_owned()),
            expires_at: None,
            phase: crate::store::grants::GrantPhase::Revoking,
            requested_at: String::new(),
            grant_tx: None,
            revoke_version: None,
            revoke_tx: None,
            exposure: None,
            attempts: 0,
            problem: None,
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
            records_in(&[grant(1, "a"), grant(2, "b"), grant(3, "a")]),
            2
        );
    }

    #[test]
    fn a_tally_counts_up_to_its_total_and_ends_when_dropped() {
        let cell = Arc::new(watch::channel(SharingProgress::default()).0);
        let seen = cell.subscribe();
        let tally = Tally::start(cell.clone(), SharingWork::Reencrypting, 2);
        assert_eq!((seen.borrow().running, seen.borrow().total), (true, 2));
        tally.record_done(None);
        tally.record_done(Some(SharingItemProblem {
            name: "Blood panel".into(),
            reason: "why".into(),
        }));
        tally.record_done(None);
        drop(tally);
        let last = seen.borrow().clone();
        assert_eq!((last.running, last.done, last.failed.len()), (false, 2, 1));
    }
}
