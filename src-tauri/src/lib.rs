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
            // Auto-lock: wipe an idle session's secrets on time, even when nothing calls in.
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                let mut every = tokio::time::interval(std::time::Duration::from_secs(5));
                loop {
                    every.tick().await;
                    handle
                        .state::<state::AppState>()
                        .wallets
                        .lock()
                        .await
                        .tick();
                }
            });
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::check_health,
            commands::get_settings,
            commands::save_settings,
            commands::reset_settings,
            commands::session_state,
            commands::rate_passphrase,
            commands::create_wallet,
            commands::reveal_kit,
            commands::confirm_kit,
            commands::export_kit,
            commands::restore_wallet,
            commands::unlock_wallet,
            commands::quick_unlock,
            commands::lock_wallet,
            commands::set_quick_unlock,
            commands::set_idle_timeout,
            commands::change_passphrase,
            commands::delete_wallet,
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
