//! The IPC commands. Each is a few lines: take `C::Args`, call the library, map
//! errors into words for the user. Names and types come from `medwallet_api::commands`.

use medwallet_api::commands::{SaveOutcome, SaveSettingsArgs};
use medwallet_api::{HealthReport, NoArgs, NodeSettings, UserError};
use medwallet_core::SettingsStore;
use tauri::State;

use crate::state::AppState;

type Answer<T> = Result<T, UserError>;

fn store(state: &AppState) -> Answer<&SettingsStore> {
    state.settings.as_ref().map_err(|problem| {
        UserError::new(
            format!("Settings cannot be saved: {problem}."),
            "medwallet is running on the default node URLs. Move the damaged settings.sqlite out of the app's data folder and restart.",
        )
    })
}

fn storage_failed(error: impl std::fmt::Display) -> UserError {
    UserError::new(format!("The settings database failed: {error}."), "Try again; if it persists, restart medwallet.")
}

async fn current(state: &AppState) -> NodeSettings {
    match store(state) {
        Ok(store) => store.get().await.unwrap_or_else(|_| state.defaults.0.clone()),
        Err(_) => state.defaults.0.clone(),
    }
}

/// `check_health`: both nodes, now.
#[tauri::command]
pub async fn check_health(state: State<'_, AppState>, args: NoArgs) -> Answer<HealthReport> {
    let NoArgs {} = args;
    Ok(medwallet_core::check_health(&current(&state).await).await)
}

/// `get_settings`: the settings in force.
#[tauri::command]
pub async fn get_settings(state: State<'_, AppState>, args: NoArgs) -> Answer<NodeSettings> {
    let NoArgs {} = args;
    Ok(current(&state).await)
}

/// `save_settings`: validate and store.
#[tauri::command]
pub async fn save_settings(state: State<'_, AppState>, args: SaveSettingsArgs) -> Answer<SaveOutcome> {
    store(&state)?.save(&args.settings).await.map_err(storage_failed)
}

/// `reset_settings`: back to the defaults.
#[tauri::command]
pub async fn reset_settings(state: State<'_, AppState>, args: NoArgs) -> Answer<NodeSettings> {
    let NoArgs {} = args;
    store(&state)?.reset().await.map_err(storage_failed)
}

#[cfg(test)]
mod tests {
    /// The capability grants exactly one permission per api command: nothing more
    /// (no core plugin), nothing forgotten.
    #[test]
    fn capability_grants_exactly_the_app_commands() {
        let text = include_str!("../capabilities/main.json");
        let json: serde_json::Value = serde_json::from_str(text).unwrap();
        let mut granted: Vec<String> =
            json["permissions"].as_array().unwrap().iter().map(|p| p.as_str().unwrap().to_owned()).collect();
        let mut expected: Vec<String> =
            medwallet_api::commands::ALL.iter().map(|c| format!("allow-{}", c.replace('_', "-"))).collect();
        granted.sort();
        expected.sort();
        assert_eq!(granted, expected);
    }
}
