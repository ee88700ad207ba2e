//! Audit: the ledger's events about this wallet and its records, newest first, as the shell
//! read, checked and cached them. Filters (record, actor, action, dates) re-query the shell;
//! the trail is read again every 10 s while the page is shown; CSV or FHIR export of what
//! the filters select (the whole of it). The shell answers one page of 200 entries at a
//! time with the count, and the emergency openings among them come first on every page.

use std::cell::Cell;
use std::rc::Rc;

use gloo_timers::callback::{Interval, Timeout};
use medwallet_api::commands::{
    ChooseSavePath, ChooseSavePathArgs, ExportAudit, ExportAuditArgs, GetAuditTrail,
};
use medwallet_api::{
    AuditAction, AuditEntry, AuditQuery, AuditTrail, ExportFormat, Party, TrailPage, UserError,
};
use wasm_bindgen_futures::spawn_local;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::components::form::error_box;
use crate::components::format::{count, thousands};
use crate::components::ledger::{local_time, short_hex, today};
use crate::components::record_search::use_found_records;
use crate::ipc;

/// How often the trail is read again while the page is shown.
const REFRESH_MS: u32 = 10_000;
/// How long typing in the actor field waits before it asks the shell.
const DEBOUNCE_MS: u32 = 400;
/// Entries shown at a time.
const PAGE_SIZE: u32 = 200;
/// Records the record filter offers at a time (a search finds the others).
const RECORDS_OFFERED: u32 = 100;

/// Props of [`AuditPage`].
#[derive(Properties, PartialEq)]
pub struct Props {
    /// A record to filter by when the page opens (from the viewer's "Audit trail").
    #[prop_or_default]
    pub record_id: Option<AttrValue>,
}

#[derive(Clone, PartialEq)]
enum Export {
    Idle,
    Busy(ExportFormat),
    Saved { entries: u64, path: String },
    Failed(UserError),
}

/// The Audit page.
#[function_component(AuditPage)]
pub fn audit_page(props: &Props) -> Html {
    // Filters. The actor field is debounced: `actor_input` follows the keys, `actor` the query.
    let record = use_state_eq(|| props.record_id.as_ref().map(|r| r.to_string()));
    let actor_input = use_state_eq(String::new);
    let actor = use_state_eq(String::new);
    let action = use_state_eq(|| None::<AuditAction>);
    let from = use_state_eq(String::new);
    let to = use_state_eq(String::new);

    let trail = use_state_eq(|| None::<Rc<AuditTrail>>);
    let error = use_state_eq(|| None::<UserError>);
    let busy = use_state_eq(|| false);
    let offset = use_state_eq(|| 0u64);
    // The record filter's choices: records whose title has this in it.
    let record_search = use_state_eq(String::new);
    let records = use_found_records((*record_search).clone(), RECORDS_OFFERED);
    let export = use_state(|| Export::Idle);
    // Only the answer to the latest request is shown (answers can come back out of order).
    let latest = use_mut_ref(|| Cell::new(0u64));

    let query = AuditQuery {
        record_id: (*record).clone(),
        actor: Some(actor.trim().to_owned()).filter(|a| !a.is_empty()),
        action: *action,
        from: Some((*from).clone()).filter(|d| !d.is_empty()),
        to: Some((*to).clone()).filter(|d| !d.is_empty()),
    };
    let filtered = query != AuditQuery::default();

    // The viewer's "Audit trail" for another record while the page is open.
    {
        let record = record.clone();
        use_effect_with(props.record_id.clone(), move |id| {
            record.set(id.as_ref().map(|r| r.to_string()));
        });
    }

    let load = {
        let (trail, error, busy, latest) =
            (trail.clone(), error.clone(), busy.clone(), latest.clone());
        use_callback((), move |page: TrailPage, _| {
            let (trail, error, busy) = (trail.clone(), error.clone(), busy.clone());
            let seq = {
                let latest = latest.borrow();
                latest.set(latest.get() + 1);
                latest.get()
            };
            let latest = latest.clone();
            busy.set(true);
            spawn_local(async move {
                let answer = ipc::call::<GetAuditTrail>(&page).await;
                if latest.borrow().get() != seq {
                    return; // a newer request is under way
                }
                busy.set(false);
                match answer {
                    Ok(answer) => {
                        error.set(None);
                        trail.set(Some(Rc::new(answer)));
                    }
                    Err(e) => error.set(Some(e)),
                }
            });
        })
    };
    // New filters start again at the newest entries.
    {
        let offset = offset.clone();
        use_effect_with(query.clone(), move |_| offset.set(0));
    }
    let page = TrailPage {
        query: query.clone(),
        offset: *offset,
        limit: PAGE_SIZE,
    };
    // Each new page: asked now, then every 10 s.
    {
        let load = load.clone();
        use_effect_with(page.clone(), move |page| {
            load.emit(page.clone());
            let page = page.clone();
            let timer = Interval::new(REFRESH_MS, move || load.emit(page.clone()));
            move || drop(timer)
        });
    }
    {
        let actor = actor.clone();
        use_effect_with((*actor_input).clone(), move |value| {
            let value = value.clone();
            let timer = Timeout::new(DEBOUNCE_MS, move || actor.set(value));
            move || drop(timer)
        });
    }
    // The selects follow the state (a preset record, "Clear filters").
    let record_select = use_node_ref();
    {
        let select = record_select.clone();
        let count = records.as_ref().map_or(0, |r| r.records.len());
        use_effect_with(((*record).clone(), count), move |(record, _)| {
            if let Some(select) = select.cast::<HtmlSelectElement>() {
                select.set_value(record.as_deref().unwrap_or(""));
            }
        });
    }
    let action_select = use_node_ref();
    {
        let select = action_select.clone();
        use_effect_with(*action, move |action| {
            if let Some(select) = select.cast::<HtmlSelectElement>() {
                select.set_value(action.map(AuditAction::as_str).unwrap_or(""));
            }
        });
    }

    let on_record = {
        let record = record.clone();
        Callback::from(move |e: Event| {
            let value = e.target_unchecked_into::<HtmlSelectElement>().value();
            record.set(Some(value).filter(|v| !v.is_empty()));
        })
    };
    let on_actor = {
        let actor_input = actor_input.clone();
        Callback::from(move |e: InputEvent| {
            actor_input.set(e.target_unchecked_into::<HtmlInputElement>().value())
        })
    };
    let on_action = {
        let action = action.clone();
        Callback::from(move |e: Event| {
            let value = e.target_unchecked_into::<HtmlSelectElement>().value();
            action.set(AuditAction::ALL.into_iter().find(|a| a.as_str() == value));
        })
    };
    let on_date = |state: &UseStateHandle<String>| {
        let state = state.clone();
        Callback::from(move |e: Event| {
            state.set(e.target_unchecked_into::<HtmlInputElement>().value())
        })
    };
    let on_from = on_date(&from);
    let on_to = on_date(&to);
    let clear = {
        let (record, actor_input, actor, action, from, to) = (
            record.clone(),
            actor_input.clone(),
            actor.clone(),
            action.clone(),
            from.clone(),
            to.clone(),
        );
        Callback::from(move |_| {
            record.set(None);
            actor_input.set(String::new());
            actor.set(String::new());
            action.set(None);
            from.set(String::new());
            to.set(String::new());
        })
    };
    let refresh = {
        let (load, page) = (load.clone(), page.clone());
        Callback::from(move |_| load.emit(page.clone()))
    };
    let go = |to: u64| {
        let offset = offset.clone();
        Callback::from(move |_| offset.set(to))
    };
    let on_record_search = {
        let record_search = record_search.clone();
        Callback::from(move |e: InputEvent| {
            record_search.set(e.target_unchecked_into::<HtmlInputElement>().value())
        })
    };
    let entries_now = trail.as_ref().map_or(0, |t| t.total);
    let start_export = |format: ExportFormat| {
        let (export, query) = (export.clone(), query.clone());
        Callback::from(move |_| {
            let (export, query) = (export.clone(), query.clone());
            export.set(Export::Busy(format));
            spawn_local(async move {
                let suggested_name = export_name(&today(), format);
                let next = match ipc::call::<ChooseSavePath>(&ChooseSavePathArgs { suggested_name })
                    .await
                {
                    Ok(None) => Export::Idle, // the dialog was cancelled
                    Ok(Some(chosen)) => {
                        let args = ExportAuditArgs {
                            query,
                            format,
                            file: chosen.token,
                        };
                        match ipc::call::<ExportAudit>(&args).await {
                            Ok(saved) => Export::Saved {
                                entries: entries_now,
                                path: saved.path,
                            },
                            Err(e) => Export::Failed(e),
                        }
                    }
                    Err(e) => Export::Failed(e),
                };
                export.set(next);
            });
        })
    };
    let export_busy = matches!(*export, Export::Busy(_));

    let record_options = {
        let list = records.as_ref().map(|p| &p.records);
        let known = |id: &str| list.is_some_and(|l| l.iter().any(|r| r.id == id));
        html! {
            <>
                <option value="" selected={record.is_none()}>{ "All records" }</option>
                { for list.iter().flat_map(|l| l.iter()).map(|r| html! {
                    <option key={r.id.clone()} value={r.id.clone()} selected={record.as_deref() == Some(r.id.as_str())}>{ &r.title }</option>
                }) }
                // A preset record this wallet does not list (yet): still selectable.
                if let Some(id) = record.as_deref().filter(|id| !known(id)) {
                    <option key={id.to_owned()} value={id.to_owned()} selected=true>{ format!("Record {}", short_hex(id)) }</option>
                }
            </>
        }
    };

    let filters = html! {
        <form id="audit-filters" class="audit-filters" role="search" aria-label="Filter the audit trail"
              onsubmit={Callback::from(|e: SubmitEvent| e.prevent_default())}>
            if records.as_ref().is_some_and(|p| p.total > RECORDS_OFFERED) || !record_search.is_empty() {
                <div class="field">
                    <label for="audit-record-search">{ "Find a record" }</label>
                    <input id="audit-record-search" type="search" value={(*record_search).clone()} oninput={on_record_search}
                           placeholder="Title" autocomplete="off" spellcheck="false" />
                </div>
            }
            <div class="field">
                <label for="audit-record">{ "Record" }</label>
                <select id="audit-record" ref={record_select} onchange={on_record}>{ record_options }</select>
            </div>
            <div class="field">
                <label for="audit-actor">{ "Actor address" }</label>
                <input id="audit-actor" type="search" value={(*actor_input).clone()} oninput={on_actor}
                       placeholder="0x…" autocomplete="off" spellcheck="false" />
            </div>
            <div class="field">
                <label for="audit-action">{ "Action" }</label>
                <select id="audit-action" ref={action_select} onchange={on_action}>
                    <option value="" selected={action.is_none()}>{ "All actions" }</option>
                    { for AuditAction::ALL.iter().map(|a| html! {
                        <option value={a.as_str()} selected={*action == Some(*a)}>{ a.label() }</option>
                    }) }
                </select>
            </div>
            <div class="field">
                <label for="audit-from">{ "From" }</label>
                <input id="audit-from" type="date" value={(*from).clone()} onchange={on_from} max={Some((*to).clone()).filter(|d| !d.is_empty())} />
            </div>
            <div class="field">
                <label for="audit-to">{ "To" }</label>
                <input id="audit-to" type="date" value={(*to).clone()} onchange={on_to} min={Some((*from).clone()).filter(|d| !d.is_empty())} />
            </div>
            if filtered || !actor_input.is_empty() {
                <div class="field audit-clear">
                    <button id="audit-clear" type="button" class="small" onclick={clear.clone()}>{ "Clear filters" }</button>
                </div>
            }
        </form>
    };

    let header = match trail.as_ref() {
        None => html! {},
        Some(t) => html! {
            <div class="audit-header">
                <p id="audit-chain" class="audit-chain">
                    { match t.chain_id {
                        Some(id) => format!("Ledger chain {id} · synced to block {}", t.synced_to_block),
                        None => format!("Ledger not reached · cached up to block {}", t.synced_to_block),
                    } }
                </p>
                if t.pending > 0 {
                    <p id="audit-pending" class="audit-pending">
                        { format!("{} waiting to be sent", count(t.pending.into(), "transaction", "transactions")) }
                    </p>
                }
                if let Some(problem) = &t.problem {
                    <div id="audit-problem" class="notice warning" role="status">
                        <p>{ problem }</p>
                        if !t.entries.is_empty() {
                            <p class="hint">{ "The entries below are from this device's copy of the trail." }</p>
                        }
                    </div>
                }
                if let Some(reorg) = &t.reorg {
                    <p id="audit-reorg" class="notice info" role="status">{ reorg }</p>
                }
                { emergency_notice(&t.emergencies, t.emergency_total) }
            </div>
        },
    };

    let body = match trail.as_ref() {
        None if error.is_none() => html! {
            <p id="audit-loading" class="busy" role="status"><span class="spinner" aria-hidden="true"></span>{ "Reading the audit trail…" }</p>
        },
        None => html! {},
        Some(t) if t.entries.is_empty() && !filtered => html! {
            <div id="audit-empty" class="card audit-empty">
                <p>{ "Nothing on the ledger yet. Records you add are registered here once they are on IPFS." }</p>
            </div>
        },
        Some(t) if t.entries.is_empty() => html! {
            <div id="audit-no-match" class="card no-match">
                <p>{ "No entry matches these filters." }</p>
                <button id="audit-no-match-clear" type="button" class="small" onclick={clear}>{ "Show the whole trail" }</button>
            </div>
        },
        Some(t) => {
            let (first, last) = (t.offset, t.offset + t.entries.len() as u64);
            let previous = t.offset.saturating_sub(PAGE_SIZE.into());
            html! {
                <>
                    <p id="audit-count" class="muted audit-count" aria-live="polite">
                        { count_text(first, last, t.total) }
                    </p>
                    <ol id="audit-list" class="audit-list" aria-labelledby="audit-title">
                        { for t.entries.iter().enumerate().map(|(i, e)| entry(i, e)) }
                    </ol>
                    if t.total > u64::from(PAGE_SIZE) {
                        <nav class="audit-pager" aria-label="Pages of the trail">
                            <button id="audit-prev" type="button" class="small" disabled={t.offset == 0}
                                    onclick={go(previous)}>{ format!("Newer {PAGE_SIZE}") }</button>
                            <button id="audit-next" type="button" class="small" disabled={last >= t.total}
                                    onclick={go(last)}>{ format!("Older {PAGE_SIZE}") }</button>
                        </nav>
                    }
                </>
            }
        }
    };

    let export_result = match &*export {
        Export::Saved { entries, path } => html! {
            <p id="audit-export-result" class="notice ok" role="status">
                { format!("Saved {} to ", count(*entries, "entry", "entries")) }<code>{ path }</code>
            </p>
        },
        Export::Failed(e) => error_box("audit-export-error", e),
        Export::Idle | Export::Busy(_) => html! {},
    };
    let export_label = |format: ExportFormat, idle: &'static str| {
        if *export == Export::Busy(format) {
            "Exporting…"
        } else {
            idle
        }
    };

    html! {
        <section class="page wide audit-page" aria-labelledby="audit-title" aria-busy={(*busy).then_some("true")}>
            <div class="audit-title-row">
                <h1 id="audit-title">{ "Audit trail" }</h1>
                <div class="actions">
                    // Never disabled: the 10 s refresh would make it flicker under the pointer.
                    <button id="audit-refresh" type="button" onclick={refresh}>{ "Refresh" }</button>
                    <button id="audit-export-csv" type="button" onclick={start_export(ExportFormat::Csv)} disabled={export_busy}>
                        { export_label(ExportFormat::Csv, "Export CSV") }
                    </button>
                    <button id="audit-export-fhir" type="button" onclick={start_export(ExportFormat::FhirBundle)} disabled={export_busy}>
                        { export_label(ExportFormat::FhirBundle, "Export FHIR AuditEvent bundle") }
                    </button>
                </div>
            </div>
            { export_result }
            { header }
            if let Some(e) = &*error { { error_box("audit-error", e) } }
            { filters }
            { body }
        </section>
    }
}

/// `medwallet-audit-2026-03-07.csv` / `.fhir.json`.
fn export_name(date: &str, format: ExportFormat) -> String {
    let ext = match format {
        ExportFormat::Csv => "csv",
        ExportFormat::FhirBundle => "fhir.json",
    };
    format!("medwallet-audit-{date}.{ext}")
}

/// A name this wallet knows, else the short address (the whole one in the tooltip).
fn party(p: &Party, class: &'static str) -> Html {
    let shown = p.name.clone().unwrap_or_else(|| short_hex(&p.address));
    html! {
        <span class={class} title={p.address.clone()} data-address={p.address.clone()}>{ shown }</span>
    }
}

/// "Showing 201–400 of 10,002 entries", or "100 entries" when they are all shown.
fn count_text(first: u64, last: u64, total: u64) -> String {
    if first == 0 && last >= total {
        count(total, "entry", "entries")
    } else {
        format!(
            "Showing {}–{} of {}",
            thousands(first + 1),
            thousands(last),
            count(total, "entry", "entries")
        )
    }
}

/// Emergency openings come first, above the trail, whatever the page: the patient must not
/// miss one. `total` may be more than those listed (the newest are).
fn emergency_notice(emergencies: &[AuditEntry], total: u64) -> Html {
    if emergencies.is_empty() {
        return html! {};
    }
    html! {
        <div id="audit-emergency" class="notice error emergency" role="alert">
            <p><strong>{ format!("{} of your records", count(total, "emergency access", "emergency accesses")) }</strong></p>
            <ul>
                { for emergencies.iter().map(|e| html! {
                    <li>
                        { format!("{} opened {} on behalf of clinic {} ({})",
                            e.actor.address,
                            e.record_title.clone().unwrap_or_else(|| "a record".to_owned()),
                            e.subject.as_ref().map(|s| s.address.as_str()).unwrap_or("?"),
                            local_time(&e.time)) }
                    </li>
                }) }
            </ul>
            if (emergencies.len() as u64) < total {
                <p class="hint">{ format!("The newest {} are listed; filter by the action \"emergency access\" to see them all.", emergencies.len()) }</p>
            }
        </div>
    }
}

fn entry(i: usize, e: &AuditEntry) -> Html {
    let record = e.record_id.as_ref().map(|id| {
        let shown = e
            .record_title
            .clone()
            .unwrap_or_else(|| format!("record {}", short_hex(id)));
        html! { <span class="audit-record" title={id.clone()}>{ shown }</span> }
    });
    let checked = checked(e);
    html! {
        <li key={format!("{}-{i}", e.tx_hash)}
            class={classes!("audit-entry", (e.action == AuditAction::EmergencyAccess).then_some("emergency"))}
            data-action={e.action.as_str()}
            data-record-id={e.record_id.clone()} data-block={e.block_number.to_string()}>
            <p class="audit-what">
                { party(&e.actor, "audit-actor") }
                { " " }<span class="audit-action">{ e.action.label() }</span>
                if let Some(subject) = &e.subject { { " " }{ party(subject, "audit-subject") } }
                if let Some(record) = record { <span class="audit-sep" aria-hidden="true">{ " · " }</span>{ record } }
            </p>
            <p class="audit-meta">
                <time class="audit-time" datetime={e.time.clone()}>{ local_time(&e.time) }</time>
                if let Some(detail) = &e.detail { <span class="audit-detail">{ detail }</span> }
                <code class="audit-address" title="Actor's ledger address">{ &e.actor.address }</code>
            </p>
            { checked }
        </li>
    }
}

/// What was checked of an entry's block: how many ledger nodes hold it, or, when they
/// disagree, the dispute in red instead (nothing in a disputed block is confirmed).
fn checked(e: &AuditEntry) -> Html {
    let place = format!("block {} · tx {}", e.block_number, short_hex(&e.tx_hash));
    if let Some(dispute) = &e.dispute {
        return html! {
            <p class="audit-dispute" role="alert" data-block={e.block_number.to_string()}
               title={format!("Transaction {}", e.tx_hash)}>
                <span aria-hidden="true">{ "⚠ " }</span>{ dispute }{ " · " }{ place }
            </p>
        };
    }
    // What agrees is the block (its hash), not this entry: the entry itself was read
    // from one node. The words say exactly that, and no tick claims more.
    let said = if e.nodes_asked <= 1 {
        format!("From 1 node · {place}")
    } else {
        format!(
            "Block on {} of {} nodes · {place}",
            e.nodes_agreeing, e.nodes_asked
        )
    };
    let title = if e.nodes_asked <= 1 {
        format!(
            "Transaction {}. Read from one ledger node; add the ledger's other nodes in Settings to check it against them.",
            e.tx_hash
        )
    } else {
        format!(
            "Transaction {}. {} of the {} ledger nodes asked hold this block with the same hash. The entry itself was read from the first node.",
            e.tx_hash, e.nodes_agreeing, e.nodes_asked
        )
    };
    html! {
        <p class={classes!("audit-verified", (e.nodes_agreeing < 2).then_some("single"))}
           data-nodes-agreeing={e.nodes_agreeing.to_string()} data-nodes-asked={e.nodes_asked.to_string()}
           title={title}>
            { said }
        </p>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_in_words() {
        assert_eq!(count_text(0, 100, 100), "100 entries");
        assert_eq!(count_text(0, 0, 0), "0 entries");
        assert_eq!(
            count_text(0, 200, 10_002),
            "Showing 1–200 of 10,002 entries"
        );
        assert_eq!(
            count_text(10_000, 10_002, 10_002),
            "Showing 10,001–10,002 of 10,002 entries"
        );
    }

    #[test]
    fn export_names() {
        assert_eq!(
            export_name("2026-03-07", ExportFormat::Csv),
            "medwallet-audit-2026-03-07.csv"
        );
        assert_eq!(
            export_name("2026-03-07", ExportFormat::FhirBundle),
            "medwallet-audit-2026-03-07.fhir.json"
        );
    }
}
