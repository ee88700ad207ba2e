//! Many machines: each party on its own IPFS node (its own `127.0.0.N`), blocks moving
//! peer to peer over bitswap, replica nodes that keep a copy of every record, and what
//! happens when the patient's node is gone for good.

use std::net::Ipv4Addr;

use medwallet_api::{RebuildState, RecordPage, RecordQuery, RecordView};
use medwallet_core::records::replicas::ReplicationReport;
use medwallet_core::RebuildService;

use super::*;

/// The Records page of `owner` with its copies counted on `ipfs` and `replicas`.
async fn records_page(
    service: &RecordService,
    owner: &Owner,
    ipfs: &Url,
    replicas: &[Url],
) -> RecordPage {
    let nodes = medwallet_core::records::list::Nodes { ipfs, replicas };
    service
        .page(owner, &RecordQuery::search("", 100), Some(nodes))
        .await
        .unwrap()
}

/// One IPFS node per machine, all in the swarm; the ledger as elsewhere.
struct Machines {
    _dir: tempfile::TempDir,
    root: PathBuf,
    _anvil: Anvil,
    ledger: LedgerTarget,
}

impl Machines {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_owned();
        let anvil = start_anvil(&root, None);
        let url = Url::parse(&anvil.url()).unwrap();
        let contract = LedgerNode::new(&url)
            .deploy(PrivateKeySigner::random())
            .await
            .unwrap();
        Self {
            _dir: dir,
            root,
            _anvil: anvil,
            ledger: LedgerTarget {
                url,
                contract: Some(contract),
                chain_id: Some(medwallet_devnodes::LOCAL_CHAIN_ID),
            },
        }
    }

    /// A node on `127.0.0.<n>`, in the swarm; its repo (and so its ports and peer id) is
    /// kept under the name, so starting it again brings the same node back.
    fn node(&self, name: &str, n: u8) -> Ipfs {
        let opts = IpfsOptions::peer(self.root.join(name), Ipv4Addr::new(127, 0, 0, n));
        Ipfs::start(&NodeTools::locate().unwrap(), &opts).unwrap()
    }

    fn service(&self, name: &str) -> RecordService {
        RecordService::new(&self.root.join(name))
    }

    async fn add(
        &self,
        svc: &RecordService,
        owner: &Owner,
        ipfs: &Url,
        name: &str,
        bytes: &[u8],
    ) -> String {
        let quiet: medwallet_core::records::Progress = Arc::new(|_| {});
        let path = file_in(&self.root, name, bytes);
        svc.add(owner, ipfs, &self.ledger, name, &path, &meta(name), quiet)
            .await
            .unwrap()
            .id
    }
}

fn url(node: &Ipfs) -> Url {
    Url::parse(&node.api_url()).unwrap()
}

fn client(node: &Url) -> IpfsNode {
    IpfsNode::new(node).unwrap()
}

/// The three objects of a record's latest version, as the patient's open checked them.
async fn objects(svc: &RecordService, owner: &Owner, ipfs: &Url, record: &str) -> Vec<Cid> {
    let v = svc.open(owner, ipfs, record).await.unwrap().verification;
    [v.content_cid, v.manifest_cid, v.capsule_cid]
        .iter()
        .map(|c| c.parse().unwrap())
        .collect()
}

async fn pinned_on(node: &Url, cids: &[Cid]) -> Vec<bool> {
    let mut out = Vec::new();
    for cid in cids {
        out.push(client(node).is_pinned(cid).await.unwrap());
    }
    out
}

#[tokio::test]
async fn each_party_on_its_own_node_and_a_replica_outlives_the_patients_node() {
    let m = Machines::start().await;
    // The patient's laptop, the doctor's, and a replica (say, the clinic's node).
    let a_node = m.node("a", 2);
    let b_node = m.node("b", 3);
    let c_node = m.node("c", 4);
    a_node.connect(&b_node).unwrap();
    a_node.connect(&c_node).unwrap();
    b_node.connect(&c_node).unwrap();
    let (a, b, c) = (url(&a_node), url(&b_node), url(&c_node));

    let (patient_svc, doctor_svc) = (m.service("patient"), m.service("doctor"));
    let patient = wallet(161, Role::Patient, "Ada");
    let doctor = wallet(162, Role::Doctor, "Dr. Who");
    // The doctor's wallet publishes its keys from its own node; the patient's wallet
    // reads them through its node, which fetches them from the doctor's.
    doctor_svc
        .list_shared(&doctor, &b, &m.ledger)
        .await
        .unwrap();

    let lab = m.add(&patient_svc, &patient, &a, "lab.pdf", PDF).await;
    patient_svc
        .share(
            &patient,
            &a,
            &m.ledger,
            &share_with(&lab, &doctor.address, None),
        )
        .await
        .unwrap();
    let lab_objects = objects(&patient_svc, &patient, &a, &lab).await;

    // The doctor's node has none of it yet, and gets it over bitswap.
    for cid in &lab_objects {
        assert!(
            !client(&b).has_locally(cid).await.unwrap(),
            "{cid} already on B"
        );
    }
    let opened = doctor_svc
        .open_shared(&doctor, &b, &m.ledger, &lab)
        .await
        .unwrap();
    assert!(matches!(opened.view, RecordView::Pdf { .. }));
    for cid in &lab_objects {
        assert!(
            client(&b).has_locally(cid).await.unwrap(),
            "{cid} not fetched to B"
        );
    }

    // The replica pins the latest version and the doctor's key; the list says where.
    let report = patient_svc
        .replicate(&patient.wallet_id, &a, std::slice::from_ref(&c), true)
        .await
        .unwrap();
    assert!(report.failed.is_empty() && report.pinned >= 3, "{report:?}");
    assert_eq!(pinned_on(&c, &lab_objects).await, [true; 3]);
    let copies = patient_svc
        .copies(&patient.wallet_id, &a, std::slice::from_ref(&c))
        .await
        .unwrap();
    let lab_copies = &copies[&lab];
    assert_eq!(lab_copies.of, 2);
    assert_eq!(
        lab_copies.held_by,
        [
            a.as_str().trim_end_matches('/'),
            c.as_str().trim_end_matches('/')
        ]
    );
    // Asked again, nothing more is pinned: once.
    let again = patient_svc
        .replicate(&patient.wallet_id, &a, std::slice::from_ref(&c), true)
        .await
        .unwrap();
    assert_eq!(again, ReplicationReport::default());

    // A second record, shared and replicated, then the patient's laptop is gone.
    let note = m.add(&patient_svc, &patient, &a, "note.txt", TEXT).await;
    patient_svc
        .share(
            &patient,
            &a,
            &m.ledger,
            &share_with(&note, &doctor.address, None),
        )
        .await
        .unwrap();
    patient_svc
        .replicate(&patient.wallet_id, &a, std::slice::from_ref(&c), true)
        .await
        .unwrap();
    let note_objects = objects(&patient_svc, &patient, &a, &note).await;
    a_node.stop();
    for cid in &note_objects {
        assert!(!client(&b).has_locally(cid).await.unwrap());
    }
    let opened = doctor_svc
        .open_shared(&doctor, &b, &m.ledger, &note)
        .await
        .unwrap();
    assert!(
        matches!(&opened.view, RecordView::Text { text, .. } if text.as_bytes() == TEXT),
        "{:?}",
        opened.record
    );

    // A new computer for the patient, with a new node that knows only the replica:
    // the 24 words bring the keys, the ledger the list, the replica the contents.
    let d_node = m.node("d", 5);
    d_node.connect(&c_node).unwrap();
    let d = url(&d_node);
    let restored = Owner::new(&format!("{:030x}ff", 161), "Ada", &keys(161, Role::Patient));
    let (new_svc, audit) = (
        m.service("new-laptop"),
        AuditService::new(&m.root.join("new-laptop")),
    );
    let rebuild = RebuildService::new();
    rebuild.ask(&new_svc, &restored.wallet_id).await.unwrap();
    let status = rebuild
        .run(&new_svc, &audit, &restored, &d, &m.ledger)
        .await
        .unwrap();
    assert_eq!(status.state, RebuildState::Done, "{status:?}");
    assert_eq!(new_svc.list(&restored).await.unwrap().len(), 2);
    for record in [&lab, &note] {
        new_svc.open(&restored, &d, record).await.unwrap();
    }
    assert!(rebuild
        .unrecovered(&new_svc, &restored)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_replica_that_is_down_is_tried_again_and_a_revocation_unpins_everywhere() {
    let m = Machines::start().await;
    let a_node = m.node("a", 6);
    let c_node = m.node("c", 7);
    a_node.connect(&c_node).unwrap();
    let (a, c) = (url(&a_node), url(&c_node));
    let (patient_svc, doctor_svc) = (m.service("patient"), m.service("doctor"));
    let patient = wallet(163, Role::Patient, "Ada");
    let doctor = wallet(164, Role::Doctor, "Dr. Who");
    doctor_svc
        .list_shared(&doctor, &a, &m.ledger)
        .await
        .unwrap();
    let replicas = std::slice::from_ref(&c);

    // The replica is down while the record is added: the pass names it and waits.
    c_node.stop();
    let lab = m.add(&patient_svc, &patient, &a, "lab.pdf", PDF).await;
    let report = patient_svc
        .replicate(&patient.wallet_id, &a, replicas, false)
        .await
        .unwrap();
    assert_eq!(report.failed.len(), 1, "{report:?}");
    let copies = patient_svc
        .copies(&patient.wallet_id, &a, replicas)
        .await
        .unwrap();
    assert_eq!(copies[&lab].held_by.len(), 1, "one copy only: {copies:?}");
    assert!(copies[&lab].waiting[0].problem.is_some(), "{copies:?}");
    // The page says the same, and counts it among the records held by one node.
    let page = records_page(&patient_svc, &patient, &a, replicas).await;
    assert_eq!(page.records[0].copies.as_ref(), Some(&copies[&lab]));
    assert_eq!((page.single_copy, page.copies_of), (1, 2));
    // Within its backoff, a background pass leaves it alone.
    assert_eq!(
        patient_svc
            .replicate(&patient.wallet_id, &a, replicas, false)
            .await
            .unwrap(),
        ReplicationReport::default()
    );

    // Back (a restarted node has forgotten its peers: the pass dials the patient's).
    let c_node = m.node("c", 7);
    let report = patient_svc
        .replicate(&patient.wallet_id, &a, replicas, true)
        .await
        .unwrap();
    assert!(report.failed.is_empty() && report.pinned == 3, "{report:?}");
    let v1 = objects(&patient_svc, &patient, &a, &lab).await;
    assert_eq!(pinned_on(&c, &v1).await, [true; 3]);
    let copies = patient_svc
        .copies(&patient.wallet_id, &a, replicas)
        .await
        .unwrap();
    assert_eq!((copies[&lab].held_by.len(), copies[&lab].of), (2, 2));
    let page = records_page(&patient_svc, &patient, &a, replicas).await;
    assert_eq!(page.records[0].copies.as_ref(), Some(&copies[&lab]));
    assert_eq!(page.single_copy, 0);

    // The replica drops the pins on its own: asked again, it is no longer counted, and
    // the next pass pins them again.
    for cid in &v1 {
        client(&c).unpin(cid).await.unwrap();
    }
    let forgotten = patient_svc
        .recheck_replicas(&patient.wallet_id, replicas)
        .await
        .unwrap();
    assert_eq!(forgotten, 3);
    let copies = patient_svc
        .copies(&patient.wallet_id, &a, replicas)
        .await
        .unwrap();
    assert_eq!(copies[&lab].held_by.len(), 1, "{copies:?}");
    assert_eq!(
        records_page(&patient_svc, &patient, &a, replicas)
            .await
            .single_copy,
        1
    );
    let report = patient_svc
        .replicate(&patient.wallet_id, &a, replicas, true)
        .await
        .unwrap();
    assert_eq!(report.pinned, 3, "{report:?}");
    assert_eq!(pinned_on(&c, &v1).await, [true; 3]);

    // Shared, then revoked: version 2 replaces version 1, whose objects leave the
    // patient's node and the replica.
    patient_svc
        .share(
            &patient,
            &a,
            &m.ledger,
            &share_with(&lab, &doctor.address, None),
        )
        .await
        .unwrap();
    patient_svc
        .replicate(&patient.wallet_id, &a, replicas, true)
        .await
        .unwrap();
    let shared = objects(&patient_svc, &patient, &a, &lab).await;
    patient_svc
        .revoke(&patient, &a, &m.ledger, &lab, &doctor.address, None)
        .await
        .unwrap();
    let v2 = objects(&patient_svc, &patient, &a, &lab).await;
    assert_ne!(v2[0], shared[0]);
    let report = patient_svc
        .replicate(&patient.wallet_id, &a, replicas, true)
        .await
        .unwrap();
    assert!(
        report.unpinned >= 3 && report.failed.is_empty(),
        "{report:?}"
    );
    assert_eq!(pinned_on(&c, &shared).await, [false; 3]);
    assert_eq!(pinned_on(&a, &shared).await, [false; 3]);
    assert_eq!(pinned_on(&c, &v2).await, [true; 3]);
    drop(c_node);
}
