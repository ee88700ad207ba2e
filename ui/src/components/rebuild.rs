//! A wallet's rebuild from the ledger and IPFS (after a restore from the Emergency Kit, or
//! asked for in Settings): where it is, with a progress bar, Cancel and Resume. Polled
//! every second while it runs or waits for the ledger node, every 10 s otherwise.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use gloo_timers::callback::Timeout;
use medwallet_api::commands::{CancelRebuild, GetRebuildStatus, RebuildWallet};
use medwallet_api::{NoArgs, RebuildStage, RebuildState, RebuildStatus, UserError};
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::components::form::error_box;
use crate::components::format::{count, thousands};
use crate::components::ledger::local_time;
use crate::components::progress::ProgressBar;
use crate::ipc;

/// How often the status is read while the rebuild runs or waits.
const ACTIVE_MS: u32 = 1_000;
/// How often otherwise (a rebuild may start by itself, or from another page).
const SETTLED_MS: u32 = 10_000;

/// Props of [`RebuildProgress`].
#[derive(Properties, PartialEq)]
pub struct Props {
    /// Called once when a rebuild this view saw running (or waiting, or cancelled) is done.
    #[prop_or_default]
    pub on_done: Callback<()>,
    /// Called with each new state (the first one read included).
    #[prop_or_default]
    pub on_state: Callback<RebuildState>,
    /// Offer "Rebuild from the ledger" when none runs (Settings); without it, nothing is
    /// shown while no rebuild was asked for.
    #[prop_or_default]
    pub offer_start: bool,
    /// The wallet, when the finished summary may be hidden (the Records page): hiding it is
    /// remembered on this computer for that run.
    #[prop_or_default]
    pub dismiss_for: Option<AttrValue>,
}

/// Is the rebuild moving (or about to)?
fn active(state: RebuildState) -> bool {
    matches!(state, RebuildState::Running | RebuildState::Waiting)
}

/// The state as the `data-state` attribute names it (as the API spells it).
fn state_name(state: RebuildState) -> &'static str {
    match state {
        RebuildState::Idle => "idle",
        RebuildState::Waiting => "waiting",
        RebuildState::Running => "running",
        RebuildState::Cancelled => "cancelled",
        RebuildState::Done => "done",
    }
}

/// The rebuild's progress, its summary once done, and its buttons.
#[function_component(RebuildProgress)]
pub fn rebuild_progress(props: &Props) -> Html {
    let status = use_state_eq(|| None::<RebuildStatus>);
    // A failed status read (shown where a rebuild can be started) or a refused action.
    let poll_error = use_state_eq(|| None::<UserError>);
    let action_error = use_state_eq(|| None::<UserError>);
    let busy = use_state_eq(|| false);
    // Bumped to read the status again (after an action, or when the next read is due);
    // each read schedules the next. The count is shared, so two bumps never coincide.
    let tick = use_state(|| 0u32);
    let ticks = use_mut_ref(|| 0u32);
    let bump = {
        let tick = tick.clone();
        Callback::from(move |()| {
            let next = {
                let mut n = ticks.borrow_mut();
                *n = n.wrapping_add(1);
                *n
            };
            tick.set(next);
        })
    };
    let hidden = use_state_eq(|| false);

    {
        let (status, poll_error, bump) = (status.clone(), poll_error.clone(), bump.clone());
        use_effect_with(*tick, move |_| {
            let alive = Rc::new(Cell::new(true));
            let next = Rc::new(RefCell::new(None::<Timeout>));
            {
                let (alive, next) = (alive.clone(), next.clone());
                spawn_local(async move {
                    let answer = ipc::call::<GetRebuildStatus>(&NoArgs {}).await;
                    // A later read (or the page going away) took over.
                    if !alive.get() {
                        return;
                    }
                    let delay = match &answer {
                        Ok(s) if active(s.state) => ACTIVE_MS,
                        _ => SETTLED_MS,
                    };
                    match answer {
                        Ok(s) => {
                            poll_error.set(None);
                            status.set(Some(s));
                        }
                        Err(e) => poll_error.set(Some(e)),
                    }
                    *next.borrow_mut() = Some(Timeout::new(delay, move || bump.emit(())));
                });
            }
            move || {
                alive.set(false);
                next.borrow_mut().take();
            }
        });
    }

    // Done after a state this view saw: the caller reloads what the rebuild brought back.
    let previous = use_mut_ref(|| None::<RebuildState>);
    {
        let (on_done, on_state) = (props.on_done.clone(), props.on_state.clone());
        use_effect_with((*status).as_ref().map(|s| s.state), move |state| {
            if let Some(state) = *state {
                let before = previous.borrow_mut().replace(state);
                if state == RebuildState::Done && before.is_some_and(|b| b != RebuildState::Done) {
                    on_done.emit(());
                }
                on_state.emit(state);
            }
        });
    }

    // Whether this run's summary was hidden on the Records page before.
    {
        let hidden = hidden.clone();
        let key = dismiss_key(props.dismiss_for.as_deref(), (*status).as_ref());
        use_effect_with(key, move |key| {
            hidden.set(key.as_deref().is_some_and(seen::get));
        });
    }

    let act = |start: bool| {
        let (status, action_error, busy, bump) = (
            status.clone(),
            action_error.clone(),
            busy.clone(),
            bump.clone(),
        );
        Callback::from(move |_: MouseEvent| {
            let (status, action_error, busy, bump) = (
                status.clone(),
                action_error.clone(),
                busy.clone(),
                bump.clone(),
            );
            busy.set(true);
            spawn_local(async move {
                let answer = if start {
                    ipc::call::<RebuildWallet>(&NoArgs {}).await
                } else {
                    ipc::call::<CancelRebuild>(&NoArgs {}).await
                };
                busy.set(false);
                match answer {
                    Ok(s) => {
                        action_error.set(None);
                        status.set(Some(s));
                    }
                    Err(e) => action_error.set(Some(e)),
                }
                // Read again now, at the pace the new state asks for.
                bump.emit(());
            });
        })
    };
    let start = act(true);
    let cancel = act(false);
    let hide = {
        let (hidden, key) = (
            hidden.clone(),
            dismiss_key(props.dismiss_for.as_deref(), (*status).as_ref()),
        );
        Callback::from(move |_: MouseEvent| {
            if let Some(key) = &key {
                seen::set(key);
            }
            hidden.set(true);
        })
    };

    let errors = html! {
        <>
            if let (true, Some(e)) = (props.offer_start, &*poll_error) { { error_box("rebuild-error", e) } }
            if let Some(e) = &*action_error { { error_box("rebuild-action-error", e) } }
        </>
    };
    let start_button = |label: &'static str| {
        html! {
            <button id="rebuild-start" type="button" onclick={start.clone()} disabled={*busy}>{ label }</button>
        }
    };

    let Some(s) = &*status else {
        return html! {
            <>
                if props.offer_start { { start_button("Rebuild from the ledger") } }
                { errors }
            </>
        };
    };
    let shown = match s.state {
        RebuildState::Idle => props.offer_start,
        RebuildState::Done => props.offer_start || !*hidden,
        _ => true,
    };
    if !shown {
        return errors;
    }

    let problem = s.problem.as_ref().map(|p| {
        html! { <p id="rebuild-problem" class="rebuild-problem">{ p }</p> }
    });
    let body = match s.state {
        RebuildState::Idle => html! {
            <>
                <p id="rebuild-text" class="muted">{ "No rebuild has run for this wallet on this computer." }</p>
                <div class="actions">{ start_button("Rebuild from the ledger") }</div>
            </>
        },
        RebuildState::Waiting => html! {
            <>
                <p id="rebuild-text">{ "Your keys are restored. The rest of the wallet is rebuilt from the ledger as soon as it can be; until then, nothing is sent to the ledger." }</p>
                { for problem }
            </>
        },
        RebuildState::Running => html! {
            <>
                { running(s) }
                { for problem }
                <div class="actions">
                    <button id="rebuild-cancel" type="button" onclick={cancel} disabled={*busy}>{ "Cancel" }</button>
                </div>
            </>
        },
        RebuildState::Cancelled => html! {
            <>
                <p id="rebuild-text">{ "Rebuild cancelled: what was read is kept. Sharing waits until the rebuild is resumed and done." }</p>
                { for problem }
                <div class="actions">{ start_button("Resume") }</div>
            </>
        },
        RebuildState::Done => html! {
            <>
                <p id="rebuild-text">
                    { done_summary(s) }
                    if let Some(at) = &s.finished_at {
                        <span class="muted rebuild-finished">{ " · finished " }<time datetime={at.clone()}>{ local_time(at) }</time></span>
                    }
                </p>
                { for problem }
                if props.offer_start {
                    <div class="actions">{ start_button("Rebuild again") }</div>
                } else if props.dismiss_for.is_some() {
                    <div class="actions">
                        <button id="rebuild-hide" type="button" class="small" onclick={hide}>{ "Hide" }</button>
                    </div>
                }
            </>
        },
    };
    let class = match s.state {
        RebuildState::Done if s.not_found > 0 || s.problem.is_some() => "notice warning",
        RebuildState::Done => "notice ok",
        RebuildState::Idle => "",
        _ => "notice info",
    };
    html! {
        <>
            <div id="rebuild-status" class={classes!("rebuild", class)} data-state={state_name(s.state)}
                 role="status" aria-live="polite">
                { body }
            </div>
            { errors }
        </>
    }
}

/// The running stage in words, with its bar.
fn running(s: &RebuildStatus) -> Html {
    let (label, done, total) = match s.stage {
        RebuildStage::ReadingLedger => {
            let found = count(s.records_found.into(), "record found", "records found");
            let label = if s.head > 0 {
                format!(
                    "Reading the ledger: block {} of {} · {found}",
                    thousands(s.block.min(s.head)),
                    thousands(s.head)
                )
            } else {
                format!("Reading the ledger… · {found}")
            };
            (label, s.block, s.head)
        }
        RebuildStage::OpeningRecords => {
            let seen = u64::from(s.records_opened) + u64::from(s.not_found);
            let mut label = format!(
                "Opening records from IPFS: {} of {}",
                thousands(seen),
                thousands(s.records_found.into())
            );
            if s.not_found > 0 {
                label.push_str(&format!(" · {} not found", thousands(s.not_found.into())));
            }
            (label, seen, s.records_found.into())
        }
        RebuildStage::Sharing => ("Rebuilding grants, groups and keys…".to_owned(), 0, 0),
    };
    html! {
        <ProgressBar id="rebuild-progress" label={label} done={done} total={total} show_percent={false} />
    }
}

/// "Rebuilt from the ledger: 37 records, 5 grants · 2 not brought back (listed below the records)".
fn done_summary(s: &RebuildStatus) -> String {
    let mut text = format!(
        "Rebuilt from the ledger: {}, {}",
        count(s.records_opened.into(), "record", "records"),
        count(s.grants_found.into(), "grant", "grants")
    );
    if s.not_found > 0 {
        text.push_str(&format!(
            " · {} not brought back (listed below the records)",
            thousands(s.not_found.into())
        ));
    }
    text
}

/// The key under which hiding a finished run's summary is remembered: the wallet and
/// when the run finished (a later run shows its own summary).
fn dismiss_key(wallet: Option<&str>, status: Option<&RebuildStatus>) -> Option<String> {
    let finished = status?.finished_at.as_deref()?;
    Some(format!("medwallet.rebuild-hidden.{}.{finished}", wallet?))
}

/// Hidden summaries, in the webview's local storage (display state only).
mod seen {
    fn storage() -> Option<web_sys::Storage> {
        web_sys::window()?.local_storage().ok()?
    }

    pub fn get(key: &str) -> bool {
        storage().is_some_and(|s| matches!(s.get_item(key), Ok(Some(_))))
    }

    pub fn set(key: &str) {
        if let Some(s) = storage() {
            // Best effort: a full or refused storage shows the summary again next time.
            let _ = s.set_item(key, "1");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_names_what_was_not_found() {
        let mut s = RebuildStatus {
            state: RebuildState::Done,
            records_opened: 1200,
            grants_found: 1,
            ..RebuildStatus::default()
        };
        assert_eq!(
            done_summary(&s),
            "Rebuilt from the ledger: 1,200 records, 1 grant"
        );
        s.not_found = 2;
        assert_eq!(
            done_summary(&s),
            "Rebuilt from the ledger: 1,200 records, 1 grant · 2 not brought back (listed below the records)"
        );
    }

    #[test]
    fn hiding_is_per_wallet_and_run() {
        let mut s = RebuildStatus::default();
        assert_eq!(dismiss_key(Some("w1"), Some(&s)), None);
        s.finished_at = Some("2026-03-07T10:00:00Z".into());
        assert_eq!(dismiss_key(None, Some(&s)), None);
        assert_eq!(
            dismiss_key(Some("w1"), Some(&s)).as_deref(),
            Some("medwallet.rebuild-hidden.w1.2026-03-07T10:00:00Z")
        );
    }
}
