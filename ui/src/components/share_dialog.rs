//! The share dialog: choose records and a person (by address, or from people already
//! shared with) or a role at a clinic (the clinic's address and a clause such as
//! `role:doctor AND dept:cardiology`), an optional expiry; review the resulting policy in
//! plain words, with a warning when it is broad (the shell checks the published keys);
//! share. Each grant's outcome is shown: on
//! the ledger, or queued with the reason it waits.

use medwallet_api::commands::{ListGrants, PreviewShare, ShareRecords};
use medwallet_api::{GrantState, GrantSummary, NoArgs, SharePreview, ShareRequest, UserError};
use wasm_bindgen_futures::spawn_local;
use web_sys::{HtmlDialogElement, HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::components::form::error_box;
use crate::components::ledger::local_time;
use crate::ipc;

/// A record the dialog can share.
#[derive(Clone, PartialEq)]
pub struct Shareable {
    /// Its id.
    pub id: AttrValue,
    /// Its title.
    pub title: AttrValue,
}

/// Props of [`ShareDialog`].
#[derive(Properties, PartialEq)]
pub struct Props {
    /// Every record that can be shared.
    pub records: Vec<Shareable>,
    /// The records chosen when the dialog opens.
    pub selected: Vec<AttrValue>,
    /// The dialog closed; `true` when something was shared.
    pub on_close: Callback<bool>,
}

/// Expiry choices: (label, days).
const EXPIRIES: [(&str, Option<u32>); 6] = [
    ("No expiry", None),
    ("1 day", Some(1)),
    ("7 days", Some(7)),
    ("30 days", Some(30)),
    ("90 days", Some(90)),
    ("1 year", Some(365)),
];

/// Who the share is for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Person,
    Role,
    /// The clinic's emergency staff (`role:emergency`): their openings are logged as
    /// emergency accesses.
    Emergency,
    Group,
}

/// The clause of an emergency grant (the core marks the clinic on the ledger for it).
const EMERGENCY_CLAUSE: &str = "role:emergency";

#[derive(Clone, PartialEq)]
enum Step {
    Editing,
    Checking,
    Reviewed(SharePreview),
    Sharing,
    Done(Vec<GrantSummary>),
    Failed(UserError),
}

/// The dialog.
#[function_component(ShareDialog)]
pub fn share_dialog(props: &Props) -> Html {
    let dialog = use_node_ref();
    let selected = use_state(|| props.selected.clone());
    let kind = use_state(|| Kind::Person);
    let grantee = use_state(String::new);
    let clause = use_state(String::new);
    let group = use_state(String::new);
    let expiry = use_state(|| None::<u32>);
    let step = use_state(|| Step::Editing);
    // People already shared with, offered as suggestions.
    let known_people = use_state(Vec::<String>::new);
    {
        let known_people = known_people.clone();
        use_effect_with((), move |_| {
            spawn_local(async move {
                if let Ok(grants) = ipc::call::<ListGrants>(&NoArgs {}).await {
                    let mut people: Vec<String> = grants
                        .into_iter()
                        .filter(|g| g.clause.is_none() && g.group.is_none())
                        .map(|g| g.grantee)
                        .collect();
                    people.sort();
                    people.dedup();
                    known_people.set(people);
                }
            });
        });
    }
    {
        let dialog = dialog.clone();
        use_effect_with((), move |_| {
            if let Some(d) = dialog.cast::<HtmlDialogElement>() {
                if d.show_modal().is_err() {
                    d.set_open(true);
                }
            }
        });
    }
    let request = ShareRequest {
        record_ids: selected.iter().map(|s| s.to_string()).collect(),
        grantee: grantee.trim().to_owned(),
        clause: match *kind {
            Kind::Role => Some(clause.trim().to_owned()),
            Kind::Emergency => Some(EMERGENCY_CLAUSE.to_owned()),
            Kind::Person | Kind::Group => None,
        },
        group: (*kind == Kind::Group).then(|| group.trim().to_owned()),
        expires_in_days: *expiry,
        seen_fingerprint: None,
    };
    let shared_any = matches!(&*step, Step::Done(g) if !g.is_empty());
    let close = {
        let cb = props.on_close.clone();
        Callback::from(move |_| cb.emit(shared_any))
    };
    let oncancel = {
        let cb = props.on_close.clone();
        Callback::from(move |e: Event| {
            e.prevent_default();
            cb.emit(shared_any);
        })
    };
    let on_kind = |chosen: Kind| {
        let (kind, step) = (kind.clone(), step.clone());
        Callback::from(move |_: Event| {
            kind.set(chosen);
            step.set(Step::Editing);
        })
    };
    let on_text = |field: UseStateHandle<String>| {
        let step = step.clone();
        Callback::from(move |e: InputEvent| {
            let input: HtmlInputElement = e.target_unchecked_into();
            field.set(input.value());
            step.set(Step::Editing);
        })
    };
    let on_expiry = {
        let (expiry, step) = (expiry.clone(), step.clone());
        Callback::from(move |e: Event| {
            let select: HtmlSelectElement = e.target_unchecked_into();
            expiry.set(select.value().parse::<u32>().ok());
            step.set(Step::Editing);
        })
    };
    let on_review = {
        let (step, request) = (step.clone(), request.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let (step, request) = (step.clone(), request.clone());
            step.set(Step::Checking);
            spawn_local(async move {
                step.set(match ipc::call::<PreviewShare>(&request).await {
                    Ok(preview) => Step::Reviewed(preview),
                    Err(error) => Step::Failed(error),
                });
            });
        })
    };
    let on_share = {
        let (step, mut request) = (step.clone(), request.clone());
        // Keys are sealed only to the keys whose fingerprint the preview showed (the
        // address typed without a share code).
        if let Step::Reviewed(p) = &*step {
            request.seen_fingerprint = p.key_fingerprint.clone();
        }
        Callback::from(move |_| {
            let (step, request) = (step.clone(), request.clone());
            step.set(Step::Sharing);
            spawn_local(async move {
                step.set(match ipc::call::<ShareRecords>(&request).await {
                    Ok(grants) => Step::Done(grants),
                    Err(error) => Step::Failed(error),
                });
            });
        })
    };

    let record_choices = props.records.iter().map(|r| {
        let checked = selected.contains(&r.id);
        let onchange = {
            let (selected, step, id) = (selected.clone(), step.clone(), r.id.clone());
            Callback::from(move |e: Event| {
                let input: HtmlInputElement = e.target_unchecked_into();
                let mut next = (*selected).clone();
                next.retain(|s| *s != id);
                if input.checked() {
                    next.push(id.clone());
                }
                selected.set(next);
                step.set(Step::Editing);
            })
        };
        let input_id = format!("share-pick-{}", r.id);
        html! {
            <li key={r.id.to_string()}>
                <input id={input_id.clone()} type="checkbox" class="share-pick" data-record-id={r.id.clone()}
                       {checked} {onchange} />
                <label for={input_id}>{ &r.title }</label>
            </li>
        }
    });
    let busy = matches!(*step, Step::Checking | Step::Sharing);
    let outcome = match &*step {
        Step::Editing => html! {},
        Step::Checking => {
            html! { <p class="busy" role="status"><span class="spinner" aria-hidden="true"></span>{ "Looking up this person's keys on the ledger…" }</p> }
        }
        Step::Failed(error) => error_box("share-error", error),
        Step::Reviewed(p) => html! {
            <div id="share-preview" class="share-preview">
                <p id="share-policy"><strong>{ "Who can read: " }</strong>{ &p.policy_words }</p>
                <p class="muted">{ format!("{} · published as a {} wallet", p.grantee, p.grantee_role) }</p>
                if let Some(label) = &p.grantee_label {
                    <p id="share-verified" data-verified={label.verified_name.is_some().to_string()}>
                        { crate::components::check_in_asks::provider_name(label) }
                    </p>
                }
                if let Some(fingerprint) = &p.key_fingerprint {
                    <p id="share-fingerprint" class="fingerprint">
                        <strong>{ "Their key fingerprint: " }</strong><code>{ fingerprint }</code>
                        <span class="muted">{ " · their Keys page shows theirs: if the two differ, do not share (the ledger node may not be telling the truth)." }</span>
                    </p>
                }
                if let Some(until) = &p.expires_at { <p>{ format!("Until {}; after that their wallet refuses it, and yours revokes it when next online.", local_time(until)) }</p> }
                if p.issues_key { <p class="muted">{ "A first share with this person: they get a key from your wallet, sealed to them and announced on the ledger." }</p> }
                if let Some(w) = &p.warning { <p id="share-warning" class="notice warning">{ w }</p> }
                <button id="share-confirm" type="button" class="primary" onclick={on_share}>
                    { format!("Share {}", if selected.len() == 1 { "1 record".to_owned() } else { format!("{} records", selected.len()) }) }
                </button>
            </div>
        },
        Step::Sharing => {
            html! { <p class="busy" role="status"><span class="spinner" aria-hidden="true"></span>{ "Issuing the key, re-wrapping, granting on the ledger…" }</p> }
        }
        Step::Done(grants) => html! {
            <ul id="share-result" class="share-result">
                { for grants.iter().map(grant_line) }
            </ul>
        },
    };
    let done = matches!(*step, Step::Done(_));
    let incomplete = match *kind {
        Kind::Person => grantee.trim().is_empty(),
        Kind::Role => grantee.trim().is_empty() || clause.trim().is_empty(),
        Kind::Emergency => grantee.trim().is_empty(),
        Kind::Group => group.trim().is_empty(),
    };
    html! {
        <dialog ref={dialog} id="share-dialog" class="viewer share-dialog" aria-labelledby="share-title" {oncancel}>
            <header class="viewer-head">
                <h2 id="share-title">{ "Share records" }</h2>
                <div class="actions">
                    <button id="share-close" type="button" onclick={close}>{ if done { "Done" } else { "Cancel" } }</button>
                </div>
            </header>
            <form class="viewer-body" onsubmit={on_review}>
                <fieldset class="share-records">
                    <legend>{ "Records" }</legend>
                    <ul class="share-picks">{ for record_choices }</ul>
                </fieldset>
                <fieldset class="share-kind">
                    <legend>{ "Share with" }</legend>
                    <label><input id="share-kind-person" type="radio" name="share-kind" checked={*kind == Kind::Person}
                                  onchange={on_kind(Kind::Person)} disabled={busy || done} />{ " A person" }</label>
                    <label><input id="share-kind-role" type="radio" name="share-kind" checked={*kind == Kind::Role}
                                  onchange={on_kind(Kind::Role)} disabled={busy || done} />{ " A role at a clinic" }</label>
                    <label><input id="share-kind-emergency" type="radio" name="share-kind" checked={*kind == Kind::Emergency}
                                  onchange={on_kind(Kind::Emergency)} disabled={busy || done} />{ " A clinic's emergency staff" }</label>
                    <label><input id="share-kind-group" type="radio" name="share-kind" checked={*kind == Kind::Group}
                                  onchange={on_kind(Kind::Group)} disabled={busy || done} />{ " One of your groups" }</label>
                </fieldset>
                if *kind == Kind::Group {
                    <div class="field">
                        <label for="share-group">{ "Group" }</label>
                        <input id="share-group" type="text" value={(*group).clone()} oninput={on_text(group.clone())}
                               placeholder="careteam" autocomplete="off" spellcheck="false" disabled={busy || done} />
                        <p class="hint muted">{ "Everyone you add to the group on the Shared page can read; removing someone re-encrypts for the others." }</p>
                    </div>
                } else {
                    <div class="field">
                        <label for="share-grantee">{ if matches!(*kind, Kind::Role | Kind::Emergency) { "Clinic's ledger address" } else { "Person's ledger address or share code" } }</label>
                        <input id="share-grantee" type="text" list="share-known" value={(*grantee).clone()} oninput={on_text(grantee.clone())}
                               placeholder="0x… or mwshare1:…" autocomplete="off" spellcheck="false" disabled={busy || done} />
                        <datalist id="share-known">
                            { for known_people.iter().map(|a| html! { <option value={a.clone()} /> }) }
                        </datalist>
                        <p class="hint muted">{ "They find both on their Keys page. They must have opened medwallet with this ledger once." }</p>
                    </div>
                }
                if *kind == Kind::Emergency {
                    <p id="share-emergency-note" class="hint muted">{ "Staff the clinic gave role:emergency can open it in an emergency. Each opening is logged as an emergency access and shown first in your audit trail." }</p>
                }
                if *kind == Kind::Role {
                    <div class="field">
                        <label for="share-clause">{ "Role at the clinic" }</label>
                        <input id="share-clause" type="text" value={(*clause).clone()} oninput={on_text(clause.clone())}
                               placeholder="role:doctor AND dept:cardiology" autocomplete="off" spellcheck="false"
                               disabled={busy || done} />
                        <p class="hint muted">{ "Attributes the clinic gives its staff, joined by AND and OR." }</p>
                    </div>
                }
                <div class="field">
                    <label for="share-expiry">{ "Access ends" }</label>
                    <select id="share-expiry" onchange={on_expiry} disabled={busy || done}>
                        { for EXPIRIES.iter().map(|(label, days)| html! {
                            <option value={days.map(|d| d.to_string()).unwrap_or_default()} selected={*expiry == *days}>{ *label }</option>
                        }) }
                    </select>
                </div>
                if !done {
                    <button id="share-review" type="submit" disabled={busy || selected.is_empty() || incomplete}>{ "Review" }</button>
                }
                { outcome }
            </form>
        </dialog>
    }
}

fn grant_line(g: &GrantSummary) -> Html {
    let (state, words) = match &g.state {
        GrantState::Active => ("active", "Shared: on the ledger.".to_owned()),
        GrantState::Sending { reason } => (
            "sending",
            format!(
                "Queued: {}",
                reason
                    .clone()
                    .unwrap_or_else(|| "it is sent shortly.".to_owned())
            ),
        ),
        GrantState::Revoking { .. } => ("revoking", "Being revoked.".to_owned()),
        GrantState::Revoked => ("revoked", "Revoked.".to_owned()),
    };
    html! {
        <li class="share-outcome" data-record-id={g.record_id.clone()} data-state={state}>
            <strong>{ &g.record_title }</strong>
            if let Some(c) = &g.clause { { format!(" ({} at the clinic)", c.words) } }
            if let Some(group) = &g.group { { format!(" (the members of {group})") } }
            { " — " }{ words }
        </li>
    }
}
