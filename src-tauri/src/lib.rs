//! The medwallet desktop shell: window, app state, and thin `#[tauri::command]`s
//! over the library crates in `src-tauri/crates/`.
//!
//! Invariant: a command returns display data only (types from `medwallet-api`);
//! keys and plaintext never cross into the webview.
#![forbid(unsafe_code)]

mod commands;
mod state;

use tauri::Manager;

/// Builds and runs the app until its last window closes.
pub fn run() {
    let app = tauri::Builder::default()
        .setup(|app| {
            let state = tauri::async_runtime::block_on(state::AppState::load(app.handle()))?;
            app.manage(state);
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::check_health,
            commands::get_settings,
            commands::save_settings,
            commands::reset_settings,
        ])
        .build(tauri::generate_context!());
    match app {
        Ok(app) => app.run(|_, _| {}),
        Err(error) => {
            eprintln!("medwallet could not start: {error}");
            std::process::exit(1);
        }
    }
}
