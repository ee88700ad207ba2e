//! Sharing commands (the patient's grants and groups, the doctor's inbox): one call each
//! into `medwallet_core::App`.

use medwallet_api::commands::{
    AddGroupMember, GetShareCode, GetSharingProgress, ListGrants, ListGroups, ListShared,
    OpenShared, PreviewShare, RemoveGroupMember, RevokeGrant, ShareRecords,
};
use medwallet_api::NoArgs;
use tauri::State;

use super::{Args, Out};
use crate::state::AppState;

/// `preview_share`: check the grantee and show the policy in words; nothing is sent.
#[tauri::command]
pub async fn preview_share(
    state: State<'_, AppState>,
    args: Args<PreviewShare>,
) -> Out<PreviewShare> {
    state.app.preview_share(&args).await
}

/// `share_records`: queue the grants and send them now if the nodes answer.
#[tauri::command]
pub async fn share_records(
    state: State<'_, AppState>,
    args: Args<ShareRecords>,
) -> Out<ShareRecords> {
    state.app.share_records(&args).await
}

/// `list_grants`: the unlocked wallet's grants.
#[tauri::command]
pub async fn list_grants(state: State<'_, AppState>, args: Args<ListGrants>) -> Out<ListGrants> {
    let NoArgs {} = args;
    state.app.list_grants().await
}

/// `revoke_grant`: re-encrypt without the grantee, revoke on the ledger, report exposure.
#[tauri::command]
pub async fn revoke_grant(state: State<'_, AppState>, args: Args<RevokeGrant>) -> Out<RevokeGrant> {
    state
        .app
        .revoke_grant(&args.record_id, &args.grantee, args.clause.as_deref())
        .await
}

/// `list_shared`: records others shared with the unlocked wallet.
#[tauri::command]
pub async fn list_shared(state: State<'_, AppState>, args: Args<ListShared>) -> Out<ListShared> {
    let NoArgs {} = args;
    state.app.list_shared().await
}

/// `open_shared`: log the access on the ledger, then fetch, verify, decrypt, render.
#[tauri::command]
pub async fn open_shared(state: State<'_, AppState>, args: Args<OpenShared>) -> Out<OpenShared> {
    state.app.open_shared(&args.record_id).await
}

/// `list_groups`: the unlocked wallet's groups.
#[tauri::command]
pub async fn list_groups(state: State<'_, AppState>, args: Args<ListGroups>) -> Out<ListGroups> {
    let NoArgs {} = args;
    state.app.list_groups().await
}

/// `add_group_member`: add a person to a group; they get a key for it.
#[tauri::command]
pub async fn add_group_member(
    state: State<'_, AppState>,
    args: Args<AddGroupMember>,
) -> Out<AddGroupMember> {
    state.app.add_group_member(&args.group, &args.member).await
}

/// `remove_group_member`: remove a person; the group's records are re-encrypted.
#[tauri::command]
pub async fn remove_group_member(
    state: State<'_, AppState>,
    args: Args<RemoveGroupMember>,
) -> Out<RemoveGroupMember> {
    state
        .app
        .remove_group_member(&args.group, &args.member)
        .await
}

/// `get_share_code`: the unlocked wallet's signed share code for the ledger's chain.
#[tauri::command]
pub async fn get_share_code(
    state: State<'_, AppState>,
    args: Args<GetShareCode>,
) -> Out<GetShareCode> {
    let NoArgs {} = args;
    state.app.share_code().await
}

/// `sharing_progress`: how far the re-encryption (or a clinic's re-keying) is; polled.
#[tauri::command]
pub async fn sharing_progress(
    state: State<'_, AppState>,
    args: Args<GetSharingProgress>,
) -> Out<GetSharingProgress> {
    let NoArgs {} = args;
    state.app.sharing_progress().await
}
