//! DICOM: the main tags, and the first frame as an 8-bit PNG with its VOI window.

use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_object::DefaultDicomObject;
use dicom_pixeldata::{
    DecodedPixelData, PhotometricInterpretation, PixelDecoder, PixelRepresentation,
    PlanarConfiguration,
};
use dicom_transfer_syntax_registry::{TransferSyntaxIndex, TransferSyntaxRegistry};
use image::imageops::FilterType;
use image::{ExtendedColorType, ImageBuffer, Luma, Rgb};
use medwallet_api::{DicomTag, RecordView};

use crate::encode::png_data_url;
use crate::{clip, human_size, MAX_DICOM_BYTES, MAX_DICOM_SIDE};

mod j2k;
mod open;

/// The CT fixture's data set without preamble, `DICM` or meta group (for the sniffer's
/// tests).
#[cfg(test)]
pub(crate) fn bare_fixture() -> Vec<u8> {
    open::tests::bare(dicom_dictionary_std::uids::EXPLICIT_VR_LITTLE_ENDIAN)
}

/// Most pixels in a frame that is decoded (a 8192 x 8192 image).
const MAX_FRAME_PIXELS: u64 = 8192 * 8192;
/// Longest tag value shown.
const MAX_VALUE_CHARS: usize = 200;

/// The tags shown, in order, with their names.
const MAIN_TAGS: [(Tag, &str); 14] = [
    (tags::PATIENT_NAME, "Patient's Name"),
    (tags::PATIENT_ID, "Patient ID"),
    (tags::PATIENT_BIRTH_DATE, "Patient's Birth Date"),
    (tags::PATIENT_SEX, "Patient's Sex"),
    (tags::STUDY_DATE, "Study Date"),
    (tags::STUDY_DESCRIPTION, "Study Description"),
    (tags::MODALITY, "Modality"),
    (tags::BODY_PART_EXAMINED, "Body Part Examined"),
    (tags::INSTITUTION_NAME, "Institution Name"),
    (tags::ROWS, "Rows"),
    (tags::COLUMNS, "Columns"),
    (
        tags::PHOTOMETRIC_INTERPRETATION,
        "Photometric Interpretation",
    ),
    (tags::NUMBER_OF_FRAMES, "Number of Frames"),
    (tags::TRANSFER_SYNTAX_UID, "Transfer Syntax UID"),
];

pub(crate) fn render(bytes: &[u8]) -> RecordView {
    if bytes.len() > MAX_DICOM_BYTES {
        return RecordView::SaveOnly {
            reason: format!(
                "This DICOM file is {}; medwallet opens DICOM files up to {}. Save a decrypted \
                 copy to open it in a DICOM viewer.",
                human_size(bytes.len()),
                human_size(MAX_DICOM_BYTES)
            ),
        };
    }
    if let Err(problem) = structure::check(bytes) {
        return RecordView::SaveOnly {
            reason: format!(
                "This DICOM file is damaged or cut short: {problem}. Save a decrypted copy to \
                 try a DICOM viewer."
            ),
        };
    }
    let obj = match open::open(bytes) {
        Ok(obj) => obj,
        Err(e) => {
            return RecordView::SaveOnly {
                reason: format!(
                    "This DICOM file cannot be read ({e}). Save a decrypted copy to try a DICOM \
                     viewer."
                ),
            }
        }
    };
    let tags = main_tags(&obj);
    let (image, image_problem) = match first_frame(&obj) {
        Ok(url) => (Some(url), None),
        Err(problem) => (None, Some(problem)),
    };
    RecordView::Dicom {
        image,
        image_problem,
        tags,
    }
}

fn main_tags(obj: &DefaultDicomObject) -> Vec<DicomTag> {
    MAIN_TAGS
        .iter()
        .filter_map(|&(tag, name)| {
            let value = if tag == tags::TRANSFER_SYNTAX_UID {
                transfer_syntax(obj.meta().transfer_syntax())
            } else {
                let element = obj.element_opt(tag).ok().flatten()?;
                let raw = element.to_str().ok()?;
                let raw = raw.trim_matches(|c: char| c == '\0' || c.is_whitespace());
                match tag {
                    tags::PATIENT_NAME => person_name(raw),
                    tags::PATIENT_BIRTH_DATE | tags::STUDY_DATE => date(raw),
                    tags::PATIENT_SEX => sex(raw),
                    _ => raw.to_string(),
                }
            };
            let value: String = value
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            let value = clip(&value, MAX_VALUE_CHARS);
            (!value.is_empty()).then(|| DicomTag {
                tag: format!("({:04X},{:04X})", tag.group(), tag.element()),
                name: name.to_string(),
                value,
            })
        })
        .collect()
}

/// `DOE^JANE^M` → `DOE, JANE M` (the first, alphabetic, representation).
fn person_name(raw: &str) -> String {
    let alphabetic = raw.split('=').next().unwrap_or_default();
    let mut parts = alphabetic.split('^').map(str::trim);
    let family = parts.next().unwrap_or_default();
    let rest: Vec<&str> = parts.filter(|p| !p.is_empty()).collect();
    match (family.is_empty(), rest.is_empty()) {
        (_, true) => family.to_string(),
        (true, false) => rest.join(" "),
        (false, false) => format!("{family}, {}", rest.join(" ")),
    }
}

/// `20240514` → `2024-05-14`.
fn date(raw: &str) -> String {
    if raw.len() == 8 && raw.bytes().all(|b| b.is_ascii_digit()) {
        format!("{}-{}-{}", &raw[..4], &raw[4..6], &raw[6..])
    } else {
        raw.to_string()
    }
}

fn sex(raw: &str) -> String {
    match raw {
        "M" => "M (male)".to_string(),
        "F" => "F (female)".to_string(),
        "O" => "O (other)".to_string(),
        other => other.to_string(),
    }
}

fn transfer_syntax(uid: &str) -> String {
    let uid = uid.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    match TransferSyntaxRegistry.get(uid) {
        Some(ts) => format!("{} ({uid})", ts.name()),
        None => uid.to_string(),
    }
}

fn int_tag(obj: &DefaultDicomObject, tag: Tag) -> Option<u64> {
    obj.element_opt(tag).ok().flatten()?.to_int::<u64>().ok()
}

/// The first frame as a PNG `data:` URL, or why there is none.
fn first_frame(obj: &DefaultDicomObject) -> Result<String, String> {
    if obj.element_opt(tags::PIXEL_DATA).ok().flatten().is_none() {
        return Err(
            "This DICOM file holds no image (it has no Pixel Data): it may be a report or a \
             structured document."
                .to_string(),
        );
    }
    let rows = int_tag(obj, tags::ROWS).unwrap_or(0);
    let cols = int_tag(obj, tags::COLUMNS).unwrap_or(0);
    if rows == 0 || cols == 0 {
        return Err("The image has no size (Rows or Columns is missing or zero).".to_string());
    }
    if rows.saturating_mul(cols) > MAX_FRAME_PIXELS {
        return Err(format!(
            "The image is too large to show here ({cols} × {rows} pixels)."
        ));
    }
    let samples = int_tag(obj, tags::SAMPLES_PER_PIXEL).unwrap_or(1);
    if samples != 1 && samples != 3 {
        return Err(format!(
            "Images with {samples} samples per pixel are not shown."
        ));
    }
    let frame = if let Some(kind) = j2k::compression(obj.meta().transfer_syntax()) {
        j2k::first_frame(obj, kind, rows * cols)?
    } else {
        let decoded = obj
            .decode_pixel_data_frame(0)
            .map_err(|e| format!("The image could not be decoded ({e})."))?;
        to_8bit(&decoded)?
    };
    frame.into_png(MAX_DICOM_SIDE)
}

/// 8-bit pixels, grey or RGB.
enum Frame {
    Grey(ImageBuffer<Luma<u8>, Vec<u8>>),
    Colour(ImageBuffer<Rgb<u8>, Vec<u8>>),
}

impl Frame {
    fn into_png(self, max_side: u32) -> Result<String, String> {
        let fit = |w: u32, h: u32| {
            let scale = (max_side as f64 / w.max(h) as f64).min(1.0);
            (
                ((w as f64 * scale).round() as u32).max(1),
                ((h as f64 * scale).round() as u32).max(1),
            )
        };
        match self {
            Frame::Grey(mut img) => {
                if img.width().max(img.height()) > max_side {
                    let (w, h) = fit(img.width(), img.height());
                    img = image::imageops::resize(&img, w, h, FilterType::Triangle);
                }
                png_data_url(
                    img.as_raw(),
                    img.width(),
                    img.height(),
                    ExtendedColorType::L8,
                )
            }
            Frame::Colour(mut img) => {
                if img.width().max(img.height()) > max_side {
                    let (w, h) = fit(img.width(), img.height());
                    img = image::imageops::resize(&img, w, h, FilterType::Triangle);
                }
                png_data_url(
                    img.as_raw(),
                    img.width(),
                    img.height(),
                    ExtendedColorType::Rgb8,
                )
            }
        }
    }
}

fn to_8bit(decoded: &DecodedPixelData<'_>) -> Result<Frame, String> {
    let (w, h) = (decoded.columns(), decoded.rows());
    let pixels = w as usize * h as usize;
    let too_short = || "The pixel data is shorter than the image size says.".to_string();
    let data = decoded.frame_data(0).map_err(|_| too_short())?;
    let pi = decoded.photometric_interpretation();
    let allocated = decoded.bits_allocated();
    match (decoded.samples_per_pixel(), pi) {
        (1, PhotometricInterpretation::Monochrome1 | PhotometricInterpretation::Monochrome2) => {
            let samples = mono_samples(decoded, data, pixels)?;
            let grey = voi_window(
                decoded,
                &samples,
                *pi == PhotometricInterpretation::Monochrome1,
            );
            ImageBuffer::from_raw(w, h, grey)
                .map(Frame::Grey)
                .ok_or_else(too_short)
        }
        (3, PhotometricInterpretation::Rgb | PhotometricInterpretation::YbrFull)
            if allocated == 8 =>
        {
            if data.len() < pixels * 3 {
                return Err(too_short());
            }
            let planar = decoded.planar_configuration() == PlanarConfiguration::PixelFirst;
            let ybr = *pi == PhotometricInterpretation::YbrFull;
            let mut rgb = Vec::with_capacity(pixels * 3);
            for i in 0..pixels {
                let px = if planar {
                    [data[i], data[pixels + i], data[2 * pixels + i]]
                } else {
                    [data[3 * i], data[3 * i + 1], data[3 * i + 2]]
                };
                rgb.extend(if ybr { ybr_to_rgb(px) } else { px });
            }
            ImageBuffer::from_raw(w, h, rgb)
                .map(Frame::Colour)
                .ok_or_else(too_short)
        }
        (spp, pi) => Err(format!(
            "Images of this kind are not shown here ({pi}, {spp} sample(s) of {allocated} bits \
             per pixel)."
        )),
    }
}

/// The stored values of a monochrome frame, masked to Bits Stored and sign-extended.
fn mono_samples(
    decoded: &DecodedPixelData<'_>,
    data: &[u8],
    pixels: usize,
) -> Result<Vec<i32>, String> {
    let allocated = decoded.bits_allocated();
    let signed = decoded.pixel_representation() == PixelRepresentation::Signed;
    let stored = decoded.bits_stored().clamp(1, allocated.max(1));
    let too_short = || "The pixel data is shorter than the image size says.".to_string();
    let extend = |raw: u32, bits: u16| -> i32 {
        let bits = u32::from(bits.min(31));
        let raw = raw & ((1u32 << bits) - 1);
        if signed && raw & (1 << (bits - 1)) != 0 {
            raw as i32 - (1i32 << bits)
        } else {
            raw as i32
        }
    };
    match allocated {
        // 1-bit pixels come out of the decoder as bytes of 0 or 255.
        1 => Ok(data
            .get(..pixels)
            .ok_or_else(too_short)?
            .iter()
            .map(|&b| b as i32)
            .collect()),
        8 => Ok(data
            .get(..pixels)
            .ok_or_else(too_short)?
            .iter()
            .map(|&b| extend(u32::from(b), stored))
            .collect()),
        16 => {
            let words = decoded.frame_data_ow(0).map_err(|_| too_short())?;
            Ok(words
                .get(..pixels)
                .ok_or_else(too_short)?
                .iter()
                .map(|&v| extend(u32::from(v), stored))
                .collect())
        }
        other => Err(format!(
            "Images with {other} bits per pixel are not shown here."
        )),
    }
}

/// Rescale, then the first VOI window of the file (Window Center / Width), or the range of
/// the values when it has none; MONOCHROME1 is inverted.
fn voi_window(decoded: &DecodedPixelData<'_>, samples: &[i32], invert: bool) -> Vec<u8> {
    let rescale = decoded
        .rescale()
        .ok()
        .and_then(|r| r.first().copied())
        .map(|r| (r.slope, r.intercept));
    let window = decoded
        .window()
        .ok()
        .flatten()
        .and_then(|w| w.first().copied())
        .map(|w| (w.center, w.width));
    window_samples(rescale, window, samples, invert)
}

/// [`voi_window`] with the rescale (slope, intercept) and window (center, width) given.
fn window_samples(
    rescale: Option<(f64, f64)>,
    window: Option<(f64, f64)>,
    samples: &[i32],
    invert: bool,
) -> Vec<u8> {
    let (slope, intercept) = rescale
        .filter(|(s, i)| s.is_finite() && i.is_finite() && *s != 0.0)
        .unwrap_or((1.0, 0.0));
    let window =
        window.filter(|(center, width)| center.is_finite() && width.is_finite() && *width >= 1.0);
    let (low, high) = match window {
        // DICOM's linear function (PS3.3 C.11.2.1.2.1).
        Some((center, width)) => (
            center - 0.5 - (width - 1.0) / 2.0,
            center - 0.5 + (width - 1.0) / 2.0,
        ),
        None => {
            let (min, max) = samples
                .iter()
                .fold((i32::MAX, i32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
            let a = f64::from(min) * slope + intercept;
            let b = f64::from(max) * slope + intercept;
            (a.min(b), a.max(b))
        }
    };
    let span = high - low;
    samples
        .iter()
        .map(|&v| {
            let x = f64::from(v) * slope + intercept;
            let y = if x <= low {
                0.0
            } else if x > high || span <= 0.0 {
                255.0
            } else {
                (x - low) / span * 255.0
            };
            let y = y.round().clamp(0.0, 255.0) as u8;
            if invert {
                255 - y
            } else {
                y
            }
        })
        .collect()
}

fn ybr_to_rgb([y, cb, cr]: [u8; 3]) -> [u8; 3] {
    let (y, cb, cr) = (f32::from(y), f32::from(cb) - 128.0, f32::from(cr) - 128.0);
    let c = |v: f32| v.round().clamp(0.0, 255.0) as u8;
    [
        c(y + 1.402 * cr),
        c(y - 0.344_136 * cb - 0.714_136 * cr),
        c(y + 1.772 * cb),
    ]
}

/// A walk over the element headers that refuses, before the parser sees them, lengths
/// that point past the end of the file (the parser would reserve that memory first).
mod structure {
    const UNDEFINED: u32 = 0xFFFF_FFFF;
    const MAX_DEPTH: usize = 32;

    struct Walker<'a> {
        data: &'a [u8],
        explicit: bool,
        little: bool,
    }

    /// `Err` with what is wrong, in words.
    pub(super) fn check(data: &[u8]) -> Result<(), String> {
        let start = if data.get(128..132) == Some(b"DICM") {
            132
        } else if data.starts_with(b"DICM") {
            4
        } else {
            match super::open::start(data) {
                super::open::Start::MetaWithoutMagic => 0,
                super::open::Start::Standard => return Ok(()),
                super::open::Start::Bare { explicit } => {
                    let walker = Walker {
                        data,
                        explicit,
                        little: true,
                    };
                    return walker.elements(0, data.len(), 0, false).map(|_| ());
                }
            }
        };
        let meta = Walker {
            data,
            explicit: true,
            little: true,
        };
        let mut pos = start;
        let mut ts = String::new();
        while pos + 8 <= data.len() && meta.u16(pos) == 0x0002 {
            let (tag, len, header) = meta.header(pos)?;
            pos += header;
            if len == UNDEFINED {
                return Ok(());
            }
            meta.fits(tag, pos, len, data.len())?;
            if tag == (0x0002, 0x0010) {
                ts = String::from_utf8_lossy(&data[pos..pos + len as usize])
                    .trim_matches(|c: char| c == '\0' || c.is_whitespace())
                    .to_string();
            }
            pos += len as usize;
        }
        let walker = match ts.as_str() {
            "1.2.840.10008.1.2" => Walker {
                data,
                explicit: false,
                little: true,
            },
            "1.2.840.10008.1.2.2" => Walker {
                data,
                explicit: true,
                little: false,
            },
            // Deflated data sets cannot be walked without inflating them.
            "1.2.840.10008.1.2.1.99" | "1.2.840.10008.1.2.4.95" => return Ok(()),
            _ => meta_like(data),
        };
        walker.elements(pos, data.len(), 0, false).map(|_| ())
    }

    fn meta_like(data: &[u8]) -> Walker<'_> {
        Walker {
            data,
            explicit: true,
            little: true,
        }
    }

    impl Walker<'_> {
        fn u16(&self, at: usize) -> u16 {
            let b = [self.data[at], self.data[at + 1]];
            if self.little {
                u16::from_le_bytes(b)
            } else {
                u16::from_be_bytes(b)
            }
        }

        fn u32(&self, at: usize) -> u32 {
            let b = [
                self.data[at],
                self.data[at + 1],
                self.data[at + 2],
                self.data[at + 3],
            ];
            if self.little {
                u32::from_le_bytes(b)
            } else {
                u32::from_be_bytes(b)
            }
        }

        /// Tag, value length and header size of the element at `pos` (8 bytes are there).
        fn header(&self, pos: usize) -> Result<((u16, u16), u32, usize), String> {
            let tag = (self.u16(pos), self.u16(pos + 2));
            if !self.explicit || tag.0 == 0xFFFE {
                return Ok((tag, self.u32(pos + 4), 8));
            }
            let vr = &self.data[pos + 4..pos + 6];
            // As the parser does: these VRs have a 2-byte length, all others (unknown
            // ones too, read as UN) 2 reserved bytes and a 4-byte length.
            let short = matches!(
                vr,
                b"AE"
                    | b"AS"
                    | b"AT"
                    | b"CS"
                    | b"DA"
                    | b"DS"
                    | b"DT"
                    | b"FL"
                    | b"FD"
                    | b"IS"
                    | b"LO"
                    | b"LT"
                    | b"PN"
                    | b"SH"
                    | b"SL"
                    | b"SS"
                    | b"ST"
                    | b"TM"
                    | b"UI"
                    | b"UL"
                    | b"US"
            );
            if !short {
                if pos + 12 > self.data.len() {
                    return Err(format!("element {} is cut short", show(tag)));
                }
                Ok((tag, self.u32(pos + 8), 12))
            } else {
                Ok((tag, u32::from(self.u16(pos + 6)), 8))
            }
        }

        fn vr(&self, pos: usize) -> Option<&[u8]> {
            self.explicit.then(|| &self.data[pos + 4..pos + 6])
        }

        fn fits(&self, tag: (u16, u16), pos: usize, len: u32, end: usize) -> Result<(), String> {
            let left = end.saturating_sub(pos);
            if len as usize > left {
                Err(format!(
                    "element {} says it holds {len} bytes but only {left} remain",
                    show(tag)
                ))
            } else {
                Ok(())
            }
        }

        /// Walks the elements from `pos` to `end`; returns where it stopped (after an item
        /// delimiter when `in_item`).
        fn elements(
            &self,
            mut pos: usize,
            end: usize,
            depth: usize,
            in_item: bool,
        ) -> Result<usize, String> {
            if depth > MAX_DEPTH {
                return Err("its sequences are nested too deeply".to_string());
            }
            while pos < end {
                if end - pos < 8 {
                    // Trailing bytes: the parser judges them.
                    return Ok(end);
                }
                let (tag, len, header) = self.header(pos)?;
                let vr = if tag.0 == 0xFFFE { None } else { self.vr(pos) };
                pos += header;
                if tag.0 == 0xFFFE {
                    match tag.1 {
                        0xE00D if in_item => return Ok(pos),
                        0xE0DD => return Ok(pos),
                        _ if len != UNDEFINED => {
                            self.fits(tag, pos, len, end)?;
                            pos += len as usize;
                        }
                        _ => {}
                    }
                    continue;
                }
                if len == UNDEFINED {
                    pos = match vr {
                        Some(b"SQ") => self.sequence(pos, end, depth + 1, None)?,
                        _ if tag == (0x7FE0, 0x0010) => self.fragments(pos, end)?,
                        // An undefined-length UN (or unknown VR) is a sequence in implicit
                        // VR little endian.
                        Some(_) => Walker {
                            data: self.data,
                            explicit: false,
                            little: true,
                        }
                        .sequence(pos, end, depth + 1, None)?,
                        None => self.sequence(pos, end, depth + 1, None)?,
                    };
                } else {
                    self.fits(tag, pos, len, end)?;
                    if vr == Some(b"SQ") || (!self.explicit && is_sequence(tag)) {
                        let seq_end = pos + len as usize;
                        self.sequence(pos, seq_end, depth + 1, Some(seq_end))?;
                    }
                    pos += len as usize;
                }
            }
            Ok(pos)
        }

        /// The items of a sequence; `defined_end` when the sequence has a length.
        fn sequence(
            &self,
            mut pos: usize,
            end: usize,
            depth: usize,
            defined_end: Option<usize>,
        ) -> Result<usize, String> {
            loop {
                if pos >= end && defined_end.is_some() {
                    return Ok(pos);
                }
                if end.saturating_sub(pos) < 8 {
                    return Err("a sequence is cut short".to_string());
                }
                let tag = (self.u16(pos), self.u16(pos + 2));
                let len = self.u32(pos + 4);
                pos += 8;
                match tag {
                    (0xFFFE, 0xE000) if len == UNDEFINED => {
                        pos = self.elements(pos, end, depth, true)?;
                    }
                    (0xFFFE, 0xE000) => {
                        self.fits(tag, pos, len, end)?;
                        let item_end = pos + len as usize;
                        self.elements(pos, item_end, depth, false)?;
                        pos = item_end;
                    }
                    (0xFFFE, 0xE0DD) => return Ok(pos),
                    _ => return Err(format!("a sequence holds {} instead of an item", show(tag))),
                }
            }
        }

        /// The fragments of encapsulated pixel data.
        fn fragments(&self, mut pos: usize, end: usize) -> Result<usize, String> {
            loop {
                if end.saturating_sub(pos) < 8 {
                    return Err("the encapsulated pixel data is cut short".to_string());
                }
                let tag = (self.u16(pos), self.u16(pos + 2));
                let len = self.u32(pos + 4);
                pos += 8;
                match tag {
                    (0xFFFE, 0xE000) if len != UNDEFINED => {
                        self.fits(tag, pos, len, end)?;
                        pos += len as usize;
                    }
                    (0xFFFE, 0xE0DD) => return Ok(pos),
                    _ => {
                        return Err(format!(
                            "the encapsulated pixel data holds {} instead of a fragment",
                            show(tag)
                        ))
                    }
                }
            }
        }
    }

    /// Whether the dictionary says the tag is a sequence (for implicit VR).
    fn is_sequence((group, element): (u16, u16)) -> bool {
        use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry, VirtualVr};
        dicom_dictionary_std::StandardDataDictionary
            .by_tag(dicom_core::Tag(group, element))
            .is_some_and(|entry| entry.vr() == VirtualVr::Exact(dicom_core::VR::SQ))
    }

    fn show((group, element): (u16, u16)) -> String {
        format!("({group:04X},{element:04X})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine as _;
    use dicom_object::OpenFileOptions;

    fn tag_value<'a>(tags: &'a [DicomTag], tag: &str) -> Option<&'a str> {
        tags.iter().find(|t| t.tag == tag).map(|t| t.value.as_str())
    }

    fn png_of(url: &str) -> image::DynamicImage {
        let png = STANDARD
            .decode(url.strip_prefix("data:image/png;base64,").unwrap())
            .unwrap();
        image::load_from_memory_with_format(&png, image::ImageFormat::Png).unwrap()
    }

    #[test]
    fn the_ct_slice_shows_its_tags_and_image() {
        let RecordView::Dicom {
            image,
            image_problem,
            tags,
        } = render(fixtures::CT_DCM)
        else {
            panic!("the DICOM file is shown")
        };
        assert_eq!(image_problem, None);
        let expect = [
            ("(0010,0010)", "Patient's Name", "DOE, JANE"),
            ("(0010,0020)", "Patient ID", "MW-000123"),
            ("(0010,0030)", "Patient's Birth Date", "1984-03-12"),
            ("(0010,0040)", "Patient's Sex", "F (female)"),
            ("(0008,0020)", "Study Date", "2024-05-14"),
            (
                "(0008,1030)",
                "Study Description",
                "CT CHEST WITHOUT CONTRAST",
            ),
            ("(0008,0060)", "Modality", "CT"),
            ("(0018,0015)", "Body Part Examined", "CHEST"),
            (
                "(0008,0080)",
                "Institution Name",
                "Northside General Hospital",
            ),
            ("(0028,0010)", "Rows", "64"),
            ("(0028,0011)", "Columns", "64"),
            ("(0028,0004)", "Photometric Interpretation", "MONOCHROME2"),
            (
                "(0002,0010)",
                "Transfer Syntax UID",
                "Explicit VR Little Endian (1.2.840.10008.1.2.1)",
            ),
        ];
        let got: Vec<(&str, &str, &str)> = tags
            .iter()
            .map(|t| (t.tag.as_str(), t.name.as_str(), t.value.as_str()))
            .collect();
        assert_eq!(got, expect);

        let img = png_of(&image.expect("an image")).to_luma8();
        assert_eq!(img.dimensions(), (64, 64));
        // Soft-tissue window (40/400): air and lungs black, tissue grey, bone white.
        let at = |x: u32, y: u32| img.get_pixel(x, y).0[0];
        assert_eq!(at(0, 0), 0, "air");
        assert_eq!(at(32, 46), 255, "vertebra");
        assert_eq!(at(19, 32), 0, "lung");
        let tissue = at(32, 12);
        assert!((110..=150).contains(&tissue), "soft tissue is {tissue}");
    }

    #[test]
    fn a_dicom_file_without_pixels_shows_its_tags() {
        let RecordView::Dicom {
            image,
            image_problem,
            tags,
        } = render(&fixtures::ct_dcm(false))
        else {
            panic!("the DICOM file is shown")
        };
        assert_eq!(image, None);
        assert!(image_problem.unwrap().contains("no Pixel Data"));
        assert_eq!(tag_value(&tags, "(0010,0010)"), Some("DOE, JANE"));
    }

    #[test]
    fn cut_or_lying_files_are_refused_before_parsing() {
        let bytes = fixtures::CT_DCM;
        let RecordView::SaveOnly { reason } = render(&bytes[..bytes.len() - 100]) else {
            panic!("a truncated DICOM file is not shown")
        };
        assert!(
            reason.starts_with(
                "This DICOM file is damaged or cut short: element (7FE0,0010) says it holds \
                 8192 bytes but only 8092 remain"
            ),
            "{reason}"
        );

        // The first data set element claims 4 GiB.
        let mut lying = bytes.to_vec();
        let meta_end = 132 + 12 + u32::from_le_bytes(lying[140..144].try_into().unwrap()) as usize;
        assert_eq!(&lying[meta_end..meta_end + 4], &[0x08, 0x00, 0x05, 0x00]);
        lying[meta_end + 4..meta_end + 6].copy_from_slice(b"UT");
        lying[meta_end + 6..meta_end + 12].copy_from_slice(&[0, 0, 0xFE, 0xFF, 0xFF, 0xFF]);
        let RecordView::SaveOnly { reason } = render(&lying) else {
            panic!()
        };
        assert!(
            reason.contains("says it holds 4294967294 bytes"),
            "{reason}"
        );
    }

    #[test]
    fn pixel_data_of_the_wrong_size_gives_a_problem_not_a_failure() {
        // Say the image is larger than its pixel data.
        let mut obj = OpenFileOptions::new()
            .from_reader(fixtures::CT_DCM)
            .unwrap();
        obj.put(dicom_core::DataElement::new(
            tags::ROWS,
            dicom_core::VR::US,
            dicom_core::PrimitiveValue::from(128u16),
        ));
        let mut bytes = Vec::new();
        obj.write_all(&mut bytes).unwrap();
        let RecordView::Dicom {
            image,
            image_problem,
            tags,
        } = render(&bytes)
        else {
            panic!()
        };
        assert_eq!(image, None);
        assert!(image_problem.is_some());
        assert_eq!(tag_value(&tags, "(0028,0010)"), Some("128"));
    }

    fn us(tag: Tag, value: u16) -> dicom_object::mem::InMemElement {
        dicom_core::DataElement::new(
            tag,
            dicom_core::VR::US,
            dicom_core::PrimitiveValue::from(value),
        )
    }

    fn cs(tag: Tag, value: &str) -> dicom_object::mem::InMemElement {
        dicom_core::DataElement::new(
            tag,
            dicom_core::VR::CS,
            dicom_core::PrimitiveValue::from(value),
        )
    }

    fn ct() -> DefaultDicomObject {
        OpenFileOptions::new()
            .from_reader(fixtures::CT_DCM)
            .unwrap()
    }

    fn bytes_of(obj: &DefaultDicomObject) -> Vec<u8> {
        let mut bytes = Vec::new();
        obj.write_all(&mut bytes).unwrap();
        bytes
    }

    fn image_of(bytes: &[u8]) -> image::GrayImage {
        match render(bytes) {
            RecordView::Dicom {
                image: Some(url), ..
            } => png_of(&url).to_luma8(),
            other => panic!("no image: {other:?}"),
        }
    }

    /// The CT slice as 8-bit stored values, without rescale or window (so min-max).
    fn ct_8bit() -> dicom_object::InMemDicomObject {
        let mut obj = ct().into_inner();
        let pixels: Vec<u8> = crate::generate::ct_phantom(64)
            .into_iter()
            .map(|v| (v / 16) as u8)
            .collect();
        for tag in [
            tags::WINDOW_CENTER,
            tags::WINDOW_WIDTH,
            tags::RESCALE_INTERCEPT,
            tags::RESCALE_SLOPE,
        ] {
            obj.remove_element(tag);
        }
        obj.put(us(tags::BITS_ALLOCATED, 8));
        obj.put(us(tags::BITS_STORED, 8));
        obj.put(us(tags::HIGH_BIT, 7));
        obj.put(dicom_core::DataElement::new(
            tags::PIXEL_DATA,
            dicom_core::VR::OB,
            dicom_core::PrimitiveValue::from(pixels),
        ));
        obj
    }

    fn with_ts(obj: dicom_object::InMemDicomObject, ts: &str) -> DefaultDicomObject {
        obj.with_meta(
            dicom_object::meta::FileMetaTableBuilder::new()
                .transfer_syntax(ts)
                .implementation_class_uid("2.25.1"),
        )
        .unwrap()
    }

    #[test]
    fn eight_bit_frames_without_a_window_are_stretched() {
        let img = image_of(&bytes_of(&with_ts(
            ct_8bit(),
            dicom_dictionary_std::uids::EXPLICIT_VR_LITTLE_ENDIAN,
        )));
        // Min-max: air is the darkest, bone the brightest.
        assert_eq!(img.get_pixel(0, 0).0[0], 0);
        assert_eq!(img.get_pixel(32, 46).0[0], 255);
    }

    #[test]
    fn jpeg_baseline_frames_are_decoded() {
        use dicom_pixeldata::Transcode;
        let mut obj = with_ts(
            ct_8bit(),
            dicom_dictionary_std::uids::EXPLICIT_VR_LITTLE_ENDIAN,
        );
        obj.transcode(&dicom_transfer_syntax_registry::entries::JPEG_BASELINE.erased())
            .unwrap();
        let bytes = bytes_of(&obj);
        let img = image_of(&bytes);
        assert_eq!(img.dimensions(), (64, 64));
        assert!(img.get_pixel(0, 0).0[0] < 20);
        assert!(img.get_pixel(32, 46).0[0] > 235);
        // Cut inside the fragments: refused before parsing.
        let RecordView::SaveOnly { reason } = render(&bytes[..bytes.len() - 30]) else {
            panic!()
        };
        assert!(reason.contains("(FFFE,E000) says it holds"), "{reason}");
    }

    #[test]
    fn rle_frames_are_decoded() {
        // RLE Lossless by hand: a 64-byte header with one segment, literal runs of 128.
        let pixels: Vec<u8> = (0..64 * 64).map(|i| (i % 64 * 4) as u8).collect();
        let mut rle = vec![0u8; 64];
        rle[..4].copy_from_slice(&1u32.to_le_bytes());
        rle[4..8].copy_from_slice(&64u32.to_le_bytes());
        for run in pixels.chunks(128) {
            rle.push((run.len() - 1) as u8);
            rle.extend(run);
        }
        let mut obj = ct_8bit();
        obj.put(dicom_core::DataElement::new(
            tags::PIXEL_DATA,
            dicom_core::VR::OB,
            dicom_core::value::PixelFragmentSequence::new_fragments(vec![rle]),
        ));
        let img = image_of(&bytes_of(&with_ts(
            obj,
            dicom_dictionary_std::uids::RLE_LOSSLESS,
        )));
        assert_eq!(img.get_pixel(0, 0).0[0], 0);
        assert_eq!(img.get_pixel(63, 0).0[0], 255);
    }

    #[test]
    fn monochrome1_is_inverted_and_signed_values_are_read() {
        let mut obj = ct();
        obj.put(cs(tags::PHOTOMETRIC_INTERPRETATION, "MONOCHROME1"));
        let img = image_of(&bytes_of(&obj));
        assert_eq!(img.get_pixel(0, 0).0[0], 255, "air is white");

        // Signed 12 bits stored: 0xF800 is masked to 0x800 and reads as -2048, the
        // lowest value (min-max without a window), not the highest.
        let mut obj = ct().into_inner();
        for tag in [tags::WINDOW_CENTER, tags::WINDOW_WIDTH] {
            obj.remove_element(tag);
        }
        let mut pixels = crate::generate::ct_phantom(64);
        pixels[0] = 0xF800;
        obj.put(dicom_core::DataElement::new(
            tags::PIXEL_DATA,
            dicom_core::VR::OW,
            dicom_core::PrimitiveValue::U16(pixels.into()),
        ));
        obj.put(us(tags::PIXEL_REPRESENTATION, 1));
        let img = image_of(&bytes_of(&with_ts(
            obj.clone(),
            dicom_dictionary_std::uids::EXPLICIT_VR_LITTLE_ENDIAN,
        )));
        assert_eq!(img.get_pixel(0, 0).0[0], 0);
        assert_eq!(img.get_pixel(32, 46).0[0], 255);
        // Unsigned, the same value is the highest.
        obj.put(us(tags::PIXEL_REPRESENTATION, 0));
        let img = image_of(&bytes_of(&with_ts(
            obj,
            dicom_dictionary_std::uids::EXPLICIT_VR_LITTLE_ENDIAN,
        )));
        assert_eq!(img.get_pixel(0, 0).0[0], 255);
    }

    #[test]
    fn implicit_vr_files_with_sequences_are_walked() {
        use dicom_core::value::{DataSetSequence, Value};
        let mut obj = ct().into_inner();
        let uid = "2.25.123456789012345678901234567890";
        let item =
            dicom_object::InMemDicomObject::from_element_iter([dicom_core::DataElement::new(
                tags::REFERENCED_SOP_INSTANCE_UID,
                dicom_core::VR::UI,
                dicom_core::PrimitiveValue::from(uid),
            )]);
        obj.put(dicom_core::DataElement::new(
            tags::REFERENCED_IMAGE_SEQUENCE,
            dicom_core::VR::SQ,
            Value::from(DataSetSequence::from(vec![item])),
        ));
        let file = with_ts(obj, dicom_dictionary_std::uids::IMPLICIT_VR_LITTLE_ENDIAN);
        let mut bytes = bytes_of(&file);
        assert!(matches!(
            render(&bytes),
            RecordView::Dicom { image: Some(_), .. }
        ));

        // The element inside the item now claims 1 GiB.
        let at = bytes
            .windows(uid.len())
            .position(|w| w == uid.as_bytes())
            .unwrap();
        bytes[at - 4..at].copy_from_slice(&(1u32 << 30).to_le_bytes());
        let RecordView::SaveOnly { reason } = render(&bytes) else {
            panic!()
        };
        assert!(
            reason.contains("element (0008,1155) says it holds 1073741824 bytes"),
            "{reason}"
        );
    }

    #[test]
    fn large_frames_are_downscaled_and_colour_is_kept() {
        let grey = ImageBuffer::from_fn(3000, 1500, |x, _| Luma([(x % 256) as u8]));
        let url = Frame::Grey(grey).into_png(MAX_DICOM_SIDE).unwrap();
        assert_eq!(png_of(&url).width(), 1024);
        assert_eq!(png_of(&url).height(), 512);

        let colour = ImageBuffer::from_pixel(10, 10, Rgb([200u8, 10, 10]));
        let url = Frame::Colour(colour).into_png(MAX_DICOM_SIDE).unwrap();
        assert_eq!(png_of(&url).to_rgb8().get_pixel(5, 5).0, [200, 10, 10]);
        assert_eq!(ybr_to_rgb([76, 85, 255]), [254, 0, 0]);
    }

    #[test]
    fn names_and_dates_read_well() {
        assert_eq!(person_name("DOE^JANE^M"), "DOE, JANE M");
        assert_eq!(person_name("DOE"), "DOE");
        assert_eq!(person_name("^JANE"), "JANE");
        assert_eq!(person_name("Yamada^Tarou=山田^太郎"), "Yamada, Tarou");
        assert_eq!(date("19840312"), "1984-03-12");
        assert_eq!(date("1984"), "1984");
        assert_eq!(sex("X"), "X");
        assert_eq!(transfer_syntax("1.2.3"), "1.2.3");
    }

    #[test]
    fn files_without_the_preamble_show_tags_and_image() {
        let RecordView::Dicom {
            tags: reference, ..
        } = render(fixtures::CT_DCM)
        else {
            panic!()
        };
        for ts in [
            dicom_dictionary_std::uids::EXPLICIT_VR_LITTLE_ENDIAN,
            dicom_dictionary_std::uids::IMPLICIT_VR_LITTLE_ENDIAN,
        ] {
            let bytes = open::tests::bare(ts);
            let RecordView::Dicom { image, tags, .. } = render(&bytes) else {
                panic!("{ts}")
            };
            assert!(image.is_some(), "{ts}");
            assert_eq!(
                tag_value(&tags, "(0010,0010)"),
                tag_value(&reference, "(0010,0010)")
            );
            // Cut short: refused by the walk, not read.
            let RecordView::SaveOnly { reason } = render(&bytes[..bytes.len() - 100]) else {
                panic!("{ts}")
            };
            assert!(reason.contains("damaged or cut short"), "{reason}");
        }
        assert!(matches!(
            render(&fixtures::CT_DCM[128..]),
            RecordView::Dicom { image: Some(_), .. }
        ));
        assert!(matches!(
            render(&fixtures::CT_DCM[132..]),
            RecordView::Dicom { image: Some(_), .. }
        ));
    }

    #[test]
    fn not_dicom_at_all_is_save_only() {
        let RecordView::SaveOnly { reason } = render(b"hello") else {
            panic!()
        };
        assert!(
            reason.starts_with("This DICOM file cannot be read"),
            "{reason}"
        );
    }
}
