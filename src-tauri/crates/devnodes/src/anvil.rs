//! The ledger node: anvil with zero fees, on 127.0.0.1, optionally forked from another.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::process::{free_port, port_open, Managed};
use crate::{DevnodeError, NodeTools};

/// The chain id of medwallet's local ledger.
pub const LOCAL_CHAIN_ID: u64 = 424_242;

/// How to start anvil.
#[derive(Debug, Clone)]
pub struct AnvilOptions {
    /// The folder for the node's cache, log and (if `persist`) its state file.
    pub dir: PathBuf,
    /// Keep the chain in `dir/state.json` across restarts (written every second, so
    /// even a SIGKILL loses at most a second).
    pub persist: bool,
    /// The port; a free one if `None`.
    pub port: Option<u16>,
    /// The chain id.
    pub chain_id: u64,
    /// Start as a fork of the node at this JSON-RPC URL (`--fork-url`): the new node
    /// serves the other's blocks up to the fork point with the same hashes, then mines
    /// its own, which differ from whatever the other mines after: a second consortium
    /// node that agrees up to a block, then diverges. Give the same `chain_id` as the
    /// other node's.
    pub fork_url: Option<String>,
    /// The block to fork at (`--fork-block-number`); the other node's head if `None`.
    pub fork_block_number: Option<u64>,
    /// Start from a chain saved before (`--load-state`): its blocks, transactions,
    /// receipts and storage. A large one takes a while to load (see
    /// [`LOADING_TIMEOUT`]).
    pub load_state: Option<PathBuf>,
    /// Write the chain to this file when stopped (`--dump-state`); stop it with
    /// [`Anvil::stop_within`] and a grace long enough to write it.
    pub dump_state: Option<PathBuf>,
    /// Keep no past block's state in memory (`--prune-history`): blocks, transactions
    /// and logs stay, state at an old block cannot be read. A generator of a large chain
    /// needs it, or anvil's memory grows with every block.
    pub prune_history: bool,
}

/// How long a node started from a saved chain may take to answer: a million events'
/// state is some hundreds of megabytes of JSON.
pub const LOADING_TIMEOUT: Duration = Duration::from_secs(900);

impl AnvilOptions {
    /// A throw-away node in `dir` on a free port.
    pub fn ephemeral(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            persist: false,
            port: None,
            chain_id: LOCAL_CHAIN_ID,
            fork_url: None,
            fork_block_number: None,
            load_state: None,
            dump_state: None,
            prune_history: false,
        }
    }

    /// A throw-away node in `dir` forked from the node at `url` at its head (or at
    /// `block`), on the same `chain_id`.
    pub fn forked(
        dir: impl Into<PathBuf>,
        url: impl Into<String>,
        chain_id: u64,
        block: Option<u64>,
    ) -> Self {
        Self {
            chain_id,
            fork_url: Some(url.into()),
            fork_block_number: block,
            ..Self::ephemeral(dir)
        }
    }
}

/// anvil's arguments for `opts` on `port`.
fn args(opts: &AnvilOptions, port: u16) -> Vec<OsString> {
    let mut args: Vec<OsString> = [
        "--host",
        "127.0.0.1",
        "--port",
        &port.to_string(),
        "--chain-id",
        &opts.chain_id.to_string(),
        // A permissioned ledger without fees: unfunded accounts can send.
        "--base-fee",
        "0",
        "--gas-price",
        "0",
        "--disable-min-priority-fee",
        "--hardfork",
        "london",
        // Otherwise anvil leaves snapshots in ~/.foundry.
        "--cache-path",
    ]
    .iter()
    .map(OsString::from)
    .collect();
    args.push(opts.dir.join("cache").into());
    if opts.persist {
        args.push("--state".into());
        args.push(opts.dir.join("state.json").into());
        args.extend(["--state-interval", "1"].map(OsString::from));
    }
    if let Some(path) = &opts.load_state {
        args.push("--load-state".into());
        args.push(path.into());
    }
    if opts.prune_history {
        args.push("--prune-history".into());
    }
    if let Some(path) = &opts.dump_state {
        args.push("--dump-state".into());
        args.push(path.into());
    }
    if let Some(url) = &opts.fork_url {
        args.extend(["--fork-url", url].map(OsString::from));
        if let Some(block) = opts.fork_block_number {
            args.push("--fork-block-number".into());
            args.push(block.to_string().into());
        }
        // The fork's RPC cache would otherwise go to ~/.foundry/cache/rpc.
        args.push("--no-storage-caching".into());
    }
    args
}

/// A running anvil node; stopped (and its state flushed) on drop.
#[derive(Debug)]
pub struct Anvil {
    process: Managed,
    port: u16,
    chain_id: u64,
}

impl Anvil {
    /// Starts anvil and waits until it answers JSON-RPC.
    pub fn start(tools: &NodeTools, opts: &AnvilOptions) -> Result<Self, DevnodeError> {
        let io = |context: String| move |source| DevnodeError::Io { context, source };
        std::fs::create_dir_all(opts.dir.join("cache"))
            .map_err(io(format!("creating {}", opts.dir.display())))?;
        let port = match opts.port {
            Some(port) => port,
            None => free_port().map_err(io("finding a free port".into()))?,
        };
        let mut cmd = Command::new(tools.anvil());
        cmd.args(args(opts, port));
        let mut process = Managed::spawn("anvil", cmd, &opts.dir.join("anvil.log"))?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let ready = if opts.load_state.is_some() {
            LOADING_TIMEOUT
        } else {
            Duration::from_secs(30)
        };
        process.wait_ready(ready, || port_open(addr))?;
        Ok(Self {
            process,
            port,
            chain_id: opts.chain_id,
        })
    }

    /// The JSON-RPC URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The chain id it was started with.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.process.is_running()
    }

    /// Stops the node now (SIGTERM, which makes anvil write its state file).
    pub fn stop(mut self) {
        self.process.stop(Duration::from_secs(10));
    }

    /// Stops the node now (SIGTERM), giving it up to `grace` to exit: time to write a
    /// large `dump_state` file.
    pub fn stop_within(mut self, grace: Duration) {
        self.process.stop(grace);
    }

    /// The process id.
    pub fn pid(&self) -> Option<u32> {
        self.process.pid()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(opts: &AnvilOptions) -> Vec<String> {
        args(opts, 8545)
            .into_iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    fn after<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
        let i = args.iter().position(|a| a == flag)?;
        args.get(i + 1).map(String::as_str)
    }

    #[test]
    fn a_plain_node_has_zero_fees_and_no_fork() {
        let args = strings(&AnvilOptions::ephemeral("/tmp/n"));
        assert_eq!(after(&args, "--port"), Some("8545"));
        assert_eq!(after(&args, "--gas-price"), Some("0"));
        assert_eq!(after(&args, "--cache-path"), Some("/tmp/n/cache"));
        assert!(!args
            .iter()
            .any(|a| a.starts_with("--fork") || a == "--state"));
    }

    #[test]
    fn a_saved_chain_is_loaded_and_a_new_one_dumped_on_exit() {
        let opts = AnvilOptions {
            load_state: Some("/c/in.json".into()),
            dump_state: Some("/c/out.part".into()),
            ..AnvilOptions::ephemeral("/tmp/n")
        };
        let args = strings(&opts);
        assert_eq!(after(&args, "--load-state"), Some("/c/in.json"));
        assert_eq!(after(&args, "--dump-state"), Some("/c/out.part"));
        // Never the every-second dump of a persistent node: a large chain takes a while.
        assert!(!args.iter().any(|a| a == "--state-interval"));
        assert_eq!(after(&args, "--host"), Some("127.0.0.1"));
    }

    #[test]
    fn a_fork_names_its_parent_and_block_and_caches_nothing_at_home() {
        let opts = AnvilOptions::forked("/tmp/n", "http://127.0.0.1:8545", 7, Some(12));
        let args = strings(&opts);
        assert_eq!(after(&args, "--fork-url"), Some("http://127.0.0.1:8545"));
        assert_eq!(after(&args, "--fork-block-number"), Some("12"));
        assert_eq!(after(&args, "--chain-id"), Some("7"));
        assert!(args.iter().any(|a| a == "--no-storage-caching"));

        let at_head = strings(&AnvilOptions::forked("/tmp/n", "http://h:1", 7, None));
        assert!(at_head.iter().any(|a| a == "--fork-url"));
        assert!(!at_head.iter().any(|a| a == "--fork-block-number"));
    }
}
