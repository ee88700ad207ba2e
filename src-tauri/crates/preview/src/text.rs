//! Text: the start of it, as UTF-8 (invalid bytes become U+FFFD).

use medwallet_api::RecordView;

use crate::MAX_TEXT_BYTES;

pub(crate) fn render(bytes: &[u8]) -> RecordView {
    let (text, truncated) = start_of(bytes, MAX_TEXT_BYTES);
    RecordView::Text { text, truncated }
}

/// The first `max` bytes at most, as text, without cutting a character in two; whether
/// the text was cut.
pub(crate) fn start_of(bytes: &[u8], max: usize) -> (String, bool) {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.len() <= max {
        return (String::from_utf8_lossy(bytes).into_owned(), false);
    }
    let mut head = &bytes[..max];
    // Leave out a character that the cut split (at most 3 bytes of it).
    if let Err(e) = std::str::from_utf8(&head[head.len().saturating_sub(4)..]) {
        if e.error_len().is_none() {
            let keep = head.len().saturating_sub(4) + e.valid_up_to();
            head = &head[..keep];
        }
    }
    (String::from_utf8_lossy(head).into_owned(), true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    #[test]
    fn the_note_is_shown_whole() {
        let RecordView::Text { text, truncated } = render(fixtures::NOTE_TXT) else {
            panic!()
        };
        assert!(!truncated);
        assert!(text.starts_with("Clinic note"), "{text}");
        assert_eq!(text.as_bytes(), fixtures::NOTE_TXT);
    }

    #[test]
    fn long_texts_are_cut_at_a_character() {
        let mut long = "a".repeat(MAX_TEXT_BYTES - 1);
        long.push_str("éééé");
        let RecordView::Text { text, truncated } = render(long.as_bytes()) else {
            panic!()
        };
        assert!(truncated);
        assert_eq!(text.len(), MAX_TEXT_BYTES - 1);
        assert!(!text.contains('\u{FFFD}'));

        let (text, cut) = start_of("ab€".as_bytes(), 4);
        assert_eq!((text.as_str(), cut), ("ab", true));
    }

    #[test]
    fn invalid_bytes_are_replaced_and_the_bom_dropped() {
        let (text, cut) = start_of(b"\xEF\xBB\xBFok \xFF\xFE end", 100);
        assert_eq!(text, "ok \u{FFFD}\u{FFFD} end");
        assert!(!cut);
    }
}
