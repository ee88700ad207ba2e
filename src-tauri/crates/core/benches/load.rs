//! The app under load, against real nodes (js-ipfs and anvil with the contract, started
//! here): 20 adds of 50 MiB at once, through [`App::add_record`] (what the `add_record`
//! command calls), while a sharing pass and an audit sync run, and the calls the window
//! polls are answered.
//!
//! - **The load**: a patient's wallet (made with [`App::create_wallet`]) has 10 small
//!   records shared with a group of three. At the start, 20 files of 50 MiB (random
//!   bytes, written before) are added at once; with them, the sharing pass removes one
//!   member (its 10 records re-encrypted, uploaded, registered: the heaviest sharing
//!   work) while [`background::pass`] runs again and again, and the audit sync asks
//!   [`App::audit_trail`] for its first page (each call reads the ledger since the last)
//!   again and again, until the last add and the removal are done.
//! - **Responsiveness**: until then, [`App::session_state`] (what the window polls every
//!   3 s, `get_session_state`) every 50 ms and [`App::list_records`] (the Records page's
//!   first 50, every 10 s in the window) every 500 ms, each timed from call to answer on
//!   the same runtime as the load: the IPC round trip without tauri's own serialization
//!   and webview hop, which this bench does not include.
//! - **Memory**: the process's peak resident set (`VmHWM` in `/proc/self/status`) after
//!   the setup (the wallet's creation runs Argon2id, which alone takes up to 256 MiB),
//!   then reset (`/proc/self/clear_refs`) and read again after the load: the load's own
//!   peak; and the resident set sampled every 100 ms. The nodes are other processes: not
//!   counted.
//! - **The peer**: the node's own `add` of the same 20 plaintext files at once (its RPC
//!   API directly, one `Content-Length` POST each, as the records pipeline bench does),
//!   so the load's time is also given as a ratio to it.
//!
//! Run: `cargo bench -p medwallet-core --bench load` (needs the node tools:
//! `MEDWALLET_NODE_TOOLS`, set by `scripts/lib.sh`; about 2.5 GB in the temporary
//! folder). `LOAD_FILES` and `LOAD_MIB` change the 20 and the 50.

mod common;

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::meta;
use medwallet_abe::rand_core::{OsRng, RngCore};
use medwallet_api::commands::NewWalletArgs;
use medwallet_api::{AuditQuery, NodeSettings, RecordQuery, ShareRequest, TrailPage};
use medwallet_core::{background, App, Defaults, RecordService};
use medwallet_vault::Role;

const MIB: usize = 1024 * 1024;
/// Records shared with the group before the load (re-encrypted by the sharing pass).
const SHARED: usize = 10;
/// The group's members before the removal.
const MEMBERS: u32 = 3;
/// This bench's wallets' seeds start with this byte.
const SEED: u8 = 0x6c;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// A line of `/proc/self/status` (`VmHWM`, `VmRSS`), in MiB.
fn status_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .unwrap_or_else(|| panic!("{field} in /proc/self/status"));
    let kib: f64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap();
    kib / 1024.0
}

/// Writes `mib` MiB of fresh random bytes to `path`, one MiB at a time (a file in memory
/// would be the process's peak).
fn write_random(path: &Path, mib: usize) {
    let mut f = std::io::BufWriter::new(File::create(path).unwrap());
    let mut buf = vec![0u8; MIB];
    for _ in 0..mib {
        OsRng.fill_bytes(&mut buf);
        f.write_all(&buf).unwrap();
    }
    f.flush().unwrap();
}

/// The node's own add of `path`: one POST to its RPC API, the file copied into the
/// socket as it is read.
fn node_add(port: u16, path: &Path) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let boundary = "medwallet-bench-boundary";
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    );
    let tail = format!("\r\n--{boundary}--\r\n");
    let len = head.len() as u64 + std::fs::metadata(path).unwrap().len() + tail.len() as u64;
    write!(
        s,
        "POST /api/v0/add?cid-version=1&raw-leaves=true&pin=true&chunker=size-262144 HTTP/1.1\r\n\
         Host: 127.0.0.1:{port}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n\
         Content-Length: {len}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    s.write_all(head.as_bytes()).unwrap();
    std::io::copy(&mut File::open(path).unwrap(), &mut s).unwrap();
    s.write_all(tail.as_bytes()).unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 200") && answer.contains("\"Hash\""),
        "{answer}"
    );
}

/// p50, p99 and max of `v`, in milliseconds.
fn percentiles(name: &str, mut v: Vec<Duration>) -> String {
    v.sort();
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    format!(
        "{name}: {} calls, p50 {}, p99 {}, max {}",
        v.len(),
        common::ms(at(0.5)),
        common::ms(at(0.99)),
        common::ms(*v.last().unwrap())
    )
}

/// Calls `call` every `every` until `stop`, timing each.
async fn probe<F, Fut>(stop: Arc<AtomicBool>, every: Duration, call: F) -> Vec<Duration>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut times = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let t = Instant::now();
        call().await;
        times.push(t.elapsed());
        // Pacing, as the window's timers pace it (not a wait for a state).
        tokio::time::sleep(every).await;
    }
    times
}

fn main() {
    let files = env_or("LOAD_FILES", 20);
    let mib = env_or("LOAD_MIB", 50);
    // tauri's runtime: tokio's multi-threaded one, a worker per core.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_owned();
    let (ipfs, ledger, _nodes) = rt.block_on(common::start_nodes(&root));
    let ipfs_port = ipfs.port().unwrap();

    let setup = Instant::now();
    std::fs::create_dir_all(root.join("app")).unwrap();
    let app = rt
        .block_on(App::open(
            &root.join("app"),
            None,
            Defaults(NodeSettings {
                ipfs_url: ipfs.as_str().trim_end_matches('/').to_owned(),
                ledger_url: ledger.url.as_str().trim_end_matches('/').to_owned(),
                contract_address: ledger.contract.map(|c| c.to_string()),
                ..Default::default()
            }),
        ))
        .expect("the bench's data folder opens");
    let leaving = rt.block_on(async {
        app.create_wallet(&NewWalletArgs {
            role: medwallet_api::Role::Patient,
            display_name: "Load".into(),
            passphrase: "orbit violet harbour lantern quietly".into(),
            accept_weak: true,
        })
        .await
        .unwrap();
        let mut ids = Vec::new();
        for i in 0..SHARED {
            let path = root.join(format!("shared-{i}.txt"));
            std::fs::write(&path, format!("shared note {i}")).unwrap();
            let quiet: medwallet_core::records::Progress = Arc::new(|_| {});
            let r = app
                .add_record(
                    &format!("shared-{i}"),
                    &path.display().to_string(),
                    &meta("Shared note"),
                    quiet,
                )
                .await
                .unwrap();
            ids.push(r.id);
        }
        let mut last = String::new();
        for n in 1..=MEMBERS {
            // A person whose wallet has published its keys.
            let who = common::wallet(SEED, n, Role::Doctor);
            RecordService::new(&root.join(format!("person-{n}")))
                .list_shared(&who, &ipfs, &ledger)
                .await
                .unwrap();
            app.add_group_member("careteam", &who.address)
                .await
                .unwrap();
            last = who.address;
        }
        app.share_records(&ShareRequest {
            record_ids: ids,
            grantee: String::new(),
            clause: None,
            group: Some("careteam".to_owned()),
            expires_in_days: None,
            seen_fingerprint: None,
        })
        .await
        .unwrap();
        last
    });
    let paths: Vec<PathBuf> = (0..files)
        .map(|i| {
            let path = root.join(format!("scan-{i}.bin"));
            write_random(&path, mib);
            path
        })
        .collect();
    let hwm_setup = status_mib("VmHWM");
    println!(
        "setup: a patient with {SHARED} records shared with a group of {MEMBERS}, {files} files of {mib} MiB written, in {:.1} s; peak RSS so far {hwm_setup:.0} MiB (the wallet's creation: Argon2id, up to 256 MiB)",
        setup.elapsed().as_secs_f64()
    );
    // From here VmHWM is the load's own peak: "5" resets it to the current RSS (Linux 4.0+).
    std::fs::write("/proc/self/clear_refs", "5").unwrap();

    // The load.
    let stop = Arc::new(AtomicBool::new(false));
    let rss_max = Arc::new(Mutex::new(0f64));
    let sampler = {
        let (stop, rss_max) = (stop.clone(), rss_max.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let rss = status_mib("VmRSS");
                let mut max = rss_max.lock().unwrap();
                *max = max.max(rss);
                drop(max);
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let started = Instant::now();
    let (adds, state_times, list_times, passes, audits, removal) = rt.block_on(async {
        let adds: Vec<_> = paths
            .iter()
            .enumerate()
            .map(|(i, path)| {
                let (app, path) = (app.clone(), path.display().to_string());
                tokio::spawn(async move {
                    let quiet: medwallet_core::records::Progress = Arc::new(|_| {});
                    let t = Instant::now();
                    let r = app
                        .add_record(&format!("load-{i}"), &path, &meta("Scan"), quiet)
                        .await;
                    (r, t.elapsed())
                })
            })
            .collect();
        let removal = {
            let app = app.clone();
            tokio::spawn(async move {
                let t = Instant::now();
                app.remove_group_member("careteam", &leaving).await.unwrap();
                t.elapsed()
            })
        };
        let passes = {
            let (app, stop) = (app.clone(), stop.clone());
            tokio::spawn(async move {
                let mut passes = 0u32;
                while !stop.load(Ordering::Relaxed) {
                    background::pass(&app).await;
                    passes += 1;
                }
                passes
            })
        };
        let audit = {
            let (app, stop) = (app.clone(), stop.clone());
            tokio::spawn(async move {
                let mut syncs = 0u32;
                while !stop.load(Ordering::Relaxed) {
                    app.audit_trail(&TrailPage::first(AuditQuery::default(), 100))
                        .await
                        .unwrap();
                    syncs += 1;
                }
                syncs
            })
        };
        let state = tokio::spawn({
            let (app, stop) = (app.clone(), stop.clone());
            async move {
                probe(stop, Duration::from_millis(50), || async {
                    app.session_state().await;
                })
                .await
            }
        });
        let list = tokio::spawn({
            let (app, stop) = (app.clone(), stop.clone());
            async move {
                let query = RecordQuery {
                    limit: 50,
                    ..Default::default()
                };
                probe(stop, Duration::from_millis(500), || async {
                    app.list_records(&query).await.unwrap();
                })
                .await
            }
        });
        let mut done = Vec::new();
        for add in adds {
            done.push(add.await.unwrap());
        }
        let load = started.elapsed();
        // The pass, the sync and the probes go on while the removal does.
        let removal = removal.await.unwrap();
        let all = started.elapsed();
        stop.store(true, Ordering::Relaxed);
        (
            (done, load, all),
            state.await.unwrap(),
            list.await.unwrap(),
            passes.await.unwrap(),
            audit.await.unwrap(),
            removal,
        )
    });
    sampler.join().unwrap();
    let ((done, load, all), hwm_load) = (adds, status_mib("VmHWM"));
    let mut ok = 0;
    for (r, _) in &done {
        match r {
            Ok(summary) => {
                ok += 1;
                assert_eq!(summary.size, (mib * MIB) as u64);
            }
            Err(e) => println!("an add failed: {e:?}"),
        }
    }
    let slowest = done.iter().map(|(_, t)| *t).max().unwrap();
    println!(
        "load: {ok} of {files} adds of {mib} MiB done in {:.1} s (slowest add {:.1} s, {:.0} MiB/s overall); the removal (its {SHARED} records re-encrypted) took {:.1} s; until both ended ({:.1} s) {passes} background passes and {audits} audit syncs ran beside",
        load.as_secs_f64(),
        slowest.as_secs_f64(),
        (files * mib) as f64 / load.as_secs_f64(),
        removal.as_secs_f64(),
        all.as_secs_f64(),
    );
    println!(
        "  {}",
        percentiles("session_state (get_session_state)", state_times)
    );
    println!(
        "  {}",
        percentiles("list_records, first 50 (list_records)", list_times)
    );
    println!(
        "  peak RSS (VmHWM) of the load: {hwm_load:.0} MiB (reset after the setup, whose peak was {hwm_setup:.0} MiB); RSS sampled every 100 ms at most {:.0} MiB; the process's peak {:.0} MiB; target < 300 MiB",
        *rss_max.lock().unwrap(),
        hwm_load.max(hwm_setup)
    );
    assert_eq!(ok, files, "every add completes");

    // The peer: the node's own add of the same plaintext, all at once.
    let t = Instant::now();
    std::thread::scope(|s| {
        for path in &paths {
            s.spawn(move || node_add(ipfs_port, path));
        }
    });
    let peer = t.elapsed();
    println!(
        "peer: the node's own add of the same {files} files at once: {:.1} s ({:.0} MiB/s); the load took {:.2}x that",
        peer.as_secs_f64(),
        (files * mib) as f64 / peer.as_secs_f64(),
        load.as_secs_f64() / peer.as_secs_f64()
    );
    println!(
        "peak RSS (VmHWM) since the setup, the peer included: {:.0} MiB",
        status_mib("VmHWM")
    );
}
