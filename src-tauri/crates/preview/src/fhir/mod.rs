//! FHIR JSON (R4, and the R5 spellings that differ): a readable summary of a resource or a
//! bundle.

use medwallet_api::{FhirItem, FhirSummary, RecordView};
use serde_json::Value;

use crate::{clip, human_size, MAX_FHIR_BYTES, MAX_FHIR_ENTRIES};

/// Longest text kept of one field.
const MAX_FIELD_CHARS: usize = 300;
/// Separates the parts of a detail.
const SEP: &str = " · ";

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
            return RecordView::SaveOnly {
                reason: invalid_json(&e),
            }
        }
    };
    match summarise(&value) {
        Some(summary) => RecordView::Fhir { summary },
        // Valid JSON that is not a FHIR resource: show it as text.
        None => crate::text::render(bytes),
    }
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
    let mut summary = FhirSummary {
        resource_type: resource_type.clone(),
        ..FhirSummary::default()
    };
    let mut others: Vec<(String, usize)> = Vec::new();
    if resource_type == "Bundle" {
        let entries = value
            .get("entry")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for entry in entries.iter().take(MAX_FHIR_ENTRIES) {
            if let Some(resource) = entry.get("resource").filter(|r| r.is_object()) {
                add(&mut summary, &mut others, resource);
            }
        }
        let others = finish_others(others);
        summary.other = others;
        if entries.len() > MAX_FHIR_ENTRIES {
            summary.other.push(format!(
                "{} more entries not read (the first {MAX_FHIR_ENTRIES} are summarised)",
                entries.len() - MAX_FHIR_ENTRIES
            ));
        }
    } else {
        add(&mut summary, &mut others, value);
        summary.other = finish_others(others);
    }
    Some(summary)
}

fn finish_others(others: Vec<(String, usize)>) -> Vec<String> {
    others
        .into_iter()
        .map(|(kind, n)| format!("{kind} × {n}"))
        .collect()
}

fn add(summary: &mut FhirSummary, others: &mut Vec<(String, usize)>, resource: &Value) {
    let kind = text(resource.get("resourceType")).unwrap_or_else(|| "Unknown".to_string());
    match kind.as_str() {
        "Patient" if summary.patient.is_none() => summary.patient = Some(patient(resource)),
        "Condition" => summary.conditions.push(condition(resource)),
        "MedicationStatement" | "MedicationRequest" => {
            summary.medications.push(medication(resource))
        }
        "AllergyIntolerance" => summary.allergies.push(allergy(resource)),
        "Observation" => summary.observations.push(observation(resource)),
        _ => match others.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, n)) => *n += 1,
            None => others.push((kind, 1)),
        },
    }
}

fn patient(resource: &Value) -> String {
    let names = resource
        .get("name")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let by_use = |wanted: &str| {
        names
            .iter()
            .find(|n| n.get("use").and_then(Value::as_str) == Some(wanted))
    };
    let name = by_use("official")
        .or_else(|| by_use("usual"))
        .or_else(|| names.first())
        .and_then(human_name)
        .unwrap_or_else(|| "Name not given".to_string());
    let mut parts = vec![name];
    if let Some(born) = text(resource.get("birthDate")) {
        parts.push(format!("born {born}"));
    }
    if let Some(gender) = text(resource.get("gender")) {
        parts.push(gender);
    }
    clip(&parts.join(", "), MAX_FIELD_CHARS)
}

fn human_name(name: &Value) -> Option<String> {
    if let Some(text) = text(name.get("text")) {
        return Some(text);
    }
    let mut words: Vec<String> = strings(name.get("given"));
    words.extend(text(name.get("family")));
    (!words.is_empty()).then(|| words.join(" "))
}

fn condition(resource: &Value) -> FhirItem {
    let mut detail = Vec::new();
    detail.extend(status(resource.get("clinicalStatus")));
    if let Some(onset) = onset(resource) {
        detail.push(onset);
    }
    item(
        concept(resource.get("code")),
        "Condition without a name",
        detail,
    )
}

fn onset(resource: &Value) -> Option<String> {
    if let Some(date) = text(resource.get("onsetDateTime")) {
        return Some(format!("since {}", date_time(&date)));
    }
    if let Some(start) = text(resource.get("onsetPeriod").and_then(|p| p.get("start"))) {
        return Some(format!("since {}", date_time(&start)));
    }
    if let Some(age) = quantity(resource.get("onsetAge")) {
        return Some(format!("since age {age}"));
    }
    text(resource.get("onsetString")).map(|s| format!("onset: {s}"))
}

fn medication(resource: &Value) -> FhirItem {
    let name = concept(resource.get("medicationCodeableConcept"))
        .or_else(|| {
            text(
                resource
                    .get("medicationReference")
                    .and_then(|r| r.get("display")),
            )
        })
        // R5: `medication` is a CodeableReference.
        .or_else(|| concept(resource.get("medication")));
    let dosage = resource
        .get("dosage")
        .or_else(|| resource.get("dosageInstruction"))
        .and_then(Value::as_array)
        .and_then(|d| d.first())
        .and_then(|d| text(d.get("text")));
    let mut detail = Vec::new();
    detail.extend(dosage);
    detail.extend(text(resource.get("status")));
    item(name, "Medication without a name", detail)
}

fn allergy(resource: &Value) -> FhirItem {
    let mut detail = Vec::new();
    if let Some(criticality) = text(resource.get("criticality")) {
        detail.push(format!("{criticality} criticality"));
    }
    let reactions: Vec<String> = resource
        .get("reaction")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|r| {
            r.get("manifestation")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .filter_map(|m| concept(Some(m)))
        .take(10)
        .collect();
    if !reactions.is_empty() {
        detail.push(format!("reaction: {}", reactions.join(", ")));
    }
    item(
        concept(resource.get("code")),
        "Allergy without a name",
        detail,
    )
}

fn observation(resource: &Value) -> FhirItem {
    let mut detail = Vec::new();
    detail.extend(value(resource));
    let components: Vec<String> = resource
        .get("component")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .take(10)
        .filter_map(|c| {
            let value = value(c)?;
            Some(match concept(c.get("code")) {
                Some(name) => format!("{name} {value}"),
                None => value,
            })
        })
        .collect();
    if !components.is_empty() {
        detail.push(components.join(", "));
    }
    if let Some(interpretation) = resource
        .get("interpretation")
        .and_then(Value::as_array)
        .and_then(|i| i.first())
        .and_then(|i| concept(Some(i)))
    {
        detail.push(interpretation);
    }
    let when = text(resource.get("effectiveDateTime"))
        .or_else(|| text(resource.get("effectiveInstant")))
        .or_else(|| text(resource.get("effectivePeriod").and_then(|p| p.get("start"))))
        .or_else(|| text(resource.get("issued")));
    detail.extend(when.map(|w| date_time(&w)));
    item(
        concept(resource.get("code")),
        "Observation without a name",
        detail,
    )
}

/// The `value[x]` of an observation or a component, as text.
fn value(v: &Value) -> Option<String> {
    if let Some(q) = quantity(v.get("valueQuantity")) {
        return Some(q);
    }
    if let Some(s) = text(v.get("valueString")) {
        return Some(s);
    }
    if let Some(c) = concept(v.get("valueCodeableConcept")) {
        return Some(c);
    }
    if let Some(b) = v.get("valueBoolean").and_then(Value::as_bool) {
        return Some(if b { "yes" } else { "no" }.to_string());
    }
    if let Some(n) = v.get("valueInteger").filter(|n| n.is_number()) {
        return Some(n.to_string());
    }
    if let Some(range) = v.get("valueRange") {
        let low = quantity(range.get("low"));
        let high = quantity(range.get("high"));
        return match (low, high) {
            (Some(l), Some(h)) => Some(format!("{l} – {h}")),
            (Some(l), None) => Some(format!("≥ {l}")),
            (None, Some(h)) => Some(format!("≤ {h}")),
            (None, None) => None,
        };
    }
    if let Some(ratio) = v.get("valueRatio") {
        let n = quantity(ratio.get("numerator"))?;
        let d = quantity(ratio.get("denominator"))?;
        return Some(format!("{n} / {d}"));
    }
    text(v.get("valueDateTime")).map(|d| date_time(&d))
}

/// `6.8 %`, `< 5 mmol/L`.
fn quantity(q: Option<&Value>) -> Option<String> {
    let q = q?;
    let number = q.get("value").filter(|n| n.is_number())?.to_string();
    let mut out = String::new();
    if let Some(comparator) = text(q.get("comparator")) {
        out.push_str(&comparator);
        out.push(' ');
    }
    out.push_str(&number);
    if let Some(unit) = text(q.get("unit")).or_else(|| text(q.get("code"))) {
        out.push(' ');
        out.push_str(&unit);
    }
    Some(clip(&out, MAX_FIELD_CHARS))
}

/// A CodeableConcept (or an R5 CodeableReference) for people: its text, else the first
/// coding's display, else the first code.
fn concept(c: Option<&Value>) -> Option<String> {
    let c = c?;
    if let Some(inner) = c.get("concept") {
        return concept(Some(inner))
            .or_else(|| text(c.get("reference").and_then(|r| r.get("display"))));
    }
    if let Some(t) = text(c.get("text")) {
        return Some(t);
    }
    let codings = c.get("coding").and_then(Value::as_array)?;
    codings
        .iter()
        .find_map(|coding| text(coding.get("display")))
        .or_else(|| codings.iter().find_map(|coding| text(coding.get("code"))))
}

/// A status CodeableConcept: its code (`active`), else its text.
fn status(c: Option<&Value>) -> Option<String> {
    let c = c?;
    c.get("coding")
        .and_then(Value::as_array)
        .and_then(|codings| codings.iter().find_map(|coding| text(coding.get("code"))))
        .or_else(|| text(c.get("text")))
}

fn item(name: Option<String>, unnamed: &str, detail: Vec<String>) -> FhirItem {
    FhirItem {
        text: name.unwrap_or_else(|| unnamed.to_string()),
        detail: (!detail.is_empty()).then(|| clip(&detail.join(SEP), MAX_FIELD_CHARS)),
    }
}

/// A non-empty string field, clipped.
fn text(v: Option<&Value>) -> Option<String> {
    let s = v?.as_str()?.trim();
    (!s.is_empty()).then(|| clip(s, MAX_FIELD_CHARS))
}

/// The non-empty strings of an array field.
fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .take(10)
        .filter_map(|s| text(Some(s)))
        .collect()
}

/// `2024-05-14T09:05:00+02:00` → `2024-05-14 09:05`; dates stay as they are.
fn date_time(s: &str) -> String {
    match s.split_once('T') {
        Some((date, time)) if time.len() >= 5 && time.is_char_boundary(5) => {
            format!("{date} {}", &time[..5])
        }
        _ => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;
    use serde_json::json;

    fn summary_of(bytes: &[u8]) -> FhirSummary {
        match render(bytes) {
            RecordView::Fhir { summary } => summary,
            other => panic!("not a FHIR summary: {other:?}"),
        }
    }

    fn it(text: &str, detail: &str) -> FhirItem {
        FhirItem {
            text: text.to_string(),
            detail: Some(detail.to_string()),
        }
    }

    #[test]
    fn the_sample_bundle_reads_well() {
        let s = summary_of(fixtures::SUMMARY_FHIR_JSON);
        assert_eq!(s.resource_type, "Bundle");
        assert_eq!(
            s.patient.as_deref(),
            Some("Jane Marie Doe, born 1984-03-12, female")
        );
        assert_eq!(
            s.conditions,
            [
                it("Type 2 diabetes mellitus", "active · since 2019-06-01"),
                it("Essential hypertension", "active · since 2021-02-15"),
            ]
        );
        assert_eq!(
            s.medications,
            [
                it(
                    "Metformin 500 mg oral tablet",
                    "500 mg twice a day with meals · active"
                ),
                it("Lisinopril 10 mg", "10 mg once a day · active"),
            ]
        );
        assert_eq!(
            s.allergies,
            [it("Penicillin", "high criticality · reaction: Hives")]
        );
        assert_eq!(
            s.observations,
            [
                it("HbA1c", "6.8 % · 2024-05-14"),
                it("Body weight", "72.5 kg · 2024-05-14 09:05"),
                it(
                    "Blood pressure",
                    "Systolic blood pressure 128 mmHg, Diastolic blood pressure 82 mmHg · \
                     2024-05-14"
                ),
            ]
        );
        assert_eq!(s.other, ["Encounter × 1"]);
    }

    #[test]
    fn a_single_resource_is_summarised() {
        let obs = json!({
            "resourceType": "Observation",
            "code": {"coding": [{"code": "8310-5"}]},
            "valueCodeableConcept": {"coding": [{"display": "Fever"}]},
            "interpretation": [{"text": "High"}],
            "effectivePeriod": {"start": "2024-01-02T03:04:05Z"}
        });
        let s = summary_of(obs.to_string().as_bytes());
        assert_eq!(s.resource_type, "Observation");
        assert_eq!(
            s.observations,
            [it("8310-5", "Fever · High · 2024-01-02 03:04")]
        );

        let request = json!({
            "resourceType": "MedicationRequest",
            "status": "active",
            "medicationReference": {"reference": "Medication/1", "display": "Amoxicillin"},
            "dosageInstruction": [{"text": "1 g three times a day"}]
        });
        let s = summary_of(request.to_string().as_bytes());
        assert_eq!(
            s.medications,
            [it("Amoxicillin", "1 g three times a day · active")]
        );

        let encounter = json!({"resourceType": "Encounter", "status": "finished"});
        let s = summary_of(encounter.to_string().as_bytes());
        assert_eq!(s.other, ["Encounter × 1"]);
        assert_eq!(s.patient, None);
    }

    #[test]
    fn r5_spellings_and_odd_values() {
        let bundle = json!({
            "resourceType": "Bundle",
            "entry": [
                {"resource": {"resourceType": "MedicationStatement",
                    "medication": {"concept": {"text": "Ibuprofen"}}}},
                {"resource": {"resourceType": "AllergyIntolerance",
                    "code": {"coding": [{"code": "227493005"}]},
                    "reaction": [{"manifestation": [{"concept": {"text": "Rash"}}]}]}},
                {"resource": {"resourceType": "Observation", "code": {"text": "Glucose"},
                    "valueQuantity": {"value": 5, "comparator": "<", "code": "mmol/L"}}},
                {"resource": {"resourceType": "Observation", "code": {"text": "Range"},
                    "valueRange": {"low": {"value": 1}, "high": {"value": 2, "unit": "g"}}}},
                {"resource": {"resourceType": "Observation", "valueBoolean": true}},
                {"resource": {"resourceType": "Condition", "onsetAge": {"value": 40, "unit": "a"}}},
                {"resource": {"resourceType": "Condition", "code": {"text": "Asthma"},
                    "onsetString": "childhood"}},
                {"resource": {"resourceType": "Patient", "name": [{"text": "Dr. X"}]}},
                {"resource": {"resourceType": "Patient"}},
                {"resource": "not an object"},
                {"fullUrl": "no resource"},
                {"resource": {"resourceType": "Encounter"}},
                {"resource": {"resourceType": "Encounter"}},
                {"resource": {"id": "no type"}}
            ]
        });
        let s = summary_of(bundle.to_string().as_bytes());
        assert_eq!(
            s.medications,
            [FhirItem {
                text: "Ibuprofen".into(),
                detail: None
            }]
        );
        assert_eq!(s.allergies, [it("227493005", "reaction: Rash")]);
        assert_eq!(
            s.observations,
            [
                it("Glucose", "< 5 mmol/L"),
                it("Range", "1 – 2 g"),
                it("Observation without a name", "yes"),
            ]
        );
        assert_eq!(
            s.conditions,
            [
                it("Condition without a name", "since age 40 a"),
                it("Asthma", "onset: childhood"),
            ]
        );
        assert_eq!(s.patient.as_deref(), Some("Dr. X"));
        assert_eq!(s.other, ["Patient × 1", "Encounter × 2", "Unknown × 1"]);
    }

    #[test]
    fn invalid_json_says_where() {
        let bad = b"{\n  \"resourceType\": \"Patient\",\n  \"name\": [\n}";
        let RecordView::SaveOnly { reason } = render(bad) else {
            panic!("invalid JSON is not summarised")
        };
        assert!(
            reason.starts_with("This FHIR file is not valid JSON: "),
            "{reason}"
        );
        assert!(reason.contains("at line 4, column 1"), "{reason}");

        let RecordView::SaveOnly { reason } = render(b"{\"resourceType\": \"Pat") else {
            panic!()
        };
        assert!(
            reason.contains("EOF while parsing a string at line 1, column 21"),
            "{reason}"
        );
    }

    #[test]
    fn json_that_is_not_fhir_is_shown_as_text() {
        let RecordView::Text { text, truncated } = render(b"{\"hello\": 1}") else {
            panic!()
        };
        assert_eq!(text, "{\"hello\": 1}");
        assert!(!truncated);
        assert!(matches!(render(b"[1, 2]"), RecordView::Text { .. }));
        assert!(matches!(
            render(b"{\"resourceType\": 7}"),
            RecordView::Text { .. }
        ));
    }

    #[test]
    fn bundles_are_read_up_to_the_bound() {
        let entries: Vec<Value> = (0..MAX_FHIR_ENTRIES + 5)
            .map(|_| json!({"resource": {"resourceType": "Encounter"}}))
            .collect();
        let bundle = json!({"resourceType": "Bundle", "entry": entries});
        let s = summary_of(bundle.to_string().as_bytes());
        assert_eq!(
            s.other,
            [
                format!("Encounter × {MAX_FHIR_ENTRIES}"),
                format!("5 more entries not read (the first {MAX_FHIR_ENTRIES} are summarised)"),
            ]
        );
    }

    #[test]
    fn long_fields_are_clipped_and_deep_nesting_is_refused() {
        let long = "x".repeat(10_000);
        let obs = json!({"resourceType": "Observation", "code": {"text": long},
            "valueString": long});
        let s = summary_of(obs.to_string().as_bytes());
        assert_eq!(s.observations[0].text.chars().count(), MAX_FIELD_CHARS + 1);
        assert!(s.observations[0].detail.as_ref().unwrap().chars().count() <= MAX_FIELD_CHARS + 1);

        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let RecordView::SaveOnly { reason } = render(deep.as_bytes()) else {
            panic!()
        };
        assert!(reason.contains("recursion limit exceeded"), "{reason}");
    }
}
