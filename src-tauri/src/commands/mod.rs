//! The IPC commands. Each is a few lines: take `C::Args`, call the library, map
//! errors into words for the user. Names and types come from `medwallet_api::commands`.

use medwallet_api::commands::{
    ChangePassphraseArgs, ConfirmKitArgs, DeleteWalletArgs, NewWalletArgs, RatePassphraseArgs,
    RestoreWalletArgs, SaveOutcome, SaveSettingsArgs, SetIdleTimeoutArgs, SetQuickUnlockArgs,
    UnlockArgs, WalletIdArgs,
};
use medwallet_api::{
    Done, HealthReport, Identity, KitFile, KitReveal, NoArgs, NodeSettings, SessionState,
    StrengthReport, UnlockOutcome, UserError,
};
use medwallet_core::SettingsStore;
use tauri::State;

use crate::state::AppState;

pub mod audit;
pub mod front_desk;
pub mod records;
pub mod sharing;
pub mod staff;

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
    UserError::new(
        format!("The settings database failed: {error}."),
        "Try again; if it persists, restart medwallet.",
    )
}

pub(crate) async fn current(state: &AppState) -> NodeSettings {
    match store(state) {
        Ok(store) => store
            .get()
            .await
            .unwrap_or_else(|_| state.defaults.0.clone()),
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
pub async fn save_settings(
    state: State<'_, AppState>,
    args: SaveSettingsArgs,
) -> Answer<SaveOutcome> {
    store(&state)?
        .save(&args.settings)
        .await
        .map_err(storage_failed)
}

/// `reset_settings`: back to the defaults.
#[tauri::command]
pub async fn reset_settings(state: State<'_, AppState>, args: NoArgs) -> Answer<NodeSettings> {
    let NoArgs {} = args;
    store(&state)?.reset().await.map_err(storage_failed)
}

// Wallets. Each command locks the wallet service, calls one use case and answers display
// data; every one except `session_state` counts as activity for auto-lock. `reveal_kit` is
// the only answer with a secret (the recovery words for the kit screen), and only between
// `create_wallet` and `confirm_kit`; see medwallet_core::wallet and its no-secrets test.

/// `session_state`: what the window should show. Polled; not activity.
#[tauri::command]
pub async fn session_state(state: State<'_, AppState>, args: NoArgs) -> Answer<SessionState> {
    let NoArgs {} = args;
    Ok(state.wallets.lock().await.state().await)
}

/// `rate_passphrase`: the strength meter.
#[tauri::command]
pub async fn rate_passphrase(
    state: State<'_, AppState>,
    args: RatePassphraseArgs,
) -> Answer<StrengthReport> {
    Ok(state
        .wallets
        .lock()
        .await
        .rate_passphrase(&args.passphrase, &args.display_name))
}

/// `create_wallet`: a new wallet, unlocked, its kit pending.
#[tauri::command]
pub async fn create_wallet(state: State<'_, AppState>, args: NewWalletArgs) -> Answer<Identity> {
    let mut w = state.wallets.lock().await;
    w.create_wallet(
        args.role,
        &args.display_name,
        &args.passphrase,
        args.accept_weak,
    )
    .await
}

/// `reveal_kit`: the recovery words, once, for the kit screen.
#[tauri::command]
pub async fn reveal_kit(state: State<'_, AppState>, args: NoArgs) -> Answer<KitReveal> {
    let NoArgs {} = args;
    state.wallets.lock().await.reveal_kit()
}

/// `confirm_kit`: check the re-typed words.
#[tauri::command]
pub async fn confirm_kit(state: State<'_, AppState>, args: ConfirmKitArgs) -> Answer<Done> {
    state.wallets.lock().await.confirm_kit(&args.answers)
}

/// `export_kit`: the printable kit, written to a file; answers the path only.
#[tauri::command]
pub async fn export_kit(state: State<'_, AppState>, args: NoArgs) -> Answer<KitFile> {
    let NoArgs {} = args;
    state.wallets.lock().await.export_kit()
}

/// `restore_wallet`: from the recovery phrase.
#[tauri::command]
pub async fn restore_wallet(
    state: State<'_, AppState>,
    args: RestoreWalletArgs,
) -> Answer<Identity> {
    let n = &args.wallet;
    let mut w = state.wallets.lock().await;
    w.restore_wallet(
        &args.phrase,
        n.role,
        &n.display_name,
        &n.passphrase,
        n.accept_weak,
    )
    .await
}

/// `unlock_wallet`: with the passphrase.
#[tauri::command]
pub async fn unlock_wallet(state: State<'_, AppState>, args: UnlockArgs) -> Answer<UnlockOutcome> {
    state
        .wallets
        .lock()
        .await
        .unlock(&args.wallet_id, &args.passphrase)
        .await
}

/// `quick_unlock`: with the key in the system keyring.
#[tauri::command]
pub async fn quick_unlock(state: State<'_, AppState>, args: WalletIdArgs) -> Answer<Identity> {
    state
        .wallets
        .lock()
        .await
        .quick_unlock(&args.wallet_id)
        .await
}

/// `lock_wallet`: lock now.
#[tauri::command]
pub async fn lock_wallet(state: State<'_, AppState>, args: NoArgs) -> Answer<Done> {
    let NoArgs {} = args;
    Ok(state.wallets.lock().await.lock())
}

/// `set_quick_unlock`: opt in or out.
#[tauri::command]
pub async fn set_quick_unlock(
    state: State<'_, AppState>,
    args: SetQuickUnlockArgs,
) -> Answer<Done> {
    state
        .wallets
        .lock()
        .await
        .set_quick_unlock(args.enabled)
        .await
}

/// `set_idle_timeout`: minutes before auto-lock.
#[tauri::command]
pub async fn set_idle_timeout(
    state: State<'_, AppState>,
    args: SetIdleTimeoutArgs,
) -> Answer<Done> {
    state.wallets.lock().await.set_idle_timeout(args.minutes)
}

/// `change_passphrase`: of the unlocked wallet.
#[tauri::command]
pub async fn change_passphrase(
    state: State<'_, AppState>,
    args: ChangePassphraseArgs,
) -> Answer<Done> {
    let mut w = state.wallets.lock().await;
    w.change_passphrase(&args.old_passphrase, &args.new_passphrase, args.accept_weak)
        .await
}

/// `delete_wallet`: after the name was typed.
#[tauri::command]
pub async fn delete_wallet(state: State<'_, AppState>, args: DeleteWalletArgs) -> Answer<Done> {
    state
        .wallets
        .lock()
        .await
        .delete_wallet(&args.wallet_id, &args.confirm_name)
        .await
}

#[cfg(test)]
mod tests {
    /// The capability grants exactly one permission per api command: nothing more
    /// (no core plugin), nothing forgotten.
    #[test]
    fn capability_grants_exactly_the_app_commands() {
        let text = include_str!("../../capabilities/main.json");
        let json: serde_json::Value = serde_json::from_str(text).unwrap();
        let mut granted: Vec<String> = json["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap().to_owned())
            .collect();
        let mut expected: Vec<String> = medwallet_api::commands::ALL
            .iter()
            .map(|c| format!("allow-{}", c.replace('_', "-")))
            .collect();
        granted.sort();
        expected.sort();
        assert_eq!(granted, expected);
    }
}
