//! `data:` URLs and PNG encoding.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, ImageEncoder};

/// `data:<mime>;base64,<bytes>`.
pub(crate) fn data_url(mime: &str, bytes: &[u8]) -> String {
    let mut url = String::with_capacity(mime.len() + 13 + bytes.len().div_ceil(3) * 4);
    url.push_str("data:");
    url.push_str(mime);
    url.push_str(";base64,");
    STANDARD.encode_string(bytes, &mut url);
    url
}

/// Encodes 8-bit pixels (`L8`, `Rgb8` or `Rgba8`) as a PNG `data:` URL.
pub(crate) fn png_data_url(
    pixels: &[u8],
    width: u32,
    height: u32,
    color: ExtendedColorType,
) -> Result<String, String> {
    // The encoder asserts the length; check it first.
    let expected = u64::from(width) * u64::from(height) * u64::from(color.bits_per_pixel() / 8);
    if pixels.len() as u64 != expected {
        return Err(format!(
            "the image has {} bytes of pixels instead of {expected}",
            pixels.len()
        ));
    }
    let mut png = Vec::new();
    PngEncoder::new(&mut png)
        .write_image(pixels, width, height, color)
        .map_err(|e| format!("the image could not be encoded as PNG ({e})"))?;
    Ok(data_url("image/png", &png))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_urls() {
        assert_eq!(
            data_url("text/plain", b"hi!"),
            "data:text/plain;base64,aGkh"
        );
        let url = png_data_url(&[0, 255, 255, 0], 2, 2, ExtendedColorType::L8).unwrap();
        assert!(url.starts_with("data:image/png;base64,iVBORw0KGgo"));
        assert!(png_data_url(&[0], 2, 2, ExtendedColorType::L8).is_err());
    }
}
