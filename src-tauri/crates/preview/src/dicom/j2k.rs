//! JPEG 2000 (and High-Throughput JPEG 2000) pixel data, decoded with `hayro-jpeg2000`
//! (pure Rust, already built for PDF images): dicom-pixeldata only has OpenJPEG, a C
//! library, for them.

use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_object::DefaultDicomObject;
use hayro_jpeg2000::{DecodeSettings, DecoderContext, Image};
use image::ImageBuffer;

use super::{window_samples, Frame};

/// The JPEG 2000 family of transfer syntaxes (PS3.5 A.4.4, A.4.10).
const JPEG2000: [&str; 7] = [
    "1.2.840.10008.1.2.4.90",
    "1.2.840.10008.1.2.4.91",
    "1.2.840.10008.1.2.4.92",
    "1.2.840.10008.1.2.4.93",
    "1.2.840.10008.1.2.4.201",
    "1.2.840.10008.1.2.4.202",
    "1.2.840.10008.1.2.4.203",
];

/// Marks a transfer syntax this module decodes.
#[derive(Debug, Clone, Copy)]
pub(super) struct Jpeg2000;

pub(super) fn compression(ts: &str) -> Option<Jpeg2000> {
    let ts = ts.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    JPEG2000.contains(&ts).then_some(Jpeg2000)
}

/// The codestream of the first frame: with one frame, all the fragments; with more, the
/// fragments up to the one that ends the codestream (EOC, `FF D9`).
fn first_codestream(obj: &DefaultDicomObject) -> Result<Vec<u8>, String> {
    let none = || "The image holds no JPEG 2000 data.".to_string();
    let element = obj
        .element_opt(tags::PIXEL_DATA)
        .ok()
        .flatten()
        .ok_or_else(none)?;
    let fragments = element.value().fragments().ok_or_else(none)?;
    let frames = int(obj, tags::NUMBER_OF_FRAMES).unwrap_or(1);
    let mut out = Vec::new();
    for fragment in fragments {
        out.extend_from_slice(fragment);
        if frames > 1 && fragment.ends_with(&[0xFF, 0xD9]) {
            break;
        }
    }
    if out.is_empty() {
        return Err(none());
    }
    Ok(out)
}

/// Whether the first component is signed: the codestream's SIZ marker says (bit 7 of its
/// first Ssiz, at byte 42), else Pixel Representation.
fn signed(codestream: &[u8], obj: &DefaultDicomObject) -> bool {
    if codestream.starts_with(&[0xFF, 0x4F, 0xFF, 0x51]) {
        if let Some(ssiz) = codestream.get(42) {
            return ssiz & 0x80 != 0;
        }
    }
    int(obj, tags::PIXEL_REPRESENTATION) == Some(1)
}

fn int(obj: &DefaultDicomObject, tag: Tag) -> Option<u64> {
    obj.element_opt(tag).ok().flatten()?.to_int::<u64>().ok()
}

fn float(obj: &DefaultDicomObject, tag: Tag) -> Option<f64> {
    let element = obj.element_opt(tag).ok().flatten()?;
    element.to_multi_float64().ok()?.first().copied()
}

/// The first frame, 8-bit, windowed as the file says (as for uncompressed frames).
pub(super) fn first_frame(
    obj: &DefaultDicomObject,
    _: Jpeg2000,
    pixels: u64,
) -> Result<Frame, String> {
    let failed =
        |e: hayro_jpeg2000::DecodeError| format!("The JPEG 2000 image could not be decoded ({e}).");
    let data = first_codestream(obj)?;
    let image = Image::new(&data, &DecodeSettings::default()).map_err(failed)?;
    let (w, h) = (image.width(), image.height());
    // The codestream's own size bounds the work, whatever Rows and Columns say.
    if u64::from(w) * u64::from(h) > pixels.max(1) || w == 0 || h == 0 {
        return Err(format!(
            "The JPEG 2000 image is {w} × {h} pixels, not the size the file says."
        ));
    }
    let mut context = DecoderContext::default();
    let decoded = image.decode(&mut context).map_err(failed)?;
    let components = decoded.components();
    let wrong = || "The JPEG 2000 image has fewer samples than its size says.".to_string();
    match components.len() {
        1 => {
            // The decoder shifts every component to unsigned values (as it would for
            // display); a signed one is shifted back.
            let offset = if signed(&data, obj) {
                1i32 << (components[0].bit_depth().clamp(1, 31) - 1)
            } else {
                0
            };
            let samples: Vec<i32> = components[0]
                .samples()
                .iter()
                .map(|&v| v.round() as i32 - offset)
                .collect();
            if samples.len() < (w * h) as usize {
                return Err(wrong());
            }
            let rescale = float(obj, tags::RESCALE_SLOPE)
                .zip(float(obj, tags::RESCALE_INTERCEPT))
                .or(Some((1.0, 0.0)));
            let window = float(obj, tags::WINDOW_CENTER).zip(float(obj, tags::WINDOW_WIDTH));
            let invert = obj
                .element_opt(tags::PHOTOMETRIC_INTERPRETATION)
                .ok()
                .flatten()
                .and_then(|e| e.to_str().ok().map(|s| s.trim().to_string()))
                .is_some_and(|pi| pi == "MONOCHROME1");
            let grey = window_samples(rescale, window, &samples[..(w * h) as usize], invert);
            ImageBuffer::from_raw(w, h, grey)
                .map(Frame::Grey)
                .ok_or_else(wrong)
        }
        3 => {
            // The decoder scales every component to 8 bits and interleaves them; YBR_ICT
            // and YBR_RCT are undone inside the codestream.
            let rgb = decoded.data_u8();
            ImageBuffer::from_raw(w, h, rgb)
                .map(Frame::Colour)
                .ok_or_else(wrong)
        }
        n => Err(format!(
            "JPEG 2000 images with {n} components are not shown here."
        )),
    }
}

#[cfg(test)]
mod tests {
    use medwallet_api::RecordView;

    /// `JPEG2000.dcm` and `693_J2KI.dcm` of pydicom's test files (see the fixtures'
    /// README).
    const NM_J2K: &[u8] = include_bytes!("../../tests/fixtures/dicom/JPEG2000.dcm");
    const J2KI: &[u8] = include_bytes!("../../tests/fixtures/dicom/693_J2KI.dcm");

    fn grey(bytes: &[u8]) -> image::GrayImage {
        use base64::Engine as _;
        let RecordView::Dicom {
            image,
            image_problem,
            ..
        } = super::super::render(bytes)
        else {
            panic!("not shown as DICOM")
        };
        let url = image.unwrap_or_else(|| panic!("no image: {image_problem:?}"));
        let png = base64::engine::general_purpose::STANDARD
            .decode(url.strip_prefix("data:image/png;base64,").unwrap())
            .unwrap();
        image::load_from_memory(&png).unwrap().to_luma8()
    }

    #[test]
    fn jpeg2000_frames_are_decoded() {
        for bytes in [NM_J2K, J2KI] {
            let img = grey(bytes);
            assert!(img.width() > 0 && img.height() > 0);
            // An image, not a flat field.
            let (lo, hi) = img
                .pixels()
                .fold((255u8, 0u8), |(lo, hi), p| (lo.min(p.0[0]), hi.max(p.0[0])));
            assert!(hi - lo > 100, "{lo}..{hi}");
        }
    }

    #[test]
    fn damaged_codestreams_give_a_problem() {
        // Garble the middle of the codestream (the tags before it stay readable).
        let mut bytes = NM_J2K.to_vec();
        let at = bytes
            .windows(4)
            .position(|w| w == [0xFF, 0x4F, 0xFF, 0x51])
            .unwrap();
        for b in &mut bytes[at..at + 40] {
            *b = 0x5A;
        }
        let RecordView::Dicom {
            image,
            image_problem,
            tags,
        } = super::super::render(&bytes)
        else {
            panic!()
        };
        assert!(image.is_none());
        assert!(!tags.is_empty());
        assert!(image_problem.unwrap().contains("JPEG 2000"));
    }
}
