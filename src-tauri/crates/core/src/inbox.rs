//! The doctor's side: records shared with this wallet, found on the ledger.
//!
//! From the wallet's own events: `KeyIssued` to it (the keys, on IPFS, sealed to it with
//! HPKE) and `AccessGranted`/`AccessRevoked` naming it; from each issuer's events, the
//! grants to a role under that issuer (a clinic), which open only if this wallet's key
//! holds the role. For each record still granted,
//! the record's own events give its latest version (manifest CID) and its current capsule
//! (the last one any registration, grant or revocation named). The capsule opens with
//! the key the record's owner issued; the manifest then gives the title.
//!
//! Listing decrypts each live grant's manifest for its title (the list is what the
//! doctor chooses from); opening writes `logAccess` to the ledger *before* the content is
//! fetched or decrypted, and the contract refuses a revoked or expired grant (this wallet
//! refuses an expired one before asking, and lists it without decrypting anything).

use std::collections::HashMap;

use medwallet_abe::{DataKey, UserKey};
use medwallet_api::{
    Category, ContentKind, LedgerMark, OpenedRecord, RecordStatus, RecordSummary, RecordView,
    SharedInbox, SharedRecord, Verification,
};
use medwallet_ledger::{Address, EventFilter, LedgerError, LedgerEvent, B256};
use medwallet_records::cid::Cid;
use medwallet_records::issued_key::{IssuedKey, HPKE_INFO};
use medwallet_records::{capsule, manifest, stream, CapsuleError, IpfsNode};
use url::Url;

use crate::error::{
    Alteration, Answer, CidRef, CoreError, InboxError, KeyProblem, Part, Route, Task,
};
use crate::ipfs::fetch_small;
use crate::ledger::directory::{self, Reads};
use crate::ledger::{chain_time, now_unix, rfc3339, LedgerTarget};
use crate::records::pipeline::{decrypt_file, Sink};
use crate::records::{RecordService, MAX_VIEW_SIZE};
use crate::session::Owner;
use crate::sharing::emergency;
use crate::store::{local_seal, remove_file, RecordStore};

/// A grant that reaches this wallet, as the ledger has it: to it as a person, or to a
/// clause under an authority that issued it a key (a role at its clinic).
#[derive(Debug, Clone)]
pub(crate) struct Share {
    pub(crate) record_id: B256,
    pub(crate) owner: Address,
    shared_at: u64,
    expiry: u64,
    /// For a clause grant: the authority and the clause's hash.
    via: Option<(Address, B256)>,
}

impl Share {
    pub(crate) fn expired(&self, now: i64) -> bool {
        self.expiry != 0 && i64::try_from(self.expiry).unwrap_or(i64::MAX) <= now
    }

    /// The authority whose key opens the record's capsule on this route.
    fn key_authority(&self) -> Address {
        self.via.map_or(self.owner, |(authority, _)| authority)
    }

    /// A grant to a clinic's emergency staff (`role:emergency`): opened, it is logged as
    /// an emergency access.
    fn emergency(&self) -> bool {
        self.via
            .is_some_and(|(_, clause)| emergency::is_emergency_hash(clause))
    }

    /// A grant to this wallet itself (not through a role or a group).
    pub(crate) fn is_person(&self) -> bool {
        self.via.is_none()
    }
}

/// Who opens: this wallet (its address and the X25519 key attribute keys are sealed to).
pub(crate) struct Holder<'a> {
    pub address: Address,
    pub hpke_secret: &'a [u8; 32],
}

impl<'a> Holder<'a> {
    pub(crate) fn of(owner: &'a Owner) -> Answer<Holder<'a>> {
        Ok(Holder {
            address: owner
                .address
                .parse()
                .map_err(|_| CoreError::internal("the wallet's address", &owner.address))?,
            hpke_secret: &owner.hpke_secret,
        })
    }
}

/// A shared record, resolved and decrypted up to its manifest.
pub(crate) struct Resolved {
    pub(crate) share: Share,
    pub(crate) version: u32,
    pub(crate) manifest: manifest::Manifest,
    /// The sealed manifest as fetched (kept, with the data key sealed locally, once its
    /// opening is logged: the list then names the record without decrypting anything new).
    manifest_bytes: Vec<u8>,
    manifest_cid: String,
    capsule_cid: String,
    dek: DataKey,
    registered: (String, u64),
    /// The clinic that registered version 1 for the owner (`RecordUploaded`), if one did.
    uploaded_by: Option<Address>,
}

/// A shared record found and its capsule opened (the data key), its manifest not
/// decrypted: what the list needs, before any opening is logged.
pub(crate) struct Located {
    pub(crate) share: Share,
    pub(crate) version: u32,
    manifest_cid: Cid,
    capsule_cid: Cid,
    dek: DataKey,
    registered: (String, u64),
    uploaded_by: Option<Address>,
}

/// What the ledger says reaches this wallet: keys by issuing authority, live grants
/// (person grants first, newest first).
pub(crate) struct Found {
    keys: HashMap<Address, Vec<u8>>,
    pub(crate) shares: Vec<Share>,
}

impl Found {
    /// The routes to one record, person grant first.
    pub(crate) fn routes(&self, record_id: B256) -> impl Iterator<Item = &Share> {
        self.shares.iter().filter(move |s| s.record_id == record_id)
    }
}

/// Live grants among `events` to `grantee` (`None`: person grants to it; `Some`: clause
/// grants to the authority `grantee`), in order; a revocation ends the grant it names.
fn live_grants(
    events: &[medwallet_ledger::LoggedEvent],
    grantee: Address,
    clauses: bool,
) -> Vec<Share> {
    let mut live: Vec<Share> = Vec::new();
    for e in events {
        match &e.event {
            LedgerEvent::AccessGranted {
                record_id,
                owner,
                grantee: g,
                clause_hash,
                expiry,
                ..
            } if *g == grantee && clause_hash.is_zero() != clauses => {
                let via = clauses.then_some((grantee, *clause_hash));
                live.retain(|s| !(s.record_id == *record_id && s.via == via));
                live.push(Share {
                    record_id: *record_id,
                    owner: *owner,
                    shared_at: e.meta.block_time,
                    expiry: *expiry,
                    via,
                });
            }
            LedgerEvent::AccessRevoked {
                record_id,
                grantee: g,
                clause_hash,
                ..
            } if *g == grantee && clause_hash.is_zero() != clauses => {
                let via = clauses.then_some((grantee, *clause_hash));
                live.retain(|s| !(s.record_id == *record_id && s.via == via));
            }
            _ => {}
        }
    }
    live
}

pub(crate) async fn find(reads: &Reads, me: Address) -> Result<Found, LedgerError> {
    let events = reads.events(&EventFilter::Wallet(me)).await?;
    let mut keys = HashMap::new();
    // In chain order: a key revoked since (`KeyRevoked`) is dropped, so what it would
    // open is not listed (the contract refuses its openings anyway); a key issued after,
    // in a later epoch, counts again.
    for e in &events {
        match &e.event {
            LedgerEvent::KeyIssued {
                authority,
                holder,
                key_cid,
                ..
            } if *holder == me => {
                keys.insert(*authority, key_cid.to_vec());
            }
            LedgerEvent::KeyRevoked {
                authority, holder, ..
            } if *holder == me => {
                keys.remove(authority);
            }
            _ => {}
        }
    }
    let mut people = live_grants(&events, me, false);
    people.sort_by_key(|s| std::cmp::Reverse(s.shared_at));
    // Clause grants name the authority, not this wallet: read each issuer's grants (all
    // issuers at once). The owners of what was shared are read with them, so opening or
    // listing their records reads nothing more.
    let mut wallets: Vec<Address> = keys.keys().copied().collect();
    wallets.extend(people.iter().map(|s| s.owner));
    let histories = reads.wallets(&wallets).await?;
    let mut roles = Vec::new();
    for authority in keys.keys() {
        if let Some(theirs) = histories.get(authority) {
            roles.extend(live_grants(theirs, *authority, true));
        }
    }
    roles.sort_by_key(|s| std::cmp::Reverse(s.shared_at));
    people.extend(roles);
    Ok(Found {
        keys,
        shares: people,
    })
}

/// A failure to read shares (or a record's trail) from the ledger.
pub(crate) fn ledger_error(e: LedgerError) -> CoreError {
    CoreError::from(e).during(Task::ReadShares)
}

/// Why an opening could not be logged (and so is not made).
pub(crate) fn opening_not_logged(route: Route) -> impl FnOnce(LedgerError) -> CoreError {
    move |source| {
        InboxError::OpeningNotLogged {
            route,
            source: Box::new(source),
        }
        .into()
    }
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
        let conn = self
            .connect(owner, ledger)
            .await
            .map_err(|f| f.during(Task::ListShared))?;
        // Publishing this wallet's keys is what lets patients share with it. Best effort:
        // the list is read either way, and the background pass publishes them too.
        match self.store(&owner.wallet_id).await {
            Ok(store) => {
                if let Err(f) = directory::publish_self(&store, owner, ipfs, &conn).await {
                    tracing::debug!(wallet = %owner.wallet_id, error = f.error.kind(), "this wallet's keys are not published yet");
                }
            }
            Err(e) => {
                tracing::debug!(wallet = %owner.wallet_id, error = e.kind(), "no records store to note the publication in");
            }
        }
        // The list sends nothing from here on: each history is brought up to the head
        // once.
        let reads = conn.reads.snapshot();
        let found = find(&reads, conn.me).await.map_err(ledger_error)?;
        let node = IpfsNode::new(ipfs)?;
        let mut keys = HashMap::new();
        let now = now_unix().max(chain_time(&conn.node).await);
        let mut inbox = SharedInbox {
            records: Vec::new(),
            problems: Vec::new(),
        };
        let mut seen = std::collections::HashSet::new();
        let holder = Holder::of(owner)?;
        let store = self.store(&owner.wallet_id).await.ok();
        for share in &found.shares {
            if seen.contains(&share.record_id) {
                continue;
            }
            if share.expired(now) {
                // Listed so the doctor sees why it no longer opens; not decrypted.
                seen.insert(share.record_id);
                inbox.records.push(expired_entry(share));
                continue;
            }
            let located = self
                .listable(
                    store.as_ref(),
                    &holder,
                    &node,
                    &reads,
                    &found,
                    &mut keys,
                    share,
                )
                .await;
            let version = match located {
                Ok(Some(v)) => v,
                // A role grant whose clause this wallet's attributes do not meet.
                Ok(None) => continue,
                Err(e) => {
                    let problem = CoreError::from(InboxError::SharedUnreadable {
                        owner: share.owner,
                        source: Box::new(e),
                    });
                    inbox.problems.push(crate::words::message(&problem));
                    continue;
                }
            };
            seen.insert(share.record_id);
            inbox
                .records
                .push(self.listed(owner, share, version, now).await);
        }
        // Each owner named as the consortium attests it (the others keep their address).
        let mut labels = directory::ProviderLabels::default();
        for entry in &mut inbox.records {
            entry.owner_label = labels.of(&conn.node, conn.contract, &entry.owner).await;
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
        let conn = self
            .connect(owner, ledger)
            .await
            .map_err(|f| f.during(Task::OpenShared))?;
        let found = find(&conn.reads, conn.me).await.map_err(ledger_error)?;
        let wanted: B256 = crate::ledger::b256(record_id)?;
        let now = now_unix().max(chain_time(&conn.node).await);
        let routes: Vec<&Share> = found.routes(wanted).collect();
        if routes.is_empty() {
            return Err(InboxError::NotShared.into());
        }
        let live: Vec<&Share> = routes.iter().copied().filter(|s| !s.expired(now)).collect();
        if live.is_empty() {
            let last = routes.iter().map(|s| s.expiry).max().unwrap_or(0);
            return Err(InboxError::Expired {
                at: i64::try_from(last).unwrap_or(i64::MAX),
            }
            .into());
        }
        let node = IpfsNode::new(ipfs)?;
        let mut keys = HashMap::new();
        let mut opened = None;
        let holder = Holder::of(owner)?;
        for share in live {
            if let Some(r) = self
                .resolve(&holder, &node, &conn.reads, &found, &mut keys, share)
                .await?
            {
                opened = Some(r);
                break;
            }
        }
        let r = opened.ok_or(InboxError::KeyDoesNotHold)?;

        // The access is on the ledger before anything is decrypted.
        let logged = match r.share.via {
            None => conn.client.log_access(wanted, r.version).await,
            Some((clinic, clause)) if r.share.emergency() => {
                conn.client
                    .log_emergency_access(wanted, r.version, clinic, clause)
                    .await
            }
            Some((authority, clause)) => {
                conn.client
                    .log_clause_access(wanted, r.version, authority, clause)
                    .await
            }
        };
        logged.map_err(opening_not_logged(Route::Shared))?;
        self.remember_opened(owner, &r).await;
        self.show_resolved(owner, &node, r, record_id).await
    }

    /// Fetches, verifies and decrypts a resolved record whose opening is logged.
    pub(crate) async fn show_resolved(
        &self,
        owner: &Owner,
        node: &IpfsNode,
        r: Resolved,
        record_id: &str,
    ) -> Answer<OpenedRecord> {
        let show = r.manifest.size <= MAX_VIEW_SIZE;
        let (memory, chunks) = self
            .decrypt_resolved(owner, node, &r, record_id, show)
            .await?;
        let kind = kind_of(&r.manifest);
        let view = if show {
            let mime = r.manifest.mime_type.clone();
            tokio::task::spawn_blocking(move || medwallet_preview::render(&memory, kind, &mime))
                .await
                .map_err(|e| CoreError::internal("rendering the record", e))?
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
                uploaded_by: r.uploaded_by.map(|a| a.to_string()),
                uploaded_by_name: None,
                copies: None,
            },
            verification: Verification {
                content_cid: r.manifest.content_cid.clone(),
                manifest_cid: r.manifest_cid,
                capsule_cid: r.capsule_cid,
                chunks,
                source: "ipfs".to_owned(),
            },
            view,
        })
    }

    /// Fetches a resolved record's content and decrypts it, checking it against its
    /// manifest; answers the plaintext (kept only if `keep`) and the chunk count. The
    /// opening must be logged before this is called.
    pub(crate) async fn decrypt_resolved(
        &self,
        owner: &Owner,
        node: &IpfsNode,
        r: &Resolved,
        record_id: &str,
        keep: bool,
    ) -> Answer<(Vec<u8>, u64)> {
        let expected = crate::ipfs::content_cid(&r.manifest.content_cid, Part::Manifest)?;
        let store = self.store(&owner.wallet_id).await?;
        let temp = store.temp_path(&format!("{record_id}-v{}.shared", r.version));
        let file = tokio::fs::File::create(&temp)
            .await
            .map_err(|e| CoreError::disk(&temp, e))?
            .into_std()
            .await;
        if let Err(e) = node
            .cat_to(&expected, file, stream::ciphertext_len(r.manifest.size))
            .await
        {
            remove_file(&temp);
            return Err(e.into());
        }
        let decrypted =
            decrypt_file(&r.dek, temp.clone(), Sink::Memory, keep, r.manifest.size).await;
        remove_file(&temp);
        let (result, memory) = decrypted?;
        let decrypted = result.map_err(|e| CoreError::stream(Part::Content, e))?;
        if decrypted.cid != expected || decrypted.plaintext_len != r.manifest.size {
            return Err(CoreError::altered(
                Part::Content,
                Alteration::NotWhatManifestNames,
            ));
        }
        Ok((memory, decrypted.chunks))
    }

    /// [`locate`](Self::locate), then the manifest opened with the data key: for an
    /// opening (logged first by the caller) or a comparison.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn resolve(
        &self,
        holder: &Holder<'_>,
        node: &IpfsNode,
        reads: &Reads,
        found: &Found,
        keys: &mut HashMap<Address, UserKey>,
        share: &Share,
    ) -> Answer<Option<Resolved>> {
        let Some(l) = self.locate(holder, node, reads, found, keys, share).await? else {
            return Ok(None);
        };
        let record_id = share.record_id.to_string();
        let manifest_bytes = fetch_small(node, &l.manifest_cid, Part::Manifest).await?;
        let manifest = manifest::open(&l.dek, &manifest_bytes, &record_id, l.version)
            .map_err(CoreError::manifest)?;
        Ok(Some(Resolved {
            share: l.share,
            version: l.version,
            manifest,
            manifest_bytes,
            manifest_cid: l.manifest_cid.to_string(),
            capsule_cid: l.capsule_cid.to_string(),
            dek: l.dek,
            registered: l.registered,
            uploaded_by: l.uploaded_by,
        }))
    }

    /// Finds a shared record's latest version and current capsule on the ledger and opens
    /// the capsule with the key the route's authority issued (the owner, or the clinic of
    /// a role grant): the data key, nothing of the record decrypted. `None`: a role grant
    /// whose clause this wallet's key does not meet.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn locate(
        &self,
        holder: &Holder<'_>,
        node: &IpfsNode,
        reads: &Reads,
        found: &Found,
        keys: &mut HashMap<Address, UserKey>,
        share: &Share,
    ) -> Answer<Option<Located>> {
        let Trail {
            version,
            manifest_cid,
            registered,
            uploaded_by,
            capsules,
        } = trail(reads, share).await?;
        let manifest_cid = crate::ipfs::ledger_cid(&manifest_cid)?;
        let record_id = share.record_id.to_string();
        let mut current = None;
        // The registration's own capsule is always for its version, so this ends there.
        for candidate in capsules.iter().rev() {
            let candidate = crate::ipfs::ledger_cid(candidate)?;
            let bytes = fetch_small(node, &candidate, Part::Capsule).await?;
            if capsule::inspect(&bytes).is_ok_and(|i| i.version == version) {
                current = Some((candidate, bytes));
                break;
            }
        }
        let Some((capsule_cid, capsule_bytes)) = current else {
            return Err(CoreError::altered(
                Part::Capsule,
                Alteration::NoCapsuleForVersion { version },
            ));
        };

        let issuer = share.key_authority();
        if let std::collections::hash_map::Entry::Vacant(slot) = keys.entry(issuer) {
            let key_cid = found
                .keys
                .get(&issuer)
                .ok_or(InboxError::NoKeyIssued { issuer })?;
            let key = self.open_issued_key(holder, node, key_cid, issuer).await?;
            slot.insert(key);
        }
        let key = keys
            .get(&issuer)
            .ok_or_else(|| CoreError::internal("the issued key", "missing"))?;
        let dek = match capsule::unwrap(key, &capsule_bytes, &record_id, version) {
            Ok(dek) => dek,
            Err(CapsuleError::NotAllowed | CapsuleError::NoPartForThisAuthority)
                if share.via.is_some() =>
            {
                return Ok(None);
            }
            Err(e) => return Err(CoreError::capsule(e)),
        };
        Ok(Some(Located {
            share: share.clone(),
            version,
            manifest_cid,
            capsule_cid,
            dek,
            registered,
            uploaded_by,
        }))
    }

    /// For the list: the latest version of a shared record that this wallet's key opens,
    /// or `None` for a role grant whose clause it does not meet. The capsule is fetched
    /// and opened only when the ledger's facts about it changed since it was last tried
    /// (`located_shares`): a warm list of 200 records opens none.
    #[allow(clippy::too_many_arguments)]
    async fn listable(
        &self,
        store: Option<&RecordStore>,
        holder: &Holder<'_>,
        node: &IpfsNode,
        reads: &Reads,
        found: &Found,
        keys: &mut HashMap<Address, UserKey>,
        share: &Share,
    ) -> Answer<Option<u32>> {
        let t = trail(reads, share).await?;
        let route = share
            .via
            .map_or_else(|| "person".to_owned(), |(a, c)| format!("{a}:{c}"));
        let record_id = share.record_id.to_string();
        let facts = facts_of(&t, found.keys.get(&share.key_authority()));
        if let Some(store) = store {
            match store.located(&record_id, &route, &facts).await {
                Ok(Some(opens)) => return Ok(opens.then_some(t.version)),
                Ok(None) => {}
                Err(e) => {
                    tracing::debug!(record = %record_id, error = e.kind(), "no note of an earlier opening of the capsule")
                }
            }
        }
        let located = self.locate(holder, node, reads, found, keys, share).await?;
        if let Some(store) = store {
            if let Err(e) = store
                .set_located(&record_id, &route, &facts, located.is_some())
                .await
            {
                tracing::debug!(record = %record_id, error = e.kind(), "the capsule's opening was not noted");
            }
        }
        Ok(located.map(|l| l.version))
    }

    /// How the list names a located record: from this wallet's own earlier logged opening
    /// of it (its manifest kept sealed here), or as not opened yet. Nothing is decrypted
    /// that was not decrypted after a logged opening.
    pub(crate) async fn listed(
        &self,
        owner: &Owner,
        share: &Share,
        version: u32,
        now: i64,
    ) -> SharedRecord {
        let record_id = share.record_id.to_string();
        let known = match self.store(&owner.wallet_id).await {
            Ok(store) => store.opened_share(&record_id).await.ok().flatten(),
            Err(_) => None,
        };
        // Only what an opening of this very version decrypted: a newer version may have
        // another title, which is not known before it is opened.
        let manifest = known.and_then(|(opened, sealed_dek, bytes)| {
            if opened != version {
                return None;
            }
            let dek = local_seal::open(
                &owner.local_key,
                &opened_aad(&record_id),
                opened,
                &sealed_dek,
            )
            .ok()?;
            manifest::open(&dek, &bytes, &record_id, opened).ok()
        });
        let mut entry = SharedRecord {
            record_id,
            version,
            owner: share.owner.to_string(),
            title: "Not opened yet".to_owned(),
            category: Category::Other,
            date: String::new(),
            author: String::new(),
            file_name: String::new(),
            kind: ContentKind::Other,
            size: 0,
            shared_at: rfc3339(i64::try_from(share.shared_at).unwrap_or(0)),
            expires_at: (share.expiry != 0)
                .then(|| rfc3339(i64::try_from(share.expiry).unwrap_or(i64::MAX))),
            expired: share.expired(now),
            emergency: share.emergency(),
            opened: false,
            owner_label: None,
        };
        if let Some(m) = manifest {
            entry.title = m.title.clone();
            entry.category = Category::parse(&m.category).unwrap_or(Category::Other);
            entry.date = m.date.clone();
            entry.author = m.author.clone();
            entry.file_name = m.file_name.clone();
            entry.kind = kind_of(&m);
            entry.size = m.size;
            entry.opened = true;
        }
        entry
    }

    /// Keeps what a logged opening decrypted (the manifest as fetched, the data key sealed
    /// under the local key), so the list names the record from now on.
    pub(crate) async fn remember_opened(&self, owner: &Owner, r: &Resolved) {
        let record_id = r.share.record_id.to_string();
        let kept = async {
            let sealed =
                local_seal::seal(&owner.local_key, &opened_aad(&record_id), r.version, &r.dek)
                    .map_err(|e| CoreError::internal("sealing a shared record's key", e))?;
            self.store(&owner.wallet_id)
                .await?
                .set_opened_share(&record_id, r.version, &sealed, &r.manifest_bytes)
                .await?;
            Answer::Ok(())
        };
        if let Err(e) = kept.await {
            tracing::debug!(record = %record_id, error = e.kind(), "an opened share's description was not kept");
        }
    }

    /// Fetches and opens a key an authority issued to this wallet.
    async fn open_issued_key(
        &self,
        holder: &Holder<'_>,
        node: &IpfsNode,
        key_cid: &[u8],
        authority: Address,
    ) -> Answer<UserKey> {
        let cid = Cid::from_bytes(key_cid).map_err(|source| {
            CoreError::altered(
                Part::LedgerEntry,
                Alteration::UnreadableCid {
                    which: CidRef::Key,
                    source,
                },
            )
        })?;
        let bytes = fetch_small(node, &cid, Part::IssuedKey).await?;
        let damaged = |why: KeyProblem| -> CoreError {
            InboxError::KeyUnusable {
                issuer: authority,
                why,
            }
            .into()
        };
        let envelope =
            IssuedKey::from_bytes(&bytes).map_err(|e| damaged(KeyProblem::Envelope(e)))?;
        let me = holder.address;
        if envelope.authority != authority.0 .0 || envelope.holder != me.0 .0 {
            return Err(damaged(KeyProblem::OtherParties));
        }
        let plain = medwallet_vault::hpke_open(
            holder.hpke_secret,
            &envelope.encapped_key,
            &envelope.ciphertext,
            HPKE_INFO,
            &envelope.aad(),
        )
        .map_err(|_| damaged(KeyProblem::DoesNotOpen))?;
        UserKey::from_bytes(&plain).map_err(|e| damaged(KeyProblem::NotAKey(e)))
    }
}

/// An expired grant in the list: who shared what, when, and until when; nothing of the
/// record itself (its title is not decrypted any more).
/// A digest of what decides whether a capsule opens: the latest version, every capsule
/// the owner named, and the key issued on the route.
fn facts_of(t: &Trail, key_cid: Option<&Vec<u8>>) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(b"medwallet/located/v1");
    ctx.update(&t.version.to_be_bytes());
    for part in t.capsules.iter().chain(key_cid) {
        ctx.update(&(part.len() as u64).to_be_bytes());
        ctx.update(part);
    }
    ctx.update(&[u8::from(key_cid.is_some())]);
    hex::encode(ctx.finish())
}

/// What the ledger says of a shared record: its latest version and every capsule its
/// owner named.
struct Trail {
    version: u32,
    manifest_cid: Vec<u8>,
    registered: (String, u64),
    uploaded_by: Option<Address>,
    /// In chain order: the current one is the last that is for the latest version (a
    /// grant wrapped for version n can be mined after version n+1 was registered).
    capsules: Vec<Vec<u8>>,
}

/// The record's trail, from its owner's cached history.
async fn trail(reads: &Reads, share: &Share) -> Answer<Trail> {
    let events = reads
        .record(share.owner, share.record_id)
        .await
        .map_err(ledger_error)?;
    let mut latest: Option<(u32, Vec<u8>, (String, u64))> = None;
    let mut uploaded_by = None;
    // Every capsule the owner named, in chain order: the current one is the last that
    // is for the latest version (a grant wrapped for version n can be mined after
    // version n+1 was registered).
    let mut capsules: Vec<Vec<u8>> = Vec::new();
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
                capsules.push(c.to_vec());
            }
            LedgerEvent::RecordUploaded {
                owner: o,
                author,
                manifest_cid,
                capsule_cid: c,
                ..
            } if *o == share.owner => {
                latest = Some((
                    1,
                    manifest_cid.to_vec(),
                    (e.meta.tx_hash.to_string(), e.meta.block_number),
                ));
                uploaded_by = Some(*author);
                capsules.push(c.to_vec());
            }
            LedgerEvent::AccessGranted {
                owner: o,
                capsule_cid: c,
                ..
            } if *o == share.owner => capsules.push(c.to_vec()),
            LedgerEvent::AccessRevoked {
                owner: o,
                new_capsule_cid: c,
                ..
            } if *o == share.owner => capsules.push(c.to_vec()),
            _ => {}
        }
    }
    let Some((version, manifest_cid, registered)) = latest else {
        return Err(InboxError::NotRegistered.into());
    };
    Ok(Trail {
        version,
        manifest_cid,
        registered,
        uploaded_by,
        capsules,
    })
}

fn expired_entry(share: &Share) -> SharedRecord {
    SharedRecord {
        record_id: share.record_id.to_string(),
        version: 0,
        owner: share.owner.to_string(),
        title: "Access expired".to_owned(),
        category: Category::Other,
        date: String::new(),
        author: String::new(),
        file_name: String::new(),
        kind: ContentKind::Other,
        size: 0,
        shared_at: rfc3339(i64::try_from(share.shared_at).unwrap_or(0)),
        expires_at: Some(rfc3339(i64::try_from(share.expiry).unwrap_or(i64::MAX))),
        expired: true,
        emergency: share.emergency(),
        opened: false,
        owner_label: None,
    }
}

/// The associated data of a shared record's data key kept after an opening (apart from
/// this wallet's own records' keys).
fn opened_aad(record_id: &str) -> String {
    format!("opened-share:{record_id}")
}

fn kind_of(m: &manifest::Manifest) -> ContentKind {
    serde_json::from_value(serde_json::Value::String(m.kind.clone())).unwrap_or(ContentKind::Other)
}
