//! Shared with me (doctor): the records patients shared with this wallet, found on the
//! ledger and decrypted up to their titles; opening one logs the access on the ledger
//! first (the patient sees it in their audit trail).

use std::rc::Rc;

use medwallet_api::commands::ListShared;
use medwallet_api::{NoArgs, SharedInbox, SharedRecord, UserError};
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::components::form::error_box;
use crate::components::format::human_size;
use crate::components::ledger::local_time;
use crate::components::rebuild::RebuildProgress;
use crate::components::record_viewer::RecordViewer;
use crate::ipc;

/// The record being opened.
#[derive(Clone, PartialEq)]
pub(crate) struct Viewing {
    pub id: AttrValue,
    pub title: AttrValue,
}

/// The Shared with me page.
#[function_component(SharedWithMePage)]
pub fn shared_with_me_page() -> Html {
    let inbox = use_state_eq(|| None::<Rc<SharedInbox>>);
    let error = use_state_eq(|| None::<UserError>);
    let loading = use_state_eq(|| false);
    let viewing = use_state(|| None::<Viewing>);
    let load = {
        let (inbox, error, loading) = (inbox.clone(), error.clone(), loading.clone());
        use_callback((), move |(), _| {
            let (inbox, error, loading) = (inbox.clone(), error.clone(), loading.clone());
            loading.set(true);
            spawn_local(async move {
                match ipc::call::<ListShared>(&NoArgs {}).await {
                    Ok(found) => {
                        error.set(None);
                        inbox.set(Some(Rc::new(found)));
                    }
                    Err(e) => error.set(Some(e)),
                }
                loading.set(false);
            });
        })
    };
    {
        let load = load.clone();
        use_effect_with((), move |_| load.emit(()));
    }
    let refresh = {
        let load = load.clone();
        Callback::from(move |_| load.emit(()))
    };
    let open = {
        let viewing = viewing.clone();
        Callback::from(move |v: Viewing| viewing.set(Some(v)))
    };
    let close = {
        let (viewing, load) = (viewing.clone(), load.clone());
        Callback::from(move |()| {
            viewing.set(None);
            load.emit(());
        })
    };
    let body = match &*inbox {
        None if error.is_none() => {
            html! { <p class="busy" role="status"><span class="spinner" aria-hidden="true"></span>{ "Reading the ledger for records shared with you…" }</p> }
        }
        None => html! {},
        Some(found) => html! {
            <>
                if found.records.is_empty() {
                    <p id="shared-empty" class="muted">{ "No record is shared with you. Give patients your address (Keys page) to share with you." }</p>
                } else {
                    <ul id="shared-list" class="record-list">
                        { for found.records.iter().map(|r| shared_row(r, &open)) }
                    </ul>
                }
                if !found.problems.is_empty() {
                    <div id="shared-problems" class="notice error" role="alert">
                        { for found.problems.iter().map(|p| html! { <p>{ p }</p> }) }
                    </div>
                }
            </>
        },
    };
    html! {
        <section class="page wide shared-page" aria-labelledby="shared-with-me-title">
            <h1 id="shared-with-me-title">{ "Shared with me" }</h1>
            <RebuildProgress on_done={load.clone()} />
            <div class="records-actions">
                <button id="shared-refresh" type="button" onclick={refresh} disabled={*loading}>
                    { if *loading { "Reading the ledger…" } else { "Refresh" } }
                </button>
            </div>
            if let Some(e) = &*error { { error_box("shared-error", e) } }
            { body }
            if let Some(v) = &*viewing {
                <RecordViewer record_id={v.id.clone()} title={v.title.clone()} on_close={close} shared=true />
            }
        </section>
    }
}

/// One shared record in a list, with its Open button.
pub(crate) fn shared_row(r: &SharedRecord, open: &Callback<Viewing>) -> Html {
    let onclick = {
        let (open, v) = (
            open.clone(),
            Viewing {
                id: r.record_id.clone().into(),
                title: r.title.clone().into(),
            },
        );
        Callback::from(move |_| open.emit(v.clone()))
    };
    html! {
        <li key={r.record_id.clone()} class="record-row shared-row" data-record-id={r.record_id.clone()}
            data-title={r.title.clone()} data-expired={r.expired.to_string()}
            data-emergency={r.emergency.to_string()} data-opened={r.opened.to_string()}>
            <div class="record-main">
                if r.opened || r.expired {
                    <span class="record-title">{ &r.title }</span>
                } else {
                    <span class="record-title muted"
                          title="Nothing of a shared record is decrypted before its opening is logged on the ledger: its title shows once you open it.">
                        { format!("Not opened yet · version {}", r.version) }
                    </span>
                }
                <span class="record-meta">
                    if !r.expired && r.opened {
                        <span>{ r.category.label() }</span>
                        <span><time datetime={r.date.clone()}>{ &r.date }</time></span>
                        <span>{ r.kind.label() }</span>
                        <span>{ human_size(r.size) }</span>
                    }
                    <span class="shared-owner">{ "from " }
                        { match &r.owner_label {
                            Some(label) => html! { { crate::components::check_in_asks::provider_name(label) } },
                            None => html! { <code>{ &r.owner }</code> },
                        } }
                    </span>
                    <span>{ format!("shared {}", local_time(&r.shared_at)) }</span>
                    if let Some(t) = &r.expires_at { <span>{ format!("until {}", local_time(t)) }</span> }
                </span>
            </div>
            if r.emergency {
                <span class="badge emergency" title="Shared with this clinic's emergency staff: opening it is logged as an emergency access, which the patient sees.">{ "Emergency" }</span>
            }
            if r.expired {
                <span class="badge grant-state expired">{ "Expired" }</span>
            } else {
                <button type="button" class="small shared-open" {onclick}
                        aria-label={format!("Open {} (the opening is logged on the ledger)", r.title)}>{ "Open" }</button>
            }
        </li>
    }
}
