//! Record commands: one call each into `medwallet_core::App`; the file dialogs and the
//! progress channels are tauri's, so they are here.

use std::sync::Arc;

use medwallet_api::commands::{
    AddRecord, CancelAdd, ChooseSavePath, InspectFiles, ListRecords, OpenRecord, PickFiles,
    SaveRecordCopy, SyncRecords, WatchDrops,
};
use medwallet_api::{AddProgress, NoArgs};
use tauri::ipc::Channel;
use tauri::State;
use tauri_plugin_dialog::DialogExt;

use super::{dialog_failed, done, Args, Out};
use crate::state::AppState;

/// `pick_files`: the system's file chooser; the chosen paths.
#[tauri::command]
pub async fn pick_files(app: tauri::AppHandle, args: Args<PickFiles>) -> Out<PickFiles> {
    let NoArgs {} = args;
    let picked = tokio::task::spawn_blocking(move || {
        app.dialog()
            .file()
            .set_title("Add records")
            .blocking_pick_files()
    })
    .await
    .map_err(dialog_failed)?;
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
    args: Args<WatchDrops>,
    progress: Channel<Vec<String>>,
) -> Out<WatchDrops> {
    let NoArgs {} = args;
    *state.drops.lock().await = Some(progress);
    Ok(done())
}

/// `inspect_files`: check files and propose their metadata.
#[tauri::command]
pub async fn inspect_files(
    state: State<'_, AppState>,
    args: Args<InspectFiles>,
) -> Out<InspectFiles> {
    state.app.inspect_files(&args.paths).await
}

/// `add_record`: encrypt, upload, pin; progress on the channel.
#[tauri::command]
pub async fn add_record(
    state: State<'_, AppState>,
    args: Args<AddRecord>,
    progress: Channel<AddProgress>,
) -> Out<AddRecord> {
    let send = Arc::new(move |p: AddProgress| {
        // The window may have gone (closed, reloaded): the add goes on without it.
        if progress.send(p).is_err() {
            tracing::debug!("an add's progress has no listener");
        }
    });
    state
        .app
        .add_record(&args.job_id, &args.path, &args.metadata, send)
        .await
}

/// `cancel_add`: stop a running add; nothing of it is kept.
#[tauri::command]
pub async fn cancel_add(state: State<'_, AppState>, args: Args<CancelAdd>) -> Out<CancelAdd> {
    Ok(state.app.cancel_add(&args.job_id))
}

/// `list_records`: the unlocked wallet's records.
#[tauri::command]
pub async fn list_records(state: State<'_, AppState>, args: Args<ListRecords>) -> Out<ListRecords> {
    let NoArgs {} = args;
    state.app.list_records().await
}

/// `open_record`: fetch, verify, decrypt, render.
#[tauri::command]
pub async fn open_record(state: State<'_, AppState>, args: Args<OpenRecord>) -> Out<OpenRecord> {
    state.app.open_record(&args.record_id).await
}

/// `choose_save_path`: the system's save dialog.
#[tauri::command]
pub async fn choose_save_path(
    app: tauri::AppHandle,
    args: Args<ChooseSavePath>,
) -> Out<ChooseSavePath> {
    let chosen = tokio::task::spawn_blocking(move || {
        app.dialog()
            .file()
            .set_title("Save a decrypted copy")
            .set_file_name(&args.suggested_name)
            .blocking_save_file()
    })
    .await
    .map_err(dialog_failed)?;
    Ok(chosen
        .and_then(|p| p.into_path().ok())
        .map(|p| p.display().to_string()))
}

/// `save_record_copy`: verify and decrypt into the chosen file.
#[tauri::command]
pub async fn save_record_copy(
    state: State<'_, AppState>,
    args: Args<SaveRecordCopy>,
) -> Out<SaveRecordCopy> {
    state
        .app
        .save_record_copy(&args.record_id, &args.path)
        .await
}

/// `sync_records`: push what waits in the outbox now (uploads, ledger registrations).
#[tauri::command]
pub async fn sync_records(state: State<'_, AppState>, args: Args<SyncRecords>) -> Out<SyncRecords> {
    let NoArgs {} = args;
    state.app.sync_records().await
}
