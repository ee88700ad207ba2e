//! The background pass: what runs without anyone asking.
//!
//! - every 5 s, **auto-lock**: an idle session's secrets are wiped on time, even when no
//!   command calls in;
//! - every 10 s, **a rebuild** asked for and not running starts (after a restore whose
//!   ledger node did not answer, after a restart midway), then
//! - every 10 s, **the outbox and sharing**: uploads kept on this device go out when the
//!   IPFS node answers (they need no key: everything in them is encrypted, so they run
//!   while locked too); ledger registrations, grants, revocations, expiries, adoptions of
//!   records a clinic made and re-keying run while a wallet is unlocked. Asking for its
//!   keys here is not activity, so an idle wallet still auto-locks. The node is kept
//!   connected to its configured peers, and every record's latest version is pinned
//!   on the replica nodes (a replica that is down is tried again with backoff);
//! - in the same pass, a patient's **emergency watch**: the wallet's new `EmergencyAccess`
//!   events are recorded once ([`crate::audit::alerts`]), and those found for the first
//!   time go to the shell's [`Notifier`] (an OS notification); the window's red banner
//!   lists every opening not marked seen.
//!
//! A **quiet** wallet (nothing queued, no grant expiring soon, its keys published, no
//! check-in code waiting: [`crate::records::RecordService::ledger_work_due`]) makes no
//! ledger connection in its pass once a full pass found nothing to do; at most once every
//! [`HEAD_CHECK_EVERY`] it asks the chain's head, and a head that moved (another number or
//! hash: a reorganisation to the same height moved it too; something may
//! have happened: a clinic's new epoch, an emergency opening, a record made for the
//! patient) brings the next full pass, which reads only the blocks since its last read.
//!
//! The shell starts [`run`] once with its notifier; tests call [`pass`] to run one full
//! pass now (it answers what the notifier would be given), or [`paced_pass`] with their
//! own [`Pacer`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use medwallet_ledger::{LedgerNode, B256};

use crate::app::App;
use crate::audit::alerts::{self, Notification, RaisedAlert};
use crate::audit::AuditService;
use crate::records::RecordService;
use crate::session::Owner;

/// Where the pass's alerts go. The shell shows them as OS notifications; core stays
/// tauri-free.
pub trait Notifier: Send + Sync {
    /// Shows `notification` (best effort: a failure is the notifier's to log).
    fn notify(&self, notification: &Notification);
}

/// What one pass found that the user is told of at once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Passed {
    /// Emergency openings of the patient's records found for the first time (to notify).
    pub emergencies: Vec<RaisedAlert>,
}

/// Gives the notifier what `passed` found, if anything.
pub fn notify(passed: &Passed, notifier: &dyn Notifier) {
    if let Some(notification) = alerts::notification(&passed.emergencies) {
        notifier.notify(&notification);
    }
}

/// How often the idle timer is checked.
pub const AUTO_LOCK_EVERY: Duration = Duration::from_secs(5);
/// How often the outbox and sharing pass runs.
pub const PASS_EVERY: Duration = Duration::from_secs(10);
/// How often a quiet wallet's pass asks the ledger for its head.
pub const HEAD_CHECK_EVERY: Duration = Duration::from_secs(60);

/// What the passes remember between them: for each quiet wallet (on one ledger node and
/// contract), the chain's head when its last full pass began, and when that head was last
/// checked.
#[derive(Debug)]
pub struct Pacer {
    quiet: HashMap<String, Quiet>,
    head_check_every: Duration,
}

impl Default for Pacer {
    fn default() -> Self {
        Self::checking_head_every(HEAD_CHECK_EVERY)
    }
}

#[derive(Debug, Clone, Copy)]
struct Quiet {
    /// The head (number and hash) when its last full pass began: a reorganisation to the
    /// same height is a move too.
    head: (u64, B256),
    checked: Instant,
    /// How far the chain's clock was ahead of this device's (seconds; expiries are the
    /// chain's).
    chain_ahead: i64,
    /// The records service's count of sharing commands then: a command since (a share,
    /// a new staff key, a group change) may have left work its own pass could not do.
    generation: u64,
}

/// What one paced pass did with the unlocked wallet's ledger work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paced {
    /// No wallet unlocked, or no contract set: nothing to pace.
    Idle,
    /// Quiet, and the ledger was not asked anything.
    Quiet,
    /// Quiet, and the ledger was asked only for its head (which had not moved).
    HeadChecked,
    /// The full pass ran (something was due, the head moved, or it had never run).
    Full,
}

impl Pacer {
    /// A pacer whose quiet wallets ask for the head every `every` (the app uses
    /// [`HEAD_CHECK_EVERY`]; a test may not wait a minute).
    pub fn checking_head_every(every: Duration) -> Self {
        Self {
            quiet: HashMap::new(),
            head_check_every: every,
        }
    }

    fn key(owner: &Owner, ledger: &crate::LedgerTarget) -> String {
        format!(
            "{}|{}|{:?}",
            owner.wallet_id,
            ledger.url,
            ledger.contract.map(|c| c.to_string())
        )
    }
}

/// Runs the auto-lock timer and the pass until the runtime stops; what a pass finds goes to
/// `notifier`.
pub async fn run(app: Arc<App>, notifier: Arc<dyn Notifier>) {
    let lock_app = app.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(AUTO_LOCK_EVERY);
        loop {
            every.tick().await;
            let mut wallets = lock_app.wallets.lock().await;
            wallets.tick();
            // A rebuild holds copies of the keys: it stops when the wallet locks; and the
            // records list decrypted for the Records page goes.
            if wallets.current_wallet_id().is_some() && !wallets.is_unlocked() {
                lock_app.rebuild.interrupt_all();
                // The wallets still held: an unlock right after is not undone.
                lock_app.records.forget_lists().await;
                drop(wallets);
            }
        }
    });
    let mut every = tokio::time::interval(PASS_EVERY);
    // A pass that takes longer than the period is not followed by a burst of catch-ups.
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut pacer = Pacer::default();
    loop {
        every.tick().await;
        let (passed, _) = paced_pass(&app, &mut pacer).await;
        notify(&passed, notifier.as_ref());
        app.resume_rebuild().await;
    }
}

/// One full pass now: every wallet's outbox, then the unlocked wallet's sharing work and,
/// for a patient, its emergency watch.
pub async fn pass(app: &App) -> Passed {
    paced_pass(app, &mut Pacer::default()).await.0
}

/// One pass, its ledger work paced by `pacer`: see the module's words on quiet wallets.
#[tracing::instrument(skip_all)]
pub async fn paced_pass(app: &App, pacer: &mut Pacer) -> (Passed, Paced) {
    let mut passed = Passed::default();
    let mut paced = Paced::Idle;
    let settings = app.settings().await;
    let owner = app.wallets.lock().await.record_owner_if_unlocked();
    let ipfs = match url::Url::parse(&settings.ipfs_url) {
        Ok(url) => url,
        Err(e) => {
            tracing::debug!(error = %e, "no pass: the IPFS node URL is not valid");
            return (passed, paced);
        }
    };
    let ledger = match crate::LedgerTarget::from_settings(&settings) {
        Ok(ledger) => ledger,
        Err(e) => {
            tracing::debug!(error = e.kind(), "no pass: the ledger URL is not valid");
            return (passed, paced);
        }
    };
    // Peers first: a node that restarted has forgotten them, and the blocks a replica
    // or a doctor's node asks for move over those connections.
    crate::ipfs::keep_peers(&ipfs, &settings.ipfs_peers).await;
    app.records.sync_all(&ipfs, owner.as_ref(), &ledger).await;
    // The keys are copied only for the sharing work and dropped right after it, and
    // the sharing work (expiries, revocations) never waits behind a slow replica.
    drop(owner);
    // Read in its own statement: a guard in the `if let` would hold the wallet service
    // through the whole sharing work (which waits for a running removal), and every
    // wallet command, the window's polled session state and the auto-lock with it.
    let owner = app.wallets.lock().await.record_owner_if_unlocked();
    if let Some(owner) = owner {
        let witnesses = alerts::witness_urls(&settings);
        let (found, how) = wallet_pass(
            &app.records,
            &app.audit,
            pacer,
            &owner,
            &ipfs,
            &ledger,
            &witnesses,
        )
        .await;
        passed.emergencies = found;
        paced = how;
    }
    // Last, within its time budget: replicas need no key.
    app.records
        .replicate_all(&ipfs, &crate::ipfs::replica_urls(&settings))
        .await;
    (passed, paced)
}

/// The unlocked wallet's part of a pass, paced: its sharing work and, for a patient, its
/// emergency watch (answering the openings found for the first time), when something is
/// due or the chain moved; nothing, or only a head check, when it is quiet.
pub async fn wallet_pass(
    records: &RecordService,
    audit: &AuditService,
    pacer: &mut Pacer,
    owner: &Owner,
    ipfs: &url::Url,
    ledger: &crate::LedgerTarget,
    witnesses: &[url::Url],
) -> (Vec<RaisedAlert>, Paced) {
    let key = Pacer::key(owner, ledger);
    let head = match pace(records, pacer, &key, owner, ledger).await {
        Pace::Quiet(how) => {
            tracing::debug!(?how, "a quiet pass: no ledger work");
            return (Vec::new(), how);
        }
        Pace::Run(head) => head,
    };
    // Read before the pass: a command while it runs brings the next one.
    let generation = records.sharing_generation();
    let mut found = Vec::new();
    let mut clean = true;
    // A failure is kept with its grant or record and shown where it belongs (the Shared
    // page, the status bar); the next pass tries again.
    // (Its words may name a person or a file, so they are not logged.)
    if records
        .sync_sharing(owner, ipfs, ledger, false)
        .await
        .is_some()
    {
        clean = false;
        tracing::info!("sharing pass: some work waits for the next pass");
    }
    // Emergency openings of the patient's records: read only (it sends nothing), so it
    // runs during a rebuild too.
    if owner.role == medwallet_vault::Role::Patient {
        match audit
            .watch_emergencies(records, owner, ledger, witnesses)
            .await
        {
            Ok(raised) => found = raised,
            Err(e) => {
                clean = false;
                tracing::warn!(error = e.kind(), "the emergency watch failed");
            }
        }
    }
    // Quiet from now on if nothing failed and nothing is left due; what happens on the
    // chain after `head` is read by the next full pass.
    let chain_ahead =
        crate::ledger::chain_time(&LedgerNode::new(&ledger.url)).await - crate::ledger::now_unix();
    let due = records.ledger_work_due(owner, ledger, chain_ahead).await;
    match (clean, due, head) {
        (true, Ok(false), Some(head)) => {
            pacer.quiet.insert(
                key,
                Quiet {
                    head,
                    checked: Instant::now(),
                    chain_ahead,
                    generation,
                },
            );
        }
        _ => {
            pacer.quiet.remove(&key);
        }
    }
    (found, Paced::Full)
}

/// Whether the unlocked wallet's ledger work runs in this pass.
enum Pace {
    /// It does not ([`Paced::Quiet`] or [`Paced::HeadChecked`]).
    Quiet(Paced),
    /// It runs; the chain's head read before it, if the node answered.
    Run(Option<(u64, B256)>),
}

async fn pace(
    records: &RecordService,
    pacer: &mut Pacer,
    key: &str,
    owner: &Owner,
    ledger: &crate::LedgerTarget,
) -> Pace {
    let head = || async {
        match LedgerNode::new(&ledger.url).head().await {
            Ok(head) => Some((head.number, head.hash)),
            Err(e) => {
                tracing::debug!(error = e.kind(), "the ledger's head is unknown");
                None
            }
        }
    };
    let chain_ahead = pacer.quiet.get(key).map_or(0, |q| q.chain_ahead);
    match records.ledger_work_due(owner, ledger, chain_ahead).await {
        Ok(false) => {}
        Ok(true) => {
            pacer.quiet.remove(key);
            return Pace::Run(head().await);
        }
        Err(e) => {
            tracing::debug!(error = e.kind(), "whether ledger work is due is unknown");
            pacer.quiet.remove(key);
            return Pace::Run(head().await);
        }
    }
    let pacer_every = pacer.head_check_every;
    let Some(quiet) = pacer.quiet.get_mut(key) else {
        return Pace::Run(head().await);
    };
    if quiet.generation != records.sharing_generation() {
        pacer.quiet.remove(key);
        return Pace::Run(head().await);
    }
    if quiet.checked.elapsed() < pacer_every {
        return Pace::Quiet(Paced::Quiet);
    }
    match head().await {
        Some(h) if h == quiet.head => {
            quiet.checked = Instant::now();
            Pace::Quiet(Paced::HeadChecked)
        }
        other => {
            pacer.quiet.remove(key);
            Pace::Run(other)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// Keeps what it was asked to show, as the shell's OS notifier would show it.
    #[derive(Default)]
    struct Recording(Mutex<Vec<Notification>>);

    impl Notifier for Recording {
        fn notify(&self, notification: &Notification) {
            self.0.lock().unwrap().push(notification.clone());
        }
    }

    #[test]
    fn the_notifier_hears_of_new_emergency_openings_only() {
        let notifier = Recording::default();
        notify(&Passed::default(), &notifier);
        assert!(
            notifier.0.lock().unwrap().is_empty(),
            "nothing found, nothing shown"
        );
        let passed = Passed {
            emergencies: vec![RaisedAlert {
                record_id: format!("0x{}", "12".repeat(32)),
                accessor: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8".to_owned(),
                clinic: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC".to_owned(),
            }],
        };
        notify(&passed, &notifier);
        assert_eq!(
            *notifier.0.lock().unwrap(),
            vec![Notification {
                title: "Emergency access to your records".to_owned(),
                body: "A clinic's emergency staff opened a record (0x3C44…93BC)".to_owned(),
            }]
        );
    }
}
