//! Staff (clinic): the keys the clinic's authority issued to its staff's wallets, with
//! their attributes; issuing one, and revoking one (the authority moves to its next
//! epoch: the others get new keys, and patients re-encrypt what they shared with its
//! roles, so the revoked key opens nothing made after).

use medwallet_api::commands::{IssueStaffKey, ListStaff, RevokeStaffKey};
use medwallet_api::{IssueStaffArgs, NoArgs, StaffHolderArgs, StaffList, StaffMember, UserError};
use wasm_bindgen_futures::spawn_local;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::components::form::error_box;
use crate::components::ledger::local_time;
use crate::components::rebuild::RebuildProgress;
use crate::components::sharing_progress::SharingProgressView;
use crate::ipc;

/// Splits typed attributes: by commas, spaces or new lines.
fn attributes_of(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The Staff page.
#[function_component(StaffPage)]
pub fn staff_page() -> Html {
    let list = use_state_eq(|| None::<StaffList>);
    let error = use_state_eq(|| None::<UserError>);
    let busy = use_state_eq(|| false);
    let holder = use_state(String::new);
    let attributes = use_state(|| "role:doctor".to_owned());
    let confirming = use_state(|| None::<String>);
    // Bumped to read the list again (a rebuild from the ledger finished).
    let reads = use_state(|| 0u32);
    {
        let (list, error) = (list.clone(), error.clone());
        use_effect_with(*reads, move |_| {
            spawn_local(async move {
                match ipc::call::<ListStaff>(&NoArgs {}).await {
                    Ok(l) => list.set(Some(l)),
                    Err(e) => error.set(Some(e)),
                }
            });
        });
    }
    // Runs one change and shows the list it answers.
    let run = {
        let (list, error, busy) = (list.clone(), error.clone(), busy.clone());
        move |call: std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<StaffList, UserError>>>,
        >| {
            let (list, error, busy) = (list.clone(), error.clone(), busy.clone());
            busy.set(true);
            spawn_local(async move {
                match call.await {
                    Ok(l) => {
                        error.set(None);
                        list.set(Some(l));
                    }
                    Err(e) => error.set(Some(e)),
                }
                busy.set(false);
            });
        }
    };
    let issue = {
        let (holder, attributes, run) = (holder.clone(), attributes.clone(), run.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let args = IssueStaffArgs {
                holder: holder.trim().to_owned(),
                attributes: attributes_of(&attributes),
            };
            run(Box::pin(
                async move { ipc::call::<IssueStaffKey>(&args).await },
            ));
        })
    };
    let revoke = {
        let (confirming, run) = (confirming.clone(), run.clone());
        Callback::from(move |holder: String| {
            confirming.set(None);
            let args = StaffHolderArgs { holder };
            run(Box::pin(
                async move { ipc::call::<RevokeStaffKey>(&args).await },
            ));
        })
    };
    let ask = {
        let confirming = confirming.clone();
        Callback::from(move |holder: String| confirming.set(Some(holder)))
    };
    let on_holder = {
        let holder = holder.clone();
        Callback::from(move |e: InputEvent| {
            holder.set(e.target_unchecked_into::<HtmlInputElement>().value())
        })
    };
    let on_attributes = {
        let attributes = attributes.clone();
        Callback::from(move |e: InputEvent| {
            attributes.set(e.target_unchecked_into::<HtmlInputElement>().value())
        })
    };
    html! {
        <section class="page wide staff-page" aria-labelledby="staff-title">
            <h1 id="staff-title">{ "Staff" }</h1>
            <RebuildProgress on_done={ let reads = reads.clone(); Callback::from(move |()| reads.set(*reads + 1)) } />
            <SharingProgressView waiting={*busy} />
            <section class="card" aria-labelledby="staff-issue-title">
                <h2 id="staff-issue-title">{ "Issue a staff key" }</h2>
                <p class="muted">{ "Records patients share with a role here (such as role:doctor AND dept:cardiology) open for the staff whose key holds it. The staff member must have opened medwallet with this ledger once." }</p>
                <form id="staff-form" onsubmit={issue}>
                    <div class="field">
                        <label for="staff-holder">{ "Staff member's ledger address" }</label>
                        <input id="staff-holder" type="text" value={(*holder).clone()} oninput={on_holder}
                               placeholder="0x…" autocomplete="off" spellcheck="false" disabled={*busy} />
                    </div>
                    <div class="field">
                        <label for="staff-attributes">{ "Attributes" }</label>
                        <input id="staff-attributes" type="text" value={(*attributes).clone()} oninput={on_attributes}
                               placeholder="role:doctor dept:cardiology" autocomplete="off" spellcheck="false" disabled={*busy} />
                        <p class="hint muted">{ "Separated by spaces or commas; role:emergency lets them open records patients marked for emergencies." }</p>
                    </div>
                    <button id="staff-issue" type="submit" disabled={*busy || holder.trim().is_empty() || attributes.trim().is_empty()}>
                        { if *busy { "Working…" } else { "Issue key" } }
                    </button>
                </form>
            </section>
            if let Some(e) = &*error { { error_box("staff-error", e) } }
            { match &*list {
                None => html! { <p class="busy" role="status"><span class="spinner" aria-hidden="true"></span>{ "Reading the staff…" }</p> },
                Some(l) => html! {
                    <section class="card" aria-labelledby="staff-list-title">
                        <h2 id="staff-list-title">{ "Staff keys" }</h2>
                        <p id="staff-epoch" class="muted">{ format!("Authority epoch {}: each revocation moves it on, and patients re-encrypt what they shared with this clinic's roles.", l.epoch) }</p>
                        if let Some(p) = &l.problem {
                            <p id="staff-problem" class="notice warning" role="status">{ format!("{p} The new keys go out on the next pass.") }</p>
                        }
                        if l.members.is_empty() {
                            <p id="staff-empty" class="muted">{ "No staff key issued yet." }</p>
                        } else {
                            <ul id="staff-list" class="record-list">
                                { for l.members.iter().map(|m| staff_row(m, &ask, &revoke, confirming.as_deref(), *busy)) }
                            </ul>
                        }
                    </section>
                },
            } }
        </section>
    }
}

fn staff_row(
    m: &StaffMember,
    ask: &Callback<String>,
    revoke: &Callback<String>,
    confirming: Option<&str>,
    busy: bool,
) -> Html {
    let holder = m.holder.clone();
    let on_ask = {
        let (ask, holder) = (ask.clone(), holder.clone());
        Callback::from(move |_| ask.emit(holder.clone()))
    };
    let on_revoke = {
        let (revoke, holder) = (revoke.clone(), holder.clone());
        Callback::from(move |_| revoke.emit(holder.clone()))
    };
    html! {
        <li key={m.holder.clone()} class="record-row staff-row" data-holder={m.holder.clone()} data-active={m.active.to_string()}>
            <div class="record-main">
                <code class="staff-holder">{ &m.holder }</code>
                <span class="record-meta">
                    <span class="staff-attributes">{ m.attributes.join(", ") }</span>
                    <span>{ format!("issued {}", local_time(&m.issued_at)) }</span>
                    if let Some(t) = &m.revoked_at { <span>{ format!("revoked {}", local_time(t)) }</span> }
                    if !m.active {
                        <span class="staff-revocation" data-on-ledger={m.revocation_tx.is_some().to_string()}>
                            { match &m.revocation_tx {
                                Some(tx) => format!("on the ledger (tx {}…): their access logs are refused", &tx[..tx.len().min(10)]),
                                None => "waiting to be sent to the ledger".to_owned(),
                            } }
                        </span>
                    }
                </span>
            </div>
            if !m.active {
                <span class="badge grant-state expired">{ "Revoked" }</span>
            } else if confirming == Some(m.holder.as_str()) {
                <button type="button" class="small danger staff-revoke-confirm" onclick={on_revoke} disabled={busy}>
                    { "Revoke: new keys for everyone else" }
                </button>
            } else {
                <button type="button" class="small staff-revoke" onclick={on_ask} disabled={busy}
                        aria-label={format!("Revoke the key of {}", m.holder)}>{ "Revoke…" }</button>
            }
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::attributes_of;

    #[test]
    fn attributes_are_split_by_commas_and_spaces() {
        assert_eq!(
            attributes_of(" role:doctor, dept:cardiology\nrole:emergency "),
            ["role:doctor", "dept:cardiology", "role:emergency"]
        );
        assert!(attributes_of(" ,, ").is_empty());
    }
}
