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
    }
}
