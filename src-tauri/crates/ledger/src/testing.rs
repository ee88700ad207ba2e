//! For tests and benchmarks only (feature `testing`): writing many real events fast on a
//! local anvil node, and filling a whole ledger like a real one ([`generate`]). Not used
//! by the app.
//!
//! Mining is paused (`evm_setAutomine false`) while the signed transactions are sent
//! concurrently with explicit nonces, then blocks are mined (`evm_mine`) until all are in:
//! one block per transaction would make 10,000 events take minutes.

pub mod generate;

use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::primitives::{Address, B256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use url::Url;

use crate::contract::MedwalletLedger as C;
use crate::LedgerError;

/// The nonce of the `i`-th generated record.
pub fn record_nonce(i: u64) -> B256 {
    let mut b = [0xabu8; 32];
    b[24..].copy_from_slice(&i.to_be_bytes());
    B256::from(b)
}

/// The id of the `i`-th record `author` generated.
pub fn record_id(author: Address, i: u64) -> B256 {
    crate::record_id_of(author, record_nonce(i))
}

/// Writes `count` events from `signer` on the anvil node at `url`: `count - updates`
/// records registered (ids [`record_id`]`(sender, i)`), then `updates` updates of record 0.
/// Answers the sender's address.
pub async fn write_events(
    url: &Url,
    contract: Address,
    signer: PrivateKeySigner,
    count: usize,
    updates: usize,
) -> Result<Address, LedgerError> {
    let rpc = |e| LedgerError::from_rpc(url.as_str(), e);
    let from = signer.address();
    medwallet_net::install_crypto_provider();
    let raw = ProviderBuilder::new()
        .disable_recommended_fillers()
        .connect_http(url.clone())
        .erased();
    let chain_id = raw.get_chain_id().await.map_err(rpc)?;
    let provider = ProviderBuilder::new()
        .disable_recommended_fillers()
        .with_chain_id(chain_id)
        .wallet(EthereumWallet::from(signer))
        .connect_http(url.clone())
        .erased();
    let first_nonce = raw.get_transaction_count(from).await.map_err(rpc)?;
    let cid = [0x01u8; 36];
    let calls: Vec<Vec<u8>> = (0..count)
        .map(|i| {
            if i < count - updates.min(count) {
                C::registerRecordCall {
                    nonce: record_nonce(i as u64),
                    manifestCid: cid.into(),
                    capsuleCid: cid.into(),
                }
                .abi_encode()
            } else {
                C::updateRecordCall {
                    recordId: record_id(from, 0),
                    manifestCid: cid.into(),
                    capsuleCid: cid.into(),
                }
                .abi_encode()
            }
        })
        .collect();
    let _: serde_json::Value = raw
        .raw_request("evm_setAutomine".into(), (false,))
        .await
        .map_err(rpc)?;
    let mut sent = 0u64;
    for chunk in calls.chunks(500) {
        let mut set = tokio::task::JoinSet::new();
        for (j, input) in chunk.iter().enumerate() {
            let tx = TransactionRequest::default()
                .with_from(from)
                .with_to(contract)
                .with_input(input.clone())
                .with_nonce(first_nonce + sent + j as u64)
                .with_gas_limit(120_000)
                .with_max_fee_per_gas(0)
                .with_max_priority_fee_per_gas(0);
            let p = provider.clone();
            set.spawn(async move { p.send_transaction(tx).await.map(|_| ()) });
        }
        while let Some(joined) = set.join_next().await {
            joined
                .map_err(|e| LedgerError::Inconsistent {
                    url: url.to_string(),
                    detail: format!("a send task failed: {e}"),
                })?
                .map_err(rpc)?;
        }
        sent += chunk.len() as u64;
    }
    loop {
        let _: String = raw.raw_request("evm_mine".into(), ()).await.map_err(rpc)?;
        if raw.get_transaction_count(from).await.map_err(rpc)? >= first_nonce + sent {
            break;
        }
    }
    let _: serde_json::Value = raw
        .raw_request("evm_setAutomine".into(), (true,))
        .await
        .map_err(rpc)?;
    Ok(from)
}

/// Moves the anvil node's clock `seconds` ahead and mines a block at the new time
/// (`evm_increaseTime`, `evm_mine`): grant expiries are then in the past for the chain.
pub async fn advance_time(url: &Url, seconds: u64) -> Result<(), LedgerError> {
    let rpc = |e| LedgerError::from_rpc(url.as_str(), e);
    medwallet_net::install_crypto_provider();
    let raw = ProviderBuilder::new()
        .disable_recommended_fillers()
        .connect_http(url.clone())
        .erased();
    let _: serde_json::Value = raw
        .raw_request("evm_increaseTime".into(), (seconds,))
        .await
        .map_err(rpc)?;
    let _: serde_json::Value = raw.raw_request("evm_mine".into(), ()).await.map_err(rpc)?;
    Ok(())
}

/// Deploys `bytecode` (a contract's creation code, such as an older build's artifact)
/// from `deployer` with zero fees: a chain as an older release left it.
pub async fn deploy_bytecode(
    url: &Url,
    deployer: PrivateKeySigner,
    bytecode: alloy::primitives::Bytes,
) -> Result<Address, LedgerError> {
    medwallet_net::install_crypto_provider();
    let chain_id = crate::LedgerNode::new(url).status().await?.chain_id;
    let from = deployer.address();
    let signing = crate::client::signing_provider(url, chain_id, deployer);
    let tx = TransactionRequest::default()
        .with_from(from)
        .with_deploy_code(bytecode);
    let receipt =
        crate::tx::send_zero_fee(&signing, url.as_str(), crate::Action::Deploy, tx).await?;
    receipt.contract_address.ok_or_else(|| LedgerError::NotEvm {
        url: url.to_string(),
        detail: "the deployment receipt has no contract address".into(),
    })
}
