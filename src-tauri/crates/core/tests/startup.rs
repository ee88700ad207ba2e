//! The data folder at start (issue 19): one process at a time, a folder that cannot be
//! written named before anything is opened, and each damaged database (settings, audit
//! cache) kept aside unchanged while the app starts on a new one. A damaged records
//! database and its rebuild from the ledger are in `sharing/damaged.rs` (real nodes).
//!
//! The lock is checked across processes: this test binary runs itself again as a helper
//! (`MEDWALLET_STARTUP_HELPER`) that opens the app and waits, and is killed.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use medwallet_api::commands::SaveOutcome;
use medwallet_api::{NodeSettings, StartupNotice, UserError};
use medwallet_core::{App, CoreError, Defaults, StartupError};

const HELPER: &str = "MEDWALLET_STARTUP_HELPER";
const HELPER_OUT: &str = "MEDWALLET_STARTUP_HELPER_OUT";

const DEFAULT_IPFS: &str = "http://127.0.0.1:5001/";

async fn open(dir: &Path) -> Result<Arc<App>, CoreError> {
    let defaults = Defaults(NodeSettings {
        ipfs_url: DEFAULT_IPFS.into(),
        ledger_url: "http://127.0.0.1:8545/".into(),
        ..Default::default()
    });
    App::open(dir, None, defaults).await
}

/// The files in `dir` (names only, sorted).
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The one file next to `path` kept aside as damaged.
fn kept_aside(path: &Path) -> PathBuf {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let prefix = format!("{name}.damaged-");
    let kept: Vec<PathBuf> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.starts_with(&prefix) && !n.ends_with("-wal") && !n.ends_with("-shm")
        })
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    kept.into_iter().next().unwrap()
}

/// Garbage over the SQLite header (the first 100 bytes): no longer a database.
fn garble_header(path: &Path) -> Vec<u8> {
    let mut bytes = std::fs::read(path).unwrap();
    assert!(
        bytes.starts_with(b"SQLite format 3\0"),
        "not a database yet"
    );
    bytes[..100].fill(0x5a);
    std::fs::write(path, &bytes).unwrap();
    bytes
}

/// This test binary again, running only `helper` with `what` in its environment.
fn spawn_helper(what: &str, wrap: Option<&str>) -> Command {
    let exe = std::env::current_exe().unwrap();
    let mut command = match wrap {
        // In a user and mount namespace of its own, where the folder is mounted
        // read-only: the kernel refuses even root.
        Some(dir) => {
            let mut c = Command::new("unshare");
            c.args(["-rm", "sh", "-c"])
                .arg(r#"mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" && shift && exec "$@""#)
                .arg("sh")
                .arg(dir)
                .arg(&exe);
            c
        }
        None => Command::new(&exe),
    };
    command
        .args(["--exact", "helper", "--nocapture", "--test-threads=1"])
        .env(HELPER, what);
    command
}

/// Not a test of its own: what the helper process does (nothing when run as a test).
#[test]
fn helper() {
    let Ok(what) = std::env::var(HELPER) else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (mode, dir) = what.split_once(':').unwrap();
    let opened = rt.block_on(open(Path::new(dir)));
    // Into a file named by the parent, written whole then renamed (the parent waits
    // for it to exist).
    let out = PathBuf::from(std::env::var_os(HELPER_OUT).unwrap());
    let say = |line: String| {
        let part = out.with_extension("part");
        std::fs::write(&part, line).unwrap();
        std::fs::rename(&part, &out).unwrap();
    };
    match (mode, opened) {
        ("hold", Ok(_app)) => {
            say(format!("holds {}", std::process::id()));
            // Until killed: the lock goes with the process.
            let mut line = String::new();
            let _ = std::io::stdin().read_line(&mut line);
            panic!("the helper was not killed");
        }
        (_, Err(e)) => say(format!("refused {}", UserError::from(e).message)),
        (_, Ok(_)) => say("opened".to_owned()),
    }
}

/// What the helper said in the file `out`, once it is there (the child's state, polled).
fn answer(child: &mut Child, out: &Path) -> String {
    let start = std::time::Instant::now();
    loop {
        if let Ok(said) = std::fs::read_to_string(out) {
            return said;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the helper ended without answering: {status}");
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(60),
            "the helper said nothing"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[tokio::test]
async fn a_second_app_on_the_folder_is_refused_with_the_pid_until_the_first_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let first = open(dir.path()).await.unwrap();
    let before = names(dir.path());
    let Err(refused) = open(dir.path()).await else {
        panic!("a second app opened the same folder")
    };
    let CoreError::Startup(StartupError::AlreadyRunning { pid, .. }) = &refused else {
        panic!("{refused:?}")
    };
    assert_eq!(*pid, Some(std::process::id()));
    let words = UserError::from(refused);
    assert!(
        words.message.contains(&format!(
            "medwallet is already running with this data folder (pid {})",
            std::process::id()
        )),
        "{words:?}"
    );
    // The refused one left the folder as it was.
    assert_eq!(names(dir.path()), before);
    drop(first);
    let again = open(dir.path()).await.unwrap();
    assert!(again.startup_notices().is_empty());
}

#[tokio::test]
async fn a_refused_app_opens_no_database() {
    let dir = tempfile::tempdir().unwrap();
    let lock = medwallet_core::data_folder::FolderLock::take(dir.path()).unwrap();
    assert!(matches!(
        open(dir.path()).await,
        Err(CoreError::Startup(StartupError::AlreadyRunning { .. }))
    ));
    // No settings, vault, records or audit files: only the lock.
    assert_eq!(names(dir.path()), vec!["medwallet.lock".to_owned()]);
    drop(lock);
}

#[tokio::test]
async fn another_process_holding_the_folder_is_named_and_its_lock_goes_when_it_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let talk = tempfile::tempdir().unwrap();
    let out = talk.path().join("said");
    let mut holder = spawn_helper(&format!("hold:{}", dir.path().display()), None)
        .env(HELPER_OUT, &out)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let said = answer(&mut holder, &out);
    assert_eq!(said, format!("holds {}", holder.id()));

    let Err(refused) = open(dir.path()).await else {
        panic!("opened while another process holds the folder")
    };
    assert!(
        UserError::from(refused).message.contains(&format!(
            "medwallet is already running with this data folder (pid {})",
            holder.id()
        )),
        "not the holder's pid"
    );

    // Killed: no chance to clean up. The kernel lets its lock go.
    holder.kill().unwrap();
    holder.wait().unwrap();
    let app = open(dir.path()).await.unwrap();
    assert!(app.startup_notices().is_empty());
}

#[tokio::test]
async fn a_folder_that_cannot_be_created_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"not a folder").unwrap();
    let inside = file.join("medwallet");
    let Err(CoreError::Startup(StartupError::FolderUnusable { dir: named, .. })) =
        open(&inside).await
    else {
        panic!("opened a folder under a file")
    };
    assert_eq!(named, inside);
    let words = UserError::from(CoreError::Startup(StartupError::FolderUnusable {
        dir: named,
        source: std::io::Error::from(std::io::ErrorKind::NotADirectory),
    }));
    assert!(words.message.contains(&inside.display().to_string()));
    assert!(words.hint.unwrap().contains("MEDWALLET_DATA_DIR"));
}

#[test]
fn a_read_only_folder_is_named_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // A folder the app used before: its settings are there.
    let rt = tokio::runtime::Runtime::new().unwrap();
    drop(rt.block_on(open(&data)).unwrap());
    let before = names(&data);
    let mut child = spawn_helper(
        &format!("open:{}", data.display()),
        Some(&data.display().to_string()),
    )
    .env(HELPER_OUT, dir.path().join("said"))
    .stdout(Stdio::null())
    .spawn()
    .expect("unshare (util-linux) runs the helper on a read-only mount");
    let said = answer(&mut child, &dir.path().join("said"));
    assert!(child.wait().unwrap().success());
    assert_eq!(
        said,
        format!(
            "refused medwallet's data folder {} cannot be written (Read-only file system (os error 30)).",
            data.display()
        )
    );
    assert_eq!(names(&data), before);
}

#[tokio::test]
async fn a_damaged_settings_file_is_kept_aside_and_the_app_starts_on_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let app = open(dir.path()).await.unwrap();
    let mut changed = app.settings().await;
    changed.ipfs_url = "http://127.0.0.1:5099".into();
    let saved = app.save_settings(&changed).await.unwrap();
    assert!(matches!(saved, SaveOutcome::Saved { .. }), "{saved:?}");
    assert_eq!(app.settings().await.ipfs_url, "http://127.0.0.1:5099");
    drop(app);

    let path = dir.path().join("settings.sqlite");
    let damaged = garble_header(&path);
    let app = open(dir.path()).await.unwrap();
    let kept = kept_aside(&path);
    assert_eq!(
        std::fs::read(&kept).unwrap(),
        damaged,
        "the damaged file changed"
    );
    let notices = app.startup_notices();
    let [StartupNotice {
        problem,
        rebuild_wallet: None,
    }] = notices.as_slice()
    else {
        panic!("{notices:?}")
    };
    assert!(
        problem.message.contains(&path.display().to_string())
            && problem.message.contains(&kept.display().to_string()),
        "{problem:?}"
    );
    assert!(problem
        .hint
        .as_deref()
        .unwrap()
        .contains("default settings"));
    // On a new store: the defaults, and saving works again.
    assert_eq!(app.settings().await.ipfs_url, DEFAULT_IPFS);
    let saved = app.save_settings(&changed).await.unwrap();
    assert!(matches!(saved, SaveOutcome::Saved { .. }), "{saved:?}");
    drop(app);

    // Told once: the next start finds nothing damaged, and the kept file is still there.
    let app = open(dir.path()).await.unwrap();
    assert!(app.startup_notices().is_empty());
    assert_eq!(app.settings().await.ipfs_url, "http://127.0.0.1:5099");
    assert_eq!(std::fs::read(&kept).unwrap(), damaged);
}

#[tokio::test]
async fn a_damaged_audit_cache_is_kept_aside_and_a_new_one_starts() {
    let dir = tempfile::tempdir().unwrap();
    let wallet = "0123abcd";
    let path = dir.path().join("audit").join(format!("{wallet}.sqlite"));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let cache = medwallet_ledger::EventCache::open(&path).await.unwrap();
    cache.close().await;
    drop(cache);
    let damaged = garble_header(&path);

    let app = open(dir.path()).await.unwrap();
    let kept = kept_aside(&path);
    assert_eq!(std::fs::read(&kept).unwrap(), damaged);
    assert!(!path.exists());
    let notices = app.startup_notices();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(notices[0].problem.message.contains(wallet));
    assert!(notices[0].problem.message.contains("event cache"));
    assert_eq!(notices[0].rebuild_wallet, None);
    // The cache opens new where the damaged one was.
    medwallet_ledger::EventCache::open(&path).await.unwrap();
}
