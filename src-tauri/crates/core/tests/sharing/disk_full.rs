//! A full disk during an add, a re-encryption and a restore with its rebuild: each is
//! refused as [`CoreError::DiskFull`] ("The disk is full: free N MB and try again."),
//! nothing half-written is left in the data folder, the databases still open, and the
//! same operation succeeds once space is freed.
//!
//! The data folder is a small tmpfs in a mount namespace of the test's own: the test
//! runs this binary again under `unshare -m --map-root-user`, which mounts the tmpfs and
//! runs only that test (`--exact`). The machine's file systems are never filled, and the
//! nodes (js-ipfs, anvil) keep their repositories outside the tmpfs: what fills is the
//! app's own disk.

use std::collections::BTreeSet;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use medwallet_api::{AddStage, RebuildState};
use medwallet_core::{AuditService, RebuildService, WalletService};
use medwallet_vault::RecoveryPhrase;

use super::*;

/// Where the child finds the tmpfs it runs on (set by the parent, the tmpfs mounted on
/// it in the child's namespace only).
const TMPFS_ENV: &str = "MEDWALLET_TEST_SMALL_DISK";

/// The data folder on a tmpfs of `megabytes`: in the child, its path; in the parent,
/// `None` once the child (this binary again, running only `test` in its own mount
/// namespace) passed. Skips, saying why, only when `unshare` cannot make a namespace.
fn small_disk(test: &str, megabytes: u32) -> Option<PathBuf> {
    if let Ok(dir) = std::env::var(TMPFS_ENV) {
        return Some(PathBuf::from(dir));
    }
    let probe = std::process::Command::new("unshare")
        .args(["-m", "--map-root-user", "true"])
        .output();
    match probe {
        Ok(out) if out.status.success() => {}
        Ok(out) => {
            eprintln!(
                "SKIPPED {test}: `unshare -m --map-root-user` is refused here ({}), so no private tmpfs can be mounted",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            return None;
        }
        Err(e) => {
            eprintln!("SKIPPED {test}: `unshare` is not available ({e})");
            return None;
        }
    }
    let mount = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let status = std::process::Command::new("unshare")
        .args(["-m", "--map-root-user", "sh", "-c"])
        .arg(
            "mount -t tmpfs -o size=\"$1\"m tmpfs \"$2\" && exec \"$3\" --exact \"$4\" --nocapture --test-threads=1",
        )
        .arg("sh")
        .arg(megabytes.to_string())
        .arg(mount.path())
        .arg(&exe)
        .arg(test)
        .env(TMPFS_ENV, mount.path())
        .status()
        .unwrap();
    assert!(
        status.success(),
        "{test} failed on its small disk: {status}"
    );
    None
}

/// The bytes free on the file system holding `dir`.
fn free(dir: &Path) -> u64 {
    let s = rustix::fs::statvfs(dir).unwrap();
    s.f_bavail * s.f_frsize
}

/// Fills the disk holding `dir` with `dir/<name>` until at most `leave` bytes are free
/// (or it is full). Answers the filler's path.
fn fill(dir: &Path, name: &str, leave: u64) -> PathBuf {
    let path = dir.join(name);
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .unwrap();
    let chunk = vec![0x5au8; 64 * 1024];
    loop {
        let room = free(dir).saturating_sub(leave);
        if room == 0 {
            break;
        }
        let n = usize::try_from(room.min(chunk.len() as u64)).unwrap();
        match file.write_all(&chunk[..n]).and_then(|()| file.sync_all()) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(28) => break,
            Err(e) => panic!("filling: {e}"),
        }
    }
    path
}

/// Every file and folder under `dir` (but the fillers), by path: what a failure must
/// leave as it found.
fn files(dir: &Path) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            let rel = path.strip_prefix(dir).unwrap().display().to_string();
            if rel.starts_with("filler") {
                continue;
            }
            if path.is_dir() {
                todo.push(path);
            }
            seen.insert(rel);
        }
    }
    seen
}

/// No `.part` and nothing in a `tmp/` folder.
fn assert_nothing_half_written(dir: &Path) {
    let left: Vec<String> = files(dir)
        .into_iter()
        .filter(|f| f.ends_with(".part") || f.contains("/tmp/"))
        .collect();
    assert!(left.is_empty(), "half-written files left: {left:?}");
}

/// The full-disk failure, with its need and free space, and its words.
fn assert_disk_full(e: &CoreError) -> String {
    let CoreError::DiskFull {
        needed_bytes,
        free_bytes,
        ..
    } = e.cause()
    else {
        panic!("not a full disk: {e:?}");
    };
    let words = medwallet_api::UserError::from(e).message;
    let n = match (needed_bytes, free_bytes) {
        (Some(need), Some(free)) => need.saturating_sub(*free).div_ceil(1_000_000).max(1),
        _ => 1,
    };
    assert_eq!(
        words,
        format!("The disk is full: free {n} MB and try again.")
    );
    words
}

/// A SQLite file of the data folder opened on its own and checked whole, with a count.
async fn check_database(path: &Path, count: &str) -> i64 {
    use sqlx::ConnectOptions;
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .connect()
        .await
        .unwrap();
    let ok: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(ok, "ok", "{}", path.display());
    sqlx::query_scalar(count)
        .fetch_one(&mut conn)
        .await
        .unwrap()
}

/// The one wallet's records folder under `data`.
fn records_dir(data: &Path, owner: &Owner) -> PathBuf {
    data.join("records").join(&owner.wallet_id)
}

fn quiet() -> medwallet_core::records::Progress {
    Arc::new(|_| {})
}

#[tokio::test]
async fn an_add_on_a_full_disk_is_refused_leaves_nothing_and_succeeds_once_space_is_freed() {
    let Some(data) = small_disk(
        "disk_full::an_add_on_a_full_disk_is_refused_leaves_nothing_and_succeeds_once_space_is_freed",
        24,
    ) else {
        return;
    };
    let nodes = Nodes::start().await;
    let svc = RecordService::new(&data);
    let patient = wallet(231, Role::Patient, "Ada");
    add(&nodes, &svc, &patient, "note.txt", TEXT, "Visit note").await;
    let big = nodes.file("scan.bin", &vec![0x42u8; 6_000_000]);
    let db = records_dir(&data, &patient).join("records.sqlite");
    let before = files(&data);

    // Refused before writing: the disk cannot hold the encrypted copy.
    let filler = fill(&data, "filler", 3_000_000);
    let e = svc
        .add(
            &patient,
            &nodes.ipfs,
            &nodes.ledger,
            "early",
            &big,
            &meta("Scan"),
            quiet(),
        )
        .await
        .unwrap_err();
    let words = assert_disk_full(&e);
    assert!(
        words.contains("free 4 MB") || words.contains("free 5 MB"),
        "{words}"
    );
    assert_eq!(files(&data), before);
    std::fs::remove_file(&filler).unwrap();

    // Room at the start, none midway: another program fills the disk while the file is
    // encrypted (the filler is written as the first bytes are reported done).
    let filled = Arc::new(AtomicBool::new(false));
    let (at, flag) = (data.clone(), filled.clone());
    let filling: medwallet_core::records::Progress = Arc::new(move |p| {
        if p.stage == AddStage::Encrypting && p.done > 0 && !flag.swap(true, Ordering::SeqCst) {
            fill(&at, "filler-midway", 0);
        }
    });
    assert!(free(&data) > 8_000_000);
    let e = svc
        .add(
            &patient,
            &nodes.ipfs,
            &nodes.ledger,
            "midway",
            &big,
            &meta("Scan"),
            filling,
        )
        .await
        .unwrap_err();
    assert!(filled.load(Ordering::SeqCst), "the disk was filled midway");
    assert_disk_full(&e);
    assert_nothing_half_written(&data);
    assert_eq!(files(&data), before);
    // Not listed, no row, no outbox entry: the database opens, whole, with one record.
    assert_eq!(svc.list(&patient).await.unwrap().len(), 1);
    assert_eq!(check_database(&db, "SELECT COUNT(*) FROM records").await, 1);
    assert_eq!(check_database(&db, "SELECT COUNT(*) FROM outbox").await, 0);

    // Space freed: the same add goes through, on the same open database.
    std::fs::remove_file(data.join("filler-midway")).unwrap();
    let r = svc
        .add(
            &patient,
            &nodes.ipfs,
            &nodes.ledger,
            "again",
            &big,
            &meta("Scan"),
            quiet(),
        )
        .await
        .unwrap();
    assert!(
        matches!(r.ledger, medwallet_api::LedgerMark::Registered { .. }),
        "{r:?}"
    );
    assert_eq!(svc.list(&patient).await.unwrap().len(), 2);
    assert_nothing_half_written(&data);
    // The failed add's marks (which the full disk kept SQLite from deleting) are gone.
    let marks = "SELECT (SELECT COUNT(*) FROM adds_in_progress) + (SELECT COUNT(*) FROM \
                 record_nonces WHERE record_id NOT IN (SELECT record_id FROM records))";
    assert_eq!(check_database(&db, marks).await, 0);
    // And a new service (the next start) opens it too.
    assert_eq!(
        RecordService::new(&data)
            .list(&patient)
            .await
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn a_re_encryption_on_a_full_disk_is_refused_leaves_nothing_and_completes_once_space_is_freed(
) {
    let Some(data) = small_disk(
        "disk_full::a_re_encryption_on_a_full_disk_is_refused_leaves_nothing_and_completes_once_space_is_freed",
        32,
    ) else {
        return;
    };
    let nodes = Nodes::start().await;
    let svc = RecordService::new(&data);
    let doctor_svc = nodes.service("doctor");
    let patient = wallet(232, Role::Patient, "Ada");
    let doctor = wallet(233, Role::Doctor, "Dr. Who");
    let scan = nodes.file("scan.bin", &vec![0x42u8; 4_000_000]);
    let r = svc
        .add(
            &patient,
            &nodes.ipfs,
            &nodes.ledger,
            "scan",
            &scan,
            &meta("Scan"),
            quiet(),
        )
        .await
        .unwrap();
    doctor_svc
        .list_shared(&doctor, &nodes.ipfs, &nodes.ledger)
        .await
        .unwrap();
    svc.share(
        &patient,
        &nodes.ipfs,
        &nodes.ledger,
        &share_with(&r.id, &doctor.address, None),
    )
    .await
    .unwrap();
    let db = records_dir(&data, &patient).join("records.sqlite");
    let before = files(&data);

    // Room for the fetched copy (4 MB), not for the new one beside it.
    let filler = fill(&data, "filler", 5_500_000);
    let grant = svc
        .revoke(
            &patient,
            &nodes.ipfs,
            &nodes.ledger,
            &r.id,
            &doctor.address,
            None,
        )
        .await
        .unwrap();
    let GrantState::Revoking {
        reason: Some(reason),
    } = &grant.state
    else {
        panic!("{grant:?}");
    };
    // The reason the grant keeps is the full disk's words.
    assert!(
        reason.starts_with("The disk is full: free ") && reason.ends_with(" MB and try again."),
        "{reason}"
    );
    let progress = svc.sharing_progress(&patient.wallet_id);
    assert_eq!(progress.failed.len(), 1, "{progress:?}");
    assert_eq!(&progress.failed[0].reason, reason);
    assert_nothing_half_written(&data);
    assert_eq!(files(&data), before, "no object of version 2");
    let listed = svc.list(&patient).await.unwrap();
    assert_eq!(
        (listed.len(), listed[0].version),
        (1, 1),
        "no half-made version"
    );
    assert_eq!(check_database(&db, "SELECT COUNT(*) FROM outbox").await, 0);

    // Space freed: the next pass makes the version and takes the grant back.
    std::fs::remove_file(&filler).unwrap();
    assert_eq!(
        svc.sync_sharing(&patient, &nodes.ipfs, &nodes.ledger, true)
            .await,
        None
    );
    let grants = svc.list_grants(&patient).await.unwrap();
    assert!(
        grants.iter().all(|g| g.state == GrantState::Revoked),
        "{grants:?}"
    );
    assert_eq!(svc.list(&patient).await.unwrap()[0].version, 2);
    assert_eq!(check_database(&db, "SELECT COUNT(*) FROM outbox").await, 0);
    assert_nothing_half_written(&data);
}

#[tokio::test]
async fn a_restore_and_its_rebuild_on_a_full_disk_are_refused_and_succeed_once_space_is_freed() {
    let Some(data) = small_disk(
        "disk_full::a_restore_and_its_rebuild_on_a_full_disk_are_refused_and_succeed_once_space_is_freed",
        16,
    ) else {
        return;
    };
    let nodes = Nodes::start().await;
    // The wallet's records, made on its first computer (not on the small disk).
    let first = nodes.service("first");
    let made = wallet(234, Role::Patient, "Ada");
    add(&nodes, &first, &made, "lab.pdf", PDF, "Blood panel").await;
    add(&nodes, &first, &made, "note.txt", TEXT, "Visit note").await;
    let phrase = RecoveryPhrase::from_seed(&Seed::from_bytes([234; 32]))
        .words()
        .join(" ");

    // The restore: the vault's insert finds no room, and no wallet is half-made.
    let mut wallets = WalletService::open_with(&data, None, true).await;
    assert!(wallets.list().await.unwrap().is_empty());
    let before = files(&data);
    let filler = fill(&data, "filler", 0);
    let e = wallets
        .restore_wallet(
            &phrase,
            medwallet_api::Role::Patient,
            "Ada",
            "correct horse battery staple 42",
            false,
        )
        .await
        .unwrap_err();
    assert_disk_full(&e);
    assert_eq!(files(&data), before);
    assert!(wallets.list().await.unwrap().is_empty(), "no wallet kept");
    std::fs::remove_file(&filler).unwrap();
    let identity = wallets
        .restore_wallet(
            &phrase,
            medwallet_api::Role::Patient,
            "Ada",
            "correct horse battery staple 42",
            false,
        )
        .await
        .unwrap();
    assert_eq!(identity.address, made.address);
    assert_eq!(
        check_database(&data.join("vault.sqlite"), "SELECT COUNT(*) FROM wallets").await,
        1
    );
    let owner = wallets.record_owner().unwrap();

    // The rebuild: asked for, then the disk fills before it runs.
    let (records, audit, rebuild) = (
        RecordService::new(&data),
        AuditService::new(&data),
        RebuildService::new(),
    );
    rebuild.ask(&records, &owner.wallet_id).await.unwrap();
    let filler = fill(&data, "filler", 0);
    let e = rebuild
        .run(&records, &audit, &owner, &nodes.ipfs, &nodes.ledger)
        .await
        .unwrap_err();
    assert_disk_full(&e);
    assert_nothing_half_written(&data);
    let db = records_dir(&data, &owner).join("records.sqlite");
    let kept = check_database(&db, "SELECT COUNT(*) FROM records").await;
    assert!(kept <= 2, "{kept}");

    // Space freed: it runs again to its end, with each record once.
    std::fs::remove_file(&filler).unwrap();
    let status = rebuild
        .run(&records, &audit, &owner, &nodes.ipfs, &nodes.ledger)
        .await
        .unwrap();
    assert_eq!(status.state, RebuildState::Done, "{status:?}");
    assert_eq!(status.problem, None, "{status:?}");
    let mut titles: Vec<String> = records
        .list(&owner)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.title)
        .collect();
    titles.sort();
    assert_eq!(titles, ["Blood panel", "Visit note"]);
    assert_eq!(check_database(&db, "SELECT COUNT(*) FROM records").await, 2);
    assert_nothing_half_written(&data);
}
