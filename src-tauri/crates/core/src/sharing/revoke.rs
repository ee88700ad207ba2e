//! Sending revocations: each version re-encrypted without the grantee (made once, then
//! uploaded and registered by the records outbox, together), one `revokeAccessBatch`
//! naming their capsules for the records taken from one grantee under one clause, the
//! older versions unpinned, and each exposure report from the ledger's events.

use medwallet_ledger::{LedgerError, RecordCapsule, Revert, B256};
use medwallet_records::cid::Cid;
use url::Url;

use super::emergency;
use super::exposure::{self, Party, Route};
use super::grant::{clause_hash, parse_clause};
use super::Failure;
use medwallet_api::GrantSummary;

use crate::error::{Answer, CoreError, SharingError};
use crate::ipfs::unpin_and_collect_each;
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

    /// Runs revocations of records from one grantee under one clause (a group of
    /// [`revoke_group`]) as far as they can go: each record's next version made (once),
    /// all uploaded and registered by one outbox run, one `revokeAccessBatch` for all (as
    /// few transactions as fit in a block), then each one's unpinning and exposure report.
    /// Answers each revocation's outcome, in order, or `None` for one not tried because a
    /// node failed before it.
    pub(crate) async fn send_revokes(
        &self,
        store: &RecordStore,
        owner: &Owner,
        ipfs: &Url,
        ledger: &LedgerTarget,
        conn: &Connected,
        grants: &[GrantRow],
    ) -> Vec<Option<Result<(), Failure>>> {
        let mut out: Vec<Option<Result<(), Failure>>> = (0..grants.len()).map(|_| None).collect();
        let mut made: Vec<(usize, u32)> = Vec::new();
        for (i, grant) in grants.iter().enumerate() {
            // Read again: a version made for another revocation of the same record in
            // this pass names this one too.
            let noted = match store.grant(grant.id).await {
                Ok(fresh) => fresh.and_then(|g| g.revoke_version),
                Err(_) => grant.revoke_version,
            };
            let version = match noted {
                Some(v) => Ok(v),
                None => self
                    .make_revision(store, owner, ipfs, ledger, &grant.record_id)
                    .await
                    .map_err(Failure::waiting),
            };
            match version {
                Ok(v) => made.push((i, v)),
                Err(f) => {
                    let down = f.node_down;
                    out[i] = Some(Err(f));
                    if down {
                        break;
                    }
                }
            }
        }
        let mut pending_registration = false;
        for (i, version) in &made {
            match revision_row(store, &grants[*i], *version).await {
                Ok(row) => pending_registration |= row.ledger.is_none(),
                Err(f) => out[*i] = Some(Err(f)),
            }
        }
        if pending_registration {
            // The records outbox uploads and registers them (together); push it now rather
            // than wait. What fails is kept in each version's outbox row, read below.
            if let Err(e) = self
                .sync(&owner.wallet_id, Some(owner), ipfs, ledger, true)
                .await
            {
                tracing::debug!(error = e.kind(), "the revisions' outbox did not run");
            }
        }
        // Each registered revision's capsule, for the ledger's revocation.
        let mut ready: Vec<(usize, u32, RecordCapsule)> = Vec::new();
        for (i, version) in made {
            if out[i].is_some() {
                continue;
            }
            match registered_capsule(store, &grants[i], version).await {
                Ok(item) => ready.push((i, version, item)),
                Err(f) => out[i] = Some(Err(f)),
            }
        }
        let txs = revoke_on_ledger(conn, grants, &ready).await;
        // The versions they replace are no longer the records': unpinned, and collected
        // once for all (those before them were unpinned when they were replaced).
        let mut done: Vec<(usize, u32, String, Vec<String>)> = Vec::new();
        for ((i, version, _), tx) in ready.iter().zip(txs) {
            match tx {
                Ok(tx) => match replaced_objects(store, &grants[*i], *version).await {
                    Ok(older) => done.push((*i, *version, tx, older)),
                    Err(f) => out[*i] = Some(Err(f)),
                },
                Err(f) => out[*i] = Some(Err(f)),
            }
        }
        let groups: Vec<Vec<String>> = done.iter().map(|(_, _, _, older)| older.clone()).collect();
        let removed = if groups.is_empty() {
            Vec::new()
        } else {
            unpin_and_collect_each(ipfs, &groups).await
        };
        for ((i, version, tx, older), removed) in done.into_iter().zip(removed) {
            let removed_here = removed && !older.is_empty();
            out[i] = Some(
                self.finish_revoke(store, owner, conn, &grants[i], version, &tx, removed_here)
                    .await,
            );
        }
        out
    }

    /// A revocation whose version is registered, whose grant is off the ledger (`tx`,
    /// empty when there was none to take back) and whose replaced version is unpinned
    /// (`removed_here`: and gone from this computer's node): the emergency mark taken
    /// back, the exposure report, the grant closed.
    #[allow(clippy::too_many_arguments)]
    async fn finish_revoke(
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
async fn replaced_objects(
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
async fn registered_capsule(
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

/// Takes the grants of `ready` (one grantee, one clause) off the ledger in one batch;
/// answers each one's transaction hash, empty when there was none to take back (a leave
/// or a rotation, or a grant not active on the contract: never sent, or revoked by a
/// transaction whose receipt was missed), so a retry never fails on its own success.
async fn revoke_on_ledger(
    conn: &Connected,
    grants: &[GrantRow],
    ready: &[(usize, u32, RecordCapsule)],
) -> Vec<Result<String, Failure>> {
    let Some((first, _, _)) = ready.first() else {
        return Vec::new();
    };
    let first = &grants[*first];
    if first.leave {
        // A member leaving a group revokes no grant on the ledger: the group's grant
        // stands, and the new version (`RecordUpdated`) and the others' new keys
        // (`KeyIssued`) are the record of it.
        return ready.iter().map(|_| Ok(String::new())).collect();
    }
    let grantee = match parse_address(&first.grantee) {
        Ok(a) => a,
        // The same address for each: the same refusal for each.
        Err(_) => {
            return ready
                .iter()
                .map(|_| Err(Failure::waiting(parse_address(&first.grantee).unwrap_err())))
                .collect()
        }
    };
    let clause = first.clause.as_deref().map_or(B256::ZERO, clause_hash);
    let mut out: Vec<Option<Result<String, Failure>>> = ready.iter().map(|_| None).collect();
    let mut send: Vec<(usize, RecordCapsule)> = Vec::new();
    for (j, (_, _, item)) in ready.iter().enumerate() {
        match conn
            .node
            .grant_active(conn.contract, item.record_id, grantee, clause)
            .await
        {
            Ok(true) => send.push((j, item.clone())),
            Ok(false) => out[j] = Some(Ok(String::new())),
            Err(e) => out[j] = Some(Err(Failure::ledger(e))),
        }
    }
    let items: Vec<RecordCapsule> = send.iter().map(|(_, item)| item.clone()).collect();
    let sent = conn
        .client
        .revoke_access_batch(grantee, clause, &items)
        .await;
    for ((j, _), outcome) in send.iter().zip(sent) {
        out[*j] = Some(match outcome {
            Ok(receipt) => Ok(receipt.tx_hash.to_string()),
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
