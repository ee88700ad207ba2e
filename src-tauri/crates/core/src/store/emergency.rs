//! The emergency alerts of `records.sqlite` (migration `0011_emergency_alerts.sql`): each
//! emergency opening of the wallet's records read from the ledger, recorded once, and
//! whether the patient has seen it.

use sqlx::Row;

use super::{RecordStore, Result, StoreError};

/// An emergency opening as the ledger logged it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Opening {
    pub contract: String,
    pub record_id: String,
    pub accessor: String,
    pub clinic: String,
    pub version: u32,
    pub block_number: u64,
    pub tx_hash: String,
    pub log_index: u64,
    /// The block's time (unix seconds).
    pub opened_at: i64,
}

/// A recorded opening.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AlertRow {
    pub id: i64,
    pub opening: Opening,
    /// Raised as an OS notification when it was found.
    pub notified: bool,
}

fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn uint(row: &sqlx::sqlite::SqliteRow, index: usize) -> Result<u64> {
    let n: i64 = row.try_get(index)?;
    u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("emergency_alerts column {index}")))
}

impl RecordStore {
    /// Since when this device watches the wallet's emergency openings (unix seconds):
    /// openings before it are recorded without an OS notification.
    pub(crate) async fn emergency_watch_since(&self) -> Result<i64> {
        let row = sqlx::query("SELECT since FROM emergency_watch WHERE id = 1")
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => Ok(row.try_get(0)?),
            None => Err(StoreError::Corrupt("emergency_watch has no row".to_owned())),
        }
    }

    /// Records `opening` once (by its transaction and log index); `Some(id)` when it was
    /// new. `notified` says whether it is raised as an OS notification.
    pub(crate) async fn record_emergency(
        &self,
        opening: &Opening,
        notified: bool,
        found_at: i64,
    ) -> Result<Option<i64>> {
        let row = sqlx::query(
            "INSERT INTO emergency_alerts (contract, record_id, accessor, clinic, version, \
             block_number, tx_hash, log_index, opened_at, found_at, notified) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (tx_hash, log_index) DO NOTHING RETURNING id",
        )
        .bind(&opening.contract)
        .bind(&opening.record_id)
        .bind(&opening.accessor)
        .bind(&opening.clinic)
        .bind(i64::from(opening.version))
        .bind(int(opening.block_number))
        .bind(&opening.tx_hash)
        .bind(int(opening.log_index))
        .bind(opening.opened_at)
        .bind(found_at)
        .bind(i64::from(notified))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.get(0)))
    }

    /// The openings of `contract` not marked seen, newest first.
    pub(crate) async fn unacknowledged_emergencies(&self, contract: &str) -> Result<Vec<AlertRow>> {
        let rows = sqlx::query(
            "SELECT id, contract, record_id, accessor, clinic, version, block_number, tx_hash, \
             log_index, opened_at, notified FROM emergency_alerts \
             WHERE acknowledged_at IS NULL AND contract = ? \
             ORDER BY block_number DESC, log_index DESC",
        )
        .bind(contract)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(AlertRow {
                    id: row.try_get(0)?,
                    opening: Opening {
                        contract: row.try_get(1)?,
                        record_id: row.try_get(2)?,
                        accessor: row.try_get(3)?,
                        clinic: row.try_get(4)?,
                        version: u32::try_from(uint(row, 5)?)
                            .map_err(|_| StoreError::Corrupt("emergency_alerts.version".into()))?,
                        block_number: uint(row, 6)?,
                        tx_hash: row.try_get(7)?,
                        log_index: uint(row, 8)?,
                        opened_at: row.try_get(9)?,
                    },
                    notified: row.try_get::<i64, _>(10)? != 0,
                })
            })
            .collect()
    }

    /// Marks the openings `ids` seen at `at` (those already seen keep their time);
    /// answers how many were marked now.
    pub(crate) async fn acknowledge_emergencies(&self, ids: &[i64], at: i64) -> Result<u64> {
        let mut tx = self.pool.begin().await?;
        let mut marked = 0;
        for id in ids {
            marked += sqlx::query(
                "UPDATE emergency_alerts SET acknowledged_at = ? \
                 WHERE id = ? AND acknowledged_at IS NULL",
            )
            .bind(at)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        Ok(marked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opening(tx: &str, log_index: u64) -> Opening {
        Opening {
            contract: "0x5FbDB2315678afecb367f032d93F642f64180aa3".to_owned(),
            record_id: format!("0x{}", "ab".repeat(32)),
            accessor: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8".to_owned(),
            clinic: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC".to_owned(),
            version: 2,
            block_number: 17,
            tx_hash: tx.to_owned(),
            log_index,
            opened_at: 1_767_225_600,
        }
    }

    #[tokio::test]
    async fn an_opening_is_recorded_once_and_stays_until_seen() {
        let dir = tempfile::tempdir().unwrap();
        let store = RecordStore::open(dir.path()).await.unwrap();
        let since = store.emergency_watch_since().await.unwrap();
        assert!((crate::ledger::now_unix() - since).abs() < 60, "{since}");
        let first = opening("0x01", 0);
        let contract = first.contract.clone();
        let id = store.record_emergency(&first, true, 5).await.unwrap();
        assert!(id.is_some());
        assert_eq!(store.record_emergency(&first, true, 6).await.unwrap(), None);
        // Another log of the same transaction is another opening.
        let other = store
            .record_emergency(&opening("0x01", 1), false, 6)
            .await
            .unwrap()
            .unwrap();
        let open = store.unacknowledged_emergencies(&contract).await.unwrap();
        assert_eq!(open.len(), 2);
        assert_eq!(open[0].id, other, "newest first");
        assert!(!open[0].notified && open[1].notified);
        assert_eq!(open[1].opening, first);
        assert!(store
            .unacknowledged_emergencies("0x0000000000000000000000000000000000000000")
            .await
            .unwrap()
            .is_empty());

        assert_eq!(
            store
                .acknowledge_emergencies(&[other, 999], 7)
                .await
                .unwrap(),
            1
        );
        assert_eq!(store.acknowledge_emergencies(&[other], 8).await.unwrap(), 0);
        let open = store.unacknowledged_emergencies(&contract).await.unwrap();
        assert_eq!(
            open.iter().map(|a| a.id).collect::<Vec<_>>(),
            vec![id.unwrap()]
        );
        // Seen stays seen when the pass reads the opening again.
        assert_eq!(
            store
                .record_emergency(&opening("0x01", 1), true, 9)
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            store
                .unacknowledged_emergencies(&contract)
                .await
                .unwrap()
                .len(),
            1
        );
    }
}
