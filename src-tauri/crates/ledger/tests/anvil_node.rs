//! The ledger client against a real anvil node and the real contract.

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Instant;

use alloy::network::TransactionBuilder;
use alloy::primitives::{keccak256, B256, U256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolEvent;
use medwallet_ledger::{EventCache, EventFilter, EventKind, LedgerEvent, Receipt, Revert};
use support::{record_id, record_id_of, Chain};

use medwallet_devnodes::{Anvil, AnvilOptions, Fault, FaultProxy, NodeTools, Rule, LOCAL_CHAIN_ID};
use medwallet_ledger::contract::EXPECTED_SCHEMA_VERSION;
use medwallet_ledger::{Address, ContractStatus, LedgerError, LedgerNode, PrivateKeySigner};
use url::Url;

fn client(anvil: &Anvil) -> LedgerNode {
    LedgerNode::new(&Url::parse(&anvil.url()).unwrap())
}

#[tokio::test]
async fn deploys_with_zero_fees_from_an_unfunded_account() {
    let dir = tempfile::tempdir().unwrap();
    let anvil = Anvil::start(
        &NodeTools::locate().unwrap(),
        &AnvilOptions::ephemeral(dir.path()),
    )
    .unwrap();
    let ledger = client(&anvil);

    let before = ledger.status().await.unwrap();
    assert_eq!(before.chain_id, LOCAL_CHAIN_ID);

    // A fresh random key has no funds: only a zero-fee transaction can succeed.
    let address = ledger.deploy(PrivateKeySigner::random()).await.unwrap();
    assert_eq!(
        ledger.contract_status(address).await.unwrap(),
        ContractStatus::Deployed {
            schema_version: EXPECTED_SCHEMA_VERSION
        }
    );
    assert!(ledger.status().await.unwrap().block_height > before.block_height);
    assert_eq!(
        ledger
            .contract_status(Address::repeat_byte(0x42))
            .await
            .unwrap(),
        ContractStatus::Missing
    );
}

#[tokio::test]
async fn a_broken_connection_while_checking_the_contract_is_not_a_foreign_contract() {
    let dir = tempfile::tempdir().unwrap();
    let anvil = Anvil::start(
        &NodeTools::locate().unwrap(),
        &AnvilOptions::ephemeral(dir.path()),
    )
    .unwrap();
    let address = client(&anvil)
        .deploy(PrivateKeySigner::random())
        .await
        .unwrap();
    let proxy = FaultProxy::start(std::net::Ipv4Addr::LOCALHOST, &anvil.url()).unwrap();
    let ledger = LedgerNode::new(&Url::parse(proxy.url()).unwrap());
    // `SCHEMA_VERSION()` is the check's `eth_call`: broken, it says nothing of the code.
    for fault in [
        Fault::Reset,
        Fault::Status(500),
        Fault::Status(429),
        Fault::Truncate,
        Fault::ForwardThenClose,
    ] {
        proxy.set_rules(vec![Rule {
            label: "eth_call".into(),
            nth: 1,
            fault,
            outage: false,
        }]);
        let checked = ledger.contract_status(address).await;
        assert!(
            matches!(checked, Err(LedgerError::Unreachable { .. })),
            "{fault:?} gave {checked:?}"
        );
    }
    proxy.pass();
    assert!(matches!(
        ledger.contract_status(address).await.unwrap(),
        ContractStatus::Deployed { .. }
    ));
}

#[tokio::test]
async fn a_persistent_node_keeps_the_contract_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let tools = NodeTools::locate().unwrap();
    let opts = AnvilOptions {
        persist: true,
        ..AnvilOptions::ephemeral(dir.path())
    };
    let anvil = Anvil::start(&tools, &opts).unwrap();
    let address = client(&anvil)
        .deploy(PrivateKeySigner::random())
        .await
        .unwrap();
    let port = anvil.port();
    anvil.stop();

    let anvil = Anvil::start(
        &tools,
        &AnvilOptions {
            port: Some(port),
            ..opts
        },
    )
    .unwrap();
    assert!(matches!(
        client(&anvil).contract_status(address).await.unwrap(),
        ContractStatus::Deployed { .. }
    ));
}

#[tokio::test]
async fn a_stopped_node_is_unreachable() {
    let dir = tempfile::tempdir().unwrap();
    let anvil = Anvil::start(
        &NodeTools::locate().unwrap(),
        &AnvilOptions::ephemeral(dir.path()),
    )
    .unwrap();
    let ledger = client(&anvil);
    ledger.status().await.unwrap();
    anvil.stop();
    let err = ledger.status().await.unwrap_err();
    assert!(matches!(err, LedgerError::Unreachable { .. }), "{err:?}");
}

/// A server that answers every request with `status`, `content_type` and `body`.
fn serve(status: &'static str, content_type: &'static str, body: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            // A stub server: a client that hung up early is not what these tests check.
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(response.as_bytes());
        }
    });
    url
}

#[tokio::test]
async fn answers_that_are_not_json_rpc_are_typed_errors() {
    let cases = [
        ("404 Not Found", "text/plain", "not found"),
        ("200 OK", "text/html", "<html></html>"),
        ("200 OK", "application/json", "{\"a\":1}"),
        ("200 OK", "application/json", "[1,2,3]"),
        (
            "200 OK",
            "application/json",
            "{\"jsonrpc\":\"2.0\",\"id\":0,\"error\":{\"code\":-32601,\"message\":\"Method not found\"}}",
        ),
    ];
    for (status, content_type, body) in cases {
        let ledger = LedgerNode::new(&Url::parse(&serve(status, content_type, body)).unwrap());
        let err = ledger.status().await.unwrap_err();
        assert!(
            matches!(err, LedgerError::NotEvm { .. }),
            "{status} {body:?} gave {err:?}"
        );
    }
}

#[tokio::test]
async fn a_busy_or_failing_node_is_one_that_does_not_answer() {
    // A gateway in front of the node that is overloaded or cannot reach it: tried
    // again as a node that does not answer, not named another kind of server.
    let cases = [
        ("429 Too Many Requests", "text/plain", "slow down"),
        ("502 Bad Gateway", "text/html", "<html>Bad Gateway</html>"),
        ("503 Service Unavailable", "text/plain", ""),
    ];
    for (status, content_type, body) in cases {
        let ledger = LedgerNode::new(&Url::parse(&serve(status, content_type, body)).unwrap());
        let err = ledger.status().await.unwrap_err();
        assert!(
            matches!(err, LedgerError::Unreachable { .. }),
            "{status} gave {err:?}"
        );
    }
}

fn cid(tag: u8) -> Vec<u8> {
    // A CIDv1 raw sha2-256 shape: version, codec, multihash code, length, digest.
    let mut c = vec![0x01, 0x55, 0x12, 0x20];
    c.extend([tag; 32]);
    c
}

async fn now(chain: &Chain) -> u64 {
    let block = chain
        .raw()
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
        .await
        .unwrap()
        .unwrap();
    block.header.timestamp
}

#[tokio::test]
async fn every_event_type_round_trips_through_the_cache() {
    let chain = Chain::start().await;
    let doctor = chain.account().await;
    let clinic = chain.account().await;
    let nurse = chain.account().await;
    let admin = chain.admin().await;
    let (owner, owner_secret) = chain.account_with_key().await;
    let nonce = B256::repeat_byte(0x11);
    let clause = keccak256("role:doctor AND dept:emergency");
    let hpke = B256::repeat_byte(0x21);
    let ed = B256::repeat_byte(0x22);
    let far = now(&chain).await + 86_400;

    let mut sent: Vec<(Receipt, LedgerEvent)> = Vec::new();
    let (o, d, c, n) = (
        owner.address(),
        doctor.address(),
        clinic.address(),
        nurse.address(),
    );
    let r = record_id_of(o, nonce);
    macro_rules! step {
        ($call:expr, $event:expr) => {
            sent.push(($call.await.unwrap(), $event))
        };
    }
    step!(
        owner.publish_identity(hpke, ed, 0),
        LedgerEvent::IdentityPublished {
            account: o,
            hpke_key: hpke,
            ed25519_key: ed,
            role: 0
        }
    );
    step!(
        clinic.publish_authority(&cid(1)),
        LedgerEvent::AuthorityPublished {
            authority: c,
            params_cid: cid(1).into(),
            epoch: 1
        }
    );
    step!(
        owner.register_record(nonce, &cid(2), &cid(3)),
        LedgerEvent::RecordRegistered {
            record_id: r,
            owner: o,
            version: 1,
            manifest_cid: cid(2).into(),
            capsule_cid: cid(3).into()
        }
    );
    step!(
        owner.update_record(r, &cid(4), &cid(5)),
        LedgerEvent::RecordUpdated {
            record_id: r,
            owner: o,
            version: 2,
            manifest_cid: cid(4).into(),
            capsule_cid: cid(5).into()
        }
    );
    step!(
        owner.grant_access(r, d, B256::ZERO, &cid(6), 0),
        LedgerEvent::AccessGranted {
            record_id: r,
            owner: o,
            grantee: d,
            clause_hash: B256::ZERO,
            capsule_cid: cid(6).into(),
            expiry: 0
        }
    );
    step!(
        owner.grant_access(r, c, clause, &cid(7), far),
        LedgerEvent::AccessGranted {
            record_id: r,
            owner: o,
            grantee: c,
            clause_hash: clause,
            capsule_cid: cid(7).into(),
            expiry: far
        }
    );
    step!(
        clinic.issue_key(n, &cid(8)),
        LedgerEvent::KeyIssued {
            authority: c,
            holder: n,
            key_cid: cid(8).into(),
            epoch: 1
        }
    );
    step!(
        doctor.log_access(r, 2),
        LedgerEvent::RecordAccessed {
            record_id: r,
            owner: o,
            accessor: d,
            version: 2,
            authority: Address::ZERO,
            clause_hash: B256::ZERO
        }
    );
    step!(
        nurse.log_clause_access(r, 2, c, clause),
        LedgerEvent::RecordAccessed {
            record_id: r,
            owner: o,
            accessor: n,
            version: 2,
            authority: c,
            clause_hash: clause
        }
    );
    let emergency = keccak256("role:emergency");
    step!(
        owner.grant_access(r, c, emergency, &cid(12), far),
        LedgerEvent::AccessGranted {
            record_id: r,
            owner: o,
            grantee: c,
            clause_hash: emergency,
            capsule_cid: cid(12).into(),
            expiry: far
        }
    );
    step!(
        owner.set_emergency_access(r, c, true),
        LedgerEvent::EmergencyAccessSet {
            record_id: r,
            owner: o,
            clinic: c,
            allowed: true
        }
    );
    step!(
        nurse.log_emergency_access(r, 1, c, emergency),
        LedgerEvent::EmergencyAccess {
            record_id: r,
            owner: o,
            accessor: n,
            version: 1,
            clinic: c
        }
    );
    step!(
        clinic.log_emergency_access(r, 2, c, emergency),
        LedgerEvent::EmergencyAccess {
            record_id: r,
            owner: o,
            accessor: c,
            version: 2,
            clinic: c
        }
    );
    step!(
        owner.revoke_access(r, d, B256::ZERO, &cid(9)),
        LedgerEvent::AccessRevoked {
            record_id: r,
            owner: o,
            grantee: d,
            clause_hash: B256::ZERO,
            new_capsule_cid: cid(9).into()
        }
    );
    step!(
        clinic.revoke_key(n),
        LedgerEvent::KeyRevoked {
            authority: c,
            holder: n,
            epoch: 1
        }
    );
    let a = admin.address();
    step!(
        admin.attest_provider(c, "St Mary's Hospital", 2),
        LedgerEvent::ProviderAttested {
            provider: c,
            admin: a,
            name: "St Mary's Hospital".to_owned(),
            role: 2
        }
    );
    step!(
        admin.set_admin(d, true),
        LedgerEvent::AdminSet {
            account: d,
            by: a,
            allowed: true
        }
    );
    step!(
        doctor.withdraw_provider(c),
        LedgerEvent::ProviderWithdrawn {
            provider: c,
            admin: d
        }
    );
    let code_nonce = B256::repeat_byte(0x12);
    let code_expiry = now(&chain).await + 600;
    let code = medwallet_ledger::CheckInSigner::from_bytes(&owner_secret)
        .unwrap()
        .sign(LOCAL_CHAIN_ID, chain.contract, code_nonce, code_expiry)
        .unwrap();
    let check_in = medwallet_ledger::check_in_id_of(o, code_nonce);
    step!(
        clinic.redeem_check_in(o, code_nonce, code_expiry, &code),
        LedgerEvent::CheckInRedeemed {
            check_in_id: check_in,
            patient: o,
            clinic: c
        }
    );
    step!(
        owner.answer_check_in(check_in, c, true, far),
        LedgerEvent::CheckInAnswered {
            check_in_id: check_in,
            patient: o,
            clinic: c,
            allowed: true,
            until: far
        }
    );
    step!(
        clinic.register_record_for(nonce, check_in, &cid(1), &cid(2)),
        LedgerEvent::RecordUploaded {
            record_id: record_id_of(c, nonce),
            owner: o,
            author: c,
            manifest_cid: cid(1).into(),
            capsule_cid: cid(2).into()
        }
    );

    let dir = tempfile::tempdir().unwrap();
    let cache = EventCache::open(&dir.path().join("events.sqlite"))
        .await
        .unwrap();
    let report = cache
        .sync(&chain.node, chain.contract, &EventFilter::All)
        .await
        .unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    assert_eq!(
        report.new_events as usize,
        sent.len() + 2,
        "plus LedgerCreated and the deployer's AdminSet"
    );
    assert!(report.reorg.is_none());

    // Every kind is there.
    let all = cache.query_wallet(chain.contract, o, &[]).await.unwrap();
    let kinds: std::collections::HashSet<_> = all.iter().map(|(_, e)| e.kind()).collect();
    let record_trail = cache.query(chain.contract, r).await.unwrap();
    let expected_trail: Vec<_> = sent
        .iter()
        .filter(|(_, e)| e.record_id() == Some(r))
        .collect();
    assert_eq!(record_trail.len(), expected_trail.len());
    for ((meta, event), (receipt, expected)) in record_trail.iter().zip(expected_trail) {
        assert_eq!(event, expected);
        assert_eq!(meta.tx_hash, receipt.tx_hash);
        assert_eq!(meta.block_number, receipt.block_number);
        assert_eq!(meta.block_hash, receipt.block_hash);
        assert_eq!(meta.sender, event.actor());
        assert!(meta.block_time > 0);
    }
    for kind in [
        EventKind::IdentityPublished,
        EventKind::RecordRegistered,
        EventKind::RecordUpdated,
        EventKind::AccessGranted,
        EventKind::AccessRevoked,
        EventKind::RecordAccessed,
        EventKind::EmergencyAccessSet,
        EventKind::EmergencyAccess,
        EventKind::CheckInRedeemed,
        EventKind::CheckInAnswered,
        EventKind::RecordUploaded,
    ] {
        assert!(
            kinds.contains(&kind),
            "{kind:?} missing from the owner's history"
        );
    }
    // The clinic's and the nurse's own histories, through the wallet filter.
    let clinic_history = cache.query_wallet(chain.contract, c, &[]).await.unwrap();
    let clinic_kinds: Vec<_> = clinic_history.iter().map(|(_, e)| e.kind()).collect();
    for kind in [
        EventKind::AuthorityPublished,
        EventKind::KeyIssued,
        EventKind::AccessGranted,
        EventKind::EmergencyAccessSet,
        EventKind::EmergencyAccess,
        EventKind::KeyRevoked,
        EventKind::ProviderAttested,
        EventKind::ProviderWithdrawn,
        EventKind::CheckInRedeemed,
        EventKind::CheckInAnswered,
        EventKind::RecordUploaded,
    ] {
        assert!(
            clinic_kinds.contains(&kind),
            "{kind:?} missing for the clinic"
        );
    }
    let nurse_keys = cache
        .query_wallet(chain.contract, n, &[EventKind::KeyIssued])
        .await
        .unwrap();
    assert_eq!(nurse_keys.len(), 1);
    assert_eq!(nurse_keys[0].1, sent[6].1);

    // The same history straight from the node, by topic, in a fresh cache.
    let dir2 = tempfile::tempdir().unwrap();
    let wallet_cache = EventCache::open(&dir2.path().join("w.sqlite"))
        .await
        .unwrap();
    let report = wallet_cache
        .sync(&chain.node, chain.contract, &EventFilter::Wallet(d))
        .await
        .unwrap();
    let from_node: Vec<_> = wallet_cache
        .query_wallet(chain.contract, d, &[])
        .await
        .unwrap()
        .into_iter()
        .map(|(_, e)| e)
        .collect();
    let expected: Vec<_> = sent
        .iter()
        .map(|(_, e)| e.clone())
        .filter(|e| e.matches(&EventFilter::Wallet(d)))
        .collect();
    assert_eq!(report.new_events as usize, expected.len());
    assert_eq!(from_node, expected);

    // An incremental sync finds nothing new, then only the new event.
    let again = cache
        .sync(&chain.node, chain.contract, &EventFilter::All)
        .await
        .unwrap();
    assert_eq!(again.new_events, 0);
    owner.update_record(r, &cid(10), &cid(11)).await.unwrap();
    let again = cache
        .sync(&chain.node, chain.contract, &EventFilter::All)
        .await
        .unwrap();
    assert_eq!(again.new_events, 1);
}

fn reason(err: LedgerError) -> Revert {
    match err {
        LedgerError::Reverted { reason, .. } => reason,
        other => panic!("expected a revert, got {other:?}"),
    }
}

#[tokio::test]
async fn rule_violations_revert_with_a_reason_in_words() {
    let chain = Chain::start().await;
    let owner = chain.account().await;
    let stranger = chain.account().await;
    let grantee = chain.account().await;
    let nonce = B256::repeat_byte(0x33);
    // Someone registering first with the same nonce takes nothing: the id is bound to
    // its author.
    stranger
        .register_record(nonce, &cid(1), &cid(2))
        .await
        .unwrap();
    owner
        .register_record(nonce, &cid(1), &cid(2))
        .await
        .unwrap();
    let r = record_id_of(owner.address(), nonce);
    assert_ne!(r, record_id_of(stranger.address(), nonce));
    let s = stranger.address();

    let err = stranger
        .grant_access(r, s, B256::ZERO, &cid(3), 0)
        .await
        .unwrap_err();
    let words = err.to_string();
    assert!(words.starts_with("granting access was refused"), "{words}");
    assert!(words.contains("only the record's owner"), "{words}");
    assert_eq!(
        reason(err),
        Revert::NotOwner {
            record_id: r,
            caller: s
        }
    );
    assert_eq!(
        reason(
            stranger
                .update_record(r, &cid(3), &cid(4))
                .await
                .unwrap_err()
        ),
        Revert::NotOwner {
            record_id: r,
            caller: s
        }
    );
    assert_eq!(
        reason(
            stranger
                .revoke_access(r, s, B256::ZERO, &cid(3))
                .await
                .unwrap_err()
        ),
        Revert::NotOwner {
            record_id: r,
            caller: s
        }
    );
    assert_eq!(
        reason(stranger.set_emergency_access(r, s, true).await.unwrap_err()),
        Revert::NotOwner {
            record_id: r,
            caller: s
        }
    );

    let err = stranger.log_access(r, 1).await.unwrap_err();
    assert!(err.to_string().contains("holds no grant"), "{err}");
    assert_eq!(
        reason(err),
        Revert::NotGrantee {
            record_id: r,
            caller: s
        }
    );
    assert_eq!(
        reason(
            stranger
                .log_emergency_access(r, 1, s, keccak256("role:emergency"))
                .await
                .unwrap_err()
        ),
        Revert::NotEmergencyClinic {
            record_id: r,
            caller: s
        }
    );

    // An expired grantee.
    let expiry = now(&chain).await + 5;
    owner
        .grant_access(r, grantee.address(), B256::ZERO, &cid(3), expiry)
        .await
        .unwrap();
    grantee.log_access(r, 1).await.unwrap();
    let _: i64 = chain.rpc("evm_increaseTime", (U256::from(60),)).await;
    let _: String = chain.rpc("evm_mine", ()).await;
    let err = grantee.log_access(r, 1).await.unwrap_err();
    assert!(err.to_string().contains("expired"), "{err}");
    assert_eq!(
        reason(err),
        Revert::GrantExpired {
            record_id: r,
            caller: grantee.address(),
            expiry
        }
    );

    // The other rules.
    assert_eq!(
        reason(
            owner
                .register_record(nonce, &cid(1), &cid(2))
                .await
                .unwrap_err()
        ),
        Revert::RecordExists { record_id: r }
    );
    let nonce2 = B256::repeat_byte(0x34);
    let r2 = record_id_of(owner.address(), nonce2);
    assert_eq!(
        reason(
            owner
                .register_record(nonce2, &[7u8; 65], &cid(2))
                .await
                .unwrap_err()
        ),
        Revert::BadCid
    );
    assert_eq!(
        reason(
            owner
                .register_record(nonce2, &[], &cid(2))
                .await
                .unwrap_err()
        ),
        Revert::BadCid
    );
    assert_eq!(
        reason(owner.update_record(r2, &cid(1), &cid(2)).await.unwrap_err()),
        Revert::UnknownRecord { record_id: r2 }
    );
    assert_eq!(
        reason(
            owner
                .publish_identity(B256::ZERO, B256::ZERO, 9)
                .await
                .unwrap_err()
        ),
        Revert::BadRole { role: 9 }
    );
    assert_eq!(
        reason(owner.issue_key(s, &cid(1)).await.unwrap_err()),
        Revert::NotAuthority {
            caller: owner.address()
        }
    );
    assert_eq!(
        reason(
            owner
                .grant_access(r, Address::ZERO, B256::ZERO, &cid(1), 0)
                .await
                .unwrap_err()
        ),
        Revert::BadGrant
    );
    assert_eq!(
        reason(
            owner
                .grant_access(r, s, B256::ZERO, &cid(1), 1)
                .await
                .unwrap_err()
        ),
        Revert::BadExpiry { expiry: 1 }
    );
    assert_eq!(
        reason(
            owner
                .revoke_access(r, s, B256::ZERO, &cid(1))
                .await
                .unwrap_err()
        ),
        Revert::NoSuchGrant {
            record_id: r,
            grantee: s,
            clause_hash: B256::ZERO
        }
    );
    assert_eq!(
        reason(grantee.log_access(r, 7).await.unwrap_err()),
        Revert::UnknownVersion {
            record_id: r,
            version: 7
        }
    );
    // A clause access needs a key from the clause's authority.
    let clinic = chain.account().await;
    clinic.publish_authority(&cid(1)).await.unwrap();
    let clause = keccak256("role:doctor");
    owner
        .grant_access(r, clinic.address(), clause, &cid(5), 0)
        .await
        .unwrap();
    assert_eq!(
        reason(
            stranger
                .log_clause_access(r, 1, clinic.address(), clause)
                .await
                .unwrap_err()
        ),
        Revert::NotGrantee {
            record_id: r,
            caller: s
        }
    );
    // A revoked grantee cannot log any more.
    owner
        .revoke_access(r, clinic.address(), clause, &cid(6))
        .await
        .unwrap();
    clinic.issue_key(s, &cid(9)).await.unwrap();
    assert!(matches!(
        reason(
            stranger
                .log_clause_access(r, 1, clinic.address(), clause)
                .await
                .unwrap_err()
        ),
        Revert::NotGrantee { .. }
    ));
}

#[tokio::test]
async fn wrong_chain_and_missing_or_foreign_contract_are_named() {
    let chain = Chain::start().await;
    let status = chain
        .node
        .check_chain(LOCAL_CHAIN_ID, chain.contract)
        .await
        .unwrap();
    assert_eq!(status.chain_id, LOCAL_CHAIN_ID);

    let err = chain.node.check_chain(1, chain.contract).await.unwrap_err();
    assert!(
        matches!(
            err,
            LedgerError::WrongChain {
                expected: 1,
                found: LOCAL_CHAIN_ID,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("chain 424242"), "{err}");

    let nowhere = Address::repeat_byte(0x42);
    let err = chain
        .node
        .check_chain(LOCAL_CHAIN_ID, nowhere)
        .await
        .unwrap_err();
    assert!(matches!(err, LedgerError::NoContract { .. }), "{err:?}");
    assert!(err.to_string().contains(&nowhere.to_string()), "{err}");
    let err = chain
        .node
        .client(PrivateKeySigner::random(), nowhere)
        .await
        .unwrap_err();
    assert!(matches!(err, LedgerError::NoContract { .. }), "{err:?}");

    // Code that is not ours: a contract that only stops.
    let foreign = Address::repeat_byte(0x43);
    let _: () = chain.rpc("anvil_setCode", (foreign, "0x00")).await;
    let err = chain
        .node
        .check_chain(LOCAL_CHAIN_ID, foreign)
        .await
        .unwrap_err();
    assert!(
        matches!(err, LedgerError::ForeignContract { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn syncing_from_a_stopped_node_is_unreachable() {
    let chain = Chain::start().await;
    let dir = tempfile::tempdir().unwrap();
    let cache = EventCache::open(&dir.path().join("e.sqlite"))
        .await
        .unwrap();
    cache
        .sync(&chain.node, chain.contract, &EventFilter::All)
        .await
        .unwrap();
    let Chain {
        anvil,
        node,
        contract,
        dir: _d,
        ..
    } = chain;
    anvil.stop();
    let err = cache
        .sync(&node, contract, &EventFilter::All)
        .await
        .unwrap_err();
    assert!(matches!(err, LedgerError::Unreachable { .. }), "{err:?}");
    let err = node
        .client(PrivateKeySigner::random(), contract)
        .await
        .unwrap_err();
    assert!(matches!(err, LedgerError::Unreachable { .. }), "{err:?}");
    // What was cached stays readable (LedgerCreated and the deployer's AdminSet).
    assert_eq!(cache.count(contract).await.unwrap(), 2);
}

#[tokio::test]
async fn a_reorg_is_detected_and_the_cache_repaired() {
    let chain = Chain::start().await;
    let owner = chain.account().await;
    let dir = tempfile::tempdir().unwrap();
    let cache = EventCache::open(&dir.path().join("e.sqlite"))
        .await
        .unwrap();
    let nonce = |i: u8| B256::repeat_byte(i);
    let (r1, r2, r3, r4) = (nonce(1), nonce(2), nonce(3), nonce(4));
    owner.register_record(r1, &cid(1), &cid(1)).await.unwrap();
    let snapshot: U256 = chain.rpc("evm_snapshot", ()).await;
    owner.register_record(r2, &cid(2), &cid(2)).await.unwrap();
    owner.register_record(r3, &cid(3), &cid(3)).await.unwrap();
    let first = cache
        .sync(&chain.node, chain.contract, &EventFilter::All)
        .await
        .unwrap();
    assert_eq!(
        first.new_events, 5,
        "LedgerCreated, AdminSet and three records"
    );
    let height = first.to_block;

    // The last two blocks leave the chain; another history replaces them, longer.
    let reverted: bool = chain.rpc("evm_revert", (snapshot,)).await;
    assert!(reverted);
    let _: String = chain.rpc("evm_mine", ()).await;
    owner.register_record(r4, &cid(4), &cid(4)).await.unwrap();
    let _: String = chain.rpc("evm_mine", ()).await;
    assert!(chain.node.status().await.unwrap().block_height > height);

    let second = cache
        .sync(&chain.node, chain.contract, &EventFilter::All)
        .await
        .unwrap();
    let reorg = second.reorg.expect("the reorg is reported");
    assert_eq!(reorg.old_head.0, height);
    assert_eq!(reorg.dropped_events, 2);
    assert!(reorg.common_ancestor.unwrap() < height - 1);
    assert_eq!(second.new_events, 1);
    let id = |nonce| record_id_of(owner.address(), nonce);
    assert!(cache
        .query(chain.contract, id(r2))
        .await
        .unwrap()
        .is_empty());
    assert!(cache
        .query(chain.contract, id(r3))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(cache.query(chain.contract, id(r1)).await.unwrap().len(), 1);
    assert_eq!(cache.query(chain.contract, id(r4)).await.unwrap().len(), 1);
    assert_eq!(cache.count(chain.contract).await.unwrap(), 4);
    // And the next sync is quiet again.
    assert!(cache
        .sync(&chain.node, chain.contract, &EventFilter::All)
        .await
        .unwrap()
        .reorg
        .is_none());
}

#[tokio::test]
async fn an_event_whose_sender_is_not_its_actor_is_kept_out() {
    let chain = Chain::start().await;
    // Replace the contract's code with code that logs `LedgerCreated(admin = 0x99..)`
    // whoever calls: PUSH32 admin, PUSH32 topic0, PUSH1 32, PUSH1 0, LOG2, STOP.
    let forged = Address::repeat_byte(0x99);
    let topic0 = medwallet_ledger::contract::MedwalletLedger::LedgerCreated::SIGNATURE_HASH;
    let mut code = vec![0x7f];
    code.extend(forged.into_word().0);
    code.push(0x7f);
    code.extend(topic0.0);
    code.extend([0x60, 0x20, 0x60, 0x00, 0xa2, 0x00]);
    let _: () = chain
        .rpc(
            "anvil_setCode",
            (chain.contract, alloy::hex::encode_prefixed(&code)),
        )
        .await;
    let caller = PrivateKeySigner::random();
    let provider = alloy::providers::ProviderBuilder::new()
        .disable_recommended_fillers()
        .with_chain_id(LOCAL_CHAIN_ID)
        .wallet(alloy::network::EthereumWallet::from(caller.clone()))
        .connect_http(chain.url());
    let tx = TransactionRequest::default()
        .with_from(caller.address())
        .with_to(chain.contract)
        .with_nonce(0)
        .with_gas_limit(100_000)
        .with_max_fee_per_gas(0)
        .with_max_priority_fee_per_gas(0);
    let pending = provider.send_transaction(tx).await.unwrap();
    let hash = *pending.tx_hash();
    for _ in 0..100 {
        if provider
            .get_transaction_receipt(hash)
            .await
            .unwrap()
            .is_some()
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    let dir = tempfile::tempdir().unwrap();
    let cache = EventCache::open(&dir.path().join("e.sqlite"))
        .await
        .unwrap();
    let report = cache
        .sync(&chain.node, chain.contract, &EventFilter::All)
        .await
        .unwrap();
    assert_eq!(
        report.new_events, 2,
        "only the genuine LedgerCreated and AdminSet"
    );
    assert_eq!(report.rejected.len(), 1);
    assert_eq!(report.rejected[0].meta.tx_hash, hash);
    assert!(
        report.rejected[0].reason.contains("was sent by"),
        "{}",
        report.rejected[0].reason
    );
    assert!(cache
        .query_wallet(chain.contract, forged, &[])
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn ten_thousand_events_sync_into_the_cache() {
    const EVENTS: usize = 10_000;
    let chain = Chain::start().await;
    let start = Instant::now();
    let author = chain.write_events(EVENTS, 50).await;
    let wrote = start.elapsed();

    let dir = tempfile::tempdir().unwrap();
    let cache = EventCache::open(&dir.path().join("e.sqlite"))
        .await
        .unwrap();
    let start = Instant::now();
    let report = cache
        .sync(&chain.node, chain.contract, &EventFilter::All)
        .await
        .unwrap();
    let synced = start.elapsed();
    assert_eq!(report.new_events as usize, EVENTS + 2);
    assert!(report.rejected.is_empty());
    assert_eq!(
        cache.count(chain.contract).await.unwrap() as usize,
        EVENTS + 2
    );

    let start = Instant::now();
    let trail = cache
        .query(chain.contract, record_id(author, 0))
        .await
        .unwrap();
    let queried = start.elapsed();
    assert_eq!(trail.len(), 51);
    assert!(matches!(
        trail[0].1,
        LedgerEvent::RecordRegistered { version: 1, .. }
    ));
    assert!(matches!(
        trail[50].1,
        LedgerEvent::RecordUpdated { version: 51, .. }
    ));
    assert_eq!(
        cache
            .query(chain.contract, record_id(author, 9_000))
            .await
            .unwrap()
            .len(),
        1
    );
    eprintln!("wrote {EVENTS} events in {wrote:.2?}, synced in {synced:.2?} (blocks {}..={}), one record's trail in {queried:.2?}", report.from_block, report.to_block);
}

#[tokio::test]
async fn a_sync_in_steps_commits_each_and_ends_where_one_sync_ends() {
    let chain = Chain::start().await;
    chain.write_events(300, 0).await;
    // Empty blocks after them: the steps walk a chain longer than its events.
    for _ in 0..9 {
        medwallet_ledger::testing::advance_time(&chain.url(), 1)
            .await
            .unwrap();
    }
    let head = chain.node.status().await.unwrap().block_height;
    assert!(head >= 10, "{head}");

    let dir = tempfile::tempdir().unwrap();
    let stepped = EventCache::open(&dir.path().join("stepped.sqlite"))
        .await
        .unwrap();
    let mut steps = Vec::new();
    loop {
        let report = stepped
            .sync_step(&chain.node, chain.contract, &EventFilter::All, 2)
            .await
            .unwrap();
        assert_eq!(report.head, head);
        assert!(report.to_block - report.from_block < 2, "{report:?}");
        // Committed: a new cache on the same file sees what this step read.
        let reopened = EventCache::open(&dir.path().join("stepped.sqlite"))
            .await
            .unwrap();
        assert_eq!(
            reopened.count(chain.contract).await.unwrap(),
            stepped.count(chain.contract).await.unwrap()
        );
        steps.push(report.to_block);
        if report.to_block >= report.head {
            break;
        }
    }
    // Blocks 0..=head, two a step.
    assert_eq!(steps.len() as u64, (head + 1).div_ceil(2));
    let whole = EventCache::open(&dir.path().join("whole.sqlite"))
        .await
        .unwrap();
    whole
        .sync(&chain.node, chain.contract, &EventFilter::All)
        .await
        .unwrap();
    assert_eq!(
        stepped.count(chain.contract).await.unwrap(),
        whole.count(chain.contract).await.unwrap()
    );
    assert_eq!(whole.count(chain.contract).await.unwrap(), 302);
    // Up to date: a further step reads nothing.
    let again = stepped
        .sync_step(&chain.node, chain.contract, &EventFilter::All, 2)
        .await
        .unwrap();
    assert_eq!(again.new_events, 0);
}

#[tokio::test]
async fn a_check_in_code_grants_nothing_until_the_patient_allows_the_clinic_that_redeemed_it() {
    use medwallet_ledger::{check_in_id_of, CheckInSigner};

    let chain = Chain::start().await;
    let (patient, secret) = chain.account_with_key().await;
    let clinic = chain.account().await;
    let thief = chain.account().await;
    let (p, c, t) = (patient.address(), clinic.address(), thief.address());
    let signer = CheckInSigner::from_bytes(&secret).unwrap();
    let nonce = B256::repeat_byte(0x61);
    let id = check_in_id_of(p, nonce);
    let soon = now(&chain).await + 600;
    let code = signer
        .sign(LOCAL_CHAIN_ID, chain.contract, nonce, soon)
        .unwrap();

    // A code signed by someone else, for another chain, nonce or expiry, or lasting
    // longer than an hour, redeems nothing.
    let bad = Revert::BadCheckInSignature { check_in_id: id };
    let other = CheckInSigner::from_bytes(&[8; 32])
        .unwrap()
        .sign(LOCAL_CHAIN_ID, chain.contract, nonce, soon)
        .unwrap();
    assert_eq!(
        reason(
            clinic
                .redeem_check_in(p, nonce, soon, &other)
                .await
                .unwrap_err()
        ),
        bad
    );
    let elsewhere = signer.sign(1, chain.contract, nonce, soon).unwrap();
    assert_eq!(
        reason(
            clinic
                .redeem_check_in(p, nonce, soon, &elsewhere)
                .await
                .unwrap_err()
        ),
        bad
    );
    assert_eq!(
        reason(
            clinic
                .redeem_check_in(p, nonce, soon + 1, &code)
                .await
                .unwrap_err()
        ),
        bad
    );
    let far = soon + 7_200;
    let long = signer
        .sign(LOCAL_CHAIN_ID, chain.contract, nonce, far)
        .unwrap();
    assert_eq!(
        reason(
            clinic
                .redeem_check_in(p, nonce, far, &long)
                .await
                .unwrap_err()
        ),
        Revert::BadExpiry { expiry: far }
    );

    // Redeemed once: whoever comes second is told who came first.
    clinic.redeem_check_in(p, nonce, soon, &code).await.unwrap();
    let words = thief
        .redeem_check_in(p, nonce, soon, &code)
        .await
        .unwrap_err()
        .to_string();
    assert!(words.contains("was already used, by"), "{words}");
    assert_eq!(
        reason(
            thief
                .redeem_check_in(p, nonce, soon, &code)
                .await
                .unwrap_err()
        ),
        Revert::CheckInUsed {
            check_in_id: id,
            clinic: c
        }
    );

    // Redeemed is not allowed: the clinic registers nothing for the patient yet, and
    // only the patient answers.
    let upload = B256::repeat_byte(0x71);
    assert_eq!(
        reason(
            clinic
                .register_record_for(upload, id, &cid(1), &cid(2))
                .await
                .unwrap_err()
        ),
        Revert::NotCheckedIn {
            check_in_id: id,
            caller: c
        }
    );
    assert!(matches!(
        reason(clinic.answer_check_in(id, c, true, soon).await.unwrap_err()),
        Revert::NotOwner { .. }
    ));
    assert_eq!(
        reason(
            patient
                .answer_check_in(B256::repeat_byte(9), c, true, soon)
                .await
                .unwrap_err()
        ),
        Revert::UnknownCheckIn {
            check_in_id: B256::repeat_byte(9)
        }
    );
    let until = soon + 3_600;
    // The patient answers for the clinic it was shown: naming another is refused.
    assert_eq!(
        reason(
            patient
                .answer_check_in(id, t, true, until)
                .await
                .unwrap_err()
        ),
        Revert::NotThisClinic {
            check_in_id: id,
            clinic: t
        }
    );
    patient.answer_check_in(id, c, true, until).await.unwrap();
    assert_eq!(
        reason(patient.answer_check_in(id, c, false, 0).await.unwrap_err()),
        Revert::CheckInAlreadyAnswered {
            check_in_id: id,
            state: 2
        }
    );

    // Allowed: only that clinic registers records, owned by the patient.
    assert_eq!(
        reason(
            thief
                .register_record_for(upload, id, &cid(1), &cid(2))
                .await
                .unwrap_err()
        ),
        Revert::NotCheckedIn {
            check_in_id: id,
            caller: t
        }
    );
    clinic
        .register_record_for(upload, id, &cid(1), &cid(2))
        .await
        .unwrap();
    let r = record_id_of(c, upload);
    assert_eq!(
        reason(clinic.update_record(r, &cid(3), &cid(4)).await.unwrap_err()),
        Revert::NotOwner {
            record_id: r,
            caller: c
        }
    );
    patient.update_record(r, &cid(3), &cid(4)).await.unwrap();

    // After the time the patient allowed, nothing more is registered.
    medwallet_ledger::testing::advance_time(&chain.url(), 3_600 + 700)
        .await
        .unwrap();
    assert!(matches!(
        reason(
            clinic
                .register_record_for(B256::repeat_byte(0x72), id, &cid(1), &cid(2))
                .await
                .unwrap_err()
        ),
        Revert::CheckInExpired { .. }
    ));

    // A declined check-in lets its clinic do nothing.
    let nonce2 = B256::repeat_byte(0x62);
    let id2 = check_in_id_of(p, nonce2);
    let later = now(&chain).await + 600;
    let code2 = signer
        .sign(LOCAL_CHAIN_ID, chain.contract, nonce2, later)
        .unwrap();
    thief
        .redeem_check_in(p, nonce2, later, &code2)
        .await
        .unwrap();
    patient.answer_check_in(id2, t, false, 0).await.unwrap();
    assert_eq!(
        reason(
            thief
                .register_record_for(B256::repeat_byte(0x73), id2, &cid(1), &cid(2))
                .await
                .unwrap_err()
        ),
        Revert::NotCheckedIn {
            check_in_id: id2,
            caller: t
        }
    );

    // The patient's own history has all of it, each event checked against its sender.
    let head = chain.node.status().await.unwrap().block_height;
    let events = chain
        .node
        .fetch_events(chain.contract, 0, head, &EventFilter::Wallet(p))
        .await
        .unwrap();
    assert!(events.rejected.is_empty(), "{:?}", events.rejected);
    let kinds: Vec<&LedgerEvent> = events.events.iter().map(|e| &e.event).collect();
    assert!(kinds.contains(&&LedgerEvent::CheckInRedeemed {
        check_in_id: id,
        patient: p,
        clinic: c
    }));
    assert!(kinds.contains(&&LedgerEvent::CheckInAnswered {
        check_in_id: id2,
        patient: p,
        clinic: t,
        allowed: false,
        until: 0
    }));
    assert!(kinds.contains(&&LedgerEvent::RecordUploaded {
        record_id: r,
        owner: p,
        author: c,
        manifest_cid: cid(1).into(),
        capsule_cid: cid(2).into()
    }));
}

#[tokio::test]
async fn keys_count_in_their_epoch_until_revoked_and_emergencies_need_a_live_grant() {
    let chain = Chain::start().await;
    let owner = chain.account().await;
    let clinic = chain.account().await;
    let medic = chain.account().await;
    let (c, m) = (clinic.address(), medic.address());
    let nonce = B256::repeat_byte(0x81);
    owner
        .register_record(nonce, &cid(1), &cid(2))
        .await
        .unwrap();
    let r = record_id_of(owner.address(), nonce);
    let emergency = keccak256("role:emergency");
    clinic.publish_authority(&cid(1)).await.unwrap();
    // A retried publication of the same parameters is no new epoch.
    clinic.publish_authority(&cid(1)).await.unwrap();
    clinic.issue_key(m, &cid(2)).await.unwrap();
    owner.set_emergency_access(r, c, true).await.unwrap();

    // Marked, but no emergency grant: refused.
    assert!(matches!(
        reason(
            medic
                .log_emergency_access(r, 1, c, emergency)
                .await
                .unwrap_err()
        ),
        Revert::NotGrantee { .. }
    ));
    let expiry = now(&chain).await + 60;
    owner
        .grant_access(r, c, emergency, &cid(3), expiry)
        .await
        .unwrap();
    medic
        .log_emergency_access(r, 1, c, emergency)
        .await
        .unwrap();
    medic.log_clause_access(r, 1, c, emergency).await.unwrap();

    // Expired: refused, though the mark stays.
    medwallet_ledger::testing::advance_time(&chain.url(), 120)
        .await
        .unwrap();
    assert!(matches!(
        reason(
            medic
                .log_emergency_access(r, 1, c, emergency)
                .await
                .unwrap_err()
        ),
        Revert::GrantExpired { .. }
    ));
    // Revoked: refused.
    owner
        .grant_access(r, c, emergency, &cid(4), 0)
        .await
        .unwrap();
    medic
        .log_emergency_access(r, 1, c, emergency)
        .await
        .unwrap();
    owner.revoke_access(r, c, emergency, &cid(5)).await.unwrap();
    assert!(matches!(
        reason(
            medic
                .log_emergency_access(r, 1, c, emergency)
                .await
                .unwrap_err()
        ),
        Revert::NotGrantee { .. }
    ));

    // A revoked key: refused, and not issued again in the same epoch (a retried issue
    // sent after the revocation brings nothing back).
    owner
        .grant_access(r, c, emergency, &cid(6), 0)
        .await
        .unwrap();
    clinic.revoke_key(m).await.unwrap();
    assert!(matches!(
        reason(
            medic
                .log_emergency_access(r, 1, c, emergency)
                .await
                .unwrap_err()
        ),
        Revert::NotEmergencyClinic { .. }
    ));
    assert!(matches!(
        reason(
            medic
                .log_clause_access(r, 1, c, emergency)
                .await
                .unwrap_err()
        ),
        Revert::NotGrantee { .. }
    ));
    assert_eq!(
        reason(clinic.issue_key(m, &cid(7)).await.unwrap_err()),
        Revert::KeyRevokedInEpoch {
            holder: m,
            epoch: 1
        }
    );

    // Only the emergency clause logs an emergency: another live grant of the clinic's
    // does not.
    let doctors = keccak256("role:doctor");
    owner
        .grant_access(r, c, doctors, &cid(13), 0)
        .await
        .unwrap();
    assert_eq!(
        reason(
            clinic
                .log_emergency_access(r, 1, c, doctors)
                .await
                .unwrap_err()
        ),
        Revert::BadGrant
    );

    // A new epoch: keys of the one before count no more, a new key counts.
    let nurse = chain.account().await;
    clinic.issue_key(nurse.address(), &cid(8)).await.unwrap();
    nurse.log_clause_access(r, 1, c, emergency).await.unwrap();
    clinic.publish_authority(&cid(9)).await.unwrap();
    assert!(matches!(
        reason(
            nurse
                .log_clause_access(r, 1, c, emergency)
                .await
                .unwrap_err()
        ),
        Revert::NotGrantee { .. }
    ));
    clinic.issue_key(nurse.address(), &cid(10)).await.unwrap();
    nurse.log_clause_access(r, 1, c, emergency).await.unwrap();
    // And the holder revoked in epoch 1 may be issued a key of epoch 2.
    clinic.issue_key(m, &cid(11)).await.unwrap();
    medic
        .log_emergency_access(r, 1, c, emergency)
        .await
        .unwrap();
    // The parameters of epoch 1 never come back (their keys would count again).
    assert_eq!(
        reason(clinic.publish_authority(&cid(1)).await.unwrap_err()),
        Revert::StaleParams
    );
}

#[tokio::test]
async fn only_admins_attest_providers() {
    let chain = Chain::start().await;
    let admin = chain.admin().await;
    let clinic = chain.account().await;
    let stranger = chain.account().await;
    let c = clinic.address();
    assert_eq!(
        chain.node.provider_of(chain.contract, c).await.unwrap(),
        None
    );
    assert_eq!(
        reason(
            stranger
                .attest_provider(c, "St Mary's", 2)
                .await
                .unwrap_err()
        ),
        Revert::NotAdmin {
            caller: stranger.address()
        }
    );
    // A patient's role, an empty name or a name over 64 bytes are refused.
    for (name, role) in [
        ("St Mary's", 0u8),
        ("", 2),
        (&*"x".repeat(65), 2),
        ("St Mary's", 3),
    ] {
        assert_eq!(
            reason(admin.attest_provider(c, name, role).await.unwrap_err()),
            Revert::BadProvider
        );
    }
    admin
        .attest_provider(c, "St Mary's Hospital", 2)
        .await
        .unwrap();
    assert_eq!(
        chain.node.provider_of(chain.contract, c).await.unwrap(),
        Some(medwallet_ledger::AttestedProvider {
            name: "St Mary's Hospital".to_owned(),
            role: 2
        })
    );
    // A second admin withdraws it; the first steps down and can attest no more.
    admin.set_admin(stranger.address(), true).await.unwrap();
    stranger.withdraw_provider(c).await.unwrap();
    assert_eq!(
        chain.node.provider_of(chain.contract, c).await.unwrap(),
        None
    );
    admin.set_admin(admin.address(), false).await.unwrap();
    // The last admin cannot step down: the registry can always withdraw.
    assert_eq!(
        reason(
            stranger
                .set_admin(stranger.address(), false)
                .await
                .unwrap_err()
        ),
        Revert::LastAdmin
    );
    assert!(matches!(
        reason(admin.attest_provider(c, "St Mary's", 2).await.unwrap_err()),
        Revert::NotAdmin { .. }
    ));
}

/// Transactions from one account sent at the same moment, through separate clients (as
/// two records added together each connect on their own), all land: the account's sends
/// are serialised, so no two read the same nonce and none is refused for it.
#[tokio::test]
async fn one_account_sending_at_once_through_several_clients_loses_none() {
    let chain = Chain::start().await;
    let key = PrivateKeySigner::random();
    let mut clients = Vec::new();
    for _ in 0..8 {
        clients.push(
            chain
                .node
                .client(key.clone(), chain.contract)
                .await
                .unwrap(),
        );
    }
    let mut sends = tokio::task::JoinSet::new();
    for (i, client) in clients.into_iter().enumerate() {
        let id = B256::repeat_byte(0x40 + i as u8);
        sends.spawn(async move { (i, client.register_record(id, &cid(1), &cid(2)).await) });
    }
    let mut blocks = Vec::new();
    while let Some(joined) = sends.join_next().await {
        let (i, receipt) = joined.unwrap();
        blocks.push(
            receipt
                .unwrap_or_else(|e| panic!("send {i}: {e}"))
                .block_number,
        );
    }
    blocks.sort_unstable();
    blocks.dedup();
    assert_eq!(
        blocks.len(),
        8,
        "eight transactions, one a block (automine)"
    );
}

/// A TCP proxy in front of `upstream` that forwards until `silent` is set; from then on it
/// keeps every connection open and forwards nothing more (a node that accepts requests and
/// never answers). Answers the proxy's URL.
async fn stalling_proxy(
    upstream: std::net::SocketAddr,
    silent: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> Url {
    use std::sync::atomic::Ordering;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let silent = silent.clone();
            tokio::spawn(async move {
                let Ok(server) = tokio::net::TcpStream::connect(upstream).await else {
                    return;
                };
                let (mut client_read, mut client_write) = client.into_split();
                let (mut server_read, mut server_write) = server.into_split();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 16 * 1024];
                    while let Ok(n @ 1..) = server_read.read(&mut buf).await {
                        if client_write.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
                let mut buf = vec![0u8; 16 * 1024];
                while let Ok(n @ 1..) = client_read.read(&mut buf).await {
                    if silent.load(Ordering::SeqCst) {
                        continue;
                    }
                    if server_write.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    url
}

/// A node that stops answering in the middle of a send does not hold the account forever:
/// the send fails as unreachable within its call deadline, and the account's next send
/// (through a node that answers) goes through.
#[tokio::test]
async fn a_node_that_stops_answering_releases_the_account() {
    let chain = Chain::start().await;
    let key = PrivateKeySigner::random();
    let silent = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let upstream = chain.url().socket_addrs(|| None).unwrap()[0];
    let proxy = stalling_proxy(upstream, silent.clone()).await;
    let through_proxy = LedgerNode::new(&proxy)
        .client(key.clone(), chain.contract)
        .await
        .unwrap();
    silent.store(true, std::sync::atomic::Ordering::SeqCst);
    // A guard, not a measure: without the call deadline this send never ends.
    let err = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        through_proxy.register_record(B256::repeat_byte(0x51), &cid(1), &cid(2)),
    )
    .await
    .expect("the send ended on its own deadline")
    .unwrap_err();
    assert!(matches!(err, LedgerError::Unreachable { .. }), "{err:?}");
    let direct = chain.node.client(key, chain.contract).await.unwrap();
    direct
        .register_record(B256::repeat_byte(0x52), &cid(1), &cid(2))
        .await
        .unwrap();
}

#[tokio::test]
async fn wallets_are_read_together_each_from_its_own_cursor_and_others_events_stay_out() {
    let chain = Chain::start().await;
    let (a, b, stranger) = (
        chain.account().await,
        chain.account().await,
        chain.account().await,
    );
    let doctor = chain.account().await.address();
    let dir = tempfile::tempdir().unwrap();
    let cache = EventCache::open(&dir.path().join("e.sqlite"))
        .await
        .unwrap();
    let nonce = |i: u8| B256::repeat_byte(i);
    a.register_record(nonce(1), &cid(1), &cid(1)).await.unwrap();
    let ra = record_id_of(a.address(), nonce(1));
    a.grant_access(ra, doctor, B256::ZERO, &cid(2), 0)
        .await
        .unwrap();
    b.register_record(nonce(2), &cid(3), &cid(3)).await.unwrap();
    for i in 10..13 {
        stranger
            .register_record(nonce(i), &cid(i), &cid(i))
            .await
            .unwrap();
    }
    let wallet = |x: Address| EventFilter::Wallet(x);

    // Two patients, never read: one read from block 0 for both; the stranger's stay out.
    let first = cache
        .sync_many(
            &chain.node,
            chain.contract,
            &[wallet(a.address()), wallet(b.address())],
        )
        .await
        .unwrap();
    assert_eq!(first.from_block, 0);
    assert_eq!(first.new_events, 3, "a's record and grant, b's record");
    assert_eq!(first.to_block, first.head);
    assert_eq!(
        cache.count(chain.contract).await.unwrap(),
        3,
        "nothing of the stranger's"
    );
    for x in [a.address(), b.address()] {
        assert_eq!(
            cache.cursor(chain.contract, &wallet(x)).await.unwrap(),
            Some(first.head)
        );
    }
    assert_eq!(
        cache
            .cursor(chain.contract, &wallet(stranger.address()))
            .await
            .unwrap(),
        None
    );

    // More of everyone; then the doctor joins the read: the patients are read from their
    // cursor on, the doctor (never read) from block 0, and only new events count.
    let snapshot: U256 = chain.rpc("evm_snapshot", ()).await;
    a.register_record(nonce(4), &cid(4), &cid(4)).await.unwrap();
    stranger
        .register_record(nonce(20), &cid(20), &cid(20))
        .await
        .unwrap();
    let second = cache
        .sync_many(
            &chain.node,
            chain.contract,
            &[wallet(a.address()), wallet(b.address()), wallet(doctor)],
        )
        .await
        .unwrap();
    assert_eq!(second.from_block, 0, "the doctor's first read");
    assert_eq!(second.new_events, 1, "a's new record; the grant was cached");
    let doctors = cache.events(chain.contract, &wallet(doctor)).await.unwrap();
    assert_eq!(doctors.len(), 1);
    assert!(
        matches!(doctors[0].event, LedgerEvent::AccessGranted { grantee, .. } if grantee == doctor)
    );
    let a_history = cache
        .events(chain.contract, &wallet(a.address()))
        .await
        .unwrap();
    assert_eq!(a_history.len(), 3);
    assert!(a_history.iter().all(|e| e.meta.sender == a.address()));
    assert_eq!(cache.count(chain.contract).await.unwrap(), 4);

    // Up to date: a read asks for no block.
    let third = cache
        .sync_many(
            &chain.node,
            chain.contract,
            &[wallet(a.address()), wallet(doctor)],
        )
        .await
        .unwrap();
    assert_eq!(third.new_events, 0);
    assert!(third.from_block > third.to_block, "{third:?}");

    // The last blocks leave the chain: every cursor above the fork comes back, a's record
    // that left is dropped, and what replaced it is read.
    let reverted: bool = chain.rpc("evm_revert", (snapshot,)).await;
    assert!(reverted);
    let _: String = chain.rpc("evm_mine", ()).await;
    a.register_record(nonce(5), &cid(5), &cid(5)).await.unwrap();
    let _: String = chain.rpc("evm_mine", ()).await;
    let _: String = chain.rpc("evm_mine", ()).await;
    let fourth = cache
        .sync_many(
            &chain.node,
            chain.contract,
            &[wallet(a.address()), wallet(b.address()), wallet(doctor)],
        )
        .await
        .unwrap();
    assert!(fourth.reorg.is_some(), "{fourth:?}");
    let ids: Vec<B256> = cache
        .events(chain.contract, &wallet(a.address()))
        .await
        .unwrap()
        .iter()
        .filter_map(|e| e.event.record_id())
        .collect();
    assert_eq!(
        ids,
        vec![ra, ra, record_id_of(a.address(), nonce(5))],
        "the record that left the chain is gone"
    );
    for x in [a.address(), b.address(), doctor] {
        assert_eq!(
            cache.cursor(chain.contract, &wallet(x)).await.unwrap(),
            Some(fourth.head)
        );
    }

    // Another node (here the same chain behind another address): nothing one node said is
    // mixed with what another says; the cache is read again from it, from block 0.
    let upstream: std::net::SocketAddr = chain.url().socket_addrs(|| None).unwrap()[0];
    let other = LedgerNode::new(&stalling_proxy(upstream, std::sync::Arc::new(false.into())).await);
    let count = cache.count(chain.contract).await.unwrap();
    let fifth = cache
        .sync_many(
            &other,
            chain.contract,
            &[wallet(a.address()), wallet(doctor)],
        )
        .await
        .unwrap();
    assert_eq!(fifth.from_block, 0);
    assert_eq!(cache.count(chain.contract).await.unwrap(), fifth.new_events);
    assert!(
        fifth.new_events < count,
        "b's events are not read for this read"
    );
    assert_eq!(
        cache
            .cursor(chain.contract, &wallet(b.address()))
            .await
            .unwrap(),
        None
    );
}
