//! The IPC commands. Each takes `<C as Command>::Args` and answers `C::Output` of its
//! command type in `medwallet_api::commands` (so the handlers and the UI's IPC layer
//! cannot drift apart), and is one call into `medwallet_core::App`; only what needs
//! tauri itself (dialogs, channels, dropped files) is done here. A file reaches a command
//! only as a token the app handed out (`crate::paths`): the command resolves it and
//! hands core the path; the webview never sends a path.

use medwallet_api::commands::*;
use medwallet_api::{Command, Done, NoArgs, UserError};
use tauri::{Manager, State};

use crate::state::AppState;

pub mod audit;
pub mod diagnostics;
pub mod front_desk;
pub mod rebuild;
pub mod records;
pub mod sharing;
pub mod staff;

type Answer<T> = Result<T, UserError>;
/// The arguments of command `C`.
type Args<C> = <C as Command>::Args;
/// What command `C` answers (or the failure in words).
type Out<C> = Answer<<C as Command>::Output>;

/// `check_health`: both nodes, now.
#[tauri::command]
pub async fn check_health(state: State<'_, AppState>, args: Args<CheckHealth>) -> Out<CheckHealth> {
    let NoArgs {} = args;
    Ok(state.app.health().await)
}

/// `get_settings`: the settings in force.
#[tauri::command]
pub async fn get_settings(state: State<'_, AppState>, args: Args<GetSettings>) -> Out<GetSettings> {
    let NoArgs {} = args;
    Ok(state.app.settings().await)
}

/// `save_settings`: validate and store.
#[tauri::command]
pub async fn save_settings(
    state: State<'_, AppState>,
    args: Args<SaveSettings>,
) -> Out<SaveSettings> {
    state.app.save_settings(&args.settings).await
}

/// `reset_settings`: back to the defaults.
#[tauri::command]
pub async fn reset_settings(
    state: State<'_, AppState>,
    args: Args<ResetSettings>,
) -> Out<ResetSettings> {
    let NoArgs {} = args;
    state.app.reset_settings().await
}

/// `set_node_credential`: the unlocked wallet's credentials for one node, into its vault.
#[tauri::command]
pub async fn set_node_credential(
    state: State<'_, AppState>,
    args: Args<SetNodeCredential>,
) -> Out<SetNodeCredential> {
    state
        .app
        .set_node_credential(&args.node, &args.credential)
        .await
}

/// `import_ca_certificate`: a CA certificate file picked in a dialog, trusted for
/// `https://` nodes. The path never comes from the webview.
#[tauri::command]
pub async fn import_ca_certificate(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
    args: Args<ImportCaCertificate>,
) -> Out<ImportCaCertificate> {
    let NoArgs {} = args;
    let open = crate::dialogs::Open {
        title: "Trust a CA certificate",
        filter: Some(("Certificate (PEM)", &["pem", "crt", "cer"])),
        many: false,
    };
    let Some(path) = crate::dialogs::pick(&app, open).await?.into_iter().next() else {
        return Ok(None);
    };
    state.app.import_ca_file(&path).await.map(Some)
}

/// `clear_ca_certificate`: stop trusting the imported CA.
#[tauri::command]
pub async fn clear_ca_certificate(
    state: State<'_, AppState>,
    args: Args<ClearCaCertificate>,
) -> Out<ClearCaCertificate> {
    let NoArgs {} = args;
    state.app.set_extra_ca(None).await
}

// Wallets (see `medwallet_core::App`'s wallet methods: activity for auto-lock, and the
// one answer with a secret, `reveal_kit`).

/// `session_state`: what the window should show. Polled; not activity. When the data
/// folder was refused at start, that refusal, full-window.
#[tauri::command]
pub async fn session_state(
    app: tauri::AppHandle,
    args: Args<GetSessionState>,
) -> Out<GetSessionState> {
    let NoArgs {} = args;
    match app.try_state::<AppState>() {
        Some(state) => Ok(state.app.session_state().await),
        None => Ok(medwallet_api::SessionState::Unavailable {
            error: refusal(&app),
        }),
    }
}

/// `startup_notices`: the damaged databases found at start and kept aside (none when the
/// folder was refused: nothing in it was looked at).
#[tauri::command]
pub async fn startup_notices(
    app: tauri::AppHandle,
    args: Args<GetStartupNotices>,
) -> Out<GetStartupNotices> {
    let NoArgs {} = args;
    Ok(app
        .try_state::<AppState>()
        .map(|state| state.app.startup_notices())
        .unwrap_or_default())
}

/// Why the data folder was not opened, as the setup kept it.
fn refusal(app: &tauri::AppHandle) -> UserError {
    match app.try_state::<crate::state::Refused>() {
        Some(refused) => refused.0.clone(),
        // Not reached: the setup manages one or the other before the window runs.
        None => medwallet_core::CoreError::Internal {
            what: "opening the data folder",
            detail: "neither opened nor refused".into(),
        }
        .into(),
    }
}

/// `rate_passphrase`: the strength meter.
#[tauri::command]
pub async fn rate_passphrase(
    state: State<'_, AppState>,
    args: Args<RatePassphrase>,
) -> Out<RatePassphrase> {
    Ok(state
        .app
        .rate_passphrase(&args.passphrase, &args.display_name)
        .await)
}

/// `create_wallet`: a new wallet, unlocked, its kit pending.
#[tauri::command]
pub async fn create_wallet(
    state: State<'_, AppState>,
    args: Args<CreateWallet>,
) -> Out<CreateWallet> {
    state.app.create_wallet(&args).await
}

/// `reveal_kit`: the recovery words, once, for the kit screen.
#[tauri::command]
pub async fn reveal_kit(state: State<'_, AppState>, args: Args<RevealKit>) -> Out<RevealKit> {
    let NoArgs {} = args;
    state.app.reveal_kit().await
}

/// `confirm_kit`: check the re-typed words.
#[tauri::command]
pub async fn confirm_kit(state: State<'_, AppState>, args: Args<ConfirmKit>) -> Out<ConfirmKit> {
    state.app.confirm_kit(&args.answers).await
}

/// `export_kit`: the printable kit, written to a file; answers the path only.
#[tauri::command]
pub async fn export_kit(state: State<'_, AppState>, args: Args<ExportKit>) -> Out<ExportKit> {
    let NoArgs {} = args;
    state.app.export_kit().await
}

/// `restore_wallet`: from the recovery phrase.
#[tauri::command]
pub async fn restore_wallet(
    state: State<'_, AppState>,
    args: Args<RestoreWallet>,
) -> Out<RestoreWallet> {
    state.app.restore_wallet(&args).await
}

/// `unlock_wallet`: with the passphrase.
#[tauri::command]
pub async fn unlock_wallet(
    state: State<'_, AppState>,
    args: Args<UnlockWallet>,
) -> Out<UnlockWallet> {
    state
        .app
        .unlock_wallet(&args.wallet_id, &args.passphrase)
        .await
}

/// `quick_unlock`: with the key in the system keyring.
#[tauri::command]
pub async fn quick_unlock(state: State<'_, AppState>, args: Args<QuickUnlock>) -> Out<QuickUnlock> {
    state.app.quick_unlock(&args.wallet_id).await
}

/// `lock_wallet`: lock now.
#[tauri::command]
pub async fn lock_wallet(state: State<'_, AppState>, args: Args<LockWallet>) -> Out<LockWallet> {
    let NoArgs {} = args;
    Ok(state.app.lock_wallet().await)
}

/// `set_quick_unlock`: opt in or out.
#[tauri::command]
pub async fn set_quick_unlock(
    state: State<'_, AppState>,
    args: Args<SetQuickUnlock>,
) -> Out<SetQuickUnlock> {
    state.app.set_quick_unlock(args.enabled).await
}

/// `set_idle_timeout`: minutes before auto-lock.
#[tauri::command]
pub async fn set_idle_timeout(
    state: State<'_, AppState>,
    args: Args<SetIdleTimeout>,
) -> Out<SetIdleTimeout> {
    state.app.set_idle_timeout(args.minutes).await
}

/// `change_passphrase`: of the unlocked wallet.
#[tauri::command]
pub async fn change_passphrase(
    state: State<'_, AppState>,
    args: Args<ChangePassphrase>,
) -> Out<ChangePassphrase> {
    state
        .app
        .change_passphrase(&args.old_passphrase, &args.new_passphrase, args.accept_weak)
        .await
}

/// `delete_wallet`: after the name was typed.
#[tauri::command]
pub async fn delete_wallet(
    state: State<'_, AppState>,
    args: Args<DeleteWallet>,
) -> Out<DeleteWallet> {
    state
        .app
        .delete_wallet(&args.wallet_id, &args.confirm_name)
        .await
}

/// `Done`, for commands whose work has no answer.
fn done() -> Done {
    Done {}
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
