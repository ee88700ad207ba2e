//! A revocation's steps after its new version is made ([`reencrypt`](super::reencrypt)
//! runs them for the records of a batch): the version's capsule once it is registered,
//! the grants of one grantee under one clause taken off the ledger in one
//! `revokeAccessBatch`, each mined item's transaction kept at once, and each exposure
//! report from the ledger's events once the replaced versions are unpinned and collected.

use medwallet_ledger::{
    Address, LedgerError, LedgerEvent, LoggedEvent, RecordCapsule, Revert, B256,
};
use medwallet_records::cid::Cid;
use url::Url;

use super::emergency;
use super::exposure::{self, Party, Route};
use super::grant::{clause_hash, parse_clause};
use super::Failure;
use medwallet_api::GrantSummary;

use crate::error::{Answer, CoreError, SharingError};
use crate::ledger::directory::Connected;
use crate::ledger::{b256, now_unix, parse_address, LedgerTarget};
use crate::records::RecordService;
use crate::session::Owner;
use crate::store::grants::GrantRow;
use crate::store::{RecordStore, StoredRecord};

impl RecordService {
    /// The record's other grants that still reach the revoked person: a group they are
    /// in, or a grant to them in person (for a member leaving a group).
    async fn other_routes(
        &self,
        store: &RecordStore,
        owner: &Owner,
        grant: &GrantRow,
    ) -> Result<Vec<Route>, crate::store::StoreError> {
        if grant.clause.is_some() && (!grant.leave || grant.rotate) {
            // A role at a clinic: who holds it is the clinic's to say.
            return Ok(Vec::new());
        }
        let audience = store.capsule_audience(&grant.record_id).await?;
        let mut routes = Vec::new();
        if grant.leave && audience.people.contains(&grant.grantee) {
            routes.push(Route::InPerson);
        }
        let theirs = store.member_attributes(&grant.grantee).await?;
        for (grantee, group) in &audience.clauses {
            let member = theirs
                .iter()
                .any(|a| a.split('#').next() == Some(group.as_str()));
            if *grantee == owner.address && member {
                routes.push(Route::Group(group.clone()));
            }
        }
        Ok(routes)
    }

    /// Starts taking back one grantee's grants (under `clause`, or in person) on many
    /// records at once, and runs them as far as the nodes allow: the ledger's side goes
    /// out in batches. Answers each one's state; a record not shared so is named.
    pub async fn revoke_records(
        &self,
        owner: &Owner,
        ipfs: &Url,
        ledger: &LedgerTarget,
        record_ids: &[String],
        grantee: &str,
        clause: Option<&str>,
    ) -> Answer<Vec<GrantSummary>> {
        let store = self.sharing_store(owner).await?;
        let grantee = parse_address(grantee)?.to_string();
        let clause = clause.map(parse_clause).transpose()?.map(|(c, _)| c);
        let mut ids = Vec::with_capacity(record_ids.len());
        for record_id in record_ids {
            let grant = store
                .open_grant(record_id, &grantee, clause.as_deref())
                .await?
                .ok_or_else(|| SharingError::NotShared {
                    grantee: grantee.clone(),
                })?;
            ids.push(grant.id);
        }
        for id in &ids {
            store.start_revoke(*id).await?;
        }
        self.run_sharing(&store, owner, ipfs, ledger, true).await;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let row = store
                .grant(id)
                .await?
                .ok_or_else(|| CoreError::internal("the grant", "missing after revoke"))?;
            out.push(self.grant_summary(owner, &store, &row).await?);
        }
        Ok(out)
    }

    /// A revocation whose version is registered, whose grant is off the ledger (`tx`,
    /// empty when there was none to take back) and whose replaced version is unpinned
    /// (`removed_here`: and gone from this computer's node): the emergency mark taken
    /// back, the exposure report, the grant closed.
    #[tracing::instrument(name = "finish_revoke", skip_all, fields(grant = grant.id))]
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn finish_revoke(
        &self,
        store: &RecordStore,
        owner: &Owner,
        conn: &Connected,
        grant: &GrantRow,
        new_version: u32,
        tx: &str,
        removed_here: bool,
    ) -> Result<(), Failure> {
        let grantee = parse_address(&grant.grantee).map_err(Failure::waiting)?;
        let clause = grant.clause.as_deref().map_or(B256::ZERO, clause_hash);
        let record_id = b256(&grant.record_id).map_err(Failure::waiting)?;
        if !grant.leave && emergency::is_emergency(grant.clause.as_deref()) {
            // The clinic is no longer the record's emergency clinic either.
            emergency::mark(conn, record_id, grantee, false).await?;
        }
        let events = conn
            .reads
            .record(conn.me, record_id)
            .await
            .map_err(Failure::ledger)?;
        // A revocation mined while this device missed its receipt, or was cut off before
        // keeping it, is found in the record's events by the new version's capsule (no
        // other revocation names it): the report then ends access where the ledger did.
        let found = match (tx.is_empty(), grant.leave) {
            (true, false) => {
                let capsule = revision_row(store, grant, new_version)
                    .await?
                    .capsule_cid
                    .parse::<Cid>()
                    .map_err(|e| Failure::waiting(CoreError::StoredCidUnreadable(e)))?;
                mined_revocation(&events, conn.me, grantee, clause, &capsule.to_bytes())
            }
            _ => None,
        };
        let tx = found.as_deref().unwrap_or(tx);
        let now = u64::try_from(now_unix()).unwrap_or(0);
        let (facts, party) = match &grant.clause {
            // The clinic revoked a staff key: the role's grant stands, the record is
            // re-encrypted under the clinic's new parameters; the window is the grant's.
            Some(c) if grant.rotate => (
                exposure::facts(&events, grantee, clause),
                Party::RotatedRole {
                    clinic: grant.grantee.clone(),
                    clause: c.clone(),
                },
            ),
            Some(group) if grant.leave => {
                let (joined, removed) = store
                    .membership(group, &grant.grantee)
                    .await
                    .map_err(Failure::store)?
                    .unwrap_or((0, None));
                let unix = |t: i64| u64::try_from(t).unwrap_or(0);
                let me = parse_address(&owner.address).map_err(Failure::waiting)?;
                (
                    exposure::member_facts(
                        &events,
                        me,
                        clause,
                        grantee,
                        unix(joined),
                        removed.map_or(now, unix),
                        new_version,
                    ),
                    Party::Member {
                        address: grant.grantee.clone(),
                        group: group.clone(),
                    },
                )
            }
            None => (
                exposure::facts(&events, grantee, clause),
                Party::Person {
                    address: grant.grantee.clone(),
                },
            ),
            Some(c) => (
                exposure::facts(&events, grantee, clause),
                Party::Role {
                    clinic: grant.grantee.clone(),
                    clause: c.clone(),
                },
            ),
        };
        let mut exposure = exposure::report(
            &facts,
            party,
            new_version,
            now,
            grant.leave || !tx.is_empty(),
        );
        // Honest about what this revocation does not close: another grant of the same
        // record that still reaches them.
        exposure.still_reached = self
            .other_routes(store, owner, grant)
            .await
            .map_err(Failure::store)?;
        exposure.removed_here = removed_here;
        let report = super::exposure::render(&exposure);
        let json = serde_json::to_string(&report)
            .map_err(|e| Failure::waiting(CoreError::internal("the exposure report", e)))?;
        store
            .revoked(grant.id, tx, &json)
            .await
            .map_err(Failure::store)?;
        self.rotate_again_if_stale(store, &conn.contract.to_string(), grant, new_version)
            .await
    }
}

/// The transaction of the `AccessRevoked` by `me` of `grantee`'s grant under `clause`
/// that names `capsule` (a revocation's new version), if the record's events hold one.
fn mined_revocation(
    events: &[LoggedEvent],
    me: Address,
    grantee: Address,
    clause: B256,
    capsule: &[u8],
) -> Option<String> {
    events.iter().rev().find_map(|e| match &e.event {
        LedgerEvent::AccessRevoked {
            owner,
            grantee: g,
            clause_hash,
            new_capsule_cid,
            ..
        } if *owner == me
            && *g == grantee
            && *clause_hash == clause
            && new_capsule_cid.as_ref() == capsule =>
        {
            Some(e.meta.tx_hash.to_string())
        }
        _ => None,
    })
}

/// Which revocations go in one batch: the same grantee and clause (the batch function
/// takes one of each), and the same kind (a leave or a rotation takes nothing back on
/// the ledger).
pub(crate) fn revoke_group(grant: &GrantRow) -> (String, Option<String>, bool, bool) {
    (
        grant.grantee.clone(),
        grant.clause.clone(),
        grant.leave,
        grant.rotate,
    )
}

/// The objects of the version a revocation's new version replaces.
pub(crate) async fn replaced_objects(
    store: &RecordStore,
    grant: &GrantRow,
    new_version: u32,
) -> Result<Vec<String>, Failure> {
    Ok(store
        .versions(&grant.record_id)
        .await
        .map_err(Failure::store)?
        .into_iter()
        .filter(|r| r.version + 1 == new_version)
        .flat_map(|r| [r.content_cid, r.manifest_cid, r.capsule_cid])
        .collect())
}

/// The revocation's new version, as the store holds it.
async fn revision_row(
    store: &RecordStore,
    grant: &GrantRow,
    version: u32,
) -> Result<StoredRecord, Failure> {
    store
        .versions(&grant.record_id)
        .await
        .map_err(Failure::store)?
        .into_iter()
        .find(|r| r.version == version)
        .ok_or_else(|| Failure::waiting(SharingError::RevisionMissing))
}

/// The revocation's new version's capsule, once that version is registered.
pub(crate) async fn registered_capsule(
    store: &RecordStore,
    grant: &GrantRow,
    version: u32,
) -> Result<RecordCapsule, Failure> {
    let row = revision_row(store, grant, version).await?;
    if row.ledger.is_none() {
        return Err(Failure::waiting(SharingError::RevisionPending {
            version,
            problem: row
                .ledger_problem
                .clone()
                .or(row.problem.clone())
                .filter(|p| !p.is_empty()),
        }));
    }
    let capsule_cid: Cid = row
        .capsule_cid
        .parse()
        .map_err(|e| Failure::waiting(CoreError::StoredCidUnreadable(e)))?;
    Ok(RecordCapsule {
        record_id: b256(&grant.record_id).map_err(Failure::waiting)?,
        capsule_cid: capsule_cid.to_bytes(),
    })
}

/// Takes grants of one grantee under one clause (one [`revoke_group`]) off the ledger,
/// each with its new version's capsule, in one `revokeAccessBatch` (as few transactions
/// as fit); answers each one's transaction hash, in order. Each mined item's
/// transaction is kept in its grant at once, and one kept by an earlier run (cut off
/// before its report) is answered again without anything sent. Empty when there was none
/// to take back: a leave or a rotation, or a grant not active on the contract (never
/// sent, or revoked by a transaction whose receipt was missed: its report finds it in
/// the record's events), so a retry never fails on its own success.
pub(crate) async fn revoke_on_ledger(
    store: &RecordStore,
    conn: &Connected,
    items: &[(&GrantRow, RecordCapsule)],
) -> Vec<Result<String, Failure>> {
    let Some((first, _)) = items.first() else {
        return Vec::new();
    };
    if first.leave {
        // A member leaving a group revokes no grant on the ledger: the group's grant
        // stands, and the new version (`RecordUpdated`) and the others' new keys
        // (`KeyIssued`) are the record of it.
        return items.iter().map(|_| Ok(String::new())).collect();
    }
    let grantee = match parse_address(&first.grantee) {
        Ok(a) => a,
        // The same address for each: the same refusal for each.
        Err(_) => {
            return items
                .iter()
                .map(|_| Err(Failure::waiting(parse_address(&first.grantee).unwrap_err())))
                .collect()
        }
    };
    let clause = first.clause.as_deref().map_or(B256::ZERO, clause_hash);
    let mut out: Vec<Option<Result<String, Failure>>> = items.iter().map(|_| None).collect();
    let mut send: Vec<(usize, RecordCapsule)> = Vec::new();
    for (j, (grant, item)) in items.iter().enumerate() {
        if let Some(kept) = grant.revoke_tx.as_ref().filter(|tx| !tx.is_empty()) {
            // Mined in an earlier run that stopped before its report.
            out[j] = Some(Ok(kept.clone()));
            continue;
        }
        match conn
            .node
            .grant_active(conn.contract, item.record_id, grantee, clause)
            .await
        {
            Ok(true) => send.push((j, item.clone())),
            // No active grant: nothing to take back. A grant this wallet broadcast
            // whose receipt never came cannot be mined after this: the revocation's new
            // version was registered by a later transaction of the same account, and
            // mined, before this was asked; a node mines an account's transactions in
            // nonce order, so the grant is on the ledger by now, or never will be.
            Ok(false) => out[j] = Some(Ok(String::new())),
            Err(e) => out[j] = Some(Err(Failure::ledger(e))),
        }
    }
    if send.is_empty() {
        return out
            .into_iter()
            .map(|o| o.unwrap_or_else(|| Ok(String::new())))
            .collect();
    }
    let batch: Vec<RecordCapsule> = send.iter().map(|(_, item)| item.clone()).collect();
    let sent = conn
        .client
        .revoke_access_batch(grantee, clause, &batch)
        .await;
    for ((j, _), outcome) in send.iter().zip(sent) {
        out[*j] = Some(match outcome {
            Ok(receipt) => {
                let tx = receipt.tx_hash.to_string();
                // Kept before anything else runs: a run cut off after this point finds
                // it and sends nothing again.
                match store.revoke_sent(items[*j].0.id, &tx).await {
                    Ok(()) => Ok(tx),
                    Err(e) => Err(Failure::store(e)),
                }
            }
            Err(LedgerError::Reverted {
                reason: Revert::NoSuchGrant { .. },
                ..
            }) => Ok(String::new()),
            Err(e) => Err(Failure::ledger(e)),
        });
    }
    out.into_iter()
        .map(|o| o.unwrap_or_else(|| Ok(String::new())))
        .collect()
}
