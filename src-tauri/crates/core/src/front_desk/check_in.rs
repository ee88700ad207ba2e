//! The one-time check-in at a clinic's front desk.
//!
//! The patient's wallet makes a throwaway wallet from a fresh seed, offers a check-in to
//! its address on the ledger (`offerCheckIn`, until an expiry), issues it a key
//! (`id:<code address>`) and grants it the records the patient chose, expiring with the
//! check-in. The seed goes into the patient's signed share code, shown as a QR code.
//!
//! The desk reads the code, checks its signature against the key the patient published,
//! its chain and its freshness, and that the patient offered exactly this check-in; then
//! redeems it (`redeemCheckIn`, signed with the code's key for this clinic's address:
//! once, before it expires; a second reading is refused by the contract). It keeps the
//! seed (sealed under its local key) to open the granted records until the expiry, each
//! opening logged first (`logCheckInAccess`). When the check-in expires the patient's
//! wallet revokes the grants like any expired grant: the records are re-encrypted
//! without the code.

use medwallet_abe::DataKey;
use medwallet_api::{CheckInSession, OpenedRecord};
use medwallet_ledger::{Address, CheckInKey, EventFilter, LedgerError, LedgerEvent, Revert, B256};
use medwallet_records::IpfsNode;
use medwallet_vault::{CheckIn, Role, WalletKeys};
use url::Url;

use crate::error::{Answer, CoreError, FrontDeskError, Route, Task};
use crate::inbox::{find, ledger_error, opening_not_logged, shared_entry, Holder};
use crate::ledger::directory;
use crate::ledger::{chain_time, id_attribute, now_unix, rfc3339, LedgerTarget};
use crate::records::RecordService;
use crate::session::Owner;
use crate::sharing::{check_share_code, share_code, Target};
use crate::store::front_desk::CheckInRow;
use crate::store::grants::GrantPhase;
use crate::store::{local_seal, RecordStore};

/// Shortest and longest a check-in may last, in minutes.
pub const MIN_CHECK_IN_MINUTES: u32 = 5;
/// See [`MIN_CHECK_IN_MINUTES`].
pub const MAX_CHECK_IN_MINUTES: u32 = 24 * 60;
/// A code dated this far after the desk's (or ledger's) clock is refused, in seconds.
const FUTURE_SKEW: i64 = 300;

/// A check-in the patient's wallet offered: the code's secret part, to sign into the
/// share code (the wallet service holds the signing key).
#[derive(Debug)]
pub struct OfferedCheckIn {
    /// The seed and expiry.
    pub check_in: CheckIn,
    /// The ledger's chain, for the share code.
    pub chain_id: u64,
    /// How many records it grants.
    pub records: u32,
    /// When it expires (RFC 3339, ledger time).
    pub expires_at: String,
}

fn code_keys(check_in: &CheckIn) -> Answer<(WalletKeys, Address)> {
    let keys = check_in
        .keys()
        .map_err(|e| CoreError::internal("the check-in's keys", e))?;
    let address = keys
        .address()
        .parse()
        .map_err(|_| CoreError::internal("the check-in's address", keys.address()))?;
    Ok((keys, address))
}

fn seal_aad(code: &str) -> String {
    format!("check-in:{code}")
}

/// What the contract's refusal of an offer or a redemption means for the desk.
fn ledger_refusal(e: LedgerError, me: Address) -> CoreError {
    let refused = match &e {
        // Offering: a fresh code's address was offered before (never, but named).
        LedgerError::Reverted {
            reason: Revert::CheckInUsed { clinic, .. },
            ..
        } if clinic.is_zero() => FrontDeskError::AlreadyOffered,
        LedgerError::Reverted {
            reason: Revert::BadExpiry { .. },
            ..
        } => FrontDeskError::ExpiryPassed,
        LedgerError::Reverted {
            reason: Revert::CheckInUsed { clinic, .. },
            ..
        } if *clinic == me => FrontDeskError::UsedHere,
        LedgerError::Reverted {
            reason: Revert::CheckInUsed { clinic, .. },
            ..
        } => FrontDeskError::CheckInUsed { by: *clinic },
        LedgerError::Reverted {
            reason: Revert::CheckInExpired { expiry, .. },
            ..
        } => FrontDeskError::CheckInExpired {
            at: i64::try_from(*expiry).unwrap_or(i64::MAX),
        },
        _ => return CoreError::from(e).during(Task::RedeemCheckIn),
    };
    refused.into()
}

impl RecordService {
    /// The patient's side: offers a check-in on the ledger and grants it `record_ids`
    /// until it expires, `valid_minutes` from now (ledger time). The caller signs the
    /// returned check-in into the wallet's share code.
    pub async fn offer_check_in(
        &self,
        owner: &Owner,
        ipfs: &Url,
        ledger: &LedgerTarget,
        record_ids: &[String],
        valid_minutes: u32,
    ) -> Answer<OfferedCheckIn> {
        if owner.role != Role::Patient {
            return Err(FrontDeskError::OnlyPatientsMakeCodes.into());
        }
        if !(MIN_CHECK_IN_MINUTES..=MAX_CHECK_IN_MINUTES).contains(&valid_minutes) {
            return Err(FrontDeskError::LengthNotOffered {
                minutes: valid_minutes,
                min: MIN_CHECK_IN_MINUTES,
                max: MAX_CHECK_IN_MINUTES,
            }
            .into());
        }
        let store = self.sharing_store(owner).await?;
        for id in record_ids {
            let row = store
                .latest(id)
                .await?
                .ok_or_else(|| FrontDeskError::NotInWallet {
                    record_id: id.clone(),
                })?;
            if row.ledger.is_none() {
                return Err(FrontDeskError::NotRegisteredYet.into());
            }
        }
        let conn = directory::connect(owner, ledger)
            .await
            .map_err(|f| f.during(Task::OfferCheckIn))?;
        directory::publish_self(&store, owner, ipfs, &conn)
            .await
            .map_err(|f| f.during(Task::Publish))?;
        let chain_id = conn.node.status().await.map_err(ledger_error)?.chain_id;
        let now = now_unix().max(chain_time(&conn.node).await);
        let expires = now + i64::from(valid_minutes) * 60;
        let check_in = CheckIn::generate(u64::try_from(expires).unwrap_or(u64::MAX))
            .map_err(|e| CoreError::internal("a check-in", e))?;
        let (keys, code) = code_keys(&check_in)?;
        let target = Target::Person(code);
        for id in record_ids {
            self.check_room(owner, &store, id, &target).await?;
        }
        conn.client
            .offer_check_in(code, check_in.expires_at)
            .await
            .map_err(|e| ledger_refusal(e, conn.me))?;
        if !record_ids.is_empty() {
            let code_text = code.to_string();
            self.issue_key_sealed(
                &store,
                owner,
                ipfs,
                &conn,
                code,
                Some(keys.x25519_public_key()),
                &[id_attribute(&code_text)],
            )
            .await
            .map_err(|f| f.during(Task::KeyForCheckIn))?;
            let requested = rfc3339(now_unix());
            for id in record_ids {
                store
                    .queue_grant(id, &code_text, None, Some(expires), &requested)
                    .await?;
            }
            self.run_sharing(&store, owner, ipfs, ledger, true).await;
            for id in record_ids {
                let grant = store.open_grant(id, &code_text, None).await?;
                if !grant
                    .as_ref()
                    .is_some_and(|g| g.phase == GrantPhase::Active)
                {
                    return Err(FrontDeskError::NotGranted {
                        why: grant.and_then(|g| g.problem),
                    }
                    .into());
                }
            }
        }
        Ok(OfferedCheckIn {
            check_in,
            chain_id,
            records: u32::try_from(record_ids.len()).unwrap_or(u32::MAX),
            expires_at: rfc3339(expires),
        })
    }

    /// The desk's side: checks a patient in from the text of their code (pasted, or read
    /// from a QR picture). Each check is named when it fails.
    pub async fn check_in(
        &self,
        owner: &Owner,
        ipfs: &Url,
        ledger: &LedgerTarget,
        text: &str,
    ) -> Answer<CheckInSession> {
        if owner.role != Role::Clinic {
            return Err(FrontDeskError::OnlyClinicsCheckIn.into());
        }
        let code = share_code(text)
            .map_err(|e| e.during(Task::ReadCode))?
            .ok_or(FrontDeskError::NotACheckInCode)?;
        let Some(check_in) = code.check_in.clone() else {
            return Err(FrontDeskError::PlainShareCode {
                address: code.address.clone(),
                display_name: code.display_name.clone(),
            }
            .into());
        };
        let store = self.store(&owner.wallet_id).await?;
        let conn = directory::connect(owner, ledger)
            .await
            .map_err(|f| f.during(Task::ReadCheckIn))?;
        // The desk is known on the ledger as a clinic: the patient's wallet follows the
        // records it makes only from a published clinic.
        directory::publish_self(&store, owner, ipfs, &conn)
            .await
            .map_err(|f| f.during(Task::Publish))?;
        let chain_id = conn.node.status().await.map_err(ledger_error)?.chain_id;
        let patient: Address = code
            .address
            .parse()
            .map_err(|_| CoreError::internal("the code's address", &code.address))?;
        let published = directory::identity_of(&conn.node, conn.contract, patient)
            .await
            .map_err(ledger_error)?
            .ok_or(CoreError::NotPublished { address: patient })?;
        check_share_code(&code, &published, chain_id)?;
        let now = now_unix().max(chain_time(&conn.node).await);
        let issued = i64::try_from(code.issued_at).unwrap_or(i64::MAX);
        if issued > now + FUTURE_SKEW {
            return Err(FrontDeskError::DatedInFuture { issued }.into());
        }
        let expires = i64::try_from(check_in.expires_at).unwrap_or(i64::MAX);
        if expires <= now {
            return Err(FrontDeskError::CheckInExpired { at: expires }.into());
        }
        let (keys, code_address) = code_keys(&check_in)?;
        let events = directory::events(
            &conn.node,
            conn.contract,
            &EventFilter::Wallet(code_address),
        )
        .await
        .map_err(ledger_error)?;
        let offered = events.iter().any(|e| {
            matches!(e.event, LedgerEvent::CheckInOffered { patient: p, code: c, expiry }
                if p == patient && c == code_address && expiry == check_in.expires_at)
        });
        if !offered {
            return Err(FrontDeskError::NotOffered { patient }.into());
        }
        let signature = CheckInKey::from_bytes(keys.ledger_secret_key())
            .and_then(|k| k.sign_redemption(chain_id, conn.contract, conn.me))
            .map_err(|e| CoreError::internal("signing the check-in", e))?;
        let code_text = code_address.to_string();
        let redeem_tx = match conn.client.redeem_check_in(code_address, &signature).await {
            Ok(receipt) => receipt.tx_hash.to_string(),
            // Redeemed by this desk, but not kept here (its receipt was lost, or this
            // device failed just after): the same code finishes the check-in.
            Err(LedgerError::Reverted {
                reason: Revert::CheckInUsed { clinic, .. },
                ..
            }) if clinic == conn.me && self.check_in_row(&store, &code_text).await.is_err() => {
                String::new()
            }
            Err(e) => return Err(ledger_refusal(e, conn.me)),
        };
        let row = CheckInRow {
            sealed_seed: local_seal::seal(
                &owner.local_key,
                &seal_aad(&code_text),
                0,
                &DataKey::from_bytes(*check_in.seed),
            )
            .map_err(|e| CoreError::internal("sealing the check-in", e))?,
            code_address: code_text,
            patient: patient.to_string(),
            patient_name: code.display_name.clone(),
            issued_at: issued,
            expires_at: expires,
            checked_in_at: now_unix(),
            redeem_tx,
        };
        store.add_check_in(&row).await?;
        let node = IpfsNode::new(ipfs)?;
        self.session_of(&conn.node, conn.contract, &node, owner, &row, now)
            .await
    }

    /// The patients checked in at this desk, newest first, with what each granted.
    pub async fn list_check_ins(
        &self,
        owner: &Owner,
        ipfs: &Url,
        ledger: &LedgerTarget,
    ) -> Answer<Vec<CheckInSession>> {
        let store = self.store(&owner.wallet_id).await?;
        let rows = store.check_ins().await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let conn = directory::connect(owner, ledger)
            .await
            .map_err(|f| f.during(Task::ListCheckIns))?;
        let node = IpfsNode::new(ipfs)?;
        let now = now_unix().max(chain_time(&conn.node).await);
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(
                self.session_of(&conn.node, conn.contract, &node, owner, row, now)
                    .await?,
            );
        }
        Ok(out)
    }

    /// Logs the access (`logCheckInAccess`), then opens a record a checked-in patient
    /// granted to the code.
    pub async fn open_checked_in(
        &self,
        owner: &Owner,
        ipfs: &Url,
        ledger: &LedgerTarget,
        code_address: &str,
        record_id: &str,
    ) -> Answer<OpenedRecord> {
        let store = self.store(&owner.wallet_id).await?;
        let row = self.check_in_row(&store, code_address).await?;
        let check_in = self.unseal_check_in(owner, &row)?;
        let (keys, code) = code_keys(&check_in)?;
        let conn = directory::connect(owner, ledger)
            .await
            .map_err(|f| f.during(Task::OpenCheckedIn))?;
        let wanted: B256 = crate::ledger::b256(record_id)?;
        let now = now_unix().max(chain_time(&conn.node).await);
        if row.expires_at <= now {
            return Err(FrontDeskError::CheckInOver { at: row.expires_at }.into());
        }
        let found = find(&conn.node, conn.contract, code)
            .await
            .map_err(ledger_error)?;
        let patient: Address = row
            .patient
            .parse()
            .map_err(|_| CoreError::internal("the patient's address", &row.patient))?;
        let share = found
            .routes(wanted)
            .find(|s| s.owner == patient)
            .cloned()
            .ok_or(FrontDeskError::NotGrantedWithCheckIn)?;
        let node = IpfsNode::new(ipfs)?;
        let holder = Holder {
            address: code,
            hpke_secret: keys.x25519_secret(),
        };
        let mut keys_by_issuer = std::collections::HashMap::new();
        let r = self
            .resolve(
                &holder,
                &node,
                &conn.node,
                conn.contract,
                &found,
                &mut keys_by_issuer,
                &share,
            )
            .await?
            .ok_or_else(|| CoreError::internal("a check-in grant", "not a person grant"))?;
        // The access is on the ledger before anything is decrypted.
        conn.client
            .log_check_in_access(wanted, r.version, code)
            .await
            .map_err(opening_not_logged(Route::CheckIn))?;
        self.show_resolved(owner, &node, r, record_id).await
    }

    /// A redeemed check-in's seed, for the desk (checked before use).
    pub(crate) async fn check_in_row(
        &self,
        store: &RecordStore,
        code_address: &str,
    ) -> Answer<CheckInRow> {
        store
            .check_ins()
            .await?
            .into_iter()
            .find(|r| r.code_address.eq_ignore_ascii_case(code_address.trim()))
            .ok_or_else(|| FrontDeskError::NotCheckedIn.into())
    }

    pub(crate) fn unseal_check_in(&self, owner: &Owner, row: &CheckInRow) -> Answer<CheckIn> {
        let seed = local_seal::open(
            &owner.local_key,
            &seal_aad(&row.code_address),
            0,
            &row.sealed_seed,
        )
        .map_err(|_| CoreError::LocalIndexDamaged {
            record_id: row.code_address.clone(),
        })?;
        Ok(CheckIn {
            seed: zeroize::Zeroizing::new(*seed.as_bytes()),
            expires_at: u64::try_from(row.expires_at).unwrap_or(0),
        })
    }

    async fn session_of(
        &self,
        ledger: &medwallet_ledger::LedgerNode,
        contract: Address,
        node: &IpfsNode,
        owner: &Owner,
        row: &CheckInRow,
        now: i64,
    ) -> Answer<CheckInSession> {
        let check_in = self.unseal_check_in(owner, row)?;
        let (keys, code) = code_keys(&check_in)?;
        let expired = row.expires_at <= now;
        let mut session = CheckInSession {
            code_address: row.code_address.clone(),
            patient: row.patient.clone(),
            patient_name: row.patient_name.clone(),
            issued_at: rfc3339(row.issued_at),
            checked_in_at: rfc3339(row.checked_in_at),
            expires_at: rfc3339(row.expires_at),
            expired,
            records: Vec::new(),
            problems: Vec::new(),
        };
        let found = find(ledger, contract, code).await.map_err(ledger_error)?;
        let holder = Holder {
            address: code,
            hpke_secret: keys.x25519_secret(),
        };
        let mut issued = std::collections::HashMap::new();
        let patient: Address = row
            .patient
            .parse()
            .map_err(|_| CoreError::internal("the patient's address", &row.patient))?;
        // Only what this patient granted with this code (a grant from anyone else to the
        // code's address is not theirs to show).
        for share in &found.shares {
            if share.expired(now) || share.owner != patient {
                continue;
            }
            match self
                .resolve(&holder, node, ledger, contract, &found, &mut issued, share)
                .await
            {
                Ok(Some(r)) => session.records.push(shared_entry(&r, now)),
                Ok(None) => {}
                Err(e) => session.problems.push(crate::words::message(
                    &FrontDeskError::GrantUnreadable {
                        source: Box::new(e),
                    }
                    .into(),
                )),
            }
        }
        Ok(session)
    }
}
