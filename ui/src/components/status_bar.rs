//! The status bar: each node's health, re-checked periodically and on demand, and the
//! pending work of an unlocked patient wallet (records not on IPFS yet).

use gloo_timers::callback::Interval;
use medwallet_api::commands::{CheckHealth, ListRecords};
use medwallet_api::{
    HealthReport, IpfsStatus, LedgerStatus, NoArgs, NodeProblem, RecordQuery, UserError,
};
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::ipc;

/// How often the bar re-checks on its own.
const REFRESH_MS: u32 = 10_000;

/// Props of [`StatusBar`].
#[derive(Properties, PartialEq)]
pub struct Props {
    /// Changing this value makes the bar check again now (settings were saved).
    pub refresh: u32,
    /// Opens the Settings page.
    pub on_open_settings: Callback<()>,
    /// A wallet with records is unlocked: show how many are not on IPFS yet.
    #[prop_or_default]
    pub records: bool,
}

#[derive(Clone, PartialEq)]
enum State {
    Checking,
    Checked(HealthReport),
    Failed(UserError),
}

/// The bottom bar of the window.
#[function_component(StatusBar)]
pub fn status_bar(props: &Props) -> Html {
    let state = use_state(|| State::Checking);
    let checking = use_state(|| false);
    // Records not on IPFS yet, and why (the first reason), when a wallet with records is open.
    let pending = use_state_eq(|| None::<(usize, Option<String>)>);

    let check = {
        let state = state.clone();
        let checking = checking.clone();
        let pending = pending.clone();
        let records = props.records;
        Callback::from(move |()| {
            let state = state.clone();
            let checking = checking.clone();
            let pending = pending.clone();
            checking.set(true);
            spawn_local(async move {
                let next = match ipc::call::<CheckHealth>(&NoArgs {}).await {
                    Ok(report) => State::Checked(report),
                    Err(error) => State::Failed(error),
                };
                state.set(next);
                checking.set(false);
                pending.set(if records {
                    pending_records().await
                } else {
                    None
                });
            });
        })
    };

    {
        let check = check.clone();
        use_effect_with((props.refresh, props.records), move |_| {
            check.emit(());
            let interval = Interval::new(REFRESH_MS, move || check.emit(()));
            move || drop(interval)
        });
    }

    let retry = {
        let check = check.clone();
        Callback::from(move |_| check.emit(()))
    };
    let settings = {
        let cb = props.on_open_settings.clone();
        Callback::from(move |_| cb.emit(()))
    };
    let any_down = matches!(&*state, State::Failed(_))
        || matches!(&*state, State::Checked(r)
            if matches!(r.ipfs.status, IpfsStatus::Down { .. }) || matches!(r.ledger.status, LedgerStatus::Down { .. }));

    html! {
        <footer class="status-bar" role="status" aria-live="polite" aria-label="Node health">
            {
                match &*state {
                    State::Checking => html! { <span class="health checking">{ "Checking the nodes…" }</span> },
                    State::Failed(error) => html! { <span class="health down" title={error.hint.clone()}>{ &error.message }</span> },
                    State::Checked(report) => html! { <>
                        { ipfs_item(report) }
                        { ledger_item(report) }
                    </> },
                }
            }
            <span class="spacer"></span>
            if let Some((n, reason)) = &*pending {
                <span id="status-pending" class="health pending" title={reason.clone()}>
                    { if *n == 1 { "1 record waiting to upload".to_owned() } else { format!("{n} records waiting to upload") } }
                </span>
            }
            if any_down {
                <button class="small" onclick={settings}>{ "Settings" }</button>
            }
            <button id="health-retry" class="small" onclick={retry} disabled={*checking}
                    aria-label="Check the nodes again">
                { if *checking { "Checking…" } else { "Retry" } }
            </button>
        </footer>
    }
}

/// How many records are not on IPFS yet, and why the newest waits (`None` when all are,
/// or the counts cannot be read): counted by the shell, no record is sent.
async fn pending_records() -> Option<(usize, Option<String>)> {
    let counts = ipc::call::<ListRecords>(&RecordQuery::search("", 0))
        .await
        .ok()?;
    let waiting = (counts.local_only + counts.uploading) as usize;
    (waiting > 0).then_some((waiting, counts.local_reason))
}

fn ipfs_item(report: &HealthReport) -> Html {
    let url = &report.ipfs.url;
    match &report.ipfs.status {
        IpfsStatus::Up { version, peer_id } => html! {
            <span id="health-ipfs" class="health up" title={format!("IPFS node at {url}\npeer {peer_id}")}>
                <span class="dot" aria-hidden="true"></span>
                { format!("IPFS {version} · peer {}", short(peer_id)) }
            </span>
        },
        IpfsStatus::Down { problem, reason } => {
            down_item("health-ipfs", "IPFS", "an IPFS node", *problem, url, reason)
        }
    }
}

fn ledger_item(report: &HealthReport) -> Html {
    let url = &report.ledger.url;
    match &report.ledger.status {
        LedgerStatus::Up {
            chain_id,
            block_height,
            contract_deployed,
        } => {
            let contract = match contract_deployed {
                Some(true) => " · contract ✓",
                Some(false) => " · contract missing",
                None => "",
            };
            html! {
                <span id="health-ledger" class="health up" title={format!("ledger node at {url}")}>
                    <span class="dot" aria-hidden="true"></span>
                    { format!("Ledger chain {chain_id} · block {block_height}{contract}") }
                </span>
            }
        }
        LedgerStatus::Down { problem, reason } => down_item(
            "health-ledger",
            "Ledger",
            "an Ethereum node",
            *problem,
            url,
            reason,
        ),
    }
}

/// A red item: a short label naming the problem and the URL; the full reason and
/// what to do in the tooltip and for screen readers.
fn down_item(
    id: &'static str,
    node: &str,
    kind: &str,
    problem: NodeProblem,
    url: &str,
    reason: &str,
) -> Html {
    let label = match problem {
        NodeProblem::InvalidUrl => format!("{node}: invalid URL ({url})"),
        NodeProblem::Unreachable => format!("{node} unreachable ({url})"),
        NodeProblem::WrongService => format!("{node}: not {kind} ({url})"),
        NodeProblem::Refused => format!("{node} refused ({url})"),
    };
    html! {
        <span {id} class="health down" title={reason.to_owned()} aria-description={reason.to_owned()}>
            <span class="dot" aria-hidden="true"></span>
            { label }
        </span>
    }
}

/// `12D3KooW…bcdef`: enough to recognise a peer id.
fn short(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() <= 14 {
        return id.to_owned();
    }
    let head: String = chars[..8].iter().collect();
    let tail: String = chars[chars.len() - 5..].iter().collect();
    format!("{head}…{tail}")
}
