//! What the shell keeps between commands: the core [`App`], the drop channel and the
//! path tokens handed to the window.

use std::path::PathBuf;
use std::sync::Arc;

use medwallet_core::{App, Defaults};
use tauri::Manager;

/// The app's state, managed by tauri.
pub struct AppState {
    /// The data folder's state and use cases.
    pub app: Arc<App>,
    /// Where files dropped on the window go, as tokens (the page's channel).
    pub drops: tokio::sync::Mutex<Option<tauri::ipc::Channel<Vec<medwallet_api::ChosenFile>>>>,
    /// The files chosen in the app's dialogs or dropped, by the tokens the window holds.
    pub paths: crate::paths::PathTokens,
}

/// Why the data folder was not opened (another process holds it, it cannot be
/// written), in words: managed instead of [`AppState`], so the window says it and
/// nothing touches the folder.
pub struct Refused(pub medwallet_api::UserError);

/// The app's data folder: `$MEDWALLET_DATA_DIR`, or the platform's app data dir. Not
/// created here: `App::open` creates it, and names a folder that cannot be.
pub fn data_dir(app: &tauri::AppHandle) -> Result<PathBuf, Box<dyn std::error::Error>> {
    Ok(match std::env::var_os("MEDWALLET_DATA_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => app.path().app_data_dir()?,
    })
}

impl AppState {
    /// Opens the app's data in `dir`, or answers why it was refused.
    pub async fn load(app: &tauri::AppHandle, dir: &std::path::Path) -> Result<Self, Refused> {
        // Printed Emergency Kits go to Documents (else Downloads); with a test data dir, into it.
        let kit_dir = match std::env::var_os("MEDWALLET_DATA_DIR") {
            Some(_) => None,
            None => app
                .path()
                .document_dir()
                .or_else(|_| app.path().download_dir())
                .ok(),
        };
        let app = App::open(dir, kit_dir, Defaults::from_env())
            .await
            .map_err(|e| Refused(e.into()))?;
        Ok(Self {
            app,
            drops: Default::default(),
            paths: Default::default(),
        })
    }
}
