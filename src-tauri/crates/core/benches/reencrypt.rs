//! Removing a member from a group of 10 with 100 records, against real nodes (js-ipfs and
//! anvil with the contract, started here): the next epoch, new keys for the nine others,
//! and the 100 records re-encrypted, uploaded, registered, each with its exposure report.
//!
//! The same removal is timed side by side in one run, alternating, so each sees the same
//! machine, nodes and ledger size: one by one as before (`Reencryption::ONE_BY_ONE`: each
//! record to its end, its own registration and garbage collection included, through the
//! same steps), batches of 100 records in one lane (what batching alone gains: the
//! registrations in one `updateRecords`, one collection), and the app's batches with four
//! lanes (`Reencryption::APP`).
//! Each removal re-encrypts every record once more; a new member joins between samples
//! (untimed), so the group keeps ten members. Where the time goes is summed from the
//! tracing spans of the node calls and of the revocation's steps (overlapping when four
//! run at once).
//!
//! Run: `cargo bench -p medwallet-core --bench reencrypt` (needs the node tools:
//! `MEDWALLET_NODE_TOOLS`, set by `scripts/lib.sh`). `REENCRYPT_SAMPLES` (default 3)
//! samples of each.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use common::meta;
use medwallet_abe::rand_core::{OsRng, RngCore};
use medwallet_api::{GrantState, ShareRequest};
use medwallet_core::sharing::reencrypt::Reencryption;
use medwallet_core::{LedgerTarget, Owner, RecordService};
use medwallet_devnodes::{Anvil, Ipfs};
use medwallet_vault::Role;
use tracing::span;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;
use url::Url;

const RECORDS: usize = 100;
const MEMBERS: u32 = 10;

/// This bench's wallets' seeds start with this byte.
const SEED: u8 = 0x5a;

fn wallet(n: u32, role: Role) -> Owner {
    common::wallet(SEED, n, role)
}

/// Wall time per span name, summed (spans of concurrent work overlap).
#[derive(Default)]
struct Spans(Mutex<BTreeMap<&'static str, (u64, Duration)>>);

fn spans() -> &'static Spans {
    static SPANS: OnceLock<Spans> = OnceLock::new();
    SPANS.get_or_init(Spans::default)
}

struct Started(Instant);

struct Timing;

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Timing {
    fn on_new_span(&self, _: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(Started(Instant::now()));
        }
    }

    fn on_close(&self, id: span::Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(elapsed) = span.extensions().get::<Started>().map(|s| s.0.elapsed()) else {
            return;
        };
        let mut all = spans().0.lock().unwrap();
        let entry = all.entry(span.name()).or_default();
        entry.0 += 1;
        entry.1 += elapsed;
    }
}

fn take_spans() -> BTreeMap<&'static str, (u64, Duration)> {
    std::mem::take(&mut *spans().0.lock().unwrap())
}

struct Bench {
    root: PathBuf,
    ipfs: Url,
    ledger: LedgerTarget,
    patient: Owner,
    service: RecordService,
    _nodes: (Ipfs, Anvil),
}

impl Bench {
    async fn start(root: &Path) -> Self {
        let (ipfs, ledger, nodes) = common::start_nodes(root).await;
        Self {
            root: root.to_owned(),
            ipfs,
            ledger,
            patient: wallet(0, Role::Patient),
            service: RecordService::new(&root.join("patient")),
            _nodes: nodes,
        }
    }

    async fn add(&self, i: usize) -> String {
        let name = format!("note-{i}.txt");
        let path = self.root.join(&name);
        let mut bytes = vec![0u8; 4096];
        OsRng.fill_bytes(&mut bytes);
        std::fs::write(&path, bytes).unwrap();
        let quiet: medwallet_core::records::Progress = Arc::new(|_| {});
        self.service
            .add(
                &self.patient,
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

    /// A person whose wallet has published its keys, added to `careteam`.
    async fn join(&self, n: u32) -> Owner {
        let who = wallet(n, Role::Doctor);
        RecordService::new(&self.root.join(format!("person-{n}")))
            .list_shared(&who, &self.ipfs, &self.ledger)
            .await
            .unwrap();
        self.service
            .add_group_member(
                &self.patient,
                &self.ipfs,
                &self.ledger,
                "careteam",
                &who.address,
            )
            .await
            .unwrap();
        who
    }

    /// Removes `who`, re-encrypting `how`; its time (the spans are left for the caller).
    async fn remove(&self, who: &Owner, how: Reencryption) -> Duration {
        self.service.set_reencryption(how);
        take_spans();
        let start = Instant::now();
        self.service
            .remove_group_member(
                &self.patient,
                &self.ipfs,
                &self.ledger,
                "careteam",
                &who.address,
            )
            .await
            .unwrap();
        let took = start.elapsed();
        let leaves: Vec<_> = self
            .service
            .list_grants(&self.patient)
            .await
            .unwrap()
            .into_iter()
            .filter(|g| g.leave && g.grantee == who.address)
            .collect();
        assert_eq!(leaves.len(), RECORDS);
        assert!(
            leaves.iter().all(|g| g.state == GrantState::Revoked),
            "{leaves:?}"
        );
        took
    }
}

fn main() {
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(Timing)).unwrap();
    let samples: usize = std::env::var("REENCRYPT_SAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bench = rt.block_on(Bench::start(dir.path()));
    let setup = Instant::now();
    let mut people = 1u32..;
    rt.block_on(async {
        let mut ids = Vec::new();
        for i in 0..RECORDS {
            ids.push(bench.add(i).await);
        }
        for _ in 0..MEMBERS {
            bench.join(people.next().unwrap()).await;
        }
        let grants = bench
            .service
            .share(
                &bench.patient,
                &bench.ipfs,
                &bench.ledger,
                &ShareRequest {
                    record_ids: ids,
                    grantee: String::new(),
                    clause: None,
                    group: Some("careteam".to_owned()),
                    expires_in_days: None,
                    seen_fingerprint: None,
                },
            )
            .await
            .unwrap();
        assert!(grants.iter().all(|g| g.state == GrantState::Active));
    });
    println!(
        "setup: {RECORDS} records shared with a group of {MEMBERS} in {:.1} s",
        setup.elapsed().as_secs_f64()
    );

    let modes = [
        ("one by one (before)", Reencryption::ONE_BY_ONE),
        (
            "batches, 1 lane",
            Reencryption {
                lanes: 1,
                ..Reencryption::APP
            },
        ),
        ("batches, 4 lanes (app)", Reencryption::APP),
    ];
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); modes.len()];
    for sample in 0..samples {
        for (i, (name, how)) in modes.iter().enumerate() {
            // The member removed is the newest; a fresh one joins first, so the group
            // has ten members at each removal.
            let who = rt.block_on(bench.join(people.next().unwrap()));
            let took = rt.block_on(bench.remove(&who, *how));
            println!(
                "sample {sample}, {name}: {:.2} s ({:.1} ms per record)",
                took.as_secs_f64(),
                took.as_secs_f64() * 1000.0 / RECORDS as f64
            );
            for (span, (count, total)) in take_spans() {
                // alloy's spans (and `ledger_transaction`, their parent) stay open as long
                // as a background poller they started: not the transaction's time.
                let ours = span.starts_with("ipfs_")
                    || matches!(
                        span,
                        "run_revocations"
                            | "revoke_batch"
                            | "reencrypt_record"
                            | "make_revision"
                            | "upload_record"
                            | "register_records"
                            | "finish_revoke"
                            | "fetch_events"
                    );
                if ours && total >= Duration::from_millis(20) {
                    println!(
                        "    {span:<24} {count:>5} × {:>7.1} ms = {:>7.2} s",
                        total.as_secs_f64() * 1000.0 / count as f64,
                        total.as_secs_f64()
                    );
                }
            }
            times[i].push(took);
        }
    }
    let medians: Vec<Duration> = times
        .iter_mut()
        .map(|v| {
            v.sort();
            v[v.len() / 2]
        })
        .collect();
    for ((name, _), median) in modes.iter().zip(&medians) {
        println!(
            "median {name}: {:.2} s ({:.1} ms per record), {:.2}× the one-by-one",
            median.as_secs_f64(),
            median.as_secs_f64() * 1000.0 / RECORDS as f64,
            medians[0].as_secs_f64() / median.as_secs_f64()
        );
    }
}
