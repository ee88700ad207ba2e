//! Sending a zero-fee transaction and waiting for its receipt, with a deadline.

use std::time::{Duration, Instant};

use alloy::network::TransactionBuilder;
use alloy::primitives::TxHash;
use alloy::providers::Provider;
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};

use crate::LedgerError;

/// How long a transaction may take to be mined.
pub(crate) const RECEIPT_TIMEOUT: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(50);

/// Estimates gas, sets zero fees explicitly, sends, and polls for the receipt.
///
/// The receipt is polled with `eth_getTransactionReceipt` rather than alloy's
/// watcher: under automine the watcher was seen to wedge anvil.
pub(crate) async fn send_zero_fee(
    provider: &impl Provider,
    url: &str,
    tx: TransactionRequest,
) -> Result<TransactionReceipt, LedgerError> {
    let rpc = |e| LedgerError::from_rpc(url, e);
    let gas = provider.estimate_gas(tx.clone()).await.map_err(rpc)?;
    let tx = tx
        .with_gas_limit(gas.saturating_add(gas / 5))
        .with_max_fee_per_gas(0)
        .with_max_priority_fee_per_gas(0);
    let pending = provider.send_transaction(tx).await.map_err(rpc)?;
    wait_for_receipt(provider, url, *pending.tx_hash()).await
}

async fn wait_for_receipt(
    provider: &impl Provider,
    url: &str,
    hash: TxHash,
) -> Result<TransactionReceipt, LedgerError> {
    let start = Instant::now();
    loop {
        if let Some(receipt) = provider
            .get_transaction_receipt(hash)
            .await
            .map_err(|e| LedgerError::from_rpc(url, e))?
        {
            if !receipt.status() {
                return Err(LedgerError::Reverted {
                    tx: hash.to_string(),
                });
            }
            return Ok(receipt);
        }
        if start.elapsed() > RECEIPT_TIMEOUT {
            return Err(LedgerError::NotMined {
                tx: hash.to_string(),
                seconds: RECEIPT_TIMEOUT.as_secs(),
            });
        }
        tokio::time::sleep(POLL).await;
    }
}
