//! The SQLite vault file (sqlx): preflight checks, migrations, and the rows.
//!
//! Opening never harms an existing file: it is first checked from outside (header, length) and
//! then through a read-only connection (integrity, schema versions, migration checksums). Only a
//! file that passes every check is opened read-write and migrated. Nothing here deletes or
//! recreates a vault file.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use sqlx::{ConnectOptions, Connection, Row};

use crate::error::{Result, VaultError};
use crate::identity::{PublicIdentity, Role};
use crate::kdf::KdfParams;

/// The schema version this code writes and understands (`PRAGMA user_version`, meta `schema`).
pub const SCHEMA_VERSION: i64 = 1;

/// Value of the meta `app` row that marks a medwallet vault.
const APP_MARK: &str = "medwallet-vault";

/// The embedded migrations (`migrations/`).
pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A wallet's id in the vault: 128 random bits as hex. Not secret.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WalletId(String);

impl WalletId {
    #[cfg(test)]
    pub(crate) fn from_raw(s: &str) -> Self {
        Self(s.to_owned())
    }

    /// A new random id. Chosen before a wallet is saved when something must be kept
    /// under its id first (a restore asks for the wallet's rebuild before the vault has
    /// it, so a stop in between never leaves a restored wallet that is not rebuilt).
    pub fn generate() -> Result<Self> {
        Ok(Self(hex::encode(crate::seed::random_bytes::<16>()?)))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for WalletId {
    type Err = VaultError;
    fn from_str(s: &str) -> Result<Self> {
        if s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Self(s.to_ascii_lowercase()))
        } else {
            Err(VaultError::WalletNotFound(s.to_owned()))
        }
    }
}

impl std::fmt::Display for WalletId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A wallet as listed: public data only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletInfo {
    /// Its id in this vault.
    pub id: WalletId,
    /// Address, public keys, role, display name.
    pub identity: PublicIdentity,
    /// Creation time, unix seconds.
    pub created_at: i64,
    /// Whether quick unlock (OS keyring) is turned on.
    pub quick_unlock: bool,
    /// The Argon2id parameters of its passphrase.
    pub kdf: KdfParams,
}

/// One row of `wallets`.
#[derive(Clone, Debug)]
pub(crate) struct WalletRow {
    pub info: WalletInfo,
    pub kdf_salt: Vec<u8>,
    pub wrapped_vault_key: Vec<u8>,
    pub sealed_seed: Vec<u8>,
    pub failed_attempts: u32,
    pub last_failure_at_ms: Option<i64>,
}

const WALLET_COLUMNS: &str = "id, role, display_name, address, ed25519_public, x25519_public, \
     created_at, kdf_version, kdf_m_cost_kib, kdf_t_cost, kdf_p_cost, kdf_salt, \
     wrapped_vault_key, sealed_seed, quick_unlock, failed_attempts, last_failure_at_ms";

fn u32_col(row: &sqlx::sqlite::SqliteRow, col: &str) -> Result<u32> {
    let v: i64 = row.try_get(col)?;
    u32::try_from(v).map_err(|_| {
        VaultError::Database(sqlx::Error::ColumnDecode {
            index: col.to_owned(),
            source: format!("value {v} out of range").into(),
        })
    })
}

fn wallet_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<WalletRow> {
    let role_text: String = row.try_get("role")?;
    let display_name: String = row.try_get("display_name")?;
    let role = Role::parse(&role_text).ok_or_else(|| VaultError::Tampered {
        display_name: display_name.clone(),
        detail: format!("unknown role {role_text:?}"),
    })?;
    Ok(WalletRow {
        info: WalletInfo {
            id: WalletId(row.try_get("id")?),
            identity: PublicIdentity {
                address: row.try_get("address")?,
                ed25519_public: row.try_get("ed25519_public")?,
                x25519_public: row.try_get("x25519_public")?,
                role,
                display_name,
            },
            created_at: row.try_get("created_at")?,
            quick_unlock: row.try_get::<i64, _>("quick_unlock")? != 0,
            kdf: KdfParams {
                version: u32_col(row, "kdf_version")?,
                m_cost_kib: u32_col(row, "kdf_m_cost_kib")?,
                t_cost: u32_col(row, "kdf_t_cost")?,
                p_cost: u32_col(row, "kdf_p_cost")?,
            },
        },
        kdf_salt: row.try_get("kdf_salt")?,
        wrapped_vault_key: row.try_get("wrapped_vault_key")?,
        sealed_seed: row.try_get("sealed_seed")?,
        failed_attempts: u32_col(row, "failed_attempts")?,
        last_failure_at_ms: row.try_get("last_failure_at_ms")?,
    })
}

/// Opens (creating if absent) the vault file at `path` after the preflight checks.
pub(crate) async fn open_pool(path: &Path) -> Result<SqlitePool> {
    let exists = preflight(path).await?;
    if !exists {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
    }
    let opts = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(!exists)
        .foreign_keys(true)
        // Deleted secrets are overwritten in the file, not left in free pages.
        .pragma("secure_delete", "ON")
        .busy_timeout(Duration::from_secs(5));
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(opts)
        .await?;
    if !exists {
        restrict_permissions(path);
    }
    MIGRATOR.run(&pool).await.map_err(|e| VaultError::Corrupt {
        path: path.to_owned(),
        detail: format!("migration failed: {e}"),
    })?;
    Ok(pool)
}

#[cfg(unix)]
fn restrict_permissions(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    // Best effort: everything secret is encrypted anyway; this hides names and addresses too.
    if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)) {
        tracing::warn!(error = ?e.kind(), "the new vault file's permissions could not be restricted");
    }
}

#[cfg(not(unix))]
fn restrict_permissions(_path: &Path) {}

/// Checks an existing file without writing to it. `Ok(false)`: no file yet.
pub(crate) async fn preflight(path: &Path) -> Result<bool> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e.into()),
    };
    let p = path.to_owned();
    if !meta.is_file() {
        return Err(VaultError::NotAVault {
            path: p,
            detail: "it is not a regular file".into(),
        });
    }
    check_header(&p, meta.len())?;
    check_read_only(&p).await?;
    Ok(true)
}

/// The SQLite header: magic, and the file length the header promises (page size x pages).
fn check_header(path: &PathBuf, len: u64) -> Result<()> {
    const HEADER: usize = 100;
    if len < HEADER as u64 {
        return Err(VaultError::Truncated {
            path: path.clone(),
            expected: HEADER as u64,
            actual: len,
        });
    }
    let mut h = [0u8; HEADER];
    std::fs::File::open(path)?.read_exact(&mut h)?;
    if &h[..16] != b"SQLite format 3\0" {
        return Err(VaultError::NotAVault {
            path: path.clone(),
            detail: "it is not an SQLite database".into(),
        });
    }
    let page_size = match u16::from_be_bytes([h[16], h[17]]) {
        1 => 65_536u64,
        n => u64::from(n),
    };
    let pages = u64::from(u32::from_be_bytes([h[28], h[29], h[30], h[31]]));
    // The in-header page count is only valid when the change counter matches
    // "version-valid-for" (SQLite file format, section 1.3.7); always true for our writers.
    let valid = h[24..28] == h[92..96];
    let expected = page_size * pages;
    if valid && pages > 0 && len < expected {
        return Err(VaultError::Truncated {
            path: path.clone(),
            expected,
            actual: len,
        });
    }
    Ok(())
}

/// Integrity, vault marker, schema versions and migration checksums, read-only.
async fn check_read_only(path: &PathBuf) -> Result<()> {
    let corrupt = |detail: String| VaultError::Corrupt {
        path: path.clone(),
        detail,
    };
    let mut conn = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .connect()
        .await
        .map_err(|e| corrupt(format!("cannot open it read-only: {e}")))?;

    let result = async {
        let check: String = sqlx::query_scalar("PRAGMA quick_check")
            .fetch_one(&mut conn)
            .await
            .map_err(|e| corrupt(format!("integrity check could not run: {e}")))?;
        if check != "ok" {
            return Err(corrupt(format!("integrity check: {check}")));
        }

        let user_version: i64 = sqlx::query_scalar("PRAGMA user_version")
            .fetch_one(&mut conn)
            .await?;
        if user_version > SCHEMA_VERSION {
            return Err(VaultError::NewerSchema {
                path: path.clone(),
                detail: format!(
                    "schema version {user_version}, this version knows up to {SCHEMA_VERSION}"
                ),
            });
        }

        let tables: Vec<String> =
            sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
                .fetch_all(&mut conn)
                .await?;
        if tables.is_empty() {
            // An empty SQLite database: nothing to lose, safe to initialise.
            return Ok(());
        }
        if !tables.iter().any(|t| t == "meta") {
            return Err(VaultError::NotAVault {
                path: path.clone(),
                detail: "it is an SQLite database of another application".into(),
            });
        }
        let app: Option<String> = sqlx::query_scalar("SELECT value FROM meta WHERE key = 'app'")
            .fetch_optional(&mut conn)
            .await?;
        if app.as_deref() != Some(APP_MARK) {
            return Err(VaultError::NotAVault {
                path: path.clone(),
                detail: "its meta table does not name medwallet".into(),
            });
        }
        let schema: Option<String> =
            sqlx::query_scalar("SELECT value FROM meta WHERE key = 'schema'")
                .fetch_optional(&mut conn)
                .await?;
        match schema.as_deref().map(str::parse::<i64>) {
            Some(Ok(v)) if v > SCHEMA_VERSION => {
                return Err(VaultError::NewerSchema {
                    path: path.clone(),
                    detail: format!("meta schema {v}, this version knows up to {SCHEMA_VERSION}"),
                })
            }
            Some(Ok(_)) => {}
            _ => {
                return Err(corrupt(
                    "the meta schema row is missing or unreadable".into(),
                ))
            }
        }

        if tables.iter().any(|t| t == "_sqlx_migrations") {
            let rows = sqlx::query("SELECT version, checksum, success FROM _sqlx_migrations")
                .fetch_all(&mut conn)
                .await?;
            for row in rows {
                let version: i64 = row.try_get("version")?;
                let checksum: Vec<u8> = row.try_get("checksum")?;
                let success: bool = row.try_get("success")?;
                match MIGRATOR.iter().find(|m| m.version == version) {
                    None => {
                        return Err(VaultError::NewerSchema {
                            path: path.clone(),
                            detail: format!("it has migration {version}, unknown to this version"),
                        })
                    }
                    Some(m) if *m.checksum != *checksum => {
                        return Err(corrupt(format!("migration {version} was changed")))
                    }
                    Some(_) if !success => {
                        return Err(corrupt(format!("migration {version} did not finish")))
                    }
                    Some(_) => {}
                }
            }
        }
        Ok(())
    }
    .await;
    // The check only read: nothing is lost if closing fails, and the verdict stands.
    if let Err(e) = conn.close().await {
        tracing::debug!(
            io = matches!(e, sqlx::Error::Io(_)),
            "closing the preflight connection failed"
        );
    }
    result
}

// ---- rows ----

pub(crate) struct NewWalletRow<'a> {
    pub id: &'a WalletId,
    pub identity: &'a PublicIdentity,
    pub created_at: i64,
    pub kdf: &'a KdfParams,
    pub kdf_salt: &'a [u8],
    pub wrapped_vault_key: &'a [u8],
    pub sealed_seed: &'a [u8],
}

pub(crate) async fn insert_wallet(pool: &SqlitePool, w: NewWalletRow<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO wallets (id, role, display_name, address, ed25519_public, x25519_public, \
         created_at, kdf_version, kdf_m_cost_kib, kdf_t_cost, kdf_p_cost, kdf_salt, \
         wrapped_vault_key, sealed_seed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(w.id.as_str())
    .bind(w.identity.role.as_str())
    .bind(&w.identity.display_name)
    .bind(&w.identity.address)
    .bind(&w.identity.ed25519_public)
    .bind(&w.identity.x25519_public)
    .bind(w.created_at)
    .bind(i64::from(w.kdf.version))
    .bind(i64::from(w.kdf.m_cost_kib))
    .bind(i64::from(w.kdf.t_cost))
    .bind(i64::from(w.kdf.p_cost))
    .bind(w.kdf_salt)
    .bind(w.wrapped_vault_key)
    .bind(w.sealed_seed)
    .execute(pool)
    .await?;
    Ok(())
}

pub(crate) async fn fetch_wallet(pool: &SqlitePool, id: &WalletId) -> Result<WalletRow> {
    let row = sqlx::query(&format!(
        "SELECT {WALLET_COLUMNS} FROM wallets WHERE id = ?"
    ))
    .bind(id.as_str())
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| VaultError::WalletNotFound(id.to_string()))?;
    wallet_from_row(&row)
}

pub(crate) async fn find_by_address(pool: &SqlitePool, address: &str) -> Result<Option<WalletRow>> {
    let row = sqlx::query(&format!(
        "SELECT {WALLET_COLUMNS} FROM wallets WHERE lower(address) = lower(?)"
    ))
    .bind(address)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(wallet_from_row).transpose()
}

pub(crate) async fn list_wallets(pool: &SqlitePool) -> Result<Vec<WalletRow>> {
    let rows = sqlx::query(&format!(
        "SELECT {WALLET_COLUMNS} FROM wallets ORDER BY created_at, display_name, id"
    ))
    .fetch_all(pool)
    .await?;
    rows.iter().map(wallet_from_row).collect()
}

pub(crate) async fn delete_wallet(pool: &SqlitePool, id: &WalletId) -> Result<()> {
    sqlx::query("DELETE FROM wallets WHERE id = ?")
        .bind(id.as_str())
        .execute(pool)
        .await?;
    Ok(())
}

/// Counts an attempt before the KDF runs, so that killing the app mid-attempt still counts.
/// Compare-and-swap on the counter: `false` if another attempt raced this one.
pub(crate) async fn record_attempt(
    pool: &SqlitePool,
    id: &WalletId,
    seen_failures: u32,
    now_ms: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE wallets SET failed_attempts = failed_attempts + 1, last_failure_at_ms = ? \
         WHERE id = ? AND failed_attempts = ?",
    )
    .bind(now_ms)
    .bind(id.as_str())
    .bind(i64::from(seen_failures))
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub(crate) async fn reset_attempts(pool: &SqlitePool, id: &WalletId) -> Result<()> {
    sqlx::query("UPDATE wallets SET failed_attempts = 0, last_failure_at_ms = NULL WHERE id = ?")
        .bind(id.as_str())
        .execute(pool)
        .await?;
    Ok(())
}

pub(crate) async fn update_wrapping(
    pool: &SqlitePool,
    id: &WalletId,
    kdf: &KdfParams,
    salt: &[u8],
    wrapped_vault_key: &[u8],
) -> Result<()> {
    sqlx::query(
        "UPDATE wallets SET kdf_version = ?, kdf_m_cost_kib = ?, kdf_t_cost = ?, kdf_p_cost = ?, \
         kdf_salt = ?, wrapped_vault_key = ? WHERE id = ?",
    )
    .bind(i64::from(kdf.version))
    .bind(i64::from(kdf.m_cost_kib))
    .bind(i64::from(kdf.t_cost))
    .bind(i64::from(kdf.p_cost))
    .bind(salt)
    .bind(wrapped_vault_key)
    .bind(id.as_str())
    .execute(pool)
    .await?;
    Ok(())
}

pub(crate) async fn set_quick_unlock(pool: &SqlitePool, id: &WalletId, on: bool) -> Result<()> {
    sqlx::query("UPDATE wallets SET quick_unlock = ? WHERE id = ?")
        .bind(i64::from(on))
        .bind(id.as_str())
        .execute(pool)
        .await?;
    Ok(())
}

pub(crate) async fn put_secret(
    pool: &SqlitePool,
    id: &WalletId,
    purpose: &str,
    ciphertext: &[u8],
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO secrets (wallet_id, purpose, ciphertext, updated_at) VALUES (?, ?, ?, ?) \
         ON CONFLICT (wallet_id, purpose) DO UPDATE SET ciphertext = excluded.ciphertext, \
         updated_at = excluded.updated_at",
    )
    .bind(id.as_str())
    .bind(purpose)
    .bind(ciphertext)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(())
}

pub(crate) async fn get_secret(
    pool: &SqlitePool,
    id: &WalletId,
    purpose: &str,
) -> Result<Option<Vec<u8>>> {
    Ok(
        sqlx::query_scalar("SELECT ciphertext FROM secrets WHERE wallet_id = ? AND purpose = ?")
            .bind(id.as_str())
            .bind(purpose)
            .fetch_optional(pool)
            .await?,
    )
}

pub(crate) async fn delete_secret(pool: &SqlitePool, id: &WalletId, purpose: &str) -> Result<bool> {
    let done = sqlx::query("DELETE FROM secrets WHERE wallet_id = ? AND purpose = ?")
        .bind(id.as_str())
        .bind(purpose)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wallet_ids_parse_strictly() {
        let id = WalletId::generate().unwrap();
        assert_eq!(id.as_str().len(), 32);
        assert_eq!(id.as_str().parse::<WalletId>().unwrap(), id);
        assert!("nope".parse::<WalletId>().is_err());
    }

    #[test]
    fn migrations_are_embedded() {
        assert!(MIGRATOR.iter().any(|m| m.version == 1));
        assert!(MIGRATOR.iter().all(|m| m.version <= SCHEMA_VERSION));
    }
}
