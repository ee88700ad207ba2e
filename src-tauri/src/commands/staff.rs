//! The clinic's staff keys: thin wrappers over `medwallet_core::records` staff use cases.

use medwallet_api::{IssueStaffArgs, NoArgs, StaffHolderArgs, StaffList};
use tauri::State;

use super::records::{owner, owner_and_nodes};
use super::Answer;
use crate::state::AppState;

/// `list_staff`: the clinic's staff keys and its authority's epoch.
#[tauri::command]
pub async fn list_staff(state: State<'_, AppState>, args: NoArgs) -> Answer<StaffList> {
    let NoArgs {} = args;
    let owner = owner(&state).await?;
    state.records.list_staff(&owner).await
}

/// `issue_staff_key`: issue a staff member a key with attributes.
#[tauri::command]
pub async fn issue_staff_key(
    state: State<'_, AppState>,
    args: IssueStaffArgs,
) -> Answer<StaffList> {
    let (owner, ipfs, ledger) = owner_and_nodes(&state).await?;
    state
        .records
        .issue_staff_key(&owner, &ipfs, &ledger, &args.holder, &args.attributes)
        .await?;
    state.records.list_staff(&owner).await
}

/// `revoke_staff_key`: revoke a staff key; the authority moves to its next epoch.
#[tauri::command]
pub async fn revoke_staff_key(
    state: State<'_, AppState>,
    args: StaffHolderArgs,
) -> Answer<StaffList> {
    let (owner, ipfs, ledger) = owner_and_nodes(&state).await?;
    state
        .records
        .revoke_staff_key(&owner, &ipfs, &ledger, &args.holder)
        .await
}
