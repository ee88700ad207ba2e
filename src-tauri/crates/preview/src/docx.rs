//! Word documents (`.docx`): the text of `word/document.xml`, paragraph by paragraph. A
//! small ZIP reader (stored and deflated entries, no ZIP64) finds that one entry; every
//! length is checked against the file before it is used.

use medwallet_api::RecordView;

use crate::{human_size, MAX_TEXT_BYTES};

/// The MIME type of a Word document.
pub(crate) const DOCX_MIME: &str =
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
/// Largest `document.xml` inflated (its text is much smaller: markup dominates).
const MAX_XML_BYTES: usize = 64 * 1024 * 1024;
/// Largest Word file opened.
const MAX_DOCX_BYTES: usize = 200 * 1024 * 1024;
/// The entry that holds the body of a Word document.
const BODY: &[u8] = b"word/document.xml";

/// A ZIP file whose first entries name Word's parts.
pub(crate) fn is_docx(head: &[u8]) -> bool {
    head.starts_with(b"PK\x03\x04")
        && head.windows(5).any(|w| w == b"word/")
        && head.windows(19).any(|w| w == b"[Content_Types].xml")
}

pub(crate) fn render(bytes: &[u8]) -> RecordView {
    if bytes.len() > MAX_DOCX_BYTES {
        return RecordView::SaveOnly {
            reason: format!(
                "This Word document is {}; medwallet opens documents up to {}. Save a decrypted \
                 copy to open it in Word or LibreOffice.",
                human_size(bytes.len()),
                human_size(MAX_DOCX_BYTES)
            ),
        };
    }
    match body(bytes).map(|xml| text(&xml)) {
        Ok(text) => {
            let (text, truncated) = crate::text::start_of(text.as_bytes(), MAX_TEXT_BYTES);
            RecordView::Text { text, truncated }
        }
        Err(problem) => RecordView::SaveOnly {
            reason: format!(
                "The text of this Word document cannot be read ({problem}). Save a decrypted \
                 copy to open it in Word or LibreOffice."
            ),
        },
    }
}

fn u16_at(b: &[u8], at: usize) -> Option<usize> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?) as usize)
}

fn u32_at(b: &[u8], at: usize) -> Option<usize> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?) as usize)
}

/// The inflated `word/document.xml`.
fn body(zip: &[u8]) -> Result<Vec<u8>, String> {
    let damaged = || "the ZIP structure is damaged".to_string();
    // The end of central directory record: 22 bytes, then a comment of up to 64 KiB.
    let search_from = zip.len().saturating_sub(22 + 0xFFFF);
    let eocd = (search_from..zip.len().saturating_sub(21))
        .rev()
        .find(|&i| zip[i..].starts_with(b"PK\x05\x06"))
        .ok_or_else(damaged)?;
    let entries = u16_at(zip, eocd + 10).ok_or_else(damaged)?;
    let mut at = u32_at(zip, eocd + 16).ok_or_else(damaged)?;
    for _ in 0..entries {
        if zip.get(at..at + 4) != Some(b"PK\x01\x02") {
            return Err(damaged());
        }
        let method = u16_at(zip, at + 10).ok_or_else(damaged)?;
        let packed = u32_at(zip, at + 20).ok_or_else(damaged)?;
        let size = u32_at(zip, at + 24).ok_or_else(damaged)?;
        let name_len = u16_at(zip, at + 28).ok_or_else(damaged)?;
        let extra_len = u16_at(zip, at + 30).ok_or_else(damaged)?;
        let comment_len = u16_at(zip, at + 32).ok_or_else(damaged)?;
        let local = u32_at(zip, at + 42).ok_or_else(damaged)?;
        let name = zip.get(at + 46..at + 46 + name_len).ok_or_else(damaged)?;
        at += 46 + name_len + extra_len + comment_len;
        if name != BODY {
            continue;
        }
        if packed == 0xFFFF_FFFF || size == 0xFFFF_FFFF {
            return Err("ZIP64 documents are not read here".to_string());
        }
        if size > MAX_XML_BYTES {
            return Err(format!("its body is {}", human_size(size)));
        }
        if zip.get(local..local + 4) != Some(b"PK\x03\x04") {
            return Err(damaged());
        }
        let start = local
            + 30
            + u16_at(zip, local + 26).ok_or_else(damaged)?
            + u16_at(zip, local + 28).ok_or_else(damaged)?;
        let data = zip.get(start..start + packed).ok_or_else(damaged)?;
        return match method {
            0 => Ok(data.to_vec()),
            8 => miniz_oxide::inflate::decompress_to_vec_with_limit(data, size.max(1))
                .map_err(|_| "its body does not inflate".to_string()),
            other => Err(format!("compression method {other} is not read here")),
        };
    }
    Err("it has no word/document.xml".to_string())
}

/// The text of WordprocessingML: runs' text (`w:t`), tabs, breaks, one line a paragraph.
fn text(xml: &[u8]) -> String {
    let xml = String::from_utf8_lossy(xml);
    let mut out = String::new();
    let mut rest: &str = &xml;
    let mut in_text = false;
    while let Some(open) = rest.find('<') {
        if in_text {
            out.push_str(&unescape(&rest[..open]));
        }
        let Some(close) = rest[open..].find('>') else {
            break;
        };
        let tag = &rest[open + 1..open + close];
        rest = &rest[open + close + 1..];
        let name = tag
            .trim_start_matches('/')
            .split(|c: char| c.is_whitespace() || c == '/')
            .next()
            .unwrap_or("");
        let closing = tag.starts_with('/');
        let empty = tag.ends_with('/');
        match name {
            "w:t" => in_text = !closing && !empty,
            "w:tab" if !closing => out.push('\t'),
            "w:br" | "w:cr" if !closing => out.push('\n'),
            "w:p" if closing || empty => out.push('\n'),
            _ => {}
        }
        if out.len() > MAX_TEXT_BYTES + 4 {
            break;
        }
    }
    out.trim_end().to_string()
}

/// XML's five entities and character references.
fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let Some(semi) = rest.find(';').filter(|&i| i <= 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..semi];
        let c = match entity {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match c {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A ZIP of `(name, content, deflate?)` entries, as Word lays a document out.
    pub(crate) fn zip(entries: &[(&str, &[u8], bool)]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut central = Vec::new();
        for (name, content, deflate) in entries {
            let data = if *deflate {
                miniz_oxide::deflate::compress_to_vec(content, 6)
            } else {
                content.to_vec()
            };
            let local = out.len() as u32;
            let method: u16 = if *deflate { 8 } else { 0 };
            let header = |sig: &[u8], central: bool| {
                let mut h = sig.to_vec();
                if central {
                    h.extend(20u16.to_le_bytes());
                }
                h.extend(20u16.to_le_bytes());
                h.extend(0u16.to_le_bytes());
                h.extend(method.to_le_bytes());
                h.extend([0u8; 4]); // time, date
                h.extend(0u32.to_le_bytes()); // CRC (not checked here)
                h.extend((data.len() as u32).to_le_bytes());
                h.extend((content.len() as u32).to_le_bytes());
                h.extend((name.len() as u16).to_le_bytes());
                h.extend(0u16.to_le_bytes());
                if central {
                    // Comment length, disk, internal and external attributes.
                    h.extend([0u8; 10]);
                    h.extend(local.to_le_bytes());
                }
                h.extend(name.as_bytes());
                h
            };
            let l = header(b"PK\x03\x04", false);
            let c = header(b"PK\x01\x02", true);
            out.extend(l);
            out.extend(&data);
            central.extend(c);
        }
        let cd_at = out.len() as u32;
        let cd_len = central.len() as u32;
        out.extend(central);
        out.extend(b"PK\x05\x06");
        out.extend([0u8; 4]);
        out.extend((entries.len() as u16).to_le_bytes());
        out.extend((entries.len() as u16).to_le_bytes());
        out.extend(cd_len.to_le_bytes());
        out.extend(cd_at.to_le_bytes());
        out.extend(0u16.to_le_bytes());
        out
    }

    const DOCUMENT: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>
<w:p><w:pPr><w:pStyle w:val="Title"/></w:pPr><w:r><w:t>Discharge letter</w:t></w:r></w:p>
<w:p><w:r><w:t xml:space="preserve">Diagnosis: </w:t></w:r><w:r><w:rPr><w:b/></w:rPr><w:t>asthma &amp; rhinitis</w:t></w:r></w:p>
<w:p/><w:p><w:r><w:t>Dose</w:t><w:tab/><w:t>2 &#215; 100 µg</w:t><w:br/><w:t>&lt;twice a day&gt;</w:t></w:r></w:p>
</w:body></w:document>"#;

    pub(crate) fn letter() -> Vec<u8> {
        zip(&[
            ("[Content_Types].xml", b"<Types/>", true),
            ("_rels/.rels", b"<Relationships/>", false),
            ("word/document.xml", DOCUMENT.as_bytes(), true),
        ])
    }

    #[test]
    fn the_text_of_a_letter_is_shown() {
        let bytes = letter();
        assert!(is_docx(&bytes));
        let RecordView::Text { text, truncated } = render(&bytes) else {
            panic!()
        };
        assert!(!truncated);
        assert_eq!(
            text,
            "Discharge letter\nDiagnosis: asthma & rhinitis\n\nDose\t2 × 100 µg\n<twice a day>"
        );
        // Stored, not deflated, reads the same.
        let stored = zip(&[
            ("[Content_Types].xml", b"<Types/>", false),
            ("word/document.xml", DOCUMENT.as_bytes(), false),
        ]);
        assert!(matches!(render(&stored), RecordView::Text { text: t, .. } if t == text));
    }

    #[test]
    fn damaged_or_foreign_zips_say_why() {
        let reason = |bytes: &[u8]| match render(bytes) {
            RecordView::SaveOnly { reason } => reason,
            other => panic!("{other:?}"),
        };
        let other = zip(&[
            ("[Content_Types].xml", b"<Types/>", false),
            ("xl/workbook.xml", b"<w/>", false),
        ]);
        assert!(reason(&other).contains("it has no word/document.xml"));
        let bytes = letter();
        assert!(reason(&bytes[..bytes.len() - 30]).contains("damaged"));
        let mut garbled = bytes.clone();
        let at = garbled.windows(17).position(|w| w == BODY).unwrap() + 17;
        garbled[at..at + 20].fill(0xAA);
        assert!(
            reason(&garbled).contains("does not inflate"),
            "{}",
            reason(&garbled)
        );
        assert_eq!(unescape("a &bogus; &#xZZ; &"), "a &bogus; &#xZZ; &");
    }
}
