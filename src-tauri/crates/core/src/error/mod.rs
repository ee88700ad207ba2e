//! Every way a use case in core fails, as data: which record, which node, which address,
//! what the contract refused, which file, which part was altered and how.
//!
//! A use case answers [`CoreError`]; nothing here is words. The words the user reads are
//! made in one place, `words` (`impl From<CoreError> for UserError`), and only
//! at the IPC boundary ([`crate::App`]) or where words are kept as data (the reason a
//! queued step waits).
//!
//! **Why some variants are nested by room.** Failures every room meets (a node, the
//! disk, the records database, a verification, an address, an internal step) are
//! variants of [`CoreError`] itself, so one match names them wherever they come from.
//! The refusals only one capability can give (a grant being revoked, a check-in code
//! used already, a staff key that is not there) live in that room's enum
//! ([`RecordsError`], [`SharingError`], [`InboxError`], [`FrontDeskError`],
//! [`StaffError`], [`AuditError`], [`WalletError`]), nested with `From`: the top level
//! stays short enough to read, each room's words file renders its own enum, and a test
//! matches `CoreError::FrontDesk(FrontDeskError::CheckInUsed { by })` knowing where to
//! look. Two wrappers carry context without words: [`CoreError::During`] (a step failed
//! inside a use case that tells the user what to do about it) and
//! [`CoreError::Explained`] (a queued step keeps the failure's advice in its reason).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use medwallet_ledger::{Address, LedgerError};
use medwallet_records::{CapsuleError, Cid, CidError, IpfsError, ManifestError, StreamError};
use medwallet_vault::{ShareCodeError, VaultError};

use crate::store::StoreError;

mod disk;
mod rooms;

pub(crate) use disk::{is_disk_full, megabytes_to_free, sqlite_full, DATABASE_ROOM};

pub use rooms::{
    AuditError, FrontDeskError, InboxError, KeyProblem, LocalDatabase, RebuildError, RecordsError,
    Route, SharingError, StaffError, StartupError, WalletError,
};

/// What a use case answers when it fails.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    // Nodes, settings and local storage.
    /// An IPFS call failed.
    Ipfs(#[source] Box<IpfsError>),
    /// A ledger call failed: the node, the contract's refusal, the event cache.
    Ledger(#[source] Box<LedgerError>),
    /// No ledger contract is configured in the settings.
    NoContract,
    /// The wallet's ledger key does not make a signer.
    LedgerKeyUnusable {
        /// Why.
        detail: String,
    },
    /// The ledger cannot say which chain it is on (the share code names it).
    ChainUnknown(#[source] Box<LedgerError>),
    /// The IPFS node answered another CID for bytes than the one computed here.
    StoredAs {
        /// Which part of a record, when it is one (else another object).
        part: Option<Part>,
        /// The CID the node answered.
        got: Box<Cid>,
        /// The CID computed on this device.
        expected: Box<Cid>,
    },
    /// The IPFS node URL in the settings does not parse.
    BadIpfsUrl {
        /// The URL as saved.
        url: String,
        /// Why.
        #[source]
        source: url::ParseError,
    },
    /// The ledger node URL in the settings does not parse.
    BadLedgerUrl {
        /// The URL as saved.
        url: String,
        /// Why.
        #[source]
        source: url::ParseError,
    },
    /// A CA certificate file that cannot be trusted as one.
    BadCaCertificate {
        /// Why, from the certificate's parser.
        reason: String,
    },
    /// Node credentials that cannot be sent (empty, or with characters a header cannot
    /// carry), or for a URL that is not a node's.
    BadCredential {
        /// Which part.
        what: &'static str,
    },
    /// The settings database failed.
    Settings(#[source] crate::settings::StoreError),
    /// The settings database could not be opened at start: the app runs on the defaults.
    SettingsUnusable(#[source] Arc<crate::settings::StoreError>),
    /// The records database failed.
    Store(#[source] StoreError),
    /// A file of the app's could not be written or read.
    Disk {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The disk is full: a file or database of the app's could not be written. Nothing
    /// half-written is kept (the use case removed what it wrote before answering).
    DiskFull {
        /// The file, or the folder the use case writes in (`None` until the use case
        /// names it: a database's write does not say its file).
        path: Option<PathBuf>,
        /// What the use case needed on that disk in all, when known.
        needed_bytes: Option<u64>,
        /// What was free on that disk when the use case ended, when the system says.
        free_bytes: Option<u64>,
    },
    /// A file the user chose cannot be read.
    FileUnreadable {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },

    // Verification: what was fetched is not what was registered.
    /// A part of a record failed verification.
    Altered {
        /// Which part.
        part: Part,
        /// How.
        how: Box<Alteration>,
    },
    /// Reading a part of a record from this device failed.
    ReadingPart {
        /// Which part.
        part: Part,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// Decrypting a part failed for another reason than an alteration.
    Decrypting {
        /// Which part.
        part: Part,
        /// The error.
        #[source]
        source: StreamError,
    },
    /// This device's index entry for a record does not open with this wallet's key.
    LocalIndexDamaged {
        /// The record (or the check-in code's address).
        record_id: String,
    },
    /// This wallet's keys do not satisfy the record's access policy.
    PolicyNotMet,
    /// A CID kept in the records database does not parse.
    StoredCidUnreadable(#[source] CidError),
    /// An issued key's CID kept in the records database does not parse.
    StoredKeyCidUnreadable(#[source] CidError),

    // Addresses, ids and codes people type or paste.
    /// Not `0x` and 40 hex digits.
    BadAddress {
        /// What was given (trimmed).
        text: String,
    },
    /// Mixed case that is not the EIP-55 checksum: a letter was changed.
    AddressChecksum {
        /// What was given (trimmed).
        text: String,
    },
    /// Not a record id (`0x` and 64 hex digits).
    BadRecordId {
        /// What was given.
        text: String,
    },
    /// The address published no keys on this ledger.
    NotPublished {
        /// The address.
        address: Address,
    },
    /// A pasted share code does not read.
    ShareCode(#[source] ShareCodeError),
    /// Only patient (and clinic) wallets have an authority of their own.
    OnlyPatients,

    // Context, without words.
    /// A step failed inside a use case: the step's failure, and the use case, which
    /// says what to do next.
    During {
        /// The use case.
        task: Task,
        /// The step's failure.
        #[source]
        source: Box<CoreError>,
    },
    /// A failure told with its advice as one reason (a queued sharing step keeps both).
    Explained(#[source] Box<CoreError>),

    // The rooms' own refusals.
    /// Adding, listing, opening a patient's own records.
    Records(RecordsError),
    /// Grants, revocations, groups.
    Sharing(SharingError),
    /// What others shared with this wallet.
    Inbox(InboxError),
    /// Check-ins, records made for a patient, verification.
    FrontDesk(FrontDeskError),
    /// A clinic's staff keys.
    Staff(StaffError),
    /// The audit trail and its exports.
    Audit(AuditError),
    /// A wallet rebuilt from the ledger and IPFS.
    Rebuild(RebuildError),
    /// The wallets (outside the vault's own errors).
    Wallet(WalletError),
    /// The data folder at start: locked by another process, not writable, a damaged
    /// database kept aside.
    Startup(StartupError),
    /// The vault refused or failed.
    Vault(#[source] VaultError),

    /// A step that never fails for the user's doing: a bug or a broken environment.
    Internal {
        /// What was being done.
        what: &'static str,
        /// What went wrong.
        detail: String,
    },
}

/// A part of a record (or of the ledger's or a key's data) that is verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The encrypted content.
    Content,
    /// The sealed manifest.
    Manifest,
    /// The key capsule.
    Capsule,
    /// An object fetched from IPFS, before it is known which.
    StoredObject,
    /// This device's index of the record.
    RecordIndex,
    /// An entry read from the ledger.
    LedgerEntry,
    /// An authority's published parameters.
    AuthorityParameters,
    /// A key an authority issued to this wallet.
    IssuedKey,
}

/// How a part failed verification.
#[derive(Debug)]
pub enum Alteration {
    /// The node answered more bytes than the record can have.
    TooManyBytes,
    /// A chunk does not authenticate.
    ChunkChanged {
        /// Zero-based chunk index.
        chunk: u64,
    },
    /// It is cut short.
    Truncated,
    /// Its header does not authenticate under the record's key.
    HeaderKey,
    /// Bytes were appended after its end.
    Appended,
    /// Its header is not a medwallet content header.
    NotContentHeader,
    /// The capsule holds another data key than the one this wallet sealed.
    OtherDataKey,
    /// The manifest names other content than the one registered.
    NamesOtherContent,
    /// A CID in it does not parse.
    UnreadableCid {
        /// Which CID.
        which: CidRef,
        /// Why.
        source: CidError,
    },
    /// Its bytes hash to another CID than the registered one.
    HashNotRegistered {
        /// What they hash to.
        got: Cid,
        /// What was registered.
        registered: Cid,
    },
    /// Its bytes hash to another CID than the one asked for.
    HashNotAsked {
        /// What they hash to.
        got: Cid,
        /// What was asked for.
        asked: Cid,
    },
    /// Its length differs from the manifest's.
    LengthDiffers,
    /// The capsule was changed or belongs to another record.
    ChangedOrMoved,
    /// The capsule does not read.
    Capsule(CapsuleError),
    /// The manifest belongs to another record.
    OtherRecord,
    /// The manifest does not authenticate.
    NotAuthentic,
    /// The manifest does not read.
    Manifest(ManifestError),
    /// The content does not match the registered version (found when re-encrypting).
    NotRegisteredVersion,
    /// The content does not match what the manifest names.
    NotWhatManifestNames,
    /// No capsule on the ledger is for the record's latest version.
    NoCapsuleForVersion {
        /// The latest version.
        version: u32,
    },
}

/// Which CID of a part does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CidRef {
    /// The content's CID (in the index or the manifest).
    Content,
    /// A CID kept in the index, as it is kept.
    Stored {
        /// The text kept.
        cid: String,
    },
    /// A CID named by a ledger entry.
    Entry,
    /// An issued key's CID named by a ledger entry.
    Key,
}

/// The use case a [`CoreError::During`] failure happened in; it says what to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// Previewing a share (the share itself can still be queued).
    PreviewShare,
    /// Looking up a grantee's published keys for a preview.
    LookUpGrantee,
    /// Reading shares from the ledger.
    ReadShares,
    /// Listing what others shared with this wallet.
    ListShared,
    /// Opening a record shared with this wallet.
    OpenShared,
    /// Making a check-in code (the ledger's chain, the wallet's keys published).
    OfferCheckIn,
    /// Answering a desk's check-in on the ledger.
    AnswerCheckIn,
    /// Publishing this wallet's keys on the ledger and IPFS.
    Publish,
    /// Issuing the desk a patient allowed its key.
    KeyForCheckIn,
    /// Checking a check-in code against the ledger.
    ReadCheckIn,
    /// Reading the code the patient shows.
    ReadCode,
    /// Redeeming a check-in code on the ledger.
    RedeemCheckIn,
    /// Listing the patients checked in.
    ListCheckIns,
    /// Opening a record a checked-in patient granted.
    OpenCheckedIn,
    /// Making a record for a checked-in patient.
    UploadForPatient,
    /// Reading a checked-in patient's published parameters.
    PatientKeys,
    /// Storing a record made for a patient on IPFS.
    StoreForPatient,
    /// Registering a record made for a patient on the ledger.
    RegisterForPatient,
    /// Verifying a file or CID against the ledger.
    Verify,
    /// Comparing a document with a granted record (an opening).
    Compare,
    /// Issuing a staff key.
    IssueStaffKey,
}

macro_rules! nested {
    ($($room:ident => $variant:ident),+ $(,)?) => {
        $(
            impl From<$room> for CoreError {
                fn from(e: $room) -> Self {
                    CoreError::$variant(e)
                }
            }
        )+
    };
}

nested! {
    RecordsError => Records,
    SharingError => Sharing,
    InboxError => Inbox,
    FrontDeskError => FrontDesk,
    StaffError => Staff,
    RebuildError => Rebuild,
    WalletError => Wallet,
    StartupError => Startup,
}

impl From<AuditError> for CoreError {
    /// The event cache or the audit folder on a full disk is the disk's failure: named
    /// as such wherever the cache is read (a rebuild's ledger read, the trail).
    fn from(e: AuditError) -> Self {
        match e {
            AuditError::CacheNotOpened(l) | AuditError::CacheUnreadable(l)
                if matches!(*l, LedgerError::CacheFull) =>
            {
                CoreError::disk_full(None)
            }
            AuditError::FolderNotCreated { path, source } if is_disk_full(&source) => {
                CoreError::disk_full(Some(&path))
            }
            other => CoreError::Audit(other),
        }
    }
}

impl From<IpfsError> for CoreError {
    /// A node that answers more bytes than asked for serves something else: altered.
    fn from(e: IpfsError) -> Self {
        match e {
            IpfsError::TooLarge { .. } => {
                CoreError::altered(Part::StoredObject, Alteration::TooManyBytes)
            }
            // Writing a download on this device: the disk, not the node.
            IpfsError::Write(io) if is_disk_full(&io) => CoreError::disk_full(None),
            other => CoreError::Ipfs(Box::new(other)),
        }
    }
}

impl From<LedgerError> for CoreError {
    fn from(e: LedgerError) -> Self {
        match e {
            // The event cache on this device: the disk, not the ledger.
            LedgerError::CacheFull => CoreError::disk_full(None),
            other => CoreError::Ledger(Box::new(other)),
        }
    }
}

impl From<StoreError> for CoreError {
    fn from(e: StoreError) -> Self {
        let full = match &e {
            StoreError::Db(db) => sqlite_full(db),
            StoreError::Migrate(sqlx::migrate::MigrateError::Execute(db)) => sqlite_full(db),
            StoreError::Io { source, .. } => is_disk_full(source),
            _ => false,
        };
        if full {
            return CoreError::disk_full(None);
        }
        CoreError::Store(e)
    }
}

impl From<VaultError> for CoreError {
    fn from(e: VaultError) -> Self {
        match e {
            VaultError::Database(db) if sqlite_full(&db) => CoreError::disk_full(None),
            VaultError::Io(io) if is_disk_full(&io) => CoreError::disk_full(None),
            other => CoreError::Vault(other),
        }
    }
}

impl From<ShareCodeError> for CoreError {
    fn from(e: ShareCodeError) -> Self {
        CoreError::ShareCode(e)
    }
}

/// Why a trail shows only the entries read before (put in words by `words`).
pub(crate) enum TrailGap<'a> {
    /// No contract is configured: there is no trail yet.
    NoContract,
    /// The ledger failed.
    Ledger(&'a LedgerError),
    /// The ledger took too long.
    TimedOut,
}

impl CoreError {
    /// A failed file operation on one of the app's files (a full disk is its own variant).
    pub(crate) fn disk(path: &Path, source: std::io::Error) -> Self {
        if is_disk_full(&source) {
            CoreError::disk_full(Some(path))
        } else {
            CoreError::Disk {
                path: path.to_owned(),
                source,
            }
        }
    }

    /// A part that failed verification.
    pub(crate) fn altered(part: Part, how: Alteration) -> Self {
        CoreError::Altered {
            part,
            how: Box::new(how),
        }
    }

    /// An internal step that failed.
    pub(crate) fn internal(what: &'static str, detail: impl std::fmt::Display) -> Self {
        CoreError::Internal {
            what,
            detail: detail.to_string(),
        }
    }

    /// A failed STREAM decryption of `part`: an alteration, a read, or another failure.
    pub(crate) fn stream(part: Part, e: StreamError) -> Self {
        let how = match e {
            StreamError::Tampered { chunk } => Alteration::ChunkChanged { chunk },
            StreamError::Truncated => Alteration::Truncated,
            StreamError::WrongKey => Alteration::HeaderKey,
            StreamError::TrailingData => Alteration::Appended,
            StreamError::BadHeader(_) | StreamError::UnsupportedVersion { .. } => {
                Alteration::NotContentHeader
            }
            StreamError::Io(source) => return CoreError::ReadingPart { part, source },
            other => {
                return CoreError::Decrypting {
                    part,
                    source: other,
                }
            }
        };
        CoreError::altered(part, how)
    }

    /// A failed encryption of the file at `source` into `dest`.
    pub(crate) fn encrypting(e: StreamError, source: &Path, dest: &Path) -> Self {
        match e {
            StreamError::Cancelled => RecordsError::Cancelled { file_name: None }.into(),
            StreamError::Io(io) if is_disk_full(&io) => CoreError::disk(dest, io),
            StreamError::Io(io) => RecordsError::CutShort {
                path: source.to_owned(),
                source: io,
            }
            .into(),
            other => RecordsError::EncryptFailed {
                path: source.to_owned(),
                source: other,
            }
            .into(),
        }
    }

    /// A capsule that does not give the data key.
    pub(crate) fn capsule(e: CapsuleError) -> Self {
        let how = match e {
            CapsuleError::NotAllowed => return CoreError::PolicyNotMet,
            CapsuleError::NotThisRecord { .. } | CapsuleError::Tampered => {
                Alteration::ChangedOrMoved
            }
            other => Alteration::Capsule(other),
        };
        CoreError::altered(Part::Capsule, how)
    }

    /// A manifest that does not open.
    pub(crate) fn manifest(e: ManifestError) -> Self {
        let how = match e {
            ManifestError::NotThisRecord { .. } => Alteration::OtherRecord,
            ManifestError::WrongKeyOrTampered => Alteration::NotAuthentic,
            other => Alteration::Manifest(other),
        };
        CoreError::altered(Part::Manifest, how)
    }

    /// This failure, inside `task`.
    pub(crate) fn during(self, task: Task) -> Self {
        CoreError::During {
            task,
            source: Box::new(self),
        }
    }

    /// The failure under the context wrappers ([`CoreError::During`],
    /// [`CoreError::Explained`]): what actually went wrong.
    pub fn cause(&self) -> &CoreError {
        match self {
            CoreError::During { source, .. } | CoreError::Explained(source) => source.cause(),
            other => other,
        }
    }

    /// Whether the node itself failed (then the rest of a pass waits for the next one):
    /// it does not answer, or answers as something else than our contract on the
    /// expected chain.
    pub(crate) fn node_down(&self) -> bool {
        match self.cause() {
            CoreError::Ledger(e) => matches!(
                **e,
                LedgerError::Unreachable { .. }
                    | LedgerError::NotEvm { .. }
                    | LedgerError::Unauthorized { .. }
                    | LedgerError::Tls { .. }
                    | LedgerError::WrongChain { .. }
                    | LedgerError::NoContract { .. }
                    | LedgerError::ForeignContract { .. }
            ),
            // A node that refuses the credentials or cannot be reached safely is as
            // unusable as one that is down, until Settings change.
            CoreError::Ipfs(e) => matches!(
                **e,
                IpfsError::Unreachable { .. }
                    | IpfsError::NotIpfs { .. }
                    | IpfsError::Unauthorized { .. }
                    | IpfsError::Tls { .. }
                    | IpfsError::Setup { .. }
            ),
            _ => false,
        }
    }

    /// The variant's name, for logs: it holds no path, name, title or text anyone typed.
    pub fn kind(&self) -> &'static str {
        match self {
            CoreError::Ipfs(_) => "ipfs",
            CoreError::Ledger(_) => "ledger",
            CoreError::NoContract => "no_contract",
            CoreError::LedgerKeyUnusable { .. } => "ledger_key_unusable",
            CoreError::ChainUnknown(_) => "chain_unknown",
            CoreError::StoredAs { .. } => "stored_as",
            CoreError::BadIpfsUrl { .. } => "bad_ipfs_url",
            CoreError::BadLedgerUrl { .. } => "bad_ledger_url",
            CoreError::BadCaCertificate { .. } => "bad_ca_certificate",
            CoreError::BadCredential { .. } => "bad_credential",
            CoreError::Settings(_) => "settings",
            CoreError::SettingsUnusable(_) => "settings_unusable",
            CoreError::Store(_) => "store",
            CoreError::Disk { .. } => "disk",
            CoreError::DiskFull { .. } => "disk_full",
            CoreError::FileUnreadable { .. } => "file_unreadable",
            CoreError::Altered { .. } => "altered",
            CoreError::ReadingPart { .. } => "reading_part",
            CoreError::Decrypting { .. } => "decrypting",
            CoreError::LocalIndexDamaged { .. } => "local_index_damaged",
            CoreError::PolicyNotMet => "policy_not_met",
            CoreError::StoredCidUnreadable(_) => "stored_cid_unreadable",
            CoreError::StoredKeyCidUnreadable(_) => "stored_key_cid_unreadable",
            CoreError::BadAddress { .. } => "bad_address",
            CoreError::AddressChecksum { .. } => "address_checksum",
            CoreError::BadRecordId { .. } => "bad_record_id",
            CoreError::NotPublished { .. } => "not_published",
            CoreError::ShareCode(_) => "share_code",
            CoreError::OnlyPatients => "only_patients",
            CoreError::During { source, .. } | CoreError::Explained(source) => source.kind(),
            CoreError::Records(_) => "records",
            CoreError::Sharing(_) => "sharing",
            CoreError::Inbox(_) => "inbox",
            CoreError::FrontDesk(_) => "front_desk",
            CoreError::Staff(_) => "staff",
            CoreError::Audit(_) => "audit",
            CoreError::Rebuild(_) => "rebuild",
            CoreError::Wallet(_) => "wallet",
            CoreError::Startup(_) => "startup",
            CoreError::Vault(_) => "vault",
            CoreError::Internal { .. } => "internal",
        }
    }
}

/// What a use case answers: its value, or what failed.
pub type Answer<T> = Result<T, CoreError>;
