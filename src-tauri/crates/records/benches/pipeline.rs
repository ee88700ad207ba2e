//! The record pipeline against its limits.
//!
//! 1. `encrypt/*`: [`stream::encrypt`] over 64 MiB in memory (reading the plaintext,
//!    sealing each 64 KiB chunk, hashing the ciphertext into its IPFS CID, writing it)
//!    against the raw work it cannot avoid: ring's AES-256-GCM `seal_in_place` over the
//!    same 64 KiB chunks plus one SHA-256 over the same bytes, in place, no I/O.
//! 2. `upload/*`: 256 MiB to a real js-ipfs node (started here by medwallet-devnodes):
//!    the node's own ingest of the plaintext through a minimal HTTP client (one
//!    `Content-Length` POST, the file sent with `std::io::copy`), against `add_file` of
//!    the plaintext, `add_file` of the encrypted file, and encrypt + `add_file`. Every
//!    iteration sends fresh bytes (no block the node already has) and the node's repo is
//!    garbage-collected between iterations.
//!
//! Run: `cargo bench -p medwallet-records --bench pipeline` (the upload part needs the
//! node tools: `MEDWALLET_NODE_TOOLS`, set by `scripts/lib.sh`). A summary with the
//! ratios is printed at the end.

use std::fs::File;
use std::hint::black_box;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput};
use medwallet_abe::rand_core::{OsRng, RngCore};
use medwallet_abe::DataKey;
use medwallet_devnodes::{Ipfs, IpfsOptions, NodeTools};
use medwallet_records::stream::{self, CHUNK_SIZE};
use medwallet_records::{Cid, CidBuilder, IpfsNode};
use ring::{aead, digest};

const MIB: usize = 1024 * 1024;
const ENCRYPT_SIZE: usize = 64 * MIB;
const UPLOAD_SIZE: usize = 256 * MIB;

fn random(len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    OsRng.fill_bytes(&mut v);
    v
}

/// The raw limit: seal every 64 KiB chunk in place and hash the same bytes.
fn raw_limit(key: &aead::LessSafeKey, buf: &mut [u8]) -> digest::Digest {
    let mut sha = digest::Context::new(&digest::SHA256);
    for (i, chunk) in buf.chunks_mut(CHUNK_SIZE).enumerate() {
        let mut n = [0u8; 12];
        n[3..11].copy_from_slice(&(i as u64).to_be_bytes());
        let tag = key
            .seal_in_place_separate_tag(
                aead::Nonce::assume_unique_for_key(n),
                aead::Aad::empty(),
                chunk,
            )
            .unwrap();
        sha.update(chunk);
        sha.update(tag.as_ref());
    }
    sha.finish()
}

fn pipeline(dek: &DataKey, plain: &[u8], out: &mut Vec<u8>) -> stream::Encrypted {
    out.clear();
    stream::encrypt(dek, plain, &mut *out, &mut |_| {}, &AtomicBool::new(false)).unwrap()
}

fn bench_encrypt(c: &mut Criterion) {
    let dek = DataKey::generate(&mut OsRng);
    let key = aead::LessSafeKey::new(aead::UnboundKey::new(&aead::AES_256_GCM, &[7; 32]).unwrap());
    let plain = random(ENCRYPT_SIZE);
    let mut buf = plain.clone();
    let mut out = Vec::with_capacity(stream::ciphertext_len(ENCRYPT_SIZE as u64) as usize);

    let mut g = c.benchmark_group("encrypt");
    g.throughput(Throughput::Bytes(ENCRYPT_SIZE as u64));
    g.sample_size(20);
    g.bench_function("raw_limit_seal_and_sha256_64MiB", |b| {
        b.iter(|| black_box(raw_limit(&key, &mut buf)))
    });
    g.bench_function("stream_encrypt_with_cid_64MiB", |b| {
        b.iter(|| black_box(pipeline(&dek, &plain, &mut out)))
    });
    g.finish();
}

/// Best of `runs` wall-clock times of `f`.
fn best_of(runs: usize, mut f: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap()
}

fn mb_s(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / MIB as f64 / d.as_secs_f64()
}

/// The encrypt ratio, measured in the same process right after criterion's run.
fn encrypt_summary() -> String {
    let dek = DataKey::generate(&mut OsRng);
    let key = aead::LessSafeKey::new(aead::UnboundKey::new(&aead::AES_256_GCM, &[7; 32]).unwrap());
    let plain = random(ENCRYPT_SIZE);
    let mut buf = plain.clone();
    let mut out = Vec::with_capacity(stream::ciphertext_len(ENCRYPT_SIZE as u64) as usize);
    let raw = best_of(15, || {
        black_box(raw_limit(&key, &mut buf));
    });
    let ours = best_of(15, || {
        black_box(pipeline(&dek, &plain, &mut out));
    });
    let sha_only = best_of(15, || {
        black_box(digest::digest(&digest::SHA256, &buf));
    });
    let cid_only = best_of(15, || {
        let mut b = CidBuilder::new();
        b.update(&buf);
        black_box(b.finish());
    });
    format!(
        "encrypt 64 MiB (best of 15): raw limit {:.0} MiB/s, stream::encrypt+CID {:.0} MiB/s, ratio {:.2}\n\
         (for reference: SHA-256 alone {:.0} MiB/s, CidBuilder alone {:.0} MiB/s)",
        mb_s(ENCRYPT_SIZE, raw),
        mb_s(ENCRYPT_SIZE, ours),
        raw.as_secs_f64() / ours.as_secs_f64(),
        mb_s(ENCRYPT_SIZE, sha_only),
        mb_s(ENCRYPT_SIZE, cid_only),
    )
}

/// A minimal HTTP/1.1 client for the baseline: one POST with a Content-Length, the
/// file copied straight into the socket. Returns the response body.
fn raw_post(port: u16, path_and_query: &str, file: Option<&Path>) -> String {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let boundary = "medwallet-bench-boundary";
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    );
    let tail = format!("\r\n--{boundary}--\r\n");
    let file_len = file.map_or(0, |p| std::fs::metadata(p).unwrap().len());
    let body_len = if file.is_some() {
        head.len() as u64 + file_len + tail.len() as u64
    } else {
        0
    };
    let content_type = if file.is_some() {
        format!("Content-Type: multipart/form-data; boundary={boundary}\r\n")
    } else {
        String::new()
    };
    write!(
        s,
        "POST {path_and_query} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{content_type}\
         Content-Length: {body_len}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    if let Some(p) = file {
        s.write_all(head.as_bytes()).unwrap();
        std::io::copy(&mut File::open(p).unwrap(), &mut s).unwrap();
        s.write_all(tail.as_bytes()).unwrap();
    }
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    answer
}

struct UploadBench {
    _dir: tempfile::TempDir,
    _ipfs: Ipfs,
    port: u16,
    client: IpfsNode,
    rt: tokio::runtime::Runtime,
    plain: std::path::PathBuf,
    enc: std::path::PathBuf,
}

impl UploadBench {
    fn start() -> Option<UploadBench> {
        let tools = match NodeTools::locate() {
            Ok(t) => t,
            Err(e) => {
                eprintln!("upload benchmarks skipped: {e} (set MEDWALLET_NODE_TOOLS)");
                return None;
            }
        };
        let dir = tempfile::tempdir().unwrap();
        let ipfs = Ipfs::start(&tools, &IpfsOptions::ephemeral(dir.path().join("ipfs"))).unwrap();
        let port = ipfs.api_port();
        let client = IpfsNode::new(&url::Url::parse(&ipfs.api_url()).unwrap()).unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        Some(UploadBench {
            plain: dir.path().join("plain"),
            enc: dir.path().join("plain.enc"),
            _dir: dir,
            _ipfs: ipfs,
            port,
            client,
            rt,
        })
    }

    /// Fresh random plaintext (no block the node has seen), written to `self.plain`.
    fn fresh_plaintext(&self) {
        let mut f = std::io::BufWriter::new(File::create(&self.plain).unwrap());
        let mut block = vec![0u8; 4 * MIB];
        for _ in 0..UPLOAD_SIZE / block.len() {
            OsRng.fill_bytes(&mut block);
            f.write_all(&block).unwrap();
        }
        f.flush().unwrap();
    }

    fn encrypt(&self) -> stream::Encrypted {
        stream::encrypt(
            &DataKey::generate(&mut OsRng),
            std::io::BufReader::with_capacity(256 * 1024, File::open(&self.plain).unwrap()),
            std::io::BufWriter::with_capacity(256 * 1024, File::create(&self.enc).unwrap()),
            &mut |_| {},
            &AtomicBool::new(false),
        )
        .unwrap()
    }

    fn add_file(&self, path: &Path, expected: &Cid) -> Cid {
        let got = self
            .rt
            .block_on(self.client.add_file(
                path,
                expected,
                |_| {},
                Arc::new(AtomicBool::new(false)),
            ))
            .unwrap();
        assert_eq!(&got, expected);
        got
    }

    fn node_add(&self, path: &Path) -> Cid {
        let answer = raw_post(
            self.port,
            "/api/v0/add?cid-version=1&raw-leaves=true&pin=true&chunker=size-262144",
            Some(path),
        );
        let at = answer.find("\"Hash\":\"").expect("an add answer") + 8;
        let hash: String = answer[at..].chars().take_while(|c| *c != '"').collect();
        hash.parse().unwrap()
    }

    /// Unpins what an iteration added and collects it, so the next starts clean.
    fn reset(&self, cid: &Cid) {
        self.rt.block_on(self.client.unpin(cid)).unwrap();
        let gc = raw_post(self.port, "/api/v0/repo/gc", None);
        assert!(gc.starts_with("HTTP/1.1 200"), "{gc}");
    }

    /// Times `op` with fresh plaintext each iteration; `prepare` runs untimed after
    /// the plaintext is written.
    fn time<P>(
        &self,
        iters: u64,
        prepare: impl Fn(&Self) -> P,
        op: impl Fn(&Self, P) -> Cid,
    ) -> Duration {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            self.fresh_plaintext();
            let p = prepare(self);
            let t = Instant::now();
            let cid = op(self, p);
            total += t.elapsed();
            self.reset(&cid);
        }
        total
    }
}

fn bench_upload(c: &mut Criterion, summary: &mut Vec<String>) {
    let Some(u) = UploadBench::start() else {
        return;
    };
    let mut g = c.benchmark_group("upload");
    g.throughput(Throughput::Bytes(UPLOAD_SIZE as u64));
    g.sampling_mode(SamplingMode::Flat);
    g.sample_size(10);
    g.warm_up_time(Duration::from_millis(1));
    g.measurement_time(Duration::from_secs(30));

    let mut medians = Vec::new();
    let mut run = |name: &str, f: &dyn Fn(u64) -> Duration| {
        let mut times = Vec::new();
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let d = f(iters);
                times.push(d / iters as u32);
                d
            })
        });
        times.sort();
        if !times.is_empty() {
            medians.push((name.to_owned(), times[times.len() / 2]));
        }
    };
    run("node_add_plaintext_256MiB", &|iters| {
        u.time(iters, |_| (), |u, ()| u.node_add(&u.plain))
    });
    run("add_file_plaintext_256MiB", &|iters| {
        u.time(
            iters,
            |u| cid_of_file(&u.plain),
            |u, cid| u.add_file(&u.plain, &cid),
        )
    });
    run("add_file_encrypted_256MiB", &|iters| {
        u.time(
            iters,
            |u| u.encrypt().cid,
            |u, cid| u.add_file(&u.enc, &cid),
        )
    });
    run("encrypt_then_add_file_256MiB", &|iters| {
        u.time(
            iters,
            |_| (),
            |u, ()| {
                let e = u.encrypt();
                u.add_file(&u.enc, &e.cid)
            },
        )
    });
    g.finish();

    let Some(&(_, base)) = medians.first() else {
        return;
    };
    summary.push(format!("upload 256 MiB (median of {} samples):", 10));
    for (name, d) in &medians {
        summary.push(format!(
            "  {name}: {:.2} s, {:.0} MiB/s, {:.2} of the node's own add",
            d.as_secs_f64(),
            mb_s(UPLOAD_SIZE, *d),
            base.as_secs_f64() / d.as_secs_f64()
        ));
    }
}

fn cid_of_file(path: &Path) -> Cid {
    let mut b = CidBuilder::new();
    std::io::copy(&mut File::open(path).unwrap(), &mut b).unwrap();
    b.finish()
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let mut summary = Vec::new();
    bench_encrypt(&mut c);
    summary.push(encrypt_summary());
    bench_upload(&mut c, &mut summary);
    c.final_summary();
    println!("\nsummary\n{}", summary.join("\n"));
}
