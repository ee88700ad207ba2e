//! The Records page's list: one page of the wallet's records that match a search, with
//! how many match, by category, and what the page says about all of them.
//!
//! **Where the search runs.** A record's title, category and date are in its sealed
//! manifest: `records.sqlite` holds nothing of them that can be read without the wallet's
//! key, so SQLite cannot index them. The options were: plain columns for them (the titles
//! on disk in the clear: refused); keyed "blind" index columns (equality only, so no
//! search within a title and no date order, and they still show which records share a
//! title or category); an encrypted copy of the database (a second key and file to
//! manage). Chosen: the unlocked wallet decrypts each record's latest manifest once into
//! an index in memory ([`ListIndex`]), kept in the page's order; the records database's
//! generation counter (migration 0016) says when versions were added or removed, and only
//! those are decrypted again. A search or a category scans the index (10,000 titles: a
//! millisecond or so), never decrypts, and a page is sliced from it; only the page's rows
//! are read from SQLite for what is in plain columns (where each is, its ledger mark, its
//! copies), and the counts about every record are SQLite's, by index. The index goes when
//! the wallet locks or another is unlocked ([`RecordService::lists_follow_session`]), its
//! titles wiped, and it holds no key; a list asked for before and answered after such a
//! change is used for that answer only, never kept. The webview gets one page: never every
//! title.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use medwallet_api::{Category, CategoryCount, Copies, RecordPage, RecordQuery, RecordStatus};
use medwallet_records::manifest::{self, Manifest};
use url::Url;
use zeroize::{Zeroize, Zeroizing};

use super::replicas::replica_key;
use super::{index_damaged, lock, summary_of, RecordService};
use crate::error::{Answer, CoreError, RecordsError};
use crate::session::Owner;
use crate::store::{local_seal, RecordStore, StoredRecord};

/// Versions decrypted on the async threads; more go to a blocking thread.
const DECRYPT_INLINE: usize = 64;

/// The display metadata of one record's latest version, decrypted once.
#[derive(Clone)]
struct Entry {
    record_id: String,
    version: u32,
    added_at: String,
    category: Category,
    /// The title in lower case: what a search looks in.
    search_key: String,
    manifest: Manifest,
}

impl Drop for Entry {
    fn drop(&mut self) {
        // What was decrypted does not outlive the index in memory.
        self.search_key.zeroize();
        let m = &mut self.manifest;
        for field in [
            &mut m.record_id,
            &mut m.title,
            &mut m.category,
            &mut m.mime_type,
            &mut m.kind,
            &mut m.date,
            &mut m.author,
            &mut m.file_name,
            &mut m.content_cid,
            &mut m.created_at,
        ] {
            field.zeroize();
        }
        m.version.zeroize();
        m.size.zeroize();
        m.content_chunks.zeroize();
    }
}

/// The position of `c` in the page's order ([`Category::ALL`]): a match with no wildcard,
/// so a category added to the enum does not build until it has its place (a test checks
/// that the places are `ALL`'s), and the counts per category never index past their end.
fn rank(c: Category) -> usize {
    match c {
        Category::LabResult => 0,
        Category::Imaging => 1,
        Category::Note => 2,
        Category::Prescription => 3,
        Category::DischargeSummary => 4,
        Category::Immunisation => 5,
        Category::Other => 6,
    }
}

/// The page's order: by category, newest document date first, then newest added, then id.
fn order(a: &Entry, b: &Entry) -> Ordering {
    rank(a.category)
        .cmp(&rank(b.category))
        .then_with(|| b.manifest.date.cmp(&a.manifest.date))
        .then_with(|| b.added_at.cmp(&a.added_at))
        .then_with(|| a.record_id.cmp(&b.record_id))
}

/// One wallet's records' display metadata, in the page's order, as of one generation of
/// its records database.
#[derive(Clone)]
pub struct ListIndex {
    wallet_id: String,
    generation: i64,
    entries: Vec<Entry>,
    by_id: HashMap<String, usize>,
}

impl ListIndex {
    /// How many records the wallet has.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the wallet has none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The title of the record `record_id` (any case), if it is the wallet's.
    pub fn title(&self, record_id: &str) -> Option<&str> {
        let i = self.by_id.get(&record_id.to_lowercase())?;
        Some(self.entries[*i].manifest.title.as_str())
    }

    /// The positions of the records that match `search` (lower case, trimmed) in
    /// `category`, in the page's order.
    fn matches<'a>(
        &'a self,
        search: &'a str,
        category: Option<Category>,
    ) -> impl Iterator<Item = &'a Entry> + 'a {
        self.entries.iter().filter(move |e| {
            category.is_none_or(|c| c == e.category)
                && (search.is_empty() || e.search_key.contains(search))
        })
    }
}

/// Whose records list may be kept decrypted in memory.
#[derive(Debug, Default)]
enum Keeper {
    /// Any owner's: the service is used without an app's sessions (a test, a benchmark).
    #[default]
    Anyone,
    /// Only the wallet unlocked now.
    Wallet(String),
    /// None: no wallet is unlocked.
    Nobody,
}

/// The decrypted records list, and whose session may keep it.
#[derive(Default)]
pub(crate) struct Lists {
    keeper: Keeper,
    index: Option<Arc<ListIndex>>,
}

impl Lists {
    fn keeps(&self, wallet_id: &str) -> bool {
        match &self.keeper {
            Keeper::Anyone => true,
            Keeper::Wallet(id) => id == wallet_id,
            Keeper::Nobody => false,
        }
    }
}

/// The titles of a wallet's records by id, for lists that name records (the audit
/// trail, the emergency banner, check-ins): read from the list index, so naming a page's
/// records decrypts nothing. Its `Debug` shows no title. A list being answered (an export)
/// holds the index until it is done, as it holds the owner's keys.
#[derive(Clone, Default)]
pub struct Titles {
    index: Option<Arc<ListIndex>>,
    more: HashMap<String, String>,
}

impl Drop for Titles {
    fn drop(&mut self) {
        // The titles given by id were decrypted too (the index wipes its own).
        for title in self.more.values_mut() {
            title.zeroize();
        }
    }
}

impl Titles {
    /// The title of the record `record_id`, if known.
    pub fn get(&self, record_id: &str) -> Option<&str> {
        self.index
            .as_ref()
            .and_then(|i| i.title(record_id))
            .or_else(|| self.more.get(&record_id.to_lowercase()).map(String::as_str))
    }
}

impl From<HashMap<String, String>> for Titles {
    /// Titles given by id (any case).
    fn from(titles: HashMap<String, String>) -> Self {
        Titles {
            index: None,
            // Moved, not copied: each title's bytes are the ones wiped on drop.
            more: titles
                .into_iter()
                .map(|(id, title)| (id.to_lowercase(), title))
                .collect(),
        }
    }
}

impl std::fmt::Debug for Titles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.index.as_ref().map_or(0, |i| i.len()) + self.more.len();
        write!(f, "Titles({n} records)")
    }
}

/// The nodes a page's copies are counted on: the wallet's own IPFS node and the replicas
/// in the settings.
pub struct Nodes<'a> {
    /// The wallet's node.
    pub ipfs: &'a Url,
    /// The replica nodes.
    pub replicas: &'a [Url],
}

impl RecordService {
    /// The owner's list index, decrypting only the versions added since it was last read.
    pub(crate) async fn list_index(&self, owner: &Owner) -> Answer<Arc<ListIndex>> {
        let store = self.store(&owner.wallet_id).await?;
        let mut lists = self.lists.lock().await;
        // Read before the versions: a version added after this read changes it again, so
        // the next call reads that version.
        let generation = store.generation().await?;
        let keeps = lists.keeps(&owner.wallet_id);
        if let Some(index) = lists
            .index
            .as_ref()
            .filter(|i| keeps && i.wallet_id == owner.wallet_id && i.generation == generation)
        {
            return Ok(index.clone());
        }
        let previous = lists
            .index
            .take()
            .filter(|i| i.wallet_id == owner.wallet_id);
        let index = Arc::new(build(&store, owner, generation, previous).await?);
        // Kept for the wallet unlocked now only: a list asked for before a lock (or before
        // another wallet was unlocked) and answered after it is dropped with its answer.
        if keeps {
            lists.index = Some(index.clone());
        }
        Ok(index)
    }

    /// The titles of the owner's records (see [`Titles`]).
    pub async fn titles(&self, owner: &Owner) -> Answer<Titles> {
        Ok(Titles {
            index: Some(self.list_index(owner).await?),
            more: HashMap::new(),
        })
    }

    /// A session changed, and the wallet unlocked now is `wallet_id` (`None`: none is):
    /// the decrypted list is forgotten (its titles wiped once no list being answered holds
    /// it), and from now on only that wallet's is kept. The app calls it after every
    /// unlock, lock, create, restore and delete that took place, the wallets held so that
    /// no other change comes between.
    pub async fn lists_follow_session(&self, wallet_id: Option<&str>) {
        let mut lists = self.lists.lock().await;
        lists.keeper = wallet_id.map_or(Keeper::Nobody, |id| Keeper::Wallet(id.to_owned()));
        lists.index = None;
        drop(lists);
        // The re-encryption's progress names records by title: kept for the same wallet.
        self.keep_progress_of(wallet_id);
    }

    /// Forgets the decrypted list and keeps none (the wallet locked): see
    /// [`lists_follow_session`](Self::lists_follow_session).
    pub async fn forget_lists(&self) {
        self.lists_follow_session(None).await;
    }

    /// One page of the owner's records that match `query`, with the counts; each
    /// record's copies are counted on `nodes` (none: not shown).
    pub async fn page(
        &self,
        owner: &Owner,
        query: &RecordQuery,
        nodes: Option<Nodes<'_>>,
    ) -> Answer<RecordPage> {
        // Refused, not cut: a shortened search would match titles the whole one does not.
        // Counted before anything is copied or lowered (the webview may send any length).
        if query
            .search
            .trim()
            .chars()
            .nth(RecordQuery::MAX_SEARCH)
            .is_some()
        {
            return Err(RecordsError::SearchTooLong {
                max: RecordQuery::MAX_SEARCH,
            }
            .into());
        }
        let index = self.list_index(owner).await?;
        let store = self.store(&owner.wallet_id).await?;
        let search = Zeroizing::new(query.search.trim().to_lowercase());
        let (offset, limit) = (
            query.offset as usize,
            query.limit.min(RecordQuery::MAX_LIMIT) as usize,
        );
        let mut by_category = [0u32; Category::ALL.len()];
        let mut matching = 0usize;
        let mut shown: Vec<&Entry> = Vec::with_capacity(limit);
        for e in index.matches(&search, query.category) {
            if matching >= offset && shown.len() < limit {
                shown.push(e);
            }
            matching += 1;
            if let Some(n) = by_category.get_mut(rank(e.category)) {
                *n += 1;
            }
        }

        let wanted: Vec<(String, u32)> = shown
            .iter()
            .map(|e| (e.record_id.clone(), e.version))
            .collect();
        let rows: HashMap<(String, u32), StoredRecord> = store
            .versions_of(&wanted)
            .await?
            .into_iter()
            .map(|r| ((r.record_id.clone(), r.version), r))
            .collect();
        let uploading = lock(&self.uploading).clone();
        let ids: Vec<&str> = shown.iter().map(|e| e.record_id.as_str()).collect();
        let made_by = store.uploaded_by_of(&ids).await?;
        let mut copies = match &nodes {
            Some(nodes) => page_copies(&store, nodes, rows.values()).await?,
            None => HashMap::new(),
        };
        let mut records = Vec::with_capacity(shown.len());
        for e in &shown {
            // Removed since the index was read (a cancelled add): left out of this page.
            let Some(row) = rows.get(&(e.record_id.clone(), e.version)) else {
                continue;
            };
            let now = uploading.contains(&(row.record_id.clone(), row.version));
            let mut summary = summary_of(&e.manifest, row, now);
            if let Some((author, name)) = made_by.get(&row.record_id) {
                summary.uploaded_by = Some(author.clone());
                summary.uploaded_by_name = name.clone();
            }
            if summary.status == RecordStatus::OnIpfs {
                summary.copies = copies.remove(&row.record_id);
            }
            records.push(summary);
        }

        let local = store.local_only(&uploading).await?;
        let (single_copy, copies_of) = match &nodes {
            Some(nodes) => {
                let replicas: Vec<String> = nodes.replicas.iter().map(replica_key).collect();
                let of = u32::try_from(replicas.len())
                    .unwrap_or(u32::MAX)
                    .saturating_add(1);
                (store.single_copies(&replicas).await?, of)
            }
            None => (0, 0),
        };
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Ok(RecordPage {
            records,
            offset: query.offset,
            matching: count(matching),
            by_category: Category::ALL
                .into_iter()
                .zip(by_category)
                .filter(|(_, n)| *n > 0)
                .map(|(category, count)| CategoryCount { category, count })
                .collect(),
            total: count(index.len()),
            local_only: local.waiting,
            uploading: local.uploading,
            local_reason: local.reason,
            single_copy,
            copies_of,
        })
    }
}

/// Reads each record's latest version into the index: those already in `previous`
/// (the same version) are kept, the others are decrypted.
async fn build(
    store: &RecordStore,
    owner: &Owner,
    generation: i64,
    previous: Option<Arc<ListIndex>>,
) -> Answer<ListIndex> {
    let latest = store.latest_versions().await?;
    let mut kept: HashMap<String, Entry> = match previous {
        Some(p) => Arc::unwrap_or_clone(p)
            .entries
            .into_iter()
            .map(|e| (e.record_id.clone(), e))
            .collect(),
        None => HashMap::new(),
    };
    let mut entries = Vec::with_capacity(latest.len());
    let mut missing = Vec::new();
    for (record_id, version) in latest {
        match kept.remove(&record_id) {
            Some(e) if e.version == version => entries.push(e),
            _ => missing.push((record_id, version)),
        }
    }
    // From nothing (an unlock), one pass over the table; else only what changed.
    let rows = if entries.is_empty() && !missing.is_empty() {
        store.latest_rows().await?
    } else {
        store.versions_of(&missing).await?
    };
    let opened = if rows.len() <= DECRYPT_INLINE {
        open_all(&owner.local_key, rows)?
    } else {
        let key = Zeroizing::new(*owner.local_key);
        tokio::task::spawn_blocking(move || open_all(&key, rows))
            .await
            .map_err(|e| CoreError::internal("reading the records list", e))??
    };
    entries.extend(opened);
    entries.sort_by(order);
    let by_id = entries
        .iter()
        .enumerate()
        .map(|(i, e)| (e.record_id.to_lowercase(), i))
        .collect();
    Ok(ListIndex {
        wallet_id: owner.wallet_id.clone(),
        generation,
        entries,
        by_id,
    })
}

/// Decrypts the manifests of `rows` (each under its data key, sealed under the wallet's
/// local records key); a row that does not open is this device's index damaged.
fn open_all(local_key: &[u8; 32], rows: Vec<StoredRecord>) -> Answer<Vec<Entry>> {
    rows.into_iter()
        .map(|row| {
            let dek = local_seal::open(local_key, &row.record_id, row.version, &row.sealed_dek)
                .map_err(|_| index_damaged(&row))?;
            let manifest = manifest::open(&dek, &row.manifest, &row.record_id, row.version)
                .map_err(|_| index_damaged(&row))?;
            Ok(Entry {
                category: Category::parse(&manifest.category).unwrap_or(Category::Other),
                search_key: manifest.title.to_lowercase(),
                record_id: row.record_id,
                version: row.version,
                added_at: row.added_at,
                manifest,
            })
        })
        .collect()
}

/// The copies of a page's records on IPFS: which of `nodes` confirmed holding all three
/// objects of each one's latest version (this wallet's node always does), and why the
/// others do not yet.
async fn page_copies(
    store: &RecordStore,
    nodes: &Nodes<'_>,
    rows: impl Iterator<Item = &StoredRecord>,
) -> Answer<HashMap<String, Copies>> {
    let on_ipfs: Vec<&StoredRecord> = rows
        .filter(|r| r.state == crate::store::State::OnIpfs)
        .collect();
    let cids: Vec<&str> = on_ipfs
        .iter()
        .flat_map(|r| [&r.content_cid, &r.manifest_cid, &r.capsule_cid])
        .map(String::as_str)
        .collect();
    let pins = if nodes.replicas.is_empty() {
        HashMap::new()
    } else {
        store.pins_of(&cids).await?
    };
    let mut problems: HashMap<String, String> = HashMap::new();
    for url in nodes.replicas {
        let key = replica_key(url);
        if let Some(b) = store.replica_backoff(&key).await? {
            problems.insert(key, b.problem);
        }
    }
    let own = replica_key(nodes.ipfs);
    let of = u32::try_from(nodes.replicas.len())
        .unwrap_or(u32::MAX)
        .saturating_add(1);
    let none = HashSet::new();
    Ok(on_ipfs
        .into_iter()
        .map(|r| {
            let mut held_by = vec![own.clone()];
            let mut waiting = Vec::new();
            for url in nodes.replicas {
                let key = replica_key(url);
                let held = pins.get(&key).unwrap_or(&none);
                if [&r.content_cid, &r.manifest_cid, &r.capsule_cid]
                    .iter()
                    .all(|c| held.contains(*c))
                {
                    held_by.push(key);
                } else {
                    waiting.push(medwallet_api::CopyWaiting {
                        problem: problems.get(&key).cloned(),
                        node: key,
                    });
                }
            }
            (
                r.record_id.clone(),
                Copies {
                    held_by,
                    of,
                    waiting,
                },
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_list_is_kept_for_the_wallet_unlocked_now_only() {
        let dir = tempfile::tempdir().unwrap();
        let service = RecordService::new(dir.path());
        let keys = medwallet_vault::WalletKeys::derive(
            &medwallet_vault::Seed::from_bytes([0x5a; 32]),
            medwallet_vault::Role::Patient,
        )
        .unwrap();
        let owner = Owner::new(&format!("{:032x}", 0x5a), "Ada", &keys);
        let kept = || async { service.lists.lock().await.index.is_some() };
        let query = RecordQuery::search("", 10);
        let page = || service.page(&owner, &query, None);

        // Another wallet is unlocked: this one's list answers and is not kept.
        service.lists_follow_session(Some("another")).await;
        page().await.unwrap();
        assert!(!kept().await);
        // Its own session keeps it.
        service.lists_follow_session(Some(&owner.wallet_id)).await;
        page().await.unwrap();
        assert!(kept().await);
        // Locked: gone, and a list asked for before the lock and answered after it (this
        // owner's keys still in hand) is not kept.
        service.forget_lists().await;
        assert!(!kept().await);
        page().await.unwrap();
        assert!(!kept().await);
        // Unlocked again; then another wallet is: gone.
        service.lists_follow_session(Some(&owner.wallet_id)).await;
        page().await.unwrap();
        assert!(kept().await);
        service.lists_follow_session(Some("another")).await;
        assert!(!kept().await);
    }

    #[test]
    fn each_category_ranks_at_its_place_in_the_pages_order() {
        for (i, c) in Category::ALL.into_iter().enumerate() {
            assert_eq!(rank(c), i, "{c:?}");
        }
    }
}
