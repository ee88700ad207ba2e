//! Restoring from the 24 words: the same keys in an empty data folder, and the wallet
//! rebuilt from the ledger and IPFS alone (records, versions, grants, groups, expiries,
//! a clinic's epoch and staff), compared field by field with the wallet that made them.

use medwallet_api::{GrantSummary, RebuildState, RebuildStatus, RecordSummary};
use medwallet_core::RebuildService;

use super::*;

const PNG: &[u8] = include_bytes!("../../../../../tests/fixtures/xray.png");
const DICOM: &[u8] = include_bytes!("../../../../../tests/fixtures/ct.dcm");
const FHIR: &[u8] = include_bytes!("../../../../../tests/fixtures/summary.fhir.json");

/// The same keys as `seed_byte`'s wallet, under a new wallet id: what a restore from the
/// recovery phrase on another computer unlocks.
fn restored(seed_byte: u8, role: Role, name: &str) -> Owner {
    Owner::new(
        &format!("{:030x}ff", seed_byte),
        name,
        &keys(seed_byte, role),
    )
}

/// A new computer: an empty data folder with its own records and trail.
struct Device {
    records: RecordService,
    audit: AuditService,
    rebuild: RebuildService,
}

impl Device {
    fn new(nodes: &Nodes, name: &str) -> Self {
        let dir = nodes.root.join(name);
        Self {
            records: RecordService::new(&dir),
            audit: AuditService::new(&dir),
            rebuild: RebuildService::new(),
        }
    }

    /// Asks for a rebuild and runs it to its end.
    async fn rebuild(&self, nodes: &Nodes, owner: &Owner) -> RebuildStatus {
        self.ask(owner).await;
        self.run(nodes, owner, &nodes.ledger).await
    }

    async fn ask(&self, owner: &Owner) {
        self.rebuild
            .ask(&self.records, &owner.wallet_id)
            .await
            .unwrap();
    }

    /// Runs the rebuild asked for against `ledger`.
    async fn run(&self, nodes: &Nodes, owner: &Owner, ledger: &LedgerTarget) -> RebuildStatus {
        self.rebuild
            .run(&self.records, &self.audit, owner, &nodes.ipfs, ledger)
            .await
            .unwrap()
    }
}

/// A grant as both wallets must show it (the request time is the device's clock on one
/// and the block's on the other, so it is left out).
fn grant_view(g: &GrantSummary) -> String {
    format!(
        "{} {:?} {} {:?} {:?} {:?} {:?} {:?} {:?}",
        g.record_id,
        g.record_title,
        g.grantee,
        g.clause,
        g.group,
        g.expires_at,
        g.expired,
        g.state,
        g.tx_hash
    )
}

fn grants_of(list: &[GrantSummary]) -> Vec<String> {
    // A member's removal and a clinic's rotation are the device's work, not grants.
    let mut v: Vec<String> = list
        .iter()
        .filter(|g| !g.leave && !g.rotation)
        .map(grant_view)
        .collect();
    v.sort();
    v
}

/// Asks the node to collect its unpinned blocks (`repo/gc`), reading the whole answer.
async fn repo_gc(ipfs: &Url) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = format!("{}:{}", ipfs.host_str().unwrap(), ipfs.port().unwrap());
    let mut stream = tokio::net::TcpStream::connect(&host).await.unwrap();
    let request = format!(
        "POST /api/v0/repo/gc HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

fn by_id(mut list: Vec<RecordSummary>) -> Vec<RecordSummary> {
    list.sort_by(|a, b| a.id.cmp(&b.id));
    list
}

#[tokio::test]
async fn a_patient_restored_from_its_words_gets_every_record_grant_group_and_expiry_back() {
    let nodes = Nodes::start().await;
    let svc = |name| nodes.service(name);
    let (patient_svc, doc_svc, doc2_svc, clinic_svc, m1_svc, m2_svc) = (
        svc("patient"),
        svc("doctor"),
        svc("doctor2"),
        svc("clinic"),
        svc("m1"),
        svc("m2"),
    );
    let patient = wallet(151, Role::Patient, "Ada");
    let doctor = wallet(152, Role::Doctor, "Dr. Who");
    let doctor2 = wallet(153, Role::Doctor, "Dr. Two");
    let clinic = wallet(154, Role::Clinic, "St Mary's");
    let m1 = wallet(155, Role::Doctor, "Member one");
    let m2 = wallet(156, Role::Doctor, "Member two");
    for (s, w) in [
        (&doc_svc, &doctor),
        (&doc2_svc, &doctor2),
        (&m1_svc, &m1),
        (&m2_svc, &m2),
    ] {
        s.list_shared(w, &nodes.ipfs, &nodes.ledger).await.unwrap();
    }
    // The clinic publishes its parameters with its first staff key.
    clinic_svc
        .issue_staff_key(
            &clinic,
            &nodes.ipfs,
            &nodes.ledger,
            &doctor2.address,
            &["role:doctor".to_owned()],
        )
        .await
        .unwrap();

    // Five records of five kinds.
    let pdf = add(
        &nodes,
        &patient_svc,
        &patient,
        "lab.pdf",
        PDF,
        "Blood panel",
    )
    .await;
    let png = add(
        &nodes,
        &patient_svc,
        &patient,
        "xray.png",
        PNG,
        "Chest X-ray",
    )
    .await;
    let dcm = add(&nodes, &patient_svc, &patient, "ct.dcm", DICOM, "CT head").await;
    let fhir = add(
        &nodes,
        &patient_svc,
        &patient,
        "summary.fhir.json",
        FHIR,
        "Summary",
    )
    .await;
    let txt = add(
        &nodes,
        &patient_svc,
        &patient,
        "note.txt",
        TEXT,
        "Visit note",
    )
    .await;

    let share = |req: ShareRequest| {
        let (svc, patient, nodes) = (&patient_svc, &patient, &nodes);
        async move {
            svc.share(patient, &nodes.ipfs, &nodes.ledger, &req)
                .await
                .unwrap()
        }
    };
    // Two with a doctor (one for 30 days), one with a role at the clinic, one with a
    // group of two, one revoked, one left to expire.
    share(share_with(&pdf, &doctor.address, None)).await;
    share(share_with(&png, &doctor.address, Some(30))).await;
    share(share_role(&dcm, &clinic.address, "role:doctor")).await;
    for member in [&m1.address, &m2.address] {
        patient_svc
            .add_group_member(&patient, &nodes.ipfs, &nodes.ledger, "careteam", member)
            .await
            .unwrap();
    }
    share(share_group(std::slice::from_ref(&fhir), "careteam")).await;
    // A third member joins and leaves: the group moves to epoch 2 without them.
    let m3 = wallet(157, Role::Doctor, "Member three");
    svc("m3")
        .list_shared(&m3, &nodes.ipfs, &nodes.ledger)
        .await
        .unwrap();
    patient_svc
        .add_group_member(
            &patient,
            &nodes.ipfs,
            &nodes.ledger,
            "careteam",
            &m3.address,
        )
        .await
        .unwrap();
    let groups = patient_svc
        .remove_group_member(
            &patient,
            &nodes.ipfs,
            &nodes.ledger,
            "careteam",
            &m3.address,
        )
        .await
        .unwrap();
    assert_eq!(
        (groups[0].epoch, groups[0].members.len()),
        (2, 2),
        "{groups:?}"
    );
    share(share_with(&txt, &doctor2.address, None)).await;
    patient_svc
        .revoke(
            &patient,
            &nodes.ipfs,
            &nodes.ledger,
            &txt,
            &doctor2.address,
            None,
        )
        .await
        .unwrap();
    share(share_with(&txt, &doctor.address, Some(1))).await;
    medwallet_ledger::testing::advance_time(&nodes.ledger.url, 2 * 86_400)
        .await
        .unwrap();
    assert_eq!(
        patient_svc
            .sync_sharing(&patient, &nodes.ipfs, &nodes.ledger, true)
            .await,
        None
    );

    // A record a front desk made for the patient, adopted by the patient's pass.
    let offered = patient_svc
        .offer_check_in(&patient, &nodes.ipfs, &nodes.ledger, &[], 15)
        .await
        .unwrap();
    let code = medwallet_vault::ShareCode::create_with(
        &keys(151, Role::Patient),
        "Ada",
        offered.chain_id,
        now(),
        Some(&offered.check_in),
    )
    .unwrap();
    let session = clinic_svc
        .check_in(&clinic, &nodes.ipfs, &nodes.ledger, &code)
        .await
        .unwrap();
    // The patient allows the desk on their device.
    assert_eq!(
        patient_svc
            .sync_sharing(&patient, &nodes.ipfs, &nodes.ledger, true)
            .await,
        None
    );
    let asks = patient_svc
        .check_in_asks(&patient, &nodes.ledger)
        .await
        .unwrap();
    answer(&nodes, &patient_svc, &patient, &asks[0].check_in_id, true)
        .await
        .unwrap();
    let scan = nodes.file("scan.txt", b"Potassium 4.1 mmol/L\n");
    clinic_svc
        .upload_for_patient(
            &clinic,
            &nodes.ipfs,
            &nodes.ledger,
            &session.check_in_id,
            &scan,
            &meta("Potassium"),
        )
        .await
        .unwrap();
    assert_eq!(
        patient_svc
            .sync_sharing(&patient, &nodes.ipfs, &nodes.ledger, true)
            .await,
        None
    );
    let original = by_id(patient_svc.list(&patient).await.unwrap());
    assert_eq!(original.len(), 6, "{original:?}");
    let original_grants = patient_svc.list_grants(&patient).await.unwrap();

    // The laptop is lost: the same words on a new computer.
    let device = Device::new(&nodes, "new-laptop");
    let ada = restored(151, Role::Patient, "Ada");
    assert_eq!(
        device
            .rebuild
            .status(&device.records, &ada)
            .await
            .unwrap()
            .state,
        RebuildState::Idle
    );
    let status = device.rebuild(&nodes, &ada).await;
    assert_eq!(status.state, RebuildState::Done, "{status:?}");
    assert_eq!(
        (
            status.records_found,
            status.records_opened,
            status.not_found
        ),
        (6, 6, 0),
        "{status:?}"
    );
    assert_eq!(status.problem, None);
    assert!(status.head > 0 && status.block == status.head, "{status:?}");

    // Records, field by field, and every version.
    let rebuilt = by_id(device.records.list(&ada).await.unwrap());
    assert_eq!(rebuilt, original);
    // Every version the node still holds comes back; a version a revocation replaced was
    // removed from the node (unpinned and garbage-collected), and only ever a replaced one.
    let node = medwallet_records::IpfsNode::new(&nodes.ipfs).unwrap();
    for r in &original {
        let mut expected = Vec::new();
        for v in patient_svc.history(&patient, &r.id).await.unwrap() {
            let held = node
                .has_locally(&v.content_cid.parse().unwrap())
                .await
                .unwrap();
            assert!(held || v.version < r.version, "{} v{}", r.title, v.version);
            if held {
                expected.push(v);
            }
        }
        assert_eq!(
            device.records.history(&ada, &r.id).await.unwrap(),
            expected,
            "{}",
            r.title
        );
        let opened = device.records.open(&ada, &nodes.ipfs, &r.id).await.unwrap();
        assert_eq!(opened.verification.source, "ipfs");
        assert_eq!(opened.record, *r);
    }
    assert!(device
        .rebuild
        .unrecovered(&device.records, &ada)
        .await
        .unwrap()
        .is_empty());

    // Grants (active, revoked, expired), groups and their epoch.
    let rebuilt_grants = device.records.list_grants(&ada).await.unwrap();
    assert_eq!(grants_of(&rebuilt_grants), grants_of(&original_grants));
    // Members are listed by when they joined: here the device's clock, there the block
    // that carried their key; the same people either way.
    let sorted = |mut groups: Vec<medwallet_api::GroupSummary>| {
        groups.iter_mut().for_each(|g| g.members.sort());
        groups
    };
    assert_eq!(
        sorted(device.records.list_groups(&ada).await.unwrap()),
        sorted(patient_svc.list_groups(&patient).await.unwrap())
    );

    // A second run adds nothing.
    let again = device.rebuild(&nodes, &ada).await;
    assert_eq!(again.state, RebuildState::Done);
    assert_eq!(again.grants_found, 0, "{again:?}");
    assert_eq!(device.records.list(&ada).await.unwrap().len(), 6);
    assert_eq!(
        device.records.list_grants(&ada).await.unwrap().len(),
        rebuilt_grants.len()
    );

    // The restored wallet manages them: a revocation re-encrypts and shuts the doctor out.
    device
        .records
        .revoke(
            &ada,
            &nodes.ipfs,
            &nodes.ledger,
            &pdf,
            &doctor.address,
            None,
        )
        .await
        .unwrap();
    let revoked = device
        .records
        .list_grants(&ada)
        .await
        .unwrap()
        .into_iter()
        .find(|g| {
            g.record_id == pdf && g.grantee == doctor.address && g.state == GrantState::Revoked
        })
        .expect("the revocation");
    assert!(revoked.exposure.is_some(), "{revoked:?}");
    let latest = device.records.list(&ada).await.unwrap();
    assert_eq!(latest.iter().find(|r| r.id == pdf).unwrap().version, 2);
    let inbox = doc_svc
        .list_shared(&doctor, &nodes.ipfs, &nodes.ledger)
        .await
        .unwrap();
    assert!(
        inbox.records.iter().all(|r| r.record_id != pdf),
        "{inbox:?}"
    );
    let e = doc_svc
        .open_shared(&doctor, &nodes.ipfs, &nodes.ledger, &pdf)
        .await
        .unwrap_err();
    assert!(matches!(e, CoreError::Inbox(_)), "{e:?}");
    // The old wallet's own device still opens it (its keys are the same).
    device.records.open(&ada, &nodes.ipfs, &pdf).await.unwrap();
}

#[tokio::test]
async fn a_clinic_restored_keeps_its_epoch_and_its_revoked_staff_stay_revoked() {
    let mut nodes = Nodes::start().await;
    let svc = |name| nodes.service(name);
    let (patient_svc, clinic_svc, alice_svc, bob_svc) =
        (svc("patient"), svc("clinic"), svc("alice"), svc("bob"));
    let patient = wallet(161, Role::Patient, "Ada");
    let clinic = wallet(162, Role::Clinic, "St Mary's");
    let alice = wallet(163, Role::Doctor, "Dr. Alice");
    let bob = wallet(164, Role::Doctor, "Dr. Bob");
    hire(
        &nodes,
        (&clinic_svc, &clinic),
        &[(&alice_svc, &alice), (&bob_svc, &bob)],
        &["dept:cardiology", "role:doctor"],
    )
    .await;
    let record = add(&nodes, &patient_svc, &patient, "lab.pdf", PDF, "Echo").await;
    patient_svc
        .share(
            &patient,
            &nodes.ipfs,
            &nodes.ledger,
            &share_role(&record, &clinic.address, "role:doctor AND dept:cardiology"),
        )
        .await
        .unwrap();
    clinic_svc
        .revoke_staff_key(&clinic, &nodes.ipfs, &nodes.ledger, &bob.address)
        .await
        .unwrap();
    // The patient re-encrypts for epoch 2.
    assert_eq!(
        patient_svc
            .sync_sharing(&patient, &nodes.ipfs, &nodes.ledger, true)
            .await,
        None
    );
    let original_staff = clinic_svc.list_staff(&clinic).await.unwrap();
    assert_eq!(original_staff.epoch, 2);
    let authority_events = |nodes: &Nodes| {
        let (url, contract) = (nodes.ledger.url.clone(), nodes.ledger.contract.unwrap());
        async move {
            let node = LedgerNode::new(&url);
            let head = node.status().await.unwrap().block_height;
            node.fetch_events(contract, 0, head, &EventFilter::All)
                .await
                .unwrap()
                .events
                .iter()
                .filter(|e| matches!(e.event, LedgerEvent::AuthorityPublished { .. }))
                .count()
        }
    };
    let published_before = authority_events(&nodes).await;

    // The clinic's laptop is lost. Until its rebuild is done, the restored wallet sends
    // nothing: not its pass, not a staff key asked for meanwhile.
    let device = Device::new(&nodes, "clinic-new");
    let restored_clinic = restored(162, Role::Clinic, "St Mary's");
    device.ask(&restored_clinic).await;
    let waits = device
        .records
        .sync_sharing(&restored_clinic, &nodes.ipfs, &nodes.ledger, true)
        .await
        .unwrap_or_default();
    assert!(waits.contains("being rebuilt"), "{waits}");
    let carol = wallet(165, Role::Doctor, "Dr. Carol");
    svc("carol")
        .list_shared(&carol, &nodes.ipfs, &nodes.ledger)
        .await
        .unwrap();
    let e = device
        .records
        .issue_staff_key(
            &restored_clinic,
            &nodes.ipfs,
            &nodes.ledger,
            &carol.address,
            &["role:nurse".to_owned()],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&e, CoreError::During { source, .. }
            if matches!(**source, CoreError::Rebuild(medwallet_core::RebuildError::Unfinished))),
        "{e:?}"
    );
    assert_eq!(authority_events(&nodes).await, published_before);
    let status = device.rebuild(&nodes, &restored_clinic).await;
    assert_eq!(status.state, RebuildState::Done, "{status:?}");
    let staff = device.records.list_staff(&restored_clinic).await.unwrap();
    assert_eq!(staff.epoch, 2, "the epoch on the ledger, never back to 1");
    // Carol's key, asked for during the rebuild, waits here for the pass.
    let view = |l: &medwallet_api::StaffList| {
        let mut v: Vec<(String, Vec<String>, bool)> = l
            .members
            .iter()
            .filter(|m| m.holder != carol.address)
            .map(|m| (m.holder.clone(), m.attributes.clone(), m.active))
            .collect();
        v.sort();
        v
    };
    assert_eq!(view(&staff), view(&original_staff));

    // Its pass publishes nothing older and re-keys no one: patients are not asked to
    // re-encrypt.
    assert_eq!(
        device
            .records
            .sync_sharing(&restored_clinic, &nodes.ipfs, &nodes.ledger, true)
            .await,
        None
    );
    assert_eq!(authority_events(&nodes).await, published_before);
    assert_eq!(
        patient_svc
            .sync_sharing(&patient, &nodes.ipfs, &nodes.ledger, true)
            .await,
        None
    );
    assert_eq!(
        patient_svc
            .list_grants(&patient)
            .await
            .unwrap()
            .iter()
            .filter(|g| g.rotation)
            .count(),
        1,
        "only the rotation for Bob's revocation"
    );

    // A key the restored clinic issues is of epoch 2: it opens the record; Bob's opens
    // nothing made after.
    device
        .records
        .issue_staff_key(
            &restored_clinic,
            &nodes.ipfs,
            &nodes.ledger,
            &bob.address,
            &["role:nurse".to_owned()],
        )
        .await
        .unwrap();
    alice_svc
        .open_shared(&alice, &nodes.ipfs, &nodes.ledger, &record)
        .await
        .unwrap();
    let e = bob_svc
        .open_shared(&bob, &nodes.ipfs, &nodes.ledger, &record)
        .await
        .unwrap_err();
    assert!(matches!(e, CoreError::Inbox(_)), "{e:?}");
    assert_eq!(authority_events(&nodes).await, published_before);

    // A doctor restored: nothing of its own to rebuild; what is shared with it is read
    // from the ledger as before, and opens with its restored keys.
    let doctors_new = Device::new(&nodes, "alice-new");
    let alice_again = restored(163, Role::Doctor, "Dr. Alice");
    let status = doctors_new.rebuild(&nodes, &alice_again).await;
    assert_eq!(
        (
            status.state,
            status.records_found,
            status.problem.as_deref()
        ),
        (RebuildState::Done, 0, None),
        "{status:?}"
    );
    let inbox = doctors_new
        .records
        .list_shared(&alice_again, &nodes.ipfs, &nodes.ledger)
        .await
        .unwrap();
    assert_eq!(inbox.records.len(), 1, "{inbox:?}");
    doctors_new
        .records
        .open_shared(&alice_again, &nodes.ipfs, &nodes.ledger, &record)
        .await
        .unwrap();

    // A rebuild on a device that is ahead of the ledger (a staff key revoked here while
    // the ledger was down) keeps the newer epoch and leaves it to be published.
    nodes.stop_ledger();
    let ahead = device
        .records
        .revoke_staff_key(&restored_clinic, &nodes.ipfs, &nodes.ledger, &alice.address)
        .await
        .unwrap();
    assert_eq!(ahead.epoch, 3);
    assert!(ahead.problem.is_some(), "{ahead:?}");
    nodes.restart_ledger();
    let status = device.rebuild(&nodes, &restored_clinic).await;
    assert_eq!(status.state, RebuildState::Done, "{status:?}");
    assert_eq!(
        device
            .records
            .list_staff(&restored_clinic)
            .await
            .unwrap()
            .epoch,
        3
    );
    assert_eq!(authority_events(&nodes).await, published_before);
    assert_eq!(
        device
            .records
            .sync_sharing(&restored_clinic, &nodes.ipfs, &nodes.ledger, true)
            .await,
        None
    );
    assert_eq!(authority_events(&nodes).await, published_before + 1);
    // And a rebuild after that reads epoch 3 back.
    let newest = Device::new(&nodes, "clinic-newest");
    let again = restored(162, Role::Clinic, "St Mary's");
    assert_eq!(
        newest.rebuild(&nodes, &again).await.state,
        RebuildState::Done
    );
    assert_eq!(newest.records.list_staff(&again).await.unwrap().epoch, 3);
}

#[tokio::test]
async fn records_whose_blocks_are_gone_are_listed_and_a_cancelled_rebuild_resumes() {
    let mut nodes = Nodes::start().await;
    let patient_svc = nodes.service("patient");
    let patient = wallet(171, Role::Patient, "Ada");
    let kept = add(
        &nodes,
        &patient_svc,
        &patient,
        "lab.pdf",
        PDF,
        "Blood panel",
    )
    .await;
    let lost = add(
        &nodes,
        &patient_svc,
        &patient,
        "note.txt",
        TEXT,
        "Visit note",
    )
    .await;
    let lost_row = patient_svc
        .list(&patient)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.id == lost)
        .unwrap();
    let history = patient_svc.history(&patient, &lost).await.unwrap();
    assert_eq!(history.len(), 1);

    // The lost record's three objects leave the node (unpinned, collected).
    let node = IpfsNode::new(&nodes.ipfs).unwrap();
    let opened = patient_svc
        .open(&patient, &nodes.ipfs, &lost)
        .await
        .unwrap();
    for cid in [
        &opened.verification.content_cid,
        &opened.verification.manifest_cid,
        &opened.verification.capsule_cid,
    ] {
        node.unpin(&cid.parse().unwrap()).await.unwrap();
    }
    repo_gc(&nodes.ipfs).await;
    assert!(patient_svc
        .open(&patient, &nodes.ipfs, &lost)
        .await
        .is_err());

    // A rebuild cancelled midway keeps what it read; started again, it finishes with no
    // duplicate.
    let device = Device::new(&nodes, "new-laptop");
    let ada = restored(171, Role::Patient, "Ada");
    device.ask(&ada).await;
    let cancelled = {
        let run = device.run(&nodes, &ada, &nodes.ledger);
        let cancel = async {
            // The job exists as soon as `run` claims it.
            while !device.rebuild.is_running(&ada.wallet_id) {
                tokio::task::yield_now().await;
            }
            device.rebuild.cancel(&ada.wallet_id);
        };
        let (status, ()) = tokio::join!(run, cancel);
        status
    };
    assert_eq!(cancelled.state, RebuildState::Cancelled, "{cancelled:?}");
    let status = device.rebuild(&nodes, &ada).await;
    assert_eq!(status.state, RebuildState::Done, "{status:?}");
    assert_eq!(
        (status.records_opened, status.not_found),
        (1, 1),
        "{status:?}"
    );
    let list = device.records.list(&ada).await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].id, kept);
    let unrecovered = device
        .rebuild
        .unrecovered(&device.records, &ada)
        .await
        .unwrap();
    assert_eq!(unrecovered.len(), 1, "{unrecovered:?}");
    let u = &unrecovered[0];
    assert_eq!((u.id.as_str(), u.version), (lost.as_str(), 1));
    assert_eq!(u.manifest_cid, opened.verification.manifest_cid);
    assert_eq!(u.capsule_cid, opened.verification.capsule_cid);
    assert!(
        matches!(&lost_row.ledger, medwallet_api::LedgerMark::Registered { tx_hash, .. } if *tx_hash == u.tx_hash),
        "{lost_row:?}"
    );
    assert!(!u.reason.is_empty() && !u.reason.contains("Visit note"));

    // The ledger on another chain is named with both chain ids; the keys stay restored.
    nodes.stop_ledger();
    let other = Anvil::start(
        &NodeTools::locate().unwrap(),
        &AnvilOptions {
            chain_id: medwallet_devnodes::LOCAL_CHAIN_ID + 1,
            ..AnvilOptions::ephemeral(nodes.root.join("anvil-other"))
        },
    )
    .unwrap();
    let elsewhere = LedgerTarget {
        url: Url::parse(&other.url()).unwrap(),
        contract: nodes.ledger.contract,
        chain_id: None,
    };
    device.ask(&ada).await;
    let status = device.run(&nodes, &ada, &elsewhere).await;
    assert_eq!(status.state, RebuildState::Waiting, "{status:?}");
    let problem = status.problem.unwrap_or_default();
    let (used, found) = (
        medwallet_devnodes::LOCAL_CHAIN_ID,
        medwallet_devnodes::LOCAL_CHAIN_ID + 1,
    );
    assert!(
        problem.contains(&format!("chain {used}")) && problem.contains(&format!("chain {found}")),
        "{problem}"
    );

    // On a new computer, a restore whose kit names the wallet's chain, pointed at a node
    // on another one: named with both ids, not read.
    let kit_says = Device::new(&nodes, "kit-says");
    let from_kit = restored(171, Role::Patient, "Ada");
    kit_says
        .rebuild
        .ask_on(&kit_says.records, &from_kit.wallet_id, Some(used))
        .await
        .unwrap();
    let status = kit_says.run(&nodes, &from_kit, &elsewhere).await;
    assert_eq!(status.state, RebuildState::Waiting, "{status:?}");
    let problem = status.problem.unwrap_or_default();
    assert!(
        problem.contains(&format!("chain {used}")) && problem.contains(&format!("chain {found}")),
        "{problem}"
    );
    assert!(kit_says.records.list(&from_kit).await.unwrap().is_empty());

    // A ledger that does not answer: the rebuild waits, and runs once it is back.
    let fresh = Device::new(&nodes, "third-laptop");
    let again = restored(171, Role::Patient, "Ada");
    fresh.ask(&again).await;
    let waiting = fresh.run(&nodes, &again, &nodes.ledger).await;
    assert_eq!(waiting.state, RebuildState::Waiting, "{waiting:?}");
    assert!(waiting.problem.is_some());
    nodes.restart_ledger();
    let done = fresh.run(&nodes, &again, &nodes.ledger).await;
    assert_eq!(done.state, RebuildState::Done, "{done:?}");
    assert_eq!(fresh.records.list(&again).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_version_another_device_registered_first_is_not_taken_for_this_ones() {
    let nodes = Nodes::start().await;
    let laptop = nodes.service("laptop");
    let ada = wallet(151, Role::Patient, "Ada");
    let doctor = wallet(152, Role::Doctor, "Dr. Lovelace");
    nodes
        .service("doctor")
        .list_shared(&doctor, &nodes.ipfs, &nodes.ledger)
        .await
        .unwrap();
    let record = add(&nodes, &laptop, &ada, "lab.pdf", PDF, "Blood panel").await;
    laptop
        .share(
            &ada,
            &nodes.ipfs,
            &nodes.ledger,
            &share_with(&record, &doctor.address, None),
        )
        .await
        .unwrap();
    // Version 1's objects, as the laptop's own node would keep them: the phone's
    // revocation below collects them from the one node these two devices share here.
    let v1 = laptop.open(&ada, &nodes.ipfs, &record).await.unwrap();
    let node = IpfsNode::new(&nodes.ipfs).unwrap();
    let mut kept = Vec::new();
    for cid in [
        &v1.record.content_cid,
        &v1.verification.manifest_cid,
        &v1.verification.capsule_cid,
    ] {
        let path = nodes.root.join(format!("kept-{cid}"));
        let file = std::fs::File::create(&path).unwrap();
        node.cat_to(&cid.parse().unwrap(), file, 1 << 20)
            .await
            .unwrap();
        kept.push(std::fs::read(&path).unwrap());
    }
    // A second computer with the same words, brought up to date from the ledger, takes
    // the doctor's access back first: its version 2 is the ledger's.
    let phone = Device::new(&nodes, "phone");
    let ada_there = restored(151, Role::Patient, "Ada");
    let status = phone.rebuild(&nodes, &ada_there).await;
    assert_eq!(status.state, RebuildState::Done, "{status:?}");
    let on_phone = phone
        .records
        .revoke(
            &ada_there,
            &nodes.ipfs,
            &nodes.ledger,
            &record,
            &doctor.address,
            None,
        )
        .await
        .unwrap();
    assert!(
        matches!(on_phone.state, GrantState::Revoked),
        "{on_phone:?}"
    );
    for bytes in kept {
        node.add_bytes(bytes).await.unwrap();
    }
    // The laptop, not told, takes it back too, with a version 2 of its own: the ledger's
    // version 2 (the phone's contents) is not taken for it, so the laptop's revocation
    // is not closed on a capsule that never reached the ledger.
    let on_laptop = laptop
        .revoke(
            &ada,
            &nodes.ipfs,
            &nodes.ledger,
            &record,
            &doctor.address,
            None,
        )
        .await
        .unwrap();
    assert!(
        matches!(on_laptop.state, GrantState::Revoking { .. }),
        "{on_laptop:?}"
    );
    let mine = laptop
        .list(&ada)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.id == record)
        .unwrap();
    match &mine.ledger {
        medwallet_api::LedgerMark::Pending { reason } => assert!(
            reason.contains("another device of this wallet changed it"),
            "{reason}"
        ),
        other => panic!(
            "the laptop's version 2 is not the ledger's: {other:?} ({on_laptop:?}, {mine:?})"
        ),
    }
}

#[tokio::test]
async fn every_grant_of_a_batch_transaction_is_restored_and_each_can_be_revoked() {
    let nodes = Nodes::start().await;
    let (patient_svc, doc_svc) = (nodes.service("patient"), nodes.service("doctor"));
    let patient = wallet(181, Role::Patient, "Ada");
    let doctor = wallet(182, Role::Doctor, "Dr. Batch");
    doc_svc
        .list_shared(&doctor, &nodes.ipfs, &nodes.ledger)
        .await
        .unwrap();
    let mut records = Vec::new();
    for i in 0..4 {
        let name = format!("note-{i}.txt");
        let text = format!("note {i}");
        records.push(
            add(
                &nodes,
                &patient_svc,
                &patient,
                &name,
                text.as_bytes(),
                &format!("Note {i}"),
            )
            .await,
        );
    }
    // One share of the four: one `grantAccessBatch` transaction, four `AccessGranted`.
    let request = ShareRequest {
        record_ids: records.clone(),
        ..share_with("", &doctor.address, None)
    };
    let grants = patient_svc
        .share(&patient, &nodes.ipfs, &nodes.ledger, &request)
        .await
        .unwrap();
    assert_eq!(grants.len(), records.len());
    assert!(grants.iter().all(|g| g.state == GrantState::Active));
    let txs: std::collections::BTreeSet<_> = grants.iter().map(|g| g.tx_hash.clone()).collect();
    assert_eq!(txs.len(), 1, "one transaction: {txs:?}");
    let original = patient_svc.list_grants(&patient).await.unwrap();

    // Restored on a new computer: every grant of the transaction is back.
    let device = Device::new(&nodes, "new-laptop");
    let ada = restored(181, Role::Patient, "Ada");
    let status = device.rebuild(&nodes, &ada).await;
    assert_eq!(status.state, RebuildState::Done, "{status:?}");
    assert_eq!(status.problem, None);
    let rebuilt = device.records.list_grants(&ada).await.unwrap();
    assert_eq!(grants_of(&rebuilt), grants_of(&original));
    assert_eq!(rebuilt.len(), records.len());
    // A second run adds none of them again.
    let again = device.rebuild(&nodes, &ada).await;
    assert_eq!(again.state, RebuildState::Done);
    assert_eq!(
        device.records.list_grants(&ada).await.unwrap().len(),
        records.len()
    );

    // The restored wallet takes each back: the doctor opens none of them any more.
    let revoked = device
        .records
        .revoke_records(
            &ada,
            &nodes.ipfs,
            &nodes.ledger,
            &records,
            &doctor.address,
            None,
        )
        .await
        .unwrap();
    assert_eq!(revoked.len(), records.len(), "{revoked:?}");
    assert!(
        revoked.iter().all(|g| g.state == GrantState::Revoked),
        "{revoked:?}"
    );
    let inbox = doc_svc
        .list_shared(&doctor, &nodes.ipfs, &nodes.ledger)
        .await
        .unwrap();
    assert!(inbox.records.is_empty(), "{:?}", inbox.records);
}
