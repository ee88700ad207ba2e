//! The medwallet desktop shell: window, app state, and thin `#[tauri::command]`s
//! over the library crates in `src-tauri/crates/`.
//!
//! Invariant: a command returns display data only (types from `medwallet-api`);
//! keys and plaintext never cross into the webview.
#![forbid(unsafe_code)]

mod commands;
mod dialogs;
mod notify;
mod paths;
mod single_instance;
mod state;

use tauri::Manager;

/// The log file's writer, kept until the app exits (dropping it flushes the last lines).
struct LogSlot(std::sync::Mutex<Option<medwallet_logs::LogGuard>>);

/// Builds and runs the app until its last window closes.
pub fn run() {
    let context = tauri::generate_context!();
    let single_instance = single_instance::plugin(&context.config().identifier);
    let app = tauri::Builder::default()
        // First, so that a second launch on the same data folder hands over before any
        // other plugin or the setup runs: it focuses the first window and exits.
        .plugin(single_instance)
        // The dialog plugin is used from Rust only (dialogs.rs); the capability grants the
        // webview none of its own commands.
        .plugin(tauri_plugin_dialog::init())
        // Notifications too: an emergency opening found by the background pass is shown
        // from Rust (`notify.rs`); the webview needs no notification permission.
        .plugin(tauri_plugin_notification::init())
        .on_window_event(|window, event| {
            // Files dropped on the window: registered as path tokens, which go (with the
            // files' names) to the page's channel; their paths stay here.
            if let tauri::WindowEvent::DragDrop(tauri::DragDropEvent::Drop { paths, .. }) = event {
                let paths = paths.clone();
                let handle = window.app_handle().clone();
                tauri::async_runtime::spawn(async move {
                    // Not there when the app was refused its data folder (`Refused`).
                    let Some(state) = handle.try_state::<state::AppState>() else {
                        return;
                    };
                    let channel = state.drops.lock().await.clone();
                    // No page listens (none asked yet, or the window reloaded): the
                    // drop is dropped, as a window that is not a drop target would.
                    if let Some(channel) = channel {
                        let files: Vec<medwallet_api::ChosenFile> = paths
                            .into_iter()
                            .filter_map(|p| state.paths.hand_out(p, crate::paths::Use::Open).ok())
                            .collect();
                        if channel.send(files).is_err() {
                            tracing::debug!("a drop had no listener");
                        }
                    }
                });
            }
        })
        .setup(|app| {
            let dir = state::data_dir(app.handle())?;
            // Logs first, so that everything after (a damaged settings file, a node that
            // does not answer) is in the file a user can send.
            let guard = medwallet_logs::init(&dir)
                .map_err(|e| eprintln!("medwallet: no log file: {e}"))
                .ok();
            app.manage(LogSlot(std::sync::Mutex::new(guard)));
            tracing::info!(version = env!("CARGO_PKG_VERSION"), "medwallet starting");
            dialogs::note_test_seam();
            // A panic (in the background pass, say) is in the log by where it happened;
            // its message may hold data, so it goes to stderr only, as before.
            let default_hook = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                let at = info
                    .location()
                    .map(|l| format!("{}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                tracing::error!(at = %at, "a thread panicked");
                default_hook(info);
            }));
            match tauri::async_runtime::block_on(state::AppState::load(app.handle(), &dir)) {
                Ok(state) => {
                    // Auto-lock, the outbox, the sharing pass and the emergency watch (whose
                    // finds become OS notifications): see medwallet_core::background.
                    let notifier =
                        std::sync::Arc::new(notify::OsNotifier::new(app.handle().clone()));
                    tauri::async_runtime::spawn(medwallet_core::background::run(
                        state.app.clone(),
                        notifier,
                    ));
                    app.manage(state);
                }
                Err(refused) => {
                    // Another process holds the folder, or it cannot be written: the window
                    // says so (`session_state`), and nothing runs on the folder.
                    tracing::error!(problem = %refused.0.message, "the data folder was not opened");
                    eprintln!("medwallet: {}", refused.0.message);
                    app.manage(refused);
                }
            }
            // `scripts/run --network` opens one window per role, each its own machine.
            if let Some(instance) = std::env::var("MEDWALLET_INSTANCE")
                .ok()
                .filter(|i| !i.is_empty() && i.len() <= 32)
            {
                if let Some(window) = app.get_webview_window("main") {
                    let _ = window.set_title(&format!("medwallet · {instance}"));
                }
            }
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::check_health,
            commands::get_settings,
            commands::save_settings,
            commands::reset_settings,
            commands::set_node_credential,
            commands::import_ca_certificate,
            commands::clear_ca_certificate,
            commands::session_state,
            commands::startup_notices,
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
            commands::records::pick_files,
            commands::records::pick_file,
            commands::records::watch_drops,
            commands::records::inspect_files,
            commands::records::add_record,
            commands::records::cancel_add,
            commands::records::list_records,
            commands::records::open_record,
            commands::records::choose_save_path,
            commands::records::save_record_copy,
            commands::records::sync_records,
            commands::audit::get_audit_trail,
            commands::audit::export_audit,
            commands::audit::emergency_alerts,
            commands::audit::acknowledge_emergency_alerts,
            commands::sharing::preview_share,
            commands::sharing::share_records,
            commands::sharing::list_grants,
            commands::sharing::revoke_grant,
            commands::sharing::list_shared,
            commands::sharing::open_shared,
            commands::sharing::list_groups,
            commands::sharing::add_group_member,
            commands::sharing::remove_group_member,
            commands::sharing::sharing_progress,
            commands::sharing::get_share_code,
            commands::front_desk::make_check_in_code,
            commands::front_desk::check_in_asks,
            commands::front_desk::answer_check_in,
            commands::front_desk::check_in_patient,
            commands::front_desk::list_check_ins,
            commands::front_desk::open_checked_in,
            commands::front_desk::upload_for_patient,
            commands::front_desk::verify_record,
            commands::front_desk::pick_picture,
            commands::staff::list_staff,
            commands::staff::issue_staff_key,
            commands::staff::revoke_staff_key,
            commands::rebuild::rebuild_wallet,
            commands::rebuild::rebuild_status,
            commands::rebuild::cancel_rebuild,
            commands::rebuild::list_unrecovered,
            commands::diagnostics::get_diagnostics,
        ])
        .build(context);
    match app {
        Ok(app) => app.run(|handle, event| {
            if let tauri::RunEvent::Exit = event {
                tracing::info!("medwallet stopping");
                // The process may end without dropping managed state: flush the log now.
                if let Some(slot) = handle.try_state::<LogSlot>() {
                    drop(slot.0.lock().ok().and_then(|mut guard| guard.take()));
                }
            }
        }),
        Err(error) => {
            tracing::error!(%error, "medwallet could not start");
            eprintln!("medwallet could not start: {error}");
            std::process::exit(1);
        }
    }
}
