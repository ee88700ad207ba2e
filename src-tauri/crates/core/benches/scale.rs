//! Scale (issue 18): what a doctor and a patient wait for on a ledger shared by a region,
//! against real nodes (js-ipfs, anvil with the contract), release build.
//!
//! The ledger holds, besides this bench's own wallets, the events of other wallets: with
//! `MEDWALLET_SCALE_EVENTS=N`, a saved benchmark chain of N events from 10,000 wallets
//! (`medwallet_devnodes::bench_chain`: generated on the first run, minutes for a million,
//! then loaded), or, without it, none. Run once at 0, 100,000 and 1,000,000 events, the
//! figures show how each grows with other wallets' events (it should not).
//! Among them, twenty patients share ten records each with one doctor (200 records), and
//! the figures are:
//!
//! 1. the doctor's "Shared with me" from an empty event cache (a new device), and again
//!    from a warm one (median of 7);
//! 2. opening one of the shared records, warm (the access logged, the record fetched,
//!    checked and decrypted);
//! 3. a patient's background pass with nothing due (median of 50): time and ledger calls,
//!    counted by a proxy in front of the node; and the pass with one expiry due (the
//!    chain's clock moved past a grant's expiry: the revocation and its re-encryption);
//! 4. sharing 300 records with a new doctor: transactions and wall time.
//!
//! Run: `MEDWALLET_SCALE_EVENTS=1000000 cargo bench -p medwallet-core --bench scale`
//! (needs the node tools: `MEDWALLET_NODE_TOOLS`, set by `scripts/lib.sh`).

mod common;

use std::sync::Arc;
use std::time::Instant;

use common::{median, meta, ms};
use medwallet_api::ShareRequest;
use medwallet_core::audit::AuditService;
use medwallet_core::background::{wallet_pass, Paced, Pacer};
use medwallet_core::{LedgerTarget, Owner, RecordService};
use medwallet_devnodes::bench_chain::{self, BenchChain};
use medwallet_devnodes::{Anvil, AnvilOptions, CountingProxy, Ipfs, IpfsOptions, NodeTools};
use medwallet_ledger::testing::generate::Shape;
use medwallet_ledger::{EventFilter, LedgerEvent, LedgerNode, PrivateKeySigner};
use medwallet_vault::Role;
use url::Url;

const PATIENTS: u32 = 20;
const RECORDS_EACH: usize = 10;
const SHARED_AT_ONCE: usize = 300;

/// This bench's wallets' seeds start with this byte.
const SEED: u8 = 0x5c;

fn wallet(n: u32, role: Role) -> Owner {
    common::wallet(SEED, n, role)
}

fn share(records: &[String], grantee: &str, days: Option<u32>) -> ShareRequest {
    ShareRequest {
        record_ids: records.to_vec(),
        grantee: grantee.to_owned(),
        clause: None,
        group: None,
        expires_in_days: days,
        seen_fingerprint: None,
    }
}

struct World {
    root: std::path::PathBuf,
    ipfs: Url,
    ledger: LedgerTarget,
    _nodes: (Ipfs, Ledger),
}

/// The ledger node: an empty anvil, or a loaded benchmark chain (both stopped on drop).
#[allow(dead_code)]
enum Ledger {
    Empty(Anvil),
    Loaded(Box<BenchChain>),
}

impl World {
    async fn add(&self, svc: &RecordService, owner: &Owner, n: usize) -> String {
        let name = format!("{}-{n}.txt", owner.wallet_id);
        let path = self.root.join(&name);
        std::fs::write(&path, format!("record {n} of {}", owner.address)).unwrap();
        let quiet: medwallet_core::records::Progress = Arc::new(|_| {});
        svc.add(
            owner,
            &self.ipfs,
            &self.ledger,
            &name,
            &path.display().to_string(),
            &meta(&name),
            quiet,
        )
        .await
        .unwrap()
        .id
    }

    fn service(&self, name: &str) -> RecordService {
        RecordService::new(&self.root.join(name))
    }
}

fn main() {
    // `RUST_LOG=medwallet_core=debug` shows where a figure's time goes.
    if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_default_env() {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(run());
}

async fn run() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let tools = NodeTools::locate().expect("node tools (scripts/lib.sh sets MEDWALLET_NODE_TOOLS)");
    let ipfs = Ipfs::start(&tools, &IpfsOptions::ephemeral(root.join("ipfs"))).unwrap();
    let events: u64 = std::env::var("MEDWALLET_SCALE_EVENTS")
        .ok()
        .map(|v| {
            v.replace(['_', ','], "")
                .parse()
                .expect("MEDWALLET_SCALE_EVENTS is a number of events")
        })
        .unwrap_or(0);
    let (ledger_node, url, contract) = if events == 0 {
        let anvil = Anvil::start(&tools, &AnvilOptions::ephemeral(root.join("anvil"))).unwrap();
        let url = Url::parse(&anvil.url()).unwrap();
        let contract = LedgerNode::new(&url)
            .deploy(PrivateKeySigner::random())
            .await
            .unwrap();
        (Ledger::Empty(anvil), url, contract)
    } else {
        let shape = Shape {
            events,
            wallets: 10_000,
        };
        let chain = bench_chain::bench_chain(&tools, shape, &|line| eprintln!("{line}"))
            .await
            .unwrap();
        println!(
            "the chain: {} events from {} wallets, loaded in {:.1} s",
            chain.meta.events, chain.meta.wallets, chain.load_seconds
        );
        let (url, contract) = (chain.url.clone(), chain.meta.contract);
        (Ledger::Loaded(Box::new(chain)), url, contract)
    };
    let node = LedgerNode::new(&url);
    let world = World {
        root: root.to_owned(),
        ipfs: Url::parse(&ipfs.api_url()).unwrap(),
        ledger: LedgerTarget {
            url: url.clone(),
            contract: Some(contract),
            chain_id: None,
        },
        _nodes: (ipfs, ledger_node),
    };

    // The doctor publishes its keys (its first list does).
    let doctor = wallet(1, Role::Doctor);
    world
        .service("doctor-setup")
        .list_shared(&doctor, &world.ipfs, &world.ledger)
        .await
        .unwrap();

    // Twenty patients, ten records each, all shared with the doctor.
    let started = Instant::now();
    let mut patients = Vec::new();
    for p in 0..PATIENTS {
        let patient = wallet(100 + p, Role::Patient);
        let svc = world.service(&format!("patient-{p}"));
        let mut records = Vec::new();
        for n in 0..RECORDS_EACH {
            records.push(world.add(&svc, &patient, n).await);
        }
        svc.share(
            &patient,
            &world.ipfs,
            &world.ledger,
            &share(&records, &doctor.address, None),
        )
        .await
        .unwrap();
        patients.push((patient, svc, records));
    }
    let head = node.status().await.unwrap().block_height;
    println!(
        "setup: {PATIENTS} patients × {RECORDS_EACH} records shared with the doctor in {:.1} s; the chain: {head} blocks, {events} events of other wallets",
        started.elapsed().as_secs_f64(),
    );

    // 1. The doctor's list: cold (a new device), then warm.
    let doctor_svc = world.service("doctor");
    let t = Instant::now();
    let inbox = doctor_svc
        .list_shared(&doctor, &world.ipfs, &world.ledger)
        .await
        .unwrap();
    let cold = t.elapsed();
    assert_eq!(
        inbox.records.len(),
        PATIENTS as usize * RECORDS_EACH,
        "{:?}",
        inbox.problems
    );
    let mut warm = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        let again = doctor_svc
            .list_shared(&doctor, &world.ipfs, &world.ledger)
            .await
            .unwrap();
        warm.push(t.elapsed());
        assert_eq!(again.records.len(), inbox.records.len());
    }
    println!(
        "doctor, Shared with me ({} records from {PATIENTS} patients): cold {} , warm median {}",
        inbox.records.len(),
        ms(cold),
        ms(median(warm))
    );

    // 2. Opening one, warm.
    let t = Instant::now();
    doctor_svc
        .open_shared(
            &doctor,
            &world.ipfs,
            &world.ledger,
            &inbox.records[0].record_id,
        )
        .await
        .unwrap();
    println!("doctor, open one shared record (warm): {}", ms(t.elapsed()));

    // 3. A patient's pass with nothing due, through a proxy that counts ledger calls.
    let (patient, svc, records) = &patients[0];
    let upstream = url.socket_addrs(|| None).unwrap()[0];
    let proxy = CountingProxy::start(upstream).unwrap();
    let counted = LedgerTarget {
        url: proxy.url().parse().unwrap(),
        ..world.ledger.clone()
    };
    let audit = AuditService::over(svc.event_caches());
    let mut pacer = Pacer::default();
    let first = wallet_pass(svc, &audit, &mut pacer, patient, &world.ipfs, &counted, &[]).await;
    assert_eq!(first.1, Paced::Full);
    let before = proxy.calls();
    let mut quiet = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        let (_, paced) =
            wallet_pass(svc, &audit, &mut pacer, patient, &world.ipfs, &counted, &[]).await;
        quiet.push(t.elapsed());
        assert_eq!(paced, Paced::Quiet);
    }
    println!(
        "patient pass, nothing due: median {} , ledger calls in 50 passes: {}",
        ms(median(quiet)),
        proxy.calls() - before
    );

    // ... and with one expiry due: a one-day grant, the chain's clock two days on.
    let other = wallet(2, Role::Doctor);
    world
        .service("other-setup")
        .list_shared(&other, &world.ipfs, &world.ledger)
        .await
        .unwrap();
    svc.share(
        patient,
        &world.ipfs,
        &counted,
        &share(&records[..1], &other.address, Some(1)),
    )
    .await
    .unwrap();
    medwallet_ledger::testing::advance_time(&url, 2 * 86_400)
        .await
        .unwrap();
    let before = proxy.calls();
    let t = Instant::now();
    let (_, paced) = wallet_pass(
        svc,
        &audit,
        &mut Pacer::default(),
        patient,
        &world.ipfs,
        &counted,
        &[],
    )
    .await;
    println!(
        "patient pass, one expiry due ({paced:?}: revoked, the record re-encrypted): {} , {} ledger calls",
        ms(t.elapsed()),
        proxy.calls() - before
    );

    // 4. Share 300 records with a new doctor.
    let many_owner = wallet(3, Role::Patient);
    let many_svc = world.service("many");
    let mut many = Vec::new();
    for n in 0..SHARED_AT_ONCE {
        many.push(world.add(&many_svc, &many_owner, n).await);
    }
    let newcomer = wallet(4, Role::Doctor);
    world
        .service("newcomer-setup")
        .list_shared(&newcomer, &world.ipfs, &world.ledger)
        .await
        .unwrap();
    let t = Instant::now();
    many_svc
        .share(
            &many_owner,
            &world.ipfs,
            &world.ledger,
            &share(&many, &newcomer.address, None),
        )
        .await
        .unwrap();
    let took = t.elapsed();
    let grants = LedgerNode::new(&url)
        .fetch_events(
            contract,
            0,
            LedgerNode::new(&url).status().await.unwrap().block_height,
            &EventFilter::Wallet(newcomer.address.parse().unwrap()),
        )
        .await
        .unwrap()
        .events;
    let txs: std::collections::BTreeSet<_> = grants
        .iter()
        .filter(|e| matches!(e.event, LedgerEvent::AccessGranted { .. }))
        .map(|e| e.meta.tx_hash)
        .collect();
    println!(
        "share {SHARED_AT_ONCE} records with a new doctor: {} , {} transactions for {} grants (and the key issued)",
        ms(took),
        txs.len(),
        grants.iter().filter(|e| matches!(e.event, LedgerEvent::AccessGranted { .. })).count()
    );
}
