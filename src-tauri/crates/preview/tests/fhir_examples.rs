//! The official FHIR R4 and R5 examples (and the IPS examples) under
//! `tests/fixtures/fhir/`: each is recognised as FHIR from its first bytes, whatever its
//! key order, and summarised with content a patient can read.

use std::path::{Path, PathBuf};

use medwallet_api::{ContentKind, FhirSummary, RecordView};
use medwallet_preview::{render, sniff, SNIFF_LEN};
use serde_json::Value;

/// The resource types the viewer must summarise with content (International Patient
/// Summary and US Core).
const READABLE: [&str; 19] = [
    "Patient",
    "AllergyIntolerance",
    "Condition",
    "MedicationStatement",
    "MedicationRequest",
    "MedicationDispense",
    "MedicationAdministration",
    "Medication",
    "Immunization",
    "Procedure",
    "DiagnosticReport",
    "Observation",
    "Encounter",
    "CarePlan",
    "Goal",
    "DocumentReference",
    "Composition",
    "Device",
    "Coverage",
];

fn examples(version: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/fhir")
        .join(version);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

fn summary(bytes: &[u8], name: &str) -> FhirSummary {
    let head = &bytes[..bytes.len().min(SNIFF_LEN)];
    let (kind, mime) = sniff(head, name);
    assert_eq!(
        (kind, mime),
        (ContentKind::Fhir, "application/fhir+json"),
        "{name}"
    );
    match render(bytes, kind, mime) {
        RecordView::Fhir { summary } => summary,
        other => panic!("{name}: {other:?}"),
    }
}

/// Every line of a summary, for messages and for checks.
fn lines(s: &FhirSummary) -> Vec<String> {
    let mut out: Vec<String> = s.patient.iter().map(|p| format!("patient: {p}")).collect();
    let lists = [
        ("conditions", &s.conditions),
        ("medications", &s.medications),
        ("allergies", &s.allergies),
        ("observations", &s.observations),
    ];
    for (title, items) in lists {
        for item in items {
            out.push(format!(
                "{title}: {} | {}",
                item.text,
                item.detail.as_deref().unwrap_or("")
            ));
        }
    }
    for section in &s.sections {
        for item in &section.items {
            out.push(format!(
                "{}: {} | {}",
                section.title,
                item.text,
                item.detail.as_deref().unwrap_or("")
            ));
        }
    }
    out.extend(s.other.iter().map(|o| format!("other: {o}")));
    out
}

/// Checks one example; answers its summary lines.
fn check(path: &Path) -> Vec<String> {
    let bytes = std::fs::read(path).unwrap();
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let s = summary(&bytes, &name);
    let value: Value = serde_json::from_slice(&bytes).unwrap();
    let top = value["resourceType"].as_str().unwrap();
    assert_eq!(s.resource_type, top, "{name}");
    let lines = lines(&s);
    if std::env::var_os("FHIR_EXAMPLES_PRINT").is_some() {
        println!("== {name}\n{}", lines.join("\n"));
    }
    // No resource of a readable type is only counted.
    for other in &s.other {
        let kind = other.split(" × ").next().unwrap_or_default();
        assert!(
            !READABLE.contains(&kind),
            "{name}: {other} is not summarised\n{lines:#?}"
        );
    }
    assert!(
        lines.iter().any(|l| !l.starts_with("other: ")),
        "{name}: nothing readable\n{lines:#?}"
    );
    lines
}

#[test]
fn every_r4_example_is_summarised_with_content() {
    let files = examples("r4");
    assert!(files.len() >= 50, "{} R4 examples", files.len());
    for path in files {
        check(&path);
    }
}

#[test]
fn every_r5_example_is_summarised_with_content() {
    let files = examples("r5");
    assert!(files.len() >= 50, "{} R5 examples", files.len());
    for path in files {
        check(&path);
    }
}

#[test]
fn every_ips_example_is_summarised_with_content() {
    for path in examples("ips") {
        check(&path);
    }
}

/// `value` as JSON with every object's keys sorted (`resourceType` after a bundle's
/// `entry`), as serialisers that sort keys write it (`jq -S`, Python's `sort_keys`).
fn sorted_keys(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let fields: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), sorted_keys(&map[k])))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(sorted_keys).collect();
            format!("[{}]", items.join(","))
        }
        other => other.to_string(),
    }
}

#[test]
fn key_order_changes_nothing() {
    let mut late = 0;
    for path in examples("r4")
        .into_iter()
        .chain(examples("r5"))
        .chain(examples("ips"))
    {
        let bytes = std::fs::read(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let value: Value = serde_json::from_slice(&bytes).unwrap();
        let reordered = sorted_keys(&value);
        let at = reordered.find("\"resourceType\":\"").unwrap();
        let top = reordered.rfind("\"resourceType\":\"").unwrap();
        if top > SNIFF_LEN {
            late += 1;
        }
        // The same summary, with a name that says nothing.
        let plain = "record.json";
        assert_eq!(
            lines(&summary(reordered.as_bytes(), plain)),
            lines(&summary(&bytes, &name)),
            "{name} (first resourceType at {at})"
        );
    }
    // The case that matters is there: the top-level key beyond what sniffing reads.
    assert!(late >= 5, "{late} files have resourceType past the head");
}

#[test]
fn ndjson_of_the_examples_is_summarised() {
    let mut ndjson = String::new();
    let mut count = 0;
    for path in examples("r4").into_iter().chain(examples("r5")) {
        let value: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        if value["resourceType"] != "Bundle" {
            ndjson.push_str(&value.to_string());
            ndjson.push('\n');
            count += 1;
        }
    }
    let s = summary(ndjson.as_bytes(), "export.ndjson");
    assert_eq!(s.resource_type, "NDJSON");
    let lines = lines(&s);
    // Every resource is one line, none only counted.
    assert!(
        lines.len() >= count,
        "{} lines for {count} resources",
        lines.len()
    );
    assert!(s.other.is_empty(), "{:?}", s.other);
}

#[test]
fn the_category_comes_from_the_content() {
    use medwallet_api::Category::{self, *};
    use medwallet_preview::guess_category;
    let of = |path: &str| -> Option<Category> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fhir");
        let bytes = std::fs::read(dir.join(path)).unwrap();
        guess_category(&bytes[..bytes.len().min(SNIFF_LEN)], ContentKind::Fhir)
    };
    let cases: [(&str, Option<Category>); 10] = [
        ("r4/Immunization-example.json", Some(Immunisation)),
        ("r5/Immunization-historical.json", Some(Immunisation)),
        ("r4/MedicationRequest-medrx0301.json", Some(Prescription)),
        ("r4/Bundle-lipids.json", Some(LabResult)),
        ("r4/DiagnosticReport-f201.json", Some(Imaging)),
        ("r5/Observation-f001.json", Some(LabResult)),
        ("r4/Observation-blood-pressure.json", Some(Note)),
        ("r4/Bundle-father.json", Some(DischargeSummary)),
        ("ips/Bundle-IPS-examples-Bundle-01.json", Some(Note)),
        ("r4/Patient-animal.json", None),
    ];
    for (path, category) in cases {
        assert_eq!(of(path), category, "{path}");
    }
    // Not everything is a lab result any more.
    let mut seen = std::collections::BTreeSet::new();
    for path in examples("r4").into_iter().chain(examples("r5")) {
        let bytes = std::fs::read(&path).unwrap();
        seen.insert(format!(
            "{:?}",
            guess_category(&bytes[..bytes.len().min(SNIFF_LEN)], ContentKind::Fhir)
        ));
    }
    assert!(seen.len() >= 6, "{seen:?}");
}
