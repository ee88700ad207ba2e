//! One wallet's records on this device: `records.sqlite` and the
//! `objects/` folder (the encrypted content, manifest and capsule of each version until
//! they are on IPFS).
//!
//! Files are written as `<name>.part` and renamed once complete and synced, and a record's
//! row is inserted in one transaction after its three objects exist, so a crash at any
//! point leaves either a complete record or nothing that is listed.
//!
//! This module holds the records and outbox tables; [`grants`], [`front_desk`], [`staff`]
//! and [`emergency`] (the emergency alerts) hold theirs (migrations in `core/migrations/records`), [`lists`] answers the Records page's
//! pages and counts, and [`local_seal`] seals each version's data key under the wallet's
//! local records key.

pub(crate) mod emergency;
pub(crate) mod front_desk;
pub(crate) mod grants;
pub(crate) mod inbox;
pub(crate) mod lists;
pub(crate) mod local_seal;
pub(crate) mod rebuild;
pub(crate) mod replicas;
pub(crate) mod staff;

use std::path::{Path, PathBuf};

use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use sqlx::Row;

/// Where a record version is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Only on this device (its objects are in `objects/`).
    Local,
    /// Stored and pinned on IPFS, CIDs checked.
    OnIpfs,
}

impl State {
    fn as_str(self) -> &'static str {
        match self {
            State::Local => "local",
            State::OnIpfs => "on_ipfs",
        }
    }
}

/// The steps of the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Add and pin the objects on IPFS.
    Upload,
    /// Register the version on the ledger (after the upload).
    Register,
}

impl Step {
    fn as_str(self) -> &'static str {
        match self {
            Step::Upload => "upload",
            Step::Register => "register",
        }
    }
}

/// A record version's row.
#[derive(Debug, Clone)]
pub struct StoredRecord {
    pub record_id: String,
    pub version: u32,
    pub sealed_dek: Vec<u8>,
    pub manifest: Vec<u8>,
    pub content_cid: String,
    pub manifest_cid: String,
    pub capsule_cid: String,
    pub state: State,
    pub problem: Option<String>,
    pub added_at: String,
    /// Where its registration landed: (tx hash, block number).
    pub ledger: Option<(String, u64)>,
    /// Why its registration still waits.
    pub ledger_problem: Option<String>,
}

/// A due outbox entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub record_id: String,
    pub version: u32,
    pub attempts: u32,
}

/// The three objects of a record version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Object {
    Content,
    Manifest,
    Capsule,
}

impl Object {
    fn suffix(self) -> &'static str {
        match self {
            Object::Content => "content",
            Object::Manifest => "manifest",
            Object::Capsule => "capsule",
        }
    }
}

/// Errors of the local store: the database or the file system.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed.
    #[error("the records database failed: {0}")]
    Db(#[from] sqlx::Error),
    /// Its schema could not be brought up to date.
    #[error("the records database could not be migrated: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A file operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        source: std::io::Error,
    },
    /// A row holds a value this version cannot read.
    #[error("the records database holds an unreadable value: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// The variant's name, for logs (a value in a row is not logged).
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            StoreError::Db(_) => "db",
            StoreError::Migrate(_) => "migrate",
            StoreError::Io { .. } => "io",
            StoreError::Corrupt(_) => "corrupt",
        }
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> StoreError {
    let what = what.into();
    move |source| StoreError::Io { what, source }
}

/// One wallet's local record store.
#[derive(Debug, Clone)]
pub struct RecordStore {
    dir: PathBuf,
    pub(crate) pool: SqlitePool,
    /// Failed adds whose rows could not be forgotten (a full disk refuses SQLite's
    /// delete too): forgotten when the next add begins, else swept at the next start.
    unforgotten: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl RecordStore {
    /// Opens (creating) the store in `dir`, and removes what interrupted adds left behind.
    pub async fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir.join("objects")).map_err(io("creating the records folder"))?;
        std::fs::create_dir_all(dir.join("tmp")).map_err(io("creating the records folder"))?;
        let options = SqliteConnectOptions::new()
            .filename(dir.join("records.sqlite"))
            .create_if_missing(true)
            .foreign_keys(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .synchronous(sqlx::sqlite::SqliteSynchronous::Full);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .after_connect(|conn, _| Box::pin(crash_point_at_each_commit(conn)))
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/records").run(&pool).await?;
        let store = Self {
            dir: dir.to_owned(),
            pool,
            unforgotten: Default::default(),
        };
        store.clean_interrupted().await?;
        Ok(store)
    }

    /// Closes the database.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The wallet's records folder (its database, `objects/`, `tmp/`).
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The path of an object of a record version.
    pub fn object_path(&self, record_id: &str, version: u32, object: Object) -> PathBuf {
        self.dir
            .join("objects")
            .join(format!("{record_id}-v{version}.{}", object.suffix()))
    }

    /// A fresh temp file path (for fetched ciphertext and decrypted copies in progress).
    pub fn temp_path(&self, name: &str) -> PathBuf {
        self.dir.join("tmp").join(name)
    }

    /// `path.part`, where an object is written before it is renamed into place.
    pub fn part_path(path: &Path) -> PathBuf {
        let mut name = path.as_os_str().to_owned();
        name.push(".part");
        PathBuf::from(name)
    }

    /// Notes that an add has started encrypting (before any file is written), after
    /// forgetting the failed adds a full disk kept.
    pub async fn begin_add(&self, record_id: &str, now: &str) -> Result<()> {
        let kept = std::mem::take(&mut *self.unforgotten_list());
        for id in kept {
            // Best effort: one still kept waits for the next add or the next start.
            let _ = self.forget_add(&id).await;
        }
        sqlx::query("INSERT INTO adds_in_progress (record_id, started_at) VALUES (?, ?)")
            .bind(record_id)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Forgets an add that failed or was cancelled, and removes its files (first: on a
    /// full disk they free the room the database's delete needs) and its nonce (nothing
    /// of a record that never existed stays).
    pub async fn abandon_add(&self, record_id: &str, version: u32) -> Result<()> {
        self.remove_objects(record_id, version);
        self.forget_add(record_id).await
    }

    fn unforgotten_list(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        self.unforgotten
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Forgets a failed add's rows; kept in memory to be forgotten later when it fails.
    async fn forget_add(&self, record_id: &str) -> Result<()> {
        let forgotten = self.delete_add_rows(record_id).await;
        if forgotten.is_err() {
            self.unforgotten_list().push(record_id.to_owned());
        }
        forgotten
    }

    async fn delete_add_rows(&self, record_id: &str) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "DELETE FROM record_nonces WHERE record_id = ? \
             AND NOT EXISTS (SELECT 1 FROM records WHERE record_id = ?)",
        )
        .bind(record_id)
        .bind(record_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM adds_in_progress WHERE record_id = ?")
            .bind(record_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Inserts a complete record version with its upload in the outbox, in one transaction,
    /// and closes its add.
    pub async fn insert(&self, row: &StoredRecord) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO records (record_id, version, sealed_dek, manifest, content_cid, \
             manifest_cid, capsule_cid, state, problem, added_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&row.record_id)
        .bind(row.version)
        .bind(&row.sealed_dek)
        .bind(&row.manifest)
        .bind(&row.content_cid)
        .bind(&row.manifest_cid)
        .bind(&row.capsule_cid)
        .bind(row.state.as_str())
        .bind(&row.problem)
        .bind(&row.added_at)
        .execute(&mut *tx)
        .await?;
        if row.state == State::Local {
            sqlx::query("INSERT INTO outbox (record_id, version, step) VALUES (?, ?, 'upload')")
                .bind(&row.record_id)
                .bind(row.version)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("DELETE FROM adds_in_progress WHERE record_id = ?")
            .bind(&row.record_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every record version, newest first.
    pub async fn all(&self) -> Result<Vec<StoredRecord>> {
        let rows = sqlx::query(
            "SELECT record_id, version, sealed_dek, manifest, content_cid, manifest_cid, \
             capsule_cid, state, problem, added_at, ledger_tx, ledger_block, ledger_problem \
             FROM records ORDER BY added_at DESC, record_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(read_row).collect()
    }

    /// The latest version of a record.
    pub async fn latest(&self, record_id: &str) -> Result<Option<StoredRecord>> {
        let row = sqlx::query(
            "SELECT record_id, version, sealed_dek, manifest, content_cid, manifest_cid, \
             capsule_cid, state, problem, added_at, ledger_tx, ledger_block, ledger_problem \
             FROM records WHERE record_id = ? \
             ORDER BY version DESC LIMIT 1",
        )
        .bind(record_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(read_row).transpose()
    }

    /// One version of a record.
    pub async fn version_row(&self, record_id: &str, version: u32) -> Result<Option<StoredRecord>> {
        let row = sqlx::query(
            "SELECT record_id, version, sealed_dek, manifest, content_cid, manifest_cid, \
             capsule_cid, state, problem, added_at, ledger_tx, ledger_block, ledger_problem \
             FROM records WHERE record_id = ? AND version = ?",
        )
        .bind(record_id)
        .bind(version)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(read_row).transpose()
    }

    /// Outbox entries of `step` due at `now` (unix seconds); all of them when `now` is
    /// `None`.
    pub async fn due(&self, step: Step, now: Option<i64>) -> Result<Vec<Due>> {
        let rows = sqlx::query(
            "SELECT record_id, version, attempts FROM outbox \
             WHERE step = ? AND next_attempt_at <= ? ORDER BY rowid",
        )
        .bind(step.as_str())
        .bind(now.unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Due {
                    record_id: r.try_get("record_id")?,
                    version: r.try_get("version")?,
                    attempts: r.try_get("attempts")?,
                })
            })
            .collect()
    }

    /// Outbox entries of `step` of one record, due or not, oldest version first (a step
    /// that needs them now: a revocation waits for its version).
    pub async fn due_of(&self, step: Step, record_id: &str) -> Result<Vec<Due>> {
        let rows = sqlx::query(
            "SELECT record_id, version, attempts FROM outbox \
             WHERE step = ? AND record_id = ? ORDER BY version",
        )
        .bind(step.as_str())
        .bind(record_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Due {
                    record_id: r.try_get("record_id")?,
                    version: r.try_get("version")?,
                    attempts: r.try_get("attempts")?,
                })
            })
            .collect()
    }

    /// How many entries of `step` wait.
    pub async fn waiting(&self, step: Step) -> Result<u32> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE step = ?")
            .bind(step.as_str())
            .fetch_one(&self.pool)
            .await?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// An outbox step failed: keep it, say why (in the record's column for that step),
    /// and try again after a backoff.
    pub async fn step_failed(
        &self,
        step: Step,
        record_id: &str,
        version: u32,
        problem: &str,
        next_attempt_at: i64,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ? \
             WHERE record_id = ? AND version = ? AND step = ?",
        )
        .bind(next_attempt_at)
        .bind(record_id)
        .bind(version)
        .bind(step.as_str())
        .execute(&mut *tx)
        .await?;
        // Column names cannot be bound; each step has its own, chosen here, never from input.
        let update = match step {
            Step::Upload => "UPDATE records SET problem = ? WHERE record_id = ? AND version = ?",
            Step::Register => {
                "UPDATE records SET ledger_problem = ? WHERE record_id = ? AND version = ?"
            }
        };
        sqlx::query(update)
            .bind(problem)
            .bind(record_id)
            .bind(version)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// An upload finished: the record is on IPFS, its outbox entry is done, and the local
    /// copy of its content is no longer needed (manifest and capsule are small and kept).
    pub async fn uploaded(&self, record_id: &str, version: u32) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE records SET state = 'on_ipfs', problem = NULL \
             WHERE record_id = ? AND version = ?",
        )
        .bind(record_id)
        .bind(version)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM outbox WHERE record_id = ? AND version = ? AND step = 'upload'")
            .bind(record_id)
            .bind(version)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT OR IGNORE INTO outbox (record_id, version, step) VALUES (?, ?, 'register')",
        )
        .bind(record_id)
        .bind(version)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        // The content is on IPFS now: the local copy only takes space.
        remove_file(&self.object_path(record_id, version, Object::Content));
        Ok(())
    }

    /// How many record versions have work left in the outbox (each ends in a ledger
    /// transaction).
    pub async fn pending_versions(&self) -> Result<u32> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM (SELECT DISTINCT record_id, version FROM outbox)",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// A registration is on the ledger: note where, and close its outbox entry.
    pub async fn registered(
        &self,
        record_id: &str,
        version: u32,
        tx_hash: &str,
        block_number: u64,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE records SET ledger_tx = ?, ledger_block = ?, ledger_problem = NULL \
             WHERE record_id = ? AND version = ?",
        )
        .bind(tx_hash)
        .bind(i64::try_from(block_number).unwrap_or(i64::MAX))
        .bind(record_id)
        .bind(version)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM outbox WHERE record_id = ? AND version = ? AND step = 'register'")
            .bind(record_id)
            .bind(version)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes a record version and its files (a cancelled add whose row was written).
    pub async fn delete(&self, record_id: &str, version: u32) -> Result<()> {
        sqlx::query("DELETE FROM records WHERE record_id = ? AND version = ?")
            .bind(record_id)
            .bind(version)
            .execute(&self.pool)
            .await?;
        self.remove_objects(record_id, version);
        Ok(())
    }

    fn remove_objects(&self, record_id: &str, version: u32) {
        for object in [Object::Content, Object::Manifest, Object::Capsule] {
            let path = self.object_path(record_id, version, object);
            remove_file(&Self::part_path(&path));
            remove_file(&path);
        }
    }

    /// Removes the files of adds that never finished, and stale temp files.
    async fn clean_interrupted(&self) -> Result<()> {
        let ids: Vec<String> = sqlx::query_scalar("SELECT record_id FROM adds_in_progress")
            .fetch_all(&self.pool)
            .await?;
        for id in ids {
            // Interrupted adds are always version 1 (new records).
            self.abandon_add(&id, 1).await?;
        }
        if let Ok(entries) = std::fs::read_dir(self.dir.join("tmp")) {
            for entry in entries.flatten() {
                remove_file(&entry.path());
            }
        }
        Ok(())
    }
}

/// Removes one of the app's own files (an object, a `.part`, a temp file); a file that is
/// already gone is fine, and one that cannot be removed only takes space (it is named in
/// the log; it holds only ciphertext, or nothing the app reads again, and the temp folder
/// is swept at the next start).
pub(crate) fn remove_file(path: &Path) {
    if let Err(e) = std::fs::remove_file(path) {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::debug!(path = %path.display(), error = %e, "a file of the records store stays");
        }
    }
}

fn read_row(r: &sqlx::sqlite::SqliteRow) -> Result<StoredRecord> {
    let state: String = r.try_get("state")?;
    let state = match state.as_str() {
        "local" => State::Local,
        "on_ipfs" => State::OnIpfs,
        other => return Err(StoreError::Corrupt(format!("record state {other:?}"))),
    };
    let ledger_tx: Option<String> = r.try_get("ledger_tx")?;
    let ledger_block: Option<i64> = r.try_get("ledger_block")?;
    Ok(StoredRecord {
        ledger: ledger_tx.map(|tx| {
            (
                tx,
                ledger_block
                    .and_then(|b| u64::try_from(b).ok())
                    .unwrap_or(0),
            )
        }),
        ledger_problem: r.try_get("ledger_problem")?,
        record_id: r.try_get("record_id")?,
        version: r.try_get("version")?,
        sealed_dek: r.try_get("sealed_dek")?,
        manifest: r.try_get("manifest")?,
        content_cid: r.try_get("content_cid")?,
        manifest_cid: r.try_get("manifest_cid")?,
        capsule_cid: r.try_get("capsule_cid")?,
        state,
        problem: r.try_get("problem")?,
        added_at: r.try_get("added_at")?,
    })
}

/// Writes `bytes` to `path` through `path.part`, synced, then renamed into place; on a
/// failure (a full disk) the `.part` is removed.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let part = RecordStore::part_path(path);
    let written = std::fs::File::create(&part).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    let placed = written.and_then(|()| {
        medwallet_faults::point("store.write.synced");
        std::fs::rename(&part, path)
    });
    match placed {
        Ok(()) => medwallet_faults::point("store.write.renamed"),
        Err(_) => remove_file(&part),
    }
    placed
}

/// A crash point ([`medwallet_faults`]) just before each transaction of `conn` commits, so
/// the crash tests kill the app between any two writes of the store. Debug builds only.
async fn crash_point_at_each_commit(conn: &mut sqlx::SqliteConnection) -> sqlx::Result<()> {
    #[cfg(debug_assertions)]
    conn.lock_handle().await?.set_commit_hook(|| {
        medwallet_faults::point("sqlite.commit");
        true
    });
    #[cfg(not(debug_assertions))]
    let _ = conn;
    Ok(())
}
