//! The event cache checked against a second node of the same ledger: a second anvil forked
//! from the first (`--fork-url`) serves the first's blocks up to the fork point with the
//! same hashes, then mines its own: agreement, then divergence, then the witness down.

mod support;

use medwallet_devnodes::{Anvil, AnvilOptions, NodeTools, LOCAL_CHAIN_ID};
use medwallet_ledger::{
    Address, EventCache, EventFilter, EventMeta, LedgerClient, LedgerEvent, LedgerNode, Verdict,
    B256,
};
use support::{record_nonce, Chain};
use url::Url;

fn cid(tag: u8) -> Vec<u8> {
    let mut c = vec![0x01, 0x55, 0x12, 0x20];
    c.extend([tag; 32]);
    c
}

/// A second consortium node: anvil forked from `chain`'s node at its head, on `port` (a
/// free one if `None`).
fn witness(chain: &Chain, dir: &std::path::Path, port: Option<u16>) -> (Anvil, LedgerNode) {
    let anvil = Anvil::start(
        &NodeTools::locate().unwrap(),
        &AnvilOptions {
            port,
            ..AnvilOptions::forked(dir, chain.anvil.url(), LOCAL_CHAIN_ID, None)
        },
    )
    .unwrap();
    let node = LedgerNode::new(&Url::parse(&anvil.url()).unwrap());
    (anvil, node)
}

/// Registers records `from..to`, one transaction (and one block) each.
async fn register(owner: &LedgerClient, from: u64, to: u64) {
    for i in from..to {
        owner
            .register_record(record_nonce(i), &cid(i as u8), &cid(0xee))
            .await
            .unwrap();
    }
}

async fn cached(cache: &EventCache, chain: &Chain, owner: Address) -> Vec<EventMeta> {
    cache
        .query_wallet(chain.contract, owner, &[])
        .await
        .unwrap()
        .into_iter()
        .map(|(meta, event)| {
            assert!(matches!(event, LedgerEvent::RecordRegistered { .. }));
            meta
        })
        .collect()
}

async fn mine(node: &Url, blocks: u64) {
    let raw = alloy::providers::ProviderBuilder::new()
        .disable_recommended_fillers()
        .connect_http(node.clone());
    use alloy::providers::Provider;
    for _ in 0..blocks {
        let _: String = raw.raw_request("evm_mine".into(), ()).await.unwrap();
    }
}

#[tokio::test]
async fn two_nodes_agree_on_every_cached_block() {
    let chain = Chain::start().await;
    let owner = chain.account().await;
    register(&owner, 0, 4).await;
    let dir = tempfile::tempdir().unwrap();
    let (_anvil2, node2) = witness(&chain, &dir.path().join("node2"), None);

    let cache = EventCache::open(&dir.path().join("e.sqlite"))
        .await
        .unwrap();
    let report = cache
        .sync_checked(
            &chain.node,
            chain.contract,
            &EventFilter::All,
            std::slice::from_ref(&node2),
        )
        .await
        .unwrap();
    assert_eq!(report.new_events, 6, "{report:?}"); // LedgerCreated, AdminSet and 4 records
    assert!(
        report
            .witness_checks
            .iter()
            .all(|c| c.verdict == Verdict::Agrees && c.witness == node2.label()),
        "{:?}",
        report.witness_checks
    );
    // The head and the blocks of the 5 events (deployment and 4 registrations).
    assert_eq!(
        report.witness_checks.len(),
        5,
        "{:?}",
        report.witness_checks
    );

    let events = cached(&cache, &chain, owner.address()).await;
    assert_eq!(events.len(), 4);
    let agreements = cache
        .agreements(chain.contract, std::slice::from_ref(&node2))
        .await
        .unwrap();
    for meta in &events {
        let a = agreements.block(meta.block_number, meta.block_hash);
        assert_eq!((a.nodes_agreeing, a.nodes_asked), (2, 2), "{a:?}");
        assert!(!a.is_disputed());
        let one = cache
            .agreement(
                chain.contract,
                meta.block_number,
                meta.block_hash,
                std::slice::from_ref(&node2),
            )
            .await
            .unwrap();
        assert_eq!(one, a);
    }
    // Without witnesses the same blocks are from one node.
    let alone = cache.agreements(chain.contract, &[]).await.unwrap();
    let a = alone.block(events[0].block_number, events[0].block_hash);
    assert_eq!((a.nodes_agreeing, a.nodes_asked), (1, 1));

    // A second sync has nothing new to ask: every event block is confirmed.
    let again = cache
        .sync_checked(&chain.node, chain.contract, &EventFilter::All, &[node2])
        .await
        .unwrap();
    assert!(again.witness_checks.is_empty(), "{again:?}");
}

#[tokio::test]
async fn blocks_after_the_fork_point_are_disputed_with_both_hashes() {
    let chain = Chain::start().await;
    let owner = chain.account().await;
    register(&owner, 0, 2).await;
    let dir = tempfile::tempdir().unwrap();
    let (anvil2, node2) = witness(&chain, &dir.path().join("node2"), None);
    let fork_point = node2.status().await.unwrap().block_height;

    // Node 1 goes on with 3 blocks of events node 2 never sees; node 2 mines 3 of its own.
    register(&owner, 2, 5).await;
    mine(&Url::parse(&anvil2.url()).unwrap(), 3).await;
    // And one more on node 1, above node 2's head: not there yet.
    register(&owner, 5, 6).await;

    let cache = EventCache::open(&dir.path().join("e.sqlite"))
        .await
        .unwrap();
    cache
        .sync_checked(
            &chain.node,
            chain.contract,
            &EventFilter::All,
            std::slice::from_ref(&node2),
        )
        .await
        .unwrap();
    let events = cached(&cache, &chain, owner.address()).await;
    assert_eq!(events.len(), 6);
    let agreements = cache
        .agreements(chain.contract, std::slice::from_ref(&node2))
        .await
        .unwrap();
    let witness_head = fork_point + 3;
    for meta in &events {
        let a = agreements.block(meta.block_number, meta.block_hash);
        let n = meta.block_number;
        if n <= fork_point {
            assert_eq!(
                (a.nodes_agreeing, a.nodes_asked),
                (2, 2),
                "block {n}: {a:?}"
            );
            assert!(!a.is_disputed());
        } else if n <= witness_head {
            // Disputed: the block number, the witness and both hashes.
            assert_eq!(a.nodes_agreeing, 1, "block {n}: {a:?}");
            assert_eq!(a.disputes.len(), 1, "block {n}: {a:?}");
            let d = &a.disputes[0];
            assert_eq!(
                (d.block_number, d.witness.as_str()),
                (n, node2.label().as_str())
            );
            assert_eq!(d.our_hash, meta.block_hash);
            let theirs = raw_hash(&node2, n).await;
            assert_eq!(d.their_hash, theirs);
            assert_ne!(d.their_hash, d.our_hash);
            assert_eq!(raw_hash(&chain.node, n).await, d.our_hash);
        } else {
            assert_eq!(a.nodes_agreeing, 1, "block {n}: {a:?}");
            assert!(!a.is_disputed());
            assert_eq!(
                a.verdicts,
                vec![(
                    node2.label(),
                    Some(Verdict::NotYet {
                        their_head: witness_head
                    })
                )]
            );
        }
    }
    assert_eq!(
        events
            .iter()
            .filter(|m| agreements.block(m.block_number, m.block_hash).is_disputed())
            .count(),
        3
    );

    // Disputes are asked again at the next sync and stay disputed.
    let again = cache
        .sync_checked(
            &chain.node,
            chain.contract,
            &EventFilter::All,
            std::slice::from_ref(&node2),
        )
        .await
        .unwrap();
    assert_eq!(
        again
            .witness_checks
            .iter()
            .filter(|c| matches!(c.verdict, Verdict::Disagrees { .. }))
            .count(),
        3,
        "{again:?}"
    );
}

/// The hash of block `n` on `node`, asked directly.
async fn raw_hash(node: &LedgerNode, n: u64) -> B256 {
    use alloy::providers::Provider;
    let raw = alloy::providers::ProviderBuilder::new()
        .disable_recommended_fillers()
        .connect_http(node.url().clone());
    raw.get_block_by_number(n.into())
        .await
        .unwrap()
        .unwrap()
        .header
        .hash
}

#[tokio::test]
async fn a_witness_down_leaves_events_from_one_node_and_is_asked_again() {
    let chain = Chain::start().await;
    let owner = chain.account().await;
    register(&owner, 0, 2).await;
    let dir = tempfile::tempdir().unwrap();
    let (anvil2, node2) = witness(&chain, &dir.path().join("node2"), None);
    let port = anvil2.port();
    let cache = EventCache::open(&dir.path().join("e.sqlite"))
        .await
        .unwrap();
    cache
        .sync_checked(
            &chain.node,
            chain.contract,
            &EventFilter::All,
            std::slice::from_ref(&node2),
        )
        .await
        .unwrap();

    // The witness stops; node 1 goes on. The sync itself succeeds.
    anvil2.stop();
    register(&owner, 2, 4).await;
    let report = cache
        .sync_checked(
            &chain.node,
            chain.contract,
            &EventFilter::All,
            std::slice::from_ref(&node2),
        )
        .await
        .unwrap();
    assert_eq!(report.new_events, 2);
    assert!(!report.witness_checks.is_empty());
    assert!(
        report.witness_checks.iter().all(|c| c.verdict
            == Verdict::Down {
                error: "unreachable".into()
            }),
        "{:?}",
        report.witness_checks
    );
    let events = cached(&cache, &chain, owner.address()).await;
    let agreements = cache
        .agreements(chain.contract, std::slice::from_ref(&node2))
        .await
        .unwrap();
    let counts: Vec<u32> = events
        .iter()
        .map(|m| {
            agreements
                .block(m.block_number, m.block_hash)
                .nodes_agreeing
        })
        .collect();
    // Confirmed before it went down; from one node only since.
    assert_eq!(counts, [2, 2, 1, 1]);
    assert!(events
        .iter()
        .all(|m| !agreements.block(m.block_number, m.block_hash).is_disputed()));

    // Back (forked again from node 1's head, on the same port): the blocks it missed are
    // asked at the next sync, though nothing new was read.
    let (_anvil2, node2) = witness(&chain, &dir.path().join("node2-again"), Some(port));
    let report = cache
        .sync_checked(
            &chain.node,
            chain.contract,
            &EventFilter::All,
            std::slice::from_ref(&node2),
        )
        .await
        .unwrap();
    assert_eq!(report.new_events, 0);
    let agreements = cache.agreements(chain.contract, &[node2]).await.unwrap();
    assert!(events.iter().all(|m| agreements
        .block(m.block_number, m.block_hash)
        .nodes_agreeing
        == 2));
}
