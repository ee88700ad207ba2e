//! FHIR data types for people: codes with their system, quantities, dates, names,
//! narratives, and references resolved inside the file.

use std::collections::HashMap;

use serde_json::Value;

use super::MAX_FIELD_CHARS;
use crate::clip;

/// Code systems named for people; a code from another system is shown only when nothing
/// else names the concept.
const SYSTEMS: [(&str, &str); 14] = [
    ("http://loinc.org", "LOINC"),
    ("http://snomed.info/sct", "SNOMED CT"),
    ("http://www.nlm.nih.gov/research/umls/rxnorm", "RxNorm"),
    ("http://hl7.org/fhir/sid/cvx", "CVX"),
    ("http://hl7.org/fhir/sid/icd-10", "ICD-10"),
    ("http://hl7.org/fhir/sid/icd-10-cm", "ICD-10-CM"),
    ("http://hl7.org/fhir/sid/icd-9-cm", "ICD-9-CM"),
    ("http://www.whocc.no/atc", "ATC"),
    ("http://hl7.org/fhir/sid/ndc", "NDC"),
    ("http://www.ama-assn.org/go/cpt", "CPT"),
    ("urn:oid:2.16.840.1.113883.6.96", "SNOMED CT"),
    ("urn:oid:2.16.840.1.113883.6.1", "LOINC"),
    ("urn:oid:2.16.840.1.113883.6.88", "RxNorm"),
    ("urn:oid:2.16.840.1.113883.12.292", "CVX"),
];

/// A non-empty string field, clipped.
pub(super) fn text(v: Option<&Value>) -> Option<String> {
    let s = v?.as_str()?.trim();
    (!s.is_empty()).then(|| clip(s, MAX_FIELD_CHARS))
}

/// The non-empty strings of an array field.
pub(super) fn strings(v: Option<&Value>) -> Vec<String> {
    list(v)
        .iter()
        .take(10)
        .filter_map(|s| text(Some(s)))
        .collect()
}

/// An array field (a missing or non-array field is empty).
pub(super) fn list(v: Option<&Value>) -> &[Value] {
    v.and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// A field that is one value or an array of them, as a slice.
pub(super) fn one_or_many(v: Option<&Value>) -> &[Value] {
    match v {
        Some(Value::Array(items)) => items,
        Some(other) => std::slice::from_ref(other),
        None => &[],
    }
}

/// `2024-05-14T09:05:00+02:00` → `2024-05-14 09:05`; dates stay as they are.
pub(super) fn date_time(s: &str) -> String {
    match s.split_once('T') {
        Some((date, time)) if time.len() >= 5 && time.is_char_boundary(5) => {
            format!("{date} {}", &time[..5])
        }
        _ => s.to_string(),
    }
}

/// A date or date-time field, for people.
pub(super) fn when(v: Option<&Value>) -> Option<String> {
    text(v).map(|d| date_time(&d))
}

/// A Period: `2024-01-02 – 2024-01-05`, `from 2024-01-02`, `until …`.
pub(super) fn period(p: Option<&Value>) -> Option<String> {
    let p = p?;
    match (when(p.get("start")), when(p.get("end"))) {
        (Some(s), Some(e)) if s == e => Some(s),
        (Some(s), Some(e)) => Some(format!("{s} – {e}")),
        (Some(s), None) => Some(format!("from {s}")),
        (None, Some(e)) => Some(format!("until {e}")),
        (None, None) => None,
    }
}

/// The first of `{prefix}DateTime`, `{prefix}Period`, `{prefix}String`, `{prefix}Instant`.
pub(super) fn timing(resource: &Value, prefix: &str) -> Option<String> {
    when(resource.get(format!("{prefix}DateTime").as_str()))
        .or_else(|| period(resource.get(format!("{prefix}Period").as_str())))
        .or_else(|| when(resource.get(format!("{prefix}Instant").as_str())))
        .or_else(|| text(resource.get(format!("{prefix}String").as_str())))
}

/// `6.8 %`, `< 5 mmol/L`.
pub(super) fn quantity(q: Option<&Value>) -> Option<String> {
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

/// A Range: `1 – 2 g`, `≥ 1 g`.
pub(super) fn range(r: Option<&Value>) -> Option<String> {
    let r = r?;
    match (quantity(r.get("low")), quantity(r.get("high"))) {
        (Some(l), Some(h)) => Some(format!("{l} – {h}")),
        (Some(l), None) => Some(format!("≥ {l}")),
        (None, Some(h)) => Some(format!("≤ {h}")),
        (None, None) => text(r.get("text")),
    }
}

/// `LOINC 718-7` for a coding of a named system.
fn named_code(coding: &Value) -> Option<String> {
    let system = coding.get("system")?.as_str()?;
    let code = text(coding.get("code"))?;
    let (_, name) = SYSTEMS.iter().find(|(url, _)| *url == system)?;
    Some(format!("{name} {code}"))
}

/// A CodeableConcept (or an R5 CodeableReference, or a bare Coding) for people: its text,
/// else a coding's display, with the code of the first coding of a named system
/// (`Hemoglobin (LOINC 718-7)`); a bare code when nothing names it.
pub(super) fn concept(c: Option<&Value>) -> Option<String> {
    let c = c?;
    if let Some(inner) = c.get("concept") {
        return concept(Some(inner))
            .or_else(|| text(c.get("reference").and_then(|r| r.get("display"))));
    }
    let codings = one_or_many(c.get("coding"));
    // A bare Coding (Encounter.class in R4) is its own only coding.
    let bare = c.get("coding").is_none() && c.get("code").is_some();
    let codings = if bare {
        std::slice::from_ref(c)
    } else {
        codings
    };
    let name = text(c.get("text")).or_else(|| {
        codings
            .iter()
            .find_map(|coding| text(coding.get("display")))
    });
    let code = codings.iter().find_map(named_code);
    match (name, code) {
        (Some(name), Some(code)) if !name.contains(&code) => Some(format!("{name} ({code})")),
        (Some(name), _) => Some(name),
        (None, Some(code)) => Some(code),
        (None, None) => codings.iter().find_map(|coding| text(coding.get("code"))),
    }
}

/// The concepts of an array of CodeableConcepts, joined.
pub(super) fn concepts(v: Option<&Value>) -> Option<String> {
    let names: Vec<String> = one_or_many(v)
        .iter()
        .take(6)
        .filter_map(|c| concept(Some(c)))
        .collect();
    (!names.is_empty()).then(|| names.join(", "))
}

/// A status CodeableConcept: its code (`active`), else its text.
pub(super) fn status(c: Option<&Value>) -> Option<String> {
    let c = c?;
    list(c.get("coding"))
        .iter()
        .find_map(|coding| text(coding.get("code")))
        .or_else(|| text(c.get("text")))
}

/// A HumanName: its text, else given names and family.
pub(super) fn human_name(name: &Value) -> Option<String> {
    if let Some(text) = text(name.get("text")) {
        return Some(text);
    }
    let mut words: Vec<String> = strings(name.get("prefix"));
    words.extend(strings(name.get("given")));
    words.extend(text(name.get("family")));
    (!words.is_empty()).then(|| words.join(" "))
}

/// The best name of a person: official, else usual, else the first.
pub(super) fn person_name(resource: &Value) -> Option<String> {
    let names = list(resource.get("name"));
    let by_use = |wanted: &str| {
        names
            .iter()
            .find(|n| n.get("use").and_then(Value::as_str) == Some(wanted))
    };
    by_use("official")
        .or_else(|| by_use("usual"))
        .or_else(|| names.first())
        .and_then(human_name)
        .or_else(|| text(resource.get("name")))
}

/// The narrative (`text.div`) as plain text: tags dropped, entities decoded, spaces
/// folded.
pub(super) fn narrative(resource: &Value) -> Option<String> {
    let div = resource.get("text")?.get("div")?.as_str()?;
    let mut out = String::new();
    let mut in_tag = false;
    let mut tag = String::new();
    for c in div.chars() {
        match c {
            '<' => {
                in_tag = true;
                tag.clear();
            }
            '>' if in_tag => {
                in_tag = false;
                let name = tag
                    .trim_start_matches('/')
                    .split_whitespace()
                    .next()
                    .unwrap_or("");
                // Block ends and table cells keep words apart.
                if matches!(
                    name.to_ascii_lowercase().as_str(),
                    "p" | "br"
                        | "br/"
                        | "div"
                        | "tr"
                        | "td"
                        | "th"
                        | "li"
                        | "h1"
                        | "h2"
                        | "h3"
                        | "h4"
                ) {
                    out.push(' ');
                }
            }
            _ if in_tag => tag.push(c),
            _ => out.push(c),
        }
        if out.len() > 8 * MAX_FIELD_CHARS {
            break;
        }
    }
    let decoded = out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&nbsp;", " ")
        .replace("&#160;", " ")
        .replace("&amp;", "&");
    let folded = decoded.split_whitespace().collect::<Vec<_>>().join(" ");
    // A narrative the tooling generated from the data repeats what is shown already.
    if folded.is_empty() || folded.starts_with("Generated Narrative") {
        return None;
    }
    Some(clip(&folded, MAX_FIELD_CHARS))
}

/// The resources of a file by the keys a reference may use: a bundle entry's `fullUrl`,
/// and `Type/id` (also the tail of an absolute URL).
#[derive(Default)]
pub(super) struct Index<'a> {
    by_key: HashMap<String, &'a Value>,
}

impl<'a> Index<'a> {
    pub(super) fn add(&mut self, full_url: Option<&str>, resource: &'a Value) {
        if let Some(url) = full_url {
            self.by_key.insert(url.to_string(), resource);
        }
        if let (Some(kind), Some(id)) = (
            resource.get("resourceType").and_then(Value::as_str),
            resource.get("id").and_then(Value::as_str),
        ) {
            self.by_key.insert(format!("{kind}/{id}"), resource);
        }
    }

    /// The resource a Reference points at: a contained one of `within` (`#id`), else one
    /// of the file.
    pub(super) fn resolve(&self, within: &'a Value, reference: &Value) -> Option<&'a Value> {
        let target = reference.get("reference")?.as_str()?;
        if let Some(id) = target.strip_prefix('#') {
            return list(within.get("contained"))
                .iter()
                .find(|c| c.get("id").and_then(Value::as_str) == Some(id));
        }
        if let Some(found) = self.by_key.get(target) {
            return Some(found);
        }
        // `https://server/fhir/Patient/1/_history/2` → `Patient/1`.
        let path = target.split("/_history/").next().unwrap_or(target);
        let mut parts = path.rsplit('/');
        let id = parts.next()?;
        let kind = parts.next()?;
        self.by_key.get(&format!("{kind}/{id}")).copied()
    }

    /// A Reference for people: its display, else a short label of the resource it points
    /// at.
    pub(super) fn name_of(&self, within: &'a Value, reference: Option<&Value>) -> Option<String> {
        let reference = reference?;
        text(reference.get("display"))
            .or_else(|| self.resolve(within, reference).and_then(label))
            .or_else(|| concept(reference.get("concept")))
    }
}

/// A short label of a resource (what a reference to it reads as).
pub(super) fn label(resource: &Value) -> Option<String> {
    let kind = resource
        .get("resourceType")
        .and_then(Value::as_str)
        .unwrap_or("");
    match kind {
        "Patient" | "Practitioner" | "RelatedPerson" | "Person" => person_name(resource),
        "Organization" | "Location" | "HealthcareService" | "CareTeam" => {
            text(resource.get("name"))
        }
        "PractitionerRole" => concepts(resource.get("code"))
            .or_else(|| text(resource.get("practitioner").and_then(|p| p.get("display")))),
        "Device" => device_name(resource),
        "Medication" => concept(resource.get("code")),
        "Observation" => {
            let name = concept(resource.get("code"))?;
            Some(match super::kinds::observation_value(resource) {
                Some(value) => format!("{name} {value}"),
                None => name,
            })
        }
        "Goal" => concept(resource.get("description")),
        "MedicationStatement"
        | "MedicationRequest"
        | "MedicationDispense"
        | "MedicationAdministration" => concept(resource.get("medicationCodeableConcept"))
            .or_else(|| concept(resource.get("medication")))
            .or_else(|| {
                text(
                    resource
                        .get("medicationReference")
                        .and_then(|r| r.get("display")),
                )
            }),
        "Immunization" => concept(resource.get("vaccineCode")),
        "Encounter" => concepts(resource.get("type")).or_else(|| concepts(resource.get("class"))),
        "CarePlan" => text(resource.get("title")).or_else(|| concepts(resource.get("category"))),
        "DocumentReference" | "Composition" => text(resource.get("title"))
            .or_else(|| text(resource.get("description")))
            .or_else(|| concept(resource.get("type"))),
        _ => concept(resource.get("code"))
            .or_else(|| text(resource.get("title")))
            .or_else(|| text(resource.get("name")))
            .or_else(|| concept(resource.get("type"))),
    }
}

/// A device's name (R4 `deviceName`, R5 `name` and `displayName`), else its type.
pub(super) fn device_name(resource: &Value) -> Option<String> {
    text(resource.get("displayName"))
        .or_else(|| {
            list(resource.get("deviceName"))
                .iter()
                .find_map(|n| text(n.get("name")))
        })
        .or_else(|| {
            list(resource.get("name"))
                .iter()
                .find_map(|n| text(n.get("value")))
        })
        .or_else(|| concepts(resource.get("type")))
        .or_else(|| {
            let id = list(resource.get("identifier"))
                .iter()
                .find_map(|i| text(i.get("value")))?;
            Some(format!("Device {id}"))
        })
}
