//! Sync 10,000 events from a real anvil into a fresh cache, and query one record's
//! trail from it. Measured once per run (generating the events takes longer than
//! the sync), printed as plain figures:
//!
//! `cargo bench -p medwallet-ledger --bench sync`

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use medwallet_ledger::{EventCache, EventFilter};
use support::{record_id, Chain};

const EVENTS: usize = 10_000;
const UPDATES: usize = 50;

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let chain = Chain::start().await;
        let start = Instant::now();
        let author = chain.write_events(EVENTS, UPDATES).await;
        let height = chain.node.status().await.unwrap().block_height;
        println!(
            "wrote {EVENTS} events in {:.2?} ({height} blocks)",
            start.elapsed()
        );

        let mut syncs = Vec::new();
        for run in 0..3 {
            let dir = tempfile::tempdir().unwrap();
            let cache = EventCache::open(&dir.path().join("events.sqlite"))
                .await
                .unwrap();
            let start = Instant::now();
            let report = cache
                .sync(&chain.node, chain.contract, &EventFilter::All)
                .await
                .unwrap();
            let took = start.elapsed();
            assert_eq!(report.new_events as usize, EVENTS + 2);
            println!("sync run {run}: {} events in {took:.2?}", report.new_events);
            syncs.push(took);

            if run == 0 {
                let mut queries = Vec::new();
                for _ in 0..200 {
                    let start = Instant::now();
                    let trail = cache.query(chain.contract, record_id(author, 0)).await.unwrap();
                    queries.push(start.elapsed());
                    assert_eq!(trail.len(), UPDATES + 1);
                }
                let other = Instant::now();
                let trail = cache.query(chain.contract, record_id(author, 777)).await.unwrap();
                let other = other.elapsed();
                assert_eq!(trail.len(), 1);
                queries.sort();
                println!(
                    "query one record's trail ({} events) from {} cached: median {:.2?}, max {:.2?}; a 1-event trail {other:.2?}",
                    UPDATES + 1,
                    EVENTS + 1,
                    queries[queries.len() / 2],
                    queries[queries.len() - 1],
                );
            }
        }
        syncs.sort();
        let median: Duration = syncs[syncs.len() / 2];
        println!("sync {EVENTS} events: median {median:.2?} of {}", syncs.len());
    });
}
