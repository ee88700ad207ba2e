//! Opening a DICOM file whatever its start: the 128-byte preamble and `DICM`, `DICM`
//! alone, the file meta group without `DICM`, or a bare data set without any of them (old
//! ACR-NEMA files and some exports).

use std::io::Read;

use dicom_dictionary_std::{tags, uids};
use dicom_object::file::ReadPreamble;
use dicom_object::meta::FileMetaTableBuilder;
use dicom_object::{DefaultDicomObject, InMemDicomObject, OpenFileOptions};
use dicom_transfer_syntax_registry::{TransferSyntaxIndex, TransferSyntaxRegistry};

/// How a file starts, as far as opening it is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Start {
    /// Preamble and `DICM`, or `DICM` at 0: the parser's own case.
    Standard,
    /// The file meta group (group 0002) without `DICM` before it.
    MetaWithoutMagic,
    /// The data set alone, explicit or implicit VR little endian.
    Bare { explicit: bool },
}

pub(super) fn start(bytes: &[u8]) -> Start {
    if bytes.get(128..132) == Some(b"DICM") || bytes.starts_with(b"DICM") {
        return Start::Standard;
    }
    if bytes.starts_with(&[0x02, 0x00]) {
        return Start::MetaWithoutMagic;
    }
    let explicit = bytes
        .get(4..6)
        .is_some_and(|vr| vr.iter().all(u8::is_ascii_uppercase));
    Start::Bare { explicit }
}

/// The transfer syntax a bare data set is read with.
pub(super) fn bare_transfer_syntax(explicit: bool) -> &'static str {
    if explicit {
        uids::EXPLICIT_VR_LITTLE_ENDIAN
    } else {
        uids::IMPLICIT_VR_LITTLE_ENDIAN
    }
}

/// The object, or the parser's error in words.
pub(super) fn open(bytes: &[u8]) -> Result<DefaultDicomObject, String> {
    match start(bytes) {
        Start::Standard => OpenFileOptions::new()
            .from_reader(bytes)
            .map_err(|e| e.to_string()),
        Start::MetaWithoutMagic => OpenFileOptions::new()
            .read_preamble(ReadPreamble::Never)
            .from_reader(b"DICM".chain(bytes))
            .map_err(|e| e.to_string()),
        Start::Bare { explicit } => {
            let uid = bare_transfer_syntax(explicit);
            let ts = TransferSyntaxRegistry
                .get(uid)
                .ok_or_else(|| format!("transfer syntax {uid} is not known"))?;
            let obj =
                InMemDicomObject::read_dataset_with_ts(bytes, ts).map_err(|e| e.to_string())?;
            let uid_of = |tag| {
                obj.element_opt(tag)
                    .ok()
                    .flatten()
                    .and_then(|e| e.to_str().ok())
                    .map(|s| {
                        s.trim_matches(|c: char| c == '\0' || c.is_whitespace())
                            .to_string()
                    })
                    .filter(|s| !s.is_empty())
            };
            // The meta group the file lacks; its UIDs only label the object.
            let meta = FileMetaTableBuilder::new()
                .transfer_syntax(uid)
                .media_storage_sop_class_uid(
                    uid_of(tags::SOP_CLASS_UID)
                        .unwrap_or_else(|| uids::SECONDARY_CAPTURE_IMAGE_STORAGE.to_string()),
                )
                .media_storage_sop_instance_uid(
                    uid_of(tags::SOP_INSTANCE_UID).unwrap_or_else(|| "2.25.0".to_string()),
                )
                .implementation_class_uid("2.25.0")
                .build()
                .map_err(|e| e.to_string())?;
            Ok(obj.with_exact_meta(meta))
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::fixtures;

    /// The CT slice's data set alone, in `ts`.
    pub(crate) fn bare(ts: &str) -> Vec<u8> {
        let obj = OpenFileOptions::new()
            .from_reader(fixtures::CT_DCM)
            .unwrap()
            .into_inner();
        let mut out = Vec::new();
        obj.write_dataset_with_ts(&mut out, TransferSyntaxRegistry.get(ts).unwrap())
            .unwrap();
        out
    }

    #[test]
    fn every_start_opens() {
        let ct = fixtures::CT_DCM;
        let name = |obj: &DefaultDicomObject| {
            obj.element(tags::PATIENT_NAME)
                .unwrap()
                .to_str()
                .unwrap()
                .to_string()
        };
        let reference = name(&open(ct).unwrap());
        // `DICM` without the preamble.
        assert_eq!(start(&ct[128..]), Start::Standard);
        assert_eq!(name(&open(&ct[128..]).unwrap()), reference);
        // The meta group without `DICM`.
        assert_eq!(start(&ct[132..]), Start::MetaWithoutMagic);
        assert_eq!(name(&open(&ct[132..]).unwrap()), reference);
        // The data set alone, in both VRs.
        for (ts, explicit) in [
            (uids::EXPLICIT_VR_LITTLE_ENDIAN, true),
            (uids::IMPLICIT_VR_LITTLE_ENDIAN, false),
        ] {
            let bytes = bare(ts);
            assert_eq!(start(&bytes), Start::Bare { explicit });
            let obj = open(&bytes).unwrap();
            assert_eq!(name(&obj), reference);
            assert_eq!(obj.meta().transfer_syntax(), ts);
        }
    }
}
