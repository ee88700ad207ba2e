//! The front desk. A clinic checks a patient in from a picture of the QR code the
//! patient's wallet made, opens the record the code granted (logged on the ledger), is
//! refused a second check-in with the same code and a picture without one, verifies
//! files against the ledger (registered, altered, unknown), uploads a lab result for the
//! patient (it joins the patient's list with the clinic as author), and once the
//! check-in expires its records no longer open.
//!
//! And the patient's side: the app makes the check-in code (QR and text) on the Keys
//! page, a clinic reads it, and an emergency grant's opening stands out: a red banner on
//! every page until "Seen", one OS notification (caught by a notification server on the
//! test's session bus), and first in the trail.
//!
//! The other party runs through the library crates, as a second machine would.

use std::sync::Arc;

use medwallet_api::{Category, RecordMetadata};
use medwallet_core::{LedgerTarget, Owner, RecordService};
use medwallet_e2e::notifications::Notifications;
use medwallet_e2e::{eventually, App, Nodes};
use medwallet_vault::{Role, Seed, ShareCode, WalletKeys};
use url::Url;

const PASSPHRASE: &str = "orbit lantern velvet quarry mosaic";
const PDF: &[u8] = include_bytes!("../fixtures/lab-report.pdf");

/// A wallet on "another machine": its own data folder, the same nodes.
struct Remote {
    _dir: tempfile::TempDir,
    svc: RecordService,
    keys: WalletKeys,
    owner: Owner,
    ipfs: Url,
    ledger: LedgerTarget,
}

impl Remote {
    fn new(nodes: &Nodes, seed: u8, role: Role, name: &str) -> Remote {
        let dir = tempfile::tempdir().unwrap();
        let keys = WalletKeys::derive(&Seed::from_bytes([seed; 32]), role).unwrap();
        Remote {
            svc: RecordService::new(dir.path()),
            _dir: dir,
            owner: Owner::new(&format!("remote{seed:02x}"), name, &keys),
            keys,
            ipfs: Url::parse(&nodes.ipfs_url).unwrap(),
            ledger: LedgerTarget {
                url: Url::parse(&nodes.ledger_url).unwrap(),
                contract: Some(nodes.contract.parse().unwrap()),
                chain_id: None,
            },
        }
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn a_clinic_checks_a_patient_in_from_a_qr_picture() {
    let nodes = Nodes::start().await;
    let mut env = nodes.app_env();
    env.push(("MEDWALLET_INSECURE_TEST_KDF", "1".to_owned()));
    let mut app = App::launch("front-desk", &env).await;
    app.create_wallet("clinic", "St Mary's front desk", PASSPHRASE)
        .await;
    app.wait_text("#nav-front-desk", |t| t.contains("Front desk"))
        .await;

    // The patient, on their phone: a record, and a 15-minute check-in granting it,
    // shown as a QR code; the desk takes a picture of it.
    let patient = Remote::new(&nodes, 0x61, Role::Patient, "Ada Lovelace");
    let files = tempfile::tempdir().unwrap();
    let pdf = files.path().join("blood_panel.pdf");
    std::fs::write(&pdf, PDF).unwrap();
    let quiet: medwallet_core::records::Progress = Arc::new(|_| {});
    let record = patient
        .svc
        .add(
            &patient.owner,
            &patient.ipfs,
            &patient.ledger,
            "add",
            &pdf.display().to_string(),
            &RecordMetadata {
                title: "Blood panel".to_owned(),
                category: Category::LabResult,
                date: "2026-03-01".to_owned(),
                author: "Dr. Seacole".to_owned(),
            },
            quiet,
        )
        .await
        .unwrap();
    let offered = patient
        .svc
        .offer_check_in(
            &patient.owner,
            &patient.ipfs,
            &patient.ledger,
            std::slice::from_ref(&record.id),
            15,
        )
        .await
        .unwrap();
    let code = ShareCode::create_with(
        &patient.keys,
        "Ada Lovelace",
        offered.chain_id,
        now(),
        Some(&offered.check_in),
    )
    .unwrap();
    let picture = files.path().join("checkin.png");
    std::fs::write(&picture, medwallet_core::qr::png(&code, 5).unwrap()).unwrap();

    // A picture with no code in it, and a damaged code, are named.
    let blank = files.path().join("xray.png");
    std::fs::write(&blank, include_bytes!("../fixtures/xray.png")).unwrap();
    assert!(!app.exists("input#checkin-picture").await, "no path field");
    app.choose("#checkin-browse", &[&blank]).await;
    app.wait_text("#checkin-picture", |t| t == "xray.png").await;
    app.click("#checkin-submit").await;
    app.wait_text("#checkin-error", |t| {
        t.contains("No check-in code could be read")
    })
    .await;
    let mut damaged = code.clone().into_bytes();
    let at = damaged.len() - 30;
    damaged[at] = if damaged[at] == b'A' { b'B' } else { b'A' };
    app.fill("#checkin-text", &String::from_utf8(damaged).unwrap())
        .await;
    app.click("#checkin-submit").await;
    app.wait_text("#checkin-error", |t| {
        t.contains("changed after it was made")
    })
    .await;
    app.fill("#checkin-text", "").await;

    // Three clicks: Choose picture…, the picture, Check in.
    app.choose("#checkin-browse", &[&picture]).await;
    app.wait_text("#checkin-picture", |t| t == "checkin.png")
        .await;
    app.click("#checkin-submit").await;
    app.wait_text("#checkin-done", |t| {
        t.contains("Ada Lovelace")
            && t.contains(&patient.owner.address)
            && t.contains("asked on their device")
    })
    .await;
    let row = format!("li.checkin-row[data-patient=\"{}\"]", patient.owner.address);
    // Read is only asked: nothing opens until the patient allows it on their device.
    app.find(&format!("{row}[data-state=\"waiting\"] .checkin-waiting"))
        .await;
    app.screenshot("checked-in-waiting").await;
    assert!(!app.exists(&format!("{row} li.shared-row")).await);
    assert_eq!(
        patient
            .svc
            .sync_sharing(&patient.owner, &patient.ipfs, &patient.ledger, true)
            .await,
        None
    );
    let asks = patient
        .svc
        .check_in_asks(&patient.owner, &patient.ledger)
        .await
        .unwrap();
    assert_eq!(asks.len(), 1, "{asks:?}");
    // The desk's screen shows the confirmation code the patient's wallet shows.
    app.wait_text(&format!("{row} .checkin-confirmation"), |t| {
        t == asks[0].confirmation
    })
    .await;
    patient
        .svc
        .answer_check_in(
            &patient.owner,
            &patient.ipfs,
            &patient.ledger,
            &asks[0].check_in_id,
            &asks[0].clinic.address,
            true,
        )
        .await
        .unwrap();
    // The desk's list reads itself again until the answer is there.
    // Listed by its id, not opened yet (nothing decrypted before the opening is logged).
    let shared = format!(
        "{row}[data-state=\"allowed\"] li.shared-row[data-record-id=\"{}\"]",
        record.id
    );
    app.find(&format!("{shared}[data-opened=\"false\"]")).await;
    app.find(&shared).await;
    app.screenshot("checked-in").await;
    app.click(&format!("{shared} .shared-open")).await;
    app.wait_text("#viewer-verified", |t| t.contains("Verified"))
        .await;
    app.screenshot("opened").await;
    app.click("#viewer-close").await;

    // The same code again: refused, a code checks in once.
    app.click("#checkin-submit").await;
    app.wait_text("#checkin-error", |t| {
        t.contains("already used at this desk")
    })
    .await;

    // Check validity: the document as registered, a changed copy, something unknown.
    let copy = files.path().join("copy.pdf");
    std::fs::write(&copy, PDF).unwrap();
    let mut changed = PDF.to_vec();
    let mid = changed.len() / 2;
    changed[mid] ^= 0x20;
    let altered = files.path().join("blood_panel-altered.pdf");
    std::fs::write(&altered, &changed).unwrap();
    let unknown = files.path().join("unknown.txt");
    std::fs::write(&unknown, b"never registered").unwrap();
    for (path, outcome) in [
        (&copy, "registered"),
        (&altered, "altered"),
        (&unknown, "unknown"),
    ] {
        app.choose("#verify-choose", &[path]).await;
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        app.wait_text("#verify-file", |t| t == name).await;
        app.click("#verify-submit").await;
        app.wait_text(
            &format!("#verify-result[data-outcome=\"{outcome}\"]"),
            |t| !t.is_empty(),
        )
        .await;
        app.screenshot(&format!("verify-{outcome}")).await;
    }

    // A lab result made at the desk, for the patient.
    let scan = files.path().join("potassium.txt");
    std::fs::write(&scan, b"Potassium 4.1 mmol/L (3.5-5.1)\n").unwrap();
    app.choose(&format!("{row} .upload-choose"), &[&scan]).await;
    app.wait_text(&format!("{row} .upload-file-name"), |t| {
        t == "potassium.txt"
    })
    .await;
    app.fill(&format!("{row} .upload-title"), "Potassium").await;
    app.click(&format!("{row} .upload-submit")).await;
    app.wait_text(&format!("{row} .upload-done"), |t| {
        t.contains("Potassium") && t.contains(&patient.owner.address)
    })
    .await;
    app.screenshot("uploaded-for-patient").await;
    assert_eq!(
        patient
            .svc
            .sync_sharing(&patient.owner, &patient.ipfs, &patient.ledger, true)
            .await,
        None
    );
    let list = patient.svc.list(&patient.owner).await.unwrap();
    let made = list
        .iter()
        .find(|r| r.title == "Potassium")
        .expect("the lab result is in the patient's list");
    let desk = made.uploaded_by.clone().expect("made by the clinic");

    // The desk's own trail names the check-in.
    app.click("#nav-audit").await;
    app.wait_text(
        "li.audit-entry[data-action=\"checked_in\"] .audit-address",
        |t| t == desk,
    )
    .await;

    // Staff: a key for a doctor, then revoked: the authority moves to epoch 2.
    let doctor = Remote::new(&nodes, 0x64, Role::Doctor, "Dr. Seacole");
    doctor
        .svc
        .list_shared(&doctor.owner, &doctor.ipfs, &doctor.ledger)
        .await
        .unwrap();
    app.click("#nav-staff").await;
    app.fill("#staff-holder", &doctor.owner.address).await;
    app.fill("#staff-attributes", "role:doctor, dept:cardiology")
        .await;
    app.click("#staff-issue").await;
    let staff_row = format!("li.staff-row[data-holder=\"{}\"]", doctor.owner.address);
    app.wait_text(
        &format!("{staff_row}[data-active=\"true\"] .staff-attributes"),
        |t| t == "dept:cardiology, role:doctor",
    )
    .await;
    app.wait_text("#staff-epoch", |t| t.contains("epoch 1"))
        .await;
    app.click(&format!("{staff_row} .staff-revoke")).await;
    app.click(&format!("{staff_row} .staff-revoke-confirm"))
        .await;
    app.find(&format!("{staff_row}[data-active=\"false\"]"))
        .await;
    app.wait_text("#staff-epoch", |t| t.contains("epoch 2"))
        .await;
    app.screenshot("staff-revoked").await;

    // After the check-in's time, nothing of it opens and nothing is uploaded.
    medwallet_ledger::testing::advance_time(&Url::parse(&nodes.ledger_url).unwrap(), 16 * 60)
        .await
        .unwrap();
    app.click("#nav-front-desk").await;
    app.find(&format!("{row}[data-expired=\"true\"]")).await;
    assert!(!app.exists(&format!("{row} .upload-choose")).await);
    assert!(!app.exists(&shared).await);
    app.screenshot("expired").await;
    app.close().await;
}

#[tokio::test]
async fn a_patient_shows_a_check_in_code_and_sees_an_emergency_opening() {
    let nodes = Nodes::start().await;
    // The desktop's notification server, on the session bus the app is started under.
    let notifications = Notifications::serve().await;
    let mut env = nodes.app_env();
    env.push(("MEDWALLET_INSECURE_TEST_KDF", "1".to_owned()));
    let mut app = App::launch("check-in-code", &env).await;
    let words = app
        .create_wallet("patient", "Ada Lovelace", PASSPHRASE)
        .await;
    let files = tempfile::tempdir().unwrap();
    let pdf = files.path().join("allergies.pdf");
    std::fs::write(&pdf, PDF).unwrap();
    app.wait_records_empty().await;
    app.choose("#add-pick", &[&pdf]).await;
    app.click("#add-confirm").await;
    let row = "li.record-row[data-title=\"Allergies\"]";
    app.wait_text(&format!("{row} .record-ledger"), |t| {
        t.contains("On the ledger")
    })
    .await;

    // Keys page: the record, one hour, Make check-in code: a QR code and its text.
    app.click("#nav-keys").await;
    app.click("input[type=\"checkbox\"][data-record-id]").await;
    app.click("#checkin-make").await;
    let _ = app.find("#checkin-qr svg").await.scroll_into_view().await;
    app.wait_text("#checkin-expires", |t| t.contains("1 record"))
        .await;
    app.screenshot("check-in-code").await;
    let text = app
        .find("#checkin-code-text")
        .await
        .prop("textContent")
        .await
        .unwrap()
        .unwrap_or_default();

    // The clinic reads it: only asked, it opens nothing; the patient's app asks them,
    // naming the desk (unverified: the consortium attests nothing about it), and they
    // allow it.
    let clinic = Remote::new(&nodes, 0x62, Role::Clinic, "St Mary's");
    let session = clinic
        .svc
        .check_in(&clinic.owner, &clinic.ipfs, &clinic.ledger, &text)
        .await
        .unwrap();
    assert_eq!(session.patient_name, "Ada Lovelace");
    assert_eq!(session.state, "waiting");
    assert!(session.records.is_empty(), "{session:?}");
    let ask = format!(
        "li.checkin-ask[data-clinic=\"{}\"][data-verified=\"false\"]",
        clinic.owner.address
    );
    // The patient's background pass (every 10 s) finds the redemption.
    app.wait_text_within(
        &format!("{ask} .checkin-ask-clinic"),
        std::time::Duration::from_secs(90),
        |t| t.starts_with("unverified:"),
    )
    .await;
    // The confirmation code the patient sees is the one the desk's screen shows.
    app.wait_text(&format!("{ask} .checkin-ask-confirmation"), |t| {
        t == session.confirmation
    })
    .await;
    app.screenshot("check-in-asked").await;
    app.click(&format!("{ask} .checkin-allow")).await;
    app.wait_gone(&ask).await;
    let session = clinic
        .svc
        .list_check_ins(&clinic.owner, &clinic.ipfs, &clinic.ledger)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(session.state, "allowed");
    assert_eq!(session.records.len(), 1, "{session:?}");
    clinic
        .svc
        .open_checked_in(
            &clinic.owner,
            &clinic.ipfs,
            &clinic.ledger,
            &session.check_in_id,
            &session.records[0].record_id,
        )
        .await
        .unwrap();

    // Emergency: the patient shares the record with the clinic's emergency staff; a
    // medic with role:emergency opens it; the trail puts it first.
    let medic = Remote::new(&nodes, 0x63, Role::Doctor, "Dr. Quick");
    medic
        .svc
        .list_shared(&medic.owner, &medic.ipfs, &medic.ledger)
        .await
        .unwrap();
    clinic
        .svc
        .issue_staff_key(
            &clinic.owner,
            &clinic.ipfs,
            &clinic.ledger,
            &medic.owner.address,
            &["role:emergency".to_owned()],
        )
        .await
        .unwrap();
    app.click("#nav-records").await;
    app.click(&format!("{row} .record-share")).await;
    app.click("#share-kind-emergency").await;
    app.fill("#share-grantee", &clinic.owner.address).await;
    app.click("#share-review").await;
    app.wait_text("#share-policy", |t| {
        t.contains("role:emergency") || t.contains("emergency")
    })
    .await;
    app.click("#share-confirm").await;
    app.wait_text("#share-result li[data-state=\"active\"]", |t| !t.is_empty())
        .await;
    app.click("#share-close").await;
    let inbox = medic
        .svc
        .list_shared(&medic.owner, &medic.ipfs, &medic.ledger)
        .await
        .unwrap();
    assert!(inbox.records.iter().any(|r| r.emergency), "{inbox:?}");
    medic
        .svc
        .open_shared(
            &medic.owner,
            &medic.ipfs,
            &medic.ledger,
            &inbox.records[0].record_id,
        )
        .await
        .unwrap();

    // The patient's next pass finds it: a red banner on top of every page (which record,
    // who, for which clinic, when) and one OS notification naming the kind and the clinic
    // only. The desk's check-in opening before it raised none.
    let opening = app
        .wait_text("#emergency-banner li.emergency-opening", |t| {
            t.contains("Allergies")
                && t.contains(&medic.owner.address)
                && t.contains(&clinic.owner.address)
        })
        .await;
    app.screenshot("emergency-banner").await;
    let clinic_short = format!(
        "{}…{}",
        &clinic.owner.address[..6],
        &clinic.owner.address[clinic.owner.address.len() - 4..]
    );
    let shown = eventually("the OS notification of the emergency opening", || {
        let shown = notifications.shown();
        async move { (!shown.is_empty()).then_some(shown) }
    })
    .await;
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert_eq!(shown[0].summary, "Emergency access to your records");
    assert_eq!(
        shown[0].body,
        format!("A clinic's emergency staff opened a record ({clinic_short})")
    );

    app.click("#nav-audit").await;
    app.wait_text("#audit-emergency", |t| {
        t.contains("1 emergency access") && t.contains(&medic.owner.address)
    })
    .await;
    app.wait_text(
        "li.audit-entry[data-action=\"checked_in\"] .audit-address",
        |t| t == clinic.owner.address,
    )
    .await;
    app.find("#emergency-banner").await;
    app.screenshot("emergency-in-the-trail").await;

    // Seen: the banner goes. A later pass does not bring it back: the medic's next
    // opening shows alone, the first one stays seen.
    app.click("#emergency-seen").await;
    app.wait_gone("#emergency-banner").await;
    medic
        .svc
        .open_shared(
            &medic.owner,
            &medic.ipfs,
            &medic.ledger,
            &inbox.records[0].record_id,
        )
        .await
        .unwrap();
    app.wait_text("#emergency-banner li.emergency-opening", |t| {
        t.contains("Allergies") && t != opening
    })
    .await;
    assert_eq!(
        app.wait_texts("#emergency-banner li.emergency-opening", 1)
            .await
            .len(),
        1
    );
    let shown = eventually("the second OS notification", || {
        let shown = notifications.shown();
        async move { (shown.len() >= 2).then_some(shown) }
    })
    .await;
    assert_eq!(shown.len(), 2, "{shown:?}");
    assert_eq!(shown[1], shown[0]);
    app.click("#emergency-seen").await;
    app.wait_gone("#emergency-banner").await;
    app.click("#nav-records").await;
    app.wait_text(&format!("{row} .record-ledger"), |t| {
        t.contains("On the ledger")
    })
    .await;
    assert!(!app.exists("#emergency-banner").await);
    // Neither the record's title, its file's name nor the patient's name is in the log.
    app.assert_logs_keep_secrets(&words, &["Allergies", "allergies.pdf", "Ada Lovelace"]);
    app.close().await;
}
