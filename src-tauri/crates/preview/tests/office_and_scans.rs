//! A Word document and TIFF scans from public packages (`tests/fixtures/office/`,
//! `tests/fixtures/scans/`): recognised from their first bytes and shown.

use medwallet_api::{ContentKind, RecordView};
use medwallet_preview::{render, sniff, SNIFF_LEN};

fn read(path: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{path}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn shown(bytes: &[u8]) -> (ContentKind, &'static str, RecordView) {
    let (kind, mime) = sniff(&bytes[..bytes.len().min(SNIFF_LEN)], "file");
    (kind, mime, render(bytes, kind, mime))
}

#[test]
fn a_word_document_is_shown_as_its_text() {
    let (kind, mime, view) = shown(&read("office/blk-paras-and-tables.docx"));
    assert_eq!(kind, ContentKind::Text);
    assert_eq!(
        mime,
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    );
    let RecordView::Text { text, truncated } = view else {
        panic!("{view:?}")
    };
    assert!(!truncated);
    // Paragraphs in order, table cells included.
    let words = [
        "Lorem ipsum dolor sit amet, consectetur adipiscing elit.",
        "Text before",
        "Table",
        "Between",
        "Text after",
        "Donec semper facilisis metus finibus malesuada.",
    ];
    let mut from = 0;
    for w in words {
        let at = text[from..]
            .find(w)
            .unwrap_or_else(|| panic!("{w:?} in {text:?}"));
        from += at + w.len();
    }
}

/// Each page as grey pixels.
fn pages_of(view: RecordView) -> (Vec<image::DynamicImage>, u32) {
    use base64::Engine as _;
    let RecordView::Pdf { pages, page_count } = view else {
        panic!("not pages: {view:?}")
    };
    let images = pages
        .iter()
        .map(|url| {
            let png = base64::engine::general_purpose::STANDARD
                .decode(url.strip_prefix("data:image/png;base64,").unwrap())
                .unwrap();
            image::load_from_memory(&png).unwrap()
        })
        .collect();
    (images, page_count)
}

#[test]
fn a_multi_page_fax_scan_shows_every_page() {
    let (kind, mime, view) = shown(&read("scans/g4-multi.tiff"));
    assert_eq!((kind, mime), (ContentKind::Image, "image/tiff"));
    let (pages, count) = pages_of(view);
    assert_eq!(count, 3);
    assert_eq!(pages.len(), count as usize);
    for page in &pages {
        // Black ink on white paper: both, and mostly paper.
        let grey = page.to_luma8();
        let white = grey.pixels().filter(|p| p.0[0] == 255).count();
        assert!(grey.pixels().any(|p| p.0[0] == 0));
        assert!(white > grey.pixels().len() * 9 / 10, "{white} white pixels");
    }
}

#[test]
fn a_palette_scan_gives_a_reason_not_a_failure() {
    // The tiff crate does not read palette (RGBPalette) images.
    let (_, _, view) = shown(&read("scans/multipage.tiff"));
    let RecordView::SaveOnly { reason } = view else {
        panic!("{view:?}")
    };
    assert!(
        reason.starts_with("This TIFF image cannot be shown (page 1: "),
        "{reason}"
    );
}
