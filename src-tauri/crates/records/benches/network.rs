//! Blocks moving between machines: three js-ipfs nodes on their own loopback addresses
//! (A the patient's, B the doctor's, C a replica), connected as peers.
//!
//! Per iteration, a fresh 100 MiB object (random bytes, as encrypted content is) is
//! added on A with `add_file`, then:
//! 1. **A's own cat**: the node that holds every block streams it (`cat_to` on A, the
//!    same client as the next line, so the ratio is what bitswap adds): the peer, what
//!    any fetch costs at least;
//! 2. **B's first open**: `cat_to` on B, which holds none of it and fetches every block
//!    from A over bitswap (what a doctor's node does the first time);
//! 3. **a replica's copy**: `pin` on C (after `swarm_connect` to A, as the replication
//!    pass does), which fetches the whole DAG from A: the time from the end of the upload
//!    until a second node holds the record.
//!
//! Run: `cargo bench -p medwallet-records --bench network` (needs the node tools,
//! `MEDWALLET_NODE_TOOLS`, set by `scripts/lib.sh`). Prints medians and the ratio of B's
//! open to A's own cat.

use std::fs::File;
use std::io::Write;
use std::net::Ipv4Addr;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use medwallet_abe::rand_core::{OsRng, RngCore};
use medwallet_devnodes::{Ipfs, IpfsOptions, NodeTools};
use medwallet_records::{CidBuilder, IpfsNode};

const MIB: usize = 1024 * 1024;
const SIZE: usize = 100 * MIB;
const ITERATIONS: usize = 5;

fn client(node: &Ipfs) -> IpfsNode {
    IpfsNode::new(&url::Url::parse(&node.api_url()).unwrap()).unwrap()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn mib_s(d: Duration) -> f64 {
    (SIZE as f64 / MIB as f64) / d.as_secs_f64()
}

fn main() {
    // `cargo bench` passes `--bench`; a filter that is not ours means "not this one".
    if std::env::args()
        .skip(1)
        .any(|a| !a.starts_with('-') && !"network".contains(&a))
    {
        return;
    }
    let tools = match NodeTools::locate() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("network benchmark skipped: {e} (set MEDWALLET_NODE_TOOLS)");
            return;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let start = |name: &str, n: u8| {
        let opts = IpfsOptions::peer(dir.path().join(name), Ipv4Addr::new(127, 0, 0, n));
        Ipfs::start(&tools, &opts).unwrap()
    };
    let (a, b, c) = (start("a", 21), start("b", 22), start("c", 23));
    a.connect(&b).unwrap();
    a.connect(&c).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (ca, cb, cc) = (client(&a), client(&b), client(&c));
    let a_swarm = a.swarm_addr().unwrap();
    let file = dir.path().join("object");

    let (mut own, mut first_open, mut replica) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..ITERATIONS {
        // Fresh bytes: no node has any block of it.
        let mut builder = CidBuilder::new();
        let mut out = std::io::BufWriter::new(File::create(&file).unwrap());
        let mut block = vec![0u8; 4 * MIB];
        for _ in 0..SIZE / block.len() {
            OsRng.fill_bytes(&mut block);
            builder.update(&block);
            out.write_all(&block).unwrap();
        }
        out.flush().unwrap();
        drop(out);
        let cid = builder.finish();
        rt.block_on(ca.add_file(&file, &cid, |_| {}, Arc::new(AtomicBool::new(false))))
            .unwrap();

        let t = Instant::now();
        let got = rt
            .block_on(ca.cat_to(&cid, std::io::sink(), SIZE as u64))
            .unwrap();
        own.push(t.elapsed());
        assert_eq!(got, SIZE as u64);

        assert!(!rt.block_on(cb.has_locally(&cid)).unwrap());
        let t = Instant::now();
        let got = rt
            .block_on(cb.cat_to(&cid, std::io::sink(), SIZE as u64))
            .unwrap();
        first_open.push(t.elapsed());
        assert_eq!(got, SIZE as u64);

        let t = Instant::now();
        rt.block_on(cc.swarm_connect(&a_swarm)).unwrap();
        rt.block_on(cc.pin(&cid)).unwrap();
        replica.push(t.elapsed());
        eprintln!(
            "iteration {}: A cat {:.2} s, B first open {:.2} s, C pinned {:.2} s",
            i + 1,
            own[i].as_secs_f64(),
            first_open[i].as_secs_f64(),
            replica[i].as_secs_f64()
        );
        for node in [&ca, &cb, &cc] {
            rt.block_on(node.unpin(&cid)).unwrap();
        }
    }
    let (own, open, pin) = (median(own), median(first_open), median(replica));
    println!("network, 100 MiB, median of {ITERATIONS}:");
    println!(
        "  A's own cat                 {:>6.2} s  {:>6.1} MiB/s",
        own.as_secs_f64(),
        mib_s(own)
    );
    println!(
        "  B's first open (bitswap)    {:>6.2} s  {:>6.1} MiB/s  ratio to A's cat {:.2}",
        open.as_secs_f64(),
        mib_s(open),
        own.as_secs_f64() / open.as_secs_f64()
    );
    println!(
        "  replica C holds it (pin)    {:>6.2} s  {:>6.1} MiB/s",
        pin.as_secs_f64(),
        mib_s(pin)
    );
}
