//! Ledgers of a given size for benchmarks (feature `bench-chain`): generated once by
//! [`medwallet_ledger::testing::generate`] on a real anvil, kept as anvil's saved state
//! under `~/.cache/medwallet/bench-chains/` (never in the repository), keyed by the
//! contract artifact's hash and the size, and loaded by every later run.
//!
//! A loaded chain is an anvil of its own on a free loopback port, stopped on drop; what
//! a benchmark sends to it is not saved. The generated wallets' keys come from their
//! index ([`wallet_key`](medwallet_ledger::testing::generate::wallet_key)); a benchmark
//! adds its own wallets (a patient, a doctor with real records on IPFS) after loading.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use medwallet_ledger::testing::generate::{self, Report, Shape};
use medwallet_ledger::{keccak256, Address, LedgerNode};

use crate::{Anvil, AnvilOptions, NodeTools};

/// How long anvil may take to write a large chain when stopped.
const DUMP_GRACE: Duration = Duration::from_secs(900);

/// What a saved chain holds, kept beside its state file.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ChainMeta {
    /// The events the wallets emitted.
    pub events: u64,
    /// How many wallets emitted them.
    pub wallets: u32,
    /// The contract's address.
    pub contract: Address,
    /// The first bytes of the hash of the contract's creation code the chain was made
    /// with.
    pub artifact: String,
    /// What the generator did, and how long it took.
    pub generated: Report,
    /// Seconds anvil took to write the state file.
    pub dump_seconds: f64,
}

/// A loaded benchmark chain: anvil on loopback with the saved state.
#[derive(Debug)]
pub struct BenchChain {
    /// The node (stopped on drop; nothing it mines after loading is saved).
    pub anvil: Anvil,
    /// What it holds.
    pub meta: ChainMeta,
    /// Seconds anvil took to load it.
    pub load_seconds: f64,
    /// The node's JSON-RPC URL.
    pub url: url::Url,
    dir: PathBuf,
}

impl BenchChain {
    /// A read client of the node.
    pub fn node(&self) -> LedgerNode {
        LedgerNode::new(&self.url)
    }
}

impl Drop for BenchChain {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Where saved chains are kept: `~/.cache/medwallet/bench-chains`.
pub fn cache_dir() -> PathBuf {
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/tmp"), PathBuf::from);
    home.join(".cache/medwallet/bench-chains")
}

/// The first 8 bytes (hex) of the hash of the contract's creation code: a chain made
/// with another contract is another file.
pub fn artifact_hash() -> String {
    let hash = keccak256(&medwallet_ledger::contract::MedwalletLedger::BYTECODE[..]);
    hash[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// The state file of a chain of `shape` made with this build's contract.
pub fn state_file(shape: Shape) -> PathBuf {
    cache_dir().join(format!(
        "{}-{}ev-{}w.state.json",
        artifact_hash(),
        shape.events,
        shape.wallets
    ))
}

fn meta_file(state: &Path) -> PathBuf {
    state.with_extension("").with_extension("meta.json")
}

/// A running chain of `shape`: loaded from the cache, or generated first (minutes for a
/// million events; `progress` hears each step).
pub async fn bench_chain(
    tools: &NodeTools,
    shape: Shape,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<BenchChain, String> {
    let state = state_file(shape);
    if !state.exists() || !meta_file(&state).exists() {
        progress(&format!(
            "no saved chain at {}: generating one",
            state.display()
        ));
        generate_chain(tools, shape, progress).await?;
    }
    load(tools, &state)
}

/// Starts anvil from a saved chain.
pub fn load(tools: &NodeTools, state: &Path) -> Result<BenchChain, String> {
    let meta: ChainMeta = std::fs::read_to_string(meta_file(state))
        .map_err(|e| format!("reading {}: {e}", meta_file(state).display()))
        .and_then(|t| serde_json::from_str(&t).map_err(|e| format!("{}: {e}", state.display())))?;
    let dir = run_dir()?;
    let started = Instant::now();
    let anvil = Anvil::start(
        tools,
        &AnvilOptions {
            load_state: Some(state.to_owned()),
            ..AnvilOptions::ephemeral(&dir)
        },
    )
    .map_err(|e| e.to_string())?;
    let url = url::Url::parse(&anvil.url()).map_err(|e| e.to_string())?;
    Ok(BenchChain {
        anvil,
        meta,
        load_seconds: started.elapsed().as_secs_f64(),
        url,
        dir,
    })
}

/// Generates a chain of `shape` and saves it (replacing a saved one): a fresh anvil, the
/// contract deployed by [`admin_key`](generate::admin_key), filled, then stopped so that
/// it writes its state.
pub async fn generate_chain(
    tools: &NodeTools,
    shape: Shape,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<ChainMeta, String> {
    let state = state_file(shape);
    std::fs::create_dir_all(cache_dir()).map_err(|e| e.to_string())?;
    let part = state.with_extension("part");
    let dir = run_dir()?;
    let result = async {
        let anvil = Anvil::start(
            tools,
            &AnvilOptions {
                dump_state: Some(part.clone()),
                prune_history: true,
                ..AnvilOptions::ephemeral(&dir)
            },
        )
        .map_err(|e| e.to_string())?;
        let url = url::Url::parse(&anvil.url()).map_err(|e| e.to_string())?;
        let contract = LedgerNode::new(&url)
            .deploy(generate::admin_key())
            .await
            .map_err(|e| e.to_string())?;
        let generated = generate::fill(&url, contract, shape, progress)
            .await
            .map_err(|e| e.to_string())?;
        let dumping = Instant::now();
        anvil.stop_within(DUMP_GRACE);
        let dump_seconds = dumping.elapsed().as_secs_f64();
        if !part.exists() {
            return Err(format!("anvil wrote no state to {}", part.display()));
        }
        std::fs::rename(&part, &state).map_err(|e| e.to_string())?;
        let meta = ChainMeta {
            events: generated.events,
            wallets: shape.wallets,
            contract,
            artifact: artifact_hash(),
            generated,
            dump_seconds,
        };
        let text = serde_json::to_string_pretty(&meta).map_err(|e| e.to_string())?;
        std::fs::write(meta_file(&state), text).map_err(|e| e.to_string())?;
        let size = std::fs::metadata(&state).map(|m| m.len()).unwrap_or(0);
        progress(&format!(
            "saved {} ({} MB; written in {:.1} s)",
            state.display(),
            size / 1_000_000,
            dump_seconds
        ));
        Ok(meta)
    }
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&part);
    result
}

/// A folder for one node's cache and log, under the cache folder.
fn run_dir() -> Result<PathBuf, String> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let dir = cache_dir().join(format!(
        "run-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    Ok(dir)
}
