//! The sharing tables of `records.sqlite` (migration `0003_sharing.sql`).

use sqlx::Row;

use super::{RecordStore, Result, StoreError, StoredRecord};

/// Where a grant is (the `state` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum GrantPhase {
    Sending,
    Active,
    Revoking,
    Revoked,
}

impl GrantPhase {
    fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "sending" => Self::Sending,
            "active" => Self::Active,
            "revoking" => Self::Revoking,
            "revoked" => Self::Revoked,
            other => return Err(StoreError::Corrupt(format!("grant state {other:?}"))),
        })
    }
}

/// A grant's row.
#[derive(Debug, Clone)]
pub(crate) struct GrantRow {
    pub id: i64,
    /// A member's removal from a group (the group's records re-encrypted for its next
    /// epoch), not a grant.
    pub leave: bool,
    /// A clinic's move to a new epoch (it revoked a staff key): the record, shared with
    /// a role there, re-encrypted under its new parameters. Run like a `leave`.
    pub rotate: bool,
    pub record_id: String,
    pub grantee: String,
    pub clause: Option<String>,
    pub expires_at: Option<i64>,
    pub phase: GrantPhase,
    pub requested_at: String,
    pub grant_tx: Option<String>,
    pub revoke_version: Option<u32>,
    /// The `revokeAccess` transaction, kept as soon as it is mined (before the report),
    /// so a revocation run again after a crash does not send it again.
    pub revoke_tx: Option<String>,
    pub exposure: Option<String>,
    pub attempts: u32,
    pub problem: Option<String>,
}

#[cfg(test)]
impl GrantRow {
    /// A grant of `record_id` to `grantee` in `phase`, never sent: what the pass's unit
    /// tests group and order.
    pub(crate) fn sample(id: i64, record_id: &str, grantee: &str, phase: GrantPhase) -> Self {
        Self {
            id,
            leave: false,
            rotate: false,
            record_id: record_id.to_owned(),
            grantee: grantee.to_owned(),
            clause: None,
            expires_at: None,
            phase,
            requested_at: String::new(),
            grant_tx: None,
            revoke_version: None,
            revoke_tx: None,
            exposure: None,
            attempts: 0,
            problem: None,
        }
    }
}

const COLUMNS: &str =
    "id, kind, record_id, grantee, clause, expires_at, state, requested_at, grant_tx, \
                       revoke_version, revoke_tx, exposure, attempts, problem";

fn read_grant(r: &sqlx::sqlite::SqliteRow) -> Result<GrantRow> {
    let state: String = r.try_get("state")?;
    let kind: String = r.try_get("kind")?;
    Ok(GrantRow {
        id: r.try_get("id")?,
        leave: kind == "leave" || kind == "rotate",
        rotate: kind == "rotate",
        record_id: r.try_get("record_id")?,
        grantee: r.try_get("grantee")?,
        clause: r.try_get("clause")?,
        expires_at: r.try_get("expires_at")?,
        phase: GrantPhase::parse(&state)?,
        requested_at: r.try_get("requested_at")?,
        grant_tx: r.try_get("grant_tx")?,
        revoke_version: r.try_get("revoke_version")?,
        revoke_tx: r.try_get("revoke_tx")?,
        exposure: r.try_get("exposure")?,
        attempts: r.try_get("attempts")?,
        problem: r.try_get("problem")?,
    })
}

/// Who a record's capsule is for, besides its owner.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Audience {
    /// People (EIP-55 addresses), under the owner's authority.
    pub people: Vec<String>,
    /// Roles at clinics: (clinic address, clause), under each clinic's authority.
    pub clauses: Vec<(String, String)>,
}

/// A key this wallet's authority issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Issued {
    pub attributes: Vec<String>,
    pub key_cid: String,
    /// The `issueKey` transaction, once mined.
    pub tx: Option<String>,
}

impl RecordStore {
    /// Notes the encryption key a pasted share code gave for `holder` (a newer code
    /// replaces it).
    pub(crate) async fn expect_key(&self, holder: &str, x25519: &[u8; 32]) -> Result<()> {
        sqlx::query(
            "INSERT INTO expected_keys (holder, x25519, noted_at) VALUES (?, ?, ?) \
             ON CONFLICT (holder) DO UPDATE SET x25519 = excluded.x25519, noted_at = excluded.noted_at",
        )
        .bind(holder)
        .bind(x25519.as_slice())
        .bind(chrono::Utc::now().to_rfc3339())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The encryption key a share code gave for `holder`, if one was pasted.
    pub(crate) async fn expected_key(&self, holder: &str) -> Result<Option<[u8; 32]>> {
        let row: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT x25519 FROM expected_keys WHERE holder = ?")
                .bind(holder)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.and_then(|k| <[u8; 32]>::try_from(k.as_slice()).ok()))
    }
}

impl RecordStore {
    /// Queues a grant of `record_id` to `grantee` (an address; with `clause`, a policy),
    /// or updates an open one of the same record to the same grantee (a new expiry), sent
    /// again.
    pub(crate) async fn queue_grant(
        &self,
        record_id: &str,
        grantee: &str,
        clause: Option<&str>,
        expires_at: Option<i64>,
        now: &str,
    ) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        let grant = QueuedGrant {
            record_id,
            grantee,
            clause,
            expires_at,
            requested_at: now,
        };
        queue_grant_in(&mut conn, &grant).await
    }

    /// Every grant, newest first.
    pub(crate) async fn grants(&self) -> Result<Vec<GrantRow>> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM grants ORDER BY id DESC"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(read_grant).collect()
    }

    /// The open (not revoked) grant of a record to a person (or clinic clause).
    pub(crate) async fn open_grant(
        &self,
        record_id: &str,
        grantee: &str,
        clause: Option<&str>,
    ) -> Result<Option<GrantRow>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM grants WHERE kind = 'grant' AND record_id = ? AND grantee = ? \
             AND COALESCE(clause, '') = COALESCE(?, '') AND state != 'revoked'"
        ))
        .bind(record_id)
        .bind(grantee)
        .bind(clause)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(read_grant).transpose()
    }

    /// A grant by id.
    pub(crate) async fn grant(&self, id: i64) -> Result<Option<GrantRow>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM grants WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(read_grant).transpose()
    }

    /// Grants whose work is due (`sending` and `revoking`); all of them when `now` is None.
    pub(crate) async fn due_grants(&self, now: Option<i64>) -> Result<Vec<GrantRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM grants WHERE state IN ('sending', 'revoking') \
             AND next_attempt_at <= ? ORDER BY id"
        ))
        .bind(now.unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(read_grant).collect()
    }

    /// Who a record's capsule must include (grants not being revoked): people, and
    /// (grantee, clause) pairs: a clinic and its clause, or the owner and a group's name.
    pub(crate) async fn capsule_audience(&self, record_id: &str) -> Result<Audience> {
        let rows = sqlx::query(
            "SELECT grantee, clause FROM grants WHERE kind = 'grant' AND record_id = ? \
             AND state IN ('sending', 'active') ORDER BY grantee, clause",
        )
        .bind(record_id)
        .fetch_all(&self.pool)
        .await?;
        let mut audience = Audience::default();
        for r in rows {
            let grantee: String = r.try_get("grantee")?;
            match r.try_get::<Option<String>, _>("clause")? {
                None => audience.people.push(grantee),
                Some(clause) => audience.clauses.push((grantee, clause)),
            }
        }
        Ok(audience)
    }

    /// Active grants whose expiry passed start their revocation.
    pub(crate) async fn expire_grants(&self, now: i64) -> Result<u64> {
        Ok(sqlx::query(
            "UPDATE grants SET state = 'revoking', attempts = 0, next_attempt_at = 0, \
             problem = NULL WHERE kind = 'grant' AND state IN ('sending', 'active') \
             AND expires_at IS NOT NULL \
             AND expires_at <= ?",
        )
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    /// Whether an open grant expires by `t` (unix seconds): its revocation is due soon.
    pub(crate) async fn grant_expiring_by(&self, t: i64) -> Result<bool> {
        let found: i64 = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM grants WHERE kind = 'grant' \
             AND state IN ('sending', 'active') AND expires_at IS NOT NULL AND expires_at <= ?)",
        )
        .bind(t)
        .fetch_one(&self.pool)
        .await?;
        Ok(found != 0)
    }

    /// Whether an open grant has the clause `clause` (an emergency grant is watched on
    /// every pass).
    pub(crate) async fn has_open_clause(&self, clause: &str) -> Result<bool> {
        let found: i64 = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM grants WHERE kind = 'grant' \
             AND state IN ('sending', 'active') AND clause = ?)",
        )
        .bind(clause)
        .fetch_one(&self.pool)
        .await?;
        Ok(found != 0)
    }

    /// Starts revoking an open grant.
    pub(crate) async fn start_revoke(&self, id: i64) -> Result<()> {
        sqlx::query(
            "UPDATE grants SET state = 'revoking', attempts = 0, next_attempt_at = 0, \
             problem = NULL WHERE id = ? AND state IN ('sending', 'active')",
        )
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A grant's transaction is on the ledger; the record version's capsule is now
    /// `capsule_cid` (it includes the grantee).
    pub(crate) async fn granted(
        &self,
        id: i64,
        tx_hash: &str,
        record_id: &str,
        version: u32,
        capsule_cid: &str,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE grants SET state = 'active', grant_tx = ?, attempts = 0, problem = NULL \
             WHERE id = ? AND state = 'sending'",
        )
        .bind(tx_hash)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE records SET capsule_cid = ? WHERE record_id = ? AND version = ?")
            .bind(capsule_cid)
            .bind(record_id)
            .bind(version)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The revocations (and leaves) of a record waiting for a new version.
    pub(crate) async fn awaiting_revision(&self, record_id: &str) -> Result<Vec<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM grants WHERE record_id = ? AND state = 'revoking' \
             AND revoke_version IS NULL ORDER BY id",
        )
        .bind(record_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Inserts the version made for the revocations `for_grants` (with its upload in the
    /// outbox) and names it in them, in one transaction. Only those: a revocation started
    /// while the version was being made may be in its capsule, and waits for the next.
    pub(crate) async fn insert_revision(
        &self,
        row: &StoredRecord,
        for_grants: &[i64],
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO records (record_id, version, sealed_dek, manifest, content_cid, \
             manifest_cid, capsule_cid, state, problem, added_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, 'local', ?, ?)",
        )
        .bind(&row.record_id)
        .bind(row.version)
        .bind(&row.sealed_dek)
        .bind(&row.manifest)
        .bind(&row.content_cid)
        .bind(&row.manifest_cid)
        .bind(&row.capsule_cid)
        .bind(&row.problem)
        .bind(&row.added_at)
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO outbox (record_id, version, step) VALUES (?, ?, 'upload')")
            .bind(&row.record_id)
            .bind(row.version)
            .execute(&mut *tx)
            .await?;
        for id in for_grants {
            sqlx::query(
                "UPDATE grants SET revoke_version = ? WHERE id = ? AND record_id = ? \
                 AND state = 'revoking' AND revoke_version IS NULL",
            )
            .bind(row.version)
            .bind(id)
            .bind(&row.record_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A revocation is on the ledger: the grant is closed with its exposure report.
    pub(crate) async fn revoked(&self, id: i64, tx_hash: &str, exposure: &str) -> Result<()> {
        sqlx::query(
            "UPDATE grants SET state = 'revoked', revoke_tx = ?, exposure = ?, problem = NULL \
             WHERE id = ? AND state = 'revoking'",
        )
        .bind(tx_hash)
        .bind(exposure)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A revocation's `revokeAccess` is mined: kept while the rest of it runs (the
    /// report is written by [`revoked`](Self::revoked), with the same hash).
    pub(crate) async fn revoke_sent(&self, id: i64, tx_hash: &str) -> Result<()> {
        sqlx::query("UPDATE grants SET revoke_tx = ? WHERE id = ? AND state = 'revoking'")
            .bind(tx_hash)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A grant step failed: the reason, and when to try again.
    pub(crate) async fn grant_failed(
        &self,
        id: i64,
        problem: &str,
        next_attempt_at: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE grants SET attempts = attempts + 1, next_attempt_at = ?, problem = ? \
             WHERE id = ?",
        )
        .bind(next_attempt_at)
        .bind(problem)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Every version of a record, oldest first (by its key: a revocation reads them
    /// several times, and reading every record's rows each time grew with the wallet).
    pub(crate) async fn versions(&self, record_id: &str) -> Result<Vec<StoredRecord>> {
        let rows = sqlx::query(
            "SELECT record_id, version, sealed_dek, manifest, content_cid, manifest_cid, \
             capsule_cid, state, problem, added_at, ledger_tx, ledger_block, ledger_problem \
             FROM records WHERE record_id = ? ORDER BY version",
        )
        .bind(record_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(super::read_row).collect()
    }

    /// The transaction that published `what` on `contract`, if it did.
    pub(crate) async fn published(&self, contract: &str, what: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT tx FROM published WHERE contract = ? AND what = ?")
                .bind(contract)
                .bind(what)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Notes a publication.
    pub(crate) async fn set_published(&self, contract: &str, what: &str, tx: &str) -> Result<()> {
        sqlx::query("INSERT OR REPLACE INTO published (contract, what, tx) VALUES (?, ?, ?)")
            .bind(contract)
            .bind(what)
            .bind(tx)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The key issued to `holder` on `contract`.
    pub(crate) async fn issued_key(&self, contract: &str, holder: &str) -> Result<Option<Issued>> {
        let row = sqlx::query(
            "SELECT attributes, key_cid, tx FROM issued_keys WHERE contract = ? AND holder = ?",
        )
        .bind(contract)
        .bind(holder)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            let attributes: String = r.try_get("attributes")?;
            Ok(Issued {
                attributes: attributes.lines().map(str::to_owned).collect(),
                key_cid: r.try_get("key_cid")?,
                tx: r.try_get("tx")?,
            })
        })
        .transpose()
    }

    /// Notes an issued key's envelope (before its transaction) or its transaction.
    pub(crate) async fn set_issued_key(
        &self,
        contract: &str,
        holder: &str,
        key: &Issued,
    ) -> Result<()> {
        sqlx::query(
            "INSERT OR REPLACE INTO issued_keys (contract, holder, attributes, key_cid, tx) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(contract)
        .bind(holder)
        .bind(key.attributes.join("\n"))
        .bind(&key.key_cid)
        .bind(&key.tx)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

impl RecordStore {
    /// A clinic's public parameters, as stored.
    pub(crate) async fn authority_params(
        &self,
        contract: &str,
        address: &str,
    ) -> Result<Option<Vec<u8>>> {
        Ok(
            sqlx::query_scalar("SELECT params FROM authorities WHERE contract = ? AND address = ?")
                .bind(contract)
                .bind(address)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Keeps a clinic's public parameters.
    pub(crate) async fn set_authority_params(
        &self,
        contract: &str,
        address: &str,
        params: &[u8],
    ) -> Result<()> {
        sqlx::query(
            "INSERT OR REPLACE INTO authorities (contract, address, params) VALUES (?, ?, ?)",
        )
        .bind(contract)
        .bind(address)
        .bind(params)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// One of the owner's groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Group {
    pub name: String,
    pub epoch: u32,
    pub members: Vec<String>,
}

impl RecordStore {
    /// The owner's groups with their active members.
    pub(crate) async fn groups(&self) -> Result<Vec<Group>> {
        let rows = sqlx::query("SELECT name, epoch FROM groups ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let name: String = r.try_get("name")?;
            let members = sqlx::query_scalar(
                "SELECT member FROM group_members WHERE group_name = ? AND state = 'active' \
                 ORDER BY joined_at, member",
            )
            .bind(&name)
            .fetch_all(&self.pool)
            .await?;
            out.push(Group {
                epoch: r.try_get("epoch")?,
                name,
                members,
            });
        }
        Ok(out)
    }

    /// The `<group>#<epoch>` attributes a member holds now, sorted.
    pub(crate) async fn member_attributes(&self, member: &str) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT g.name, g.epoch FROM group_members m JOIN groups g ON g.name = m.group_name \
             WHERE m.member = ? AND m.state = 'active' ORDER BY g.name",
        )
        .bind(member)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let name: String = r.try_get("name")?;
                let epoch: u32 = r.try_get("epoch")?;
                Ok(format!("{name}#{epoch}"))
            })
            .collect()
    }

    /// A group's current epoch, if the group exists.
    pub(crate) async fn group_epoch(&self, name: &str) -> Result<Option<u32>> {
        Ok(
            sqlx::query_scalar("SELECT epoch FROM groups WHERE name = ?")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Adds a member (creating the group at epoch 1).
    pub(crate) async fn add_member(&self, group: &str, member: &str, now: i64) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT OR IGNORE INTO groups (name) VALUES (?)")
            .bind(group)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO group_members (group_name, member, state, joined_at) \
             VALUES (?, ?, 'active', ?) ON CONFLICT (group_name, member) DO UPDATE SET \
             state = 'active', joined_at = excluded.joined_at, removed_at = NULL",
        )
        .bind(group)
        .bind(member)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes a member: the group moves to its next epoch, and each record shared with
    /// the group gets a `leave` to re-encrypt it for that epoch. Answers whether the
    /// person was an active member.
    pub(crate) async fn remove_member(
        &self,
        group: &str,
        member: &str,
        owner: &str,
        now: i64,
        now_text: &str,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let removed = sqlx::query(
            "UPDATE group_members SET state = 'removed', removed_at = ? \
             WHERE group_name = ? AND member = ? AND state = 'active'",
        )
        .bind(now)
        .bind(group)
        .bind(member)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if removed == 0 {
            return Ok(false);
        }
        sqlx::query("UPDATE groups SET epoch = epoch + 1 WHERE name = ?")
            .bind(group)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO grants (kind, record_id, grantee, clause, state, requested_at) \
             SELECT 'leave', record_id, ?, clause, 'revoking', ? FROM grants \
             WHERE kind = 'grant' AND grantee = ? AND clause = ? AND state IN ('sending', 'active') \
             ON CONFLICT (kind, record_id, grantee, COALESCE(clause, '')) WHERE state != 'revoked' \
             DO UPDATE SET revoke_version = NULL, attempts = 0, next_attempt_at = 0, problem = NULL",
        )
        .bind(member)
        .bind(now_text)
        .bind(owner)
        .bind(group)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// When a member joined and left a group (unix seconds).
    pub(crate) async fn membership(
        &self,
        group: &str,
        member: &str,
    ) -> Result<Option<(i64, Option<i64>)>> {
        let row = sqlx::query(
            "SELECT joined_at, removed_at FROM group_members WHERE group_name = ? AND member = ?",
        )
        .bind(group)
        .bind(member)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((r.try_get("joined_at")?, r.try_get("removed_at")?)))
            .transpose()
    }
}

/// A grant to queue: see [`RecordStore::queue_grant`].
pub(crate) struct QueuedGrant<'a> {
    pub record_id: &'a str,
    pub grantee: &'a str,
    pub clause: Option<&'a str>,
    pub expires_at: Option<i64>,
    pub requested_at: &'a str,
}

/// [`RecordStore::queue_grant`] on `conn`, which may be inside a transaction that keeps
/// the grant together with what caused it.
pub(crate) async fn queue_grant_in(
    conn: &mut sqlx::SqliteConnection,
    g: &QueuedGrant<'_>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO grants (record_id, grantee, clause, expires_at, state, requested_at) \
         VALUES (?, ?, ?, ?, 'sending', ?) \
         ON CONFLICT (kind, record_id, grantee, COALESCE(clause, '')) \
         WHERE state != 'revoked' \
         DO UPDATE SET expires_at = excluded.expires_at, state = 'sending', attempts = 0, \
         next_attempt_at = 0, problem = NULL WHERE grants.state IN ('sending', 'active')",
    )
    .bind(g.record_id)
    .bind(g.grantee)
    .bind(g.clause)
    .bind(g.expires_at)
    .bind(g.requested_at)
    .execute(conn)
    .await?;
    Ok(())
}
