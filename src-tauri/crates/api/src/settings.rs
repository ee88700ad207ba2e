//! Node settings: where the IPFS and ledger nodes are.

use serde::{Deserialize, Serialize};

/// The node URLs the app talks to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeSettings {
    /// The IPFS node's RPC API base, e.g. `http://127.0.0.1:5001`.
    pub ipfs_url: String,
    /// The ledger node's JSON-RPC endpoint, e.g. `http://127.0.0.1:8545`.
    pub ledger_url: String,
    /// The medwallet contract's address on that ledger (`0x` + 40 hex), if known.
    pub contract_address: Option<String>,
    /// IPFS peers this wallet's node keeps connected to (multiaddrs ending in
    /// `/p2p/<peer id>`): the consortium's nodes, a clinic's, a replica's. There is no
    /// public DHT in a consortium network: these are how blocks are found.
    #[serde(default)]
    pub ipfs_peers: Vec<String>,
    /// Replica nodes (Kubo RPC URLs) that keep a copy of every record.
    #[serde(default)]
    pub replicas: Vec<String>,
    /// Other ledger nodes (JSON-RPC URLs of the consortium's other validators) that the
    /// audit trail checks the blocks it reads from `ledger_url` against: an entry is
    /// confirmed by the nodes holding the same block, and a block they disagree about is
    /// shown as disputed.
    #[serde(default)]
    pub ledger_witnesses: Vec<String>,
    /// Hosts the user allowed to be reached over plain `http://` although they are not
    /// this computer (loopback is always allowed): everything sent to them, a token
    /// too, crosses the network unencrypted.
    #[serde(default)]
    pub plain_http_hosts: Vec<String>,
    /// The extra CA certificate trusted for `https://` nodes (a consortium's private
    /// CA), imported from a file; display only (saving settings does not change it).
    #[serde(default)]
    pub extra_ca: Option<CaCertificate>,
    /// The nodes the last unlocked wallet has credentials for (the secrets stay in its
    /// vault; the app keeps using them after a lock, so the outbox still reaches those
    /// nodes); display only.
    #[serde(default)]
    pub credentials: Vec<NodeCredentialInfo>,
}

/// An imported CA certificate, as the settings show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaCertificate {
    /// How many certificates the file held.
    pub certificates: u32,
    /// SHA-256 of the first certificate (DER), hex in colon-separated pairs, to compare
    /// with what the consortium published.
    pub sha256: String,
}

/// A node the wallet has credentials for (never the secret itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeCredentialInfo {
    /// The node's origin (`https://host:port`).
    pub node: String,
    /// `bearer` or `basic`.
    pub kind: String,
}

/// Credentials to send to one node, as typed in Settings (sent once, stored in the
/// vault, never answered back).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CredentialInput {
    /// Forget the node's credentials.
    None,
    /// `Authorization: Bearer <token>`.
    Bearer {
        /// The token.
        token: String,
    },
    /// `Authorization: Basic …`.
    Basic {
        /// The user name.
        user: String,
        /// The password.
        password: String,
    },
}

impl std::fmt::Debug for CredentialInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CredentialInput::None => "None",
            CredentialInput::Bearer { .. } => "Bearer(<redacted>)",
            CredentialInput::Basic { .. } => "Basic(<redacted>)",
        })
    }
}

/// Why settings were refused, field by field, for the settings form.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsError {
    /// What is wrong with the IPFS URL.
    pub ipfs_url: Option<String>,
    /// What is wrong with the ledger URL.
    pub ledger_url: Option<String>,
    /// What is wrong with the contract address.
    pub contract_address: Option<String>,
    /// What is wrong with the peer list (naming the line).
    #[serde(default)]
    pub ipfs_peers: Option<String>,
    /// What is wrong with the replica list (naming the line).
    #[serde(default)]
    pub replicas: Option<String>,
    /// What is wrong with the list of ledger nodes to check against (naming the line).
    #[serde(default)]
    pub ledger_witnesses: Option<String>,
    /// What is wrong with the hosts allowed without TLS.
    #[serde(default)]
    pub plain_http_hosts: Option<String>,
}

impl SettingsError {
    /// True when no field has a problem.
    pub fn is_empty(&self) -> bool {
        self.ipfs_url.is_none()
            && self.ledger_url.is_none()
            && self.contract_address.is_none()
            && self.ipfs_peers.is_none()
            && self.replicas.is_none()
            && self.ledger_witnesses.is_none()
            && self.plain_http_hosts.is_none()
    }
}
