//! The outbox's `register` step: a record version that is on IPFS is registered on the
//! ledger (`registerRecord` for version 1, `updateRecord` after), signed by the owner's
//! ledger key, with zero fees.
//!
//! The step is idempotent: when the contract refuses because the record (or version) is
//! already there, the ledger's events for the record are read, and if they show this
//! owner's registration of this version, that is the result (a transaction that was
//! mined while the app missed its receipt is found again, never sent twice).

use medwallet_ledger::{Address, LedgerError, LedgerEvent, B256};
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
