//! The sharing phase of a rebuild: what the wallet's authority published and issued, its
//! groups or staff, and its grants, read back from the ledger's events, the issued keys'
//! notes and the records' capsules. Nothing is sent: a clinic's epoch is the newest it
//! published, never its first again.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use medwallet_abe::Policy;
use medwallet_ledger::{Address, Bytes, B256};
use medwallet_records::cid::cid_of;
use medwallet_records::issued_key::{IssuedKey, IssuerNote, NOTE_HPKE_INFO};
use medwallet_records::{capsule, IpfsNode};

use super::plan::{clause_candidates, KeyPlan, Plan};
use super::{cid_text, Job};
use crate::error::{Answer, CoreError, Part, RebuildError};
use crate::ipfs::{fetch_small, ledger_cid};
use crate::ledger::directory::{self, Reads};
use crate::session::Owner;
use crate::sharing::grant::{clause_hash, parse_clause};
use crate::store::grants::Issued;
use crate::store::rebuild::{RestoredGrant, RestoredMember};
use crate::store::RecordStore;
use crate::words::rfc3339;

/// What the sharing phase brought back.
pub(super) struct Rebuilt {
    /// Grants inserted (active and revoked).
    pub restored: u32,
    /// The first thing that could not be brought back (the rest of the phase ran).
    pub problem: Option<CoreError>,
}

/// A key the wallet issued, with what its note says.
struct NotedKey<'a> {
    key: &'a KeyPlan,
    note: IssuerNote,
}

fn unix(t: u64) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX)
}

/// Most epochs of an authority looked for when matching its published parameters.
const MAX_EPOCH: u32 = 256;

/// Rebuilds the sharing of `owner` from `plan`; `capsules` holds the current capsule of
/// each record's latest version that the owner made. `None` when cancelled.
#[allow(clippy::too_many_arguments)]
pub(super) async fn rebuild(
    job: &Job,
    store: &RecordStore,
    owner: &Owner,
    ipfs_node: &IpfsNode,
    reads: &Reads,
    plan: &Plan,
    capsules: &HashMap<B256, Vec<u8>>,
) -> Answer<Option<Rebuilt>> {
    let contract_text = reads.contract.to_string();
    let me: Address = owner
        .address
        .parse()
        .map_err(|e| CoreError::internal("the wallet's address", e))?;
    let mut out = Rebuilt {
        restored: 0,
        problem: None,
    };

    // What this wallet published: its identity, and its authority at the epoch the
    // newest parameters are of.
    if let Some(identity) = &plan.identity {
        if store.published(&contract_text, "identity").await?.is_none() {
            store
                .set_published(&contract_text, "identity", &identity.tx_hash.to_string())
                .await?;
        }
    }
    // The epoch the ledger shows. This device may be ahead (a staff key revoked here and
    // its new parameters not sent yet): then nothing is marked published or issued for
    // the ledger's epoch, and the pass sends the newer one.
    let (epoch, current) = match plan.authority.last() {
        Some((cid, meta)) if owner.authority_seed.is_some() => {
            let epoch = epoch_of(owner, cid)?;
            store.restore_authority_epoch(epoch).await?;
            let local = store.authority_epoch().await?;
            if local == epoch
                && store
                    .published(&contract_text, "authority")
                    .await?
                    .is_none()
            {
                store
                    .set_published(&contract_text, "authority", &meta.tx_hash.to_string())
                    .await?;
            }
            (epoch, local == epoch)
        }
        _ => (1, true),
    };

    // The keys it issued, each with its note (a key issued before notes has none: its
    // holder is known, what it holds is not, and the pass issues it again if needed).
    let mut noted: BTreeMap<Address, Vec<NotedKey<'_>>> = BTreeMap::new();
    for (holder, keys) in plan.keys_by_holder() {
        for key in keys {
            if job.cancelled() {
                return Ok(None);
            }
            match read_note(ipfs_node, owner, me, key).await {
                Ok(Some(note)) => noted
                    .entry(holder)
                    .or_default()
                    .push(NotedKey { key, note }),
                Ok(None) => {}
                Err(e) => {
                    tracing::info!(holder = %holder, error = e.kind(), "an issued key's note was not read");
                }
            }
        }
    }
    for (holder, keys) in &noted {
        let Some(latest) = keys.last() else { continue };
        if current
            && latest.note.epoch == epoch
            && store
                .issued_key(&contract_text, &holder.to_string())
                .await?
                .is_none()
        {
            store
                .set_issued_key(
                    &contract_text,
                    &holder.to_string(),
                    &Issued {
                        attributes: latest.note.attributes.clone(),
                        key_cid: cid_text(&latest.key.key_cid),
                        tx: Some(latest.key.issued.tx_hash.to_string()),
                    },
                )
                .await?;
        }
    }

    match owner.role {
        medwallet_vault::Role::Clinic => staff(store, plan, &noted, epoch).await?,
        medwallet_vault::Role::Patient => groups(store, owner, &noted, capsules).await?,
        // A doctor has no authority: nothing issued, no group.
        medwallet_vault::Role::Doctor => {}
    }

    // Grants, each with its clause read back from a capsule whose hash the ledger names.
    let groups: Vec<String> = store.groups().await?.into_iter().map(|g| g.name).collect();
    let mut fetched: HashMap<Bytes, Option<Vec<u8>>> = HashMap::new();
    let mut clinics: BTreeSet<Address> = BTreeSet::new();
    for g in &plan.grants {
        if job.cancelled() {
            return Ok(None);
        }
        let clause = if g.clause_hash.is_zero() {
            None
        } else if g.grantee == me {
            groups
                .iter()
                .find(|name| clause_hash(name) == g.clause_hash)
                .cloned()
        } else {
            let mut sources: Vec<Vec<u8>> =
                capsules.get(&g.record_id).cloned().into_iter().collect();
            if !fetched.contains_key(&g.capsule_cid) {
                let bytes = match ledger_cid(&g.capsule_cid) {
                    Ok(cid) => fetch_small(ipfs_node, &cid, Part::Capsule).await.ok(),
                    Err(_) => None,
                };
                fetched.insert(g.capsule_cid.clone(), bytes);
            }
            sources.extend(fetched.get(&g.capsule_cid).cloned().flatten());
            let found = sources
                .iter()
                .find_map(|bytes| clause_in(bytes, g.clause_hash));
            if found.is_some() && g.revoked.is_none() {
                clinics.insert(g.grantee);
            }
            found
        };
        if clause.is_none() && !g.clause_hash.is_zero() {
            // Not made up: a grant whose clause is in no capsule left is not listed.
            if g.revoked.is_none() {
                let record_id = g.record_id.to_string();
                out.problem.get_or_insert(if g.grantee == me {
                    RebuildError::GroupNotFound { record_id }.into()
                } else {
                    RebuildError::ClauseNotFound {
                        record_id,
                        clinic: g.grantee,
                    }
                    .into()
                });
            }
            continue;
        }
        let restored = store
            .restore_grant(&RestoredGrant {
                record_id: g.record_id.to_string(),
                grantee: g.grantee.to_string(),
                clause,
                expires_at: (g.expiry != 0).then(|| unix(g.expiry)),
                requested_at: rfc3339(unix(g.granted.block_time)),
                grant_tx: g.granted.tx_hash.to_string(),
                revoked: g
                    .revoked
                    .map(|(meta, version)| (version, meta.tx_hash.to_string())),
            })
            .await?;
        if restored {
            out.restored += 1;
        }
    }

    // The parameters of the clinics with open role grants: the newest they published.
    // A record whose capsule was wrapped for an older epoch of theirs is re-encrypted
    // by the pass (as it would have been on the lost device).
    for clinic in clinics {
        let params = match directory::authority_params(reads, ipfs_node.url(), clinic).await {
            Ok(Some(params)) => params,
            Ok(None) => continue,
            Err(f) => {
                // Read again when a grant to the clinic is sent or revoked.
                out.problem.get_or_insert(f.error);
                continue;
            }
        };
        let current = medwallet_abe::PublicParams::from_bytes(&params)
            .map_err(|e| CoreError::internal("a clinic's parameters", e))?
            .authority_id();
        let stale = plan.grants.iter().any(|g| {
            g.grantee == clinic
                && g.revoked.is_none()
                && capsules.get(&g.record_id).is_some_and(|bytes| {
                    capsule::inspect(bytes).is_ok_and(|i| !i.authorities.contains(&current))
                })
        });
        if stale {
            store
                .rotate_clinic(
                    &contract_text,
                    &clinic.to_string(),
                    &params,
                    &rfc3339(crate::ledger::now_unix()),
                )
                .await?;
        } else if store
            .authority_params(&contract_text, &clinic.to_string())
            .await?
            .is_none()
        {
            store
                .set_authority_params(&contract_text, &clinic.to_string(), &params)
                .await?;
        }
    }
    Ok(Some(out))
}

/// The epoch whose parameters (derived from the seed) have the CID published last. An
/// epoch may have moved on more than once between two publications (revocations while
/// the node was down), so every epoch up to [`MAX_EPOCH`] is tried, from the first.
fn epoch_of(owner: &Owner, cid: &Bytes) -> Answer<u32> {
    let wanted = ledger_cid(cid).ok();
    for epoch in 1..=MAX_EPOCH {
        let params = owner.authority_at(epoch)?.public_params().to_bytes();
        if Some(cid_of(&params)) == wanted {
            return Ok(epoch);
        }
    }
    Err(RebuildError::ParametersNotOurs {
        epochs_tried: MAX_EPOCH,
    }
    .into())
}

/// The note of a key this wallet issued, opened with its own HPKE key; `None` for an
/// envelope written before notes.
async fn read_note(
    node: &IpfsNode,
    owner: &Owner,
    me: Address,
    key: &KeyPlan,
) -> Answer<Option<IssuerNote>> {
    let cid = ledger_cid(&key.key_cid)?;
    let bytes = fetch_small(node, &cid, Part::IssuedKey).await?;
    let envelope = IssuedKey::from_bytes(&bytes)
        .map_err(|e| CoreError::internal("an issued key's envelope", e))?;
    if envelope.holder != key.holder.0 .0 || envelope.authority != me.0 .0 {
        return Err(CoreError::internal(
            "an issued key's envelope",
            "another holder or authority",
        ));
    }
    let Some(sealed) = &envelope.note else {
        return Ok(None);
    };
    let plain = medwallet_vault::hpke_open(
        &owner.hpke_secret,
        &sealed.encapped_key,
        &sealed.ciphertext,
        NOTE_HPKE_INFO,
        &envelope.aad(),
    )
    .map_err(CoreError::Vault)?;
    IssuerNote::from_bytes(&plain)
        .map(Some)
        .map_err(|e| CoreError::internal("an issued key's note", e))
}

/// A clause of a clinic part of `bytes` whose hash is `wanted`.
fn clause_in(bytes: &[u8], wanted: B256) -> Option<String> {
    let parts = capsule::part_policies(bytes).ok()?;
    // The first part is the owner's (its people and groups); the clinics' follow.
    parts.iter().skip(1).find_map(|(_, policy)| {
        clause_candidates(policy).into_iter().find_map(|candidate| {
            let (canonical, _) = parse_clause(&candidate).ok()?;
            (clause_hash(&canonical) == wanted).then_some(canonical)
        })
    })
}

/// A clinic's staff from its keys' notes: active if the latest key is of the current
/// epoch, else revoked when the authority next moved on.
async fn staff(
    store: &RecordStore,
    plan: &Plan,
    noted: &BTreeMap<Address, Vec<NotedKey<'_>>>,
    epoch: u32,
) -> Answer<()> {
    for (holder, keys) in noted {
        let Some(latest) = keys.last() else { continue };
        let active = latest.note.epoch == epoch;
        let revoked_at = (!active).then(|| {
            plan.authority
                .iter()
                .find(|(_, m)| m.block_number > latest.key.issued.block_number)
                .map_or(unix(latest.key.issued.block_time), |(_, m)| {
                    unix(m.block_time)
                })
        });
        store
            .restore_staff(
                &holder.to_string(),
                &latest.note.attributes,
                active,
                unix(latest.key.issued.block_time),
                revoked_at,
            )
            .await?;
    }
    Ok(())
}

/// A patient's groups: their names and epochs from the keys' notes and the policies of
/// the capsules the owner made (never a clinic's), their members from the notes (a member's latest key holds the group's
/// current attribute; one that held an earlier one was removed).
async fn groups(
    store: &RecordStore,
    owner: &Owner,
    noted: &BTreeMap<Address, Vec<NotedKey<'_>>>,
    capsules: &HashMap<B256, Vec<u8>>,
) -> Answer<()> {
    let mut epochs: BTreeMap<String, u32> = BTreeMap::new();
    let mut see = |attribute: &str| {
        if let Some((name, epoch)) = attribute.rsplit_once('#') {
            if let Ok(epoch) = epoch.parse::<u32>() {
                let e = epochs.entry(name.to_owned()).or_insert(epoch);
                *e = (*e).max(epoch);
            }
        }
    };
    for keys in noted.values() {
        for k in keys {
            k.note.attributes.iter().for_each(|a| see(a));
        }
    }
    let own = owner.authority()?.public_params().authority_id();
    for bytes in capsules.values() {
        for (authority, policy) in capsule::part_policies(bytes).unwrap_or_default() {
            if authority == own {
                if let Ok(p) = Policy::parse(&policy) {
                    p.attributes().for_each(&mut see);
                }
            }
        }
    }
    for (name, epoch) in epochs {
        let held = |k: &NotedKey<'_>| -> Option<u32> {
            k.note.attributes.iter().find_map(|a| {
                a.rsplit_once('#')
                    .filter(|(n, _)| *n == name)
                    .and_then(|(_, e)| e.parse().ok())
            })
        };
        let mut members = Vec::new();
        for (holder, keys) in noted {
            let Some(first) = keys.iter().find(|k| held(k).is_some()) else {
                continue;
            };
            let active = keys.last().and_then(&held) == Some(epoch);
            // Removed when the group moved past the last epoch they held: the first key
            // anyone got for the next one.
            let removed_at = (!active).then(|| {
                let last = keys.iter().filter_map(&held).max().unwrap_or(1);
                noted
                    .values()
                    .flatten()
                    .filter(|k| held(k).is_some_and(|e| e > last))
                    .map(|k| unix(k.key.issued.block_time))
                    .min()
                    .unwrap_or(unix(first.key.issued.block_time))
            });
            members.push(RestoredMember {
                member: holder.to_string(),
                active,
                joined_at: unix(first.key.issued.block_time),
                removed_at,
            });
        }
        store.restore_group(&name, epoch, &members).await?;
    }
    Ok(())
}
