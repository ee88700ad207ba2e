//! What a record is about, from its content: the resource types a FHIR file holds and the
//! category its report gives.

use medwallet_api::{Category, ContentKind};

/// Types that say nothing of what a record is about (who, where, who pays).
const CONTEXT: [&str; 14] = [
    "Bundle",
    "Patient",
    "Practitioner",
    "PractitionerRole",
    "Organization",
    "Location",
    "RelatedPerson",
    "Encounter",
    "Medication",
    "Device",
    "Coverage",
    "Provenance",
    "Binary",
    "OperationOutcome",
];

/// The category a record's first bytes (what [`crate::sniff`] read) point to, or `None`
/// when they do not decide (the file's name and kind then do).
///
/// FHIR: a Composition is a discharge summary when its type says so (LOINC 18842-5 or
/// "discharge"), else a note; otherwise the first clinical resource decides: Immunization →
/// Immunisation; MedicationRequest and MedicationDispense → Prescription; DiagnosticReport
/// → Imaging when its category is radiology or imaging, else Lab result; ImagingStudy →
/// Imaging; Observation → Lab result unless it is a vital sign, social history, survey or
/// exam finding (a note); DocumentReference and the other clinical types → Note. DICOM is
/// imaging.
pub fn guess_category(head: &[u8], kind: ContentKind) -> Option<Category> {
    match kind {
        ContentKind::Dicom => Some(Category::Imaging),
        ContentKind::Fhir => fhir(&String::from_utf8_lossy(head)),
        _ => None,
    }
}

fn fhir(head: &str) -> Option<Category> {
    let types = resource_types(head);
    let lower = head.to_ascii_lowercase();
    let has = |s: &str| lower.contains(s);
    if types.contains(&"Composition") {
        return Some(if has("18842-5") || has("discharge") {
            Category::DischargeSummary
        } else {
            Category::Note
        });
    }
    let first = types.iter().find(|t| !CONTEXT.contains(t))?;
    Some(match *first {
        "Immunization" | "ImmunizationRecommendation" | "ImmunizationEvaluation" => {
            Category::Immunisation
        }
        "MedicationRequest" | "MedicationDispense" | "VisionPrescription" => Category::Prescription,
        "DiagnosticReport" => {
            // v2-0074 RAD and its kin, LOINC's radiology class, or words.
            let imaging = [
                "\"rad\"",
                "\"ct\"",
                "\"mr\"",
                "\"rus\"",
                "\"nmr\"",
                "lp29684-5",
            ]
            .iter()
            .any(|m| has(m))
                || has("radiology")
                || has("imaging");
            if imaging {
                Category::Imaging
            } else {
                Category::LabResult
            }
        }
        "ImagingStudy" | "Media" | "ImagingSelection" => Category::Imaging,
        "Observation" => {
            let note = ["vital-signs", "social-history", "survey", "\"exam\""]
                .iter()
                .any(|m| has(m));
            if note && !has("\"laboratory\"") {
                Category::Note
            } else {
                Category::LabResult
            }
        }
        _ => Category::Note,
    })
}

/// The values of `"resourceType"` keys, in order, at any depth.
fn resource_types(head: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = head;
    while let Some(at) = rest.find("\"resourceType\"") {
        rest = &rest[at + 14..];
        let value = rest.trim_start();
        let Some(value) = value.strip_prefix(':') else {
            continue;
        };
        let Some(value) = value.trim_start().strip_prefix('"') else {
            continue;
        };
        let end = value
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(value.len());
        if value[end..].starts_with('"') && end > 0 {
            out.push(&value[..end]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use Category::*;

    fn of(value: serde_json::Value) -> Option<Category> {
        guess_category(value.to_string().as_bytes(), ContentKind::Fhir)
    }

    #[test]
    fn fhir_content_decides() {
        let one = |t: &str| of(json!({"resourceType": t}));
        assert_eq!(one("Immunization"), Some(Immunisation));
        assert_eq!(one("MedicationRequest"), Some(Prescription));
        assert_eq!(one("DiagnosticReport"), Some(LabResult));
        assert_eq!(one("ImagingStudy"), Some(Imaging));
        assert_eq!(one("Condition"), Some(Note));
        assert_eq!(one("Patient"), None);
        let report = |code: &str| {
            of(
                json!({"resourceType": "DiagnosticReport", "category": [{"coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": code}]}]}),
            )
        };
        assert_eq!(report("RAD"), Some(Imaging));
        assert_eq!(report("HM"), Some(LabResult));
        let obs = |cat: &str| {
            of(json!({"resourceType": "Observation", "category": [{"coding": [{"code": cat}]}]}))
        };
        assert_eq!(obs("vital-signs"), Some(Note));
        assert_eq!(obs("laboratory"), Some(LabResult));
        // A bundle: the first clinical entry, after the patient.
        let bundle = json!({"resourceType": "Bundle", "entry": [
            {"resource": {"resourceType": "Patient"}},
            {"resource": {"resourceType": "Immunization"}},
            {"resource": {"resourceType": "Observation"}}]});
        assert_eq!(of(bundle), Some(Immunisation));
        let document = json!({"resourceType": "Bundle", "type": "document", "entry": [
            {"resource": {"resourceType": "Composition", "type": {"coding": [
                {"system": "http://loinc.org", "code": "18842-5"}]}}}]});
        assert_eq!(of(document), Some(DischargeSummary));
        let ips = json!({"resourceType": "Composition", "title": "Patient Summary"});
        assert_eq!(of(ips), Some(Note));
    }

    #[test]
    fn other_kinds() {
        assert_eq!(guess_category(b"", ContentKind::Dicom), Some(Imaging));
        assert_eq!(guess_category(b"Immunization", ContentKind::Text), None);
        assert_eq!(
            guess_category(b"\"resourceType\": 7", ContentKind::Fhir),
            None
        );
    }
}
