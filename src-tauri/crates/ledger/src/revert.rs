//! Why the contract refused a transaction, decoded from its custom errors and put
//! into plain words.

use std::fmt;

use alloy::primitives::{Address, B256};
use alloy::sol_types::{Revert as SolRevert, SolError, SolInterface};

use crate::contract::MedwalletLedger::MedwalletLedgerErrors as E;

/// What the caller was doing when the contract refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Deploying the contract.
    Deploy,
    /// `publishIdentity`.
    PublishIdentity,
    /// `publishAuthority`.
    PublishAuthority,
    /// `registerRecord`.
    RegisterRecord,
    /// `updateRecord`.
    UpdateRecord,
    /// `grantAccess`.
    GrantAccess,
    /// `revokeAccess`.
    RevokeAccess,
    /// `issueKey`.
    IssueKey,
    /// `revokeKey`.
    RevokeKey,
    /// `logAccess` or `logClauseAccess`.
    LogAccess,
    /// `setEmergencyAccess`.
    SetEmergencyAccess,
    /// `logEmergencyAccess`.
    LogEmergencyAccess,
    /// `redeemCheckIn`.
    RedeemCheckIn,
    /// `answerCheckIn`.
    AnswerCheckIn,
    /// `setAdmin`, `attestProvider` or `withdrawProvider`.
    Attest,
    /// `registerRecordFor`.
    RegisterRecordFor,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Deploy => "deploying the ledger contract",
            Self::PublishIdentity => "publishing the identity",
            Self::PublishAuthority => "publishing the authority's parameters",
            Self::RegisterRecord => "registering the record",
            Self::UpdateRecord => "updating the record",
            Self::GrantAccess => "granting access",
            Self::RevokeAccess => "revoking access",
            Self::IssueKey => "announcing the issued key",
            Self::RevokeKey => "revoking a staff member's key",
            Self::LogAccess => "logging the access",
            Self::SetEmergencyAccess => "setting emergency access",
            Self::LogEmergencyAccess => "logging the emergency access",
            Self::RedeemCheckIn => "asking to check the patient in",
            Self::AnswerCheckIn => "answering the check-in",
            Self::Attest => "attesting a provider",
            Self::RegisterRecordFor => "registering the record for the patient",
        })
    }
}

/// The contract's reason for a revert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revert {
    /// `NotOwner`: only the record's owner may do this.
    NotOwner {
        /// The record.
        record_id: B256,
        /// Who tried.
        caller: Address,
    },
    /// `NotGrantee`: the caller holds no active grant.
    NotGrantee {
        /// The record.
        record_id: B256,
        /// Who tried.
        caller: Address,
    },
    /// `GrantExpired`: the caller's grant has expired.
    GrantExpired {
        /// The record.
        record_id: B256,
        /// Who tried.
        caller: Address,
        /// When the grant ended (unix seconds).
        expiry: u64,
    },
    /// `UnknownRecord`: no record has this id.
    UnknownRecord {
        /// The id.
        record_id: B256,
    },
    /// `RecordExists`: the id is taken.
    RecordExists {
        /// The id.
        record_id: B256,
    },
    /// `UnknownVersion`: the record has no such version.
    UnknownVersion {
        /// The record.
        record_id: B256,
        /// The version asked for.
        version: u32,
    },
    /// `BadCid`: a CID is empty or longer than 64 bytes.
    BadCid,
    /// `BadRole`: the role number is unknown.
    BadRole {
        /// The number sent.
        role: u8,
    },
    /// `BadGrant`: a grant names no grantee, or a clause without its authority.
    BadGrant,
    /// `BadExpiry`: the expiry is in the past.
    BadExpiry {
        /// The expiry sent (unix seconds).
        expiry: u64,
    },
    /// `NoSuchGrant`: nothing to revoke.
    NoSuchGrant {
        /// The record.
        record_id: B256,
        /// The grantee named.
        grantee: Address,
        /// The clause hash named.
        clause_hash: B256,
    },
    /// `NotAuthority`: the caller has published no authority parameters.
    NotAuthority {
        /// Who tried.
        caller: Address,
    },
    /// `NotEmergencyClinic`: the caller may not log an emergency access.
    NotEmergencyClinic {
        /// The record.
        record_id: B256,
        /// Who tried.
        caller: Address,
    },
    /// `UnknownCheckIn`: no clinic redeemed this check-in.
    UnknownCheckIn {
        /// The check-in's id.
        check_in_id: B256,
    },
    /// `CheckInUsed`: the check-in code was redeemed already, by `clinic`.
    CheckInUsed {
        /// The check-in's id.
        check_in_id: B256,
        /// Who redeemed it.
        clinic: Address,
    },
    /// `CheckInExpired`: the check-in's time is over.
    CheckInExpired {
        /// The check-in's id.
        check_in_id: B256,
        /// When it ended (unix seconds).
        expiry: u64,
    },
    /// `BadCheckInSignature`: the code was not signed by the patient it names.
    BadCheckInSignature {
        /// The check-in's id.
        check_in_id: B256,
    },
    /// `NotCheckedIn`: the caller is not the clinic the patient allowed.
    NotCheckedIn {
        /// The check-in's id.
        check_in_id: B256,
        /// Who tried.
        caller: Address,
    },
    /// `CheckInAlreadyAnswered`: the patient answered this check-in before.
    CheckInAlreadyAnswered {
        /// The check-in's id.
        check_in_id: B256,
        /// Its state (2 allowed, 3 declined).
        state: u8,
    },
    /// `NotThisClinic`: another clinic than the one named redeemed the check-in.
    NotThisClinic {
        /// The check-in's id.
        check_in_id: B256,
        /// The clinic the patient named.
        clinic: Address,
    },
    /// `LastAdmin`: the last admin cannot step down.
    LastAdmin,
    /// `StaleParams`: these authority parameters were published in an older epoch.
    StaleParams,
    /// `NotAdmin`: only the consortium's admins may do this.
    NotAdmin {
        /// Who tried.
        caller: Address,
    },
    /// `BadProvider`: an empty or too long name, or not a provider's role.
    BadProvider,
    /// `KeyRevokedInEpoch`: the authority revoked the holder in this epoch.
    KeyRevokedInEpoch {
        /// The holder.
        holder: Address,
        /// The epoch.
        epoch: u32,
    },
    /// `LengthMismatch`: a batch's arrays do not all have the same length.
    LengthMismatch,
    /// A plain `revert("message")` / `require` message.
    Message(String),
    /// Revert data this app cannot decode (hex), or none at all.
    Unknown(String),
}

impl Revert {
    /// Decodes the revert data a node returned.
    pub fn decode(data: &[u8]) -> Self {
        if let Ok(err) = E::abi_decode(data) {
            return Self::from_contract(err);
        }
        if let Ok(msg) = SolRevert::abi_decode(data) {
            return Self::Message(msg.reason);
        }
        if data.is_empty() {
            Self::Unknown("no reason given".into())
        } else {
            Self::Unknown(alloy::hex::encode_prefixed(data))
        }
    }

    fn from_contract(err: E) -> Self {
        match err {
            E::NotOwner(e) => Self::NotOwner {
                record_id: e.recordId,
                caller: e.caller,
            },
            E::NotGrantee(e) => Self::NotGrantee {
                record_id: e.recordId,
                caller: e.caller,
            },
            E::GrantExpired(e) => Self::GrantExpired {
                record_id: e.recordId,
                caller: e.caller,
                expiry: e.expiry,
            },
            E::UnknownRecord(e) => Self::UnknownRecord {
                record_id: e.recordId,
            },
            E::RecordExists(e) => Self::RecordExists {
                record_id: e.recordId,
            },
            E::UnknownVersion(e) => Self::UnknownVersion {
                record_id: e.recordId,
                version: e.version,
            },
            E::BadCid(_) => Self::BadCid,
            E::BadRole(e) => Self::BadRole { role: e.role },
            E::BadGrant(_) => Self::BadGrant,
            E::BadExpiry(e) => Self::BadExpiry { expiry: e.expiry },
            E::NoSuchGrant(e) => Self::NoSuchGrant {
                record_id: e.recordId,
                grantee: e.grantee,
                clause_hash: e.clauseHash,
            },
            E::NotAuthority(e) => Self::NotAuthority { caller: e.caller },
            E::NotEmergencyClinic(e) => Self::NotEmergencyClinic {
                record_id: e.recordId,
                caller: e.caller,
            },
            E::UnknownCheckIn(e) => Self::UnknownCheckIn {
                check_in_id: e.checkInId,
            },
            E::CheckInUsed(e) => Self::CheckInUsed {
                check_in_id: e.checkInId,
                clinic: e.clinic,
            },
            E::CheckInExpired(e) => Self::CheckInExpired {
                check_in_id: e.checkInId,
                expiry: e.expiry,
            },
            E::BadCheckInSignature(e) => Self::BadCheckInSignature {
                check_in_id: e.checkInId,
            },
            E::NotCheckedIn(e) => Self::NotCheckedIn {
                check_in_id: e.checkInId,
                caller: e.caller,
            },
            E::CheckInAlreadyAnswered(e) => Self::CheckInAlreadyAnswered {
                check_in_id: e.checkInId,
                state: e.state,
            },
            E::NotThisClinic(e) => Self::NotThisClinic {
                check_in_id: e.checkInId,
                clinic: e.clinic,
            },
            E::LastAdmin(_) => Self::LastAdmin,
            E::StaleParams(_) => Self::StaleParams,
            E::NotAdmin(e) => Self::NotAdmin { caller: e.caller },
            E::BadProvider(_) => Self::BadProvider,
            E::KeyRevokedInEpoch(e) => Self::KeyRevokedInEpoch {
                holder: e.holder,
                epoch: e.epoch,
            },
            E::LengthMismatch(_) => Self::LengthMismatch,
        }
    }

    /// The Solidity error's name (`NotOwner`), for logs and tests.
    pub fn name(&self) -> &'static str {
        match self {
            Self::NotOwner { .. } => "NotOwner",
            Self::NotGrantee { .. } => "NotGrantee",
            Self::GrantExpired { .. } => "GrantExpired",
            Self::UnknownRecord { .. } => "UnknownRecord",
            Self::RecordExists { .. } => "RecordExists",
            Self::UnknownVersion { .. } => "UnknownVersion",
            Self::BadCid => "BadCid",
            Self::BadRole { .. } => "BadRole",
            Self::BadGrant => "BadGrant",
            Self::BadExpiry { .. } => "BadExpiry",
            Self::NoSuchGrant { .. } => "NoSuchGrant",
            Self::NotAuthority { .. } => "NotAuthority",
            Self::NotEmergencyClinic { .. } => "NotEmergencyClinic",
            Self::UnknownCheckIn { .. } => "UnknownCheckIn",
            Self::CheckInUsed { .. } => "CheckInUsed",
            Self::CheckInExpired { .. } => "CheckInExpired",
            Self::BadCheckInSignature { .. } => "BadCheckInSignature",
            Self::NotCheckedIn { .. } => "NotCheckedIn",
            Self::CheckInAlreadyAnswered { .. } => "CheckInAlreadyAnswered",
            Self::NotThisClinic { .. } => "NotThisClinic",
            Self::LastAdmin => "LastAdmin",
            Self::StaleParams => "StaleParams",
            Self::NotAdmin { .. } => "NotAdmin",
            Self::BadProvider => "BadProvider",
            Self::KeyRevokedInEpoch { .. } => "KeyRevokedInEpoch",
            Self::LengthMismatch => "LengthMismatch",
            Self::Message(_) => "Error",
            Self::Unknown(_) => "unknown",
        }
    }
}

impl fmt::Display for Revert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotOwner { record_id, caller } => write!(
                f,
                "only the record's owner can change it or its access; {caller} does not own record {record_id}"
            ),
            Self::NotGrantee { record_id, caller } => write!(
                f,
                "only someone the owner granted access can open a record; {caller} holds no grant for record {record_id}"
            ),
            Self::GrantExpired {
                record_id,
                caller,
                expiry,
            } => write!(
                f,
                "the access {caller} was granted to record {record_id} expired at {expiry} (unix time); ask the owner for a new grant"
            ),
            Self::UnknownRecord { record_id } => {
                write!(f, "no record with id {record_id} is registered on the ledger")
            }
            Self::RecordExists { record_id } => {
                write!(f, "a record with id {record_id} is already registered")
            }
            Self::UnknownVersion { record_id, version } => {
                write!(f, "record {record_id} has no version {version}")
            }
            Self::BadCid => f.write_str("a content id (CID) is empty or longer than 64 bytes"),
            Self::BadRole { role } => write!(f, "role number {role} is not a known role"),
            Self::BadGrant => f.write_str(
                "a grant must name a person, or a clause together with the clinic authority it is under",
            ),
            Self::BadExpiry { expiry } => {
                write!(f, "the expiry {expiry} (unix time) is already in the past")
            }
            Self::NoSuchGrant {
                record_id, grantee, ..
            } => write!(
                f,
                "there is no active grant to {grantee} on record {record_id} to revoke"
            ),
            Self::NotAuthority { caller } => write!(
                f,
                "{caller} has not published authority parameters, so it cannot issue keys"
            ),
            Self::NotEmergencyClinic { record_id, caller } => write!(
                f,
                "{caller} is not an emergency clinic the owner of record {record_id} allowed, nor holds its key"
            ),
            Self::UnknownCheckIn { check_in_id } => write!(
                f,
                "no clinic redeemed the check-in {check_in_id} on this ledger"
            ),
            Self::CheckInUsed {
                check_in_id,
                clinic,
            } => write!(
                f,
                "the check-in code {check_in_id} was already used, by {clinic}; a code checks in once"
            ),
            Self::CheckInExpired {
                check_in_id,
                expiry,
            } => write!(
                f,
                "the check-in {check_in_id} expired at {expiry} (unix time)"
            ),
            Self::BadCheckInSignature { check_in_id } => write!(
                f,
                "the check-in code {check_in_id} was not signed by the patient it names"
            ),
            Self::NotCheckedIn {
                check_in_id,
                caller,
            } => write!(
                f,
                "{caller} is not the clinic the patient allowed with check-in {check_in_id}"
            ),
            Self::CheckInAlreadyAnswered { check_in_id, .. } => {
                write!(f, "the check-in {check_in_id} was already answered")
            }
            Self::NotThisClinic {
                check_in_id,
                clinic,
            } => write!(
                f,
                "the check-in {check_in_id} was not redeemed by {clinic}, the clinic you were shown; nothing was allowed"
            ),
            Self::LastAdmin => f.write_str(
                "the last admin of the ledger cannot step down; name another admin first",
            ),
            Self::StaleParams => f.write_str(
                "these authority parameters were published in an older epoch and cannot come back",
            ),
            Self::NotAdmin { caller } => {
                write!(f, "{caller} is not an admin of this consortium's ledger")
            }
            Self::BadProvider => f.write_str(
                "a provider needs a name of 1 to 64 bytes and the role of a doctor or a clinic",
            ),
            Self::KeyRevokedInEpoch { holder, epoch } => write!(
                f,
                "the keys of {holder} were revoked in epoch {epoch}; a new key needs the authority's next epoch"
            ),
            Self::LengthMismatch => {
                f.write_str("a batch named a different number of records and content ids")
            }
            Self::Message(msg) => write!(f, "the contract said: {msg}"),
            Self::Unknown(data) => write!(f, "the contract gave no reason this app knows ({data})"),
        }
    }
}
