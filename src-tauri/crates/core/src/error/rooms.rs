//! The refusals only one room gives, one enum per room, nested in [`CoreError`] with
//! `From` (see the module above for why).

use std::path::PathBuf;
use std::sync::Arc;

use medwallet_abe::{AbeError, DecodeError, PolicyError};
use medwallet_ledger::{Address, LedgerError};
use medwallet_records::IssuedKeyError;
use medwallet_records::{CidError, StreamError};
use medwallet_vault::VaultError;

use super::CoreError;
use crate::qr::QrError;

/// The records room: a patient's own records.
#[derive(Debug)]
pub enum RecordsError {
    /// The record is not in this wallet.
    NotInWallet {
        /// The record asked for.
        record_id: String,
    },
    /// No file name to save a decrypted copy as.
    NoCopyName,
    /// No path was given.
    NoFile,
    /// The path is a folder.
    IsFolder {
        /// The path.
        path: PathBuf,
    },
    /// The file is empty.
    EmptyFile {
        /// The path.
        path: PathBuf,
    },
    /// The file changed while it was read.
    FileChanged {
        /// The path.
        path: PathBuf,
    },
    /// The file could not be read to its end (and the disk is not full).
    CutShort {
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Encrypting the file failed.
    EncryptFailed {
        /// The path.
        path: PathBuf,
        /// The error.
        source: StreamError,
    },
    /// The add was cancelled; nothing of it was kept.
    Cancelled {
        /// The file's name, when the add had read it.
        file_name: Option<String>,
    },
    /// The metadata has no title.
    NoTitle,
    /// The title is longer than 200 characters.
    TitleTooLong,
    /// The date is not a date.
    NotADate {
        /// What was given.
        text: String,
    },
    /// The author is longer than 200 characters.
    AuthorTooLong,
    /// An upload of this version is already running.
    UploadRunning,
    /// A replica node in the settings is this wallet's own IPFS node under another
    /// name: it is no second copy.
    ReplicaIsOwnNode,
    /// A registration of this version is already running.
    RegistrationRunning,
    /// The version to upload is not in the database any more.
    VersionGone,
    /// The record's id kept here is not 32 bytes of hex.
    StoredIdUnreadable,
    /// The record was made before record ids were bound to their author: it has no nonce
    /// this ledger's contract can register it with.
    NoRegistrationNonce,
    /// The ledger counts this version of the record already, with other contents than
    /// this device's (another device of the wallet changed it): this one is not sent.
    VersionTaken {
        /// The version this device made.
        version: u32,
    },
    /// A search of the records is longer than `max` characters.
    SearchTooLong {
        /// The longest allowed.
        max: usize,
    },
}

/// The sharing room: grants, revocations, groups.
#[derive(Debug)]
pub enum SharingError {
    /// A record to share is not in this wallet.
    NotInWallet {
        /// The record.
        record_id: String,
    },
    /// A share code is for another chain than this wallet's ledger.
    ChainMismatch {
        /// The code's chain.
        code: u64,
        /// The ledger's chain.
        ledger: u64,
    },
    /// A share code was not signed by the key its address published.
    NotSignedBy {
        /// The address the code names.
        address: String,
    },
    /// The encryption key the ledger node gives for an address is not the one in the
    /// share code the user pasted: the node (or the code) is not to be trusted, and no
    /// key is sealed to it.
    KeyNotAsInCode {
        /// The address the code names.
        address: String,
    },
    /// The keys the ledger publishes for an address are not those whose fingerprint the
    /// share dialog showed.
    KeyChanged {
        /// The address.
        address: String,
    },
    /// An expiry of 0 days.
    ExpiryZero,
    /// An expiry longer than ten years.
    ExpiryTooLong {
        /// The days asked for.
        days: u32,
    },
    /// The record is not shared with this grantee (nothing to revoke).
    NotShared {
        /// The grantee.
        grantee: String,
    },
    /// Access is being revoked for them right now.
    BeingRevoked,
    /// The record is shared with as many parties as one capsule holds.
    CapsuleFull,
    /// The grantee is the wallet itself.
    OwnAddress,
    /// No record was chosen.
    NoRecordChosen,
    /// A role at a clinic names a person.
    RoleNamesPerson,
    /// The role is not a valid clause.
    BadClause(PolicyError),
    /// A clinic's parameters are not kept on this device yet.
    ClinicKeysUnknown {
        /// The clinic.
        clinic: String,
    },
    /// The grantee of a role published no clinic keys.
    NotAClinic {
        /// The address.
        address: Address,
    },
    /// Not a group's name.
    BadGroupName {
        /// What was given (trimmed).
        name: String,
    },
    /// The owner cannot be a member of its own groups.
    SelfInGroup,
    /// The person is not a member of the group.
    NotAMember {
        /// The person.
        member: String,
        /// The group.
        group: String,
    },
    /// The record is not on IPFS and the ledger yet: the grant waits.
    NotRegisteredYet,
    /// The record of a grant is no longer in this wallet.
    RecordGone,
    /// The authority could not issue a key.
    KeyNotIssued(AbeError),
    /// A key could not be sealed to its holder (`None`: the sealed key's shape).
    KeyNotSealed(Option<VaultError>),
    /// The version made for a revocation is missing.
    RevisionMissing,
    /// The version made for a revocation is being uploaded and registered.
    RevisionPending {
        /// The new version.
        version: u32,
        /// Why it waits, as its outbox row keeps it.
        problem: Option<String>,
    },
    /// An authority published a CID that does not parse.
    PublishedCidUnreadable {
        /// The authority.
        authority: Address,
        /// Why.
        source: CidError,
    },
    /// An authority published parameters that do not decode.
    ParamsUnusable {
        /// The authority.
        authority: Address,
        /// Why.
        source: DecodeError,
    },
}

/// The inbox room: what others shared with this wallet.
#[derive(Debug)]
pub enum InboxError {
    /// No grant reaches this wallet (or it was revoked).
    NotShared,
    /// Every grant of the record to this wallet expired.
    Expired {
        /// The latest expiry (Unix seconds).
        at: i64,
    },
    /// The record is shared with a role or group this wallet's key does not hold.
    KeyDoesNotHold,
    /// The ledger has no registration of the record by the patient who shared it.
    NotRegistered,
    /// An authority shared a record but issued no key to this wallet.
    NoKeyIssued {
        /// The authority.
        issuer: Address,
    },
    /// The key an authority issued to this wallet cannot be used.
    KeyUnusable {
        /// The authority.
        issuer: Address,
        /// Why.
        why: KeyProblem,
    },
    /// The opening could not be logged on the ledger, so it was not made.
    OpeningNotLogged {
        /// Through which kind of grant.
        route: Route,
        /// The ledger's failure (a refusal says the grant is over).
        source: Box<LedgerError>,
    },
    /// A shared record could not be read for the list.
    SharedUnreadable {
        /// Who shared it.
        owner: Address,
        /// Why.
        source: Box<CoreError>,
    },
}

/// Why an issued key cannot be used.
#[derive(Debug)]
pub enum KeyProblem {
    /// The envelope does not read.
    Envelope(IssuedKeyError),
    /// It names another issuer or holder.
    OtherParties,
    /// It does not open with this wallet's key.
    DoesNotOpen,
    /// What it holds is not an attribute key.
    NotAKey(DecodeError),
}

/// Which kind of grant an opening goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// A grant to this wallet (in person, a role, a group).
    Shared,
    /// A check-in code's grant, opened at the desk that redeemed it.
    CheckIn,
}

/// The front-desk room: check-ins, records made for a patient, verification.
#[derive(Debug)]
pub enum FrontDeskError {
    /// Only a patient wallet makes check-in codes.
    OnlyPatientsMakeCodes,
    /// Only a clinic wallet checks patients in.
    OnlyClinicsCheckIn,
    /// Only a clinic wallet uploads records for patients.
    OnlyClinicsUpload,
    /// A check-in of this many minutes is not offered.
    LengthNotOffered {
        /// The minutes asked for.
        minutes: u32,
        /// The shortest offered.
        min: u32,
        /// The longest offered.
        max: u32,
    },
    /// A chosen record is not this wallet's.
    NotInWallet {
        /// The record.
        record_id: String,
    },
    /// A chosen record is not registered on the ledger yet.
    NotRegisteredYet,
    /// A chosen record could not be granted to the code.
    NotGranted {
        /// Why, as the grant's row keeps it (`None`: still queued).
        why: Option<String>,
    },
    /// The text is not a medwallet check-in code.
    NotACheckInCode,
    /// A plain share code, not a check-in code.
    PlainShareCode {
        /// The address it names.
        address: String,
        /// The name it carries (the person chose it).
        display_name: String,
    },
    /// The code is dated after now.
    DatedInFuture {
        /// Its date (Unix seconds).
        issued: i64,
    },
    /// The check-in code expired.
    CheckInExpired {
        /// When (Unix seconds).
        at: i64,
    },
    /// The code's check-in was not signed with the ledger key of the patient it names.
    NotSignedByPatient {
        /// The patient.
        patient: Address,
    },
    /// The code can be redeemed until further ahead than a ledger allows (an hour).
    CodeTooLong {
        /// Until when (Unix seconds).
        until: i64,
    },
    /// The patient has not allowed this check-in (yet).
    NotAllowedYet {
        /// The patient's name as their code carries it.
        patient_name: String,
    },
    /// The patient declined this check-in.
    Declined {
        /// The patient's name as their code carries it.
        patient_name: String,
    },
    /// No clinic asked with this check-in code of the patient's.
    UnknownRequest,
    /// The patient answered this check-in already.
    AlreadyAnswered,
    /// The desk asking is no longer the one the patient was shown (a node named another
    /// redemption, read again since).
    AskerChanged,
    /// The answer is kept on this device and not yet on the ledger (its node did not
    /// answer): the background pass sends it.
    AnswerKept {
        /// Allow (or decline).
        allow: bool,
    },
    /// The ledger's clock is past the check-in's end.
    ExpiryPassed,
    /// The code was redeemed at this desk already.
    UsedHere,
    /// The code was redeemed by another clinic.
    CheckInUsed {
        /// The clinic that redeemed it.
        by: Address,
    },
    /// The patient is not checked in at this desk.
    NotCheckedIn,
    /// The check-in is over: its records no longer open.
    CheckInOver {
        /// When it ended (Unix seconds).
        at: i64,
    },
    /// The patient did not grant this record with the check-in.
    NotGrantedWithCheckIn,
    /// The check-in is over: no record can be made for the patient.
    UploadExpired {
        /// The patient's name as their code carries it.
        patient_name: String,
        /// When it ended (Unix seconds).
        at: i64,
    },
    /// The patient published no patient keys.
    PatientNotPublished {
        /// The patient.
        patient: Address,
    },
    /// Neither a code's text nor a picture was given.
    NoCodeGiven,
    /// No code could be read from the picture.
    QrUnreadable {
        /// The picture.
        path: PathBuf,
        /// Why.
        source: QrError,
    },
    /// The code cannot be drawn as a QR code.
    QrNotDrawn(QrError),
    /// Not a CID.
    NotACid {
        /// What was given.
        text: String,
        /// Why.
        source: CidError,
    },
    /// Neither or both of a CID and a file were given.
    CidOrFile,
    /// The file is too large to verify here.
    TooLargeToVerify {
        /// The file.
        path: PathBuf,
        /// The largest file compared here, in bytes.
        limit: u64,
    },
    /// A granted record could not be read for the list.
    GrantUnreadable {
        /// Why.
        source: Box<CoreError>,
    },
    /// A clinic's record for this patient could not be adopted (tried again next pass).
    NotAdopted {
        /// The clinic.
        author: Address,
        /// Why.
        source: Box<CoreError>,
    },
    /// A wallet whose check-in this patient did not allow registered a record for them.
    AuthorNotAllowed {
        /// The author.
        author: Address,
    },
    /// A wallet that is not a clinic registered a record for this patient.
    AuthorNotAClinic {
        /// The author.
        author: Address,
    },
}

/// The staff room: a clinic's staff keys.
#[derive(Debug)]
pub enum StaffError {
    /// Only clinic wallets issue staff keys.
    OnlyClinics,
    /// An attribute is not a single term.
    NotOneAttribute {
        /// What was given.
        attribute: String,
    },
    /// A staff key needs an attribute.
    NoAttribute,
    /// The holder has no active staff key.
    NoActiveKey {
        /// The holder.
        holder: String,
    },
    /// A clinic's parameters kept here do not decode.
    StoredParamsUnusable(DecodeError),
}

/// The rebuild room: a wallet brought back from the ledger and IPFS.
#[derive(Debug)]
pub enum RebuildError {
    /// The ledger node is on another chain than the wallet's (the one an earlier rebuild
    /// read, or the one its printed kit names).
    OtherChain {
        /// The node's URL.
        url: String,
        /// The wallet's chain.
        used: u64,
        /// The node's chain.
        found: u64,
    },
    /// The ledger knows nothing of this wallet's address: no identity, no record.
    NothingOnLedger {
        /// The node's chain.
        chain_id: u64,
    },
    /// The parameters this address published last do not derive from its recovery
    /// phrase at any epoch up to the number it published.
    ParametersNotOurs {
        /// The epochs tried.
        epochs_tried: u32,
    },
    /// The wallet is being rebuilt from the ledger: it sends nothing until that is done.
    Unfinished,
    /// A grant to one of the owner's groups whose name is in no key note or capsule left.
    GroupNotFound {
        /// The record.
        record_id: String,
    },
    /// A grant of a role at a clinic whose clause text is in no capsule the node holds.
    ClauseNotFound {
        /// The record.
        record_id: String,
        /// The clinic.
        clinic: Address,
    },
}

/// The audit room: the trail and its exports.
#[derive(Debug)]
pub enum AuditError {
    /// The audit folder cannot be created.
    FolderNotCreated {
        /// The folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The audit cache cannot be opened.
    CacheNotOpened(Box<LedgerError>),
    /// The audit cache cannot be read.
    CacheUnreadable(Box<LedgerError>),
    /// No file name to export to.
    NoExportName,
    /// The export could not be written.
    NotWritten {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A filter's record id is not one.
    BadRecordId {
        /// What was given.
        text: String,
    },
    /// A filter's actor is not an address.
    BadActor {
        /// What was given.
        text: String,
    },
    /// A filter's date is not a date.
    BadDate {
        /// `from` or `to`.
        which: &'static str,
        /// What was given.
        text: String,
    },
}

/// The wallet room, besides the vault's own errors ([`CoreError::Vault`]).
#[derive(Debug)]
pub enum WalletError {
    /// The vault is not open yet.
    NotOpenYet,
    /// The vault is being reopened.
    Reopening,
    /// The vault could not be opened (shown full-window; the file is left as it is).
    Unusable(Arc<CoreError>),
    /// Measuring this computer's speed failed.
    CalibrationFailed {
        /// Why.
        detail: String,
    },
    /// The wallet preferences could not be saved.
    PrefsNotSaved(std::io::Error),
    /// The Emergency Kit could not be saved.
    KitNotSaved(std::io::Error),
    /// The recovery words are shown only once.
    NoPendingKit,
    /// The idle time is not 1 to 120 minutes.
    IdleTimeoutRange,
}

/// The app's data folder at start (`data_folder`): why the app did not open it, and the
/// damaged databases it found and kept aside.
#[derive(Debug)]
pub enum StartupError {
    /// Another process holds the data folder's lock.
    AlreadyRunning {
        /// The data folder.
        dir: PathBuf,
        /// The process that holds it, as it wrote it in the lock file (`None`: not yet).
        pid: Option<u32>,
    },
    /// The data folder cannot be created or written (read-only, its permissions, a file
    /// where the folder should be).
    FolderUnusable {
        /// The data folder.
        dir: PathBuf,
        /// What the file system said.
        source: std::io::Error,
    },
    /// A damaged database was renamed aside; the app started with a new one.
    SetAside {
        /// Which database (boxed: it keeps `CoreError` small).
        database: Box<LocalDatabase>,
        /// Where it was.
        path: PathBuf,
        /// Where it is kept now, unchanged.
        kept_as: PathBuf,
        /// What SQLite found.
        what: String,
    },
    /// A damaged database could not be renamed aside; it was left as it is.
    NotSetAside {
        /// Which database (boxed: it keeps `CoreError` small).
        database: Box<LocalDatabase>,
        /// Where it is.
        path: PathBuf,
        /// Why the rename failed.
        source: std::io::Error,
    },
}

/// A database of the data folder that is checked at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalDatabase {
    /// `settings.sqlite`: the node settings.
    Settings,
    /// `records/<wallet id>/records.sqlite`: a wallet's records on this device.
    Records {
        /// The wallet.
        wallet_id: String,
        /// Its name in the vault, when the vault names it (what the user knows it by).
        name: Option<String>,
    },
    /// `audit/<wallet id>.sqlite`: a wallet's ledger event cache.
    AuditCache {
        /// The wallet.
        wallet_id: String,
        /// See [`LocalDatabase::Records`].
        name: Option<String>,
    },
}

impl LocalDatabase {
    /// Which kind, for logs (no wallet id).
    pub fn kind(&self) -> &'static str {
        match self {
            LocalDatabase::Settings => "settings",
            LocalDatabase::Records { .. } => "records",
            LocalDatabase::AuditCache { .. } => "audit_cache",
        }
    }
}
