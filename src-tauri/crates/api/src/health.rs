//! Node health as the status bar shows it.

use serde::{Deserialize, Serialize};

/// Health of both nodes, checked together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthReport {
    /// The IPFS node.
    pub ipfs: IpfsHealth,
    /// The ledger node.
    pub ledger: LedgerHealth,
    /// When the check finished, RFC 3339 UTC.
    pub checked_at: String,
}

/// The IPFS node's health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpfsHealth {
    /// The URL that was checked.
    pub url: String,
    /// What was found there.
    pub status: IpfsStatus,
}

/// What answered at the IPFS URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum IpfsStatus {
    /// An IPFS node answered.
    Up {
        /// The node's software version, e.g. `0.66.1`.
        version: String,
        /// The node's peer id.
        peer_id: String,
    },
    /// No usable IPFS node.
    Down {
        /// What kind of problem, for the short label in the bar.
        problem: NodeProblem,
        /// Why, in the user's words, with what to do.
        reason: String,
    },
}

/// The ledger node's health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerHealth {
    /// The URL that was checked.
    pub url: String,
    /// What was found there.
    pub status: LedgerStatus,
}

/// What answered at the ledger URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum LedgerStatus {
    /// An EVM JSON-RPC node answered.
    Up {
        /// `eth_chainId`.
        chain_id: u64,
        /// `eth_blockNumber`.
        block_height: u64,
        /// Whether the medwallet contract has code at the configured address
        /// (`None` when no address is configured).
        contract_deployed: Option<bool>,
    },
    /// No usable ledger node.
    Down {
        /// What kind of problem, for the short label in the bar.
        problem: NodeProblem,
        /// Why, in the user's words, with what to do.
        reason: String,
    },
}

/// Why a node is not usable, in categories the user can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeProblem {
    /// The URL in Settings is not usable.
    InvalidUrl,
    /// Nothing answered there, or not in time.
    Unreachable,
    /// Something answered, but it is another kind of service.
    WrongService,
    /// The node answered and refused.
    Refused,
}
