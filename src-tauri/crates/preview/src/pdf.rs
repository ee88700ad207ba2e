//! PDF: the first pages rendered to PNG on this device, with hayro (pure Rust).

use hayro::hayro_interpret::InterpreterSettings;
use hayro::hayro_syntax::{DecryptionError, LoadPdfError, Pdf};
use hayro::vello_cpu::color::palette::css::WHITE;
use hayro::{PixmapSettings, RenderCache, RenderSettings};
use medwallet_api::RecordView;

use crate::encode::data_url;
use crate::{human_size, MAX_PDF_BYTES, MAX_PDF_PAGES, PDF_MAX_PAGE_HEIGHT, PDF_PAGE_WIDTH};

pub(crate) fn render(bytes: &[u8]) -> RecordView {
    match render_pages(bytes) {
        Ok((pages, page_count)) => RecordView::Pdf { pages, page_count },
        Err(reason) => RecordView::SaveOnly { reason },
    }
}

fn render_pages(bytes: &[u8]) -> Result<(Vec<String>, u32), String> {
    if bytes.len() > MAX_PDF_BYTES {
        return Err(format!(
            "This PDF is {}; medwallet shows PDFs up to {}. Save a decrypted copy to read it.",
            human_size(bytes.len()),
            human_size(MAX_PDF_BYTES)
        ));
    }
    let pdf = Pdf::new(bytes.to_vec()).map_err(|e| match e {
        LoadPdfError::Decryption(DecryptionError::PasswordProtected) => {
            "This PDF is protected by a password, so medwallet cannot show it. Save a \
             decrypted copy and open it with a PDF reader that asks for the password."
                .to_string()
        }
        LoadPdfError::Decryption(_) => "This PDF is encrypted in a way medwallet cannot \
            read. Save a decrypted copy and open it with a PDF reader."
            .to_string(),
        LoadPdfError::Invalid => "This PDF is damaged or cut short: medwallet could not read \
            its structure. Save a decrypted copy to try another PDF reader."
            .to_string(),
    })?;
    let all = pdf.pages();
    if all.is_empty() {
        return Err("This PDF has no pages to show.".to_string());
    }
    let page_count = u32::try_from(all.len()).unwrap_or(u32::MAX);
    let cache = RenderCache::new();
    let interpreter = InterpreterSettings::default();
    let settings = RenderSettings::default();
    let mut pages = Vec::with_capacity(all.len().min(MAX_PDF_PAGES));
    for (index, page) in all.iter().take(MAX_PDF_PAGES).enumerate() {
        let (width, height) = page.render_dimensions();
        let scale = page_scale(width, height);
        let pixmap = hayro::render(
            page,
            &cache,
            &interpreter,
            &settings,
            &PixmapSettings {
                x_scale: scale,
                y_scale: scale,
                bg_color: WHITE,
            },
        );
        if pixmap.width() == 0 || pixmap.height() == 0 {
            return Err(format!(
                "Page {} of this PDF has no area, so it cannot be shown. Save a decrypted \
                 copy to try another PDF reader.",
                index + 1
            ));
        }
        let png = pixmap.into_png().map_err(|e| {
            format!(
                "Page {} of this PDF could not be turned into an image ({e}).",
                index + 1
            )
        })?;
        pages.push(data_url("image/png", &png));
    }
    Ok((pages, page_count))
}

/// The scale that makes a page [`PDF_PAGE_WIDTH`] wide, unless that would make it taller
/// than [`PDF_MAX_PAGE_HEIGHT`].
fn page_scale(width: f32, height: f32) -> f32 {
    let width = if width.is_finite() && width >= 1.0 {
        width
    } else {
        1.0
    };
    let height = if height.is_finite() && height >= 1.0 {
        height
    } else {
        1.0
    };
    (PDF_PAGE_WIDTH / width).min(PDF_MAX_PAGE_HEIGHT / height)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine as _;

    fn decode_page(url: &str) -> image::RgbaImage {
        let png = STANDARD
            .decode(url.strip_prefix("data:image/png;base64,").unwrap())
            .unwrap();
        image::load_from_memory_with_format(&png, image::ImageFormat::Png)
            .unwrap()
            .to_rgba8()
    }

    #[test]
    fn the_lab_report_gives_two_pages_with_ink() {
        let RecordView::Pdf { pages, page_count } = render(fixtures::LAB_REPORT_PDF) else {
            panic!(
                "the PDF is rendered: {:?}",
                render(fixtures::LAB_REPORT_PDF)
            )
        };
        assert_eq!(page_count, 2);
        assert_eq!(pages.len(), 2);
        for url in &pages {
            let page = decode_page(url);
            // A4 at 1000 px wide.
            assert_eq!(page.width(), 1000);
            assert!((1410..=1416).contains(&page.height()), "{}", page.height());
            // White paper with dark text on it.
            let dark = page.pixels().filter(|p| p.0[0] < 100).count();
            let white = page
                .pixels()
                .filter(|p| p.0[..3] == [255, 255, 255])
                .count();
            assert!(dark > 1000, "text is drawn ({dark} dark pixels)");
            assert!(white > page.pixels().len() / 2);
        }
    }

    #[test]
    fn a_broken_pdf_is_save_only() {
        let RecordView::SaveOnly { reason } = render(b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog")
        else {
            panic!("a broken PDF is not shown")
        };
        assert!(
            reason.starts_with("This PDF is damaged or cut short"),
            "{reason}"
        );

        let RecordView::SaveOnly { reason } = render(b"") else {
            panic!()
        };
        assert!(reason.contains("damaged"), "{reason}");
    }

    #[test]
    fn a_truncated_pdf_never_panics() {
        let bytes = fixtures::LAB_REPORT_PDF;
        for cut in [10, bytes.len() / 4, bytes.len() / 2, bytes.len() - 40] {
            match render(&bytes[..cut]) {
                RecordView::Pdf { page_count, .. } => assert!(page_count <= 2),
                RecordView::SaveOnly { reason } => assert!(!reason.is_empty()),
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn an_encrypted_pdf_is_save_only() {
        let RecordView::SaveOnly { reason } = render(&fixtures::encrypted_pdf()) else {
            panic!("an encrypted PDF is not shown")
        };
        assert!(
            reason.contains("password") || reason.contains("encrypted"),
            "{reason}"
        );
    }

    #[test]
    fn only_the_first_pages_are_rendered() {
        let many = fixtures::pdf_with_pages(MAX_PDF_PAGES + 3);
        let RecordView::Pdf { pages, page_count } = render(&many) else {
            panic!("{:?}", render(&many))
        };
        assert_eq!(page_count as usize, MAX_PDF_PAGES + 3);
        assert_eq!(pages.len(), MAX_PDF_PAGES);
    }

    #[test]
    fn page_scales_are_bounded() {
        assert_eq!(page_scale(500.0, 500.0), 2.0);
        assert_eq!(
            page_scale(100.0, 100_000.0),
            PDF_MAX_PAGE_HEIGHT / 100_000.0
        );
        assert!(page_scale(0.0, f32::NAN).is_finite());
    }
}
