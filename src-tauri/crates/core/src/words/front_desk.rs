//! The front desk's refusals in words: check-ins, records made for a patient,
//! verification.

use super::{rfc3339, says, Words};
use crate::error::FrontDeskError;

pub(super) fn words(e: &FrontDeskError) -> Words {
    match e {
        FrontDeskError::OnlyPatientsMakeCodes => says(
            "Only a patient wallet makes check-in codes.",
            "Switch to the patient's wallet (Wallets).",
        ),
        FrontDeskError::OnlyClinicsCheckIn => says(
            "Only a clinic wallet checks patients in.",
            "Switch to the clinic's wallet (Wallets).",
        ),
        FrontDeskError::OnlyClinicsUpload => says(
            "Only a clinic wallet uploads records for patients.",
            "Patients add their own records on the Records page.",
        ),
        FrontDeskError::LengthNotOffered { minutes, min, max } => says(
            format!("A check-in of {minutes} minutes is not offered."),
            format!("Choose between {min} minutes and {} hours.", max / 60),
        ),
        FrontDeskError::NotInWallet { record_id } => says(
            format!("{record_id} is not one of this wallet's records."),
            "Choose records from your list.",
        ),
        FrontDeskError::NotRegisteredYet => says(
            "A chosen record is not registered on the ledger yet, so the desk could not find it.",
            "Wait until it shows a block number in Records, or leave it out.",
        ),
        FrontDeskError::NotGranted { why } => says(
            format!(
                "No check-in code was made: a chosen record could not be granted to it ({}).",
                why.as_deref().unwrap_or("it is still queued")
            ),
            "Make a new code once both nodes answer. What was already granted to this one ends when it expires, and your wallet takes it back then.",
        ),
        FrontDeskError::NotACheckInCode => says(
            "This is not a medwallet check-in code.",
            "Read the QR code the patient shows (Keys page, Check in at a front desk), or paste its text: it starts with mwshare1:.",
        ),
        FrontDeskError::PlainShareCode {
            address,
            display_name,
        } => says(
            format!("This is the share code of {address} (\"{display_name}\"), not a check-in code: it grants nothing to open."),
            "Ask the patient to make a check-in code: Keys page, Check in at a front desk.",
        ),
        FrontDeskError::DatedInFuture { issued } => says(
            format!(
                "This check-in code is dated {}, later than now: it cannot be fresh.",
                rfc3339(*issued)
            ),
            "Check the date and time of the patient's device, and ask for a new code.",
        ),
        FrontDeskError::CheckInExpired { at } => says(
            format!("This check-in code expired at {}.", rfc3339(*at)),
            "Ask the patient to make a new one (Keys page, Check in at a front desk).",
        ),
        FrontDeskError::NotSignedByPatient { patient } => says(
            format!("This check-in code was not signed with the ledger key of {patient}, whom it names."),
            "Ask the patient to show the code from their own wallet.",
        ),
        FrontDeskError::CodeTooLong { until } => says(
            format!(
                "This check-in code says it can be used until {}, further ahead than the ledger allows (an hour).",
                rfc3339(*until)
            ),
            "The patient's device clock is probably ahead: ask them to check it and make a new code.",
        ),
        FrontDeskError::NotAllowedYet { patient_name } => says(
            format!("{patient_name} has not allowed this check-in on their device yet."),
            "Ask them to tap Allow in their wallet; this list updates when they do.",
        ),
        FrontDeskError::Declined { patient_name } => says(
            format!("{patient_name} declined this check-in."),
            "Ask the patient whether they meant to; they can make a new code.",
        ),
        FrontDeskError::UnknownRequest => says(
            "No desk has asked to check you in with this code.",
            "Refresh the page; a request shows here once a desk reads your code.",
        ),
        FrontDeskError::AlreadyAnswered => says(
            "You answered this check-in already.",
            "It is on the ledger or being sent; to end a check-in you allowed, revoke its grants on the Shared page.",
        ),
        FrontDeskError::AskerChanged => says(
            "The desk asking for this check-in is not the one shown when you answered.",
            "Read the request again: answer only if the desk and the confirmation code are the ones in front of you.",
        ),
        FrontDeskError::AnswerKept { allow } => says(
            format!(
                "Your answer ({}) is kept on this device; the ledger node did not take it yet.",
                if *allow { "Allow" } else { "Decline" }
            ),
            "medwallet sends it as soon as the ledger node answers; nothing else to do. Check the ledger node in Settings if it takes long.",
        ),
        FrontDeskError::ExpiryPassed => says(
            "The ledger's clock is past the check-in's end.",
            "Check this computer's date and time, or choose a longer check-in.",
        ),
        FrontDeskError::UsedHere => says(
            "This check-in code was already used at this desk: a code checks a patient in once.",
            "The patient is in the list of check-ins below.",
        ),
        FrontDeskError::CheckInUsed { by } => says(
            format!("This check-in code was already used, by {by}: a code checks a patient in once."),
            "Ask the patient for a new code. If they did not show it at that desk, their code was copied: they should revoke what it granted (Shared page).",
        ),
        FrontDeskError::NotCheckedIn => says(
            "This patient is not checked in at this desk.",
            "Check them in from their code first.",
        ),
        FrontDeskError::CheckInOver { at } => says(
            format!(
                "This check-in expired at {}: its records no longer open.",
                rfc3339(*at)
            ),
            "Ask the patient to check in again, or to share the record with the clinic.",
        ),
        FrontDeskError::NotGrantedWithCheckIn => says(
            "The patient did not grant this record with the check-in (or revoked it).",
            "Ask the patient to share it.",
        ),
        FrontDeskError::UploadExpired { patient_name, at } => says(
            format!(
                "The check-in of {patient_name} expired at {}: records can no longer be made for them here.",
                rfc3339(*at)
            ),
            "Ask the patient to check in again.",
        ),
        FrontDeskError::PatientNotPublished { patient } => says(
            format!("{patient} has published no patient keys on this ledger, so nothing can be encrypted for them."),
            "Ask the patient to unlock their wallet once while it reaches the ledger.",
        ),
        FrontDeskError::NoCodeGiven => says(
            "There is no code to read.",
            "Paste the code's text, or choose a picture of its QR code.",
        ),
        FrontDeskError::QrUnreadable { path, source } => says(
            format!(
                "No check-in code could be read from {}: {source}.",
                path.display()
            ),
            "Choose a sharp picture of the whole QR code, or paste the code's text.",
        ),
        FrontDeskError::QrNotDrawn(e) => says(
            format!("The code cannot be drawn as a QR code: {e}."),
            "Give the desk the text of the code instead.",
        ),
        FrontDeskError::NotACid { text, source } => says(
            format!("\"{text}\" is not a CID: {source}."),
            "Copy the CID again (it starts with bafy…), or choose the file instead.",
        ),
        FrontDeskError::CidOrFile => says(
            "Give either a CID or a file to verify.",
            "Paste a CID, or choose or drop a file.",
        ),
        FrontDeskError::TooLargeToVerify { path, limit } => says(
            format!(
                "{} is larger than {} MiB to verify here.",
                path.display(),
                limit >> 20
            ),
            "Verify it by its CID instead.",
        ),
        FrontDeskError::GrantUnreadable { source } => {
            let (message, hint) = super::words(source);
            (
                format!("A granted record could not be read: {message}"),
                hint,
            )
        }
        FrontDeskError::NotAdopted { author, source } => says(
            format!(
                "A record clinic {author} made for you could not be added: {}",
                super::message(source)
            ),
            "It is tried again on the next pass.",
        ),
        FrontDeskError::AuthorNotAClinic { author } => says(
            format!("{author} registered a record for you but is not a clinic on this ledger: it was not added to your records."),
            "Only clinics that published their keys as clinics make records for you; ask the clinic about it.",
        ),
        FrontDeskError::AuthorNotAllowed { author } => says(
            format!("{author} registered a record for you, but you did not allow its check-in: it was not added to your records."),
            "Records join your wallet only from a desk you allowed on your device; nothing needs doing.",
        ),
    }
}
