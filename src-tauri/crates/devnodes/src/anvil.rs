//! The ledger node: anvil with zero fees, on 127.0.0.1.

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
}

impl AnvilOptions {
    /// A throw-away node in `dir` on a free port.
    pub fn ephemeral(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            persist: false,
            port: None,
            chain_id: LOCAL_CHAIN_ID,
        }
    }
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
        cmd.args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--chain-id", &opts.chain_id.to_string()])
            // A permissioned ledger without fees: unfunded accounts can send.
            .args([
                "--base-fee",
                "0",
                "--gas-price",
                "0",
                "--disable-min-priority-fee",
            ])
            .args(["--hardfork", "london"])
            // Otherwise anvil leaves snapshots in ~/.foundry.
            .arg("--cache-path")
            .arg(opts.dir.join("cache"));
        if opts.persist {
            cmd.arg("--state")
                .arg(opts.dir.join("state.json"))
                .args(["--state-interval", "1"]);
        }
        let mut process = Managed::spawn("anvil", cmd, &opts.dir.join("anvil.log"))?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        process.wait_ready(Duration::from_secs(30), || port_open(addr))?;
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

    /// The process id.
    pub fn pid(&self) -> Option<u32> {
        self.process.pid()
    }
}
