//! The record viewer: a modal dialog that opens one record (fetched, verified against its
//! CIDs and decrypted by the shell), says what was verified, shows it, and saves a
//! decrypted copy where the user chooses.

use medwallet_api::commands::{
    ChooseSavePath, ChooseSavePathArgs, OpenCheckedIn, OpenRecord, OpenShared, RecordIdArgs,
    SaveCopyArgs, SaveRecordCopy,
};
use medwallet_api::{
    CheckInRecordArgs, DicomTag, FhirItem, FhirSummary, OpenedRecord, RecordView, SavedCopy,
    UserError, Verification,
};
use wasm_bindgen_futures::spawn_local;
use web_sys::HtmlDialogElement;
use yew::prelude::*;

use crate::components::format::{count, human_size};
use crate::components::ledger::ledger_badge;
use crate::ipc;

/// Props of [`RecordViewer`].
#[derive(Properties, PartialEq)]
pub struct Props {
    /// The record to open.
    pub record_id: AttrValue,
    /// Its title, shown while it opens.
    pub title: AttrValue,
    /// The user closed the viewer (button or Esc).
    pub on_close: Callback<()>,
    /// "Audit trail": the user wants this record's audit trail (the page switches to it).
    #[prop_or_default]
    pub on_audit: Option<Callback<AttrValue>>,
    /// A record someone shared with this wallet: opened through `open_shared` (which logs
    /// the access on the ledger first); no saving here.
    #[prop_or_default]
    pub shared: bool,
    /// A record a checked-in patient granted to this desk (the check-in's code address):
    /// opened through `open_checked_in`, which logs the access first; no saving here.
    #[prop_or_default]
    pub check_in: Option<AttrValue>,
}

enum Opening {
    Loading,
    Opened(Box<OpenedRecord>),
    Failed(UserError),
}

#[derive(Clone, PartialEq)]
enum Saving {
    Idle,
    Busy,
    Saved(SavedCopy),
    Failed(UserError),
}

/// The viewer dialog.
#[function_component(RecordViewer)]
pub fn record_viewer(props: &Props) -> Html {
    let opening = use_state(|| Opening::Loading);
    let saving = use_state(|| Saving::Idle);
    let dialog = use_node_ref();

    // Modal from the start: the rest of the window is inert, focus moves in, Esc cancels.
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
    {
        let (opening, saving) = (opening.clone(), saving.clone());
        use_effect_with(
            (
                props.record_id.clone(),
                props.shared,
                props.check_in.clone(),
            ),
            move |(record_id, shared, check_in)| {
                opening.set(Opening::Loading);
                saving.set(Saving::Idle);
                let args = RecordIdArgs {
                    record_id: record_id.to_string(),
                };
                let shared = *shared;
                let check_in = check_in.clone();
                spawn_local(async move {
                    let answer = if let Some(code) = check_in {
                        ipc::call::<OpenCheckedIn>(&CheckInRecordArgs {
                            check_in_id: code.to_string(),
                            record_id: args.record_id,
                        })
                        .await
                    } else if shared {
                        ipc::call::<OpenShared>(&args).await
                    } else {
                        ipc::call::<OpenRecord>(&args).await
                    };
                    opening.set(match answer {
                        Ok(opened) => Opening::Opened(Box::new(opened)),
                        Err(error) => Opening::Failed(error),
                    });
                });
            },
        );
    }

    let close = {
        let cb = props.on_close.clone();
        Callback::from(move |_| cb.emit(()))
    };
    // Esc: the page removes the dialog (the dialog does not close itself first).
    let oncancel = {
        let cb = props.on_close.clone();
        Callback::from(move |e: Event| {
            e.prevent_default();
            cb.emit(());
        })
    };
    let onkeydown = {
        let cb = props.on_close.clone();
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Escape" {
                e.prevent_default();
                cb.emit(());
            }
        })
    };

    let audit_button = props.on_audit.clone().map(|cb| {
        let record_id = props.record_id.clone();
        let onclick = Callback::from(move |_| cb.emit(record_id.clone()));
        html! {
            <button id="viewer-audit" type="button" {onclick}>{ "Audit trail" }</button>
        }
    });
    let ledger = match &*opening {
        Opening::Opened(opened) => ledger_badge(&opened.record.ledger, Some("viewer-ledger")),
        _ => html! {},
    };

    let (title, save_button, body) = match &*opening {
        Opening::Loading => (
            props.title.to_string(),
            html! {},
            html! {
                <p id="viewer-loading" class="busy" role="status">
                    <span class="spinner" aria-hidden="true"></span>
                    { if props.shared || props.check_in.is_some() { "Logging the opening on the ledger, then decrypting and verifying…" } else { "Decrypting and verifying…" } }
                </p>
            },
        ),
        Opening::Failed(error) => (
            props.title.to_string(),
            html! {},
            html! {
                <div id="viewer-error" class="notice error" role="alert">
                    <p>{ &error.message }</p>
                    if let Some(hint) = &error.hint { <p class="hint">{ hint }</p> }
                </div>
            },
        ),
        Opening::Opened(opened) => {
            let save = {
                let saving = saving.clone();
                let record_id = opened.record.id.clone();
                let suggested_name = opened.record.file_name.clone();
                Callback::from(move |_| {
                    let (saving, record_id, suggested_name) =
                        (saving.clone(), record_id.clone(), suggested_name.clone());
                    saving.set(Saving::Busy);
                    spawn_local(async move {
                        let chosen =
                            ipc::call::<ChooseSavePath>(&ChooseSavePathArgs { suggested_name })
                                .await;
                        let next = match chosen {
                            Ok(None) => Saving::Idle, // the dialog was cancelled
                            Ok(Some(chosen)) => {
                                let args = SaveCopyArgs {
                                    record_id,
                                    file: chosen.token,
                                };
                                match ipc::call::<SaveRecordCopy>(&args).await {
                                    Ok(saved) => Saving::Saved(saved),
                                    Err(error) => Saving::Failed(error),
                                }
                            }
                            Err(error) => Saving::Failed(error),
                        };
                        saving.set(next);
                    });
                })
            };
            let r = &opened.record;
            let busy = *saving == Saving::Busy;
            (
                r.title.clone(),
                if props.shared || props.check_in.is_some() {
                    html! {}
                } else {
                    html! {
                        <button id="viewer-save" type="button" onclick={save} disabled={busy}>
                            { if busy { "Saving…" } else { "Save decrypted copy…" } }
                        </button>
                    }
                },
                html! {
                    <>
                        <p class="viewer-meta muted">
                            { format!("{} · {} · {} · {} · {}", r.category.label(), r.date, r.kind.label(), human_size(r.size), r.author) }
                        </p>
                        { verified(&opened.verification) }
                        <div id="viewer-content" class="viewer-content" data-kind={view_kind(&opened.view)}>
                            { view(&opened.view, &r.title) }
                        </div>
                    </>
                },
            )
        }
    };

    html! {
        <dialog ref={dialog} id="record-viewer" class="viewer" aria-labelledby="viewer-title"
                aria-busy={matches!(*opening, Opening::Loading).then_some("true")}
                {oncancel} {onkeydown} data-record-id={props.record_id.clone()}>
            // The header stays in view while the record scrolls: Save, its outcome, Close.
            <header class="viewer-head">
                <h2 id="viewer-title">{ title }</h2>
                { ledger }
                <div class="actions">
                    { save_button }
                    { for audit_button }
                    <button id="viewer-close" type="button" onclick={close} aria-label="Close the record">{ "Close" }</button>
                </div>
                {
                    match &*saving {
                        Saving::Saved(saved) => html! {
                            <p id="viewer-saved" class="notice ok viewer-save-result" role="status">
                                { format!("Saved a decrypted copy ({}) to ", human_size(saved.size)) }
                                <code>{ &saved.path }</code>
                                { ". Anyone who can read that file can read the record." }
                            </p>
                        },
                        Saving::Failed(error) => html! {
                            <div id="viewer-save-error" class="notice error viewer-save-result" role="alert">
                                <p>{ &error.message }</p>
                                if let Some(hint) = &error.hint { <p class="hint">{ hint }</p> }
                            </div>
                        },
                        _ => html! {},
                    }
                }
            </header>
            <div class="viewer-body">{ body }</div>
        </dialog>
    }
}

/// "Verified: …" and the CIDs.
fn verified(v: &Verification) -> Html {
    let source = if v.source.eq_ignore_ascii_case("ipfs") {
        "IPFS".to_owned()
    } else {
        v.source.clone()
    };
    let chunks = count(v.chunks, "chunk", "chunks");
    html! {
        <div id="viewer-verified" class="verified">
            <p><span aria-hidden="true">{ "✓ " }</span>
                { format!("Verified: content, manifest and capsule match their CIDs · {chunks} authenticated · from {source}") }
            </p>
            <details id="viewer-cids">
                <summary>{ "CIDs" }</summary>
                <dl>
                    <dt>{ "Content" }</dt><dd><code id="viewer-content-cid">{ &v.content_cid }</code></dd>
                    <dt>{ "Manifest" }</dt><dd><code id="viewer-manifest-cid">{ &v.manifest_cid }</code></dd>
                    <dt>{ "Capsule" }</dt><dd><code id="viewer-capsule-cid">{ &v.capsule_cid }</code></dd>
                </dl>
            </details>
        </div>
    }
}

fn view_kind(view: &RecordView) -> &'static str {
    match view {
        RecordView::Image { .. } => "image",
        RecordView::Pdf { .. } => "pdf",
        RecordView::Text { .. } => "text",
        RecordView::Fhir { .. } => "fhir",
        RecordView::Dicom { .. } => "dicom",
        RecordView::SaveOnly { .. } => "save_only",
    }
}

fn view(view: &RecordView, title: &str) -> Html {
    match view {
        RecordView::Image { data_url } => html! {
            <img id="viewer-image" class="viewer-image" src={data_url.clone()} alt={title.to_owned()} />
        },
        RecordView::Pdf { pages, page_count } => {
            let shown = pages.len();
            let total = (*page_count as usize).max(shown);
            html! {
                <div class="pdf-pages">
                    if shown < total {
                        <p id="viewer-pages-note" class="notice info">
                            { format!("Showing the first {} of {total} pages. Save a decrypted copy to read the rest.", shown) }
                        </p>
                    }
                    { for pages.iter().enumerate().map(|(i, page)| {
                        let caption = format!("Page {} of {total}", i + 1);
                        html! {
                            <figure class="pdf-page" id={format!("viewer-page-{}", i + 1)}>
                                <img src={page.clone()} alt={format!("{title}, page {} of {total}", i + 1)} />
                                <figcaption>{ caption }</figcaption>
                            </figure>
                        }
                    }) }
                    if shown == 0 {
                        <p class="muted">{ "This document has no pages to show." }</p>
                    }
                </div>
            }
        }
        RecordView::Text { text, truncated } => html! {
            <>
                <pre id="viewer-text" class="viewer-text" tabindex="0">{ text }</pre>
                if *truncated {
                    <p id="viewer-text-note" class="muted">{ "This is the start of the text. Save a decrypted copy to read all of it." }</p>
                }
            </>
        },
        RecordView::Fhir { summary } => fhir(summary),
        RecordView::Dicom {
            image,
            image_problem,
            tags,
        } => html! {
            <>
                if let Some(src) = image {
                    <img id="viewer-image" class="viewer-image dicom" src={src.clone()} alt={title.to_owned()} />
                } else {
                    <p id="viewer-image-problem" class="notice info">
                        { image_problem.clone().unwrap_or_else(|| "The image in this file cannot be shown.".to_owned()) }
                    </p>
                }
                { dicom_tags(tags) }
            </>
        },
        RecordView::SaveOnly { reason } => html! {
            <p id="viewer-save-only" class="notice info">{ reason }</p>
        },
    }
}

fn fhir(s: &FhirSummary) -> Html {
    let section = |id: &'static str, heading: &'static str, items: &[FhirItem]| {
        if items.is_empty() {
            return html! {};
        }
        html! {
            <section class="fhir-section" id={id} aria-labelledby={format!("{id}-title")}>
                <h3 id={format!("{id}-title")}>{ heading }</h3>
                <ul>
                    { for items.iter().map(|item| html! {
                        <li>{ &item.text }
                            if let Some(detail) = &item.detail { <span class="muted">{ format!(" · {detail}") }</span> }
                        </li>
                    }) }
                </ul>
            </section>
        }
    };
    let empty = s.patient.is_none()
        && s.conditions.is_empty()
        && s.medications.is_empty()
        && s.allergies.is_empty()
        && s.observations.is_empty()
        && s.sections.iter().all(|sec| sec.items.is_empty())
        && s.other.is_empty();
    html! {
        <div class="fhir" id="viewer-fhir">
            <p class="muted">{ format!("FHIR {}", s.resource_type) }</p>
            if let Some(patient) = &s.patient {
                <section class="fhir-section" id="fhir-patient" aria-labelledby="fhir-patient-title">
                    <h3 id="fhir-patient-title">{ "Patient" }</h3>
                    <p>{ patient }</p>
                </section>
            }
            { section("fhir-conditions", "Conditions", &s.conditions) }
            { section("fhir-medications", "Medications", &s.medications) }
            { section("fhir-allergies", "Allergies", &s.allergies) }
            { section("fhir-observations", "Observations", &s.observations) }
            { for s.sections.iter().enumerate().map(|(i, sec)| html! {
                <section class="fhir-section fhir-more" id={format!("fhir-section-{i}")} aria-labelledby={format!("fhir-section-{i}-title")}>
                    <h3 id={format!("fhir-section-{i}-title")}>{ &sec.title }</h3>
                    <ul>
                        { for sec.items.iter().map(|item| html! {
                            <li>{ &item.text }
                                if let Some(detail) = &item.detail { <span class="muted">{ format!(" · {detail}") }</span> }
                            </li>
                        }) }
                    </ul>
                </section>
            }) }
            if !s.other.is_empty() {
                <section class="fhir-section" id="fhir-other" aria-labelledby="fhir-other-title">
                    <h3 id="fhir-other-title">{ "Other" }</h3>
                    <ul>{ for s.other.iter().map(|o| html! { <li>{ o }</li> }) }</ul>
                </section>
            }
            if empty {
                <p>{ "There is nothing to summarise in this resource. Save a decrypted copy to read it in full." }</p>
            }
        </div>
    }
}

fn dicom_tags(tags: &[DicomTag]) -> Html {
    if tags.is_empty() {
        return html! {};
    }
    html! {
        <table id="viewer-dicom-tags" class="tags">
            <caption>{ "DICOM tags" }</caption>
            <thead><tr><th scope="col">{ "Tag" }</th><th scope="col">{ "Name" }</th><th scope="col">{ "Value" }</th></tr></thead>
            <tbody>
                { for tags.iter().map(|t| html! {
                    <tr><td><code>{ &t.tag }</code></td><td>{ &t.name }</td><td>{ &t.value }</td></tr>
                }) }
            </tbody>
        </table>
    }
}
