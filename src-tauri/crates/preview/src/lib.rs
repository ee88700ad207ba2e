//! What medwallet shows of a record: from the decrypted bytes of a file to a
//! [`RecordView`] (display data only: `data:` URLs, text, summaries, tags).
//!
//! Three functions:
//!
//! - [`sniff`] tells the [`ContentKind`] and MIME type of a file from its first bytes (the
//!   name only breaks ties, such as `.json` against `.txt`).
//! - [`guess_category`] tells what a record is about from the same bytes, when they say
//!   it (a FHIR immunisation, a radiology report).
//! - [`render`] turns the whole file into what the app shows (a TIFF scan as its pages, a
//!   Word document as its text). It never panics (every decoder
//!   runs behind a guard) and its work and output are bounded: images up to
//!   [`MAX_IMAGE_BYTES`], the first [`MAX_PDF_PAGES`] pages of a PDF at about
//!   [`PDF_PAGE_WIDTH`] pixels, the first [`MAX_TEXT_BYTES`] of a text, the first
//!   [`MAX_FHIR_ENTRIES`] entries of a FHIR bundle, a DICOM image downscaled to
//!   [`MAX_DICOM_SIDE`] pixels. A file that cannot be shown gives
//!   [`RecordView::SaveOnly`] with the reason in words; a DICOM file whose pixels cannot be
//!   decoded still shows its tags.
//!
//! Everything runs on this device; nothing here does I/O.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::panic::{catch_unwind, AssertUnwindSafe};

use medwallet_api::{ContentKind, RecordView};

mod category;
mod dicom;
mod docx;
mod encode;
mod fhir;
mod pdf;
mod picture;
mod scan;
mod sniff;
mod text;

pub use category::guess_category;
pub use sniff::{sniff, SNIFF_LEN};

/// Largest image shown (bytes of the file); larger ones can be saved.
pub const MAX_IMAGE_BYTES: usize = 40 * 1024 * 1024;
/// Largest PDF opened (bytes of the file).
pub const MAX_PDF_BYTES: usize = 200 * 1024 * 1024;
/// How many pages of a PDF are rendered, from the first.
pub const MAX_PDF_PAGES: usize = 20;
/// Width in pixels of a rendered PDF page (a very tall page gets less, see
/// [`PDF_MAX_PAGE_HEIGHT`]).
pub const PDF_PAGE_WIDTH: f32 = 1000.0;
/// Height in pixels that a rendered PDF page never exceeds.
pub const PDF_MAX_PAGE_HEIGHT: f32 = 4000.0;
/// How much of a text is shown (bytes, cut at a character boundary).
pub const MAX_TEXT_BYTES: usize = 1024 * 1024;
/// Largest FHIR JSON summarised (bytes of the file).
pub const MAX_FHIR_BYTES: usize = 64 * 1024 * 1024;
/// How many entries of a FHIR bundle are read, from the first.
pub const MAX_FHIR_ENTRIES: usize = 10_000;
/// Largest DICOM file opened (bytes of the file).
pub const MAX_DICOM_BYTES: usize = 1024 * 1024 * 1024;
/// Longest side of the DICOM image shown, in pixels (larger frames are downscaled).
pub const MAX_DICOM_SIDE: u32 = 1024;

/// What [`render`] says when a decoder failed in a way it should not have (a panic caught
/// by the guard).
const READER_FAILED: &str = "medwallet's reader failed on this file, so it is not shown here. \
Save a decrypted copy to open it in another program.";

/// Turns the decrypted bytes of a record into what the app shows.
///
/// `kind` and `mime` are what [`sniff`] said when the record was added; `mime` only names
/// the format in the reason for files of kind [`ContentKind::Other`] (images take their MIME
/// type from their bytes). Never panics: a file
/// that cannot be shown gives [`RecordView::SaveOnly`] with the reason.
pub fn render(bytes: &[u8], kind: ContentKind, mime: &str) -> RecordView {
    guarded(|| render_unguarded(bytes, kind, mime))
}

/// Runs `f`, turning a panic into [`RecordView::SaveOnly`] (this needs `panic = "unwind"`,
/// Rust's default, in the profile that builds the app).
fn guarded(f: impl FnOnce() -> RecordView) -> RecordView {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(view) => view,
        Err(_) => RecordView::SaveOnly {
            reason: READER_FAILED.to_string(),
        },
    }
}

/// [`render`] without the panic guard (the tests check that it holds on its own for
/// random bytes).
pub(crate) fn render_unguarded(bytes: &[u8], kind: ContentKind, mime: &str) -> RecordView {
    match kind {
        // The bytes decide between the decoders of a kind, as they did for the kind.
        ContentKind::Image if scan::is_tiff(bytes) => scan::render(bytes),
        ContentKind::Image => picture::render(bytes),
        ContentKind::Pdf => pdf::render(bytes),
        ContentKind::Text if docx::is_docx(bytes) => docx::render(bytes),
        ContentKind::Text => text::render(bytes),
        ContentKind::Fhir => fhir::render(bytes),
        ContentKind::Dicom => dicom::render(bytes),
        ContentKind::Video => RecordView::SaveOnly {
            reason: "Videos are not played inside medwallet: save a decrypted copy to watch it."
                .to_string(),
        },
        ContentKind::Other => RecordView::SaveOnly {
            reason: format!(
                "medwallet cannot show this kind of file{}: save a decrypted copy to open it \
                 in another program.",
                format_hint(mime)
            ),
        },
    }
}

/// ` (image/heic)` for a MIME type worth naming, else nothing.
fn format_hint(mime: &str) -> String {
    let mime = mime.trim();
    let plausible = !mime.is_empty()
        && mime.len() <= 100
        && mime != "application/octet-stream"
        && mime
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/.+-_".contains(c));
    if plausible {
        format!(" ({mime})")
    } else {
        String::new()
    }
}

/// `1.5 MiB`, for reasons.
pub(crate) fn human_size(bytes: usize) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    if bytes >= 1024 * 1024 {
        format!("{:.1} MiB", bytes as f64 / MIB)
    } else if bytes >= 1024 {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

/// Cuts `s` to at most `max` characters, with `…` when cut.
pub(crate) fn clip(s: &str, max: usize) -> String {
    let s = s.trim();
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some((at, _)) => format!("{}…", s[..at].trim_end()),
    }
}

#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod generate;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn video_and_other_are_save_only() {
        let RecordView::SaveOnly { reason } =
            render(fixtures::CLIP_MP4, ContentKind::Video, "video/mp4")
        else {
            panic!("a video is not shown")
        };
        assert_eq!(
            reason,
            "Videos are not played inside medwallet: save a decrypted copy to watch it."
        );

        let RecordView::SaveOnly { reason } = render(
            &[0, 1, 2, 3],
            ContentKind::Other,
            "application/octet-stream",
        ) else {
            panic!("other files are not shown")
        };
        assert!(reason.contains("save a decrypted copy"));
        assert!(!reason.contains("octet-stream"));
        let RecordView::SaveOnly { reason } =
            render(b"....ftypheic", ContentKind::Other, "image/heic")
        else {
            panic!()
        };
        assert!(reason.starts_with("medwallet cannot show this kind of file (image/heic): "));
    }

    #[test]
    fn the_guard_turns_a_panic_into_a_reason() {
        let view = guarded(|| panic!("a decoder failed"));
        assert_eq!(
            view,
            RecordView::SaveOnly {
                reason: READER_FAILED.to_string()
            }
        );
    }

    #[test]
    fn odd_mime_types_are_not_echoed() {
        assert_eq!(format_hint("video/mp4"), " (video/mp4)");
        assert_eq!(format_hint("<script>"), "");
        assert_eq!(format_hint(""), "");
    }

    #[test]
    fn clip_cuts_at_characters() {
        assert_eq!(clip("héllo wörld", 5), "héllo…");
        assert_eq!(clip(" short ", 10), "short");
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(human_size(12), "12 bytes");
        assert_eq!(human_size(2048), "2 KiB");
        assert_eq!(human_size(41 * 1024 * 1024 + 1), "41.0 MiB");
    }
}
