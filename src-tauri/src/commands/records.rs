//! Record commands: thin wrappers over `medwallet_core::RecordService`. The wallet's
//! record keys are copied out of the session for the length of one command (and wiped
//! when it ends), so a long upload does not hold the wallet lock.

use std::sync::Arc;

use medwallet_api::commands::{
    AddRecordArgs, ChooseSavePathArgs, InspectFilesArgs, JobArgs, RecordIdArgs, SaveCopyArgs,
};
use medwallet_api::{
    AddProgress, Done, Inspection, NoArgs, OpenedRecord, RecordSummary, SavedCopy, SyncReport,
    UserError,
};
use medwallet_core::{LedgerTarget, Owner};
use tauri::ipc::Channel;
use tauri::State;
use tauri_plugin_dialog::DialogExt;
use url::Url;

use super::{current, Answer};
use crate::state::AppState;

pub(crate) async fn owner(state: &AppState) -> Answer<Owner> {
    state.wallets.lock().await.record_owner()
}

pub(crate) async fn ledger_target(state: &AppState) -> Answer<LedgerTarget> {
    LedgerTarget::from_settings(&current(state).await).map_err(|problem| {
        UserError::new(problem, "Open Settings and correct the ledger node URL.")
    })
}

/// What a command that reaches both nodes needs: the unlocked wallet's owner, the IPFS
/// URL and the ledger target, from the settings in force.
pub(crate) async fn owner_and_nodes(state: &AppState) -> Answer<(Owner, Url, LedgerTarget)> {
    Ok((
        owner(state).await?,
        ipfs_url(state).await?,
        ledger_target(state).await?,
    ))
}

pub(crate) async fn ipfs_url(state: &AppState) -> Answer<Url> {
    let settings = current(state).await;
    Url::parse(&settings.ipfs_url).map_err(|e| {
        UserError::new(
            format!("The IPFS node URL {} is not valid: {e}.", settings.ipfs_url),
            "Correct it in Settings.",
        )
    })
}

/// `pick_files`: the system's file chooser; the chosen paths.
#[tauri::command]
pub async fn pick_files(app: tauri::AppHandle, args: NoArgs) -> Answer<Vec<String>> {
    let NoArgs {} = args;
    let picked = tokio::task::spawn_blocking(move || {
        app.dialog()
            .file()
            .set_title("Add records")
            .blocking_pick_files()
    })
    .await
    .map_err(|e| UserError::new(format!("The file chooser failed: {e}."), "Try again."))?;
    Ok(picked
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| p.into_path().ok())
        .map(|p| p.display().to_string())
        .collect())
}

/// `watch_drops`: paths dropped on the window go to this channel from now on.
#[tauri::command]
pub async fn watch_drops(
    state: State<'_, AppState>,
    args: NoArgs,
    progress: Channel<Vec<String>>,
) -> Answer<Done> {
    let NoArgs {} = args;
    *state.drops.lock().await = Some(progress);
    Ok(Done {})
}

/// `inspect_files`: check files and propose their metadata.
#[tauri::command]
pub async fn inspect_files(
    state: State<'_, AppState>,
    args: InspectFilesArgs,
) -> Answer<Inspection> {
    let owner = owner(&state).await?;
    Ok(state.records.inspect(&owner, &args.paths))
}

/// `add_record`: encrypt, upload, pin; progress on the channel.
#[tauri::command]
pub async fn add_record(
    state: State<'_, AppState>,
    args: AddRecordArgs,
    progress: Channel<AddProgress>,
) -> Answer<RecordSummary> {
    let (owner, ipfs, ledger) = owner_and_nodes(&state).await?;
    let send = Arc::new(move |p: AddProgress| {
        let _ = progress.send(p);
    });
    state
        .records
        .add(
            &owner,
            &ipfs,
            &ledger,
            &args.job_id,
            &args.path,
            &args.metadata,
            send,
        )
        .await
}

/// `cancel_add`: stop a running add; nothing of it is kept.
#[tauri::command]
pub async fn cancel_add(state: State<'_, AppState>, args: JobArgs) -> Answer<Done> {
    state.records.cancel(&args.job_id);
    Ok(Done {})
}

/// `list_records`: the unlocked wallet's records.
#[tauri::command]
pub async fn list_records(state: State<'_, AppState>, args: NoArgs) -> Answer<Vec<RecordSummary>> {
    let NoArgs {} = args;
    let owner = owner(&state).await?;
    state.records.list(&owner).await
}

/// `open_record`: fetch, verify, decrypt, render.
#[tauri::command]
pub async fn open_record(state: State<'_, AppState>, args: RecordIdArgs) -> Answer<OpenedRecord> {
    let owner = owner(&state).await?;
    let ipfs = ipfs_url(&state).await?;
    state.records.open(&owner, &ipfs, &args.record_id).await
}

/// `choose_save_path`: the system's save dialog.
#[tauri::command]
pub async fn choose_save_path(
    app: tauri::AppHandle,
    args: ChooseSavePathArgs,
) -> Answer<Option<String>> {
    let chosen = tokio::task::spawn_blocking(move || {
        app.dialog()
            .file()
            .set_title("Save a decrypted copy")
            .set_file_name(&args.suggested_name)
            .blocking_save_file()
    })
    .await
    .map_err(|e| UserError::new(format!("The save dialog failed: {e}."), "Try again."))?;
    Ok(chosen
        .and_then(|p| p.into_path().ok())
        .map(|p| p.display().to_string()))
}

/// `save_record_copy`: verify and decrypt into the chosen file.
#[tauri::command]
pub async fn save_record_copy(state: State<'_, AppState>, args: SaveCopyArgs) -> Answer<SavedCopy> {
    let owner = owner(&state).await?;
    let ipfs = ipfs_url(&state).await?;
    state
        .records
        .save_copy(&owner, &ipfs, &args.record_id, &args.path)
        .await
}

/// `sync_records`: push what waits in the outbox now (uploads, ledger registrations).
#[tauri::command]
pub async fn sync_records(state: State<'_, AppState>, args: NoArgs) -> Answer<SyncReport> {
    let NoArgs {} = args;
    let (owner, ipfs, ledger) = owner_and_nodes(&state).await?;
    state
        .records
        .sync(&owner.wallet_id, Some(&owner), &ipfs, &ledger, true)
        .await
}
