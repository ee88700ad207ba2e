//! Long lists a page at a time (issue 18), the shell's side of the Records and Audit
//! pages, against real nodes started here:
//!
//! - `RECORDS` records (default 10,000) added through the add path with no IPFS node
//!   answering (each kept on this device, in the outbox, as the app keeps it then); then
//!   the Records page's questions timed: the first page after an unlock (every manifest
//!   decrypted once into the index), the same page again, a deep page, a search (one per
//!   keystroke once typing rests), a category;
//! - `EVENTS` events (default 100,000) of one wallet written on anvil with the real
//!   contract (registrations, then `EVENTS / 100` updates of one record), read into the
//!   trail's cache once (timed, the sync's figure), then the Audit page's questions timed:
//!   the first page of 200 with its count, a deep page, filtered by action, by record, by
//!   actor, by dates; and a CSV export of the whole trail.
//!
//! Not criterion: the setup takes minutes; each question is asked `RUNS` times (default 7)
//! and the median and the slowest are printed.
//!
//! Run: `cargo bench -p medwallet-core --bench lists` (needs `MEDWALLET_NODE_TOOLS`, set
//! by `scripts/lib.sh`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use medwallet_api::{
    AuditAction, AuditQuery, Category, ExportFormat, RecordMetadata, RecordQuery, TrailPage,
};
use medwallet_core::audit::AuditContext;
use medwallet_core::records::Progress;
use medwallet_core::{AuditService, LedgerTarget, Owner, RecordService};
use medwallet_devnodes::{Anvil, AnvilOptions, NodeTools};
use medwallet_ledger::{LedgerNode, PrivateKeySigner};
use medwallet_vault::{Role, Seed, WalletKeys};
use url::Url;

fn count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const WORDS: [&str; 7] = [
    "Blood panel",
    "Chest X-ray",
    "Discharge letter",
    "Lipid panel",
    "MRI knee",
    "Prescription refill",
    "Vaccination card",
];

fn metadata(i: usize) -> RecordMetadata {
    let day = chrono::NaiveDate::from_ymd_opt(2022, 1, 1).unwrap()
        + chrono::Days::new((i as u64 * 37) % 1461);
    RecordMetadata {
        title: format!("{} {i}", WORDS[i % WORDS.len()]),
        category: Category::ALL[i % Category::ALL.len()],
        date: day.format("%Y-%m-%d").to_string(),
        author: "Dr. Seacole".to_owned(),
    }
}

/// Asks `f` `runs` times; prints and answers the median.
async fn timed<T, F, Fut>(what: &str, runs: usize, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        last = Some(f().await);
        times.push(start.elapsed());
    }
    times.sort();
    let median: Duration = times[times.len() / 2];
    println!(
        "{what}: median {median:.2?}, slowest {:.2?} ({runs} runs)",
        times[times.len() - 1]
    );
    last.unwrap()
}

fn main() {
    let records = count("RECORDS", 10_000);
    let events = count("EVENTS", 100_000);
    let runs = count("RUNS", 7);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let tools = NodeTools::locate().unwrap();
        let anvil = Anvil::start(&tools, &AnvilOptions::ephemeral(dir.path().join("anvil")))
            .unwrap();
        let url = Url::parse(&anvil.url()).unwrap();
        let contract = LedgerNode::new(&url)
            .deploy(PrivateKeySigner::random())
            .await
            .unwrap();
        let ledger = LedgerTarget {
            url: url.clone(),
            contract: Some(contract),
            chain_id: Some(medwallet_devnodes::LOCAL_CHAIN_ID),
        };
        let keys = WalletKeys::derive(&Seed::from_bytes([0x91; 32]), Role::Patient).unwrap();
        let owner = Arc::new(Owner::new("bench91", "Ada Lovelace", &keys));
        let data = dir.path().join("data");
        let service = Arc::new(RecordService::new(&data));

        // The records: the add path, eight at a time, with no IPFS node answering.
        let no_ipfs = Url::parse(&format!(
            "http://127.0.0.1:{}",
            medwallet_devnodes::free_port().unwrap()
        ))
        .unwrap();
        let file = dir.path().join("note.txt");
        std::fs::write(&file, b"A short clinical note.\n").unwrap();
        let quiet: Progress = Arc::new(|_| {});
        let start = Instant::now();
        let mut set = tokio::task::JoinSet::new();
        for i in 0..records {
            let (service, owner, ipfs, ledger, file, quiet) = (
                service.clone(),
                owner.clone(),
                no_ipfs.clone(),
                ledger.clone(),
                file.display().to_string(),
                quiet.clone(),
            );
            set.spawn(async move {
                service
                    .add(&owner, &ipfs, &ledger, &format!("b{i}"), &file, &metadata(i), quiet)
                    .await
                    .unwrap();
            });
            if set.len() >= 8 {
                set.join_next().await.unwrap().unwrap();
            }
        }
        while let Some(done) = set.join_next().await {
            done.unwrap();
        }
        println!("setup: {records} records added in {:.2?}", start.elapsed());

        let page = |query: RecordQuery| {
            let (service, owner) = (service.clone(), owner.clone());
            async move { service.page(&owner, &query, None).await.unwrap() }
        };
        // An unlock's first page: the index is built (every manifest decrypted once).
        let first = timed("records: first page after an unlock (index built)", runs, || {
            let page = &page;
            let service = service.clone();
            async move {
                service.forget_lists().await;
                page(RecordQuery::search("", 100)).await
            }
        })
        .await;
        assert_eq!(first.total as usize, records);
        timed("records: first page again (index kept)", runs, || {
            page(RecordQuery::search("", 100))
        })
        .await;
        timed("records: the last page", runs, || {
            page(RecordQuery {
                offset: records as u32 - 100,
                limit: 100,
                ..Default::default()
            })
        })
        .await;
        let found = timed("records: a search (\"blood panel 7\")", runs, || {
            page(RecordQuery::search("blood panel 7", 100))
        })
        .await;
        println!("  ({} found)", found.matching);
        timed("records: a search that matches nothing", runs, || {
            page(RecordQuery::search("no such title", 100))
        })
        .await;
        timed("records: one category", runs, || {
            page(RecordQuery {
                category: Some(Category::Imaging),
                limit: 100,
                ..Default::default()
            })
        })
        .await;
        timed("records: the whole list decrypted (the old list, peer)", runs.min(3), || {
            let (service, owner) = (service.clone(), owner.clone());
            async move { service.list(&owner).await.unwrap().len() }
        })
        .await;

        // The events: the wallet's own, real transactions.
        let signer = PrivateKeySigner::from_slice(keys.ledger_secret_key()).unwrap();
        let start = Instant::now();
        medwallet_ledger::testing::write_events(&url, contract, signer, events, events / 100)
            .await
            .unwrap();
        println!("setup: {events} events written in {:.2?}", start.elapsed());
        let audit = AuditService::new(&data);
        let context = AuditContext::of(&service, &owner).await.unwrap();
        let trail = |offset: u64, query: AuditQuery| {
            let (audit, owner, ledger, context) =
                (&audit, owner.clone(), ledger.clone(), context.clone());
            async move {
                let page = TrailPage {
                    query,
                    offset,
                    limit: 200,
                };
                let t = audit.trail(&owner, &ledger, &page, &context).await.unwrap();
                assert_eq!(t.problem, None);
                t
            }
        };
        let start = Instant::now();
        let synced = trail(0, AuditQuery::default()).await;
        println!(
            "audit: the first read, {} entries synced from the node into the cache and the first page: {:.2?}",
            synced.total,
            start.elapsed()
        );
        let total = synced.total;
        timed("audit: first page of 200 with its count", runs, || {
            trail(0, AuditQuery::default())
        })
        .await;
        timed("audit: a page in the middle", runs, || {
            trail(total / 2, AuditQuery::default())
        })
        .await;
        timed("audit: the last page", runs, || {
            trail(total - 200, AuditQuery::default())
        })
        .await;
        let updated = AuditQuery {
            action: Some(AuditAction::Updated),
            ..Default::default()
        };
        let t = timed("audit: filtered by action (updates)", runs, || {
            trail(0, updated.clone())
        })
        .await;
        println!("  ({} entries)", t.total);
        let one = AuditQuery {
            record_id: Some(medwallet_ledger::testing::record_id(keys.address().parse().unwrap(), 0).to_string()),
            ..Default::default()
        };
        timed("audit: filtered by record", runs, || trail(0, one.clone())).await;
        let actor = AuditQuery {
            actor: Some(keys.address().to_owned()),
            ..Default::default()
        };
        timed("audit: filtered by actor (the wallet: every entry)", runs, || {
            trail(0, actor.clone())
        })
        .await;
        let day = AuditQuery {
            from: Some("2000-01-01".into()),
            to: Some("2100-01-01".into()),
            ..Default::default()
        };
        timed("audit: filtered by dates (every entry)", runs, || {
            trail(0, day.clone())
        })
        .await;
        let csv = dir.path().join("trail.csv");
        let start = Instant::now();
        let saved = audit
            .export(
                &owner,
                &ledger,
                &AuditQuery::default(),
                &context,
                ExportFormat::Csv,
                &csv.display().to_string(),
            )
            .await
            .unwrap();
        println!(
            "audit: CSV export of {total} entries ({} bytes) in {:.2?}",
            saved.size,
            start.elapsed()
        );
        service.close().await;
        drop(anvil);
    });
}
