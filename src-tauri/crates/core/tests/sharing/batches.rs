//! Many records at once: registrations waiting in the outbox, a share of 300 records with
//! one doctor and its revocation each go out in a few batch transactions, one event per
//! record.

use std::collections::BTreeSet;

use medwallet_ledger::B256;

use super::*;

const RECORDS: usize = 300;

/// The distinct transactions that carried the events `pick` selects, with how many
/// events it selected.
async fn transactions(
    nodes: &Nodes,
    pick: impl Fn(&LedgerEvent) -> Option<B256>,
) -> (usize, BTreeSet<B256>) {
    let node = LedgerNode::new(&nodes.ledger.url);
    let head = node.status().await.unwrap().block_height;
    let events = node
        .fetch_events(nodes.ledger.contract.unwrap(), 0, head, &EventFilter::All)
        .await
        .unwrap()
        .events;
    let picked: Vec<_> = events
        .iter()
        .filter(|e| pick(&e.event).is_some())
        .map(|e| e.meta.tx_hash)
        .collect();
    (picked.len(), picked.into_iter().collect())
}

#[tokio::test]
async fn three_hundred_records_are_registered_shared_and_revoked_in_a_few_transactions() {
    let nodes = Nodes::start().await;
    let (patient_svc, doctor_svc) = (nodes.service("patient"), nodes.service("doctor"));
    let patient = wallet(41, Role::Patient, "Ada");
    let doctor = wallet(42, Role::Doctor, "Dr. Batch");

    // Added while the wallet has no contract configured: each waits in the outbox.
    let offline = LedgerTarget {
        contract: None,
        ..nodes.ledger.clone()
    };
    let quiet: medwallet_core::records::Progress = Arc::new(|_| {});
    let mut records = Vec::with_capacity(RECORDS);
    for i in 0..RECORDS {
        let path = nodes.file(&format!("note-{i}.txt"), format!("note {i}").as_bytes());
        let added = patient_svc
            .add(
                &patient,
                &nodes.ipfs,
                &offline,
                "add",
                &path,
                &meta(&format!("Note {i}")),
                quiet.clone(),
            )
            .await
            .unwrap();
        records.push(added.id);
    }
    // The outbox's pass registers them all together.
    let report = patient_svc
        .sync(
            &patient.wallet_id,
            Some(&patient),
            &nodes.ipfs,
            &nodes.ledger,
            true,
        )
        .await
        .unwrap();
    assert_eq!(report.problem, None, "{report:?}");
    let (events, txs) = transactions(&nodes, |e| match e {
        LedgerEvent::RecordRegistered { record_id, .. } => Some(*record_id),
        _ => None,
    })
    .await;
    assert_eq!(events, RECORDS);
    assert!(txs.len() <= 3, "{} registration transactions", txs.len());
    // A pass after it finds nothing left to send.
    patient_svc
        .sync(
            &patient.wallet_id,
            Some(&patient),
            &nodes.ipfs,
            &nodes.ledger,
            true,
        )
        .await
        .unwrap();
    assert_eq!(
        transactions(&nodes, |e| match e {
            LedgerEvent::RecordRegistered { record_id, .. } => Some(*record_id),
            _ => None,
        })
        .await
        .0,
        RECORDS
    );

    // One share of all of them with a doctor new to this patient.
    doctor_svc
        .list_shared(&doctor, &nodes.ipfs, &nodes.ledger)
        .await
        .unwrap();
    let request = ShareRequest {
        record_ids: records.clone(),
        ..share_with("", &doctor.address, None)
    };
    let grants = patient_svc
        .share(&patient, &nodes.ipfs, &nodes.ledger, &request)
        .await
        .unwrap();
    assert_eq!(grants.len(), RECORDS);
    assert!(
        grants.iter().all(|g| g.state == GrantState::Active),
        "{:?}",
        grants.iter().find(|g| g.state != GrantState::Active)
    );
    let (events, txs) = transactions(&nodes, |e| match e {
        LedgerEvent::AccessGranted { record_id, .. } => Some(*record_id),
        _ => None,
    })
    .await;
    assert_eq!(events, RECORDS, "one AccessGranted per record");
    assert!(txs.len() <= 3, "{} grant transactions", txs.len());

    // Every record opens for the doctor: the inbox opens each one's capsule with the
    // doctor's key (nothing decrypted before an opening is logged); a sample is opened
    // in full, its access logged first.
    let inbox = doctor_svc
        .list_shared(&doctor, &nodes.ipfs, &nodes.ledger)
        .await
        .unwrap();
    assert!(inbox.problems.is_empty(), "{:?}", inbox.problems);
    assert_eq!(
        inbox
            .records
            .iter()
            .map(|r| r.record_id.clone())
            .collect::<BTreeSet<_>>(),
        records.iter().cloned().collect::<BTreeSet<_>>()
    );
    for (i, record) in records.iter().enumerate().step_by(50) {
        let opened = doctor_svc
            .open_shared(&doctor, &nodes.ipfs, &nodes.ledger, record)
            .await
            .unwrap();
        assert_eq!(opened.record.title, format!("Note {i}"));
    }

    // Taken back from all of them at once: the revocations go out in batches too.
    let revoked = patient_svc
        .revoke_records(
            &patient,
            &nodes.ipfs,
            &nodes.ledger,
            &records,
            &doctor.address,
            None,
        )
        .await
        .unwrap();
    assert!(
        revoked.iter().all(|g| g.state == GrantState::Revoked),
        "{:?}",
        revoked.iter().find(|g| g.state != GrantState::Revoked)
    );
    let (events, txs) = transactions(&nodes, |e| match e {
        LedgerEvent::AccessRevoked { record_id, .. } => Some(*record_id),
        _ => None,
    })
    .await;
    assert_eq!(events, RECORDS, "one AccessRevoked per record");
    assert!(txs.len() <= 3, "{} revocation transactions", txs.len());
    // Their new versions were registered together as well.
    let (events, txs) = transactions(&nodes, |e| match e {
        LedgerEvent::RecordUpdated { record_id, .. } => Some(*record_id),
        _ => None,
    })
    .await;
    assert_eq!(events, RECORDS);
    assert!(txs.len() <= 3, "{} update transactions", txs.len());
    let inbox = doctor_svc
        .list_shared(&doctor, &nodes.ipfs, &nodes.ledger)
        .await
        .unwrap();
    assert!(inbox.records.is_empty(), "{:?}", inbox.records.len());
}

#[tokio::test]
async fn an_export_names_each_event_of_a_batch_transaction_once() {
    let nodes = Nodes::start().await;
    let (patient_svc, doctor_svc) = (nodes.service("patient"), nodes.service("doctor"));
    let patient = wallet(43, Role::Patient, "Ada");
    let doctor = wallet(44, Role::Doctor, "Dr. Batch");
    doctor_svc
        .list_shared(&doctor, &nodes.ipfs, &nodes.ledger)
        .await
        .unwrap();
    let mut records = Vec::new();
    for i in 0..3 {
        let text = format!("note {i}");
        records.push(
            add(
                &nodes,
                &patient_svc,
                &patient,
                &format!("note-{i}.txt"),
                text.as_bytes(),
                &format!("Note {i}"),
            )
            .await,
        );
    }
    let request = ShareRequest {
        record_ids: records.clone(),
        ..share_with("", &doctor.address, None)
    };
    patient_svc
        .share(&patient, &nodes.ipfs, &nodes.ledger, &request)
        .await
        .unwrap();

    let audit = AuditService::new(&nodes.root.join("patient"));
    let path = nodes.root.join("trail.json");
    audit
        .export(
            &patient,
            &nodes.ledger,
            &AuditQuery::default(),
            &AuditContext::of(&patient_svc, &patient).await.unwrap(),
            medwallet_api::ExportFormat::FhirBundle,
            &path.display().to_string(),
        )
        .await
        .unwrap();
    let bundle: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let entries = bundle["entry"].as_array().unwrap();
    // The three grants: three entries of one transaction.
    let granted: Vec<&serde_json::Value> = entries
        .iter()
        .filter(|e| e["resource"]["subtype"][0]["code"] == AuditAction::Granted.as_str())
        .collect();
    assert_eq!(granted.len(), records.len());
    let tx_of = |e: &serde_json::Value| {
        e["resource"]["entity"][0]["detail"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["type"] == "tx")
            .map(|d| d["valueString"].clone())
    };
    let txs: BTreeSet<String> = granted
        .iter()
        .map(|e| tx_of(e).unwrap().as_str().unwrap().to_owned())
        .collect();
    assert_eq!(txs.len(), 1, "{txs:?}");
    // Every entry of the bundle has its own fullUrl (FHIR bdl-7).
    let urls: BTreeSet<&str> = entries
        .iter()
        .map(|e| e["fullUrl"].as_str().unwrap())
        .collect();
    assert_eq!(urls.len(), entries.len(), "{urls:?}");
}
