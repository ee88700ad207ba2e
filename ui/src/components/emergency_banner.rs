//! The patient's red banner: emergency openings of their records not marked seen yet, at
//! the top of every page. The background pass finds them on the ledger (and the shell
//! notifies the OS); the banner lists which record, who opened it, for which clinic and
//! when, until the patient clicks "Seen". Polled every few seconds, like the rebuild's
//! progress; the read is not activity, so a wallet left open still locks.

use std::cell::Cell;
use std::rc::Rc;

use gloo_timers::callback::Interval;
use medwallet_api::commands::{AcknowledgeEmergencyAlerts, EmergencyAlerts};
use medwallet_api::{AcknowledgeAlertsArgs, EmergencyAlert, NoArgs, UserError};
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::components::form::error_box;
use crate::components::ledger::{local_time, short_hex};
use crate::ipc;

/// How often the alerts are read (the background pass runs every 10 s).
const POLL_MS: u32 = 4_000;

/// Props of [`EmergencyBanner`].
#[derive(Properties, PartialEq)]
pub struct Props {
    /// Opens the Audit page (its emergency accesses are listed first).
    pub on_audit: Callback<()>,
}

/// The banner; nothing while every opening has been seen.
#[function_component(EmergencyBanner)]
pub fn emergency_banner(props: &Props) -> Html {
    let alerts = use_state_eq(Vec::<EmergencyAlert>::new);
    let error = use_state_eq(|| None::<UserError>);
    let busy = use_state_eq(|| false);
    // Bumped by "Seen": a read that started before it answers what was unseen then, and
    // is dropped, so a seen opening never flashes back.
    let generation: Rc<Cell<u32>> = use_memo((), |_| Cell::new(0));

    {
        let (alerts, generation) = (alerts.clone(), generation.clone());
        use_effect_with((), move |_| {
            let read = move || {
                let (alerts, generation) = (alerts.clone(), generation.clone());
                let started = generation.get();
                spawn_local(async move {
                    // Locked or offline: keep what is shown; the next read tries again.
                    if let Ok(found) = ipc::call::<EmergencyAlerts>(&NoArgs {}).await {
                        if generation.get() == started {
                            alerts.set(found);
                        }
                    }
                });
            };
            read();
            let timer = Interval::new(POLL_MS, read);
            move || drop(timer)
        });
    }

    if alerts.is_empty() {
        return html! {};
    }

    let seen = {
        let (alerts, error, busy, generation) = (
            alerts.clone(),
            error.clone(),
            busy.clone(),
            generation.clone(),
        );
        Callback::from(move |_: MouseEvent| {
            let ids: Vec<i64> = alerts.iter().map(|a| a.id).collect();
            let (alerts, error, busy, generation) = (
                alerts.clone(),
                error.clone(),
                busy.clone(),
                generation.clone(),
            );
            generation.set(generation.get().wrapping_add(1));
            busy.set(true);
            spawn_local(async move {
                let answer =
                    ipc::call::<AcknowledgeEmergencyAlerts>(&AcknowledgeAlertsArgs { ids }).await;
                // Reads that started while this ran are stale too.
                generation.set(generation.get().wrapping_add(1));
                match answer {
                    Ok(left) => {
                        error.set(None);
                        alerts.set(left);
                    }
                    Err(e) => error.set(Some(e)),
                }
                busy.set(false);
            });
        })
    };
    let audit = {
        let on_audit = props.on_audit.clone();
        Callback::from(move |_: MouseEvent| on_audit.emit(()))
    };
    let heading = if alerts.len() == 1 {
        "Emergency access to your records".to_owned()
    } else {
        format!("{} emergency openings of your records", alerts.len())
    };

    html! {
        <section id="emergency-banner" class="emergency-banner" role="alert" aria-labelledby="emergency-banner-title">
            <h2 id="emergency-banner-title">{ heading }</h2>
            <p>{ "A clinic's emergency staff opened your records through the emergency access you allowed, without asking you. If you did not expect it, see the Audit page and withdraw the clinic's emergency access on the Shared page." }</p>
            <ul>
                { for alerts.iter().map(opening) }
            </ul>
            { (*error).as_ref().map(|e| error_box("emergency-banner-error", e)).unwrap_or_default() }
            <div class="actions">
                <button id="emergency-seen" class="primary" disabled={*busy} onclick={seen}>{ "Seen" }</button>
                <button id="emergency-audit" class="link" onclick={audit}>{ "Open the Audit page" }</button>
            </div>
        </section>
    }
}

/// One opening: which record, who, for which clinic, when.
fn opening(a: &EmergencyAlert) -> Html {
    let record = a
        .record_title
        .clone()
        .unwrap_or_else(|| format!("record {}", short_hex(&a.record_id)));
    html! {
        <li class="emergency-opening" data-record={a.record_id.clone()} data-tx={a.tx_hash.clone()}>
            <strong class="emergency-record" title={a.record_id.clone()}>{ record }</strong>
            { " (version " }{ a.version }{ ") opened by " }
            <span class="emergency-accessor address" title={a.accessor.clone()}>{ &a.accessor }</span>
            { " for clinic " }
            <span class="emergency-clinic address" title={a.clinic.clone()}>{ &a.clinic }</span>
            { ", " }
            <time datetime={a.time.clone()}>{ local_time(&a.time) }</time>
            { format!(" (block {})", a.block_number) }
        </li>
    }
}
