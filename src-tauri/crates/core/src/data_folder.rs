//! The app's data folder at start: one process at a time, writable, and the databases in
//! it checked before anything uses them.
//!
//! **One process per folder.** `medwallet.lock` is locked exclusively (`flock`, through
//! `File::try_lock`) for the life of the [`App`](crate::App), and holds the pid of the
//! process that took it so that a second one can name it. Two processes on one folder
//! would run the background pass with the same ledger key and write the same databases.
//! The kernel lets the lock go when its process ends, however it ends, so a lock left by
//! a killed app never blocks; the file itself stays (removing it would let a third
//! process lock a new file while the second still holds the old one).
//!
//! **A folder that cannot be written is named at start**, before any database is opened:
//! taking the lock writes the pid, and a probe file is created and removed.
//!
//! **A damaged database is kept aside, never overwritten.** `settings.sqlite`, each
//! wallet's `records/<id>/records.sqlite` and its audit event cache `audit/<id>.sqlite`
//! are opened read-only and checked (`PRAGMA quick_check`) before use. One that SQLite
//! calls damaged (not a database, malformed, or a fault the check finds) is renamed to
//! `<name>.damaged-<UTC time>` with its `-wal` and `-shm`, and the app starts with a new
//! one: the settings on the defaults, the audit cache read again from the ledger, the
//! records brought back by "Rebuild from the ledger". Each is told to the user
//! ([`StartupError::SetAside`]). The vault is not checked here: a damaged vault is shown
//! full-window and left as it is (restoring from the kit writes a new file next to it).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection};

use crate::error::{LocalDatabase, StartupError};

/// The lock file's name in the data folder.
pub const LOCK_FILE: &str = "medwallet.lock";

/// The data folder, locked for this process until dropped.
#[derive(Debug)]
pub struct FolderLock {
    /// Held open: closing it (at drop, or when the process ends) releases the lock.
    _file: File,
}

impl FolderLock {
    /// Creates `dir` if needed, checks that it can be written and locks it for this
    /// process; refused while another process holds it.
    pub fn take(dir: &Path) -> Result<Self, StartupError> {
        let unusable = |source| StartupError::FolderUnusable {
            dir: dir.to_owned(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(unusable)?;
        let path = dir.join(LOCK_FILE);
        // Not through a link: the lock and the pid it holds are this folder's own.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
            .open(&path)
            .map_err(unusable)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(StartupError::AlreadyRunning {
                    dir: dir.to_owned(),
                    pid: holder_pid(&mut file),
                })
            }
            Err(std::fs::TryLockError::Error(source)) => return Err(unusable(source)),
        }
        let written = file
            .set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| writeln!(file, "{}", std::process::id()))
            .and_then(|()| file.sync_all());
        written.map_err(unusable)?;
        // The lock file may be writable in a folder that is not (its mode, a folder
        // made read-only since): the databases are new files in it.
        // A new file (never one already there, nor a link), under a name no other
        // process picks.
        let probe = dir.join(format!(
            ".medwallet-write-check-{}-{}",
            std::process::id(),
            hex::encode(probe_suffix())
        ));
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&probe)
            .map_err(unusable)?;
        std::fs::remove_file(&probe).map_err(unusable)?;
        Ok(Self { _file: file })
    }
}

/// Eight random bytes for the probe file's name (zeros if the system has none to give:
/// `create_new` still refuses a file already there).
fn probe_suffix() -> [u8; 8] {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 8];
    let _ = ring::rand::SystemRandom::new().fill(&mut bytes);
    bytes
}

/// The pid the holder wrote, if it wrote one yet.
fn holder_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    // A pid is a few digits; the file is the app's, but is read bounded all the same.
    file.take(32).read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

/// What a check found in one database file.
#[derive(Debug, PartialEq, Eq)]
enum Health {
    /// Sound, or not there (a new one is made).
    Sound,
    /// Damaged: what SQLite said.
    Damaged(String),
    /// Not checked (busy, unreadable): the use that opens it names the problem.
    Unchecked(String),
}

/// SQLite's words for a damaged file: `SQLITE_NOTADB`, or `SQLITE_CORRUPT` and its
/// extended codes.
fn damage_in(err: &sqlx::Error) -> Option<String> {
    const SQLITE_CORRUPT: i32 = 11;
    const SQLITE_NOTADB: i32 = 26;
    let db = err.as_database_error()?;
    let code = db.code().and_then(|c| c.parse::<i32>().ok())? & 0xff;
    (code == SQLITE_CORRUPT || code == SQLITE_NOTADB).then(|| db.message().to_owned())
}

/// Opens the database at `path` read-only (nothing is written to it, not even a
/// checkpoint of its log) and runs SQLite's quick check.
async fn check(path: &Path) -> Health {
    if !path.exists() {
        return Health::Sound;
    }
    let classify = |e: sqlx::Error| match damage_in(&e) {
        Some(what) => Health::Damaged(what),
        None => Health::Unchecked(e.to_string()),
    };
    let options = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .create_if_missing(false)
        .disable_statement_logging();
    let mut conn = match SqliteConnection::connect_with(&options).await {
        Ok(conn) => conn,
        Err(e) => return classify(e),
    };
    let verdict = sqlx::query_scalar::<_, String>("PRAGMA quick_check")
        .fetch_all(&mut conn)
        .await;
    let _ = conn.close().await;
    match verdict {
        Ok(rows) if rows.len() == 1 && rows[0] == "ok" => Health::Sound,
        Ok(rows) => Health::Damaged(rows.into_iter().next().unwrap_or_default()),
        Err(e) => classify(e),
    }
}

/// `<name>.damaged-<UTC time>` next to `path`, a name no file has (`-2`, `-3`… after it
/// when one does): a damaged file kept aside is never overwritten.
fn aside_name(path: &Path) -> PathBuf {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".damaged-{stamp}"));
    let first = PathBuf::from(&name);
    let taken = |p: &Path| {
        [p.to_owned(), sibling(p, "-wal"), sibling(p, "-shm")]
            .iter()
            .any(|f| f.symlink_metadata().is_ok())
    };
    if !taken(&first) {
        return first;
    }
    (2u32..)
        .map(|n| {
            let mut numbered = name.clone();
            numbered.push(format!("-{n}"));
            PathBuf::from(numbered)
        })
        .find(|p| !taken(p))
        .unwrap_or(first)
}

/// `path` with `suffix` after its name (`records.sqlite-wal`).
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Renames the damaged database at `path` aside with its log and shared memory files
/// (a new database must never meet the old one's log). The log files go first: a stop
/// halfway leaves the damaged database without its log (both kept), never a new
/// database beside an old log. No rename replaces a file, and a failure puts back what
/// was moved. Under the folder lock, so no other medwallet takes the names meanwhile.
fn set_aside(path: &Path) -> std::io::Result<PathBuf> {
    let aside = aside_name(path);
    let mut moved: Vec<(PathBuf, PathBuf)> = Vec::new();
    let result = (|| {
        for suffix in ["-wal", "-shm"] {
            let from = sibling(path, suffix);
            if from.symlink_metadata().is_ok() {
                let to = sibling(&aside, suffix);
                rename_new(&from, &to)?;
                moved.push((from, to));
            }
        }
        rename_new(path, &aside)
    })();
    if let Err(e) = result {
        for (from, to) in moved.iter().rev() {
            let _ = rename_new(to, from);
        }
        return Err(e);
    }
    Ok(aside)
}

/// A set-aside of `path` that stopped halfway (its log files moved, the database not):
/// finished now, so the damaged database is never used without its log. Answers where
/// the database went.
fn finish_set_aside(path: &Path) -> Option<std::io::Result<PathBuf>> {
    if path.symlink_metadata().is_err() {
        return None;
    }
    let (dir, name) = (path.parent()?, path.file_name()?.to_str()?);
    let prefix = format!("{name}.damaged-");
    let entries = std::fs::read_dir(dir).ok()?;
    let orphan_log = entries.flatten().find_map(|e| {
        let file = e.file_name();
        let file = file.to_str()?;
        let aside = file
            .strip_suffix("-wal")
            .or_else(|| file.strip_suffix("-shm"))
            .filter(|a| a.starts_with(&prefix))?;
        let aside = dir.join(aside);
        aside.symlink_metadata().is_err().then_some(aside)
    })?;
    Some(rename_new(path, &orphan_log).map(|()| orphan_log))
}

/// Renames `from` to `to`, refused if `to` exists (`RENAME_NOREPLACE`).
fn rename_new(from: &Path, to: &Path) -> std::io::Result<()> {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE).map_err(std::io::Error::from)
}

/// The databases of the data folder `dir` that a check covers: the settings, and each
/// wallet's records and audit cache (by their folders' and files' names).
fn databases(dir: &Path) -> Vec<(LocalDatabase, PathBuf)> {
    let mut out = vec![(LocalDatabase::Settings, dir.join("settings.sqlite"))];
    let wallet_id = |name: &str| {
        (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric()))
            .then(|| name.to_owned())
    };
    if let Ok(entries) = std::fs::read_dir(dir.join("records")) {
        for entry in entries.flatten() {
            if let Some(id) = entry.file_name().to_str().and_then(wallet_id) {
                out.push((
                    LocalDatabase::Records {
                        wallet_id: id,
                        name: None,
                    },
                    entry.path().join("records.sqlite"),
                ));
            }
        }
    }
    if let Ok(entries) = std::fs::read_dir(dir.join("audit")) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let id = name
                .to_str()
                .and_then(|n| n.strip_suffix(".sqlite"))
                .and_then(wallet_id);
            if let Some(id) = id {
                out.push((
                    LocalDatabase::AuditCache {
                        wallet_id: id,
                        name: None,
                    },
                    entry.path(),
                ));
            }
        }
    }
    out
}

/// Checks every database of the data folder `dir` and keeps each damaged one aside;
/// answers what was found (each [`StartupError::SetAside`] or
/// [`StartupError::NotSetAside`]), to tell the user. Called with the folder locked.
pub(crate) async fn keep_damaged_aside(dir: &Path) -> Vec<StartupError> {
    let mut found = Vec::new();
    for (database, path) in databases(dir) {
        match finish_set_aside(&path) {
            None => {}
            Some(Ok(kept_as)) => found.push(StartupError::SetAside {
                database: Box::new(database.clone()),
                path: path.clone(),
                kept_as,
                what: "found damaged at an earlier start, which stopped while keeping it aside"
                    .to_owned(),
            }),
            Some(Err(source)) => {
                found.push(StartupError::NotSetAside {
                    database: Box::new(database),
                    path,
                    source,
                });
                continue;
            }
        }
        match check(&path).await {
            Health::Sound => {}
            Health::Unchecked(why) => {
                tracing::warn!(database = database.kind(), error = %why, "a database was not checked at start");
            }
            Health::Damaged(what) => {
                tracing::error!(database = database.kind(), %what, "a damaged database is kept aside");
                found.push(match set_aside(&path) {
                    Ok(kept_as) => StartupError::SetAside {
                        database: Box::new(database),
                        path,
                        kept_as,
                        what,
                    },
                    Err(source) => StartupError::NotSetAside {
                        database: Box::new(database),
                        path,
                        source,
                    },
                });
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_in_the_same_process_is_refused_with_the_pid_then_released() {
        let dir = tempfile::tempdir().unwrap();
        let first = FolderLock::take(dir.path()).unwrap();
        let Err(StartupError::AlreadyRunning { pid, .. }) = FolderLock::take(dir.path()) else {
            panic!("a second lock was taken")
        };
        assert_eq!(pid, Some(std::process::id()));
        drop(first);
        FolderLock::take(dir.path()).unwrap();
    }

    #[test]
    fn a_name_taken_gets_a_number_never_the_same_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.sqlite");
        std::fs::write(&path, b"one").unwrap();
        let first = set_aside(&path).unwrap();
        std::fs::write(&path, b"two").unwrap();
        let second = set_aside(&path).unwrap();
        assert_ne!(first, second);
        assert_eq!(std::fs::read(&first).unwrap(), b"one");
        assert_eq!(std::fs::read(&second).unwrap(), b"two");
        assert!(!path.exists());
    }

    #[test]
    fn the_log_files_go_aside_with_their_database_and_no_rename_replaces_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.sqlite");
        for (suffix, bytes) in [("", b"db"), ("-wal", b"wl"), ("-shm", b"sh")] {
            std::fs::write(sibling(&path, suffix), bytes).unwrap();
        }
        let aside = set_aside(&path).unwrap();
        for (suffix, bytes) in [("", b"db"), ("-wal", b"wl"), ("-shm", b"sh")] {
            assert!(!sibling(&path, suffix).exists(), "{suffix} left behind");
            assert_eq!(std::fs::read(sibling(&aside, suffix)).unwrap(), bytes);
        }
        // A name that appeared meanwhile is not replaced.
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::write(&a, b"a").unwrap();
        std::fs::write(&b, b"b").unwrap();
        assert!(rename_new(&a, &b).is_err());
        assert_eq!(std::fs::read(&a).unwrap(), b"a");
        assert_eq!(std::fs::read(&b).unwrap(), b"b");
    }

    #[test]
    fn a_set_aside_stopped_after_the_logs_is_finished_at_the_next_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.sqlite");
        std::fs::write(&path, b"db").unwrap();
        let aside = dir.path().join("x.sqlite.damaged-20261207T000000Z");
        std::fs::write(sibling(&aside, "-wal"), b"wl").unwrap();
        assert_eq!(finish_set_aside(&path).unwrap().unwrap(), aside);
        assert_eq!(std::fs::read(&aside).unwrap(), b"db");
        assert!(!path.exists());
        // Nothing to finish: a sound database with no log aside, or none at all.
        std::fs::write(&path, b"new").unwrap();
        assert!(finish_set_aside(&path).is_none());
        std::fs::remove_file(&path).unwrap();
        assert!(finish_set_aside(&path).is_none());
    }

    #[test]
    fn a_lock_file_that_is_a_link_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = dir.path().join("elsewhere");
        std::fs::write(&elsewhere, b"not ours").unwrap();
        let folder = dir.path().join("data");
        std::fs::create_dir(&folder).unwrap();
        std::os::unix::fs::symlink(&elsewhere, folder.join(LOCK_FILE)).unwrap();
        assert!(matches!(
            FolderLock::take(&folder),
            Err(StartupError::FolderUnusable { .. })
        ));
        assert_eq!(std::fs::read(&elsewhere).unwrap(), b"not ours");
    }

    #[tokio::test]
    async fn garbage_is_damaged_a_missing_file_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.sqlite");
        assert_eq!(check(&path).await, Health::Sound);
        std::fs::write(&path, vec![0x5a; 8192]).unwrap();
        assert!(matches!(check(&path).await, Health::Damaged(_)));
        assert_eq!(std::fs::read(&path).unwrap(), vec![0x5a; 8192]);
    }
}
