//! Settings: where the IPFS and ledger nodes are and how they are reached (plain http
//! allowed host by host, a trusted CA, credentials: `components::node_access`), the
//! wallet's security, rebuilding the wallet from the ledger, and diagnostics (where the
//! log is, and a report to copy into a bug report).

use medwallet_api::commands::{
    GetSettings, ResetSettings, SaveOutcome, SaveSettings, SaveSettingsArgs,
};
use medwallet_api::{NoArgs, NodeSettings, SettingsError, UserError};
use wasm_bindgen_futures::spawn_local;
use web_sys::{HtmlInputElement, HtmlTextAreaElement};
use yew::prelude::*;

use crate::components::node_access::{
    node_choices, plain_http_check, toggle_host, NodeCredentials, TrustedCa,
};
use crate::components::rebuild::RebuildProgress;
use crate::ipc;

/// Props of [`SettingsPage`].
#[derive(Properties, PartialEq)]
pub struct Props {
    /// Called after settings were stored.
    pub on_saved: Callback<()>,
    /// The unlocked wallet's security settings, if a wallet is unlocked.
    #[prop_or_default]
    pub wallet: Option<WalletSecurity>,
    /// Called after a wallet setting changed.
    #[prop_or_default]
    pub on_wallet_changed: Callback<()>,
}

/// What the Security section shows.
#[derive(Clone, PartialEq)]
pub struct WalletSecurity {
    /// Quick unlock is on.
    pub quick_unlock: bool,
    /// Minutes before auto-lock.
    pub idle_minutes: u32,
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
    // The settings as last stored (every command answers them): the CA and credentials
    // shown, and the nodes a credential can be set for. The form keeps what is typed.
    let saved = use_state(|| None::<NodeSettings>);
    let errors = use_state(SettingsError::default);
    let notice = use_state(|| Notice::None);
    let busy = use_state(|| false);

    {
        let (form, saved, notice) = (form.clone(), saved.clone(), notice.clone());
        use_effect_with((), move |_| {
            spawn_local(async move {
                match ipc::call::<GetSettings>(&NoArgs {}).await {
                    Ok(settings) => {
                        saved.set(Some(settings.clone()));
                        form.set(Some(settings));
                    }
                    Err(error) => notice.set(Notice::Failed(error)),
                }
            });
        });
    }

    let (Some(current), Some(stored)) = ((*form).clone(), (*saved).clone()) else {
        return html! {
            <section class="page"><h1>{ "Settings" }</h1>
                if let Notice::Failed(error) = &*notice { { error_box(error) } } else { <p>{ "Loading…" }</p> }
                <DiagnosticsSection />
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

    // A list, one entry per line. The lines are kept as typed (blank ones too, so that
    // "Peer 2" in an error is the second line the user sees); saving drops blank lines.
    let lines = |update: fn(&mut NodeSettings, Vec<String>)| {
        let form = form.clone();
        Callback::from(move |e: InputEvent| {
            let input: HtmlTextAreaElement = e.target_unchecked_into();
            if let Some(mut settings) = (*form).clone() {
                update(&mut settings, text_to_lines(&input.value()));
                form.set(Some(settings));
            }
        })
    };

    // Plain http allowed, or not, for the host of the URL above the checkbox.
    let allow_plain = {
        let form = form.clone();
        Callback::from(move |(host, allow): (String, bool)| {
            if let Some(mut settings) = (*form).clone() {
                settings.plain_http_hosts = toggle_host(&settings.plain_http_hosts, &host, allow);
                form.set(Some(settings));
            }
        })
    };

    // The CA or the credentials changed: shown at once, the typed URLs kept; the status
    // bar checks the nodes again.
    let on_access_changed = {
        let (saved, on_saved) = (saved.clone(), props.on_saved.clone());
        Callback::from(move |settings: NodeSettings| {
            saved.set(Some(settings));
            on_saved.emit(());
        })
    };

    let finish = {
        let (form, saved, errors, notice, busy, on_saved) = (
            form.clone(),
            saved.clone(),
            errors.clone(),
            notice.clone(),
            busy.clone(),
            props.on_saved.clone(),
        );
        move |result: Result<SaveOutcome, UserError>| {
            busy.set(false);
            match result {
                Ok(SaveOutcome::Saved { settings }) => {
                    saved.set(Some(settings.clone()));
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
            let Some(settings) = (*form).clone() else {
                return;
            };
            busy.set(true);
            let finish = finish.clone();
            spawn_local(async move {
                finish(ipc::call::<SaveSettings>(&SaveSettingsArgs { settings }).await)
            });
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
            if let Some(wallet) = &props.wallet {
                <SecuritySettings quick_unlock={wallet.quick_unlock} idle_minutes={wallet.idle_minutes}
                                  on_changed={props.on_wallet_changed.clone()} />
            }
            <form class="form" {onsubmit} novalidate=true>
                <fieldset disabled={*busy}>
                    <legend>{ "Nodes" }</legend>
                    { text_field("ipfs-url", "IPFS node (RPC API)", "http://127.0.0.1:5001",
                        &current.ipfs_url, errors.ipfs_url.as_deref(),
                        field(|s, v| s.ipfs_url = v)) }
                    { plain_http_check("settings-ipfs-plain", &current.ipfs_url, &current.plain_http_hosts, allow_plain.clone()) }
                    { text_field("ledger-url", "Ledger node (JSON-RPC)", "http://127.0.0.1:8545",
                        &current.ledger_url, errors.ledger_url.as_deref(),
                        field(|s, v| s.ledger_url = v)) }
                    { plain_http_check("settings-ledger-plain", &current.ledger_url, &current.plain_http_hosts, allow_plain) }
                    { text_field("contract-address", "Ledger contract address", "0x…",
                        current.contract_address.as_deref().unwrap_or_default(), errors.contract_address.as_deref(),
                        field(|s, v| s.contract_address = Some(v).filter(|v| !v.trim().is_empty()))) }
                    { lines_field("settings-ledger-witnesses", "Ledger nodes to check against", "one per line, e.g. https://validator2.consortium.example:8545",
                        "The ledger's other nodes (the consortium's other validators). The audit trail is read from the ledger node above and each entry's block is checked against these: an entry says how many nodes hold it, and a block they disagree about is shown in red.",
                        &current.ledger_witnesses, errors.ledger_witnesses.as_deref(),
                        lines(|s, v| s.ledger_witnesses = v)) }
                    { lines_field("settings-ipfs-peers", "IPFS peers", "one per line, e.g. /ip4/203.0.113.7/tcp/4001/p2p/12D3KooW…",
                        "Nodes your IPFS node keeps connected to — your clinic's, the consortium's. Blocks are found through them; there is no public DHT.",
                        &current.ipfs_peers, errors.ipfs_peers.as_deref(),
                        lines(|s, v| s.ipfs_peers = v)) }
                    { lines_field("settings-replicas", "Replica nodes", "one per line, e.g. https://ipfs.clinic.example:5001",
                        "Other IPFS nodes that keep a copy of every record: your clinic's node, a family member's, a pinning service. Each record is pinned there after it is uploaded.",
                        &current.replicas, errors.replicas.as_deref(),
                        lines(|s, v| s.replicas = v)) }
                    { lines_field("settings-plain-hosts", "Hosts allowed without TLS", "one per line, e.g. node.clinic.example",
                        "Advanced: other computers whose nodes may be reached over plain http:// (this computer always may), a replica's or another ledger node's host too. Everything sent to them, a token too, crosses the network unencrypted; use https:// where the node has it.",
                        &current.plain_http_hosts, errors.plain_http_hosts.as_deref(),
                        lines(|s, v| s.plain_http_hosts = v)) }
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
            <TrustedCa ca={stored.extra_ca.clone()} on_changed={on_access_changed.clone()} />
            <NodeCredentials credentials={stored.credentials.clone()} nodes={node_choices(&stored)}
                             unlocked={props.wallet.is_some()} on_changed={on_access_changed} />
            if props.wallet.is_some() { { rebuild_section() } }
            <DiagnosticsSection />
        </section>
    }
}

/// Rebuild from the ledger: what it does, the button and the progress.
fn rebuild_section() -> Html {
    html! {
        <div class="form rebuild-section"><fieldset>
            <legend>{ "Rebuild from the ledger" }</legend>
            <p class="muted">{ "Reads this wallet's records, grants, groups and keys back from the ledger and the IPFS node. It only reads: nothing is written to the ledger." }</p>
            <RebuildProgress offer_start=true />
        </fieldset></div>
    }
}

fn text_field(
    id: &'static str,
    label: &'static str,
    placeholder: &'static str,
    value: &str,
    error: Option<&str>,
    oninput: Callback<InputEvent>,
) -> Html {
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

/// A list field: a textarea, one entry per line, with what it is for and its error.
fn lines_field(
    id: &'static str,
    label: &'static str,
    placeholder: &'static str,
    help: &'static str,
    value: &[String],
    error: Option<&str>,
    oninput: Callback<InputEvent>,
) -> Html {
    let help_id = format!("{id}-help");
    let error_id = format!("{id}-error");
    let described_by = match error {
        Some(_) => format!("{help_id} {error_id}"),
        None => help_id.clone(),
    };
    html! {
        <div class={classes!("field", error.map(|_| "invalid"))}>
            <label for={id}>{ label }</label>
            <textarea {id} rows="3" spellcheck="false" autocomplete="off" wrap="off" {placeholder}
                      value={lines_to_text(value)} {oninput}
                      aria-invalid={error.map(|_| "true")}
                      aria-describedby={described_by} />
            <p id={help_id} class="field-help">{ help }</p>
            if let Some(error) = error {
                <p id={error_id} class="field-error" role="alert">{ error }</p>
            }
        </div>
    }
}

/// The textarea's text as a list, one entry per line, as typed: joined again it is the
/// same text. An empty textarea is an empty list.
fn text_to_lines(text: &str) -> Vec<String> {
    if text.is_empty() {
        return Vec::new();
    }
    text.split('\n').map(str::to_owned).collect()
}

/// A list as the textarea shows it.
fn lines_to_text(lines: &[String]) -> String {
    lines.join("\n")
}

fn error_box(error: &UserError) -> Html {
    html! {
        <div class="notice error" role="alert">
            <p>{ &error.message }</p>
            if let Some(hint) = &error.hint { <p class="hint">{ hint }</p> }
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct SecurityProps {
    quick_unlock: bool,
    idle_minutes: u32,
    on_changed: Callback<()>,
}

/// Passphrase, quick unlock, auto-lock, a new printable kit.
#[function_component(SecuritySettings)]
fn security_settings(props: &SecurityProps) -> Html {
    use medwallet_api::commands::{
        ChangePassphrase, ChangePassphraseArgs, ExportKit, SetIdleTimeout, SetIdleTimeoutArgs,
        SetQuickUnlock, SetQuickUnlockArgs,
    };

    use crate::components::form::Input;
    use crate::components::strength_meter::{use_passphrase_rating, StrengthMeter};

    let old = use_state(String::new);
    let new = use_state(String::new);
    let accept_weak = use_state(|| false);
    let minutes = use_state(|| props.idle_minutes.to_string());
    let notice = use_state(|| None::<String>);
    let error = use_state(|| None::<UserError>);

    let report = use_passphrase_rating((*new).clone(), String::new());
    let weak = report.as_ref().is_some_and(|r| r.weak);
    let done = {
        let (notice, error, changed) = (notice.clone(), error.clone(), props.on_changed.clone());
        move |result: Result<String, UserError>| match result {
            Ok(text) => {
                error.set(None);
                notice.set(Some(text));
                changed.emit(());
            }
            Err(e) => {
                notice.set(None);
                error.set(Some(e));
            }
        }
    };
    let change = {
        let (old, new, accept_weak, done) =
            (old.clone(), new.clone(), accept_weak.clone(), done.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let args = ChangePassphraseArgs {
                old_passphrase: (*old).clone(),
                new_passphrase: (*new).clone(),
                accept_weak: *accept_weak,
            };
            let (old, new, done) = (old.clone(), new.clone(), done.clone());
            spawn_local(async move {
                let r = ipc::call::<ChangePassphrase>(&args).await;
                if r.is_ok() {
                    old.set(String::new());
                    new.set(String::new());
                }
                done(r.map(|_| "Passphrase changed. Use the new one from now on.".to_owned()));
            });
        })
    };
    let toggle_quick = {
        let (enabled, done) = (!props.quick_unlock, done.clone());
        Callback::from(move |_| {
            let done = done.clone();
            spawn_local(async move {
                let r = ipc::call::<SetQuickUnlock>(&SetQuickUnlockArgs { enabled }).await;
                done(r.map(|_| {
                    if enabled {
                        "Quick unlock is on."
                    } else {
                        "Quick unlock is off."
                    }
                    .to_owned()
                }));
            });
        })
    };
    let save_minutes = {
        let (minutes, done) = (minutes.clone(), done.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let done = done.clone();
            let Ok(m) = minutes.trim().parse::<u32>() else {
                done(Err(UserError::new(
                    "The time before locking must be a number of minutes.",
                    "Type a number from 1 to 120.",
                )));
                return;
            };
            spawn_local(async move {
                let r = ipc::call::<SetIdleTimeout>(&SetIdleTimeoutArgs { minutes: m }).await;
                done(r.map(|_| format!("medwallet now locks after {m} minutes without use.")));
            });
        })
    };
    let export = {
        let done = done.clone();
        Callback::from(move |_| {
            let done = done.clone();
            spawn_local(async move {
                let r = ipc::call::<ExportKit>(&NoArgs {}).await;
                done(r.map(|f| format!("A new printable Emergency Kit was saved to {}.", f.path)));
            });
        })
    };
    html! {
        <div class="security">
            <form class="form" onsubmit={change} novalidate=true>
                <fieldset>
                    <legend>{ "Change passphrase" }</legend>
                    <Input id="old-passphrase" kind="password" autocomplete="current-password" label="Current passphrase"
                           value={(*old).clone()} oninput={ let h = old.clone(); Callback::from(move |v| h.set(v)) } />
                    <Input id="new-passphrase" kind="password" autocomplete="new-password" label="New passphrase"
                           value={(*new).clone()} oninput={ let h = new.clone(); Callback::from(move |v| h.set(v)) } />
                    <StrengthMeter report={report.clone()} />
                    if weak {
                        <label class="check">
                            <input type="checkbox" id="new-accept-weak" checked={*accept_weak}
                                   onchange={ let a = accept_weak.clone(); Callback::from(move |_| a.set(!*a)) } />
                            { " Keep this weak passphrase anyway" }
                        </label>
                    }
                    <div class="actions">
                        <button id="change-passphrase" type="submit" class="primary" disabled={weak && !*accept_weak}>{ "Change passphrase" }</button>
                    </div>
                </fieldset>
            </form>
            <form class="form" onsubmit={save_minutes} novalidate=true>
                <fieldset>
                    <legend>{ "Locking" }</legend>
                    <div class="field">
                        <label for="idle-minutes">{ "Lock after this many minutes without use" }</label>
                        <input id="idle-minutes" type="number" min="1" max="120" value={(*minutes).clone()}
                               oninput={ let h = minutes.clone(); Callback::from(move |e: InputEvent| h.set(e.target_unchecked_into::<HtmlInputElement>().value())) } />
                    </div>
                    <div class="actions"><button id="save-idle" type="submit">{ "Save" }</button></div>
                    <label class="check">
                        <input type="checkbox" id="quick-unlock-toggle" checked={props.quick_unlock} onchange={toggle_quick} />
                        { " Quick unlock: keep the key in the system keyring, so this computer's login unlocks medwallet" }
                    </label>
                </fieldset>
            </form>
            <div class="form"><fieldset>
                <legend>{ "Emergency Kit" }</legend>
                <p class="muted">{ "Save a new printable copy of your recovery words (for example if the paper is lost). The page is saved as a file; it is not shown here." }</p>
                <button id="settings-export-kit" onclick={export}>{ "Save a new printable kit" }</button>
            </fieldset></div>
            if let Some(text) = &*notice { <p id="security-notice" class="notice ok" role="status">{ text }</p> }
            if let Some(e) = &*error { { error_box(e) } }
        </div>
    }
}

#[derive(Clone, PartialEq)]
enum Copying {
    Idle,
    Copied,
    Failed(UserError),
}

/// Where the log is, and a button that copies the diagnostics report (versions, node
/// health, the last log lines) for a bug report.
#[function_component(DiagnosticsSection)]
fn diagnostics_section() -> Html {
    use medwallet_api::commands::GetDiagnostics;
    use medwallet_api::Diagnostics;

    use crate::components::clipboard::copy_text;
    use crate::components::form;

    let report = use_state(|| None::<Result<Diagnostics, UserError>>);
    let copying = use_state(|| Copying::Idle);
    // Bumped after each copy: the report is read again so the next copy has the newest lines.
    let generation = use_state(|| 0u32);
    {
        let report = report.clone();
        use_effect_with(*generation, move |generation| {
            let first = *generation == 0;
            spawn_local(async move {
                match ipc::call::<GetDiagnostics>(&NoArgs {}).await {
                    Ok(fresh) => report.set(Some(Ok(fresh))),
                    // A failed refresh keeps the report already shown.
                    Err(error) if first => report.set(Some(Err(error))),
                    Err(_) => {}
                }
            });
        });
    }
    let body = match &*report {
        None => html! {
            <p class="busy" role="status"><span class="spinner" aria-hidden="true"></span>{ "Reading the log…" }</p>
        },
        Some(Err(error)) => form::error_box("diagnostics-error", error),
        Some(Ok(d)) => {
            // The text is copied at once, in the click: the webview allows writing to the
            // clipboard only while it handles the user's gesture.
            let onclick = {
                let (copying, generation, text) =
                    (copying.clone(), generation.clone(), d.text.clone());
                Callback::from(move |_| {
                    let (copying, generation, text) =
                        (copying.clone(), generation.clone(), text.clone());
                    spawn_local(async move {
                        match copy_text(&text).await {
                            Ok(()) => {
                                copying.set(Copying::Copied);
                                generation.set(*generation + 1);
                            }
                            Err(error) => copying.set(Copying::Failed(error)),
                        }
                    });
                })
            };
            html! {
                <>
                    <p>{ "Log folder: " }<code id="log-path" class="id-value">{ &d.log_path }</code></p>
                    <div class="actions">
                        <button id="copy-diagnostics" type="button" {onclick}>
                            { if *copying == Copying::Copied { "Copied ✓" } else { "Copy diagnostics" } }
                        </button>
                    </div>
                    if let Copying::Failed(error) = &*copying { { form::error_box("diagnostics-copy-error", error) } }
                    <details>
                        <summary>{ "What is copied" }</summary>
                        <pre id="diagnostics-text" class="viewer-text" tabindex="0">{ &d.text }</pre>
                    </details>
                </>
            }
        }
    };
    html! {
        <div class="form diagnostics"><fieldset>
            <legend>{ "Diagnostics" }</legend>
            <p class="muted">{ "For a bug report: medwallet's version, your system, the nodes' health and the last 200 lines of the log. It holds no keys, passphrases, recovery words or record contents." }</p>
            { body }
        </fieldset></div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip_as_typed() {
        for text in ["", "a", "a\n", "a\n\nb", "\n", " /ip4/1.2.3.4 \r\nb"] {
            assert_eq!(lines_to_text(&text_to_lines(text)), text);
        }
        assert!(text_to_lines("").is_empty());
        assert_eq!(text_to_lines("a\n\nb"), ["a", "", "b"]);
        assert_eq!(lines_to_text(&["x".into(), "y".into()]), "x\ny");
    }
}
