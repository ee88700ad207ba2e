//! What the Records page reads of `records.sqlite` (migration `0016_list_pages.sql`):
//! when the set of record versions last changed, each record's latest version, the rows
//! of one page, and the counts the page shows about every record (kept on this device,
//! held by one node only), all answered by SQLite's indexes. Nothing here decrypts: the
//! sealed parts are opened by `records::list`.

use std::collections::{HashMap, HashSet};

use sqlx::Row;

use super::{read_row, RecordStore, Result, StoredRecord};

/// Values bound per statement (well under SQLite's limit).
const IDS_PER_QUERY: usize = 500;

/// A record version's columns, as `read_row` reads them.
const ROW: &str = "SELECT record_id, version, sealed_dek, manifest, content_cid, manifest_cid, \
     capsule_cid, state, problem, added_at, ledger_tx, ledger_block, ledger_problem FROM records";

/// "This version is its record's latest", for a row aliased `r`.
const LATEST: &str =
    "NOT EXISTS (SELECT 1 FROM records n WHERE n.record_id = r.record_id AND n.version > r.version)";

/// Records kept on this device: how many, and why the newest waits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LocalOnly {
    /// Latest versions on this device only, not being uploaded now.
    pub waiting: u32,
    /// Latest versions being uploaded now.
    pub uploading: u32,
    /// Why the newest one not uploading waits.
    pub reason: Option<String>,
}

impl RecordStore {
    /// A number that changes whenever a record version is added or removed (triggers of
    /// migration 0016): an index of the versions built at one value is complete until the
    /// value changes.
    pub(crate) async fn generation(&self) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT n FROM records_generation WHERE id = 1")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Each record's latest version: (record id, version).
    pub(crate) async fn latest_versions(&self) -> Result<Vec<(String, u32)>> {
        let rows = sqlx::query("SELECT record_id, MAX(version) FROM records GROUP BY record_id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }

    /// The rows of the record versions `wanted` (those that exist), in no order. Read by
    /// record id (the primary key's first column; a pair of values would scan the table).
    pub(crate) async fn versions_of(&self, wanted: &[(String, u32)]) -> Result<Vec<StoredRecord>> {
        let set: HashSet<(&str, u32)> = wanted.iter().map(|(id, v)| (id.as_str(), *v)).collect();
        let mut ids: Vec<&str> = set.iter().map(|(id, _)| *id).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut out = Vec::with_capacity(wanted.len());
        for chunk in ids.chunks(IDS_PER_QUERY) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let sql = format!("{ROW} WHERE record_id IN ({marks})");
            let mut query = sqlx::query(&sql);
            for id in chunk {
                query = query.bind(*id);
            }
            for row in query.fetch_all(&self.pool).await? {
                let row = read_row(&row)?;
                if set.contains(&(row.record_id.as_str(), row.version)) {
                    out.push(row);
                }
            }
        }
        Ok(out)
    }

    /// Every record's latest version's row (one pass over the table: for an index read
    /// from nothing).
    pub(crate) async fn latest_rows(&self) -> Result<Vec<StoredRecord>> {
        let rows = sqlx::query(&format!("{ROW} AS r WHERE {LATEST}"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(read_row).collect()
    }

    /// The records whose latest version is on this device only; `uploading` are the
    /// versions being uploaded now (shown as such, not as waiting).
    pub(crate) async fn local_only(&self, uploading: &HashSet<(String, u32)>) -> Result<LocalOnly> {
        let local: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM records r INDEXED BY records_by_state \
             WHERE r.state = 'local' AND {LATEST}"
        ))
        .fetch_one(&self.pool)
        .await?;
        let local = u32::try_from(local).unwrap_or(u32::MAX);
        // The newest ones: enough to find one that is not uploading.
        let newest = sqlx::query(&format!(
            "SELECT r.record_id, r.version, r.problem FROM records r INDEXED BY records_by_state \
             WHERE r.state = 'local' AND {LATEST} ORDER BY r.added_at DESC, r.record_id LIMIT ?"
        ))
        .bind(i64::try_from(uploading.len() + 1).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        let mut reason = None;
        for row in &newest {
            let key: (String, u32) = (row.try_get(0)?, row.try_get(1)?);
            if !uploading.contains(&key) {
                let problem: Option<String> = row.try_get(2)?;
                reason = Some(problem.unwrap_or_else(|| "Waiting for the IPFS node.".to_owned()));
                break;
            }
        }
        let mut now = 0u32;
        for (record_id, version) in uploading {
            let is_local_latest: i64 = sqlx::query_scalar(&format!(
                "SELECT COUNT(*) FROM records r WHERE r.record_id = ? AND r.version = ? \
                 AND r.state = 'local' AND {LATEST}"
            ))
            .bind(record_id)
            .bind(*version)
            .fetch_one(&self.pool)
            .await?;
            if is_local_latest > 0 {
                now += 1;
            }
        }
        Ok(LocalOnly {
            waiting: local.saturating_sub(now),
            uploading: now,
            reason,
        })
    }

    /// How many records whose latest version is on IPFS no replica in `replicas` (keys as
    /// the settings name them) confirmed holding all three objects of: held by this
    /// wallet's node alone.
    pub(crate) async fn single_copies(&self, replicas: &[String]) -> Result<u32> {
        let held_elsewhere = if replicas.is_empty() {
            String::new()
        } else {
            let marks = vec!["?"; replicas.len()].join(", ");
            format!(
                " AND NOT EXISTS (SELECT 1 FROM replica_pins a \
                 JOIN replica_pins b ON b.replica = a.replica AND b.cid = r.manifest_cid \
                 JOIN replica_pins c ON c.replica = a.replica AND c.cid = r.capsule_cid \
                 WHERE a.cid = r.content_cid AND a.replica IN ({marks}))"
            )
        };
        let sql = format!(
            "SELECT COUNT(*) FROM records r INDEXED BY records_by_state \
             WHERE r.state = 'on_ipfs' AND {LATEST}{held_elsewhere}"
        );
        let mut query = sqlx::query_scalar(&sql);
        for replica in replicas {
            query = query.bind(replica);
        }
        let n: i64 = query.fetch_one(&self.pool).await?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// The replicas that confirmed pinning each of `cids` (a page's objects): replica →
    /// the objects among `cids` it holds.
    pub(crate) async fn pins_of(&self, cids: &[&str]) -> Result<HashMap<String, HashSet<String>>> {
        let mut out: HashMap<String, HashSet<String>> = HashMap::new();
        for chunk in cids.chunks(IDS_PER_QUERY) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let sql = format!("SELECT replica, cid FROM replica_pins WHERE cid IN ({marks})");
            let mut query = sqlx::query(&sql);
            for cid in chunk {
                query = query.bind(*cid);
            }
            for row in query.fetch_all(&self.pool).await? {
                out.entry(row.try_get(0)?)
                    .or_default()
                    .insert(row.try_get(1)?);
            }
        }
        Ok(out)
    }

    /// The clinic that made each of `record_ids` at its front desk, with its attested name
    /// (records the patient added have none).
    pub(crate) async fn uploaded_by_of(
        &self,
        record_ids: &[&str],
    ) -> Result<HashMap<String, (String, Option<String>)>> {
        let mut out = HashMap::new();
        for chunk in record_ids.chunks(IDS_PER_QUERY) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let sql = format!(
                "SELECT record_id, author, author_name FROM uploaded_for_me \
                 WHERE record_id IN ({marks})"
            );
            let mut query = sqlx::query(&sql);
            for id in chunk {
                query = query.bind(*id);
            }
            for row in query.fetch_all(&self.pool).await? {
                out.insert(row.try_get(0)?, (row.try_get(1)?, row.try_get(2)?));
            }
        }
        Ok(out)
    }
}
