//! The doctor's side: records shared with this wallet, found on the ledger.
//!
//! From the wallet's own events: `KeyIssued` to it (the keys, on IPFS, sealed to it with
//! HPKE) and `AccessGranted`/`AccessRevoked` naming it. For each record still granted,
//! the record's own events give its latest version (manifest CID) and its current capsule
//! (the last one any registration, grant or revocation named). The capsule opens with
//! the key the record's owner issued; the manifest then gives the title.
//!
//! Opening writes `logAccess` to the ledger *before* anything is decrypted; the contract
//! refuses a revoked or expired grant, and this wallet refuses an expired one before
//! asking.

use std::collections::HashMap;

use medwallet_abe::{DataKey, UserKey};
use medwallet_api::{
    Category, ContentKind, LedgerMark, OpenedRecord, RecordStatus, RecordSummary, RecordView,
    SharedInbox, SharedRecord, UserError, Verification,
};
use medwallet_ledger::{Address, EventFilter, LedgerError, LedgerEvent, LedgerNode, Revert, B256};
use medwallet_records::cid::{cid_of, Cid};
use medwallet_records::issued_key::{IssuedKey, HPKE_INFO};
use medwallet_records::{capsule, manifest, stream, IpfsNode};
use url::Url;

use super::super::{
    decrypt_file, errors, internal, node_error, stream_error, Answer, LedgerTarget, Owner,
    RecordService, SharedBuffer, Sink, MAX_SMALL_OBJECT, MAX_VIEW_SIZE,
};
use super::{chain_time, directory, now_unix, rfc3339};

/// A person grant to this wallet, as the ledger has it.
#[derive(Debug, Clone)]
struct Share {
    record_id: B256,
    owner: Address,
    shared_at: u64,
    expiry: u64,
}

impl Share {
    fn expired(&self, now: i64) -> bool {
        self.expiry != 0 && i64::try_from(self.expiry).unwrap_or(i64::MAX) <= now
    }
}

/// A shared record, resolved and decrypted up to its manifest.
struct Resolved {
    share: Share,
    version: u32,
    manifest: manifest::Manifest,
    manifest_cid: String,
    capsule_cid: String,
    dek: DataKey,
    registered: (String, u64),
}

/// What the wallet's own events say: keys by issuing authority, live grants by record.
struct Found {
    keys: HashMap<Address, Vec<u8>>,
    shares: Vec<Share>,
}

async fn find(node: &LedgerNode, contract: Address, me: Address) -> Result<Found, LedgerError> {
    let events = directory::events(node, contract, &EventFilter::Wallet(me)).await?;
    let mut keys = HashMap::new();
    let mut shares: HashMap<B256, Option<Share>> = HashMap::new();
    let mut order = Vec::new();
    for e in &events {
        match &e.event {
            LedgerEvent::KeyIssued {
                authority,
                holder,
                key_cid,
            } if *holder == me => {
                keys.insert(*authority, key_cid.to_vec());
            }
            LedgerEvent::AccessGranted {
                record_id,
                owner,
                grantee,
                clause_hash,
                expiry,
                ..
            } if *grantee == me && *clause_hash == B256::ZERO => {
                if !shares.contains_key(record_id) {
                    order.push(*record_id);
                }
                shares.insert(
                    *record_id,
                    Some(Share {
                        record_id: *record_id,
                        owner: *owner,
                        shared_at: e.meta.block_time,
                        expiry: *expiry,
                    }),
                );
            }
            LedgerEvent::AccessRevoked {
                record_id,
                grantee,
                clause_hash,
                ..
            } if *grantee == me && *clause_hash == B256::ZERO => {
                shares.insert(*record_id, None);
            }
            _ => {}
        }
    }
    let mut live: Vec<Share> = order
        .into_iter()
        .filter_map(|id| shares.remove(&id).flatten())
        .collect();
    live.sort_by_key(|s| std::cmp::Reverse(s.shared_at));
    Ok(Found { keys, shares: live })
}

fn ledger_error(e: &LedgerError) -> UserError {
    UserError::new(
        directory::words(e),
        "Check the ledger node in Settings; shared records are read from it.",
    )
}

impl RecordService {
    /// The records others shared with this wallet. Expired grants are listed (marked) so
    /// the doctor sees why they no longer open.
    pub async fn list_shared(
        &self,
        owner: &Owner,
        ipfs: &Url,
        ledger: &LedgerTarget,
    ) -> Answer<SharedInbox> {
        let conn = directory::connect(owner, ledger).await.map_err(|f| {
            UserError::new(
                f.reason,
                "Shared records are read from the ledger; check it in Settings.",
            )
        })?;
        // Publishing this wallet's keys is what lets patients share with it.
        if let Ok(store) = self.store(&owner.wallet_id).await {
            let _ = directory::publish_self(&store, owner, ipfs, &conn).await;
        }
        let found = find(&conn.node, conn.contract, conn.me)
            .await
            .map_err(|e| ledger_error(&e))?;
        let node = IpfsNode::new(ipfs).map_err(|e| node_error(&e))?;
        let mut keys = HashMap::new();
        let now = now_unix().max(chain_time(&conn.node).await);
        let mut inbox = SharedInbox {
            records: Vec::new(),
            problems: Vec::new(),
        };
        for share in &found.shares {
            match self
                .resolve(
                    owner,
                    &node,
                    &conn.node,
                    conn.contract,
                    &found,
                    &mut keys,
                    share,
                )
                .await
            {
                Ok(r) => inbox.records.push(SharedRecord {
                    record_id: r.share.record_id.to_string(),
                    version: r.version,
                    owner: r.share.owner.to_string(),
                    title: r.manifest.title.clone(),
                    category: Category::parse(&r.manifest.category).unwrap_or(Category::Other),
                    date: r.manifest.date.clone(),
                    author: r.manifest.author.clone(),
                    file_name: r.manifest.file_name.clone(),
                    kind: kind_of(&r.manifest),
                    size: r.manifest.size,
                    shared_at: rfc3339(i64::try_from(r.share.shared_at).unwrap_or(0)),
                    expires_at: (r.share.expiry != 0)
                        .then(|| rfc3339(i64::try_from(r.share.expiry).unwrap_or(i64::MAX))),
                    expired: r.share.expired(now),
                }),
                Err(e) => inbox.problems.push(format!(
                    "A record shared by {} could not be read: {}",
                    share.owner, e.message
                )),
            }
        }
        Ok(inbox)
    }

    /// Logs the access on the ledger, then fetches, verifies and decrypts a shared record.
    pub async fn open_shared(
        &self,
        owner: &Owner,
        ipfs: &Url,
        ledger: &LedgerTarget,
        record_id: &str,
    ) -> Answer<OpenedRecord> {
        let conn = directory::connect(owner, ledger).await.map_err(|f| {
            UserError::new(
                f.reason,
                "A shared record opens only once its opening is logged on the ledger.",
            )
        })?;
        let found = find(&conn.node, conn.contract, conn.me)
            .await
            .map_err(|e| ledger_error(&e))?;
        let wanted: B256 = record_id.parse().map_err(|_| {
            UserError::new(
                format!("{record_id} is not a record id."),
                "Pick the record again from the list.",
            )
        })?;
        let share = found
            .shares
            .iter()
            .find(|s| s.record_id == wanted)
            .ok_or_else(|| {
                UserError::new(
                    "This record is not shared with this wallet (or access was revoked).",
                    "Ask the patient to share it again.",
                )
            })?;
        if share.expired(now_unix().max(chain_time(&conn.node).await)) {
            return Err(UserError::new(
                format!(
                    "Access to this record expired on {}.",
                    rfc3339(i64::try_from(share.expiry).unwrap_or(i64::MAX))
                ),
                "Ask the patient to share it again.",
            ));
        }
        let node = IpfsNode::new(ipfs).map_err(|e| node_error(&e))?;
        let mut keys = HashMap::new();
        let r = self
            .resolve(
                owner,
                &node,
                &conn.node,
                conn.contract,
                &found,
                &mut keys,
                share,
            )
            .await?;

        // The access is on the ledger before anything is decrypted.
        conn.client
            .log_access(wanted, r.version)
            .await
            .map_err(|e| match &e {
                LedgerError::Reverted {
                    reason: Revert::GrantExpired { .. } | Revert::NotGrantee { .. },
                    ..
                } => UserError::new(
                    format!("The ledger refused to log this opening: {}", directory::words(&e)),
                    "Access was revoked or has expired; ask the patient to share it again.",
                ),
                _ => UserError::new(
                    directory::words(&e),
                    "The record opens only once the opening is logged; try again when the ledger answers.",
                ),
            })?;

        let expected: Cid = r
            .manifest
            .content_cid
            .parse()
            .map_err(|e| errors::altered("manifest", &format!("content CID: {e}")))?;
        let store = self.store(&owner.wallet_id).await?;
        let temp = store.temp_path(&format!("{record_id}-v{}.shared", r.version));
        let file = std::fs::File::create(&temp).map_err(|e| errors::disk_error(&temp, &e))?;
        if let Err(e) = node
            .cat_to(&expected, file, stream::ciphertext_len(r.manifest.size))
            .await
        {
            let _ = std::fs::remove_file(&temp);
            return Err(node_error(&e));
        }
        let show = r.manifest.size <= MAX_VIEW_SIZE;
        let decrypted =
            decrypt_file(&r.dek, temp.clone(), Sink::Memory, show, r.manifest.size).await;
        let _ = std::fs::remove_file(&temp);
        let (result, memory) = decrypted?;
        let decrypted = result.map_err(|e| stream_error(e, "content"))?;
        if decrypted.cid != expected || decrypted.plaintext_len != r.manifest.size {
            return Err(errors::altered(
                "content",
                "its bytes do not match what the record's manifest names",
            ));
        }
        let kind = kind_of(&r.manifest);
        let view = if show {
            let mime = r.manifest.mime_type.clone();
            tokio::task::spawn_blocking(move || medwallet_preview::render(&memory, kind, &mime))
                .await
                .map_err(|e| internal("rendering the record", e))?
        } else {
            RecordView::SaveOnly {
                reason: format!(
                    "It is larger than {} MiB to show here.",
                    MAX_VIEW_SIZE >> 20
                ),
            }
        };
        Ok(OpenedRecord {
            record: RecordSummary {
                id: record_id.to_owned(),
                version: r.version,
                title: r.manifest.title.clone(),
                category: Category::parse(&r.manifest.category).unwrap_or(Category::Other),
                date: r.manifest.date.clone(),
                author: r.manifest.author.clone(),
                file_name: r.manifest.file_name.clone(),
                mime_type: r.manifest.mime_type.clone(),
                kind,
                size: r.manifest.size,
                status: RecordStatus::OnIpfs,
                content_cid: r.manifest.content_cid.clone(),
                added_at: r.manifest.created_at.clone(),
                ledger: LedgerMark::Registered {
                    block_number: r.registered.1,
                    tx_hash: r.registered.0.clone(),
                },
            },
            verification: Verification {
                content_cid: r.manifest.content_cid.clone(),
                manifest_cid: r.manifest_cid,
                capsule_cid: r.capsule_cid,
                chunks: decrypted.chunks,
                source: "ipfs".to_owned(),
            },
            view,
        })
    }

    /// Finds a shared record's latest version and current capsule on the ledger, opens
    /// the capsule with the key its owner issued, and the manifest with the data key.
    #[allow(clippy::too_many_arguments)]
    async fn resolve(
        &self,
        owner: &Owner,
        node: &IpfsNode,
        ledger: &LedgerNode,
        contract: Address,
        found: &Found,
        keys: &mut HashMap<Address, UserKey>,
        share: &Share,
    ) -> Answer<Resolved> {
        let events = directory::events(ledger, contract, &EventFilter::Record(share.record_id))
            .await
            .map_err(|e| ledger_error(&e))?;
        let mut latest: Option<(u32, Vec<u8>, (String, u64))> = None;
        let mut capsule_cid: Option<Vec<u8>> = None;
        for e in &events {
            match &e.event {
                LedgerEvent::RecordRegistered {
                    owner: o,
                    version,
                    manifest_cid,
                    capsule_cid: c,
                    ..
                }
                | LedgerEvent::RecordUpdated {
                    owner: o,
                    version,
                    manifest_cid,
                    capsule_cid: c,
                    ..
                } if *o == share.owner => {
                    latest = Some((
                        *version,
                        manifest_cid.to_vec(),
                        (e.meta.tx_hash.to_string(), e.meta.block_number),
                    ));
                    capsule_cid = Some(c.to_vec());
                }
                LedgerEvent::AccessGranted {
                    owner: o,
                    capsule_cid: c,
                    ..
                } if *o == share.owner => capsule_cid = Some(c.to_vec()),
                LedgerEvent::AccessRevoked {
                    owner: o,
                    new_capsule_cid: c,
                    ..
                } if *o == share.owner => capsule_cid = Some(c.to_vec()),
                _ => {}
            }
        }
        let (Some((version, manifest_cid, registered)), Some(capsule_cid)) = (latest, capsule_cid)
        else {
            return Err(UserError::new(
                "The ledger has no registration of this record by the patient who shared it.",
                "Ask the patient to check the record in their wallet.",
            ));
        };
        let cid = |bytes: &[u8]| {
            Cid::from_bytes(bytes)
                .map_err(|e| errors::altered("ledger entry", &format!("a CID: {e}")))
        };
        let (manifest_cid, capsule_cid) = (cid(&manifest_cid)?, cid(&capsule_cid)?);

        if let std::collections::hash_map::Entry::Vacant(slot) = keys.entry(share.owner) {
            let key_cid = found.keys.get(&share.owner).ok_or_else(|| {
                UserError::new(
                    format!(
                        "{} shared a record but issued no key to this wallet.",
                        share.owner
                    ),
                    "Ask the patient to share it again; the key is issued with the share.",
                )
            })?;
            let key = self
                .open_issued_key(owner, node, key_cid, share.owner)
                .await?;
            slot.insert(key);
        }
        let key = keys
            .get(&share.owner)
            .ok_or_else(|| internal("the issued key", "missing"))?;
        let record_id = share.record_id.to_string();
        let capsule_bytes = fetch_small(node, &capsule_cid, "capsule").await?;
        let dek = capsule::unwrap(key, &capsule_bytes, &record_id, version)
            .map_err(errors::capsule_error)?;
        let manifest_bytes = fetch_small(node, &manifest_cid, "manifest").await?;
        let manifest = manifest::open(&dek, &manifest_bytes, &record_id, version)
            .map_err(errors::manifest_error)?;
        Ok(Resolved {
            share: share.clone(),
            version,
            manifest,
            manifest_cid: manifest_cid.to_string(),
            capsule_cid: capsule_cid.to_string(),
            dek,
            registered,
        })
    }

    /// Fetches and opens a key an authority issued to this wallet.
    async fn open_issued_key(
        &self,
        owner: &Owner,
        node: &IpfsNode,
        key_cid: &[u8],
        authority: Address,
    ) -> Answer<UserKey> {
        let cid = Cid::from_bytes(key_cid)
            .map_err(|e| errors::altered("ledger entry", &format!("a key CID: {e}")))?;
        let bytes = fetch_small(node, &cid, "issued key").await?;
        let damaged = |why: &str| {
            UserError::new(
                format!("The key {authority} issued to this wallet cannot be used: {why}."),
                "Ask that person to share again (a new key is issued).",
            )
        };
        let envelope = IssuedKey::from_bytes(&bytes).map_err(|e| damaged(&e.to_string()))?;
        let me: Address = owner
            .address
            .parse()
            .map_err(|_| internal("the wallet's address", &owner.address))?;
        if envelope.authority != authority.0 .0 || envelope.holder != me.0 .0 {
            return Err(damaged("it names another issuer or holder"));
        }
        let plain = medwallet_vault::hpke_open(
            &owner.hpke_secret,
            &envelope.encapped_key,
            &envelope.ciphertext,
            HPKE_INFO,
            &envelope.aad(),
        )
        .map_err(|_| damaged("it does not open with this wallet's key"))?;
        UserKey::from_bytes(&plain).map_err(|e| damaged(&e.to_string()))
    }
}

/// Fetches a small object from IPFS and checks its CID.
async fn fetch_small(node: &IpfsNode, cid: &Cid, what: &str) -> Answer<Vec<u8>> {
    let buffer = SharedBuffer::default();
    node.cat_to(cid, buffer.clone(), MAX_SMALL_OBJECT)
        .await
        .map_err(|e| node_error(&e))?;
    let bytes = buffer.take();
    let got = cid_of(&bytes);
    if &got != cid {
        return Err(errors::altered(
            what,
            &format!("its bytes hash to {got}, not to {cid}"),
        ));
    }
    Ok(bytes)
}

fn kind_of(m: &manifest::Manifest) -> ContentKind {
    serde_json::from_value(serde_json::Value::String(m.kind.clone())).unwrap_or(ContentKind::Other)
}
