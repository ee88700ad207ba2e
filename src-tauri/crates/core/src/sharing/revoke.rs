//! Sending a revocation: the version re-encrypted without the grantee (made once, then
//! uploaded and registered by the records outbox), `revokeAccess` naming its capsule,
//! the older versions unpinned, and the exposure report from the ledger's events.
//!
//! In two parts, so that a batch ([`reencrypt`](super::reencrypt)) collects the node's
//! garbage once for all its records: [`revoke_steps`](RecordService::revoke_steps) runs
//! everything up to the report, [`finish_revoke`](RecordService::finish_revoke) writes
//! the report once it is known whether the replaced version left this computer's node.

use medwallet_ledger::{EventFilter, LedgerError, LoggedEvent, Revert, B256};
use medwallet_records::cid::Cid;
use url::Url;

use super::emergency;
use super::exposure::{self, Party, Route};
use super::grant::clause_hash;
use super::Failure;
use crate::error::{CoreError, SharingError};
use crate::ipfs::{collect_and_check_each, unpin};
use crate::ledger::directory::{self, Connected};
use crate::ledger::{b256, now_unix, parse_address, LedgerTarget};
use crate::records::RecordService;
use crate::session::Owner;
use crate::store::grants::GrantRow;
use crate::store::RecordStore;

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

    /// Runs a revocation as far as it can go, on its own: its replaced version collected
    /// from this computer's node before its report is written.
    pub(crate) async fn send_revoke(
        &self,
        store: &RecordStore,
        owner: &Owner,
        ipfs: &Url,
        ledger: &LedgerTarget,
        conn: &Connected,
        grant: &GrantRow,
    ) -> Result<(), Failure> {
        let revoked = self
            .revoke_steps(store, owner, ipfs, ledger, conn, grant)
            .await?;
        let gone = collect_and_check_each(ipfs, &revoked.older).await;
        let contract = conn.contract.to_string();
        self.finish_revoke(store, owner, &contract, revoked, gone)
            .await
    }

    /// A revocation up to its report: its version made (once) and registered, the grant
    /// revoked on the ledger (its transaction kept at once), the replaced version
    /// unpinned, the record's events read. Every step can run again: the version is
    /// named in the grant, a registration is looked up before it is sent, a kept
    /// `revokeAccess` is not sent again, unpinning what is not pinned succeeds.
    #[tracing::instrument(name = "revoke_steps", skip_all, fields(grant = grant.id))]
    pub(crate) async fn revoke_steps(
        &self,
        store: &RecordStore,
        owner: &Owner,
        ipfs: &Url,
        ledger: &LedgerTarget,
        conn: &Connected,
        grant: &GrantRow,
    ) -> Result<Revoked, Failure> {
        let new_version = match grant.revoke_version {
            Some(v) => v,
            None => self
                .make_revision(store, owner, ipfs, ledger, &grant.record_id)
                .await
                .map_err(Failure::waiting)?,
        };
        let registered = |store: &RecordStore| {
            let id = grant.record_id.clone();
            let store = store.clone();
            async move {
                store
                    .versions(&id)
                    .await
                    .map_err(Failure::store)?
                    .into_iter()
                    .find(|r| r.version == new_version)
                    .ok_or_else(|| Failure::waiting(SharingError::RevisionMissing))
            }
        };
        if registered(store).await?.ledger.is_none() {
            // The records outbox uploads and registers it; push it now rather than wait
            // (this record's entries only: the records of a batch run side by side).
            // What fails is kept in the version's outbox row, which the check below reads.
            if let Err(e) = self
                .sync_record(store, owner, ipfs, ledger, &grant.record_id)
                .await
            {
                tracing::debug!(record = %grant.record_id, version = new_version, error = e.kind(), "the revision's outbox did not run");
            }
        }
        let version_row = registered(store).await?;
        if version_row.ledger.is_none() {
            return Err(Failure::waiting(SharingError::RevisionPending {
                version: new_version,
                problem: version_row
                    .ledger_problem
                    .clone()
                    .or(version_row.problem.clone())
                    .filter(|p| !p.is_empty()),
            }));
        }
        let grantee = parse_address(&grant.grantee).map_err(Failure::waiting)?;
        let clause = grant.clause.as_deref().map_or(B256::ZERO, clause_hash);
        let capsule_cid: Cid = version_row
            .capsule_cid
            .parse()
            .map_err(|e| Failure::waiting(CoreError::StoredCidUnreadable(e)))?;
        let record_id = b256(&grant.record_id).map_err(Failure::waiting)?;
        let tx = match &grant.revoke_tx {
            // A member leaving a group revokes no grant on the ledger: the group's grant
            // stands, and the new version (`RecordUpdated`) and the others' new keys
            // (`KeyIssued`) are the record of it.
            _ if grant.leave => String::new(),
            // Mined in an earlier run that stopped before its report.
            Some(tx) if !tx.is_empty() => tx.clone(),
            _ => match conn
                .client
                .revoke_access(record_id, grantee, clause, &capsule_cid.to_bytes())
                .await
            {
                Ok(receipt) => {
                    let tx = receipt.tx_hash.to_string();
                    store
                        .revoke_sent(grant.id, &tx)
                        .await
                        .map_err(Failure::store)?;
                    tx
                }
                // Not on the ledger (never sent, or revoked by a transaction whose receipt
                // was missed): nothing more to take back there.
                Err(LedgerError::Reverted {
                    reason: Revert::NoSuchGrant { .. },
                    ..
                }) => String::new(),
                Err(e) => return Err(Failure::ledger(e)),
            },
        };
        if !grant.leave && emergency::is_emergency(grant.clause.as_deref()) {
            // The clinic is no longer the record's emergency clinic either.
            emergency::mark(conn, record_id, grantee, false).await?;
        }
        // The version it replaces is no longer the record's: unpin its objects (those
        // before it were unpinned when it replaced them).
        let older: Vec<String> = store
            .versions(&grant.record_id)
            .await
            .map_err(Failure::store)?
            .into_iter()
            .filter(|r| r.version + 1 == new_version)
            .flat_map(|r| [r.content_cid, r.manifest_cid, r.capsule_cid])
            .collect();
        unpin(ipfs, &older.iter().map(String::as_str).collect::<Vec<_>>()).await;
        let events = directory::events(&conn.node, conn.contract, &EventFilter::Record(record_id))
            .await
            .map_err(Failure::ledger)?;
        Ok(Revoked {
            grant: grant.clone(),
            new_version,
            tx,
            older,
            events,
        })
    }

    /// Writes a revocation's exposure report from its events; `removed_here` says whether
    /// this computer's node no longer holds the replaced version. A rotation whose version
    /// is already stale queues the next.
    #[tracing::instrument(name = "finish_revoke", skip_all)]
    pub(crate) async fn finish_revoke(
        &self,
        store: &RecordStore,
        owner: &Owner,
        contract: &str,
        revoked: Revoked,
        removed_here: bool,
    ) -> Result<(), Failure> {
        let Revoked {
            grant,
            new_version,
            tx,
            older,
            events,
        } = revoked;
        let grant = &grant;
        let grantee = parse_address(&grant.grantee).map_err(Failure::waiting)?;
        let clause = grant.clause.as_deref().map_or(B256::ZERO, clause_hash);
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
        exposure.removed_here = removed_here && !older.is_empty();
        let report = super::exposure::render(&exposure);
        let json = serde_json::to_string(&report)
            .map_err(|e| Failure::waiting(CoreError::internal("the exposure report", e)))?;
        store
            .revoked(grant.id, &tx, &json)
            .await
            .map_err(Failure::store)?;
        self.rotate_again_if_stale(store, contract, grant, new_version)
            .await
    }
}

/// A revocation run up to its report ([`RecordService::revoke_steps`]).
pub(crate) struct Revoked {
    pub grant: GrantRow,
    new_version: u32,
    /// The `revokeAccess` transaction; empty when none was needed or found.
    tx: String,
    /// The replaced version's objects, unpinned: whether this computer's node still holds
    /// them is for the caller to check after its garbage collection.
    pub older: Vec<String>,
    /// The record's events, for the report.
    events: Vec<LoggedEvent>,
}
