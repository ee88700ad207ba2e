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
            it(
                "Type 2 diabetes mellitus (SNOMED CT 44054006)",
                "active · since 2019-06-01"
            ),
            it(
                "Essential hypertension (SNOMED CT 38341003)",
                "active · since 2021-02-15"
            ),
        ]
    );
    assert_eq!(
        s.medications,
        [
            it(
                "Metformin 500 mg oral tablet (RxNorm 861007)",
                "500 mg twice a day with meals · active"
            ),
            it(
                "Lisinopril 10 mg (RxNorm 314076)",
                "10 mg once a day · active"
            ),
        ]
    );
    assert_eq!(
        s.allergies,
        [it(
            "Penicillin (SNOMED CT 91936005)",
            "active · high criticality · reaction: Hives (SNOMED CT 247472004)"
        )]
    );
    assert_eq!(
        s.observations,
        [
            it("HbA1c (LOINC 4548-4)", "6.8 % · 2024-05-14"),
            it("Body weight (LOINC 29463-7)", "72.5 kg · 2024-05-14 09:05"),
            it(
                "Blood pressure (LOINC 85354-9)",
                "Systolic blood pressure (LOINC 8480-6) 128 mmHg, Diastolic blood pressure \
                 (LOINC 8462-4) 82 mmHg · 2024-05-14"
            ),
        ]
    );
    assert_eq!(
        s.sections,
        [FhirSection {
            title: "Visits".into(),
            items: vec![it(
                "ambulatory",
                "2024-05-14 09:00 – 2024-05-14 09:30 · finished"
            )],
        }]
    );
    assert!(s.other.is_empty(), "{:?}", s.other);
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
        [it("8310-5", "Fever · High · from 2024-01-02 03:04")]
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
        [it(
            "Amoxicillin",
            "prescription · 1 g three times a day · active"
        )]
    );

    // A resource with nothing readable is counted.
    let encounter = json!({"resourceType": "Encounter"});
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

#[test]
fn references_resolve_inside_the_file() {
    let bundle = json!({
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "urn:uuid:report", "resource": {
                "resourceType": "DiagnosticReport",
                "category": [{"coding": [{"code": "LAB", "display": "Laboratory"}]}],
                "code": {"coding": [{"system": "http://loinc.org", "code": "58410-2",
                    "display": "CBC panel"}]},
                "result": [{"reference": "urn:uuid:hb"},
                    {"reference": "https://example.org/fhir/Observation/plt/_history/2"},
                    {"reference": "#wbc"}],
                "contained": [{"resourceType": "Observation", "id": "wbc",
                    "code": {"text": "WBC"},
                    "valueQuantity": {"value": 6.1, "unit": "10*9/L"}}],
                "performer": [{"reference": "Organization/lab"}]}},
            {"fullUrl": "urn:uuid:hb", "resource": {"resourceType": "Observation",
                "code": {"coding": [{"system": "http://loinc.org", "code": "718-7",
                    "display": "Hemoglobin"}]},
                "valueQuantity": {"value": 13.2, "unit": "g/dL"}}},
            {"resource": {"resourceType": "Observation", "id": "plt",
                "code": {"text": "Platelets"}, "valueQuantity": {"value": 250}}},
            {"resource": {"resourceType": "Organization", "id": "lab", "name": "City Lab"}},
            {"resource": {"resourceType": "Immunization", "status": "completed",
                "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx",
                    "code": "140", "display": "Influenza, seasonal"}]},
                "occurrenceDateTime": "2024-10-01",
                "protocolApplied": [{"doseNumberPositiveInt": 1}]}},
            {"resource": {"resourceType": "MedicationRequest", "status": "active",
                "medicationReference": {"reference": "Medication/m1"},
                "requester": {"reference": "Practitioner/p1"}}},
            {"resource": {"resourceType": "Medication", "id": "m1",
                "code": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                    "code": "197361", "display": "Amlodipine 5 MG Oral Tablet"}]}}},
            {"resource": {"resourceType": "Practitioner", "id": "p1",
                "name": [{"given": ["Ann"], "family": "Lee"}]}}
        ]
    });
    let s = summary_of(bundle.to_string().as_bytes());
    let titles: Vec<&str> = s.sections.iter().map(|s| s.title.as_str()).collect();
    assert_eq!(titles, ["Immunisations", "Reports", "Other records"]);
    assert_eq!(
        s.sections[0].items,
        [it("Influenza, seasonal (CVX 140)", "2024-10-01 · dose 1")]
    );
    assert_eq!(
        s.sections[1].items,
        [it(
            "CBC panel (LOINC 58410-2)",
            "Laboratory · results: Hemoglobin (LOINC 718-7) 13.2 g/dL; Platelets 250; WBC 6.1 \
             10*9/L · by City Lab"
        )]
    );
    // The medication named by the request is not listed a second time.
    assert_eq!(
        s.medications,
        [it(
            "Amlodipine 5 MG Oral Tablet (RxNorm 197361)",
            "prescription · by Ann Lee · active"
        )]
    );
}

#[test]
fn ndjson_of_resources_is_summarised() {
    let lines = [
        json!({"resourceType": "Patient", "name": [{"family": "Roe", "given": ["Ada"]}]}),
        json!({"resourceType": "Condition", "code": {"text": "Asthma"}}),
        json!({"resourceType": "Goal", "description": {"text": "Walk daily"},
            "lifecycleStatus": "active"}),
    ];
    let ndjson: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let s = summary_of(ndjson.as_bytes());
    assert_eq!(s.resource_type, NDJSON);
    assert_eq!(s.patient.as_deref(), Some("Ada Roe"));
    assert_eq!(s.conditions.len(), 1);
    assert_eq!(s.sections[0].items, [it("Walk daily", "active")]);
    // A second value that is not a resource makes it invalid JSON again.
    assert!(matches!(
        render(format!("{}\n[1]\n", lines[0]).as_bytes()),
        RecordView::SaveOnly { .. }
    ));
}

#[test]
fn r5_encounters_and_documents() {
    let bundle = json!({
        "resourceType": "Bundle",
        "entry": [
            {"resource": {"resourceType": "Encounter", "status": "completed",
                "class": [{"coding": [{"code": "IMP", "display": "inpatient encounter"}]}],
                "actualPeriod": {"start": "2024-02-01", "end": "2024-02-03"},
                "reason": [{"value": [{"concept": {"text": "Pneumonia"}}]}],
                "admission": {"dischargeDisposition": {"text": "Home"}}}},
            {"resource": {"resourceType": "DocumentReference", "status": "current",
                "type": {"text": "Discharge letter"},
                "content": [{"attachment": {"contentType": "application/pdf",
                    "title": "letter.pdf", "size": 2048}}]}}
        ]
    });
    let s = summary_of(bundle.to_string().as_bytes());
    assert_eq!(
        s.sections[0].items,
        [it(
            "inpatient encounter",
            "2024-02-01 – 2024-02-03 · for Pneumonia · discharged: Home · completed"
        )]
    );
    assert_eq!(
        s.sections[1].items,
        [it(
            "Discharge letter",
            "attached: letter.pdf (application/pdf, 2 KiB) · current"
        )]
    );
}
