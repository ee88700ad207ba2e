//! The consortium's chain (scripts/deploy/besu/genesis.json) on anvil, since Besu is not
//! installed here: a node started with the genesis's chain id, London, zero base fee
//! and gas price takes the contract from an unfunded account, in a block within the
//! genesis's gas limit, by the same deployment code the operator runs
//! (`cargo run -p medwallet-ledger --example deploy`).

use alloy::eips::BlockNumberOrTag;
use alloy::providers::{Provider, ProviderBuilder};
use medwallet_devnodes::{Anvil, AnvilOptions, NodeTools};
use medwallet_ledger::contract::EXPECTED_SCHEMA_VERSION;
use medwallet_ledger::{ContractStatus, LedgerNode, PrivateKeySigner};
use url::Url;

fn genesis() -> serde_json::Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../scripts/deploy/besu/genesis.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn hex_u64(value: &serde_json::Value) -> u64 {
    let text = value.as_str().unwrap();
    u64::from_str_radix(text.trim_start_matches("0x"), 16).unwrap()
}

#[tokio::test]
async fn the_contract_deploys_on_a_chain_with_the_consortium_genesis_settings() {
    let genesis = genesis();
    let config = &genesis["config"];
    let chain_id = config["chainId"].as_u64().unwrap();
    let gas_limit = hex_u64(&genesis["gasLimit"]);
    // What devnodes' anvil runs: London (`--hardfork london`), no base fee, no gas price.
    assert_eq!(config["londonBlock"], 0);
    assert_eq!(config["zeroBaseFee"], true);

    let dir = tempfile::tempdir().unwrap();
    let anvil = Anvil::start(
        &NodeTools::locate().unwrap(),
        &AnvilOptions {
            chain_id,
            ..AnvilOptions::ephemeral(dir.path())
        },
    )
    .unwrap();
    let url = Url::parse(&anvil.url()).unwrap();
    let ledger = LedgerNode::new(&url);
    assert_eq!(ledger.status().await.unwrap().chain_id, chain_id);

    // A fresh key has no funds: only a zero-fee transaction gets the contract in.
    let contract = ledger.deploy(PrivateKeySigner::random()).await.unwrap();
    assert_eq!(
        ledger.contract_status(contract).await.unwrap(),
        ContractStatus::Deployed {
            schema_version: EXPECTED_SCHEMA_VERSION
        }
    );

    let provider = ProviderBuilder::new()
        .disable_recommended_fillers()
        .connect_http(url);
    let block = provider
        .get_block_by_number(BlockNumberOrTag::Latest)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(block.header.base_fee_per_gas, Some(0));
    assert_eq!(
        block.header.gas_limit, gas_limit,
        "the genesis's block gas limit is anvil's"
    );
    assert!(block.header.gas_used > 0 && block.header.gas_used <= gas_limit);
    anvil.stop();
}
