//! The front desk's commands (and the patient's check-in code): one call each into
//! `medwallet_core::App`; the picture chooser is tauri's.

use medwallet_api::commands::{
    AnswerCheckIn, CheckInAsks, CheckInPatient, ListCheckIns, MakeCheckInCode, OpenCheckedIn,
    PickPicture, UploadForPatient, VerifyRecord,
};
use medwallet_api::NoArgs;
use tauri::State;

use super::{Args, Out};
use crate::dialogs::{self, Open};
use crate::state::AppState;

/// `make_check_in_code`: a signed check-in code (granting nothing), shown as a QR.
#[tauri::command]
pub async fn make_check_in_code(
    state: State<'_, AppState>,
    args: Args<MakeCheckInCode>,
) -> Out<MakeCheckInCode> {
    state
        .app
        .make_check_in_code(&args.record_ids, args.valid_minutes)
        .await
}

/// `check_in_asks`: the desks that redeemed the patient's codes, with their answers.
#[tauri::command]
pub async fn check_in_asks(
    state: State<'_, AppState>,
    _args: Args<CheckInAsks>,
) -> Out<CheckInAsks> {
    state.app.check_in_asks().await
}

/// `answer_check_in`: the patient allows or declines a desk's check-in.
#[tauri::command]
pub async fn answer_check_in(
    state: State<'_, AppState>,
    args: Args<AnswerCheckIn>,
) -> Out<AnswerCheckIn> {
    state
        .app
        .answer_check_in(&args.check_in_id, &args.clinic, args.allow)
        .await
}

/// `check_in_patient`: read the code (text, or a QR picture) and check the patient in.
#[tauri::command]
pub async fn check_in_patient(
    state: State<'_, AppState>,
    args: Args<CheckInPatient>,
) -> Out<CheckInPatient> {
    let picture = match &args.picture {
        Some(token) => Some(state.paths.open_text(token)?),
        None => None,
    };
    state
        .app
        .check_in_patient(args.text.as_deref(), picture.as_deref())
        .await
}

/// `list_check_ins`: the patients checked in at this desk.
#[tauri::command]
pub async fn list_check_ins(
    state: State<'_, AppState>,
    args: Args<ListCheckIns>,
) -> Out<ListCheckIns> {
    let NoArgs {} = args;
    state.app.list_check_ins().await
}

/// `open_checked_in`: log the access, then open a record a checked-in patient granted.
#[tauri::command]
pub async fn open_checked_in(
    state: State<'_, AppState>,
    args: Args<OpenCheckedIn>,
) -> Out<OpenCheckedIn> {
    state
        .app
        .open_checked_in(&args.check_in_id, &args.record_id)
        .await
}

/// `upload_for_patient`: encrypt a file for a checked-in patient and register it.
#[tauri::command]
pub async fn upload_for_patient(
    state: State<'_, AppState>,
    args: Args<UploadForPatient>,
) -> Out<UploadForPatient> {
    let path = state.paths.open_text(&args.file)?;
    state
        .app
        .upload_for_patient(&args.check_in_id, &path, &args.metadata)
        .await
}

/// `verify_record`: check a file or CID against the ledger.
#[tauri::command]
pub async fn verify_record(
    state: State<'_, AppState>,
    args: Args<VerifyRecord>,
) -> Out<VerifyRecord> {
    let path = match &args.file {
        Some(token) => Some(state.paths.open_text(token)?),
        None => None,
    };
    state
        .app
        .verify_record(args.cid.as_deref(), path.as_deref())
        .await
}

/// `pick_picture`: the system's file chooser, for a picture of a QR code; as a token.
#[tauri::command]
pub async fn pick_picture(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
    args: Args<PickPicture>,
) -> Out<PickPicture> {
    let NoArgs {} = args;
    let open = Open {
        title: "Picture of the check-in QR code",
        filter: Some(("Pictures", &["png", "jpg", "jpeg"])),
        many: false,
    };
    dialogs::pick_one(&app, &state.paths, open).await
}
