//! Keys: the wallet's public identity, to share, and its signed share code; for a
//! patient, a one-time check-in code for a clinic's front desk, as a QR code.

use medwallet_api::commands::{GetShareCode, MakeCheckInCode};
use medwallet_api::{
    CheckInCode, CheckInRequest, Identity, NoArgs, RecordSummary, Role, ShareCodeText, UserError,
};
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::components::clipboard::copy_text;
use crate::components::form::error_box;
use crate::components::identity::IdentityCard;
use crate::components::ledger::local_time;
use crate::components::record_search::use_found_records;
use crate::ipc;

/// Props of [`KeysPage`].
#[derive(Properties, PartialEq)]
pub struct Props {
    /// The unlocked wallet.
    pub identity: Identity,
}

/// The wallet's address and public keys, and its share code.
#[function_component(KeysPage)]
pub fn keys_page(props: &Props) -> Html {
    html! {
        <section class="page" aria-labelledby="keys-title">
            <h1 id="keys-title">{ "Keys" }</h1>
            <IdentityCard identity={props.identity.clone()} />
            <ShareCodeCard />
            if props.identity.role == Role::Patient { <CheckInCodeCard /> }
        </section>
    }
}

/// The share code: everything above, signed by this wallet, for the ledger's chain.
#[function_component(ShareCodeCard)]
fn share_code_card() -> Html {
    let code = use_state(|| None::<Result<ShareCodeText, UserError>>);
    let copied = use_state(|| false);
    {
        let code = code.clone();
        use_effect_with((), move |_| {
            spawn_local(async move {
                code.set(Some(ipc::call::<GetShareCode>(&NoArgs {}).await));
            });
        });
    }
    let body = match &*code {
        None => {
            html! { <p class="busy" role="status"><span class="spinner" aria-hidden="true"></span>{ "Signing your share code…" }</p> }
        }
        Some(Err(e)) => error_box("share-code-error", e),
        Some(Ok(c)) => {
            let onclick = {
                let (copied, text) = (copied.clone(), c.code.clone());
                Callback::from(move |_| {
                    let (copied, text) = (copied.clone(), text.clone());
                    spawn_local(async move {
                        if copy_text(&text).await.is_ok() {
                            copied.set(true);
                        }
                    });
                })
            };
            html! {
                <>
                    <code id="share-code" class="id-value share-code">{ &c.code }</code>
                    <p class="muted">{ format!("For ledger chain {}.", c.chain_id) }</p>
                    <button id="copy-share-code" class="small" {onclick}>{ if *copied { "Copied ✓" } else { "Copy share code" } }</button>
                </>
            }
        }
    };
    html! {
        <section class="card share-code-card" aria-labelledby="share-code-title">
            <h2 id="share-code-title">{ "Share code" }</h2>
            <p class="muted">{ "Your address and public keys, signed by this wallet. Someone who shares records with you can paste it instead of your address; their wallet checks the signature against the key you published on the ledger." }</p>
            { body }
        </section>
    }
}

/// How long a check-in code lasts: its choices, in minutes.
const CHECK_IN_MINUTES: [(&str, u32); 4] = [
    ("15 minutes", 15),
    ("1 hour", 60),
    ("4 hours", 240),
    ("1 day", 1440),
];

#[derive(Clone, PartialEq)]
enum Making {
    Idle,
    Busy,
    Made(CheckInCode),
    Failed(UserError),
}

/// Records the check-in card offers at a time (a search finds the others).
const CHECK_IN_OFFERED: u32 = 50;

/// A one-time check-in code for a front desk: the records the desk may open until it
/// expires, shown as a QR code and as text.
#[function_component(CheckInCodeCard)]
fn check_in_code_card() -> Html {
    // The records offered: those whose title has the search in it, a few at a time (the
    // shell searches; a wallet of thousands is never listed whole here).
    let search = use_state(String::new);
    let found = use_found_records((*search).clone(), CHECK_IN_OFFERED);
    // Chosen records (id, title), kept while the search changes.
    let chosen = use_state(Vec::<(String, String)>::new);
    let minutes = use_state(|| 60u32);
    let state = use_state(|| Making::Idle);
    let toggle = |id: String, title: String| {
        let chosen = chosen.clone();
        Callback::from(move |_| {
            let mut now = (*chosen).clone();
            match now.iter().position(|(c, _)| *c == id) {
                Some(i) => {
                    now.remove(i);
                }
                None => now.push((id.clone(), title.clone())),
            }
            chosen.set(now);
        })
    };
    let on_search = {
        let search = search.clone();
        Callback::from(move |e: InputEvent| {
            search.set(
                e.target_unchecked_into::<web_sys::HtmlInputElement>()
                    .value(),
            )
        })
    };
    let on_minutes = {
        let minutes = minutes.clone();
        Callback::from(move |e: Event| {
            let value = e
                .target_unchecked_into::<web_sys::HtmlSelectElement>()
                .value();
            if let Ok(m) = value.parse() {
                minutes.set(m);
            }
        })
    };
    let make = {
        let (chosen, minutes, state) = (chosen.clone(), minutes.clone(), state.clone());
        Callback::from(move |_| {
            let args = CheckInRequest {
                record_ids: chosen.iter().map(|(id, _)| id.clone()).collect(),
                valid_minutes: *minutes,
            };
            let state = state.clone();
            state.set(Making::Busy);
            spawn_local(async move {
                state.set(match ipc::call::<MakeCheckInCode>(&args).await {
                    Ok(code) => Making::Made(code),
                    Err(e) => Making::Failed(e),
                });
            });
        })
    };
    let busy = *state == Making::Busy;
    let registered =
        |r: &&RecordSummary| matches!(r.ledger, medwallet_api::LedgerMark::Registered { .. });
    // The chosen ones first (they stay whatever the search), then those found.
    let offered: Vec<(String, String)> = chosen
        .iter()
        .cloned()
        .chain(
            found
                .iter()
                .flat_map(|p| p.records.iter())
                .filter(registered)
                .filter(|r| !chosen.iter().any(|(id, _)| *id == r.id))
                .map(|r| (r.id.clone(), r.title.clone())),
        )
        .collect();
    let many = found.as_ref().is_some_and(|p| p.total > CHECK_IN_OFFERED) || !search.is_empty();
    let shown = match &*state {
        Making::Idle => html! {},
        Making::Busy => html! {
            <p class="busy" role="status"><span class="spinner" aria-hidden="true"></span>{ "Making the check-in code…" }</p>
        },
        Making::Failed(e) => error_box("checkin-code-error", e),
        Making::Made(c) => html! {
            <div class="checkin-code">
                <div id="checkin-qr" class="qr" role="img" aria-label="QR code of the check-in code">
                    { Html::from_html_unchecked(AttrValue::from(c.qr_svg.clone())) }
                </div>
                <p id="checkin-expires">{ format!("A desk can read it once, until {}; {} to open once you allow it.",
                    local_time(&c.expires_at),
                    match c.records { 0 => "no record".to_owned(), 1 => "1 record".to_owned(), n => format!("{n} records") }) }</p>
                <details>
                    <summary>{ "The code as text" }</summary>
                    <code id="checkin-code-text" class="id-value share-code">{ &c.code }</code>
                </details>
                <p class="hint muted">{ "The code opens nothing by itself: when a desk reads it, your wallet asks you here, naming the desk, and shares only if you allow it. Decline a desk you did not show it to." }</p>
            </div>
        },
    };
    html! {
        <section class="card checkin-code-card" aria-labelledby="checkin-code-title">
            <h2 id="checkin-code-title">{ "Check in at a front desk" }</h2>
            <p class="muted">{ "A one-time code for a clinic's desk: it tells them who you are. When they read it, your wallet asks you; if you allow it, they may open the records you choose for the time you choose, and add records they make for you (lab results) to your wallet." }</p>
            if !offered.is_empty() || many {
                <fieldset class="checkin-records">
                    <legend>{ "Records the desk may open" }</legend>
                    if many {
                        <div class="field">
                            <label for="checkin-record-search">{ "Find a record by title" }</label>
                            <input id="checkin-record-search" type="search" value={(*search).clone()} oninput={on_search}
                                   autocomplete="off" spellcheck="false" disabled={busy} />
                        </div>
                    }
                    { for offered.iter().map(|(id, title)| html! {
                        <label class="checkin-record" key={id.clone()}>
                            <input type="checkbox" data-record-id={id.clone()} checked={chosen.iter().any(|(c, _)| c == id)}
                                   onchange={toggle(id.clone(), title.clone())} disabled={busy} />
                            { format!(" {title}") }
                        </label>
                    }) }
                </fieldset>
            }
            <div class="field">
                <label for="checkin-minutes">{ "Valid for" }</label>
                <select id="checkin-minutes" onchange={on_minutes} disabled={busy}>
                    { for CHECK_IN_MINUTES.iter().map(|(label, m)| html! {
                        <option value={m.to_string()} selected={*minutes == *m}>{ *label }</option>
                    }) }
                </select>
            </div>
            <button id="checkin-make" type="button" onclick={make} disabled={busy}>{ "Make check-in code" }</button>
            { shown }
        </section>
    }
}
