//! The IPFS node: the js-ipfs daemon on one loopback address. Offline by default (one
//! node for everyone, as the single-machine tests use); with [`IpfsOptions::swarm`] it
//! listens for peers on its own address and moves blocks over bitswap, as each party's
//! node does on a real network.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::process::{free_port_on, http_post_ok, Managed};
use crate::{DevnodeError, NodeTools};

/// How to start the IPFS node.
#[derive(Debug, Clone)]
pub struct IpfsOptions {
    /// The folder holding the repo (`dir/repo`) and the log.
    pub dir: PathBuf,
    /// The API port; a free one if `None`. Only used when the repo is created: an
    /// existing repo keeps the ports it was made with.
    pub api_port: Option<u16>,
    /// The loopback address every listener binds (API, gateway, swarm): one
    /// `127.0.0.N` per node stands for one machine. Only used when the repo is created.
    pub host: Ipv4Addr,
    /// Join the IPFS network: listen for peers on `host` (a free TCP port) and run
    /// without `--offline`, so blocks this node lacks are asked of its peers. There
    /// is no public DHT and no bootstrap list: peers are connected explicitly
    /// ([`Ipfs::connect`], or the app's configured peers).
    pub swarm: bool,
}

impl IpfsOptions {
    /// A throw-away offline node in `dir` on free ports of 127.0.0.1.
    pub fn ephemeral(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            api_port: None,
            host: Ipv4Addr::LOCALHOST,
            swarm: false,
        }
    }

    /// A throw-away node in `dir` that joins the swarm on `host` (a `127.0.0.N`).
    pub fn peer(dir: impl Into<PathBuf>, host: Ipv4Addr) -> Self {
        Self {
            host,
            swarm: true,
            ..Self::ephemeral(dir)
        }
    }
}

/// A running js-ipfs daemon; stopped on drop.
#[derive(Debug)]
pub struct Ipfs {
    process: Managed,
    host: Ipv4Addr,
    api_port: u16,
    peer_id: String,
    swarm_port: Option<u16>,
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
        if !repo.join("config").exists() {
            init_repo(tools, &opts.dir, &repo, opts)?;
        }
        let config = Configured::read(&repo)?;
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
        cmd.arg("daemon");
        if config.swarm_port.is_none() {
            cmd.arg("--offline");
        }
        cmd.arg("--enable-preload=false");
        let mut process = Managed::spawn("js-ipfs", cmd, &opts.dir.join("ipfs.log"))?;
        let addr = SocketAddr::from((config.host, config.api_port));
        process.wait_ready(Duration::from_secs(90), || {
            http_post_ok(addr, "/api/v0/version")
        })?;
        Ok(Self {
            process,
            host: config.host,
            api_port: config.api_port,
            peer_id: config.peer_id,
            swarm_port: config.swarm_port,
        })
    }

    /// The RPC API base URL.
    pub fn api_url(&self) -> String {
        format!("http://{}:{}", self.host, self.api_port)
    }

    /// The loopback address the node listens on.
    pub fn host(&self) -> Ipv4Addr {
        self.host
    }

    /// The node's peer id.
    pub fn peer_id(&self) -> &str {
        &self.peer_id
    }

    /// Where peers reach this node (`/ip4/127.0.0.N/tcp/P/p2p/<peer id>`), if it is in
    /// the swarm.
    pub fn swarm_addr(&self) -> Option<String> {
        self.swarm_port
            .map(|port| format!("/ip4/{}/tcp/{port}/p2p/{}", self.host, self.peer_id))
    }

    /// Asks this node to connect to `other` (both in the swarm). Connections are
    /// both ways once made; a peer that restarts must be connected again.
    pub fn connect(&self, other: &Ipfs) -> Result<(), DevnodeError> {
        let target = other.swarm_addr().ok_or_else(|| DevnodeError::Io {
            context: format!("connecting to the node at {}", other.api_url()),
            source: std::io::Error::other("that node is offline (not in the swarm)"),
        })?;
        let addr = SocketAddr::from((self.host, self.api_port));
        let path = format!("/api/v0/swarm/connect?arg={}", url_encode(&target));
        // A dial may fail while the other side is still opening its listener.
        for _ in 0..50 {
            if http_post_ok(addr, &path) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(DevnodeError::Io {
            context: format!("connecting {} to {target}", self.api_url()),
            source: std::io::Error::other("swarm/connect kept failing"),
        })
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

/// `jsipfs init` with a config that listens on its loopback address only and dials
/// only the peers it is told to.
fn init_repo(
    tools: &NodeTools,
    dir: &Path,
    repo: &Path,
    opts: &IpfsOptions,
) -> Result<(), DevnodeError> {
    let io = |context: String| move |source| DevnodeError::Io { context, source };
    std::fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
    let host = opts.host;
    let port = |p: Option<u16>| {
        p.map_or_else(|| free_port_on(host), Ok)
            .map_err(io("finding a free port".into()))
    };
    let (api, gateway, rpc) = (port(opts.api_port)?, port(None)?, port(None)?);
    let swarm: Vec<String> = if opts.swarm {
        vec![format!("/ip4/{host}/tcp/{}", port(None)?)]
    } else {
        Vec::new()
    };
    let config = serde_json::json!({
        "Addresses": {
            "Swarm": swarm,
            "API": format!("/ip4/{host}/tcp/{api}"),
            "Gateway": format!("/ip4/{host}/tcp/{gateway}"),
            "RPC": format!("/ip4/{host}/tcp/{rpc}"),
            "Delegates": []
        },
        "Bootstrap": [],
        "Discovery": { "MDNS": { "Enabled": false }, "webRTCStar": { "Enabled": false } },
        "Routing": { "Type": "none" },
        "Swarm": { "DisableNatPortMap": true }
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
    Ok(())
}

/// What an existing repo's config says: where the node listens and who it is.
struct Configured {
    host: Ipv4Addr,
    api_port: u16,
    swarm_port: Option<u16>,
    peer_id: String,
}

impl Configured {
    fn read(repo: &Path) -> Result<Self, DevnodeError> {
        let path = repo.join("config");
        let text = std::fs::read_to_string(&path).map_err(|source| DevnodeError::Io {
            context: format!("reading {}", path.display()),
            source,
        })?;
        let bad = |what: &str| DevnodeError::Io {
            context: format!("reading {what} from {}", path.display()),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, "missing or malformed"),
        };
        let config: serde_json::Value =
            serde_json::from_str(&text).map_err(|_| bad("the config"))?;
        let (host, api_port) = config["Addresses"]["API"]
            .as_str()
            .and_then(parse_tcp)
            .ok_or_else(|| bad("the API address"))?;
        let swarm_port = config["Addresses"]["Swarm"]
            .as_array()
            .and_then(|a| a.first())
            .and_then(|a| a.as_str())
            .and_then(parse_tcp)
            .map(|(_, port)| port);
        let peer_id = config["Identity"]["PeerID"]
            .as_str()
            .ok_or_else(|| bad("the peer id"))?
            .to_owned();
        Ok(Self {
            host,
            api_port,
            swarm_port,
            peer_id,
        })
    }
}

/// `/ip4/A.B.C.D/tcp/PORT`.
fn parse_tcp(addr: &str) -> Option<(Ipv4Addr, u16)> {
    let rest = addr.strip_prefix("/ip4/")?;
    let (ip, port) = rest.split_once("/tcp/")?;
    Some((ip.parse().ok()?, port.parse().ok()?))
}

/// A multiaddr as a query value: `/` is kept (js-ipfs and Kubo accept it), anything
/// outside the unreserved set is escaped.
fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_loopback_tcp_addresses() {
        assert_eq!(
            parse_tcp("/ip4/127.0.0.3/tcp/4001"),
            Some((Ipv4Addr::new(127, 0, 0, 3), 4001))
        );
        assert_eq!(parse_tcp("/ip4/127.0.0.3/udp/4001/quic"), None);
        assert_eq!(parse_tcp("/dns4/x/tcp/1"), None);
        assert_eq!(
            url_encode("/ip4/1.2.3.4/tcp/1/p2p/Qm+x"),
            "/ip4/1.2.3.4/tcp/1/p2p/Qm%2Bx"
        );
    }
}
