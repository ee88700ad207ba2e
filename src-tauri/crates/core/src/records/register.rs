//! The outbox's `register` step: a record version that is on IPFS is registered on the
//! ledger (`registerRecord` for version 1, `updateRecord` after), signed by the owner's
//! ledger key, with zero fees.
//!
//! The step is idempotent: when the contract refuses because the record (or version) is
//! already there, the ledger's events for the record are read, and if they show this
//! owner's registration of this version, that is the result (a transaction that was
//! mined while the app missed its receipt is found again, never sent twice).
//!
//! The outbox sends what is due together ([`register_many`]): every version 1 in as few
//! `registerRecords` transactions as fit in a block, every later version in as few
//! `updateRecords`, each item checked against the contract first.

use medwallet_ledger::{
    Address, LedgerError, LedgerEvent, LedgerNode, NewRecord, NewVersion, B256,
};
use medwallet_records::cid::Cid;

use crate::error::{CoreError, RecordsError};
use crate::ledger::reads::Reads;
use crate::ledger::{connect, Connected, EventCaches, LedgerTarget, StepFailure};
use crate::session::Owner;
use crate::store::StoredRecord;

/// Registers one record version; answers (tx hash, block number). Version 1 needs the
/// `nonce` the record's id was made from (`registerRecord` recomputes the id from it and
/// the sender).
pub(crate) async fn register(
    owner: &Owner,
    target: &LedgerTarget,
    row: &StoredRecord,
    nonce: Option<&str>,
    caches: &EventCaches,
) -> Result<(String, u64), StepFailure> {
    let Connected {
        client, me, reads, ..
    } = connect(owner, target, caches).await?;
    let record_id: B256 = row
        .record_id
        .parse()
        .map_err(|_| StepFailure::waiting(RecordsError::StoredIdUnreadable))?;
    let cid_bytes = |cid: &str| {
        Cid::parse(cid)
            .map(|c| c.to_bytes())
            .map_err(|e| StepFailure::waiting(CoreError::StoredCidUnreadable(e)))
    };
    let manifest = cid_bytes(&row.manifest_cid)?;
    let capsule = cid_bytes(&row.capsule_cid)?;
    let sent = if row.version == 1 {
        // A record made before ids were bound to their author has no nonce, and no
        // schema-5 ledger can register its id: named, never sent.
        let nonce: B256 = nonce
            .and_then(|n| n.parse().ok())
            .filter(|n| medwallet_ledger::record_id_of(me, *n) == record_id)
            .ok_or_else(|| StepFailure::waiting(RecordsError::NoRegistrationNonce))?;
        client.register_record(nonce, &manifest, &capsule).await
    } else {
        client.update_record(record_id, &manifest, &capsule).await
    };
    match sent {
        Ok(receipt) => Ok((receipt.tx_hash.to_string(), receipt.block_number)),
        // Refused (e.g. `RecordExists` after a receipt we missed) or not mined in time:
        // the ledger's own events say whether our registration is there.
        Err(e @ (LedgerError::Reverted { .. } | LedgerError::NotMined { .. })) => {
            match find_registration(&reads, record_id, me, row.version).await {
                Ok(Some(found)) => Ok(found),
                Ok(None) => Err(StepFailure::ledger(e)),
                Err(lookup) => {
                    // The send's own failure is the reason shown; the lookup's is logged.
                    tracing::debug!(record = %row.record_id, version = row.version, error = lookup.kind(), "looking up an earlier registration failed");
                    Err(StepFailure::ledger(e))
                }
            }
        }
        Err(e) => Err(StepFailure::ledger(e)),
    }
}

/// This owner's registration of `version` of a record, from the ledger's events.
pub(crate) async fn find_registration(
    reads: &Reads,
    record_id: B256,
    owner: Address,
    version: u32,
) -> Result<Option<(String, u64)>, LedgerError> {
    let events = reads.record(owner, record_id).await?;
    Ok(events.iter().find_map(|e| match &e.event {
        LedgerEvent::RecordRegistered {
            owner: o,
            version: v,
            ..
        }
        | LedgerEvent::RecordUpdated {
            owner: o,
            version: v,
            ..
        } if *o == owner && *v == version => {
            Some((e.meta.tx_hash.to_string(), e.meta.block_number))
        }
        _ => None,
    }))
}

/// One record version the outbox registers in a batch: its row and, for version 1, the
/// nonce its id was made from.
pub(crate) struct Pending {
    pub row: StoredRecord,
    pub nonce: Option<String>,
}

/// Registers many record versions in as few transactions as fit (`registerRecords` for
/// versions 1, `updateRecords` after); answers each one's (tx hash, block number), in
/// order, or why it waits. A connection that cannot be made fails them all (the error).
///
/// Idempotent per item, as [`register`] is: a version the contract already holds (its
/// record's owner, or its version count, says so) is looked up in the record's events and
/// not sent again; one the contract refuses, or whose receipt did not come, is looked up
/// too before its failure counts. Give at most one version per record: `updateRecord`
/// counts versions itself, so a record's next version goes after this one is found.
pub(crate) async fn register_many(
    owner: &Owner,
    target: &LedgerTarget,
    pending: &[Pending],
    caches: &EventCaches,
) -> Result<Vec<Result<(String, u64), StepFailure>>, StepFailure> {
    let Connected {
        node,
        client,
        contract,
        me,
        reads,
    } = connect(owner, target, caches).await?;
    let mut out: Vec<Option<Result<(String, u64), StepFailure>>> =
        (0..pending.len()).map(|_| None).collect();
    // What to send: (index, item), versions 1 and later apart.
    let mut new: Vec<(usize, NewRecord)> = Vec::new();
    let mut next: Vec<(usize, NewVersion)> = Vec::new();
    for (i, p) in pending.iter().enumerate() {
        match plan(&node, &reads, contract, me, p).await {
            Ok(Plan::Found(found)) => out[i] = Some(Ok(found)),
            Ok(Plan::Register(item)) => new.push((i, item)),
            Ok(Plan::Update(item)) => next.push((i, item)),
            Err(failure) => out[i] = Some(Err(failure)),
        }
    }
    let items: Vec<NewRecord> = new.iter().map(|(_, item)| item.clone()).collect();
    let sent_new = client.register_records(&items).await;
    let items: Vec<NewVersion> = next.iter().map(|(_, item)| item.clone()).collect();
    let sent_next = client.update_records(&items).await;
    let sent = new
        .iter()
        .map(|(i, _)| *i)
        .zip(sent_new)
        .chain(next.iter().map(|(i, _)| *i).zip(sent_next));
    for (i, outcome) in sent {
        let row = &pending[i].row;
        out[i] = Some(match outcome {
            Ok(receipt) => Ok((receipt.tx_hash.to_string(), receipt.block_number)),
            Err(e @ (LedgerError::Reverted { .. } | LedgerError::NotMined { .. })) => {
                // As for one registration: the ledger's own events say whether ours is
                // there after all (a receipt missed, or a transaction of a crashed pass).
                match b256_of(row) {
                    Ok(id) => match find_registration(&reads, id, me, row.version).await {
                        Ok(Some(found)) => Ok(found),
                        Ok(None) => Err(StepFailure::ledger(e)),
                        Err(lookup) => {
                            tracing::debug!(record = %row.record_id, version = row.version, error = lookup.kind(), "looking up an earlier registration failed");
                            Err(StepFailure::ledger(e))
                        }
                    },
                    Err(failure) => Err(failure),
                }
            }
            Err(e) => Err(StepFailure::ledger(e)),
        });
    }
    Ok(out
        .into_iter()
        .map(|o| {
            o.unwrap_or_else(|| {
                Err(StepFailure::waiting(CoreError::internal(
                    "a batch of registrations",
                    "an item was neither sent nor found",
                )))
            })
        })
        .collect())
}

/// What to do with one pending version.
enum Plan {
    /// The contract holds it already: where it landed.
    Found((String, u64)),
    /// Send it as a new record.
    Register(NewRecord),
    /// Send it as the record's next version.
    Update(NewVersion),
}

fn b256_of(row: &StoredRecord) -> Result<B256, StepFailure> {
    row.record_id
        .parse()
        .map_err(|_| StepFailure::waiting(RecordsError::StoredIdUnreadable))
}

async fn plan(
    node: &LedgerNode,
    reads: &Reads,
    contract: Address,
    me: Address,
    p: &Pending,
) -> Result<Plan, StepFailure> {
    let row = &p.row;
    let record_id = b256_of(row)?;
    let cid_bytes = |cid: &str| {
        Cid::parse(cid)
            .map(|c| c.to_bytes())
            .map_err(|e| StepFailure::waiting(CoreError::StoredCidUnreadable(e)))
    };
    let manifest_cid = cid_bytes(&row.manifest_cid)?;
    let capsule_cid = cid_bytes(&row.capsule_cid)?;
    let nonce = if row.version == 1 {
        // As for one registration: no nonce, or one that does not make this id, is
        // named and never sent.
        Some(
            p.nonce
                .as_deref()
                .and_then(|n| n.parse::<B256>().ok())
                .filter(|n| medwallet_ledger::record_id_of(me, *n) == record_id)
                .ok_or_else(|| StepFailure::waiting(RecordsError::NoRegistrationNonce))?,
        )
    } else {
        None
    };
    let on_chain = node
        .record_on_chain(contract, record_id)
        .await
        .map_err(StepFailure::ledger)?;
    let there = on_chain.is_some_and(|(o, version)| o == me && version >= row.version);
    if there {
        if let Some(found) = find_registration(reads, record_id, me, row.version)
            .await
            .map_err(StepFailure::ledger)?
        {
            return Ok(Plan::Found(found));
        }
    }
    Ok(match nonce {
        Some(nonce) => Plan::Register(NewRecord {
            nonce,
            manifest_cid,
            capsule_cid,
        }),
        None => Plan::Update(NewVersion {
            record_id,
            manifest_cid,
            capsule_cid,
        }),
    })
}
