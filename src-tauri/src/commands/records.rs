//! Record commands: one call each into `medwallet_core::App`; the file dialogs and the
//! progress channels are tauri's, so they are here. Files cross as path tokens
//! (`crate::paths`): a command resolves its token here and hands core the path.

use std::sync::Arc;

use medwallet_api::commands::{
    AddRecord, CancelAdd, ChooseSavePath, InspectFiles, ListRecords, OpenRecord, PickFile,
    PickFiles, SaveRecordCopy, SyncRecords, WatchDrops,
};
use medwallet_api::{AddProgress, ChosenFile, NoArgs, PickPurpose};
use tauri::ipc::Channel;
use tauri::State;

use super::{done, Args, Out};
use crate::dialogs::{self, Open};
use crate::paths::Use;
use crate::state::AppState;

/// `pick_files`: the system's file chooser; the chosen files, as tokens.
#[tauri::command]
pub async fn pick_files(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
    args: Args<PickFiles>,
) -> Out<PickFiles> {
    let NoArgs {} = args;
    let open = Open {
        title: "Add records",
        filter: None,
        many: true,
    };
    dialogs::pick(&app, open)
        .await?
        .into_iter()
        .map(|path| state.paths.hand_out(path, Use::Open))
        .collect()
}

/// `pick_file`: the system's file chooser for one file, for `purpose`; as a token.
#[tauri::command]
pub async fn pick_file(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
    args: Args<PickFile>,
) -> Out<PickFile> {
    let title = match args.purpose {
        PickPurpose::UploadForPatient => "A record for the patient",
        PickPurpose::Verify => "A file to verify",
    };
    let open = Open {
        title,
        filter: None,
        many: false,
    };
    dialogs::pick_one(&app, &state.paths, open).await
}

/// `watch_drops`: files dropped on the window go to this channel (as tokens) from now on.
#[tauri::command]
pub async fn watch_drops(
    state: State<'_, AppState>,
    args: Args<WatchDrops>,
    progress: Channel<Vec<ChosenFile>>,
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
    let files = args
        .files
        .iter()
        .map(|token| Ok((token.clone(), state.paths.open_text(token)?)))
        .collect::<Result<Vec<_>, medwallet_api::UserError>>()?;
    state.app.inspect_files(&files).await
}

/// `add_record`: encrypt, upload, pin; progress on the channel.
#[tauri::command]
pub async fn add_record(
    state: State<'_, AppState>,
    args: Args<AddRecord>,
    progress: Channel<AddProgress>,
) -> Out<AddRecord> {
    let path = state.paths.open_text(&args.file)?;
    let send = Arc::new(move |p: AddProgress| {
        // The window may have gone (closed, reloaded): the add goes on without it.
        if progress.send(p).is_err() {
            tracing::debug!("an add's progress has no listener");
        }
    });
    state
        .app
        .add_record(&args.job_id, &path, &args.metadata, send)
        .await
}

/// `cancel_add`: stop a running add; nothing of it is kept.
#[tauri::command]
pub async fn cancel_add(state: State<'_, AppState>, args: Args<CancelAdd>) -> Out<CancelAdd> {
    Ok(state.app.cancel_add(&args.job_id))
}

/// `list_records`: one page of the unlocked wallet's records that match, with the counts.
#[tauri::command]
pub async fn list_records(state: State<'_, AppState>, args: Args<ListRecords>) -> Out<ListRecords> {
    state.app.list_records(&args).await
}

/// `open_record`: fetch, verify, decrypt, render.
#[tauri::command]
pub async fn open_record(state: State<'_, AppState>, args: Args<OpenRecord>) -> Out<OpenRecord> {
    state.app.open_record(&args.record_id).await
}

/// `choose_save_path`: the system's save dialog; the chosen file as a save token (one
/// write).
#[tauri::command]
pub async fn choose_save_path(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
    args: Args<ChooseSavePath>,
) -> Out<ChooseSavePath> {
    dialogs::save(&app, "Save a copy", args.suggested_name)
        .await?
        .map(|path| state.paths.hand_out(path, Use::Save))
        .transpose()
}

/// `save_record_copy`: verify and decrypt into the chosen file.
#[tauri::command]
pub async fn save_record_copy(
    state: State<'_, AppState>,
    args: Args<SaveRecordCopy>,
) -> Out<SaveRecordCopy> {
    let path = state.paths.save_text(&args.file)?;
    state.app.save_record_copy(&args.record_id, &path).await
}

/// `sync_records`: push what waits in the outbox now (uploads, ledger registrations).
#[tauri::command]
pub async fn sync_records(state: State<'_, AppState>, args: Args<SyncRecords>) -> Out<SyncRecords> {
    let NoArgs {} = args;
    state.app.sync_records().await
}
