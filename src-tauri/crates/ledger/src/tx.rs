//! Sending a zero-fee transaction and waiting for its receipt, with a deadline.

use std::time::{Duration, Instant};

use alloy::eips::BlockId;
use alloy::network::TransactionBuilder;
use alloy::primitives::TxHash;
use alloy::providers::Provider;
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::transports::{RpcError, TransportResult};

use crate::node::CALL_TIMEOUT;
use crate::revert::{Action, Revert};
use crate::LedgerError;

/// How long a transaction may take to be mined.
pub(crate) const RECEIPT_TIMEOUT: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(50);

/// Estimates gas, sets zero fees explicitly, sends, and polls for the receipt. Every node
/// call is bounded ([`CALL_TIMEOUT`]) and the receipt has its deadline ([`RECEIPT_TIMEOUT`]),
/// so a send ends within about a minute whatever the node does.
///
/// A revert shows up first at gas estimation, with the revert data in the node's
/// error: it is decoded there and nothing is sent. A transaction that reverts once
/// mined (the state changed in between) is replayed with `eth_call` on its block's
/// parent to learn the reason.
///
/// The receipt is polled with `eth_getTransactionReceipt` rather than alloy's
/// watcher: under automine the watcher was seen to wedge anvil.
#[tracing::instrument(skip_all, fields(action = ?action, tx_hash = tracing::field::Empty))]
pub(crate) async fn send_zero_fee(
    provider: &impl Provider,
    url: &str,
    action: Action,
    tx: TransactionRequest,
) -> Result<TransactionReceipt, LedgerError> {
    let result = send_here(provider, url, action, tx).await;
    if let Err(e) = &result {
        match e {
            LedgerError::Reverted { reason, tx, .. } => tracing::warn!(
                revert = reason.name(),
                sent = tx.is_some(),
                "the contract refused the transaction"
            ),
            other => tracing::warn!(error = other.kind(), "sending the transaction failed"),
        }
    }
    result
}

async fn send_here(
    provider: &impl Provider,
    url: &str,
    action: Action,
    tx: TransactionRequest,
) -> Result<TransactionReceipt, LedgerError> {
    let gas = estimate(provider, url, action, &tx).await?;
    send_estimated(provider, url, action, tx, gas).await
}

/// `eth_estimateGas` for `tx`: a revert is decoded from the node's error (nothing is
/// sent); any other refusal is the node's [`LedgerError::Rejected`] (for a batch: too
/// much gas for a block, which its sender answers by splitting it).
pub(crate) async fn estimate(
    provider: &impl Provider,
    url: &str,
    action: Action,
    tx: &TransactionRequest,
) -> Result<u64, LedgerError> {
    match bounded(url, provider.estimate_gas(tx.clone())).await? {
        Ok(gas) => {
            tracing::debug!(gas, "gas estimated");
            Ok(gas)
        }
        Err(RpcError::ErrorResp(payload)) if payload.as_revert_data().is_some() => {
            let data = payload.as_revert_data().unwrap_or_default();
            Err(LedgerError::Reverted {
                action,
                tx: None,
                reason: Revert::decode(&data),
            })
        }
        Err(e) => Err(LedgerError::from_rpc(url, e)),
    }
}

/// The gas limit a transaction estimated at `gas` is sent with: a fifth more, as the
/// state may change a little between the estimate and the block.
pub(crate) fn gas_limit_for(gas: u64) -> u64 {
    gas.saturating_add(gas / 5)
}

/// Sends `tx` with the gas limit for `gas` ([`gas_limit_for`]) and zero fees, and polls
/// for its receipt; a mined revert is replayed for its reason.
pub(crate) async fn send_estimated(
    provider: &impl Provider,
    url: &str,
    action: Action,
    tx: TransactionRequest,
    gas: u64,
) -> Result<TransactionReceipt, LedgerError> {
    let rpc = |e| LedgerError::from_rpc(url, e);
    let tx = tx
        .with_gas_limit(gas_limit_for(gas))
        .with_max_fee_per_gas(0)
        .with_max_priority_fee_per_gas(0);
    medwallet_faults::point("ledger.send");
    let pending = bounded(url, provider.send_transaction(tx.clone()))
        .await?
        .map_err(rpc)?;
    let hash = *pending.tx_hash();
    tracing::Span::current().record("tx_hash", tracing::field::display(hash));
    tracing::debug!("transaction sent");
    // Sent, its receipt not read: the crash a ledger step must survive without sending
    // the same thing twice.
    medwallet_faults::point("ledger.sent");
    let started = Instant::now();
    let receipt = wait_for_receipt(provider, url, hash).await?;
    medwallet_faults::point("ledger.mined");
    tracing::info!(
        status = if receipt.status() {
            "success"
        } else {
            "reverted"
        },
        block = receipt.block_number,
        gas_used = receipt.gas_used,
        wait_ms = started.elapsed().as_millis() as u64,
        "transaction mined"
    );
    if receipt.status() {
        return Ok(receipt);
    }
    let reason = replay_reason(provider, url, tx, receipt.block_number).await;
    Err(LedgerError::Reverted {
        action,
        tx: Some(hash.to_string()),
        reason,
    })
}

/// One node call within [`CALL_TIMEOUT`]: a node that accepts the connection but never
/// answers is unreachable, so no send (which holds its account's lock) waits forever.
async fn bounded<T>(
    url: &str,
    call: impl std::future::IntoFuture<Output = TransportResult<T>>,
) -> Result<TransportResult<T>, LedgerError> {
    tokio::time::timeout(CALL_TIMEOUT, call.into_future())
        .await
        .map_err(|_| LedgerError::Unreachable {
            url: url.to_owned(),
            detail: format!("no answer within {} s", CALL_TIMEOUT.as_secs()),
        })
}

/// Why a mined transaction reverted, by running it again on its parent block.
async fn replay_reason(
    provider: &impl Provider,
    url: &str,
    tx: TransactionRequest,
    block: Option<u64>,
) -> Revert {
    let at = block.map_or(BlockId::latest(), |n| BlockId::number(n.saturating_sub(1)));
    match bounded(url, provider.call(tx).block(at)).await {
        Ok(Err(RpcError::ErrorResp(payload))) => match payload.as_revert_data() {
            Some(data) => Revert::decode(&data),
            None => Revert::Unknown(payload.message.to_string()),
        },
        other => {
            tracing::debug!(
                replay_failed = other.is_err(),
                "the replay on the parent block did not give a revert reason"
            );
            Revert::Unknown("the replay did not revert".into())
        }
    }
}

async fn wait_for_receipt(
    provider: &impl Provider,
    url: &str,
    hash: TxHash,
) -> Result<TransactionReceipt, LedgerError> {
    let start = Instant::now();
    loop {
        if let Some(receipt) = bounded(url, provider.get_transaction_receipt(hash))
            .await?
            .map_err(|e| LedgerError::from_rpc(url, e))?
        {
            return Ok(receipt);
        }
        if start.elapsed() > RECEIPT_TIMEOUT {
            tracing::warn!(
                seconds = RECEIPT_TIMEOUT.as_secs(),
                "no receipt before the deadline"
            );
            return Err(LedgerError::NotMined {
                tx: hash.to_string(),
                seconds: RECEIPT_TIMEOUT.as_secs(),
            });
        }
        tokio::time::sleep(POLL).await;
    }
}
