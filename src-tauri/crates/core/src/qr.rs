//! QR codes of share codes: drawn as SVG for the window and as PNG for a file, and read
//! back from a picture. Only the text goes in or out; what it means is the share code's
//! business (`medwallet_vault::ShareCode`).

use image::{GrayImage, Luma};
use qrcode::{Color, EcLevel, QrCode};

/// Pictures larger than this (in pixels, width × height) are refused before decoding.
const MAX_PIXELS: u64 = 40_000_000;
/// Pictures larger than this (bytes) are refused before reading.
pub const MAX_PICTURE_BYTES: u64 = 32 * 1024 * 1024;

/// Why a picture gave no code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QrError {
    /// The text is too long for a QR code.
    #[error("the text is too long for a QR code")]
    TooLong,
    /// The file is not a PNG or JPEG picture (or is damaged).
    #[error("it is not a picture this app reads (PNG or JPEG): {0}")]
    NotAPicture(String),
    /// The picture is too large to read.
    #[error("the picture is too large ({0} pixels)")]
    TooLarge(u64),
    /// No QR code was found in the picture.
    #[error("no QR code was found in the picture")]
    NoCode,
    /// A QR code was found but could not be read (damaged, cut off, blurred).
    #[error("a QR code was found but could not be read: {0}")]
    Unreadable(String),
}

fn code_of(text: &str) -> Result<QrCode, QrError> {
    // Level M: survives a scuffed screen or print (about 15 % of the code) and keeps a
    // share code with a check-in under QR version 15, readable from a phone photo.
    QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).map_err(|_| QrError::TooLong)
}

/// The QR code of `text` as an SVG document (black on white, with its quiet zone).
pub fn svg(text: &str) -> Result<String, QrError> {
    Ok(code_of(text)?
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(256, 256)
        .quiet_zone(true)
        .build())
}

/// The QR code of `text` as a PNG picture, `scale` pixels per module, with a quiet zone
/// of four modules.
pub fn png(text: &str, scale: u32) -> Result<Vec<u8>, QrError> {
    let code = code_of(text)?;
    let width = u32::try_from(code.width()).map_err(|_| QrError::TooLong)?;
    let scale = scale.max(1);
    let side = (width + 8) * scale;
    let colors = code.to_colors();
    let image = GrayImage::from_fn(side, side, |x, y| {
        let (mx, my) = ((x / scale).wrapping_sub(4), (y / scale).wrapping_sub(4));
        let dark = mx < width && my < width && colors[(my * width + mx) as usize] == Color::Dark;
        Luma([if dark { 0 } else { 255 }])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut out, image::ImageFormat::Png)
        .map_err(|e| QrError::NotAPicture(e.to_string()))?;
    Ok(out.into_inner())
}

/// Reads the text of the first QR code in a picture (PNG or JPEG bytes).
pub fn read(picture: &[u8]) -> Result<String, QrError> {
    let reader = image::ImageReader::new(std::io::Cursor::new(picture))
        .with_guessed_format()
        .map_err(|e| QrError::NotAPicture(e.to_string()))?;
    let (w, h) = reader
        .into_dimensions()
        .map_err(|e| QrError::NotAPicture(e.to_string()))?;
    let pixels = u64::from(w) * u64::from(h);
    if pixels > MAX_PIXELS {
        return Err(QrError::TooLarge(pixels));
    }
    // The picture comes from outside and the decoders are not ours: a panic in one is
    // answered as an unreadable picture, never let through.
    std::panic::catch_unwind(move || {
        let image = image::load_from_memory(picture)
            .map_err(|e| QrError::NotAPicture(e.to_string()))?
            .to_luma8();
        let mut prepared = rqrr::PreparedImage::prepare(image);
        let grids = prepared.detect_grids();
        let Some(grid) = grids.first() else {
            return Err(QrError::NoCode);
        };
        let (_, text) = grid
            .decode()
            .map_err(|e| QrError::Unreadable(e.to_string()))?;
        Ok(text)
    })
    .unwrap_or_else(|_| Err(QrError::Unreadable("the QR reader failed on it".to_owned())))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "mwshare1:TVdTQwJ0ZXN0IHRleHQgb2YgYSBzaGFyZSBjb2RlIHdpdGggZW5vdWdoIGJ5dGVzIHRvIGJlIHJlYWxpc3RpYywgYWJvdXQgdGhyZWUgaHVuZHJlZCBjaGFyYWN0ZXJzIGxvbmcsIGxpa2UgdGhlIHJlYWwgb25lcyB0aGF0IGNhcnJ5IGEgY2hlY2staW4gc2VlZA";

    #[test]
    fn a_code_drawn_as_png_reads_back() {
        let picture = png(TEXT, 6).unwrap();
        assert_eq!(read(&picture).unwrap(), TEXT);
        let drawn = svg(TEXT).unwrap();
        assert!(
            drawn.starts_with("<?xml") && drawn.contains("<svg"),
            "{drawn:.80}"
        );
    }

    #[test]
    fn pictures_without_a_code_are_named() {
        let blank = GrayImage::from_pixel(200, 200, Luma([255]));
        let mut out = std::io::Cursor::new(Vec::new());
        blank.write_to(&mut out, image::ImageFormat::Png).unwrap();
        assert_eq!(read(&out.into_inner()), Err(QrError::NoCode));
        assert!(matches!(
            read(b"not a picture"),
            Err(QrError::NotAPicture(_))
        ));
        assert!(matches!(read(&[]), Err(QrError::NotAPicture(_))));
        assert_eq!(code_of(&"x".repeat(5000)).err(), Some(QrError::TooLong));
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_or_pixels_give_an_answer_not_a_panic(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048),
            side in 1u32..64,
        ) {
            // Only a panic fails this property: any Ok or Err is a fine answer.
            let _ = read(&bytes);
            // Random pixels, as a real picture.
            let image = GrayImage::from_fn(side, side, |x, y| {
                Luma([bytes.get((y * side + x) as usize % bytes.len().max(1)).copied().unwrap_or(0)])
            });
            let mut out = std::io::Cursor::new(Vec::new());
            image.write_to(&mut out, image::ImageFormat::Png).unwrap();
            // As above: any answer but a panic.
            let _ = read(&out.into_inner());
        }
    }

    #[test]
    fn a_damaged_code_is_unreadable_or_misread_never_a_panic() {
        let picture = png(TEXT, 4).unwrap();
        let mut image = image::load_from_memory(&picture).unwrap().to_luma8();
        // Paint over a third of the code, through the data area.
        let side = image.width();
        for y in side / 3..side * 2 / 3 {
            for x in 0..side {
                image.put_pixel(x, y, Luma([255]));
            }
        }
        let mut out = std::io::Cursor::new(Vec::new());
        image.write_to(&mut out, image::ImageFormat::Png).unwrap();
        assert_ne!(read(&out.into_inner()).ok().as_deref(), Some(TEXT));
    }
}
