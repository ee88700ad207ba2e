//! The front-desk tables of `records.sqlite` (migration `0004_front_desk.sql`).

use sqlx::Row;

use super::{RecordStore, Result};

/// A check-in this clinic redeemed.
#[derive(Debug, Clone)]
pub(crate) struct CheckInRow {
    pub code_address: String,
    pub patient: String,
    pub patient_name: String,
    pub sealed_seed: Vec<u8>,
    pub issued_at: i64,
    pub expires_at: i64,
    pub checked_in_at: i64,
    pub redeem_tx: String,
}

impl RecordStore {
    /// Keeps a redeemed check-in.
    pub(crate) async fn add_check_in(&self, row: &CheckInRow) -> Result<()> {
        sqlx::query(
            "INSERT OR REPLACE INTO check_ins (code_address, patient, patient_name, sealed_seed, \
             issued_at, expires_at, checked_in_at, redeem_tx) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&row.code_address)
        .bind(&row.patient)
        .bind(&row.patient_name)
        .bind(&row.sealed_seed)
        .bind(row.issued_at)
        .bind(row.expires_at)
        .bind(row.checked_in_at)
        .bind(&row.redeem_tx)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The check-ins, newest first.
    pub(crate) async fn check_ins(&self) -> Result<Vec<CheckInRow>> {
        let rows = sqlx::query(
            "SELECT code_address, patient, patient_name, sealed_seed, issued_at, expires_at, \
             checked_in_at, redeem_tx FROM check_ins ORDER BY checked_in_at DESC, code_address",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(CheckInRow {
                    code_address: r.try_get("code_address")?,
                    patient: r.try_get("patient")?,
                    patient_name: r.try_get("patient_name")?,
                    sealed_seed: r.try_get("sealed_seed")?,
                    issued_at: r.try_get("issued_at")?,
                    expires_at: r.try_get("expires_at")?,
                    checked_in_at: r.try_get("checked_in_at")?,
                    redeem_tx: r.try_get("redeem_tx")?,
                })
            })
            .collect()
    }

    /// Notes the clinic that made one of this patient's records.
    pub(crate) async fn set_uploaded_by(&self, record_id: &str, author: &str) -> Result<()> {
        sqlx::query("INSERT OR REPLACE INTO uploaded_for_me (record_id, author) VALUES (?, ?)")
            .bind(record_id)
            .bind(author)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The clinics that made this patient's records, by record id.
    pub(crate) async fn uploaded_by(&self) -> Result<Vec<(String, String)>> {
        Ok(
            sqlx::query_as("SELECT record_id, author FROM uploaded_for_me")
                .fetch_all(&self.pool)
                .await?,
        )
    }
}
