//! The record format and the IPFS client against a real js-ipfs daemon (one per test,
//! started by medwallet-devnodes on free ports in a temp folder).
//!
//! One test binary: the node tools are found through `MEDWALLET_NODE_TOOLS`
//! (`scripts/lib.sh` sets it).

use std::fs::File;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use medwallet_abe::rand_core::{OsRng, RngCore};
use medwallet_abe::DataKey;
use medwallet_devnodes::{Anvil, AnvilOptions, Ipfs, IpfsOptions, NodeTools};
use medwallet_net::testing::{TestCa, TlsProxy};
use medwallet_records::cid::{LEAF_SIZE, MAX_LINKS};
use medwallet_records::ipfs::{Credentials, NodeAccess};
use medwallet_records::stream::{self, StreamError};
use medwallet_records::{cid_of, Cid, CidBuilder, IpfsError, IpfsNode};
use url::Url;

const MIB: usize = 1024 * 1024;

/// A running node, its client, and the temp folder both live in.
struct Node {
    dir: tempfile::TempDir,
    ipfs: Option<Ipfs>,
    client: IpfsNode,
}

impl Node {
    fn start() -> Node {
        let dir = tempfile::tempdir().unwrap();
        let tools = NodeTools::locate().unwrap();
        let ipfs = Ipfs::start(&tools, &IpfsOptions::ephemeral(dir.path().join("ipfs"))).unwrap();
        let client = IpfsNode::new(&Url::parse(&ipfs.api_url()).unwrap()).unwrap();
        Node {
            dir,
            ipfs: Some(ipfs),
            client,
        }
    }

    fn stop(&mut self) {
        if let Some(ipfs) = self.ipfs.take() {
            ipfs.stop();
        }
    }

    fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }

    /// The node's RPC API address.
    fn api_addr(&self) -> std::net::SocketAddr {
        self.client.url().socket_addrs(|| None).unwrap()[0]
    }
}

fn random_bytes(len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    OsRng.fill_bytes(&mut v);
    v
}

fn never() -> Arc<AtomicBool> {
    Arc::new(AtomicBool::new(false))
}

fn dek() -> DataKey {
    DataKey::generate(&mut OsRng)
}

#[tokio::test]
async fn reads_version_and_peer_id_then_reports_a_stopped_node_unreachable() {
    let dir = tempfile::tempdir().unwrap();
    let tools = NodeTools::locate().unwrap();
    let ipfs = Ipfs::start(&tools, &IpfsOptions::ephemeral(dir.path().join("ipfs"))).unwrap();
    let url = Url::parse(&ipfs.api_url()).unwrap();
    let node = IpfsNode::new(&url).unwrap();

    let info = node.info().await.unwrap();
    // js-ipfs reports its core version (0.18.x for the 0.66 CLI package).
    assert!(
        info.version.chars().next().unwrap().is_ascii_digit(),
        "{info:?}"
    );
    assert!(
        info.peer_id.starts_with("12D3Koo") || info.peer_id.starts_with("Qm"),
        "{info:?}"
    );
    // Asking twice gives the same identity.
    assert_eq!(node.info().await.unwrap(), info);

    ipfs.stop();
    let err = node.info().await.unwrap_err();
    assert!(matches!(err, IpfsError::Unreachable { .. }), "{err:?}");
}

#[tokio::test]
async fn an_ethereum_node_is_not_mistaken_for_ipfs() {
    let dir = tempfile::tempdir().unwrap();
    let anvil = Anvil::start(
        &NodeTools::locate().unwrap(),
        &AnvilOptions::ephemeral(dir.path()),
    )
    .unwrap();
    let node = IpfsNode::new(&Url::parse(&anvil.url()).unwrap()).unwrap();
    let err = node.info().await.unwrap_err();
    assert!(matches!(err, IpfsError::NotIpfs { .. }), "{err:?}");
}

/// The locally computed CID equals the node's at every size where the UnixFS layout
/// changes: empty, one byte, around one leaf, a full first-level parent (174 leaves)
/// and one leaf more (a second level), and ~50 MiB. `add_file` itself compares the
/// node's answer with the expected CID and reports both on a mismatch.
#[tokio::test]
async fn local_cids_equal_the_nodes_at_every_layout_edge() {
    let node = Node::start();
    let sizes = [
        0,
        1,
        LEAF_SIZE - 1,
        LEAF_SIZE,
        LEAF_SIZE + 1,
        MAX_LINKS * LEAF_SIZE,
        MAX_LINKS * LEAF_SIZE + 1,
        50 * MIB + 12_345,
    ];
    for size in sizes {
        let data = random_bytes(size);
        let path = node.path("data");
        std::fs::write(&path, &data).unwrap();
        // Streamed in odd pieces, as the encryption writes it.
        let mut builder = CidBuilder::new();
        for piece in data.chunks(65_552) {
            builder.write_all(piece).unwrap();
        }
        let expected = builder.finish();
        assert_eq!(expected, cid_of(&data));
        let got = node
            .client
            .add_file(&path, &expected, |_| {}, never())
            .await
            .unwrap_or_else(|e| panic!("size {size}: {e}"));
        assert_eq!(got, expected, "size {size}");
        let expect_raw = size <= LEAF_SIZE;
        assert_eq!(
            got.codec() == medwallet_records::cid::RAW,
            expect_raw,
            "size {size}"
        );
        // Small objects through add_bytes too.
        if size <= LEAF_SIZE + 1 {
            assert_eq!(node.client.add_bytes(data).await.unwrap(), expected);
        }
    }
}

/// Encrypt a 20 MiB file, upload it, read it back and decrypt it: the plaintext comes
/// back, the CIDs agree at every step, progress reaches the file size.
#[tokio::test]
async fn a_20_mib_record_round_trips_through_the_node() {
    let node = Node::start();
    let key = dek();
    let plain = random_bytes(20 * MIB + 7);
    let enc_path = node.path("record.enc");
    let enc = stream::encrypt(
        &key,
        &plain[..],
        std::io::BufWriter::new(File::create(&enc_path).unwrap()),
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .unwrap();
    assert_eq!(
        enc.ciphertext_len,
        std::fs::metadata(&enc_path).unwrap().len()
    );

    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let cid = node
        .client
        .add_file(
            &enc_path,
            &enc.cid,
            move |n| sink.lock().unwrap().push(n),
            never(),
        )
        .await
        .unwrap();
    assert_eq!(cid, enc.cid);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.last(), Some(&enc.ciphertext_len));
    assert!(seen.windows(2).all(|w| w[0] <= w[1]));
    assert!(
        seen.len() > 10,
        "progress was reported {} times",
        seen.len()
    );
    assert!(node.client.is_pinned(&cid).await.unwrap());

    let fetched_path = node.path("fetched.enc");
    let fetched = File::create(&fetched_path).unwrap();
    let n = node.client.cat_to(&cid, fetched, u64::MAX).await.unwrap();
    assert_eq!(n, enc.ciphertext_len);

    let mut out = Vec::new();
    let dec = stream::decrypt(&key, File::open(&fetched_path).unwrap(), &mut out).unwrap();
    assert_eq!(dec.cid, enc.cid);
    assert_eq!(dec.chunks, enc.chunks);
    assert_eq!(out, plain);

    // A limit below the size stops the read.
    let err = node
        .client
        .cat_to(&cid, std::io::sink(), enc.ciphertext_len - 1)
        .await
        .unwrap_err();
    assert!(matches!(err, IpfsError::TooLarge { .. }), "{err:?}");
}

/// A byte flipped in the stored ciphertext (a node that returns other bytes for the
/// record) is caught twice: the CID of what was read differs, and the chunk fails.
#[tokio::test]
async fn a_flipped_byte_in_stored_content_is_detected() {
    let node = Node::start();
    let key = dek();
    let plain = random_bytes(3 * MIB);
    let mut ct = Vec::new();
    let enc = stream::encrypt(
        &key,
        &plain[..],
        &mut ct,
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .unwrap();
    // The corrupted copy, as a lying or damaged node would serve it.
    let mut bad = ct.clone();
    let pos = stream::HEADER_SIZE + 5 * stream::ENCRYPTED_CHUNK_SIZE + 77;
    bad[pos] ^= 0x10;
    let bad_path = node.path("bad.enc");
    std::fs::write(&bad_path, &bad).unwrap();
    let bad_cid = node
        .client
        .add_file(&bad_path, &cid_of(&bad), |_| {}, never())
        .await
        .unwrap();
    assert_ne!(bad_cid, enc.cid);

    let fetched = node.path("fetched");
    node.client
        .cat_to(&bad_cid, File::create(&fetched).unwrap(), u64::MAX)
        .await
        .unwrap();
    let mut out = Vec::new();
    let err = stream::decrypt(&key, File::open(&fetched).unwrap(), &mut out).unwrap_err();
    assert!(matches!(err, StreamError::Tampered { chunk: 5 }), "{err:?}");
    // What was released before the error is the authenticated prefix only.
    assert_eq!(out, plain[..5 * stream::CHUNK_SIZE]);

    // Uploading the corrupted file while expecting the genuine CID is refused.
    let err = node
        .client
        .add_file(&bad_path, &enc.cid, |_| {}, never())
        .await
        .unwrap_err();
    match err {
        IpfsError::CidMismatch { expected, got } => {
            assert_eq!(expected, enc.cid);
            assert_eq!(got, bad_cid);
        }
        other => panic!("{other:?}"),
    }
}

/// The three objects of a record on the node: content, manifest, capsule; the small
/// ones through `add_bytes`, read back and opened.
#[tokio::test]
async fn a_whole_record_is_stored_and_opened() {
    use medwallet_abe::{MasterKey, Policy};
    use medwallet_records::{capsule, manifest, Manifest};

    let node = Node::start();
    let key = dek();
    let id = format!("0x{}", "4e".repeat(32));
    let plain = b"%PDF-1.7 lab result".repeat(5000);
    let mut ct = Vec::new();
    let enc = stream::encrypt(
        &key,
        &plain[..],
        &mut ct,
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .unwrap();
    let path = node.path("content");
    std::fs::write(&path, &ct).unwrap();
    node.client
        .add_file(&path, &enc.cid, |_| {}, never())
        .await
        .unwrap();

    let m = Manifest {
        record_id: id.clone(),
        version: 1,
        title: "Lipid panel".into(),
        category: "lab_result".into(),
        mime_type: "application/pdf".into(),
        kind: "pdf".into(),
        date: "2026-01-05".into(),
        author: "Dr. Okafor".into(),
        file_name: "lipids.pdf".into(),
        size: plain.len() as u64,
        content_cid: enc.cid.to_string(),
        content_chunks: enc.chunks,
        created_at: "2026-01-05T10:00:00Z".into(),
    };
    let sealed = manifest::seal(&key, &m).unwrap();
    let manifest_cid = node.client.add_bytes(sealed.clone()).await.unwrap();
    assert_eq!(manifest_cid, cid_of(&sealed));

    let clinic = MasterKey::from_seed(&[9; 32], "clinic:test").unwrap();
    let policy = Policy::parse("role:doctor OR careteam").unwrap();
    let wrapped = capsule::wrap(clinic.public_params(), &policy, &key, &id, 1).unwrap();
    let capsule_cid = node.client.add_bytes(wrapped.clone()).await.unwrap();

    // A doctor's side: fetch capsule and manifest, unwrap, open, then the content.
    let doctor = clinic.issue_key(&["role:doctor"], &mut OsRng).unwrap();
    let fetched = fetch(&node.client, &capsule_cid).await;
    let got_key = capsule::unwrap(&doctor, &fetched, &id, 1).unwrap();
    let opened =
        manifest::open(&got_key, &fetch(&node.client, &manifest_cid).await, &id, 1).unwrap();
    assert_eq!(opened, m);
    let content_cid: Cid = opened.content_cid.parse().unwrap();
    let mut out = Vec::new();
    let dec = stream::decrypt(
        &got_key,
        &fetch(&node.client, &content_cid).await[..],
        &mut out,
    )
    .unwrap();
    assert_eq!(dec.cid, content_cid);
    assert_eq!(out, plain);
}

/// `cat_to` into memory, through a shared buffer (the destination must be `'static`).
async fn fetch(node: &IpfsNode, cid: &Cid) -> Vec<u8> {
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Shared::default();
    node.cat_to(cid, buf.clone(), 16 * MIB as u64)
        .await
        .unwrap();
    let v = buf.0.lock().unwrap().clone();
    v
}

#[tokio::test]
async fn pins_are_idempotent_and_missing_objects_are_not_found() {
    let node = Node::start();
    let data = b"a manifest, say".to_vec();
    let cid = node.client.add_bytes(data.clone()).await.unwrap();
    assert!(node.client.is_pinned(&cid).await.unwrap());
    node.client.unpin(&cid).await.unwrap();
    assert!(!node.client.is_pinned(&cid).await.unwrap());
    // Again: still fine.
    node.client.unpin(&cid).await.unwrap();
    node.client.pin(&cid).await.unwrap();
    node.client.pin(&cid).await.unwrap();
    assert!(node.client.is_pinned(&cid).await.unwrap());

    // A CID the node never saw: not pinned, not found (quickly, not after a hang).
    let missing = cid_of(b"never added anywhere");
    assert!(!node.client.is_pinned(&missing).await.unwrap());
    node.client.unpin(&missing).await.unwrap();
    let started = std::time::Instant::now();
    let err = node
        .client
        .cat_to(&missing, std::io::sink(), 100)
        .await
        .unwrap_err();
    assert!(matches!(err, IpfsError::NotFound { .. }), "{err:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    let err = node.client.pin(&missing).await.unwrap_err();
    assert!(matches!(err, IpfsError::NotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn uploads_to_a_stopped_node_are_unreachable_and_cancel_stops_an_upload() {
    let mut node = Node::start();
    let data = random_bytes(8 * MIB);
    let path = node.path("data");
    std::fs::write(&path, &data).unwrap();
    let expected = cid_of(&data);

    // Cancel after the first progress report.
    let cancel = never();
    let flag = cancel.clone();
    let err = node
        .client
        .add_file(
            &path,
            &expected,
            move |_| flag.store(true, Ordering::Relaxed),
            cancel,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, IpfsError::Cancelled), "{err:?}");

    node.stop();
    let err = node
        .client
        .add_file(&path, &expected, |_| {}, never())
        .await
        .unwrap_err();
    assert!(matches!(err, IpfsError::Unreachable { .. }), "{err:?}");
    let err = node.client.add_bytes(b"x".to_vec()).await.unwrap_err();
    assert!(matches!(err, IpfsError::Unreachable { .. }), "{err:?}");
    let err = node.client.unpin(&expected).await.unwrap_err();
    assert!(matches!(err, IpfsError::Unreachable { .. }), "{err:?}");
}

/// `has_locally` answers from the node's own blocks (js-ipfs: its block list), for a
/// UnixFS root, a raw block and a block it never had.
#[tokio::test]
async fn has_locally_knows_the_nodes_own_blocks() {
    let node = Node::start();
    let info = node.client.info().await.unwrap();
    assert!(info.agent.starts_with("js-ipfs/"), "{info:?}");
    // Offline: no swarm address, no peer.
    assert!(info.addresses.is_empty(), "{info:?}");
    match node.client.swarm_peers().await {
        Ok(peers) => assert!(peers.is_empty(), "{peers:?}"),
        Err(IpfsError::Api { .. }) => {}
        Err(other) => panic!("{other:?}"),
    }

    let data = random_bytes(3 * LEAF_SIZE + 5);
    let path = node.path("data");
    std::fs::write(&path, &data).unwrap();
    let root = node
        .client
        .add_file(&path, &cid_of(&data), |_| {}, never())
        .await
        .unwrap();
    assert_eq!(root.codec(), medwallet_records::cid::DAG_PB);
    let leaf = node
        .client
        .add_bytes(b"one raw block".to_vec())
        .await
        .unwrap();
    assert!(node.client.has_locally(&root).await.unwrap());
    assert!(node.client.has_locally(&leaf).await.unwrap());
    assert!(!node
        .client
        .has_locally(&cid_of(b"never added anywhere"))
        .await
        .unwrap());
}

/// The real node behind a TLS proxy with a generated CA and a bearer token: calls,
/// a streamed upload and a download go through; a wrong token and an untrusted
/// certificate are told apart.
#[tokio::test]
async fn a_node_behind_tls_and_a_token_is_used_and_refusals_are_named() {
    let node = Node::start();
    let ca = TestCa::new();
    let proxy = TlsProxy::start(node.api_addr(), &ca, Some("node-t0ken".into())).unwrap();
    let access = |token: &str, ca_pem: Option<Vec<u8>>| NodeAccess {
        credentials: Some(Credentials::Bearer(token.into())),
        extra_ca_pem: ca_pem,
    };
    let tls = IpfsNode::with_access(&proxy.url(), &access("node-t0ken", Some(ca.pem()))).unwrap();
    assert_eq!(tls.info().await.unwrap(), node.client.info().await.unwrap());

    let data = random_bytes(5 * MIB + 3);
    let path = node.path("over-tls");
    std::fs::write(&path, &data).unwrap();
    let cid = tls
        .add_file(&path, &cid_of(&data), |_| {}, never())
        .await
        .unwrap();
    assert!(tls.is_pinned(&cid).await.unwrap());
    let fetched = node.path("fetched");
    let n = tls
        .cat_to(&cid, File::create(&fetched).unwrap(), u64::MAX)
        .await
        .unwrap();
    assert_eq!(n, data.len() as u64);
    assert_eq!(std::fs::read(&fetched).unwrap(), data);

    let wrong = IpfsNode::with_access(&proxy.url(), &access("other", Some(ca.pem()))).unwrap();
    let err = wrong.info().await.unwrap_err();
    assert!(matches!(err, IpfsError::Unauthorized { .. }), "{err:?}");
    let err = wrong.add_bytes(b"x".to_vec()).await.unwrap_err();
    assert!(matches!(err, IpfsError::Unauthorized { .. }), "{err:?}");

    let untrusting = IpfsNode::with_access(&proxy.url(), &access("node-t0ken", None)).unwrap();
    let err = untrusting.info().await.unwrap_err();
    assert!(
        matches!(
            err,
            IpfsError::Tls {
                problem: medwallet_records::ipfs::TlsProblem::Untrusted,
                ..
            }
        ),
        "{err:?}"
    );

    // https:// to the node's plain API.
    let mut plain = node.client.url().clone();
    plain.set_scheme("https").unwrap();
    let err = IpfsNode::new(&plain).unwrap().info().await.unwrap_err();
    assert!(
        matches!(
            err,
            IpfsError::Tls {
                problem: medwallet_records::ipfs::TlsProblem::NotTls,
                ..
            }
        ),
        "{err:?}"
    );
}

/// Set in the child process that runs [`rss_probe_child`].
const PROBE_ENV: &str = "MEDWALLET_RSS_PROBE";
/// Peak resident memory allowed for encrypting and uploading 1 GiB.
const MAX_PEAK_RSS_KIB: u64 = 200 * 1024;

/// Encrypting 1 GiB to a file and uploading it keeps memory bounded: the work runs in
/// a child process (this test binary, running only [`rss_probe_child`]), so its peak
/// RSS (VmHWM) measures that work and nothing else the tests did.
#[test]
fn a_1_gib_record_is_encrypted_and_uploaded_in_bounded_memory() {
    let exe = std::env::current_exe().unwrap();
    let output = std::process::Command::new(exe)
        .args([
            "rss_probe_child",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(PROBE_ENV, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "probe failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The harness prints "test rss_probe_child ... " before the child's line.
    let line = stdout
        .lines()
        .find_map(|l| l.find("{\"vm_hwm_kib\"").map(|i| &l[i..]))
        .unwrap_or_else(|| panic!("no probe result in:\n{stdout}"));
    let report: serde_json::Value = serde_json::from_str(line).unwrap();
    println!("{line}");
    let hwm = report["vm_hwm_kib"].as_u64().unwrap();
    assert_eq!(report["bytes"].as_u64().unwrap(), 1 << 30);
    assert!(
        hwm < MAX_PEAK_RSS_KIB,
        "peak RSS {hwm} KiB for a 1 GiB record (limit {MAX_PEAK_RSS_KIB} KiB)"
    );
}

/// The child side of the test above; does nothing unless [`PROBE_ENV`] is set.
#[test]
fn rss_probe_child() {
    if std::env::var_os(PROBE_ENV).is_none() {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let node = Node::start();
        let size: u64 = 1 << 30;
        let key = dek();
        let path = node.path("big.enc");
        let started = std::time::Instant::now();
        let enc = stream::encrypt(
            &key,
            std::io::repeat(0x5a).take(size),
            std::io::BufWriter::with_capacity(256 * 1024, File::create(&path).unwrap()),
            &mut |_| {},
            &AtomicBool::new(false),
        )
        .unwrap();
        let encrypt_s = started.elapsed().as_secs_f64();
        let started = std::time::Instant::now();
        let cid = node
            .client
            .add_file(&path, &enc.cid, |_| {}, never())
            .await
            .unwrap();
        let upload_s = started.elapsed().as_secs_f64();
        assert_eq!(cid, enc.cid);
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let hwm = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap();
        println!(
            "{{\"vm_hwm_kib\": {hwm}, \"bytes\": {}, \"encrypt_s\": {encrypt_s:.2}, \"upload_s\": {upload_s:.2}}}",
            enc.plaintext_len
        );
    });
}
