//! Every failure has words: a message that is a sentence, and a next step.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use medwallet_abe::{AbeError, DecodeError, PolicyError};
use medwallet_api::UserError;
use medwallet_ledger::{Action, Address, LedgerError, Revert, B256};
use medwallet_records::{
    cid_of, CapsuleError, CidError, IpfsError, IssuedKeyError, ManifestError, StreamError,
};
use medwallet_vault::{ShareCodeError, VaultError};

use super::*;
use crate::error::*;
use crate::qr::QrError;

fn io(kind: std::io::ErrorKind) -> std::io::Error {
    std::io::Error::new(kind, "the disk said no")
}

fn full() -> std::io::Error {
    std::io::Error::from_raw_os_error(28)
}

fn path() -> PathBuf {
    PathBuf::from("/data/records/x.content")
}

fn ledger(reason: Revert) -> LedgerError {
    LedgerError::Reverted {
        action: Action::LogAccess,
        tx: None,
        reason,
    }
}

fn unreachable() -> LedgerError {
    LedgerError::Unreachable {
        url: "http://127.0.0.1:8545/".into(),
        detail: "connection refused".into(),
    }
}

fn boxed(e: impl Into<CoreError>) -> Box<CoreError> {
    Box::new(e.into())
}

/// The variant (and the room's variant) a failure is, named; exhaustive, so a new variant
/// does not compile until it is named here (and given a sample below).
fn name(e: &CoreError) -> &'static str {
    match e {
        CoreError::Ipfs(_) => "Ipfs",
        CoreError::Ledger(_) => "Ledger",
        CoreError::NoContract => "NoContract",
        CoreError::LedgerKeyUnusable { .. } => "LedgerKeyUnusable",
        CoreError::ChainUnknown(_) => "ChainUnknown",
        CoreError::StoredAs { .. } => "StoredAs",
        CoreError::BadIpfsUrl { .. } => "BadIpfsUrl",
        CoreError::BadLedgerUrl { .. } => "BadLedgerUrl",
        CoreError::BadCaCertificate { .. } => "BadCaCertificate",
        CoreError::BadCredential { .. } => "BadCredential",
        CoreError::Settings(_) => "Settings",
        CoreError::SettingsUnusable(_) => "SettingsUnusable",
        CoreError::Store(_) => "Store",
        CoreError::Disk { .. } => "Disk",
        CoreError::DiskFull { .. } => "DiskFull",
        CoreError::FileUnreadable { .. } => "FileUnreadable",
        CoreError::Altered { .. } => "Altered",
        CoreError::ReadingPart { .. } => "ReadingPart",
        CoreError::Decrypting { .. } => "Decrypting",
        CoreError::LocalIndexDamaged { .. } => "LocalIndexDamaged",
        CoreError::PolicyNotMet => "PolicyNotMet",
        CoreError::StoredCidUnreadable(_) => "StoredCidUnreadable",
        CoreError::StoredKeyCidUnreadable(_) => "StoredKeyCidUnreadable",
        CoreError::BadAddress { .. } => "BadAddress",
        CoreError::AddressChecksum { .. } => "AddressChecksum",
        CoreError::BadRecordId { .. } => "BadRecordId",
        CoreError::NotPublished { .. } => "NotPublished",
        CoreError::ShareCode(_) => "ShareCode",
        CoreError::OnlyPatients => "OnlyPatients",
        CoreError::During { .. } => "During",
        CoreError::Explained(_) => "Explained",
        CoreError::Vault(_) => "Vault",
        CoreError::Internal { .. } => "Internal",
        CoreError::Records(e) => match e {
            RecordsError::NotInWallet { .. } => "Records::NotInWallet",
            RecordsError::NoCopyName => "Records::NoCopyName",
            RecordsError::NoFile => "Records::NoFile",
            RecordsError::IsFolder { .. } => "Records::IsFolder",
            RecordsError::EmptyFile { .. } => "Records::EmptyFile",
            RecordsError::FileChanged { .. } => "Records::FileChanged",
            RecordsError::CutShort { .. } => "Records::CutShort",
            RecordsError::EncryptFailed { .. } => "Records::EncryptFailed",
            RecordsError::Cancelled { .. } => "Records::Cancelled",
            RecordsError::NoTitle => "Records::NoTitle",
            RecordsError::TitleTooLong => "Records::TitleTooLong",
            RecordsError::NotADate { .. } => "Records::NotADate",
            RecordsError::AuthorTooLong => "Records::AuthorTooLong",
            RecordsError::UploadRunning => "Records::UploadRunning",
            RecordsError::ReplicaIsOwnNode => "Records::ReplicaIsOwnNode",
            RecordsError::RegistrationRunning => "Records::RegistrationRunning",
            RecordsError::VersionGone => "Records::VersionGone",
            RecordsError::StoredIdUnreadable => "Records::StoredIdUnreadable",
            RecordsError::NoRegistrationNonce => "Records::NoRegistrationNonce",
            RecordsError::VersionTaken { .. } => "Records::VersionTaken",
            RecordsError::SearchTooLong { .. } => "Records::SearchTooLong",
        },
        CoreError::Sharing(e) => match e {
            SharingError::NotInWallet { .. } => "Sharing::NotInWallet",
            SharingError::ChainMismatch { .. } => "Sharing::ChainMismatch",
            SharingError::NotSignedBy { .. } => "Sharing::NotSignedBy",
            SharingError::KeyNotAsInCode { .. } => "Sharing::KeyNotAsInCode",
            SharingError::KeyChanged { .. } => "Sharing::KeyChanged",
            SharingError::ExpiryZero => "Sharing::ExpiryZero",
            SharingError::ExpiryTooLong { .. } => "Sharing::ExpiryTooLong",
            SharingError::NotShared { .. } => "Sharing::NotShared",
            SharingError::BeingRevoked => "Sharing::BeingRevoked",
            SharingError::CapsuleFull => "Sharing::CapsuleFull",
            SharingError::OwnAddress => "Sharing::OwnAddress",
            SharingError::NoRecordChosen => "Sharing::NoRecordChosen",
            SharingError::RoleNamesPerson => "Sharing::RoleNamesPerson",
            SharingError::BadClause(_) => "Sharing::BadClause",
            SharingError::ClinicKeysUnknown { .. } => "Sharing::ClinicKeysUnknown",
            SharingError::NotAClinic { .. } => "Sharing::NotAClinic",
            SharingError::BadGroupName { .. } => "Sharing::BadGroupName",
            SharingError::SelfInGroup => "Sharing::SelfInGroup",
            SharingError::NotAMember { .. } => "Sharing::NotAMember",
            SharingError::NotRegisteredYet => "Sharing::NotRegisteredYet",
            SharingError::RecordGone => "Sharing::RecordGone",
            SharingError::KeyNotIssued(_) => "Sharing::KeyNotIssued",
            SharingError::KeyNotSealed(_) => "Sharing::KeyNotSealed",
            SharingError::RevisionMissing => "Sharing::RevisionMissing",
            SharingError::RevisionPending { .. } => "Sharing::RevisionPending",
            SharingError::PublishedCidUnreadable { .. } => "Sharing::PublishedCidUnreadable",
            SharingError::ParamsUnusable { .. } => "Sharing::ParamsUnusable",
        },
        CoreError::Inbox(e) => match e {
            InboxError::NotShared => "Inbox::NotShared",
            InboxError::Expired { .. } => "Inbox::Expired",
            InboxError::KeyDoesNotHold => "Inbox::KeyDoesNotHold",
            InboxError::NotRegistered => "Inbox::NotRegistered",
            InboxError::NoKeyIssued { .. } => "Inbox::NoKeyIssued",
            InboxError::KeyUnusable { .. } => "Inbox::KeyUnusable",
            InboxError::OpeningNotLogged { .. } => "Inbox::OpeningNotLogged",
            InboxError::SharedUnreadable { .. } => "Inbox::SharedUnreadable",
        },
        CoreError::FrontDesk(e) => match e {
            FrontDeskError::OnlyPatientsMakeCodes => "FrontDesk::OnlyPatientsMakeCodes",
            FrontDeskError::OnlyClinicsCheckIn => "FrontDesk::OnlyClinicsCheckIn",
            FrontDeskError::OnlyClinicsUpload => "FrontDesk::OnlyClinicsUpload",
            FrontDeskError::LengthNotOffered { .. } => "FrontDesk::LengthNotOffered",
            FrontDeskError::NotInWallet { .. } => "FrontDesk::NotInWallet",
            FrontDeskError::NotRegisteredYet => "FrontDesk::NotRegisteredYet",
            FrontDeskError::NotGranted { .. } => "FrontDesk::NotGranted",
            FrontDeskError::NotACheckInCode => "FrontDesk::NotACheckInCode",
            FrontDeskError::PlainShareCode { .. } => "FrontDesk::PlainShareCode",
            FrontDeskError::DatedInFuture { .. } => "FrontDesk::DatedInFuture",
            FrontDeskError::CheckInExpired { .. } => "FrontDesk::CheckInExpired",
            FrontDeskError::NotSignedByPatient { .. } => "FrontDesk::NotSignedByPatient",
            FrontDeskError::NotAllowedYet { .. } => "FrontDesk::NotAllowedYet",
            FrontDeskError::CodeTooLong { .. } => "FrontDesk::CodeTooLong",
            FrontDeskError::Declined { .. } => "FrontDesk::Declined",
            FrontDeskError::UnknownRequest => "FrontDesk::UnknownRequest",
            FrontDeskError::AlreadyAnswered => "FrontDesk::AlreadyAnswered",
            FrontDeskError::AskerChanged => "FrontDesk::AskerChanged",
            FrontDeskError::AnswerKept { .. } => "FrontDesk::AnswerKept",
            FrontDeskError::ExpiryPassed => "FrontDesk::ExpiryPassed",
            FrontDeskError::UsedHere => "FrontDesk::UsedHere",
            FrontDeskError::CheckInUsed { .. } => "FrontDesk::CheckInUsed",
            FrontDeskError::NotCheckedIn => "FrontDesk::NotCheckedIn",
            FrontDeskError::CheckInOver { .. } => "FrontDesk::CheckInOver",
            FrontDeskError::NotGrantedWithCheckIn => "FrontDesk::NotGrantedWithCheckIn",
            FrontDeskError::UploadExpired { .. } => "FrontDesk::UploadExpired",
            FrontDeskError::PatientNotPublished { .. } => "FrontDesk::PatientNotPublished",
            FrontDeskError::NoCodeGiven => "FrontDesk::NoCodeGiven",
            FrontDeskError::QrUnreadable { .. } => "FrontDesk::QrUnreadable",
            FrontDeskError::QrNotDrawn(_) => "FrontDesk::QrNotDrawn",
            FrontDeskError::NotACid { .. } => "FrontDesk::NotACid",
            FrontDeskError::CidOrFile => "FrontDesk::CidOrFile",
            FrontDeskError::TooLargeToVerify { .. } => "FrontDesk::TooLargeToVerify",
            FrontDeskError::GrantUnreadable { .. } => "FrontDesk::GrantUnreadable",
            FrontDeskError::NotAdopted { .. } => "FrontDesk::NotAdopted",
            FrontDeskError::AuthorNotAClinic { .. } => "FrontDesk::AuthorNotAClinic",
            FrontDeskError::AuthorNotAllowed { .. } => "FrontDesk::AuthorNotAllowed",
        },
        CoreError::Staff(e) => match e {
            StaffError::OnlyClinics => "Staff::OnlyClinics",
            StaffError::NotOneAttribute { .. } => "Staff::NotOneAttribute",
            StaffError::NoAttribute => "Staff::NoAttribute",
            StaffError::NoActiveKey { .. } => "Staff::NoActiveKey",
            StaffError::StoredParamsUnusable(_) => "Staff::StoredParamsUnusable",
        },
        CoreError::Audit(e) => match e {
            AuditError::FolderNotCreated { .. } => "Audit::FolderNotCreated",
            AuditError::CacheNotOpened(_) => "Audit::CacheNotOpened",
            AuditError::CacheUnreadable(_) => "Audit::CacheUnreadable",
            AuditError::NoExportName => "Audit::NoExportName",
            AuditError::NotWritten { .. } => "Audit::NotWritten",
            AuditError::BadRecordId { .. } => "Audit::BadRecordId",
            AuditError::BadActor { .. } => "Audit::BadActor",
            AuditError::BadDate { .. } => "Audit::BadDate",
        },
        CoreError::Rebuild(e) => match e {
            RebuildError::OtherChain { .. } => "Rebuild::OtherChain",
            RebuildError::NothingOnLedger { .. } => "Rebuild::NothingOnLedger",
            RebuildError::ParametersNotOurs { .. } => "Rebuild::ParametersNotOurs",
            RebuildError::Unfinished => "Rebuild::Unfinished",
            RebuildError::GroupNotFound { .. } => "Rebuild::GroupNotFound",
            RebuildError::ClauseNotFound { .. } => "Rebuild::ClauseNotFound",
        },
        CoreError::Wallet(e) => match e {
            WalletError::NotOpenYet => "Wallet::NotOpenYet",
            WalletError::Reopening => "Wallet::Reopening",
            WalletError::Unusable(_) => "Wallet::Unusable",
            WalletError::CalibrationFailed { .. } => "Wallet::CalibrationFailed",
            WalletError::PrefsNotSaved(_) => "Wallet::PrefsNotSaved",
            WalletError::KitNotSaved(_) => "Wallet::KitNotSaved",
            WalletError::NoPendingKit => "Wallet::NoPendingKit",
            WalletError::IdleTimeoutRange => "Wallet::IdleTimeoutRange",
        },
        CoreError::Startup(e) => match e {
            StartupError::AlreadyRunning { .. } => "Startup::AlreadyRunning",
            StartupError::FolderUnusable { .. } => "Startup::FolderUnusable",
            StartupError::SetAside { .. } => "Startup::SetAside",
            StartupError::NotSetAside { .. } => "Startup::NotSetAside",
        },
    }
}

/// How many variants `name` names (top level without the rooms, and each room's).
const VARIANTS: usize = 33 + 21 + 27 + 8 + 37 + 5 + 8 + 6 + 8 + 4;

/// At least one of each variant, and each branch of the words where a variant has
/// several.
fn samples() -> Vec<CoreError> {
    let cid = cid_of(b"one");
    let other = cid_of(b"two");
    let who = Address::repeat_byte(0xd0);
    let url_error = url::Url::parse("not a url").unwrap_err();
    let mut out: Vec<CoreError> = vec![
        IpfsError::InvalidUrl {
            url: "ftp://x".into(),
            reason: "not http".into(),
        }
        .into(),
        IpfsError::Unreachable {
            url: "http://127.0.0.1:5001/".into(),
            detail: "refused".into(),
        }
        .into(),
        IpfsError::NotIpfs {
            url: "http://127.0.0.1:5001/".into(),
            detail: "404".into(),
        }
        .into(),
        IpfsError::CidMismatch {
            expected: cid,
            got: other,
        }
        .into(),
        IpfsError::NotFound {
            url: "http://127.0.0.1:5001/".into(),
            cid,
        }
        .into(),
        CoreError::Ipfs(Box::new(IpfsError::TooLarge { cid, max_len: 1 })),
        IpfsError::Api {
            url: "http://127.0.0.1:5001/".into(),
            message: "no".into(),
        }
        .into(),
        IpfsError::Unauthorized {
            url: "https://node.example/".into(),
        }
        .into(),
        IpfsError::Setup {
            url: "https://node.example/".into(),
            source: medwallet_records::ipfs::NetError::NoCaCertificate,
        }
        .into(),
        unreachable().into(),
        ledger(Revert::RecordExists {
            record_id: B256::ZERO,
        })
        .into(),
        LedgerError::NoContract {
            address: "0x11".into(),
        }
        .into(),
        CoreError::NoContract,
        CoreError::LedgerKeyUnusable {
            detail: "zero".into(),
        },
        CoreError::ChainUnknown(Box::new(unreachable())),
        CoreError::StoredAs {
            part: Some(Part::Manifest),
            got: Box::new(cid),
            expected: Box::new(other),
        },
        CoreError::StoredAs {
            part: None,
            got: Box::new(cid),
            expected: Box::new(other),
        },
        CoreError::BadIpfsUrl {
            url: "x".into(),
            source: url_error,
        },
        CoreError::BadLedgerUrl {
            url: "x".into(),
            source: url_error,
        },
        CoreError::BadCaCertificate {
            reason: "no certificate".into(),
        },
        CoreError::BadCredential { what: "token" },
        CoreError::Settings(crate::settings::StoreError::Query(sqlx::Error::RowNotFound)),
        CoreError::SettingsUnusable(Arc::new(crate::settings::StoreError::Query(
            sqlx::Error::PoolClosed,
        ))),
        crate::store::StoreError::Corrupt("state".into()).into(),
        crate::store::StoreError::Io {
            what: "writing the outbox".into(),
            source: full(),
        }
        .into(),
        CoreError::disk(&path(), io(std::io::ErrorKind::PermissionDenied)),
        CoreError::disk(&path(), full()),
        CoreError::FileUnreadable {
            path: path(),
            source: io(std::io::ErrorKind::NotFound),
        },
        CoreError::FileUnreadable {
            path: path(),
            source: io(std::io::ErrorKind::PermissionDenied),
        },
        CoreError::FileUnreadable {
            path: path(),
            source: io(std::io::ErrorKind::Other),
        },
        CoreError::stream(Part::Content, StreamError::Tampered { chunk: 3 }),
        CoreError::stream(
            Part::Content,
            StreamError::Io(io(std::io::ErrorKind::Other)),
        ),
        CoreError::stream(Part::Content, StreamError::Random),
        CoreError::capsule(CapsuleError::Random),
        CoreError::capsule(CapsuleError::NotAllowed),
        CoreError::capsule(CapsuleError::Tampered),
        CoreError::manifest(ManifestError::WrongKeyOrTampered),
        CoreError::manifest(ManifestError::BadHeader("magic")),
        CoreError::LocalIndexDamaged {
            record_id: "0x01".into(),
        },
        CoreError::StoredCidUnreadable(CidError::Length),
        CoreError::StoredKeyCidUnreadable(CidError::Length),
        CoreError::BadAddress {
            text: "0x12".into(),
        },
        CoreError::AddressChecksum {
            text: "0xAb".into(),
        },
        CoreError::BadRecordId { text: "0x1".into() },
        CoreError::NotPublished { address: who },
        ShareCodeError::BadSignature.into(),
        ShareCodeError::Malformed("cut").into(),
        ShareCodeError::UnsupportedVersion { found: 9 }.into(),
        ShareCodeError::OldCheckIn.into(),
        CoreError::OnlyPatients,
        CoreError::from(unreachable()).during(Task::ReadShares),
        CoreError::Explained(boxed(IpfsError::Unreachable {
            url: "http://127.0.0.1:5001/".into(),
            detail: "refused".into(),
        })),
        VaultError::Locked.into(),
        VaultError::EmptyPassphrase.into(),
        VaultError::WrongPassphrase {
            failed_attempts: 1,
            retry_after: std::time::Duration::ZERO,
        }
        .into(),
        VaultError::ConfirmationMismatch {
            positions: vec![3, 7],
        }
        .into(),
        CoreError::internal("a pipe", "closed"),
    ];
    for problem in [
        TlsProblem::Untrusted,
        TlsProblem::Expired,
        TlsProblem::WrongHost,
        TlsProblem::NotTls,
        TlsProblem::Other("handshake failure".into()),
    ] {
        out.push(
            IpfsError::Tls {
                url: "https://node.example/".into(),
                problem,
            }
            .into(),
        );
    }
    // Every alteration, on the part it happens to.
    for how in [
        Alteration::TooManyBytes,
        Alteration::ChunkChanged { chunk: 1 },
        Alteration::Truncated,
        Alteration::HeaderKey,
        Alteration::Appended,
        Alteration::NotContentHeader,
        Alteration::OtherDataKey,
        Alteration::NamesOtherContent,
        Alteration::UnreadableCid {
            which: CidRef::Content,
            source: CidError::Length,
        },
        Alteration::UnreadableCid {
            which: CidRef::Stored { cid: "bafy".into() },
            source: CidError::Length,
        },
        Alteration::UnreadableCid {
            which: CidRef::Entry,
            source: CidError::Length,
        },
        Alteration::UnreadableCid {
            which: CidRef::Key,
            source: CidError::Length,
        },
        Alteration::HashNotRegistered {
            got: cid,
            registered: other,
        },
        Alteration::HashNotAsked {
            got: cid,
            asked: other,
        },
        Alteration::LengthDiffers,
        Alteration::ChangedOrMoved,
        Alteration::Capsule(CapsuleError::InvalidRecordId),
        Alteration::OtherRecord,
        Alteration::NotAuthentic,
        Alteration::Manifest(ManifestError::BadHeader("magic")),
        Alteration::NotRegisteredVersion,
        Alteration::NotWhatManifestNames,
        Alteration::NoCapsuleForVersion { version: 2 },
    ] {
        out.push(CoreError::altered(Part::Content, how));
    }
    for part in [
        Part::Manifest,
        Part::Capsule,
        Part::StoredObject,
        Part::RecordIndex,
        Part::LedgerEntry,
        Part::AuthorityParameters,
        Part::IssuedKey,
    ] {
        out.push(CoreError::altered(part, Alteration::Truncated));
    }
    for task in [
        Task::PreviewShare,
        Task::LookUpGrantee,
        Task::ReadShares,
        Task::ListShared,
        Task::OpenShared,
        Task::OfferCheckIn,
        Task::AnswerCheckIn,
        Task::Publish,
        Task::KeyForCheckIn,
        Task::ReadCheckIn,
        Task::ReadCode,
        Task::RedeemCheckIn,
        Task::ListCheckIns,
        Task::OpenCheckedIn,
        Task::UploadForPatient,
        Task::PatientKeys,
        Task::StoreForPatient,
        Task::RegisterForPatient,
        Task::Verify,
        Task::Compare,
        Task::IssueStaffKey,
    ] {
        out.push(CoreError::NoContract.during(task));
    }
    out.extend(
        [
            RecordsError::NotInWallet {
                record_id: "0x01".into(),
            },
            RecordsError::NoCopyName,
            RecordsError::NoFile,
            RecordsError::IsFolder { path: path() },
            RecordsError::EmptyFile { path: path() },
            RecordsError::FileChanged { path: path() },
            RecordsError::CutShort {
                path: path(),
                source: io(std::io::ErrorKind::UnexpectedEof),
            },
            RecordsError::EncryptFailed {
                path: path(),
                source: StreamError::Random,
            },
            RecordsError::Cancelled { file_name: None },
            RecordsError::Cancelled {
                file_name: Some("scan.pdf".into()),
            },
            RecordsError::NoTitle,
            RecordsError::TitleTooLong,
            RecordsError::NotADate {
                text: "yesterday".into(),
            },
            RecordsError::AuthorTooLong,
            RecordsError::UploadRunning,
            RecordsError::ReplicaIsOwnNode,
            RecordsError::RegistrationRunning,
            RecordsError::VersionGone,
            RecordsError::StoredIdUnreadable,
            RecordsError::NoRegistrationNonce,
            RecordsError::VersionTaken { version: 3 },
            RecordsError::SearchTooLong { max: 256 },
        ]
        .map(CoreError::from),
    );
    out.extend(
        [
            SharingError::NotInWallet {
                record_id: "0x01".into(),
            },
            SharingError::ChainMismatch { code: 1, ledger: 2 },
            SharingError::NotSignedBy {
                address: who.to_string(),
            },
            SharingError::KeyNotAsInCode {
                address: who.to_string(),
            },
            SharingError::KeyChanged {
                address: who.to_string(),
            },
            SharingError::ExpiryZero,
            SharingError::ExpiryTooLong { days: 4000 },
            SharingError::NotShared {
                grantee: who.to_string(),
            },
            SharingError::BeingRevoked,
            SharingError::CapsuleFull,
            SharingError::OwnAddress,
            SharingError::NoRecordChosen,
            SharingError::RoleNamesPerson,
            SharingError::BadClause(PolicyError::Empty),
            SharingError::ClinicKeysUnknown {
                clinic: who.to_string(),
            },
            SharingError::NotAClinic { address: who },
            SharingError::BadGroupName {
                name: "Care Team".into(),
            },
            SharingError::SelfInGroup,
            SharingError::NotAMember {
                member: who.to_string(),
                group: "family".into(),
            },
            SharingError::NotRegisteredYet,
            SharingError::RecordGone,
            SharingError::KeyNotIssued(AbeError::Policy(PolicyError::Empty)),
            SharingError::KeyNotSealed(Some(VaultError::Crypto("bad key"))),
            SharingError::KeyNotSealed(None),
            SharingError::RevisionMissing,
            SharingError::RevisionPending {
                version: 2,
                problem: None,
            },
            SharingError::RevisionPending {
                version: 2,
                problem: Some("Waiting for the IPFS node.".into()),
            },
            SharingError::PublishedCidUnreadable {
                authority: who,
                source: CidError::Length,
            },
            SharingError::ParamsUnusable {
                authority: who,
                source: DecodeError::Truncated { what: "params" },
            },
        ]
        .map(CoreError::from),
    );
    out.extend(
        [
            InboxError::NotShared,
            InboxError::Expired { at: 1_767_225_600 },
            InboxError::KeyDoesNotHold,
            InboxError::NotRegistered,
            InboxError::NoKeyIssued { issuer: who },
            InboxError::KeyUnusable {
                issuer: who,
                why: KeyProblem::Envelope(IssuedKeyError::Malformed("short")),
            },
            InboxError::KeyUnusable {
                issuer: who,
                why: KeyProblem::OtherParties,
            },
            InboxError::KeyUnusable {
                issuer: who,
                why: KeyProblem::DoesNotOpen,
            },
            InboxError::KeyUnusable {
                issuer: who,
                why: KeyProblem::NotAKey(DecodeError::Truncated { what: "key" }),
            },
            InboxError::OpeningNotLogged {
                route: Route::Shared,
                source: Box::new(ledger(Revert::GrantExpired {
                    record_id: B256::ZERO,
                    caller: who,
                    expiry: 1,
                })),
            },
            InboxError::OpeningNotLogged {
                route: Route::CheckIn,
                source: Box::new(ledger(Revert::NotGrantee {
                    record_id: B256::ZERO,
                    caller: who,
                })),
            },
            InboxError::OpeningNotLogged {
                route: Route::Shared,
                source: Box::new(unreachable()),
            },
            InboxError::SharedUnreadable {
                owner: who,
                source: boxed(CoreError::PolicyNotMet),
            },
        ]
        .map(CoreError::from),
    );
    out.extend(
        [
            FrontDeskError::OnlyPatientsMakeCodes,
            FrontDeskError::OnlyClinicsCheckIn,
            FrontDeskError::OnlyClinicsUpload,
            FrontDeskError::LengthNotOffered {
                minutes: 2,
                min: 5,
                max: 1440,
            },
            FrontDeskError::NotInWallet {
                record_id: "0x01".into(),
            },
            FrontDeskError::NotRegisteredYet,
            FrontDeskError::NotGranted { why: None },
            FrontDeskError::NotGranted {
                why: Some("The IPFS node does not answer.".into()),
            },
            FrontDeskError::NotACheckInCode,
            FrontDeskError::PlainShareCode {
                address: who.to_string(),
                display_name: "Ada".into(),
            },
            FrontDeskError::DatedInFuture {
                issued: 1_767_225_600,
            },
            FrontDeskError::CheckInExpired { at: 1_767_225_600 },
            FrontDeskError::NotSignedByPatient { patient: who },
            FrontDeskError::NotAllowedYet {
                patient_name: "Ada".into(),
            },
            FrontDeskError::CodeTooLong {
                until: 1_767_225_600,
            },
            FrontDeskError::Declined {
                patient_name: "Ada".into(),
            },
            FrontDeskError::UnknownRequest,
            FrontDeskError::AlreadyAnswered,
            FrontDeskError::AskerChanged,
            FrontDeskError::AnswerKept { allow: true },
            FrontDeskError::AnswerKept { allow: false },
            FrontDeskError::ExpiryPassed,
            FrontDeskError::UsedHere,
            FrontDeskError::CheckInUsed { by: who },
            FrontDeskError::NotCheckedIn,
            FrontDeskError::CheckInOver { at: 1_767_225_600 },
            FrontDeskError::NotGrantedWithCheckIn,
            FrontDeskError::UploadExpired {
                patient_name: "Ada".into(),
                at: 1_767_225_600,
            },
            FrontDeskError::PatientNotPublished { patient: who },
            FrontDeskError::NoCodeGiven,
            FrontDeskError::QrUnreadable {
                path: path(),
                source: QrError::NoCode,
            },
            FrontDeskError::QrNotDrawn(QrError::TooLong),
            FrontDeskError::NotACid {
                text: "bafy-no".into(),
                source: CidError::Length,
            },
            FrontDeskError::CidOrFile,
            FrontDeskError::TooLargeToVerify {
                path: path(),
                limit: 64 << 20,
            },
            FrontDeskError::GrantUnreadable {
                source: boxed(CoreError::PolicyNotMet),
            },
            FrontDeskError::NotAdopted {
                author: who,
                source: boxed(CoreError::PolicyNotMet),
            },
            FrontDeskError::AuthorNotAClinic { author: who },
            FrontDeskError::AuthorNotAllowed { author: who },
        ]
        .map(CoreError::from),
    );
    out.extend(
        [
            StaffError::OnlyClinics,
            StaffError::NotOneAttribute {
                attribute: "role:doctor AND".into(),
            },
            StaffError::NoAttribute,
            StaffError::NoActiveKey {
                holder: who.to_string(),
            },
            StaffError::StoredParamsUnusable(DecodeError::Truncated { what: "params" }),
        ]
        .map(CoreError::from),
    );
    out.extend(
        [
            AuditError::FolderNotCreated {
                path: path(),
                source: io(std::io::ErrorKind::PermissionDenied),
            },
            AuditError::CacheNotOpened(Box::new(LedgerError::Cache {
                detail: "locked".into(),
            })),
            AuditError::CacheUnreadable(Box::new(LedgerError::CacheDamaged {
                what: "events.block_number".into(),
            })),
            AuditError::NoExportName,
            AuditError::NotWritten {
                path: path(),
                source: full(),
            },
            AuditError::BadRecordId { text: "0x1".into() },
            AuditError::BadActor { text: "0x2".into() },
            AuditError::BadDate {
                which: "from",
                text: "yesterday".into(),
            },
        ]
        .map(CoreError::from),
    );
    out.extend(
        [
            RebuildError::OtherChain {
                url: "http://127.0.0.1:8545/".into(),
                used: 31337,
                found: 1,
            },
            RebuildError::NothingOnLedger { chain_id: 31337 },
            RebuildError::ParametersNotOurs { epochs_tried: 256 },
            RebuildError::Unfinished,
            RebuildError::GroupNotFound {
                record_id: "0x11".into(),
            },
            RebuildError::ClauseNotFound {
                record_id: "0x11".into(),
                clinic: Address::repeat_byte(7),
            },
        ]
        .map(CoreError::from),
    );
    out.extend(
        [
            WalletError::NotOpenYet,
            WalletError::Reopening,
            WalletError::Unusable(Arc::new(
                VaultError::Corrupt {
                    path: path(),
                    detail: "bad page".into(),
                }
                .into(),
            )),
            WalletError::CalibrationFailed {
                detail: "panicked".into(),
            },
            WalletError::PrefsNotSaved(full()),
            WalletError::KitNotSaved(full()),
            WalletError::NoPendingKit,
            WalletError::IdleTimeoutRange,
        ]
        .map(CoreError::from),
    );
    let dir = PathBuf::from("/home/ana/.local/share/medwallet");
    let set_aside = |database: LocalDatabase| StartupError::SetAside {
        path: dir.join("settings.sqlite"),
        kept_as: dir.join("settings.sqlite.damaged-20261207T170000Z"),
        what: "file is not a database".into(),
        database: Box::new(database),
    };
    out.extend(
        [
            StartupError::AlreadyRunning {
                dir: dir.clone(),
                pid: Some(4242),
            },
            StartupError::AlreadyRunning {
                dir: dir.clone(),
                pid: None,
            },
            StartupError::FolderUnusable {
                dir: dir.clone(),
                source: io(std::io::ErrorKind::ReadOnlyFilesystem),
            },
            StartupError::FolderUnusable {
                dir: dir.clone(),
                source: io(std::io::ErrorKind::NotADirectory),
            },
            set_aside(LocalDatabase::Settings),
            set_aside(LocalDatabase::Records {
                wallet_id: "w1".into(),
                name: Some("Ada".into()),
            }),
            set_aside(LocalDatabase::AuditCache {
                wallet_id: "w1".into(),
                name: None,
            }),
            StartupError::NotSetAside {
                database: Box::new(LocalDatabase::Settings),
                path: dir.join("settings.sqlite"),
                source: io(std::io::ErrorKind::PermissionDenied),
            },
        ]
        .map(CoreError::from),
    );
    out
}

fn is_vault(e: &CoreError) -> bool {
    match e {
        CoreError::Vault(_) => true,
        CoreError::Wallet(WalletError::Unusable(inner)) => is_vault(inner),
        _ => false,
    }
}

#[test]
fn every_failure_has_a_sentence_and_a_next_step() {
    let all = samples();
    let mut named: Vec<&str> = all.iter().map(name).collect();
    named.sort_unstable();
    named.dedup();
    assert_eq!(named.len(), VARIANTS, "a variant has no sample: {named:?}");
    for e in &all {
        let words = UserError::from(e);
        assert!(
            !words.message.trim().is_empty() && words.message.ends_with('.'),
            "{e:?}: {words:?}"
        );
        assert_eq!(words.message, e.to_string(), "Display is the message");
        assert_eq!(words.message, reason(e), "a reason is the message");
        match &words.hint {
            Some(hint) => assert!(hint.ends_with('.') && hint.len() > 5, "{e:?}: {words:?}"),
            // The vault's messages say what to do themselves (keep the file, restore
            // from the kit, choose another passphrase...).
            None => assert!(is_vault(e), "{e:?} has no next step: {words:?}"),
        }
        assert!(!e.kind().is_empty());
    }
}

#[test]
fn a_full_disk_is_named_as_such() {
    let u = UserError::from(CoreError::disk(Path::new("/data/x.content"), full()));
    assert!(u.message.starts_with("The disk is full: free "), "{u:?}");
    let e = CoreError::encrypting(
        StreamError::Io(full()),
        Path::new("/home/a/scan.pdf"),
        Path::new("/data/x"),
    );
    assert!(
        matches!(&e, CoreError::DiskFull { path: Some(path), .. } if path == Path::new("/data/x")),
        "{e:?}"
    );
    // What the use case needed less what is free, in MB rounded up.
    let e = CoreError::DiskFull {
        path: None,
        needed_bytes: Some(12_000_000),
        free_bytes: Some(2_500_000),
    };
    assert_eq!(
        UserError::from(e).message,
        "The disk is full: free 10 MB and try again."
    );
    // A database, a download and the event cache on a full disk are the same failure.
    for e in [
        CoreError::from(crate::store::StoreError::Db(sqlx::Error::Io(full()))),
        CoreError::from(IpfsError::Write(full())),
        CoreError::from(LedgerError::CacheFull),
        CoreError::from(AuditError::CacheUnreadable(Box::new(
            LedgerError::CacheFull,
        ))),
        CoreError::from(VaultError::Database(sqlx::Error::Io(full()))),
    ] {
        assert!(matches!(e, CoreError::DiskFull { .. }), "{e:?}");
    }
    // Completed where the use case ends: its folder, its need, the space free now.
    let dir = tempfile::tempdir().unwrap();
    let e = CoreError::disk_full(None)
        .during(Task::UploadForPatient)
        .disk_full_in(dir.path(), Some(u64::MAX));
    match e.cause() {
        CoreError::DiskFull {
            path: Some(path),
            needed_bytes: Some(u64::MAX),
            free_bytes: Some(_),
        } => assert_eq!(path, dir.path()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn tampering_names_the_part_and_chunk() {
    let e = CoreError::stream(Part::Content, StreamError::Tampered { chunk: 3 });
    assert!(matches!(
        &e,
        CoreError::Altered { part: Part::Content, how }
            if matches!(**how, Alteration::ChunkChanged { chunk: 3 })
    ));
    let u = UserError::from(e);
    assert!(u.message.contains("content was altered"), "{u:?}");
    assert!(u.message.contains("chunk 3"), "{u:?}");
    let u = UserError::from(CoreError::stream(Part::Content, StreamError::Truncated));
    assert!(u.message.contains("truncated"), "{u:?}");
}

#[test]
fn context_keeps_the_failure_and_the_use_case_says_what_next() {
    let e = CoreError::NoContract.during(Task::PreviewShare);
    assert!(matches!(e.cause(), CoreError::NoContract));
    let u = UserError::from(e);
    assert_eq!(
        u.message,
        "No ledger contract is set: the record is registered once the contract address is saved in Settings."
    );
    assert_eq!(
        u.hint.as_deref(),
        Some("The share can still be queued: it is sent once the ledger answers.")
    );
    // An explained failure keeps its advice in the reason a queued step shows.
    let e = CoreError::Explained(boxed(CoreError::NotPublished {
        address: Address::repeat_byte(1),
    }));
    let told = reason(&e);
    assert!(
        told.contains("has not published its keys") && told.ends_with("Then share again."),
        "{told}"
    );
}
