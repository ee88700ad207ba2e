//! The clinic's staff keys: one call each into `medwallet_core::App`.

use medwallet_api::commands::{IssueStaffKey, ListStaff, RevokeStaffKey};
use medwallet_api::NoArgs;
use tauri::State;

use super::{Args, Out};
use crate::state::AppState;

/// `list_staff`: the clinic's staff keys and its authority's epoch.
#[tauri::command]
pub async fn list_staff(state: State<'_, AppState>, args: Args<ListStaff>) -> Out<ListStaff> {
    let NoArgs {} = args;
    state.app.list_staff().await
}

/// `issue_staff_key`: issue a staff member a key with attributes.
#[tauri::command]
pub async fn issue_staff_key(
    state: State<'_, AppState>,
    args: Args<IssueStaffKey>,
) -> Out<IssueStaffKey> {
    state
        .app
        .issue_staff_key(&args.holder, &args.attributes)
        .await
}

/// `revoke_staff_key`: revoke a staff key; the authority moves to its next epoch.
#[tauri::command]
pub async fn revoke_staff_key(
    state: State<'_, AppState>,
    args: Args<RevokeStaffKey>,
) -> Out<RevokeStaffKey> {
    state.app.revoke_staff_key(&args.holder).await
}
