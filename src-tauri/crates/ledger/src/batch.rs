//! Batches: many records' registrations, updates, grants or revocations in as few
//! transactions as fit in a block.
//!
//! How many items fit is measured, never guessed: a batch is estimated
//! (`eth_estimateGas`) and sent whole when its gas limit fits the latest block's gas
//! limit; otherwise, or when the node refuses it, it is split in halves and each half
//! tried the same way. A revert splits it too, down to single items sent with the single
//! function, so an item the contract refuses is named alone (with the single function's
//! error) and every other item still lands. A node that fails (unreachable, no receipt
//! in time) stops the batch: the items not sent carry that error.
//!
//! Each transaction holds the account's lock from its nonce to its receipt, as every
//! send does ([`LedgerClient`]'s `send`); between two transactions of a batch another
//! use case of the same account may send its own.
//!
//! On a contract of schema 6, which has no batch function, every item is sent alone.

use std::collections::VecDeque;
use std::ops::Range;

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, Bytes, B256};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolCall;

use crate::client::{LedgerClient, Receipt};
use crate::contract::MedwalletLedger as C;
use crate::revert::Action;
use crate::tx::{estimate, gas_limit_for, send_estimated};
use crate::LedgerError;

/// One record to register (`registerRecord`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRecord {
    /// The nonce its id is made from ([`record_id_of`](crate::record_id_of)).
    pub nonce: B256,
    /// Its manifest's CID (binary).
    pub manifest_cid: Vec<u8>,
    /// Its capsule's CID (binary).
    pub capsule_cid: Vec<u8>,
}

/// A new version of one record (`updateRecord`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVersion {
    /// The record.
    pub record_id: B256,
    /// The version's manifest CID (binary).
    pub manifest_cid: Vec<u8>,
    /// The version's capsule CID (binary).
    pub capsule_cid: Vec<u8>,
}

/// One record of a grant or a revocation, with its capsule's CID (binary): the capsule
/// that includes the grantee, or the one re-wrapped without them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordCapsule {
    /// The record.
    pub record_id: B256,
    /// The capsule's CID (binary).
    pub capsule_cid: Vec<u8>,
}

/// What became of each item of a batch, in the items' order: the receipt of the
/// transaction that carried it, or why it is not on the ledger.
pub type BatchOutcome = Vec<Result<Receipt, LedgerError>>;

/// Why one transaction of a batch did not land.
enum Failed {
    /// Its gas does not fit in a block: split it.
    TooBig,
    /// The contract reverted or the node refused it: split it, down to single items.
    Refused(LedgerError),
    /// The node failed: stop.
    Down(LedgerError),
}

impl LedgerClient {
    /// `registerRecords`: registers each record (version 1, owned by this account), in
    /// as few transactions as fit.
    pub async fn register_records(&self, items: &[NewRecord]) -> BatchOutcome {
        let cids = |f: fn(&NewRecord) -> &Vec<u8>, r: &[NewRecord]| -> Vec<Bytes> {
            r.iter().map(|i| Bytes::copy_from_slice(f(i))).collect()
        };
        self.batch(
            "registerRecords",
            Action::RegisterRecord,
            items.len(),
            |r: Range<usize>| {
                let r = &items[r];
                C::registerRecordsCall {
                    nonces: r.iter().map(|i| i.nonce).collect(),
                    manifestCids: cids(|i| &i.manifest_cid, r),
                    capsuleCids: cids(|i| &i.capsule_cid, r),
                }
                .abi_encode()
            },
            |i: usize| {
                let item = &items[i];
                C::registerRecordCall {
                    nonce: item.nonce,
                    manifestCid: Bytes::copy_from_slice(&item.manifest_cid),
                    capsuleCid: Bytes::copy_from_slice(&item.capsule_cid),
                }
                .abi_encode()
            },
        )
        .await
    }

    /// `updateRecords`: a new version of each of this account's records, in order, in as
    /// few transactions as fit.
    pub async fn update_records(&self, items: &[NewVersion]) -> BatchOutcome {
        let cids = |f: fn(&NewVersion) -> &Vec<u8>, r: &[NewVersion]| -> Vec<Bytes> {
            r.iter().map(|i| Bytes::copy_from_slice(f(i))).collect()
        };
        self.batch(
            "updateRecords",
            Action::UpdateRecord,
            items.len(),
            |r: Range<usize>| {
                let r = &items[r];
                C::updateRecordsCall {
                    recordIds: r.iter().map(|i| i.record_id).collect(),
                    manifestCids: cids(|i| &i.manifest_cid, r),
                    capsuleCids: cids(|i| &i.capsule_cid, r),
                }
                .abi_encode()
            },
            |i: usize| {
                let item = &items[i];
                C::updateRecordCall {
                    recordId: item.record_id,
                    manifestCid: Bytes::copy_from_slice(&item.manifest_cid),
                    capsuleCid: Bytes::copy_from_slice(&item.capsule_cid),
                }
                .abi_encode()
            },
        )
        .await
    }

    /// `grantAccessBatch`: grants each record to one grantee under one clause (zero for
    /// a person) until one expiry (0 for none), in as few transactions as fit.
    pub async fn grant_access_batch(
        &self,
        grantee: Address,
        clause_hash: B256,
        expiry: u64,
        items: &[RecordCapsule],
    ) -> BatchOutcome {
        self.batch(
            "grantAccessBatch",
            Action::GrantAccess,
            items.len(),
            |r: Range<usize>| {
                let r = &items[r];
                C::grantAccessBatchCall {
                    recordIds: r.iter().map(|i| i.record_id).collect(),
                    grantee,
                    clauseHash: clause_hash,
                    capsuleCids: r
                        .iter()
                        .map(|i| Bytes::copy_from_slice(&i.capsule_cid))
                        .collect(),
                    expiry,
                }
                .abi_encode()
            },
            |i: usize| {
                C::grantAccessCall {
                    recordId: items[i].record_id,
                    grantee,
                    clauseHash: clause_hash,
                    capsuleCid: Bytes::copy_from_slice(&items[i].capsule_cid),
                    expiry,
                }
                .abi_encode()
            },
        )
        .await
    }

    /// `revokeAccessBatch`: withdraws one grantee's grant under one clause from each
    /// record, naming its re-wrapped capsule, in as few transactions as fit.
    pub async fn revoke_access_batch(
        &self,
        grantee: Address,
        clause_hash: B256,
        items: &[RecordCapsule],
    ) -> BatchOutcome {
        self.batch(
            "revokeAccessBatch",
            Action::RevokeAccess,
            items.len(),
            |r: Range<usize>| {
                let r = &items[r];
                C::revokeAccessBatchCall {
                    recordIds: r.iter().map(|i| i.record_id).collect(),
                    grantee,
                    clauseHash: clause_hash,
                    newCapsuleCids: r
                        .iter()
                        .map(|i| Bytes::copy_from_slice(&i.capsule_cid))
                        .collect(),
                }
                .abi_encode()
            },
            |i: usize| {
                C::revokeAccessCall {
                    recordId: items[i].record_id,
                    grantee,
                    clauseHash: clause_hash,
                    newCapsuleCid: Bytes::copy_from_slice(&items[i].capsule_cid),
                }
                .abi_encode()
            },
        )
        .await
    }

    /// Sends `count` items: `batch(range)` is the input of one batch transaction of those
    /// items, `single(i)` the single function's input for item `i`.
    #[tracing::instrument(
        name = "ledger_batch",
        skip_all,
        fields(function, items = count, from = %self.from, contract = %self.contract)
    )]
    async fn batch(
        &self,
        function: &'static str,
        action: Action,
        count: usize,
        batch: impl Fn(Range<usize>) -> Vec<u8>,
        single: impl Fn(usize) -> Vec<u8>,
    ) -> BatchOutcome {
        tracing::Span::current().record("function", function);
        if count == 0 {
            // Nothing to send: no node call, and no "batch sent" line for it.
            return Vec::new();
        }
        let mut out: Vec<Option<Result<Receipt, LedgerError>>> = vec![None; count];
        let block_gas = if self.sends_batches() && count > 1 {
            match self.block_gas_limit().await {
                Ok(limit) => Some(limit),
                Err(e) => return vec![Err(e); count],
            }
        } else {
            None
        };
        let mut queue: VecDeque<Range<usize>> = VecDeque::new();
        queue.push_back(0..count);
        let mut transactions = 0u32;
        while let Some(range) = queue.pop_front() {
            let stop = match block_gas {
                Some(limit) if range.len() > 1 => {
                    match self
                        .send_batch_input(action, batch(range.clone()), limit)
                        .await
                    {
                        Ok(receipt) => {
                            transactions += 1;
                            for i in range {
                                out[i] = Some(Ok(receipt));
                            }
                            None
                        }
                        Err(failed @ (Failed::TooBig | Failed::Refused(_))) => {
                            if let Failed::Refused(e) = failed {
                                tracing::debug!(
                                    error = e.kind(),
                                    items = range.len(),
                                    "a batch was refused; its halves are tried"
                                );
                            }
                            // Halves, in order: the first is tried next.
                            let mid = range.start + range.len() / 2;
                            queue.push_front(mid..range.end);
                            queue.push_front(range.start..mid);
                            None
                        }
                        Err(Failed::Down(e)) => Some((range.start, e)),
                    }
                }
                _ => {
                    let mut stop = None;
                    for i in range {
                        let sent = self.send_input(action, single(i)).await;
                        transactions += u32::from(sent.is_ok());
                        let down = sent.as_ref().err().filter(|e| !refused_alone(e)).cloned();
                        out[i] = Some(sent);
                        if let Some(e) = down {
                            stop = Some((i + 1, e));
                            break;
                        }
                    }
                    stop
                }
            };
            if let Some((from, e)) = stop {
                tracing::warn!(
                    error = e.kind(),
                    not_sent = count - from,
                    "the ledger node failed during a batch; the rest is not sent"
                );
                for slot in out.iter_mut().skip(from).filter(|s| s.is_none()) {
                    *slot = Some(Err(e.clone()));
                }
                break;
            }
        }
        tracing::info!(transactions, "batch sent");
        out.into_iter()
            .map(|o| {
                o.unwrap_or_else(|| {
                    Err(LedgerError::Inconsistent {
                        url: self.url.to_string(),
                        detail: "a batch item was neither sent nor refused".into(),
                    })
                })
            })
            .collect()
    }

    /// One transaction of `input`, as every single function is sent.
    async fn send_input(&self, action: Action, input: Vec<u8>) -> Result<Receipt, LedgerError> {
        let _one_at_a_time = self.sending.lock().await;
        let tx = self.request(input);
        let receipt =
            crate::tx::send_zero_fee(&self.provider, self.url.as_str(), action, tx).await?;
        Receipt::from_rpc(&self.url, &receipt)
    }

    /// One batch transaction, if its gas fits in a block of `block_gas`.
    async fn send_batch_input(
        &self,
        action: Action,
        input: Vec<u8>,
        block_gas: u64,
    ) -> Result<Receipt, Failed> {
        let sort = |e: LedgerError| {
            if refused_alone(&e) {
                Failed::Refused(e)
            } else {
                Failed::Down(e)
            }
        };
        let _one_at_a_time = self.sending.lock().await;
        let url = self.url.as_str();
        let tx = self.request(input);
        let gas = estimate(&self.provider, url, action, &tx)
            .await
            .map_err(sort)?;
        if gas_limit_for(gas) > block_gas {
            tracing::debug!(gas, block_gas, "a batch does not fit in a block; split");
            return Err(Failed::TooBig);
        }
        let receipt = send_estimated(&self.provider, url, action, tx, gas)
            .await
            .map_err(sort)?;
        Receipt::from_rpc(&self.url, &receipt).map_err(Failed::Down)
    }

    fn request(&self, input: Vec<u8>) -> TransactionRequest {
        TransactionRequest::default()
            .with_from(self.from)
            .with_to(self.contract)
            .with_input(input)
    }

    async fn block_gas_limit(&self) -> Result<u64, LedgerError> {
        crate::LedgerNode::new(&self.url).block_gas_limit().await
    }
}

/// Whether a failure concerns what was sent (the contract reverted, the node refused
/// the transaction), so the other items may still go, rather than the node failing.
fn refused_alone(e: &LedgerError) -> bool {
    matches!(
        e,
        LedgerError::Reverted { .. } | LedgerError::Rejected { .. }
    )
}
