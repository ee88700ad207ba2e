//! Sharing commands: thin wrappers over `medwallet_core::RecordService`'s sharing use
//! cases (the patient's grants, the doctor's inbox).

use medwallet_api::commands::{GrantArgs, GroupMemberArgs, RecordIdArgs};
use medwallet_api::{
    GrantSummary, GroupSummary, NoArgs, OpenedRecord, ShareCodeText, SharePreview, ShareRequest,
    SharedInbox, UserError,
};
use tauri::State;

use super::records::{ledger_target, owner, owner_and_nodes};
use super::Answer;
use crate::state::AppState;

/// `preview_share`: check the grantee and show the policy in words; nothing is sent.
#[tauri::command]
pub async fn preview_share(state: State<'_, AppState>, args: ShareRequest) -> Answer<SharePreview> {
    let owner = owner(&state).await?;
    let ledger = ledger_target(&state).await?;
    state.records.preview_share(&owner, &ledger, &args).await
}

/// `share_records`: queue the grants and send them now if the nodes answer.
#[tauri::command]
pub async fn share_records(
    state: State<'_, AppState>,
    args: ShareRequest,
) -> Answer<Vec<GrantSummary>> {
    let (owner, ipfs, ledger) = owner_and_nodes(&state).await?;
    state.records.share(&owner, &ipfs, &ledger, &args).await
}

/// `list_grants`: the unlocked wallet's grants.
#[tauri::command]
pub async fn list_grants(state: State<'_, AppState>, args: NoArgs) -> Answer<Vec<GrantSummary>> {
    let NoArgs {} = args;
    let owner = owner(&state).await?;
    state.records.list_grants(&owner).await
}

/// `revoke_grant`: re-encrypt without the grantee, revoke on the ledger, report exposure.
#[tauri::command]
pub async fn revoke_grant(state: State<'_, AppState>, args: GrantArgs) -> Answer<GrantSummary> {
    let (owner, ipfs, ledger) = owner_and_nodes(&state).await?;
    state
        .records
        .revoke(
            &owner,
            &ipfs,
            &ledger,
            &args.record_id,
            &args.grantee,
            args.clause.as_deref(),
        )
        .await
}

/// `list_shared`: records others shared with the unlocked wallet.
#[tauri::command]
pub async fn list_shared(state: State<'_, AppState>, args: NoArgs) -> Answer<SharedInbox> {
    let NoArgs {} = args;
    let (owner, ipfs, ledger) = owner_and_nodes(&state).await?;
    state.records.list_shared(&owner, &ipfs, &ledger).await
}

/// `open_shared`: log the access on the ledger, then fetch, verify, decrypt, render.
#[tauri::command]
pub async fn open_shared(state: State<'_, AppState>, args: RecordIdArgs) -> Answer<OpenedRecord> {
    let (owner, ipfs, ledger) = owner_and_nodes(&state).await?;
    state
        .records
        .open_shared(&owner, &ipfs, &ledger, &args.record_id)
        .await
}

/// `list_groups`: the unlocked wallet's groups.
#[tauri::command]
pub async fn list_groups(state: State<'_, AppState>, args: NoArgs) -> Answer<Vec<GroupSummary>> {
    let NoArgs {} = args;
    let owner = owner(&state).await?;
    state.records.list_groups(&owner).await
}

/// `add_group_member`: add a person to a group; they get a key for it.
#[tauri::command]
pub async fn add_group_member(
    state: State<'_, AppState>,
    args: GroupMemberArgs,
) -> Answer<Vec<GroupSummary>> {
    let (owner, ipfs, ledger) = owner_and_nodes(&state).await?;
    state
        .records
        .add_group_member(&owner, &ipfs, &ledger, &args.group, &args.member)
        .await
}

/// `remove_group_member`: remove a person; the group's records are re-encrypted.
#[tauri::command]
pub async fn remove_group_member(
    state: State<'_, AppState>,
    args: GroupMemberArgs,
) -> Answer<Vec<GroupSummary>> {
    let (owner, ipfs, ledger) = owner_and_nodes(&state).await?;
    state
        .records
        .remove_group_member(&owner, &ipfs, &ledger, &args.group, &args.member)
        .await
}

/// `get_share_code`: the unlocked wallet's signed share code for the ledger's chain.
#[tauri::command]
pub async fn get_share_code(state: State<'_, AppState>, args: NoArgs) -> Answer<ShareCodeText> {
    let NoArgs {} = args;
    let ledger = ledger_target(&state).await?;
    let chain_id = ledger.chain_id().await.map_err(|problem| {
        UserError::new(
            format!("The share code names the ledger's chain, and the ledger cannot say which: {problem}"),
            "Start the ledger node or check its URL in Settings; your address above can be shared meanwhile.",
        )
    })?;
    let code = state.wallets.lock().await.share_code(chain_id)?;
    Ok(ShareCodeText { code, chain_id })
}
