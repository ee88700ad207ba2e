//! How far a long sharing step is: "Re-encrypting 37 of 100 records" while the patient's
//! records are re-encrypted (a member removed from a group, a clinic's new epoch, grants
//! revoked together), "Issuing new keys: 3 of 9 staff members" while a clinic re-keys its
//! staff after revoking a key. The step runs in the command the page waits for (or in
//! the background pass); its progress is read with `sharing_progress` every half second
//! while the page waits or a step runs, every 10 s otherwise.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use gloo_timers::callback::Timeout;
use medwallet_api::commands::GetSharingProgress;
use medwallet_api::{NoArgs, SharingProgress, SharingWork};
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::components::format::thousands;
use crate::components::progress::ProgressBar;
use crate::ipc;

/// How often the progress is read while a step runs or the page waits for one.
const ACTIVE_MS: u32 = 500;
/// How often otherwise (the background pass may start one).
const SETTLED_MS: u32 = 10_000;

/// Props of [`SharingProgressView`].
#[derive(Properties, PartialEq)]
pub struct Props {
    /// The page waits for a command that may run a step (removing a group member,
    /// revoking a staff key): read fast meanwhile.
    #[prop_or_default]
    pub waiting: bool,
}

/// The bar while a step runs, then how it ended (until the page is left).
#[function_component(SharingProgressView)]
pub fn sharing_progress_view(props: &Props) -> Html {
    let progress = use_state_eq(|| None::<SharingProgress>);
    // The last run that had ended when this view first read the progress: its figures
    // are not news; any later run is shown, even one that ran between two reads.
    let before = use_state_eq(|| None::<u64>);
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
    {
        let (progress, before, bump) = (progress.clone(), before.clone(), bump);
        use_effect_with((*tick, props.waiting), move |(_, waiting)| {
            let waiting = *waiting;
            let alive = Rc::new(Cell::new(true));
            let next = Rc::new(RefCell::new(None::<Timeout>));
            {
                let (alive, next) = (alive.clone(), next.clone());
                spawn_local(async move {
                    let answer = ipc::call::<GetSharingProgress>(&NoArgs {}).await;
                    // A later read (or the page going away) took over.
                    if !alive.get() {
                        return;
                    }
                    let running = answer.as_ref().is_ok_and(|p| p.running);
                    if let Ok(p) = answer {
                        if before.is_none() {
                            before.set(Some(if p.running {
                                p.run.saturating_sub(1)
                            } else {
                                p.run
                            }));
                        }
                        progress.set(Some(p));
                    }
                    // A failed read (a locked wallet) shows nothing; the next read retries.
                    let delay = if running || waiting {
                        ACTIVE_MS
                    } else {
                        SETTLED_MS
                    };
                    *next.borrow_mut() = Some(Timeout::new(delay, move || bump.emit(())));
                });
            }
            move || {
                alive.set(false);
                next.borrow_mut().take();
            }
        });
    }
    let news = |p: &SharingProgress| before.is_some_and(|b| p.run > b);
    let Some(p) = (*progress).clone().filter(|p| p.total > 0 && news(p)) else {
        return html! {};
    };
    let state = if p.running { "running" } else { "ended" };
    let class = match (p.running, p.failed.is_empty() && p.done >= p.total) {
        (true, _) => "notice info",
        (false, true) => "notice ok",
        (false, false) => "notice warning",
    };
    html! {
        <div id="sharing-progress" class={classes!("sharing-progress", class)} data-state={state}
             data-done={p.done.to_string()} data-total={p.total.to_string()} role="status" aria-live="polite">
            if p.running {
                <ProgressBar id="sharing-progress-bar" label={running_label(&p)} done={u64::from(p.done)}
                             total={u64::from(p.total)} show_percent={false} />
            } else {
                <p id="sharing-progress-text">{ ended_label(&p) }</p>
            }
            if !p.failed.is_empty() {
                <ul id="sharing-progress-failed" class="sharing-failed">
                    { for p.failed.iter().map(|f| html! {
                        <li><span class="sharing-failed-name">{ &f.name }</span>{ ": " }{ &f.reason }</li>
                    }) }
                </ul>
            }
        </div>
    }
}

/// "Re-encrypting 37 of 100 records", or what a clinic is doing.
fn running_label(p: &SharingProgress) -> String {
    let of = format!(
        "{} of {}",
        thousands(p.done.into()),
        thousands(p.total.into())
    );
    match p.work {
        SharingWork::Reencrypting if p.finishing => format!(
            "Re-encrypted {of} {} · registering the new versions on the ledger and removing the replaced ones…",
            records(p.total)
        ),
        SharingWork::Reencrypting => format!("Re-encrypting {of} {}", records(p.total)),
        SharingWork::Rekeying => format!("Issuing new keys: {of} {}", staff(p.total)),
    }
}

/// How a step ended: "Re-encrypted 99 of 100 records · 1 could not be, and is tried again
/// by the next pass:" (the names follow).
fn ended_label(p: &SharingProgress) -> String {
    let failed = u32::try_from(p.failed.len()).unwrap_or(u32::MAX);
    let ok = p.done.saturating_sub(failed);
    let mut text = match p.work {
        SharingWork::Reencrypting => format!(
            "Re-encrypted {} of {} {}",
            thousands(ok.into()),
            thousands(p.total.into()),
            records(p.total)
        ),
        SharingWork::Rekeying => format!(
            "New keys issued to {} of {} {}",
            thousands(ok.into()),
            thousands(p.total.into()),
            staff(p.total)
        ),
    };
    if failed > 0 {
        text.push_str(&format!(
            " · {} could not be, and {} tried again by the next pass:",
            thousands(failed.into()),
            if failed == 1 { "is" } else { "are" }
        ));
    }
    if p.done < p.total {
        text.push_str(" · the rest waits for the nodes, and goes on by itself.");
    } else if failed == 0 {
        text.push('.');
    }
    text
}

fn records(n: u32) -> &'static str {
    if n == 1 {
        "record"
    } else {
        "records"
    }
}

fn staff(n: u32) -> &'static str {
    if n == 1 {
        "staff member"
    } else {
        "staff members"
    }
}

#[cfg(test)]
mod tests {
    use medwallet_api::SharingItemProblem;

    use super::*;

    fn at(work: SharingWork, done: u32, total: u32) -> SharingProgress {
        SharingProgress {
            running: true,
            work,
            done,
            total,
            ..SharingProgress::default()
        }
    }

    #[test]
    fn labels_say_how_far() {
        assert_eq!(
            running_label(&at(SharingWork::Reencrypting, 37, 100)),
            "Re-encrypting 37 of 100 records"
        );
        assert_eq!(
            running_label(&at(SharingWork::Rekeying, 3, 9)),
            "Issuing new keys: 3 of 9 staff members"
        );
        let mut p = at(SharingWork::Reencrypting, 100, 100);
        p.finishing = true;
        assert!(running_label(&p).starts_with("Re-encrypted 100 of 100 records · registering"));
        p.running = false;
        p.finishing = false;
        assert_eq!(ended_label(&p), "Re-encrypted 100 of 100 records.");
        p.failed.push(SharingItemProblem {
            name: "Visit note 2".into(),
            reason: "why".into(),
        });
        assert_eq!(
            ended_label(&p),
            "Re-encrypted 99 of 100 records · 1 could not be, and is tried again by the next pass:"
        );
        let stopped = SharingProgress {
            running: false,
            ..at(SharingWork::Reencrypting, 40, 1_200)
        };
        assert_eq!(
            ended_label(&stopped),
            "Re-encrypted 40 of 1,200 records · the rest waits for the nodes, and goes on by itself."
        );
    }
}
