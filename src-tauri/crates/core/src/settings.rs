//! Node settings, stored in SQLite (`settings.sqlite` in the app's data dir).

use std::path::Path;
use std::str::FromStr;

use medwallet_api::commands::SaveOutcome;
use medwallet_api::{NodeSettings, SettingsError};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};

use url::Url;

use crate::node_url::parse_node_url;

/// The settings in force when the user changed nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defaults(pub NodeSettings);

impl Defaults {
    /// The local nodes: `MEDWALLET_IPFS_URL`, `MEDWALLET_LEDGER_URL`,
    /// `MEDWALLET_CONTRACT_ADDRESS` and `MEDWALLET_IPFS_PEERS` (comma-separated) when set
    /// (the run command sets them), else the usual local ports and no peers.
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        Self(NodeSettings {
            ipfs_url: var("MEDWALLET_IPFS_URL").unwrap_or_else(|| "http://127.0.0.1:5001".into()),
            ledger_url: var("MEDWALLET_LEDGER_URL")
                .unwrap_or_else(|| "http://127.0.0.1:8545".into()),
            contract_address: var("MEDWALLET_CONTRACT_ADDRESS"),
            ipfs_peers: var("MEDWALLET_IPFS_PEERS")
                .map(|v| {
                    v.split(',')
                        .map(str::trim)
                        .filter(|p| !p.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            ..NodeSettings::default()
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

const KEYS: [&str; 8] = [
    "ipfs_url",
    "ledger_url",
    "contract_address",
    "ipfs_peers",
    "replicas",
    "ledger_witnesses",
    "plain_http_hosts",
    EXTRA_CA_KEY,
];

/// The imported CA certificate (PEM text): public, so kept here, not in the vault.
const EXTRA_CA_KEY: &str = "extra_ca_pem";

/// At most this many peers, this many replicas and this many ledger nodes to check
/// against (each is dialled or asked on every pass or sync).
pub const MAX_NODES_IN_A_LIST: usize = 16;

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
                // A list that does not read (a damaged file) counts as not set.
                "ipfs_peers" => {
                    settings.ipfs_peers = serde_json::from_str(&value)
                        .unwrap_or_else(|_| self.defaults.0.ipfs_peers.clone())
                }
                "replicas" => settings.replicas = serde_json::from_str(&value).unwrap_or_default(),
                "ledger_witnesses" => {
                    settings.ledger_witnesses = serde_json::from_str(&value).unwrap_or_default()
                }
                "plain_http_hosts" => {
                    settings.plain_http_hosts = serde_json::from_str(&value).unwrap_or_default()
                }
                EXTRA_CA_KEY => settings.extra_ca = ca_summary(value.as_bytes()),
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
        let list = |v: &Vec<String>| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
        let (peers, default_peers) = (list(&new.ipfs_peers), list(&defaults.ipfs_peers));
        let (replicas, default_replicas) = (list(&new.replicas), list(&defaults.replicas));
        let (witnesses, default_witnesses) = (
            list(&new.ledger_witnesses),
            list(&defaults.ledger_witnesses),
        );
        let (plain, default_plain) = (
            list(&new.plain_http_hosts),
            list(&defaults.plain_http_hosts),
        );
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
            ("ipfs_peers", Some(&peers), Some(&default_peers)),
            ("replicas", Some(&replicas), Some(&default_replicas)),
            (
                "ledger_witnesses",
                Some(&witnesses),
                Some(&default_witnesses),
            ),
            ("plain_http_hosts", Some(&plain), Some(&default_plain)),
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

    /// The imported CA certificate, PEM, if any.
    pub async fn extra_ca_pem(&self) -> Result<Option<Vec<u8>>, StoreError> {
        let value: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE key = ?")
            .bind(EXTRA_CA_KEY)
            .fetch_optional(&self.pool)
            .await?;
        Ok(value.map(String::into_bytes))
    }

    /// Trusts `pem` (checked to hold CA certificates) for `https://` nodes, or nothing
    /// more than the system's roots (`None`). A file that is not a certificate is refused
    /// with the reason.
    pub async fn set_extra_ca(&self, pem: Option<&[u8]>) -> Result<Result<(), String>, StoreError> {
        match pem {
            Some(pem) => {
                // Only the certificates are kept: a file that also holds a key or
                // anything else leaves the rest behind.
                let text = match medwallet_net::ca_certificates_pem(pem) {
                    Ok(text) => text,
                    Err(e) => return Ok(Err(e.to_string())),
                };
                sqlx::query("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
                    .bind(EXTRA_CA_KEY)
                    .bind(&text)
                    .execute(&self.pool)
                    .await?;
            }
            None => {
                sqlx::query("DELETE FROM settings WHERE key = ?")
                    .bind(EXTRA_CA_KEY)
                    .execute(&self.pool)
                    .await?;
            }
        }
        Ok(Ok(()))
    }

    /// Forgets every stored value (the imported CA too).
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
// The form's answer, field by field, made once per save: its size does not matter.
#[allow(clippy::result_large_err)]
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
    let peers = validate_peers(&input.ipfs_peers)
        .map_err(|e| errors.ipfs_peers = Some(e))
        .ok();
    let own = ipfs.as_ref().map(|u| trim_slash(u.as_str()));
    let replicas = validate_node_list(&input.replicas, own.as_deref(), &REPLICAS)
        .map_err(|e| errors.replicas = Some(e))
        .ok();
    let own_ledger = ledger.as_ref().map(|u| trim_slash(u.as_str()));
    let witnesses = validate_node_list(&input.ledger_witnesses, own_ledger.as_deref(), &WITNESSES)
        .map_err(|e| errors.ledger_witnesses = Some(e))
        .ok();
    let plain_http_hosts = validate_plain_hosts(&input.plain_http_hosts)
        .map_err(|e| errors.plain_http_hosts = Some(e))
        .unwrap_or_default();
    // Plain http:// only to this computer, or to a host the user allowed.
    let refused = |url: &Url| plain_http_refused(url, &plain_http_hosts);
    if let Some(why) = ipfs.as_ref().and_then(refused) {
        errors.ipfs_url.get_or_insert(why);
    }
    if let Some(why) = ledger.as_ref().and_then(refused) {
        errors.ledger_url.get_or_insert(why);
    }
    let in_list = |list: &Option<Vec<String>>, what: &str| -> Option<String> {
        list.iter().flatten().enumerate().find_map(|(i, u)| {
            let url = Url::parse(u).ok()?;
            refused(&url).map(|why| format!("{what} {}: {why}", i + 1))
        })
    };
    if let Some(why) = in_list(&replicas, "Replica") {
        errors.replicas.get_or_insert(why);
    }
    if let Some(why) = in_list(&witnesses, "Witness") {
        errors.ledger_witnesses.get_or_insert(why);
    }
    match (ipfs, ledger, peers, replicas, witnesses) {
        (Some(ipfs), Some(ledger), Some(ipfs_peers), Some(replicas), Some(ledger_witnesses))
            if errors.is_empty() =>
        {
            Ok(NodeSettings {
                ipfs_url: trim_slash(ipfs.as_str()),
                ledger_url: trim_slash(ledger.as_str()),
                contract_address: contract,
                ipfs_peers,
                replicas,
                ledger_witnesses,
                plain_http_hosts,
                // Display only: kept by their own commands, not by a save.
                extra_ca: None,
                credentials: Vec::new(),
            })
        }
        _ => Err(errors),
    }
}

/// Why `url` may not be used over plain `http://`: not this computer and not a host the
/// user allowed. Loopback (127.0.0.0/8, ::1, `localhost`) never leaves the computer.
pub(crate) fn plain_http_refused(url: &Url, allowed: &[String]) -> Option<String> {
    if url.scheme() != "http" || crate::node_url::is_loopback(url) {
        return None;
    }
    let host = match url.host()? {
        url::Host::Domain(d) => d.to_ascii_lowercase(),
        url::Host::Ipv4(ip) => ip.to_string(),
        url::Host::Ipv6(ip) => format!("[{ip}]"),
    };
    if allowed.contains(&host) {
        return None;
    }
    Some(format!(
        "http:// to {host} is not encrypted: the records' metadata and any token would cross the network in clear. Use https://, or tick \"allow an unencrypted connection to this host\"."
    ))
}

/// Hosts allowed over plain http: names or addresses as a URL spells them, lower case,
/// no duplicates.
fn validate_plain_hosts(lines: &[String]) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let host = Url::parse(&format!("http://{line}/"))
            .ok()
            .filter(|u| u.port().is_none() && u.path() == "/" && u.username().is_empty())
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
            .ok_or_else(|| {
                format!(
                    "Host {}: write a host name or address alone, like node.clinic.example.",
                    i + 1
                )
            })?;
        if !out.contains(&host) {
            out.push(host);
        }
    }
    if out.len() > MAX_NODES_IN_A_LIST {
        return Err(format!("At most {MAX_NODES_IN_A_LIST} hosts."));
    }
    Ok(out)
}

/// What the settings show of an imported CA: how many certificates, the first one's
/// SHA-256. `None` when the stored text no longer reads as one.
fn ca_summary(pem: &[u8]) -> Option<medwallet_api::CaCertificate> {
    let certs = medwallet_net::ca_certificates(pem).ok()?;
    let first = certs.first()?;
    let digest = ring::digest::digest(&ring::digest::SHA256, first.as_ref());
    let sha256 = digest
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":");
    Some(medwallet_api::CaCertificate {
        certificates: u32::try_from(certs.len()).unwrap_or(u32::MAX),
        sha256,
    })
}

/// Multiaddrs a node can dial without a DHT: `/ip4/…`, `/ip6/…`, `/dns4/…`, `/dns6/…` or
/// `/dns/…`, then `/tcp/<port>`, ending in `/p2p/<peer id>`. Blank lines are dropped,
/// duplicates too.
fn validate_peers(lines: &[String]) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Err(why) = check_peer(line) {
            return Err(format!("Peer {}: {why}", i + 1));
        }
        if !out.iter().any(|p| p == line) {
            out.push(line.to_owned());
        }
    }
    if out.len() > MAX_NODES_IN_A_LIST {
        return Err(format!("At most {MAX_NODES_IN_A_LIST} peers."));
    }
    Ok(out)
}

fn check_peer(addr: &str) -> Result<(), &'static str> {
    const SHAPE: &str = "a peer is written like /ip4/203.0.113.7/tcp/4001/p2p/12D3KooW… (the node's swarm address and its peer id; `ipfs id` shows them).";
    let parts: Vec<&str> = addr.split('/').collect();
    // "", proto, host, "tcp", port, "p2p", id
    let [empty, proto, host, tcp, port, p2p, id] = parts.as_slice() else {
        return Err(SHAPE);
    };
    let host_ok = match *proto {
        "ip4" => host.parse::<std::net::Ipv4Addr>().is_ok(),
        "ip6" => host.parse::<std::net::Ipv6Addr>().is_ok(),
        "dns" | "dns4" | "dns6" => {
            !host.is_empty()
                && host.len() <= 253
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        }
        _ => false,
    };
    let id_ok = (30..=100).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric());
    if !empty.is_empty()
        || !host_ok
        || *tcp != "tcp"
        || port.parse::<u16>().map_or(true, |p| p == 0)
        || (*p2p != "p2p" && *p2p != "ipfs")
        || !id_ok
    {
        return Err(SHAPE);
    }
    Ok(())
}

/// One list of node URLs in the settings, in the words its errors use.
struct NodeList {
    /// What a line is called ("Replica 2: …").
    line: &'static str,
    /// Why the node the list is checked against cannot be in it.
    is_own: &'static str,
    /// The list's name in "At most 16 …".
    items: &'static str,
}

const REPLICAS: NodeList = NodeList {
    line: "Replica",
    is_own: "that is this wallet's own IPFS node; a replica is another node that keeps a copy.",
    items: "replicas",
};

const WITNESSES: NodeList = NodeList {
    line: "Witness",
    is_own: "that is the ledger node the trail is read from; list the consortium's other nodes to check it against.",
    items: "ledger nodes to check against",
};

/// Replica nodes (IPFS RPC URLs) or ledger nodes to check against (JSON-RPC URLs): node
/// URLs, not the node `own` the list backs up or checks, no duplicates.
fn validate_node_list(
    lines: &[String],
    own: Option<&str>,
    list: &NodeList,
) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let parsed = parse_node_url(line).map_err(|e| format!("{} {}: {e}", list.line, i + 1))?;
        let url = trim_slash(parsed.as_str());
        if own.is_some_and(|own| same_node(&parsed, own)) {
            return Err(format!("{} {}: {}", list.line, i + 1, list.is_own));
        }
        if !out.contains(&url) {
            out.push(url);
        }
    }
    if out.len() > MAX_NODES_IN_A_LIST {
        return Err(format!("At most {MAX_NODES_IN_A_LIST} {}.", list.items));
    }
    Ok(out)
}

/// Whether `url` names the node at `own` (a URL string as stored): the same origin,
/// whatever the path, `localhost` standing for 127.0.0.1. (The replica pass also compares
/// peer ids, which catches every other alias.)
fn same_node(url: &Url, own: &str) -> bool {
    let key = |u: &Url| {
        medwallet_net::book::origin(u)
            .replace("://localhost:", "://127.0.0.1:")
            .replace("://[::1]:", "://127.0.0.1:")
    };
    Url::parse(own).is_ok_and(|own| key(&own) == key(url))
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
            ipfs_peers: Vec::new(),
            ..NodeSettings::default()
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
            ipfs_peers: vec!["/ip4/127.0.0.2/tcp/4001".into()],
            replicas: vec!["http://127.0.0.1:5001/".into()],
            ledger_witnesses: vec!["127.0.0.3:8545".into()],
            ..NodeSettings::default()
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
        assert!(errors.ipfs_peers.as_deref().unwrap().starts_with("Peer 1:"));
        assert!(errors
            .ledger_witnesses
            .as_deref()
            .unwrap()
            .starts_with("Witness 1: Add the scheme"));
        assert_eq!(store.get().await.unwrap(), defaults().0);
    }

    #[tokio::test]
    async fn plain_http_goes_to_this_computer_only_unless_the_host_is_allowed() {
        let dir = tempfile::tempdir().unwrap();
        let store = SettingsStore::open(&dir.path().join("s.sqlite"), defaults())
            .await
            .unwrap();
        let mut remote = defaults().0;
        remote.ipfs_url = "http://node.clinic.example:5001".into();
        remote.replicas = vec!["http://10.0.0.7:5001".into()];
        remote.ledger_url = "http://[::1]:8545".into();
        let SaveOutcome::Invalid { errors } = store.save(&remote).await.unwrap() else {
            panic!("accepted plain http to another host")
        };
        assert!(errors
            .ipfs_url
            .unwrap()
            .contains("node.clinic.example is not encrypted"));
        assert!(errors
            .replicas
            .unwrap()
            .starts_with("Replica 1: http:// to 10.0.0.7"));
        assert!(errors.ledger_url.is_none(), "loopback over http is fine");

        remote.plain_http_hosts = vec![" Node.Clinic.Example ".into(), "10.0.0.7".into()];
        let SaveOutcome::Saved { settings } = store.save(&remote).await.unwrap() else {
            panic!("refused the allowed hosts")
        };
        assert_eq!(
            settings.plain_http_hosts,
            ["node.clinic.example", "10.0.0.7"]
        );
        let mut https = remote.clone();
        https.ipfs_url = "https://node.clinic.example:5001".into();
        https.replicas.clear();
        https.plain_http_hosts = vec!["not a host/".into()];
        let SaveOutcome::Invalid { errors } = store.save(&https).await.unwrap() else {
            panic!("accepted a bad host")
        };
        assert!(errors.plain_http_hosts.unwrap().starts_with("Host 1:"));
    }

    #[tokio::test]
    async fn a_ca_certificate_is_checked_kept_shown_and_reset() {
        let dir = tempfile::tempdir().unwrap();
        let store = SettingsStore::open(&dir.path().join("s.sqlite"), defaults())
            .await
            .unwrap();
        let refused = store
            .set_extra_ca(Some(b"not a certificate"))
            .await
            .unwrap();
        assert!(refused.is_err());
        let pem = medwallet_net::testing::TestCa::new().pem();
        store.set_extra_ca(Some(&pem)).await.unwrap().unwrap();
        assert_eq!(
            store.extra_ca_pem().await.unwrap().as_deref(),
            Some(&pem[..])
        );
        let shown = store.get().await.unwrap().extra_ca.unwrap();
        assert_eq!(shown.certificates, 1);
        assert_eq!(shown.sha256.len(), 32 * 3 - 1);
        // A save (which never carries the CA) keeps it; a reset forgets it.
        let SaveOutcome::Saved { settings } = store.save(&defaults().0).await.unwrap() else {
            panic!()
        };
        assert!(settings.extra_ca.is_some());
        assert!(store.reset().await.unwrap().extra_ca.is_none());
    }

    #[tokio::test]
    async fn peers_and_replicas_are_checked_kept_and_reset() {
        let dir = tempfile::tempdir().unwrap();
        let store = SettingsStore::open(&dir.path().join("s.sqlite"), defaults())
            .await
            .unwrap();
        let id = "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN";
        let mut new = defaults().0;
        new.ipfs_peers = vec![
            format!(" /ip4/127.0.0.3/tcp/4001/p2p/{id} "),
            String::new(),
            format!("/dns4/node.clinic.example/tcp/4001/p2p/{id}"),
            format!("/ip4/127.0.0.3/tcp/4001/p2p/{id}"),
        ];
        new.replicas = vec![
            "https://pin.example:5001/".into(),
            "http://127.0.0.9:5001".into(),
        ];
        let SaveOutcome::Saved { settings } = store.save(&new).await.unwrap() else {
            panic!("refused")
        };
        assert_eq!(settings.ipfs_peers.len(), 2, "{settings:?}");
        assert_eq!(
            settings.replicas,
            vec!["https://pin.example:5001", "http://127.0.0.9:5001"]
        );
        assert_eq!(store.get().await.unwrap(), settings);

        // The node itself is not a replica; a bad line is named by its number.
        let mut own = settings.clone();
        own.replicas = vec!["http://127.0.0.1:5001/".into()];
        let SaveOutcome::Invalid { errors } = store.save(&own).await.unwrap() else {
            panic!("accepted")
        };
        assert!(errors.replicas.unwrap().contains("own IPFS node"));
        // Under another name or path it is still the same node.
        own.replicas = vec!["http://localhost:5001/api".into()];
        let SaveOutcome::Invalid { errors } = store.save(&own).await.unwrap() else {
            panic!("accepted")
        };
        assert!(errors.replicas.unwrap().contains("own IPFS node"));
        for bad in [
            "/ip4/127.0.0.3/tcp/4001",
            "/ip4/300.0.0.1/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN",
            "/ip4/127.0.0.3/udp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN",
            "/ip4/127.0.0.3/tcp/0/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN",
            "/ip4/127.0.0.3/tcp/4001/p2p/short",
        ] {
            let mut peers = settings.clone();
            peers.ipfs_peers = vec![bad.into()];
            let SaveOutcome::Invalid { errors } = store.save(&peers).await.unwrap() else {
                panic!("accepted {bad}")
            };
            assert!(errors.ipfs_peers.is_some(), "{bad}");
        }
        assert_eq!(store.reset().await.unwrap(), defaults().0);
    }

    #[tokio::test]
    async fn ledger_witnesses_are_checked_kept_and_reset() {
        let dir = tempfile::tempdir().unwrap();
        let store = SettingsStore::open(&dir.path().join("s.sqlite"), defaults())
            .await
            .unwrap();
        let mut new = defaults().0;
        new.ledger_witnesses = vec![
            " https://validator2.example:8545/ ".into(),
            String::new(),
            "http://127.0.0.3:8545".into(),
            "https://validator2.example:8545".into(),
        ];
        let SaveOutcome::Saved { settings } = store.save(&new).await.unwrap() else {
            panic!("refused")
        };
        assert_eq!(
            settings.ledger_witnesses,
            vec!["https://validator2.example:8545", "http://127.0.0.3:8545"]
        );
        assert_eq!(store.get().await.unwrap(), settings);
        // Other settings saved later keep them.
        let mut later = settings.clone();
        later.contract_address = Some(format!("0x{}", "ab".repeat(20)));
        let SaveOutcome::Saved { settings: later } = store.save(&later).await.unwrap() else {
            panic!("refused")
        };
        assert_eq!(later.ledger_witnesses.len(), 2);

        // The node read from is not its own witness; a bad line is named by its number.
        let mut own = settings.clone();
        own.ledger_witnesses = vec![
            "http://127.0.0.3:8545".into(),
            "http://127.0.0.1:8545/".into(),
        ];
        let SaveOutcome::Invalid { errors } = store.save(&own).await.unwrap() else {
            panic!("accepted")
        };
        let why = errors.ledger_witnesses.unwrap();
        assert!(
            why.starts_with("Witness 2:") && why.contains("read from"),
            "{why}"
        );
        for bad in [
            "ftp://127.0.0.3:8545",
            "http://user:pw@127.0.0.3:8545",
            "http://127.0.0.3:8545/?token=x",
            "not a url",
        ] {
            let mut w = settings.clone();
            w.ledger_witnesses = vec!["http://127.0.0.4:8545".into(), bad.into()];
            let SaveOutcome::Invalid { errors } = store.save(&w).await.unwrap() else {
                panic!("accepted {bad}")
            };
            assert!(
                errors
                    .ledger_witnesses
                    .as_deref()
                    .unwrap()
                    .starts_with("Witness 2:"),
                "{bad}: {errors:?}"
            );
            assert!(errors.ipfs_url.is_none() && errors.ledger_url.is_none());
        }
        let mut many = settings.clone();
        many.ledger_witnesses = (0..=MAX_NODES_IN_A_LIST)
            .map(|i| format!("http://127.0.1.{i}:8545"))
            .collect();
        let SaveOutcome::Invalid { errors } = store.save(&many).await.unwrap() else {
            panic!("accepted")
        };
        assert!(errors.ledger_witnesses.unwrap().starts_with("At most 16"));
        // A damaged stored list counts as none.
        sqlx::query("UPDATE settings SET value = 'not json' WHERE key = 'ledger_witnesses'")
            .execute(&store.pool)
            .await
            .unwrap();
        assert!(store.get().await.unwrap().ledger_witnesses.is_empty());
        assert_eq!(store.reset().await.unwrap(), defaults().0);
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
