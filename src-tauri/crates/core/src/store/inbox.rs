//! The doctor's side: what this wallet found when it opened a shared record's capsule,
//! kept by the ledger facts it was found for (see migration 0015).

use super::{RecordStore, Result};

impl RecordStore {
    /// Whether the capsule opened, if it was tried for exactly these `facts`.
    pub(crate) async fn located(
        &self,
        record_id: &str,
        route: &str,
        facts: &str,
    ) -> Result<Option<bool>> {
        let opens: Option<i64> = sqlx::query_scalar(
            "SELECT opens FROM located_shares WHERE record_id = ? AND route = ? AND facts = ?",
        )
        .bind(record_id)
        .bind(route)
        .bind(facts)
        .fetch_optional(&self.pool)
        .await?;
        Ok(opens.map(|o| o != 0))
    }

    /// Notes whether the capsule opened for `facts` (replacing what older facts said).
    pub(crate) async fn set_located(
        &self,
        record_id: &str,
        route: &str,
        facts: &str,
        opens: bool,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO located_shares (record_id, route, facts, opens) VALUES (?, ?, ?, ?) \
             ON CONFLICT (record_id, route) DO UPDATE SET facts = excluded.facts, \
             opens = excluded.opens",
        )
        .bind(record_id)
        .bind(route)
        .bind(facts)
        .bind(i64::from(opens))
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
