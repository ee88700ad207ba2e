//! The staff tables of `records.sqlite` (migration `0005_staff.sql`): a clinic's staff
//! keys and its authority's epoch.

use sqlx::Row;

use super::{RecordStore, Result};

/// A staff member's key, as the clinic issued it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StaffRow {
    pub holder: String,
    pub attributes: Vec<String>,
    pub active: bool,
    pub issued_at: i64,
    pub revoked_at: Option<i64>,
}

impl RecordStore {
    /// The epoch of this wallet's authority (1 until a staff key is revoked).
    pub(crate) async fn authority_epoch(&self) -> Result<u32> {
        Ok(
            sqlx::query_scalar::<_, u32>("SELECT epoch FROM authority_epoch WHERE id = 1")
                .fetch_optional(&self.pool)
                .await?
                .unwrap_or(1),
        )
    }

    /// Keeps a staff member's key (replacing the one before).
    pub(crate) async fn set_staff(
        &self,
        holder: &str,
        attributes: &[String],
        now: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT OR REPLACE INTO staff (holder, attributes, state, issued_at, revoked_at) \
             VALUES (?, ?, 'active', ?, NULL)",
        )
        .bind(holder)
        .bind(attributes.join("\n"))
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The staff, active first, then by address.
    pub(crate) async fn staff(&self) -> Result<Vec<StaffRow>> {
        let rows = sqlx::query(
            "SELECT holder, attributes, state, issued_at, revoked_at FROM staff \
             ORDER BY state = 'revoked', holder",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let attributes: String = r.try_get("attributes")?;
                let state: String = r.try_get("state")?;
                Ok(StaffRow {
                    holder: r.try_get("holder")?,
                    attributes: attributes.lines().map(str::to_owned).collect(),
                    active: state == "active",
                    issued_at: r.try_get("issued_at")?,
                    revoked_at: r.try_get("revoked_at")?,
                })
            })
            .collect()
    }

    /// Whether the revocation of `holder` at `revoked_at` is on `contract`'s ledger.
    pub(crate) async fn key_revocation_sent(
        &self,
        contract: &str,
        holder: &str,
        revoked_at: i64,
    ) -> Result<bool> {
        let found: Option<String> = sqlx::query_scalar(
            "SELECT tx FROM key_revocations WHERE contract = ? AND holder = ? AND revoked_at = ?",
        )
        .bind(contract)
        .bind(holder)
        .bind(revoked_at)
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.is_some())
    }

    /// The `revokeKey` transaction of the revocation of `holder` at `revoked_at`, on
    /// whichever contract it was sent to, if it was.
    pub(crate) async fn key_revocation_tx(
        &self,
        holder: &str,
        revoked_at: i64,
    ) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT tx FROM key_revocations WHERE holder = ? AND revoked_at = ? LIMIT 1",
        )
        .bind(holder)
        .bind(revoked_at)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Notes that the revocation's `revokeKey` transaction was mined.
    pub(crate) async fn mark_key_revocation_sent(
        &self,
        contract: &str,
        holder: &str,
        revoked_at: i64,
        tx: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT OR IGNORE INTO key_revocations (contract, holder, revoked_at, tx) VALUES (?, ?, ?, ?)",
        )
        .bind(contract)
        .bind(holder)
        .bind(revoked_at)
        .bind(tx)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Revokes a staff member's key and moves the authority to its next epoch, in one
    /// transaction: the keys issued and the parameters published so far are forgotten,
    /// so the next pass publishes the new parameters and re-keys the others. Answers the
    /// new epoch, or `None` if the holder has no active key.
    pub(crate) async fn revoke_staff(&self, holder: &str, now: i64) -> Result<Option<u32>> {
        let mut tx = self.pool.begin().await?;
        let changed = sqlx::query(
            "UPDATE staff SET state = 'revoked', revoked_at = ? WHERE holder = ? AND state = 'active'",
        )
        .bind(now)
        .bind(holder)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Ok(None);
        }
        let epoch: u32 = sqlx::query_scalar("SELECT epoch FROM authority_epoch WHERE id = 1")
            .fetch_optional(&mut *tx)
            .await?
            .unwrap_or(1)
            + 1;
        sqlx::query("INSERT OR REPLACE INTO authority_epoch (id, epoch) VALUES (1, ?)")
            .bind(epoch)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM issued_keys")
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM published WHERE what = 'authority'")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(epoch))
    }

    /// The clinics the owner's records are shared with by role (open grants).
    pub(crate) async fn granted_clinics(&self, owner: &str) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT grantee FROM grants WHERE kind = 'grant' AND clause IS NOT NULL \
             AND grantee != ? AND state IN ('sending', 'active') ORDER BY grantee",
        )
        .bind(owner)
        .fetch_all(&self.pool)
        .await?)
    }

    /// A clinic moved to a new epoch: its new parameters are kept and every record shared
    /// with a role there gets a rotation, in one transaction (a crash between the two
    /// would leave records wrapped for the old epoch, and the change no longer seen).
    pub(crate) async fn rotate_clinic(
        &self,
        contract: &str,
        clinic: &str,
        params: &[u8],
        now: &str,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT OR IGNORE INTO grants (kind, record_id, grantee, clause, state, requested_at) \
             SELECT 'rotate', record_id, grantee, clause, 'revoking', ? FROM grants \
             WHERE kind = 'grant' AND grantee = ? AND clause IS NOT NULL \
             AND state IN ('sending', 'active')",
        )
        .bind(now)
        .bind(clinic)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT OR REPLACE INTO authorities (contract, address, params) VALUES (?, ?, ?)",
        )
        .bind(contract)
        .bind(clinic)
        .bind(params)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Queues the re-encryption of a record shared with `clause` at `clinic`, which moved
    /// to a new epoch (a 'rotate', run like a revocation without a ledger revocation).
    pub(crate) async fn queue_rotation(
        &self,
        record_id: &str,
        clinic: &str,
        clause: &str,
        now: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT OR IGNORE INTO grants (kind, record_id, grantee, clause, state, requested_at) \
             VALUES ('rotate', ?, ?, ?, 'revoking', ?)",
        )
        .bind(record_id)
        .bind(clinic)
        .bind(clause)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
