//! What the shell keeps between commands.

use std::path::PathBuf;

use medwallet_core::{Defaults, SettingsStore};
use tauri::Manager;

/// The app's state, managed by tauri.
pub struct AppState {
    /// The settings database, or why it could not be opened. The app still starts
    /// without it (on the defaults) so the user sees the problem instead of a crash.
    pub settings: Result<SettingsStore, String>,
    /// The settings in force when the store is unusable.
    pub defaults: Defaults,
}

impl AppState {
    /// Opens the app's data in `$MEDWALLET_DATA_DIR`, or the platform's app data dir.
    pub async fn load(app: &tauri::AppHandle) -> Result<Self, Box<dyn std::error::Error>> {
        let dir = match std::env::var_os("MEDWALLET_DATA_DIR") {
            Some(dir) => PathBuf::from(dir),
            None => app.path().app_data_dir()?,
        };
        std::fs::create_dir_all(&dir)?;
        let defaults = Defaults::from_env();
        let settings = SettingsStore::open(&dir.join("settings.sqlite"), defaults.clone())
            .await
            .map_err(|e| e.to_string());
        if let Err(problem) = &settings {
            eprintln!("medwallet: {problem}");
        }
        Ok(Self { settings, defaults })
    }
}
