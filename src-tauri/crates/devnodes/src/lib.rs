//! Real local nodes for medwallet's run command and tests: a js-ipfs daemon (Kubo
//! RPC API) and an anvil ledger node, on loopback addresses only (one `127.0.0.N` per node
//! where a test stands for several machines).
//!
//! Nothing here is a mock: the nodes are the npm packages pinned in
//! `scripts/node/package.json`, started as child processes. A node is stopped when
//! its handle is dropped (also when a test panics), and, through
//! `PR_SET_PDEATHSIG`, when the thread that started it exits: start a node from
//! the thread that will outlive its use.
//!
//! Between a wallet and its nodes, tests may put a [`CountingProxy`] (what a use case
//! asks the ledger) or a [`FaultProxy`] (connections broken on a schedule).
#![deny(unsafe_code)]
#![deny(missing_docs)]

mod anvil;
#[cfg(feature = "bench-chain")]
pub mod bench_chain;
mod fault_proxy;
mod ipfs;
mod process;
mod proxy;
mod tools;

pub use anvil::{Anvil, AnvilOptions, LOADING_TIMEOUT, LOCAL_CHAIN_ID};
pub use fault_proxy::{Applied, Fault, FaultProxy, Rule, StallEnd};
pub use ipfs::{Ipfs, IpfsOptions};
pub use process::{free_port, free_port_on, stop_gracefully};
pub use proxy::CountingProxy;
pub use tools::NodeTools;

/// Why a node could not be started.
#[derive(Debug, thiserror::Error)]
pub enum DevnodeError {
    /// The node tools are not installed.
    #[error("{what} is not installed at {path}: run scripts/setup first")]
    MissingTool {
        /// Which tool.
        what: &'static str,
        /// Where it was looked for.
        path: std::path::PathBuf,
    },
    /// The process could not be started.
    #[error("could not start {what}: {source}")]
    Spawn {
        /// Which node.
        what: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// The process started but never became ready.
    #[error("{what} did not become ready within {seconds} s; its log:\n{log}")]
    NotReady {
        /// Which node.
        what: &'static str,
        /// How long we waited.
        seconds: u64,
        /// The end of its output.
        log: String,
    },
    /// A file in the node's folder could not be read or written.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The OS error.
        source: std::io::Error,
    },
}
