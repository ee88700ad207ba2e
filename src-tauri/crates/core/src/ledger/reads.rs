//! Every read of the ledger's events goes through here: one event cache per wallet
//! (`audit/<wallet id>.sqlite`, the file the audit trail always used), synced from its
//! cursors by indexed topics, so that what a read costs is bounded by the events it is
//! about and the blocks since the last read, never by the chain's length. The cache holds
//! what one node said: reading through another node starts it again (see
//! `medwallet_ledger::EventCache`).
//!
//! A filter is a wallet's history (`EventFilter::Wallet`: events naming it as actor,
//! owner or subject) or one record's trail. A record's trail is read as part of its
//! owner's history (every record event names its owner as an indexed topic), so the
//! doctor opening the twentieth record of a patient reads nothing the first did not.
//! The cache keeps the checks of `medwallet_ledger::EventCache`: each event's sender is
//! its actor, blocks chain, and a reorganisation is repaired before anything is read.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use medwallet_ledger::{
    Address, EventCache, EventFilter, LedgerError, LedgerNode, LoggedEvent, B256,
};

use crate::error::{Answer, AuditError, CoreError};

/// The event caches of one app data folder, one per wallet, opened on first use and
/// shared by every room (the audit trail, the inbox, the sharing pass, the front desk).
#[derive(Debug)]
pub struct EventCaches {
    dir: PathBuf,
    caches: tokio::sync::Mutex<HashMap<String, EventCache>>,
}

impl EventCaches {
    /// The caches of the app data folder `data_dir` (in its `audit/` folder).
    pub fn new(data_dir: &Path) -> Arc<Self> {
        Arc::new(Self {
            dir: data_dir.join("audit"),
            caches: Default::default(),
        })
    }

    fn chain_file(&self, wallet_id: &str) -> PathBuf {
        self.dir.join(format!("{wallet_id}.chain"))
    }

    /// The chain id this wallet's events were first read from, if any: a ledger URL that
    /// now leads to another network is named, never mixed in.
    pub(crate) fn remembered_chain(&self, wallet_id: &str) -> Option<u64> {
        std::fs::read_to_string(self.chain_file(wallet_id))
            .ok()
            .and_then(|s| s.trim().parse().ok())
    }

    /// Remembers `chain_id` as the wallet's chain unless one is remembered already.
    pub(crate) fn remember_chain_once(&self, wallet_id: &str, chain_id: u64) {
        if self.remembered_chain(wallet_id).is_some() {
            return;
        }
        // Best effort: without it, only the next read's chain check is lost.
        let path = self.chain_file(wallet_id);
        if let Err(e) = std::fs::create_dir_all(&self.dir)
            .and_then(|()| std::fs::write(&path, chain_id.to_string()))
        {
            tracing::warn!(path = %path.display(), chain_id, error = %e, "the wallet's chain is not remembered");
        }
    }

    /// The wallet's cache, opened (and created) on first use.
    pub(crate) async fn open(&self, wallet_id: &str) -> Answer<EventCache> {
        if wallet_id.is_empty() || !wallet_id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(CoreError::internal("wallet id", wallet_id));
        }
        let mut caches = self.caches.lock().await;
        if let Some(cache) = caches.get(wallet_id) {
            return Ok(cache.clone());
        }
        std::fs::create_dir_all(&self.dir).map_err(|source| AuditError::FolderNotCreated {
            path: self.dir.clone(),
            source,
        })?;
        let cache = EventCache::open(&self.dir.join(format!("{wallet_id}.sqlite")))
            .await
            .map_err(|e| AuditError::CacheNotOpened(Box::new(e)))?;
        caches.insert(wallet_id.to_owned(), cache.clone());
        Ok(cache)
    }
}

/// A wallet's reads of one contract on one node, through the wallet's cache. Each read
/// brings its filter up to the node's head first, so a use case that sent a transaction
/// reads it back; a [`snapshot`](Self::snapshot) brings each filter up once.
#[derive(Debug, Clone)]
pub(crate) struct Reads {
    pub node: LedgerNode,
    pub contract: Address,
    cache: EventCache,
    /// In a snapshot: the filters brought up to the head already.
    synced: Option<Arc<std::sync::Mutex<std::collections::HashSet<EventFilter>>>>,
}

impl Reads {
    pub(crate) fn new(node: LedgerNode, contract: Address, cache: EventCache) -> Self {
        Self {
            node,
            contract,
            cache,
            synced: None,
        }
    }

    /// Reads that bring each filter up to the head once, for a use case that sends
    /// nothing between its reads: a list of 200 shared records syncs each owner's history
    /// once, not 200 times.
    pub(crate) fn snapshot(&self) -> Self {
        Self {
            synced: Some(Default::default()),
            ..self.clone()
        }
    }

    /// Brings `filters` up to the node's head (in a snapshot, those not brought up yet).
    async fn sync(&self, filters: &[EventFilter]) -> Result<(), LedgerError> {
        let Some(synced) = &self.synced else {
            return self
                .cache
                .sync_many(&self.node, self.contract, filters)
                .await
                .map(|_| ());
        };
        let todo: Vec<EventFilter> = {
            let done = synced
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            filters
                .iter()
                .filter(|f| !done.contains(f))
                .copied()
                .collect()
        };
        if todo.is_empty() {
            return Ok(());
        }
        self.cache
            .sync_many(&self.node, self.contract, &todo)
            .await?;
        synced
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend(todo);
        Ok(())
    }

    /// Every checked event `filter` selects, from the first block to the node's head:
    /// the cache is brought up to the head first (from its cursor; a filter never read
    /// before starts at block 0, once). A record whose owner is known is read with
    /// [`record`](Self::record) instead, which costs nothing more once the owner's
    /// history is cached.
    pub(crate) async fn events(
        &self,
        filter: &EventFilter,
    ) -> Result<Vec<LoggedEvent>, LedgerError> {
        self.sync(std::slice::from_ref(filter)).await?;
        self.cache.events(self.contract, filter).await
    }

    /// The histories of `wallets`, brought up to the node's head together (one set of
    /// `eth_getLogs` queries for all that share a cursor), answered per wallet.
    pub(crate) async fn wallets(
        &self,
        wallets: &[Address],
    ) -> Result<HashMap<Address, Vec<LoggedEvent>>, LedgerError> {
        let filters: Vec<EventFilter> = wallets.iter().map(|a| EventFilter::Wallet(*a)).collect();
        self.sync(&filters).await?;
        let mut out = HashMap::with_capacity(wallets.len());
        for (a, f) in wallets.iter().zip(&filters) {
            if !out.contains_key(a) {
                out.insert(*a, self.cache.events(self.contract, f).await?);
            }
        }
        Ok(out)
    }

    /// One record's trail, oldest first, read with its owner's history: every event about
    /// a record names its owner as an indexed topic. Events of the record that name
    /// another owner (which the contract never writes) are left out.
    pub(crate) async fn record(
        &self,
        owner: Address,
        record_id: B256,
    ) -> Result<Vec<LoggedEvent>, LedgerError> {
        self.sync(&[EventFilter::Wallet(owner)]).await?;
        let mut events = self
            .cache
            .events(self.contract, &EventFilter::Record(record_id))
            .await?;
        events.retain(|e| e.event.owner() == Some(owner));
        Ok(events)
    }

    /// Every event of the contract (a search by something no topic indexes, such as a
    /// CID): read once from block 0, then from the cursor.
    pub(crate) async fn all(&self) -> Result<Vec<LoggedEvent>, LedgerError> {
        self.sync(&[EventFilter::All]).await?;
        self.cache.events(self.contract, &EventFilter::All).await
    }
}
