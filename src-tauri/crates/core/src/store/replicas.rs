//! The replica tables of `records.sqlite` (migration `0007_replicas.sql`): the objects
//! each replica node confirmed it pins, and the backoff of a replica that failed.

use std::collections::{HashMap, HashSet};

use sqlx::Row;

use super::{RecordStore, Result, State};

/// A replica's wait after failures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Backoff {
    pub failures: u32,
    pub next_attempt_at: i64,
    pub problem: String,
}

impl RecordStore {
    /// The objects replicas should pin, by record: each record's latest version on IPFS.
    pub(crate) async fn replica_wanted(&self) -> Result<HashMap<String, [String; 3]>> {
        let mut latest: HashMap<String, (u32, [String; 3])> = HashMap::new();
        for row in self.all().await? {
            if row.state != State::OnIpfs {
                continue;
            }
            let newer = latest
                .get(&row.record_id)
                .is_none_or(|(version, _)| row.version > *version);
            if newer {
                latest.insert(
                    row.record_id.clone(),
                    (
                        row.version,
                        [row.content_cid, row.manifest_cid, row.capsule_cid],
                    ),
                );
            }
        }
        Ok(latest
            .into_iter()
            .map(|(id, (_, cids))| (id, cids))
            .collect())
    }

    /// The envelopes of the keys this wallet's authority issued (a doctor's wallet
    /// fetches its key from IPFS before it can open anything shared with it).
    pub(crate) async fn issued_key_cids(&self) -> Result<HashSet<String>> {
        let rows = sqlx::query("SELECT key_cid FROM issued_keys")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(|r| r.get::<String, _>(0)).collect())
    }

    /// The objects `replica` confirmed it pins.
    pub(crate) async fn replica_pins(&self, replica: &str) -> Result<HashSet<String>> {
        let rows = sqlx::query("SELECT cid FROM replica_pins WHERE replica = ?")
            .bind(replica)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(|r| r.get::<String, _>(0)).collect())
    }

    /// Every replica's confirmed objects.
    pub(crate) async fn all_replica_pins(&self) -> Result<HashMap<String, HashSet<String>>> {
        let rows = sqlx::query("SELECT replica, cid FROM replica_pins")
            .fetch_all(&self.pool)
            .await?;
        let mut out: HashMap<String, HashSet<String>> = HashMap::new();
        for row in rows {
            out.entry(row.get(0)).or_default().insert(row.get(1));
        }
        Ok(out)
    }

    pub(crate) async fn mark_replica_pinned(&self, replica: &str, cid: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO replica_pins (replica, cid, pinned_at) VALUES (?, ?, ?) \
             ON CONFLICT (replica, cid) DO NOTHING",
        )
        .bind(replica)
        .bind(cid)
        .bind(chrono::Utc::now().to_rfc3339())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(crate) async fn mark_replica_unpinned(&self, replica: &str, cid: &str) -> Result<()> {
        sqlx::query("DELETE FROM replica_pins WHERE replica = ? AND cid = ?")
            .bind(replica)
            .bind(cid)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub(crate) async fn replica_backoff(&self, replica: &str) -> Result<Option<Backoff>> {
        let row = sqlx::query(
            "SELECT failures, next_attempt_at, problem FROM replica_backoff WHERE replica = ?",
        )
        .bind(replica)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| Backoff {
            failures: u32::try_from(r.get::<i64, _>(0)).unwrap_or(u32::MAX),
            next_attempt_at: r.get(1),
            problem: r.get(2),
        }))
    }

    pub(crate) async fn set_replica_backoff(&self, replica: &str, backoff: &Backoff) -> Result<()> {
        sqlx::query(
            "INSERT INTO replica_backoff (replica, failures, next_attempt_at, problem) \
             VALUES (?, ?, ?, ?) ON CONFLICT (replica) DO UPDATE SET \
             failures = excluded.failures, next_attempt_at = excluded.next_attempt_at, \
             problem = excluded.problem",
        )
        .bind(replica)
        .bind(i64::from(backoff.failures))
        .bind(backoff.next_attempt_at)
        .bind(&backoff.problem)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(crate) async fn clear_replica_backoff(&self, replica: &str) -> Result<()> {
        sqlx::query("DELETE FROM replica_backoff WHERE replica = ?")
            .bind(replica)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
