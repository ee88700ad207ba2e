//! The lock screen (full window): choose a wallet, type its passphrase, or use quick unlock.

use gloo_timers::callback::Interval;
use medwallet_api::commands::{QuickUnlock, UnlockArgs, UnlockWallet, WalletIdArgs};
use medwallet_api::{UnlockOutcome, UserError, WalletSummary};
use wasm_bindgen_futures::spawn_local;
use web_sys::HtmlSelectElement;
use yew::prelude::*;

use crate::components::form::{error_box, Input};
use crate::ipc;

/// Props of [`UnlockPage`].
#[derive(Properties, PartialEq)]
pub struct Props {
    /// Every wallet.
    pub wallets: Vec<WalletSummary>,
    /// The one to preselect.
    pub selected: Option<String>,
    /// Seconds before the preselected wallet accepts a passphrase.
    pub retry_after_secs: u64,
    /// Unlocked.
    pub on_done: Callback<()>,
    /// Create or restore another wallet.
    pub on_add: Callback<()>,
}

/// The lock screen.
#[function_component(UnlockPage)]
pub fn unlock_page(props: &Props) -> Html {
    let selected = use_state(|| {
        props
            .selected
            .clone()
            .or_else(|| props.wallets.first().map(|w| w.wallet_id.clone()))
    });
    let pass = use_state(String::new);
    let error = use_state(|| None::<UserError>);
    // When the next attempt is allowed (ms since the epoch); the shown wait counts down to it.
    let not_before = use_state(|| now_ms() + props.retry_after_secs as f64 * 1000.0);
    let force = use_force_update();
    let busy = use_state(|| false);

    // Re-render once a second so the wait counts down.
    use_effect_with((), move |_| {
        let timer = Interval::new(1000, move || force.force_update());
        move || drop(timer)
    });
    let wait = ((*not_before - now_ms()) / 1000.0).ceil().max(0.0) as u64;

    let wallet = props
        .wallets
        .iter()
        .find(|w| Some(&w.wallet_id) == selected.as_ref())
        .cloned();

    let onsubmit = {
        let (selected, pass, error, wait, busy, on_done) = (
            selected.clone(),
            pass.clone(),
            error.clone(),
            not_before.clone(),
            busy.clone(),
            props.on_done.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let Some(wallet_id) = (*selected).clone() else {
                return;
            };
            let args = UnlockArgs {
                wallet_id,
                passphrase: (*pass).clone(),
            };
            let (pass, error, wait, busy, on_done) = (
                pass.clone(),
                error.clone(),
                wait.clone(),
                busy.clone(),
                on_done.clone(),
            );
            busy.set(true);
            spawn_local(async move {
                let result = ipc::call::<UnlockWallet>(&args).await;
                busy.set(false);
                match result {
                    Ok(UnlockOutcome::Unlocked { .. }) => {
                        pass.set(String::new());
                        error.set(None);
                        on_done.emit(());
                    }
                    Ok(UnlockOutcome::Refused {
                        error: e,
                        retry_after_secs,
                    }) => {
                        pass.set(String::new());
                        wait.set(now_ms() + retry_after_secs as f64 * 1000.0);
                        error.set(Some(e));
                    }
                    Err(e) => error.set(Some(e)),
                }
            });
        })
    };

    let quick = {
        let (selected, error, on_done) = (selected.clone(), error.clone(), props.on_done.clone());
        Callback::from(move |_| {
            let Some(wallet_id) = (*selected).clone() else {
                return;
            };
            let (error, on_done) = (error.clone(), on_done.clone());
            spawn_local(async move {
                match ipc::call::<QuickUnlock>(&WalletIdArgs { wallet_id }).await {
                    Ok(_) => on_done.emit(()),
                    Err(e) => error.set(Some(e)),
                }
            });
        })
    };

    let onchange = {
        let (selected, error) = (selected.clone(), error.clone());
        Callback::from(move |e: Event| {
            selected.set(Some(e.target_unchecked_into::<HtmlSelectElement>().value()));
            error.set(None);
        })
    };
    let add = {
        let cb = props.on_add.clone();
        Callback::from(move |_| cb.emit(()))
    };

    html! {
        <section class="page lock-screen" aria-labelledby="unlock-title">
            <div class="lock-icon" aria-hidden="true"><svg class="icon" viewBox="0 0 24 24" width="44" height="44" aria-hidden="true" focusable="false"><path fill="currentColor" d="M12 2a5 5 0 0 0-5 5v3H6a2 2 0 0 0-2 2v8a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2v-8a2 2 0 0 0-2-2h-1V7a5 5 0 0 0-5-5Zm-3 8V7a3 3 0 1 1 6 0v3H9Z"/></svg></div>
            <h1 id="unlock-title">{ "medwallet is locked" }</h1>
            <form class="form" {onsubmit} novalidate=true>
                <fieldset disabled={*busy}>
                    <legend class="sr-only">{ "Unlock" }</legend>
                    if props.wallets.len() > 1 {
                        <div class="field">
                            <label for="unlock-wallet">{ "Wallet" }</label>
                            <select id="unlock-wallet" {onchange}>
                                { for props.wallets.iter().map(|w| html! {
                                    <option value={w.wallet_id.clone()} selected={Some(&w.wallet_id) == selected.as_ref()}>
                                        { format!("{} ({})", w.display_name, w.role.label()) }
                                    </option>
                                }) }
                            </select>
                        </div>
                    } else if let Some(w) = &wallet {
                        <p class="lock-wallet" id="unlock-wallet-name">{ format!("{} · {}", w.display_name, w.role.label()) }</p>
                    }
                    <Input id="unlock-passphrase" kind="password" autocomplete="current-password" label="Passphrase"
                           value={(*pass).clone()} oninput={ let p = pass.clone(); Callback::from(move |v| p.set(v)) } />
                    <div class="actions">
                        <button id="unlock" type="submit" class="primary" disabled={wait > 0}>
                            { if *busy { "Unlocking…".to_owned() } else if wait > 0 { format!("Wait {} s", wait) } else { "Unlock".to_owned() } }
                        </button>
                        if wallet.as_ref().is_some_and(|w| w.quick_unlock) {
                            <button id="quick-unlock" type="button" onclick={quick}>{ "Unlock with system keyring" }</button>
                        }
                    </div>
                </fieldset>
            </form>
            if wait > 0 {
                <p id="unlock-wait" class="muted" role="status">{ format!("For your safety, the next try is possible in {} s.", wait) }</p>
            }
            if let Some(e) = &*error { { error_box("unlock-error", e) } }
            <p class="muted">
                <button id="add-wallet" class="link" onclick={add}>{ "Create or restore another wallet" }</button>
            </p>
        </section>
    }
}

fn now_ms() -> f64 {
    wasm_bindgen_futures::js_sys::Date::now()
}
