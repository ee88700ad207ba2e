//! The patient's answer to a front desk: "St Mary's Hospital ✓ (0x…) wants to check you
//! in: allow Blood panel until 17:00?", on top of every patient page while a desk that
//! read one of their check-in codes waits. Nothing is granted before Allow; a desk the
//! consortium does not attest is named "unverified" with its address.
//!
//! Polled every 3 seconds (the read is not activity, so the wallet still auto-locks).

use std::cell::RefCell;
use std::rc::Rc;

use gloo_timers::callback::Timeout;
use medwallet_api::commands::{AnswerCheckIn, CheckInAsks};
use medwallet_api::{AnswerCheckInArgs, CheckInAsk, NoArgs, ProviderLabel, UserError};
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::components::form::error_box;
use crate::components::ledger::local_time;
use crate::ipc;

/// How a provider is named everywhere an address appears.
pub fn provider_name(p: &ProviderLabel) -> String {
    match &p.verified_name {
        Some(name) => format!(
            "{name} ✓ (verified by the network's admins, read from 1 node; {})",
            p.address
        ),
        None => format!("unverified: {}", p.address),
    }
}

/// The requests waiting for the patient's answer.
#[function_component(CheckInAsksBanner)]
pub fn check_in_asks_banner() -> Html {
    let asks = use_state_eq(Vec::<CheckInAsk>::new);
    let error = use_state_eq(|| None::<UserError>);
    let busy = use_state_eq(|| false);
    let tick = use_state(|| 0u32);
    {
        let (asks, tick) = (asks.clone(), tick.clone());
        use_effect_with(*tick, move |_| {
            let next = Rc::new(RefCell::new(None::<Timeout>));
            let keep = next.clone();
            spawn_local(async move {
                if let Ok(list) = ipc::call::<CheckInAsks>(&NoArgs {}).await {
                    asks.set(list);
                }
                let bump = tick.clone();
                *keep.borrow_mut() = Some(Timeout::new(3_000, move || bump.set(*bump + 1)));
            });
            move || drop(next.borrow_mut().take())
        });
    }
    let answer = |id: String, clinic: String, allow: bool| {
        let (asks, error, busy) = (asks.clone(), error.clone(), busy.clone());
        Callback::from(move |_| {
            let args = AnswerCheckInArgs {
                check_in_id: id.clone(),
                clinic: clinic.clone(),
                allow,
            };
            let (asks, error, busy) = (asks.clone(), error.clone(), busy.clone());
            busy.set(true);
            spawn_local(async move {
                match ipc::call::<AnswerCheckIn>(&args).await {
                    Ok(list) => {
                        error.set(None);
                        asks.set(list);
                    }
                    Err(e) => error.set(Some(e)),
                }
                busy.set(false);
            });
        })
    };
    let waiting: Vec<&CheckInAsk> = asks.iter().filter(|a| a.state == "asked").collect();
    // Answered here, not yet on the ledger: the background pass sends it.
    let sending: Vec<&CheckInAsk> = asks.iter().filter(|a| a.state == "answering").collect();
    if waiting.is_empty() && sending.is_empty() && error.is_none() {
        return html! {};
    }
    html! {
        <section id="checkin-asks" class="card checkin-asks" aria-live="polite" aria-labelledby="checkin-asks-title">
            <h2 id="checkin-asks-title">{ "A front desk asks to check you in" }</h2>
            if let Some(e) = &*error { { error_box("checkin-answer-error", e) } }
            <ul>
                { for waiting.iter().map(|a| {
                    let titles: Vec<&str> = a.records.iter().map(|(_, t)| t.as_str()).collect();
                    let what = if titles.is_empty() {
                        "no record to open".to_owned()
                    } else {
                        titles.join(", ")
                    };
                    html! {
                        <li class="checkin-ask" data-clinic={a.clinic.address.clone()}
                            data-verified={a.clinic.verified_name.is_some().to_string()}>
                            <p>
                                <strong class="checkin-ask-clinic">{ provider_name(&a.clinic) }</strong>
                                { format!(" wants to check you in: allow {what} until {}, and let it add records it makes for you until then?", local_time(&a.until)) }
                            </p>
                            <p class="checkin-ask-code">
                                { "Confirmation code " }<strong class="checkin-ask-confirmation">{ &a.confirmation }</strong>
                                { ": allow only if the desk's screen shows the same code." }
                            </p>
                            if a.clinic.verified_name.is_none() {
                                <p class="notice warning">{ "The network does not vouch for this address. If you did not just show your code at this desk, decline: someone may have photographed it." }</p>
                            }
                            <div class="actions">
                                <button class="checkin-allow" onclick={answer(a.check_in_id.clone(), a.clinic.address.clone(), true)} disabled={*busy}>{ "Allow" }</button>
                                <button class="checkin-decline secondary" onclick={answer(a.check_in_id.clone(), a.clinic.address.clone(), false)} disabled={*busy}>{ "Decline" }</button>
                            </div>
                        </li>
                    }
                }) }
                { for sending.iter().map(|a| html! {
                    <li class="checkin-ask checkin-sending" data-clinic={a.clinic.address.clone()}>
                        <p>{ format!("Your answer to {} is kept on this device and sent as soon as the ledger node answers.", provider_name(&a.clinic)) }</p>
                    </li>
                }) }
            </ul>
        </section>
    }
}
