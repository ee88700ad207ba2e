//! Records: the patient's records by category, newest first; search and filter; add
//! (choose, drop or type files); open one in the viewer; push those kept on this device
//! to IPFS. The list is read again after adds and every 10 s while the page is shown.
//! After a restore, the rebuild's progress is on top and the list is read again when it
//! is done; record versions registered on the ledger whose content the IPFS node does
//! not hold (or that did not open) are listed below, with their CIDs. Each record on
//! IPFS says how many nodes hold it ("2 of 3 copies", confirmed pins only), and the
//! page warns about records that exist on one node only.

use std::rc::Rc;

use gloo_timers::callback::Interval;
use medwallet_api::commands::{ListRecords, ListUnrecovered, SyncRecords};
use medwallet_api::{
    Category, Copies, LedgerMark, NoArgs, RebuildState, RecordStatus, RecordSummary, SyncReport,
    UnrecoveredRecord, UserError,
};
use wasm_bindgen_futures::spawn_local;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::components::add_records::AddRecords;
use crate::components::clipboard::CopyButton;
use crate::components::form::{error_box, focus};
use crate::components::format::{count, human_size, thousands};
use crate::components::ledger::{ledger_badge, local_time, short_hex};
use crate::components::rebuild::RebuildProgress;
use crate::components::record_viewer::RecordViewer;
use crate::components::share_dialog::{ShareDialog, Shareable};
use crate::ipc;

/// How often the list is read again while the page is shown.
const REFRESH_MS: u32 = 10_000;

/// Props of [`RecordsPage`].
#[derive(Properties, PartialEq)]
pub struct Props {
    /// The unlocked wallet.
    pub wallet_id: AttrValue,
    /// Open the Audit page filtered by this record (the viewer's "Audit trail").
    #[prop_or_default]
    pub on_audit: Callback<AttrValue>,
}

#[derive(Clone, PartialEq)]
enum SyncState {
    Idle,
    Busy,
    Done(SyncReport),
    Failed(UserError),
}

/// The record being viewed.
#[derive(Clone, PartialEq)]
struct Viewing {
    id: AttrValue,
    title: AttrValue,
}

/// The Records page.
#[function_component(RecordsPage)]
pub fn records_page(props: &Props) -> Html {
    let records = use_state_eq(|| None::<Rc<Vec<RecordSummary>>>);
    let list_error = use_state_eq(|| None::<UserError>);
    // Registered on the ledger, not brought back (after a rebuild).
    let unrecovered = use_state_eq(|| None::<Rc<Vec<UnrecoveredRecord>>>);
    let rebuild = use_state_eq(|| None::<RebuildState>);
    let search = use_state(String::new);
    let category = use_state(|| None::<Category>);
    let sync = use_state(|| SyncState::Idle);
    let viewing = use_state(|| None::<Viewing>);
    // The share dialog, open with these records chosen.
    let sharing = use_state(|| None::<Vec<AttrValue>>);
    // The Open button to give the focus back to when the viewer closes.
    let opener = use_mut_ref(|| None::<String>);

    // Stable across renders (the handles' setters always act on the current state), so
    // the add panel does not re-register on every render.
    let load = {
        let (records, list_error, unrecovered) =
            (records.clone(), list_error.clone(), unrecovered.clone());
        use_callback((), move |(), _| {
            let (records, list_error, unrecovered) =
                (records.clone(), list_error.clone(), unrecovered.clone());
            spawn_local(async move {
                match ipc::call::<ListRecords>(&NoArgs {}).await {
                    Ok(list) => {
                        list_error.set(None);
                        records.set(Some(Rc::new(list)));
                    }
                    Err(error) => list_error.set(Some(error)),
                }
                // The list above is what matters; a failed read keeps the last one shown.
                if let Ok(list) = ipc::call::<ListUnrecovered>(&NoArgs {}).await {
                    unrecovered.set(Some(Rc::new(list)));
                }
            });
        })
    };
    let on_rebuild_state = {
        let rebuild = rebuild.clone();
        Callback::from(move |state: RebuildState| rebuild.set(Some(state)))
    };
    {
        let load = load.clone();
        use_effect_with(props.wallet_id.clone(), move |_| {
            load.emit(());
            let timer = Interval::new(REFRESH_MS, move || load.emit(()));
            move || drop(timer)
        });
    }
    // The filter's `<select>` follows the state (also when "Show all records" resets it;
    // an option's `selected` attribute no longer moves a select the user has changed).
    let category_select = use_node_ref();
    {
        let select = category_select.clone();
        use_effect_with(*category, move |category| {
            if let Some(select) = select.cast::<HtmlSelectElement>() {
                select.set_value(category.map(Category::as_str).unwrap_or(""));
            }
        });
    }
    {
        let opener = opener.clone();
        use_effect_with(viewing.is_some(), move |open| {
            if !*open {
                if let Some(id) = opener.borrow_mut().take() {
                    focus(&id);
                }
            }
        });
    }

    let list = (*records).clone();
    let local: Vec<&RecordSummary> = list
        .iter()
        .flat_map(|l| l.iter())
        .filter(|r| matches!(r.status, RecordStatus::LocalOnly { .. }))
        .collect();

    let on_sync = {
        let (sync, load) = (sync.clone(), load.clone());
        Callback::from(move |_| {
            let (sync, load) = (sync.clone(), load.clone());
            sync.set(SyncState::Busy);
            spawn_local(async move {
                sync.set(match ipc::call::<SyncRecords>(&NoArgs {}).await {
                    Ok(report) => SyncState::Done(report),
                    Err(error) => SyncState::Failed(error),
                });
                load.emit(());
            });
        })
    };
    let on_search = {
        let search = search.clone();
        Callback::from(move |e: InputEvent| {
            search.set(e.target_unchecked_into::<HtmlInputElement>().value())
        })
    };
    let on_category = {
        let category = category.clone();
        Callback::from(move |e: Event| {
            category.set(Category::parse(
                &e.target_unchecked_into::<HtmlSelectElement>().value(),
            ))
        })
    };
    let clear_filters = {
        let (search, category) = (search.clone(), category.clone());
        Callback::from(move |_| {
            search.set(String::new());
            category.set(None);
        })
    };
    let open = {
        let (viewing, opener) = (viewing.clone(), opener.clone());
        Callback::from(move |r: Viewing| {
            *opener.borrow_mut() = Some(open_button_id(&r.id));
            viewing.set(Some(r));
        })
    };
    let close = {
        let viewing = viewing.clone();
        Callback::from(move |()| viewing.set(None))
    };
    let share = {
        let sharing = sharing.clone();
        Callback::from(move |ids: Vec<AttrValue>| sharing.set(Some(ids)))
    };
    let close_share = {
        let (sharing, load) = (sharing.clone(), load.clone());
        Callback::from(move |shared: bool| {
            sharing.set(None);
            if shared {
                load.emit(());
            }
        })
    };
    let share_several = {
        let share = share.clone();
        Callback::from(move |_| share.emit(Vec::new()))
    };
    let on_audit = {
        let (viewing, opener, on_audit) = (viewing.clone(), opener.clone(), props.on_audit.clone());
        Callback::from(move |record_id: AttrValue| {
            // The page goes away: no focus to give back.
            opener.borrow_mut().take();
            viewing.set(None);
            on_audit.emit(record_id);
        })
    };

    // While a rebuild brings records back, the list is not "empty" yet.
    let rebuilding = matches!(
        *rebuild,
        Some(RebuildState::Running | RebuildState::Waiting)
    );
    let empty = matches!(&list, Some(l) if l.is_empty()) && !rebuilding;
    let body = match &list {
        None if list_error.is_none() => html! {
            <p id="records-loading" class="busy" role="status"><span class="spinner" aria-hidden="true"></span>{ "Loading your records…" }</p>
        },
        None => html! {},
        Some(all) if all.is_empty() => html! {},
        Some(all) => {
            let groups = group(all, &search, *category);
            if groups.is_empty() {
                html! {
                    <div id="records-no-match" class="card no-match">
                        <p>{ "No record matches." }</p>
                        <button id="records-clear-filters" type="button" class="small" onclick={clear_filters}>{ "Show all records" }</button>
                    </div>
                }
            } else {
                html! {
                    <div id="records-list" class="record-groups">
                        <div class="records-actions">
                            <button id="records-share" type="button" onclick={share_several}>{ "Share records…" }</button>
                        </div>
                        { for groups.into_iter().map(|(c, rows)| record_group(c, rows, &open, &share)) }
                    </div>
                }
            }
        }
    };

    html! {
        <section class="page wide records-page" aria-labelledby="records-title">
            <h1 id="records-title">{ "Records" }</h1>
            <RebuildProgress on_done={load.clone()} on_state={on_rebuild_state}
                             dismiss_for={Some(props.wallet_id.clone())} />
            <AddRecords wallet_id={props.wallet_id.clone()} {empty} on_added={load.clone()} />
            if let Some(error) = &*list_error { { error_box("records-error", error) } }
            { sync_panel(&local, &sync, on_sync) }
            { single_copy_warning(list.as_deref().map_or(&[][..], Vec::as_slice)) }
            if list.as_ref().is_some_and(|l| !l.is_empty()) {
                <div class="records-filters" role="search" aria-label="Find records">
                    <div class="field">
                        <label for="records-search">{ "Search by title" }</label>
                        <input id="records-search" type="search" value={(*search).clone()} oninput={on_search}
                               autocomplete="off" spellcheck="false" />
                    </div>
                    <div class="field">
                        <label for="records-category">{ "Category" }</label>
                        <select id="records-category" ref={category_select} onchange={on_category}>
                            <option value="" selected={category.is_none()}>{ "All categories" }</option>
                            { for Category::ALL.iter().map(|c| html! {
                                <option value={c.as_str()} selected={*category == Some(*c)}>{ c.label() }</option>
                            }) }
                        </select>
                    </div>
                </div>
            }
            { body }
            if let Some(missing) = (*unrecovered).as_deref().filter(|l| !l.is_empty()) {
                { unrecovered_section(missing) }
            }
            if let Some(v) = &*viewing {
                <RecordViewer record_id={v.id.clone()} title={v.title.clone()} on_close={close} {on_audit} />
            }
            if let Some(selected) = &*sharing {
                <ShareDialog records={shareable(list.as_deref())} selected={selected.clone()} on_close={close_share} />
            }
        </section>
    }
}

/// The records that match, by category (in the app's category order), newest first.
fn group<'a>(
    all: &'a [RecordSummary],
    search: &str,
    category: Option<Category>,
) -> Vec<(Category, Vec<&'a RecordSummary>)> {
    let query = search.trim().to_lowercase();
    Category::ALL
        .into_iter()
        .filter(|c| category.is_none_or(|wanted| wanted == *c))
        .filter_map(|c| {
            let mut rows: Vec<&RecordSummary> = all
                .iter()
                .filter(|r| r.category == c && r.title.to_lowercase().contains(&query))
                .collect();
            rows.sort_by(|a, b| {
                (b.date.as_str(), b.added_at.as_str()).cmp(&(a.date.as_str(), a.added_at.as_str()))
            });
            (!rows.is_empty()).then_some((c, rows))
        })
        .collect()
}

/// The records the share dialog offers: those registered on the ledger (a grant names a
/// registered record).
fn shareable(list: Option<&Vec<RecordSummary>>) -> Vec<Shareable> {
    list.into_iter()
        .flatten()
        .filter(|r| matches!(r.ledger, LedgerMark::Registered { .. }))
        .map(|r| Shareable {
            id: r.id.clone().into(),
            title: r.title.clone().into(),
        })
        .collect()
}

fn record_group(
    c: Category,
    rows: Vec<&RecordSummary>,
    open: &Callback<Viewing>,
    share: &Callback<Vec<AttrValue>>,
) -> Html {
    let heading_id = format!("group-{}", c.as_str());
    html! {
        <section key={c.as_str()} class="record-group" aria-labelledby={heading_id.clone()} data-category={c.as_str()}>
            <h2 id={heading_id}>{ c.label() }<span class="muted group-count">{ format!(" ({})", rows.len()) }</span></h2>
            <ul class="record-list">
                { for rows.into_iter().map(|r| record_row(r, open, share)) }
            </ul>
        </section>
    }
}

fn record_row(
    r: &RecordSummary,
    open: &Callback<Viewing>,
    share: &Callback<Vec<AttrValue>>,
) -> Html {
    let registered = matches!(r.ledger, LedgerMark::Registered { .. });
    let on_share = {
        let (share, id) = (share.clone(), AttrValue::from(r.id.clone()));
        Callback::from(move |_| share.emit(vec![id.clone()]))
    };
    let onclick = {
        let open = open.clone();
        let target = Viewing {
            id: r.id.clone().into(),
            title: r.title.clone().into(),
        };
        Callback::from(move |_| open.emit(target.clone()))
    };
    html! {
        <li key={r.id.clone()} class="record-row" data-record-id={r.id.clone()} data-title={r.title.clone()}
            data-uploaded-by={r.uploaded_by.clone()}>
            <div class="record-main">
                <span class="record-title">{ &r.title }</span>
                <span class="record-meta">
                    <span class="record-category">{ r.category.label() }</span>
                    <span class="record-date"><time datetime={r.date.clone()}>{ &r.date }</time></span>
                    <span class="record-kind">{ r.kind.label() }</span>
                    <span class="record-size">{ human_size(r.size) }</span>
                    if !r.author.is_empty() { <span class="record-author">{ &r.author }</span> }
                    if let Some(clinic) = &r.uploaded_by {
                        <span class="record-uploaded-by">
                            { match &r.uploaded_by_name {
                                Some(name) => format!("made for you by {name} ✓ (attested by the network's admins when it was received) "),
                                None => "made for you by an unverified clinic ".to_owned(),
                            } }
                            <code>{ clinic }</code>
                        </span>
                    }
                </span>
            </div>
            { status_badge(&r.status) }
            if let Some(copies) = &r.copies { { copies_badge(copies) } }
            { ledger_badge(&r.ledger, None) }
            <button type="button" class="small record-share" onclick={on_share} disabled={!registered}
                    title={(!registered).then_some("A record can be shared once it is registered on the ledger.")}
                    aria-label={format!("Share {}", r.title)}>{ "Share" }</button>
            <button id={open_button_id(&r.id)} type="button" class="small record-open" {onclick}
                    aria-label={format!("Open {}", r.title)}>{ "Open" }</button>
        </li>
    }
}

fn open_button_id(record_id: &str) -> String {
    format!("open-{record_id}")
}

/// Record versions the ledger names that this device could not bring back: listed with
/// their CIDs and the reason, not dropped.
fn unrecovered_section(missing: &[UnrecoveredRecord]) -> Html {
    html! {
        <section id="unrecovered" class="unrecovered" aria-labelledby="unrecovered-title">
            <h2 id="unrecovered-title">
                { "Registered on the ledger, content not found on the IPFS node" }
                <span class="muted group-count">{ format!(" ({})", missing.len()) }</span>
            </h2>
            <p class="muted">{ "The ledger names these records as yours, but the IPFS node set in Settings does not hold their content, or it did not open with your keys. Nothing of them is shown. If a node that still holds them is set in Settings, Rebuild from the ledger there tries again." }</p>
            <ul class="record-list">
                { for missing.iter().map(unrecovered_row) }
            </ul>
        </section>
    }
}

fn unrecovered_row(r: &UnrecoveredRecord) -> Html {
    let cid = |label: &'static str, class: &'static str, value: &str| {
        html! {
            <div class={classes!("unrecovered-cid", class)}>
                <span class="unrecovered-cid-label">{ label }</span>
                <code class="id-value">{ value.to_owned() }</code>
                <CopyButton text={value.to_owned()} label={format!("the {} CID of record {}", label.to_lowercase(), short_hex(&r.id))}
                            class={classes!(format!("copy-{class}"))} />
            </div>
        }
    };
    html! {
        <li key={r.id.clone()} class="record-row unrecovered-record" data-record-id={r.id.clone()}
            data-version={r.version.to_string()} data-uploaded-by={r.uploaded_by.clone()}>
            <div class="record-main">
                <span class="record-title">
                    { "Record " }<code title={r.id.clone()}>{ short_hex(&r.id) }</code>
                </span>
                <span class="record-meta">
                    <span class="unrecovered-version">{ format!("version {}", r.version) }</span>
                    <span class="unrecovered-registered" title={format!("Block {} · tx {}", r.block_number, r.tx_hash)}>
                        { "registered " }<time datetime={r.registered_at.clone()}>{ local_time(&r.registered_at) }</time>
                    </span>
                    if let Some(clinic) = &r.uploaded_by {
                        <span class="record-uploaded-by">{ "made by clinic " }<code>{ clinic }</code></span>
                    }
                </span>
                { cid("Manifest", "manifest", &r.manifest_cid) }
                { cid("Capsule", "capsule", &r.capsule_cid) }
                <span class="unrecovered-reason">{ &r.reason }</span>
            </div>
        </li>
    }
}

/// "On IPFS" / "Uploading…" / "On this device", with the reason in the tooltip.
fn status_badge(status: &RecordStatus) -> Html {
    let (class, label, reason) = match status {
        RecordStatus::OnIpfs => (
            "on-ipfs",
            "On IPFS",
            "Stored and pinned on your IPFS node; its CIDs were checked.".to_owned(),
        ),
        RecordStatus::Pending => (
            "pending",
            "Uploading…",
            "Being uploaded to IPFS now.".to_owned(),
        ),
        RecordStatus::LocalOnly { reason } => ("local-only", "On this device", reason.clone()),
    };
    html! {
        <span class={classes!("badge", "record-status", class)} data-status={class}
              title={reason.clone()} aria-description={reason}>
            { label }
        </span>
    }
}

/// "2 of 3 copies", or "1 copy" when no replica is set: the nodes that confirmed they
/// hold the record's latest version, out of the wallet's node and its replicas.
fn copies_label(copies: &Copies) -> String {
    let held = copies.held_by.len() as u64;
    if copies.of <= 1 {
        count(held, "copy", "copies")
    } else {
        format!(
            "{} of {} copies",
            thousands(held),
            thousands(copies.of.into())
        )
    }
}

/// The tooltip: which nodes hold it, which do not yet and why.
fn copies_title(copies: &Copies) -> String {
    let mut lines = Vec::new();
    if copies.held_by.is_empty() {
        lines.push("No node has confirmed that it holds this record.".to_owned());
    } else {
        lines.push("Held by (pin confirmed):".to_owned());
        lines.extend(copies.held_by.iter().map(|n| format!("• {}", node_host(n))));
    }
    if !copies.waiting.is_empty() {
        lines.push("Not held yet:".to_owned());
        lines.extend(copies.waiting.iter().map(|w| match &w.problem {
            Some(problem) => format!("• {}: {problem}", node_host(&w.node)),
            None => format!("• {}: not pinned yet", node_host(&w.node)),
        }));
    }
    if copies.held_by.len() == 1 {
        lines.push(
            match copies.of {
                0 | 1 => "Only one node holds it: add a replica node in Settings.",
                _ => "Only one node holds it so far.",
            }
            .to_owned(),
        );
    }
    lines.join("\n")
}

/// `host:port` of a node URL (`https://pin.example:5001/x` → `pin.example:5001`).
fn node_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host)
}

/// The "N of M copies" badge, in a warning style when at most one node holds it.
fn copies_badge(copies: &Copies) -> Html {
    let held = copies.held_by.len();
    let title = copies_title(copies);
    html! {
        <span class={classes!("badge", "copies", (held <= 1).then_some("single"))}
              data-held={held.to_string()} data-of={copies.of.to_string()}
              title={title.clone()} aria-description={title}>
            { copies_label(copies) }
        </span>
    }
}

/// How many records are on IPFS and held by one node only.
fn single_copy_count(all: &[RecordSummary]) -> usize {
    all.iter()
        .filter(|r| r.copies.as_ref().is_some_and(|c| c.held_by.len() == 1))
        .count()
}

/// The warning's words, when some records exist on one node only: add a replica, or,
/// when replicas are set, that they have not confirmed a copy yet.
fn single_copy_text(all: &[RecordSummary]) -> Option<(usize, String)> {
    let n = single_copy_count(all);
    if n == 0 {
        return None;
    }
    let replicas_set = all
        .iter()
        .filter_map(|r| r.copies.as_ref())
        .any(|c| c.held_by.len() == 1 && c.of > 1);
    let what = count(n as u64, "record exists", "records exist");
    let next = if replicas_set {
        "The replica nodes in Settings have not confirmed a copy yet; each record's copies say why."
    } else {
        "Add a replica node in Settings so that losing this computer's node does not lose them."
    };
    Some((n, format!("{what} on one node only. {next}")))
}

fn single_copy_warning(all: &[RecordSummary]) -> Html {
    let Some((n, text)) = single_copy_text(all) else {
        return html! {};
    };
    html! {
        <div id="single-copy-warning" class="notice warning single-copy" role="status" data-count={n.to_string()}>
            <p>{ text }</p>
        </div>
    }
}

/// Records kept on this device: how many, why, and "Sync now"; then what the sync did.
fn sync_panel(local: &[&RecordSummary], sync: &SyncState, on_sync: Callback<MouseEvent>) -> Html {
    let report = match sync {
        SyncState::Done(report) => {
            let mut text = if report.uploaded == 0 {
                "Nothing was uploaded.".to_owned()
            } else {
                format!(
                    "Uploaded {} to IPFS.",
                    count(report.uploaded.into(), "record", "records")
                )
            };
            if report.waiting > 0 {
                text.push_str(&format!(
                    " {} still waiting",
                    count(report.waiting.into(), "record is", "records are")
                ));
                match &report.problem {
                    Some(problem) => text.push_str(&format!(": {problem}")),
                    None => text.push('.'),
                }
            }
            let class = if report.waiting > 0 {
                "notice error"
            } else {
                "notice ok"
            };
            html! { <p id="records-sync-report" class={class} role="status">{ text }</p> }
        }
        SyncState::Failed(error) => error_box("records-sync-error", error),
        SyncState::Idle | SyncState::Busy => html! {},
    };
    if local.is_empty() && matches!(sync, SyncState::Idle | SyncState::Busy) {
        return html! {};
    }
    let busy = *sync == SyncState::Busy;
    html! {
        <div id="records-sync" class="sync-panel">
            if !local.is_empty() {
                <div class="sync-row">
                    <p id="records-local-count">
                        { format!("{} on this device only", count(local.len() as u64, "record is", "records are")) }
                        if let RecordStatus::LocalOnly { reason } = &local[0].status {
                            <span class="muted">{ format!(": {reason}") }</span>
                        }
                    </p>
                    <button id="records-sync-now" type="button" onclick={on_sync} disabled={busy}>
                        { if busy { "Syncing…" } else { "Sync now" } }
                    </button>
                </div>
            }
            { report }
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use medwallet_api::{ContentKind, CopyWaiting};

    fn copies(held: &[&str], of: u32) -> Copies {
        Copies {
            held_by: held.iter().map(|n| (*n).to_owned()).collect(),
            of,
            waiting: Vec::new(),
        }
    }

    fn with_copies(id: &str, c: Option<Copies>) -> RecordSummary {
        RecordSummary {
            copies: c,
            ..record(id, id, Category::Other, "2024-01-01")
        }
    }

    fn record(id: &str, title: &str, category: Category, date: &str) -> RecordSummary {
        RecordSummary {
            id: id.into(),
            version: 1,
            title: title.into(),
            category,
            date: date.into(),
            author: String::new(),
            file_name: "f".into(),
            mime_type: "text/plain".into(),
            kind: ContentKind::Text,
            size: 1,
            status: RecordStatus::OnIpfs,
            content_cid: String::new(),
            added_at: "2024-01-01T00:00:00Z".into(),
            ledger: medwallet_api::LedgerMark::Pending {
                reason: "not on IPFS yet".into(),
            },
            uploaded_by: None,
            uploaded_by_name: None,
            copies: None,
        }
    }

    #[test]
    fn grouped_by_category_newest_first_and_filtered() {
        let all = [
            record("a", "Blood test", Category::LabResult, "2024-01-02"),
            record("b", "Chest X-ray", Category::Imaging, "2024-03-01"),
            record("c", "Lipid panel", Category::LabResult, "2024-05-09"),
        ];
        let groups = group(&all, "", None);
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].0, Category::LabResult);
        let ids: Vec<&str> = groups[0].1.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["c", "a"]);

        let found = group(&all, "  BLOOD ", None);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].1[0].id, "a");

        assert!(group(&all, "blood", Some(Category::Imaging)).is_empty());
        assert_eq!(group(&all, "", Some(Category::Imaging))[0].1[0].id, "b");
    }

    #[test]
    fn copies_in_words() {
        let own = "http://127.0.0.1:5001";
        assert_eq!(copies_label(&copies(&[own], 1)), "1 copy");
        assert_eq!(
            copies_label(&copies(&[own, "https://pin.example:5001"], 3)),
            "2 of 3 copies"
        );
        assert_eq!(copies_label(&copies(&[own], 2)), "1 of 2 copies");
        assert_eq!(copies_label(&copies(&[], 1)), "0 copies");

        let mut c = copies(&[own, "https://pin.example:5001/"], 3);
        c.waiting = vec![CopyWaiting {
            node: "http://10.0.0.9:5001".into(),
            problem: Some("the node did not answer".into()),
        }];
        let title = copies_title(&c);
        assert!(title.contains("127.0.0.1:5001"), "{title}");
        assert!(title.contains("pin.example:5001"), "{title}");
        assert!(
            title.contains("10.0.0.9:5001: the node did not answer"),
            "{title}"
        );
        assert!(!title.contains("http"), "{title}");

        assert_eq!(
            node_host("https://user@pin.example:5001/api"),
            "pin.example:5001"
        );
        assert_eq!(node_host("127.0.0.1:5001"), "127.0.0.1:5001");
    }

    #[test]
    fn single_copy_records_are_counted() {
        let own = "http://127.0.0.1:5001";
        let replica = "http://127.0.0.9:5001";
        assert_eq!(single_copy_text(&[]), None);
        let all = [
            with_copies("a", Some(copies(&[own], 1))),
            with_copies("b", Some(copies(&[own], 1))),
            with_copies("c", None),
        ];
        assert_eq!(single_copy_count(&all), 2);
        let (n, text) = single_copy_text(&all).unwrap();
        assert_eq!(n, 2);
        assert_eq!(
            text,
            "2 records exist on one node only. Add a replica node in Settings so that losing this computer's node does not lose them."
        );
        // Not on IPFS yet, or held by two nodes: no warning.
        let safe = [
            with_copies("c", None),
            with_copies("d", Some(copies(&[own, replica], 2))),
        ];
        assert_eq!(single_copy_text(&safe), None);
        // One record, a replica set that has not confirmed its copy yet.
        let waiting = [with_copies("e", Some(copies(&[own], 2)))];
        let (n, text) = single_copy_text(&waiting).unwrap();
        assert_eq!(n, 1);
        assert!(
            text.starts_with("1 record exists on one node only."),
            "{text}"
        );
    }
}
