//! The sample files of `tests/fixtures/`, and the generator's variants of them.

pub(crate) use crate::generate::{ct_dcm, encrypted_pdf, pdf_with_pages};

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../tests/fixtures/",
            $name
        ))
    };
}

pub(crate) const LAB_REPORT_PDF: &[u8] = fixture!("lab-report.pdf");
pub(crate) const XRAY_PNG: &[u8] = fixture!("xray.png");
pub(crate) const PHOTO_JPG: &[u8] = fixture!("photo.jpg");
pub(crate) const CT_DCM: &[u8] = fixture!("ct.dcm");
pub(crate) const SUMMARY_FHIR_JSON: &[u8] = fixture!("summary.fhir.json");
pub(crate) const NOTE_TXT: &[u8] = fixture!("note.txt");
pub(crate) const CLIP_MP4: &[u8] = fixture!("clip.mp4");

/// Every fixture with its name.
pub(crate) const ALL: [(&str, &[u8]); 7] = [
    ("lab-report.pdf", LAB_REPORT_PDF),
    ("xray.png", XRAY_PNG),
    ("photo.jpg", PHOTO_JPG),
    ("ct.dcm", CT_DCM),
    ("summary.fhir.json", SUMMARY_FHIR_JSON),
    ("note.txt", NOTE_TXT),
    ("clip.mp4", CLIP_MP4),
];

#[test]
fn the_committed_fixtures_are_what_the_generator_makes() {
    let made = crate::generate::all();
    assert_eq!(made.len(), ALL.len());
    for ((name, bytes), (made_name, made_bytes)) in ALL.iter().zip(&made) {
        assert_eq!(name, made_name);
        assert!(
            *bytes == made_bytes.as_slice(),
            "tests/fixtures/{name} differs from what examples/make_fixtures.rs makes: run \
             `cargo run -p medwallet-preview --example make_fixtures`"
        );
    }
}

#[test]
fn the_fixtures_are_small() {
    for (name, bytes) in ALL {
        assert!(bytes.len() < 64 * 1024, "{name} is {} bytes", bytes.len());
    }
    assert!(LAB_REPORT_PDF.len() < 10 * 1024);
}
