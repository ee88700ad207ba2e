//! Records: add (with progress), list, open and verify, save a decrypted copy.
//!
//! Display data only. [`RecordView`] carries what the user asked to see of one record they
//! opened (an image, rendered PDF pages, text, a FHIR summary, a DICOM image and its tags):
//! never a key, never a file the user did not open.

use serde::{Deserialize, Serialize};

/// What a record is about (FHIR DocumentReference `category`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Laboratory results.
    LabResult,
    /// Imaging: X-ray, CT, MRI, ultrasound, photos.
    Imaging,
    /// A clinical note or letter.
    Note,
    /// A prescription.
    Prescription,
    /// A discharge summary.
    DischargeSummary,
    /// Vaccinations (FHIR Immunization).
    Immunisation,
    /// Anything else.
    Other,
}

impl Category {
    /// Every category, in the order the UI offers them.
    pub const ALL: [Category; 7] = [
        Category::LabResult,
        Category::Imaging,
        Category::Note,
        Category::Prescription,
        Category::DischargeSummary,
        Category::Immunisation,
        Category::Other,
    ];

    /// Wire name (`lab_result`).
    pub fn as_str(self) -> &'static str {
        match self {
            Category::LabResult => "lab_result",
            Category::Imaging => "imaging",
            Category::Note => "note",
            Category::Prescription => "prescription",
            Category::DischargeSummary => "discharge_summary",
            Category::Immunisation => "immunisation",
            Category::Other => "other",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// For people (`Lab result`).
    pub fn label(self) -> &'static str {
        match self {
            Category::LabResult => "Lab result",
            Category::Imaging => "Imaging",
            Category::Note => "Note",
            Category::Prescription => "Prescription",
            Category::DischargeSummary => "Discharge summary",
            Category::Immunisation => "Immunisation",
            Category::Other => "Other",
        }
    }
}

/// The kind of content, from its bytes (not its name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContentKind {
    /// PDF document.
    Pdf,
    /// PNG, JPEG, GIF or WebP image.
    Image,
    /// DICOM file.
    Dicom,
    /// FHIR resource or bundle (JSON).
    Fhir,
    /// Plain text (UTF-8).
    Text,
    /// Video (MP4, WebM, ...).
    Video,
    /// Anything else: it can be saved, not shown.
    Other,
}

impl ContentKind {
    /// For people.
    pub fn label(self) -> &'static str {
        match self {
            ContentKind::Pdf => "PDF",
            ContentKind::Image => "Image",
            ContentKind::Dicom => "DICOM",
            ContentKind::Fhir => "FHIR",
            ContentKind::Text => "Text",
            ContentKind::Video => "Video",
            ContentKind::Other => "File",
        }
    }
}

/// Where a record is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RecordStatus {
    /// Encrypted and kept on this device; it goes to IPFS when the node answers.
    LocalOnly {
        /// Why it is not on IPFS yet, in words.
        reason: String,
    },
    /// Being uploaded now.
    Pending,
    /// Stored and pinned on the IPFS node; the CIDs were checked.
    OnIpfs,
}

/// One record in the list (decrypted metadata; the content stays encrypted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordSummary {
    /// Record id (`0x` + 64 hex): pseudonymous, the same on the ledger.
    pub id: String,
    /// Version, from 1.
    pub version: u32,
    /// Title.
    pub title: String,
    /// Category.
    pub category: Category,
    /// Date of the document, `YYYY-MM-DD`.
    pub date: String,
    /// Who wrote it.
    pub author: String,
    /// Original file name.
    pub file_name: String,
    /// MIME type.
    pub mime_type: String,
    /// Kind of content.
    pub kind: ContentKind,
    /// Plaintext size in bytes.
    pub size: u64,
    /// Where it is.
    pub status: RecordStatus,
    /// The content's CID (of the encrypted bytes).
    pub content_cid: String,
    /// When it was added (RFC 3339).
    pub added_at: String,
    /// Its registration on the ledger.
    pub ledger: LedgerMark,
    /// The clinic that made this record for the patient at its front desk (EIP-55), as
    /// the ledger's `RecordUploaded` names it; `None` for records the patient added.
    #[serde(default)]
    pub uploaded_by: Option<String>,
    /// The name the consortium attested for that clinic when the record was taken in
    /// (`None`: unverified).
    #[serde(default)]
    pub uploaded_by_name: Option<String>,
    /// Which IPFS nodes hold the latest version (this wallet's node and the replicas
    /// that confirmed a pin); `None` until it is on IPFS.
    #[serde(default)]
    pub copies: Option<Copies>,
}

/// Which of the wallet's records `list_records` answers: one page of those that match,
/// in the page's order (by category, in [`Category::ALL`] order, then newest document
/// date first, then newest added).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordQuery {
    /// Text the title contains (case-insensitive, trimmed; empty: every record; at most
    /// [`RecordQuery::MAX_SEARCH`] characters).
    #[serde(default)]
    pub search: String,
    /// One category (`None`: all).
    #[serde(default)]
    pub category: Option<Category>,
    /// The first match to answer, from 0.
    #[serde(default)]
    pub offset: u32,
    /// How many to answer at most (at most [`RecordQuery::MAX_LIMIT`]; 0: only the counts).
    #[serde(default)]
    pub limit: u32,
}

impl RecordQuery {
    /// The largest page answered.
    pub const MAX_LIMIT: u32 = 500;

    /// The longest search, in characters (a title has at most 200).
    pub const MAX_SEARCH: usize = 256;

    /// The first `limit` records that match `search`.
    pub fn search(search: &str, limit: u32) -> Self {
        Self {
            search: search.to_owned(),
            limit,
            ..Self::default()
        }
    }
}

/// How many records of one category match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryCount {
    /// The category.
    pub category: Category,
    /// Its records that match the query.
    pub count: u32,
}

/// The answer of `list_records`: one page of the records that match, how many match, and
/// what the page says about all of the wallet's records.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordPage {
    /// The page, in the query's order.
    pub records: Vec<RecordSummary>,
    /// The position of the first one among the matches (the query's offset).
    pub offset: u32,
    /// How many records match the query.
    pub matching: u32,
    /// How many match in each category (only categories with matches, in
    /// [`Category::ALL`] order).
    pub by_category: Vec<CategoryCount>,
    /// How many records the wallet has.
    pub total: u32,
    /// Records kept on this device only, not uploading now.
    pub local_only: u32,
    /// Records being uploaded now.
    pub uploading: u32,
    /// Why the newest record kept on this device waits.
    pub local_reason: Option<String>,
    /// Records on IPFS that only one node holds (no replica confirmed a copy).
    pub single_copy: u32,
    /// How many nodes should hold each record: this wallet's node and every replica in
    /// Settings.
    pub copies_of: u32,
}

/// Where a record's latest version is kept: "2 of 3 copies".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Copies {
    /// The nodes that hold it (RPC URLs), this wallet's own node first.
    pub held_by: Vec<String>,
    /// How many nodes should: this wallet's node and every replica in Settings.
    pub of: u32,
    /// The replicas that do not hold it yet, with why when one failed.
    pub waiting: Vec<CopyWaiting>,
}

/// A replica that does not hold a record yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyWaiting {
    /// Its RPC URL.
    pub node: String,
    /// Why its last attempt failed; `None` when it simply has not been asked yet.
    pub problem: Option<String>,
}

/// Whether a record version is registered on the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum LedgerMark {
    /// Not yet: it is registered once it is on IPFS and the ledger node answers.
    Pending {
        /// Why it waits, in words.
        reason: String,
    },
    /// Registered by this transaction.
    Registered {
        /// Block number.
        block_number: u64,
        /// Transaction hash.
        tx_hash: String,
    },
}

/// A file the user chose, with proposed metadata (from `inspect_files`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDraft {
    /// The file, as the shell handed it out.
    pub file: crate::FileToken,
    /// File name.
    pub file_name: String,
    /// Size in bytes.
    pub size: u64,
    /// Kind, from the first bytes.
    pub kind: ContentKind,
    /// MIME type.
    pub mime_type: String,
    /// Proposed metadata; the user may change it.
    pub metadata: RecordMetadata,
}

/// A file that cannot be added, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedFile {
    /// The file, as the shell handed it out.
    pub file: crate::FileToken,
    /// Its name, for display.
    pub file_name: String,
    /// What is wrong and what to do.
    pub error: crate::UserError,
}

/// The answer of `inspect_files`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inspection {
    /// Files that can be added.
    pub drafts: Vec<FileDraft>,
    /// Files that cannot.
    pub refused: Vec<RefusedFile>,
}

/// The metadata the user sets for a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordMetadata {
    /// Title.
    pub title: String,
    /// Category.
    pub category: Category,
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Who wrote it.
    pub author: String,
}

/// A stage of adding a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddStage {
    /// Reading and encrypting the file on this device.
    Encrypting,
    /// Sending the encrypted bytes to the IPFS node.
    Uploading,
    /// Asking the node to keep (pin) them.
    Pinning,
    /// Done: on IPFS.
    Done,
    /// Kept on this device; it will be uploaded when the node answers.
    Queued,
}

impl AddStage {
    /// For people.
    pub fn label(self) -> &'static str {
        match self {
            AddStage::Encrypting => "Encrypting",
            AddStage::Uploading => "Uploading",
            AddStage::Pinning => "Pinning",
            AddStage::Done => "Done",
            AddStage::Queued => "Saved on this device, waiting for the IPFS node",
        }
    }
}

/// Progress of one `add_record`, sent on its channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddProgress {
    /// The job, as given in the arguments.
    pub job_id: String,
    /// The stage.
    pub stage: AddStage,
    /// Bytes done in this stage.
    pub done: u64,
    /// Bytes in this stage.
    pub total: u64,
}

/// What the open check verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    /// Content CID, recomputed from the bytes read.
    pub content_cid: String,
    /// Manifest CID, recomputed.
    pub manifest_cid: String,
    /// Capsule CID, recomputed.
    pub capsule_cid: String,
    /// Authenticated chunks of the content stream.
    pub chunks: u64,
    /// Where the bytes came from: `"ipfs"` or `"this device"`.
    pub source: String,
}

/// One entry of a FHIR summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FhirItem {
    /// What (a condition, a medication, an observation's name).
    pub text: String,
    /// Details: value and unit, status, dates.
    pub detail: Option<String>,
}

/// A readable summary of FHIR JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FhirSummary {
    /// The resource type at the top (`Bundle`, `Patient`, ...).
    pub resource_type: String,
    /// The patient: name, birth date, gender, as one line.
    pub patient: Option<String>,
    /// Conditions.
    pub conditions: Vec<FhirItem>,
    /// Medications.
    pub medications: Vec<FhirItem>,
    /// Allergies and intolerances.
    pub allergies: Vec<FhirItem>,
    /// Observations (with value and unit).
    pub observations: Vec<FhirItem>,
    /// The other clinical resources, readable, by kind (`Immunisations`, `Procedures`,
    /// `Reports`, a document's sections, ...), in the order the UI shows them.
    #[serde(default)]
    pub sections: Vec<FhirSection>,
    /// Resources that have nothing readable, by type and count (`Binary × 2`).
    pub other: Vec<String>,
}

/// A titled list of a FHIR summary (`Immunisations`, or one section of a document).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FhirSection {
    /// The heading.
    pub title: String,
    /// Its entries.
    pub items: Vec<FhirItem>,
}

/// One DICOM tag for display.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DicomTag {
    /// `(0010,0010)`.
    pub tag: String,
    /// `Patient's Name`.
    pub name: String,
    /// Its value, as text.
    pub value: String,
}

/// What the app shows of an opened record. Images are `data:` URLs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RecordView {
    /// An image.
    Image {
        /// `data:image/...;base64,...`.
        data_url: String,
    },
    /// A paged document (a PDF, or a TIFF scan of several pages), rendered page by page on
    /// this device.
    Pdf {
        /// The first pages, as PNG `data:` URLs.
        pages: Vec<String>,
        /// How many pages the document has.
        page_count: u32,
    },
    /// Text.
    Text {
        /// The text (the start of it when long).
        text: String,
        /// Whether it was cut.
        truncated: bool,
    },
    /// FHIR JSON as a readable summary.
    Fhir {
        /// The summary.
        summary: FhirSummary,
    },
    /// DICOM: the image (when it can be decoded) and its main tags.
    Dicom {
        /// The first frame as a PNG `data:` URL.
        image: Option<String>,
        /// Why there is no image, when there is none.
        image_problem: Option<String>,
        /// Main tags.
        tags: Vec<DicomTag>,
    },
    /// Not shown in the app; it can be saved decrypted.
    SaveOnly {
        /// Why it is not shown.
        reason: String,
    },
}

/// The answer of `open_record`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenedRecord {
    /// The record.
    pub record: RecordSummary,
    /// What was checked.
    pub verification: Verification,
    /// What to show.
    pub view: RecordView,
}

/// The answer of `save_record_copy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedCopy {
    /// Where the decrypted copy was written.
    pub path: String,
    /// Bytes written.
    pub size: u64,
}

/// The answer of `sync_records`: the outbox after one pass.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncReport {
    /// Records uploaded by this pass.
    pub uploaded: u32,
    /// Records still waiting.
    pub waiting: u32,
    /// Why they wait, when the node failed.
    pub problem: Option<String>,
}
