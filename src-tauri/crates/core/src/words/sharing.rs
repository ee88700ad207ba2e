//! The sharing room in words: its refusals, and the exposure report's summary.

use super::{says, Words};
use crate::error::SharingError;

pub(super) fn words(e: &SharingError) -> Words {
    match e {
        SharingError::NotInWallet { record_id } => says(
            format!("Record {record_id} is not in this wallet."),
            "Refresh the list of records and choose again.",
        ),
        SharingError::ChainMismatch { code, ledger } => says(
            format!("This share code is for ledger chain {code}, but this wallet's ledger is chain {ledger}."),
            "Ask for a code made with the same ledger (both wallets' Settings name the ledger node).",
        ),
        SharingError::NotSignedBy { address } => says(
            format!("This share code was not signed by {address}: the key that signed it is not the one that wallet published on the ledger."),
            "Do not use it. Ask the person for their code through a channel you trust, or type their address.",
        ),
        SharingError::KeyChanged { address } => says(
            format!("The keys the ledger node gives for {address} are not the ones whose fingerprint the dialog showed. Nothing was shared."),
            "Preview again and compare the fingerprint with the one on their Keys page; better, paste their share code.",
        ),
        SharingError::KeyNotAsInCode { address } => says(
            format!("The ledger node says {address} encrypts with another key than the one your wallet noted for them (from the share code you pasted, or the key it sealed to before). Nothing was sealed to it."),
            "A wallet's keys never change, so a node is not telling the truth, now or when the key was noted. Ask the person for their share code through a channel you trust and paste it: its key replaces the noted one. If the noted key was not theirs, revoke what you shared with them and share again. Check the ledger node in Settings, and add the consortium's other nodes to check against.",
        ),
        SharingError::ExpiryZero => says(
            "An expiry of 0 days would end the grant at once.",
            "Choose at least 1 day, or no expiry.",
        ),
        SharingError::ExpiryTooLong { days } => says(
            format!("An expiry of {days} days is more than ten years."),
            "Choose fewer days, or no expiry (you can revoke at any time).",
        ),
        SharingError::NotShared { grantee } => says(
            format!("This record is not shared with {grantee}."),
            "Refresh the list of grants; it may be revoked already.",
        ),
        SharingError::BeingRevoked => says(
            "Access to this record is being revoked for them right now.",
            "Share it again once the revocation is done (see the Shared page).",
        ),
        SharingError::CapsuleFull => says(
            "This record is shared with as many people and clinics as one record can be.",
            "Share it with a group instead (one entry for many people), or revoke grants no longer needed.",
        ),
        SharingError::OwnAddress => says(
            "That is this wallet's own address.",
            "Enter the address of the person you share with.",
        ),
        SharingError::NoRecordChosen => {
            says("No record is chosen.", "Choose at least one record to share.")
        }
        SharingError::RoleNamesPerson => says(
            "A role at a clinic cannot name a person (id:…).",
            "Share with the person by their address instead.",
        ),
        SharingError::BadClause(e) => says(
            format!("The role is not a valid clause: {e}."),
            "Write attributes the clinic issues, joined by AND and OR, such as role:doctor AND dept:cardiology.",
        ),
        SharingError::ClinicKeysUnknown { clinic } => says(
            format!("The keys of clinic {clinic} are not known on this device yet."),
            "They are read from the ledger when it answers; the share waits until then.",
        ),
        SharingError::NotAClinic { address } => says(
            format!("{address} has published no clinic keys on this ledger, so no role there can be named."),
            "Check the clinic's address (on its Staff page), or share with a person instead.",
        ),
        SharingError::BadGroupName { name } => says(
            format!("\"{name}\" cannot be a group's name."),
            "Use lower-case letters, digits and '-', starting with a letter, at most 32 (such as careteam).",
        ),
        SharingError::SelfInGroup => says(
            "You are not a member of your own groups: you always read your records.",
            "Add the people you share with.",
        ),
        SharingError::NotAMember { member, group } => says(
            format!("{member} is not a member of {group}."),
            "Refresh the list of groups.",
        ),
        SharingError::NotRegisteredYet => says(
            "The record is shared once it is on IPFS and registered on the ledger.",
            "The grant is sent by itself once the record is registered.",
        ),
        SharingError::RecordGone => says(
            "The record is no longer in this wallet.",
            "Refresh the list of grants.",
        ),
        SharingError::KeyNotIssued(e) => says(
            format!("The key could not be issued: {e}."),
            super::RETRY_OR_REPORT,
        ),
        SharingError::KeyNotSealed(e) => says(
            match e {
                Some(e) => format!("The key could not be sealed: {e}."),
                None => "The key could not be sealed (HPKE).".to_owned(),
            },
            super::RETRY_OR_REPORT,
        ),
        SharingError::RevisionMissing => says(
            "The re-encrypted version is missing.",
            "It is made again on the next pass.",
        ),
        SharingError::RevisionPending { version, problem } => says(
            match problem {
                Some(problem) => format!("Version {version}, re-encrypted without them, is being uploaded and registered; the revocation is sent after. {problem}"),
                None => format!("Version {version}, re-encrypted without them, is being uploaded and registered; the revocation is sent after."),
            },
            "The revocation is sent by itself once both nodes answer.",
        ),
        SharingError::PublishedCidUnreadable { authority, source } => says(
            format!("{authority} published an unreadable CID: {source}."),
            "Ask its owner to open medwallet with this ledger once: it publishes its keys again.",
        ),
        SharingError::ParamsUnusable { authority, source } => says(
            format!("The parameters {authority} published are unusable: {source}."),
            "Ask its owner to open medwallet with this ledger once: it publishes its keys again.",
        ),
    }
}
