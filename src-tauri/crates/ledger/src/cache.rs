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
    /// The last block read (the node's head).
    pub to_block: u64,
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

fn word(b: &[u8]) -> Result<B256, LedgerError> {
    B256::try_from(b).map_err(|_| LedgerError::Cache {
        detail: "a stored hash is not 32 bytes".into(),
    })
}

fn addr(b: &[u8]) -> Result<Address, LedgerError> {
    Address::try_from(b).map_err(|_| LedgerError::Cache {
        detail: "a stored address is not 20 bytes".into(),
    })
}

fn n64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
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
        let head = node.status().await?.block_height;
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
            let last = n64(row.get(0));
            let hash = word(row.get::<&[u8], _>(1))?;
            match node.header(last).await? {
                Some(h) if h.hash == hash => from = last + 1,
                _ => {
                    reorg = Some(self.repair(node, contract, (last, hash)).await?);
                    // The repair lowered (or dropped) this filter's cursor.
                    if let Some(row) = sqlx::query(
                        "SELECT last_block FROM cursors WHERE contract = ? AND filter = ?",
                    )
                    .bind(contract.as_slice())
                    .bind(&key)
                    .fetch_optional(&self.pool)
                    .await?
                    {
                        from = n64(row.get(0)) + 1;
                    } else {
                        from = 0;
                    }
                }
            }
        }
        let mut report = SyncReport {
            new_events: 0,
            from_block: from,
            to_block: head,
            reorg,
            rejected: Vec::new(),
        };
        if from > head {
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
        Ok(report)
    }

    /// Finds the newest cached block of `contract` still on the node's chain and drops
    /// everything above it.
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
            let n = n64(row.get(0));
            let hash = word(row.get::<&[u8], _>(1))?;
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
        Ok(n64(row.get(0)))
    }
}

fn decode_row(row: &SqliteRow) -> Result<(EventMeta, LedgerEvent), LedgerError> {
    let meta = EventMeta {
        block_number: n64(row.get(0)),
        block_hash: word(row.get::<&[u8], _>(1))?,
        parent_hash: word(row.get::<&[u8], _>(2))?,
        tx_hash: word(row.get::<&[u8], _>(3))?,
        log_index: n64(row.get(4)),
        sender: addr(row.get::<&[u8], _>(5))?,
        block_time: n64(row.get(6)),
    };
    let topics: &[u8] = row.get(7);
    let data: &[u8] = row.get(8);
    let topics: Vec<B256> = topics.chunks(32).map(word).collect::<Result<_, _>>()?;
    let event = LedgerEvent::decode(&topics, data).ok_or_else(|| LedgerError::Cache {
        detail: format!(
            "a cached event in block {} no longer decodes; delete the cache to rebuild it",
            meta.block_number
        ),
    })?;
    Ok((meta, event))
}
