//! Batches of registrations, updates, grants and revocations against a real anvil: the
//! same events and refusals as the single functions, split to fit a block, and sent one
//! per item to a contract of schema 6.

mod support;

use std::collections::BTreeSet;

use alloy::network::TransactionBuilder;
use alloy::primitives::{Bytes, B256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolCall;
use medwallet_ledger::contract::MedwalletLedger as C;
use medwallet_ledger::{
    Address, EventCache, EventFilter, LedgerClient, LedgerError, LedgerEvent, LoggedEvent,
    NewRecord, NewVersion, PrivateKeySigner, RecordCapsule, Revert,
};
use support::{record_id_of, Chain};

fn cid(tag: u8) -> Vec<u8> {
    let mut c = vec![0x01, 0x55, 0x12, 0x20];
    c.extend([tag; 32]);
    c
}

fn nonce(i: u64) -> B256 {
    B256::left_padding_from(&i.to_be_bytes())
}

fn new_records(n: u64) -> Vec<NewRecord> {
    (0..n)
        .map(|i| NewRecord {
            nonce: nonce(i),
            manifest_cid: cid(1),
            capsule_cid: cid(2),
        })
        .collect()
}

fn capsules(ids: &[B256], tag: u8) -> Vec<RecordCapsule> {
    ids.iter()
        .map(|&record_id| RecordCapsule {
            record_id,
            capsule_cid: cid(tag),
        })
        .collect()
}

async fn events(chain: &Chain) -> Vec<LoggedEvent> {
    let head = chain.node.status().await.unwrap().block_height;
    chain
        .node
        .fetch_events(chain.contract, 0, head, &EventFilter::All)
        .await
        .unwrap()
        .events
}

fn reason(err: &LedgerError) -> Revert {
    match err {
        LedgerError::Reverted { reason, .. } => reason.clone(),
        other => panic!("expected a revert, got {other:?}"),
    }
}

/// The contract's refusal of `input` sent by `from`, read with `eth_call` (nothing is
/// sent): what the contract itself checks, without the client's splitting.
async fn refusal(chain: &Chain, from: Address, input: Vec<u8>) -> Revert {
    let tx = TransactionRequest::default()
        .with_from(from)
        .with_to(chain.contract)
        .with_input(input);
    match chain.raw().call(tx).await {
        Err(alloy::transports::RpcError::ErrorResp(payload)) => {
            Revert::decode(&payload.as_revert_data().expect("revert data"))
        }
        other => panic!("expected a revert, got {other:?}"),
    }
}

fn distinct_txs<'a>(receipts: impl IntoIterator<Item = &'a medwallet_ledger::Receipt>) -> usize {
    receipts
        .into_iter()
        .map(|r| r.tx_hash)
        .collect::<BTreeSet<_>>()
        .len()
}

#[tokio::test]
async fn each_batch_emits_one_event_per_record_in_one_transaction() {
    let chain = Chain::start().await;
    let owner = chain.account().await;
    let doctor = chain.account().await;
    assert!(owner.sends_batches());
    let (o, d) = (owner.address(), doctor.address());
    let ids: Vec<B256> = (0..5).map(|i| record_id_of(o, nonce(i))).collect();
    // Nothing to send: nothing sent, nothing answered.
    assert!(owner.register_records(&[]).await.is_empty());

    let registered: Vec<_> = owner
        .register_records(&new_records(5))
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(distinct_txs(&registered), 1);
    let updates: Vec<NewVersion> = ids
        .iter()
        .map(|&record_id| NewVersion {
            record_id,
            manifest_cid: cid(3),
            capsule_cid: cid(4),
        })
        .collect();
    let updated: Vec<_> = owner
        .update_records(&updates)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(distinct_txs(&updated), 1);
    let granted: Vec<_> = owner
        .grant_access_batch(d, B256::ZERO, 0, &capsules(&ids, 5))
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(distinct_txs(&granted), 1);
    for &id in &ids {
        doctor.log_access(id, 2).await.unwrap();
    }
    let revoked: Vec<_> = owner
        .revoke_access_batch(d, B256::ZERO, &capsules(&ids, 6))
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(distinct_txs(&revoked), 1);
    for &id in &ids {
        let err = doctor.log_access(id, 2).await.unwrap_err();
        assert!(matches!(reason(&err), Revert::NotGrantee { .. }), "{err}");
    }

    // One event per record, exactly as the single functions emit them, each in the
    // transaction whose receipt the client answered for it.
    let all = events(&chain).await;
    let in_tx = |tx: B256| {
        all.iter()
            .filter(|e| e.meta.tx_hash == tx)
            .map(|e| e.event.clone())
            .collect::<Vec<_>>()
    };
    let expected: Vec<LedgerEvent> = ids
        .iter()
        .map(|&record_id| LedgerEvent::RecordRegistered {
            record_id,
            owner: o,
            version: 1,
            manifest_cid: cid(1).into(),
            capsule_cid: cid(2).into(),
        })
        .collect();
    assert_eq!(in_tx(registered[0].tx_hash), expected);
    let expected: Vec<LedgerEvent> = ids
        .iter()
        .map(|&record_id| LedgerEvent::RecordUpdated {
            record_id,
            owner: o,
            version: 2,
            manifest_cid: cid(3).into(),
            capsule_cid: cid(4).into(),
        })
        .collect();
    assert_eq!(in_tx(updated[0].tx_hash), expected);
    let expected: Vec<LedgerEvent> = ids
        .iter()
        .map(|&record_id| LedgerEvent::AccessGranted {
            record_id,
            owner: o,
            grantee: d,
            clause_hash: B256::ZERO,
            capsule_cid: cid(5).into(),
            expiry: 0,
        })
        .collect();
    assert_eq!(in_tx(granted[0].tx_hash), expected);
    let expected: Vec<LedgerEvent> = ids
        .iter()
        .map(|&record_id| LedgerEvent::AccessRevoked {
            record_id,
            owner: o,
            grantee: d,
            clause_hash: B256::ZERO,
            new_capsule_cid: cid(6).into(),
        })
        .collect();
    assert_eq!(in_tx(revoked[0].tx_hash), expected);

    // The event cache takes them as any other (their sender is their actor).
    let dir = tempfile::tempdir().unwrap();
    let cache = EventCache::open(&dir.path().join("events.sqlite"))
        .await
        .unwrap();
    let report = cache
        .sync(&chain.node, chain.contract, &EventFilter::Wallet(o))
        .await
        .unwrap();
    assert!(report.rejected.is_empty());
    let trail = cache.query(chain.contract, ids[3]).await.unwrap();
    assert_eq!(
        trail.len(),
        5,
        "registered, updated, granted, accessed, revoked"
    );
}

#[tokio::test]
async fn batches_refuse_what_the_single_functions_refuse() {
    let chain = Chain::start().await;
    let owner = chain.account().await;
    let stranger = chain.account().await;
    let (o, s) = (owner.address(), stranger.address());
    owner.register_records(&new_records(3)).await;
    let ids: Vec<B256> = (0..3).map(|i| record_id_of(o, nonce(i))).collect();
    let unknown = B256::repeat_byte(0x77);
    let b = |c: Vec<u8>| Bytes::from(c);

    // The contract itself: each refusal the single function makes, and unequal arrays.
    let grant = |records: Vec<B256>, cids: Vec<Bytes>| {
        C::grantAccessBatchCall {
            recordIds: records,
            grantee: s,
            clauseHash: B256::ZERO,
            capsuleCids: cids,
            expiry: 0,
        }
        .abi_encode()
    };
    assert_eq!(
        refusal(&chain, s, grant(ids.clone(), vec![b(cid(5)); 3])).await,
        Revert::NotOwner {
            record_id: ids[0],
            caller: s
        }
    );
    assert_eq!(
        refusal(&chain, o, grant(vec![ids[0], unknown], vec![b(cid(5)); 2])).await,
        Revert::UnknownRecord { record_id: unknown }
    );
    assert_eq!(
        refusal(
            &chain,
            o,
            grant(ids.clone(), vec![b(cid(5)), b(vec![]), b(cid(5))])
        )
        .await,
        Revert::BadCid
    );
    assert_eq!(
        refusal(&chain, o, grant(ids.clone(), vec![b(cid(5)); 2])).await,
        Revert::LengthMismatch
    );
    let revoke = |cids: Vec<Bytes>| {
        C::revokeAccessBatchCall {
            recordIds: ids.clone(),
            grantee: s,
            clauseHash: B256::ZERO,
            newCapsuleCids: cids,
        }
        .abi_encode()
    };
    assert_eq!(
        refusal(&chain, o, revoke(vec![b(cid(6)); 3])).await,
        Revert::NoSuchGrant {
            record_id: ids[0],
            grantee: s,
            clause_hash: B256::ZERO
        }
    );
    assert_eq!(
        refusal(&chain, o, revoke(vec![b(cid(6)); 4])).await,
        Revert::LengthMismatch
    );
    let register = |nonces: Vec<B256>, manifests: usize, bad: bool| {
        C::registerRecordsCall {
            nonces: nonces.clone(),
            manifestCids: vec![b(if bad { vec![0; 65] } else { cid(1) }); manifests],
            capsuleCids: vec![b(cid(2)); nonces.len()],
        }
        .abi_encode()
    };
    assert_eq!(
        refusal(&chain, o, register(vec![nonce(7), nonce(0)], 2, false)).await,
        Revert::RecordExists { record_id: ids[0] }
    );
    assert_eq!(
        refusal(&chain, o, register(vec![nonce(7)], 1, true)).await,
        Revert::BadCid
    );
    assert_eq!(
        refusal(&chain, o, register(vec![nonce(7), nonce(8)], 1, false)).await,
        Revert::LengthMismatch
    );
    let update = C::updateRecordsCall {
        recordIds: ids.clone(),
        manifestCids: vec![b(cid(3)); 3],
        capsuleCids: vec![b(cid(4)); 3],
    }
    .abi_encode();
    assert_eq!(
        refusal(&chain, s, update).await,
        Revert::NotOwner {
            record_id: ids[0],
            caller: s
        }
    );
    let update = C::updateRecordsCall {
        recordIds: ids.clone(),
        manifestCids: vec![b(cid(3)); 3],
        capsuleCids: vec![b(cid(4)); 1],
    }
    .abi_encode();
    assert_eq!(refusal(&chain, o, update).await, Revert::LengthMismatch);

    // Through the client: the refused item is named alone, with the single function's
    // error, and every other item lands.
    let mut items = capsules(&ids, 5);
    items.insert(1, capsules(&[unknown], 5).remove(0));
    let outcome = owner.grant_access_batch(s, B256::ZERO, 0, &items).await;
    assert_eq!(outcome.len(), 4);
    let err = outcome[1].as_ref().unwrap_err();
    assert_eq!(reason(err), Revert::UnknownRecord { record_id: unknown });
    assert!(
        err.to_string().starts_with("granting access was refused"),
        "{err}"
    );
    for (i, o) in outcome.iter().enumerate().filter(|(i, _)| *i != 1) {
        assert!(o.is_ok(), "item {i}: {o:?}");
    }
    let granted = events(&chain)
        .await
        .into_iter()
        .filter(|e| matches!(e.event, LedgerEvent::AccessGranted { .. }))
        .count();
    assert_eq!(granted, 3);

    // A stranger's batch: every item refused as the single function refuses it.
    for (i, o) in stranger
        .revoke_access_batch(s, B256::ZERO, &capsules(&ids, 6))
        .await
        .iter()
        .enumerate()
    {
        assert_eq!(
            reason(o.as_ref().unwrap_err()),
            Revert::NotOwner {
                record_id: ids[i],
                caller: s
            }
        );
    }
}

#[tokio::test]
async fn a_batch_too_big_for_one_block_is_split_and_every_item_lands() {
    let chain = Chain::start().await;
    let owner = chain.account().await;
    let doctor = chain.account().await;
    let o = owner.address();
    let registered = owner.register_records(&new_records(300)).await;
    assert!(registered.iter().all(Result::is_ok));
    let ids: Vec<B256> = (0..300).map(|i| record_id_of(o, nonce(i))).collect();

    // A block of 2,000,000 gas holds some 50 grants: 300 do not fit in one.
    let limit = 2_000_000u64;
    let _: bool = chain.rpc("evm_setBlockGasLimit", (limit,)).await;
    let outcome = owner
        .grant_access_batch(doctor.address(), B256::ZERO, 0, &capsules(&ids, 5))
        .await;
    let receipts: Vec<_> = outcome.into_iter().map(Result::unwrap).collect();
    let txs = distinct_txs(&receipts);
    assert!((2..=16).contains(&txs), "{txs} transactions");
    for tx in receipts.iter().map(|r| r.tx_hash).collect::<BTreeSet<_>>() {
        let receipt = chain
            .raw()
            .get_transaction_receipt(tx)
            .await
            .unwrap()
            .unwrap();
        assert!(receipt.status());
        assert!(receipt.gas_used <= limit);
    }
    let granted: BTreeSet<B256> = events(&chain)
        .await
        .into_iter()
        .filter_map(|e| match e.event {
            LedgerEvent::AccessGranted { record_id, .. } => Some(record_id),
            _ => None,
        })
        .collect();
    assert_eq!(granted, ids.iter().copied().collect());
    for &id in ids.iter().step_by(37) {
        doctor.log_access(id, 1).await.unwrap();
    }
}

#[tokio::test]
async fn a_schema_6_contract_is_used_one_transaction_per_record() {
    let chain = Chain::start().await;
    let code = include_str!("fixtures/MedwalletLedger.schema6.bytecode");
    let old = medwallet_ledger::testing::deploy_bytecode(
        &chain.url(),
        PrivateKeySigner::random(),
        code.trim().parse().unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(
        chain.node.contract_status(old).await.unwrap(),
        medwallet_ledger::ContractStatus::Deployed { schema_version: 6 }
    );
    let status = chain.node.status().await.unwrap();
    chain.node.check_chain(status.chain_id, old).await.unwrap();
    let owner: LedgerClient = chain
        .node
        .client(PrivateKeySigner::random(), old)
        .await
        .unwrap();
    let doctor = chain
        .node
        .client(PrivateKeySigner::random(), old)
        .await
        .unwrap();
    assert_eq!(owner.schema(), 6);
    assert!(!owner.sends_batches());
    let o = owner.address();
    let ids: Vec<B256> = (0..3).map(|i| record_id_of(o, nonce(i))).collect();

    let registered: Vec<_> = owner
        .register_records(&new_records(3))
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(distinct_txs(&registered), 3);
    let granted: Vec<_> = owner
        .grant_access_batch(doctor.address(), B256::ZERO, 0, &capsules(&ids, 5))
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(distinct_txs(&granted), 3);
    doctor.log_access(ids[2], 1).await.unwrap();
    let revoked = owner
        .revoke_access_batch(doctor.address(), B256::ZERO, &capsules(&ids, 6))
        .await;
    assert!(revoked.iter().all(Result::is_ok));

    // Its events read as ever.
    let head = chain.node.status().await.unwrap().block_height;
    let fetched = chain
        .node
        .fetch_events(old, 0, head, &EventFilter::Record(ids[2]))
        .await
        .unwrap();
    assert_eq!(fetched.events.len(), 4, "{:?}", fetched.events);
    assert!(fetched.rejected.is_empty());
}

#[tokio::test]
async fn a_generated_chain_has_the_events_asked_for_each_sent_by_its_actor() {
    use medwallet_ledger::testing::generate::{self, Shape};
    let chain = Chain::start().await;
    let shape = Shape {
        events: 6_000,
        wallets: 60,
    };
    let report = generate::fill(&chain.url(), chain.contract, shape, &|_| {})
        .await
        .unwrap();
    assert_eq!(report.events, shape.events);
    assert!(report.revocations > 0 && report.accesses > 0, "{report:?}");
    // Far fewer transactions than events: batches (accesses go one per transaction).
    assert!(
        (report.transactions - report.accesses) * 5 < report.events - report.accesses,
        "{report:?}"
    );

    // The event cache takes every one: each event's sender is the actor it names.
    let dir = tempfile::tempdir().unwrap();
    let cache = EventCache::open(&dir.path().join("events.sqlite"))
        .await
        .unwrap();
    let synced = cache
        .sync(&chain.node, chain.contract, &EventFilter::All)
        .await
        .unwrap();
    assert!(synced.rejected.is_empty(), "{:?}", synced.rejected.first());
    // The deployment's two events, then the generated ones.
    assert_eq!(synced.new_events, shape.events + 2);
    let all = events(&chain).await;
    let count = |f: fn(&LedgerEvent) -> bool| all.iter().filter(|e| f(&e.event)).count() as u64;
    assert_eq!(
        count(|e| matches!(e, LedgerEvent::RecordRegistered { .. })),
        report.registrations
    );
    assert_eq!(
        count(|e| matches!(e, LedgerEvent::RecordAccessed { .. })),
        report.accesses
    );
    assert_eq!(
        count(|e| matches!(e, LedgerEvent::AccessRevoked { .. })),
        report.revocations
    );
    // A generated wallet's key is known: a doctor acts as itself.
    let doctor = chain
        .node
        .client(generate::wallet_key(9), chain.contract)
        .await
        .unwrap();
    assert!(all.iter().any(|e| matches!(
        e.event,
        LedgerEvent::RecordAccessed { accessor, .. } if accessor == doctor.address()
    )));
}
