//! Property tests: random and damaged bytes of every kind never panic.
//!
//! These call the renderer *without* its panic guard, so a panic in this crate or in a
//! decoder shows up here instead of being turned into a "reader failed" view.

use std::sync::LazyLock;

use medwallet_api::{ContentKind, RecordView};
use proptest::prelude::*;

use crate::fixtures;
use crate::render_unguarded;

const KINDS: [ContentKind; 7] = [
    ContentKind::Pdf,
    ContentKind::Image,
    ContentKind::Dicom,
    ContentKind::Fhir,
    ContentKind::Text,
    ContentKind::Video,
    ContentKind::Other,
];

/// The first bytes that make each decoder go past its magic number.
fn prefix(kind: ContentKind) -> Vec<u8> {
    match kind {
        ContentKind::Pdf => b"%PDF-1.4\n".to_vec(),
        ContentKind::Image => b"\x89PNG\r\n\x1a\n".to_vec(),
        ContentKind::Dicom => fixtures::CT_DCM[..132 + 12].to_vec(),
        ContentKind::Fhir => b"{\"resourceType\": \"Bundle\", \"entry\": [".to_vec(),
        _ => Vec::new(),
    }
}

fn kind() -> impl Strategy<Value = ContentKind> {
    prop::sample::select(&KINDS[..])
}

/// What a view may be for a kind.
fn fits(kind: ContentKind, view: &RecordView) -> bool {
    matches!(
        (kind, view),
        (_, RecordView::SaveOnly { .. })
            | (ContentKind::Pdf, RecordView::Pdf { .. })
            | (
                ContentKind::Image,
                RecordView::Image { .. } | RecordView::Pdf { .. }
            )
            | (ContentKind::Dicom, RecordView::Dicom { .. })
            | (
                ContentKind::Fhir,
                RecordView::Fhir { .. } | RecordView::Text { .. }
            )
            | (ContentKind::Text, RecordView::Text { .. })
    )
}

/// A fixture with some bytes changed, some cut off, or both.
fn damaged(original: &'static [u8]) -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        prop::option::of(any::<prop::sample::Index>()),
    )
        .prop_map(move |(flips, cut)| {
            let mut bytes = original.to_vec();
            for (at, value) in flips {
                let at = at.index(bytes.len());
                bytes[at] = value;
            }
            if let Some(cut) = cut {
                bytes.truncate(cut.index(bytes.len() + 1));
            }
            bytes
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_of_every_kind_never_panic(
        kind in kind(),
        with_magic in any::<bool>(),
        tail in prop::collection::vec(any::<u8>(), 0..4096),
    ) {
        let mut bytes = if with_magic { prefix(kind) } else { Vec::new() };
        bytes.extend(tail);
        let view = render_unguarded(&bytes, kind, "application/octet-stream");
        prop_assert!(fits(kind, &view), "{kind:?} gave {view:?}");
        // And sniffing them is fine too.
        let _ = crate::sniff(&bytes, "random.bin");
    }

    #[test]
    fn damaged_images_never_panic(
        bytes in prop_oneof![damaged(fixtures::XRAY_PNG), damaged(fixtures::PHOTO_JPG)],
    ) {
        let view = render_unguarded(&bytes, ContentKind::Image, "image/png");
        prop_assert!(fits(ContentKind::Image, &view), "{view:?}");
    }

    #[test]
    fn damaged_dicom_files_never_panic(bytes in damaged(fixtures::CT_DCM)) {
        let view = render_unguarded(&bytes, ContentKind::Dicom, "application/dicom");
        prop_assert!(fits(ContentKind::Dicom, &view), "{view:?}");
    }

    #[test]
    fn damaged_fhir_never_panics(bytes in damaged(fixtures::SUMMARY_FHIR_JSON)) {
        let view = render_unguarded(&bytes, ContentKind::Fhir, "application/fhir+json");
        prop_assert!(fits(ContentKind::Fhir, &view), "{view:?}");
    }

    #[test]
    fn damaged_text_never_panics(bytes in damaged(fixtures::NOTE_TXT)) {
        let view = render_unguarded(&bytes, ContentKind::Text, "text/plain");
        prop_assert!(matches!(view, RecordView::Text { truncated: false, .. }), "{view:?}");
    }
}

/// A two-page TIFF scan, a Word letter, a JPEG 2000 DICOM file and a FHIR document: the
/// formats whose readers are this crate's own code or new to it.
static TIFF: LazyLock<Vec<u8>> = LazyLock::new(|| crate::scan::tests::scan(2));
static DOCX: LazyLock<Vec<u8>> = LazyLock::new(crate::docx::tests::letter);
const J2K_DCM: &[u8] = include_bytes!("../tests/fixtures/dicom/JPEG2000.dcm");
const FHIR_DOCUMENT: &[u8] = include_bytes!("../tests/fixtures/fhir/r4/Bundle-father.json");

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn damaged_scans_and_word_documents_never_panic(
        tiff in damaged(TIFF.as_slice()),
        docx in damaged(DOCX.as_slice()),
    ) {
        let view = render_unguarded(&tiff, ContentKind::Image, "image/tiff");
        prop_assert!(fits(ContentKind::Image, &view), "{view:?}");
        let view = render_unguarded(&docx, ContentKind::Text, crate::docx::DOCX_MIME);
        prop_assert!(fits(ContentKind::Text, &view), "{view:?}");
        let _ = crate::sniff(&tiff, "scan.tif");
        let _ = crate::sniff(&docx, "letter.docx");
    }

    #[test]
    fn random_bodies_after_tiff_and_zip_heads_never_panic(
        tail in prop::collection::vec(any::<u8>(), 0..4096),
        big_endian in any::<bool>(),
    ) {
        let mut tiff = if big_endian { b"MM\0*".to_vec() } else { b"II*\0".to_vec() };
        tiff.extend(&tail);
        let view = render_unguarded(&tiff, ContentKind::Image, "image/tiff");
        prop_assert!(fits(ContentKind::Image, &view), "{view:?}");
        let mut zip = b"PK\x03\x04[Content_Types].xml word/".to_vec();
        zip.extend(&tail);
        zip.extend(b"PK\x05\x06");
        zip.extend(tail.iter().take(18));
        let view = render_unguarded(&zip, ContentKind::Text, crate::docx::DOCX_MIME);
        prop_assert!(fits(ContentKind::Text, &view), "{view:?}");
    }

    #[test]
    fn damaged_jpeg2000_dicom_and_fhir_documents_never_panic(
        dicom in damaged(J2K_DCM),
        fhir in damaged(FHIR_DOCUMENT),
    ) {
        let view = render_unguarded(&dicom, ContentKind::Dicom, "application/dicom");
        prop_assert!(fits(ContentKind::Dicom, &view), "{view:?}");
        let view = render_unguarded(&fhir, ContentKind::Fhir, "application/fhir+json");
        prop_assert!(fits(ContentKind::Fhir, &view), "{view:?}");
        let _ = crate::guess_category(&fhir, ContentKind::Fhir);
        let _ = crate::sniff(&dicom, "x");
    }
}

proptest! {
    // Rendering PDF pages is slow in debug builds: fewer cases.
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn damaged_pdfs_never_panic(bytes in damaged(fixtures::LAB_REPORT_PDF)) {
        let view = render_unguarded(&bytes, ContentKind::Pdf, "application/pdf");
        prop_assert!(fits(ContentKind::Pdf, &view), "{view:?}");
    }
}

#[test]
fn empty_files_of_every_kind_give_a_view() {
    for kind in KINDS {
        let view = render_unguarded(b"", kind, "");
        assert!(fits(kind, &view), "{kind:?} gave {view:?}");
    }
}
