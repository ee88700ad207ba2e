//! A wallet's trail read from the cache a page at a time, against a real anvil with the
//! real contract: pages, counts and filters answered by SQLite agree with the whole
//! trail read at once and filtered here.

mod support;

use alloy::primitives::B256;
use medwallet_ledger::{
    EventCache, EventFilter, EventKind, EventMeta, LedgerEvent, PrivateKeySigner, TrailFilter,
    TrailKey,
};
use support::{record_id, Chain};

/// The wallet's own events: records registered, then updates of its record 0.
const OWN: usize = 3_000;
const UPDATES: usize = 50;
/// Another wallet's events, which the wallet's trail never shows.
const OTHERS: usize = 500;

type Event = (EventMeta, LedgerEvent);
/// A filter's name, the filter, and the same selection made here.
type Case = (&'static str, TrailFilter, Box<dyn Fn(&Event) -> bool>);

fn key(e: &Event) -> (u64, u64) {
    (e.0.block_number, e.0.log_index)
}

#[tokio::test]
async fn a_wallets_trail_is_paged_counted_and_filtered_by_the_cache() {
    let chain = Chain::start().await;
    let (me_key, other_key) = (PrivateKeySigner::random(), PrivateKeySigner::random());
    let (me, other) = (me_key.address(), other_key.address());
    let url = chain.url();
    let write = |key: PrivateKeySigner, n, updates| {
        medwallet_ledger::testing::write_events(&url, chain.contract, key, n, updates)
    };
    write(me_key.clone(), OWN, UPDATES).await.unwrap();
    write(other_key.clone(), OTHERS, 0).await.unwrap();
    // The other wallet grants one of its records to this one, which opens it: the grant
    // is in this wallet's trail as its subject, the opening as its actor.
    let theirs = chain.node.client(other_key, chain.contract).await.unwrap();
    let mine = chain.node.client(me_key, chain.contract).await.unwrap();
    let shared = record_id(other, 0);
    theirs
        .grant_access(shared, me, B256::ZERO, &[0x01; 36], 0)
        .await
        .unwrap();
    mine.log_access(shared, 1).await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let cache = EventCache::open(&dir.path().join("events.sqlite"))
        .await
        .unwrap();
    cache
        .sync(&chain.node, chain.contract, &EventFilter::All)
        .await
        .unwrap();
    // Every event of the contract is cached (the other wallet's too); the whole trail,
    // read at once and reversed, is what every page must agree with.
    let mut whole = cache.query_wallet(chain.contract, me, &[]).await.unwrap();
    whole.reverse();
    let total = OWN + 2;
    assert_eq!(whole.len(), total);
    let all = TrailFilter::default();
    assert_eq!(
        cache.trail_count(chain.contract, me, &all).await.unwrap(),
        total as u64
    );

    // Newest first: the opening, then the grant.
    let first = cache
        .trail_page(chain.contract, me, &all, 0, 100)
        .await
        .unwrap();
    assert_eq!(first.len(), 100);
    assert!(matches!(first[0].1, LedgerEvent::RecordAccessed { accessor, .. } if accessor == me));
    assert!(matches!(first[1].1, LedgerEvent::AccessGranted { grantee, .. } if grantee == me));
    // Page by page, the same events in the same order, the last page short.
    let mut paged = Vec::new();
    let mut offset = 0;
    loop {
        let page = cache
            .trail_page(chain.contract, me, &all, offset, 250)
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        offset += page.len() as u64;
        paged.extend(page);
    }
    assert_eq!(paged.len(), total);
    assert_eq!(
        paged.iter().map(key).collect::<Vec<_>>(),
        whole.iter().map(key).collect::<Vec<_>>()
    );
    assert_eq!(paged, whole);
    assert!(cache
        .trail_page(chain.contract, me, &all, total as u64, 100)
        .await
        .unwrap()
        .is_empty());
    assert!(cache
        .trail_page(chain.contract, me, &all, 0, 0)
        .await
        .unwrap()
        .is_empty());

    // Each filter, in SQL, against the same filter applied here to the whole trail.
    let mid = whole[total / 2].0.block_time;
    let cases: Vec<Case> = vec![
        (
            "updates",
            TrailFilter {
                kinds: vec![EventKind::RecordUpdated],
                ..Default::default()
            },
            Box::new(|e: &Event| e.1.kind() == EventKind::RecordUpdated),
        ),
        (
            "not registrations",
            TrailFilter {
                without: vec![EventKind::RecordRegistered],
                ..Default::default()
            },
            Box::new(|e: &Event| e.1.kind() != EventKind::RecordRegistered),
        ),
        (
            "the other wallet as actor",
            TrailFilter {
                actor: Some(other),
                ..Default::default()
            },
            Box::new(move |e: &Event| e.1.actor() == other),
        ),
        (
            "record 0",
            TrailFilter {
                record: Some(record_id(me, 0)),
                ..Default::default()
            },
            Box::new(move |e: &Event| e.1.record_id() == Some(record_id(me, 0))),
        ),
        (
            "from the middle's time",
            TrailFilter {
                from_time: Some(mid),
                ..Default::default()
            },
            Box::new(move |e: &Event| e.0.block_time >= mid),
        ),
        (
            "before the middle's time, updates or openings",
            TrailFilter {
                kinds: vec![EventKind::RecordUpdated, EventKind::RecordAccessed],
                before_time: Some(mid),
                ..Default::default()
            },
            Box::new(move |e: &Event| {
                e.0.block_time < mid
                    && matches!(
                        e.1.kind(),
                        EventKind::RecordUpdated | EventKind::RecordAccessed
                    )
            }),
        ),
    ];
    for (what, filter, wanted) in cases {
        let expected: Vec<&Event> = whole.iter().filter(|e| wanted(e)).collect();
        let count = cache
            .trail_count(chain.contract, me, &filter)
            .await
            .unwrap();
        assert_eq!(count as usize, expected.len(), "{what}");
        let mut got = Vec::new();
        let mut offset = 0;
        loop {
            let page = cache
                .trail_page(chain.contract, me, &filter, offset, 40)
                .await
                .unwrap();
            if page.is_empty() {
                break;
            }
            offset += page.len() as u64;
            got.extend(page);
        }
        assert_eq!(
            got.iter().collect::<Vec<_>>(),
            expected,
            "{what}: the pages differ from the filtered trail"
        );
    }
    assert_eq!(
        cache
            .trail_count(
                chain.contract,
                me,
                &TrailFilter {
                    kinds: vec![EventKind::RecordUpdated],
                    ..Default::default()
                }
            )
            .await
            .unwrap(),
        UPDATES as u64
    );

    // The page's blocks, looked up without witnesses: each from one node.
    let blocks: Vec<u64> = first.iter().map(|e| e.0.block_number).collect();
    let agreements = cache
        .agreements_at(chain.contract, &[], &blocks)
        .await
        .unwrap();
    let one = agreements.block(first[0].0.block_number, first[0].0.block_hash);
    assert_eq!((one.nodes_agreeing, one.nodes_asked), (1, 1));
    assert_eq!(
        cache.newest_block(chain.contract).await.unwrap(),
        Some(first[0].0.block_number)
    );

    // The whole trail read by key, as of the block synced: the same events, and the
    // wallet's events cached between two pages (the background pass syncing meanwhile)
    // move none of them, where an offset would repeat the page's last ones.
    let synced = cache
        .cursor(chain.contract, &EventFilter::All)
        .await
        .unwrap()
        .unwrap();
    let mut keyed: Vec<Event> = Vec::new();
    let mut before = TrailKey::after_block(synced);
    loop {
        let page = cache
            .trail_page_before(chain.contract, me, &all, before, 250)
            .await
            .unwrap();
        let Some(last) = page.last() else {
            break;
        };
        before = TrailKey::of(&last.0);
        if keyed.is_empty() {
            let more = record_id(other, 1);
            theirs
                .grant_access(more, me, B256::ZERO, &[0x02; 36], 0)
                .await
                .unwrap();
            mine.log_access(more, 1).await.unwrap();
            cache
                .sync(&chain.node, chain.contract, &EventFilter::All)
                .await
                .unwrap();
            assert_eq!(
                cache.trail_count(chain.contract, me, &all).await.unwrap(),
                total as u64 + 2
            );
        }
        keyed.extend(page);
    }
    assert_eq!(keyed.len(), total);
    assert_eq!(keyed, whole);
}
