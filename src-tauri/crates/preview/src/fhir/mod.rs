//! FHIR JSON (R4 and R5, one resource, a bundle, or NDJSON of resources): a readable
//! summary. Codes show with their display and system, references are resolved inside the
//! file (bundle entries and contained resources).

use std::collections::HashSet;

use medwallet_api::{FhirItem, FhirSection, FhirSummary, RecordView};
use serde_json::Value;

use crate::{human_size, MAX_FHIR_BYTES, MAX_FHIR_ENTRIES};

mod kinds;
mod values;

use values::{list, text, Index};

/// Longest text kept of one field.
const MAX_FIELD_CHARS: usize = 300;
/// Longest detail of one entry (a report lists its results there).
const MAX_DETAIL_CHARS: usize = 600;
/// Separates the parts of a detail.
const SEP: &str = " · ";
/// How deep bundles inside bundles are read (batch responses hold one per request).
const MAX_BUNDLE_DEPTH: usize = 4;
/// What the summary of NDJSON says it is.
pub(crate) const NDJSON: &str = "NDJSON";

pub(crate) fn render(bytes: &[u8]) -> RecordView {
    if bytes.len() > MAX_FHIR_BYTES {
        return RecordView::SaveOnly {
            reason: format!(
                "This FHIR file is {}; medwallet summarises files up to {}. Save a decrypted \
                 copy to open it in another program.",
                human_size(bytes.len()),
                human_size(MAX_FHIR_BYTES)
            ),
        };
    }
    let json = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let value: Value = match serde_json::from_slice(json) {
        Ok(value) => value,
        Err(e) => {
            return match ndjson(json) {
                Some(resources) => RecordView::Fhir {
                    summary: summarise_all(NDJSON.to_string(), &resources),
                },
                None => RecordView::SaveOnly {
                    reason: invalid_json(&e),
                },
            }
        }
    };
    match summarise(&value) {
        Some(summary) => RecordView::Fhir { summary },
        // Valid JSON that is not a FHIR resource: show it as text.
        None => crate::text::render(bytes),
    }
}

/// The resources of NDJSON (one per line, FHIR bulk data): `None` unless there are at least
/// two values and each is a resource.
fn ndjson(json: &[u8]) -> Option<Vec<Value>> {
    let mut out = Vec::new();
    for value in serde_json::Deserializer::from_slice(json).into_iter::<Value>() {
        let value = value.ok()?;
        text(value.get("resourceType"))?;
        if out.len() == MAX_FHIR_ENTRIES {
            // The rest is not read; the summary says how many were.
            break;
        }
        out.push(value);
    }
    (out.len() >= 2).then_some(out)
}

fn invalid_json(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let position = format!(" at line {} column {}", e.line(), e.column());
    let what = full.strip_suffix(&position).unwrap_or(&full);
    format!(
        "This FHIR file is not valid JSON: {what} at line {}, column {}. Save a decrypted \
         copy to inspect it.",
        e.line(),
        e.column()
    )
}

/// The summary of a resource or bundle; `None` when `value` is not a FHIR resource.
pub(crate) fn summarise(value: &Value) -> Option<FhirSummary> {
    let resource_type = text(value.get("resourceType"))?;
    Some(summarise_all(resource_type, std::slice::from_ref(value)))
}

/// Everything a file holds, flattened: bundles give their entries.
struct Collected<'a> {
    resources: Vec<&'a Value>,
    index: Index<'a>,
    /// Entries past [`MAX_FHIR_ENTRIES`].
    not_read: usize,
}

impl<'a> Collected<'a> {
    fn add(&mut self, full_url: Option<&'a str>, value: &'a Value, depth: usize) {
        self.index.add(full_url, value);
        let is_bundle = value.get("resourceType").and_then(Value::as_str) == Some("Bundle");
        if !is_bundle || depth >= MAX_BUNDLE_DEPTH {
            self.resources.push(value);
            return;
        }
        for entry in list(value.get("entry")) {
            if self.resources.len() >= MAX_FHIR_ENTRIES {
                self.not_read += 1;
                continue;
            }
            if let Some(resource) = entry.get("resource").filter(|r| r.is_object()) {
                let url = entry.get("fullUrl").and_then(Value::as_str);
                self.add(url, resource, depth + 1);
            }
        }
    }
}

/// The sections besides the four lists, in the order they are shown.
const SECTIONS: [(&str, &str); 10] = [
    ("Immunization", "Immunisations"),
    ("Procedure", "Procedures"),
    ("DiagnosticReport", "Reports"),
    ("Encounter", "Visits"),
    ("CarePlan", "Care plans"),
    ("Goal", "Goals"),
    ("DocumentReference", "Documents"),
    ("Device", "Devices"),
    ("Coverage", "Insurance"),
    ("", "Other records"),
];

fn summarise_all(resource_type: String, top: &[Value]) -> FhirSummary {
    let mut found = Collected {
        resources: Vec::new(),
        index: Index::default(),
        not_read: 0,
    };
    for value in top {
        found.add(None, value, 0);
    }
    let ix = &found.index;
    // Medications that another resource names are read there, not listed again.
    let named_medications: HashSet<*const Value> = found
        .resources
        .iter()
        .flat_map(|r| {
            [
                r.get("medicationReference"),
                r.get("medication").and_then(|m| m.get("reference")),
            ]
            .into_iter()
            .flatten()
            .filter_map(|reference| ix.resolve(r, reference))
            .map(|m| m as *const Value)
        })
        .collect();

    let mut summary = FhirSummary {
        resource_type,
        ..FhirSummary::default()
    };
    let mut sections: Vec<Vec<FhirItem>> = vec![Vec::new(); SECTIONS.len()];
    let mut documents: Vec<FhirSection> = Vec::new();
    let mut others: Vec<(String, usize)> = Vec::new();
    let section_of = |kind: &str| SECTIONS.iter().position(|(k, _)| *k == kind);
    let generic = SECTIONS.len() - 1;
    for &r in &found.resources {
        let kind = text(r.get("resourceType")).unwrap_or_else(|| "Unknown".to_string());
        match kind.as_str() {
            "Patient" if summary.patient.is_none() => summary.patient = Some(kinds::patient(r)),
            "Condition" => summary
                .conditions
                .push(kinds::with_narrative(kinds::condition(r), r)),
            "MedicationStatement"
            | "MedicationRequest"
            | "MedicationDispense"
            | "MedicationAdministration" => summary
                .medications
                .push(kinds::with_narrative(kinds::medication(ix, r), r)),
            "Medication" => {
                if !named_medications.contains(&(r as *const Value)) {
                    summary.medications.push(kinds::medication_product(r));
                }
            }
            "AllergyIntolerance" => summary.allergies.push(kinds::allergy(r)),
            "Observation" => summary
                .observations
                .push(kinds::with_narrative(kinds::observation(ix, r), r)),
            "Composition" => documents.push(FhirSection {
                title: kinds::composition_title(ix, r),
                items: kinds::composition_sections(ix, r),
            }),
            other => {
                let item = match other {
                    "Immunization" => Some(kinds::immunization(r)),
                    "Procedure" => Some(kinds::procedure(ix, r)),
                    "DiagnosticReport" => Some(kinds::diagnostic_report(ix, r)),
                    "Encounter" => Some(kinds::encounter(ix, r)),
                    "CarePlan" => Some(kinds::care_plan(ix, r)),
                    "Goal" => Some(kinds::goal(r)),
                    "DocumentReference" => Some(kinds::document_reference(ix, r)),
                    "Device" => Some(kinds::device(r)),
                    "Coverage" => Some(kinds::coverage(ix, r)),
                    _ => kinds::generic(r),
                };
                let item = item.map(|item| kinds::with_narrative(item, r));
                match item.filter(|item| !kinds::is_empty(item)) {
                    Some(item) => sections[section_of(other).unwrap_or(generic)].push(item),
                    None => match others.iter_mut().find(|(k, _)| *k == kind) {
                        Some((_, n)) => *n += 1,
                        None => others.push((kind, 1)),
                    },
                }
            }
        }
    }
    // A document's own sections come first: they are what its author meant to be read.
    summary.sections = documents;
    summary.sections.extend(
        SECTIONS
            .iter()
            .zip(sections)
            .filter(|(_, items)| !items.is_empty())
            .map(|((_, title), items)| FhirSection {
                title: title.to_string(),
                items,
            }),
    );
    summary.other = others
        .into_iter()
        .map(|(kind, n)| format!("{kind} × {n}"))
        .collect();
    if found.not_read > 0 {
        summary.other.push(format!(
            "{} more entries not read (the first {MAX_FHIR_ENTRIES} are summarised)",
            found.not_read
        ));
    }
    summary
}

#[cfg(test)]
mod tests;
