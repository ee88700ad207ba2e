//! The rebuild room's refusals in words.

use super::{says, Words};
use crate::error::RebuildError;

pub(super) fn words(e: &RebuildError) -> Words {
    match e {
        RebuildError::OtherChain { url, used, found } => says(
            format!(
                "The ledger node at {url} is on chain {found}, but this wallet's ledger is chain {used}."
            ),
            format!(
                "Set the ledger node of chain {used} in Settings, then rebuild again; its records are not on chain {found}."
            ),
        ),
        RebuildError::NothingOnLedger { chain_id } => says(
            format!(
                "The ledger (chain {chain_id}) holds nothing of this wallet: no identity, no record, no key."
            ),
            "If the wallet used another ledger, set its node and contract in Settings and rebuild again. A wallet that never went online has nothing to bring back.",
        ),
        RebuildError::ParametersNotOurs { epochs_tried } => says(
            format!(
                "The authority parameters published under this wallet's address do not come from its recovery phrase (epochs 1 to {epochs_tried} tried)."
            ),
            "Check that the 24 words are this wallet's; nothing was published, and the clinic's staff keys are left as the ledger shows them.",
        ),
        RebuildError::Unfinished => says(
            "This wallet is being rebuilt from the ledger: it sends nothing to the ledger until that is done.",
            "Wait for the rebuild (its progress is on the Records page and in Settings; resume it there if it was cancelled), then try again.",
        ),
        RebuildError::GroupNotFound { record_id } => says(
            format!(
                "A grant of record {record_id} to one of your groups could not be read back: the group's name is in no key or capsule the IPFS node still holds."
            ),
            "The grant stands on the ledger; share the record with the group again to manage it here.",
        ),
        RebuildError::ClauseNotFound { record_id, clinic } => says(
            format!(
                "A grant of record {record_id} to a role at {clinic} could not be read back: its clause is in no capsule the IPFS node still holds."
            ),
            "The grant stands on the ledger; share the record with that role again to manage it here.",
        ),
    }
}
