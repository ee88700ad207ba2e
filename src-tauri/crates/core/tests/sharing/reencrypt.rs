//! Re-encrypting a group's records side by side when a member leaves: every record gets
//! exactly one new version that the others open and the removed member does not, the
//! progress counts up to the number of records, a record that fails is named while the
//! others complete, and a removal cut off midway resumes without a second new version.
//! A node that is down stops new records, and a run cut off after its revocations were
//! mined sends none again. A clinic revoking a staff key counts the others it re-keys.

use medwallet_api::{SharingProgress, SharingWork};
use medwallet_core::sharing::reencrypt::REENCRYPT_LANES;
use tokio::sync::watch;

use super::*;

/// Every state the progress takes until a run that was seen running ends, as a
/// concurrent task observes it (it waits for changes, never for a time).
fn observe(
    mut rx: watch::Receiver<SharingProgress>,
) -> tokio::task::JoinHandle<Vec<SharingProgress>> {
    tokio::spawn(async move {
        let mut seen: Vec<SharingProgress> = Vec::new();
        while rx.changed().await.is_ok() {
            let now = rx.borrow_and_update().clone();
            let ended = !now.running && seen.iter().any(|s| s.running);
            seen.push(now);
            if ended {
                break;
            }
        }
        seen
    })
}

/// The done counts seen never go down, and the run ends at `total` of `total`.
fn assert_counts_up(seen: &[SharingProgress], work: SharingWork, total: u32) {
    let first = seen.first().expect("a state");
    assert!(first.running, "{seen:?}");
    assert_eq!((first.work, first.total), (work, total), "{seen:?}");
    assert!(
        seen.windows(2).all(|w| w[0].done <= w[1].done),
        "not monotone: {seen:?}"
    );
    let last = seen.last().unwrap();
    assert_eq!(
        (last.running, last.done, last.total),
        (false, total, total),
        "{seen:?}"
    );
}

/// `n` small records, each with a title of its own.
async fn records(nodes: &Nodes, svc: &RecordService, owner: &Owner, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let body = format!("Visit note {i}: blood pressure 120/80.");
        ids.push(
            add(
                nodes,
                svc,
                owner,
                &format!("note-{i}.txt"),
                body.as_bytes(),
                &format!("Visit note {i}"),
            )
            .await,
        );
    }
    ids
}

/// A patient's group `careteam` of `members` (each published), shared `ids`.
async fn group_of(
    nodes: &Nodes,
    svc: &RecordService,
    patient: &Owner,
    members: &[(&RecordService, &Owner)],
    ids: &[String],
) {
    for (s, w) in members {
        s.list_shared(w, &nodes.ipfs, &nodes.ledger).await.unwrap();
        svc.add_group_member(patient, &nodes.ipfs, &nodes.ledger, "careteam", &w.address)
            .await
            .unwrap();
    }
    let grants = svc
        .share(
            patient,
            &nodes.ipfs,
            &nodes.ledger,
            &share_group(ids, "careteam"),
        )
        .await
        .unwrap();
    assert!(
        grants.iter().all(|g| g.state == GrantState::Active),
        "{grants:?}"
    );
}

/// The versions of `record` registered on the ledger after the first, in order.
async fn updates_on_ledger(nodes: &Nodes, record: &str) -> Vec<u32> {
    let node = LedgerNode::new(&nodes.ledger.url);
    let head = node.status().await.unwrap().block_height;
    node.fetch_events(
        nodes.ledger.contract.unwrap(),
        0,
        head,
        &EventFilter::Record(record.parse().unwrap()),
    )
    .await
    .unwrap()
    .events
    .iter()
    .filter_map(|e| match e.event {
        LedgerEvent::RecordUpdated { version, .. } => Some(version),
        _ => None,
    })
    .collect()
}

/// How many `AccessRevoked` events name `record`.
async fn revocations_on_ledger(nodes: &Nodes, record: &str) -> usize {
    let node = LedgerNode::new(&nodes.ledger.url);
    let head = node.status().await.unwrap().block_height;
    node.fetch_events(
        nodes.ledger.contract.unwrap(),
        0,
        head,
        &EventFilter::Record(record.parse().unwrap()),
    )
    .await
    .unwrap()
    .events
    .iter()
    .filter(|e| matches!(e.event, LedgerEvent::AccessRevoked { .. }))
    .count()
}

/// `ids` shared with `doctor` in person (who publishes first), all active.
async fn shared_in_person(
    nodes: &Nodes,
    svc: &RecordService,
    patient: &Owner,
    (doctor_svc, doctor): (&RecordService, &Owner),
    ids: &[String],
) {
    doctor_svc
        .list_shared(doctor, &nodes.ipfs, &nodes.ledger)
        .await
        .unwrap();
    let request = ShareRequest {
        record_ids: ids.to_vec(),
        ..share_with("", &doctor.address, None)
    };
    let grants = svc
        .share(patient, &nodes.ipfs, &nodes.ledger, &request)
        .await
        .unwrap();
    assert!(
        grants.iter().all(|g| g.state == GrantState::Active),
        "{grants:?}"
    );
}

#[tokio::test]
async fn removing_a_member_re_encrypts_every_record_side_by_side_with_one_progress() {
    const M: usize = 6;
    let nodes = Nodes::start().await;
    let (patient_svc, a_svc, b_svc, c_svc) = (
        nodes.service("patient"),
        nodes.service("a"),
        nodes.service("b"),
        nodes.service("c"),
    );
    let patient = wallet(201, Role::Patient, "Ada");
    let a = wallet(202, Role::Doctor, "Dr. A");
    let b = wallet(203, Role::Doctor, "Dr. B");
    let c = wallet(204, Role::Doctor, "Dr. C");
    let ids = records(&nodes, &patient_svc, &patient, M).await;
    group_of(
        &nodes,
        &patient_svc,
        &patient,
        &[(&a_svc, &a), (&b_svc, &b), (&c_svc, &c)],
        &ids,
    )
    .await;
    a_svc
        .open_shared(&a, &nodes.ipfs, &nodes.ledger, &ids[0])
        .await
        .unwrap();

    let watching = observe(patient_svc.watch_sharing_progress(&patient.wallet_id));
    let groups = patient_svc
        .remove_group_member(&patient, &nodes.ipfs, &nodes.ledger, "careteam", &a.address)
        .await
        .unwrap();
    assert_eq!(groups[0].epoch, 2);
    let seen = watching.await.unwrap();
    // From 0 (published before any record is done) to M, never down.
    assert_eq!(seen[0].done, 0, "{seen:?}");
    assert_counts_up(&seen, SharingWork::Reencrypting, M as u32);
    assert!(seen.last().unwrap().failed.is_empty(), "{seen:?}");
    assert_eq!(
        patient_svc.sharing_progress(&patient.wallet_id),
        *seen.last().unwrap()
    );

    // Each leave revoked with the same report as one by one.
    let leaves: Vec<_> = patient_svc
        .list_grants(&patient)
        .await
        .unwrap()
        .into_iter()
        .filter(|g| g.leave)
        .collect();
    assert_eq!(leaves.len(), M, "{leaves:?}");
    for leave in &leaves {
        assert_eq!(leave.state, GrantState::Revoked, "{leave:?}");
        let report = leave.exposure.as_ref().unwrap();
        assert_eq!(report.new_version, 2);
        assert!(
            report.summary.contains("could have fetched version 1")
                && report.summary.contains("without them: they cannot open it"),
            "{}",
            report.summary
        );
    }
    let opened = leaves.iter().find(|g| g.record_id == ids[0]).unwrap();
    assert!(opened
        .exposure
        .as_ref()
        .unwrap()
        .summary
        .contains("1 opening"));

    // A opens nothing new; B and C open every record's new version.
    let inbox = a_svc
        .list_shared(&a, &nodes.ipfs, &nodes.ledger)
        .await
        .unwrap();
    assert!(inbox.records.is_empty(), "{inbox:?}");
    for (s, w) in [(&b_svc, &b), (&c_svc, &c)] {
        let inbox = s.list_shared(w, &nodes.ipfs, &nodes.ledger).await.unwrap();
        assert_eq!(inbox.records.len(), M, "{inbox:?}");
        assert!(inbox.records.iter().all(|r| r.version == 2), "{inbox:?}");
        for id in &ids {
            let view = s
                .open_shared(w, &nodes.ipfs, &nodes.ledger, id)
                .await
                .unwrap();
            assert_eq!(view.record.version, 2);
        }
    }
    for id in &ids {
        let e = a_svc
            .open_shared(&a, &nodes.ipfs, &nodes.ledger, id)
            .await
            .unwrap_err();
        assert!(
            matches!(e, CoreError::Inbox(InboxError::KeyDoesNotHold)),
            "{e:?}"
        );
        assert_eq!(updates_on_ledger(&nodes, id).await, vec![2]);
    }
}

#[tokio::test]
async fn a_record_that_fails_is_named_and_the_others_complete() {
    const M: usize = 4;
    let nodes = Nodes::start().await;
    let (patient_svc, a_svc, b_svc) = (
        nodes.service("patient"),
        nodes.service("a"),
        nodes.service("b"),
    );
    let patient = wallet(205, Role::Patient, "Ada");
    let a = wallet(206, Role::Doctor, "Dr. A");
    let b = wallet(207, Role::Doctor, "Dr. B");
    let ids = records(&nodes, &patient_svc, &patient, M).await;
    group_of(
        &nodes,
        &patient_svc,
        &patient,
        &[(&a_svc, &a), (&b_svc, &b)],
        &ids,
    )
    .await;

    // The content of "Visit note 2" is gone from the node (kept aside here).
    let broken = &ids[2];
    let listed = patient_svc.list(&patient).await.unwrap();
    let content: Cid = listed
        .iter()
        .find(|r| &r.id == broken)
        .unwrap()
        .content_cid
        .parse()
        .unwrap();
    let kept = cat(&nodes, &content).await;
    let node = IpfsNode::new(&nodes.ipfs).unwrap();
    node.unpin(&content).await.unwrap();
    node.collect_garbage().await.unwrap();
    assert!(!node.has_locally(&content).await.unwrap());

    let watching = observe(patient_svc.watch_sharing_progress(&patient.wallet_id));
    patient_svc
        .remove_group_member(&patient, &nodes.ipfs, &nodes.ledger, "careteam", &a.address)
        .await
        .unwrap();
    let seen = watching.await.unwrap();
    assert_counts_up(&seen, SharingWork::Reencrypting, M as u32);
    let failed = &seen.last().unwrap().failed;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].name, "Visit note 2");
    assert!(!failed[0].reason.is_empty());

    let leaves: Vec<_> = patient_svc
        .list_grants(&patient)
        .await
        .unwrap()
        .into_iter()
        .filter(|g| g.leave)
        .collect();
    for leave in &leaves {
        if &leave.record_id == broken {
            assert!(
                matches!(&leave.state, GrantState::Revoking { reason: Some(r) } if *r == failed[0].reason),
                "{leave:?}"
            );
        } else {
            assert_eq!(leave.state, GrantState::Revoked, "{leave:?}");
        }
    }
    let inbox = b_svc
        .list_shared(&b, &nodes.ipfs, &nodes.ledger)
        .await
        .unwrap();
    for r in &inbox.records {
        let expected = if &r.record_id == broken { 1 } else { 2 };
        assert_eq!(r.version, expected, "{inbox:?}");
    }

    // Once the object is back, the next pass completes it, with one new version.
    assert_eq!(node.add_bytes(kept).await.unwrap(), content);
    assert_eq!(
        patient_svc
            .sync_sharing(&patient, &nodes.ipfs, &nodes.ledger, true)
            .await,
        None
    );
    let grants = patient_svc.list_grants(&patient).await.unwrap();
    assert!(
        grants
            .iter()
            .filter(|g| g.leave)
            .all(|g| g.state == GrantState::Revoked),
        "{grants:?}"
    );
    for id in &ids {
        assert_eq!(updates_on_ledger(&nodes, id).await, vec![2]);
    }
    let view = b_svc
        .open_shared(&b, &nodes.ipfs, &nodes.ledger, broken)
        .await
        .unwrap();
    assert_eq!(view.record.version, 2);
}

#[tokio::test]
async fn a_removal_cut_off_midway_resumes_without_a_second_new_version() {
    const M: usize = 8;
    let nodes = Nodes::start().await;
    let (patient_svc, a_svc, b_svc) = (
        nodes.service("patient"),
        nodes.service("a"),
        nodes.service("b"),
    );
    let patient = wallet(208, Role::Patient, "Ada");
    let a = wallet(209, Role::Doctor, "Dr. A");
    let b = wallet(210, Role::Doctor, "Dr. B");
    let ids = records(&nodes, &patient_svc, &patient, M).await;
    group_of(
        &nodes,
        &patient_svc,
        &patient,
        &[(&a_svc, &a), (&b_svc, &b)],
        &ids,
    )
    .await;

    // The app is stopped once three records are through: whatever was in flight (a
    // version half made, an upload, a transaction sent without its receipt read) stops
    // where it was.
    let mut progress = patient_svc.watch_sharing_progress(&patient.wallet_id);
    let removal = patient_svc.remove_group_member(
        &patient,
        &nodes.ipfs,
        &nodes.ledger,
        "careteam",
        &a.address,
    );
    // The value seen is let go inside its branch: the removal, dropped when that branch
    // wins, publishes its end as it goes.
    let three_done = async {
        progress
            .wait_for(|p| p.running && p.done >= 3)
            .await
            .map(|_| ())
    };
    tokio::select! {
        answered = removal => panic!("finished before it was cut: {answered:?}"),
        reached = three_done => reached.unwrap(),
    }
    let cut = patient_svc.sharing_progress(&patient.wallet_id);
    assert!(!cut.running && cut.done < M as u32, "{cut:?}");
    // As when the process ends: its databases closed, so nothing the dropped work had
    // already handed to them lands after the restart (the ledger may still mine what it
    // was sent, as after a crash).
    patient_svc.close().await;
    drop(patient_svc);

    // Started again on the same data folder: the pass resumes every leave.
    let again = nodes.service("patient");
    assert_eq!(
        again
            .sync_sharing(&patient, &nodes.ipfs, &nodes.ledger, true)
            .await,
        None
    );
    let grants = again.list_grants(&patient).await.unwrap();
    let leaves: Vec<_> = grants.iter().filter(|g| g.leave).collect();
    assert_eq!(leaves.len(), M, "{grants:?}");
    for leave in &leaves {
        assert_eq!(leave.state, GrantState::Revoked, "{leave:?}");
        assert_eq!(leave.exposure.as_ref().unwrap().new_version, 2, "{leave:?}");
    }
    for id in &ids {
        assert_eq!(updates_on_ledger(&nodes, id).await, vec![2], "{id}");
        let opened = again.open(&patient, &nodes.ipfs, id).await.unwrap();
        assert_eq!(opened.record.version, 2);
    }
    let inbox = b_svc
        .list_shared(&b, &nodes.ipfs, &nodes.ledger)
        .await
        .unwrap();
    assert_eq!(inbox.records.len(), M, "{inbox:?}");
    assert!(inbox.records.iter().all(|r| r.version == 2), "{inbox:?}");
}

#[tokio::test]
async fn a_node_that_is_down_stops_new_records_and_the_next_pass_finishes_them() {
    const M: usize = 8;
    let mut nodes = Nodes::start().await;
    let (patient_svc, doctor_svc) = (nodes.service("patient"), nodes.service("doctor"));
    let patient = wallet(220, Role::Patient, "Ada");
    let doctor = wallet(221, Role::Doctor, "Dr. D");
    let ids = records(&nodes, &patient_svc, &patient, M).await;
    shared_in_person(&nodes, &patient_svc, &patient, (&doctor_svc, &doctor), &ids).await;

    // The IPFS node stops: each record's content must be fetched to be re-encrypted.
    nodes.stop_ipfs();
    let watching = observe(patient_svc.watch_sharing_progress(&patient.wallet_id));
    let revoked = patient_svc
        .revoke_records(
            &patient,
            &nodes.ipfs,
            &nodes.ledger,
            &ids,
            &doctor.address,
            None,
        )
        .await
        .unwrap();
    let seen = watching.await.unwrap();
    let last = seen.last().unwrap();
    // Only the records already in their lanes when the first failed were tried; each is
    // named, the others were not started.
    assert!(!last.running && last.total == M as u32, "{last:?}");
    assert!(
        (1..=REENCRYPT_LANES as u32).contains(&last.done),
        "{last:?}"
    );
    assert_eq!(last.failed.len(), last.done as usize, "{last:?}");
    let tried = revoked
        .iter()
        .filter(|g| matches!(&g.state, GrantState::Revoking { reason: Some(_) }))
        .count();
    assert_eq!(tried, last.done as usize, "{revoked:?}");
    assert!(
        revoked
            .iter()
            .all(|g| matches!(g.state, GrantState::Revoking { .. })),
        "{revoked:?}"
    );
    for id in &ids {
        assert_eq!(revocations_on_ledger(&nodes, id).await, 0);
    }

    // The node is back: the next pass finishes every one, one new version each.
    nodes.restart_ipfs();
    assert_eq!(
        patient_svc
            .sync_sharing(&patient, &nodes.ipfs, &nodes.ledger, true)
            .await,
        None
    );
    let grants = patient_svc.list_grants(&patient).await.unwrap();
    assert!(
        grants.iter().all(|g| g.state == GrantState::Revoked),
        "{grants:?}"
    );
    for id in &ids {
        assert_eq!(updates_on_ledger(&nodes, id).await, vec![2], "{id}");
        assert_eq!(revocations_on_ledger(&nodes, id).await, 1, "{id}");
    }
    let inbox = doctor_svc
        .list_shared(&doctor, &nodes.ipfs, &nodes.ledger)
        .await
        .unwrap();
    assert!(inbox.records.is_empty(), "{inbox:?}");
}

#[tokio::test]
async fn a_run_cut_off_after_its_revocations_were_mined_sends_none_again() {
    const M: usize = 12;
    let nodes = Nodes::start().await;
    let (patient_svc, doctor_svc) = (nodes.service("patient"), nodes.service("doctor"));
    let patient = wallet(222, Role::Patient, "Ada");
    let doctor = wallet(223, Role::Doctor, "Dr. E");
    let ids = records(&nodes, &patient_svc, &patient, M).await;
    shared_in_person(&nodes, &patient_svc, &patient, (&doctor_svc, &doctor), &ids).await;
    doctor_svc
        .open_shared(&doctor, &nodes.ipfs, &nodes.ledger, &ids[0])
        .await
        .unwrap();

    // The app is stopped as soon as the ledger holds every revocation: the batch's
    // garbage collection and reports had not run (its transaction may even have been
    // mined before its receipt was read).
    let revocation = patient_svc.revoke_records(
        &patient,
        &nodes.ipfs,
        &nodes.ledger,
        &ids,
        &doctor.address,
        None,
    );
    let all_mined = async {
        loop {
            let mut mined = 0;
            for id in &ids {
                mined += revocations_on_ledger(&nodes, id).await;
            }
            if mined == M {
                break;
            }
            // Polls the ledger's state; the revocation runs meanwhile.
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    tokio::select! {
        answered = revocation => panic!("finished before it was cut: {answered:?}"),
        () = all_mined => {}
    }
    patient_svc.close().await;
    drop(patient_svc);

    // Started again: every revocation finishes with its report, and none is sent again.
    let again = nodes.service("patient");
    assert_eq!(
        again
            .sync_sharing(&patient, &nodes.ipfs, &nodes.ledger, true)
            .await,
        None
    );
    let grants = again.list_grants(&patient).await.unwrap();
    assert_eq!(grants.len(), M, "{grants:?}");
    for grant in &grants {
        assert_eq!(grant.state, GrantState::Revoked, "{grant:?}");
        let report = grant.exposure.as_ref().unwrap();
        // Access ended where the ledger ended it: version 1 was reachable until then.
        assert_eq!(report.new_version, 2, "{report:?}");
        assert_eq!(report.versions.len(), 1, "{report:?}");
        assert!(
            report.summary.contains("could have fetched version 1"),
            "{}",
            report.summary
        );
    }
    let opened = grants.iter().find(|g| g.record_id == ids[0]).unwrap();
    assert!(opened
        .exposure
        .as_ref()
        .unwrap()
        .summary
        .contains("1 opening"));
    for id in &ids {
        assert_eq!(revocations_on_ledger(&nodes, id).await, 1, "{id}");
        assert_eq!(updates_on_ledger(&nodes, id).await, vec![2], "{id}");
    }
}

#[tokio::test]
async fn revoking_a_staff_key_counts_the_others_re_keyed() {
    let nodes = Nodes::start().await;
    let clinic_svc = nodes.service("clinic");
    let clinic = wallet(211, Role::Clinic, "St Mary's");
    let staff: Vec<(RecordService, Owner)> = (0..4u8)
        .map(|i| {
            (
                nodes.service(&format!("staff-{i}")),
                wallet(212 + i, Role::Doctor, "Dr."),
            )
        })
        .collect();
    let refs: Vec<(&RecordService, &Owner)> = staff.iter().map(|(s, w)| (s, w)).collect();
    hire(&nodes, (&clinic_svc, &clinic), &refs, &["role:doctor"]).await;

    let watching = observe(clinic_svc.watch_sharing_progress(&clinic.wallet_id));
    let list = clinic_svc
        .revoke_staff_key(&clinic, &nodes.ipfs, &nodes.ledger, &staff[0].1.address)
        .await
        .unwrap();
    assert_eq!((list.epoch, list.problem.as_deref()), (2, None));
    let seen = watching.await.unwrap();
    assert_counts_up(&seen, SharingWork::Rekeying, 3);
    assert!(seen.last().unwrap().failed.is_empty(), "{seen:?}");
}
