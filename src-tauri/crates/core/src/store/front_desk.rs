//! The front-desk tables of `records.sqlite` (migration `0004_front_desk.sql`).

use sqlx::Row;

use super::{RecordStore, Result};

/// A check-in this clinic redeemed (it asked; the patient answers on the ledger).
#[derive(Debug, Clone)]
pub(crate) struct DeskCheckInRow {
    pub check_in_id: String,
    pub patient: String,
    pub patient_name: String,
    pub issued_at: i64,
    pub code_expires_at: i64,
    pub checked_in_at: i64,
    pub redeem_tx: String,
}

/// A check-in code this patient made.
#[derive(Debug, Clone)]
pub(crate) struct OfferRow {
    pub check_in_id: String,
    pub record_ids: Vec<String>,
    pub code_expires_at: i64,
    pub until: i64,
    pub made_at: i64,
    pub clinic: Option<String>,
    pub state: String,
    /// The hash of the block that carried the redemption.
    pub redeemed_block: Option<String>,
    /// The patient's answer (true: allow), kept before it is sent; the offer stays
    /// `asked` until the ledger has it.
    pub decided: Option<bool>,
}

fn offer_row(r: &sqlx::sqlite::SqliteRow) -> Result<OfferRow> {
    let ids: String = r.try_get("record_ids")?;
    Ok(OfferRow {
        check_in_id: r.try_get("check_in_id")?,
        record_ids: serde_json::from_str(&ids).unwrap_or_default(),
        code_expires_at: r.try_get("code_expires_at")?,
        until: r.try_get("until")?,
        made_at: r.try_get("made_at")?,
        clinic: r.try_get("clinic")?,
        state: r.try_get("state")?,
        redeemed_block: r.try_get("redeemed_block")?,
        decided: r.try_get::<Option<i64>, _>("decided")?.map(|d| d == 1),
    })
}

use super::grants::QueuedGrant;

impl RecordStore {
    /// Keeps a redeemed check-in.
    pub(crate) async fn add_desk_check_in(&self, row: &DeskCheckInRow) -> Result<()> {
        sqlx::query(
            "INSERT OR REPLACE INTO desk_check_ins (check_in_id, patient, patient_name, \
             issued_at, code_expires_at, checked_in_at, redeem_tx) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&row.check_in_id)
        .bind(&row.patient)
        .bind(&row.patient_name)
        .bind(row.issued_at)
        .bind(row.code_expires_at)
        .bind(row.checked_in_at)
        .bind(&row.redeem_tx)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The check-ins this desk redeemed, newest first.
    pub(crate) async fn desk_check_ins(&self) -> Result<Vec<DeskCheckInRow>> {
        let rows = sqlx::query(
            "SELECT check_in_id, patient, patient_name, issued_at, code_expires_at, \
             checked_in_at, redeem_tx FROM desk_check_ins ORDER BY checked_in_at DESC, check_in_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DeskCheckInRow {
                    check_in_id: r.try_get("check_in_id")?,
                    patient: r.try_get("patient")?,
                    patient_name: r.try_get("patient_name")?,
                    issued_at: r.try_get("issued_at")?,
                    code_expires_at: r.try_get("code_expires_at")?,
                    checked_in_at: r.try_get("checked_in_at")?,
                    redeem_tx: r.try_get("redeem_tx")?,
                })
            })
            .collect()
    }

    /// Keeps a check-in code the patient made.
    pub(crate) async fn add_offer(&self, row: &OfferRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO check_in_offers (check_in_id, record_ids, code_expires_at, until, \
             made_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&row.check_in_id)
        .bind(serde_json::to_string(&row.record_ids).unwrap_or_else(|_| "[]".to_owned()))
        .bind(row.code_expires_at)
        .bind(row.until)
        .bind(row.made_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The check-in codes this patient made, newest first.
    pub(crate) async fn offers(&self) -> Result<Vec<OfferRow>> {
        let rows = sqlx::query(
            "SELECT check_in_id, record_ids, code_expires_at, until, made_at, clinic, state, \
             redeemed_block, decided FROM check_in_offers ORDER BY made_at DESC, check_in_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(offer_row).collect()
    }

    /// A clinic redeemed the code: the patient is asked (once; later redemptions of the
    /// same id cannot happen, the contract takes one).
    pub(crate) async fn offer_asked(
        &self,
        check_in_id: &str,
        clinic: &str,
        block: &str,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE check_in_offers SET clinic = ?, redeemed_block = ?, state = 'asked' \
             WHERE check_in_id = ? AND state = 'offered'",
        )
        .bind(clinic)
        .bind(block)
        .bind(check_in_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The clinic a node named for a redemption was not the one on chain: asked again.
    pub(crate) async fn offer_reset(&self, check_in_id: &str) -> Result<()> {
        sqlx::query(
            "UPDATE check_in_offers SET clinic = NULL, redeemed_block = NULL, decided = NULL, \
             state = 'offered' WHERE check_in_id = ? AND state = 'asked'",
        )
        .bind(check_in_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The patient's answer, kept before it is sent. False when the offer is no longer
    /// waiting for an answer, or was already given the other one.
    pub(crate) async fn offer_decided(
        &self,
        check_in_id: &str,
        clinic: &str,
        allow: bool,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE check_in_offers SET decided = ? WHERE check_in_id = ? AND clinic = ? \
             AND state = 'asked' AND (decided IS NULL OR decided = ?)",
        )
        .bind(i64::from(allow))
        .bind(check_in_id)
        .bind(clinic)
        .bind(i64::from(allow))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The answer is on the ledger (`tx`, empty when it was found there): the offer, still
    /// asked by `clinic`, is answered and, in the same transaction, `grants` (an allow's
    /// records for the clinic until the check-in ends) are queued, so neither is kept
    /// without the other. Nothing is queued when the offer was answered meanwhile (by
    /// the command and the background pass both sending it).
    pub(crate) async fn offer_answered(
        &self,
        check_in_id: &str,
        clinic: &str,
        allowed: bool,
        tx: &str,
        grants: &[QueuedGrant<'_>],
    ) -> Result<()> {
        let mut db = self.pool.begin().await?;
        let answered = sqlx::query(
            "UPDATE check_in_offers SET state = ?, answer_tx = ?, decided = ? \
             WHERE check_in_id = ? AND clinic = ? AND state = 'asked'",
        )
        .bind(if allowed { "allowed" } else { "declined" })
        .bind(tx)
        .bind(i64::from(allowed))
        .bind(check_in_id)
        .bind(clinic)
        .execute(&mut *db)
        .await?;
        if answered.rows_affected() != 1 {
            return Ok(());
        }
        for g in grants {
            super::grants::queue_grant_in(&mut db, g).await?;
        }
        db.commit().await?;
        Ok(())
    }

    /// Keeps what a logged opening of a shared record decrypted (the last opening's
    /// version replaces what was kept).
    pub(crate) async fn set_opened_share(
        &self,
        record_id: &str,
        version: u32,
        sealed_dek: &[u8],
        manifest: &[u8],
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO opened_shares (record_id, version, sealed_dek, manifest) \
             VALUES (?, ?, ?, ?) ON CONFLICT (record_id) DO UPDATE SET \
             version = excluded.version, sealed_dek = excluded.sealed_dek, \
             manifest = excluded.manifest",
        )
        .bind(record_id)
        .bind(version)
        .bind(sealed_dek)
        .bind(manifest)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// What a logged opening of a shared record kept: (version, sealed data key, manifest).
    pub(crate) async fn opened_share(
        &self,
        record_id: &str,
    ) -> Result<Option<(u32, Vec<u8>, Vec<u8>)>> {
        Ok(sqlx::query_as(
            "SELECT version, sealed_dek, manifest FROM opened_shares WHERE record_id = ?",
        )
        .bind(record_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Keeps the nonce a record this wallet authors is registered with.
    pub(crate) async fn set_record_nonce(&self, record_id: &str, nonce: &str) -> Result<()> {
        sqlx::query("INSERT OR IGNORE INTO record_nonces (record_id, nonce) VALUES (?, ?)")
            .bind(record_id)
            .bind(nonce)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The nonce of a record this wallet authors, if it was made here.
    pub(crate) async fn record_nonce(&self, record_id: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT nonce FROM record_nonces WHERE record_id = ?")
                .bind(record_id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Notes the clinic that made one of this patient's records, with the name the
    /// consortium attested for it then (`None`: unverified).
    pub(crate) async fn set_uploaded_by(
        &self,
        record_id: &str,
        author: &str,
        name: Option<&str>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT OR REPLACE INTO uploaded_for_me (record_id, author, author_name) \
             VALUES (?, ?, ?)",
        )
        .bind(record_id)
        .bind(author)
        .bind(name)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The clinics that made this patient's records, by record id: (record, clinic, its
    /// attested name).
    pub(crate) async fn uploaded_by(&self) -> Result<Vec<(String, String, Option<String>)>> {
        Ok(
            sqlx::query_as("SELECT record_id, author, author_name FROM uploaded_for_me")
                .fetch_all(&self.pool)
                .await?,
        )
    }
}
