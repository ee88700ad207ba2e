//! Records against a real js-ipfs daemon: every file type round trip, the outbox through a
//! node outage and through a killed app, cancel, tampering in the node's own block store,
//! and bad input.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use medwallet_api::UserError;
use medwallet_api::{
    AddProgress, AddStage, AuditAction, AuditQuery, Category, ExportFormat, LedgerMark,
    RecordMetadata, RecordStatus, RecordView, TrailPage,
};
use medwallet_core::audit::AuditContext;
use medwallet_core::records::Progress;
use medwallet_core::{
    AuditService, CoreError, LedgerTarget, Owner, Part, RecordService, RecordsError,
};
use medwallet_devnodes::{Anvil, AnvilOptions, Ipfs, IpfsOptions, NodeTools};
use medwallet_vault::{Role, Seed, WalletKeys};
use url::Url;

const PDF: &[u8] = include_bytes!("../../../../tests/fixtures/lab-report.pdf");
const PNG: &[u8] = include_bytes!("../../../../tests/fixtures/xray.png");
const JPG: &[u8] = include_bytes!("../../../../tests/fixtures/photo.jpg");
const DICOM: &[u8] = include_bytes!("../../../../tests/fixtures/ct.dcm");
const FHIR: &[u8] = include_bytes!("../../../../tests/fixtures/summary.fhir.json");
const TEXT: &[u8] = include_bytes!("../../../../tests/fixtures/note.txt");
const VIDEO: &[u8] = include_bytes!("../../../../tests/fixtures/clip.mp4");

/// The child-process test reads its instructions from these.
const CHILD_DIR: &str = "MEDWALLET_TEST_CHILD_DIR";
const CHILD_IPFS: &str = "MEDWALLET_TEST_CHILD_IPFS";
const CHILD_FILE: &str = "MEDWALLET_TEST_CHILD_FILE";

fn patient(seed_byte: u8) -> Owner {
    let keys = WalletKeys::derive(&Seed::from_bytes([seed_byte; 32]), Role::Patient).unwrap();
    Owner::new(&format!("{:032x}", seed_byte), "Ada Lovelace", &keys)
}

/// No contract configured: registrations wait (without a network call).
fn no_ledger() -> LedgerTarget {
    LedgerTarget {
        url: Url::parse("http://127.0.0.1:9/").unwrap(),
        contract: None,
        chain_id: None,
    }
}

fn meta(title: &str) -> RecordMetadata {
    RecordMetadata {
        title: title.to_owned(),
        category: Category::LabResult,
        date: "2026-03-01".to_owned(),
        author: "Dr. Seacole".to_owned(),
    }
}

fn quiet() -> Progress {
    Arc::new(|_| {})
}

fn recorder() -> (Progress, Arc<Mutex<Vec<AddProgress>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    (Arc::new(move |p| s.lock().unwrap().push(p)), seen)
}

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    ipfs: Option<Ipfs>,
    url: Url,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_owned();
        let ipfs = start_ipfs(&root);
        let url = Url::parse(&ipfs.api_url()).unwrap();
        Self {
            _dir: dir,
            root,
            ipfs: Some(ipfs),
            url,
        }
    }

    fn data(&self) -> PathBuf {
        self.root.join("data")
    }

    fn file(&self, name: &str, bytes: &[u8]) -> String {
        let path = self.root.join("files").join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        path.display().to_string()
    }

    fn stop_ipfs(&mut self) {
        self.ipfs.take().unwrap().stop();
    }

    fn restart_ipfs(&mut self) {
        // The repo keeps its port, so the URL stays valid.
        self.ipfs = Some(start_ipfs(&self.root));
    }
}

fn start_ipfs(root: &Path) -> Ipfs {
    Ipfs::start(
        &NodeTools::locate().unwrap(),
        &IpfsOptions::ephemeral(root.join("ipfs")),
    )
    .unwrap()
}

/// Big pseudo-random content, written without holding it in memory.
fn big_file(path: &Path, mib: usize) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut block = vec![0u8; 1 << 20];
    let mut x = 0x9e3779b97f4a7c15u64;
    for _ in 0..mib {
        for b in block.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
        f.write_all(&block).unwrap();
    }
    f.flush().unwrap();
}

fn objects_left(data: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for sub in ["objects", "tmp"] {
        for wallet in std::fs::read_dir(data.join("records"))
            .into_iter()
            .flatten()
            .flatten()
        {
            for f in std::fs::read_dir(wallet.path().join(sub))
                .into_iter()
                .flatten()
                .flatten()
            {
                out.push(f.file_name().to_string_lossy().into_owned());
            }
        }
    }
    out
}

#[tokio::test]
async fn every_file_type_round_trips_through_ipfs_and_opens_verified() {
    let fx = Fixture::new();
    let service = RecordService::new(&fx.data());
    let owner = patient(1);
    let files = [
        ("lab-report.pdf", PDF),
        ("xray.png", PNG),
        ("photo.jpg", JPG),
        ("ct.dcm", DICOM),
        ("summary.fhir.json", FHIR),
        ("note.txt", TEXT),
        ("clip.mp4", VIDEO),
    ];
    let paths: Vec<String> = files.iter().map(|(n, b)| fx.file(n, b)).collect();
    // Named by tokens, as the shell hands them out; the drafts come back in order.
    let chosen: Vec<(medwallet_api::FileToken, String)> = paths
        .iter()
        .enumerate()
        .map(|(i, p)| (medwallet_api::FileToken(format!("token-{i}")), p.clone()))
        .collect();
    let inspection = service.inspect(&owner, &chosen);
    assert!(inspection.refused.is_empty(), "{:?}", inspection.refused);

    let mut ids = Vec::new();
    for (i, draft) in inspection.drafts.iter().enumerate() {
        assert_eq!(draft.file.0, format!("token-{i}"));
        let (progress, seen) = recorder();
        let job = format!("job-{i}");
        let record = service
            .add(
                &owner,
                &fx.url,
                &no_ledger(),
                &job,
                &paths[i],
                &draft.metadata,
                progress,
            )
            .await
            .unwrap();
        assert_eq!(record.status, RecordStatus::OnIpfs, "{record:?}");
        assert_eq!(record.size, files[i].1.len() as u64);
        assert_eq!(record.author, "Ada Lovelace");
        let stages: Vec<AddStage> = seen.lock().unwrap().iter().map(|p| p.stage).collect();
        for stage in [
            AddStage::Encrypting,
            AddStage::Uploading,
            AddStage::Pinning,
            AddStage::Done,
        ] {
            assert!(stages.contains(&stage), "{stage:?} missing from {stages:?}");
        }
        assert!(seen.lock().unwrap().iter().all(|p| p.job_id == job));
        ids.push(record.id);
    }

    let list = service.list(&owner).await.unwrap();
    assert_eq!(list.len(), files.len());
    // Once on IPFS, the content's local copy is gone: opening must read from the node.
    assert!(objects_left(&fx.data())
        .iter()
        .all(|f| !f.ends_with(".content")));

    for (i, id) in ids.iter().enumerate() {
        let opened = service.open(&owner, &fx.url, id).await.unwrap();
        assert_eq!(opened.verification.source, "ipfs");
        assert!(opened.verification.chunks >= 1);
        match (files[i].0, &opened.view) {
            ("lab-report.pdf", RecordView::Pdf { pages, page_count }) => {
                assert_eq!(*page_count, 2);
                assert!(pages[0].starts_with("data:image/png;base64,"));
            }
            ("xray.png", RecordView::Image { data_url }) => {
                assert!(data_url.starts_with("data:image/png;base64,"))
            }
            ("photo.jpg", RecordView::Image { data_url }) => {
                assert!(data_url.starts_with("data:image/jpeg;base64,"))
            }
            ("ct.dcm", RecordView::Dicom { image, tags, .. }) => {
                assert!(image.is_some());
                assert!(tags.iter().any(|t| t.tag == "(0010,0010)"), "{tags:?}");
            }
            ("summary.fhir.json", RecordView::Fhir { summary }) => {
                assert!(summary.patient.is_some());
                assert_eq!(summary.conditions.len(), 2);
            }
            ("note.txt", RecordView::Text { text, truncated }) => {
                assert_eq!(text.as_bytes(), TEXT);
                assert!(!truncated);
            }
            ("clip.mp4", RecordView::SaveOnly { .. }) => {}
            (name, view) => panic!("{name} opened as {view:?}"),
        }
        // The decrypted copy is byte for byte the original.
        let dest = fx.root.join("out").join(files[i].0);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        let saved = service
            .save_copy(&owner, &fx.url, id, &dest.display().to_string())
            .await
            .unwrap();
        assert_eq!(saved.size, files[i].1.len() as u64);
        assert_eq!(std::fs::read(&dest).unwrap(), files[i].1);
    }

    // Another wallet neither lists nor opens them.
    let stranger = patient(2);
    assert!(service.list(&stranger).await.unwrap().is_empty());
    let err = service.open(&stranger, &fx.url, &ids[0]).await.unwrap_err();
    assert!(
        matches!(&err, CoreError::Records(RecordsError::NotInWallet { record_id }) if *record_id == ids[0]),
        "{err:?}"
    );
    service.close().await;
}

#[tokio::test]
async fn a_record_added_while_the_node_is_down_is_kept_and_uploaded_when_it_is_back() {
    let mut fx = Fixture::new();
    let service = RecordService::new(&fx.data());
    let owner = patient(3);
    let path = fx.file("note.txt", TEXT);
    fx.stop_ipfs();

    let (progress, seen) = recorder();
    let record = service
        .add(
            &owner,
            &fx.url,
            &no_ledger(),
            "j",
            &path,
            &meta("Offline note"),
            progress,
        )
        .await
        .unwrap();
    let RecordStatus::LocalOnly { reason } = &record.status else {
        panic!("{record:?}")
    };
    assert!(reason.contains("does not answer"), "{reason}");
    assert_eq!(seen.lock().unwrap().last().unwrap().stage, AddStage::Queued);
    // It opens from this device, verified, while the node is down.
    let opened = service.open(&owner, &fx.url, &record.id).await.unwrap();
    assert_eq!(opened.verification.source, "this device");
    let report = service
        .sync(&owner.wallet_id, Some(&owner), &fx.url, &no_ledger(), true)
        .await
        .unwrap();
    assert_eq!((report.uploaded, report.waiting), (0, 1));
    assert!(report.problem.is_some());

    fx.restart_ipfs();
    let report = service
        .sync(&owner.wallet_id, Some(&owner), &fx.url, &no_ledger(), true)
        .await
        .unwrap();
    assert_eq!((report.uploaded, report.waiting), (1, 0), "{report:?}");
    let list = service.list(&owner).await.unwrap();
    assert_eq!(list.len(), 1, "no duplicate");
    assert_eq!(list[0].status, RecordStatus::OnIpfs);
    let opened = service.open(&owner, &fx.url, &record.id).await.unwrap();
    assert_eq!(opened.verification.source, "ipfs");
    service.close().await;
}

#[tokio::test]
async fn the_node_stopping_mid_upload_delays_the_record_and_loses_nothing() {
    let mut fx = Fixture::new();
    let service = Arc::new(RecordService::new(&fx.data()));
    let owner = Arc::new(patient(4));
    let path = fx.root.join("files").join("scan.bin");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    big_file(&path, 256);

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let progress: Progress = Arc::new(move |p: AddProgress| {
        if p.stage == AddStage::Uploading && p.done > 0 {
            // The receiver is gone once the test has seen the first upload: that is fine.
            let _ = tx.send(());
        }
    });
    let add = {
        let (service, owner, url) = (service.clone(), owner.clone(), fx.url.clone());
        let path = path.display().to_string();
        tokio::spawn(async move {
            service
                .add(
                    &owner,
                    &url,
                    &no_ledger(),
                    "big",
                    &path,
                    &meta("Big scan"),
                    progress,
                )
                .await
        })
    };
    rx.recv().await.expect("upload started");
    fx.stop_ipfs();
    let record = add.await.unwrap().unwrap();
    assert!(
        matches!(record.status, RecordStatus::LocalOnly { .. }),
        "{record:?}"
    );

    fx.restart_ipfs();
    let report = service
        .sync(&owner.wallet_id, Some(&owner), &fx.url, &no_ledger(), true)
        .await
        .unwrap();
    assert_eq!((report.uploaded, report.waiting), (1, 0), "{report:?}");
    let list = service.list(&owner).await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].status, RecordStatus::OnIpfs);
    let dest = fx.root.join("scan.out");
    service
        .save_copy(&owner, &fx.url, &record.id, &dest.display().to_string())
        .await
        .unwrap();
    assert!(files_equal(&path, &dest));
    service.close().await;
}

fn files_equal(a: &Path, b: &Path) -> bool {
    use std::io::Read;
    let (mut fa, mut fb) = (
        std::fs::File::open(a).unwrap(),
        std::fs::File::open(b).unwrap(),
    );
    let (mut ba, mut bb) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        let na = fa.read(&mut ba).unwrap();
        let mut nb = 0;
        while nb < na {
            let k = fb.read(&mut bb[nb..na]).unwrap();
            if k == 0 {
                return false;
            }
            nb += k;
        }
        if na == 0 {
            return fb.read(&mut bb).unwrap() == 0;
        }
        if ba[..na] != bb[..na] {
            return false;
        }
    }
}

/// Not a test on its own: the child process of the kill tests (run with `--ignored` and
/// the environment below). It adds the file named there and prints each stage, until the
/// parent kills it.
#[tokio::test]
#[ignore = "the child process of the kill tests"]
async fn child_process_adds_a_file_until_killed() {
    let (Ok(dir), Ok(ipfs), Ok(file)) = (
        std::env::var(CHILD_DIR),
        std::env::var(CHILD_IPFS),
        std::env::var(CHILD_FILE),
    ) else {
        panic!("run only by the kill tests, with {CHILD_DIR}, {CHILD_IPFS} and {CHILD_FILE} set");
    };
    let service = RecordService::new(Path::new(&dir));
    let progress: Progress = Arc::new(|p: AddProgress| {
        let mut out = std::io::stdout().lock();
        // The parent reads these lines to kill this process; a closed pipe means it did.
        let _ = writeln!(out, "STAGE {:?} {}", p.stage, p.done);
        let _ = out.flush();
    });
    let url = Url::parse(&ipfs).unwrap();
    // This process is killed during the add: its answer is never read.
    let _ = service
        .add(
            &patient(5),
            &url,
            &no_ledger(),
            "child",
            &file,
            &meta("Killed"),
            progress,
        )
        .await;
    println!("FINISHED");
}

/// Runs the child until it prints a line starting with `stage`, then kills it (SIGKILL).
fn kill_child_at(fx: &Fixture, file: &Path, stage: &str) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_process_adds_a_file_until_killed",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR, fx.data())
        .env(CHILD_IPFS, fx.url.as_str())
        .env(CHILD_FILE, file)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line.unwrap();
        assert!(
            !line.starts_with("FINISHED"),
            "the child finished before {stage}"
        );
        if line.starts_with(stage) {
            break;
        }
        assert!(Instant::now() < deadline, "no {stage} from the child");
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test]
async fn an_app_killed_mid_upload_finishes_the_upload_after_restart() {
    let fx = Fixture::new();
    let file = fx.root.join("files").join("video.bin");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    big_file(&file, 256);
    kill_child_at(&fx, &file, "STAGE Uploading");

    // "Restart": a new service on the same data folder runs the outbox.
    let service = RecordService::new(&fx.data());
    let owner = patient(5);
    let list = service.list(&owner).await.unwrap();
    assert_eq!(list.len(), 1, "the encrypted record was kept");
    assert!(matches!(list[0].status, RecordStatus::LocalOnly { .. }));
    let report = service
        .sync(&owner.wallet_id, Some(&owner), &fx.url, &no_ledger(), true)
        .await
        .unwrap();
    assert_eq!((report.uploaded, report.waiting), (1, 0), "{report:?}");
    let list = service.list(&owner).await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].status, RecordStatus::OnIpfs);
    let dest = fx.root.join("video.out");
    service
        .save_copy(&owner, &fx.url, &list[0].id, &dest.display().to_string())
        .await
        .unwrap();
    assert!(files_equal(&file, &dest));
    service.close().await;
}

#[tokio::test]
async fn an_app_killed_mid_encryption_leaves_nothing_after_restart() {
    let fx = Fixture::new();
    let file = fx.root.join("files").join("video.bin");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    big_file(&file, 256);
    kill_child_at(&fx, &file, "STAGE Encrypting");
    assert!(
        !objects_left(&fx.data()).is_empty(),
        "the child wrote a partial file"
    );

    let service = RecordService::new(&fx.data());
    let owner = patient(5);
    assert!(service.list(&owner).await.unwrap().is_empty());
    assert_eq!(objects_left(&fx.data()), Vec::<String>::new());
    let report = service
        .sync(&owner.wallet_id, Some(&owner), &fx.url, &no_ledger(), true)
        .await
        .unwrap();
    assert_eq!((report.uploaded, report.waiting), (0, 0));
    service.close().await;
}

#[tokio::test]
async fn a_cancelled_add_leaves_nothing() {
    let fx = Fixture::new();
    let service = Arc::new(RecordService::new(&fx.data()));
    let owner = Arc::new(patient(6));
    let path = fx.root.join("files").join("big.bin");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    big_file(&path, 256);

    for stage in [AddStage::Encrypting, AddStage::Uploading] {
        let job = format!("cancel-{stage:?}");
        let progress: Progress = {
            let (service, job) = (service.clone(), job.clone());
            Arc::new(move |p: AddProgress| {
                if p.stage == stage && p.done > 0 {
                    service.cancel(&job);
                }
            })
        };
        let err = service
            .add(
                &owner,
                &fx.url,
                &no_ledger(),
                &job,
                &path.display().to_string(),
                &meta("x"),
                progress,
            )
            .await
            .unwrap_err();
        // While encrypting, the file's name is not read yet; once uploading, it is named.
        assert!(
            matches!(
                &err,
                CoreError::Records(RecordsError::Cancelled { file_name })
                    if file_name.as_deref().is_none_or(|n| n == "big.bin")
            ),
            "{stage:?}: {err:?}"
        );
        assert!(service.list(&owner).await.unwrap().is_empty(), "{stage:?}");
        assert_eq!(objects_left(&fx.data()), Vec::<String>::new(), "{stage:?}");
    }
    service.close().await;
}

#[tokio::test]
async fn removing_the_file_while_it_uploads_does_not_matter() {
    // Uploads read the encrypted copy on this device, never the original again.
    let fx = Fixture::new();
    let service = RecordService::new(&fx.data());
    let owner = patient(10);
    let path = fx.root.join("files").join("scan.bin");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    big_file(&path, 64);
    let original = fx.root.join("original.bin");
    std::fs::copy(&path, &original).unwrap();
    let source = path.clone();
    let progress: Progress = Arc::new(move |p: AddProgress| {
        if p.stage == AddStage::Uploading {
            // Called once per progress step: only the first removal finds the file.
            let _ = std::fs::remove_file(&source);
        }
    });
    let record = service
        .add(
            &owner,
            &fx.url,
            &no_ledger(),
            "j",
            &path.display().to_string(),
            &meta("Scan"),
            progress,
        )
        .await
        .unwrap();
    assert!(!path.exists());
    assert_eq!(record.status, RecordStatus::OnIpfs);
    let dest = fx.root.join("scan.out");
    service
        .save_copy(&owner, &fx.url, &record.id, &dest.display().to_string())
        .await
        .unwrap();
    assert!(files_equal(&original, &dest));
    service.close().await;
}

/// Flips one byte of the block whose SHA-256 is `digest` in the node's own block store.
fn flip_block(repo: &Path, digest: &[u8], at: usize) {
    use sha2::Digest;
    let mut found = false;
    let mut stack = vec![repo.join("blocks")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(mut bytes) = std::fs::read(&path) {
                if sha2::Sha256::digest(&bytes)[..] == *digest {
                    bytes[at] ^= 0x01;
                    std::fs::write(&path, bytes).unwrap();
                    found = true;
                }
            }
        }
    }
    assert!(found, "no block with that digest in the repo");
}

#[tokio::test]
async fn a_byte_flipped_in_the_stored_content_manifest_or_capsule_is_named() {
    use sha2::Digest;
    let fx = Fixture::new();
    let service = RecordService::new(&fx.data());
    let owner = patient(7);
    let repo = fx.root.join("ipfs").join("repo");
    let records_dir = fx
        .data()
        .join("records")
        .join(&owner.wallet_id)
        .join("objects");

    for (part, object, altered) in [
        ("content", None, Part::Content),
        ("manifest", Some("manifest"), Part::Manifest),
        ("capsule", Some("capsule"), Part::Capsule),
    ] {
        let path = fx.file(
            &format!("{part}.txt"),
            format!("note about the {part}").as_bytes(),
        );
        let record = service
            .add(
                &owner,
                &fx.url,
                &no_ledger(),
                part,
                &path,
                &meta(part),
                quiet(),
            )
            .await
            .unwrap();
        // The other tests of this binary run beside this one and can starve the node for
        // longer than a call's deadline: then the upload waits in the outbox, as it would
        // in the app. What is tested here is what happens once it is on the node.
        for _ in 0..3 {
            if service
                .list(&owner)
                .await
                .unwrap()
                .iter()
                .any(|r| r.id == record.id && r.status == RecordStatus::OnIpfs)
            {
                break;
            }
            // The list is what is checked: a failed sync only means one more round.
            let _ = service
                .sync(&owner.wallet_id, None, &fx.url, &no_ledger(), true)
                .await;
        }
        let record = service
            .list(&owner)
            .await
            .unwrap()
            .into_iter()
            .find(|r| r.id == record.id)
            .unwrap();
        assert_eq!(record.status, RecordStatus::OnIpfs);
        service.open(&owner, &fx.url, &record.id).await.unwrap();
        // The object's bytes: manifest and capsule are kept on this device; the (small,
        // single-block) content is fetched back from the node.
        let bytes = match object {
            Some(ext) => {
                std::fs::read(records_dir.join(format!("{}-v1.{ext}", record.id))).unwrap()
            }
            None => {
                let node = medwallet_records::IpfsNode::new(&fx.url).unwrap();
                let buf = Arc::new(Mutex::new(Vec::new()));
                struct W(Arc<Mutex<Vec<u8>>>);
                impl Write for W {
                    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                        self.0.lock().unwrap().extend_from_slice(b);
                        Ok(b.len())
                    }
                    fn flush(&mut self) -> std::io::Result<()> {
                        Ok(())
                    }
                }
                let cid = record.content_cid.parse().unwrap();
                node.cat_to(&cid, W(buf.clone()), 1 << 20).await.unwrap();
                let out = buf.lock().unwrap().clone();
                out
            }
        };
        flip_block(&repo, &sha2::Sha256::digest(&bytes), bytes.len() - 5);
        let err = service.open(&owner, &fx.url, &record.id).await.unwrap_err();
        assert!(
            matches!(&err, CoreError::Altered { part, .. } if *part == altered),
            "{part}: {err:?}"
        );
        let dest = fx.root.join(format!("{part}.out"));
        let err = service
            .save_copy(&owner, &fx.url, &record.id, &dest.display().to_string())
            .await
            .unwrap_err();
        assert!(
            matches!(&err, CoreError::Altered { part, .. } if *part == altered),
            "{part}: {err:?}"
        );
        assert!(!dest.exists(), "nothing is written from an altered record");
    }
    service.close().await;
}

#[tokio::test]
async fn bad_files_get_clear_messages_and_leave_nothing() {
    let fx = Fixture::new();
    let service = RecordService::new(&fx.data());
    let owner = patient(8);
    let empty = fx.file("empty.pdf", b"");
    let gone = fx.root.join("files").join("gone.pdf").display().to_string();
    type Refused = fn(&CoreError) -> bool;
    let refusals: [(String, Refused); 2] = [
        (
            empty,
            |e| matches!(e, CoreError::Records(RecordsError::EmptyFile { path }) if path.ends_with("empty.pdf")),
        ),
        (gone, |e| {
            matches!(e, CoreError::FileUnreadable { path, source }
                if path.ends_with("gone.pdf") && source.kind() == std::io::ErrorKind::NotFound)
        }),
    ];
    for (path, refused) in refusals {
        let err = service
            .add(
                &owner,
                &fx.url,
                &no_ledger(),
                "bad",
                &path,
                &meta("bad"),
                quiet(),
            )
            .await
            .unwrap_err();
        assert!(refused(&err), "{err:?}");
        assert!(UserError::from(err).hint.is_some());
    }
    let ok = fx.file("ok.txt", b"fine");
    let mut bad_date = meta("x");
    bad_date.date = "yesterday".into();
    let err = service
        .add(
            &owner,
            &fx.url,
            &no_ledger(),
            "bad",
            &ok,
            &bad_date,
            quiet(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CoreError::Records(RecordsError::NotADate { text }) if text == "yesterday"),
        "{err:?}"
    );
    // A doctor's wallet has no authority of its own: it keeps no records.
    let keys = WalletKeys::derive(&Seed::from_bytes([9; 32]), Role::Doctor).unwrap();
    let doctor = Owner::new(&format!("{:032x}", 9), "Dr. Seacole", &keys);
    let err = service
        .add(
            &doctor,
            &fx.url,
            &no_ledger(),
            "bad",
            &ok,
            &meta("x"),
            quiet(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::OnlyPatients), "{err:?}");
    assert!(service.list(&owner).await.unwrap().is_empty());
    assert_eq!(objects_left(&fx.data()), Vec::<String>::new());
    service.close().await;
}

fn start_anvil(dir: &Path, port: Option<u16>) -> Anvil {
    Anvil::start(
        &NodeTools::locate().unwrap(),
        &AnvilOptions {
            persist: true,
            port,
            ..AnvilOptions::ephemeral(dir)
        },
    )
    .unwrap()
}

#[tokio::test]
async fn records_are_registered_on_the_ledger_and_shown_in_the_audit_trail() {
    use medwallet_ledger::{LedgerNode, PrivateKeySigner};
    let fx = Fixture::new();
    let anvil_dir = fx.root.join("anvil");
    let anvil = start_anvil(&anvil_dir, None);
    let port = anvil.port();
    let ledger_url = Url::parse(&anvil.url()).unwrap();
    let contract = LedgerNode::new(&ledger_url)
        .deploy(PrivateKeySigner::random())
        .await
        .unwrap();
    let target = LedgerTarget {
        url: ledger_url.clone(),
        contract: Some(contract),
        chain_id: Some(medwallet_devnodes::LOCAL_CHAIN_ID),
    };
    let service = RecordService::new(&fx.data());
    let audit = AuditService::new(&fx.data());
    let owner = patient(21);

    // A normal add ends registered.
    let path = fx.file("lab.pdf", PDF);
    let record = service
        .add(
            &owner,
            &fx.url,
            &target,
            "j1",
            &path,
            &meta("Lab report"),
            quiet(),
        )
        .await
        .unwrap();
    let LedgerMark::Registered {
        block_number,
        tx_hash,
    } = record.ledger.clone()
    else {
        panic!("{record:?}")
    };
    let context = AuditContext::of(&service, &owner).await.unwrap();
    let trail = audit
        .trail(
            &owner,
            &target,
            &TrailPage::first(AuditQuery::default(), 1000),
            &context,
        )
        .await
        .unwrap();
    assert_eq!(trail.problem, None, "{trail:?}");
    assert_eq!(trail.chain_id, Some(medwallet_devnodes::LOCAL_CHAIN_ID));
    assert_eq!(trail.pending, 0);
    assert_eq!(trail.entries.len(), 1, "{trail:?}");
    let up = &trail.entries[0];
    assert_eq!(up.action, AuditAction::Uploaded);
    assert_eq!(up.actor.name.as_deref(), Some("You"));
    assert_eq!(up.actor.address, owner.address);
    assert_eq!(up.record_title.as_deref(), Some("Lab report"));
    assert_eq!((up.block_number, &up.tx_hash), (block_number, &tx_hash));
    // Read from one node, checked against none.
    assert_eq!(
        (up.nodes_agreeing, up.nodes_asked, &up.dispute),
        (1, 1, &None)
    );
    // Checked against a second node of the ledger (an anvil forked from the first): 2 of 2.
    let second = Anvil::start(
        &NodeTools::locate().unwrap(),
        &AnvilOptions::forked(
            fx.root.join("anvil-2"),
            anvil.url(),
            medwallet_devnodes::LOCAL_CHAIN_ID,
            None,
        ),
    )
    .unwrap();
    let checked = AuditContext {
        witnesses: vec![Url::parse(&second.url()).unwrap()],
        ..context.clone()
    };
    let both = audit
        .trail(
            &owner,
            &target,
            &TrailPage::first(AuditQuery::default(), 1000),
            &checked,
        )
        .await
        .unwrap();
    assert_eq!(both.problem, None, "{both:?}");
    let up = &both.entries[0];
    assert_eq!(
        (up.nodes_agreeing, up.nodes_asked, &up.dispute),
        (2, 2, &None)
    );
    // The two nodes then mine different blocks at the same height: the trail's newest
    // block is disputed, and the trail says so even with no entry of its own there.
    medwallet_ledger::testing::advance_time(&Url::parse(&second.url()).unwrap(), 1)
        .await
        .unwrap();
    medwallet_ledger::testing::advance_time(&target.url, 7)
        .await
        .unwrap();
    let forked = audit
        .trail(
            &owner,
            &target,
            &TrailPage::first(AuditQuery::default(), 1000),
            &checked,
        )
        .await
        .unwrap();
    let problem = forked.problem.clone().unwrap_or_default();
    assert!(
        problem.starts_with("Ledger nodes disagree at block"),
        "{forked:?}"
    );
    assert_eq!(forked.entries[0].nodes_agreeing, 2, "{forked:?}");
    second.stop();

    // Exports.
    let csv = audit
        .export(
            &owner,
            &target,
            &AuditQuery::default(),
            &context,
            ExportFormat::Csv,
            &fx.root.join("trail.csv").display().to_string(),
        )
        .await
        .unwrap();
    let text = std::fs::read_to_string(&csv.path).unwrap();
    assert!(text.starts_with(
        "time,action,actor,actor_name,subject,record_id,record_title,detail,block,tx,ledger_nodes,dispute\r\n"
    ));
    assert!(text.contains(",1 of 1,\r\n"), "{text}");
    assert!(text.contains(&tx_hash) && text.contains("Lab report"));
    let fhir = audit
        .export(
            &owner,
            &target,
            &AuditQuery::default(),
            &context,
            ExportFormat::FhirBundle,
            &fx.root.join("trail.json").display().to_string(),
        )
        .await
        .unwrap();
    let bundle: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&fhir.path).unwrap()).unwrap();
    assert_eq!(bundle["entry"][0]["resource"]["resourceType"], "AuditEvent");
    assert_eq!(fhir.size, std::fs::metadata(&fhir.path).unwrap().len());

    // The ledger stops: an add ends pending with a reason, nothing is lost.
    anvil.stop();
    let path = fx.file("note.txt", TEXT);
    let offline = service
        .add(
            &owner,
            &fx.url,
            &target,
            "j2",
            &path,
            &meta("Offline note"),
            quiet(),
        )
        .await
        .unwrap();
    assert_eq!(offline.status, RecordStatus::OnIpfs);
    let LedgerMark::Pending { reason } = &offline.ledger else {
        panic!("{offline:?}")
    };
    assert!(reason.contains("does not answer"), "{reason}");
    let context = AuditContext::of(&service, &owner).await.unwrap();
    assert_eq!(context.pending, 1);
    let trail = audit
        .trail(
            &owner,
            &target,
            &TrailPage::first(AuditQuery::default(), 1000),
            &context,
        )
        .await
        .unwrap();
    assert!(trail.problem.is_some(), "{trail:?}");
    assert_eq!(trail.entries.len(), 1, "the cached entry is still answered");
    assert_eq!(trail.pending, 1);

    // The ledger is back (same state, same port): a sync registers it, once.
    let anvil = start_anvil(&anvil_dir, Some(port));
    let report = service
        .sync(&owner.wallet_id, Some(&owner), &fx.url, &target, true)
        .await
        .unwrap();
    assert_eq!(report.problem, None, "{report:?}");
    let list = service.list(&owner).await.unwrap();
    assert_eq!(list.len(), 2);
    assert!(
        list.iter()
            .all(|r| matches!(r.ledger, LedgerMark::Registered { .. })),
        "{list:?}"
    );
    // Running the step again (as after a missed receipt) finds the registration, sends nothing.
    let again = service
        .sync(&owner.wallet_id, Some(&owner), &fx.url, &target, true)
        .await
        .unwrap();
    assert_eq!(again.problem, None);
    let context = AuditContext::of(&service, &owner).await.unwrap();
    let trail = audit
        .trail(
            &owner,
            &target,
            &TrailPage::first(AuditQuery::default(), 1000),
            &context,
        )
        .await
        .unwrap();
    assert_eq!(trail.problem, None, "{trail:?}");
    assert_eq!(trail.pending, 0);
    let uploads: Vec<_> = trail
        .entries
        .iter()
        .filter(|e| e.action == AuditAction::Uploaded)
        .collect();
    assert_eq!(uploads.len(), 2, "no duplicate: {trail:?}");
    assert_eq!(uploads[0].record_title.as_deref(), Some("Offline note"));
    let only = audit
        .trail(
            &owner,
            &target,
            &TrailPage::first(
                AuditQuery {
                    record_id: Some(record.id.clone()),
                    ..Default::default()
                },
                100,
            ),
            &context,
        )
        .await
        .unwrap();
    assert_eq!(only.entries.len(), 1);

    // The ledger URL now leads to another network (chain 31337): the settings carry no chain
    // id, but the wallet remembers the chain its trail came from, and names the mismatch.
    let unset = LedgerTarget {
        chain_id: None,
        ..target.clone()
    };
    audit
        .trail(
            &owner,
            &unset,
            &TrailPage::first(AuditQuery::default(), 1000),
            &context,
        )
        .await
        .unwrap();
    let other_dir = tempfile::tempdir().unwrap();
    let other = Anvil::start(
        &NodeTools::locate().unwrap(),
        &AnvilOptions {
            chain_id: 31337,
            ..AnvilOptions::ephemeral(other_dir.path())
        },
    )
    .unwrap();
    let elsewhere = LedgerTarget {
        url: other.url().parse().unwrap(),
        ..unset
    };
    let trail = audit
        .trail(
            &owner,
            &elsewhere,
            &TrailPage::first(AuditQuery::default(), 1000),
            &context,
        )
        .await
        .unwrap();
    let problem = trail.problem.expect("a wrong chain is named");
    assert!(
        problem.contains("31337") && problem.contains("424242"),
        "{problem}"
    );
    assert!(!trail.entries.is_empty(), "the cached trail is still shown");
    drop(other);
    drop(anvil);
    service.close().await;
}

#[tokio::test]
async fn nobody_can_register_a_record_id_first() {
    // Front-running: while this wallet's registration waits (ledger down), another account
    // registers with the same 32 bytes. A record's id is bound to its author
    // (keccak256(author, nonce)), so the other account gets another id, and this wallet's
    // registration goes through as its own.
    use medwallet_ledger::{LedgerNode, PrivateKeySigner};
    let fx = Fixture::new();
    let anvil_dir = fx.root.join("anvil");
    let anvil = start_anvil(&anvil_dir, None);
    let port = anvil.port();
    let ledger_url = Url::parse(&anvil.url()).unwrap();
    let node = LedgerNode::new(&ledger_url);
    let contract = node.deploy(PrivateKeySigner::random()).await.unwrap();
    let target = LedgerTarget {
        url: ledger_url.clone(),
        contract: Some(contract),
        chain_id: Some(medwallet_devnodes::LOCAL_CHAIN_ID),
    };
    let service = RecordService::new(&fx.data());
    let owner = patient(22);

    anvil.stop();
    let path = fx.file("lab.pdf", PDF);
    let record = service
        .add(&owner, &fx.url, &target, "j", &path, &meta("Lab"), quiet())
        .await
        .unwrap();
    assert!(matches!(record.ledger, LedgerMark::Pending { .. }));

    let anvil = start_anvil(&anvil_dir, Some(port));
    let thief = node
        .client(PrivateKeySigner::random(), contract)
        .await
        .unwrap();
    thief
        .register_record(record.id.parse().unwrap(), &[1u8; 36], &[1u8; 36])
        .await
        .unwrap();

    let report = service
        .sync(&owner.wallet_id, Some(&owner), &fx.url, &target, true)
        .await
        .unwrap();
    let list = service.list(&owner).await.unwrap();
    assert!(
        matches!(list[0].ledger, LedgerMark::Registered { .. }),
        "{list:?} {report:?}"
    );
    let head = node.status().await.unwrap().block_height;
    let id: medwallet_ledger::B256 = record.id.parse().unwrap();
    let owners: Vec<_> = node
        .fetch_events(
            contract,
            0,
            head,
            &medwallet_ledger::EventFilter::Record(id),
        )
        .await
        .unwrap()
        .events
        .iter()
        .filter_map(|e| match e.event {
            medwallet_ledger::LedgerEvent::RecordRegistered { owner, .. } => Some(owner),
            _ => None,
        })
        .collect();
    assert_eq!(
        owners,
        [owner.address.parse::<medwallet_ledger::Address>().unwrap()]
    );
    drop(anvil);
    service.close().await;
}
