//! What the benchmarks share: their wallets, a record's metadata, the nodes they start
//! and how a figure is printed. Each bench uses part of it (`dead_code` is allowed for
//! that reason only).
#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use medwallet_api::{Category, RecordMetadata};
use medwallet_core::{LedgerTarget, Owner};
use medwallet_devnodes::{Anvil, AnvilOptions, Ipfs, IpfsOptions, NodeTools};
use medwallet_ledger::{LedgerNode, PrivateKeySigner};
use medwallet_vault::{Role, Seed, WalletKeys};
use url::Url;

/// The keys of wallet `n` of a bench whose seeds start with `byte` (one byte per bench,
/// so that no two benches' wallets are the same).
pub fn keys(byte: u8, n: u32, role: Role) -> WalletKeys {
    let mut seed = [byte; 32];
    seed[..4].copy_from_slice(&n.to_be_bytes());
    seed[4] = role as u8;
    WalletKeys::derive(&Seed::from_bytes(seed), role).unwrap()
}

/// Wallet `n` of a bench (see [`keys`]), with a wallet id made from `n` and the role.
pub fn wallet(byte: u8, n: u32, role: Role) -> Owner {
    Owner::new(
        &format!("{:032x}", (u128::from(n) << 8) | role as u128),
        "Bench",
        &keys(byte, n, role),
    )
}

/// A lab result's metadata titled `title`.
pub fn meta(title: &str) -> RecordMetadata {
    RecordMetadata {
        title: title.to_owned(),
        category: Category::LabResult,
        date: "2026-03-01".to_owned(),
        author: "Bench".to_owned(),
    }
}

/// A js-ipfs node and an anvil with the contract deployed, under `root`: the IPFS API's
/// URL, the ledger target and the nodes (stopped on drop).
pub async fn start_nodes(root: &Path) -> (Url, LedgerTarget, (Ipfs, Anvil)) {
    let tools = NodeTools::locate().expect("node tools (scripts/lib.sh sets MEDWALLET_NODE_TOOLS)");
    let ipfs = Ipfs::start(&tools, &IpfsOptions::ephemeral(root.join("ipfs"))).unwrap();
    let anvil = Anvil::start(&tools, &AnvilOptions::ephemeral(root.join("anvil"))).unwrap();
    let url = Url::parse(&anvil.url()).unwrap();
    let contract = LedgerNode::new(&url)
        .deploy(PrivateKeySigner::random())
        .await
        .unwrap();
    let ledger = LedgerTarget {
        url,
        contract: Some(contract),
        chain_id: None,
    };
    (Url::parse(&ipfs.api_url()).unwrap(), ledger, (ipfs, anvil))
}

/// The middle of `v` (its upper middle for an even count).
pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// `d` in milliseconds, one decimal.
pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}
