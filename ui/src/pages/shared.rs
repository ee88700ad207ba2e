//! Shared (patient): every grant of the wallet's records, its state on the ledger, and
//! revocation with its exposure report. Read again every 10 s while shown, so queued
//! grants and revocations are seen going out.

use std::rc::Rc;

use gloo_timers::callback::Interval;
use medwallet_api::commands::{GrantArgs, ListGrants, RevokeGrant};
use medwallet_api::{ExposureReport, GrantState, GrantSummary, NoArgs, UserError};
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::components::form::error_box;
use crate::components::ledger::local_time;
use crate::ipc;

const REFRESH_MS: u32 = 10_000;

/// Which grant is asked to confirm its revocation, or being revoked: (record, grantee,
/// clause of a role grant).
type GrantKey = (String, String, Option<String>);

/// The Shared page.
#[function_component(SharedPage)]
pub fn shared_page() -> Html {
    let grants = use_state_eq(|| None::<Rc<Vec<GrantSummary>>>);
    let error = use_state_eq(|| None::<UserError>);
    let confirming = use_state_eq(|| None::<GrantKey>);
    let revoking = use_state_eq(|| None::<GrantKey>);
    let load = {
        let (grants, error) = (grants.clone(), error.clone());
        use_callback((), move |(), _| {
            let (grants, error) = (grants.clone(), error.clone());
            spawn_local(async move {
                match ipc::call::<ListGrants>(&NoArgs {}).await {
                    Ok(list) => {
                        error.set(None);
                        grants.set(Some(Rc::new(list)));
                    }
                    Err(e) => error.set(Some(e)),
                }
            });
        })
    };
    {
        let load = load.clone();
        use_effect_with((), move |_| {
            load.emit(());
            let timer = Interval::new(REFRESH_MS, move || load.emit(()));
            move || drop(timer)
        });
    }
    let on_ask = {
        let confirming = confirming.clone();
        Callback::from(move |key: Option<GrantKey>| confirming.set(key))
    };
    let on_revoke = {
        let (confirming, revoking, error, load) = (
            confirming.clone(),
            revoking.clone(),
            error.clone(),
            load.clone(),
        );
        Callback::from(move |key: GrantKey| {
            let (revoking, error, load) = (revoking.clone(), error.clone(), load.clone());
            confirming.set(None);
            revoking.set(Some(key.clone()));
            let (record_id, grantee, clause) = key;
            spawn_local(async move {
                let args = GrantArgs {
                    record_id,
                    grantee,
                    clause,
                };
                if let Err(e) = ipc::call::<RevokeGrant>(&args).await {
                    error.set(Some(e));
                }
                revoking.set(None);
                load.emit(());
            });
        })
    };
    let body = match &*grants {
        None => {
            html! { <p class="busy" role="status"><span class="spinner" aria-hidden="true"></span>{ "Loading grants…" }</p> }
        }
        Some(list) if list.is_empty() => html! {
            <p id="grants-empty" class="muted">{ "Nothing is shared yet. On the Records page, choose Share on a record." }</p>
        },
        Some(list) => html! {
            <ul id="grants-list" class="record-list grant-list">
                { for list.iter().map(|g| grant_row(g, &confirming, &revoking, &on_ask, &on_revoke)) }
            </ul>
        },
    };
    html! {
        <section class="page wide shared-page" aria-labelledby="shared-title">
            <h1 id="shared-title">{ "Shared" }</h1>
            <p class="muted">{ "Who can read which record. Revoking re-encrypts the record under a new key without that person, and reports what they could have fetched before." }</p>
            if let Some(e) = &*error { { error_box("grants-error", e) } }
            { body }
        </section>
    }
}

fn grant_row(
    g: &GrantSummary,
    confirming: &Option<GrantKey>,
    revoking: &Option<GrantKey>,
    on_ask: &Callback<Option<GrantKey>>,
    on_revoke: &Callback<GrantKey>,
) -> Html {
    let key = (
        g.record_id.clone(),
        g.grantee.clone(),
        g.clause.as_ref().map(|c| c.clause.clone()),
    );
    let (state, label, reason) = match &g.state {
        GrantState::Sending { reason } => ("sending", "Queued", reason.clone()),
        GrantState::Active if g.expired => ("expired", "Expired", None),
        GrantState::Active => ("active", "Active", None),
        GrantState::Revoking { reason } => ("revoking", "Revoking…", reason.clone()),
        GrantState::Revoked => ("revoked", "Revoked", None),
    };
    let open = matches!(g.state, GrantState::Sending { .. } | GrantState::Active);
    let busy = revoking.as_ref() == Some(&key);
    let actions = if busy {
        html! { <p class="busy grant-busy" role="status"><span class="spinner" aria-hidden="true"></span>{ "Re-encrypting and revoking…" }</p> }
    } else if confirming.as_ref() == Some(&key) {
        let yes = {
            let (cb, key) = (on_revoke.clone(), key.clone());
            Callback::from(move |_| cb.emit(key.clone()))
        };
        let no = {
            let cb = on_ask.clone();
            Callback::from(move |_| cb.emit(None))
        };
        html! {
            <div class="grant-confirm" role="group" aria-label="Confirm revocation">
                <span>{ "Re-encrypt this record without them?" }</span>
                <button type="button" class="small danger grant-revoke-confirm" onclick={yes}>{ "Revoke" }</button>
                <button type="button" class="small grant-revoke-keep" onclick={no}>{ "Keep" }</button>
            </div>
        }
    } else if open {
        let ask = {
            let (cb, key) = (on_ask.clone(), key.clone());
            Callback::from(move |_| cb.emit(Some(key.clone())))
        };
        html! {
            <button type="button" class="small grant-revoke" onclick={ask}
                    aria-label={format!("Revoke {}'s access to {}", g.grantee, g.record_title)}>{ "Revoke…" }</button>
        }
    } else {
        html! {}
    };
    html! {
        <li key={format!("{}-{}-{:?}-{}", g.record_id, g.grantee, g.clause, g.requested_at)} class="record-row grant-row"
            data-record-id={g.record_id.clone()} data-grantee={g.grantee.clone()} data-state={state}>
            <div class="record-main">
                <span class="record-title">{ &g.record_title }</span>
                <span class="record-meta">
                    if let Some(c) = &g.clause {
                        <span class="grant-role">{ format!("{} at clinic ", c.words) }<code class="grantee">{ &g.grantee }</code></span>
                    } else {
                        <span>{ "with " }<code class="grantee">{ &g.grantee }</code></span>
                    }
                    <span>{ format!("asked {}", local_time(&g.requested_at)) }</span>
                    <span>{ match &g.expires_at { Some(t) => format!("until {}", local_time(t)), None => "no expiry".to_owned() } }</span>
                </span>
                if let Some(r) = reason { <span class="grant-reason muted">{ r }</span> }
                if let Some(report) = &g.exposure { { exposure(report) } }
            </div>
            <span class={classes!("badge", "grant-state", state)} title={label}>{ label }</span>
            { actions }
        </li>
    }
}

fn exposure(r: &ExposureReport) -> Html {
    html! {
        <details class="exposure" open=true>
            <summary>{ "Exposure report" }</summary>
            <p class="exposure-summary">{ &r.summary }</p>
            if !r.versions.is_empty() {
                <ul>
                    { for r.versions.iter().map(|v| html! {
                        <li>{ format!("Version {}: from {} to {}", v.version, local_time(&v.from), local_time(&v.until)) }</li>
                    }) }
                </ul>
            }
        </details>
    }
}
