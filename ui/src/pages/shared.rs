//! Shared (patient): every grant of the wallet's records, its state on the ledger, and
//! revocation with its exposure report; the wallet's groups (`careteam`), adding and
//! removing members. Read again every 10 s while shown, so queued grants and
//! revocations are seen going out.

use std::rc::Rc;

use gloo_timers::callback::Interval;
use medwallet_api::commands::{
    AddGroupMember, GrantArgs, GroupMemberArgs, ListGrants, ListGroups, RemoveGroupMember,
    RevokeGrant,
};
use medwallet_api::{ExposureReport, GrantState, GrantSummary, GroupSummary, NoArgs, UserError};
use wasm_bindgen_futures::spawn_local;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::components::form::error_box;
use crate::components::ledger::local_time;
use crate::components::sharing_progress::SharingProgressView;
use crate::ipc;

const REFRESH_MS: u32 = 10_000;

/// Which grant is asked to confirm its revocation, or being revoked: (record, grantee,
/// clause of a role grant).
type GrantKey = (String, String, Option<String>);

/// The Shared page.
#[function_component(SharedPage)]
pub fn shared_page() -> Html {
    let grants = use_state_eq(|| None::<Rc<Vec<GrantSummary>>>);
    let groups = use_state_eq(|| None::<Rc<Vec<GroupSummary>>>);
    let error = use_state_eq(|| None::<UserError>);
    let confirming = use_state_eq(|| None::<GrantKey>);
    let revoking = use_state_eq(|| None::<GrantKey>);
    // A member's removal is running (its records are re-encrypted meanwhile).
    let group_busy = use_state_eq(|| false);
    let load = {
        let (grants, groups, error) = (grants.clone(), groups.clone(), error.clone());
        use_callback((), move |(), _| {
            let (grants, groups, error) = (grants.clone(), groups.clone(), error.clone());
            spawn_local(async move {
                match ipc::call::<ListGrants>(&NoArgs {}).await {
                    Ok(list) => {
                        error.set(None);
                        grants.set(Some(Rc::new(list)));
                    }
                    Err(e) => error.set(Some(e)),
                }
                if let Ok(list) = ipc::call::<ListGroups>(&NoArgs {}).await {
                    groups.set(Some(Rc::new(list)));
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
            <SharingProgressView waiting={revoking.is_some() || *group_busy} />
            { body }
            <GroupsPanel groups={(*groups).clone()} on_changed={load.clone()}
                         on_busy={ let group_busy = group_busy.clone(); Callback::from(move |b| group_busy.set(b)) } />
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
        g.clause
            .as_ref()
            .map(|c| c.clause.clone())
            .or(g.group.clone()),
    );
    let (state, label, reason) = match &g.state {
        GrantState::Revoked if g.rotation => ("revoked", "Re-encrypted", None),
        GrantState::Revoked if g.leave => ("revoked", "Removed", None),
        GrantState::Revoking { reason } if g.leave || g.rotation => {
            ("revoking", "Re-encrypting…", reason.clone())
        }
        GrantState::Sending { reason } => ("sending", "Queued", reason.clone()),
        GrantState::Active if g.expired => ("expired", "Expired", None),
        GrantState::Active => ("active", "Active", None),
        GrantState::Revoking { reason } => ("revoking", "Revoking…", reason.clone()),
        GrantState::Revoked => ("revoked", "Revoked", None),
    };
    let open = !g.rotation && matches!(g.state, GrantState::Sending { .. } | GrantState::Active);
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
            data-record-id={g.record_id.clone()} data-grantee={g.grantee.clone()} data-state={state}
            data-group={g.group.clone()} data-leave={g.leave.then_some("true")}
            data-rotation={g.rotation.then_some("true")}>
            <div class="record-main">
                <span class="record-title">{ &g.record_title }</span>
                <span class="record-meta">
                    if let (Some(c), true) = (&g.clause, g.rotation) {
                        <span class="grant-role">{ "clinic " }<code class="grantee">{ &g.grantee }</code>{ format!(" revoked a staff key: re-encrypted for {} there under its new keys", c.words) }</span>
                    } else if let Some(c) = &g.clause {
                        <span class="grant-role">{ format!("{} at clinic ", c.words) }<code class="grantee">{ &g.grantee }</code></span>
                    } else if let (Some(group), true) = (&g.group, g.leave) {
                        <span class="grant-role"><code class="grantee">{ &g.grantee }</code>{ format!(" removed from {group}") }</span>
                    } else if let Some(group) = &g.group {
                        <span class="grant-role">{ format!("the members of {group}") }</span>
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

#[derive(Properties, PartialEq)]
struct GroupsProps {
    groups: Option<Rc<Vec<GroupSummary>>>,
    on_changed: Callback<()>,
    /// Told when a change starts and ends (the page shows the re-encryption's progress).
    on_busy: Callback<bool>,
}

/// The wallet's groups: members, add, remove (which re-encrypts the group's records).
#[function_component(GroupsPanel)]
fn groups_panel(props: &GroupsProps) -> Html {
    let name = use_state(|| "careteam".to_owned());
    let member = use_state(String::new);
    let busy = use_state_eq(|| false);
    let error = use_state_eq(|| None::<UserError>);
    let run = {
        let (busy, error, changed, on_busy) = (
            busy.clone(),
            error.clone(),
            props.on_changed.clone(),
            props.on_busy.clone(),
        );
        Callback::from(move |(remove, args): (bool, GroupMemberArgs)| {
            let (busy, error, changed, on_busy) = (
                busy.clone(),
                error.clone(),
                changed.clone(),
                on_busy.clone(),
            );
            busy.set(true);
            on_busy.emit(true);
            spawn_local(async move {
                let answer = if remove {
                    ipc::call::<RemoveGroupMember>(&args).await
                } else {
                    ipc::call::<AddGroupMember>(&args).await
                };
                error.set(answer.err());
                busy.set(false);
                on_busy.emit(false);
                changed.emit(());
            });
        })
    };
    let on_add = {
        let (run, name, member) = (run.clone(), name.clone(), member.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            run.emit((
                false,
                GroupMemberArgs {
                    group: name.trim().to_owned(),
                    member: member.trim().to_owned(),
                },
            ));
        })
    };
    let text = |field: UseStateHandle<String>| {
        Callback::from(move |e: InputEvent| {
            let input: HtmlInputElement = e.target_unchecked_into();
            field.set(input.value());
        })
    };
    let list = props.groups.as_deref().map(|groups| {
        html! {
            <ul id="groups-list" class="record-list">
                { for groups.iter().map(|g| {
                    let members = g.members.iter().map(|m| {
                        let onclick = {
                            let (run, args) = (run.clone(), GroupMemberArgs { group: g.name.clone(), member: m.clone() });
                            Callback::from(move |_| run.emit((true, args.clone())))
                        };
                        html! {
                            <li class="group-member" data-member={m.clone()}>
                                <code>{ m }</code>
                                <button type="button" class="small danger group-member-remove" {onclick} disabled={*busy}
                                        aria-label={format!("Remove {m} from {}", g.name)}>{ "Remove" }</button>
                            </li>
                        }
                    });
                    html! {
                        <li class="record-row group-row" data-group={g.name.clone()} data-epoch={g.epoch.to_string()}>
                            <div class="record-main">
                                <span class="record-title">{ &g.name }</span>
                                <span class="record-meta"><span>{ format!("epoch {}", g.epoch) }</span>
                                    <span>{ format!("{} member{}", g.members.len(), if g.members.len() == 1 { "" } else { "s" }) }</span></span>
                                <ul class="group-members">{ for members }</ul>
                            </div>
                        </li>
                    }
                }) }
            </ul>
        }
    });
    html! {
        <section class="groups" aria-labelledby="groups-title">
            <h2 id="groups-title">{ "Groups" }</h2>
            <p class="muted">{ "Share a record with a group once; add and remove people later. Removing someone re-encrypts the group's records for the others." }</p>
            { for list }
            <form class="group-add" onsubmit={on_add}>
                <div class="field">
                    <label for="group-name">{ "Group" }</label>
                    <input id="group-name" type="text" value={(*name).clone()} oninput={text(name.clone())} autocomplete="off" spellcheck="false" />
                </div>
                <div class="field">
                    <label for="group-member">{ "Person's ledger address" }</label>
                    <input id="group-member" type="text" value={(*member).clone()} oninput={text(member.clone())} placeholder="0x…" autocomplete="off" spellcheck="false" />
                </div>
                <button id="group-add" type="submit" disabled={*busy || member.trim().is_empty() || name.trim().is_empty()}>
                    { if *busy { "Working…" } else { "Add to group" } }
                </button>
            </form>
            if let Some(e) = &*error { { error_box("groups-error", e) } }
        </section>
    }
}
