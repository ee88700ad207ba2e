//! Front desk (clinic): check a patient in from their one-time code (pasted, or a picture
//! of its QR code), which asks them on their device; once they allow it, open what they
//! granted (each opening logged on the ledger first), upload a record for them, and
//! verify a file or CID against the ledger.
//!
//! Three clicks for a check-in: Choose picture…, pick it, Check in (or drop the picture on
//! the window: it checks in at once). Files are chosen in the app's dialogs or dropped,
//! never typed: the shell hands out a token per file, and only those name files. The list
//! then reads itself again every few seconds while a patient has not answered.

use std::rc::Rc;

use medwallet_api::commands::{
    CheckInPatient, ListCheckIns, PickFile, PickFileArgs, PickPicture, UploadForPatient,
    VerifyRecord,
};
use medwallet_api::{
    Category, CheckInArgs, CheckInSession, ChosenFile, NoArgs, PickPurpose, RecordMetadata,
    UploadForPatientArgs, UploadedForPatient, UserError, Verdict, VerifyArgs, VerifyOutcome,
};

use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::spawn_local;
use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

use crate::components::drops::use_drops;
use crate::components::form::error_box;
use crate::components::ledger::local_time;
use crate::components::rebuild::RebuildProgress;
use crate::components::record_viewer::RecordViewer;
use crate::ipc;
use crate::pages::shared_with_me::{shared_row, Viewing};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = Date)]
    type JsDate;
    #[wasm_bindgen(constructor, js_class = "Date")]
    fn new() -> JsDate;
    #[wasm_bindgen(method, js_name = toISOString)]
    fn to_iso_string(this: &JsDate) -> String;
}

/// Today, `YYYY-MM-DD` (UTC), the default date of a record made at the desk.
fn today() -> String {
    JsDate::new().to_iso_string().chars().take(10).collect()
}

fn text_of(e: InputEvent) -> String {
    e.target_unchecked_into::<HtmlInputElement>().value()
}

/// Opens the app's chooser for one file, for `purpose`; the chosen file lands in `into`
/// (a cancelled chooser leaves it as it was; a failure is shown by `failed`).
fn choose_file(
    purpose: PickPurpose,
    into: UseStateHandle<Option<ChosenFile>>,
    failed: Callback<UserError>,
) -> Callback<MouseEvent> {
    Callback::from(move |_| {
        let (into, failed) = (into.clone(), failed.clone());
        spawn_local(async move {
            match ipc::call::<PickFile>(&PickFileArgs { purpose }).await {
                Ok(Some(file)) => into.set(Some(file)),
                Ok(None) => {}
                Err(e) => failed.emit(e),
            }
        });
    })
}

/// The chosen file's name, or that none is chosen yet; with a button to forget it.
fn chosen_name(id: &str, file: &UseStateHandle<Option<ChosenFile>>, busy: bool) -> Html {
    match &**file {
        Some(f) => {
            let clear = {
                let file = file.clone();
                Callback::from(move |_| file.set(None))
            };
            html! {
                <span class="chosen-file">
                    <strong id={id.to_owned()} class="chosen-name">{ &f.name }</strong>
                    <button id={format!("{id}-clear")} type="button" class="small link" onclick={clear}
                            disabled={busy} aria-label={format!("Forget {}", f.name)}>{ "✕" }</button>
                </span>
            }
        }
        None => {
            html! { <span id={id.to_owned()} class="chosen-name muted">{ "No file chosen" }</span> }
        }
    }
}

/// The Front desk page.
#[function_component(FrontDeskPage)]
pub fn front_desk_page() -> Html {
    let sessions = use_state_eq(|| None::<Rc<Vec<CheckInSession>>>);
    let error = use_state_eq(|| None::<UserError>);
    let load = {
        let (sessions, error) = (sessions.clone(), error.clone());
        use_callback((), move |(), _| {
            let (sessions, error) = (sessions.clone(), error.clone());
            spawn_local(async move {
                match ipc::call::<ListCheckIns>(&NoArgs {}).await {
                    Ok(found) => {
                        error.set(None);
                        sessions.set(Some(Rc::new(found)));
                    }
                    Err(e) => error.set(Some(e)),
                }
            });
        })
    };
    {
        let load = load.clone();
        use_effect_with((), move |_| load.emit(()));
    }
    // While a patient has not answered on their device, the list is read again.
    {
        let load = load.clone();
        let waiting = sessions
            .as_ref()
            .is_some_and(|l| l.iter().any(|s| s.state == "waiting" && !s.expired));
        use_effect_with((waiting, sessions.clone()), move |(waiting, _)| {
            let timer =
                waiting.then(|| gloo_timers::callback::Timeout::new(2_000, move || load.emit(())));
            move || drop(timer)
        });
    }
    let checked_in = {
        let load = load.clone();
        Callback::from(move |()| load.emit(()))
    };
    html! {
        <section class="page wide front-desk" aria-labelledby="front-desk-title">
            <h1 id="front-desk-title">{ "Front desk" }</h1>
            <RebuildProgress on_done={load.clone()} />
            <CheckInCard on_checked_in={checked_in} />
            if let Some(e) = &*error { { error_box("checkins-error", e) } }
            <section class="card" aria-labelledby="checkins-title">
                <h2 id="checkins-title">{ "Checked in" }</h2>
                { match &*sessions {
                    None => html! { <p class="busy" role="status"><span class="spinner" aria-hidden="true"></span>{ "Reading check-ins…" }</p> },
                    Some(list) if list.is_empty() => html! { <p id="checkins-empty" class="muted">{ "No patient is checked in at this desk yet." }</p> },
                    Some(list) => html! {
                        <ul id="checkin-list" class="checkin-list">
                            { for list.iter().map(|s| html! { <SessionRow key={s.check_in_id.clone()} session={s.clone()} /> }) }
                        </ul>
                    },
                } }
            </section>
            <VerifyCard />
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct CheckInProps {
    on_checked_in: Callback<()>,
}

#[derive(Clone, PartialEq)]
enum CheckingIn {
    Idle,
    Busy,
    Done(Box<CheckInSession>),
    Failed(UserError),
}

/// Reads a code: pasted text, or a picture of the QR code.
#[function_component(CheckInCard)]
fn check_in_card(props: &CheckInProps) -> Html {
    let text = use_state(String::new);
    let picture = use_state(|| None::<ChosenFile>);
    let state = use_state(|| CheckingIn::Idle);
    let browse = {
        let (picture, state) = (picture.clone(), state.clone());
        Callback::from(move |_| {
            let (picture, state) = (picture.clone(), state.clone());
            spawn_local(async move {
                match ipc::call::<PickPicture>(&NoArgs {}).await {
                    Ok(Some(file)) => picture.set(Some(file)),
                    Ok(None) => {}
                    Err(e) => state.set(CheckingIn::Failed(e)),
                }
            });
        })
    };
    let check = {
        let (text, state, done) = (text.clone(), state.clone(), props.on_checked_in.clone());
        Callback::from(move |args: CheckInArgs| {
            let (state, done, text) = (state.clone(), done.clone(), text.clone());
            state.set(CheckingIn::Busy);
            spawn_local(async move {
                match ipc::call::<CheckInPatient>(&args).await {
                    Ok(session) => {
                        text.set(String::new());
                        state.set(CheckingIn::Done(Box::new(session)));
                        done.emit(());
                    }
                    Err(e) => state.set(CheckingIn::Failed(e)),
                }
            });
        })
    };
    let submit = {
        let (text, picture, check) = (text.clone(), picture.clone(), check.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            check.emit(CheckInArgs {
                text: Some(text.trim().to_owned()).filter(|t| !t.is_empty()),
                picture: picture.as_ref().map(|f| f.token.clone()),
            });
        })
    };
    // A picture dropped on the window is checked in at once (the third click saved).
    {
        let (picture, text, check) = (picture.clone(), text.clone(), check.clone());
        use_drops(Callback::from(move |files: Vec<ChosenFile>| {
            if let Some(file) = files.into_iter().next() {
                text.set(String::new());
                let token = file.token.clone();
                picture.set(Some(file));
                check.emit(CheckInArgs {
                    text: None,
                    picture: Some(token),
                });
            }
        }));
    }
    let busy = *state == CheckingIn::Busy;
    let outcome = match &*state {
        CheckingIn::Idle => html! {},
        CheckingIn::Busy => html! {
            <p class="busy" role="status"><span class="spinner" aria-hidden="true"></span>{ "Checking the code's signature and the ledger, then checking in…" }</p>
        },
        CheckingIn::Failed(e) => error_box("checkin-error", e),
        CheckingIn::Done(s) => html! {
            <div id="checkin-done" class="notice success" role="status">
                <p>{ format!("Code read: \"{}\" ({}). They are asked on their device now.", s.patient_name, s.patient) }</p>
                <p class="hint">{ "Nothing opens before they allow it; their records appear below when they do. The name is the patient's own choice; the address is checked against the keys they published." }</p>
            </div>
        },
    };
    let on_text = {
        let text = text.clone();
        Callback::from(move |e: InputEvent| {
            text.set(e.target_unchecked_into::<HtmlTextAreaElement>().value())
        })
    };
    html! {
        <section class="card checkin-card" aria-labelledby="checkin-title">
            <h2 id="checkin-title">{ "Check a patient in" }</h2>
            <p class="muted">{ "The patient shows a check-in code (their Keys page). Drop a picture of its QR code on the window, choose one, or paste the code's text. A code checks in once, before it expires." }</p>
            <form id="checkin-form" onsubmit={submit}>
                <div class="field">
                    <label for="checkin-browse">{ "Picture of the QR code (PNG or JPEG)" }</label>
                    <div class="inline-field">
                        <button id="checkin-browse" type="button" class="small" onclick={browse} disabled={busy}>{ "Choose picture…" }</button>
                        { chosen_name("checkin-picture", &picture, busy) }
                    </div>
                </div>
                <div class="field">
                    <label for="checkin-text">{ "Or the code's text" }</label>
                    <textarea id="checkin-text" rows="3" value={(*text).clone()} oninput={on_text}
                              placeholder="mwshare1:…" spellcheck="false" disabled={busy} />
                </div>
                <button id="checkin-submit" type="submit"
                        disabled={busy || (text.trim().is_empty() && picture.is_none())}>{ "Check in" }</button>
            </form>
            { outcome }
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct SessionProps {
    session: CheckInSession,
}

/// One checked-in patient: who, until when, what they granted, and the upload form.
#[function_component(SessionRow)]
fn session_row(props: &SessionProps) -> Html {
    let s = &props.session;
    let viewing = use_state(|| None::<Viewing>);
    let open = {
        let viewing = viewing.clone();
        Callback::from(move |v: Viewing| viewing.set(Some(v)))
    };
    let close = {
        let viewing = viewing.clone();
        Callback::from(move |()| viewing.set(None))
    };
    html! {
        <li class="checkin-row" data-patient={s.patient.clone()} data-check-in={s.check_in_id.clone()}
            data-state={s.state.clone()} data-expired={s.expired.to_string()}>
            <p class="checkin-who">
                <strong class="checkin-name">{ &s.patient_name }</strong>{ " " }<code>{ &s.patient }</code>
            </p>
            <p class="muted">
                { format!("Code read {} · ", local_time(&s.checked_in_at)) }
                if s.state == "declined" {
                    <span class="badge grant-state revoked">{ "Declined by the patient" }</span>
                } else if s.expired {
                    <span class="badge grant-state expired">{ "Expired" }</span>
                } else if s.state == "waiting" {
                    { format!("waiting for an answer until {}", local_time(&s.expires_at)) }
                } else {
                    { format!("allowed until {}", local_time(&s.expires_at)) }
                }
            </p>
            if s.state == "waiting" && !s.expired {
                <p class="notice checkin-waiting" role="status">
                    <span class="spinner" aria-hidden="true"></span>
                    { format!("Waiting for {} to allow this check-in on their device: nothing opens before they do. ", s.patient_name) }
                    { "Their wallet shows the confirmation code " }<strong class="checkin-confirmation">{ &s.confirmation }</strong>
                    { ": tell them, so they allow this desk only." }
                </p>
            } else if s.state == "declined" {
            } else if s.records.is_empty() {
                <p class="muted checkin-no-records">{ "No record granted with this check-in." }</p>
            } else {
                <ul class="record-list checkin-records">
                    { for s.records.iter().map(|r| shared_row(r, &open)) }
                </ul>
            }
            { for s.problems.iter().map(|p| html! { <p class="notice error">{ p }</p> }) }
            if !s.expired && s.state == "allowed" {
                <UploadForm check_in_id={s.check_in_id.clone()} patient_name={s.patient_name.clone()} />
            }
            if let Some(v) = &*viewing {
                <RecordViewer record_id={v.id.clone()} title={v.title.clone()} on_close={close}
                              check_in={Some(AttrValue::from(s.check_in_id.clone()))} />
            }
        </li>
    }
}

#[derive(Properties, PartialEq)]
struct UploadProps {
    check_in_id: String,
    patient_name: String,
}

#[derive(Clone, PartialEq)]
enum Uploading {
    Idle,
    Busy,
    Done(UploadedForPatient),
    Failed(UserError),
}

/// A record made at the desk, encrypted for the patient and registered as theirs.
#[function_component(UploadForm)]
fn upload_form(props: &UploadProps) -> Html {
    let file = use_state(|| None::<ChosenFile>);
    let title = use_state(String::new);
    let category = use_state(|| Category::LabResult);
    let date = use_state(today);
    let state = use_state(|| Uploading::Idle);
    let submit = {
        let (file, title, category, date, state) = (
            file.clone(),
            title.clone(),
            category.clone(),
            date.clone(),
            state.clone(),
        );
        let check_in_id = props.check_in_id.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let Some(chosen) = &*file else { return };
            let args = UploadForPatientArgs {
                check_in_id: check_in_id.clone(),
                file: chosen.token.clone(),
                metadata: RecordMetadata {
                    title: title.trim().to_owned(),
                    category: *category,
                    date: date.trim().to_owned(),
                    author: String::new(),
                },
            };
            let (state, file, title) = (state.clone(), file.clone(), title.clone());
            state.set(Uploading::Busy);
            spawn_local(async move {
                match ipc::call::<UploadForPatient>(&args).await {
                    Ok(done) => {
                        file.set(None);
                        title.set(String::new());
                        state.set(Uploading::Done(done));
                    }
                    Err(e) => state.set(Uploading::Failed(e)),
                }
            });
        })
    };
    let field = |s: &UseStateHandle<String>| {
        let s = s.clone();
        Callback::from(move |e: InputEvent| s.set(text_of(e)))
    };
    let on_category = {
        let category = category.clone();
        Callback::from(move |e: Event| {
            let value = e.target_unchecked_into::<HtmlSelectElement>().value();
            if let Some(c) = Category::parse(&value) {
                category.set(c);
            }
        })
    };
    let choose = {
        let state = state.clone();
        choose_file(
            PickPurpose::UploadForPatient,
            file.clone(),
            Callback::from(move |e| state.set(Uploading::Failed(e))),
        )
    };
    let busy = *state == Uploading::Busy;
    html! {
        <form class="upload-for-patient" onsubmit={submit}>
            <h3>{ format!("Upload a record for {}", props.patient_name) }</h3>
            <div class="inline-field">
                <button class="upload-choose small" type="button" onclick={choose} disabled={busy}>{ "Choose file…" }</button>
                <span class="upload-file-name chosen-name">
                    { file.as_ref().map_or("No file chosen".to_owned(), |f| f.name.clone()) }
                </span>
                <input class="upload-title" type="text" aria-label="Title" placeholder="Title"
                       value={(*title).clone()} oninput={field(&title)} disabled={busy} />
                <select class="upload-category" aria-label="Category" onchange={on_category} disabled={busy}>
                    { for Category::ALL.iter().map(|c| html! {
                        <option value={c.as_str()} selected={*c == *category}>{ c.label() }</option>
                    }) }
                </select>
                <input class="upload-date" type="date" aria-label="Date" value={(*date).clone()} oninput={field(&date)} disabled={busy} />
                <button class="upload-submit small" type="submit"
                        disabled={busy || file.is_none() || title.trim().is_empty()}>
                    { if busy { "Encrypting and registering…" } else { "Upload for the patient" } }
                </button>
            </div>
            { match &*state {
                Uploading::Done(u) => html! {
                    <p class="upload-done notice success" role="status">
                        { format!("\"{}\" is registered as {}'s, made by this clinic (transaction {}). It appears in their wallet.", u.title, u.patient, u.tx_hash) }
                    </p>
                },
                Uploading::Failed(e) => error_box("upload-error", e),
                _ => html! {},
            } }
        </form>
    }
}

#[derive(Clone, PartialEq)]
enum Verifying {
    Idle,
    Busy,
    Done(Verdict),
    Failed(UserError),
}

/// Check validity: a file or a CID against the ledger.
#[function_component(VerifyCard)]
fn verify_card() -> Html {
    let cid = use_state(String::new);
    let file = use_state(|| None::<ChosenFile>);
    let state = use_state(|| Verifying::Idle);
    let submit = {
        let (cid, file, state) = (cid.clone(), file.clone(), state.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let args = VerifyArgs {
                cid: Some(cid.trim().to_owned()).filter(|c| !c.is_empty()),
                file: file.as_ref().map(|f| f.token.clone()),
            };
            let state = state.clone();
            state.set(Verifying::Busy);
            spawn_local(async move {
                state.set(match ipc::call::<VerifyRecord>(&args).await {
                    Ok(v) => Verifying::Done(v),
                    Err(e) => Verifying::Failed(e),
                });
            });
        })
    };
    let on_cid = {
        let cid = cid.clone();
        Callback::from(move |e: InputEvent| cid.set(text_of(e)))
    };
    let choose = {
        let state = state.clone();
        choose_file(
            PickPurpose::Verify,
            file.clone(),
            Callback::from(move |e| state.set(Verifying::Failed(e))),
        )
    };
    let busy = *state == Verifying::Busy;
    let result = match &*state {
        Verifying::Idle => html! {},
        Verifying::Busy => {
            html! { <p class="busy" role="status"><span class="spinner" aria-hidden="true"></span>{ "Reading the ledger…" }</p> }
        }
        Verifying::Failed(e) => error_box("verify-error", e),
        Verifying::Done(v) => {
            let (class, mark) = match v.outcome {
                VerifyOutcome::Registered => ("success", "✓"),
                VerifyOutcome::Superseded => ("warning", "!"),
                VerifyOutcome::Altered => ("error", "✗"),
                VerifyOutcome::Unknown => ("info", "?"),
            };
            let outcome = serde_wasm_bindgen::to_value(&v.outcome)
                .ok()
                .and_then(|o| o.as_string())
                .unwrap_or_default();
            html! {
                <div id="verify-result" class={classes!("notice", class)} data-outcome={outcome} role="status">
                    <p><strong>{ format!("{mark} {}", v.headline) }</strong></p>
                    { for v.details.iter().map(|d| html! { <p class="hint">{ d }</p> }) }
                </div>
            }
        }
    };
    html! {
        <section class="card verify-card" aria-labelledby="verify-title">
            <h2 id="verify-title">{ "Check validity" }</h2>
            <p class="muted">{ "Is this file, or this CID, a record registered on the ledger, and unchanged? A document is compared with the records checked-in patients granted (each comparison is logged as an opening)." }</p>
            <form id="verify-form" onsubmit={submit}>
                <div class="field">
                    <label for="verify-choose">{ "File" }</label>
                    <div class="inline-field">
                        <button id="verify-choose" type="button" class="small" onclick={choose} disabled={busy}>{ "Choose file…" }</button>
                        { chosen_name("verify-file", &file, busy) }
                    </div>
                </div>
                <div class="field">
                    <label for="verify-cid">{ "Or a CID" }</label>
                    <input id="verify-cid" type="text" value={(*cid).clone()} oninput={on_cid}
                           placeholder="bafy…" autocomplete="off" spellcheck="false" disabled={busy} />
                </div>
                <button id="verify-submit" type="submit"
                        disabled={busy || (cid.trim().is_empty() == file.is_none())}>{ "Verify" }</button>
            </form>
            { result }
        </section>
    }
}
