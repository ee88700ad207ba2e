//! Sharing against real nodes (js-ipfs and anvil with the real contract): a patient grants
//! a doctor access, the doctor finds and opens the record (logging the access first), the
//! patient's trail shows who viewed it, the patient revokes and gets an honest exposure
//! report, and the doctor's old key cannot open the new version. Expiry, a wallet with no
//! grant, another patient's records, a ledger that is down, and bad input.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use medwallet_abe::UserKey;
use medwallet_api::{
    AuditAction, AuditQuery, Category, GrantState, RecordMetadata, RecordView, ShareRequest,
    TrailPage,
};
use medwallet_core::audit::AuditContext;
use medwallet_core::{
    AuditService, CoreError, FrontDeskError, InboxError, LedgerTarget, Owner, RecordService,
    SharingError, StaffError, Task,
};
use medwallet_devnodes::{Anvil, AnvilOptions, Ipfs, IpfsOptions, NodeTools};
use medwallet_ledger::{EventFilter, LedgerEvent, LedgerNode, PrivateKeySigner};
use medwallet_records::issued_key::{IssuedKey, HPKE_INFO};
use medwallet_records::{capsule, CapsuleError, Cid, IpfsNode};
use medwallet_vault::{Role, Seed, ShareCodeError, WalletKeys};
use url::Url;

#[path = "sharing/batches.rs"]
mod batches;
#[path = "sharing/damaged.rs"]
mod damaged;
#[path = "sharing/disk_full.rs"]
mod disk_full;
#[path = "sharing/network.rs"]
mod network;
#[path = "sharing/quiet.rs"]
mod quiet;
#[path = "sharing/reencrypt.rs"]
mod reencrypt;
#[path = "sharing/restore.rs"]
mod restore;

const PDF: &[u8] = include_bytes!("../../../../tests/fixtures/lab-report.pdf");
const TEXT: &[u8] = include_bytes!("../../../../tests/fixtures/note.txt");

fn keys(seed_byte: u8, role: Role) -> WalletKeys {
    WalletKeys::derive(&Seed::from_bytes([seed_byte; 32]), role).unwrap()
}

fn wallet(seed_byte: u8, role: Role, name: &str) -> Owner {
    Owner::new(&format!("{:032x}", seed_byte), name, &keys(seed_byte, role))
}

struct Nodes {
    _dir: tempfile::TempDir,
    root: PathBuf,
    ipfs_node: Option<Ipfs>,
    ipfs: Url,
    anvil: Option<Anvil>,
    anvil_port: u16,
    ledger: LedgerTarget,
    /// The deployer: the consortium's first admin, who attests providers.
    admin: PrivateKeySigner,
}

impl Nodes {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_owned();
        let tools = NodeTools::locate().unwrap();
        let ipfs = Ipfs::start(&tools, &IpfsOptions::ephemeral(root.join("ipfs"))).unwrap();
        let ipfs_url = Url::parse(&ipfs.api_url()).unwrap();
        let anvil = start_anvil(&root, None);
        let anvil_port = anvil.port();
        let url = Url::parse(&anvil.url()).unwrap();
        let admin = PrivateKeySigner::random();
        let contract = LedgerNode::new(&url).deploy(admin.clone()).await.unwrap();
        Self {
            admin,
            _dir: dir,
            root,
            ipfs_node: Some(ipfs),
            ipfs: ipfs_url,
            anvil: Some(anvil),
            anvil_port,
            ledger: LedgerTarget {
                url,
                contract: Some(contract),
                chain_id: Some(medwallet_devnodes::LOCAL_CHAIN_ID),
            },
        }
    }

    /// Each wallet on its own "machine": its own data folder.
    /// The consortium's admin attests `provider` by `name` (role 1 doctor, 2 clinic).
    async fn attest(&self, provider: &str, name: &str, role: u8) {
        LedgerNode::new(&self.ledger.url)
            .client(self.admin.clone(), self.ledger.contract.unwrap())
            .await
            .unwrap()
            .attest_provider(provider.parse().unwrap(), name, role)
            .await
            .unwrap();
    }

    fn service(&self, name: &str) -> RecordService {
        RecordService::new(&self.root.join(name))
    }

    fn file(&self, name: &str, bytes: &[u8]) -> String {
        file_in(&self.root, name, bytes)
    }

    fn stop_ipfs(&mut self) {
        self.ipfs_node.take().unwrap().stop();
    }

    fn restart_ipfs(&mut self) {
        // The repo keeps its port, so the URL stays valid.
        let tools = NodeTools::locate().unwrap();
        self.ipfs_node =
            Some(Ipfs::start(&tools, &IpfsOptions::ephemeral(self.root.join("ipfs"))).unwrap());
    }

    fn stop_ledger(&mut self) {
        self.anvil.take().unwrap().stop();
    }

    fn restart_ledger(&mut self) {
        self.anvil = Some(start_anvil(&self.root, Some(self.anvil_port)));
    }
}

/// `bytes` written as `root/files/<name>`; its path.
fn file_in(root: &Path, name: &str, bytes: &[u8]) -> String {
    let path = root.join("files").join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, bytes).unwrap();
    path.display().to_string()
}

fn start_anvil(root: &Path, port: Option<u16>) -> Anvil {
    Anvil::start(
        &NodeTools::locate().unwrap(),
        &AnvilOptions {
            persist: true,
            port,
            ..AnvilOptions::ephemeral(root.join("anvil"))
        },
    )
    .unwrap()
}

fn meta(title: &str) -> RecordMetadata {
    RecordMetadata {
        title: title.to_owned(),
        category: Category::LabResult,
        date: "2026-03-01".to_owned(),
        author: "Dr. Seacole".to_owned(),
    }
}

async fn add(
    nodes: &Nodes,
    service: &RecordService,
    owner: &Owner,
    name: &str,
    bytes: &[u8],
    title: &str,
) -> String {
    let path = nodes.file(name, bytes);
    let quiet: medwallet_core::records::Progress = Arc::new(|_| {});
    let r = service
        .add(
            owner,
            &nodes.ipfs,
            &nodes.ledger,
            name,
            &path,
            &meta(title),
            quiet,
        )
        .await
        .unwrap();
    assert!(
        matches!(r.ledger, medwallet_api::LedgerMark::Registered { .. }),
        "{r:?}"
    );
    r.id
}

/// Whether a failure is the refusal expected, given the address it should name.
type Refusal = fn(&CoreError, &str) -> bool;

fn share_with(record_id: &str, grantee: &str, days: Option<u32>) -> ShareRequest {
    ShareRequest {
        record_ids: vec![record_id.to_owned()],
        grantee: grantee.to_owned(),
        clause: None,
        group: None,
        expires_in_days: days,
        seen_fingerprint: None,
    }
}

fn share_role(record_id: &str, clinic: &str, clause: &str) -> ShareRequest {
    ShareRequest {
        record_ids: vec![record_id.to_owned()],
        grantee: clinic.to_owned(),
        clause: Some(clause.to_owned()),
        group: None,
        expires_in_days: Some(30),
        seen_fingerprint: None,
    }
}

/// The patient allows (or declines) the check-in `id`, as its wallet's prompt does.
async fn answer(
    nodes: &Nodes,
    svc: &RecordService,
    patient: &Owner,
    id: &str,
    allow: bool,
) -> Result<(), CoreError> {
    // The desk the window shows for the request.
    let clinic = svc
        .check_in_asks(patient, &nodes.ledger)
        .await?
        .into_iter()
        .find(|a| a.check_in_id == id)
        .map(|a| a.clinic.address)
        .unwrap_or_default();
    svc.answer_check_in(patient, &nodes.ipfs, &nodes.ledger, id, &clinic, allow)
        .await
}

fn share_group(record_ids: &[String], group: &str) -> ShareRequest {
    ShareRequest {
        record_ids: record_ids.to_vec(),
        grantee: String::new(),
        clause: None,
        group: Some(group.to_owned()),
        expires_in_days: None,
        seen_fingerprint: None,
    }
}

/// The key `holder` received from `authority`, opened the way the doctor's wallet does,
/// straight from the ledger and IPFS.
async fn received_key(nodes: &Nodes, holder_keys: &WalletKeys, authority: &str) -> UserKey {
    let node = LedgerNode::new(&nodes.ledger.url);
    let contract = nodes.ledger.contract.unwrap();
    let head = node.status().await.unwrap().block_height;
    let me = holder_keys.address().parse().unwrap();
    let events = node
        .fetch_events(contract, 0, head, &EventFilter::Wallet(me))
        .await
        .unwrap()
        .events;
    let cid = events
        .iter()
        .find_map(|e| match &e.event {
            LedgerEvent::KeyIssued {
                authority: a,
                key_cid,
                ..
            } if a.to_string() == authority => Some(Cid::from_bytes(key_cid).unwrap()),
            _ => None,
        })
        .expect("a KeyIssued event");
    let envelope = IssuedKey::from_bytes(&cat(nodes, &cid).await).unwrap();
    let plain = holder_keys
        .hpke_open(
            &envelope.encapped_key,
            &envelope.ciphertext,
            HPKE_INFO,
            &envelope.aad(),
        )
        .unwrap();
    UserKey::from_bytes(&plain).unwrap()
}

/// Each of `staff` publishes its keys (its first look at what is shared with it), then
/// the clinic issues each a key with `attributes`.
async fn hire(
    nodes: &Nodes,
    (clinic_svc, clinic): (&RecordService, &Owner),
    staff: &[(&RecordService, &Owner)],
    attributes: &[&str],
) {
    let attributes: Vec<String> = attributes.iter().map(|a| (*a).to_owned()).collect();
    for (svc, who) in staff {
        svc.list_shared(who, &nodes.ipfs, &nodes.ledger)
            .await
            .unwrap();
    }
    for (_, who) in staff {
        clinic_svc
            .issue_staff_key(
                clinic,
                &nodes.ipfs,
                &nodes.ledger,
                &who.address,
                &attributes,
            )
            .await
            .unwrap();
    }
}

async fn cat(nodes: &Nodes, cid: &Cid) -> Vec<u8> {
    let path = nodes.root.join(format!("cat-{cid}"));
    let file = std::fs::File::create(&path).unwrap();
    IpfsNode::new(&nodes.ipfs)
        .unwrap()
        .cat_to(cid, file, 1 << 20)
        .await
        .unwrap();
    std::fs::read(&path).unwrap()
}

#[tokio::test]
async fn grant_open_audit_revoke_and_the_exposure_report() {
    let nodes = Nodes::start().await;
    let (patient_svc, doctor_svc, stranger_svc) = (
        nodes.service("patient"),
        nodes.service("doctor"),
        nodes.service("stranger"),
    );
    let patient = wallet(31, Role::Patient, "Ada");
    let doctor_keys = keys(32, Role::Doctor);
    let doctor = wallet(32, Role::Doctor, "Dr. Who");
    let stranger = wallet(33, Role::Doctor, "Dr. Nobody");

    let record = add(
        &nodes,
        &patient_svc,
        &patient,
        "lab.pdf",
        PDF,
        "Blood panel",
    )
    .await;

    // A doctor who never opened the app with this ledger has no published keys.
    let refused = patient_svc
        .preview_share(
            &patient,
            &nodes.ledger,
            &share_with(&record, &doctor.address, None),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, CoreError::NotPublished { address } if address.to_string() == doctor.address),
        "{refused:?}"
    );

    // The doctor's and the stranger's wallets publish their keys when they look for shares.
    assert!(doctor_svc
        .list_shared(&doctor, &nodes.ipfs, &nodes.ledger)
        .await
        .unwrap()
        .records
        .is_empty());
    assert!(stranger_svc
        .list_shared(&stranger, &nodes.ipfs, &nodes.ledger)
        .await
        .unwrap()
        .records
        .is_empty());

    let preview = patient_svc
        .preview_share(
            &patient,
            &nodes.ledger,
            &share_with(&record, &doctor.address, Some(30)),
        )
        .await
        .unwrap();
    assert_eq!(preview.grantee, doctor.address);
    assert_eq!(preview.grantee_role, "doctor");
    assert!(preview.issues_key);
    assert!(
        preview.policy_words.contains(&doctor.address),
        "{preview:?}"
    );
    assert!(preview.expires_at.is_some() && preview.warning.is_none());
    // The keys the ledger publishes, as words the doctor's Keys page shows too.
    assert_eq!(
        preview.key_fingerprint.as_deref(),
        Some(
            doctor_keys
                .public_identity("Dr. Who")
                .fingerprint()
                .as_str()
        )
    );

    let grants = patient_svc
        .share(
            &patient,
            &nodes.ipfs,
            &nodes.ledger,
            &share_with(&record, &doctor.address, None),
        )
        .await
        .unwrap();
    assert_eq!(grants.len(), 1);
    assert_eq!(grants[0].state, GrantState::Active, "{grants:?}");
    assert_eq!(grants[0].record_title, "Blood panel");

    // The doctor finds it on the ledger and opens it; the access is logged first.
    let inbox = doctor_svc
        .list_shared(&doctor, &nodes.ipfs, &nodes.ledger)
        .await
        .unwrap();
    assert!(inbox.problems.is_empty(), "{inbox:?}");
    assert_eq!(inbox.records.len(), 1);
    let shared = &inbox.records[0];
    // Nothing of it is decrypted before an opening is logged: no title yet.
    assert_eq!(
        (
            shared.record_id.as_str(),
            shared.title.as_str(),
            shared.opened,
            shared.owner.as_str(),
            shared.version
        ),
        (
            record.as_str(),
            "Not opened yet",
            false,
            patient.address.as_str(),
            1
        )
    );
    assert!(!shared.expired);
    // The owner, a patient, is not a provider the consortium attests.
    assert_eq!(
        shared
            .owner_label
            .as_ref()
            .map(|l| (l.address.as_str(), l.verified_name.is_none())),
        Some((patient.address.as_str(), true))
    );
    let opened = doctor_svc
        .open_shared(&doctor, &nodes.ipfs, &nodes.ledger, &record)
        .await
        .unwrap();
    assert!(
        matches!(opened.view, RecordView::Pdf { .. }),
        "{:?}",
        opened.record
    );
    assert_eq!(opened.record.title, "Blood panel");
    // Opened (and logged): the list names it from now on.
    let inbox = doctor_svc
        .list_shared(&doctor, &nodes.ipfs, &nodes.ledger)
        .await
        .unwrap();
    assert_eq!(
        (inbox.records[0].title.as_str(), inbox.records[0].opened),
        ("Blood panel", true)
    );
    // The patient still opens their own record (the re-wrapped capsule includes them).
    patient_svc
        .open(&patient, &nodes.ipfs, &record)
        .await
        .unwrap();

    // A wallet with no grant sees nothing and opens nothing.
    assert!(stranger_svc
        .list_shared(&stranger, &nodes.ipfs, &nodes.ledger)
        .await
        .unwrap()
        .records
        .is_empty());
    let e = stranger_svc
        .open_shared(&stranger, &nodes.ipfs, &nodes.ledger, &record)
        .await
        .unwrap_err();
    assert!(
        matches!(e, CoreError::Inbox(InboxError::NotShared)),
        "{e:?}"
    );

    // Who viewed: the patient's trail shows the doctor's access.
    let audit = AuditService::new(&nodes.root.join("patient"));
    let context = AuditContext::of(&patient_svc, &patient).await.unwrap();
    let trail = audit
        .trail(
            &patient,
            &nodes.ledger,
            &TrailPage::first(AuditQuery::default(), 1000),
            &context,
        )
        .await
        .unwrap();
    let accessed: Vec<_> = trail
        .entries
        .iter()
        .filter(|e| e.action == AuditAction::Accessed)
        .collect();
    assert_eq!(accessed.len(), 1, "{trail:?}");
    assert_eq!(accessed[0].actor.address, doctor.address);
    assert_eq!(accessed[0].record_title.as_deref(), Some("Blood panel"));
    for action in [AuditAction::Granted, AuditAction::KeyIssued] {
        assert!(
            trail.entries.iter().any(|e| e.action == action),
            "{action:?} in {trail:?}"
        );
    }

    // The key the doctor holds opens the capsule of version 1.
    let doctor_key = received_key(&nodes, &doctor_keys, &patient.address).await;
    let v1_capsule: Cid = opened.verification.capsule_cid.parse().unwrap();
    capsule::unwrap(&doctor_key, &cat(&nodes, &v1_capsule).await, &record, 1).unwrap();

    // Revoke: a new version under a new key, the revocation, the exposure report.
    let revoked = patient_svc
        .revoke(
            &patient,
            &nodes.ipfs,
            &nodes.ledger,
            &record,
            &doctor.address,
            None,
        )
        .await
        .unwrap();
    assert_eq!(revoked.state, GrantState::Revoked, "{revoked:?}");
    let report = revoked.exposure.expect("an exposure report");
    assert_eq!(report.new_version, 2);
    assert_eq!(report.versions.len(), 1, "{report:?}");
    assert_eq!(report.versions[0].version, 1);
    assert_eq!(report.accesses.len(), 1);
    assert!(
        report.summary.contains("could have fetched version 1"),
        "{}",
        report.summary
    );
    assert!(report
        .summary
        .contains("Version 2 is encrypted under a new key"));
    // Version 1 is gone from the patient's node (unpinned and garbage-collected), and the
    // report says so because it was checked.
    assert!(
        report
            .summary
            .contains("your node no longer holds the version just replaced"),
        "{}",
        report.summary
    );
    let node = medwallet_records::IpfsNode::new(&nodes.ipfs).unwrap();
    for cid in [
        &opened.record.content_cid,
        &opened.verification.manifest_cid,
        &opened.verification.capsule_cid,
    ] {
        assert!(
            !node.has_locally(&cid.parse().unwrap()).await.unwrap(),
            "{cid} is still on the node"
        );
    }

    // The patient's record is now version 2, opens, and its content has a new CID.
    let mine = patient_svc
        .open(&patient, &nodes.ipfs, &record)
        .await
        .unwrap();
    assert_eq!(mine.record.version, 2);
    assert_ne!(mine.record.content_cid, opened.record.content_cid);
    assert!(matches!(mine.view, RecordView::Pdf { .. }));

    // The doctor no longer lists or opens it, and its old key cannot open version 2.
    assert!(doctor_svc
        .list_shared(&doctor, &nodes.ipfs, &nodes.ledger)
        .await
        .unwrap()
        .records
        .is_empty());
    let e = doctor_svc
        .open_shared(&doctor, &nodes.ipfs, &nodes.ledger, &record)
        .await
        .unwrap_err();
    assert!(
        matches!(e, CoreError::Inbox(InboxError::NotShared)),
        "{e:?}"
    );
    let v2_capsule: Cid = mine.verification.capsule_cid.parse().unwrap();
    assert_eq!(
        capsule::unwrap(&doctor_key, &cat(&nodes, &v2_capsule).await, &record, 2).unwrap_err(),
        CapsuleError::NotAllowed
    );
    let trail = audit
        .trail(
            &patient,
            &nodes.ledger,
            &TrailPage::first(AuditQuery::default(), 1000),
            &AuditContext::of(&patient_svc, &patient).await.unwrap(),
        )
        .await
        .unwrap();
    for action in [AuditAction::Revoked, AuditAction::Updated] {
        assert!(
            trail.entries.iter().any(|e| e.action == action),
            "{action:?} in {trail:?}"
        );
    }
}

#[tokio::test]
async fn expired_grants_are_refused_by_the_doctor_and_revoked_by_the_patient() {
    let nodes = Nodes::start().await;
    let (patient_svc, doctor_svc) = (nodes.service("patient"), nodes.service("doctor"));
    let patient = wallet(41, Role::Patient, "Ada");
    let doctor = wallet(42, Role::Doctor, "Dr. Who");
    let record = add(
        &nodes,
        &patient_svc,
        &patient,
        "note.txt",
        TEXT,
        "Visit note",
    )
    .await;
    doctor_svc
        .list_shared(&doctor, &nodes.ipfs, &nodes.ledger)
        .await
        .unwrap();

    let grants = patient_svc
        .share(
            &patient,
            &nodes.ipfs,
            &nodes.ledger,
            &share_with(&record, &doctor.address, Some(1)),
        )
        .await
        .unwrap();
    assert_eq!(grants[0].state, GrantState::Active, "{grants:?}");
    assert!(grants[0].expires_at.is_some() && !grants[0].expired);
    doctor_svc
        .open_shared(&doctor, &nodes.ipfs, &nodes.ledger, &record)
        .await
        .unwrap();

    // Two days later on the chain's clock.
    medwallet_ledger::testing::advance_time(&nodes.ledger.url, 2 * 86_400)
        .await
        .unwrap();
    let inbox = doctor_svc
        .list_shared(&doctor, &nodes.ipfs, &nodes.ledger)
        .await
        .unwrap();
    assert!(inbox.records[0].expired, "{inbox:?}");
    let e = doctor_svc
        .open_shared(&doctor, &nodes.ipfs, &nodes.ledger, &record)
        .await
        .unwrap_err();
    assert!(
        matches!(e, CoreError::Inbox(InboxError::Expired { at }) if at > 0),
        "{e:?}"
    );

    // The patient's wallet revokes it on its next pass.
    assert_eq!(
        patient_svc
            .sync_sharing(&patient, &nodes.ipfs, &nodes.ledger, false)
            .await,
        None
    );
    let grants = patient_svc.list_grants(&patient).await.unwrap();
    assert_eq!(grants[0].state, GrantState::Revoked, "{grants:?}");
    assert!(doctor_svc
        .list_shared(&doctor, &nodes.ipfs, &nodes.ledger)
        .await
        .unwrap()
        .records
        .is_empty());
}

#[tokio::test]
async fn a_grant_waits_while_the_ledger_is_down_and_goes_out_when_it_is_back() {
    let mut nodes = Nodes::start().await;
    let (patient_svc, doctor_svc) = (nodes.service("patient"), nodes.service("doctor"));
    let patient = wallet(51, Role::Patient, "Ada");
    let doctor = wallet(52, Role::Doctor, "Dr. Who");
    let other_patient = wallet(53, Role::Patient, "Grace");
    let other_svc = nodes.service("other");
    let record = add(
        &nodes,
        &patient_svc,
        &patient,
        "lab.pdf",
        PDF,
        "Blood panel",
    )
    .await;
    let others = add(
        &nodes,
        &other_svc,
        &other_patient,
        "note.txt",
        TEXT,
        "Grace's note",
    )
    .await;
    doctor_svc
        .list_shared(&doctor, &nodes.ipfs, &nodes.ledger)
        .await
        .unwrap();

    nodes.stop_ledger();
    let grants = patient_svc
        .share(
            &patient,
            &nodes.ipfs,
            &nodes.ledger,
            &share_with(&record, &doctor.address, None),
        )
        .await
        .unwrap();
    let GrantState::Sending {
        reason: Some(reason),
    } = &grants[0].state
    else {
        panic!("{grants:?}")
    };
    assert!(reason.contains("does not answer"), "{reason}");

    nodes.restart_ledger();
    assert_eq!(
        patient_svc
            .sync_sharing(&patient, &nodes.ipfs, &nodes.ledger, true)
            .await,
        None
    );
    assert_eq!(
        patient_svc.list_grants(&patient).await.unwrap()[0].state,
        GrantState::Active
    );
    let inbox = doctor_svc
        .list_shared(&doctor, &nodes.ipfs, &nodes.ledger)
        .await
        .unwrap();
    assert_eq!(inbox.records.len(), 1);

    // Another patient's record is not the doctor's to open, whatever key it holds.
    let e = doctor_svc
        .open_shared(&doctor, &nodes.ipfs, &nodes.ledger, &others)
        .await
        .unwrap_err();
    assert!(
        matches!(e, CoreError::Inbox(InboxError::NotShared)),
        "{e:?}"
    );
}

#[tokio::test]
async fn bad_share_requests_are_named() {
    let nodes = Nodes::start().await;
    let patient_svc = nodes.service("patient");
    let patient = wallet(61, Role::Patient, "Ada");
    let doctor = wallet(62, Role::Doctor, "Dr. Who");
    let record = add(
        &nodes,
        &patient_svc,
        &patient,
        "note.txt",
        TEXT,
        "Visit note",
    )
    .await;
    let typo = doctor.address.replacen('a', "A", 1).replacen('b', "B", 1);
    let nowhere = format!("0x{}", "00".repeat(32));
    type Refused<'a> = Box<dyn Fn(&CoreError) -> bool + 'a>;
    let cases: [(ShareRequest, Refused); 5] = [
        (
            share_with(&record, "0x1234", None),
            Box::new(|e| matches!(e, CoreError::BadAddress { text } if text == "0x1234")),
        ),
        (
            share_with(&record, &typo, None),
            Box::new(|e| matches!(e, CoreError::AddressChecksum { text } if *text == typo)),
        ),
        (
            share_with(&record, &patient.address, None),
            Box::new(|e| matches!(e, CoreError::Sharing(SharingError::OwnAddress))),
        ),
        (
            share_with(&nowhere, &doctor.address, None),
            Box::new(
                |e| matches!(e, CoreError::Sharing(SharingError::NotInWallet { record_id }) if *record_id == nowhere),
            ),
        ),
        (
            share_with(&record, &doctor.address, Some(0)),
            Box::new(|e| matches!(e, CoreError::Sharing(SharingError::ExpiryZero))),
        ),
    ];
    for (request, refused) in cases {
        let e = patient_svc
            .share(&patient, &nodes.ipfs, &nodes.ledger, &request)
            .await
            .unwrap_err();
        assert!(refused(&e), "{request:?}: {e:?}");
    }
    // A doctor wallet has no authority to share from.
    let doctor_svc = nodes.service("doctor");
    let e = doctor_svc
        .share(
            &doctor,
            &nodes.ipfs,
            &nodes.ledger,
            &share_with(&record, &patient.address, None),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, CoreError::OnlyPatients), "{e:?}");
}

#[tokio::test]
async fn a_role_at_a_clinic_opens_for_its_staff_with_that_role_only() {
    let nodes = Nodes::start().await;
    let svc = |name| nodes.service(name);
    let (patient_svc, clinic_svc, doctor_svc, nurse_svc) =
        (svc("patient"), svc("clinic"), svc("doctor"), svc("nurse"));
    let patient = wallet(71, Role::Patient, "Ada");
    let clinic = wallet(72, Role::Clinic, "St Mary's");
    let doctor = wallet(73, Role::Doctor, "Dr. Who");
    let nurse = wallet(74, Role::Doctor, "Nurse Joy");
    for (s, w) in [(&doctor_svc, &doctor), (&nurse_svc, &nurse)] {
        assert!(s
            .list_shared(w, &nodes.ipfs, &nodes.ledger)
            .await
            .unwrap()
            .records
            .is_empty());
    }
    let staff = |attrs: &[&str]| attrs.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    clinic_svc
        .issue_staff_key(
            &clinic,
            &nodes.ipfs,
            &nodes.ledger,
            &doctor.address,
            &staff(&["role:doctor", "dept:cardiology"]),
        )
        .await
        .unwrap();
    clinic_svc
        .issue_staff_key(
            &clinic,
            &nodes.ipfs,
            &nodes.ledger,
            &nurse.address,
            &staff(&["role:nurse", "dept:cardiology"]),
        )
        .await
        .unwrap();
    let e = patient_svc
        .issue_staff_key(
            &patient,
            &nodes.ipfs,
            &nodes.ledger,
            &doctor.address,
            &staff(&["role:doctor"]),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(e, CoreError::Staff(StaffError::OnlyClinics)),
        "{e:?}"
    );

    let record = add(
        &nodes,
        &patient_svc,
        &patient,
        "lab.pdf",
        PDF,
        "Echo report",
    )
    .await;

    // The dialog's words, and a warning for a broad role.
    let broad = patient_svc
        .preview_share(
            &patient,
            &nodes.ledger,
            &share_role(&record, &clinic.address, "role:doctor"),
        )
        .await
        .unwrap();
    assert!(
        broad
            .warning
            .as_deref()
            .unwrap_or("")
            .starts_with("Broad: any doctor"),
        "{broad:?}"
    );
    let narrow = patient_svc
        .preview_share(
            &patient,
            &nodes.ledger,
            &share_role(&record, &clinic.address, "role:doctor and dept:cardiology"),
        )
        .await
        .unwrap();
    assert_eq!(narrow.grantee_role, "clinic");
    assert!(narrow.warning.is_none(), "{narrow:?}");
    assert!(
        narrow.policy_words.contains(&format!(
            "any doctor in cardiology at clinic {}",
            clinic.address
        )),
        "{narrow:?}"
    );
    // Not a clinic, a person in a role clause, a clause that does not parse: named.
    type Refused<'a> = Box<dyn Fn(&CoreError) -> bool + 'a>;
    let cases: [(ShareRequest, Refused); 3] = [
        (
            share_role(&record, &doctor.address, "role:doctor"),
            Box::new(|e| {
                matches!(e, CoreError::Sharing(SharingError::NotAClinic { address })
                    if address.to_string() == doctor.address)
            }),
        ),
        (
            share_role(&record, &clinic.address, &format!("id:{}", doctor.address)),
            Box::new(|e| matches!(e, CoreError::Sharing(SharingError::RoleNamesPerson))),
        ),
        (
            share_role(&record, &clinic.address, "role:doctor AND"),
            Box::new(|e| matches!(e, CoreError::Sharing(SharingError::BadClause(_)))),
        ),
    ];
    for (request, refused) in cases {
        let e = patient_svc
            .preview_share(&patient, &nodes.ledger, &request)
            .await
            .unwrap_err();
        assert!(refused(&e), "{request:?}: {e:?}");
    }

    let grants = patient_svc
        .share(
            &patient,
            &nodes.ipfs,
            &nodes.ledger,
            &share_role(&record, &clinic.address, "role:doctor AND dept:cardiology"),
        )
        .await
        .unwrap();
    assert_eq!(grants.len(), 1, "{grants:?}");
    assert_eq!(grants[0].state, GrantState::Active, "{grants:?}");
    assert_eq!(
        grants[0].clause.as_ref().unwrap().words,
        "any doctor in cardiology"
    );

    // The cardiologist opens it (the access names the clinic's clause); the nurse cannot.
    let inbox = doctor_svc
        .list_shared(&doctor, &nodes.ipfs, &nodes.ledger)
        .await
        .unwrap();
    assert_eq!(inbox.records.len(), 1, "{inbox:?}");
    doctor_svc
        .open_shared(&doctor, &nodes.ipfs, &nodes.ledger, &record)
        .await
        .unwrap();
    let inbox = nurse_svc
        .list_shared(&nurse, &nodes.ipfs, &nodes.ledger)
        .await
        .unwrap();
    assert!(
        inbox.records.is_empty() && inbox.problems.is_empty(),
        "{inbox:?}"
    );
    let e = nurse_svc
        .open_shared(&nurse, &nodes.ipfs, &nodes.ledger, &record)
        .await
        .unwrap_err();
    assert!(
        matches!(e, CoreError::Inbox(InboxError::KeyDoesNotHold)),
        "{e:?}"
    );
    // The patient still opens it.
    patient_svc
        .open(&patient, &nodes.ipfs, &record)
        .await
        .unwrap();

    // Who viewed: the doctor, through the clinic.
    let audit = AuditService::new(&nodes.root.join("patient"));
    let trail = audit
        .trail(
            &patient,
            &nodes.ledger,
            &TrailPage::first(AuditQuery::default(), 1000),
            &AuditContext::of(&patient_svc, &patient).await.unwrap(),
        )
        .await
        .unwrap();
    assert!(
        trail
            .entries
            .iter()
            .any(|e| e.action == AuditAction::Accessed && e.actor.address == doctor.address),
        "{trail:?}"
    );

    // Revoke the role: a new version without the clinic's part, and the report.
    let revoked = patient_svc
        .revoke(
            &patient,
            &nodes.ipfs,
            &nodes.ledger,
            &record,
            &clinic.address,
            Some("role:doctor AND dept:cardiology"),
        )
        .await
        .unwrap();
    assert_eq!(revoked.state, GrantState::Revoked, "{revoked:?}");
    let report = revoked.exposure.unwrap();
    assert!(
        report
            .summary
            .starts_with(&format!("Staff of clinic {}", clinic.address)),
        "{}",
        report.summary
    );
    assert!(
        report.summary.contains("could have fetched version 1")
            && report.summary.contains("1 opening"),
        "{}",
        report.summary
    );
    assert!(doctor_svc
        .list_shared(&doctor, &nodes.ipfs, &nodes.ledger)
        .await
        .unwrap()
        .records
        .is_empty());
    let mine = patient_svc
        .open(&patient, &nodes.ipfs, &record)
        .await
        .unwrap();
    assert_eq!(mine.record.version, 2);
}

#[tokio::test]
async fn removing_a_group_member_moves_the_group_to_a_new_epoch() {
    let nodes = Nodes::start().await;
    let (patient_svc, a_svc, b_svc) = (
        nodes.service("patient"),
        nodes.service("a"),
        nodes.service("b"),
    );
    let patient = wallet(81, Role::Patient, "Ada");
    let a = wallet(82, Role::Doctor, "Dr. A");
    let b = wallet(83, Role::Doctor, "Dr. B");
    for (s, w) in [(&a_svc, &a), (&b_svc, &b)] {
        s.list_shared(w, &nodes.ipfs, &nodes.ledger).await.unwrap();
    }
    let records = vec![
        add(
            &nodes,
            &patient_svc,
            &patient,
            "lab.pdf",
            PDF,
            "Blood panel",
        )
        .await,
        add(
            &nodes,
            &patient_svc,
            &patient,
            "note.txt",
            TEXT,
            "Visit note",
        )
        .await,
    ];
    for member in [&a.address, &b.address] {
        patient_svc
            .add_group_member(&patient, &nodes.ipfs, &nodes.ledger, "careteam", member)
            .await
            .unwrap();
    }
    let e = patient_svc
        .add_group_member(
            &patient,
            &nodes.ipfs,
            &nodes.ledger,
            "Care Team",
            &a.address,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&e, CoreError::Sharing(SharingError::BadGroupName { name }) if name == "Care Team"),
        "{e:?}"
    );

    let preview = patient_svc
        .preview_share(&patient, &nodes.ledger, &share_group(&records, "careteam"))
        .await
        .unwrap();
    assert!(
        preview
            .policy_words
            .contains("members of your group careteam (2 now"),
        "{preview:?}"
    );
    let grants = patient_svc
        .share(
            &patient,
            &nodes.ipfs,
            &nodes.ledger,
            &share_group(&records, "careteam"),
        )
        .await
        .unwrap();
    assert_eq!(grants.len(), 2, "{grants:?}");
    assert!(
        grants
            .iter()
            .all(|g| g.state == GrantState::Active && g.group.as_deref() == Some("careteam")),
        "{grants:?}"
    );

    // Both members read both records; A opens one.
    for (s, w) in [(&a_svc, &a), (&b_svc, &b)] {
        let inbox = s.list_shared(w, &nodes.ipfs, &nodes.ledger).await.unwrap();
        assert_eq!(inbox.records.len(), 2, "{inbox:?}");
    }
    a_svc
        .open_shared(&a, &nodes.ipfs, &nodes.ledger, &records[0])
        .await
        .unwrap();

    // B also had the note in person: revoking that says the group still reaches B.
    patient_svc
        .share(
            &patient,
            &nodes.ipfs,
            &nodes.ledger,
            &share_with(&records[1], &b.address, None),
        )
        .await
        .unwrap();
    let revoked = patient_svc
        .revoke(
            &patient,
            &nodes.ipfs,
            &nodes.ledger,
            &records[1],
            &b.address,
            None,
        )
        .await
        .unwrap();
    let summary = &revoked.exposure.as_ref().unwrap().summary;
    assert!(
        summary.contains(
            "this grant no longer opens it, but they can still open it through the group careteam"
        ),
        "{summary}"
    );
    let inbox = b_svc
        .list_shared(&b, &nodes.ipfs, &nodes.ledger)
        .await
        .unwrap();
    assert_eq!(inbox.records.len(), 2, "{inbox:?}");

    // A leaves: epoch 2, B re-keyed, both records re-encrypted.
    let groups = patient_svc
        .remove_group_member(&patient, &nodes.ipfs, &nodes.ledger, "careteam", &a.address)
        .await
        .unwrap();
    assert_eq!(
        (groups[0].epoch, groups[0].members.clone()),
        (2, vec![b.address.clone()])
    );
    let all = patient_svc.list_grants(&patient).await.unwrap();
    let leaves: Vec<_> = all.iter().filter(|g| g.leave).collect();
    assert_eq!(leaves.len(), 2, "{all:?}");
    for leave in &leaves {
        assert_eq!(leave.state, GrantState::Revoked, "{leave:?}");
        assert_eq!(leave.grantee, a.address);
        let report = leave.exposure.as_ref().unwrap();
        assert!(
            report.summary.contains("could have fetched version 1"),
            "{}",
            report.summary
        );
        assert!(
            report.summary.contains("without them: they cannot open it"),
            "{}",
            report.summary
        );
    }
    let opened = leaves.iter().find(|g| g.record_id == records[0]).unwrap();
    assert!(opened
        .exposure
        .as_ref()
        .unwrap()
        .summary
        .contains("1 opening"));

    // A sees nothing it can open; B reads version 2 of both.
    let inbox = a_svc
        .list_shared(&a, &nodes.ipfs, &nodes.ledger)
        .await
        .unwrap();
    assert!(
        inbox.records.is_empty() && inbox.problems.is_empty(),
        "{inbox:?}"
    );
    let e = a_svc
        .open_shared(&a, &nodes.ipfs, &nodes.ledger, &records[0])
        .await
        .unwrap_err();
    assert!(
        matches!(e, CoreError::Inbox(InboxError::KeyDoesNotHold)),
        "{e:?}"
    );
    let inbox = b_svc
        .list_shared(&b, &nodes.ipfs, &nodes.ledger)
        .await
        .unwrap();
    assert_eq!(inbox.records.len(), 2, "{inbox:?}");
    // Blood panel: version 2 (A left); the note: 3 (B's own grant revoked, then A left).
    let version_of = |id: &str| {
        inbox
            .records
            .iter()
            .find(|r| r.record_id == id)
            .unwrap()
            .version
    };
    assert_eq!((version_of(&records[0]), version_of(&records[1])), (2, 3));
    b_svc
        .open_shared(&b, &nodes.ipfs, &nodes.ledger, &records[1])
        .await
        .unwrap();
    // The patient still reads both.
    for (id, version) in records.iter().zip([2, 3]) {
        let opened = patient_svc.open(&patient, &nodes.ipfs, id).await.unwrap();
        assert_eq!(opened.record.version, version);
    }
}

#[tokio::test]
async fn a_revocation_waits_while_ipfs_is_down_and_completes_when_it_is_back() {
    let mut nodes = Nodes::start().await;
    let (patient_svc, doctor_svc) = (nodes.service("patient"), nodes.service("doctor"));
    let patient = wallet(91, Role::Patient, "Ada");
    let doctor = wallet(92, Role::Doctor, "Dr. Who");
    let record = add(
        &nodes,
        &patient_svc,
        &patient,
        "lab.pdf",
        PDF,
        "Blood panel",
    )
    .await;
    doctor_svc
        .list_shared(&doctor, &nodes.ipfs, &nodes.ledger)
        .await
        .unwrap();
    patient_svc
        .share(
            &patient,
            &nodes.ipfs,
            &nodes.ledger,
            &share_with(&record, &doctor.address, None),
        )
        .await
        .unwrap();

    nodes.stop_ipfs();
    let waiting = patient_svc
        .revoke(
            &patient,
            &nodes.ipfs,
            &nodes.ledger,
            &record,
            &doctor.address,
            None,
        )
        .await
        .unwrap();
    let GrantState::Revoking {
        reason: Some(reason),
    } = &waiting.state
    else {
        panic!("{waiting:?}")
    };
    assert!(
        reason.contains("IPFS node") && reason.contains("does not answer"),
        "{reason}"
    );
    // Sharing it again now would bring the grant back under the key being revoked.
    let e = patient_svc
        .share(
            &patient,
            &nodes.ipfs,
            &nodes.ledger,
            &share_with(&record, &doctor.address, None),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(e, CoreError::Sharing(SharingError::BeingRevoked)),
        "{e:?}"
    );

    nodes.restart_ipfs();
    assert_eq!(
        patient_svc
            .sync_sharing(&patient, &nodes.ipfs, &nodes.ledger, true)
            .await,
        None
    );
    let grants = patient_svc.list_grants(&patient).await.unwrap();
    assert_eq!(grants[0].state, GrantState::Revoked, "{grants:?}");
    assert_eq!(grants[0].exposure.as_ref().unwrap().new_version, 2);
    assert!(doctor_svc
        .list_shared(&doctor, &nodes.ipfs, &nodes.ledger)
        .await
        .unwrap()
        .records
        .is_empty());
    assert_eq!(
        patient_svc
            .open(&patient, &nodes.ipfs, &record)
            .await
            .unwrap()
            .record
            .version,
        2
    );
}

#[tokio::test]
async fn a_pasted_share_code_is_checked_against_the_ledger() {
    use medwallet_vault::ShareCode;

    let nodes = Nodes::start().await;
    let (patient_svc, doctor_svc) = (nodes.service("patient"), nodes.service("doctor"));
    let patient = wallet(101, Role::Patient, "Ada");
    let doctor_keys = keys(102, Role::Doctor);
    let doctor = wallet(102, Role::Doctor, "Dr. Who");
    let record = add(
        &nodes,
        &patient_svc,
        &patient,
        "note.txt",
        TEXT,
        "Visit note",
    )
    .await;
    doctor_svc
        .list_shared(&doctor, &nodes.ipfs, &nodes.ledger)
        .await
        .unwrap();
    let chain = medwallet_devnodes::LOCAL_CHAIN_ID;
    let code = ShareCode::create(&doctor_keys, "Dr. Who", chain, 1_800_000_000).unwrap();

    let preview = patient_svc
        .preview_share(&patient, &nodes.ledger, &share_with(&record, &code, None))
        .await
        .unwrap();
    assert_eq!(preview.grantee, doctor.address);
    assert!(
        preview
            .policy_words
            .contains("\"Dr. Who\" in their share code"),
        "{preview:?}"
    );

    // For another chain; signed by another key than the one the address published;
    // changed; not a code at all.
    let other_chain = ShareCode::create(&doctor_keys, "Dr. Who", 1, 1_800_000_000).unwrap();
    let foreign = signed_by_another(&code, &keys(103, Role::Doctor));
    let mut changed = code.clone().into_bytes();
    let at = changed.len() - 20;
    changed[at] = if changed[at] == b'A' { b'B' } else { b'A' };
    let changed = String::from_utf8(changed).unwrap();
    let refusals: [(&str, Refusal); 4] = [
        (other_chain.as_str(), |e, _| {
            matches!(e, CoreError::Sharing(SharingError::ChainMismatch { code: 1, ledger })
                if *ledger == medwallet_devnodes::LOCAL_CHAIN_ID)
        }),
        (
            foreign.as_str(),
            |e, doctor| matches!(e, CoreError::Sharing(SharingError::NotSignedBy { address }) if address == doctor),
        ),
        (changed.as_str(), |e, _| {
            matches!(e, CoreError::ShareCode(ShareCodeError::BadSignature))
        }),
        ("mwshare1:not-a-code", |e, _| {
            matches!(e, CoreError::ShareCode(ShareCodeError::Malformed(_)))
        }),
    ];
    for (text, refused) in refusals {
        let e = patient_svc
            .preview_share(&patient, &nodes.ledger, &share_with(&record, text, None))
            .await
            .unwrap_err();
        assert!(refused(&e, &doctor.address), "{text}: {e:?}");
        // Sharing refuses the same codes.
        let e = patient_svc
            .share(
                &patient,
                &nodes.ipfs,
                &nodes.ledger,
                &share_with(&record, text, None),
            )
            .await
            .unwrap_err();
        assert!(refused(&e, &doctor.address), "{text}: {e:?}");
    }

    // The genuine code shares with the doctor.
    let grants = patient_svc
        .share(
            &patient,
            &nodes.ipfs,
            &nodes.ledger,
            &share_with(&record, &code, None),
        )
        .await
        .unwrap();
    assert_eq!(grants[0].grantee, doctor.address);
    assert_eq!(grants[0].state, GrantState::Active, "{grants:?}");
}

/// `code` with its signing key replaced by `signer`'s and signed again: a valid signature,
/// but not by the key the code's address published.
fn signed_by_another(code: &str, signer: &WalletKeys) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    let mut bytes = URL_SAFE_NO_PAD.decode(&code["mwshare1:".len()..]).unwrap();
    let n = bytes.len();
    bytes[25..57].copy_from_slice(signer.ed25519_public_key());
    let mut message = b"medwallet/v1/share-code".to_vec();
    message.extend_from_slice(&bytes[..n - 64]);
    let signature = signer.sign(&message).unwrap();
    bytes[n - 64..].copy_from_slice(&signature);
    format!("mwshare1:{}", URL_SAFE_NO_PAD.encode(&bytes))
}

async fn trail_of(
    nodes: &Nodes,
    service: &RecordService,
    owner: &Owner,
) -> medwallet_api::AuditTrail {
    AuditService::new(&nodes.root.join("patient"))
        .trail(
            owner,
            &nodes.ledger,
            &TrailPage::first(AuditQuery::default(), 1000),
            &AuditContext::of(service, owner).await.unwrap(),
        )
        .await
        .unwrap()
}

fn now() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp()).unwrap()
}

#[tokio::test]
async fn a_front_desk_checks_a_patient_in_from_a_qr_picture_verifies_and_uploads() {
    use medwallet_api::VerifyOutcome;
    use medwallet_vault::ShareCode;

    let nodes = Nodes::start().await;
    let (patient_svc, desk_svc, other_svc) = (
        nodes.service("patient"),
        nodes.service("clinic"),
        nodes.service("other-clinic"),
    );
    let patient_keys = keys(111, Role::Patient);
    let patient = wallet(111, Role::Patient, "Ada");
    let desk = wallet(112, Role::Clinic, "St Mary's front desk");
    let other = wallet(113, Role::Clinic, "Elsewhere");
    let shown = add(
        &nodes,
        &patient_svc,
        &patient,
        "lab.pdf",
        PDF,
        "Blood panel",
    )
    .await;
    let kept = add(
        &nodes,
        &patient_svc,
        &patient,
        "note.txt",
        TEXT,
        "Private note",
    )
    .await;

    // Only patients make check-ins, only clinics read them; the length is bounded.
    let e = desk_svc
        .offer_check_in(&desk, &nodes.ipfs, &nodes.ledger, &[], 15)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            CoreError::FrontDesk(FrontDeskError::OnlyPatientsMakeCodes)
        ),
        "{e:?}"
    );
    let e = patient_svc
        .offer_check_in(&patient, &nodes.ipfs, &nodes.ledger, &[], 2)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            CoreError::FrontDesk(FrontDeskError::LengthNotOffered {
                minutes: 2,
                min: 5,
                max: 1440
            })
        ),
        "{e:?}"
    );

    // The patient shows a 15-minute check-in with one record; the desk reads its QR code
    // from a PNG picture.
    let offered = patient_svc
        .offer_check_in(
            &patient,
            &nodes.ipfs,
            &nodes.ledger,
            std::slice::from_ref(&shown),
            15,
        )
        .await
        .unwrap();
    assert_eq!(offered.records, 1);
    let code = ShareCode::create_with(
        &patient_keys,
        "Ada",
        offered.chain_id,
        now(),
        Some(&offered.check_in),
    )
    .unwrap();
    let picture = medwallet_core::qr::png(&code, 4).unwrap();
    let read = medwallet_core::qr::read(&picture).unwrap();
    assert_eq!(read, code);
    let e = patient_svc
        .check_in(&patient, &nodes.ipfs, &nodes.ledger, &read)
        .await
        .unwrap_err();
    assert!(
        matches!(e, CoreError::FrontDesk(FrontDeskError::OnlyClinicsCheckIn)),
        "{e:?}"
    );

    // Bad codes, each named: damaged, signed by another key, a plain share code, not a code.
    let mut damaged = read.clone().into_bytes();
    let at = damaged.len() - 30;
    damaged[at] = if damaged[at] == b'A' { b'B' } else { b'A' };
    let damaged = String::from_utf8(damaged).unwrap();
    let plain = ShareCode::create(&patient_keys, "Ada", offered.chain_id, now()).unwrap();
    let foreign = signed_by_another(&read, &keys(114, Role::Patient));
    let refusals: [(&str, Refusal); 4] = [
        (damaged.as_str(), |e, _| {
            matches!(e, CoreError::During { task: Task::ReadCode, source }
                if matches!(**source, CoreError::ShareCode(ShareCodeError::BadSignature)))
        }),
        (
            foreign.as_str(),
            |e, patient| matches!(e, CoreError::Sharing(SharingError::NotSignedBy { address }) if address == patient),
        ),
        (
            plain.as_str(),
            |e, patient| matches!(e, CoreError::FrontDesk(FrontDeskError::PlainShareCode { address, .. }) if address == patient),
        ),
        ("hello", |e, _| {
            matches!(e, CoreError::FrontDesk(FrontDeskError::NotACheckInCode))
        }),
    ];
    for (text, refused) in refusals {
        let e = desk_svc
            .check_in(&desk, &nodes.ipfs, &nodes.ledger, text)
            .await
            .unwrap_err();
        assert!(refused(&e, &patient.address), "{text}: {e:?}");
    }

    let session = desk_svc
        .check_in(&desk, &nodes.ipfs, &nodes.ledger, &read)
        .await
        .unwrap();
    assert_eq!(
        (session.patient.as_str(), session.patient_name.as_str()),
        (patient.address.as_str(), "Ada")
    );
    // Redeemed is only asked: nothing opens, nothing is uploaded before the patient
    // answers.
    assert_eq!(session.state, "waiting");
    assert!(session.records.is_empty(), "{session:?}");
    let e = desk_svc
        .open_checked_in(
            &desk,
            &nodes.ipfs,
            &nodes.ledger,
            &session.check_in_id,
            &shown,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(e, CoreError::Inbox(InboxError::NotShared)),
        "{e:?}"
    );
    let scan = nodes.file("potassium.txt", b"Potassium 4.1 mmol/L (3.5-5.1)\n");
    let e = desk_svc
        .upload_for_patient(
            &desk,
            &nodes.ipfs,
            &nodes.ledger,
            &session.check_in_id,
            &scan,
            &meta("Too early"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&e, CoreError::FrontDesk(FrontDeskError::NotAllowedYet { patient_name }) if patient_name == "Ada"),
        "{e:?}"
    );

    // The patient's wallet asks: who (verified by the consortium), what, until when.
    nodes.attest(&desk.address, "St Mary's Hospital", 2).await;
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
    assert_eq!(asks.len(), 1, "{asks:?}");
    assert_eq!(asks[0].clinic.address, desk.address);
    assert_eq!(
        asks[0].clinic.verified_name.as_deref(),
        Some("St Mary's Hospital")
    );
    assert_eq!(asks[0].state, "asked");
    assert_eq!(asks[0].records, [(shown.clone(), "Blood panel".to_owned())]);
    answer(&nodes, &patient_svc, &patient, &asks[0].check_in_id, true)
        .await
        .unwrap();
    let e = answer(&nodes, &patient_svc, &patient, &asks[0].check_in_id, false)
        .await
        .unwrap_err();
    assert!(
        matches!(e, CoreError::FrontDesk(FrontDeskError::AlreadyAnswered)),
        "{e:?}"
    );
    let session = desk_svc
        .list_check_ins(&desk, &nodes.ipfs, &nodes.ledger)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(session.state, "allowed");
    assert!(!session.expired);
    // The desk sees which record was granted, not its title, until it opens it.
    let listed: Vec<(&str, bool)> = session
        .records
        .iter()
        .map(|r| (r.record_id.as_str(), r.opened))
        .collect();
    assert_eq!(listed, [(shown.as_str(), false)]);

    // The granted record opens (logged first); the other does not.
    let opened = desk_svc
        .open_checked_in(
            &desk,
            &nodes.ipfs,
            &nodes.ledger,
            &session.check_in_id,
            &shown,
        )
        .await
        .unwrap();
    assert_eq!(opened.record.title, "Blood panel");
    let e = desk_svc
        .open_checked_in(
            &desk,
            &nodes.ipfs,
            &nodes.ledger,
            &session.check_in_id,
            &kept,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(e, CoreError::Inbox(InboxError::NotShared)),
        "{e:?}"
    );

    // A code checks in once: another desk, and this desk again, are refused.
    let e = other_svc
        .check_in(&other, &nodes.ipfs, &nodes.ledger, &read)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, CoreError::FrontDesk(FrontDeskError::CheckInUsed { by }) if by.to_string() == desk.address),
        "{e:?}"
    );
    let e = desk_svc
        .check_in(&desk, &nodes.ipfs, &nodes.ledger, &read)
        .await
        .unwrap_err();
    assert!(
        matches!(e, CoreError::FrontDesk(FrontDeskError::UsedHere)),
        "{e:?}"
    );
    assert_eq!(
        desk_svc
            .list_check_ins(&desk, &nodes.ipfs, &nodes.ledger)
            .await
            .unwrap()
            .len(),
        1
    );

    // Verify: the manifest's CID and a copy of it; a changed copy; the document itself
    // and a changed one; something unknown.
    let verify = |cid: Option<&str>, path: Option<&str>| {
        let (cid, path) = (cid.map(str::to_owned), path.map(str::to_owned));
        let (svc, desk, nodes) = (&desk_svc, &desk, &nodes);
        async move {
            svc.verify(
                desk,
                &nodes.ipfs,
                &nodes.ledger,
                cid.as_deref(),
                path.as_deref(),
            )
            .await
        }
    };
    let manifest_cid = opened.verification.manifest_cid.clone();
    let v = verify(Some(&manifest_cid), None).await.unwrap();
    assert_eq!(v.outcome, VerifyOutcome::Registered, "{v:?}");
    assert_eq!(v.registered_by.as_deref(), Some(patient.address.as_str()));
    assert_eq!(v.version, Some(1));
    let manifest = cat(&nodes, &manifest_cid.parse().unwrap()).await;
    let copy = nodes.file("manifest.bin", &manifest);
    assert_eq!(
        verify(None, Some(&copy)).await.unwrap().outcome,
        VerifyOutcome::Registered
    );
    let mut changed = manifest.clone();
    let last = changed.len() - 1;
    changed[last] ^= 1;
    let v = verify(None, Some(&nodes.file("manifest-changed.bin", &changed)))
        .await
        .unwrap();
    assert_eq!(v.outcome, VerifyOutcome::Altered, "{v:?}");
    assert_eq!(v.record_id.as_deref(), Some(shown.as_str()));
    let v = verify(None, Some(&nodes.file("copy-of-lab.pdf", PDF)))
        .await
        .unwrap();
    assert_eq!(v.outcome, VerifyOutcome::Registered, "{v:?}");
    let mut forged = PDF.to_vec();
    let mid = forged.len() / 2;
    forged[mid] ^= 0x20;
    let v = verify(None, Some(&nodes.file("lab.pdf", &forged)))
        .await
        .unwrap();
    assert_eq!(v.outcome, VerifyOutcome::Altered, "{v:?}");
    // The same name as the granted record but another size: not it, said without
    // opening the record (no opening logged for it).
    let openings = |t: &medwallet_api::AuditTrail| {
        t.entries
            .iter()
            .filter(|e| e.action == AuditAction::Accessed && e.actor.address == desk.address)
            .count()
    };
    let before = openings(&trail_of(&nodes, &patient_svc, &patient).await);
    let v = verify(None, Some(&nodes.file("renamed/lab.pdf", TEXT)))
        .await
        .unwrap();
    assert_eq!(v.outcome, VerifyOutcome::Altered, "{v:?}");
    assert!(v.headline.contains("not its content"), "{v:?}");
    assert_eq!(
        openings(&trail_of(&nodes, &patient_svc, &patient).await),
        before
    );
    let v = verify(
        None,
        Some(&nodes.file("unrelated.txt", b"nothing registered")),
    )
    .await
    .unwrap();
    assert_eq!(v.outcome, VerifyOutcome::Unknown, "{v:?}");
    let unknown_cid = medwallet_records::cid::cid_of(b"never registered").to_string();
    assert_eq!(
        verify(Some(&unknown_cid), None).await.unwrap().outcome,
        VerifyOutcome::Unknown
    );
    let e = verify(Some("bafy-not-a-cid"), None).await.unwrap_err();
    assert!(
        matches!(&e, CoreError::FrontDesk(FrontDeskError::NotACid { text, .. }) if text == "bafy-not-a-cid"),
        "{e:?}"
    );

    // Upload for the patient: theirs, with the desk as author; another desk cannot.
    let uploaded = desk_svc
        .upload_for_patient(
            &desk,
            &nodes.ipfs,
            &nodes.ledger,
            &session.check_in_id,
            &scan,
            &meta("Potassium"),
        )
        .await
        .unwrap();
    assert_eq!(uploaded.patient, patient.address);
    let e = other_svc
        .upload_for_patient(
            &other,
            &nodes.ipfs,
            &nodes.ledger,
            &session.check_in_id,
            &scan,
            &meta("Potassium"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(e, CoreError::FrontDesk(FrontDeskError::NotCheckedIn)),
        "{e:?}"
    );
    assert_eq!(
        patient_svc
            .sync_sharing(&patient, &nodes.ipfs, &nodes.ledger, true)
            .await,
        None
    );
    let list = patient_svc.list(&patient).await.unwrap();
    let made = list
        .iter()
        .find(|r| r.id == uploaded.record_id)
        .expect("in the patient's list");
    assert_eq!(made.title, "Potassium");
    assert_eq!(made.uploaded_by.as_deref(), Some(desk.address.as_str()));
    assert_eq!(made.uploaded_by_name.as_deref(), Some("St Mary's Hospital"));
    let mine = patient_svc
        .open(&patient, &nodes.ipfs, &uploaded.record_id)
        .await
        .unwrap();
    assert!(
        matches!(&mine.view, RecordView::Text { text, .. } if text.contains("Potassium 4.1")),
        "{:?}",
        mine.view
    );
    // The patient's trail: the check-in offered and redeemed, the opening, the upload.
    let trail = trail_of(&nodes, &patient_svc, &patient).await;
    for (action, actor) in [
        (AuditAction::CheckInAnswered, &patient.address),
        (AuditAction::CheckedIn, &desk.address),
        (AuditAction::Accessed, &desk.address),
        (AuditAction::UploadedFor, &desk.address),
    ] {
        assert!(
            trail
                .entries
                .iter()
                .any(|e| e.action == action && &e.actor.address == actor),
            "{action:?} by {actor}: {trail:?}"
        );
    }

    // After the check-in's time, the desk can neither open nor upload; the patient's pass
    // takes the grant back.
    medwallet_ledger::testing::advance_time(&nodes.ledger.url, 16 * 60)
        .await
        .unwrap();
    let e = desk_svc
        .open_checked_in(
            &desk,
            &nodes.ipfs,
            &nodes.ledger,
            &session.check_in_id,
            &shown,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(e, CoreError::Inbox(InboxError::Expired { at }) if at > 0),
        "{e:?}"
    );
    let e = desk_svc
        .upload_for_patient(
            &desk,
            &nodes.ipfs,
            &nodes.ledger,
            &session.check_in_id,
            &scan,
            &meta("Late"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&e, CoreError::FrontDesk(FrontDeskError::UploadExpired { patient_name, .. }) if patient_name == "Ada"),
        "{e:?}"
    );
    // An expired code is refused before anything is sent.
    let late = patient_svc
        .offer_check_in(&patient, &nodes.ipfs, &nodes.ledger, &[], 5)
        .await
        .unwrap();
    let late_code = ShareCode::create_with(
        &patient_keys,
        "Ada",
        late.chain_id,
        now(),
        Some(&late.check_in),
    )
    .unwrap();
    medwallet_ledger::testing::advance_time(&nodes.ledger.url, 6 * 60)
        .await
        .unwrap();
    let e = other_svc
        .check_in(&other, &nodes.ipfs, &nodes.ledger, &late_code)
        .await
        .unwrap_err();
    assert!(
        matches!(e, CoreError::FrontDesk(FrontDeskError::CheckInExpired { at })
            if u64::try_from(at) == Ok(late.check_in.expires_at)),
        "{e:?}"
    );
}

/// A photographed check-in code opens nothing: whoever redeems it first only asks, is
/// named to the patient as unverified, and gets nothing when the patient declines; the
/// desk the patient meant to show it to is told who came first.
#[tokio::test]
async fn a_photographed_check_in_code_opens_nothing_and_its_thief_is_named() {
    use medwallet_vault::ShareCode;

    let nodes = Nodes::start().await;
    let (patient_svc, desk_svc, thief_svc) = (
        nodes.service("patient"),
        nodes.service("clinic"),
        nodes.service("thief"),
    );
    let patient_keys = keys(131, Role::Patient);
    let patient = wallet(131, Role::Patient, "Ada");
    let desk = wallet(132, Role::Clinic, "St Mary's front desk");
    let thief = wallet(133, Role::Clinic, "St Mary's front desk");
    let shown = add(
        &nodes,
        &patient_svc,
        &patient,
        "lab.pdf",
        PDF,
        "Blood panel",
    )
    .await;
    let offered = patient_svc
        .offer_check_in(
            &patient,
            &nodes.ipfs,
            &nodes.ledger,
            std::slice::from_ref(&shown),
            60,
        )
        .await
        .unwrap();
    let code = ShareCode::create_with(
        &patient_keys,
        "Ada",
        offered.chain_id,
        now(),
        Some(&offered.check_in),
    )
    .unwrap();

    // The thief redeems first; the desk is told who did.
    let stolen = thief_svc
        .check_in(&thief, &nodes.ipfs, &nodes.ledger, &code)
        .await
        .unwrap();
    assert_eq!(stolen.state, "waiting");
    let e = desk_svc
        .check_in(&desk, &nodes.ipfs, &nodes.ledger, &code)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, CoreError::FrontDesk(FrontDeskError::CheckInUsed { by }) if by.to_string() == thief.address),
        "{e:?}"
    );

    // No grant exists: the thief opens nothing and uploads nothing.
    let ledger = LedgerNode::new(&nodes.ledger.url);
    let head = ledger.status().await.unwrap().block_height;
    let granted = ledger
        .fetch_events(
            nodes.ledger.contract.unwrap(),
            0,
            head,
            &EventFilter::Wallet(patient.address.parse().unwrap()),
        )
        .await
        .unwrap()
        .events
        .iter()
        .filter(|e| matches!(e.event, LedgerEvent::AccessGranted { .. }))
        .count();
    assert_eq!(granted, 0, "nothing is granted before the patient allows");
    let e = thief_svc
        .open_checked_in(
            &thief,
            &nodes.ipfs,
            &nodes.ledger,
            &stolen.check_in_id,
            &shown,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(e, CoreError::Inbox(InboxError::NotShared)),
        "{e:?}"
    );

    // A ledger node that names the genuine (attested) desk instead of the thief: the
    // patient's Allow is refused on chain (it names the desk, which redeemed nothing),
    // nothing is granted, and the next pass reads who really did.
    nodes.attest(&desk.address, "St Mary's Hospital", 2).await;
    let hex = |a: &str| a.trim_start_matches("0x").to_lowercase();
    let anvil_at: std::net::SocketAddr = nodes.ledger.url.socket_addrs(|| None).unwrap()[0];
    let lying = LedgerTarget {
        url: lying_proxy(anvil_at, hex(&thief.address), hex(&desk.address)),
        ..nodes.ledger.clone()
    };
    assert_eq!(
        patient_svc
            .sync_sharing(&patient, &nodes.ipfs, &lying, true)
            .await,
        None
    );
    let asks = patient_svc
        .check_in_asks(&patient, &nodes.ledger)
        .await
        .unwrap();
    assert_eq!(asks[0].clinic.address, desk.address, "the lie is shown");
    let e = answer(&nodes, &patient_svc, &patient, &asks[0].check_in_id, true)
        .await
        .unwrap_err();
    assert!(
        matches!(e.cause(), CoreError::Ledger(l) if matches!(**l, medwallet_ledger::LedgerError::Reverted {
            reason: medwallet_ledger::Revert::NotThisClinic { .. },
            ..
        })),
        "{e:?}"
    );
    assert!(patient_svc.list_grants(&patient).await.unwrap().is_empty());

    // The patient is asked by the thief, named unverified (it attested nothing), and
    // declines.
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
    assert_eq!(asks.len(), 1);
    assert_eq!(asks[0].clinic.address, thief.address);
    assert_eq!(asks[0].clinic.verified_name, None);
    // An Allow clicked on the request as the window showed it before (naming the
    // genuine desk) is refused: the request now names another, and nothing is kept.
    let e = patient_svc
        .answer_check_in(
            &patient,
            &nodes.ipfs,
            &nodes.ledger,
            &asks[0].check_in_id,
            &desk.address,
            true,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(e, CoreError::FrontDesk(FrontDeskError::AskerChanged)),
        "{e:?}"
    );
    assert!(patient_svc.list_grants(&patient).await.unwrap().is_empty());
    answer(&nodes, &patient_svc, &patient, &asks[0].check_in_id, false)
        .await
        .unwrap();
    let after = thief_svc
        .list_check_ins(&thief, &nodes.ipfs, &nodes.ledger)
        .await
        .unwrap();
    assert_eq!(after[0].state, "declined");
    assert!(after[0].records.is_empty());
    let scan = nodes.file("forged.txt", b"attacker-chosen bytes\n");
    let e = thief_svc
        .upload_for_patient(
            &thief,
            &nodes.ipfs,
            &nodes.ledger,
            &stolen.check_in_id,
            &scan,
            &meta("Forged"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&e, CoreError::FrontDesk(FrontDeskError::Declined { patient_name }) if patient_name == "Ada"),
        "{e:?}"
    );
    let asks = patient_svc
        .check_in_asks(&patient, &nodes.ledger)
        .await
        .unwrap();
    assert_eq!(asks[0].state, "declined");
    assert_eq!(patient_svc.list(&patient).await.unwrap().len(), 1);
}

#[tokio::test]
async fn emergency_access_is_logged_as_an_emergency() {
    let nodes = Nodes::start().await;
    let (patient_svc, clinic_svc, staff_svc) = (
        nodes.service("patient"),
        nodes.service("clinic"),
        nodes.service("staff"),
    );
    let patient = wallet(121, Role::Patient, "Ada");
    let clinic = wallet(122, Role::Clinic, "St Mary's");
    let medic = wallet(123, Role::Doctor, "Dr. Quick");
    staff_svc
        .list_shared(&medic, &nodes.ipfs, &nodes.ledger)
        .await
        .unwrap();
    clinic_svc
        .issue_staff_key(
            &clinic,
            &nodes.ipfs,
            &nodes.ledger,
            &medic.address,
            &["role:emergency".to_owned()],
        )
        .await
        .unwrap();
    let record = add(&nodes, &patient_svc, &patient, "lab.pdf", PDF, "Allergies").await;
    let grants = patient_svc
        .share(
            &patient,
            &nodes.ipfs,
            &nodes.ledger,
            &share_role(&record, &clinic.address, "role:emergency"),
        )
        .await
        .unwrap();
    assert!(
        grants.iter().all(|g| g.state == GrantState::Active),
        "{grants:?}"
    );

    let inbox = staff_svc
        .list_shared(&medic, &nodes.ipfs, &nodes.ledger)
        .await
        .unwrap();
    assert!(
        inbox
            .records
            .iter()
            .any(|r| r.record_id == record && r.emergency),
        "{inbox:?}"
    );
    staff_svc
        .open_shared(&medic, &nodes.ipfs, &nodes.ledger, &record)
        .await
        .unwrap();
    let trail = trail_of(&nodes, &patient_svc, &patient).await;
    assert!(
        trail
            .entries
            .iter()
            .any(|e| e.action == AuditAction::EmergencyAccessSet),
        "{trail:?}"
    );
    assert!(
        trail
            .entries
            .iter()
            .any(|e| e.action == AuditAction::EmergencyAccess && e.actor.address == medic.address),
        "{trail:?}"
    );
    assert!(
        !trail
            .entries
            .iter()
            .any(|e| e.action == AuditAction::Accessed && e.actor.address == medic.address),
        "an emergency opening is not logged as an ordinary one: {trail:?}"
    );

    // Withdrawn: the clinic is no longer marked, and nothing opens.
    patient_svc
        .revoke(
            &patient,
            &nodes.ipfs,
            &nodes.ledger,
            &record,
            &clinic.address,
            Some("role:emergency"),
        )
        .await
        .unwrap();
    let e = staff_svc
        .open_shared(&medic, &nodes.ipfs, &nodes.ledger, &record)
        .await
        .unwrap_err();
    assert!(
        matches!(e, CoreError::Inbox(InboxError::NotShared)),
        "{e:?}"
    );
    let trail = trail_of(&nodes, &patient_svc, &patient).await;
    assert_eq!(
        trail
            .entries
            .iter()
            .filter(|e| e.action == AuditAction::EmergencyAccessSet)
            .count(),
        2,
        "{trail:?}"
    );
}

/// The patient's emergency watch (the background pass's step) after one pass.
async fn watch(
    nodes: &Nodes,
    service: &RecordService,
    owner: &Owner,
) -> Vec<medwallet_core::audit::alerts::RaisedAlert> {
    AuditService::new(&nodes.root.join("patient"))
        .watch_emergencies(service, owner, &nodes.ledger, &[])
        .await
        .unwrap()
}

async fn banner(
    nodes: &Nodes,
    service: &RecordService,
    owner: &Owner,
) -> Vec<medwallet_api::EmergencyAlert> {
    AuditService::new(&nodes.root.join("patient"))
        .emergency_alerts(service, owner, &nodes.ledger)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_emergency_opening_raises_one_alert_until_the_patient_has_seen_it() {
    let nodes = Nodes::start().await;
    let (patient_svc, clinic_svc, staff_svc, doctor_svc) = (
        nodes.service("patient"),
        nodes.service("clinic"),
        nodes.service("staff"),
        nodes.service("doctor"),
    );
    let patient = wallet(131, Role::Patient, "Ada");
    let clinic = wallet(132, Role::Clinic, "St Mary's");
    let medic = wallet(133, Role::Doctor, "Dr. Quick");
    let doctor = wallet(134, Role::Doctor, "Dr. Seacole");
    hire(
        &nodes,
        (&clinic_svc, &clinic),
        &[(&staff_svc, &medic)],
        &["role:emergency"],
    )
    .await;
    doctor_svc
        .list_shared(&doctor, &nodes.ipfs, &nodes.ledger)
        .await
        .unwrap();
    let record = add(&nodes, &patient_svc, &patient, "lab.pdf", PDF, "Allergies").await;
    for request in [
        share_role(&record, &clinic.address, "role:emergency"),
        share_with(&record, &doctor.address, None),
    ] {
        let grants = patient_svc
            .share(&patient, &nodes.ipfs, &nodes.ledger, &request)
            .await
            .unwrap();
        assert!(
            grants.iter().all(|g| g.state == GrantState::Active),
            "{grants:?}"
        );
    }
    assert_eq!(watch(&nodes, &patient_svc, &patient).await, vec![]);

    // A person's ordinary opening is in the trail, not an alert.
    doctor_svc
        .open_shared(&doctor, &nodes.ipfs, &nodes.ledger, &record)
        .await
        .unwrap();
    assert_eq!(watch(&nodes, &patient_svc, &patient).await, vec![]);
    assert_eq!(banner(&nodes, &patient_svc, &patient).await, vec![]);

    // The emergency staff's opening: one alert, naming the clinic, once.
    staff_svc
        .open_shared(&medic, &nodes.ipfs, &nodes.ledger, &record)
        .await
        .unwrap();
    let raised = watch(&nodes, &patient_svc, &patient).await;
    assert_eq!(raised.len(), 1, "{raised:?}");
    assert_eq!(raised[0].record_id, record.to_lowercase());
    assert_eq!(raised[0].accessor, medic.address);
    assert_eq!(raised[0].clinic, clinic.address);
    let words = medwallet_core::audit::alerts::notification(&raised).unwrap();
    assert_eq!(words.title, "Emergency access to your records");
    assert!(
        words
            .body
            .starts_with("A clinic's emergency staff opened a record (0x")
            && words.body.contains(&clinic.address[..6])
            && !words.body.contains("Allergies"),
        "{words:?}"
    );
    assert_eq!(
        watch(&nodes, &patient_svc, &patient).await,
        vec![],
        "found once"
    );
    let shown = banner(&nodes, &patient_svc, &patient).await;
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert_eq!(shown[0].record_title.as_deref(), Some("Allergies"));
    assert_eq!(
        (shown[0].accessor.as_str(), shown[0].clinic.as_str()),
        (medic.address.as_str(), clinic.address.as_str())
    );
    assert_eq!(shown[0].version, 1);

    // Seen: gone from the banner, and no later pass brings it back.
    AuditService::new(&nodes.root.join("patient"))
        .acknowledge_emergencies(&patient_svc, &patient, &[shown[0].id])
        .await
        .unwrap();
    assert_eq!(banner(&nodes, &patient_svc, &patient).await, vec![]);
    assert_eq!(watch(&nodes, &patient_svc, &patient).await, vec![]);
    assert_eq!(banner(&nodes, &patient_svc, &patient).await, vec![]);
}

#[tokio::test]
async fn revoking_a_staff_key_moves_the_clinic_to_a_new_epoch() {
    let nodes = Nodes::start().await;
    let svc = |name| nodes.service(name);
    let (patient_svc, clinic_svc, alice_svc, bob_svc) =
        (svc("patient"), svc("clinic"), svc("alice"), svc("bob"));
    let patient = wallet(131, Role::Patient, "Ada");
    let clinic = wallet(132, Role::Clinic, "St Mary's");
    let alice = wallet(133, Role::Doctor, "Dr. Alice");
    let bob = wallet(134, Role::Doctor, "Dr. Bob");
    hire(
        &nodes,
        (&clinic_svc, &clinic),
        &[(&alice_svc, &alice), (&bob_svc, &bob)],
        &["role:doctor", "dept:cardiology"],
    )
    .await;
    let staff = clinic_svc.list_staff(&clinic).await.unwrap();
    assert_eq!(staff.epoch, 1);
    assert_eq!(staff.members.iter().filter(|m| m.active).count(), 2);
    let e = patient_svc.list_staff(&patient).await.unwrap_err();
    assert!(
        matches!(e, CoreError::Staff(StaffError::OnlyClinics)),
        "{e:?}"
    );

    let record = add(
        &nodes,
        &patient_svc,
        &patient,
        "lab.pdf",
        PDF,
        "Echo report",
    )
    .await;
    patient_svc
        .share(
            &patient,
            &nodes.ipfs,
            &nodes.ledger,
            &share_role(&record, &clinic.address, "role:doctor AND dept:cardiology"),
        )
        .await
        .unwrap();
    for (s, w) in [(&alice_svc, &alice), (&bob_svc, &bob)] {
        let inbox = s.list_shared(w, &nodes.ipfs, &nodes.ledger).await.unwrap();
        assert_eq!(inbox.records.len(), 1, "{inbox:?}");
    }
    bob_svc
        .open_shared(&bob, &nodes.ipfs, &nodes.ledger, &record)
        .await
        .unwrap();

    // Bob leaves the clinic: epoch 2, Alice re-keyed.
    let staff = clinic_svc
        .revoke_staff_key(&clinic, &nodes.ipfs, &nodes.ledger, &bob.address)
        .await
        .unwrap();
    assert_eq!((staff.epoch, staff.problem.as_deref()), (2, None));
    let bob_row = staff
        .members
        .iter()
        .find(|m| m.holder == bob.address)
        .unwrap();
    assert!(!bob_row.active && bob_row.revoked_at.is_some());
    // Sent with the revocation: the Staff page says it is on the ledger.
    assert!(bob_row.revocation_tx.is_some(), "{bob_row:?}");
    let e = clinic_svc
        .revoke_staff_key(&clinic, &nodes.ipfs, &nodes.ledger, &bob.address)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, CoreError::Staff(StaffError::NoActiveKey { holder }) if *holder == bob.address),
        "{e:?}"
    );
    // The revocation is on the ledger: before any patient re-encrypts, Bob's app no
    // longer counts the revoked key (it reads `KeyRevoked`), and a client that skips
    // that check is refused by the contract itself.
    let e = bob_svc
        .open_shared(&bob, &nodes.ipfs, &nodes.ledger, &record)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e.cause(),
            CoreError::Inbox(InboxError::KeyDoesNotHold | InboxError::NotShared)
        ),
        "{e:?}"
    );
    let ledger = LedgerNode::new(&nodes.ledger.url);
    let contract = nodes.ledger.contract.unwrap();
    let record_id: medwallet_ledger::B256 = record.parse().unwrap();
    let head = ledger.status().await.unwrap().block_height;
    let clause_hash = ledger
        .fetch_events(contract, 0, head, &EventFilter::Record(record_id))
        .await
        .unwrap()
        .events
        .iter()
        .find_map(|e| match e.event {
            LedgerEvent::AccessGranted { clause_hash, .. } if !clause_hash.is_zero() => {
                Some(clause_hash)
            }
            _ => None,
        })
        .expect("the role's grant");
    let bob_key = PrivateKeySigner::from_bytes(&medwallet_ledger::B256::from(
        *keys(134, Role::Doctor).ledger_secret_key(),
    ))
    .unwrap();
    let e = ledger
        .client(bob_key, contract)
        .await
        .unwrap()
        .log_clause_access(record_id, 1, clinic.address.parse().unwrap(), clause_hash)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            medwallet_ledger::LedgerError::Reverted {
                reason: medwallet_ledger::Revert::NotGrantee { .. },
                ..
            }
        ),
        "{e:?}"
    );

    // The patient's next pass sees the clinic's new parameters and re-encrypts.
    assert_eq!(
        patient_svc
            .sync_sharing(&patient, &nodes.ipfs, &nodes.ledger, true)
            .await,
        None
    );
    let grants = patient_svc.list_grants(&patient).await.unwrap();
    let rotation = grants
        .iter()
        .find(|g| g.rotation)
        .expect("a re-encryption for the clinic's new epoch");
    assert_eq!(rotation.state, GrantState::Revoked, "{rotation:?}");
    let report = rotation.exposure.as_ref().expect("a report");
    assert!(
        report.summary.contains("could have fetched version 1")
            && report.summary.contains("1 opening")
            && report.summary.contains("the revoked key does not"),
        "{report:?}"
    );
    // The role's grant itself stands.
    assert!(grants
        .iter()
        .any(|g| !g.rotation && g.clause.is_some() && g.state == GrantState::Active));

    let inbox = alice_svc
        .list_shared(&alice, &nodes.ipfs, &nodes.ledger)
        .await
        .unwrap();
    assert_eq!(inbox.records.len(), 1, "{inbox:?}");
    assert_eq!(inbox.records[0].version, 2);
    alice_svc
        .open_shared(&alice, &nodes.ipfs, &nodes.ledger, &record)
        .await
        .unwrap();
    let inbox = bob_svc
        .list_shared(&bob, &nodes.ipfs, &nodes.ledger)
        .await
        .unwrap();
    assert!(inbox.records.is_empty(), "{inbox:?}");
    // His key was revoked on the ledger: the app no longer counts it, so the record is
    // not shared with him at all.
    let e = bob_svc
        .open_shared(&bob, &nodes.ipfs, &nodes.ledger, &record)
        .await
        .unwrap_err();
    assert!(
        matches!(e, CoreError::Inbox(InboxError::NotShared)),
        "{e:?}"
    );
    // Bob's old key, taken straight from the ledger, opens nothing of version 2.
    let old_key = received_key(&nodes, &keys(134, Role::Doctor), &clinic.address).await;
    let capsule_cid: Cid = patient_svc
        .open(&patient, &nodes.ipfs, &record)
        .await
        .unwrap()
        .verification
        .capsule_cid
        .parse()
        .unwrap();
    let bytes = cat(&nodes, &capsule_cid).await;
    assert!(matches!(
        capsule::unwrap(&old_key, &bytes, &record, 2),
        Err(CapsuleError::NoPartForThisAuthority | CapsuleError::NotAllowed)
    ));
}

/// Given only an address, keys are sealed to the keys whose fingerprint the dialog showed;
/// and the first key sealed to anyone is kept, so a ledger node that later swaps it (a
/// staff member re-keyed) gets nothing sealed to it.
#[tokio::test]
async fn keys_are_sealed_to_the_key_seen_first_never_to_a_later_swap() {
    let nodes = Nodes::start().await;
    let (patient_svc, doctor_svc, clinic_svc, medic_svc) = (
        nodes.service("patient"),
        nodes.service("doctor"),
        nodes.service("clinic"),
        nodes.service("medic"),
    );
    let patient = wallet(181, Role::Patient, "Ada");
    let doctor_keys = keys(182, Role::Doctor);
    let doctor = wallet(182, Role::Doctor, "Dr. Who");
    let clinic = wallet(183, Role::Clinic, "St Mary's");
    let medic_keys = keys(184, Role::Doctor);
    let medic = wallet(184, Role::Doctor, "Dr. Quick");
    let note = add(
        &nodes,
        &patient_svc,
        &patient,
        "note.txt",
        TEXT,
        "Visit note",
    )
    .await;
    for (svc, who) in [(&doctor_svc, &doctor), (&medic_svc, &medic)] {
        svc.list_shared(who, &nodes.ipfs, &nodes.ledger)
            .await
            .unwrap();
    }
    let anvil_at: std::net::SocketAddr = nodes.ledger.url.socket_addrs(|| None).unwrap()[0];
    let attacker = keys(185, Role::Doctor).public_identity("x").x25519_public;

    // The doctor by address: the honest preview's fingerprint, then a node that swaps
    // the doctor's key before the share is sent: refused, nothing queued.
    let mut request = share_with(&note, &doctor.address, None);
    let preview = patient_svc
        .preview_share(&patient, &nodes.ledger, &request)
        .await
        .unwrap();
    assert_eq!(
        preview
            .grantee_label
            .as_ref()
            .map(|l| l.verified_name.clone()),
        Some(None),
        "the doctor is unverified"
    );
    request.seen_fingerprint = preview.key_fingerprint.clone();
    let real = doctor_keys.public_identity("Dr. Who").x25519_public;
    let lying = LedgerTarget {
        url: lying_proxy(anvil_at, real, attacker.clone()),
        ..nodes.ledger.clone()
    };
    let e = patient_svc
        .share(&patient, &nodes.ipfs, &lying, &request)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, CoreError::Sharing(SharingError::KeyChanged { address }) if *address == doctor.address),
        "{e:?}"
    );
    assert!(patient_svc.list_grants(&patient).await.unwrap().is_empty());
    // Through the honest node it is shared, and the doctor opens it.
    patient_svc
        .share(&patient, &nodes.ipfs, &nodes.ledger, &request)
        .await
        .unwrap();
    doctor_svc
        .open_shared(&doctor, &nodes.ipfs, &nodes.ledger, &note)
        .await
        .unwrap();
    // The doctor's key is noted now: a later preview by address through the lying node
    // (whose fingerprint would match its own lie) is refused, never a new pin.
    let e = patient_svc
        .preview_share(&patient, &lying, &share_with(&note, &doctor.address, None))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, CoreError::Sharing(SharingError::KeyNotAsInCode { address }) if *address == doctor.address),
        "{e:?}"
    );

    // A staff key issued through an honest node pins the medic's key; re-keyed later
    // through a node that swaps it, nothing is sealed.
    clinic_svc
        .issue_staff_key(
            &clinic,
            &nodes.ipfs,
            &nodes.ledger,
            &medic.address,
            &["role:nurse".to_owned()],
        )
        .await
        .unwrap();
    let real = medic_keys.public_identity("Dr. Quick").x25519_public;
    let lying = LedgerTarget {
        url: lying_proxy(anvil_at, real, attacker),
        ..nodes.ledger.clone()
    };
    let e = clinic_svc
        .issue_staff_key(
            &clinic,
            &nodes.ipfs,
            &lying,
            &medic.address,
            &["role:doctor".to_owned()],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(e.cause(), CoreError::Sharing(SharingError::KeyNotAsInCode { address }) if *address == medic.address),
        "{e:?}"
    );
    // The honest node re-keys the medic as asked.
    clinic_svc
        .issue_staff_key(
            &clinic,
            &nodes.ipfs,
            &nodes.ledger,
            &medic.address,
            &["role:doctor".to_owned()],
        )
        .await
        .unwrap();
}

/// The contract counts only keys of the clinic's current epoch: after a revocation every
/// other staff member is re-keyed, and one who cannot be yet (a new hire who has not
/// published, listed first) holds up no one else.
#[tokio::test]
async fn a_new_hire_not_published_yet_holds_up_no_one_elses_new_key() {
    let nodes = Nodes::start().await;
    let svc = |name| nodes.service(name);
    let (patient_svc, clinic_svc, alice_svc, bob_svc) =
        (svc("patient"), svc("clinic"), svc("alice"), svc("bob"));
    let patient = wallet(191, Role::Patient, "Ada");
    let clinic = wallet(192, Role::Clinic, "St Mary's");
    let alice = wallet(193, Role::Doctor, "Dr. Alice");
    let bob = wallet(194, Role::Doctor, "Dr. Bob");
    hire(
        &nodes,
        (&clinic_svc, &clinic),
        &[(&alice_svc, &alice), (&bob_svc, &bob)],
        &["role:doctor"],
    )
    .await;
    // A new hire whose address comes before Alice's (the order staff are re-keyed in),
    // who has not published keys yet.
    let newbie = (200u8..=255)
        .map(|seed| wallet(seed, Role::Doctor, "Dr. New"))
        .find(|w| w.address < alice.address)
        .expect("an address before Alice's");
    let e = clinic_svc
        .issue_staff_key(
            &clinic,
            &nodes.ipfs,
            &nodes.ledger,
            &newbie.address,
            &["role:doctor".to_owned()],
        )
        .await
        .unwrap_err();
    assert!(matches!(e.cause(), CoreError::NotPublished { .. }), "{e:?}");
    let record = add(&nodes, &patient_svc, &patient, "lab.pdf", PDF, "Echo").await;
    patient_svc
        .share(
            &patient,
            &nodes.ipfs,
            &nodes.ledger,
            &share_role(&record, &clinic.address, "role:doctor"),
        )
        .await
        .unwrap();

    // Bob leaves: the problem named is the new hire's, and Alice holds a key of epoch 2.
    let staff = clinic_svc
        .revoke_staff_key(&clinic, &nodes.ipfs, &nodes.ledger, &bob.address)
        .await
        .unwrap();
    assert_eq!(staff.epoch, 2);
    assert!(staff.problem.is_some(), "{staff:?}");
    assert_eq!(
        patient_svc
            .sync_sharing(&patient, &nodes.ipfs, &nodes.ledger, true)
            .await,
        None
    );
    let opened = alice_svc
        .open_shared(&alice, &nodes.ipfs, &nodes.ledger, &record)
        .await
        .unwrap();
    assert_eq!(opened.record.title, "Echo");
}

/// A plain TCP proxy in front of `upstream` that rewrites every occurrence of `from` into
/// `to` (same length) in what the upstream answers: a ledger node that lies about one
/// value. Stops with the test (its thread is detached; the listener dies with the
/// process).
fn lying_proxy(upstream: std::net::SocketAddr, from: String, to: String) -> Url {
    use std::io::{Read, Write};
    assert_eq!(from.len(), to.len());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = std::net::TcpStream::connect(upstream) else {
                continue;
            };
            let (mut c_in, mut s_out) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c_in, &mut s_out);
            });
            let (mut s_in, mut c_out) = (server, client);
            let (from, to) = (from.clone(), to.clone());
            std::thread::spawn(move || {
                // Keeps back what could be the start of a match split across reads.
                let keep = from.len() - 1;
                let mut pending: Vec<u8> = Vec::new();
                let mut buf = [0u8; 16 * 1024];
                loop {
                    let n = match s_in.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    pending.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&pending).replace(&from, &to);
                    pending = text.into_bytes();
                    // Held back: only an end that could be the start of a match.
                    let held = (1..=keep.min(pending.len()))
                        .rev()
                        .find(|k| pending.ends_with(&from.as_bytes()[..*k]))
                        .unwrap_or(0);
                    let send = pending.len() - held;
                    if c_out.write_all(&pending[..send]).is_err() {
                        return;
                    }
                    pending.drain(..send);
                }
                let _ = c_out.write_all(&pending);
            });
        }
    });
    Url::parse(&format!("http://{addr}")).unwrap()
}

#[tokio::test]
async fn a_ledger_node_that_swaps_an_encryption_key_gets_nothing_sealed_to_it() {
    use medwallet_vault::ShareCode;

    let mut nodes = Nodes::start().await;
    let (patient_svc, doctor_svc) = (nodes.service("patient"), nodes.service("doctor"));
    let patient = wallet(171, Role::Patient, "Ada");
    let doctor_keys = keys(172, Role::Doctor);
    let doctor = wallet(172, Role::Doctor, "Dr. Who");
    let note = add(
        &nodes,
        &patient_svc,
        &patient,
        "note.txt",
        TEXT,
        "Visit note",
    )
    .await;
    doctor_svc
        .list_shared(&doctor, &nodes.ipfs, &nodes.ledger)
        .await
        .unwrap();
    let code = ShareCode::create(
        &doctor_keys,
        "Dr. Who",
        medwallet_devnodes::LOCAL_CHAIN_ID,
        1_800_000_000,
    )
    .unwrap();

    // A node that answers the doctor's published encryption key with the attacker's.
    let real = doctor_keys.public_identity("Dr. Who").x25519_public;
    let attacker = keys(173, Role::Doctor).public_identity("x").x25519_public;
    let anvil_at: std::net::SocketAddr = nodes.ledger.url.socket_addrs(|| None).unwrap()[0];
    let lying = LedgerTarget {
        url: lying_proxy(anvil_at, real.clone(), attacker),
        ..nodes.ledger.clone()
    };
    let key_swapped = |e: &CoreError| {
        matches!(e.cause(), CoreError::Sharing(SharingError::KeyNotAsInCode { address })
            if *address == doctor.address)
    };
    // With the code pasted, preview and share refuse, naming the doctor.
    let request = share_with(&note, &code, None);
    let e = patient_svc
        .preview_share(&patient, &lying, &request)
        .await
        .unwrap_err();
    assert!(key_swapped(&e), "{e:?}");
    let e = patient_svc
        .share(&patient, &nodes.ipfs, &lying, &request)
        .await
        .unwrap_err();
    assert!(key_swapped(&e), "{e:?}");

    // Pasted while the ledger is down, the grant waits with the code's key noted; sent
    // later through the lying node, no key is sealed (the grant waits, saying why);
    // through an honest node it goes out.
    nodes.stop_ledger();
    patient_svc
        .share(&patient, &nodes.ipfs, &nodes.ledger, &request)
        .await
        .unwrap();
    nodes.restart_ledger();
    let waiting = patient_svc
        .sync_sharing(&patient, &nodes.ipfs, &lying, true)
        .await;
    assert!(waiting.is_some(), "the lying node got a key sealed");
    let grants = patient_svc.list_grants(&patient).await.unwrap();
    let GrantState::Sending {
        reason: Some(reason),
    } = &grants[0].state
    else {
        panic!("{grants:?}")
    };
    assert!(
        reason.contains("another key than the one your wallet noted for them"),
        "{reason}"
    );
    assert_eq!(
        patient_svc
            .sync_sharing(&patient, &nodes.ipfs, &nodes.ledger, true)
            .await,
        None
    );
    assert_eq!(
        patient_svc.list_grants(&patient).await.unwrap()[0].state,
        GrantState::Active
    );
    let opened = doctor_svc
        .open_shared(&doctor, &nodes.ipfs, &nodes.ledger, &note)
        .await
        .unwrap();
    assert!(matches!(opened.view, RecordView::Text { .. }));
}
