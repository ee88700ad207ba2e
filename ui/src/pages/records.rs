//! Records: the patient's records by category, newest first, a page at a time; search
//! (debounced) and filter, answered by the shell from the wallet's index, never a whole
//! list in the window; add (choose, drop or type files); open one in the viewer; choose
//! records across pages (kept by id) and share them; push those kept on this device to
//! IPFS. The page is read again after adds and every 10 s while the page is shown.
//! After a restore, the rebuild's progress is on top and the list is read again when it
//! is done; record versions registered on the ledger whose content the IPFS node does
//! not hold (or that did not open) are listed below, with their CIDs. Each record on
//! IPFS says how many nodes hold it ("2 of 3 copies", confirmed pins only), and the
//! page warns about records that exist on one node only.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use gloo_timers::callback::Interval;
use medwallet_api::commands::{ListRecords, ListUnrecovered, SyncRecords};
use medwallet_api::{
    Category, Copies, LedgerMark, NoArgs, RebuildState, RecordPage, RecordQuery, RecordStatus,
    RecordSummary, SyncReport, UnrecoveredRecord, UserError,
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
use crate::components::record_search::use_debounced;
use crate::components::record_viewer::RecordViewer;
use crate::components::share_dialog::{ShareDialog, Shareable};
use crate::ipc;

/// How often the page is read again while it is shown.
const REFRESH_MS: u32 = 10_000;
/// Records shown at a time.
pub const PAGE_SIZE: u32 = 100;

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

/// What a row's buttons do.
#[derive(Clone, PartialEq)]
struct RowActions {
    open: Callback<Viewing>,
    /// Share this record (the dialog opens with it chosen).
    share: Callback<AttrValue>,
    /// Choose (`true`) or leave (`false`) a record for sharing several.
    select: Callback<(Shareable, bool)>,
}

/// The Records page.
#[function_component(RecordsPage)]
pub fn records_page(props: &Props) -> Html {
    let page = use_state_eq(|| None::<Rc<RecordPage>>);
    let list_error = use_state_eq(|| None::<UserError>);
    // Registered on the ledger, not brought back (after a rebuild).
    let unrecovered = use_state_eq(|| None::<Rc<Vec<UnrecoveredRecord>>>);
    let rebuild = use_state_eq(|| None::<RebuildState>);
    // The search field follows the keys; the query follows it once typing rests.
    let search_input = use_state(String::new);
    let search = use_debounced((*search_input).clone());
    let category = use_state_eq(|| None::<Category>);
    let offset = use_state_eq(|| 0u32);
    let sync = use_state(|| SyncState::Idle);
    let viewing = use_state(|| None::<Viewing>);
    // Records chosen to share, on any page (by id, with their titles), in the order chosen.
    let selected = use_state_eq(Vec::<Shareable>::new);
    // The share dialog: the records it offers, and those chosen when it opens.
    let sharing = use_state(|| None::<(Vec<Shareable>, Vec<AttrValue>)>);
    // The Open button to give the focus back to when the viewer closes.
    let opener = use_mut_ref(|| None::<String>);

    let query = RecordQuery {
        search: search.trim().to_owned(),
        category: *category,
        offset: *offset,
        limit: PAGE_SIZE,
    };
    // What `load` asks: always the page shown now (also from the add panel's and the
    // rebuild's callbacks, made once).
    let current = use_mut_ref(|| query.clone());
    *current.borrow_mut() = query.clone();
    // Only the answer to the latest question is shown (answers can come back out of order).
    let asked = use_mut_ref(|| Cell::new(0u64));

    // Stable across renders (the handles' setters always act on the current state), so
    // the add panel does not re-register on every render.
    let load = {
        let (page, list_error, unrecovered) =
            (page.clone(), list_error.clone(), unrecovered.clone());
        let (current, asked) = (current.clone(), asked.clone());
        use_callback((), move |(), _| {
            let (page, list_error, unrecovered) =
                (page.clone(), list_error.clone(), unrecovered.clone());
            let query = current.borrow().clone();
            let asked: Rc<RefCell<Cell<u64>>> = asked.clone();
            let seq = {
                let a = asked.borrow();
                a.set(a.get() + 1);
                a.get()
            };
            spawn_local(async move {
                let answer = ipc::call::<ListRecords>(&query).await;
                if asked.borrow().get() != seq {
                    return; // a newer question is under way
                }
                match answer {
                    Ok(answer) => {
                        list_error.set(None);
                        page.set(Some(Rc::new(answer)));
                    }
                    Err(error) => list_error.set(Some(error)),
                }
                // The page above is what matters; a failed read keeps the last one shown.
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
    // A new search or category starts at the first page.
    {
        let offset = offset.clone();
        use_effect_with((search.clone(), *category), move |_| offset.set(0));
    }
    // Each new question: asked now, then again every 10 s.
    {
        let load = load.clone();
        use_effect_with((props.wallet_id.clone(), query.clone()), move |_| {
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

    let shown = (*page).clone();
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
        let search_input = search_input.clone();
        Callback::from(move |e: InputEvent| {
            search_input.set(e.target_unchecked_into::<HtmlInputElement>().value())
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
        let (search_input, category) = (search_input.clone(), category.clone());
        Callback::from(move |_| {
            search_input.set(String::new());
            category.set(None);
        })
    };
    let go = |to: u32| {
        let offset = offset.clone();
        Callback::from(move |_| offset.set(to))
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
    // The dialog offers the records chosen on any page and the registered ones shown.
    let offer = {
        let (selected, shown) = (selected.clone(), shown.clone());
        move || offered(&selected, shown.as_deref())
    };
    let share = {
        let (sharing, offer) = (sharing.clone(), offer.clone());
        Callback::from(move |id: AttrValue| sharing.set(Some((offer(), vec![id]))))
    };
    let share_several = {
        let (sharing, selected) = (sharing.clone(), selected.clone());
        Callback::from(move |_| {
            let chosen = selected.iter().map(|s| s.id.clone()).collect();
            sharing.set(Some((offer(), chosen)))
        })
    };
    let select = {
        let selected = selected.clone();
        Callback::from(move |(record, chosen): (Shareable, bool)| {
            let mut now: Vec<Shareable> = (*selected).clone();
            now.retain(|s| s.id != record.id);
            if chosen {
                now.push(record);
            }
            selected.set(now);
        })
    };
    let clear_selection = {
        let selected = selected.clone();
        Callback::from(move |_| selected.set(Vec::new()))
    };
    let close_share = {
        let (sharing, selected, load) = (sharing.clone(), selected.clone(), load.clone());
        Callback::from(move |shared: bool| {
            sharing.set(None);
            if shared {
                selected.set(Vec::new());
                load.emit(());
            }
        })
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
    let actions = RowActions {
        open,
        share,
        select,
    };

    // While a rebuild brings records back, the list is not "empty" yet.
    let rebuilding = matches!(
        *rebuild,
        Some(RebuildState::Running | RebuildState::Waiting)
    );
    let total = shown.as_ref().map_or(0, |p| p.total);
    let empty = shown.is_some() && total == 0 && !rebuilding;
    let filtered = !query.search.is_empty() || query.category.is_some();
    let body = match &shown {
        None if list_error.is_none() => html! {
            <p id="records-loading" class="busy" role="status"><span class="spinner" aria-hidden="true"></span>{ "Loading your records…" }</p>
        },
        None => html! {},
        Some(p) if p.total == 0 => html! {},
        Some(p) if p.matching == 0 => html! {
            <div id="records-no-match" class="card no-match">
                <p>{ "No record matches." }</p>
                <button id="records-clear-filters" type="button" class="small" onclick={clear_filters}>{ "Show all records" }</button>
            </div>
        },
        Some(p) => {
            let (first, last) = (p.offset, p.offset + p.records.len() as u32);
            let previous = p.offset.saturating_sub(PAGE_SIZE);
            html! {
                <div id="records-list" class="record-groups">
                    <div class="records-actions">
                        <p id="records-count" class="muted records-count" aria-live="polite">
                            { range_text(first, last, p.matching, filtered.then_some(p.total)) }
                        </p>
                        if !selected.is_empty() {
                            <span id="records-selected" class="muted">{ format!("{} chosen", count(selected.len() as u64, "record", "records")) }</span>
                            <button id="records-clear-selection" type="button" class="small" onclick={clear_selection}>{ "Clear choice" }</button>
                        }
                        <button id="records-share" type="button" onclick={share_several}>
                            { if selected.is_empty() { "Share records…".to_owned() } else { format!("Share {}…", count(selected.len() as u64, "record", "records")) } }
                        </button>
                    </div>
                    { for groups(&p.records).into_iter().map(|(c, rows)| {
                        let in_category = p.by_category.iter().find(|n| n.category == c).map_or(rows.len() as u32, |n| n.count);
                        record_group(c, in_category, rows, &actions, &selected)
                    }) }
                    if p.matching > PAGE_SIZE {
                        <nav class="records-pager" aria-label="Pages of records">
                            <button id="records-prev" type="button" class="small" disabled={p.offset == 0}
                                    onclick={go(previous)}>{ format!("Previous {PAGE_SIZE}") }</button>
                            <button id="records-next" type="button" class="small" disabled={last >= p.matching}
                                    onclick={go(last)}>{ format!("Next {PAGE_SIZE}") }</button>
                        </nav>
                    }
                </div>
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
            if let Some(p) = &shown { { sync_panel(p, &sync, on_sync) } }
            if let Some(p) = &shown { { single_copy_warning(p) } }
            if total > 0 {
                <div class="records-filters" role="search" aria-label="Find records">
                    <div class="field">
                        <label for="records-search">{ "Search by title" }</label>
                        <input id="records-search" type="search" value={(*search_input).clone()} oninput={on_search}
                               maxlength={RecordQuery::MAX_SEARCH.to_string()}
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
            if let Some((records, chosen)) = &*sharing {
                <ShareDialog records={records.clone()} selected={chosen.clone()} on_close={close_share} />
            }
        </section>
    }
}

/// "1–100 of 10,000 records"; when filtered, the wallet's `total` after it.
fn range_text(first: u32, last: u32, matching: u32, total: Option<u32>) -> String {
    let mut text = if last > first {
        format!(
            "{}–{} of {}",
            thousands((first + 1).into()),
            thousands(last.into()),
            count(matching.into(), "record", "records")
        )
    } else {
        count(matching.into(), "record", "records")
    };
    if let Some(total) = total {
        text.push_str(&format!(" found, of {}", thousands(total.into())));
    }
    text
}

/// The page's records by category, in the order they come (the shell's: by category,
/// newest first).
fn groups(records: &[RecordSummary]) -> Vec<(Category, Vec<&RecordSummary>)> {
    let mut out: Vec<(Category, Vec<&RecordSummary>)> = Vec::new();
    for r in records {
        match out.last_mut() {
            Some((c, rows)) if *c == r.category => rows.push(r),
            _ => out.push((r.category, vec![r])),
        }
    }
    out
}

/// A record the share dialog can offer: one registered on the ledger (a grant names a
/// registered record).
fn shareable(r: &RecordSummary) -> Option<Shareable> {
    matches!(r.ledger, LedgerMark::Registered { .. }).then(|| Shareable {
        id: r.id.clone().into(),
        title: r.title.clone().into(),
    })
}

/// What the share dialog offers: the records chosen (on any page), then the page's
/// registered records.
fn offered(selected: &[Shareable], page: Option<&RecordPage>) -> Vec<Shareable> {
    let mut out = selected.to_vec();
    for s in page
        .into_iter()
        .flat_map(|p| &p.records)
        .filter_map(shareable)
    {
        if !out.iter().any(|o| o.id == s.id) {
            out.push(s);
        }
    }
    out
}

fn record_group(
    c: Category,
    in_category: u32,
    rows: Vec<&RecordSummary>,
    actions: &RowActions,
    selected: &[Shareable],
) -> Html {
    let heading_id = format!("group-{}", c.as_str());
    html! {
        <section key={c.as_str()} class="record-group" aria-labelledby={heading_id.clone()} data-category={c.as_str()}>
            <h2 id={heading_id}>{ c.label() }<span class="muted group-count">{ format!(" ({})", thousands(in_category.into())) }</span></h2>
            <ul class="record-list">
                { for rows.into_iter().map(|r| {
                    let chosen = selected.iter().any(|s| s.id == r.id);
                    record_row(r, actions, chosen)
                }) }
            </ul>
        </section>
    }
}

fn record_row(r: &RecordSummary, actions: &RowActions, chosen: bool) -> Html {
    let registered = matches!(r.ledger, LedgerMark::Registered { .. });
    let on_share = {
        let (share, id) = (actions.share.clone(), AttrValue::from(r.id.clone()));
        Callback::from(move |_| share.emit(id.clone()))
    };
    let on_select = {
        let select = actions.select.clone();
        let record = shareable(r);
        Callback::from(move |e: Event| {
            if let Some(record) = &record {
                let checked = e.target_unchecked_into::<HtmlInputElement>().checked();
                select.emit((record.clone(), checked));
            }
        })
    };
    let onclick = {
        let open = actions.open.clone();
        let target = Viewing {
            id: r.id.clone().into(),
            title: r.title.clone().into(),
        };
        Callback::from(move |_| open.emit(target.clone()))
    };
    html! {
        <li key={r.id.clone()} class="record-row" data-record-id={r.id.clone()} data-title={r.title.clone()}
            data-uploaded-by={r.uploaded_by.clone()}>
            <input type="checkbox" class="record-select" checked={chosen} onchange={on_select} disabled={!registered}
                   title={(!registered).then_some("A record can be shared once it is registered on the ledger.")}
                   aria-label={format!("Choose {} to share", r.title)} />
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

/// The warning's words, when some records exist on one node only: add a replica, or,
/// when replicas are set, that they have not confirmed a copy yet.
fn single_copy_text(single: u32, copies_of: u32) -> Option<String> {
    if single == 0 {
        return None;
    }
    let what = count(single.into(), "record exists", "records exist");
    let next = if copies_of > 1 {
        "The replica nodes in Settings have not confirmed a copy yet; each record's copies say why."
    } else {
        "Add a replica node in Settings so that losing this computer's node does not lose them."
    };
    Some(format!("{what} on one node only. {next}"))
}

fn single_copy_warning(page: &RecordPage) -> Html {
    let Some(text) = single_copy_text(page.single_copy, page.copies_of) else {
        return html! {};
    };
    html! {
        <div id="single-copy-warning" class="notice warning single-copy" role="status" data-count={page.single_copy.to_string()}>
            <p>{ text }</p>
        </div>
    }
}

/// Records kept on this device: how many, why, and "Sync now"; then what the sync did.
fn sync_panel(page: &RecordPage, sync: &SyncState, on_sync: Callback<MouseEvent>) -> Html {
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
    let local = page.local_only;
    if local == 0 && matches!(sync, SyncState::Idle | SyncState::Busy) {
        return html! {};
    }
    let busy = *sync == SyncState::Busy;
    html! {
        <div id="records-sync" class="sync-panel">
            if local > 0 {
                <div class="sync-row">
                    <p id="records-local-count">
                        { format!("{} on this device only", count(local.into(), "record is", "records are")) }
                        if let Some(reason) = &page.local_reason {
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
    fn a_page_is_grouped_as_it_comes_and_counted_in_words() {
        let page = [
            record("c", "Lipid panel", Category::LabResult, "2024-05-09"),
            record("a", "Blood test", Category::LabResult, "2024-01-02"),
            record("b", "Chest X-ray", Category::Imaging, "2024-03-01"),
        ];
        let groups = groups(&page);
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].0, Category::LabResult);
        let ids: Vec<&str> = groups[0].1.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["c", "a"]);
        assert_eq!(groups[1].1[0].id, "b");
        assert!(super::groups(&[]).is_empty());

        assert_eq!(range_text(0, 100, 10_000, None), "1–100 of 10,000 records");
        assert_eq!(
            range_text(9_900, 10_000, 10_000, None),
            "9,901–10,000 of 10,000 records"
        );
        assert_eq!(
            range_text(0, 37, 37, Some(10_000)),
            "1–37 of 37 records found, of 10,000"
        );
        assert_eq!(range_text(0, 1, 1, None), "1–1 of 1 record");
        assert_eq!(range_text(100, 100, 100, None), "100 records");
    }

    #[test]
    fn the_share_dialog_offers_the_chosen_then_the_pages_registered_records() {
        let registered = |id: &str| RecordSummary {
            ledger: LedgerMark::Registered {
                block_number: 1,
                tx_hash: "0x".into(),
            },
            ..record(id, id, Category::Other, "2024-01-01")
        };
        let page = RecordPage {
            records: vec![
                registered("a"),
                record("b", "b", Category::Note, "2024-01-01"),
                registered("c"),
            ],
            ..Default::default()
        };
        let chosen = vec![
            Shareable {
                id: "z".into(),
                title: "On another page".into(),
            },
            shareable(&registered("c")).unwrap(),
        ];
        let ids: Vec<AttrValue> = offered(&chosen, Some(&page))
            .into_iter()
            .map(|s| s.id)
            .collect();
        assert_eq!(ids, ["z", "c", "a"]);
        assert!(shareable(&page.records[1]).is_none(), "not registered yet");
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
    fn single_copy_records_are_named() {
        assert_eq!(single_copy_text(0, 1), None);
        assert_eq!(
            single_copy_text(2, 1).unwrap(),
            "2 records exist on one node only. Add a replica node in Settings so that losing this computer's node does not lose them."
        );
        // A replica set that has not confirmed its copy yet.
        let text = single_copy_text(1, 2).unwrap();
        assert!(
            text.starts_with("1 record exists on one node only. The replica nodes"),
            "{text}"
        );
    }
}
