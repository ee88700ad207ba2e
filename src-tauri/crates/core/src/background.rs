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
//! The shell starts [`run`] once with its notifier; tests call [`pass`] to run one pass
//! now (it answers what the notifier would be given).

use std::sync::Arc;
use std::time::Duration;

use crate::app::App;
use crate::audit::alerts::{self, Notification, RaisedAlert};

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
        let passed = pass(&app).await;
        notify(&passed, notifier.as_ref());
        app.resume_rebuild().await;
    }
}

/// One pass: every wallet's outbox, then the unlocked wallet's sharing work and, for a
/// patient, its emergency watch.
#[tracing::instrument(skip_all)]
pub async fn pass(app: &App) -> Passed {
    let mut passed = Passed::default();
    let settings = app.settings().await;
    let owner = app.wallets.lock().await.record_owner_if_unlocked();
    let ipfs = match url::Url::parse(&settings.ipfs_url) {
        Ok(url) => url,
        Err(e) => {
            tracing::debug!(error = %e, "no pass: the IPFS node URL is not valid");
            return passed;
        }
    };
    let ledger = match crate::LedgerTarget::from_settings(&settings) {
        Ok(ledger) => ledger,
        Err(e) => {
            tracing::debug!(error = e.kind(), "no pass: the ledger URL is not valid");
            return passed;
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
        // Emergency openings of the patient's records: read only (it sends nothing), so it
        // runs during a rebuild too.
        if owner.role == medwallet_vault::Role::Patient {
            let witnesses = alerts::witness_urls(&settings);
            match app
                .audit
                .watch_emergencies(&app.records, &owner, &ledger, &witnesses)
                .await
            {
                Ok(found) => passed.emergencies = found,
                Err(e) => tracing::warn!(error = e.kind(), "the emergency watch failed"),
            }
        }
    }
    // Last, within its time budget: replicas need no key.
    app.records
        .replicate_all(&ipfs, &crate::ipfs::replica_urls(&settings))
        .await;
    passed
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
