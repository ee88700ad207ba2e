//! The rebuild tables of `records.sqlite` (migration `0006_rebuild.sql`): where a rebuild
//! from the ledger is, the versions it could not bring back, and what it writes back into
//! the other tables. Every write here is idempotent and never replaces what this device
//! already holds (an on-demand rebuild on an intact device adds only what is missing), so
//! a rebuild interrupted anywhere runs again without a duplicate.

use sqlx::Row;

use super::{RecordStore, Result, StoreError, StoredRecord};

/// Where a rebuild is (the `state` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RebuildMark {
    /// Asked for and not finished (waiting for the node, or interrupted: it resumes).
    Needed,
    /// Cancelled by the user.
    Cancelled,
    /// Finished.
    Done,
}

impl RebuildMark {
    fn as_str(self) -> &'static str {
        match self {
            Self::Needed => "needed",
            Self::Cancelled => "cancelled",
            Self::Done => "done",
        }
    }
}

/// The rebuild's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RebuildRow {
    pub mark: RebuildMark,
    pub chain_id: Option<u64>,
    pub contract: Option<String>,
    pub block: u64,
    pub head: u64,
    pub records_found: u32,
    pub records_opened: u32,
    pub not_found: u32,
    pub grants_found: u32,
    pub problem: Option<String>,
    pub finished_at: Option<String>,
}

/// A record version registered on the ledger that could not be brought back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unrecovered {
    pub record_id: String,
    pub version: u32,
    pub manifest_cid: String,
    pub capsule_cid: String,
    pub registered_at: String,
    pub ledger_tx: String,
    pub ledger_block: u64,
    pub uploaded_by: Option<String>,
    pub reason: String,
}

/// A grant as the ledger's events tell it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RestoredGrant {
    pub record_id: String,
    pub grantee: String,
    pub clause: Option<String>,
    pub expires_at: Option<i64>,
    pub requested_at: String,
    pub grant_tx: String,
    /// The revocation: the version made without the grantee and its transaction.
    pub revoked: Option<(u32, String)>,
}

/// A group member as the issued keys' notes tell it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RestoredMember {
    pub member: String,
    pub active: bool,
    pub joined_at: i64,
    pub removed_at: Option<i64>,
}

fn i64n(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl RecordStore {
    /// The rebuild's row, if one was ever asked for.
    pub(crate) async fn rebuild(&self) -> Result<Option<RebuildRow>> {
        let row = sqlx::query(
            "SELECT state, chain_id, contract, block, head, records_found, records_opened, not_found, \
             grants_found, problem, finished_at FROM rebuild WHERE id = 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else {
            return Ok(None);
        };
        let state: String = r.try_get("state")?;
        let mark = match state.as_str() {
            "needed" => RebuildMark::Needed,
            "cancelled" => RebuildMark::Cancelled,
            "done" => RebuildMark::Done,
            other => return Err(StoreError::Corrupt(format!("rebuild state {other:?}"))),
        };
        let uint = |name: &str| -> Result<u64> {
            let n: i64 = r.try_get(name)?;
            u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("rebuild {name} {n}")))
        };
        let count =
            |name: &str| -> Result<u32> { Ok(u32::try_from(uint(name)?).unwrap_or(u32::MAX)) };
        Ok(Some(RebuildRow {
            mark,
            chain_id: r
                .try_get::<Option<i64>, _>("chain_id")?
                .and_then(|c| u64::try_from(c).ok()),
            contract: r.try_get("contract")?,
            block: uint("block")?,
            head: uint("head")?,
            records_found: count("records_found")?,
            records_opened: count("records_opened")?,
            not_found: count("not_found")?,
            grants_found: count("grants_found")?,
            problem: r.try_get("problem")?,
            finished_at: r.try_get("finished_at")?,
        }))
    }

    /// Keeps the rebuild's row.
    pub(crate) async fn save_rebuild(&self, row: &RebuildRow) -> Result<()> {
        sqlx::query(
            "INSERT OR REPLACE INTO rebuild (id, state, chain_id, contract, block, head, \
             records_found, records_opened, not_found, grants_found, problem, finished_at) \
             VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(row.mark.as_str())
        .bind(row.chain_id.map(i64n))
        .bind(&row.contract)
        .bind(i64n(row.block))
        .bind(i64n(row.head))
        .bind(row.records_found)
        .bind(row.records_opened)
        .bind(row.not_found)
        .bind(row.grants_found)
        .bind(&row.problem)
        .bind(&row.finished_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Asks for a rebuild on `chain_id` when given, else on the chain an earlier one read
    /// (keeping its contract).
    pub(crate) async fn ask_rebuild(&self, chain_id: Option<u64>) -> Result<()> {
        let earlier = self.rebuild().await?;
        self.save_rebuild(&RebuildRow {
            mark: RebuildMark::Needed,
            chain_id: chain_id.or(earlier.as_ref().and_then(|r| r.chain_id)),
            contract: earlier.and_then(|r| r.contract),
            block: 0,
            head: 0,
            records_found: 0,
            records_opened: 0,
            not_found: 0,
            grants_found: 0,
            problem: None,
            finished_at: None,
        })
        .await
    }

    /// Whether a rebuild was asked for and has not finished for `contract` (then the
    /// wallet writes nothing to it: a restored wallet that read another contract, or none,
    /// knows nothing yet of what it published on this one).
    pub(crate) async fn rebuild_unfinished(&self, contract: &str) -> Result<bool> {
        Ok(self.rebuild().await?.is_some_and(|r| {
            r.mark != RebuildMark::Done || r.contract.as_deref() != Some(contract)
        }))
    }

    /// Whether this device holds `record_id` version `version`.
    pub(crate) async fn has_version(&self, record_id: &str, version: u32) -> Result<bool> {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM records WHERE record_id = ? AND version = ?")
                .bind(record_id)
                .bind(version)
                .fetch_one(&self.pool)
                .await?;
        Ok(n > 0)
    }

    /// Inserts a version brought back from IPFS (on IPFS, registered where the ledger
    /// says, made by `uploaded_by` if a clinic made it), and forgets it as unrecovered, in
    /// one transaction. A version already here is left as it is.
    pub(crate) async fn restore_version(
        &self,
        row: &StoredRecord,
        uploaded_by: Option<&str>,
    ) -> Result<()> {
        let (tx_hash, block) = row.ledger.clone().unwrap_or_default();
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT OR IGNORE INTO records (record_id, version, sealed_dek, manifest, content_cid, \
             manifest_cid, capsule_cid, state, problem, added_at, ledger_tx, ledger_block) \
             VALUES (?, ?, ?, ?, ?, ?, ?, 'on_ipfs', NULL, ?, ?, ?)",
        )
        .bind(&row.record_id)
        .bind(row.version)
        .bind(&row.sealed_dek)
        .bind(&row.manifest)
        .bind(&row.content_cid)
        .bind(&row.manifest_cid)
        .bind(&row.capsule_cid)
        .bind(&row.added_at)
        .bind(tx_hash)
        .bind(i64n(block))
        .execute(&mut *tx)
        .await?;
        if let Some(author) = uploaded_by {
            sqlx::query("INSERT OR IGNORE INTO uploaded_for_me (record_id, author) VALUES (?, ?)")
                .bind(&row.record_id)
                .bind(author)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("DELETE FROM unrecovered WHERE record_id = ? AND version = ?")
            .bind(&row.record_id)
            .bind(row.version)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Notes a version the rebuild could not bring back (replacing an older note of it).
    pub(crate) async fn set_unrecovered(&self, u: &Unrecovered) -> Result<()> {
        sqlx::query(
            "INSERT OR REPLACE INTO unrecovered (record_id, version, manifest_cid, capsule_cid, \
             registered_at, ledger_tx, ledger_block, uploaded_by, reason) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&u.record_id)
        .bind(u.version)
        .bind(&u.manifest_cid)
        .bind(&u.capsule_cid)
        .bind(&u.registered_at)
        .bind(&u.ledger_tx)
        .bind(i64n(u.ledger_block))
        .bind(&u.uploaded_by)
        .bind(&u.reason)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The latest unrecovered version of each record that this device holds no version
    /// of as new, newest first.
    pub(crate) async fn unrecovered(&self) -> Result<Vec<Unrecovered>> {
        let rows = sqlx::query(
            "SELECT u.record_id, u.version, u.manifest_cid, u.capsule_cid, u.registered_at, \
             u.ledger_tx, u.ledger_block, u.uploaded_by, u.reason FROM unrecovered u \
             WHERE u.version = (SELECT MAX(version) FROM unrecovered WHERE record_id = u.record_id) \
             AND NOT EXISTS (SELECT 1 FROM records r WHERE r.record_id = u.record_id \
             AND r.version >= u.version) \
             ORDER BY u.ledger_block DESC, u.record_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let block: i64 = r.try_get("ledger_block")?;
                Ok(Unrecovered {
                    record_id: r.try_get("record_id")?,
                    version: r.try_get("version")?,
                    manifest_cid: r.try_get("manifest_cid")?,
                    capsule_cid: r.try_get("capsule_cid")?,
                    registered_at: r.try_get("registered_at")?,
                    ledger_tx: r.try_get("ledger_tx")?,
                    ledger_block: u64::try_from(block).unwrap_or(0),
                    uploaded_by: r.try_get("uploaded_by")?,
                    reason: r.try_get("reason")?,
                })
            })
            .collect()
    }

    /// Inserts a grant the ledger records, unless this device has it (by its
    /// transaction, record, grantee and clause: one batch transaction grants many records)
    /// or holds an open one of the same record, grantee and clause (queued work of its
    /// own). Answers whether it was inserted.
    pub(crate) async fn restore_grant(&self, g: &RestoredGrant) -> Result<bool> {
        let known: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM grants WHERE grant_tx = ? AND record_id = ? AND grantee = ? \
             AND COALESCE(clause, '') = COALESCE(?, '')",
        )
        .bind(&g.grant_tx)
        .bind(&g.record_id)
        .bind(&g.grantee)
        .bind(&g.clause)
        .fetch_one(&self.pool)
        .await?;
        if known > 0 {
            return Ok(false);
        }
        let (state, revoke_version, revoke_tx) = match &g.revoked {
            Some((version, tx)) => ("revoked", Some(*version), Some(tx.as_str())),
            None => ("active", None, None),
        };
        let done = sqlx::query(
            "INSERT OR IGNORE INTO grants (kind, record_id, grantee, clause, expires_at, state, \
             requested_at, grant_tx, revoke_version, revoke_tx) \
             VALUES ('grant', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&g.record_id)
        .bind(&g.grantee)
        .bind(&g.clause)
        .bind(g.expires_at)
        .bind(state)
        .bind(&g.requested_at)
        .bind(&g.grant_tx)
        .bind(revoke_version)
        .bind(revoke_tx)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// A group and its members as the keys' notes tell them; the epoch only moves up, and
    /// a member this device knows keeps its row.
    pub(crate) async fn restore_group(
        &self,
        name: &str,
        epoch: u32,
        members: &[RestoredMember],
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO groups (name, epoch) VALUES (?, ?) \
             ON CONFLICT (name) DO UPDATE SET epoch = MAX(epoch, excluded.epoch)",
        )
        .bind(name)
        .bind(epoch)
        .execute(&mut *tx)
        .await?;
        for m in members {
            sqlx::query(
                "INSERT OR IGNORE INTO group_members (group_name, member, state, joined_at, \
                 removed_at) VALUES (?, ?, ?, ?, ?)",
            )
            .bind(name)
            .bind(&m.member)
            .bind(if m.active { "active" } else { "removed" })
            .bind(m.joined_at)
            .bind(m.removed_at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A staff member's key as its note tells it (a holder this device knows keeps its row).
    pub(crate) async fn restore_staff(
        &self,
        holder: &str,
        attributes: &[String],
        active: bool,
        issued_at: i64,
        revoked_at: Option<i64>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT OR IGNORE INTO staff (holder, attributes, state, issued_at, revoked_at) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(holder)
        .bind(attributes.join("\n"))
        .bind(if active { "active" } else { "revoked" })
        .bind(issued_at)
        .bind(revoked_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The authority's epoch as the ledger shows it: it only moves up.
    pub(crate) async fn restore_authority_epoch(&self, epoch: u32) -> Result<()> {
        sqlx::query(
            "INSERT INTO authority_epoch (id, epoch) VALUES (1, ?) \
             ON CONFLICT (id) DO UPDATE SET epoch = MAX(epoch, excluded.epoch)",
        )
        .bind(epoch)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
