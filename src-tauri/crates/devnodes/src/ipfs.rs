//! The IPFS node: the js-ipfs daemon, offline, with its API on 127.0.0.1.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::process::{free_port, http_post_ok, Managed};
use crate::{DevnodeError, NodeTools};

/// How to start the IPFS node.
#[derive(Debug, Clone)]
pub struct IpfsOptions {
    /// The folder holding the repo (`dir/repo`) and the log.
    pub dir: PathBuf,
    /// The API port; a free one if `None`. Only used when the repo is created: an
    /// existing repo keeps the ports it was made with.
    pub api_port: Option<u16>,
}

impl IpfsOptions {
    /// A throw-away node in `dir` on free ports.
    pub fn ephemeral(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            api_port: None,
        }
    }
}

/// A running js-ipfs daemon; stopped on drop.
#[derive(Debug)]
pub struct Ipfs {
    process: Managed,
    api_port: u16,
}

impl Ipfs {
    /// Creates the repo if needed, starts the daemon and waits until its RPC API
    /// answers `version`.
    ///
    /// The caller must make sure no other daemon uses the same repo (the run command
    /// holds a lock file): stale `repo.lock` and `api` files from a killed daemon are
    /// removed here.
    pub fn start(tools: &NodeTools, opts: &IpfsOptions) -> Result<Self, DevnodeError> {
        let repo = opts.dir.join("repo");
        let api_port = if repo.join("config").exists() {
            configured_api_port(&repo)?
        } else {
            init_repo(tools, &opts.dir, &repo, opts.api_port)?
        };
        for stale in ["repo.lock", "api"] {
            let path = repo.join(stale);
            if path.exists() {
                std::fs::remove_file(&path).map_err(|source| DevnodeError::Io {
                    context: format!("removing stale {}", path.display()),
                    source,
                })?;
            }
        }
        let mut cmd = jsipfs(tools, &repo);
        cmd.args(["daemon", "--offline", "--enable-preload=false"]);
        let mut process = Managed::spawn("js-ipfs", cmd, &opts.dir.join("ipfs.log"))?;
        let addr = SocketAddr::from(([127, 0, 0, 1], api_port));
        process.wait_ready(Duration::from_secs(90), || {
            http_post_ok(addr, "/api/v0/version")
        })?;
        Ok(Self { process, api_port })
    }

    /// The RPC API base URL.
    pub fn api_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.api_port)
    }

    /// The API port.
    pub fn api_port(&self) -> u16 {
        self.api_port
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.process.is_running()
    }

    /// Stops the daemon now.
    pub fn stop(mut self) {
        self.process.stop(Duration::from_secs(10));
    }
}

fn jsipfs(tools: &NodeTools, repo: &Path) -> Command {
    let mut cmd = Command::new("node");
    cmd.arg(tools.jsipfs_cli()).env("IPFS_PATH", repo).env(
        "NODE_OPTIONS",
        format!("--require {}", tools.polyfill().display()),
    );
    cmd
}

/// `jsipfs init` with a config that listens on loopback only and never dials out.
fn init_repo(
    tools: &NodeTools,
    dir: &Path,
    repo: &Path,
    api_port: Option<u16>,
) -> Result<u16, DevnodeError> {
    let io = |context: String| move |source| DevnodeError::Io { context, source };
    std::fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
    let port = |p: Option<u16>| {
        p.map_or_else(free_port, Ok)
            .map_err(io("finding a free port".into()))
    };
    let (api, gateway, rpc) = (port(api_port)?, port(None)?, port(None)?);
    let config = serde_json::json!({
        "Addresses": {
            "Swarm": [],
            "API": format!("/ip4/127.0.0.1/tcp/{api}"),
            "Gateway": format!("/ip4/127.0.0.1/tcp/{gateway}"),
            "RPC": format!("/ip4/127.0.0.1/tcp/{rpc}"),
            "Delegates": []
        },
        "Bootstrap": [],
        "Discovery": { "MDNS": { "Enabled": false }, "webRTCStar": { "Enabled": false } },
        "Routing": { "Type": "none" }
    });
    let config_path = dir.join("init-config.json");
    std::fs::write(&config_path, config.to_string())
        .map_err(io(format!("writing {}", config_path.display())))?;
    let output = jsipfs(tools, repo)
        .args(["init", "--empty-repo"])
        .arg(&config_path)
        .output()
        .map_err(|source| DevnodeError::Spawn {
            what: "jsipfs init",
            source,
        })?;
    if !output.status.success() {
        return Err(DevnodeError::NotReady {
            what: "jsipfs init",
            seconds: 0,
            log: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    Ok(api)
}

/// The API port recorded in an existing repo's config.
fn configured_api_port(repo: &Path) -> Result<u16, DevnodeError> {
    let path = repo.join("config");
    let text = std::fs::read_to_string(&path).map_err(|source| DevnodeError::Io {
        context: format!("reading {}", path.display()),
        source,
    })?;
    let bad = || DevnodeError::Io {
        context: format!("reading the API address from {}", path.display()),
        source: std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "no /ip4/127.0.0.1/tcp/PORT API address",
        ),
    };
    let config: serde_json::Value = serde_json::from_str(&text).map_err(|_| bad())?;
    config["Addresses"]["API"]
        .as_str()
        .and_then(|a| a.strip_prefix("/ip4/127.0.0.1/tcp/"))
        .and_then(|p| p.parse().ok())
        .ok_or_else(bad)
}
