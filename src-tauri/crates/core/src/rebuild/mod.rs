//! Rebuilding a wallet from the ledger and IPFS: what makes the 24 words plus the network
//! the whole wallet. It runs as the last step of a restore from the Emergency Kit, and
//! again on demand ("Rebuild from the ledger" in Settings).
//!
//! 1. **The ledger** ([`plan`]): the wallet's own events, read by indexed topics (its
//!    address as actor, owner or subject, `EventFilter::Wallet`) into the audit trail's
//!    checked cache, in steps of [`STEP_BLOCKS`] blocks that each commit, so the read
//!    reports progress, stops after any step when cancelled, and resumes there. Other
//!    wallets' events are never read.
//! 2. **The records** ([`records`]): each version the wallet registered (or a clinic
//!    registered for it) is fetched from IPFS, its capsule unwrapped with the owner's
//!    `id:` key (derived from the seed), its manifest opened, its objects pinned; what
//!    does not come back is listed as not found with its CIDs, never dropped.
//! 3. **Sharing** ([`sharing`]): the authority's epoch (the newest parameters on the
//!    ledger, matched against those derived from the seed), the keys it issued (read back
//!    from each envelope's issuer note), groups and staff, and every grant with its
//!    clause and expiry.
//!
//! A rebuild only reads: nothing is sent to the ledger, and while one is asked for and
//! not finished the sharing pass sends nothing either (it would publish a clinic's first
//! epoch again). Every write into the store is idempotent and leaves what the device
//! already holds as it is, so an interrupted or cancelled rebuild runs again with no
//! duplicate, and a rebuild on an intact device adds only what is missing.

pub(crate) mod plan;
mod records;
mod sharing;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use medwallet_api::{RebuildStage, RebuildState, RebuildStatus, UnrecoveredRecord};
use medwallet_ledger::{Address, EventFilter, EventKind, LedgerNode};
use medwallet_records::IpfsNode;
use url::Url;

use crate::audit::AuditService;
use crate::error::{Answer, AuditError, CoreError, RebuildError};
use crate::ledger::directory::Reads;
use crate::ledger::{now_unix, LedgerTarget};
use crate::records::{lock, RecordService};
use crate::session::Owner;
use crate::store::rebuild::{RebuildMark, RebuildRow};
use crate::store::RecordStore;
use crate::words::rfc3339;
use plan::Plan;

/// Blocks read per step of the ledger read (ten `eth_getLogs` pages).
pub const STEP_BLOCKS: u64 = 20_000;

/// The running rebuilds, by wallet id.
#[derive(Default)]
pub struct RebuildService {
    jobs: Mutex<HashMap<String, Arc<Job>>>,
}

/// One running rebuild: its progress and whether it was asked to stop.
#[derive(Default)]
pub(crate) struct Job {
    status: Mutex<RebuildStatus>,
    stop: AtomicU8,
}

/// [`Job::stop`]: running on.
const RUN: u8 = 0;
/// Cancelled by the user: it stays cancelled until asked again.
const CANCELLED: u8 = 1;
/// The wallet locked: it resumes at the next unlock.
const INTERRUPTED: u8 = 2;

impl Job {
    fn update(&self, f: impl FnOnce(&mut RebuildStatus)) {
        f(&mut lock(&self.status));
    }

    fn snapshot(&self) -> RebuildStatus {
        lock(&self.status).clone()
    }

    fn cancelled(&self) -> bool {
        self.stop.load(Ordering::Relaxed) != RUN
    }
}

/// A running rebuild, listed in the service's jobs until this is dropped: at the end of
/// its run, or when the run's future is dropped (the command cancelled), so a rebuild
/// that no longer runs is never shown running, nor keeps the next one from starting (it
/// resumes from the last step its row saved).
struct Listed<'a> {
    jobs: &'a Mutex<HashMap<String, Arc<Job>>>,
    wallet_id: &'a str,
}

impl Drop for Listed<'_> {
    fn drop(&mut self) {
        lock(self.jobs).remove(self.wallet_id);
    }
}

/// How a run ended, short of an error.
enum Ended {
    Finished,
    Cancelled,
}

impl RebuildService {
    /// No rebuild running.
    pub fn new() -> Self {
        Self::default()
    }

    fn job(&self, wallet_id: &str) -> Option<Arc<Job>> {
        lock(&self.jobs).get(wallet_id).cloned()
    }

    /// Whether a rebuild of the wallet runs now.
    pub fn is_running(&self, wallet_id: &str) -> bool {
        self.job(wallet_id).is_some()
    }

    /// The wallet's rebuild: the running one's progress, else where the last one ended.
    pub async fn status(&self, records: &RecordService, owner: &Owner) -> Answer<RebuildStatus> {
        if let Some(job) = self.job(&owner.wallet_id) {
            return Ok(job.snapshot());
        }
        let store = records.store(&owner.wallet_id).await?;
        Ok(status_of(store.rebuild().await?.as_ref()))
    }

    /// Asks for a rebuild of the wallet (it resumes where a cancelled or interrupted one
    /// stopped: what was read is kept). Nothing happens while one runs.
    pub async fn ask(&self, records: &RecordService, wallet_id: &str) -> Answer<()> {
        self.ask_on(records, wallet_id, None).await
    }

    /// [`ask`](Self::ask), for the ledger chain `chain_id` when it is known (a restore
    /// from a kit that names it): a ledger node on another chain is then named with both
    /// ids, not read.
    pub async fn ask_on(
        &self,
        records: &RecordService,
        wallet_id: &str,
        chain_id: Option<u64>,
    ) -> Answer<()> {
        if let Some(job) = self.job(wallet_id) {
            // Still finishing the step it was cancelled in: it runs on instead.
            let _ = job
                .stop
                .compare_exchange(CANCELLED, RUN, Ordering::Relaxed, Ordering::Relaxed);
            return Ok(());
        }
        records
            .store(wallet_id)
            .await?
            .ask_rebuild(chain_id)
            .await?;
        Ok(())
    }

    /// Whether the wallet's rebuild is asked for and not running (the background pass
    /// starts it: after a restore, when the ledger comes back, after a restart). A
    /// restored wallet whose ledger settings now name another contract than the one its
    /// rebuild read is asked for again: it knows nothing yet of what it has there.
    pub async fn wanted(
        &self,
        records: &RecordService,
        wallet_id: &str,
        contract: Option<Address>,
    ) -> Answer<bool> {
        if self.is_running(wallet_id) {
            return Ok(false);
        }
        let store = records.store(wallet_id).await?;
        let Some(row) = store.rebuild().await? else {
            return Ok(false);
        };
        let moved = contract.is_some_and(|c| row.contract.as_deref() != Some(&c.to_string()));
        Ok(match row.mark {
            RebuildMark::Needed => true,
            RebuildMark::Done if moved => {
                store.ask_rebuild(None).await?;
                true
            }
            RebuildMark::Done | RebuildMark::Cancelled => false,
        })
    }

    /// Cancels the wallet's running rebuild; it stops after the step it is in.
    pub fn cancel(&self, wallet_id: &str) {
        if let Some(job) = self.job(wallet_id) {
            job.stop.store(CANCELLED, Ordering::Relaxed);
        }
    }

    /// Stops every running rebuild because the wallet locked (its keys are wiped): each
    /// stays asked for and resumes at the next unlock.
    pub fn interrupt_all(&self) {
        for job in lock(&self.jobs).values() {
            let _ =
                job.stop
                    .compare_exchange(RUN, INTERRUPTED, Ordering::Relaxed, Ordering::Relaxed);
        }
    }

    /// Runs the wallet's rebuild to its end if one is asked for and none runs (else
    /// answers the status as it is): reads the ledger, brings the records back, rebuilds
    /// the sharing. A node that does not answer leaves it asked for, with the reason.
    #[tracing::instrument(skip_all, fields(wallet = %owner.wallet_id))]
    pub async fn run(
        &self,
        records: &RecordService,
        audit: &AuditService,
        owner: &Owner,
        ipfs: &Url,
        ledger: &LedgerTarget,
    ) -> Answer<RebuildStatus> {
        let store = records.store(&owner.wallet_id).await?;
        let Some(mut row) = store.rebuild().await? else {
            return Ok(RebuildStatus::default());
        };
        if row.mark != RebuildMark::Needed {
            return Ok(status_of(Some(&row)));
        }
        let job = {
            let mut jobs = lock(&self.jobs);
            if let Some(job) = jobs.get(&owner.wallet_id) {
                return Ok(job.snapshot());
            }
            let job = Arc::new(Job::default());
            // Counted again from nothing: what an earlier run brought back is counted
            // as it is found on the device.
            job.update(|s| {
                *s = RebuildStatus {
                    state: RebuildState::Running,
                    head: row.head,
                    block: row.block,
                    ..RebuildStatus::default()
                }
            });
            jobs.insert(owner.wallet_id.clone(), job.clone());
            job
        };
        // Taken only once the lock is released (its drop locks the jobs).
        let running = Listed {
            jobs: &self.jobs,
            wallet_id: &owner.wallet_id,
        };
        let started = std::time::Instant::now();
        let result = run_job(&job, &store, &mut row, audit, owner, ipfs, ledger)
            .await
            .map_err(|e| e.disk_full_in(store.dir(), None));
        let status = job.snapshot();
        row.block = status.block;
        row.head = status.head;
        row.records_found = status.records_found;
        row.records_opened = status.records_opened;
        row.not_found = status.not_found;
        row.grants_found = status.grants_found;
        let mut full = None;
        match result {
            Ok(Ended::Finished) => {
                row.mark = RebuildMark::Done;
                row.finished_at = Some(rfc3339(now_unix()));
                tracing::info!(
                    records = row.records_found,
                    opened = row.records_opened,
                    not_found = row.not_found,
                    grants = row.grants_found,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "wallet rebuilt from the ledger"
                );
            }
            Ok(Ended::Cancelled) if job.stop.load(Ordering::Relaxed) == INTERRUPTED => {
                row.problem = None;
                tracing::info!(
                    block = row.block,
                    "rebuild interrupted by a lock; it resumes at the next unlock"
                );
            }
            Ok(Ended::Cancelled) => {
                row.mark = RebuildMark::Cancelled;
                row.problem = None;
                tracing::info!(block = row.block, "rebuild cancelled");
            }
            Err(e) => {
                // Asked for still: it runs again when the node answers, or the disk has
                // room (every write of a rebuild is idempotent: nothing is doubled).
                tracing::info!(error = e.kind(), "the rebuild waits");
                row.problem = Some(crate::words::reason(&e));
                if matches!(e.cause(), CoreError::DiskFull { .. }) {
                    full = Some(e);
                }
            }
        }
        let saved = store.save_rebuild(&row).await;
        // Released only once its row is saved, so the next run starts from it.
        drop(running);
        // A full disk is the user's to free, not a node's to come back: answered as the
        // failure it is (the row keeps its words for the window too, when it could).
        if let Some(e) = full {
            return Err(e);
        }
        saved.map_err(|e| CoreError::from(e).disk_full_in(store.dir(), None))?;
        Ok(status_of(Some(&row)))
    }

    /// The record versions registered on the ledger that this device could not bring back.
    pub async fn unrecovered(
        &self,
        records: &RecordService,
        owner: &Owner,
    ) -> Answer<Vec<UnrecoveredRecord>> {
        let store = records.store(&owner.wallet_id).await?;
        Ok(store
            .unrecovered()
            .await?
            .into_iter()
            .map(|u| UnrecoveredRecord {
                id: u.record_id,
                version: u.version,
                manifest_cid: u.manifest_cid,
                capsule_cid: u.capsule_cid,
                registered_at: u.registered_at,
                tx_hash: u.ledger_tx,
                block_number: u.ledger_block,
                uploaded_by: u.uploaded_by,
                reason: u.reason,
            })
            .collect())
    }
}

async fn run_job(
    job: &Job,
    store: &RecordStore,
    row: &mut RebuildRow,
    audit: &AuditService,
    owner: &Owner,
    ipfs: &Url,
    ledger: &LedgerTarget,
) -> Answer<Ended> {
    let contract = ledger.contract.ok_or(CoreError::NoContract)?;
    let me: Address = owner
        .address
        .parse()
        .map_err(|e| CoreError::internal("the wallet's address", e))?;
    let node = LedgerNode::new(&ledger.url);

    // The chain: the one an earlier rebuild (or this wallet's trail) read, if any.
    let status = node.status().await?;
    let used = row.chain_id.or(audit.remembered_chain(&owner.wallet_id));
    if let Some(used) = used.filter(|u| *u != status.chain_id) {
        return Err(RebuildError::OtherChain {
            url: ledger.url.to_string(),
            used,
            found: status.chain_id,
        }
        .into());
    }
    let expected = ledger.chain_id.unwrap_or(status.chain_id);
    node.check_chain(expected, contract).await?;
    row.chain_id = Some(status.chain_id);
    row.contract = Some(contract.to_string());
    audit.remember_chain_once(&owner.wallet_id, status.chain_id);

    // 1. The ledger, by the wallet's topics, in committed steps.
    let cache = audit.cache(&owner.wallet_id).await?;
    let filter = EventFilter::Wallet(me);
    let registered = [
        EventKind::RecordRegistered,
        EventKind::RecordUpdated,
        EventKind::RecordUploaded,
    ];
    loop {
        if job.cancelled() {
            return Ok(Ended::Cancelled);
        }
        let report = cache
            .sync_step(&node, contract, &filter, STEP_BLOCKS)
            .await?;
        // Counted again only when the step read something (or for the first figure).
        let found = if report.new_events > 0 || job.snapshot().records_found == 0 {
            let records = cache
                .query_wallet(contract, me, &registered)
                .await
                .map_err(|e| AuditError::CacheUnreadable(Box::new(e)))?
                .iter()
                .filter(|(_, e)| e.owner() == Some(me))
                .filter_map(|(_, e)| e.record_id())
                .collect::<std::collections::BTreeSet<_>>()
                .len();
            Some(u32::try_from(records).unwrap_or(u32::MAX))
        } else {
            None
        };
        job.update(|s| {
            s.stage = RebuildStage::ReadingLedger;
            s.block = report.to_block;
            s.head = report.head;
            if let Some(found) = found {
                s.records_found = found;
            }
        });
        if report.to_block >= report.head {
            break;
        }
    }
    let events = cache
        .query_wallet(contract, me, &[])
        .await
        .map_err(|e| AuditError::CacheUnreadable(Box::new(e)))?;
    if events.is_empty() {
        // Finished, with nothing to bring back: a wallet that never went online, or a
        // ledger that is not the one it used (then the words say what to do).
        row.problem = Some(crate::words::reason(
            &RebuildError::NothingOnLedger {
                chain_id: status.chain_id,
            }
            .into(),
        ));
        return Ok(Ended::Finished);
    }
    let plan = Plan::of(&events, me);

    // 2. The records. A node that does not answer is waited for (not every record
    // reported as missing).
    let ipfs = IpfsNode::new(ipfs)?;
    ipfs.info().await?;
    job.update(|s| s.stage = RebuildStage::OpeningRecords);
    let reads = Reads::new(node.clone(), contract, cache.clone());
    let authors = records::Authors::new(&reads);
    let capsules = match records::bring_back(job, store, owner, &ipfs, &plan, &authors).await? {
        Some(capsules) => capsules,
        None => return Ok(Ended::Cancelled),
    };
    if job.cancelled() {
        return Ok(Ended::Cancelled);
    }

    // 3. Sharing: the authority's epoch, keys, groups, staff, grants.
    job.update(|s| s.stage = RebuildStage::Sharing);
    let Some(grants) = sharing::rebuild(job, store, owner, &ipfs, &reads, &plan, &capsules).await?
    else {
        return Ok(Ended::Cancelled);
    };
    job.update(|s| s.grants_found = grants.restored);
    row.problem = grants.problem.as_ref().map(crate::words::reason);
    Ok(Ended::Finished)
}

/// What the window shows of a rebuild that is not running.
fn status_of(row: Option<&RebuildRow>) -> RebuildStatus {
    let Some(row) = row else {
        return RebuildStatus::default();
    };
    RebuildStatus {
        state: match row.mark {
            RebuildMark::Needed => RebuildState::Waiting,
            RebuildMark::Cancelled => RebuildState::Cancelled,
            RebuildMark::Done => RebuildState::Done,
        },
        stage: RebuildStage::ReadingLedger,
        block: row.block,
        head: row.head,
        records_found: row.records_found,
        records_opened: row.records_opened,
        not_found: row.not_found,
        grants_found: row.grants_found,
        problem: row.problem.clone(),
        finished_at: row.finished_at.clone(),
    }
}

/// A CID from the ledger as text (its bytes in hex when they are not a CID).
fn cid_text(bytes: &[u8]) -> String {
    crate::ipfs::ledger_cid(bytes)
        .map(|c| c.to_string())
        .unwrap_or_else(|_| format!("0x{}", hex::encode(bytes)))
}
