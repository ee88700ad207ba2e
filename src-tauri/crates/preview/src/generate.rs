//! Makes the sample files of `tests/fixtures/` (and variants the tests need).
//!
//! Shared by `examples/make_fixtures.rs`, which writes the files, and by the unit tests,
//! which check that the committed files are what this makes. Everything is deterministic.

#![allow(dead_code)]

use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::meta::FileMetaTableBuilder;
use dicom_object::InMemDicomObject;
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, ImageEncoder};

/// Every fixture: file name and bytes.
pub fn all() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("lab-report.pdf", lab_report_pdf()),
        ("xray.png", xray_png()),
        ("photo.jpg", photo_jpg()),
        ("ct.dcm", ct_dcm(true)),
        ("summary.fhir.json", SUMMARY_FHIR_JSON.as_bytes().to_vec()),
        ("note.txt", NOTE_TXT.as_bytes().to_vec()),
        ("clip.mp4", clip_mp4()),
    ]
}

// ---------------------------------------------------------------------------------------
// PDF

/// A page: a title (Helvetica Bold) and lines of text (Courier), on A4.
pub struct PdfPage {
    /// In bold at the top.
    pub title: String,
    /// Below it, one per line.
    pub lines: Vec<String>,
}

/// The two-page lab report.
pub fn lab_report_pdf() -> Vec<u8> {
    let page = |title: &str, lines: &[&str]| PdfPage {
        title: title.to_string(),
        lines: lines.iter().map(|l| l.to_string()).collect(),
    };
    pdf(
        &[
            page(
                "Northside Clinical Laboratory - Lab report",
                &[
                    "Patient: Jane Doe    Born: 1984-03-12    Patient ID: MW-000123",
                    "Collected: 2024-05-14 08:10    Reported: 2024-05-14 15:42",
                    "",
                    "Complete blood count",
                    "Test                      Result     Units       Reference",
                    "Hemoglobin                13.8       g/dL        12.0 - 15.5",
                    "White blood cells         6.1        10^9/L      4.0 - 11.0",
                    "Platelets                 250        10^9/L      150 - 400",
                    "Hematocrit                41.2       %           36 - 46",
                    "",
                    "Page 1 of 2",
                ],
            ),
            page(
                "Metabolic panel",
                &[
                    "Test                      Result     Units       Reference",
                    "Glucose (fasting)         126        mg/dL       70 - 99     HIGH",
                    "HbA1c                     6.8        %           4.0 - 5.6   HIGH",
                    "Creatinine                0.9        mg/dL       0.6 - 1.1",
                    "LDL cholesterol           104        mg/dL       < 100       HIGH",
                    "",
                    "Comment: results consistent with known type 2 diabetes.",
                    "Validated by Dr. A. Smith, MD",
                    "",
                    "Page 2 of 2",
                ],
            ),
        ],
        None,
    )
}

/// `n` pages that each say their number.
pub fn pdf_with_pages(n: usize) -> Vec<u8> {
    let pages: Vec<PdfPage> = (1..=n)
        .map(|i| PdfPage {
            title: format!("Page {i}"),
            lines: vec![format!("This is page {i} of {n}.")],
        })
        .collect();
    pdf(&pages, None)
}

/// A one-page PDF with a standard security handler whose user password is not empty.
pub fn encrypted_pdf() -> Vec<u8> {
    let page = PdfPage {
        title: "Secret".to_string(),
        lines: vec![],
    };
    pdf(&[page], Some("<< /Filter /Standard /V 1 /R 2 /O <7a1f0c6e2b9d4f3a8c5e1d0b7f2a9c4e3b6d8f1a0c2e4b7d9f1a3c5e7b9d0f2a4c> /U <c3d5e7f9a1b3c5d7e9f1a3b5c7d9e1f3a5b7c9d1e3f5a7b9c1d3e5f7a9b1c3d5e7> /P -44 >>"))
}

/// Writes a PDF 1.4 file: catalog, page tree, three standard fonts, one content stream per
/// page; `encrypt` is an optional `/Encrypt` dictionary.
pub fn pdf(pages: &[PdfPage], encrypt: Option<&str>) -> Vec<u8> {
    let mut objects: Vec<String> = Vec::new();
    let page_ids: Vec<usize> = (0..pages.len()).map(|i| 6 + 2 * i).collect();
    objects.push("<< /Type /Catalog /Pages 2 0 R >>".to_string());
    objects.push(format!(
        "<< /Type /Pages /Kids [{}] /Count {} >>",
        page_ids
            .iter()
            .map(|id| format!("{id} 0 R"))
            .collect::<Vec<_>>()
            .join(" "),
        pages.len()
    ));
    objects.push(
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_string(),
    );
    objects.push(
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>"
            .to_string(),
    );
    objects.push(
        "<< /Type /Font /Subtype /Type1 /BaseFont /Courier /Encoding /WinAnsiEncoding >>"
            .to_string(),
    );
    for (i, page) in pages.iter().enumerate() {
        let content = page_content(page);
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] \
             /Resources << /Font << /F1 3 0 R /F2 4 0 R /F3 5 0 R >> >> /Contents {} 0 R >>",
            page_ids[i] + 1
        ));
        objects.push(format!(
            "<< /Length {} >>\nstream\n{content}\nendstream",
            content.len()
        ));
    }
    if let Some(encrypt) = encrypt {
        objects.push(encrypt.to_string());
    }

    let mut out = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref_at = out.len();
    out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for offset in offsets {
        out.extend(format!("{offset:010} 00000 n \n").as_bytes());
    }
    let encrypt_entries = match encrypt {
        Some(_) => format!(
            " /Encrypt {} 0 R /ID [<8f3a2c1d9e7b6a5f4e3d2c1b0a998877> <8f3a2c1d9e7b6a5f4e3d2c1b0a998877>]",
            objects.len()
        ),
        None => String::new(),
    };
    out.extend(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R{encrypt_entries} >>\nstartxref\n{xref_at}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

fn page_content(page: &PdfPage) -> String {
    let mut s = String::new();
    // A grey band behind the title, a rule under it.
    s.push_str("0.9 0.93 0.97 rg 40 770 515 40 re f\n");
    s.push_str("0.2 0.3 0.5 RG 1 w 40 760 m 555 760 l S\n");
    s.push_str(&format!(
        "BT /F2 16 Tf 0.1 0.15 0.3 rg 50 784 Td ({}) Tj ET\n",
        pdf_escape(&page.title)
    ));
    // The body in Courier, so that tables line up.
    s.push_str("BT /F3 10 Tf 0 0 0 rg 14 TL 50 735 Td\n");
    for line in &page.lines {
        s.push_str(&format!("({}) Tj T*\n", pdf_escape(line)));
    }
    s.push_str("ET");
    s
}

fn pdf_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '(' | ')' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_ascii() && !c.is_ascii_control() => out.push(c),
            _ => out.push('?'),
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Images

/// A 256x256 greyscale "chest X-ray": a dark field, two lungs, a spine and ribs.
pub fn xray_png() -> Vec<u8> {
    const SIDE: u32 = 256;
    let mut pixels = Vec::with_capacity((SIDE * SIDE) as usize);
    for y in 0..SIDE {
        for x in 0..SIDE {
            let (fx, fy) = (x as f32 / SIDE as f32 - 0.5, y as f32 / SIDE as f32 - 0.5);
            // Body: a bright ellipse fading to the edges.
            let body = 1.0 - (fx * fx / 0.18 + fy * fy / 0.22);
            let mut v = if body > 0.0 {
                90.0 + 120.0 * body
            } else {
                20.0
            };
            // Lungs: two darker ellipses.
            for cx in [-0.17f32, 0.17] {
                let l = ((fx - cx) / 0.12).powi(2) + ((fy + 0.02) / 0.28).powi(2);
                if l < 1.0 {
                    v -= 70.0 * (1.0 - l);
                    // Ribs: bright bands across the lungs.
                    if ((fy + 0.5) * 22.0).fract() < 0.18 {
                        v += 35.0;
                    }
                }
            }
            // Spine.
            if fx.abs() < 0.025 && fy.abs() < 0.4 {
                v = 235.0;
            }
            pixels.push(v.clamp(0.0, 255.0) as u8);
        }
    }
    let mut png = Vec::new();
    PngEncoder::new(&mut png)
        .write_image(&pixels, SIDE, SIDE, ExtendedColorType::L8)
        .expect("encode the PNG");
    png
}

/// A 160x120 colour "photo": a sky, a sun and a hill.
pub fn photo_jpg() -> Vec<u8> {
    const W: u32 = 160;
    const H: u32 = 120;
    let mut pixels = Vec::with_capacity((W * H * 3) as usize);
    for y in 0..H {
        for x in 0..W {
            let (fx, fy) = (x as f32, y as f32);
            let hill = 80.0 + 15.0 * (fx / 25.0).sin();
            let sun = (fx - 120.0).powi(2) + (fy - 30.0).powi(2) < 15.0 * 15.0;
            let rgb = if sun {
                [255, 214, 90]
            } else if fy > hill {
                [(40.0 + fy * 0.3) as u8, (130.0 - (fy - hill)) as u8, 50]
            } else {
                [(110.0 + fy) as u8, (170.0 + fy * 0.5) as u8, 235]
            };
            pixels.extend(rgb);
        }
    }
    let mut jpg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpg, 85)
        .write_image(&pixels, W, H, ExtendedColorType::Rgb8)
        .expect("encode the JPEG");
    jpg
}

// ---------------------------------------------------------------------------------------
// DICOM

/// A 64x64 CT slice (16-bit MONOCHROME2, 12 bits stored, explicit VR little endian) with a
/// soft-tissue window; without its Pixel Data element when `with_pixels` is false.
pub fn ct_dcm(with_pixels: bool) -> Vec<u8> {
    const SIDE: u16 = 64;
    let text = |tag, vr, value: &str| DataElement::new(tag, vr, PrimitiveValue::from(value));
    let mut obj = InMemDicomObject::from_element_iter([
        text(tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 100"),
        text(tags::SOP_CLASS_UID, VR::UI, uids::CT_IMAGE_STORAGE),
        text(
            tags::SOP_INSTANCE_UID,
            VR::UI,
            "2.25.285241930815436390541512474526203918117",
        ),
        text(tags::STUDY_DATE, VR::DA, "20240514"),
        text(tags::STUDY_TIME, VR::TM, "091500"),
        text(tags::MODALITY, VR::CS, "CT"),
        text(tags::MANUFACTURER, VR::LO, "medwallet fixtures"),
        text(tags::INSTITUTION_NAME, VR::LO, "Northside General Hospital"),
        text(tags::STUDY_DESCRIPTION, VR::LO, "CT CHEST WITHOUT CONTRAST"),
        text(tags::PATIENT_NAME, VR::PN, "DOE^JANE"),
        text(tags::PATIENT_ID, VR::LO, "MW-000123"),
        text(tags::PATIENT_BIRTH_DATE, VR::DA, "19840312"),
        text(tags::PATIENT_SEX, VR::CS, "F"),
        text(tags::BODY_PART_EXAMINED, VR::CS, "CHEST"),
        text(
            tags::STUDY_INSTANCE_UID,
            VR::UI,
            "2.25.163091538155447297532181725434813095781",
        ),
        text(
            tags::SERIES_INSTANCE_UID,
            VR::UI,
            "2.25.301842740566297218634329906497421387022",
        ),
        DataElement::new(tags::SAMPLES_PER_PIXEL, VR::US, PrimitiveValue::from(1u16)),
        text(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2"),
        DataElement::new(tags::ROWS, VR::US, PrimitiveValue::from(SIDE)),
        DataElement::new(tags::COLUMNS, VR::US, PrimitiveValue::from(SIDE)),
        DataElement::new(tags::BITS_ALLOCATED, VR::US, PrimitiveValue::from(16u16)),
        DataElement::new(tags::BITS_STORED, VR::US, PrimitiveValue::from(12u16)),
        DataElement::new(tags::HIGH_BIT, VR::US, PrimitiveValue::from(11u16)),
        DataElement::new(
            tags::PIXEL_REPRESENTATION,
            VR::US,
            PrimitiveValue::from(0u16),
        ),
        text(tags::WINDOW_CENTER, VR::DS, "40"),
        text(tags::WINDOW_WIDTH, VR::DS, "400"),
        text(tags::RESCALE_INTERCEPT, VR::DS, "-1024"),
        text(tags::RESCALE_SLOPE, VR::DS, "1"),
    ]);
    if with_pixels {
        let pixels: Vec<u16> = ct_phantom(SIDE as usize);
        obj.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::OW,
            PrimitiveValue::U16(pixels.into()),
        ));
    }
    let file = obj
        .with_meta(
            FileMetaTableBuilder::new()
                .transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN)
                .implementation_class_uid("2.25.97648215338155371452946712303479125711")
                .implementation_version_name("MEDWALLET_FIX"),
        )
        .expect("a complete file meta group");
    let mut out = Vec::new();
    file.write_all(&mut out).expect("write the DICOM file");
    out
}

/// Stored values (HU + 1024) of a chest slice: air, body, lungs, spine.
pub fn ct_phantom(side: usize) -> Vec<u16> {
    let mut pixels = Vec::with_capacity(side * side);
    for y in 0..side {
        for x in 0..side {
            let (fx, fy) = (x as f32 / side as f32 - 0.5, y as f32 / side as f32 - 0.5);
            let hu: i32 = if (fx / 0.45).powi(2) + (fy / 0.35).powi(2) > 1.0 {
                -1000 // air
            } else if fx.abs() < 0.06 && (fy - 0.22).abs() < 0.08 {
                700 // vertebra
            } else if ((fx.abs() - 0.2) / 0.14).powi(2) + (fy / 0.22).powi(2) < 1.0 {
                -820 // lung
            } else {
                40 + ((x * 7 + y * 13) % 7) as i32 - 3 // soft tissue, a little noise
            };
            pixels.push((hu + 1024) as u16);
        }
    }
    pixels
}

// ---------------------------------------------------------------------------------------
// Video

/// An MP4 without frames: an `ftyp` box, a `free` box and an empty `mdat` box.
pub fn clip_mp4() -> Vec<u8> {
    let mut out = Vec::new();
    out.extend(24u32.to_be_bytes());
    out.extend(b"ftypisom");
    out.extend(0x200u32.to_be_bytes());
    out.extend(b"isomiso2");
    out.extend(8u32.to_be_bytes());
    out.extend(b"free");
    out.extend(8u32.to_be_bytes());
    out.extend(b"mdat");
    out
}

// ---------------------------------------------------------------------------------------
// Text

/// A short clinic note (UTF-8).
pub const NOTE_TXT: &str = "Clinic note - 2024-05-14
Northside General Hospital, diabetes clinic

Patient: Jane Doe (MW-000123), born 1984-03-12

Seen for the 6-month review of type 2 diabetes and hypertension.
Feels well. No hypoglycaemia. Temperature 36.8 °C, BP 128/82 mmHg, weight 72.5 kg.
HbA1c 6.8 % (was 7.4 % in November): improving.

Plan:
- continue metformin 500 mg twice a day with meals
- continue lisinopril 10 mg once a day
- penicillin allergy (hives) noted again
- next review in 6 months, with fasting lipids

Dr. A. Smith
";

/// A FHIR R4 bundle: a patient, 2 conditions, 2 medication statements, an allergy,
/// 3 observations (one with components) and an encounter.
pub const SUMMARY_FHIR_JSON: &str = r#"{
  "resourceType": "Bundle",
  "id": "medwallet-sample-summary",
  "type": "collection",
  "timestamp": "2024-05-14T15:42:00Z",
  "entry": [
    {
      "fullUrl": "urn:uuid:6b8f3c1e-2d4a-4f6b-9c1e-7a2b3c4d5e6f",
      "resource": {
        "resourceType": "Patient",
        "id": "jane-doe",
        "identifier": [{ "system": "urn:oid:2.16.840.1.113883.2.4.6.3", "value": "MW-000123" }],
        "name": [
          { "use": "nickname", "given": ["Janie"] },
          { "use": "official", "family": "Doe", "given": ["Jane", "Marie"] }
        ],
        "gender": "female",
        "birthDate": "1984-03-12"
      }
    },
    {
      "resource": {
        "resourceType": "Condition",
        "id": "diabetes",
        "clinicalStatus": {
          "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active" }]
        },
        "code": {
          "coding": [{ "system": "http://snomed.info/sct", "code": "44054006", "display": "Diabetes mellitus type 2" }],
          "text": "Type 2 diabetes mellitus"
        },
        "subject": { "reference": "Patient/jane-doe" },
        "onsetDateTime": "2019-06-01"
      }
    },
    {
      "resource": {
        "resourceType": "Condition",
        "id": "hypertension",
        "clinicalStatus": {
          "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active" }]
        },
        "code": {
          "coding": [{ "system": "http://snomed.info/sct", "code": "38341003", "display": "Essential hypertension" }]
        },
        "subject": { "reference": "Patient/jane-doe" },
        "onsetDateTime": "2021-02-15"
      }
    },
    {
      "resource": {
        "resourceType": "MedicationStatement",
        "id": "metformin",
        "status": "active",
        "medicationCodeableConcept": {
          "coding": [{ "system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "861007", "display": "Metformin 500 mg oral tablet" }]
        },
        "subject": { "reference": "Patient/jane-doe" },
        "dosage": [{ "text": "500 mg twice a day with meals" }]
      }
    },
    {
      "resource": {
        "resourceType": "MedicationStatement",
        "id": "lisinopril",
        "status": "active",
        "medicationCodeableConcept": {
          "coding": [{ "system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "314076", "display": "Lisinopril 10 mg oral tablet" }],
          "text": "Lisinopril 10 mg"
        },
        "subject": { "reference": "Patient/jane-doe" },
        "dosage": [{ "text": "10 mg once a day" }]
      }
    },
    {
      "resource": {
        "resourceType": "AllergyIntolerance",
        "id": "penicillin",
        "clinicalStatus": {
          "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active" }]
        },
        "criticality": "high",
        "code": {
          "coding": [{ "system": "http://snomed.info/sct", "code": "91936005", "display": "Allergy to penicillin" }],
          "text": "Penicillin"
        },
        "patient": { "reference": "Patient/jane-doe" },
        "reaction": [
          { "manifestation": [{ "coding": [{ "system": "http://snomed.info/sct", "code": "247472004", "display": "Hives" }] }] }
        ]
      }
    },
    {
      "resource": {
        "resourceType": "Observation",
        "id": "hba1c",
        "status": "final",
        "code": {
          "coding": [{ "system": "http://loinc.org", "code": "4548-4", "display": "Hemoglobin A1c/Hemoglobin.total in Blood" }],
          "text": "HbA1c"
        },
        "subject": { "reference": "Patient/jane-doe" },
        "effectiveDateTime": "2024-05-14",
        "valueQuantity": { "value": 6.8, "unit": "%", "system": "http://unitsofmeasure.org", "code": "%" }
      }
    },
    {
      "resource": {
        "resourceType": "Observation",
        "id": "weight",
        "status": "final",
        "code": {
          "coding": [{ "system": "http://loinc.org", "code": "29463-7", "display": "Body weight" }]
        },
        "subject": { "reference": "Patient/jane-doe" },
        "effectiveDateTime": "2024-05-14T09:05:00+02:00",
        "valueQuantity": { "value": 72.5, "system": "http://unitsofmeasure.org", "code": "kg" }
      }
    },
    {
      "resource": {
        "resourceType": "Observation",
        "id": "blood-pressure",
        "status": "final",
        "code": {
          "coding": [{ "system": "http://loinc.org", "code": "85354-9", "display": "Blood pressure panel" }],
          "text": "Blood pressure"
        },
        "subject": { "reference": "Patient/jane-doe" },
        "effectiveDateTime": "2024-05-14",
        "component": [
          {
            "code": { "coding": [{ "system": "http://loinc.org", "code": "8480-6", "display": "Systolic blood pressure" }] },
            "valueQuantity": { "value": 128, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]" }
          },
          {
            "code": { "coding": [{ "system": "http://loinc.org", "code": "8462-4", "display": "Diastolic blood pressure" }] },
            "valueQuantity": { "value": 82, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]" }
          }
        ]
      }
    },
    {
      "resource": {
        "resourceType": "Encounter",
        "id": "review-2024-05",
        "status": "finished",
        "class": { "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB", "display": "ambulatory" },
        "subject": { "reference": "Patient/jane-doe" },
        "period": { "start": "2024-05-14T09:00:00+02:00", "end": "2024-05-14T09:30:00+02:00" }
      }
    }
  ]
}
"#;
