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
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
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
        let probe = dir.join(format!(".medwallet-write-check-{}", std::process::id()));
        File::create(&probe).map_err(unusable)?;
        std::fs::remove_file(&probe).map_err(unusable)?;
        Ok(Self { _file: file })
    }
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
    let taken = |p: &Path| p.symlink_metadata().is_ok() || sibling(p, "-wal").exists();
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
/// (a new database must never meet the old one's log). Under the folder lock, so no
/// other medwallet takes the name meanwhile.
fn set_aside(path: &Path) -> std::io::Result<PathBuf> {
    let aside = aside_name(path);
    std::fs::rename(path, &aside)?;
    for suffix in ["-wal", "-shm"] {
        let from = sibling(path, suffix);
        if from.exists() {
            std::fs::rename(&from, sibling(&aside, suffix))?;
        }
    }
    Ok(aside)
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
                    LocalDatabase::Records { wallet_id: id },
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
                out.push((LocalDatabase::AuditCache { wallet_id: id }, entry.path()));
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
        match check(&path).await {
            Health::Sound => {}
            Health::Unchecked(why) => {
                tracing::warn!(database = database.kind(), error = %why, "a database was not checked at start");
            }
            Health::Damaged(what) => {
                tracing::error!(database = database.kind(), %what, "a damaged database is kept aside");
                found.push(match set_aside(&path) {
                    Ok(kept_as) => StartupError::SetAside {
                        database,
                        path,
                        kept_as,
                        what,
                    },
                    Err(source) => StartupError::NotSetAside {
                        database,
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
