//! Sending grants: the grantee's key (for a person), each record's capsule re-wrapped for
//! everyone granted, one `grantAccessBatch` for the records granted to one grantee under
//! one clause until one expiry. And what capsules are made of: one part under the
//! owner's authority (the owner and the people), one per clinic (its clauses).

use medwallet_abe::{DataKey, Policy, PublicParams};
use medwallet_ledger::{keccak256, Address, RecordCapsule, B256};
use medwallet_records::capsule;
use medwallet_records::cid::Cid;
use medwallet_records::issued_key::{IssuedKey, IssuerNote, Sealed, HPKE_INFO, NOTE_HPKE_INFO};
use url::Url;

use super::emergency;
use super::groups::group_term;
use super::Failure;
use crate::error::{Answer, CoreError, RebuildError, SharingError};
use crate::ipfs::unpin;
use crate::ledger::directory::{self, Connected};
use crate::ledger::{b256, id_attribute, parse_address};
use crate::records::{index_damaged, RecordService};
use crate::session::Owner;
use crate::store::grants::{GrantRow, Issued};
use crate::store::{local_seal, RecordStore, StoredRecord};

/// A grant ready for its transaction.
struct Prepared {
    record_id: B256,
    grantee: Address,
    clause_hash: B256,
    expiry: u64,
    /// The record's capsule for everyone granted, on IPFS.
    cid: Cid,
    /// The record version it is for.
    row: StoredRecord,
}

/// Which grants go in one batch: the same grantee, clause and expiry (the batch
/// function takes one of each).
pub(crate) fn grant_group(grant: &GrantRow) -> (String, Option<String>, Option<i64>) {
    (
        grant.grantee.clone(),
        grant.clause.clone(),
        grant.expires_at,
    )
}

/// The on-chain name of a clause: keccak256 of its canonical text.
pub(crate) fn clause_hash(clause: &str) -> B256 {
    keccak256(clause.as_bytes())
}

/// Parses a clause for a role at a clinic; answers its canonical text and policy.
pub(crate) fn parse_clause(text: &str) -> Answer<(String, Policy)> {
    let policy = Policy::parse(text).map_err(SharingError::BadClause)?;
    Ok((policy.to_string(), policy))
}

/// The capsule of `record_id` version `version` for its current audience: the owner and
/// the people granted under the owner's authority, and each clinic's clauses under the
/// clinic's (parameters kept in the store).
pub(crate) async fn capsule_for(
    store: &RecordStore,
    owner: &Owner,
    contract: Option<&str>,
    record_id: &str,
    version: u32,
    dek: &DataKey,
) -> Answer<Vec<u8>> {
    let audience = store.capsule_audience(record_id).await?;
    let mut terms = vec![owner.id_attribute()];
    terms.extend(audience.people.iter().map(|g| id_attribute(g)));
    // The owner's groups, at their current epoch.
    for (_, group) in audience.clauses.iter().filter(|(g, _)| *g == owner.address) {
        let epoch = store.group_epoch(group).await?.unwrap_or(1);
        terms.push(group_term(group, epoch));
    }
    let own = Policy::parse(&terms.join(" OR "))
        .map_err(|e| CoreError::internal("the sharing policy", e))?;
    let authority = owner.authority()?;

    // The clinics, each with the OR of its clauses.
    let mut clinics: Vec<(String, Vec<String>)> = Vec::new();
    for (clinic, clause) in audience.clauses.iter().filter(|(g, _)| *g != owner.address) {
        match clinics.iter_mut().find(|(c, _)| c == clinic) {
            Some((_, clauses)) => clauses.push(clause.clone()),
            None => clinics.push((clinic.clone(), vec![clause.clone()])),
        }
    }
    let mut parts: Vec<(PublicParams, Policy)> = Vec::new();
    for (clinic, clauses) in clinics {
        let params = match contract {
            Some(c) => store.authority_params(c, &clinic).await?,
            None => None,
        }
        .ok_or_else(|| SharingError::ClinicKeysUnknown {
            clinic: clinic.clone(),
        })?;
        let params = PublicParams::from_bytes(&params)
            .map_err(|e| CoreError::internal("a clinic's parameters", e))?;
        let text = clauses
            .iter()
            .map(|c| format!("({c})"))
            .collect::<Vec<_>>()
            .join(" OR ");
        let policy =
            Policy::parse(&text).map_err(|e| CoreError::internal("a clinic's clauses", e))?;
        parts.push((params, policy));
    }
    parts.insert(0, (authority.public_params().clone(), own));
    // CP-ABE encryption, a few milliseconds per part: on a blocking thread, so that the
    // records a batch re-encrypts side by side use every core.
    let (dek, record_id) = (DataKey::from_bytes(*dek.as_bytes()), record_id.to_owned());
    tokio::task::spawn_blocking(move || {
        let refs: Vec<(&PublicParams, &Policy)> = parts.iter().map(|(p, c)| (p, c)).collect();
        capsule::wrap_parts(&refs, &dek, &record_id, version)
            .map_err(|e| CoreError::internal("wrapping the data key", e))
    })
    .await
    .map_err(|e| CoreError::internal("the wrapping task", e))?
}

impl RecordService {
    /// Sends grants of records to one grantee under one clause until one expiry (a group
    /// of [`grant_group`]): each one's key (for a person, if needed) and capsule, then one
    /// `grantAccessBatch` for all (as few transactions as fit in a block), then each one's
    /// note. Answers each grant's outcome, in order (kept with its grant), or `None` for
    /// one not tried because a node failed before it.
    pub(crate) async fn send_grants(
        &self,
        store: &RecordStore,
        owner: &Owner,
        ipfs: &Url,
        conn: &Connected,
        grants: &[GrantRow],
    ) -> Vec<Option<Result<(), Failure>>> {
        let mut out: Vec<Option<Result<(), Failure>>> = (0..grants.len()).map(|_| None).collect();
        let mut ready: Vec<(usize, Prepared)> = Vec::new();
        for (i, grant) in grants.iter().enumerate() {
            match self.prepare_grant(store, owner, ipfs, conn, grant).await {
                Ok(prepared) => ready.push((i, prepared)),
                Err(f) => {
                    let down = f.node_down;
                    out[i] = Some(Err(f));
                    if down {
                        // The node failed: the rest waits for the next pass, as it is.
                        break;
                    }
                }
            }
        }
        if let Some((_, first)) = ready.first() {
            let (grantee, clause_hash, expiry) = (first.grantee, first.clause_hash, first.expiry);
            let items: Vec<RecordCapsule> = ready
                .iter()
                .map(|(_, p)| RecordCapsule {
                    record_id: p.record_id,
                    capsule_cid: p.cid.to_bytes(),
                })
                .collect();
            let sent = conn
                .client
                .grant_access_batch(grantee, clause_hash, expiry, &items)
                .await;
            for ((i, prepared), outcome) in ready.iter().zip(sent) {
                out[*i] = Some(match outcome {
                    Ok(receipt) => {
                        self.granted(store, ipfs, &grants[*i], prepared, receipt.tx_hash)
                            .await
                    }
                    Err(e) => Err(Failure::ledger(e)),
                });
            }
        }
        out
    }

    /// One grant up to its transaction: the key (for a person), the emergency mark (for
    /// an emergency clinic), the capsule re-wrapped for everyone granted and put on IPFS.
    async fn prepare_grant(
        &self,
        store: &RecordStore,
        owner: &Owner,
        ipfs: &Url,
        conn: &Connected,
        grant: &GrantRow,
    ) -> Result<Prepared, Failure> {
        let row = store
            .latest(&grant.record_id)
            .await
            .map_err(Failure::store)?
            .ok_or_else(|| Failure::waiting(SharingError::RecordGone))?;
        if row.ledger.is_none() {
            return Err(Failure::waiting(SharingError::NotRegisteredYet));
        }
        let grantee = parse_address(&grant.grantee).map_err(Failure::waiting)?;
        let contract = conn.contract.to_string();
        let clause_hash = match &grant.clause {
            None => {
                self.ensure_person_key(store, owner, ipfs, conn, grantee)
                    .await?;
                B256::ZERO
            }
            // One of the owner's groups: the members' keys are kept current by the pass.
            Some(group) if grant.grantee == owner.address => clause_hash(group),
            Some(clause) => {
                self.ensure_clinic_params(store, ipfs, conn, grantee)
                    .await?;
                if emergency::is_emergency(Some(clause)) {
                    // Marked before the grant exists, so a live grant is always marked.
                    let record = b256(&row.record_id).map_err(Failure::waiting)?;
                    emergency::mark(conn, record, grantee, true).await?;
                }
                clause_hash(clause)
            }
        };

        let dek = local_seal::open(
            &owner.local_key,
            &row.record_id,
            row.version,
            &row.sealed_dek,
        )
        .map_err(|_| Failure::waiting(index_damaged(&row)))?;
        let bytes = capsule_for(
            store,
            owner,
            Some(&contract),
            &row.record_id,
            row.version,
            &dek,
        )
        .await
        .map_err(Failure::waiting)?;
        let cid = directory::put(ipfs, bytes).await?;
        let expiry = grant
            .expires_at
            .and_then(|t| u64::try_from(t).ok())
            .unwrap_or(0);
        Ok(Prepared {
            record_id: b256(&row.record_id).map_err(Failure::waiting)?,
            grantee,
            clause_hash,
            expiry,
            cid,
            row,
        })
    }

    /// A grant's transaction landed: noted with the record's new capsule, and the
    /// capsule it replaces unpinned.
    async fn granted(
        &self,
        store: &RecordStore,
        ipfs: &Url,
        grant: &GrantRow,
        prepared: &Prepared,
        tx: B256,
    ) -> Result<(), Failure> {
        let row = &prepared.row;
        store
            .granted(
                grant.id,
                &tx.to_string(),
                &row.record_id,
                row.version,
                &prepared.cid.to_string(),
            )
            .await
            .map_err(Failure::store)?;
        // The capsule it replaces is no longer the record's: let the node collect it.
        if row.capsule_cid != prepared.cid.to_string() {
            unpin(ipfs, &[row.capsule_cid.as_str()]).await;
        }
        Ok(())
    }

    /// Keeps a clinic's public parameters, read from the ledger and IPFS, for its clauses.
    async fn ensure_clinic_params(
        &self,
        store: &RecordStore,
        ipfs: &Url,
        conn: &Connected,
        clinic: Address,
    ) -> Result<(), Failure> {
        let contract = conn.contract.to_string();
        let clinic_text = clinic.to_string();
        if store
            .authority_params(&contract, &clinic_text)
            .await
            .map_err(Failure::store)?
            .is_some()
        {
            return Ok(());
        }
        let params = directory::authority_params(&conn.reads, ipfs, clinic)
            .await?
            .ok_or_else(|| Failure::waiting(SharingError::NotAClinic { address: clinic }))?;
        store
            .set_authority_params(&contract, &clinic_text, &params)
            .await
            .map_err(Failure::store)
    }

    /// Makes sure `holder` has a key from this wallet's authority (`id:<holder>` and the
    /// groups it is in, at their epochs), announced on the ledger.
    pub(crate) async fn ensure_person_key(
        &self,
        store: &RecordStore,
        owner: &Owner,
        ipfs: &Url,
        conn: &Connected,
        holder: Address,
    ) -> Result<(), Failure> {
        let holder_text = holder.to_string();
        let mut attributes = vec![id_attribute(&holder_text)];
        attributes.extend(
            store
                .member_attributes(&holder_text)
                .await
                .map_err(Failure::store)?,
        );
        self.issue_key_to(store, owner, ipfs, conn, holder, &attributes)
            .await
    }

    /// Issues `holder` a key with exactly `attributes` from this wallet's authority, unless
    /// the latest one announced has them: sealed to the holder's published HPKE key, put
    /// on IPFS (its CID kept before the transaction), announced with `issueKey`.
    pub(crate) async fn issue_key_to(
        &self,
        store: &RecordStore,
        owner: &Owner,
        ipfs: &Url,
        conn: &Connected,
        holder: Address,
        attributes: &[String],
    ) -> Result<(), Failure> {
        self.issue_key_sealed(store, owner, ipfs, conn, holder, None, attributes)
            .await
    }

    /// [`issue_key_to`](Self::issue_key_to), sealed to `seal_to` when given (a check-in's
    /// throwaway wallet, which publishes nothing) instead of the holder's published key.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn issue_key_sealed(
        &self,
        store: &RecordStore,
        owner: &Owner,
        ipfs: &Url,
        conn: &Connected,
        holder: Address,
        seal_to: Option<&[u8; 32]>,
        attributes: &[String],
    ) -> Result<(), Failure> {
        let contract = conn.contract.to_string();
        // A wallet being rebuilt issues nothing: its epoch and the keys it issued are
        // not read back yet.
        if store
            .rebuild_unfinished(&contract)
            .await
            .map_err(Failure::store)?
        {
            return Err(Failure::waiting(RebuildError::Unfinished));
        }
        let holder_text = holder.to_string();
        let known = store
            .issued_key(&contract, &holder_text)
            .await
            .map_err(Failure::store)?
            .filter(|k| k.attributes == attributes);
        let issued = match known {
            Some(Issued { tx: Some(_), .. }) => return Ok(()),
            // Kept before its transaction was sent: it may have been mined while this
            // device never read the receipt (a crash, a lost answer). Sent again it would
            // be announced twice, so the ledger is asked first.
            Some(pending) => match announced(conn, holder, &pending.key_cid)
                .await
                .map_err(Failure::ledger)?
            {
                Some(tx) => {
                    let done = Issued {
                        tx: Some(tx.to_string()),
                        ..pending
                    };
                    return store
                        .set_issued_key(&contract, &holder_text, &done)
                        .await
                        .map_err(Failure::store);
                }
                None => pending,
            },
            None => {
                let hpke_key = match seal_to {
                    Some(key) => *key,
                    None => {
                        let published = directory::identity_of(&conn.reads, holder)
                            .await
                            .map_err(Failure::ledger)?
                            .ok_or_else(|| {
                                Failure::explained(CoreError::NotPublished { address: holder })
                            })?
                            .hpke_key;
                        // A share code pasted for this holder named its key, or a key was
                        // sealed to them before: the ledger node's answer must be that key,
                        // or nothing is sealed. The first key sealed to a holder is kept
                        // (pinned on first use), so a node cannot switch it later.
                        let expected = store
                            .expected_key(&holder_text)
                            .await
                            .map_err(Failure::store)?;
                        match expected {
                            Some(k) if k != published => {
                                tracing::warn!(holder = %holder, "the ledger's encryption key for a holder is not the one noted for them");
                                return Err(Failure::explained(CoreError::from(
                                    SharingError::KeyNotAsInCode {
                                        address: holder_text.clone(),
                                    },
                                )));
                            }
                            Some(_) => {}
                            None => store
                                .expect_key(&holder_text, &published)
                                .await
                                .map_err(Failure::store)?,
                        }
                        published
                    }
                };
                let epoch = store.authority_epoch().await.map_err(Failure::store)?;
                let key = owner
                    .authority_at(epoch)
                    .map_err(Failure::waiting)?
                    .issue_key(attributes, &mut medwallet_abe::rand_core::OsRng)
                    .map_err(|e| Failure::waiting(SharingError::KeyNotIssued(e)))?;
                let aad = IssuedKey::aad_for(&conn.me.0 .0, &holder.0 .0);
                let (enc, ciphertext) =
                    medwallet_vault::hpke_seal(&hpke_key, HPKE_INFO, &key.to_bytes(), &aad)
                        .map_err(|e| Failure::waiting(SharingError::KeyNotSealed(Some(e))))?;
                let encapped_key: [u8; 32] = enc
                    .as_slice()
                    .try_into()
                    .map_err(|_| Failure::waiting(SharingError::KeyNotSealed(None)))?;
                // The issuer's note: what this key holds, sealed to this wallet itself,
                // so a restore from the 24 words reads it back from the ledger.
                let note = IssuerNote {
                    epoch,
                    attributes: attributes.to_vec(),
                };
                let (note_enc, note_ciphertext) = medwallet_vault::hpke_seal(
                    &owner.x25519_public,
                    NOTE_HPKE_INFO,
                    &note.to_bytes(),
                    &aad,
                )
                .map_err(|e| Failure::waiting(SharingError::KeyNotSealed(Some(e))))?;
                let note_encapped_key: [u8; 32] = note_enc
                    .as_slice()
                    .try_into()
                    .map_err(|_| Failure::waiting(SharingError::KeyNotSealed(None)))?;
                let envelope = IssuedKey {
                    authority: conn.me.0 .0,
                    holder: holder.0 .0,
                    encapped_key,
                    ciphertext,
                    note: Some(Sealed {
                        encapped_key: note_encapped_key,
                        ciphertext: note_ciphertext,
                    }),
                };
                let issued = Issued {
                    attributes: attributes.to_vec(),
                    key_cid: directory::put(ipfs, envelope.to_bytes()).await?.to_string(),
                    tx: None,
                };
                store
                    .set_issued_key(&contract, &holder_text, &issued)
                    .await
                    .map_err(Failure::store)?;
                issued
            }
        };
        let cid: Cid = issued
            .key_cid
            .parse()
            .map_err(|e| Failure::waiting(CoreError::StoredKeyCidUnreadable(e)))?;
        let receipt = conn
            .client
            .issue_key(holder, &cid.to_bytes())
            .await
            .map_err(Failure::ledger)?;
        store
            .set_issued_key(
                &contract,
                &holder_text,
                &Issued {
                    tx: Some(receipt.tx_hash.to_string()),
                    ..issued
                },
            )
            .await
            .map_err(Failure::store)
    }
}

/// The transaction that announced the key `key_cid` from this wallet's authority to
/// `holder`, if the ledger has it: its `KeyIssued` is in the wallet's own history.
async fn announced(
    conn: &Connected,
    holder: Address,
    key_cid: &str,
) -> Result<Option<B256>, medwallet_ledger::LedgerError> {
    let Ok(cid) = key_cid.parse::<Cid>() else {
        return Ok(None);
    };
    let cid = cid.to_bytes();
    let events = conn
        .reads
        .events(&medwallet_ledger::EventFilter::Wallet(conn.me))
        .await?;
    Ok(events.iter().find_map(|e| match &e.event {
        medwallet_ledger::LedgerEvent::KeyIssued {
            authority,
            holder: h,
            key_cid,
            ..
        } if *authority == conn.me && *h == holder && key_cid.as_ref() == cid.as_slice() => {
            Some(e.meta.tx_hash)
        }
        _ => None,
    }))
}
