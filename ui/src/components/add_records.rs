//! Adding records: choose files (the system's chooser) or drop them on the window (there
//! is no path to type: the shell hands out a token per file, and only those name files);
//! the shell checks them and proposes their metadata; the user edits it, then each file
//! is encrypted and uploaded as its own job, with a progress bar and a Cancel button.
//!
//! Running jobs live in this module's store, not in the component, so an upload keeps its
//! progress bar and its Cancel button when the user leaves the Records page and comes
//! back. The window's file drops are subscribed to once for the app's life; they are
//! handled while the Records page is shown.

use std::cell::RefCell;
use std::rc::Rc;

use medwallet_api::commands::{
    AddRecord, AddRecordArgs, CancelAdd, InspectFiles, InspectFilesArgs, JobArgs, PickFiles,
};
use medwallet_api::{
    AddProgress, AddStage, Category, ChosenFile, FileDraft, FileToken, Inspection, NoArgs,
    RecordMetadata, RecordStatus, RecordSummary, RefusedFile, UserError,
};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::spawn_local;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::components::drops::use_drops;
use crate::components::form::{error_box, focus};
use crate::components::format::human_size;
use crate::components::progress::ProgressBar;
use crate::ipc;

/// What a record kept on this device while the IPFS node is away says.
pub const QUEUED_NOTE: &str = "Saved on this device; it will upload when the IPFS node is back.";

#[wasm_bindgen]
extern "C" {
    /// `Date.now()`: milliseconds, for job ids unique across runs of the app.
    #[wasm_bindgen(js_namespace = Date, js_name = now)]
    fn date_now() -> f64;
}

// ---------------------------------------------------------------------------------------
// Jobs: one `AddRecord` each.

/// One file being added.
#[derive(Clone, PartialEq)]
struct Job {
    job_id: String,
    file_name: String,
    title: String,
    state: JobState,
}

#[derive(Clone, PartialEq)]
enum JobState {
    /// Started; `stage` is `None` until the first message.
    Running {
        stage: Option<AddStage>,
        done: u64,
        total: u64,
        cancelling: bool,
        cancel_error: Option<UserError>,
    },
    /// Added; `queued` when it is kept on this device until the node is back.
    Added {
        queued: bool,
    },
    Failed(UserError),
    Cancelled,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum JobEvent {
    Changed,
    /// A record was added: the list should be read again.
    Added,
}

#[derive(Default)]
struct JobStore {
    /// The wallet the jobs belong to; another wallet's page starts with an empty list.
    wallet_id: String,
    jobs: Vec<Job>,
    next: u64,
    listener: Option<Callback<JobEvent>>,
}

thread_local! {
    static JOBS: RefCell<JobStore> = RefCell::new(JobStore::default());
}

fn with_jobs<R>(f: impl FnOnce(&mut JobStore) -> R) -> R {
    JOBS.with(|store| f(&mut store.borrow_mut()))
}

/// Tells the shown component, if any. Never called with the store borrowed: the listener
/// may render at once, and rendering reads the store.
fn notify(event: JobEvent) {
    if let Some(listener) = with_jobs(|s| s.listener.clone()) {
        listener.emit(event);
    }
}

fn update_job(job_id: &str, f: impl FnOnce(&mut JobState)) {
    with_jobs(|s| {
        if let Some(job) = s.jobs.iter_mut().find(|j| j.job_id == job_id) {
            f(&mut job.state);
        }
    });
}

fn start_job(token: FileToken, file: String, metadata: RecordMetadata) {
    let job_id = with_jobs(|s| {
        s.next += 1;
        let job_id = format!("add-{}-{}", date_now() as u64, s.next);
        s.jobs.push(Job {
            job_id: job_id.clone(),
            file_name: file,
            title: metadata.title.clone(),
            state: JobState::Running {
                stage: None,
                done: 0,
                total: 0,
                cancelling: false,
                cancel_error: None,
            },
        });
        job_id
    });
    notify(JobEvent::Changed);
    spawn_local(async move {
        let args = AddRecordArgs {
            job_id: job_id.clone(),
            file: token,
            metadata,
        };
        let result = ipc::call_streaming::<AddRecord>(&args, on_progress).await;
        let added = result.is_ok();
        update_job(&job_id, |state| {
            let (last_stage, cancelling) = match state {
                JobState::Running {
                    stage, cancelling, ..
                } => (*stage, *cancelling),
                _ => (None, false),
            };
            *state = match result {
                Ok(record) => JobState::Added {
                    queued: last_stage == Some(AddStage::Queued) || is_local(&record),
                },
                Err(_) if cancelling => JobState::Cancelled,
                Err(error) => JobState::Failed(error),
            };
        });
        notify(if added {
            JobEvent::Added
        } else {
            JobEvent::Changed
        });
    });
}

fn is_local(record: &RecordSummary) -> bool {
    matches!(record.status, RecordStatus::LocalOnly { .. })
}

fn on_progress(progress: AddProgress) {
    update_job(&progress.job_id, |state| {
        if let JobState::Running {
            stage, done, total, ..
        } = state
        {
            *stage = Some(progress.stage);
            *done = progress.done;
            *total = progress.total;
        }
    });
    notify(JobEvent::Changed);
}

fn cancel_job(job_id: String) {
    update_job(&job_id, |state| {
        if let JobState::Running {
            cancelling,
            cancel_error,
            ..
        } = state
        {
            *cancelling = true;
            *cancel_error = None;
        }
    });
    notify(JobEvent::Changed);
    spawn_local(async move {
        if let Err(error) = ipc::call::<CancelAdd>(&JobArgs {
            job_id: job_id.clone(),
        })
        .await
        {
            // Still running: say why it could not be stopped. Finished meanwhile: nothing to say.
            update_job(&job_id, |state| {
                if let JobState::Running {
                    cancelling,
                    cancel_error,
                    ..
                } = state
                {
                    *cancelling = false;
                    *cancel_error = Some(error);
                }
            });
            notify(JobEvent::Changed);
        }
    });
}

// ---------------------------------------------------------------------------------------
// The form: files checked by the shell, with their metadata as the user edits it.

#[derive(Clone, PartialEq)]
struct Draft {
    /// Stable across edits and removals (the Yew key).
    key: u64,
    file: FileDraft,
}

#[derive(Clone, Default, PartialEq)]
struct AddForm {
    drafts: Vec<Draft>,
    refused: Vec<RefusedFile>,
    error: Option<UserError>,
    /// Checks under way.
    checking: u32,
    next_key: u64,
    /// The user tried to start with a field missing: show what is missing.
    show_errors: bool,
}

#[derive(Clone, Copy, PartialEq)]
enum Field {
    Title,
    Category,
    Date,
    Author,
}

enum AddAction {
    Checking,
    Inspected(Inspection),
    Failed(UserError),
    Edit(u64, Field, String),
    Remove(u64),
    ShowErrors,
    /// Drafts started or discarded.
    Clear,
}

impl Reducible for AddForm {
    type Action = AddAction;

    fn reduce(self: Rc<Self>, action: AddAction) -> Rc<Self> {
        let mut form = (*self).clone();
        match action {
            AddAction::Checking => {
                form.checking += 1;
                form.error = None;
            }
            AddAction::Inspected(inspection) => {
                form.checking = form.checking.saturating_sub(1);
                form.refused = inspection.refused;
                for file in inspection.drafts {
                    if form.drafts.iter().all(|d| d.file.file != file.file) {
                        form.next_key += 1;
                        form.drafts.push(Draft {
                            key: form.next_key,
                            file,
                        });
                    }
                }
            }
            AddAction::Failed(error) => {
                form.checking = form.checking.saturating_sub(1);
                form.error = Some(error);
            }
            AddAction::Edit(key, field, value) => {
                if let Some(draft) = form.drafts.iter_mut().find(|d| d.key == key) {
                    let m = &mut draft.file.metadata;
                    match field {
                        Field::Title => m.title = value,
                        Field::Category => {
                            if let Some(c) = Category::parse(&value) {
                                m.category = c;
                            }
                        }
                        Field::Date => m.date = value,
                        Field::Author => m.author = value,
                    }
                }
            }
            AddAction::Remove(key) => form.drafts.retain(|d| d.key != key),
            AddAction::ShowErrors => form.show_errors = true,
            AddAction::Clear => {
                form.drafts.clear();
                form.refused.clear();
                form.show_errors = false;
            }
        }
        Rc::new(form)
    }
}

fn missing_title(m: &RecordMetadata) -> bool {
    m.title.trim().is_empty()
}

fn missing_date(m: &RecordMetadata) -> bool {
    m.date.trim().is_empty()
}

/// Asks the shell to check the `chosen` files; the answer lands in the form.
fn inspect(form: UseReducerDispatcher<AddForm>, chosen: Vec<ChosenFile>) {
    form.dispatch(AddAction::Checking);
    let files = chosen.into_iter().map(|f| f.token).collect();
    spawn_local(async move {
        match ipc::call::<InspectFiles>(&InspectFilesArgs { files }).await {
            Ok(inspection) => form.dispatch(AddAction::Inspected(inspection)),
            Err(error) => form.dispatch(AddAction::Failed(error)),
        }
    });
}

// ---------------------------------------------------------------------------------------

/// Props of [`AddRecords`].
#[derive(Properties, PartialEq)]
pub struct Props {
    /// The unlocked wallet (jobs of another wallet are not shown).
    pub wallet_id: AttrValue,
    /// The wallet has no records yet: the panel is the page's call to action.
    pub empty: bool,
    /// A record was added.
    pub on_added: Callback<()>,
}

/// The "Add records" panel: choose or drop files; edit; encrypt and upload.
#[function_component(AddRecords)]
pub fn add_records(props: &Props) -> Html {
    let form = use_reducer(AddForm::default);
    let picking = use_state(|| false);
    let rerender = use_force_update();

    // Jobs: start from this wallet's; re-render on every change, tell the page about adds.
    {
        let rerender = rerender.clone();
        use_effect_with(
            (props.wallet_id.clone(), props.on_added.clone()),
            move |(wallet_id, on_added)| {
                let on_added = on_added.clone();
                with_jobs(|s| {
                    if s.wallet_id != wallet_id.as_str() {
                        s.wallet_id = wallet_id.to_string();
                        s.jobs.clear();
                    }
                    s.listener = Some(Callback::from(move |event| {
                        rerender.force_update();
                        if event == JobEvent::Added {
                            on_added.emit(());
                        }
                    }));
                });
                move || with_jobs(|s| s.listener = None)
            },
        );
    }
    // Drops: handled while this panel is shown.
    {
        let dispatcher = form.dispatcher();
        use_drops(Callback::from(move |files| {
            inspect(dispatcher.clone(), files)
        }));
    }

    let pick = {
        let (dispatcher, picking) = (form.dispatcher(), picking.clone());
        Callback::from(move |_| {
            let (dispatcher, picking) = (dispatcher.clone(), picking.clone());
            picking.set(true);
            spawn_local(async move {
                let result = ipc::call::<PickFiles>(&NoArgs {}).await;
                picking.set(false);
                match result {
                    Ok(files) if files.is_empty() => {} // the chooser was cancelled
                    Ok(files) => inspect(dispatcher, files),
                    Err(error) => dispatcher.dispatch(AddAction::Failed(error)),
                }
            });
        })
    };
    let on_confirm = {
        let form = form.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let first_missing = form.drafts.iter().enumerate().find_map(|(i, d)| {
                let m = &d.file.metadata;
                if missing_title(m) {
                    Some(format!("draft-{i}-title"))
                } else if missing_date(m) {
                    Some(format!("draft-{i}-date"))
                } else {
                    None
                }
            });
            if let Some(id) = first_missing {
                form.dispatch(AddAction::ShowErrors);
                gloo_timers::callback::Timeout::new(0, move || focus(&id)).forget();
                return;
            }
            for draft in &form.drafts {
                let m = &draft.file.metadata;
                let metadata = RecordMetadata {
                    title: m.title.trim().to_owned(),
                    category: m.category,
                    date: m.date.trim().to_owned(),
                    author: m.author.trim().to_owned(),
                };
                start_job(
                    draft.file.file.clone(),
                    draft.file.file_name.clone(),
                    metadata,
                );
            }
            form.dispatch(AddAction::Clear);
            // The form goes away with its button: the focus goes to the progress bars.
            gloo_timers::callback::Timeout::new(0, || focus("add-jobs")).forget();
        })
    };
    let on_discard = {
        let dispatcher = form.dispatcher();
        Callback::from(move |_| dispatcher.dispatch(AddAction::Clear))
    };

    let jobs = with_jobs(|s| s.jobs.clone());
    let any_finished = jobs
        .iter()
        .any(|j| !matches!(j.state, JobState::Running { .. }));
    let clear_finished = Callback::from(move |_| {
        with_jobs(|s| {
            s.jobs
                .retain(|j| matches!(j.state, JobState::Running { .. }))
        });
        notify(JobEvent::Changed);
    });

    html! {
        <section class={classes!("card", "add-records", props.empty.then_some("empty-state"))} aria-labelledby="add-title">
            if props.empty {
                <div id="records-empty">
                    <h2 id="add-title">{ "No records yet" }</h2>
                    <p>{ "Add your lab results, scans, letters and prescriptions. Each file is encrypted on this computer before it is stored on IPFS; only your wallet can open it." }</p>
                </div>
            } else {
                <h2 id="add-title">{ "Add records" }</h2>
            }
            <div class="add-choose">
                <button id="add-pick" type="button" class={classes!(props.empty.then_some("primary"))}
                        onclick={pick} disabled={*picking}>
                    { "Add records…" }
                </button>
                <span id="add-drop-note" class="muted">{ "or drop files on the window" }</span>
            </div>
            if form.checking > 0 {
                <p id="add-checking" class="busy" role="status"><span class="spinner" aria-hidden="true"></span>{ "Checking files…" }</p>
            }
            if let Some(error) = &form.error { { error_box("add-error", error) } }
            if !form.refused.is_empty() {
                <div id="add-refused" class="notice error" role="alert">
                    <p>{ if form.refused.len() == 1 { "This file cannot be added:" } else { "These files cannot be added:" } }</p>
                    <ul>
                        { for form.refused.iter().map(|r| html! {
                            <li class="refused" data-file-name={r.file_name.clone()}>
                                <strong>{ &r.file_name }</strong>{ ": " }{ &r.error.message }
                                if let Some(hint) = &r.error.hint { <span class="hint">{ " " }{ hint }</span> }
                            </li>
                        }) }
                    </ul>
                </div>
            }
            if !form.drafts.is_empty() {
                <form id="add-drafts" class="form drafts" onsubmit={on_confirm} novalidate=true>
                    { for form.drafts.iter().enumerate().map(|(i, d)| draft_fields(i, d, form.show_errors, form.dispatcher())) }
                    <div class="actions">
                        <button id="add-confirm" type="submit" class="primary">{ "Encrypt and upload" }</button>
                        <button id="add-discard" type="button" onclick={on_discard}>{ "Discard" }</button>
                    </div>
                </form>
            }
            if !jobs.is_empty() {
                <ul id="add-jobs" class="jobs" aria-label="Records being added" tabindex="-1">
                    { for jobs.iter().map(job_row) }
                </ul>
                if any_finished {
                    <button id="add-clear-finished" type="button" class="small" onclick={clear_finished}>{ "Clear finished" }</button>
                }
            }
        </section>
    }
}

/// One file's metadata form: title, category, date, author.
fn draft_fields(
    index: usize,
    draft: &Draft,
    show_errors: bool,
    form: UseReducerDispatcher<AddForm>,
) -> Html {
    let key = draft.key;
    let f = &draft.file;
    let m = &f.metadata;
    let id = |field: &str| format!("draft-{index}-{field}");
    let on = |field: Field| {
        let form = form.clone();
        Callback::from(move |value: String| form.dispatch(AddAction::Edit(key, field, value)))
    };
    let input = |field: Field| {
        let cb = on(field);
        Callback::from(move |e: InputEvent| {
            cb.emit(e.target_unchecked_into::<HtmlInputElement>().value())
        })
    };
    let category = {
        let cb = on(Field::Category);
        Callback::from(move |e: Event| {
            cb.emit(e.target_unchecked_into::<HtmlSelectElement>().value())
        })
    };
    let remove = {
        let form = form.clone();
        Callback::from(move |_| form.dispatch(AddAction::Remove(key)))
    };
    let title_error = show_errors && missing_title(m);
    let date_error = show_errors && missing_date(m);
    html! {
        <fieldset key={key} class="draft" data-file-name={f.file_name.clone()}>
            <legend>{ &f.file_name }<span class="muted">{ format!(" · {} · {}", f.kind.label(), human_size(f.size)) }</span></legend>
            <div class="draft-grid">
                <div class={classes!("field", title_error.then_some("invalid"))}>
                    <label for={id("title")}>{ "Title" }</label>
                    <input id={id("title")} type="text" value={m.title.clone()} oninput={input(Field::Title)}
                           autocomplete="off" aria-invalid={title_error.then_some("true")}
                           aria-describedby={title_error.then(|| id("title-error"))} />
                    if title_error { <p id={id("title-error")} class="field-error">{ "Give the record a title." }</p> }
                </div>
                <div class="field">
                    <label for={id("category")}>{ "Category" }</label>
                    <select id={id("category")} onchange={category}>
                        { for Category::ALL.iter().map(|c| html! {
                            <option value={c.as_str()} selected={*c == m.category}>{ c.label() }</option>
                        }) }
                    </select>
                </div>
                <div class={classes!("field", date_error.then_some("invalid"))}>
                    <label for={id("date")}>{ "Date" }</label>
                    <input id={id("date")} type="date" value={m.date.clone()} oninput={input(Field::Date)}
                           aria-invalid={date_error.then_some("true")}
                           aria-describedby={date_error.then(|| id("date-error"))} />
                    if date_error { <p id={id("date-error")} class="field-error">{ "Give the date of the document." }</p> }
                </div>
                <div class="field">
                    <label for={id("author")}>{ "Author" }</label>
                    <input id={id("author")} type="text" value={m.author.clone()} oninput={input(Field::Author)}
                           autocomplete="off" placeholder="Clinic or doctor" />
                </div>
            </div>
            <button id={id("remove")} type="button" class="small" onclick={remove}
                    aria-label={format!("Remove {}", f.file_name)}>{ "Remove" }</button>
        </fieldset>
    }
}

/// One job: a progress bar and Cancel while it runs, then what became of it.
fn job_row(job: &Job) -> Html {
    let (state, body) = match &job.state {
        JobState::Running {
            stage: Some(AddStage::Queued),
            ..
        } => (
            "queued",
            html! { <p class="job-status" role="status">{ QUEUED_NOTE }</p> },
        ),
        JobState::Running {
            stage,
            done,
            total,
            cancelling,
            cancel_error,
        } => {
            let cancel = {
                let job_id = job.job_id.clone();
                Callback::from(move |_| cancel_job(job_id.clone()))
            };
            let label = match stage {
                None => "Starting",
                Some(s) => s.label(),
            };
            let body = html! {
                <>
                    <div class="job-progress">
                        <ProgressBar id={format!("progress-{}", job.job_id)} label={label}
                                     detail={Some(AttrValue::from(job.file_name.clone()))}
                                     done={*done} total={*total} />
                        <button id={format!("cancel-{}", job.job_id)} type="button" class="small job-cancel"
                                onclick={cancel} disabled={*cancelling}
                                aria-label={format!("Cancel adding {}", job.file_name)}>
                            { if *cancelling { "Cancelling…" } else { "Cancel" } }
                        </button>
                    </div>
                    if let Some(error) = cancel_error { { job_error(error) } }
                </>
            };
            ("running", body)
        }
        JobState::Added { queued } => (
            if *queued { "queued" } else { "added" },
            html! {
                <p class="job-status" role="status">
                    <span class="ok"><span aria-hidden="true">{ "✓ " }</span>{ "Added" }</span>
                    if *queued { { " · " }{ QUEUED_NOTE } }
                </p>
            },
        ),
        JobState::Failed(error) => ("failed", job_error(error)),
        JobState::Cancelled => (
            "cancelled",
            html! { <p class="job-status muted" role="status">{ "Cancelled. Nothing of this file was kept." }</p> },
        ),
    };
    html! {
        <li key={job.job_id.clone()} id={format!("job-{}", job.job_id)} class="job"
            data-job-id={job.job_id.clone()} data-file-name={job.file_name.clone()} data-state={state}>
            <p class="job-title"><strong>{ &job.title }</strong><span class="muted">{ format!(" · {}", job.file_name) }</span></p>
            { body }
        </li>
    }
}

/// An error in a job's row (several rows may show one, so no id).
fn job_error(error: &UserError) -> Html {
    html! {
        <div class="notice error job-error" role="alert">
            <p>{ &error.message }</p>
            if let Some(hint) = &error.hint { <p class="hint">{ hint }</p> }
        </div>
    }
}
