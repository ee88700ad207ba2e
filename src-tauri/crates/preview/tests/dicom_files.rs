//! Real DICOM files from pydicom's test set (`tests/fixtures/dicom/`): recognised from
//! their first bytes with or without the preamble, tags always shown, pixels decoded
//! where a pure-Rust decoder exists.

use medwallet_api::{ContentKind, RecordView};
use medwallet_preview::{render, sniff, SNIFF_LEN};

fn read(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/dicom/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap()
}

type Shown = (Option<String>, Option<String>, Vec<(String, String)>);

fn show(bytes: &[u8], name: &str) -> Shown {
    let (kind, mime) = sniff(&bytes[..bytes.len().min(SNIFF_LEN)], "scan");
    assert_eq!(
        (kind, mime),
        (ContentKind::Dicom, "application/dicom"),
        "{name}"
    );
    match render(bytes, kind, mime) {
        RecordView::Dicom {
            image,
            image_problem,
            tags,
        } => (
            image,
            image_problem,
            tags.into_iter().map(|t| (t.name, t.value)).collect(),
        ),
        other => panic!("{name}: {other:?}"),
    }
}

fn open(name: &str) -> Shown {
    show(&read(name), name)
}

fn tag<'a>(tags: &'a [(String, String)], name: &str) -> Option<&'a str> {
    tags.iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn a_ct_slice_without_preamble_shows_its_image() {
    let ct = read("CT_small.dcm");
    let (image, _, reference) = show(&ct, "CT_small.dcm");
    assert!(image.is_some());
    assert_eq!(tag(&reference, "Modality"), Some("CT"));
    // The meta group ends where its group length (0002,0000, UL, right after `DICM`) says.
    let meta_len = u32::from_le_bytes(ct[140..144].try_into().unwrap()) as usize;
    let data_set = 144 + meta_len;
    let starts = [
        ("at DICM", 128),
        ("at the meta group", 132),
        ("at the data set", data_set),
    ];
    for (what, at) in starts {
        let (image, problem, tags) = show(&ct[at..], what);
        assert!(image.is_some(), "{what}: {problem:?}");
        for name in ["Patient's Name", "Modality", "Rows", "Study Date"] {
            assert_eq!(tag(&tags, name), tag(&reference, name), "{what}: {name}");
        }
    }
}

#[test]
fn a_data_set_without_meta_or_pixels_shows_its_tags() {
    let (image, problem, tags) = open("ExplVR_LitEndNoMeta.dcm");
    assert!(image.is_none());
    assert!(problem.unwrap().contains("no Pixel Data"));
    assert!(!tags.is_empty());
}

#[test]
fn jpeg2000_images_are_shown() {
    for name in ["JPEG2000.dcm", "693_J2KI.dcm"] {
        let (image, problem, tags) = open(name);
        assert!(image.is_some(), "{name}: {problem:?}");
        assert!(
            tag(&tags, "Transfer Syntax UID")
                .unwrap()
                .contains("JPEG 2000"),
            "{tags:?}"
        );
    }
}

#[test]
fn jpeg_ls_shows_tags_and_says_why_there_is_no_image() {
    let (image, problem, tags) = open("JPEGLSNearLossless_08.dcm");
    assert!(image.is_none());
    assert!(problem
        .unwrap()
        .starts_with("The image could not be decoded"));
    assert!(
        tag(&tags, "Transfer Syntax UID")
            .unwrap()
            .contains("JPEG-LS"),
        "{tags:?}"
    );
}
