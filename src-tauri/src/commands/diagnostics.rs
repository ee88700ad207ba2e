//! Diagnostics: where the log is, and a report a user can copy into a message.

use medwallet_api::commands::GetDiagnostics;
use medwallet_api::NoArgs;
use tauri::State;

use super::{Args, Out};
use crate::state::AppState;

/// How many of the newest log lines the report carries.
const LOG_LINES: usize = 200;

/// `get_diagnostics`: versions, node health and the newest log lines, as plain text.
#[tauri::command]
pub async fn get_diagnostics(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
    args: Args<GetDiagnostics>,
) -> Out<GetDiagnostics> {
    let NoArgs {} = args;
    let dir = crate::state::data_dir(&app).map_err(|e| {
        medwallet_api::UserError::new(
            format!("The app's data folder cannot be found: {e}."),
            "Restart medwallet.",
        )
    })?;
    let log_dir = medwallet_logs::log_dir(&dir);
    let lines = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || medwallet_logs::tail(&dir, LOG_LINES)
    })
    .await
    .map_err(|e| e.to_string())
    .and_then(|r| r.map_err(|e| e.to_string()));
    Ok(state
        .app
        .diagnostics(env!("CARGO_PKG_VERSION"), &log_dir, lines)
        .await)
}
