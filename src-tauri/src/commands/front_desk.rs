//! The front desk's commands (and the patient's check-in code): thin wrappers over
//! `medwallet_core::records` front-desk use cases.

use medwallet_api::{
    CheckInArgs, CheckInCode, CheckInRecordArgs, CheckInRequest, CheckInSession, NoArgs,
    OpenedRecord, UploadForPatientArgs, UploadedForPatient, UserError, Verdict, VerifyArgs,
};
use tauri::State;
use tauri_plugin_dialog::DialogExt;

use super::records::owner_and_nodes;
use super::Answer;
use crate::state::AppState;

/// `make_check_in_code`: offer a check-in on the ledger and show its signed code as a QR.
#[tauri::command]
pub async fn make_check_in_code(
    state: State<'_, AppState>,
    args: CheckInRequest,
) -> Answer<CheckInCode> {
    let (owner, ipfs, ledger) = owner_and_nodes(&state).await?;
    let offered = state
        .records
        .offer_check_in(&owner, &ipfs, &ledger, &args.record_ids, args.valid_minutes)
        .await?;
    let code = state
        .wallets
        .lock()
        .await
        .check_in_code(offered.chain_id, &offered.check_in)?;
    let qr_svg = medwallet_core::qr::svg(&code).map_err(|e| {
        UserError::new(
            format!("The code cannot be drawn as a QR code: {e}."),
            "Give the desk the text of the code instead.",
        )
    })?;
    Ok(CheckInCode {
        code,
        qr_svg,
        expires_at: offered.expires_at,
        records: offered.records,
    })
}

/// `check_in_patient`: read the code (text, or a QR picture) and check the patient in.
#[tauri::command]
pub async fn check_in_patient(
    state: State<'_, AppState>,
    args: CheckInArgs,
) -> Answer<CheckInSession> {
    let text = match (args.text.as_deref().map(str::trim), args.picture.as_deref()) {
        (Some(text), _) if !text.is_empty() => text.to_owned(),
        (_, Some(path)) if !path.trim().is_empty() => read_picture(path.trim()).await?,
        _ => {
            return Err(UserError::new(
                "There is no code to read.",
                "Paste the code's text, or choose a picture of its QR code.",
            ))
        }
    };
    let (owner, ipfs, ledger) = owner_and_nodes(&state).await?;
    state.records.check_in(&owner, &ipfs, &ledger, &text).await
}

async fn read_picture(path: &str) -> Answer<String> {
    let path = std::path::PathBuf::from(path);
    let shown = path.display().to_string();
    tokio::task::spawn_blocking(move || {
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        if size > medwallet_core::qr::MAX_PICTURE_BYTES {
            return Err(medwallet_core::qr::QrError::TooLarge(size));
        }
        let bytes = std::fs::read(&path)
            .map_err(|e| medwallet_core::qr::QrError::NotAPicture(e.to_string()))?;
        medwallet_core::qr::read(&bytes)
    })
    .await
    .map_err(|e| UserError::new(format!("Reading the picture failed: {e}."), "Try again."))?
    .map_err(|e| {
        UserError::new(
            format!("No check-in code could be read from {shown}: {e}."),
            "Choose a sharp picture of the whole QR code, or paste the code's text.",
        )
    })
}

/// `list_check_ins`: the patients checked in at this desk.
#[tauri::command]
pub async fn list_check_ins(
    state: State<'_, AppState>,
    args: NoArgs,
) -> Answer<Vec<CheckInSession>> {
    let NoArgs {} = args;
    let (owner, ipfs, ledger) = owner_and_nodes(&state).await?;
    state.records.list_check_ins(&owner, &ipfs, &ledger).await
}

/// `open_checked_in`: log the access, then open a record a checked-in patient granted.
#[tauri::command]
pub async fn open_checked_in(
    state: State<'_, AppState>,
    args: CheckInRecordArgs,
) -> Answer<OpenedRecord> {
    let (owner, ipfs, ledger) = owner_and_nodes(&state).await?;
    state
        .records
        .open_checked_in(&owner, &ipfs, &ledger, &args.code_address, &args.record_id)
        .await
}

/// `upload_for_patient`: encrypt a file for a checked-in patient and register it.
#[tauri::command]
pub async fn upload_for_patient(
    state: State<'_, AppState>,
    args: UploadForPatientArgs,
) -> Answer<UploadedForPatient> {
    let (owner, ipfs, ledger) = owner_and_nodes(&state).await?;
    state
        .records
        .upload_for_patient(
            &owner,
            &ipfs,
            &ledger,
            &args.code_address,
            &args.path,
            &args.metadata,
        )
        .await
}

/// `verify_record`: check a file or CID against the ledger.
#[tauri::command]
pub async fn verify_record(state: State<'_, AppState>, args: VerifyArgs) -> Answer<Verdict> {
    let (owner, ipfs, ledger) = owner_and_nodes(&state).await?;
    state.records.verify(&owner, &ipfs, &ledger, &args).await
}

/// `pick_picture`: the system's file chooser, for a picture of a QR code.
#[tauri::command]
pub async fn pick_picture(app: tauri::AppHandle, args: NoArgs) -> Answer<Option<String>> {
    let NoArgs {} = args;
    let picked = tokio::task::spawn_blocking(move || {
        app.dialog()
            .file()
            .set_title("Picture of the check-in QR code")
            .add_filter("Pictures", &["png", "jpg", "jpeg"])
            .blocking_pick_file()
    })
    .await
    .map_err(|e| UserError::new(format!("The file chooser failed: {e}."), "Try again."))?;
    Ok(picked
        .and_then(|p| p.into_path().ok())
        .map(|p| p.display().to_string()))
}
