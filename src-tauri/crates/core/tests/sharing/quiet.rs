//! The quiet background pass: a wallet with nothing due asks the ledger nothing, or only
//! for its head now and then, and a head that moved or work that came due brings the full
//! pass back. The ledger is reached through a proxy that counts the JSON-RPC calls made.

use std::time::Duration;

use medwallet_core::audit::AuditService;
use medwallet_core::background::{wallet_pass, Paced, Pacer};
use medwallet_devnodes::CountingProxy;

use super::*;

/// One wallet's part of the background pass, through the counting proxy.
struct Quietly<'a> {
    svc: &'a RecordService,
    audit: &'a AuditService,
    owner: &'a Owner,
    ipfs: &'a Url,
    ledger: &'a LedgerTarget,
}

impl Quietly<'_> {
    async fn pass(&self, pacer: &mut Pacer) -> Paced {
        wallet_pass(
            self.svc,
            self.audit,
            pacer,
            self.owner,
            self.ipfs,
            self.ledger,
            &[],
        )
        .await
        .1
    }
}

#[tokio::test]
async fn a_quiet_wallet_asks_the_ledger_nothing_until_something_is_due_or_the_chain_moves() {
    let nodes = Nodes::start().await;
    let svc = nodes.service("patient");
    let audit = AuditService::over(svc.event_caches());
    let patient = wallet(141, Role::Patient, "Ada");
    let record = add(&nodes, &svc, &patient, "lab.pdf", PDF, "Blood panel").await;
    let upstream: std::net::SocketAddr = format!("127.0.0.1:{}", nodes.anvil_port).parse().unwrap();
    let proxy = CountingProxy::start(upstream).unwrap();
    let ledger = LedgerTarget {
        url: proxy.url().parse().unwrap(),
        ..nodes.ledger.clone()
    };
    let calls_now = || proxy.calls();
    let me = Quietly {
        svc: &svc,
        audit: &audit,
        owner: &patient,
        ipfs: &nodes.ipfs,
        ledger: &ledger,
    };
    // A pacer that never asks for the head (within this test), and one that asks every pass.
    let mut silent = Pacer::checking_head_every(Duration::from_secs(3600));
    let mut asking = Pacer::checking_head_every(Duration::ZERO);

    // The first pass of each pacer is full (it publishes the keys, reads the wallet's
    // events); the ones after it are quiet.
    assert_eq!(me.pass(&mut silent).await, Paced::Full);
    assert_eq!(me.pass(&mut asking).await, Paced::Full);
    let before = calls_now();
    assert_eq!(me.pass(&mut silent).await, Paced::Quiet);
    assert_eq!(calls_now(), before, "a quiet pass makes no ledger call");
    assert_eq!(me.pass(&mut asking).await, Paced::HeadChecked);
    let head_check = calls_now() - before;
    assert!(
        (1..=2).contains(&head_check),
        "a head check is one or two calls, not {head_check}"
    );

    // The chain moves (someone else's transaction, not through this wallet's node): the
    // next head check brings a full pass, and it is quiet again after.
    let stranger = LedgerNode::new(&nodes.ledger.url)
        .client(PrivateKeySigner::random(), nodes.ledger.contract.unwrap())
        .await
        .unwrap();
    stranger
        .publish_identity(
            medwallet_ledger::B256::repeat_byte(1),
            medwallet_ledger::B256::repeat_byte(2),
            1,
        )
        .await
        .unwrap();
    assert_eq!(me.pass(&mut asking).await, Paced::Full);
    assert_eq!(me.pass(&mut asking).await, Paced::HeadChecked);
    let before = calls_now();
    assert_eq!(
        me.pass(&mut silent).await,
        Paced::Quiet,
        "the silent pacer has not looked"
    );
    assert_eq!(calls_now(), before);

    // Work comes due on this device: a check-in code a desk may redeem at any moment
    // keeps every pass full, whatever the pacer, until it expires.
    svc.offer_check_in(
        &patient,
        &nodes.ipfs,
        &nodes.ledger,
        std::slice::from_ref(&record),
        60,
    )
    .await
    .unwrap();
    assert!(svc.ledger_work_due(&patient, &ledger, 0).await.unwrap());
    assert_eq!(me.pass(&mut silent).await, Paced::Full);
    assert_eq!(me.pass(&mut silent).await, Paced::Full);
    assert!(calls_now() > before);
}
