//! The ledger's events in SQLite: synced incrementally, checked, reorgs repaired.

use std::path::Path;

use alloy::primitives::{Address, B256};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions, SqliteRow};
use sqlx::Row;

use crate::events::{EventFilter, EventKind, EventMeta, LedgerEvent, RejectedEvent};
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
}

/// The event cache: one SQLite file, any number of contracts and filters.
#[derive(Debug, Clone)]
pub struct EventCache {
    pool: SqlitePool,
}

fn damaged(what: impl Into<String>) -> LedgerError {
    let what = what.into();
    tracing::warn!(what = %what, "the ledger event cache is damaged");
    LedgerError::CacheDamaged { what }
}

/// An INTEGER column (a block number, an index, a time, a count): never negative.
/// `what` names the table and column.
fn uint(row: &SqliteRow, index: usize, what: &str) -> Result<u64, LedgerError> {
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

fn i64n(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

const SELECT: &str = "SELECT block_number, block_hash, parent_hash, tx_hash, log_index, sender, \
     block_time, topics, data FROM events";

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
        self.sync_step(node, contract, filter, u64::MAX).await
    }

    /// [`sync`](Self::sync), reading at most `max_blocks` blocks past the cursor: a long
    /// read (a restore on a chain with a long history) goes in steps that each commit,
    /// so it reports progress between them, can stop after any, and resumes there.
    /// `to_block` is where this step ended; the cache is synced when it reaches `head`.
    #[tracing::instrument(skip_all, fields(contract = %contract, filter = %filter.key(), max_blocks = max_blocks))]
    pub async fn sync_step(
        &self,
        node: &LedgerNode,
        contract: Address,
        filter: &EventFilter,
        max_blocks: u64,
    ) -> Result<SyncReport, LedgerError> {
        let result = self
            .sync_here(node, contract, filter, max_blocks.max(1))
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
        filter: &EventFilter,
        max_blocks: u64,
    ) -> Result<SyncReport, LedgerError> {
        let started = std::time::Instant::now();
        let node_head = node.status().await?.block_height;
        let key = filter.key();
        let cursor = sqlx::query(
            "SELECT last_block, last_hash FROM cursors WHERE contract = ? AND filter = ?",
        )
        .bind(contract.as_slice())
        .bind(&key)
        .fetch_optional(&self.pool)
        .await?;
        let mut from = 0;
        let mut reorg = None;
        if let Some(row) = cursor {
            let last = uint(&row, 0, "cursors.last_block")?;
            let hash = word_at(&row, 1, "cursors.last_hash")?;
            match node.header(last).await? {
                Some(h) if h.hash == hash => from = last + 1,
                _ => {
                    tracing::warn!(
                        last_block = last,
                        "the cached head left the node's chain: repairing a reorganisation"
                    );
                    let repaired = self.repair(node, contract, (last, hash)).await?;
                    tracing::info!(
                        old_head = last,
                        common_ancestor = ?repaired.common_ancestor,
                        dropped_events = repaired.dropped_events,
                        "reorganisation repaired"
                    );
                    reorg = Some(repaired);
                    // The repair lowered (or dropped) this filter's cursor.
                    if let Some(row) = sqlx::query(
                        "SELECT last_block FROM cursors WHERE contract = ? AND filter = ?",
                    )
                    .bind(contract.as_slice())
                    .bind(&key)
                    .fetch_optional(&self.pool)
                    .await?
                    {
                        from = uint(&row, 0, "cursors.last_block")?.saturating_add(1);
                    } else {
                        from = 0;
                    }
                }
            }
        }
        // This step ends at the node's head or after `max_blocks`, whichever is first.
        let head = node_head.min(from.saturating_add(max_blocks - 1));
        let mut report = SyncReport {
            new_events: 0,
            from_block: from,
            to_block: head,
            head: node_head,
            reorg,
            rejected: Vec::new(),
        };
        if from > head {
            tracing::debug!(
                from_block = from,
                to_block = head,
                "the cache is up to date"
            );
            return Ok(report);
        }
        let fetched = node.fetch_events(contract, from, head, filter).await?;
        let tip = node
            .header(head)
            .await?
            .ok_or_else(|| node.inconsistent(&format!("block {head} is missing")))?;
        if let Some((hash, _)) = fetched.blocks.get(&head) {
            if *hash != tip.hash {
                return Err(node.inconsistent(&format!("block {head} changed during the sync")));
            }
        }

        let c = contract.as_slice();
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
            report.new_events += done.rows_affected();
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
        sqlx::query(
            "INSERT OR REPLACE INTO cursors (contract, filter, last_block, last_hash) VALUES (?, ?, ?, ?)",
        )
        .bind(c)
        .bind(&key)
        .bind(i64n(head))
        .bind(tip.hash.as_slice())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        report.rejected = fetched.rejected;
        tracing::info!(
            from_block = report.from_block,
            to_block = report.to_block,
            fetched_events = fetched.events.len(),
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
        Ok(report)
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

    /// How many events of `contract` are cached.
    pub async fn count(&self, contract: Address) -> Result<u64, LedgerError> {
        let row = sqlx::query("SELECT COUNT(*) FROM events WHERE contract = ?")
            .bind(contract.as_slice())
            .fetch_one(&self.pool)
            .await?;
        uint(&row, 0, "events (count)")
    }
}

/// One row of [`SELECT`]. Every column is read with `try_get`: a damaged file gives
/// [`LedgerError::CacheDamaged`], never a panic.
fn decode_row(row: &SqliteRow) -> Result<(EventMeta, LedgerEvent), LedgerError> {
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
    Ok((meta, event))
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
    async fn a_file_that_is_not_a_database_is_cache_damaged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.sqlite");
        std::fs::write(&path, vec![0x5a; 8192]).unwrap();
        let err = EventCache::open(&path).await.unwrap_err();
        assert!(matches!(err, LedgerError::CacheDamaged { .. }), "{err:?}");
    }
}
