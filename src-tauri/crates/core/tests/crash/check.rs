//! After a kill: the restarted wallets run their passes until nothing is left to do
//! ([`settle`]), then the promises are checked ([`invariants`]).

use std::collections::HashMap;
use std::path::Path;

use medwallet_api::GrantState;
use medwallet_core::{AuditService, RebuildService};
use medwallet_ledger::{EventFilter, LedgerEvent, LedgerNode};
use url::Url;

use crate::world::{self, Party, Scene, World, PARTIES};

/// Passes run before the wallets must be idle: each pass sends what the one before
/// it queued (a registration after its upload, a re-encryption's revocation after its
/// registration), so a few are needed, never many.
const PASSES: usize = 8;

/// Runs every wallet's passes (the outbox, the sharing pass, a restored wallet's
/// rebuild) until each is idle: nothing waits to upload or register, no grant waits to
/// be sent or revoked, and the sharing pass found no problem. The nodes are up, so
/// every kind of work must end: work left after [`PASSES`] passes is a failure.
pub async fn settle(world: &World) -> Result<(), String> {
    let mut left = Vec::new();
    // Idle is a whole round with nothing left: one wallet's pass may give another work
    // (a clinic's new epoch for the patient's pass that ran before it in the round).
    let mut idle_rounds = 0;
    for _ in 0..PASSES {
        left.clear();
        for party in PARTIES {
            if !world.folder(party).exists() || (party == Party::Restored && !world.restored()) {
                continue;
            }
            let owner = party.owner();
            let svc = world.svc(party);
            let (ipfs, ledger) = world.at(party);
            if party == Party::Restored {
                let status = RebuildService::new()
                    .run(
                        svc,
                        &AuditService::new(&world.folder(party)),
                        &owner,
                        ipfs,
                        ledger,
                    )
                    .await
                    .map_err(|e| format!("the restored wallet's rebuild: {e:?}"))?;
                if status.state != medwallet_api::RebuildState::Idle
                    && status.state != medwallet_api::RebuildState::Done
                {
                    left.push(format!("{party:?}: rebuild {:?}", status.state));
                }
            }
            let sync = svc
                .sync(&owner.wallet_id, Some(&owner), ipfs, ledger, true)
                .await
                .map_err(|e| format!("{party:?}'s outbox: {e:?}"))?;
            if sync.waiting > 0 {
                left.push(format!(
                    "{party:?}: {} records waiting ({:?})",
                    sync.waiting, sync.problem
                ));
            }
            if let Some(problem) = svc.sync_sharing(&owner, ipfs, ledger, true).await {
                left.push(format!("{party:?}: the sharing pass: {problem}"));
            }
            for g in svc.list_grants(&owner).await.unwrap_or_default() {
                if matches!(
                    g.state,
                    GrantState::Sending { .. } | GrantState::Revoking { .. }
                ) {
                    left.push(format!(
                        "{party:?}: grant of {} to {} {:?}",
                        g.record_id, g.grantee, g.state
                    ));
                }
            }
        }
        if left.is_empty() {
            idle_rounds += 1;
            if idle_rounds == 2 {
                return Ok(());
            }
        } else {
            idle_rounds = 0;
        }
    }
    Err(format!("still not idle after {PASSES} passes: {left:?}"))
}

/// The promises after a kill in `scene` and a settle:
/// - every record listed opens, verified, with its own content, and every record the
///   story had finished adding is listed; no record is listed twice;
/// - no plaintext anywhere: not in a data folder, a temp file or an IPFS block;
/// - nothing twice on the ledger: a registration, a version, a grant, a revocation, a key;
/// - what the patient's Shared page says is what the grantees can do: an active grant's
///   grantee opens the record's latest version, a revoked one opens nothing of it;
///   a revoked staff key opens nothing made after its revocation;
/// - a check-in the patient allowed opens at the desk;
/// - a restored wallet lists the same records as the patient's, each opening.
pub async fn invariants(world: &World, scene: Scene, ipfs_repo: &Path) -> Result<(), String> {
    records(world, Party::Patient).await?;
    if world.restored() {
        let restored = records(world, Party::Restored).await?;
        let patient = records(world, Party::Patient).await?;
        if restored != patient {
            return Err(format!(
                "the restored wallet lists {restored:?}, the patient's {patient:?}"
            ));
        }
    }
    no_plaintext(&world.dir, ipfs_repo)?;
    nothing_twice(world).await?;
    grants_hold(world).await?;
    if scene == Scene::CheckIn {
        check_in_holds(world).await?;
    }
    Ok(())
}

/// `party`'s records, each opened and compared with what was added: their numbers.
async fn records(world: &World, party: Party) -> Result<Vec<usize>, String> {
    let owner = party.owner();
    let svc = world.svc(party);
    let listed = svc
        .list(&owner)
        .await
        .map_err(|e| format!("{party:?}'s list: {e:?}"))?;
    let mut numbers = Vec::new();
    let out = world.dir.with_extension("opened");
    std::fs::create_dir_all(&out).unwrap();
    for r in &listed {
        let n: usize = r
            .title
            .strip_prefix("Visit note ")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("{party:?} lists a record titled {:?}", r.title))?;
        let copy = out.join(&r.id);
        let saved = svc
            .save_copy(
                &owner,
                world.at(party).0,
                &r.id,
                &copy.display().to_string(),
            )
            .await;
        let bytes = std::fs::read(&copy).unwrap_or_default();
        let _ = std::fs::remove_file(&copy);
        if let Err(e) = saved {
            return Err(format!(
                "{party:?}: record {n} ({}) is listed but does not open: {e:?}",
                r.id
            ));
        }
        if bytes != world::body(n).as_bytes() {
            return Err(format!("{party:?}: record {n} opens with other content"));
        }
        numbers.push(n);
    }
    numbers.sort_unstable();
    if numbers.windows(2).any(|w| w[0] == w[1]) {
        return Err(format!("{party:?} lists a record twice: {numbers:?}"));
    }
    if party == Party::Patient {
        for step in world.steps_done() {
            if let Some(rest) = step.strip_prefix("added ") {
                let n: usize = rest.split(' ').nth(1).unwrap().parse().unwrap();
                if !numbers.contains(&n) {
                    return Err(format!(
                        "record {n} was added (the add answered) but is not listed"
                    ));
                }
            }
        }
    }
    Ok(numbers)
}

/// No file under `world` or the IPFS repository holds a record's plaintext.
fn no_plaintext(world: &Path, ipfs_repo: &Path) -> Result<(), String> {
    for dir in [world, ipfs_repo] {
        let mut stack = vec![dir.to_owned()];
        while let Some(d) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&d) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if let Ok(bytes) = std::fs::read(&path) {
                    if bytes
                        .windows(world::MARKER.len())
                        .any(|w| w == world::MARKER.as_bytes())
                    {
                        return Err(format!("plaintext left in {}", path.display()));
                    }
                }
            }
        }
    }
    Ok(())
}

/// Every event of the contract, counted by what must be unique.
async fn nothing_twice(world: &World) -> Result<(), String> {
    let node = LedgerNode::new(&world.nodes.ledger.url);
    let head = node.status().await.map_err(|e| e.to_string())?.block_height;
    let events = node
        .fetch_events(
            world.nodes.ledger.contract.unwrap(),
            0,
            head,
            &EventFilter::All,
        )
        .await
        .map_err(|e| e.to_string())?
        .events;
    let mut seen: HashMap<String, usize> = HashMap::new();
    for e in &events {
        let key = match &e.event {
            LedgerEvent::RecordRegistered { record_id, .. } => format!("registered {record_id}"),
            LedgerEvent::RecordUpdated {
                record_id, version, ..
            } => {
                format!("version {version} of {record_id}")
            }
            LedgerEvent::AccessGranted {
                record_id,
                grantee,
                clause_hash,
                capsule_cid,
                ..
            } => {
                format!("grant of {record_id} to {grantee} {clause_hash} {capsule_cid}")
            }
            LedgerEvent::AccessRevoked {
                record_id,
                grantee,
                clause_hash,
                new_capsule_cid,
                ..
            } => {
                format!("revocation of {record_id} from {grantee} {clause_hash} {new_capsule_cid}")
            }
            // A holder gets a new key within an epoch when its attributes change (a
            // group's re-keying): the same key twice is the duplicate.
            LedgerEvent::KeyIssued {
                authority,
                holder,
                key_cid,
                ..
            } => {
                format!("key {key_cid} of {authority} for {holder}")
            }
            LedgerEvent::KeyRevoked {
                authority,
                holder,
                epoch,
            } => {
                format!("key revocation of {authority} for {holder} at epoch {epoch}")
            }
            _ => continue,
        };
        *seen.entry(key).or_default() += 1;
    }
    let twice: Vec<_> = seen.into_iter().filter(|(_, n)| *n > 1).collect();
    if twice.is_empty() {
        Ok(())
    } else {
        Err(format!("on the ledger more than once: {twice:?}"))
    }
}

/// The patient's grants, as its Shared page shows them, against what each grantee can
/// open now (the record's latest version).
async fn grants_hold(world: &World) -> Result<(), String> {
    let patient = Party::Patient.owner();
    let grants = world
        .svc(Party::Patient)
        .list_grants(&patient)
        .await
        .map_err(|e| format!("{e:?}"))?;
    let by_address = |a: &str| {
        PARTIES
            .into_iter()
            .find(|p| p.owner().address.eq_ignore_ascii_case(a))
    };
    let staff_revoked = staff_revoked(world).await?;
    let members: Vec<String> = world
        .svc(Party::Patient)
        .list_groups(&patient)
        .await
        .map_err(|e| format!("{e:?}"))?
        .into_iter()
        .filter(|g| g.name == world::GROUP)
        .flat_map(|g| g.members)
        .collect();
    for g in &grants {
        if g.leave || g.rotation {
            continue;
        }
        // Who opens: the person; for a role at the clinic, its staff whose key stands; for
        // a group, its members now.
        let openers: Vec<(Party, bool)> = match (&g.clause, &g.group, by_address(&g.grantee)) {
            (Some(_), None, Some(Party::Clinic)) => {
                vec![(Party::Staff2, true), (Party::Staff1, !staff_revoked)]
            }
            (None, Some(_), _) => [Party::Member1, Party::Member2]
                .into_iter()
                .map(|m| {
                    let member = m.owner().address;
                    (m, members.iter().any(|a| a.eq_ignore_ascii_case(&member)))
                })
                .collect(),
            (None, None, Some(p)) => vec![(p, true)],
            _ => return Err(format!("a grant to an unknown grantee: {g:?}")),
        };
        let active = g.state == GrantState::Active && !g.expired;
        for (who, may) in openers {
            let opened = opens(world, who, &g.record_id).await;
            let should = active && may;
            if opened.is_ok() != should {
                return Err(format!(
                    "{who:?} {} record {} but the patient's grant says {:?}{}: {opened:?}",
                    if opened.is_ok() {
                        "opens"
                    } else {
                        "cannot open"
                    },
                    g.record_id,
                    g.state,
                    if may {
                        ""
                    } else {
                        " (its key revoked or out of the group)"
                    },
                ));
            }
        }
    }
    Ok(())
}

/// Whether the clinic revoked staff 1's key (its staff list says so).
async fn staff_revoked(world: &World) -> Result<bool, String> {
    let clinic = Party::Clinic.owner();
    let list = world
        .svc(Party::Clinic)
        .list_staff(&clinic)
        .await
        .map_err(|e| format!("{e:?}"))?;
    let s1 = Party::Staff1.owner().address;
    Ok(list
        .members
        .iter()
        .any(|m| m.holder.eq_ignore_ascii_case(&s1) && !m.active))
}

/// `who` opens `record` as shared with it (logging the access first).
async fn opens(world: &World, who: Party, record: &str) -> Result<(), String> {
    let owner = who.owner();
    let svc = world.svc(who);
    let (ipfs, ledger) = world.at(who);
    svc.list_shared(&owner, ipfs, ledger)
        .await
        .map_err(|e| format!("{e:?}"))?;
    svc.open_shared(&owner, ipfs, ledger, record)
        .await
        .map(|_| ())
        .map_err(|e| format!("{e:?}"))
}

/// A check-in the patient allowed: the desk sees it allowed and opens its record; one
/// not allowed opens nothing.
async fn check_in_holds(world: &World) -> Result<(), String> {
    let (ipfs, ledger) = world.at(Party::Clinic);
    let desk = Party::Clinic.owner();
    let svc = world.svc(Party::Clinic);
    let sessions = svc
        .list_check_ins(&desk, ipfs, ledger)
        .await
        .map_err(|e| format!("{e:?}"))?;
    let patient = Party::Patient.owner();
    let asks = world
        .svc(Party::Patient)
        .check_in_asks(&patient, world.at(Party::Patient).1)
        .await
        .map_err(|e| format!("{e:?}"))?;
    let allowed = asks.iter().any(|a| a.state == "allowed");
    let record = world.record(1).ok_or("record 1 missing")?;
    for s in &sessions {
        let opened = svc
            .open_checked_in(&desk, ipfs, ledger, &s.check_in_id, &record)
            .await;
        if opened.is_ok() != (s.state == "allowed") || (s.state == "allowed") != allowed {
            return Err(format!(
                "the desk's check-in is {:?}, the patient's asks {:?}, the record {}",
                s.state,
                asks.iter().map(|a| &a.state).collect::<Vec<_>>(),
                if opened.is_ok() {
                    "opens"
                } else {
                    "does not open"
                }
            ));
        }
    }
    Ok(())
}

/// Every recursive pin of the node, each as a CAR file.
pub async fn export_pins(ipfs: &Url) -> Vec<Vec<u8>> {
    let http = reqwest::Client::new();
    let pins: serde_json::Value = http
        .post(ipfs.join("api/v0/pin/ls?type=recursive").unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut cars = Vec::new();
    for cid in pins["Keys"].as_object().unwrap().keys() {
        let car = http
            .post(ipfs.join(&format!("api/v0/dag/export?arg={cid}")).unwrap())
            .send()
            .await
            .unwrap();
        assert!(
            car.status().is_success(),
            "dag/export {cid}: {}",
            car.status()
        );
        cars.push(car.bytes().await.unwrap().to_vec());
    }
    cars
}

/// The CAR files imported back (their roots pinned).
pub async fn import_pins(ipfs: &Url, cars: &[Vec<u8>]) {
    let http = reqwest::Client::new();
    for car in cars {
        // js-ipfs refuses a part without a content type.
        let part = reqwest::multipart::Part::bytes(car.clone())
            .file_name("pins.car")
            .mime_str("application/vnd.ipld.car")
            .unwrap();
        let form = reqwest::multipart::Form::new().part("file", part);
        let answer = http
            .post(ipfs.join("api/v0/dag/import?pin-roots=true").unwrap())
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert!(
            answer.status().is_success(),
            "dag/import: {}",
            answer.status()
        );
        answer.bytes().await.unwrap();
    }
}
