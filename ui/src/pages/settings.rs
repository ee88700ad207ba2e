//! Settings: where the IPFS and ledger nodes are.

use medwallet_api::commands::{GetSettings, ResetSettings, SaveOutcome, SaveSettings, SaveSettingsArgs};
use medwallet_api::{NoArgs, NodeSettings, SettingsError, UserError};
use wasm_bindgen_futures::spawn_local;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::ipc;

/// Props of [`SettingsPage`].
#[derive(Properties, PartialEq)]
pub struct Props {
    /// Called after settings were stored.
    pub on_saved: Callback<()>,
}

#[derive(Clone, PartialEq)]
enum Notice {
    None,
    Saved,
    Failed(UserError),
}

/// The settings form.
#[function_component(SettingsPage)]
pub fn settings_page(props: &Props) -> Html {
    let form = use_state(|| None::<NodeSettings>);
    let errors = use_state(SettingsError::default);
    let notice = use_state(|| Notice::None);
    let busy = use_state(|| false);

    {
        let form = form.clone();
        let notice = notice.clone();
        use_effect_with((), move |_| {
            spawn_local(async move {
                match ipc::call::<GetSettings>(&NoArgs {}).await {
                    Ok(settings) => form.set(Some(settings)),
                    Err(error) => notice.set(Notice::Failed(error)),
                }
            });
        });
    }

    let Some(current) = (*form).clone() else {
        return html! {
            <section class="page"><h1>{ "Settings" }</h1>
                if let Notice::Failed(error) = &*notice { { error_box(error) } } else { <p>{ "Loading…" }</p> }
            </section>
        };
    };

    let field = |update: fn(&mut NodeSettings, String)| {
        let form = form.clone();
        Callback::from(move |e: InputEvent| {
            let input: HtmlInputElement = e.target_unchecked_into();
            if let Some(mut settings) = (*form).clone() {
                update(&mut settings, input.value());
                form.set(Some(settings));
            }
        })
    };

    let finish = {
        let (form, errors, notice, busy, on_saved) =
            (form.clone(), errors.clone(), notice.clone(), busy.clone(), props.on_saved.clone());
        move |result: Result<SaveOutcome, UserError>| {
            busy.set(false);
            match result {
                Ok(SaveOutcome::Saved { settings }) => {
                    form.set(Some(settings));
                    errors.set(SettingsError::default());
                    notice.set(Notice::Saved);
                    on_saved.emit(());
                }
                Ok(SaveOutcome::Invalid { errors: found }) => {
                    errors.set(found);
                    notice.set(Notice::None);
                }
                Err(error) => notice.set(Notice::Failed(error)),
            }
        }
    };

    let onsubmit = {
        let (form, busy, finish) = (form.clone(), busy.clone(), finish.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let Some(settings) = (*form).clone() else { return };
            busy.set(true);
            let finish = finish.clone();
            spawn_local(async move { finish(ipc::call::<SaveSettings>(&SaveSettingsArgs { settings }).await) });
        })
    };

    let onreset = {
        let (busy, finish) = (busy.clone(), finish.clone());
        Callback::from(move |_| {
            busy.set(true);
            let finish = finish.clone();
            spawn_local(async move {
                let result = ipc::call::<ResetSettings>(&NoArgs {}).await;
                finish(result.map(|settings| SaveOutcome::Saved { settings }));
            });
        })
    };

    html! {
        <section class="page" aria-labelledby="settings-title">
            <h1 id="settings-title">{ "Settings" }</h1>
            <form class="form" {onsubmit} novalidate=true>
                <fieldset disabled={*busy}>
                    <legend>{ "Nodes" }</legend>
                    { text_field("ipfs-url", "IPFS node (RPC API)", "http://127.0.0.1:5001",
                        &current.ipfs_url, errors.ipfs_url.as_deref(),
                        field(|s, v| s.ipfs_url = v)) }
                    { text_field("ledger-url", "Ledger node (JSON-RPC)", "http://127.0.0.1:8545",
                        &current.ledger_url, errors.ledger_url.as_deref(),
                        field(|s, v| s.ledger_url = v)) }
                    { text_field("contract-address", "Ledger contract address", "0x…",
                        current.contract_address.as_deref().unwrap_or_default(), errors.contract_address.as_deref(),
                        field(|s, v| s.contract_address = Some(v).filter(|v| !v.trim().is_empty()))) }
                    <div class="actions">
                        <button id="settings-save" type="submit" class="primary">{ "Save" }</button>
                        <button id="settings-reset" type="button" onclick={onreset}>{ "Use the defaults" }</button>
                    </div>
                </fieldset>
            </form>
            {
                match &*notice {
                    Notice::None => html! {},
                    Notice::Saved => html! { <p id="settings-notice" class="notice ok" role="status">{ "Saved. The status bar is checking the nodes again." }</p> },
                    Notice::Failed(error) => error_box(error),
                }
            }
        </section>
    }
}

fn text_field(id: &'static str, label: &'static str, placeholder: &'static str, value: &str,
              error: Option<&str>, oninput: Callback<InputEvent>) -> Html {
    let error_id = format!("{id}-error");
    html! {
        <div class={classes!("field", error.map(|_| "invalid"))}>
            <label for={id}>{ label }</label>
            <input {id} type="text" spellcheck="false" autocomplete="off" {placeholder}
                   value={value.to_owned()} {oninput}
                   aria-invalid={error.map(|_| "true")}
                   aria-describedby={error.map(|_| error_id.clone())} />
            if let Some(error) = error {
                <p id={error_id} class="field-error" role="alert">{ error }</p>
            }
        </div>
    }
}

fn error_box(error: &UserError) -> Html {
    html! {
        <div class="notice error" role="alert">
            <p>{ &error.message }</p>
            if let Some(hint) = &error.hint { <p class="hint">{ hint }</p> }
        </div>
    }
}
