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
