//! TIFF, as scanners and fax software write it: every page (up to [`MAX_PDF_PAGES`]) as a
//! PNG, shown as pages when there are several.

use std::io::Cursor;

use image::imageops::FilterType;
use image::{DynamicImage, GrayImage, RgbImage};
use medwallet_api::RecordView;
use tiff::decoder::{Decoder, DecodingResult, Limits};
use tiff::ColorType;

use crate::encode::png_data_url;
use crate::{human_size, MAX_IMAGE_BYTES, MAX_PDF_PAGES};

/// Longest side of a page shown, in pixels (a 300 dpi A4 scan is 2480 × 3508).
const MAX_PAGE_SIDE: u32 = 2000;
/// Most pixels in one page decoded (a 600 dpi A4 page has 35 million).
const MAX_PAGE_PIXELS: u64 = 8192 * 8192;
/// Most pages walked to count them (their headers only).
const MAX_PAGES_COUNTED: u32 = 10_000;

/// `II*\0` or `MM\0*`.
pub(crate) fn is_tiff(head: &[u8]) -> bool {
    head.starts_with(b"II*\0") || head.starts_with(b"MM\0*")
}

pub(crate) fn render(bytes: &[u8]) -> RecordView {
    if bytes.len() > MAX_IMAGE_BYTES {
        return RecordView::SaveOnly {
            reason: format!(
                "This TIFF image is {}; medwallet shows images up to {}. Save a decrypted copy \
                 to view it.",
                human_size(bytes.len()),
                human_size(MAX_IMAGE_BYTES)
            ),
        };
    }
    match pages(bytes) {
        Ok((mut pages, count)) if count == 1 && pages.len() == 1 => RecordView::Image {
            data_url: pages.remove(0),
        },
        Ok((pages, count)) => RecordView::Pdf {
            pages,
            page_count: count,
        },
        Err(problem) => RecordView::SaveOnly {
            reason: format!(
                "This TIFF image cannot be shown ({problem}). Save a decrypted copy to open it \
                 in another program."
            ),
        },
    }
}

/// The first pages as PNG `data:` URLs, and how many pages the file has.
fn pages(bytes: &[u8]) -> Result<(Vec<String>, u32), String> {
    let mut decoder = Decoder::new(Cursor::new(bytes))
        .map_err(|e| e.to_string())?
        .with_limits(Limits::default());
    let mut shown = Vec::new();
    let mut count = 0u32;
    loop {
        count += 1;
        if shown.len() < MAX_PDF_PAGES {
            shown.push(page(&mut decoder).map_err(|e| format!("page {count}: {e}"))?);
        }
        if !decoder.more_images() || count >= MAX_PAGES_COUNTED {
            break;
        }
        decoder.next_image().map_err(|e| e.to_string())?;
    }
    Ok((shown, count))
}

/// The current page, 8-bit grey or RGB, downscaled to [`MAX_PAGE_SIDE`].
fn page(decoder: &mut Decoder<Cursor<&[u8]>>) -> Result<String, String> {
    let (w, h) = decoder.dimensions().map_err(|e| e.to_string())?;
    if w == 0 || h == 0 || u64::from(w) * u64::from(h) > MAX_PAGE_PIXELS {
        return Err(format!("a page of {w} × {h} pixels"));
    }
    let colour = decoder.colortype().map_err(|e| e.to_string())?;
    let data = decoder.read_image().map_err(|e| e.to_string())?;
    // The decoder already turns WhiteIsZero (fax) samples into BlackIsZero ones.
    let image = to_image(w, h, colour, data)?;
    let image = if w.max(h) > MAX_PAGE_SIDE {
        image.resize(MAX_PAGE_SIDE, MAX_PAGE_SIDE, FilterType::Triangle)
    } else {
        image
    };
    match image {
        DynamicImage::ImageLuma8(g) => png_data_url(
            g.as_raw(),
            g.width(),
            g.height(),
            image::ExtendedColorType::L8,
        ),
        other => {
            let rgb = other.to_rgb8();
            png_data_url(
                rgb.as_raw(),
                rgb.width(),
                rgb.height(),
                image::ExtendedColorType::Rgb8,
            )
        }
    }
}

/// 8 bits from 8 or 16.
fn bytes_of(data: DecodingResult) -> Result<Vec<u8>, String> {
    match data {
        DecodingResult::U8(v) => Ok(v),
        DecodingResult::U16(v) => Ok(v.into_iter().map(|x| (x >> 8) as u8).collect()),
        _ => Err("samples of more than 16 bits or floating point".to_string()),
    }
}

fn to_image(
    w: u32,
    h: u32,
    colour: ColorType,
    data: DecodingResult,
) -> Result<DynamicImage, String> {
    let pixels = w as usize * h as usize;
    let short = || "fewer pixels than the page size says".to_string();
    let grey = |mut v: Vec<u8>| -> Result<DynamicImage, String> {
        v.truncate(pixels);
        GrayImage::from_raw(w, h, v)
            .map(DynamicImage::ImageLuma8)
            .ok_or_else(short)
    };
    let interleaved = |v: Vec<u8>, channels: usize, to_rgb: &dyn Fn(&[u8]) -> [u8; 3]| {
        if v.len() < pixels * channels {
            return Err(short());
        }
        let rgb: Vec<u8> = v
            .chunks_exact(channels)
            .take(pixels)
            .flat_map(to_rgb)
            .collect();
        RgbImage::from_raw(w, h, rgb)
            .map(DynamicImage::ImageRgb8)
            .ok_or_else(short)
    };
    match colour {
        ColorType::Gray(1) => {
            // One bit a pixel, each row padded to a byte.
            let DecodingResult::U8(packed) = data else {
                return Err(short());
            };
            let row = (w as usize).div_ceil(8);
            if packed.len() < row * h as usize {
                return Err(short());
            }
            let mut v = Vec::with_capacity(pixels);
            for y in 0..h as usize {
                for x in 0..w as usize {
                    let bit = packed[y * row + x / 8] >> (7 - x % 8) & 1;
                    v.push(if bit == 1 { 255 } else { 0 });
                }
            }
            grey(v)
        }
        ColorType::Gray(8 | 16) => grey(bytes_of(data)?),
        ColorType::GrayA(8 | 16) => {
            let v = bytes_of(data)?;
            grey(v.chunks_exact(2).map(|p| p[0]).collect())
        }
        ColorType::RGB(8 | 16) | ColorType::YCbCr(8) => {
            interleaved(bytes_of(data)?, 3, &|p| [p[0], p[1], p[2]])
        }
        // Transparent areas of a scan are paper: composite on white.
        ColorType::RGBA(8 | 16) => interleaved(bytes_of(data)?, 4, &|p| {
            let a = u16::from(p[3]);
            let over = |c: u8| ((u16::from(c) * a + 255 * (255 - a)) / 255) as u8;
            [over(p[0]), over(p[1]), over(p[2])]
        }),
        ColorType::CMYK(8) => interleaved(bytes_of(data)?, 4, &|p| {
            let k = 255 - u16::from(p[3]);
            let c = |v: u8| ((255 - u16::from(v)) * k / 255) as u8;
            [c(p[0]), c(p[1]), c(p[2])]
        }),
        other => Err(format!("{other:?} pixels are not shown here")),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use tiff::encoder::{colortype, Compression, TiffEncoder};

    /// A scan of `pages` pages of 300 × 400 pixels: grey, LZW-compressed, page `i` with a
    /// dark band at row `40 * i`.
    pub(crate) fn scan(pages: usize) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        let mut tiff = TiffEncoder::new(&mut out)
            .unwrap()
            .with_compression(Compression::Lzw);
        for i in 0..pages {
            let mut pixels = vec![230u8; 300 * 400];
            for y in 40 * i..40 * i + 20 {
                pixels[y * 300..(y + 1) * 300].fill(10);
            }
            tiff.write_image::<colortype::Gray8>(300, 400, &pixels)
                .unwrap();
        }
        out.into_inner()
    }

    fn png(url: &str) -> image::DynamicImage {
        use base64::Engine as _;
        let png = base64::engine::general_purpose::STANDARD
            .decode(url.strip_prefix("data:image/png;base64,").unwrap())
            .unwrap();
        image::load_from_memory(&png).unwrap()
    }

    #[test]
    fn a_multi_page_scan_shows_every_page() {
        let RecordView::Pdf { pages, page_count } = render(&scan(3)) else {
            panic!("not pages")
        };
        assert_eq!(page_count, 3);
        assert_eq!(pages.len(), 3);
        for (i, page) in pages.iter().enumerate() {
            let g = png(page).to_luma8();
            assert_eq!(g.dimensions(), (300, 400));
            assert_eq!(g.get_pixel(5, 40 * i as u32 + 5).0[0], 10, "page {i}");
            assert_eq!(g.get_pixel(5, 40 * i as u32 + 25).0[0], 230, "page {i}");
        }
    }

    #[test]
    fn one_page_is_an_image_and_colour_is_kept() {
        let RecordView::Image { data_url } = render(&scan(1)) else {
            panic!()
        };
        assert_eq!(png(&data_url).to_luma8().get_pixel(0, 0).0[0], 10);

        let mut out = Cursor::new(Vec::new());
        let rgb: Vec<u8> = (0..64 * 64).flat_map(|_| [200u8, 30, 40]).collect();
        TiffEncoder::new(&mut out)
            .unwrap()
            .write_image::<colortype::RGB8>(64, 64, &rgb)
            .unwrap();
        let RecordView::Image { data_url } = render(out.get_ref()) else {
            panic!()
        };
        assert_eq!(png(&data_url).to_rgb8().get_pixel(3, 3).0, [200, 30, 40]);
    }

    #[test]
    fn large_pages_are_downscaled_and_bad_files_say_why() {
        let mut out = Cursor::new(Vec::new());
        TiffEncoder::new(&mut out)
            .unwrap()
            .write_image::<colortype::Gray8>(4000, 100, &vec![0u8; 4000 * 100])
            .unwrap();
        let RecordView::Image { data_url } = render(out.get_ref()) else {
            panic!()
        };
        assert_eq!(png(&data_url).width(), MAX_PAGE_SIDE);

        let mut cut = scan(2);
        cut.truncate(cut.len() / 2);
        let RecordView::SaveOnly { reason } = render(&cut) else {
            panic!()
        };
        assert!(
            reason.starts_with("This TIFF image cannot be shown ("),
            "{reason}"
        );
        assert!(matches!(
            render(b"II*\0garbage"),
            RecordView::SaveOnly { .. }
        ));
    }
}
