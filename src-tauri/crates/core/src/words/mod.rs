//! Every failure in the user's words, in one place: what happened, and what to do next.
//!
//! [`CoreError`] is data; this module is the only one that turns it into sentences
//! (`impl From<CoreError> for UserError`), one file per room for the rooms' own
//! refusals. The same words serve as the reason a queued step waits ([`reason`]), which
//! the outbox and the grants keep as data.

mod audit;
mod front_desk;
mod inbox;
mod rebuild;
mod records;
mod sharing;
mod staff;
mod startup;
mod wallet;

pub(crate) use audit::{ledger_dispute, trail_problem};
pub(crate) use wallet::secs_up;

use medwallet_api::UserError;
use medwallet_ledger::LedgerError;
use medwallet_records::ipfs::TlsProblem;
use medwallet_records::IpfsError;
use medwallet_vault::ShareCodeError;

use crate::error::{Alteration, CidRef, CoreError, Part, Task};
use crate::store::StoreError;

/// A message and its hint (`None`: the message says what to do itself).
type Words = (String, Option<String>);

fn says(message: impl Into<String>, hint: impl Into<String>) -> Words {
    (message.into(), Some(hint.into()))
}

impl From<CoreError> for UserError {
    fn from(e: CoreError) -> Self {
        user_error(&e)
    }
}

impl From<&CoreError> for UserError {
    fn from(e: &CoreError) -> Self {
        user_error(e)
    }
}

/// The failure as the user reads it.
pub(crate) fn user_error(e: &CoreError) -> UserError {
    let (message, hint) = words(e);
    UserError { message, hint }
}

/// What happened, in words.
pub(crate) fn message(e: &CoreError) -> String {
    words(e).0
}

/// The reason a queued step waits, as its row keeps it (the Shared page, the record's
/// ledger mark, the sync report show it).
pub(crate) fn reason(e: &CoreError) -> String {
    message(e)
}

const DO_NOT_TRUST: &str = "Do not trust this copy. If it came from IPFS, the node holds a damaged or substituted object: add the original file again.";
const RETRY_OR_REPORT: &str = "Try again; if it persists, report it.";
const DATABASE_ALTERED: &str =
    "The records database was altered; restore it from a backup, or add the record again.";

fn words(e: &CoreError) -> Words {
    match e {
        CoreError::Ipfs(e) => ipfs(e),
        CoreError::Ledger(e) => ledger(e),
        CoreError::NoContract => says(
            "No ledger contract is set: the record is registered once the contract address is saved in Settings.",
            "Open Settings and save the ledger contract's address.",
        ),
        CoreError::LedgerKeyUnusable { detail } => says(
            format!("The wallet's ledger key is unusable ({detail})."),
            "Restore the wallet from its Emergency Kit; if it persists, report it.",
        ),
        CoreError::ChainUnknown(e) => says(
            format!(
                "The share code names the ledger's chain, and the ledger cannot say which: {}",
                sentence(&e.to_string())
            ),
            "Start the ledger node or check its URL in Settings; your address above can be shared meanwhile.",
        ),
        CoreError::StoredAs {
            part,
            got,
            expected,
        } => says(
            match part {
                Some(part) => format!(
                    "The IPFS node stored the {} as {got}, not {expected}.",
                    part_name(*part)
                ),
                None => format!("The IPFS node stored an object as {got}, not {expected}."),
            },
            "The node may be faulty or not the one you expect; check its URL in Settings.",
        ),
        CoreError::BadIpfsUrl { url, source } => says(
            format!("The IPFS node URL {url} is not valid: {source}."),
            "Correct it in Settings.",
        ),
        CoreError::BadLedgerUrl { url, source } => says(
            format!("The ledger node URL {url} is not valid ({source}); correct it in Settings."),
            "Open Settings and correct the ledger node URL.",
        ),
        CoreError::BadCaCertificate { reason } => says(
            format!("That file cannot be trusted as a CA certificate ({reason})."),
            "Choose the consortium's CA certificate, a PEM file that starts with -----BEGIN CERTIFICATE-----.",
        ),
        CoreError::BadCredential { what } => says(
            format!("The {what} cannot be used."),
            "Enter it again as the node's operator gave it: no line breaks, nothing left empty.",
        ),
        CoreError::Settings(e) => says(
            format!("The settings database failed: {e}."),
            "Try again; if it persists, restart medwallet.",
        ),
        CoreError::SettingsUnusable(e) => says(
            format!("Settings cannot be saved: {e}."),
            "medwallet is running on the default node URLs. Move the damaged settings.sqlite out of the app's data folder and restart.",
        ),
        CoreError::Store(e) => store(e),
        CoreError::Disk { path, source } => says(
            format!("{} could not be written or read: {source}.", path.display()),
            "Check the disk and the permissions of medwallet's data folder, then try again.",
        ),
        CoreError::DiskFull {
            needed_bytes,
            free_bytes,
            ..
        } => says(
            format!(
                "The disk is full: free {} MB and try again.",
                crate::error::megabytes_to_free(*needed_bytes, *free_bytes)
            ),
            "Nothing half-written was kept. medwallet keeps an encrypted copy of each file it adds until the file is on IPFS, so adding a file needs about as much free space as the file.",
        ),
        CoreError::FileUnreadable { path, source } => {
            let shown = path.display();
            match source.kind() {
                std::io::ErrorKind::NotFound => says(
                    format!("The file {shown} does not exist (any more)."),
                    "Check the path, or choose the file again.",
                ),
                std::io::ErrorKind::PermissionDenied => says(
                    format!("medwallet may not read {shown} (permission denied)."),
                    "Check the file's permissions, or copy it somewhere you can read it.",
                ),
                _ => says(
                    format!("{shown} cannot be read: {source}."),
                    "Check that the file and its disk are still there, then try again.",
                ),
            }
        }
        CoreError::Altered { part, how } => altered(*part, how),
        CoreError::ReadingPart { part, source } => says(
            format!("Reading the record's {} failed: {source}.", part_name(*part)),
            "Check the disk, then try again.",
        ),
        CoreError::Decrypting { part, source } => says(
            format!("Decrypting the record's {} failed: {source}.", part_name(*part)),
            DO_NOT_TRUST,
        ),
        CoreError::LocalIndexDamaged { record_id } => says(
            format!("This device's index entry for record {record_id} does not open with this wallet's key."),
            "The records database was altered or belongs to another wallet. Restore it from a backup, or add the record again.",
        ),
        CoreError::PolicyNotMet => says(
            "This wallet's keys do not satisfy the record's access policy.",
            "Ask the record's owner to share it with you.",
        ),
        CoreError::StoredCidUnreadable(e) => {
            says(format!("A stored CID is unreadable: {e}."), DATABASE_ALTERED)
        }
        CoreError::StoredKeyCidUnreadable(e) => says(
            format!("A stored key CID is unreadable: {e}."),
            DATABASE_ALTERED,
        ),
        CoreError::BadAddress { text } => says(
            format!("\"{text}\" is not a ledger address."),
            "An address is 0x followed by 40 hexadecimal digits; copy it from the person's Keys page.",
        ),
        CoreError::AddressChecksum { text } => says(
            format!("The address {text} has a checksum error: a letter was changed."),
            "Copy the address again from the person's Keys page.",
        ),
        CoreError::BadRecordId { text } => says(
            format!("{text} is not a record id."),
            "Pick the record again from the list.",
        ),
        CoreError::NotPublished { address } => says(
            format!("{address} has not published its keys on this ledger, so nothing can be encrypted for it."),
            "Ask that person to open medwallet with the same ledger (Settings: the same node and contract) and unlock their wallet once: their keys are published then. Then share again.",
        ),
        CoreError::ShareCode(e) => share_code(e),
        CoreError::OnlyPatients => says(
            "Only patient wallets keep their own records.",
            "Switch to (or create) a patient wallet to add records.",
        ),
        CoreError::During { task, source } => (message(source), Some(task_hint(*task).to_owned())),
        CoreError::Explained(inner) => {
            let (message, hint) = words(inner);
            let told = match &hint {
                Some(hint) => format!("{message} {hint}"),
                None => message,
            };
            (told, hint)
        }
        CoreError::Records(e) => records::words(e),
        CoreError::Sharing(e) => sharing::words(e),
        CoreError::Inbox(e) => inbox::words(e),
        CoreError::FrontDesk(e) => front_desk::words(e),
        CoreError::Staff(e) => staff::words(e),
        CoreError::Audit(e) => audit::words(e),
        CoreError::Rebuild(e) => rebuild::words(e),
        CoreError::Wallet(e) => wallet::words(e),
        CoreError::Startup(e) => startup::words(e),
        CoreError::Vault(e) => wallet::vault(e),
        CoreError::Internal { what, detail } => says(
            format!("An internal step failed ({what}: {detail})."),
            RETRY_OR_REPORT,
        ),
    }
}

/// A failed IPFS call as one text, what happened then what to do (the node health
/// report's reason).
pub(crate) fn ipfs_told(e: &IpfsError) -> String {
    match ipfs(e) {
        (message, Some(hint)) => format!("{message} {hint}"),
        (message, None) => message,
    }
}

/// A ledger node that refused the credentials or whose TLS is not right, in one
/// sentence with what to do (for the health report).
pub(crate) fn ledger_told(e: &LedgerError) -> String {
    match ledger(e) {
        (message, Some(hint)) => format!("{message} {hint}"),
        (message, None) => message,
    }
}

/// A failed ledger call.
fn ledger(e: &LedgerError) -> Words {
    match e {
        LedgerError::Unauthorized { url } => says(
            format!("The ledger node at {url} refused the credentials."),
            "Check the token (or user name and password) for this node in Settings.",
        ),
        LedgerError::Tls { url, problem } => tls("ledger node", url, problem),
        other => says(ledger_words(other), "Check the ledger node in Settings."),
    }
}

/// A failed IPFS call.
fn ipfs(e: &IpfsError) -> Words {
    match e {
        IpfsError::InvalidUrl { url, reason } => says(
            format!("The IPFS node URL {url} cannot be used: {reason}."),
            "Correct it in Settings.",
        ),
        IpfsError::Unreachable { url, .. } => says(
            format!("The IPFS node at {url} does not answer."),
            "Records added now are kept on this device and uploaded when it is back. Check that the node runs, or its URL in Settings.",
        ),
        IpfsError::NotIpfs { url, .. } => says(
            format!("{url} answered, but it is not an IPFS node."),
            "Check the IPFS node URL in Settings.",
        ),
        IpfsError::Unauthorized { url } => says(
            format!("The IPFS node at {url} refused the credentials."),
            "Check the token (or user name and password) for this node in Settings.",
        ),
        IpfsError::Tls { url, problem } => tls("IPFS node", url, problem),
        IpfsError::Setup { url, source } => says(
            format!("The connection settings of the IPFS node at {url} cannot be used: {source}."),
            "Correct them in Settings (the CA certificate file, the credentials).",
        ),
        IpfsError::CidMismatch { expected, got } => says(
            format!("The IPFS node answered {got} for data whose CID is {expected}: not what was asked for."),
            "The node may be faulty or not the one you expect; check its URL in Settings. Nothing was marked as uploaded.",
        ),
        IpfsError::NotFound { cid, .. } => says(
            format!("The IPFS node does not have {cid}."),
            "It may have been removed from the node (unpinned and collected). If you have the original file, add it again.",
        ),
        IpfsError::TooLarge { .. } => altered(Part::StoredObject, &Alteration::TooManyBytes),
        other => says(
            format!("The IPFS node failed: {other}."),
            "Try again; if it persists, check the node.",
        ),
    }
}

/// A node's TLS connection that could not be made safely (nothing was sent to it).
fn tls(what: &str, url: &str, problem: &TlsProblem) -> Words {
    match problem {
        TlsProblem::Untrusted => says(
            format!("The {what} at {url} presented a certificate from a CA this device does not trust."),
            "If the node belongs to a consortium with its own CA, add the consortium's CA certificate in Settings; otherwise check the URL: this may not be the node you expect.",
        ),
        TlsProblem::Expired => says(
            format!("The certificate of the {what} at {url} has expired (or is not valid yet)."),
            "Ask the node's operator to renew it, and check this computer's date and time.",
        ),
        TlsProblem::WrongHost => says(
            format!("The certificate of the {what} at {url} is for another host name."),
            "Check the host name in the URL in Settings: it must be a name the certificate is for.",
        ),
        TlsProblem::NotTls => says(
            format!("The {what} at {url} does not speak TLS."),
            "Check the URL's scheme in Settings: the node may serve http://, or something else listens on that port.",
        ),
        TlsProblem::Other(detail) => says(
            format!("The TLS connection to the {what} at {url} failed: {detail}."),
            "Check the URL in Settings and the node's certificate.",
        ),
    }
}

/// A ledger failure in words, ending with what happens next.
fn ledger_words(e: &LedgerError) -> String {
    match e {
        LedgerError::Unreachable { url, .. } => format!(
            "The ledger node at {url} does not answer; the transaction is kept and sent when it is back."
        ),
        LedgerError::WrongChain { .. }
        | LedgerError::NoContract { .. }
        | LedgerError::ForeignContract { .. } => sentence(&e.to_string()),
        other => format!("{} It is tried again later.", sentence(&other.to_string())),
    }
}

/// A lower-case clause as a sentence: capital first, full stop last.
fn sentence(s: &str) -> String {
    let mut c = s.chars();
    let mut out = match c.next() {
        Some(first) => first.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    };
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

/// A failed records database operation.
/// (A full disk is never one: it is [`CoreError::DiskFull`], made where it is met.)
fn store(e: &StoreError) -> Words {
    says(
        format!("The records database failed: {e}."),
        "Try again; if it persists, restart medwallet.",
    )
}

fn share_code(e: &ShareCodeError) -> Words {
    match e {
        ShareCodeError::BadSignature => says(
            "This share code was changed after it was made: its signature does not verify.",
            "Ask the person for their share code again (their Keys page), and paste all of it.",
        ),
        ShareCodeError::Malformed(why) => says(
            format!("The pasted text is not a valid medwallet share code: {why}."),
            "Copy the whole code from their Keys page, or paste their address instead.",
        ),
        ShareCodeError::UnsupportedVersion { found } => says(
            format!("This share code was made by a newer medwallet (format {found})."),
            "Update medwallet, or paste their address instead.",
        ),
        ShareCodeError::OldCheckIn => says(
            "This check-in code was made by an older medwallet.",
            "Ask the patient to update medwallet and show a new check-in code.",
        ),
    }
}

/// A part of a record failed verification: named, never shown.
fn altered(part: Part, how: &Alteration) -> Words {
    says(
        format!(
            "The record's {} was altered: {}.",
            part_name(part),
            alteration(how)
        ),
        DO_NOT_TRUST,
    )
}

fn part_name(part: Part) -> &'static str {
    match part {
        Part::Content => "content",
        Part::Manifest => "manifest",
        Part::Capsule => "capsule",
        Part::StoredObject => "stored object",
        Part::RecordIndex => "record index",
        Part::LedgerEntry => "ledger entry",
        Part::AuthorityParameters => "authority parameters",
        Part::IssuedKey => "issued key",
    }
}

fn alteration(how: &Alteration) -> String {
    match how {
        Alteration::TooManyBytes => "the node answered more bytes than the record can have".into(),
        Alteration::ChunkChanged { chunk } => format!(
            "chunk {chunk} does not authenticate (its bytes were changed, moved or are from another record)"
        ),
        Alteration::Truncated => "it is cut short (truncated)".into(),
        Alteration::HeaderKey => "its header does not authenticate under the record's key".into(),
        Alteration::Appended => "bytes were appended after its end".into(),
        Alteration::NotContentHeader => "its header is not a medwallet content header".into(),
        Alteration::OtherDataKey => {
            "it holds a different data key than the one this wallet sealed".into()
        }
        Alteration::NamesOtherContent => "it names other content than the one registered".into(),
        Alteration::UnreadableCid { which, source } => match which {
            CidRef::Content => format!("content CID: {source}"),
            CidRef::Stored { cid } => format!("CID {cid}: {source}"),
            CidRef::Entry => format!("a CID: {source}"),
            CidRef::Key => format!("a key CID: {source}"),
        },
        Alteration::HashNotRegistered { got, registered } => {
            format!("its bytes hash to {got}, not to the registered {registered}")
        }
        Alteration::HashNotAsked { got, asked } => {
            format!("its bytes hash to {got}, not to {asked}")
        }
        Alteration::LengthDiffers => "its length differs from the manifest's".into(),
        Alteration::ChangedOrMoved => "it was changed or belongs to another record".into(),
        Alteration::Capsule(e) => e.to_string(),
        Alteration::OtherRecord => "it belongs to another record".into(),
        Alteration::NotAuthentic => "it does not authenticate (its bytes were changed)".into(),
        Alteration::Manifest(e) => e.to_string(),
        Alteration::NotRegisteredVersion => {
            "it does not match the registered version, so it was not re-encrypted".into()
        }
        Alteration::NotWhatManifestNames => {
            "its bytes do not match what the record's manifest names".into()
        }
        Alteration::NoCapsuleForVersion { version } => {
            format!("no capsule on the ledger is for version {version}")
        }
    }
}

/// What to do when a step of `task` failed.
fn task_hint(task: Task) -> &'static str {
    match task {
        Task::PreviewShare => "The share can still be queued: it is sent once the ledger answers.",
        Task::LookUpGrantee => "Try again once the ledger node answers.",
        Task::ReadShares => "Check the ledger node in Settings; shared records are read from it.",
        Task::ListShared => "Shared records are read from the ledger; check it in Settings.",
        Task::OpenShared => "A shared record opens only once its opening is logged on the ledger.",
        Task::OfferCheckIn => {
            "A check-in code is made for the ledger your wallet uses: check the ledger node in Settings."
        }
        Task::AnswerCheckIn => {
            "Your answer goes on the ledger: check the ledger node in Settings, then answer again."
        }
        Task::Publish => "Check both nodes in Settings.",
        Task::KeyForCheckIn | Task::PatientKeys => "Try again once both nodes answer.",
        Task::ReadCheckIn => "A check-in is read from the ledger: check the ledger node in Settings.",
        Task::ReadCode => "Read the code the patient shows again (their Keys page, Check in at a front desk): the whole QR code, or all of its text.",
        Task::RedeemCheckIn => "Try again once the ledger node answers (Settings).",
        Task::ListCheckIns => "Check-ins are read from the ledger: check it in Settings.",
        Task::OpenCheckedIn => "A record opens only once its opening is logged on the ledger.",
        Task::UploadForPatient => {
            "A record for a patient is registered on the ledger at once: check it in Settings."
        }
        Task::StoreForPatient => "Check the IPFS node in Settings.",
        Task::RegisterForPatient => {
            "Nothing was registered; try again (the check-in must still be valid)."
        }
        Task::Verify => "Verification reads the ledger: check it in Settings.",
        Task::Compare => "The comparison opens the record, and an opening is logged first; try again when the ledger answers.",
        Task::IssueStaffKey => "Try again when both nodes answer.",
    }
}

/// A Unix time as RFC 3339 (UTC, seconds); empty when out of range.
pub(crate) fn rfc3339(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

impl std::fmt::Display for CoreError {
    /// The message the user reads (see this module). Logs use [`CoreError::kind`]:
    /// a message may name a file or a person.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&message(self))
    }
}

#[cfg(test)]
mod tests;
