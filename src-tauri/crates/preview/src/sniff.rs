//! The kind of a file from its first bytes.

use medwallet_api::ContentKind;

/// How many bytes from the start of a file [`sniff`] looks at (give it at least this many
/// when the file has them; more are ignored).
pub const SNIFF_LEN: usize = 4096;

/// The kind and MIME type of a file, from its first bytes (up to [`SNIFF_LEN`] are read).
///
/// The bytes decide; `file_name` only breaks ties: a text file named `.json`, `.csv`, `.md`
/// or `.xml` gets that MIME type (it is still [`ContentKind::Text`]), and JSON whose
/// `resourceType` is not within the bytes given counts as FHIR when the name says
/// `fhir` and ends with `.json`.
///
/// | first bytes | kind | MIME |
/// |---|---|---|
/// | `DICM` at offset 128 or 0, or a bare data set (group 0002 or 0008 first) | Dicom | `application/dicom` |
/// | `%PDF-` | Pdf | `application/pdf` |
/// | PNG, JPEG, GIF, WebP magic | Image | `image/png`, `image/jpeg`, `image/gif`, `image/webp` |
/// | `II*\0`, `MM\0*` (TIFF) | Image | `image/tiff` |
/// | ZIP whose first entries are Word's (`[Content_Types].xml`, `word/…`) | Text | the `.docx` MIME type |
/// | `ftyp` at 4 (MP4, MOV), EBML (WebM, Matroska), `RIFF…AVI `, QuickTime atoms, MPEG | Video | `video/…` |
/// | UTF-8 JSON object with a top-level `"resourceType"` (or, when the head ends first, FHIR marks in it) | Fhir | `application/fhir+json` |
/// | other UTF-8 without NUL | Text | `text/plain` |
/// | anything else | Other | `application/octet-stream` (HEIC/AVIF photos and MP4 audio name their type) |
pub fn sniff(head: &[u8], file_name: &str) -> (ContentKind, &'static str) {
    let head = &head[..head.len().min(SNIFF_LEN)];
    let name = file_name.to_ascii_lowercase();

    if head.get(128..132) == Some(b"DICM") || head.starts_with(b"DICM") || bare_dicom(head) {
        return (ContentKind::Dicom, "application/dicom");
    }
    if head.starts_with(b"%PDF-") {
        return (ContentKind::Pdf, "application/pdf");
    }
    if let Some(mime) = image_mime(head) {
        return (ContentKind::Image, mime);
    }
    if crate::scan::is_tiff(head) {
        return (ContentKind::Image, "image/tiff");
    }
    // Shown as its text.
    if crate::docx::is_docx(head) {
        return (ContentKind::Text, crate::docx::DOCX_MIME);
    }
    if let Some(found) = video(head) {
        return found;
    }
    if is_text(head) {
        let body = skip_bom_and_space(head);
        if body.first() == Some(&b'{') {
            match has_resource_type(body) {
                Some(true) => return (ContentKind::Fhir, "application/fhir+json"),
                // JSON key order means nothing: `resourceType` may come after the entries
                // of a large bundle. What the head shows of them decides.
                None if fhir_signature(body) => {
                    return (ContentKind::Fhir, "application/fhir+json")
                }
                None if (name.ends_with(".json") || name.ends_with(".ndjson"))
                    && name.contains("fhir") =>
                {
                    return (ContentKind::Fhir, "application/fhir+json")
                }
                _ => {}
            }
        }
        return (ContentKind::Text, text_mime(&name));
    }
    (ContentKind::Other, "application/octet-stream")
}

/// The MIME type of a PNG, JPEG, GIF or WebP head.
pub(crate) fn image_mime(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if head.len() >= 12 && head.starts_with(b"RIFF") && &head[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// Video containers (and the ISO-BMFF relatives that are not videos).
fn video(head: &[u8]) -> Option<(ContentKind, &'static str)> {
    if head.len() >= 12 && &head[4..8] == b"ftyp" {
        let brand = &head[8..12];
        return Some(match brand {
            b"qt  " => (ContentKind::Video, "video/quicktime"),
            b"heic" | b"heix" | b"heim" | b"heis" | b"hevc" | b"hevx" | b"mif1" | b"msf1" => {
                (ContentKind::Other, "image/heic")
            }
            b"avif" | b"avis" => (ContentKind::Other, "image/avif"),
            b"M4A " | b"M4B " | b"M4P " => (ContentKind::Other, "audio/mp4"),
            b"3gp4" | b"3gp5" | b"3gp6" | b"3ge6" | b"3gs7" => (ContentKind::Video, "video/3gpp"),
            _ => (ContentKind::Video, "video/mp4"),
        });
    }
    // Old QuickTime files start with a bare atom; its size starts with a zero byte.
    if head.len() >= 8
        && head[0] == 0
        && matches!(&head[4..8], b"moov" | b"mdat" | b"wide" | b"pnot")
    {
        return Some((ContentKind::Video, "video/quicktime"));
    }
    if head.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        let window = &head[..head.len().min(64)];
        let webm = window.windows(4).any(|w| w == b"webm");
        return Some((
            ContentKind::Video,
            if webm {
                "video/webm"
            } else {
                "video/x-matroska"
            },
        ));
    }
    if head.len() >= 12 && head.starts_with(b"RIFF") && &head[8..12] == b"AVI " {
        return Some((ContentKind::Video, "video/x-msvideo"));
    }
    if head.starts_with(&[0, 0, 1, 0xBA]) || head.starts_with(&[0, 0, 1, 0xB3]) {
        return Some((ContentKind::Video, "video/mpeg"));
    }
    None
}

/// Valid UTF-8 (a character cut by the end of the head is fine) without NUL.
fn is_text(head: &[u8]) -> bool {
    if head.contains(&0) {
        return false;
    }
    match std::str::from_utf8(head) {
        Ok(_) => true,
        // Only an incomplete character at the very end: the head cut it.
        Err(e) => e.error_len().is_none() && head.len() - e.valid_up_to() < 4,
    }
}

fn skip_bom_and_space(head: &[u8]) -> &[u8] {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = head
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(head.len());
    &head[start..]
}

/// Whether the JSON object that `body` starts with has a top-level `"resourceType"` key:
/// `Some(true)` found, `Some(false)` the object (or the text) ended without it, `None` the
/// head ended first.
fn has_resource_type(body: &[u8]) -> Option<bool> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut expect_key = false;
    let mut key_start: Option<usize> = None;
    for (i, &b) in body.iter().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
                if let Some(start) = key_start.take() {
                    if &body[start..i] == b"resourceType" {
                        return Some(true);
                    }
                }
            }
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                if depth == 1 && expect_key {
                    key_start = Some(i + 1);
                    expect_key = false;
                }
            }
            b'{' | b'[' => {
                depth += 1;
                expect_key = depth == 1 && b == b'{';
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(false);
                }
            }
            b',' if depth == 1 => expect_key = true,
            _ => {}
        }
    }
    None
}

/// Marks of FHIR in a JSON head that ended before its top-level object did: a
/// `resourceType` key inside it (a bundle entry, a contained resource), a bundle entry's
/// `fullUrl`, a code system's URL as FHIR spells it (HL7's, LOINC, SNOMED CT, UCUM), or
/// a narrative (`"div"` holding XHTML).
fn fhir_signature(body: &[u8]) -> bool {
    const MARKS: [&[u8]; 7] = [
        b"\"resourceType\"",
        b"\"fullUrl\"",
        b"\"http://hl7.org/fhir/",
        b"\"http://terminology.hl7.org/",
        b"\"system\":\"http://loinc.org\"",
        b"\"system\":\"http://snomed.info/sct\"",
        b"\"system\":\"http://unitsofmeasure.org\"",
    ];
    let has = |mark: &[u8]| body.windows(mark.len()).any(|w| w == mark);
    let compact: Vec<u8> = body
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    MARKS
        .iter()
        .any(|mark| has(mark) || compact.windows(mark.len()).any(|w| w == *mark))
        || (compact.windows(6).any(|w| w == b"\"div\":") && has(b"http://www.w3.org/1999/xhtml"))
}

/// A DICOM data set without the 128-byte preamble and `DICM` (as old ACR-NEMA files and
/// some exports are): the first elements are well-formed little-endian headers of group
/// 0002 or 0008, in ascending order.
fn bare_dicom(head: &[u8]) -> bool {
    let group = |at: usize| {
        head.get(at..at + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    if !matches!(group(0), Some(0x0002 | 0x0008)) {
        return false;
    }
    // Explicit VR (two capital letters) or implicit VR (a 4-byte length).
    let explicit = head
        .get(4..6)
        .is_some_and(|vr| vr.iter().all(u8::is_ascii_uppercase));
    let mut pos = 0usize;
    let mut last = (0u16, 0u16);
    for _ in 0..3 {
        let Some(h) = head.get(pos..pos + 8) else {
            // The head ended on well-formed elements.
            return pos > 0;
        };
        let tag = (
            u16::from_le_bytes([h[0], h[1]]),
            u16::from_le_bytes([h[2], h[3]]),
        );
        if tag < last || tag.0 > 0x7FE0 {
            return false;
        }
        last = tag;
        let (len, header) = if explicit {
            let vr = &h[4..6];
            if !vr.iter().all(u8::is_ascii_uppercase) {
                return false;
            }
            if matches!(
                vr,
                b"OB"
                    | b"OW"
                    | b"OF"
                    | b"SQ"
                    | b"UT"
                    | b"UN"
                    | b"OD"
                    | b"OL"
                    | b"UC"
                    | b"UR"
                    | b"OV"
                    | b"SV"
                    | b"UV"
            ) {
                let Some(l) = head.get(pos + 8..pos + 12) else {
                    return true;
                };
                (u32::from_le_bytes([l[0], l[1], l[2], l[3]]), 12)
            } else {
                (u32::from(u16::from_le_bytes([h[6], h[7]])), 8)
            }
        } else {
            (u32::from_le_bytes([h[4], h[5], h[6], h[7]]), 8)
        };
        // Undefined lengths and large values end the check: the start looked right.
        if len == u32::MAX || len > 0x10000 {
            return pos > 0;
        }
        pos += header + len as usize;
    }
    true
}

fn text_mime(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    match ext {
        "json" => "application/json",
        "ndjson" => "application/x-ndjson",
        "csv" => "text/csv",
        "md" | "markdown" => "text/markdown",
        "xml" => "application/xml",
        _ => "text/plain",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;
    use ContentKind::*;

    #[test]
    fn fixtures_are_sniffed_by_their_bytes() {
        let cases: [(&[u8], ContentKind, &str); 7] = [
            (fixtures::LAB_REPORT_PDF, Pdf, "application/pdf"),
            (fixtures::XRAY_PNG, Image, "image/png"),
            (fixtures::PHOTO_JPG, Image, "image/jpeg"),
            (fixtures::CT_DCM, Dicom, "application/dicom"),
            (fixtures::SUMMARY_FHIR_JSON, Fhir, "application/fhir+json"),
            (fixtures::NOTE_TXT, Text, "text/plain"),
            (fixtures::CLIP_MP4, Video, "video/mp4"),
        ];
        for (bytes, kind, mime) in cases {
            let head = &bytes[..bytes.len().min(SNIFF_LEN)];
            // A misleading name changes nothing.
            assert_eq!(sniff(head, "file.bin"), (kind, mime));
        }
    }

    #[test]
    fn scans_and_word_documents() {
        let tiff = crate::scan::tests::scan(2);
        assert_eq!(sniff(&tiff, "scan.bin"), (Image, "image/tiff"));
        assert_eq!(sniff(b"MM\0*\0\0\0\x08", "x").1, "image/tiff");
        let docx = crate::docx::tests::letter();
        assert_eq!(sniff(&docx, "x"), (Text, crate::docx::DOCX_MIME));
        // Another ZIP is not a Word document.
        let other = crate::docx::tests::zip(&[("data.csv", b"a,b", false)]);
        assert_eq!(sniff(&other, "x.docx").0, Other);
    }

    #[test]
    fn image_magics() {
        assert_eq!(sniff(b"GIF89a\x01\x00", "x").1, "image/gif");
        assert_eq!(sniff(b"GIF87a\x01\x00", "x").1, "image/gif");
        assert_eq!(sniff(b"RIFF\x10\0\0\0WEBPVP8 ", "x"), (Image, "image/webp"));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0], "x"), (Image, "image/jpeg"));
    }

    #[test]
    fn video_containers() {
        let mov = b"\0\0\0\x14ftypqt  \0\0\0\0qt  ";
        assert_eq!(sniff(mov, "a.mov"), (Video, "video/quicktime"));
        assert_eq!(
            sniff(b"\0\0\x01\0moov....", "a"),
            (Video, "video/quicktime")
        );
        let webm = b"\x1A\x45\xDF\xA3\x9f\x42\x86\x81\x01\x42\x82\x84webm";
        assert_eq!(sniff(webm, "a"), (Video, "video/webm"));
        let mkv = b"\x1A\x45\xDF\xA3\x9f\x42\x86\x81\x01\x42\x82\x88matroska";
        assert_eq!(sniff(mkv, "a"), (Video, "video/x-matroska"));
        assert_eq!(
            sniff(b"RIFF\0\0\0\0AVI LIST", "a"),
            (Video, "video/x-msvideo")
        );
        assert_eq!(sniff(&[0, 0, 1, 0xBA, 0x44], "a"), (Video, "video/mpeg"));
        // ISO-BMFF photos and audio are not videos.
        assert_eq!(
            sniff(b"\0\0\0\x18ftypheic\0\0\0\0", "a.heic"),
            (Other, "image/heic")
        );
        assert_eq!(
            sniff(b"\0\0\0\x18ftypM4A \0\0\0\0", "a"),
            (Other, "audio/mp4")
        );
        // A text that happens to have `moov` at 4 stays text.
        assert_eq!(sniff(b"Somemoov is text", "a.txt").0, Text);
    }

    #[test]
    fn dicom_with_or_without_the_preamble() {
        let mut bytes = vec![0u8; 132];
        bytes[128..132].copy_from_slice(b"DICM");
        assert_eq!(sniff(&bytes, "x"), (Dicom, "application/dicom"));
        bytes[128] = b'X';
        assert_eq!(sniff(&bytes, "x").0, Other);
        // No preamble: the file starts with `DICM`, or with the data set itself.
        let ct = fixtures::CT_DCM;
        assert_eq!(sniff(&ct[128..], "x").0, Dicom);
        assert_eq!(sniff(&crate::dicom::bare_fixture(), "x").0, Dicom);
        // Zeros, or a group that does not start a data set, are not DICOM.
        assert_eq!(sniff(&[0u8; 64], "x").0, Other);
        assert_eq!(sniff(b"\x08\x00\x05\x00CS\x0a\x00", "x").0, Dicom);
        assert_eq!(sniff(b"\x08\x00\x05\x00cs\x0a\x00", "x").0, Other);
        assert_eq!(sniff(b"\x10\x00\x10\x00PN\x04\x00", "x").0, Other);
    }

    #[test]
    fn fhir_needs_a_top_level_resource_type() {
        let fhir = br#"  {"id": "a", "meta": {"resourceType": "no"}, "resourceType": "Patient"}"#;
        assert_eq!(sniff(fhir, "x.txt"), (Fhir, "application/fhir+json"));
        let bom = b"\xEF\xBB\xBF{\"resourceType\":\"Bundle\"}";
        assert_eq!(sniff(bom, "x").0, Fhir);
        let nested = br#"{"data": {"resourceType": "Patient"}, "x": "\"resourceType\""}"#;
        assert_eq!(sniff(nested, "x.json"), (Text, "application/json"));
        assert_eq!(sniff(nested, "x.txt"), (Text, "text/plain"));
        let escaped_key = br#"{"a\"": 1, "resourceType": "Observation"}"#;
        assert_eq!(sniff(escaped_key, "x").0, Fhir);
        assert_eq!(sniff(br#"["resourceType"]"#, "x").0, Text);
    }

    #[test]
    fn fhir_in_any_key_order() {
        // `resourceType` after a large `entry`, as a serialiser that sorts keys writes it.
        let mut sorted = br#"{"entry": [{"fullUrl": "urn:uuid:1", "resource": {"active": true, "text": {"div": ""#.to_vec();
        sorted.extend(std::iter::repeat_n(b'a', SNIFF_LEN));
        assert_eq!(sniff(&sorted, "export.json").0, Fhir);
        let mut coded = br#"{"code": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/x", "code": "#.to_vec();
        coded.extend(std::iter::repeat_n(b' ', SNIFF_LEN));
        assert_eq!(sniff(&coded, "a.json").0, Fhir);
        // NDJSON: one resource a line.
        let ndjson = b"{\"resourceType\": \"Patient\"}\n{\"resourceType\": \"Condition\"}\n";
        assert_eq!(
            sniff(ndjson, "bulk.ndjson"),
            (Fhir, "application/fhir+json")
        );
        let plain = b"{\"a\": 1}\n{\"b\": 2}\n";
        assert_eq!(sniff(plain, "log.ndjson"), (Text, "application/x-ndjson"));
        // Marks in a JSON object that ends within the head do not count.
        let closed = br#"{"fullUrl": "x", "url": "http://hl7.org/fhir/x"}"#;
        assert_eq!(sniff(closed, "a.json").0, Text);
    }

    #[test]
    fn the_name_breaks_ties_only() {
        // The key is beyond the head: the name decides.
        let mut long = b"{\"text\": \"".to_vec();
        long.extend(std::iter::repeat_n(b'a', SNIFF_LEN));
        assert_eq!(sniff(&long, "bundle.fhir.json").0, Fhir);
        assert_eq!(sniff(&long, "data.json"), (Text, "application/json"));
        assert_eq!(sniff(b"a,b\n1,2\n", "t.CSV"), (Text, "text/csv"));
        assert_eq!(sniff(b"# Title\n", "readme.md"), (Text, "text/markdown"));
        // A name never makes bytes what they are not.
        assert_eq!(sniff(b"plain words", "scan.pdf"), (Text, "text/plain"));
        assert_eq!(sniff(&[0, 159, 146, 150], "note.txt").0, Other);
    }

    #[test]
    fn text_rules() {
        assert_eq!(sniff(b"", "empty").0, Text);
        assert_eq!(sniff("Grüße, 東京".as_bytes(), "x").0, Text);
        assert_eq!(sniff(b"nul\0inside", "x").0, Other);
        assert_eq!(sniff(b"\xff\xfe\x00\x00", "x").0, Other);
        // A character cut by the end of the head is still text.
        let mut cut = vec![b'a'; SNIFF_LEN - 1];
        cut.extend("é".as_bytes());
        assert_eq!(sniff(&cut, "x").0, Text);
        // But not a byte that can never be UTF-8.
        let mut bad = vec![b'a'; 10];
        bad.push(0xC0);
        bad.push(b'a');
        assert_eq!(sniff(&bad, "x").0, Other);
    }
}
