//! The ledger's events in SQLite: synced incrementally, checked, reorgs repaired.

use std::path::Path;

use alloy::primitives::{Address, B256};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions, SqliteRow};
use sqlx::Row;

use std::collections::{BTreeMap, HashMap};

use crate::events::{
    EventFilter, EventKind, EventMeta, FetchedEvents, LedgerEvent, LoggedEvent, RejectedEvent,
    RpcHeader,
};
use crate::witness::{
    self, Agreements, BlockAgreement, Verdict, WitnessCheck, MAX_CHECKS_PER_STEP,
};
use crate::{LedgerError, LedgerNode};

/// A reorganisation the cache detected and repaired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReorgInfo {
    /// The last block the cache had synced, and its hash then.
    pub old_head: (u64, B256),
    /// The newest cached block still on the node's chain (`None`: none was).
    pub common_ancestor: Option<u64>,
    /// Cached events dropped because their blocks left the chain.
    pub dropped_events: u64,
}

/// What one [`EventCache::sync`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncReport {
    /// Events added to the cache.
    pub new_events: u64,
    /// The first block read.
    pub from_block: u64,
    /// The last block read (the node's head, unless the sync was given fewer blocks).
    pub to_block: u64,
    /// The node's head when the sync began.
    pub head: u64,
    /// A reorganisation found and repaired before reading.
    pub reorg: Option<ReorgInfo>,
    /// Logs kept out of the cache (sender not the actor, undecodable).
    pub rejected: Vec<RejectedEvent>,
    /// What the witnesses said in this step ([`EventCache::sync_checked`]; empty without
    /// witnesses).
    pub witness_checks: Vec<WitnessCheck>,
}

/// What `sync_here` answers: the report, the chain id and the block read last.
type Synced = Result<(SyncReport, u64, Option<(u64, B256)>), LedgerError>;

/// A boxed `sync_here`.
type BoxedSync<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Synced> + Send + 'a>>;

/// The event cache: one SQLite file, any number of contracts and filters.
#[derive(Debug, Clone)]
pub struct EventCache {
    pub(crate) pool: SqlitePool,
}

pub(crate) fn damaged(what: impl Into<String>) -> LedgerError {
    let what = what.into();
    tracing::warn!(what = %what, "the ledger event cache is damaged");
    LedgerError::CacheDamaged { what }
}

/// An INTEGER column (a block number, an index, a time, a count): never negative.
/// `what` names the table and column.
pub(crate) fn uint(row: &SqliteRow, index: usize, what: &str) -> Result<u64, LedgerError> {
    let n: i64 = row.try_get(index).map_err(|_| damaged(what))?;
    u64::try_from(n).map_err(|_| damaged(format!("{what} is negative")))
}

/// A BLOB column.
fn blob<'r>(row: &'r SqliteRow, index: usize, what: &str) -> Result<&'r [u8], LedgerError> {
    row.try_get(index).map_err(|_| damaged(what))
}

/// A BLOB column holding a 32-byte hash.
fn word_at(row: &SqliteRow, index: usize, what: &str) -> Result<B256, LedgerError> {
    word(blob(row, index, what)?, what)
}

fn word(b: &[u8], what: &str) -> Result<B256, LedgerError> {
    B256::try_from(b).map_err(|_| damaged(format!("{what} is not a 32-byte hash")))
}

fn addr(b: &[u8], what: &str) -> Result<Address, LedgerError> {
    Address::try_from(b).map_err(|_| damaged(format!("{what} is not a 20-byte address")))
}

pub(crate) fn i64n(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// An event whose block is the one cached at its height (defence in depth: a repair
/// drops events of blocks that left the chain). Every read of events answers only these
/// (the trail's pages and counts too, `trail.rs`).
pub(crate) const ON_CHAIN: &str = "block_hash = (SELECT b.hash FROM blocks b \
     WHERE b.contract = events.contract AND b.number = events.block_number)";

pub(crate) const SELECT: &str =
    "SELECT block_number, block_hash, parent_hash, tx_hash, log_index, sender, \
     block_time, topics, data FROM events";

/// The verdicts of `witness_checks` rows, of the witnesses named by `labels` only.
pub(crate) fn agreements_of(
    rows: &[SqliteRow],
    labels: Vec<String>,
) -> Result<Agreements, LedgerError> {
    let mut agreements = Agreements::new(labels);
    for row in rows {
        let witness: String = row
            .try_get(1)
            .map_err(|_| damaged("witness_checks.witness"))?;
        if agreements.asks(&witness) {
            let (number, our_hash, verdict) = decode_check(row)?;
            agreements.insert(number, witness, our_hash, verdict);
        }
    }
    Ok(agreements)
}

impl EventCache {
    /// Opens (creating if needed) the cache at `path`.
    pub async fn open(path: &Path) -> Result<Self, LedgerError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .synchronous(sqlx::sqlite::SqliteSynchronous::Normal);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Self { pool })
    }

    /// Closes the cache's connections, the last one writing its log into the file (tests
    /// that change the file on disk; the app just exits).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Reads the events of `contract` selected by `filter` from the block after the
    /// last sync to the node's head, after checking that the last synced block is still
    /// on the node's chain; if it is not, walks back to the newest cached block that
    /// is, drops every cached event above it and reads again from there.
    pub async fn sync(
        &self,
        node: &LedgerNode,
        contract: Address,
        filter: &EventFilter,
    ) -> Result<SyncReport, LedgerError> {
        self.sync_step_checked(node, contract, filter, u64::MAX, &[])
            .await
    }

    /// [`sync`](Self::sync), then every witness (another node of the same ledger) is
    /// asked for the blocks read (see [`sync_step_checked`](Self::sync_step_checked)).
    pub async fn sync_checked(
        &self,
        node: &LedgerNode,
        contract: Address,
        filter: &EventFilter,
        witnesses: &[LedgerNode],
    ) -> Result<SyncReport, LedgerError> {
        self.sync_step_checked(node, contract, filter, u64::MAX, witnesses)
            .await
    }

    /// [`sync`](Self::sync), reading at most `max_blocks` blocks past the cursor: a long
    /// read (a restore on a chain with a long history) goes in steps that each commit,
    /// so it reports progress between them, can stop after any, and resumes there.
    /// `to_block` is where this step ended; the cache is synced when it reaches `head`.
    pub async fn sync_step(
        &self,
        node: &LedgerNode,
        contract: Address,
        filter: &EventFilter,
        max_blocks: u64,
    ) -> Result<SyncReport, LedgerError> {
        self.sync_step_checked(node, contract, filter, max_blocks, &[])
            .await
    }

    /// [`sync_step`](Self::sync_step), then each of `witnesses` (the ledger's other
    /// nodes) is asked for the hash of this step's last block and of every cached block
    /// holding an event that it has not confirmed yet (the newest
    /// [`MAX_CHECKS_PER_STEP`] first), and its verdicts are stored (see
    /// [`agreements`](Self::agreements)). A witness that does not answer is a verdict
    /// ([`Verdict::Down`]), never an error of the sync.
    #[tracing::instrument(skip_all, fields(contract = %contract, filter = %filter.key(), max_blocks = max_blocks, witnesses = witnesses.len()))]
    pub async fn sync_step_checked(
        &self,
        node: &LedgerNode,
        contract: Address,
        filter: &EventFilter,
        max_blocks: u64,
        witnesses: &[LedgerNode],
    ) -> Result<SyncReport, LedgerError> {
        let result: Result<SyncReport, LedgerError> = async {
            let (mut report, chain_id, tip) = Box::pin(self.sync_here(
                node,
                contract,
                std::slice::from_ref(filter),
                max_blocks.max(1),
                false,
            ))
            .await?;
            if !witnesses.is_empty() {
                report.witness_checks = self
                    .check_witnesses(contract, filter, chain_id, tip, witnesses)
                    .await?;
            }
            Ok(report)
        }
        .await;
        if let Err(e) = &result {
            tracing::warn!(error = e.kind(), "event cache sync failed");
        }
        result
    }

    async fn sync_here(
        &self,
        node: &LedgerNode,
        contract: Address,
        filters: &[EventFilter],
        max_blocks: u64,
        retried: bool,
    ) -> Result<(SyncReport, u64, Option<(u64, B256)>), LedgerError> {
        let started = std::time::Instant::now();
        let status = node.status().await?;
        let (chain_id, node_head) = (status.chain_id, status.block_height);
        self.read_from(node, contract).await?;
        let mut filters = filters.to_vec();
        filters.sort_by_key(EventFilter::key);
        filters.dedup();
        let mut cursors = self.cursors(contract).await?;
        // Every cursor's block must still be on the node's chain: those of every filter
        // of the contract, not only the ones read now (their events are answered to any
        // filter). The lowest that is not is where a reorganisation is repaired from
        // (everything above the newest block still on the chain is dropped and read
        // again, for every filter).
        let mut reorg = None;
        let mut stale: Option<(u64, B256)> = None;
        let mut positions: Vec<(u64, B256)> = cursors.values().copied().collect();
        positions.sort();
        positions.dedup();
        let mut headers: HashMap<u64, Option<B256>> = HashMap::new();
        for (last, hash) in positions {
            let actual = match headers.get(&last) {
                Some(h) => *h,
                None => {
                    let h = node.header(last).await?.map(|h| h.hash);
                    headers.insert(last, h);
                    h
                }
            };
            if actual != Some(hash) {
                stale = Some((last, hash));
                break;
            }
        }
        if let Some((last, hash)) = stale {
            tracing::warn!(
                last_block = last,
                "a cached block left the node's chain: repairing a reorganisation"
            );
            let repaired = self.repair(node, contract, (last, hash)).await?;
            tracing::info!(
                old_head = last,
                common_ancestor = ?repaired.common_ancestor,
                dropped_events = repaired.dropped_events,
                "reorganisation repaired"
            );
            reorg = Some(repaired);
            // The repair lowered (or dropped) the cursors above the ancestor.
            cursors = self.cursors(contract).await?;
        }
        // Filters read from the same block are read together.
        let mut groups: BTreeMap<u64, Vec<EventFilter>> = BTreeMap::new();
        for filter in &filters {
            let from = cursors
                .get(&filter.key())
                .map_or(0, |(last, _)| last.saturating_add(1));
            groups.entry(from).or_default().push(*filter);
        }
        let lowest = groups.keys().next().copied().unwrap_or(0);
        // This step ends at the node's head or after `max_blocks`, whichever is first.
        let head = node_head.min(lowest.saturating_add(max_blocks - 1));
        let mut report = SyncReport {
            new_events: 0,
            from_block: lowest,
            to_block: head,
            head: node_head,
            reorg,
            rejected: Vec::new(),
            witness_checks: Vec::new(),
        };
        if groups.keys().all(|from| *from > head) {
            tracing::debug!(
                from_block = lowest,
                to_block = head,
                "the cache is up to date"
            );
            // The witnesses are still asked about the block read last (a fork at the head
            // is found even when another read brought the cursor there).
            let tip = filters
                .iter()
                .filter_map(|f| cursors.get(&f.key()))
                .max()
                .copied();
            return Ok((report, chain_id, tip));
        }
        let tip = node
            .header(head)
            .await?
            .ok_or_else(|| node.inconsistent(&format!("block {head} is missing")))?;
        let mut fetched_events = 0;
        for (from, group) in groups.into_iter().filter(|(from, _)| *from <= head) {
            let fetched = node.fetch_events_of(contract, from, head, &group).await?;
            if let Some((hash, _)) = fetched.blocks.get(&head) {
                if *hash != tip.hash {
                    return Err(node.inconsistent(&format!("block {head} changed during the sync")));
                }
            }
            // A block read now that the cache holds with another hash: the chain changed
            // under a filter that was not read (its cursor lies below). Repaired, and the
            // whole read planned again, once.
            if let Some(conflict) = self.conflicting_block(contract, &fetched).await? {
                if retried {
                    return Err(node.inconsistent("the chain keeps changing during the sync"));
                }
                tracing::warn!(block = conflict.0, "a cached block was replaced: repairing");
                self.repair(node, contract, conflict).await?;
                return Box::pin(self.sync_here(node, contract, &filters, max_blocks, true)).await;
            }
            fetched_events += fetched.events.len();
            report.new_events += self.store(contract, &fetched, &group, head, &tip).await?;
            report.rejected.extend(fetched.rejected);
        }
        tracing::info!(
            from_block = report.from_block,
            to_block = report.to_block,
            filters = filters.len(),
            fetched_events,
            new_events = report.new_events,
            rejected = report.rejected.len(),
            reorg_repaired = report.reorg.is_some(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "event cache synced"
        );
        if !report.rejected.is_empty() {
            tracing::warn!(
                rejected = report.rejected.len(),
                "logs kept out of the cache (sender not the actor, or undecodable)"
            );
        }
        Ok((report, chain_id, Some((head, tip.hash))))
    }

    /// Makes `node` the source of the contract's cache: the first node read keeps it; any
    /// other drops everything cached from the one before (events, blocks, cursors and the
    /// witnesses' verdicts about those blocks), so the cache is read again from it.
    async fn read_from(&self, node: &LedgerNode, contract: Address) -> Result<(), LedgerError> {
        let c = contract.as_slice();
        let url = node.url().as_str();
        let before: Option<String> =
            sqlx::query_scalar("SELECT node FROM sources WHERE contract = ?")
                .bind(c)
                .fetch_optional(&self.pool)
                .await?;
        if before.as_deref() == Some(url) {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        if before.is_some() {
            tracing::info!("another ledger node: the event cache is read again from it");
            for table in ["events", "blocks", "cursors", "witness_checks"] {
                sqlx::query(&format!("DELETE FROM {table} WHERE contract = ?"))
                    .bind(c)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        sqlx::query("INSERT OR REPLACE INTO sources (contract, node) VALUES (?, ?)")
            .bind(c)
            .bind(url)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The first block of `fetched` that the cache holds with another hash, as cached.
    async fn conflicting_block(
        &self,
        contract: Address,
        fetched: &FetchedEvents,
    ) -> Result<Option<(u64, B256)>, LedgerError> {
        for (n, (hash, _)) in &fetched.blocks {
            let cached: Option<Vec<u8>> =
                sqlx::query_scalar("SELECT hash FROM blocks WHERE contract = ? AND number = ?")
                    .bind(contract.as_slice())
                    .bind(i64n(*n))
                    .fetch_optional(&self.pool)
                    .await?;
            if let Some(cached) = cached {
                let cached = word(&cached, "blocks.hash")?;
                if cached != *hash {
                    return Ok(Some((*n, cached)));
                }
            }
        }
        Ok(None)
    }

    /// Every sync cursor of the contract, by filter key: the last block read and its
    /// hash.
    async fn cursors(
        &self,
        contract: Address,
    ) -> Result<HashMap<String, (u64, B256)>, LedgerError> {
        let rows =
            sqlx::query("SELECT filter, last_block, last_hash FROM cursors WHERE contract = ?")
                .bind(contract.as_slice())
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|row| {
                let key: String = row.try_get(0).map_err(|_| damaged("cursors.filter"))?;
                Ok((
                    key,
                    (
                        uint(row, 1, "cursors.last_block")?,
                        word_at(row, 2, "cursors.last_hash")?,
                    ),
                ))
            })
            .collect()
    }

    /// Stores what one read fetched, its blocks, and the cursors of `group` at `head`, in
    /// one transaction; answers how many events were new.
    async fn store(
        &self,
        contract: Address,
        fetched: &FetchedEvents,
        group: &[EventFilter],
        head: u64,
        tip: &RpcHeader,
    ) -> Result<u64, LedgerError> {
        let c = contract.as_slice();
        let mut new_events = 0;
        let mut tx = self.pool.begin().await?;
        for e in &fetched.events {
            let ev = &e.event;
            let topics: Vec<u8> = e.topics.iter().flat_map(|t| t.0).collect();
            let done = sqlx::query(
                "INSERT OR IGNORE INTO events (contract, block_number, block_hash, parent_hash, \
                 tx_hash, log_index, sender, block_time, kind, record_id, actor, owner, subject, \
                 topics, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(c)
            .bind(i64n(e.meta.block_number))
            .bind(e.meta.block_hash.as_slice())
            .bind(e.meta.parent_hash.as_slice())
            .bind(e.meta.tx_hash.as_slice())
            .bind(i64n(e.meta.log_index))
            .bind(e.meta.sender.as_slice())
            .bind(i64n(e.meta.block_time))
            .bind(ev.kind().as_str())
            .bind(ev.record_id().map(|r| r.to_vec()))
            .bind(ev.actor().as_slice())
            .bind(ev.owner().map(|a| a.to_vec()))
            .bind(ev.subject().map(|a| a.to_vec()))
            .bind(topics)
            .bind(e.data.as_ref())
            .execute(&mut *tx)
            .await?;
            new_events += done.rows_affected();
        }
        let blocks = fetched
            .blocks
            .iter()
            .map(|(n, (h, p))| (*n, *h, *p))
            .chain(std::iter::once((head, tip.hash, tip.parent_hash)));
        for (n, h, p) in blocks {
            sqlx::query(
                "INSERT OR REPLACE INTO blocks (contract, number, hash, parent_hash) VALUES (?, ?, ?, ?)",
            )
            .bind(c)
            .bind(i64n(n))
            .bind(h.as_slice())
            .bind(p.as_slice())
            .execute(&mut *tx)
            .await?;
        }
        for filter in group {
            sqlx::query(
                "INSERT OR REPLACE INTO cursors (contract, filter, last_block, last_hash) VALUES (?, ?, ?, ?)",
            )
            .bind(c)
            .bind(filter.key())
            .bind(i64n(head))
            .bind(tip.hash.as_slice())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(new_events)
    }

    /// Reads the events of every one of `filters` from its own cursor to the node's head
    /// (see [`sync`](Self::sync)): filters at the same cursor are read together, by lists
    /// of topics, so a doctor's twenty patients cost the queries of one. A filter never
    /// read starts at block 0; once read, each sync costs the blocks since, whatever the
    /// chain's length.
    #[tracing::instrument(skip_all, fields(contract = %contract, filters = filters.len()))]
    pub async fn sync_many(
        &self,
        node: &LedgerNode,
        contract: Address,
        filters: &[EventFilter],
    ) -> Result<SyncReport, LedgerError> {
        let result = self
            .sync_here_boxed(node, contract, filters)
            .await
            .map(|(report, _, _)| report);
        if let Err(e) = &result {
            tracing::warn!(error = e.kind(), "event cache sync failed");
        }
        result
    }

    /// [`sync_here`](Self::sync_here) on the heap: its state is large, and a use case
    /// deep in a debug build's stack awaits it.
    fn sync_here_boxed<'a>(
        &'a self,
        node: &'a LedgerNode,
        contract: Address,
        filters: &'a [EventFilter],
    ) -> BoxedSync<'a> {
        Box::pin(self.sync_here(node, contract, filters, u64::MAX, false))
    }

    /// The cursor of `filter`: the last block read, if it was ever read.
    pub async fn cursor(
        &self,
        contract: Address,
        filter: &EventFilter,
    ) -> Result<Option<u64>, LedgerError> {
        Ok(self
            .cursors(contract)
            .await?
            .get(&filter.key())
            .map(|(last, _)| *last))
    }

    /// Asks every witness about `tip` (a step's last block) and the cached event blocks it
    /// has not confirmed, and stores the verdicts.
    async fn check_witnesses(
        &self,
        contract: Address,
        filter: &EventFilter,
        chain_id: u64,
        tip: Option<(u64, B256)>,
        witnesses: &[LedgerNode],
    ) -> Result<Vec<WitnessCheck>, LedgerError> {
        let mut asks: Vec<(LedgerNode, Vec<(u64, B256)>)> = Vec::new();
        for w in witnesses {
            let label = w.label();
            if asks.iter().any(|(other, _)| other.label() == label) {
                continue;
            }
            let mut blocks = self.unconfirmed(contract, filter, &label).await?;
            if let Some(tip) = tip {
                if !blocks.iter().any(|(n, _)| *n == tip.0)
                    && !self.agreed(contract, &label, tip).await?
                {
                    blocks.insert(0, tip);
                }
            }
            asks.push((w.clone(), blocks));
        }
        let checks = witness::ask_all(chain_id, asks).await;
        self.store_checks(contract, &checks).await?;
        let count = |v: &str| checks.iter().filter(|c| c.verdict.as_str() == v).count();
        tracing::info!(
            agree = count("agree"),
            disagree = count("disagree"),
            not_yet = count("not_yet"),
            down = count("down"),
            "witnesses asked"
        );
        Ok(checks)
    }

    /// The cached blocks of `contract` holding events that `witness` has not confirmed
    /// (no verdict, or not `agree` on the hash cached), newest first, at most
    /// [`MAX_CHECKS_PER_STEP`].
    async fn unconfirmed(
        &self,
        contract: Address,
        filter: &EventFilter,
        witness: &str,
    ) -> Result<Vec<(u64, B256)>, LedgerError> {
        // Only blocks holding events of `filter`: the cache also holds other wallets'
        // events (a doctor's patients), which this filter's trail does not show.
        let (selects, key): (&str, Option<Vec<u8>>) = match filter {
            EventFilter::All => ("1 = 1", None),
            EventFilter::Record(id) => ("e.record_id = ?4", Some(id.to_vec())),
            EventFilter::Wallet(a) => (
                "(e.actor = ?4 OR e.owner = ?4 OR e.subject = ?4)",
                Some(a.to_vec()),
            ),
        };
        let rows = sqlx::query(&format!(
            "SELECT DISTINCT e.block_number, e.block_hash FROM events e \
             WHERE e.contract = ?1 AND {selects} AND NOT EXISTS (SELECT 1 FROM witness_checks w \
               WHERE w.contract = e.contract AND w.block_number = e.block_number \
               AND w.witness = ?2 AND w.our_hash = e.block_hash AND w.verdict = 'agree') \
             ORDER BY e.block_number DESC LIMIT ?3"
        ))
        .bind(contract.as_slice())
        .bind(witness)
        .bind(i64n(MAX_CHECKS_PER_STEP as u64))
        .bind(key)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    uint(row, 0, "events.block_number")?,
                    word_at(row, 1, "events.block_hash")?,
                ))
            })
            .collect()
    }

    /// Whether `witness` agreed on `block` (its number and the hash cached) already.
    async fn agreed(
        &self,
        contract: Address,
        witness: &str,
        block: (u64, B256),
    ) -> Result<bool, LedgerError> {
        let found: i64 = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM witness_checks WHERE contract = ? AND block_number = ? \
             AND witness = ? AND our_hash = ? AND verdict = 'agree')",
        )
        .bind(contract.as_slice())
        .bind(i64n(block.0))
        .bind(witness)
        .bind(block.1.as_slice())
        .fetch_one(&self.pool)
        .await?;
        Ok(found != 0)
    }

    /// Stores verdicts; a yes or no already stored for the same hash is not replaced by
    /// a "not yet" or "down" (a witness that disputed a block and then went down still
    /// disputes it).
    async fn store_checks(
        &self,
        contract: Address,
        checks: &[WitnessCheck],
    ) -> Result<(), LedgerError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut tx = self.pool.begin().await?;
        for c in checks {
            let (their_hash, their_head, error) = match &c.verdict {
                Verdict::Agrees => (None, None, None),
                Verdict::Disagrees { their_hash } => (Some(their_hash.to_vec()), None, None),
                Verdict::NotYet { their_head } => (None, Some(i64n(*their_head)), None),
                Verdict::Down { error } => (None, None, Some(error.as_str())),
            };
            sqlx::query(
                "INSERT INTO witness_checks (contract, block_number, witness, our_hash, verdict, \
                 their_hash, their_head, error, checked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (contract, block_number, witness) DO UPDATE SET \
                 our_hash = excluded.our_hash, verdict = excluded.verdict, \
                 their_hash = excluded.their_hash, their_head = excluded.their_head, \
                 error = excluded.error, checked_at = excluded.checked_at \
                 WHERE NOT (witness_checks.our_hash = excluded.our_hash \
                   AND witness_checks.verdict IN ('agree', 'disagree') \
                   AND excluded.verdict IN ('not_yet', 'down'))",
            )
            .bind(contract.as_slice())
            .bind(i64n(c.block_number))
            .bind(&c.witness)
            .bind(c.our_hash.as_slice())
            .bind(c.verdict.as_str())
            .bind(their_hash)
            .bind(their_head)
            .bind(error)
            .bind(i64n(now))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// What `witnesses` said about the cached blocks of `contract`, to look blocks up
    /// in ([`Agreements::block`]). Verdicts of nodes not in `witnesses` (no longer in the
    /// settings) are left out.
    pub async fn agreements(
        &self,
        contract: Address,
        witnesses: &[LedgerNode],
    ) -> Result<Agreements, LedgerError> {
        let labels = labels(witnesses);
        let rows = sqlx::query(
            "SELECT block_number, witness, our_hash, verdict, their_hash, their_head, error \
             FROM witness_checks WHERE contract = ?",
        )
        .bind(contract.as_slice())
        .fetch_all(&self.pool)
        .await?;
        agreements_of(&rows, labels)
    }

    /// How far one block (its number and the hash the caller holds, e.g. an event's
    /// [`EventMeta`]) is confirmed by `witnesses`: the count of agreeing nodes, 1 being the
    /// node read from alone, and the witnesses that hold another block there.
    pub async fn agreement(
        &self,
        contract: Address,
        block_number: u64,
        block_hash: B256,
        witnesses: &[LedgerNode],
    ) -> Result<BlockAgreement, LedgerError> {
        let labels = labels(witnesses);
        let rows = sqlx::query(
            "SELECT block_number, witness, our_hash, verdict, their_hash, their_head, error \
             FROM witness_checks WHERE contract = ? AND block_number = ?",
        )
        .bind(contract.as_slice())
        .bind(i64n(block_number))
        .fetch_all(&self.pool)
        .await?;
        Ok(agreements_of(&rows, labels)?.block(block_number, block_hash))
    }

    /// Finds the newest cached block of `contract` still on the node's chain and drops
    /// everything above it.
    #[tracing::instrument(skip_all, fields(old_head = old_head.0))]
    async fn repair(
        &self,
        node: &LedgerNode,
        contract: Address,
        old_head: (u64, B256),
    ) -> Result<ReorgInfo, LedgerError> {
        let c = contract.as_slice();
        let stored = sqlx::query(
            "SELECT number, hash FROM blocks WHERE contract = ? AND number <= ? ORDER BY number DESC",
        )
        .bind(c)
        .bind(i64n(old_head.0))
        .fetch_all(&self.pool)
        .await?;
        let mut ancestor = None;
        for row in stored {
            let n = uint(&row, 0, "blocks.number")?;
            let hash = word_at(&row, 1, "blocks.hash")?;
            if matches!(node.header(n).await?, Some(h) if h.hash == hash) {
                ancestor = Some((n, hash));
                break;
            }
        }
        let above = ancestor.map_or(-1, |(n, _)| i64n(n));
        let mut tx = self.pool.begin().await?;
        let dropped = sqlx::query("DELETE FROM events WHERE contract = ? AND block_number > ?")
            .bind(c)
            .bind(above)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query("DELETE FROM blocks WHERE contract = ? AND number > ?")
            .bind(c)
            .bind(above)
            .execute(&mut *tx)
            .await?;
        // Verdicts on blocks that left the chain are about hashes no longer cached.
        sqlx::query("DELETE FROM witness_checks WHERE contract = ? AND block_number > ?")
            .bind(c)
            .bind(above)
            .execute(&mut *tx)
            .await?;
        match ancestor {
            Some((n, hash)) => {
                sqlx::query(
                    "UPDATE cursors SET last_block = ?, last_hash = ? WHERE contract = ? AND last_block > ?",
                )
                .bind(i64n(n))
                .bind(hash.as_slice())
                .bind(c)
                .bind(i64n(n))
                .execute(&mut *tx)
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM cursors WHERE contract = ?")
                    .bind(c)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(ReorgInfo {
            old_head,
            common_ancestor: ancestor.map(|(n, _)| n),
            dropped_events: dropped,
        })
    }

    /// One record's trail, oldest first.
    pub async fn query(
        &self,
        contract: Address,
        record_id: B256,
    ) -> Result<Vec<(EventMeta, LedgerEvent)>, LedgerError> {
        let rows = sqlx::query(&format!(
            "{SELECT} WHERE contract = ? AND record_id = ? ORDER BY block_number, log_index"
        ))
        .bind(contract.as_slice())
        .bind(record_id.as_slice())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(decode_row).collect()
    }

    /// A wallet's history, oldest first: events where `wallet` is the actor, the
    /// record's owner or the subject, of the given kinds (all if `kinds` is empty).
    pub async fn query_wallet(
        &self,
        contract: Address,
        wallet: Address,
        kinds: &[EventKind],
    ) -> Result<Vec<(EventMeta, LedgerEvent)>, LedgerError> {
        let c = contract.as_slice();
        let w = wallet.as_slice();
        // A UNION lets SQLite use one index per branch.
        let rows = sqlx::query(&format!(
            "SELECT * FROM ({SELECT} WHERE contract = ?1 AND actor = ?2 \
             UNION {SELECT} WHERE contract = ?1 AND owner = ?2 \
             UNION {SELECT} WHERE contract = ?1 AND subject = ?2) \
             ORDER BY block_number, log_index"
        ))
        .bind(c)
        .bind(w)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let (meta, event) = decode_row(row)?;
            if kinds.is_empty() || kinds.contains(&event.kind()) {
                out.push((meta, event));
            }
        }
        Ok(out)
    }

    /// The cached events `filter` selects, oldest first, as read (with their raw logs).
    /// Call [`sync`](Self::sync) or [`sync_many`](Self::sync_many) for the filter first: the
    /// cache answers what it holds.
    pub async fn events(
        &self,
        contract: Address,
        filter: &EventFilter,
    ) -> Result<Vec<LoggedEvent>, LedgerError> {
        let c = contract.as_slice();
        let rows = match filter {
            EventFilter::All => {
                sqlx::query(&format!(
                    "{SELECT} WHERE contract = ? AND {ON_CHAIN} ORDER BY block_number, log_index"
                ))
                .bind(c)
                .fetch_all(&self.pool)
                .await?
            }
            EventFilter::Record(id) => {
                sqlx::query(&format!(
                    "{SELECT} WHERE contract = ? AND record_id = ? AND {ON_CHAIN} \
                     ORDER BY block_number, log_index"
                ))
                .bind(c)
                .bind(id.as_slice())
                .fetch_all(&self.pool)
                .await?
            }
            EventFilter::Wallet(w) => {
                sqlx::query(&format!(
                    "SELECT * FROM ({SELECT} WHERE contract = ?1 AND actor = ?2 AND {ON_CHAIN} \
                     UNION {SELECT} WHERE contract = ?1 AND owner = ?2 AND {ON_CHAIN} \
                     UNION {SELECT} WHERE contract = ?1 AND subject = ?2 AND {ON_CHAIN}) \
                     ORDER BY block_number, log_index"
                ))
                .bind(c)
                .bind(w.as_slice())
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter()
            .map(|row| {
                let (meta, event, topics, data) = decode_full(row)?;
                Ok(LoggedEvent {
                    meta,
                    event,
                    topics,
                    data: data.into(),
                })
            })
            .collect()
    }

    /// How many events of `contract` are cached.
    pub async fn count(&self, contract: Address) -> Result<u64, LedgerError> {
        let row = sqlx::query("SELECT COUNT(*) FROM events WHERE contract = ?")
            .bind(contract.as_slice())
            .fetch_one(&self.pool)
            .await?;
        uint(&row, 0, "events (count)")
    }
}

/// Each witness's label, once, in the order given.
pub(crate) fn labels(witnesses: &[LedgerNode]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in witnesses {
        let label = w.label();
        if !out.contains(&label) {
            out.push(label);
        }
    }
    out
}

/// One row of `witness_checks` (block_number, witness, our_hash, verdict, their_hash,
/// their_head, error): the block, the hash it was about and the verdict.
fn decode_check(row: &SqliteRow) -> Result<(u64, B256, Verdict), LedgerError> {
    let number = uint(row, 0, "witness_checks.block_number")?;
    let our_hash = word_at(row, 2, "witness_checks.our_hash")?;
    let verdict: String = row
        .try_get(3)
        .map_err(|_| damaged("witness_checks.verdict"))?;
    let verdict = match verdict.as_str() {
        "agree" => Verdict::Agrees,
        "disagree" => Verdict::Disagrees {
            their_hash: word_at(row, 4, "witness_checks.their_hash")?,
        },
        "not_yet" => Verdict::NotYet {
            their_head: uint(row, 5, "witness_checks.their_head")?,
        },
        "down" => Verdict::Down {
            error: row
                .try_get(6)
                .map_err(|_| damaged("witness_checks.error"))?,
        },
        _ => return Err(damaged("witness_checks.verdict is not a verdict")),
    };
    Ok((number, our_hash, verdict))
}

/// One row of [`SELECT`]. Every column is read with `try_get`: a damaged file gives
/// [`LedgerError::CacheDamaged`], never a panic.
pub(crate) fn decode_row(row: &SqliteRow) -> Result<(EventMeta, LedgerEvent), LedgerError> {
    decode_full(row).map(|(meta, event, _, _)| (meta, event))
}

/// [`decode_row`], with the raw topics and data.
fn decode_full(
    row: &SqliteRow,
) -> Result<(EventMeta, LedgerEvent, Vec<B256>, Vec<u8>), LedgerError> {
    let meta = EventMeta {
        block_number: uint(row, 0, "events.block_number")?,
        block_hash: word_at(row, 1, "events.block_hash")?,
        parent_hash: word_at(row, 2, "events.parent_hash")?,
        tx_hash: word_at(row, 3, "events.tx_hash")?,
        log_index: uint(row, 4, "events.log_index")?,
        sender: addr(blob(row, 5, "events.sender")?, "events.sender")?,
        block_time: uint(row, 6, "events.block_time")?,
    };
    let topics = blob(row, 7, "events.topics")?;
    let data = blob(row, 8, "events.data")?;
    let topics: Vec<B256> = topics
        .chunks(32)
        .map(|t| word(t, "events.topics"))
        .collect::<Result<_, _>>()?;
    let event = LedgerEvent::decode(&topics, data).ok_or_else(|| {
        damaged(format!(
            "the event in block {} no longer decodes",
            meta.block_number
        ))
    })?;
    Ok((meta, event, topics, data.to_vec()))
}

#[cfg(test)]
mod tests {
    use alloy::sol_types::SolEvent;

    use super::*;
    use crate::contract::MedwalletLedger;

    const CONTRACT: Address = Address::repeat_byte(0xc0);
    const ADMIN: Address = Address::repeat_byte(0xad);

    /// A cache in a temp file holding one well-formed `LedgerCreated` event, block 7.
    async fn cache_with_one_event() -> (tempfile::TempDir, EventCache) {
        let dir = tempfile::tempdir().unwrap();
        let cache = EventCache::open(&dir.path().join("events.sqlite"))
            .await
            .unwrap();
        let log = MedwalletLedger::LedgerCreated {
            admin: ADMIN,
            schemaVersion: 3,
        }
        .encode_log_data();
        let topics: Vec<u8> = log.topics().iter().flat_map(|t| t.0).collect();
        sqlx::query(
            "INSERT INTO events (contract, block_number, block_hash, parent_hash, tx_hash, \
             log_index, sender, block_time, kind, actor, topics, data) \
             VALUES (?, 7, ?, ?, ?, 0, ?, 1700000000, 'LedgerCreated', ?, ?, ?)",
        )
        .bind(CONTRACT.as_slice())
        .bind(B256::repeat_byte(1).as_slice())
        .bind(B256::repeat_byte(2).as_slice())
        .bind(B256::repeat_byte(3).as_slice())
        .bind(ADMIN.as_slice())
        .bind(ADMIN.as_slice())
        .bind(topics)
        .bind(log.data.as_ref())
        .execute(&cache.pool)
        .await
        .unwrap();
        (dir, cache)
    }

    async fn damage(cache: &EventCache, sql: &str) {
        sqlx::query(sql).execute(&cache.pool).await.unwrap();
    }

    fn damaged_where(err: LedgerError) -> String {
        match err {
            LedgerError::CacheDamaged { what } => what,
            other => panic!("expected CacheDamaged, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_sound_row_reads_back() {
        let (_dir, cache) = cache_with_one_event().await;
        let rows = cache.query_wallet(CONTRACT, ADMIN, &[]).await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].0.block_number, 7);
        assert_eq!(
            rows[0].1,
            LedgerEvent::LedgerCreated {
                admin: ADMIN,
                schema_version: 3
            }
        );
        assert_eq!(cache.count(CONTRACT).await.unwrap(), 1);
    }

    #[tokio::test]
    async fn text_in_an_integer_column_is_cache_damaged() {
        let (_dir, cache) = cache_with_one_event().await;
        // INTEGER affinity keeps a text that is not a number as TEXT.
        damage(&cache, "UPDATE events SET block_number = 'seven'").await;
        let err = cache.query_wallet(CONTRACT, ADMIN, &[]).await.unwrap_err();
        assert!(damaged_where(err).contains("events.block_number"));
    }

    #[tokio::test]
    async fn a_negative_or_real_number_is_cache_damaged() {
        let (_dir, cache) = cache_with_one_event().await;
        damage(&cache, "UPDATE events SET log_index = -1").await;
        let err = cache.query_wallet(CONTRACT, ADMIN, &[]).await.unwrap_err();
        assert!(damaged_where(err).contains("events.log_index"));
        damage(&cache, "UPDATE events SET log_index = 0, block_time = 1.5").await;
        let err = cache.query_wallet(CONTRACT, ADMIN, &[]).await.unwrap_err();
        assert!(damaged_where(err).contains("events.block_time"));
    }

    #[tokio::test]
    async fn a_short_hash_or_address_is_cache_damaged() {
        let (_dir, cache) = cache_with_one_event().await;
        damage(&cache, "UPDATE events SET tx_hash = X'0102'").await;
        let err = cache.query_wallet(CONTRACT, ADMIN, &[]).await.unwrap_err();
        assert!(damaged_where(err).contains("events.tx_hash"));
        damage(
            &cache,
            "UPDATE events SET tx_hash = zeroblob(32), sender = X'01'",
        )
        .await;
        let err = cache.query_wallet(CONTRACT, ADMIN, &[]).await.unwrap_err();
        assert!(damaged_where(err).contains("events.sender"));
    }

    #[tokio::test]
    async fn an_event_that_no_longer_decodes_is_cache_damaged() {
        let (_dir, cache) = cache_with_one_event().await;
        damage(&cache, "UPDATE events SET topics = zeroblob(32)").await;
        let err = cache.query_wallet(CONTRACT, ADMIN, &[]).await.unwrap_err();
        assert!(matches!(err, LedgerError::CacheDamaged { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn a_dropped_column_is_cache_damaged() {
        let (_dir, cache) = cache_with_one_event().await;
        damage(&cache, "ALTER TABLE events DROP COLUMN data").await;
        let err = cache.query_wallet(CONTRACT, ADMIN, &[]).await.unwrap_err();
        assert!(damaged_where(err).contains("data"));
    }

    #[tokio::test]
    async fn a_yes_or_no_outlives_a_later_down_and_a_bad_verdict_is_cache_damaged() {
        let (_dir, cache) = cache_with_one_event().await;
        let ours = B256::repeat_byte(1); // block 7's hash in the cache
        let check = |verdict| WitnessCheck {
            witness: "http://w".into(),
            block_number: 7,
            our_hash: ours,
            verdict,
        };
        let w = LedgerNode::new(&"http://w/".parse().unwrap());
        let disputed = Verdict::Disagrees {
            their_hash: B256::repeat_byte(9),
        };
        cache
            .store_checks(CONTRACT, &[check(disputed)])
            .await
            .unwrap();
        let down = Verdict::Down {
            error: "unreachable".into(),
        };
        cache.store_checks(CONTRACT, &[check(down)]).await.unwrap();
        let a = cache
            .agreement(CONTRACT, 7, ours, std::slice::from_ref(&w))
            .await
            .unwrap();
        assert!(a.is_disputed(), "{a:?}");
        // A dispute is asked again; an agreement is not.
        assert_eq!(
            cache
                .unconfirmed(CONTRACT, &EventFilter::All, "http://w")
                .await
                .unwrap(),
            vec![(7, ours)]
        );
        cache
            .store_checks(CONTRACT, &[check(Verdict::Agrees)])
            .await
            .unwrap();
        let a = cache
            .agreement(CONTRACT, 7, ours, std::slice::from_ref(&w))
            .await
            .unwrap();
        assert_eq!((a.nodes_agreeing, a.nodes_asked), (2, 2));
        assert!(cache
            .unconfirmed(CONTRACT, &EventFilter::All, "http://w")
            .await
            .unwrap()
            .is_empty());
        assert_eq!(
            cache
                .unconfirmed(CONTRACT, &EventFilter::All, "http://other")
                .await
                .unwrap(),
            vec![(7, ours)]
        );

        damage(&cache, "UPDATE witness_checks SET verdict = 'maybe'").await;
        let err = cache.agreements(CONTRACT, &[w]).await.unwrap_err();
        assert!(damaged_where(err).contains("witness_checks.verdict"));
    }

    #[tokio::test]
    async fn a_file_that_is_not_a_database_is_cache_damaged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.sqlite");
        std::fs::write(&path, vec![0x5a; 8192]).unwrap();
        let err = EventCache::open(&path).await.unwrap_err();
        assert!(matches!(err, LedgerError::CacheDamaged { .. }), "{err:?}");
    }
}
