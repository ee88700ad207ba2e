//! The check-in at a clinic's front desk: a code that grants nothing by itself.
//!
//! The patient's wallet makes a code: the patient's signed share code carrying a nonce
//! and a short expiry (15 minutes at most) signed with the patient's ledger key. It
//! keeps, on this device only, which records the patient chose and for how long.
//!
//! The desk reads the code, checks its signatures against the keys the patient published,
//! its chain and its freshness, and redeems it (`redeemCheckIn`, once, before it
//! expires): that only asks. The patient's wallet sees the redemption on its next pass and
//! asks the patient: "St Mary's Hospital ✓ (0x…) wants to check you in: allow Blood panel
//! until 17:00?". On Allow it answers on the ledger (`answerCheckIn`, which also lets that
//! clinic register records for the patient until then) and grants the records to the
//! clinic itself, sealed to the clinic's published key, expiring then. A photographed
//! code opens nothing: whoever redeems it first is only named to the patient, who
//! declines.

use medwallet_api::{CheckInAsk, CheckInSession, OpenedRecord};
use medwallet_ledger::{
    check_in_id_of, check_in_signer, Address, CheckInSigner, EventFilter, LedgerError, LedgerEvent,
    Revert, B256,
};
use medwallet_records::IpfsNode;
use medwallet_vault::{CheckIn, Role};
use url::Url;

use crate::error::{Answer, CoreError, FrontDeskError, Task};
use crate::inbox::{find, ledger_error, Holder};
use crate::ledger::directory::{self, Connected};
use crate::ledger::{chain_time, id_attribute, now_unix, rfc3339, LedgerTarget};
use crate::records::RecordService;
use crate::session::Owner;
use crate::sharing::{check_share_code, share_code, Target};
use crate::store::front_desk::{DeskCheckInRow, OfferRow};
use crate::store::grants::{GrantPhase, QueuedGrant};
use crate::store::RecordStore;

/// Shortest and longest a check-in may last, in minutes.
pub const MIN_CHECK_IN_MINUTES: u32 = 5;
/// See [`MIN_CHECK_IN_MINUTES`].
pub const MAX_CHECK_IN_MINUTES: u32 = 24 * 60;
/// How long a code can be redeemed, in minutes (the contract accepts up to an hour).
pub const CODE_MINUTES: u32 = 15;
/// A code dated this far after the desk's (or ledger's) clock is refused, in seconds.
const FUTURE_SKEW: i64 = 300;

/// A check-in code the patient's wallet made: to sign into the share code (the wallet
/// service holds the signing key).
#[derive(Debug)]
pub struct OfferedCheckIn {
    /// The nonce, expiry and the patient's ledger signature.
    pub check_in: CheckIn,
    /// The ledger's chain, for the share code.
    pub chain_id: u64,
    /// How many records it would share.
    pub records: u32,
    /// Until when a desk can redeem it (RFC 3339, ledger time).
    pub expires_at: String,
}

/// What the contract's refusal of a redemption means for the desk.
fn ledger_refusal(e: LedgerError, me: Address) -> CoreError {
    let refused = match &e {
        // The code's expiry is further ahead than the contract allows: the patient's
        // clock is ahead.
        LedgerError::Reverted {
            reason: Revert::BadExpiry { expiry },
            ..
        } => FrontDeskError::CodeTooLong {
            until: i64::try_from(*expiry).unwrap_or(i64::MAX),
        },
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

/// The contract's state of a check-in the patient allowed (`CHECK_IN_ALLOWED`).
const ALLOWED: u8 = 2;

/// The clinic that redeemed `offer`, as the patient's wallet noted it.
fn offer_clinic(offer: &OfferRow) -> Answer<Address> {
    offer
        .clinic
        .as_deref()
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| FrontDeskError::UnknownRequest.into())
}

/// The desk's view of the patient's answer, read from its own events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answered {
    Waiting,
    Allowed { until: i64 },
    Declined,
}

fn answer_of(events: &[medwallet_ledger::LoggedEvent], id: B256, patient: Address) -> Answered {
    events
        .iter()
        .rev()
        .find_map(|e| match e.event {
            LedgerEvent::CheckInAnswered {
                check_in_id,
                patient: p,
                allowed,
                until,
                ..
            } if check_in_id == id && p == patient => Some(if allowed {
                Answered::Allowed {
                    until: i64::try_from(until).unwrap_or(i64::MAX),
                }
            } else {
                Answered::Declined
            }),
            _ => None,
        })
        .unwrap_or(Answered::Waiting)
}

impl RecordService {
    /// The patient's side: makes a check-in code for `record_ids`, which a desk that
    /// reads it may open for `valid_minutes` from now once the patient allows it. Nothing
    /// is sent to the ledger: the code is only the patient's signature.
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
        let mut ids = Vec::with_capacity(record_ids.len());
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
            ids.push(row.record_id);
        }
        let conn = self
            .connect(owner, ledger)
            .await
            .map_err(|f| f.during(Task::OfferCheckIn))?;
        // The desk checks the code against the keys the patient published.
        directory::publish_self(&store, owner, ipfs, &conn)
            .await
            .map_err(|f| f.during(Task::Publish))?;
        let chain_id = conn.node.status().await.map_err(ledger_error)?.chain_id;
        let now = now_unix().max(chain_time(&conn.node).await);
        let code_expires = now + i64::from(CODE_MINUTES.min(valid_minutes)) * 60;
        let until = now + i64::from(valid_minutes) * 60;
        let nonce = B256::from(
            CheckIn::new_nonce().map_err(|e| CoreError::internal("a check-in nonce", e))?,
        );
        let expires_at = u64::try_from(code_expires).unwrap_or(u64::MAX);
        let signature = CheckInSigner::from_bytes(&owner.ledger_key)
            .and_then(|k| k.sign(chain_id, conn.contract, nonce, expires_at))
            .map_err(|e| CoreError::internal("signing the check-in", e))?;
        let id = check_in_id_of(conn.me, nonce);
        store
            .add_offer(&OfferRow {
                check_in_id: id.to_string(),
                record_ids: ids,
                code_expires_at: code_expires,
                until,
                made_at: now_unix(),
                clinic: None,
                state: "offered".to_owned(),
                redeemed_block: None,
                decided: None,
            })
            .await?;
        Ok(OfferedCheckIn {
            check_in: CheckIn {
                nonce: nonce.0,
                expires_at,
                signature: signature.as_bytes(),
            },
            chain_id,
            records: u32::try_from(record_ids.len()).unwrap_or(u32::MAX),
            expires_at: rfc3339(code_expires),
        })
    }

    /// The patient's pass: a desk that redeemed one of its codes is noted, so the patient
    /// is asked. Reads the ledger only while a code is waiting to be redeemed.
    pub(crate) async fn sync_check_in_asks(
        &self,
        store: &RecordStore,
        conn: &Connected,
    ) -> Result<(), crate::ledger::StepFailure> {
        use crate::ledger::StepFailure as Failure;
        let now = now_unix();
        let waiting: Vec<OfferRow> = store
            .offers()
            .await
            .map_err(Failure::store)?
            .into_iter()
            // A redemption is mined before the code's expiry; a day later it is surely
            // seen, or never was.
            .filter(|o| o.state == "offered" && o.code_expires_at + 86_400 > now)
            .collect();
        if waiting.is_empty() {
            return Ok(());
        }
        let events = conn
            .reads
            .events(&EventFilter::Wallet(conn.me))
            .await
            .map_err(Failure::ledger)?;
        for e in &events {
            let LedgerEvent::CheckInRedeemed {
                check_in_id,
                patient,
                clinic,
            } = e.event
            else {
                continue;
            };
            let id = check_in_id.to_string();
            if patient == conn.me && waiting.iter().any(|o| o.check_in_id == id) {
                store
                    .offer_asked(&id, &clinic.to_string(), &e.meta.block_hash.to_string())
                    .await
                    .map_err(Failure::store)?;
            }
        }
        Ok(())
    }

    /// The patient's check-in codes that a desk redeemed, newest first, each with the
    /// desk named as the consortium attests it (or unverified) and what Allow would share.
    pub async fn check_in_asks(
        &self,
        owner: &Owner,
        ledger: &LedgerTarget,
    ) -> Answer<Vec<CheckInAsk>> {
        if owner.role != Role::Patient {
            return Ok(Vec::new());
        }
        let store = self.store(&owner.wallet_id).await?;
        // Waiting for an answer, or answered in the last day (what the window shows).
        let recent = now_unix() - 86_400;
        let offers: Vec<OfferRow> = store
            .offers()
            .await?
            .into_iter()
            .filter(|o| o.clinic.is_some() && (o.state == "asked" || o.made_at > recent))
            .collect();
        if offers.is_empty() {
            return Ok(Vec::new());
        }
        let titles = self.titles(owner).await?;
        let conn = self.connect(owner, ledger).await.ok();
        let mut out = Vec::with_capacity(offers.len());
        for o in offers {
            let Some(clinic) = o.clinic.as_deref().and_then(|c| c.parse::<Address>().ok()) else {
                continue;
            };
            let label = match &conn {
                Some(conn) => directory::provider_label(&conn.node, conn.contract, clinic).await,
                None => medwallet_api::ProviderLabel {
                    address: clinic.to_string(),
                    verified_name: None,
                    verified_role: None,
                },
            };
            let confirmation = match (
                crate::ledger::b256(&o.check_in_id),
                o.redeemed_block.as_deref().map(crate::ledger::b256),
            ) {
                (Ok(id), Some(Ok(block))) => {
                    medwallet_ledger::check_in_confirmation(id, clinic, block)
                }
                _ => String::new(),
            };
            out.push(CheckInAsk {
                confirmation,
                check_in_id: o.check_in_id,
                clinic: label,
                records: o
                    .record_ids
                    .iter()
                    .map(|id| {
                        let title = titles.get(id).map_or_else(|| id.clone(), str::to_owned);
                        (id.clone(), title)
                    })
                    .collect(),
                until: rfc3339(o.until),
                // Kept, and sent by the background pass: no longer the patient's to answer.
                state: if o.state == "asked" && o.decided.is_some() {
                    "answering".to_owned()
                } else {
                    o.state
                },
            });
        }
        Ok(out)
    }

    /// The patient answers a desk's check-in. Allow: on the ledger (the desk may then
    /// register records for the patient until the time chosen), and the chosen records
    /// granted to the desk itself, sealed to its published key, until then. Decline: on
    /// the ledger, nothing granted.
    ///
    /// The answer is kept before it is sent: if the app stops, or a node fails, the
    /// background pass sends it ([`Self::send_check_in_answers`]), so an Allow the
    /// ledger has always ends with its records granted.
    pub async fn answer_check_in(
        &self,
        owner: &Owner,
        ipfs: &Url,
        ledger: &LedgerTarget,
        check_in_id: &str,
        shown_clinic: &str,
        allow: bool,
    ) -> Answer<()> {
        if owner.role != Role::Patient {
            return Err(FrontDeskError::OnlyPatientsMakeCodes.into());
        }
        let store = self.sharing_store(owner).await?;
        let offer = store
            .offers()
            .await?
            .into_iter()
            .find(|o| o.check_in_id.eq_ignore_ascii_case(check_in_id.trim()))
            .ok_or(FrontDeskError::UnknownRequest)?;
        let clinic = offer_clinic(&offer)?;
        if offer.state != "asked" || offer.decided.is_some_and(|d| d != allow) {
            return Err(FrontDeskError::AlreadyAnswered.into());
        }
        // The answer is for the desk the patient saw (and whose confirmation code they
        // compared): a request read again since may name another.
        if shown_clinic.parse::<Address>().ok() != Some(clinic) {
            return Err(FrontDeskError::AskerChanged.into());
        }
        let target = Target::Person(clinic);
        if allow {
            // Checked before anything is kept or sent: an Allow that could not grant is
            // refused whole.
            for record in &offer.record_ids {
                self.check_room(owner, &store, record, &target).await?;
            }
        }
        let conn = self
            .connect(owner, ledger)
            .await
            .map_err(|f| f.during(Task::AnswerCheckIn))?;
        let now = now_unix().max(chain_time(&conn.node).await);
        if allow && offer.until <= now {
            return Err(FrontDeskError::ExpiryPassed.into());
        }
        if !store
            .offer_decided(&offer.check_in_id, &clinic.to_string(), allow)
            .await?
        {
            return Err(FrontDeskError::AlreadyAnswered.into());
        }
        match self
            .send_check_in_answer(&store, &conn, &offer, allow)
            .await
        {
            Ok(()) => {}
            // Kept: the background pass sends it when the node is back.
            Err(e) if e.node_down() => return Err(FrontDeskError::AnswerKept { allow }.into()),
            Err(e) => return Err(e),
        }
        if !allow || offer.record_ids.is_empty() {
            return Ok(());
        }
        let clinic_text = clinic.to_string();
        self.issue_key_sealed(
            &store,
            owner,
            ipfs,
            &conn,
            clinic,
            None,
            &[id_attribute(&clinic_text)],
        )
        .await
        .map_err(|f| f.during(Task::KeyForCheckIn))?;
        self.run_sharing(&store, owner, ipfs, ledger, true).await;
        for record in &offer.record_ids {
            let grant = store.open_grant(record, &clinic_text, None).await?;
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
        Ok(())
    }

    /// The patient's pass: answers decided but not yet on the ledger (the app stopped,
    /// or a node failed, while one was sent) are sent; an Allow's grants then go with
    /// this pass's grants. An Allow whose check-in has ended by then is sent as a
    /// Decline, so the desk stops waiting. Each offer is tried; the first failure is
    /// answered.
    pub(crate) async fn send_check_in_answers(
        &self,
        store: &RecordStore,
        conn: &Connected,
    ) -> Result<(), crate::ledger::StepFailure> {
        use crate::ledger::StepFailure as Failure;
        let decided: Vec<OfferRow> = store
            .offers()
            .await
            .map_err(Failure::store)?
            .into_iter()
            .filter(|o| o.state == "asked" && o.decided.is_some())
            .collect();
        if decided.is_empty() {
            return Ok(());
        }
        let now = now_unix().max(chain_time(&conn.node).await);
        let mut first = None;
        for offer in decided {
            let allow = offer.decided == Some(true) && offer.until > now;
            if let Err(e) = self.send_check_in_answer(store, conn, &offer, allow).await {
                first.get_or_insert(Failure {
                    node_down: e.node_down(),
                    error: e,
                });
            }
        }
        first.map_or(Ok(()), Err)
    }

    /// Sends the answer kept for `offer` (or finds it on the ledger), then marks the offer
    /// answered and queues an Allow's grants to the clinic until the check-in ends, both
    /// in one transaction.
    async fn send_check_in_answer(
        &self,
        store: &RecordStore,
        conn: &Connected,
        offer: &OfferRow,
        allow: bool,
    ) -> Answer<()> {
        let clinic = offer_clinic(offer)?;
        let clinic_text = clinic.to_string();
        let id = crate::ledger::b256(&offer.check_in_id)?;
        let until = if allow {
            u64::try_from(offer.until).unwrap_or(0)
        } else {
            0
        };
        // Named on chain: a ledger node that made up who redeemed the code gets the
        // answer refused (`NotThisClinic`), and nothing is granted.
        let tx = match conn.client.answer_check_in(id, clinic, allow, until).await {
            Ok(receipt) => receipt.tx_hash.to_string(),
            // Answered before (a receipt lost, the app stopped after sending): the
            // ledger's answer stands if it is this one.
            Err(LedgerError::Reverted {
                reason: Revert::CheckInAlreadyAnswered { state, .. },
                ..
            }) if (state == ALLOWED) == allow => String::new(),
            // Answered the other way, from another device with the same words: the
            // ledger's answer is kept here, with no grant from this device.
            Err(LedgerError::Reverted {
                reason: Revert::CheckInAlreadyAnswered { state, .. },
                ..
            }) => {
                store
                    .offer_answered(&offer.check_in_id, &clinic_text, state == ALLOWED, "", &[])
                    .await?;
                return Err(FrontDeskError::AlreadyAnswered.into());
            }
            // Declining what a node made up (a clinic that did not redeem the code, or a
            // redemption that never was) needs nothing on chain: kept declined here.
            Err(LedgerError::Reverted {
                reason: Revert::NotThisClinic { .. } | Revert::UnknownCheckIn { .. },
                ..
            }) if !allow => String::new(),
            // The node named a clinic that did not redeem the code: forgotten, so the
            // next pass reads who did (from whichever node then answers).
            Err(
                e @ LedgerError::Reverted {
                    reason: Revert::NotThisClinic { .. } | Revert::UnknownCheckIn { .. },
                    ..
                },
            ) => {
                store.offer_reset(&offer.check_in_id).await?;
                return Err(CoreError::from(e).during(Task::AnswerCheckIn));
            }
            Err(e) => return Err(CoreError::from(e).during(Task::AnswerCheckIn)),
        };
        let requested = rfc3339(now_unix());
        let grants: Vec<QueuedGrant<'_>> = if allow {
            offer
                .record_ids
                .iter()
                .map(|record| QueuedGrant {
                    record_id: record,
                    grantee: &clinic_text,
                    clause: None,
                    expires_at: Some(offer.until),
                    requested_at: &requested,
                })
                .collect()
        } else {
            Vec::new()
        };
        store
            .offer_answered(&offer.check_in_id, &clinic_text, allow, &tx, &grants)
            .await?;
        Ok(())
    }

    /// The desk's side: checks a patient in from the text of their code (pasted, or read
    /// from a QR picture). Each check is named when it fails. The patient is then asked
    /// on their device; the session says so until they answer.
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
        let conn = self
            .connect(owner, ledger)
            .await
            .map_err(|f| f.during(Task::ReadCheckIn))?;
        // The desk is known on the ledger, with its keys: the patient's grants are
        // sealed to its published key.
        directory::publish_self(&store, owner, ipfs, &conn)
            .await
            .map_err(|f| f.during(Task::Publish))?;
        let chain_id = conn.node.status().await.map_err(ledger_error)?.chain_id;
        let patient: Address = code
            .address
            .parse()
            .map_err(|_| CoreError::internal("the code's address", &code.address))?;
        let published = directory::identity_of(&conn.reads, patient)
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
        let nonce = B256::from(check_in.nonce);
        let signature = medwallet_ledger::Signature::try_from(&check_in.signature[..])
            .map_err(|_| FrontDeskError::NotSignedByPatient { patient })?;
        // The contract checks it too; checked here first so a forged code is named
        // without a transaction.
        if check_in_signer(
            chain_id,
            conn.contract,
            patient,
            nonce,
            check_in.expires_at,
            &signature,
        ) != Some(patient)
        {
            return Err(FrontDeskError::NotSignedByPatient { patient }.into());
        }
        let id = check_in_id_of(patient, nonce);
        let id_text = id.to_string();
        let known = store
            .desk_check_ins()
            .await?
            .into_iter()
            .any(|r| r.check_in_id == id_text);
        let redeem_tx = match conn
            .client
            .redeem_check_in(patient, nonce, check_in.expires_at, &signature)
            .await
        {
            Ok(receipt) => receipt.tx_hash.to_string(),
            // Redeemed by this desk, but not kept here (its receipt was lost, or this
            // device failed just after): the same code finishes the check-in.
            Err(LedgerError::Reverted {
                reason: Revert::CheckInUsed { clinic, .. },
                ..
            }) if clinic == conn.me && !known => String::new(),
            Err(e) => return Err(ledger_refusal(e, conn.me)),
        };
        let row = DeskCheckInRow {
            check_in_id: id_text,
            patient: patient.to_string(),
            patient_name: code.display_name.clone(),
            issued_at: issued,
            code_expires_at: expires,
            checked_in_at: now_unix(),
            redeem_tx,
        };
        store.add_desk_check_in(&row).await?;
        let node = IpfsNode::new(ipfs)?;
        let events = conn
            .reads
            .events(&EventFilter::Wallet(conn.me))
            .await
            .map_err(ledger_error)?;
        self.session_of(&conn, &node, owner, &row, &events, now)
            .await
    }

    /// The patients checked in at this desk, newest first, with their answers and what
    /// they granted.
    pub async fn list_check_ins(
        &self,
        owner: &Owner,
        ipfs: &Url,
        ledger: &LedgerTarget,
    ) -> Answer<Vec<CheckInSession>> {
        let store = self.store(&owner.wallet_id).await?;
        let rows = store.desk_check_ins().await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let conn = self
            .connect(owner, ledger)
            .await
            .map_err(|f| f.during(Task::ListCheckIns))?;
        let node = IpfsNode::new(ipfs)?;
        let now = now_unix().max(chain_time(&conn.node).await);
        let events = conn
            .reads
            .events(&EventFilter::Wallet(conn.me))
            .await
            .map_err(ledger_error)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(
                self.session_of(&conn, &node, owner, row, &events, now)
                    .await?,
            );
        }
        Ok(out)
    }

    /// Opens a record a checked-in patient granted this clinic: the regular opening of a
    /// record shared with it (logged first with `logAccess`), for this patient's records.
    pub async fn open_checked_in(
        &self,
        owner: &Owner,
        ipfs: &Url,
        ledger: &LedgerTarget,
        check_in_id: &str,
        record_id: &str,
    ) -> Answer<OpenedRecord> {
        let store = self.store(&owner.wallet_id).await?;
        self.desk_row(&store, check_in_id).await?;
        self.open_shared(owner, ipfs, ledger, record_id).await
    }

    /// A check-in this desk redeemed.
    pub(crate) async fn desk_row(
        &self,
        store: &RecordStore,
        check_in_id: &str,
    ) -> Answer<DeskCheckInRow> {
        store
            .desk_check_ins()
            .await?
            .into_iter()
            .find(|r| r.check_in_id.eq_ignore_ascii_case(check_in_id.trim()))
            .ok_or_else(|| FrontDeskError::NotCheckedIn.into())
    }

    /// The desk's view of one check-in: the patient's answer, read from the ledger
    /// (`events`: the desk's own), and the records the patient granted it.
    async fn session_of(
        &self,
        conn: &Connected,
        node: &IpfsNode,
        owner: &Owner,
        row: &DeskCheckInRow,
        events: &[medwallet_ledger::LoggedEvent],
        now: i64,
    ) -> Answer<CheckInSession> {
        let patient: Address = row
            .patient
            .parse()
            .map_err(|_| CoreError::internal("the patient's address", &row.patient))?;
        let id = crate::ledger::b256(&row.check_in_id)?;
        let answered = answer_of(events, id, patient);
        let (state, ends) = match answered {
            Answered::Waiting => ("waiting", row.code_expires_at),
            Answered::Allowed { until } => ("allowed", until),
            Answered::Declined => ("declined", row.code_expires_at),
        };
        let expired = ends <= now;
        // The block of this desk's own redemption, as its events show it.
        let confirmation = events
            .iter()
            .find_map(|e| match e.event {
                LedgerEvent::CheckInRedeemed {
                    check_in_id,
                    clinic,
                    ..
                } if check_in_id == id && clinic == conn.me => Some(e.meta.block_hash),
                _ => None,
            })
            .map(|block| medwallet_ledger::check_in_confirmation(id, conn.me, block))
            .unwrap_or_default();
        let mut session = CheckInSession {
            confirmation,
            check_in_id: row.check_in_id.clone(),
            patient: row.patient.clone(),
            patient_name: row.patient_name.clone(),
            issued_at: rfc3339(row.issued_at),
            checked_in_at: rfc3339(row.checked_in_at),
            state: state.to_owned(),
            expires_at: rfc3339(ends),
            expired,
            records: Vec::new(),
            problems: Vec::new(),
        };
        if answered == Answered::Declined || expired {
            return Ok(session);
        }
        // The listing sends nothing: each history is brought up to the head once.
        let reads = conn.reads.snapshot();
        let found = find(&reads, conn.me).await.map_err(ledger_error)?;
        let holder = Holder::of(owner)?;
        let mut issued = std::collections::HashMap::new();
        // Only what this patient granted this clinic (its own grants, by person).
        for share in &found.shares {
            if share.expired(now) || share.owner != patient || !share.is_person() {
                continue;
            }
            match self
                .locate(&holder, node, &reads, &found, &mut issued, share)
                .await
            {
                Ok(Some(l)) => session
                    .records
                    .push(self.listed(owner, &l.share, l.version, now).await),
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

    /// Whether the patient allowed `check_in_id` and until when, from the ledger: what an
    /// upload for the patient needs.
    pub(crate) async fn allowed_until(
        &self,
        conn: &Connected,
        row: &DeskCheckInRow,
    ) -> Answer<Option<i64>> {
        let patient: Address = row
            .patient
            .parse()
            .map_err(|_| CoreError::internal("the patient's address", &row.patient))?;
        let id = crate::ledger::b256(&row.check_in_id)?;
        let events = conn
            .reads
            .events(&EventFilter::Wallet(conn.me))
            .await
            .map_err(ledger_error)?;
        Ok(match answer_of(&events, id, patient) {
            Answered::Allowed { until } => Some(until),
            Answered::Waiting => {
                return Err(FrontDeskError::NotAllowedYet {
                    patient_name: row.patient_name.clone(),
                }
                .into())
            }
            Answered::Declined => {
                return Err(FrontDeskError::Declined {
                    patient_name: row.patient_name.clone(),
                }
                .into())
            }
        })
    }
}
