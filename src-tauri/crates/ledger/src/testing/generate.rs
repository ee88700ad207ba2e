//! A ledger filled like a real one, for benchmarks: `events` events from `wallets`
//! wallets, each event sent by the account it names (the event cache checks that every
//! event's sender is its actor), through the contract's batch functions so a million
//! events take minutes, not hours.
//!
//! Every tenth wallet is a doctor, the others patients. Each wallet publishes its
//! identity; each patient publishes its authority, registers records, issues a key to
//! each of its doctors (one to three) and grants them some records, later revokes some
//! of one doctor's (a new version, then the revocation, as the app does); the doctors
//! log accesses to what they were granted. The share of each kind is fixed
//! ([`Mix`]); the total is exactly `events`.
//!
//! Keys are derived from the wallet's index ([`wallet_key`]), so a benchmark can act as
//! any generated wallet. Transactions are signed here and sent with mining paused
//! (`evm_setAutomine false`), one block's worth at a time in a JSON-RPC batch, then mined
//! (`evm_mine`), in three rounds whose order the contract needs (grants before accesses,
//! accesses before revocations).

use std::time::Instant;

use alloy::network::eip2718::Encodable2718;
use alloy::network::{EthereumWallet, NetworkTransactionBuilder, TransactionBuilder};
use alloy::primitives::{keccak256, Address, Bytes, B256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use url::Url;

use crate::contract::MedwalletLedger as C;
use crate::LedgerError;

/// How big a chain to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shape {
    /// How many contract events the wallets emit (exactly; the deployment's two more).
    pub events: u64,
    /// How many wallets emit them.
    pub wallets: u32,
}

impl Shape {
    /// The issue's chain: a million events from 10,000 wallets.
    pub const MILLION: Shape = Shape {
        events: 1_000_000,
        wallets: 10_000,
    };
}

/// The share of each kind of event in what is left after identities and authorities.
#[derive(Debug, Clone, Copy)]
pub struct Mix {
    /// Records registered (`RecordRegistered`).
    pub registrations: f64,
    /// Records granted (`AccessGranted`).
    pub grants: f64,
    /// Records revoked: each is a new version and a revocation (two events).
    pub revocations: f64,
}

/// The mix the generator uses: about half registrations, a fifth grants, 4 % of records
/// revoked (8 % of events); accesses and the keys issued take the rest (about a fifth).
pub const MIX: Mix = Mix {
    registrations: 0.5,
    grants: 0.22,
    revocations: 0.04,
};

/// How many items one batch transaction carries: with at most 50,000 gas an item (a new
/// record's registration uses about 32,000), 200 fit well within a 30M block.
pub const BATCH_ITEMS: usize = 200;
const GAS_PER_ITEM: u64 = 50_000;
const GAS_BASE: u64 = 50_000;
/// `publishIdentity` and `logAccess` (an event and a few reads).
const LIGHT_GAS: u64 = 60_000;
/// `issueKey` (one new slot).
const KEY_GAS: u64 = 100_000;
/// A first `publishAuthority` (three new slots).
const AUTHORITY_GAS: u64 = 150_000;
/// A JSON-RPC batch of raw transactions.
const RPC_BATCH: usize = 250;

/// The key of generated wallet `i`: keccak256 of a fixed tag and the index (again with a
/// counter in the vanishing case that it is not a valid secp256k1 key).
pub fn wallet_key(i: u32) -> PrivateKeySigner {
    derived_key(b"medwallet bench wallet", i)
}

/// The key of the generated chain's deployer (its consortium's first admin).
pub fn admin_key() -> PrivateKeySigner {
    derived_key(b"medwallet bench admin", 0)
}

fn derived_key(tag: &[u8], i: u32) -> PrivateKeySigner {
    (0u32..)
        .find_map(|extra| {
            let mut input = tag.to_vec();
            input.extend(i.to_be_bytes());
            input.extend(extra.to_be_bytes());
            PrivateKeySigner::from_bytes(&keccak256(&input)).ok()
        })
        .unwrap_or_else(PrivateKeySigner::random)
}

/// Whether generated wallet `i` is a doctor (every tenth); the others are patients.
pub fn is_doctor(i: u32) -> bool {
    i % 10 == 9
}

/// The nonce of patient wallet `i`'s `n`-th record (its id is
/// [`record_id_of`](crate::record_id_of)`(address, nonce)`).
pub fn generated_nonce(i: u32, n: u32) -> B256 {
    let mut b = [0u8; 32];
    b[..4].copy_from_slice(b"gen-");
    b[24..28].copy_from_slice(&i.to_be_bytes());
    b[28..].copy_from_slice(&n.to_be_bytes());
    B256::from(b)
}

/// What one patient does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientPlan {
    /// The wallet's index.
    pub wallet: u32,
    /// Records registered.
    pub records: u32,
    /// Its doctors (wallet indexes), each granted records `0..grants[t]`.
    pub doctors: Vec<u32>,
    /// How many records each doctor is granted.
    pub grants: Vec<u32>,
    /// Accesses each doctor logs (to records it was granted, round robin).
    pub accesses: Vec<u32>,
    /// Records `0..revoked` revoked from the first doctor (a new version each first).
    pub revoked: u32,
}

impl PatientPlan {
    /// The events this patient's plan makes (its doctors' accesses included; its
    /// identity and authority not).
    pub fn events(&self) -> u64 {
        let sum = |v: &[u32]| v.iter().map(|&n| u64::from(n)).sum::<u64>();
        u64::from(self.records)
            + self.doctors.len() as u64
            + sum(&self.grants)
            + sum(&self.accesses)
            + 2 * u64::from(self.revoked)
    }
}

/// Every patient's plan for `shape`: the events left after identities and authorities,
/// spread evenly over the patients and divided by [`MIX`]; accesses take what is left of
/// each patient's share, so the total is exactly `shape.events`.
pub fn plan(shape: Shape) -> Result<Vec<PatientPlan>, String> {
    let wallets = shape.wallets;
    let doctors: Vec<u32> = (0..wallets).filter(|&i| is_doctor(i)).collect();
    let patients: Vec<u32> = (0..wallets).filter(|&i| !is_doctor(i)).collect();
    if doctors.is_empty() || patients.is_empty() {
        return Err("at least 10 wallets are needed (every tenth is a doctor)".into());
    }
    let fixed = u64::from(wallets) + patients.len() as u64;
    let rest = shape
        .events
        .checked_sub(fixed)
        .filter(|r| *r >= 4 * patients.len() as u64)
        .ok_or_else(|| {
            format!(
                "{} events are too few for {wallets} wallets: each publishes its identity and each patient its authority ({fixed}), and each patient needs 4 more",
                shape.events
            )
        })?;
    let p = patients.len() as u64;
    let mut out = Vec::with_capacity(patients.len());
    for (j, &wallet) in patients.iter().enumerate() {
        let budget = rest / p + u64::from((j as u64) < rest % p);
        // Rounded up or down by a fixed low-discrepancy offset per patient, so that small
        // shares (a few revocations among ten events) still add up over the patients.
        let offset = (j as f64 * 0.618_033_988_749_895).fract();
        let share = |f: f64| (budget as f64 * f + offset).floor() as u32;
        let k = (1 + j % 3).min(doctors.len());
        let mut plan = PatientPlan {
            wallet,
            records: share(MIX.registrations).max(1),
            doctors: (0..k)
                .map(|t| doctors[(j * 7 + t * 131) % doctors.len()])
                .collect(),
            grants: Vec::new(),
            accesses: vec![0; k],
            revoked: 0,
        };
        // Distinct doctors only (a small chain may pick one twice).
        plan.doctors.sort_unstable();
        plan.doctors.dedup();
        let k = plan.doctors.len();
        plan.accesses = vec![0; k];
        let granted = share(MIX.grants).clamp(k as u32, plan.records * k as u32);
        plan.grants = (0..k as u32)
            .map(|t| (granted / k as u32 + u32::from(t < granted % k as u32)).min(plan.records))
            .collect();
        plan.revoked = share(MIX.revocations).min(plan.grants[0]);
        // What is left of the budget is accesses; too little and registrations give way.
        while plan.events() > budget && plan.records > 1 {
            plan.records -= 1;
            for g in &mut plan.grants {
                *g = (*g).min(plan.records);
            }
            plan.revoked = plan.revoked.min(plan.grants[0]);
        }
        let left = budget.saturating_sub(plan.events());
        for t in 0..k {
            plan.accesses[t] = (left / k as u64 + u64::from((t as u64) < left % k as u64)) as u32;
        }
        if plan.events() != budget {
            return Err(format!(
                "{} events are too few for {wallets} wallets",
                shape.events
            ));
        }
        out.push(plan);
    }
    Ok(out)
}

/// What the generator made.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Report {
    /// Events emitted by the wallets (the deployment's two not counted).
    pub events: u64,
    /// Records registered.
    pub registrations: u64,
    /// Grants.
    pub grants: u64,
    /// Accesses logged.
    pub accesses: u64,
    /// Records revoked (each also a new version).
    pub revocations: u64,
    /// Keys issued.
    pub keys: u64,
    /// Transactions sent.
    pub transactions: u64,
    /// The chain's height at the end.
    pub blocks: u64,
    /// Seconds the filling took.
    pub seconds: f64,
}

/// One transaction to sign and send, with the gas limit it is sent with: more than it
/// uses (a new record's registration, the costliest batch item, uses about 32,000 gas;
/// a first `publishAuthority`, three new storage slots, about 90,000).
struct Tx {
    from: usize,
    input: Vec<u8>,
    gas: u64,
}

/// The gas limit of a batch transaction of `items` items.
fn batch_gas(items: usize) -> u64 {
    GAS_BASE + GAS_PER_ITEM * items as u64
}

/// Fills the contract at `contract` on the anvil node at `url` (fresh: the generated
/// accounts have sent nothing) as [`plan`]`(shape)` says. `progress` hears a line per
/// step.
pub async fn fill(
    url: &Url,
    contract: Address,
    shape: Shape,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Report, LedgerError> {
    let started = Instant::now();
    let plans = plan(shape).map_err(|detail| LedgerError::Inconsistent {
        url: url.to_string(),
        detail,
    })?;
    medwallet_net::install_crypto_provider();
    let rpc = |e| LedgerError::from_rpc(url.as_str(), e);
    let raw = ProviderBuilder::new()
        .disable_recommended_fillers()
        .connect_http(url.clone())
        .erased();
    let chain_id = raw.get_chain_id().await.map_err(rpc)?;
    let keys: Vec<PrivateKeySigner> = (0..shape.wallets).map(wallet_key).collect();
    let addresses: Vec<Address> = keys.iter().map(|k| k.address()).collect();
    let mut nonces = vec![0u64; keys.len()];
    let mut report = Report::default();
    let cid = |tag: u32, n: u32| -> Bytes {
        // A CIDv1 (raw, sha2-256) shape, distinct per record and kind.
        let mut c = vec![0x01, 0x55, 0x12, 0x20];
        c.extend(keccak256([tag.to_be_bytes(), n.to_be_bytes()].concat()).as_slice());
        c.into()
    };
    let record_ids = |plan: &PatientPlan, range: std::ops::Range<u32>| -> Vec<B256> {
        range
            .map(|n| {
                crate::record_id_of(
                    addresses[plan.wallet as usize],
                    generated_nonce(plan.wallet, n),
                )
            })
            .collect()
    };

    // Round 1: identities, authorities, registrations, keys, grants.
    let mut round = Vec::new();
    for i in 0..shape.wallets {
        round.push(Tx {
            from: i as usize,
            input: C::publishIdentityCall {
                hpkeKey: keccak256([b"hpke".as_slice(), &i.to_be_bytes()].concat()),
                ed25519Key: keccak256([b"ed".as_slice(), &i.to_be_bytes()].concat()),
                role: u8::from(is_doctor(i)),
            }
            .abi_encode(),
            gas: LIGHT_GAS,
        });
    }
    for plan in &plans {
        let w = plan.wallet;
        let from = w as usize;
        round.push(Tx {
            from,
            input: C::publishAuthorityCall {
                paramsCid: cid(w, u32::MAX),
            }
            .abi_encode(),
            gas: AUTHORITY_GAS,
        });
        for chunk in chunks(0..plan.records) {
            round.push(Tx {
                from,
                input: C::registerRecordsCall {
                    nonces: chunk.clone().map(|n| generated_nonce(w, n)).collect(),
                    manifestCids: chunk.clone().map(|n| cid(w, 2 * n)).collect(),
                    capsuleCids: chunk.clone().map(|n| cid(w, 2 * n + 1)).collect(),
                }
                .abi_encode(),
                gas: batch_gas(chunk.len()),
            });
        }
        for (&doctor, &granted) in plan.doctors.iter().zip(&plan.grants) {
            round.push(Tx {
                from,
                input: C::issueKeyCall {
                    holder: addresses[doctor as usize],
                    keyCid: cid(doctor, w),
                }
                .abi_encode(),
                gas: KEY_GAS,
            });
            for chunk in chunks(0..granted) {
                round.push(Tx {
                    from,
                    input: C::grantAccessBatchCall {
                        recordIds: record_ids(plan, chunk.clone()),
                        grantee: addresses[doctor as usize],
                        clauseHash: B256::ZERO,
                        capsuleCids: chunk.clone().map(|n| cid(doctor, n)).collect(),
                        expiry: 0,
                    }
                    .abi_encode(),
                    gas: batch_gas(chunk.len()),
                });
            }
        }
        report.registrations += u64::from(plan.records);
        report.keys += plan.doctors.len() as u64;
        report.grants += plan.grants.iter().map(|&g| u64::from(g)).sum::<u64>();
    }
    let sent = run_round(&raw, url, contract, chain_id, &keys, &mut nonces, round).await?;
    report.transactions += sent;
    progress(&format!(
        "identities, registrations and grants: {sent} transactions, {:.1?}",
        started.elapsed()
    ));

    // Round 2: the doctors' accesses, one transaction each (there is no batch of them).
    let mut round = Vec::new();
    for plan in &plans {
        for ((&doctor, &granted), &accesses) in
            plan.doctors.iter().zip(&plan.grants).zip(&plan.accesses)
        {
            for a in 0..accesses {
                let n = a % granted.max(1);
                round.push(Tx {
                    from: doctor as usize,
                    input: C::logAccessCall {
                        recordId: record_ids(plan, n..n + 1)[0],
                        version: 1,
                    }
                    .abi_encode(),
                    gas: LIGHT_GAS,
                });
            }
            report.accesses += u64::from(accesses);
        }
    }
    let sent = run_round(&raw, url, contract, chain_id, &keys, &mut nonces, round).await?;
    report.transactions += sent;
    progress(&format!(
        "accesses: {sent} transactions, {:.1?}",
        started.elapsed()
    ));

    // Round 3: revocations, each after its record's new version.
    let mut round = Vec::new();
    for plan in plans.iter().filter(|p| p.revoked > 0) {
        let w = plan.wallet;
        for chunk in chunks(0..plan.revoked) {
            round.push(Tx {
                from: w as usize,
                input: C::updateRecordsCall {
                    recordIds: record_ids(plan, chunk.clone()),
                    manifestCids: chunk.clone().map(|n| cid(w ^ 0x8000_0000, 2 * n)).collect(),
                    capsuleCids: chunk
                        .clone()
                        .map(|n| cid(w ^ 0x8000_0000, 2 * n + 1))
                        .collect(),
                }
                .abi_encode(),
                gas: batch_gas(chunk.len()),
            });
            round.push(Tx {
                from: w as usize,
                input: C::revokeAccessBatchCall {
                    recordIds: record_ids(plan, chunk.clone()),
                    grantee: addresses[plan.doctors[0] as usize],
                    clauseHash: B256::ZERO,
                    newCapsuleCids: chunk
                        .clone()
                        .map(|n| cid(w ^ 0x8000_0000, 2 * n + 1))
                        .collect(),
                }
                .abi_encode(),
                gas: batch_gas(chunk.len()),
            });
        }
        report.revocations += u64::from(plan.revoked);
    }
    let sent = run_round(&raw, url, contract, chain_id, &keys, &mut nonces, round).await?;
    report.transactions += sent;
    report.events = u64::from(shape.wallets)
        + plans.len() as u64
        + report.registrations
        + report.keys
        + report.grants
        + report.accesses
        + 2 * report.revocations;
    report.blocks = raw.get_block_number().await.map_err(rpc)?;
    report.seconds = started.elapsed().as_secs_f64();
    progress(&format!(
        "revocations: {sent} transactions; {} events in {} transactions, {} blocks, {:.1} s",
        report.events, report.transactions, report.blocks, report.seconds
    ));
    Ok(report)
}

fn chunks(range: std::ops::Range<u32>) -> Vec<std::ops::Range<u32>> {
    let step = BATCH_ITEMS as u32;
    (range.start..range.end)
        .step_by(BATCH_ITEMS)
        .map(|s| s..(s + step).min(range.end))
        .collect()
}

/// Sends `round` block by block with mining paused: as many transactions as their gas
/// limits fit in one block, in one JSON-RPC batch, then `evm_mine`, and the block must
/// hold them all. (Sent all at once, a sender whose transaction does not fit in a block
/// would see its next ones dropped by the pool for a nonce gap.) Answers how many were
/// sent; a sample of receipts must show none reverted.
async fn run_round(
    raw: &alloy::providers::DynProvider,
    url: &Url,
    contract: Address,
    chain_id: u64,
    keys: &[PrivateKeySigner],
    nonces: &mut [u64],
    round: Vec<Tx>,
) -> Result<u64, LedgerError> {
    let rpc = |e| LedgerError::from_rpc(url.as_str(), e);
    let inconsistent = |detail: String| LedgerError::Inconsistent {
        url: url.to_string(),
        detail,
    };
    let _: serde_json::Value = raw
        .raw_request("evm_setAutomine".into(), (false,))
        .await
        .map_err(rpc)?;
    let block_gas = crate::LedgerNode::new(url).block_gas_limit().await?;
    let client = alloy::rpc::client::RpcClient::new_http(url.clone());
    let wallets: Vec<EthereumWallet> = keys.iter().cloned().map(EthereumWallet::from).collect();
    let count = round.len() as u64;
    let mut sample = Vec::new();
    let mut next = 0;
    while next < round.len() {
        // One block's worth.
        let mut gas = 0u64;
        let mut end = next;
        while end < round.len() && gas + round[end].gas <= block_gas {
            gas += round[end].gas;
            end += 1;
        }
        if end == next {
            return Err(inconsistent(
                "a generated transaction does not fit in a block".into(),
            ));
        }
        let mut signed = Vec::with_capacity(end - next);
        for tx in &round[next..end] {
            let nonce = nonces[tx.from];
            nonces[tx.from] += 1;
            let request = TransactionRequest::default()
                .with_from(keys[tx.from].address())
                .with_to(contract)
                .with_input(tx.input.clone())
                .with_nonce(nonce)
                .with_chain_id(chain_id)
                .with_gas_limit(tx.gas)
                .with_max_fee_per_gas(0)
                .with_max_priority_fee_per_gas(0);
            let envelope = request
                .build(&wallets[tx.from])
                .await
                .map_err(|e| LedgerError::Signer(e.to_string()))?;
            signed.push(Bytes::from(envelope.encoded_2718()));
        }
        let mut hashes = Vec::with_capacity(signed.len());
        for part in signed.chunks(RPC_BATCH) {
            let mut batch = client.new_batch();
            let mut waiters = Vec::with_capacity(part.len());
            for raw_tx in part {
                waiters.push(
                    batch
                        .add_call::<_, B256>("eth_sendRawTransaction", &(raw_tx,))
                        .map_err(rpc)?,
                );
            }
            batch.send().await.map_err(rpc)?;
            for waiter in waiters {
                hashes.push(waiter.await.map_err(rpc)?);
            }
        }
        let _: String = raw.raw_request("evm_mine".into(), ()).await.map_err(rpc)?;
        let block = raw
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await
            .map_err(rpc)?
            .ok_or_else(|| inconsistent("no latest block".into()))?;
        if block.transactions.len() != hashes.len() {
            return Err(inconsistent(format!(
                "block {} holds {} of the {} transactions sent for it",
                block.header.number,
                block.transactions.len(),
                hashes.len()
            )));
        }
        sample.push(hashes[0]);
        next = end;
    }
    let _: serde_json::Value = raw
        .raw_request("evm_setAutomine".into(), (true,))
        .await
        .map_err(rpc)?;
    // None reverted: the first transaction of every block, each checked (all receipts
    // would take about as long as the sending).
    for hash in sample {
        let receipt = raw
            .get_transaction_receipt(hash)
            .await
            .map_err(rpc)?
            .ok_or_else(|| inconsistent(format!("transaction {hash} was not mined")))?;
        if !receipt.status() {
            return Err(inconsistent(format!("transaction {hash} reverted")));
        }
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_makes_exactly_the_events_asked_for() {
        for shape in [
            Shape::MILLION,
            Shape {
                events: 100_000,
                wallets: 10_000,
            },
            Shape {
                events: 5_000,
                wallets: 50,
            },
        ] {
            let plans = plan(shape).unwrap();
            let fixed = u64::from(shape.wallets) + plans.len() as u64;
            assert_eq!(
                plans.iter().map(PatientPlan::events).sum::<u64>() + fixed,
                shape.events,
                "{shape:?}"
            );
            for p in &plans {
                assert!(p.grants.iter().all(|&g| g <= p.records), "{p:?}");
                assert!(p.revoked <= p.grants[0], "{p:?}");
                assert!(p.doctors.iter().all(|&d| is_doctor(d)));
            }
        }
        assert!(plan(Shape {
            events: 100,
            wallets: 10_000
        })
        .is_err());
    }

    #[test]
    fn keys_are_the_same_every_time_and_differ_per_wallet() {
        assert_eq!(wallet_key(7).address(), wallet_key(7).address());
        assert_ne!(wallet_key(7).address(), wallet_key(8).address());
        assert_ne!(admin_key().address(), wallet_key(0).address());
    }
}
