//! A patient adds a PDF and an X-ray image and shares the PDF with a doctor, then loses the
//! computer: on another one (a fresh, empty app data folder, the same nodes) they restore
//! the same 24 words. The wallet is rebuilt from the ledger and the IPFS node: the Records
//! page shows both records, the PDF opens verified, the Shared page lists the grant to the
//! doctor with its expiry, and revoking it from the restored wallet re-encrypts the record
//! without the doctor, whose wallet then cannot open it.
//!
//! The doctor's wallet runs through the library crates, as a second machine would (as in
//! the sharing story).

use std::time::Duration;

use medwallet_core::{CoreError, InboxError, LedgerTarget, Owner, RecordService};
use medwallet_e2e::{App, Nodes};
use medwallet_vault::{Role, Seed, WalletKeys};
use url::Url;

const PASSPHRASE: &str = "orbit lantern velvet quarry mosaic";
const PDF: &[u8] = include_bytes!("../fixtures/lab-report.pdf");
const PNG: &[u8] = include_bytes!("../fixtures/xray.png");

/// How long the rebuild may take: it reads the whole (small) chain and opens two records
/// from IPFS, after the app started and the wallet was restored.
const REBUILD_TIMEOUT: Duration = Duration::from_secs(120);

#[tokio::test]
async fn restore_from_the_kit_rebuilds_records_and_grants() {
    let nodes = Nodes::start().await;
    let mut env = nodes.app_env();
    env.push(("MEDWALLET_INSECURE_TEST_KDF", "1".to_owned()));
    let mut app = App::launch("restore_before", &env).await;
    let words = app
        .create_wallet("patient", "Ada Lovelace", PASSPHRASE)
        .await;

    // The doctor's wallet, on "another machine": it publishes its keys on the ledger when
    // it first looks for records shared with it.
    let doctor_dir = tempfile::tempdir().unwrap();
    let doctor_svc = RecordService::new(doctor_dir.path());
    let doctor_keys = WalletKeys::derive(&Seed::from_bytes([0x5e; 32]), Role::Doctor).unwrap();
    let doctor = Owner::new("doctor", "Dr. Seacole", &doctor_keys);
    let ipfs = Url::parse(&nodes.ipfs_url).unwrap();
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

    // Two records, both registered on the ledger.
    let files = tempfile::tempdir().unwrap();
    let pdf = files.path().join("blood_panel.pdf");
    let png = files.path().join("chest_xray.png");
    std::fs::write(&pdf, PDF).unwrap();
    std::fs::write(&png, PNG).unwrap();
    app.wait_records_empty().await;
    app.choose("#add-pick", &[&pdf, &png]).await;
    app.wait_text("fieldset.draft:nth-of-type(2)", |t| !t.is_empty())
        .await;
    app.click("#add-confirm").await;
    let pdf_row = "li.record-row[data-title=\"Blood panel\"]";
    let png_row = "li.record-row[data-title=\"Chest xray\"]";
    for row in [pdf_row, png_row] {
        app.wait_text(&format!("{row} .record-ledger"), |t| {
            t.contains("On the ledger")
        })
        .await;
    }
    app.screenshot("two-records").await;

    // The PDF shared with the doctor (their share code), for 30 days.
    app.click(&format!("{pdf_row} .record-share")).await;
    app.find("#share-dialog").await;
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
    app.wait_text("#share-policy", |t| t.contains(&doctor.address))
        .await;
    app.click("#share-confirm").await;
    app.wait_text("#share-result li[data-state=\"active\"]", |t| {
        t.contains("Shared: on the ledger")
    })
    .await;
    app.click("#share-close").await;
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
    let record_id = inbox.records[0].record_id.clone();
    app.screenshot("shared-before").await;
    // The computer is lost: this data folder is gone with it.
    app.close().await;

    // Another computer: an empty data folder, the same nodes, the same 24 words.
    // Debug, so the log checked at the end holds everything medwallet can write.
    env.push(("MEDWALLET_LOG", "debug".to_owned()));
    let mut restored = App::launch("restore_after", &env).await;
    restored
        .wait_text("#onboarding-title", |t| t.contains("Welcome"))
        .await;
    restored.click("#start-restore").await;
    // The form says what a restore brings back and what it needs.
    let scope = restored
        .wait_text("#restore-scope", |t| !t.is_empty())
        .await;
    assert!(scope.contains("24 words bring back your keys"), "{scope}");
    assert!(scope.contains("IPFS node that still holds them"), "{scope}");
    restored.fill("#restore-phrase", &words.join(" ")).await;
    // The chain the printed kit names (the app's default ledger): the same as the node's.
    restored
        .fill(
            "#restore-chain",
            &medwallet_devnodes::LOCAL_CHAIN_ID.to_string(),
        )
        .await;
    restored.click("#role-patient").await;
    restored.fill("#wallet-name", "Ada (new laptop)").await;
    restored.fill("#passphrase", PASSPHRASE).await;
    restored.fill("#passphrase-again", PASSPHRASE).await;
    restored.screenshot("restore-form").await;
    restored.click("#restore-wallet").await;

    // The Records page shows the rebuild, which runs by itself, until it is done.
    restored.find("#rebuild-status").await;
    restored.screenshot("rebuild-progress").await;
    let summary = restored
        .wait_text_within(
            "#rebuild-status[data-state=\"done\"]",
            REBUILD_TIMEOUT,
            |t| t.contains("Rebuilt from the ledger"),
        )
        .await;
    assert!(summary.contains("2 records"), "{summary}");
    assert!(summary.contains("1 grant"), "{summary}");
    assert!(!summary.contains("not found"), "{summary}");
    restored.screenshot("rebuild-done").await;

    // Both records are back, and nothing is listed as missing from IPFS.
    restored
        .wait_text("#records-list", |t| {
            t.contains("Blood panel") && t.contains("Chest xray")
        })
        .await;
    restored.wait_texts("li.record-row", 2).await;
    assert!(
        !restored.exists("#unrecovered").await,
        "every record was found on the IPFS node"
    );
    restored.screenshot("records-rebuilt").await;

    // The PDF opens, verified from IPFS with the restored keys.
    restored.click(&format!("{pdf_row} .record-open")).await;
    let verified = restored
        .wait_text("#viewer-verified", |t| {
            t.contains("Verified: content, manifest and capsule")
        })
        .await;
    assert!(verified.contains("from IPFS"), "{verified}");
    restored
        .find("#viewer-content[data-kind=\"pdf\"] #viewer-page-2")
        .await;
    restored.screenshot("pdf-open").await;
    restored.click("#viewer-close").await;

    // The grant to the doctor is on the Shared page, with its expiry, and can be revoked.
    restored.click("#nav-shared").await;
    let grant = "li.grant-row[data-state=\"active\"]";
    restored
        .wait_text(&format!("{grant} .grantee"), |t| t == doctor.address)
        .await;
    let row = restored.wait_text(grant, |t| !t.is_empty()).await;
    assert!(row.contains("Blood panel"), "{row}");
    assert!(row.contains("until"), "the expiry is back: {row}");
    restored.screenshot("grant-rebuilt").await;
    restored.click(&format!("{grant} .grant-revoke")).await;
    restored.click(".grant-revoke-confirm").await;
    let exposure = restored
        .wait_text(
            "li.grant-row[data-state=\"revoked\"] .exposure-summary",
            |t| t.contains("could have fetched version 1"),
        )
        .await;
    assert!(
        exposure.contains("Version 2 is encrypted under a new key"),
        "{exposure}"
    );
    restored.screenshot("revoked").await;

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

    // Settings offers to rebuild again, and shows the last run.
    restored.click("#nav-settings").await;
    restored
        .wait_text("#rebuild-status[data-state=\"done\"]", |t| {
            t.contains("Rebuilt from the ledger")
        })
        .await;
    restored.find("#rebuild-start").await;
    restored.screenshot("settings-rebuild").await;

    // The restore typed the words, and the rebuild read titles: the log holds none of them.
    restored.assert_logs_keep_secrets(
        &words,
        &[
            PASSPHRASE,
            "Ada Lovelace",
            "Ada (new laptop)",
            "Blood panel",
            "Chest xray",
            "blood_panel",
            "chest_xray",
        ],
    );
    restored.close().await;
}
