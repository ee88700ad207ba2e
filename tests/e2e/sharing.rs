//! A patient shares a record with a doctor from the Records page, sees the doctor's
//! opening in the audit trail, revokes it on the Shared page and reads the exposure
//! report; the doctor's wallet (run through the library crates, as a second machine
//! would, on its own IPFS node) finds the record on the ledger, opens it (its node
//! fetching the blocks from the patient's over the swarm), and after the revocation
//! cannot.
//! Then the patient puts the doctor in a care team, shares the record with the team,
//! and removes the doctor from it: the team moves to a new epoch and the record is
//! re-encrypted without them, the page showing the re-encryption's progress and end.

use medwallet_api::RecordView;
use medwallet_core::{CoreError, InboxError, LedgerTarget, Owner, RecordService};
use medwallet_e2e::{eventually, App, Nodes};
use medwallet_vault::{Role, Seed, WalletKeys};
use url::Url;

const PASSPHRASE: &str = "orbit lantern velvet quarry mosaic";
const PDF: &[u8] = include_bytes!("../fixtures/lab-report.pdf");

#[tokio::test]
async fn share_with_a_doctor_see_the_opening_and_revoke() {
    // Two machines: the patient's IPFS node A (the app's) and the doctor's node B, each
    // on its own loopback address, peers in the swarm; one ledger.
    let mut nodes = Nodes::start_network(31).await;
    let doctor_node = nodes.add_peer_node(32);
    let mut env = nodes.app_env();
    assert!(
        env.contains(&("MEDWALLET_IPFS_PEERS", doctor_node.swarm_addr.clone())),
        "{env:?}"
    );
    env.push(("MEDWALLET_INSECURE_TEST_KDF", "1".to_owned()));
    let mut app = App::launch("sharing", &env).await;
    app.create_wallet("patient", "Ada Lovelace", PASSPHRASE)
        .await;

    // The doctor's wallet, on "another machine" with its own node B: its keys are
    // published on the ledger (and through B) when it first looks for records shared
    // with it; the patient's app reads them through A.
    let doctor_dir = tempfile::tempdir().unwrap();
    let doctor_svc = RecordService::new(doctor_dir.path());
    let doctor_keys = WalletKeys::derive(&Seed::from_bytes([0x5e; 32]), Role::Doctor).unwrap();
    let doctor = Owner::new("doctor", "Dr. Seacole", &doctor_keys);
    let ipfs = Url::parse(&doctor_node.url).unwrap();
    assert_ne!(doctor_node.url, nodes.ipfs_url);
    let ledger = LedgerTarget {
        url: Url::parse(&nodes.ledger_url).unwrap(),
        contract: Some(nodes.contract.parse().unwrap()),
        chain_id: None,
    };
    let inbox = doctor_svc
        .list_shared(&doctor, &ipfs, &ledger)
        .await
        .unwrap();
    assert!(inbox.records.is_empty());

    // The patient adds a PDF; once registered on the ledger it can be shared.
    let files = tempfile::tempdir().unwrap();
    let pdf = files.path().join("blood_panel.pdf");
    std::fs::write(&pdf, PDF).unwrap();
    app.wait_records_empty().await;
    app.choose("#add-pick", &[&pdf]).await;
    app.click("#add-confirm").await;
    let row = "li.record-row[data-title=\"Blood panel\"]";
    app.wait_text(&format!("{row} .record-ledger"), |t| {
        t.contains("On the ledger")
    })
    .await;
    app.click(&format!("{row} .record-share")).await;

    // The dialog: the record is chosen; a wrong address is named, the doctor's reviewed.
    app.find("#share-dialog").await;
    app.fill("#share-grantee", "0x1234").await;
    app.click("#share-review").await;
    app.wait_text("#share-error", |t| t.contains("not a ledger address"))
        .await;
    // The doctor's share code (from their Keys page), pasted instead of the address.
    let code = medwallet_vault::ShareCode::create(
        &doctor_keys,
        "Dr. Seacole",
        medwallet_devnodes::LOCAL_CHAIN_ID,
        1_800_000_000,
    )
    .unwrap();
    app.fill("#share-grantee", &code).await;
    let select = app.find("#share-expiry").await;
    medwallet_e2e::thirtyfour::components::SelectElement::new(&select)
        .await
        .expect("a select")
        .select_by_value("30")
        .await
        .expect("choose 30 days");
    app.click("#share-review").await;
    app.wait_text("#share-policy", |t| {
        t.contains(&doctor.address) && t.contains("\"Dr. Seacole\" in their share code")
    })
    .await;
    app.screenshot("share-review").await;
    app.click("#share-confirm").await;
    app.wait_text("#share-result li[data-state=\"active\"]", |t| {
        t.contains("Shared: on the ledger")
    })
    .await;
    app.screenshot("shared").await;
    app.click("#share-close").await;

    // The record's content CID, from the patient's verified view of it.
    app.click(&format!("{row} .record-open")).await;
    app.wait_text("#viewer-verified", |t| t.contains("Verified"))
        .await;
    app.click("#viewer-cids summary").await;
    let content_cid = app
        .wait_text("#viewer-content-cid", |t| t.starts_with("b"))
        .await;
    app.screenshot("content-cid").await;
    app.click("#viewer-close").await;

    // The doctor finds it and opens it: the opening is logged on the ledger first.
    let inbox = doctor_svc
        .list_shared(&doctor, &ipfs, &ledger)
        .await
        .unwrap();
    assert_eq!(inbox.records.len(), 1, "{inbox:?}");
    // Listed before any opening is logged: nothing of it decrypted, no title.
    assert_eq!(
        (inbox.records[0].title.as_str(), inbox.records[0].opened),
        ("Not opened yet", false)
    );
    assert!(inbox.records[0].expires_at.is_some());
    let record_id = inbox.records[0].record_id.clone();
    // Node B has not got the content yet: only A has it.
    assert!(
        !doctor_node.has_locally(&content_cid).await,
        "the doctor's node B holds {content_cid} before the doctor opened the record"
    );
    let opened = doctor_svc
        .open_shared(&doctor, &ipfs, &ledger, &record_id)
        .await
        .unwrap();
    assert!(
        matches!(opened.view, RecordView::Pdf { .. }),
        "{:?}",
        opened.record
    );
    // The doctor's wallet opened the version the patient sees, through B, which now
    // holds its blocks: they came from A over the swarm (B's only way to them).
    assert_eq!(opened.verification.content_cid, content_cid);
    assert!(
        doctor_node.has_locally(&content_cid).await,
        "the doctor's node B does not hold {content_cid} after the doctor opened the record"
    );

    // Who viewed: the patient's audit trail shows the doctor's access.
    app.click("#nav-audit").await;
    app.wait_text(
        "li.audit-entry[data-action=\"accessed\"] .audit-address",
        |t| t == doctor.address,
    )
    .await;
    app.screenshot("audit-access").await;

    // Revoke on the Shared page: re-encrypted, revoked, and the exposure report.
    app.click("#nav-shared").await;
    let grant = "li.grant-row[data-state=\"active\"]";
    app.wait_text(&format!("{grant} .grantee"), |t| t == doctor.address)
        .await;
    app.click(&format!("{grant} .grant-revoke")).await;
    app.click(".grant-revoke-confirm").await;
    let summary = app
        .wait_text(
            "li.grant-row[data-state=\"revoked\"] .exposure-summary",
            |t| t.contains("could have fetched version 1"),
        )
        .await;
    assert!(summary.contains("1 opening"), "{summary}");
    assert!(
        summary.contains("Version 2 is encrypted under a new key"),
        "{summary}"
    );
    app.screenshot("revoked").await;

    // The doctor's wallet no longer lists it, and cannot open it.
    let inbox = doctor_svc
        .list_shared(&doctor, &ipfs, &ledger)
        .await
        .unwrap();
    assert!(inbox.records.is_empty(), "{inbox:?}");
    let refused = doctor_svc
        .open_shared(&doctor, &ipfs, &ledger, &record_id)
        .await
        .unwrap_err();
    assert!(
        matches!(refused, CoreError::Inbox(InboxError::NotShared)),
        "{refused:?}"
    );

    // The patient's record, now version 2, still opens verified.
    app.click("#nav-records").await;
    app.click(&format!("{row} .record-open")).await;
    app.wait_text("#viewer-verified", |t| t.contains("Verified"))
        .await;
    app.click("#viewer-close").await;

    // A care team: the doctor joins it on the Shared page, the record is shared with it.
    app.click("#nav-shared").await;
    app.fill("#group-member", &doctor.address).await;
    app.click("#group-add").await;
    app.wait_text(
        "li.group-row[data-group=\"careteam\"] .group-member code",
        |t| t == doctor.address,
    )
    .await;
    app.click("#nav-records").await;
    app.click(&format!("{row} .record-share")).await;
    app.click("#share-kind-group").await;
    app.fill("#share-group", "careteam").await;
    app.click("#share-review").await;
    app.wait_text("#share-policy", |t| {
        t.contains("members of your group careteam (1 now")
    })
    .await;
    app.click("#share-confirm").await;
    app.wait_text("#share-result li[data-state=\"active\"]", |t| {
        t.contains("careteam")
    })
    .await;
    app.click("#share-close").await;
    // The doctor's key for the group is issued by the grant (or, if the ledger refused
    // it for a moment, by the next pass): wait for the inbox to show the share.
    let inbox = eventually("the doctor's inbox shows the group share", || async {
        let inbox = doctor_svc.list_shared(&doctor, &ipfs, &ledger).await.ok()?;
        (inbox.records.len() == 1).then_some(inbox)
    })
    .await;
    assert_eq!(inbox.records[0].version, 2);

    // The doctor leaves the team: epoch 2, version 3 without them, and the report.
    app.click("#nav-shared").await;
    app.click("li.group-row[data-group=\"careteam\"] .group-member-remove")
        .await;
    app.wait_text("li.group-row[data-group=\"careteam\"]", |t| {
        t.contains("epoch 2")
    })
    .await;
    // The page showed the removal's re-encryption, and then how it ended.
    app.wait_text("#sharing-progress[data-state=\"ended\"]", |t| {
        t.contains("Re-encrypted 1 of 1 record.")
    })
    .await;
    let summary = app
        .wait_text(
            "li.grant-row[data-leave=\"true\"][data-state=\"revoked\"] .exposure-summary",
            |t| t.contains("could have fetched version 2"),
        )
        .await;
    assert!(
        summary.contains("Version 3 is encrypted under a new key"),
        "{summary}"
    );
    app.screenshot("left-the-team").await;
    let inbox = doctor_svc
        .list_shared(&doctor, &ipfs, &ledger)
        .await
        .unwrap();
    assert!(inbox.records.is_empty(), "{inbox:?}");
    app.close().await;
}
