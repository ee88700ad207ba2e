//! `medwallet-devnodes`: starts the local IPFS and ledger nodes with their data in a
//! persistent folder, deploys the ledger contract if it is not deployed yet, runs a
//! command (the app) with the node URLs in its environment, and stops the nodes when
//! the command exits or on Ctrl-C.
//!
//! Usage: medwallet-devnodes --state DIR [--network] [-- COMMAND ARGS...]
//! Without a command it keeps the nodes up until Ctrl-C.
//!
//! With `--network` it stands for three machines: one IPFS node per role (patient on
//! 127.0.0.2, doctor on 127.0.0.3, clinic on 127.0.0.4), each in the swarm and
//! connected to the other two, beside the one ledger node; the command runs once per
//! role with that role's node, its peers and its own data folder
//! (`DIR/network/<role>/app`).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use medwallet_devnodes::{Anvil, AnvilOptions, Ipfs, IpfsOptions, NodeTools, LOCAL_CHAIN_ID};
use medwallet_ledger::{Address, ContractStatus, LedgerNode, PrivateKeySigner};
use serde::{Deserialize, Serialize};

/// What is kept in `<state>/nodes.json` between runs.
#[derive(Debug, Serialize, Deserialize)]
struct Saved {
    anvil_port: u16,
    ipfs_api_port: u16,
    contract_address: Option<Address>,
}

/// The roles of `--network`, each on its own loopback address.
const ROLES: [(&str, [u8; 4]); 3] = [
    ("patient", [127, 0, 0, 2]),
    ("doctor", [127, 0, 0, 3]),
    ("clinic", [127, 0, 0, 4]),
];

struct Args {
    state: PathBuf,
    network: bool,
    command: Vec<String>,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args = match parse_args(&args) {
        Ok(parsed) => parsed,
        Err(usage) => {
            eprintln!(
                "{usage}\nusage: medwallet-devnodes --state DIR [--network] [-- COMMAND ARGS...]"
            );
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("medwallet-devnodes: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(&args)) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("medwallet-devnodes: {message}");
            ExitCode::FAILURE
        }
    }
}

fn parse_args(args: &[String]) -> Result<Args, String> {
    let (ours, command) = match args.iter().position(|a| a == "--") {
        Some(i) => (&args[..i], args[i + 1..].to_vec()),
        None => (args, Vec::new()),
    };
    let (state, network) = match ours {
        [flag, dir] if flag == "--state" => (dir, false),
        [flag, dir, net] if flag == "--state" && net == "--network" => (dir, true),
        _ => return Err(format!("unexpected arguments: {ours:?}")),
    };
    Ok(Args {
        state: PathBuf::from(state),
        network,
        command,
    })
}

/// One IPFS node and what the app of its role is given.
struct RoleNode {
    role: &'static str,
    ipfs: Ipfs,
    app_dir: Option<PathBuf>,
}

async fn run(args: &Args) -> Result<ExitCode, String> {
    let (state, command) = (args.state.as_path(), args.command.as_slice());
    std::fs::create_dir_all(state)
        .map_err(|e| format!("cannot create {}: {e}", state.display()))?;
    // One run per state folder: a second run must not touch the node data.
    let _lock = lock(state)?;
    let tools = NodeTools::locate().map_err(|e| e.to_string())?;
    let saved_path = state.join("nodes.json");
    let mut saved = load_or_choose(&saved_path)?;

    eprintln!(
        "medwallet-devnodes: starting the IPFS node and the ledger node (data in {})",
        state.display()
    );
    // Started from this thread on purpose: a node dies with the thread that started
    // it (PR_SET_PDEATHSIG), so a helper thread would take its node down on exit.
    let nodes = if args.network {
        start_network(&tools, state)?
    } else {
        let mut opts = IpfsOptions::ephemeral(state.join("ipfs"));
        opts.api_port = Some(saved.ipfs_api_port);
        let ipfs = Ipfs::start(&tools, &opts).map_err(|e| e.to_string())?;
        vec![RoleNode {
            role: "",
            ipfs,
            app_dir: None,
        }]
    };
    let anvil = Anvil::start(
        &tools,
        &AnvilOptions {
            persist: true,
            port: Some(saved.anvil_port),
            ..AnvilOptions::ephemeral(state.join("anvil"))
        },
    )
    .map_err(|e| e.to_string())?;

    let ledger_url = url::Url::parse(&anvil.url()).map_err(|e| e.to_string())?;
    let contract =
        ensure_contract(&LedgerNode::new(&ledger_url), state, saved.contract_address).await?;
    saved.contract_address = Some(contract);
    save(&saved_path, &saved)?;

    for node in &nodes {
        let label = if node.role.is_empty() {
            "IPFS API "
        } else {
            node.role
        };
        eprintln!("medwallet-devnodes: {label:<9} {}", node.ipfs.api_url());
    }
    eprintln!(
        "medwallet-devnodes: ledger    {} (chain {LOCAL_CHAIN_ID}, contract {contract})",
        anvil.url()
    );

    let code = if command.is_empty() {
        eprintln!("medwallet-devnodes: nodes are up; Ctrl-C stops them");
        let _ = tokio::signal::ctrl_c().await;
        ExitCode::SUCCESS
    } else {
        let mut children = Vec::new();
        for node in &nodes {
            let peers: Vec<String> = nodes
                .iter()
                .filter(|other| other.role != node.role)
                .filter_map(|other| other.ipfs.swarm_addr())
                .collect();
            let mut cmd = tokio::process::Command::new(&command[0]);
            cmd.args(&command[1..])
                .env("MEDWALLET_IPFS_URL", node.ipfs.api_url())
                .env("MEDWALLET_LEDGER_URL", anvil.url())
                .env("MEDWALLET_CONTRACT_ADDRESS", contract.to_string())
                .kill_on_drop(true);
            if let Some(app_dir) = &node.app_dir {
                cmd.env("MEDWALLET_DATA_DIR", app_dir)
                    .env("MEDWALLET_IPFS_PEERS", peers.join(","))
                    .env("MEDWALLET_INSTANCE", node.role);
            }
            let child = cmd
                .spawn()
                .map_err(|e| format!("cannot start {}: {e}", command[0]))?;
            children.push((node.role, child));
        }
        wait_all(&command[0], children).await
    };
    eprintln!("medwallet-devnodes: stopping the nodes");
    for node in nodes {
        node.ipfs.stop();
    }
    anvil.stop();
    Ok(code)
}

/// The three role nodes, each in the swarm on its own address, connected pairwise.
fn start_network(tools: &NodeTools, state: &Path) -> Result<Vec<RoleNode>, String> {
    let mut nodes: Vec<RoleNode> = Vec::new();
    for (role, ip) in ROLES {
        let dir = state.join("network").join(role);
        let opts = IpfsOptions::peer(dir.join("ipfs"), ip.into());
        let ipfs = Ipfs::start(tools, &opts).map_err(|e| format!("the {role}'s node: {e}"))?;
        let app_dir = dir.join("app");
        std::fs::create_dir_all(&app_dir)
            .map_err(|e| format!("cannot create {}: {e}", app_dir.display()))?;
        nodes.push(RoleNode {
            role,
            ipfs,
            app_dir: Some(app_dir),
        });
    }
    for (i, a) in nodes.iter().enumerate() {
        for b in &nodes[i + 1..] {
            a.ipfs
                .connect(&b.ipfs)
                .map_err(|e| format!("connecting the {} and the {}: {e}", a.role, b.role))?;
        }
    }
    Ok(nodes)
}

/// Waits until every app has exited (or Ctrl-C, which stops them all).
async fn wait_all(name: &str, children: Vec<(&'static str, tokio::process::Child)>) -> ExitCode {
    let mut failed = false;
    let mut waits = tokio::task::JoinSet::new();
    for (role, mut child) in children {
        waits.spawn(async move { (role, child.wait().await) });
    }
    loop {
        tokio::select! {
            next = waits.join_next() => match next {
                None => break,
                Some(Ok((role, status))) => match status {
                    Ok(s) if s.success() => {}
                    Ok(s) => { eprintln!("medwallet-devnodes: {name} {role} exited with {s}"); failed = true; }
                    Err(e) => { eprintln!("medwallet-devnodes: waiting for {name} {role}: {e}"); failed = true; }
                },
                Some(Err(_)) => failed = true,
            },
            _ = tokio::signal::ctrl_c() => {
                // Dropping the waits drops the children, which kills them.
                waits.abort_all();
                return ExitCode::SUCCESS;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn lock(state: &Path) -> Result<File, String> {
    use std::os::fd::AsRawFd;
    let path = state.join("nodes.lock");
    let file = File::create(&path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    // SAFETY: flock on a descriptor we own; the lock is released when `file` is dropped.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc != 0 {
        return Err(format!(
            "another medwallet run is already using {}; close that app first (its nodes stop with it)",
            state.display()
        ));
    }
    Ok(file)
}

/// The saved ports, or new ones: the well-known 5001 and 8545 when free.
fn load_or_choose(path: &Path) -> Result<Saved, String> {
    if let Ok(text) = std::fs::read_to_string(path) {
        return serde_json::from_str(&text).map_err(|e| {
            format!(
                "{} is damaged ({e}); move it away to choose new ports",
                path.display()
            )
        });
    }
    let prefer = |port: u16| -> Result<u16, String> {
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            Ok(port)
        } else {
            medwallet_devnodes::free_port().map_err(|e| e.to_string())
        }
    };
    Ok(Saved {
        anvil_port: prefer(8545)?,
        ipfs_api_port: prefer(5001)?,
        contract_address: None,
    })
}

fn save(path: &Path, saved: &Saved) -> Result<(), String> {
    let text = serde_json::to_string_pretty(saved).map_err(|e| e.to_string())?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Deploys the contract unless our contract already answers at the saved address.
async fn ensure_contract(
    ledger: &LedgerNode,
    state: &Path,
    saved: Option<Address>,
) -> Result<Address, String> {
    if let Some(address) = saved {
        match ledger
            .contract_status(address)
            .await
            .map_err(|e| e.to_string())?
        {
            // Schema 6 too: schema 7 only added batch functions, so a local chain made
            // before keeps its contract and its records (batches go one per item there).
            ContractStatus::Deployed { schema_version }
                if medwallet_ledger::contract::is_supported_schema(schema_version) =>
            {
                return Ok(address)
            }
            // A local chain made by an older build: its contract speaks a schema this build
            // no longer reads, so it deploys its own beside it (the old events stay).
            ContractStatus::Deployed { schema_version } => eprintln!(
                "medwallet-devnodes: the contract at {address} speaks schema {schema_version}; deploying schema {}",
                medwallet_ledger::contract::EXPECTED_SCHEMA_VERSION
            ),
            ContractStatus::Missing => {
                eprintln!("medwallet-devnodes: no contract at {address} (new chain?); deploying")
            }
            ContractStatus::Foreign => {
                return Err(format!(
                    "{address} holds a contract that is not medwallet's"
                ))
            }
        }
    }
    let deployer = deployer_key(state)?;
    let address = ledger.deploy(deployer).await.map_err(|e| e.to_string())?;
    eprintln!("medwallet-devnodes: deployed the ledger contract at {address}");
    Ok(address)
}

/// The local operator's key, made once and kept beside the chain it administers.
fn deployer_key(state: &Path) -> Result<PrivateKeySigner, String> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = state.join("operator.key");
    if let Ok(hex) = std::fs::read_to_string(&path) {
        return hex
            .trim()
            .parse()
            .map_err(|_| format!("{} is damaged", path.display()));
    }
    let signer = PrivateKeySigner::random();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    std::io::Write::write_all(&mut file, alloy_hex(&signer).as_bytes())
        .map_err(|e| e.to_string())?;
    Ok(signer)
}

fn alloy_hex(signer: &PrivateKeySigner) -> String {
    format!(
        "0x{}",
        signer
            .to_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}
