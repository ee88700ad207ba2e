//! Rebuilding the unlocked wallet from the ledger and IPFS: one call each into
//! `medwallet_core::App`.

use medwallet_api::commands::{CancelRebuild, GetRebuildStatus, ListUnrecovered, RebuildWallet};
use medwallet_api::NoArgs;
use tauri::State;

use super::{Args, Out};
use crate::state::AppState;

/// `rebuild_wallet`: start (or resume) the rebuild in the background.
#[tauri::command]
pub async fn rebuild_wallet(
    state: State<'_, AppState>,
    args: Args<RebuildWallet>,
) -> Out<RebuildWallet> {
    let NoArgs {} = args;
    state.app.rebuild_wallet().await
}

/// `rebuild_status`: where the rebuild is.
#[tauri::command]
pub async fn rebuild_status(
    state: State<'_, AppState>,
    args: Args<GetRebuildStatus>,
) -> Out<GetRebuildStatus> {
    let NoArgs {} = args;
    state.app.rebuild_status().await
}

/// `cancel_rebuild`: stop it after its current step; what it read is kept.
#[tauri::command]
pub async fn cancel_rebuild(
    state: State<'_, AppState>,
    args: Args<CancelRebuild>,
) -> Out<CancelRebuild> {
    let NoArgs {} = args;
    state.app.cancel_rebuild().await
}

/// `list_unrecovered`: record versions registered on the ledger but not brought back.
#[tauri::command]
pub async fn list_unrecovered(
    state: State<'_, AppState>,
    args: Args<ListUnrecovered>,
) -> Out<ListUnrecovered> {
    let NoArgs {} = args;
    state.app.list_unrecovered().await
}
