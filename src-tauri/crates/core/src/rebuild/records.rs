//! The records phase of a rebuild: each version the ledger names, fetched from IPFS and
//! checked exactly as an open checks it (CIDs recomputed, the capsule unwrapped with the
//! owner's `id:` key, the manifest opened under the data key it released), its objects
//! pinned on this wallet's node, and kept; what does not come back is kept as not found.

use std::collections::{HashMap, VecDeque};

use medwallet_abe::UserKey;
use medwallet_ledger::{Address, B256};
use medwallet_records::{capsule, manifest, IpfsNode};
use zeroize::Zeroizing;

use super::plan::{Plan, RecordPlan, VersionPlan};
use super::{cid_text, Job};
use crate::error::{Answer, CoreError, FrontDeskError, Part};
use crate::ipfs::{content_cid, fetch_small, ledger_cid};
use crate::ledger::directory::{self, Reads};
use crate::records::lock;
use crate::session::Owner;
use crate::store::rebuild::Unrecovered;
use crate::store::{local_seal, RecordStore, State, StoredRecord};
use crate::words::rfc3339;

/// Records fetched at once (each is a few small IPFS round trips).
const WORKERS: usize = 4;

/// What one worker needs: its own copy of the owner's key (abe keys are not shared).
struct Worker<'a> {
    key: UserKey,
    local_key: Zeroizing<[u8; 32]>,
    node: &'a IpfsNode,
    store: &'a RecordStore,
    /// The clinics that made records for the owner, checked once each: only a wallet
    /// that published the clinic role is followed (as the pass's adoption does).
    authors: &'a Authors<'a>,
}

/// The role each author of a `RecordUploaded` published, looked up once.
pub(super) struct Authors<'a> {
    reads: &'a Reads,
    known: tokio::sync::Mutex<HashMap<Address, bool>>,
}

impl<'a> Authors<'a> {
    pub(super) fn new(reads: &'a Reads) -> Self {
        Self {
            reads,
            known: Default::default(),
        }
    }

    async fn is_clinic(&self, author: Address) -> Answer<bool> {
        let mut known = self.known.lock().await;
        if let Some(&clinic) = known.get(&author) {
            return Ok(clinic);
        }
        let clinic = directory::is_clinic(self.reads, author).await?;
        known.insert(author, clinic);
        Ok(clinic)
    }
}

/// Brings every record of `plan` back into `store`. Answers the current capsule of each
/// record's latest version that opened, when the owner made it (the sharing phase reads
/// its clauses and groups; a capsule a clinic made is not the owner's word), or `None`
/// when cancelled.
pub(super) async fn bring_back(
    job: &Job,
    store: &RecordStore,
    owner: &Owner,
    node: &IpfsNode,
    plan: &Plan,
    authors: &Authors<'_>,
) -> Answer<Option<HashMap<B256, Vec<u8>>>> {
    let queue: std::sync::Mutex<VecDeque<&RecordPlan>> =
        std::sync::Mutex::new(plan.records.values().collect());
    let capsules: std::sync::Mutex<HashMap<B256, Vec<u8>>> = Default::default();
    let mut workers = Vec::with_capacity(WORKERS);
    for _ in 0..WORKERS.min(plan.records.len()) {
        workers.push(Worker {
            key: owner.own_key()?,
            local_key: owner.local_key.clone(),
            node,
            store,
            authors,
        });
    }
    let mut workers = workers.into_iter();
    let results: [Answer<()>; WORKERS] = {
        let (a, b, c, d) = tokio::join!(
            work(workers.next(), job, &queue, &capsules),
            work(workers.next(), job, &queue, &capsules),
            work(workers.next(), job, &queue, &capsules),
            work(workers.next(), job, &queue, &capsules)
        );
        [a, b, c, d]
    };
    for r in results {
        r?;
    }
    if job.cancelled() {
        return Ok(None);
    }
    Ok(Some(
        capsules.into_inner().unwrap_or_else(|p| p.into_inner()),
    ))
}

/// One worker's loop: records from the queue until it is empty or the job is cancelled.
async fn work(
    worker: Option<Worker<'_>>,
    job: &Job,
    queue: &std::sync::Mutex<VecDeque<&RecordPlan>>,
    capsules: &std::sync::Mutex<HashMap<B256, Vec<u8>>>,
) -> Answer<()> {
    let Some(worker) = worker else {
        return Ok(());
    };
    loop {
        if job.cancelled() {
            return Ok(());
        }
        let Some(record) = lock(queue).pop_front() else {
            return Ok(());
        };
        let (opened, capsule) = worker.record(record).await?;
        if let Some(bytes) = capsule {
            lock(capsules).insert(record.id, bytes);
        }
        job.update(|s| {
            if opened {
                s.records_opened += 1;
            } else {
                s.not_found += 1;
            }
        });
    }
}

impl Worker<'_> {
    /// Brings back every version of a record this device does not hold, oldest first.
    /// Answers whether its latest version is here now, and that version's capsule.
    async fn record(&self, record: &RecordPlan) -> Answer<(bool, Option<Vec<u8>>)> {
        let id = record.id.to_string();
        let latest = record.latest();
        let mut added_at: Option<String> = None;
        let mut latest_capsule = None;
        let mut latest_here = false;
        for v in record.versions.values() {
            if self.store.has_version(&id, v.version).await? {
                if v.version == latest {
                    latest_here = true;
                    latest_capsule = self.current_capsule(&id, v, record).await;
                }
                continue;
            }
            let uploaded_by = record.uploaded_by.map(|a| a.to_string());
            let brought = match record.uploaded_by {
                Some(author) if !self.authors.is_clinic(author).await? => {
                    Err(FrontDeskError::AuthorNotAClinic { author }.into())
                }
                _ => self.version(&id, v, record, added_at.as_deref()).await,
            };
            match brought {
                Ok((row, capsule_bytes, own)) => {
                    added_at.get_or_insert_with(|| row.added_at.clone());
                    self.store
                        .restore_version(&row, uploaded_by.as_deref())
                        .await?;
                    if v.version == latest {
                        latest_here = true;
                        latest_capsule = own.then_some(capsule_bytes);
                    }
                }
                // A node that stopped answering: the whole rebuild waits for it.
                Err(e) if e.node_down() => return Err(e),
                Err(e) => {
                    // Words only (they name CIDs and ids, never a title: none was read).
                    tracing::info!(record = %id, version = v.version, error = e.kind(), "a record version was not brought back");
                    self.store
                        .set_unrecovered(&Unrecovered {
                            record_id: id.clone(),
                            version: v.version,
                            manifest_cid: cid_text(&v.manifest_cid),
                            capsule_cid: v.capsules.last().map(|c| cid_text(c)).unwrap_or_default(),
                            registered_at: rfc3339(
                                i64::try_from(v.registered.block_time).unwrap_or(0),
                            ),
                            ledger_tx: v.registered.tx_hash.to_string(),
                            ledger_block: v.registered.block_number,
                            uploaded_by,
                            reason: crate::words::reason(&e),
                        })
                        .await?;
                }
            }
        }
        Ok((latest_here, latest_capsule))
    }

    /// The current capsule of a version this device already holds (for its clauses), if
    /// the owner made it.
    async fn current_capsule(
        &self,
        id: &str,
        v: &VersionPlan,
        record: &RecordPlan,
    ) -> Option<Vec<u8>> {
        if !owners(record, v, v.capsules.len() - 1) {
            return None;
        }
        let cid = ledger_cid(v.capsules.last()?).ok()?;
        let bytes = fetch_small(self.node, &cid, Part::Capsule).await.ok()?;
        capsule::inspect(&bytes)
            .ok()
            .filter(|i| i.record_id == id && i.version == v.version)
            .map(|_| bytes)
    }

    /// Fetches and checks one version: the newest capsule the ledger names for it that
    /// opens with the owner's key, then the manifest under its data key; pins the three
    /// objects on this wallet's node.
    async fn version(
        &self,
        id: &str,
        v: &VersionPlan,
        record: &RecordPlan,
        added_at: Option<&str>,
    ) -> Answer<(StoredRecord, Vec<u8>, bool)> {
        let mut first_error = None;
        let mut opened = None;
        for (index, cid_bytes) in v.capsules.iter().enumerate().rev() {
            let attempt = async {
                let cid = ledger_cid(cid_bytes)?;
                let bytes = fetch_small(self.node, &cid, Part::Capsule).await?;
                let dek = capsule::unwrap(&self.key, &bytes, id, v.version)
                    .map_err(CoreError::capsule)?;
                Ok::<_, CoreError>((cid, bytes, dek))
            };
            match attempt.await {
                Ok(found) => {
                    opened = Some((found, owners(record, v, index)));
                    break;
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        let Some(((capsule_cid, capsule_bytes, dek), own)) = opened else {
            return Err(first_error.unwrap_or_else(|| {
                CoreError::internal("a record version", "no capsule on the ledger")
            }));
        };
        let manifest_cid = ledger_cid(&v.manifest_cid)?;
        let manifest_bytes = fetch_small(self.node, &manifest_cid, Part::Manifest).await?;
        let m =
            manifest::open(&dek, &manifest_bytes, id, v.version).map_err(CoreError::manifest)?;
        let content_cid = content_cid(&m.content_cid, Part::Manifest)?;
        // Kept on this wallet's node: the content last, as it is the one that may be gone.
        for cid in [&manifest_cid, &capsule_cid, &content_cid] {
            self.node.pin(cid).await?;
        }
        let added_at = match (added_at, record.uploaded_by) {
            (Some(first), _) => first.to_owned(),
            // A record a clinic made joins the list when it was registered, as an
            // adoption does.
            (None, Some(_)) => rfc3339(i64::try_from(v.registered.block_time).unwrap_or(0)),
            (None, None) => m.created_at.clone(),
        };
        let row = StoredRecord {
            record_id: id.to_owned(),
            version: v.version,
            sealed_dek: local_seal::seal(&self.local_key, id, v.version, &dek)
                .map_err(|e| CoreError::internal("sealing the data key", e))?,
            manifest: manifest_bytes,
            content_cid: m.content_cid,
            manifest_cid: manifest_cid.to_string(),
            capsule_cid: capsule_cid.to_string(),
            state: State::OnIpfs,
            problem: None,
            added_at,
            ledger: Some((v.registered.tx_hash.to_string(), v.registered.block_number)),
            ledger_problem: None,
        };
        Ok((row, capsule_bytes, own))
    }
}

/// Whether the `index`-th capsule the ledger names for a version is the owner's: all are,
/// but the first of a record a clinic registered for the owner (the clinic made it).
fn owners(record: &RecordPlan, v: &VersionPlan, index: usize) -> bool {
    record.uploaded_by.is_none() || v.version > 1 || index > 0
}
