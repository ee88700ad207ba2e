//! Images: PNG, JPEG, GIF and WebP are shown as they are, once they are known to decode.

use std::io::Cursor;

use image::{ImageFormat, ImageReader, Limits};
use medwallet_api::RecordView;

use crate::encode::data_url;
use crate::sniff::image_mime;
use crate::{human_size, MAX_IMAGE_BYTES};

/// Largest width or height decoded.
const MAX_SIDE: u32 = 20_000;
/// Most memory the decoder may take.
const MAX_ALLOC: u64 = 512 * 1024 * 1024;

pub(crate) fn render(bytes: &[u8]) -> RecordView {
    match check(bytes) {
        Ok(mime) => RecordView::Image {
            data_url: data_url(mime, bytes),
        },
        Err(reason) => RecordView::SaveOnly { reason },
    }
}

/// The MIME type of an image that decodes, or why it is not shown.
fn check(bytes: &[u8]) -> Result<&'static str, String> {
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(format!(
            "This image is {}; medwallet shows images up to {}. Save a decrypted copy to view it.",
            human_size(bytes.len()),
            human_size(MAX_IMAGE_BYTES)
        ));
    }
    // The MIME type comes from the bytes, not from what the caller was told.
    let (mime, format, name) = match image_mime(bytes) {
        Some(mime @ "image/png") => (mime, ImageFormat::Png, "PNG"),
        Some(mime @ "image/jpeg") => (mime, ImageFormat::Jpeg, "JPEG"),
        Some(mime @ "image/gif") => (mime, ImageFormat::Gif, "GIF"),
        Some(mime @ "image/webp") => (mime, ImageFormat::WebP, "WebP"),
        _ => {
            return Err(
                "This file is not a PNG, JPEG, GIF or WebP image, so medwallet cannot \
                        show it. Save a decrypted copy to open it in another program."
                    .to_string(),
            )
        }
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    match reader.decode() {
        Ok(_) => Ok(mime),
        Err(image::ImageError::Limits(_)) => Err(format!(
            "This {name} image is too large to show here. Save a decrypted copy to view it."
        )),
        Err(e) => Err(format!(
            "This {name} image is damaged or cut short, so it cannot be shown ({e}). Save a \
             decrypted copy to try another program."
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    #[test]
    fn png_and_jpeg_pass_through() {
        let RecordView::Image { data_url } = render(fixtures::XRAY_PNG) else {
            panic!("the PNG is shown")
        };
        assert_eq!(
            data_url,
            crate::encode::data_url("image/png", fixtures::XRAY_PNG)
        );

        let RecordView::Image { data_url } = render(fixtures::PHOTO_JPG) else {
            panic!("the JPEG is shown")
        };
        assert!(data_url.starts_with("data:image/jpeg;base64,/9j/"));
    }

    #[test]
    fn gif_and_webp_decode() {
        use image::codecs::gif::GifEncoder;
        use image::codecs::webp::WebPEncoder;
        use image::{ExtendedColorType, ImageEncoder};

        let pixels: Vec<u8> = (0..16 * 16)
            .flat_map(|i| [i as u8, 0, 255 - i as u8, 255])
            .collect();
        let mut gif = Vec::new();
        GifEncoder::new(&mut gif)
            .encode(&pixels, 16, 16, ExtendedColorType::Rgba8)
            .unwrap();
        let RecordView::Image { data_url } = render(&gif) else {
            panic!("the GIF is shown")
        };
        assert!(data_url.starts_with("data:image/gif;base64,"));

        let mut webp = Vec::new();
        WebPEncoder::new_lossless(&mut webp)
            .write_image(&pixels, 16, 16, ExtendedColorType::Rgba8)
            .unwrap();
        let RecordView::Image { data_url } = render(&webp) else {
            panic!("the WebP is shown")
        };
        assert!(data_url.starts_with("data:image/webp;base64,"));
        // Cut short, it is refused.
        let RecordView::SaveOnly { reason } = render(&webp[..webp.len() - 10]) else {
            panic!("a cut WebP is not shown")
        };
        assert!(reason.starts_with("This WebP image is damaged"), "{reason}");
    }

    #[test]
    fn a_truncated_png_is_save_only() {
        let cut = &fixtures::XRAY_PNG[..fixtures::XRAY_PNG.len() / 2];
        let RecordView::SaveOnly { reason } = render(cut) else {
            panic!("a truncated PNG is not shown")
        };
        assert!(
            reason.starts_with("This PNG image is damaged or cut short"),
            "{reason}"
        );
    }

    #[test]
    fn not_an_image_is_save_only() {
        let RecordView::SaveOnly { reason } = render(b"%PDF-1.4 hello") else {
            panic!()
        };
        assert!(reason.contains("not a PNG, JPEG, GIF or WebP"));
    }

    #[test]
    fn huge_images_are_refused_before_decoding() {
        let mut big = fixtures::XRAY_PNG.to_vec();
        big.resize(MAX_IMAGE_BYTES + 1, 0);
        let RecordView::SaveOnly { reason } = render(&big) else {
            panic!()
        };
        assert!(reason.contains("images up to 40.0 MiB"), "{reason}");

        // A PNG header that claims 100000 x 100000 pixels.
        let mut claims = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        let ihdr = [
            &100_000u32.to_be_bytes()[..],
            &100_000u32.to_be_bytes(),
            &[8, 0, 0, 0, 0],
        ]
        .concat();
        claims.extend(&ihdr);
        let mut crc_input = b"IHDR".to_vec();
        crc_input.extend(&ihdr);
        claims.extend(crc32(&crc_input).to_be_bytes());
        let RecordView::SaveOnly { reason } = render(&claims) else {
            panic!()
        };
        assert!(reason.contains("too large"), "{reason}");
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in bytes {
            crc ^= b as u32;
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
}
