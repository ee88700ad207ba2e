//! The manifest: a record version's metadata (FHIR DocumentReference fields), sealed
//! under the record's DEK. Titles, dates and authors are PHI, so the whole manifest is
//! encrypted; only the pseudonymous record id and version are in the clear.
//!
//! ```text
//! header   = "MWRM" | 0x01 | record id (32 bytes) | record version (u32 BE) | nonce (12)
//! key      = HKDF-SHA256(ikm = DEK, salt = none, info = "medwallet/v1/record-manifest")
//! sealed   = header | AES-256-GCM(key, nonce, aad = header, JSON of the Manifest) | tag (16)
//! ```
//!
//! - The record id and version are in the header, so a manifest of another record is
//!   told apart ([`ManifestError::NotThisRecord`]) before any decryption, and the header
//!   is the AEAD's associated data, so changing them fails the tag.
//! - The nonce is random (96 bits): a DEK seals one manifest per record version, a few at
//!   most if one is re-saved, far from any collision bound.
//! - The whole sealed manifest is at most [`MAX_SEALED_LEN`] bytes, checked before
//!   decrypting, so a hostile object cannot make the app allocate or parse much.
//! - After decryption every field is validated (lengths, characters, date and time
//!   formats, the content CID parses, the chunk count matches the size), and the
//!   decrypted record id and version must equal the header's: a manifest that opens is
//!   a manifest the app can show without further checks.
//!
//! Unknown JSON fields are ignored: a newer app may add optional fields without a new
//! format version; a change that older apps must not misread bumps [`VERSION`].

use medwallet_abe::DataKey;
use ring::aead;
use serde::{Deserialize, Serialize};

use crate::cid::Cid;
use crate::keys;
use crate::record_id::{format_record_id, parse_record_id};
use crate::stream::chunk_count;

/// Magic bytes that open a sealed manifest.
pub const MAGIC: [u8; 4] = *b"MWRM";
/// The manifest format version this build writes and reads.
pub const VERSION: u8 = 1;
/// Length of the header (magic, version, record id, record version, nonce).
pub const HEADER_SIZE: usize = 4 + 1 + 32 + 4 + NONCE_SIZE;
const NONCE_SIZE: usize = aead::NONCE_LEN;
const TAG_SIZE: usize = 16;
/// Largest sealed manifest accepted or produced (64 KiB).
pub const MAX_SEALED_LEN: usize = 64 * 1024;
/// Longest free-text field (title, author, file name), in bytes.
pub const MAX_TEXT_LEN: usize = 1024;
/// Longest file name, in bytes (the common file-system limit).
pub const MAX_FILE_NAME_LEN: usize = 255;
/// Longest MIME type, in bytes.
pub const MAX_MIME_LEN: usize = 255;
/// Longest wire name (category, kind), in bytes.
pub const MAX_WIRE_NAME_LEN: usize = 64;

/// A record version's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Record id: `0x` + 64 lowercase hex digits (as on the ledger).
    pub record_id: String,
    /// Record version.
    pub version: u32,
    /// Title (not empty).
    pub title: String,
    /// Category wire name, e.g. `lab_result`.
    pub category: String,
    /// MIME type, e.g. `application/pdf`.
    pub mime_type: String,
    /// Kind of content wire name, e.g. `pdf`.
    pub kind: String,
    /// Date of the document, `YYYY-MM-DD`.
    pub date: String,
    /// Who wrote it (may be empty).
    pub author: String,
    /// Original file name (no path).
    pub file_name: String,
    /// Plaintext size in bytes.
    pub size: u64,
    /// CID of the encrypted content.
    pub content_cid: String,
    /// Chunks of the encrypted content (what the size implies).
    pub content_chunks: u64,
    /// When the record version was made, RFC 3339.
    pub created_at: String,
}

/// Why a manifest could not be sealed or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// Not a sealed manifest (wrong magic, or shorter than a header and a tag).
    #[error("this is not a sealed record manifest: {0}")]
    BadHeader(&'static str),
    /// Written by a newer format version.
    #[error("the record manifest uses format version {found}; this app reads version {VERSION}: update the app")]
    UnsupportedVersion {
        /// The version byte found.
        found: u8,
    },
    /// Larger than [`MAX_SEALED_LEN`].
    #[error("the record manifest is {len} bytes; at most {MAX_SEALED_LEN} are allowed")]
    TooLarge {
        /// Its size, or the size it would have when sealed.
        len: usize,
    },
    /// The tag does not verify: the data key is not this record's, or bytes changed.
    #[error("the record manifest does not open with this data key (wrong key, or it was changed)")]
    WrongKeyOrTampered,
    /// The manifest belongs to another record or version than the one asked for.
    #[error("this manifest belongs to record {found_record} version {found_version}, not the one asked for")]
    NotThisRecord {
        /// The record id in the manifest's header.
        found_record: String,
        /// The version in the manifest's header.
        found_version: u32,
    },
    /// A field is invalid (when sealing: the caller's; when opening: the writer's).
    #[error("the manifest's {field} is invalid: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The operating system's random generator failed.
    #[error("the system random number generator failed")]
    Random,
}

fn invalid(field: &'static str, reason: &'static str) -> ManifestError {
    ManifestError::Invalid { field, reason }
}

impl Manifest {
    /// Checks every field; [`seal`] and [`open`] call it.
    pub fn validate(&self) -> Result<(), ManifestError> {
        if parse_record_id(&self.record_id).is_none() {
            return Err(invalid(
                "record_id",
                "must be 0x and 64 lowercase hex digits",
            ));
        }
        text("title", &self.title, MAX_TEXT_LEN)?;
        if self.title.trim().is_empty() {
            return Err(invalid("title", "must not be empty"));
        }
        wire_name("category", &self.category)?;
        wire_name("kind", &self.kind)?;
        mime_type(&self.mime_type)?;
        if !is_date(&self.date) {
            return Err(invalid("date", "must be a calendar date YYYY-MM-DD"));
        }
        text("author", &self.author, MAX_TEXT_LEN)?;
        file_name(&self.file_name)?;
        Cid::parse(&self.content_cid).map_err(|_| invalid("content_cid", "is not a CID"))?;
        if self.content_chunks != chunk_count(self.size) {
            return Err(invalid("content_chunks", "does not match the size"));
        }
        if !is_rfc3339(&self.created_at) {
            return Err(invalid("created_at", "must be an RFC 3339 date and time"));
        }
        Ok(())
    }
}

/// Seals `manifest` under `dek` (see the module docs). Fails on an invalid field or a
/// manifest that would exceed [`MAX_SEALED_LEN`].
pub fn seal(dek: &DataKey, manifest: &Manifest) -> Result<Vec<u8>, ManifestError> {
    manifest.validate()?;
    let id = parse_record_id(&manifest.record_id)
        .ok_or_else(|| invalid("record_id", "must be 0x and 64 lowercase hex digits"))?;
    let json = serde_json::to_vec(manifest)
        .map_err(|_| invalid("manifest", "cannot be encoded as JSON"))?;
    let len = HEADER_SIZE + json.len() + TAG_SIZE;
    if len > MAX_SEALED_LEN {
        return Err(ManifestError::TooLarge { len });
    }
    let mut nonce = [0u8; NONCE_SIZE];
    keys::random(&mut nonce).map_err(|_| ManifestError::Random)?;

    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&MAGIC);
    out.push(VERSION);
    out.extend_from_slice(&id);
    out.extend_from_slice(&manifest.version.to_be_bytes());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&json);
    let key = keys::aead_key(dek, &[], keys::LABEL_MANIFEST);
    let (header, body) = out.split_at_mut(HEADER_SIZE);
    let tag = key
        .seal_in_place_separate_tag(
            aead::Nonce::assume_unique_for_key(nonce),
            aead::Aad::from(&*header),
            body,
        )
        .map_err(|_| ManifestError::TooLarge { len })?;
    out.extend_from_slice(tag.as_ref());
    Ok(out)
}

/// The record id and version a sealed manifest's header names, without a key.
pub fn peek(bytes: &[u8]) -> Result<(String, u32), ManifestError> {
    let header = check_header(bytes)?;
    Ok(header_record(header))
}

fn check_header(bytes: &[u8]) -> Result<&[u8], ManifestError> {
    if bytes.len() < MAGIC.len() || bytes[..MAGIC.len()] != MAGIC {
        return Err(ManifestError::BadHeader(
            "it does not start with the manifest magic",
        ));
    }
    match bytes.get(4) {
        None => return Err(ManifestError::BadHeader("it is cut short")),
        Some(&v) if v != VERSION => return Err(ManifestError::UnsupportedVersion { found: v }),
        Some(_) => {}
    }
    if bytes.len() > MAX_SEALED_LEN {
        return Err(ManifestError::TooLarge { len: bytes.len() });
    }
    if bytes.len() < HEADER_SIZE + TAG_SIZE {
        return Err(ManifestError::BadHeader("it is cut short"));
    }
    Ok(&bytes[..HEADER_SIZE])
}

fn header_record(header: &[u8]) -> (String, u32) {
    let mut id = [0u8; 32];
    id.copy_from_slice(&header[5..37]);
    let mut v = [0u8; 4];
    v.copy_from_slice(&header[37..41]);
    (format_record_id(&id), u32::from_be_bytes(v))
}

/// Opens a sealed manifest of record `expected_record_id`, version `expected_version`.
pub fn open(
    dek: &DataKey,
    bytes: &[u8],
    expected_record_id: &str,
    expected_version: u32,
) -> Result<Manifest, ManifestError> {
    let header = check_header(bytes)?;
    let (found_record, found_version) = header_record(header);
    if found_record != expected_record_id || found_version != expected_version {
        return Err(ManifestError::NotThisRecord {
            found_record,
            found_version,
        });
    }
    let mut nonce = [0u8; NONCE_SIZE];
    nonce.copy_from_slice(&header[41..HEADER_SIZE]);
    let key = keys::aead_key(dek, &[], keys::LABEL_MANIFEST);
    let mut body = bytes[HEADER_SIZE..].to_vec();
    let plain = key
        .open_in_place(
            aead::Nonce::assume_unique_for_key(nonce),
            aead::Aad::from(header),
            &mut body,
        )
        .map_err(|_| ManifestError::WrongKeyOrTampered)?;
    let manifest: Manifest = serde_json::from_slice(plain)
        .map_err(|_| invalid("manifest", "is not the expected JSON object"))?;
    manifest.validate()?;
    // The writer's fields must agree with the authenticated header.
    if manifest.record_id != found_record || manifest.version != found_version {
        return Err(invalid("record_id", "differs from the header's"));
    }
    Ok(manifest)
}

/// Text without control characters, at most `max` bytes.
fn text(field: &'static str, s: &str, max: usize) -> Result<(), ManifestError> {
    if s.len() > max {
        return Err(invalid(field, "is too long"));
    }
    if s.chars().any(char::is_control) {
        return Err(invalid(field, "contains control characters"));
    }
    Ok(())
}

/// `snake_case` wire names: a lowercase ASCII letter, then letters, digits or `_`.
fn wire_name(field: &'static str, s: &str) -> Result<(), ManifestError> {
    let ok = s.len() <= MAX_WIRE_NAME_LEN
        && s.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(invalid(
            field,
            "must be a lowercase wire name such as lab_result",
        ))
    }
}

/// `type/subtype`, optionally with parameters: printable ASCII, one `/` in the type part.
fn mime_type(s: &str) -> Result<(), ManifestError> {
    let essence = s.split(';').next().unwrap_or("");
    let token = |t: &str| {
        !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    let ok = s.len() <= MAX_MIME_LEN
        && s.bytes().all(|b| (0x20..0x7f).contains(&b))
        && essence
            .trim()
            .split_once('/')
            .is_some_and(|(t, sub)| token(t) && token(sub));
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "mime_type",
            "must be a MIME type such as application/pdf",
        ))
    }
}

/// A bare file name: not empty, no path separators or control characters, not `.`/`..`.
fn file_name(s: &str) -> Result<(), ManifestError> {
    text("file_name", s, MAX_FILE_NAME_LEN)?;
    if s.is_empty() || s == "." || s == ".." || s.contains(['/', '\\']) {
        return Err(invalid("file_name", "must be a file name without a path"));
    }
    Ok(())
}

fn digits(s: &[u8]) -> Option<u32> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0u32, |a, d| a * 10 + u32::from(d - b'0')))
}

/// `YYYY-MM-DD`, a real calendar date (leap years included), year 0001-9999.
pub fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let (Some(y), Some(m), Some(d)) = (digits(&b[..4]), digits(&b[5..7]), digits(&b[8..])) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    y >= 1 && (1..=days).contains(&d)
}

/// RFC 3339 `date-time`: `YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)`.
pub fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 20 || b.len() > 40 || !s.is_ascii() {
        return false;
    }
    if !is_date(&s[..10]) || !matches!(b[10], b'T' | b't') {
        return false;
    }
    let time = &b[11..];
    if time[2] != b':' || time[5] != b':' {
        return false;
    }
    let (Some(h), Some(mi), Some(sec)) =
        (digits(&time[..2]), digits(&time[3..5]), digits(&time[6..8]))
    else {
        return false;
    };
    if h > 23 || mi > 59 || sec > 60 {
        return false;
    }
    let mut rest = &time[8..];
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return false;
        }
        rest = &frac[n..];
    }
    match rest {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', oh1, oh2, b':', om1, om2] => matches!(
            (digits(&[*oh1, *oh2]), digits(&[*om1, *om2])),
            (Some(oh), Some(om)) if oh <= 23 && om <= 59
        ),
        _ => false,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::cid::cid_of;

    pub(crate) const ID: &str =
        "0x5f3c8a7e0f3b2d1c4a5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4";

    pub(crate) fn sample() -> Manifest {
        Manifest {
            record_id: ID.into(),
            version: 1,
            title: "Blood panel, März 2026".into(),
            category: "lab_result".into(),
            mime_type: "application/pdf".into(),
            kind: "pdf".into(),
            date: "2026-03-14".into(),
            author: "Dr. Amara Okafor".into(),
            file_name: "blood-panel.pdf".into(),
            size: 200_000,
            content_cid: cid_of(b"content").to_string(),
            content_chunks: 4,
            created_at: "2026-03-15T09:30:00.123Z".into(),
        }
    }

    fn dek(b: u8) -> DataKey {
        DataKey::from_bytes([b; 32])
    }

    #[test]
    fn round_trip() {
        let m = sample();
        let sealed = seal(&dek(1), &m).unwrap();
        assert_eq!(&sealed[..4], b"MWRM");
        assert_eq!(open(&dek(1), &sealed, ID, 1).unwrap(), m);
        assert_eq!(peek(&sealed).unwrap(), (ID.to_string(), 1));
        // A fresh nonce each time.
        assert_ne!(seal(&dek(1), &m).unwrap(), sealed);
        // The title is not in the clear.
        assert!(!sealed.windows(5).any(|w| w == b"Blood"));
    }

    #[test]
    fn wrong_key_and_tampering() {
        let sealed = seal(&dek(1), &sample()).unwrap();
        assert_eq!(
            open(&dek(2), &sealed, ID, 1),
            Err(ManifestError::WrongKeyOrTampered)
        );
        for pos in [41, 45, HEADER_SIZE, sealed.len() / 2, sealed.len() - 1] {
            let mut bad = sealed.clone();
            bad[pos] ^= 0x20;
            assert_eq!(
                open(&dek(1), &bad, ID, 1),
                Err(ManifestError::WrongKeyOrTampered),
                "{pos}"
            );
        }
        assert_eq!(
            open(&dek(1), &sealed[..sealed.len() - 1], ID, 1),
            Err(ManifestError::WrongKeyOrTampered)
        );
        let mut longer = sealed.clone();
        longer.push(0);
        assert_eq!(
            open(&dek(1), &longer, ID, 1),
            Err(ManifestError::WrongKeyOrTampered)
        );
    }

    #[test]
    fn another_record_or_version_is_not_this_record() {
        let sealed = seal(&dek(1), &sample()).unwrap();
        let other = format!("0x{}", "ab".repeat(32));
        assert!(matches!(
            open(&dek(1), &sealed, &other, 1),
            Err(ManifestError::NotThisRecord {
                found_version: 1,
                ..
            })
        ));
        assert!(matches!(
            open(&dek(1), &sealed, ID, 2),
            Err(ManifestError::NotThisRecord { .. })
        ));
        // A header rewritten to name another record fails the tag (AAD).
        let mut swapped = sealed.clone();
        swapped[5..37].copy_from_slice(&parse_record_id(&other).unwrap());
        assert_eq!(
            open(&dek(1), &swapped, &other, 1),
            Err(ManifestError::WrongKeyOrTampered)
        );
        let mut bumped = sealed.clone();
        bumped[40] = 2;
        assert_eq!(
            open(&dek(1), &bumped, ID, 2),
            Err(ManifestError::WrongKeyOrTampered)
        );
    }

    #[test]
    fn bad_input_is_typed() {
        let sealed = seal(&dek(1), &sample()).unwrap();
        assert!(matches!(
            open(&dek(1), b"", ID, 1),
            Err(ManifestError::BadHeader(_))
        ));
        assert!(matches!(
            open(&dek(1), b"MWRM", ID, 1),
            Err(ManifestError::BadHeader(_))
        ));
        assert!(matches!(
            open(&dek(1), b"nope, a PDF", ID, 1),
            Err(ManifestError::BadHeader(_))
        ));
        assert!(matches!(
            open(&dek(1), &sealed[..HEADER_SIZE + 3], ID, 1),
            Err(ManifestError::BadHeader(_))
        ));
        let mut v2 = sealed.clone();
        v2[4] = 9;
        assert_eq!(
            open(&dek(1), &v2, ID, 1),
            Err(ManifestError::UnsupportedVersion { found: 9 })
        );
        let mut huge = sealed.clone();
        huge.resize(MAX_SEALED_LEN + 1, 0);
        assert!(matches!(
            open(&dek(1), &huge, ID, 1),
            Err(ManifestError::TooLarge { .. })
        ));
    }

    #[test]
    fn seal_refuses_invalid_fields_and_oversize() {
        type Edit = fn(&mut Manifest);
        let cases: [(&str, Edit); 16] = [
            ("record_id", |m| m.record_id = "0x12".into()),
            ("title", |m| m.title = "  ".into()),
            ("title", |m| m.title = "a\u{7}b".into()),
            ("category", |m| m.category = "Lab Result".into()),
            ("kind", |m| m.kind = String::new()),
            ("mime_type", |m| m.mime_type = "pdf".into()),
            ("date", |m| m.date = "2026-02-30".into()),
            ("date", |m| m.date = "26-03-14".into()),
            ("author", |m| m.author = "x\ny".into()),
            ("file_name", |m| m.file_name = "../etc/passwd".into()),
            ("file_name", |m| m.file_name = String::new()),
            ("content_cid", |m| m.content_cid = "Qm-nope".into()),
            ("content_chunks", |m| m.content_chunks = 3),
            ("created_at", |m| m.created_at = "2026-03-15 09:30".into()),
            ("created_at", |m| {
                m.created_at = "2026-03-15T25:00:00Z".into()
            }),
            ("title", |m| m.title = "x".repeat(MAX_TEXT_LEN + 1)),
        ];
        for (field, edit) in cases {
            let mut m = sample();
            edit(&mut m);
            match seal(&dek(1), &m) {
                Err(ManifestError::Invalid { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
        // The largest valid fields, with characters JSON escapes, still fit.
        let mut big = sample();
        big.title = "\"".repeat(MAX_TEXT_LEN);
        big.author = "\\".repeat(MAX_TEXT_LEN);
        big.file_name = "é".repeat(MAX_FILE_NAME_LEN / 2);
        let sealed = seal(&dek(1), &big).unwrap();
        assert!(sealed.len() < MAX_SEALED_LEN);
        assert_eq!(open(&dek(1), &sealed, ID, 1).unwrap(), big);
    }

    #[test]
    fn a_manifest_whose_json_disagrees_with_its_header_is_refused() {
        // Seal by hand: header for version 1, JSON saying version 2.
        let mut m = sample();
        m.version = 2;
        let json = serde_json::to_vec(&m).unwrap();
        let mut out = Vec::new();
        out.extend_from_slice(&MAGIC);
        out.push(VERSION);
        out.extend_from_slice(&parse_record_id(ID).unwrap());
        out.extend_from_slice(&1u32.to_be_bytes());
        out.extend_from_slice(&[0u8; 12]);
        out.extend_from_slice(&json);
        let key = keys::aead_key(&dek(1), &[], keys::LABEL_MANIFEST);
        let (h, body) = out.split_at_mut(HEADER_SIZE);
        let tag = key
            .seal_in_place_separate_tag(
                aead::Nonce::assume_unique_for_key([0u8; 12]),
                aead::Aad::from(&*h),
                body,
            )
            .unwrap();
        out.extend_from_slice(tag.as_ref());
        assert!(matches!(
            open(&dek(1), &out, ID, 1),
            Err(ManifestError::Invalid {
                field: "record_id",
                ..
            })
        ));
    }

    #[test]
    fn dates_and_times() {
        for ok in ["2024-02-29", "2000-02-29", "0001-01-01", "9999-12-31"] {
            assert!(is_date(ok), "{ok}");
        }
        for bad in [
            "2023-02-29",
            "1900-02-29",
            "0000-01-01",
            "2024-13-01",
            "2024-1-01",
            "2024-01-00",
            "２０２４-01-01",
        ] {
            assert!(!is_date(bad), "{bad}");
        }
        for ok in [
            "2026-03-15T09:30:00Z",
            "2026-03-15t09:30:00z",
            "2026-03-15T09:30:00.123456789+05:30",
            "2026-12-31T23:59:60-00:00",
        ] {
            assert!(is_rfc3339(ok), "{ok}");
        }
        for bad in [
            "2026-03-15T09:30:00",
            "2026-03-15T09:30:00.Z",
            "2026-03-15T09:30Z",
            "2026-03-15T09:60:00Z",
            "2026-03-15T09:30:00+24:00",
            "2026-03-15T09:30:00+0530",
            "2026-03-15 09:30:00Z",
        ] {
            assert!(!is_rfc3339(bad), "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn opening_random_bytes_never_panics(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..600),
            keep_header in proptest::bool::ANY,
        ) {
            let input = if keep_header {
                let sealed = seal(&dek(1), &sample()).unwrap();
                [&sealed[..HEADER_SIZE], &bytes[..]].concat()
            } else {
                bytes
            };
            // Only a panic fails this property: any Ok or Err is a fine answer.
            let _ = open(&dek(1), &input, ID, 1);
            let _ = peek(&input);
        }

        #[test]
        fn validation_never_panics(s in "\\PC{0,80}") {
            // Only a panic fails this property: any answer is fine.
            let _ = is_date(&s);
            let _ = is_rfc3339(&s);
            let mut m = sample();
            m.title = s.clone();
            m.mime_type = s.clone();
            m.file_name = s.clone();
            m.content_cid = s;
            let _ = m.validate();
        }
    }
}
