//! Whether the sharing pass has ledger work due, told without asking the ledger: the
//! background pass of a quiet wallet (nothing queued, no grant expiring soon, its keys
//! published, no check-in code waiting for a desk, no answer to one waiting to be sent) makes no ledger connection, and asks
//! only for the chain's head now and then (see `crate::background`).

use crate::error::Answer;
use crate::ledger::{now_unix, LedgerTarget};
use crate::records::RecordService;
use crate::session::Owner;

/// A grant expiring within this many seconds is work due: its revocation goes out on the
/// pass before it expires, not a head check later.
pub const EXPIRY_SOON_SECONDS: i64 = 120;

impl RecordService {
    /// Whether the owner's sharing pass has something to send or to watch for, from this
    /// device's own state only: grants or revocations queued, a grant expiring within
    /// [`EXPIRY_SOON_SECONDS`], keys not published on this contract yet, a rebuild not
    /// finished, an emergency grant open (its openings are watched on every pass), or a
    /// check-in code a desk may redeem at any moment (the patient is
    /// waiting at the desk). `chain_ahead` is how far the chain's clock was ahead of this
    /// device's at the last full pass (expiries are the chain's when it is ahead).
    pub async fn ledger_work_due(
        &self,
        owner: &Owner,
        ledger: &LedgerTarget,
        chain_ahead: i64,
    ) -> Answer<bool> {
        let Some(contract) = ledger.contract else {
            return Ok(false);
        };
        let contract = contract.to_string();
        let store = self.sharing_store(owner).await?;
        let now = now_unix() + chain_ahead.max(0);
        if !store.due_grants(Some(now)).await?.is_empty()
            || store.grant_expiring_by(now + EXPIRY_SOON_SECONDS).await?
            || store.rebuild_unfinished(&contract).await?
            // A clinic's emergency staff may open a record at any moment: the patient
            // who allowed it is told at once, not a head check later.
            || store
                .has_open_clause(crate::sharing::emergency::EMERGENCY_CLAUSE)
                .await?
            || store.published(&contract, "identity").await?.is_none()
            || (owner.authority_seed.is_some()
                && store.published(&contract, "authority").await?.is_none())
        {
            return Ok(true);
        }
        let offers = store.offers().await?;
        Ok(offers.iter().any(|o| {
            (o.state == "offered" && o.code_expires_at + EXPIRY_SOON_SECONDS > now)
                    // An answer kept but not yet on the ledger.
                    || (o.state == "asked" && o.decided.is_some())
        }))
    }
}
