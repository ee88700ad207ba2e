//! A wallet's trail from the event cache, a page at a time: selected, filtered, ordered
//! (newest first) and counted by SQLite through the indexes of migration 0004, so a
//! trail of 100,000 events is never read whole to show 100 of them.
//!
//! Each filter has an index in the trail's order (block, then log index) and the query
//! names it (`INDEXED BY`): without statistics, SQLite would otherwise walk the widest
//! index for a filter that selects a handful of events. A page is read in two steps: the
//! row ids of the page from the index (no blob is touched for the rows skipped), then
//! those rows. Like every read of the cache, a page or a count answers only events of the
//! blocks cached at their heights (`ON_CHAIN`): each row the index selects has its block
//! hash read and looked up by the blocks' key, so no index covers a count any more.

use alloy::primitives::{Address, B256};
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::Sqlite;

use crate::cache::{agreements_of, decode_row, i64n, labels, uint, EventCache, ON_CHAIN, SELECT};
use crate::events::{EventKind, EventMeta, LedgerEvent};
use crate::witness::Agreements;
use crate::{LedgerError, LedgerNode};

/// Which of a wallet's cached events a page of its trail selects. Every field narrows
/// the selection; the default selects every event of the wallet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrailFilter {
    /// Only events of these kinds (empty: any kind).
    pub kinds: Vec<EventKind>,
    /// Never events of these kinds.
    pub without: Vec<EventKind>,
    /// Only events about this record.
    pub record: Option<B256>,
    /// Only events whose actor is this address.
    pub actor: Option<Address>,
    /// Only events in blocks made at or after this time (unix seconds).
    pub from_time: Option<u64>,
    /// Only events in blocks made before this time (unix seconds).
    pub before_time: Option<u64>,
}

/// A position in the trail's order: an event's block and its log index there. A reader of
/// the whole trail pages by it ([`EventCache::trail_page_before`]), never by an offset: the
/// cache may be written between two pages (the background pass syncs every few seconds),
/// which shifts every offset, and an export would repeat or skip entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TrailKey {
    /// The block.
    pub block_number: u64,
    /// The event's index among the block's logs.
    pub log_index: u64,
}

impl TrailKey {
    /// After every event of block `number` and of the blocks before it: where a read of
    /// the whole trail as of the block synced starts (an event of a later block, cached
    /// while it goes on, is not in it).
    pub fn after_block(number: u64) -> Self {
        Self {
            block_number: number,
            log_index: u64::MAX,
        }
    }

    /// The position of the event of `meta`: the next page starts just before it.
    pub fn of(meta: &EventMeta) -> Self {
        Self {
            block_number: meta.block_number,
            log_index: meta.log_index,
        }
    }
}

/// A value bound to a `?` of a trail query, in order.
enum Bind {
    Blob(Vec<u8>),
    Text(&'static str),
    Int(i64),
}

/// The index a selection is read through, its `WHERE` clause and what it binds.
struct Selection {
    index: &'static str,
    clause: String,
    binds: Vec<Bind>,
}

impl Selection {
    fn of(contract: Address, wallet: Address, filter: &TrailFilter) -> Selection {
        let w = wallet.to_vec();
        // The `+` keeps SQLite from answering the wallet's three columns through their
        // own indexes and sorting the union: the page's index is walked instead.
        let mut clause =
            String::from("contract = ? AND (+actor = ? OR +owner = ? OR +subject = ?)");
        let mut binds = vec![
            Bind::Blob(contract.to_vec()),
            Bind::Blob(w.clone()),
            Bind::Blob(w.clone()),
            Bind::Blob(w),
        ];
        let mut kinds = |clause: &mut String, kinds: &[EventKind], not: &str| {
            if !kinds.is_empty() {
                let marks = vec!["?"; kinds.len()].join(", ");
                clause.push_str(&format!(" AND kind {not}IN ({marks})"));
                binds.extend(kinds.iter().map(|k| Bind::Text(k.as_str())));
            }
        };
        kinds(&mut clause, &filter.kinds, "");
        kinds(&mut clause, &filter.without, "NOT ");
        if let Some(record) = filter.record {
            clause.push_str(" AND record_id = ?");
            binds.push(Bind::Blob(record.to_vec()));
        }
        if let Some(actor) = filter.actor {
            clause.push_str(" AND actor = ?");
            binds.push(Bind::Blob(actor.to_vec()));
        }
        if let Some(from) = filter.from_time {
            clause.push_str(" AND block_time >= ?");
            binds.push(Bind::Int(i64n(from)));
        }
        if let Some(before) = filter.before_time {
            clause.push_str(" AND block_time < ?");
            binds.push(Bind::Int(i64n(before)));
        }
        // Only events of the blocks cached at their heights, as every read of the cache
        // answers (a row of a replaced block is never shown, counted or exported).
        clause.push_str(" AND ");
        clause.push_str(ON_CHAIN);
        // The most selective filter's index, each in the trail's order.
        let index = if filter.record.is_some() {
            "events_by_record"
        } else if filter.actor.is_some() {
            "events_by_actor"
        } else if !filter.kinds.is_empty() {
            "events_by_kind"
        } else {
            "events_in_order"
        };
        Selection {
            index,
            clause,
            binds,
        }
    }

    /// Narrows the selection to the events before `key` in the trail's order. A row
    /// value, in the index's own order: the page's index is searched from the key down.
    fn before(&mut self, key: TrailKey) {
        self.clause
            .push_str(" AND (block_number, log_index) < (?, ?)");
        self.binds.push(Bind::Int(i64n(key.block_number)));
        self.binds.push(Bind::Int(i64n(key.log_index)));
    }

    fn bind<'q>(
        &'q self,
        mut query: sqlx::query::Query<'q, Sqlite, SqliteArguments<'q>>,
    ) -> sqlx::query::Query<'q, Sqlite, SqliteArguments<'q>> {
        for b in &self.binds {
            query = match b {
                Bind::Blob(v) => query.bind(v.as_slice()),
                Bind::Text(t) => query.bind(*t),
                Bind::Int(n) => query.bind(*n),
            };
        }
        query
    }
}

impl EventCache {
    /// How many cached events of `wallet` (its actor, its records' owner or their
    /// subject) `filter` selects.
    pub async fn trail_count(
        &self,
        contract: Address,
        wallet: Address,
        filter: &TrailFilter,
    ) -> Result<u64, LedgerError> {
        let s = Selection::of(contract, wallet, filter);
        let sql = format!(
            "SELECT COUNT(*) FROM events INDEXED BY {} WHERE {}",
            s.index, s.clause
        );
        let row = s.bind(sqlx::query(&sql)).fetch_one(&self.pool).await?;
        uint(&row, 0, "events (count)")
    }

    /// The cached events of `wallet` that `filter` selects, newest first (by block, then
    /// log index), from the `offset`-th to at most `limit` of them: a page to show. A
    /// reader of the whole trail pages with [`trail_page_before`](Self::trail_page_before).
    pub async fn trail_page(
        &self,
        contract: Address,
        wallet: Address,
        filter: &TrailFilter,
        offset: u64,
        limit: u32,
    ) -> Result<Vec<(EventMeta, LedgerEvent)>, LedgerError> {
        self.page(contract, wallet, filter, None, offset, limit)
            .await
    }

    /// The cached events of `wallet` that `filter` selects and that come before `before`
    /// in the trail's order, newest first, at most `limit` of them. A whole trail is read
    /// from [`TrailKey::after_block`] of the block synced, each next page before the last
    /// event of the page before ([`TrailKey::of`]): events cached meanwhile move no page.
    pub async fn trail_page_before(
        &self,
        contract: Address,
        wallet: Address,
        filter: &TrailFilter,
        before: TrailKey,
        limit: u32,
    ) -> Result<Vec<(EventMeta, LedgerEvent)>, LedgerError> {
        self.page(contract, wallet, filter, Some(before), 0, limit)
            .await
    }

    async fn page(
        &self,
        contract: Address,
        wallet: Address,
        filter: &TrailFilter,
        before: Option<TrailKey>,
        offset: u64,
        limit: u32,
    ) -> Result<Vec<(EventMeta, LedgerEvent)>, LedgerError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut s = Selection::of(contract, wallet, filter);
        if let Some(key) = before {
            s.before(key);
        }
        let sql = format!(
            "{SELECT} WHERE rowid IN (SELECT rowid FROM events INDEXED BY {} WHERE {} \
             ORDER BY block_number DESC, log_index DESC LIMIT ? OFFSET ?) \
             ORDER BY block_number DESC, log_index DESC",
            s.index, s.clause
        );
        let rows: Vec<SqliteRow> = s
            .bind(sqlx::query(&sql))
            .bind(i64::from(limit))
            .bind(i64n(offset))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(decode_row).collect()
    }

    /// What `witnesses` said about the cached blocks `blocks` of `contract` (a page's
    /// blocks), to look them up in ([`Agreements::block`]).
    pub async fn agreements_at(
        &self,
        contract: Address,
        witnesses: &[LedgerNode],
        blocks: &[u64],
    ) -> Result<Agreements, LedgerError> {
        let labels = labels(witnesses);
        let mut blocks: Vec<u64> = blocks.to_vec();
        blocks.sort_unstable();
        blocks.dedup();
        if labels.is_empty() || blocks.is_empty() {
            return agreements_of(&[], labels);
        }
        let mut rows = Vec::new();
        // Well under SQLite's limit of bound values per statement.
        for chunk in blocks.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let sql = format!(
                "SELECT block_number, witness, our_hash, verdict, their_hash, their_head, error \
                 FROM witness_checks WHERE contract = ? AND block_number IN ({marks})"
            );
            let mut query = sqlx::query(&sql).bind(contract.as_slice());
            for n in chunk {
                query = query.bind(i64n(*n));
            }
            rows.extend(query.fetch_all(&self.pool).await?);
        }
        agreements_of(&rows, labels)
    }

    /// The newest block of `contract` holding a cached event, if any.
    pub async fn newest_block(&self, contract: Address) -> Result<Option<u64>, LedgerError> {
        let row = sqlx::query("SELECT MAX(block_number) FROM events WHERE contract = ?")
            .bind(contract.as_slice())
            .fetch_one(&self.pool)
            .await?;
        let n: Option<i64> = sqlx::Row::try_get(&row, 0)
            .map_err(|_| crate::cache::damaged("events.block_number (newest)"))?;
        n.map(|n| {
            u64::try_from(n).map_err(|_| crate::cache::damaged("events.block_number is negative"))
        })
        .transpose()
    }
}

#[cfg(test)]
mod tests {
    use alloy::sol_types::SolEvent;

    use super::*;
    use crate::contract::MedwalletLedger;

    const CONTRACT: Address = Address::repeat_byte(0xc0);
    const ME: Address = Address::repeat_byte(0xaa);

    /// Caches a `LedgerCreated` event of `ME` in block `number` with hash `hash`, at
    /// `log_index`.
    async fn event(cache: &EventCache, number: i64, hash: B256, log_index: i64) {
        let log = MedwalletLedger::LedgerCreated {
            admin: ME,
            schemaVersion: 7,
        }
        .encode_log_data();
        let topics: Vec<u8> = log.topics().iter().flat_map(|t| t.0).collect();
        sqlx::query(
            "INSERT INTO events (contract, block_number, block_hash, parent_hash, tx_hash, \
             log_index, sender, block_time, kind, actor, topics, data) \
             VALUES (?, ?, ?, ?, ?, ?, ?, 1700000000, 'LedgerCreated', ?, ?, ?)",
        )
        .bind(CONTRACT.as_slice())
        .bind(number)
        .bind(hash.as_slice())
        .bind(B256::repeat_byte(2).as_slice())
        .bind(B256::repeat_byte(3).as_slice())
        .bind(log_index)
        .bind(ME.as_slice())
        .bind(ME.as_slice())
        .bind(topics)
        .bind(log.data.as_ref())
        .execute(&cache.pool)
        .await
        .unwrap();
    }

    async fn block(cache: &EventCache, number: i64, hash: B256) {
        sqlx::query("INSERT INTO blocks (contract, number, hash, parent_hash) VALUES (?, ?, ?, ?)")
            .bind(CONTRACT.as_slice())
            .bind(number)
            .bind(hash.as_slice())
            .bind(B256::repeat_byte(2).as_slice())
            .execute(&cache.pool)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn an_event_of_a_block_not_cached_at_its_height_is_neither_paged_nor_counted() {
        let dir = tempfile::tempdir().unwrap();
        let cache = EventCache::open(&dir.path().join("events.sqlite"))
            .await
            .unwrap();
        let (cached, replaced, unknown) = (
            B256::repeat_byte(0x07),
            B256::repeat_byte(0x70),
            B256::repeat_byte(0x08),
        );
        block(&cache, 7, cached).await;
        event(&cache, 7, cached, 0).await;
        // Left over from the block 7 replaced, and from a block 8 never cached.
        event(&cache, 7, replaced, 0).await;
        event(&cache, 7, replaced, 1).await;
        event(&cache, 8, unknown, 0).await;

        let all = TrailFilter::default();
        assert_eq!(cache.trail_count(CONTRACT, ME, &all).await.unwrap(), 1);
        let page = cache.trail_page(CONTRACT, ME, &all, 0, 10).await.unwrap();
        assert_eq!(
            page.iter()
                .map(|(m, _)| (m.block_number, m.block_hash))
                .collect::<Vec<_>>(),
            [(7, cached)]
        );
        // Each filter's index answers the same.
        let filters = [
            TrailFilter {
                kinds: vec![EventKind::LedgerCreated],
                ..Default::default()
            },
            TrailFilter {
                actor: Some(ME),
                ..Default::default()
            },
            TrailFilter {
                from_time: Some(1),
                ..Default::default()
            },
        ];
        for filter in &filters {
            assert_eq!(cache.trail_count(CONTRACT, ME, filter).await.unwrap(), 1);
            assert_eq!(
                cache
                    .trail_page(CONTRACT, ME, filter, 0, 10)
                    .await
                    .unwrap()
                    .len(),
                1,
                "{filter:?}"
            );
        }
    }

    #[tokio::test]
    async fn the_trails_queries_walk_their_filters_index() {
        let dir = tempfile::tempdir().unwrap();
        let cache = EventCache::open(&dir.path().join("events.sqlite"))
            .await
            .unwrap();
        let record = B256::repeat_byte(0x11);
        let cases = [
            (TrailFilter::default(), "events_in_order"),
            (
                TrailFilter {
                    kinds: vec![EventKind::RecordAccessed],
                    ..Default::default()
                },
                "events_by_kind",
            ),
            (
                TrailFilter {
                    actor: Some(ME),
                    ..Default::default()
                },
                "events_by_actor",
            ),
            (
                TrailFilter {
                    record: Some(record),
                    ..Default::default()
                },
                "events_by_record",
            ),
        ];
        let keyed = cases.clone().map(|(filter, index)| (filter, index, true));
        for (filter, index, by_key) in cases
            .map(|(filter, index)| (filter, index, false))
            .into_iter()
            .chain(keyed)
        {
            let mut s = Selection::of(CONTRACT, ME, &filter);
            if by_key {
                s.before(TrailKey::after_block(7));
            }
            let sql = format!(
                "EXPLAIN QUERY PLAN SELECT rowid FROM events INDEXED BY {} WHERE {} \
                 ORDER BY block_number DESC, log_index DESC LIMIT 10",
                s.index, s.clause
            );
            let plan: Vec<String> = s
                .bind(sqlx::query(&sql))
                .fetch_all(&cache.pool)
                .await
                .unwrap()
                .iter()
                .map(|r| sqlx::Row::get::<String, _>(r, "detail"))
                .collect();
            let plan = plan.join(" | ");
            // The filter's index is searched in the trail's order (no sort), and the block
            // of each event found by the blocks' key.
            assert!(
                plan.contains(&format!("INDEX {index} (contract=?")),
                "{plan}"
            );
            assert!(!plan.contains("TEMP B-TREE"), "{plan}");
            if by_key {
                assert!(plan.contains("(block_number,log_index)<(?,?))"), "{plan}");
            }
            assert!(plan.contains("sqlite_autoindex_blocks_1"), "{plan}");
        }
    }
}
