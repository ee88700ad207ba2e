//! A clinic as attribute authority: it issues its staff keys (`role:doctor`,
//! `dept:emergency`, ...), which open records patients shared with those roles there,
//! and revokes them by epochs.
//!
//! Revoking a key moves the clinic's authority to its next epoch: a master key derived
//! for it, its parameters published again (`AuthorityPublished`), and new keys for every
//! other staff member. A patient's wallet that shared records with a role at the clinic
//! sees the new parameters on its next pass and re-encrypts those records under a new
//! data key, wrapped for them (a `rotate`, run like a revocation, with its exposure
//! report): the revoked key opens no version made after, and what its holder may have
//! fetched before is named.

use medwallet_api::{SharingItemProblem, SharingWork, StaffList, StaffMember};
use medwallet_records::cid::cid_of;
use medwallet_vault::Role;
use url::Url;

use crate::error::{Answer, StaffError, Task};
use crate::ledger::directory::{self, Connected};
use crate::ledger::{now_unix, parse_address, rfc3339, LedgerTarget, StepFailure as Failure};
use crate::records::RecordService;
use crate::session::Owner;
use crate::sharing::grant::parse_clause;
use crate::store::RecordStore;

fn only_clinics(owner: &Owner) -> Answer<()> {
    if owner.role == Role::Clinic {
        Ok(())
    } else {
        Err(StaffError::OnlyClinics.into())
    }
}

impl RecordService {
    /// Issues a staff member's key with `attributes` from the clinic's authority (sealed
    /// to them, on IPFS, `KeyIssued` on the ledger); a new set replaces the one before.
    pub async fn issue_staff_key(
        &self,
        clinic: &Owner,
        ipfs: &Url,
        ledger: &LedgerTarget,
        holder: &str,
        attributes: &[String],
    ) -> Answer<()> {
        only_clinics(clinic)?;
        let holder = parse_address(holder)?;
        let mut attributes: Vec<String> = attributes.iter().map(|a| a.trim().to_owned()).collect();
        attributes.sort();
        attributes.dedup();
        for a in &attributes {
            // Each attribute must be one term a clause can name.
            let (canonical, _) = parse_clause(a)?;
            if canonical != *a || a.contains(' ') {
                return Err(StaffError::NotOneAttribute {
                    attribute: a.clone(),
                }
                .into());
            }
        }
        if attributes.is_empty() {
            return Err(StaffError::NoAttribute.into());
        }
        let store = self.store(&clinic.wallet_id).await?;
        store
            .set_staff(&holder.to_string(), &attributes, now_unix())
            .await?;
        self.sharing_changed();
        let fail = |f: Failure| f.during(Task::IssueStaffKey);
        let conn = self.connect(clinic, ledger).await.map_err(fail)?;
        directory::publish_self(&store, clinic, ipfs, &conn)
            .await
            .map_err(fail)?;
        self.issue_key_to(&store, clinic, ipfs, &conn, holder, &attributes)
            .await
            .map_err(fail)?;
        Ok(())
    }

    /// The clinic's staff and its authority's epoch.
    pub async fn list_staff(&self, clinic: &Owner) -> Answer<StaffList> {
        only_clinics(clinic)?;
        let store = self.store(&clinic.wallet_id).await?;
        staff_list(&store, None).await
    }

    /// Revokes a staff member's key: the clinic's authority moves to its next epoch, its
    /// new parameters are published and the other staff re-keyed now if the nodes answer
    /// (else by the next pass). Patients re-encrypt what they shared with its roles.
    pub async fn revoke_staff_key(
        &self,
        clinic: &Owner,
        ipfs: &Url,
        ledger: &LedgerTarget,
        holder: &str,
    ) -> Answer<StaffList> {
        only_clinics(clinic)?;
        let holder = parse_address(holder)?.to_string();
        let store = self.store(&clinic.wallet_id).await?;
        store
            .revoke_staff(&holder, now_unix())
            .await?
            .ok_or_else(|| StaffError::NoActiveKey {
                holder: holder.clone(),
            })?;
        self.sharing_changed();
        let problem = match self.connect(clinic, ledger).await {
            Ok(conn) => self
                .sync_staff_keys(&store, clinic, ipfs, &conn)
                .await
                .err()
                .map(|f| f.reason()),
            Err(f) => Some(f.reason()),
        };
        staff_list(&store, problem).await
    }

    /// The clinic's pass: every revocation on the ledger, its parameters for the current
    /// epoch published, and every active staff member holding a key of that epoch.
    pub(crate) async fn sync_staff_keys(
        &self,
        store: &RecordStore,
        clinic: &Owner,
        ipfs: &Url,
        conn: &Connected,
    ) -> Result<(), Failure> {
        let contract = conn.contract.to_string();
        let staff = store.staff().await.map_err(Failure::store)?;
        // Revocations first: they need neither IPFS nor the new parameters, and nothing
        // else in this pass (a new hire who has not published yet) may hold them up.
        // From each one on, the contract refuses the holder's access logs under this
        // clinic, whatever patients' wallets have not re-encrypted yet. `revokeKey` is
        // idempotent, so a retry after a lost receipt is harmless.
        for member in staff.iter().filter(|m| !m.active) {
            let Some(revoked_at) = member.revoked_at else {
                continue;
            };
            let sent = store
                .key_revocation_sent(&contract, &member.holder, revoked_at)
                .await
                .map_err(Failure::store)?;
            if !sent {
                let holder = parse_address(&member.holder).map_err(Failure::waiting)?;
                // Already revoked on the ledger (this device restored, or its receipt
                // lost): sending again would revoke a later epoch too.
                let tx = match revoked_on_ledger(conn, holder).await? {
                    Some(tx) => tx,
                    None => conn
                        .client
                        .revoke_key(holder)
                        .await
                        .map_err(Failure::ledger)?
                        .tx_hash
                        .to_string(),
                };
                store
                    .mark_key_revocation_sent(&contract, &member.holder, revoked_at, &tx)
                    .await
                    .map_err(Failure::store)?;
            }
        }
        directory::publish_self(store, clinic, ipfs, conn).await?;
        // Every active member gets the current epoch's key: one who cannot be keyed yet (a
        // new hire who has not published) holds up no one else, since the contract
        // counts only keys of the current epoch. The first problem is reported.
        // Those whose key of this epoch is not on the ledger yet are counted for the Staff
        // page's progress bar (after a revocation: every other member).
        let mut due = Vec::new();
        for member in staff.iter().filter(|m| m.active) {
            let current = store
                .issued_key(&contract, &member.holder)
                .await
                .map_err(Failure::store)?
                .is_some_and(|k| k.attributes == member.attributes && k.tx.is_some());
            due.push(!current);
        }
        let counted = due.iter().filter(|d| **d).count();
        let tally = self.tally(&clinic.wallet_id, SharingWork::Rekeying, counted);
        let mut first_problem = None;
        for (member, due) in staff.iter().filter(|m| m.active).zip(due) {
            let issued = match parse_address(&member.holder) {
                Ok(holder) => {
                    self.issue_key_to(store, clinic, ipfs, conn, holder, &member.attributes)
                        .await
                }
                Err(e) => Err(Failure::waiting(e)),
            };
            if let (Some(tally), true) = (&tally, due) {
                tally.record_done(issued.as_ref().err().map(|f| SharingItemProblem {
                    name: member.holder.clone(),
                    reason: f.reason(),
                }));
            }
            if let Err(f) = issued {
                first_problem.get_or_insert(f);
            }
        }
        first_problem.map_or(Ok(()), Err)
    }

    /// The patient's pass: a clinic its records are shared with by role published new
    /// parameters (it revoked a staff key), so those records are re-encrypted for them.
    pub(crate) async fn sync_clinic_epochs(
        &self,
        store: &RecordStore,
        owner: &Owner,
        ipfs: &Url,
        conn: &Connected,
    ) -> Result<(), Failure> {
        let contract = conn.contract.to_string();
        for clinic in store
            .granted_clinics(&owner.address)
            .await
            .map_err(Failure::store)?
        {
            let Some(known) = store
                .authority_params(&contract, &clinic)
                .await
                .map_err(Failure::store)?
            else {
                // Not read yet: the grant reads it when it is sent.
                continue;
            };
            let address = parse_address(&clinic).map_err(Failure::waiting)?;
            // The CID on the ledger against the one of the parameters kept here: no IPFS
            // round trip on each pass, only when the clinic published new ones.
            let published = directory::authority_cid(&conn.reads, address).await?;
            if published.is_none_or(|cid| cid == cid_of(&known)) {
                continue;
            }
            let Some(latest) = directory::authority_params(&conn.reads, ipfs, address).await?
            else {
                continue;
            };
            // Every capsule made from now on is for the new parameters; the records
            // already shared there are re-encrypted for them.
            store
                .rotate_clinic(&contract, &clinic, &latest, &rfc3339(now_unix()))
                .await
                .map_err(Failure::store)?;
        }
        Ok(())
    }

    /// After a rotation: if the clinic moved on again while its version was being made
    /// (that version is wrapped for the epoch before), the record is rotated once more.
    pub(crate) async fn rotate_again_if_stale(
        &self,
        store: &RecordStore,
        contract: &str,
        grant: &crate::store::grants::GrantRow,
        new_version: u32,
    ) -> Result<(), Failure> {
        let (Some(clause), true) = (&grant.clause, grant.rotate) else {
            return Ok(());
        };
        let Some(params) = store
            .authority_params(contract, &grant.grantee)
            .await
            .map_err(Failure::store)?
        else {
            return Ok(());
        };
        let current = medwallet_abe::PublicParams::from_bytes(&params)
            .map_err(|e| Failure::waiting(StaffError::StoredParamsUnusable(e)))?
            .authority_id();
        let path = store.object_path(&grant.record_id, new_version, crate::store::Object::Capsule);
        let wrapped_for = std::fs::read(&path)
            .ok()
            .and_then(|bytes| medwallet_records::capsule::inspect(&bytes).ok())
            .map(|info| info.authorities)
            .unwrap_or_default();
        if !wrapped_for.contains(&current) {
            store
                .queue_rotation(
                    &grant.record_id,
                    &grant.grantee,
                    clause,
                    &rfc3339(now_unix()),
                )
                .await
                .map_err(Failure::store)?;
        }
        Ok(())
    }
}

/// The transaction that revoked `holder`'s latest key on the ledger, if its revocation
/// (`KeyRevoked`) is of an epoch at least that key's (`KeyIssued`).
async fn revoked_on_ledger(
    conn: &Connected,
    holder: medwallet_ledger::Address,
) -> Result<Option<String>, Failure> {
    use medwallet_ledger::{EventFilter, LedgerEvent};
    let events = conn
        .reads
        .events(&EventFilter::Wallet(conn.me))
        .await
        .map_err(Failure::ledger)?;
    let mut issued = 0u32;
    let mut revoked = None;
    for e in &events {
        match e.event {
            LedgerEvent::KeyIssued {
                authority,
                holder: h,
                epoch,
                ..
            } if authority == conn.me && h == holder => issued = issued.max(epoch),
            LedgerEvent::KeyRevoked {
                authority,
                holder: h,
                epoch,
            } if authority == conn.me && h == holder => {
                revoked = Some((epoch, e.meta.tx_hash.to_string()));
            }
            _ => {}
        }
    }
    Ok(revoked.and_then(|(epoch, tx)| (epoch >= issued).then_some(tx)))
}

async fn staff_list(store: &RecordStore, problem: Option<String>) -> Answer<StaffList> {
    let mut members = Vec::new();
    for m in store.staff().await? {
        let revocation_tx = match m.revoked_at {
            Some(at) if !m.active => store.key_revocation_tx(&m.holder, at).await?,
            _ => None,
        };
        members.push(StaffMember {
            holder: m.holder,
            attributes: m.attributes,
            active: m.active,
            issued_at: rfc3339(m.issued_at),
            revoked_at: m.revoked_at.map(rfc3339),
            revocation_tx,
        });
    }
    Ok(StaffList {
        epoch: store.authority_epoch().await?,
        members,
        problem,
    })
}
