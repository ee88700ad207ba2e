//! Rebuilding a wallet from the ledger and IPFS (a restore from the 24 words), against
//! real nodes started here (js-ipfs, anvil with the contract):
//!
//! - a patient with `RECORDS` records (small text records, added as the app adds them)
//!   and `GRANTS` grants to one doctor;
//! - the rebuild into an empty data folder, timed once;
//! - then `OTHER_EVENTS` events of another wallet written on the same chain (registrations,
//!   as fast as anvil takes them) and the rebuild timed again into another empty folder:
//!   it reads the wallet's events by indexed topics, so the other events must not make
//!   it slower;
//! - peers in the same run: reading every event of the contract (what a rebuild that read
//!   every block would at least do), and the node's own `cat` of the manifests and
//!   capsules the rebuild fetches.
//!
//! Not criterion: the setup takes minutes and a rebuild is a one-shot operation; each
//! figure is one run, printed. `RECORDS`, `GRANTS`, `OTHER_EVENTS` can be set in the
//! environment (defaults 1,000, 200, 100,000).
//!
//! Run: `cargo bench -p medwallet-core --bench rebuild` (needs the node tools:
//! `MEDWALLET_NODE_TOOLS`, set by `scripts/lib.sh`).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use medwallet_api::{Category, RebuildState, RecordMetadata, ShareRequest};
use medwallet_core::{AuditService, LedgerTarget, Owner, RebuildService, RecordService};
use medwallet_devnodes::{Anvil, AnvilOptions, Ipfs, IpfsOptions, NodeTools};
use medwallet_ledger::{EventFilter, LedgerNode, PrivateKeySigner};
use medwallet_records::{Cid, IpfsNode};
use medwallet_vault::{Role, Seed, WalletKeys};
use url::Url;

fn count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn wallet(seed_byte: u8, role: Role, id: &str) -> Owner {
    let keys = WalletKeys::derive(&Seed::from_bytes([seed_byte; 32]), role).unwrap();
    Owner::new(id, "Bench", &keys)
}

/// The patient's own events read by topic into a fresh cache (the rebuild's ledger step
/// alone).
async fn read_own(dir: &Path, url: &Url, contract: medwallet_ledger::Address) -> (Duration, u64) {
    let me = wallet(201, Role::Patient, "x").address.parse().unwrap();
    std::fs::create_dir_all(dir).unwrap();
    let cache = medwallet_ledger::EventCache::open(&dir.join("events.sqlite"))
        .await
        .unwrap();
    let started = Instant::now();
    let report = cache
        .sync(&LedgerNode::new(url), contract, &EventFilter::Wallet(me))
        .await
        .unwrap();
    (started.elapsed(), report.new_events)
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// Rebuilds `seed`'s patient into the empty folder `dir`; answers the time and the
/// records and grants brought back.
async fn rebuild(dir: &Path, ipfs: &Url, ledger: &LedgerTarget, id: &str) -> (Duration, u32, u32) {
    let owner = wallet(201, Role::Patient, id);
    let records = RecordService::new(dir);
    let audit = AuditService::new(dir);
    let service = RebuildService::new();
    service.ask(&records, id).await.unwrap();
    let started = Instant::now();
    let status = service
        .run(&records, &audit, &owner, ipfs, ledger)
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(status.state, RebuildState::Done, "{status:?}");
    assert_eq!(status.not_found, 0, "{status:?}");
    (took, status.records_opened, status.grants_found)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run());
}

async fn run() {
    let (n_records, n_grants, n_other) = (
        count("RECORDS", 1_000),
        count("GRANTS", 200),
        count("OTHER_EVENTS", 100_000),
    );
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let tools = NodeTools::locate().unwrap();
    let ipfs_node = Ipfs::start(&tools, &IpfsOptions::ephemeral(root.join("ipfs"))).unwrap();
    let anvil = Anvil::start(&tools, &AnvilOptions::ephemeral(root.join("anvil"))).unwrap();
    let ipfs = Url::parse(&ipfs_node.api_url()).unwrap();
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

    // Setup (not timed as the figure): the patient's records and grants.
    let patient = wallet(201, Role::Patient, "benchpatient");
    let doctor = wallet(202, Role::Doctor, "benchdoctor");
    let patient_svc = RecordService::new(&root.join("patient"));
    let doctor_svc = RecordService::new(&root.join("doctor"));
    doctor_svc
        .list_shared(&doctor, &ipfs, &ledger)
        .await
        .unwrap();
    let setup = Instant::now();
    let files = root.join("files");
    std::fs::create_dir_all(&files).unwrap();
    let quiet: medwallet_core::records::Progress = Arc::new(|_| {});
    let mut ids = Vec::with_capacity(n_records);
    for i in 0..n_records {
        let path = files.join(format!("note-{i}.txt"));
        std::fs::write(&path, format!("Visit note {i}\n")).unwrap();
        let r = patient_svc
            .add(
                &patient,
                &ipfs,
                &ledger,
                &format!("job-{i}"),
                &path.display().to_string(),
                &RecordMetadata {
                    title: format!("Note {i}"),
                    category: Category::Note,
                    date: "2026-03-01".to_owned(),
                    author: "Dr. Bench".to_owned(),
                },
                quiet.clone(),
            )
            .await
            .unwrap();
        ids.push(r.id);
    }
    let added = setup.elapsed();
    patient_svc
        .share(
            &patient,
            &ipfs,
            &ledger,
            &ShareRequest {
                record_ids: ids[..n_grants.min(ids.len())].to_vec(),
                grantee: doctor.address.clone(),
                clause: None,
                group: None,
                expires_in_days: None,
                seen_fingerprint: None,
            },
        )
        .await
        .unwrap();
    println!(
        "setup: {n_records} records added in {}, {n_grants} grants in {}",
        secs(added),
        secs(setup.elapsed() - added)
    );

    // 1. The rebuild on a chain that holds only this wallet's events.
    let (alone, records, grants) =
        rebuild(&root.join("restore-1"), &ipfs, &ledger, "restoreone").await;
    assert_eq!((records as usize, grants as usize), (n_records, n_grants));
    let head_before = LedgerNode::new(&url).status().await.unwrap().block_height;
    let (own_before, own_events) = read_own(&root.join("own-1"), &url, contract).await;

    // 2. Other wallets' events on the same chain, then the rebuild again.
    let written = Instant::now();
    medwallet_ledger::testing::write_events(&url, contract, PrivateKeySigner::random(), n_other, 0)
        .await
        .unwrap();
    let head_after = LedgerNode::new(&url).status().await.unwrap().block_height;
    println!(
        "{n_other} other events written in {} (blocks {head_before} → {head_after})",
        secs(written.elapsed())
    );
    let (crowded, records, grants) =
        rebuild(&root.join("restore-2"), &ipfs, &ledger, "restoretwo").await;
    let (own_after, own_events_after) = read_own(&root.join("own-2"), &url, contract).await;
    assert_eq!(own_events, own_events_after);
    assert_eq!((records as usize, grants as usize), (n_records, n_grants));

    // Peers: every event of the contract read (no topic filter), and the node's own cat
    // of the small objects a rebuild fetches (two per record, one per grant's capsule).
    let node = LedgerNode::new(&url);
    let started = Instant::now();
    let all = node
        .fetch_events(contract, 0, head_after, &EventFilter::All)
        .await
        .unwrap();
    let read_all = started.elapsed();
    let listed = patient_svc.list(&patient).await.unwrap();
    let mut small: Vec<Cid> = Vec::with_capacity(2 * listed.len());
    for r in &listed {
        let opened = patient_svc.open(&patient, &ipfs, &r.id).await.unwrap();
        for cid in [
            &opened.verification.manifest_cid,
            &opened.verification.capsule_cid,
        ] {
            small.push(cid.parse().unwrap());
        }
    }
    let ipfs_client = IpfsNode::new(&ipfs).unwrap();
    let started = Instant::now();
    for cid in &small {
        ipfs_client
            .cat_to(cid, std::io::sink(), 1 << 20)
            .await
            .unwrap();
    }
    let cats = started.elapsed();

    println!();
    println!("| what | time |");
    println!("|---|---|");
    println!("| rebuild: {n_records} records, {n_grants} grants, a chain with only this wallet's events | {} |", secs(alone));
    println!(
        "| rebuild: the same, after {n_other} events of another wallet | {} |",
        secs(crowded)
    );
    println!(
        "| its ledger step alone: the wallet's {own_events} events read by topic into a fresh cache, before / after the other events | {} / {} |",
        secs(own_before),
        secs(own_after)
    );
    println!(
        "| peer: every event of the contract read ({} events, no topic filter) | {} |",
        all.events.len(),
        secs(read_all)
    );
    println!(
        "| peer: the node's own cat of the {} manifests and capsules, one after another | {} |",
        small.len(),
        secs(cats)
    );
    println!();
    println!(
        "ratio: rebuild after / before the other events = {:.2}",
        crowded.as_secs_f64() / alone.as_secs_f64()
    );
    drop((ipfs_node, anvil));
}
