//! What the shell keeps between commands.

use std::path::PathBuf;

use medwallet_core::{AuditService, Defaults, RecordService, SettingsStore, WalletService};
use tauri::Manager;

/// The app's state, managed by tauri.
pub struct AppState {
    /// The settings database, or why it could not be opened. The app still starts
    /// without it (on the defaults) so the user sees the problem instead of a crash.
    pub settings: Result<SettingsStore, String>,
    /// The settings in force when the store is unusable.
    pub defaults: Defaults,
    /// The wallets (vault, unlocked session, pending Emergency Kit).
    pub wallets: tokio::sync::Mutex<WalletService>,
    /// Records (per wallet, under `records/` in the data folder) and their outbox.
    pub records: RecordService,
    /// The audit trail's event caches (per wallet, under `audit/`).
    pub audit: AuditService,
    /// Where paths of files dropped on the window go (the Records page's channel).
    pub drops: tokio::sync::Mutex<Option<tauri::ipc::Channel<Vec<String>>>>,
}

impl AppState {
    /// Opens the app's data in `$MEDWALLET_DATA_DIR`, or the platform's app data dir.
    pub async fn load(app: &tauri::AppHandle) -> Result<Self, Box<dyn std::error::Error>> {
        let test_dir = std::env::var_os("MEDWALLET_DATA_DIR");
        // Printed Emergency Kits go to Documents (else Downloads); with a test data dir, into it.
        let kit_dir = match test_dir {
            Some(_) => None,
            None => app
                .path()
                .document_dir()
                .or_else(|_| app.path().download_dir())
                .ok(),
        };
        let dir = match test_dir {
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
        let wallets = tokio::sync::Mutex::new(WalletService::open(&dir, kit_dir).await);
        let records = RecordService::new(&dir);
        let audit = AuditService::new(&dir);
        Ok(Self {
            audit,
            settings,
            defaults,
            wallets,
            records,
            drops: Default::default(),
        })
    }
}
