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
//!   on the replica nodes (a replica that is down is tried again with backoff).
//!
//! The shell starts [`run`] once; tests call [`pass`] to run one pass now.

use std::sync::Arc;
use std::time::Duration;

use crate::app::App;

/// How often the idle timer is checked.
pub const AUTO_LOCK_EVERY: Duration = Duration::from_secs(5);
/// How often the outbox and sharing pass runs.
pub const PASS_EVERY: Duration = Duration::from_secs(10);

/// Runs the auto-lock timer and the pass until the runtime stops.
pub async fn run(app: Arc<App>) {
    let lock_app = app.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(AUTO_LOCK_EVERY);
        loop {
            every.tick().await;
            let mut wallets = lock_app.wallets.lock().await;
            wallets.tick();
            // A rebuild holds copies of the keys: it stops when the wallet locks.
            if wallets.current_wallet_id().is_some() && !wallets.is_unlocked() {
                lock_app.rebuild.interrupt_all();
            }
        }
    });
    let mut every = tokio::time::interval(PASS_EVERY);
    // A pass that takes longer than the period is not followed by a burst of catch-ups.
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        pass(&app).await;
        app.resume_rebuild().await;
    }
}

/// One pass: every wallet's outbox, then the unlocked wallet's sharing work.
#[tracing::instrument(skip_all)]
pub async fn pass(app: &App) {
    let settings = app.settings().await;
    let owner = app.wallets.lock().await.record_owner_if_unlocked();
    let ipfs = match url::Url::parse(&settings.ipfs_url) {
        Ok(url) => url,
        Err(e) => {
            tracing::debug!(error = %e, "no pass: the IPFS node URL is not valid");
            return;
        }
    };
    let ledger = match crate::LedgerTarget::from_settings(&settings) {
        Ok(ledger) => ledger,
        Err(e) => {
            tracing::debug!(error = e.kind(), "no pass: the ledger URL is not valid");
            return;
        }
    };
    // Peers first: a node that restarted has forgotten them, and the blocks a replica
    // or a doctor's node asks for move over those connections.
    crate::ipfs::keep_peers(&ipfs, &settings.ipfs_peers).await;
    app.records.sync_all(&ipfs, owner.as_ref(), &ledger).await;
    // The keys are copied only for the sharing work and dropped right after it, and
    // the sharing work (expiries, revocations) never waits behind a slow replica.
    drop(owner);
    if let Some(owner) = app.wallets.lock().await.record_owner_if_unlocked() {
        // A failure is kept with its grant or record and shown where it belongs (the
        // Shared page, the status bar); the next pass tries again.
        // (Its words may name a person or a file, so they are not logged.)
        if app
            .records
            .sync_sharing(&owner, &ipfs, &ledger, false)
            .await
            .is_some()
        {
            tracing::info!("sharing pass: some work waits for the next pass");
        }
    }
    // Last, within its time budget: replicas need no key.
    app.records
        .replicate_all(&ipfs, &crate::ipfs::replica_urls(&settings))
        .await;
}
