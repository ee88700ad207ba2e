//! Node settings, stored in SQLite (`settings.sqlite` in the app's data dir).

use std::path::Path;
use std::str::FromStr;

use medwallet_api::commands::SaveOutcome;
use medwallet_api::{NodeSettings, SettingsError};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};

use crate::node_url::parse_node_url;

/// The settings in force when the user changed nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defaults(pub NodeSettings);

impl Defaults {
    /// The local nodes: `MEDWALLET_IPFS_URL`, `MEDWALLET_LEDGER_URL` and
    /// `MEDWALLET_CONTRACT_ADDRESS` when set (the run command sets them), else the
    /// usual local ports.
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        Self(NodeSettings {
            ipfs_url: var("MEDWALLET_IPFS_URL").unwrap_or_else(|| "http://127.0.0.1:5001".into()),
            ledger_url: var("MEDWALLET_LEDGER_URL")
                .unwrap_or_else(|| "http://127.0.0.1:8545".into()),
            contract_address: var("MEDWALLET_CONTRACT_ADDRESS"),
        })
    }
}

/// The settings store could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database file could not be opened or migrated.
    #[error("the settings database {path} cannot be opened: {source}")]
    Open {
        /// The file.
        path: String,
        /// The cause.
        source: sqlx::Error,
    },
    /// A query failed.
    #[error("the settings database failed: {0}")]
    Query(#[from] sqlx::Error),
}

/// The settings database.
#[derive(Debug, Clone)]
pub struct SettingsStore {
    pool: SqlitePool,
    defaults: Defaults,
}

const KEYS: [&str; 3] = ["ipfs_url", "ledger_url", "contract_address"];

impl SettingsStore {
    /// Opens (creating if needed) the database at `path` and brings its schema up
    /// to date.
    pub async fn open(path: &Path, defaults: Defaults) -> Result<Self, StoreError> {
        let open_err = |source| StoreError::Open {
            path: path.display().to_string(),
            source,
        };
        let options = SqliteConnectOptions::from_str("sqlite://")
            .map_err(open_err)?
            .filename(path)
            .create_if_missing(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(options)
            .await
            .map_err(open_err)?;
        sqlx::migrate!("./migrations/settings")
            .run(&pool)
            .await
            .map_err(|e| open_err(e.into()))?;
        Ok(Self { pool, defaults })
    }

    /// The settings in force: stored values over defaults.
    pub async fn get(&self) -> Result<NodeSettings, StoreError> {
        let rows: Vec<(String, String)> = sqlx::query_as("SELECT key, value FROM settings")
            .fetch_all(&self.pool)
            .await?;
        let mut settings = self.defaults.0.clone();
        for (key, value) in rows {
            match key.as_str() {
                "ipfs_url" => settings.ipfs_url = value,
                "ledger_url" => settings.ledger_url = value,
                "contract_address" => settings.contract_address = Some(value),
                _ => {} // written by a newer version: leave it alone
            }
        }
        Ok(settings)
    }

    /// Validates `new` and stores it, or says field by field what is wrong.
    pub async fn save(&self, new: &NodeSettings) -> Result<SaveOutcome, StoreError> {
        let new = match validate(new) {
            Ok(valid) => valid,
            Err(errors) => return Ok(SaveOutcome::Invalid { errors }),
        };
        let defaults = &self.defaults.0;
        let mut tx = self.pool.begin().await?;
        let fields = [
            ("ipfs_url", Some(&new.ipfs_url), Some(&defaults.ipfs_url)),
            (
                "ledger_url",
                Some(&new.ledger_url),
                Some(&defaults.ledger_url),
            ),
            (
                "contract_address",
                new.contract_address.as_ref(),
                defaults.contract_address.as_ref(),
            ),
        ];
        for (key, value, default) in fields {
            match value {
                Some(value) if Some(value) != default => {
                    sqlx::query("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
                        .bind(key)
                        .bind(value)
                        .execute(&mut *tx)
                        .await?;
                }
                _ => {
                    sqlx::query("DELETE FROM settings WHERE key = ?")
                        .bind(key)
                        .execute(&mut *tx)
                        .await?;
                }
            }
        }
        tx.commit().await?;
        Ok(SaveOutcome::Saved {
            settings: self.get().await?,
        })
    }

    /// Forgets every stored value.
    pub async fn reset(&self) -> Result<NodeSettings, StoreError> {
        for key in KEYS {
            sqlx::query("DELETE FROM settings WHERE key = ?")
                .bind(key)
                .execute(&self.pool)
                .await?;
        }
        self.get().await
    }
}

/// Normalises valid settings; names each field that is not.
pub fn validate(input: &NodeSettings) -> Result<NodeSettings, SettingsError> {
    let mut errors = SettingsError::default();
    let ipfs = parse_node_url(&input.ipfs_url)
        .map_err(|e| errors.ipfs_url = Some(e.to_string()))
        .ok();
    let ledger = parse_node_url(&input.ledger_url)
        .map_err(|e| errors.ledger_url = Some(e.to_string()))
        .ok();
    let contract = match input.contract_address.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => match parse_address(text) {
            Ok(address) => Some(address),
            Err(message) => {
                errors.contract_address = Some(message);
                None
            }
        },
    };
    match (ipfs, ledger) {
        (Some(ipfs), Some(ledger)) if errors.is_empty() => Ok(NodeSettings {
            ipfs_url: trim_slash(ipfs.as_str()),
            ledger_url: trim_slash(ledger.as_str()),
            contract_address: contract,
        }),
        _ => Err(errors),
    }
}

fn trim_slash(url: &str) -> String {
    url.strip_suffix('/').unwrap_or(url).to_owned()
}

/// `0x` and 40 hex digits, any case; returned lower-case.
fn parse_address(text: &str) -> Result<String, String> {
    let hex = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    if hex.len() != 40 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("A contract address is 0x followed by 40 hexadecimal digits.".into());
    }
    Ok(format!("0x{}", hex.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Defaults {
        Defaults(NodeSettings {
            ipfs_url: "http://127.0.0.1:5001".into(),
            ledger_url: "http://127.0.0.1:8545".into(),
            contract_address: None,
        })
    }

    #[tokio::test]
    async fn stores_only_what_differs_from_defaults_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.sqlite");
        let store = SettingsStore::open(&path, defaults()).await.unwrap();
        assert_eq!(store.get().await.unwrap(), defaults().0);

        let mut new = defaults().0;
        new.ledger_url = " http://127.0.0.1:9999/ ".into();
        new.contract_address = Some("0xABCDEF0123456789abcdef0123456789ABCDEF01".into());
        let SaveOutcome::Saved { settings } = store.save(&new).await.unwrap() else {
            panic!("refused")
        };
        assert_eq!(settings.ledger_url, "http://127.0.0.1:9999");
        assert_eq!(
            settings.contract_address.as_deref(),
            Some("0xabcdef0123456789abcdef0123456789abcdef01")
        );
        drop(store);

        // New defaults (say, the run command moved IPFS) apply where nothing was stored.
        let mut moved = defaults();
        moved.0.ipfs_url = "http://127.0.0.1:6001".into();
        let store = SettingsStore::open(&path, moved).await.unwrap();
        let got = store.get().await.unwrap();
        assert_eq!(got.ipfs_url, "http://127.0.0.1:6001");
        assert_eq!(got.ledger_url, "http://127.0.0.1:9999");

        let reset = store.reset().await.unwrap();
        assert_eq!(reset.ledger_url, "http://127.0.0.1:8545");
    }

    #[tokio::test]
    async fn refuses_bad_input_field_by_field_and_keeps_the_old_value() {
        let dir = tempfile::tempdir().unwrap();
        let store = SettingsStore::open(&dir.path().join("s.sqlite"), defaults())
            .await
            .unwrap();
        let bad = NodeSettings {
            ipfs_url: "localhost:5001".into(),
            ledger_url: "ftp://127.0.0.1:8545".into(),
            contract_address: Some("0x1234".into()),
        };
        let SaveOutcome::Invalid { errors } = store.save(&bad).await.unwrap() else {
            panic!("accepted")
        };
        assert!(errors.ipfs_url.is_some());
        assert!(errors.ledger_url.as_deref().unwrap().contains("ftp"));
        assert!(errors
            .contract_address
            .as_deref()
            .unwrap()
            .contains("40 hexadecimal"));
        assert_eq!(store.get().await.unwrap(), defaults().0);
    }

    #[tokio::test]
    async fn a_file_that_is_not_a_database_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite");
        std::fs::write(
            &path,
            b"this is not sqlite, it is a text file that is long enough",
        )
        .unwrap();
        let err = SettingsStore::open(&path, defaults()).await.unwrap_err();
        assert!(matches!(err, StoreError::Open { .. }), "{err}");
        // Never overwritten.
        assert!(std::fs::read(&path)
            .unwrap()
            .starts_with(b"this is not sqlite"));
    }
}
