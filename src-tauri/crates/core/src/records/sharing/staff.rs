//! A clinic as attribute authority: it issues its staff keys (`role:doctor`,
//! `dept:emergency`, ...), which open records patients shared with those roles there.

use medwallet_api::UserError;
use medwallet_vault::Role;
use url::Url;

use super::super::{Answer, LedgerTarget, Owner, RecordService};
use super::directory;
use super::grant::parse_clause;
use super::parse_address;

impl RecordService {
    /// Issues a staff member's key with `attributes` from the clinic's authority (sealed
    /// to them, on IPFS, `KeyIssued` on the ledger); a new set replaces the one before.
    pub async fn issue_staff_key(
        &self,
        clinic: &Owner,
        ipfs: &Url,
        ledger: &LedgerTarget,
        holder: &str,
        attributes: &[String],
    ) -> Answer<()> {
        if clinic.role != Role::Clinic {
            return Err(UserError::new(
                "Only clinic wallets issue staff keys.",
                "Switch to the clinic's wallet.",
            ));
        }
        let holder = parse_address(holder)?;
        let mut attributes: Vec<String> = attributes.iter().map(|a| a.trim().to_owned()).collect();
        attributes.sort();
        attributes.dedup();
        for a in &attributes {
            // Each attribute must be one term a clause can name.
            let (canonical, _) = parse_clause(a)?;
            if canonical != *a || a.contains(' ') {
                return Err(UserError::new(
                    format!("\"{a}\" is not a single attribute."),
                    "Give attributes one by one, such as role:doctor and dept:emergency.",
                ));
            }
        }
        if attributes.is_empty() {
            return Err(UserError::new(
                "A staff key needs at least one attribute.",
                "Give the staff member's role, such as role:doctor.",
            ));
        }
        let store = self.store(&clinic.wallet_id).await?;
        let fail =
            |f: super::Failure| UserError::new(f.reason, "Try again when both nodes answer.");
        let conn = directory::connect(clinic, ledger).await.map_err(fail)?;
        directory::publish_self(&store, clinic, ipfs, &conn)
            .await
            .map_err(fail)?;
        self.issue_key_to(&store, clinic, ipfs, &conn, holder, &attributes)
            .await
            .map_err(fail)?;
        Ok(())
    }
}
