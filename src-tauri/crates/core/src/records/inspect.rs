//! Checking files before they are added, and proposing their metadata.

use std::io::Read;
use std::path::Path;

use medwallet_api::{
    Category, ContentKind, FileDraft, FileToken, Inspection, RecordMetadata, RefusedFile,
};

use crate::error::{CoreError, RecordsError};

/// How much of a file is read to tell its kind.
const SNIFF_LEN: usize = 4096;

/// Checks each file (the token the shell handed out for it, and its path) and proposes
/// metadata; `author` is the default author. The answer names each file by its token.
pub fn inspect(files: &[(FileToken, String)], author: &str) -> Inspection {
    let mut out = Inspection::default();
    for (file, path) in files {
        match draft(file, path, author) {
            Ok(draft) => out.drafts.push(draft),
            Err(error) => out.refused.push(RefusedFile {
                file: file.clone(),
                file_name: name_of(path),
                error: error.into(),
            }),
        }
    }
    out
}

/// The last part of `path`, for showing.
fn name_of(path: &str) -> String {
    Path::new(path.trim())
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_owned())
}

/// A file the user chose that cannot be read.
pub(crate) fn unreadable(path: &Path, source: std::io::Error) -> CoreError {
    CoreError::FileUnreadable {
        path: path.to_owned(),
        source,
    }
}

fn draft(file: &FileToken, path: &str, author: &str) -> Result<FileDraft, CoreError> {
    let p = Path::new(path.trim());
    if path.trim().is_empty() {
        return Err(RecordsError::NoFile.into());
    }
    let meta = std::fs::metadata(p).map_err(|e| unreadable(p, e))?;
    if meta.is_dir() {
        return Err(RecordsError::IsFolder { path: p.to_owned() }.into());
    }
    if meta.len() == 0 {
        return Err(RecordsError::EmptyFile { path: p.to_owned() }.into());
    }
    let mut head = Vec::with_capacity(SNIFF_LEN);
    std::fs::File::open(p)
        .and_then(|f| f.take(SNIFF_LEN as u64).read_to_end(&mut head))
        .map_err(|e| unreadable(p, e))?;
    let file_name = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_owned());
    let (kind, mime) = medwallet_preview::sniff(&head, &file_name);
    let date = meta
        .modified()
        .ok()
        .map(|t| chrono::DateTime::<chrono::Local>::from(t).date_naive())
        .unwrap_or_else(|| chrono::Local::now().date_naive())
        .format("%Y-%m-%d")
        .to_string();
    Ok(FileDraft {
        file: file.clone(),
        size: meta.len(),
        kind,
        mime_type: mime.to_owned(),
        metadata: RecordMetadata {
            title: title_from(&file_name),
            category: guess_category(kind, &file_name, &head),
            date,
            author: author.to_owned(),
        },
        file_name,
    })
}

/// `blood_test-2026.pdf` -> `Blood test 2026`.
fn title_from(file_name: &str) -> String {
    let stem = match file_name.find('.') {
        Some(0) | None => file_name,
        Some(i) => &file_name[..i],
    };
    let words: Vec<&str> = stem
        .split(|c: char| c == '_' || c == '-' || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .collect();
    let mut title = words.join(" ");
    if let Some(first) = title.chars().next() {
        let upper: String = first.to_uppercase().collect();
        title.replace_range(..first.len_utf8(), &upper);
    }
    if title.is_empty() {
        file_name.to_owned()
    } else {
        title
    }
}

/// What the content says first (a FHIR immunisation, a radiology report), then words of
/// the name, then the kind.
fn guess_category(kind: ContentKind, file_name: &str, head: &[u8]) -> Category {
    if let Some(category) = medwallet_preview::guess_category(head, kind) {
        return category;
    }
    let name = file_name.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| name.contains(w));
    if has(&["discharge"]) {
        Category::DischargeSummary
    } else if has(&["prescription", "rx"]) {
        Category::Prescription
    } else if has(&["lab", "blood", "result", "panel"]) {
        Category::LabResult
    } else {
        match kind {
            ContentKind::Image | ContentKind::Dicom | ContentKind::Video => Category::Imaging,
            ContentKind::Pdf | ContentKind::Text => Category::Note,
            // FHIR whose head names no clinical resource.
            ContentKind::Fhir => Category::Note,
            ContentKind::Other => Category::Other,
        }
    }
}

/// Checks metadata the user set; answers it cleaned up.
pub fn validate(metadata: &RecordMetadata) -> Result<RecordMetadata, CoreError> {
    let title = metadata.title.trim();
    if title.is_empty() {
        return Err(RecordsError::NoTitle.into());
    }
    if title.chars().count() > 200 {
        return Err(RecordsError::TitleTooLong.into());
    }
    if chrono::NaiveDate::parse_from_str(&metadata.date, "%Y-%m-%d").is_err() {
        return Err(RecordsError::NotADate {
            text: metadata.date.clone(),
        }
        .into());
    }
    let author = metadata.author.trim();
    if author.chars().count() > 200 {
        return Err(RecordsError::AuthorTooLong.into());
    }
    Ok(RecordMetadata {
        title: title.to_owned(),
        category: metadata.category,
        date: metadata.date.clone(),
        author: author.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_come_from_file_names() {
        assert_eq!(title_from("blood_test-2026.pdf"), "Blood test 2026");
        assert_eq!(title_from("xray.png"), "Xray");
        assert_eq!(title_from(".hidden"), ".hidden");
        assert_eq!(title_from("ärztebrief.txt"), "Ärztebrief");
    }

    #[test]
    fn empty_missing_and_folder_paths_are_refused_with_reasons() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pdf");
        std::fs::write(&empty, b"").unwrap();
        let good = dir.path().join("lab_panel.txt");
        std::fs::write(&good, b"glucose 5.4 mmol/L").unwrap();
        let paths: Vec<String> = [
            empty.clone(),
            dir.path().join("gone.pdf"),
            dir.path().to_owned(),
            good.clone(),
        ]
        .iter()
        .map(|p| p.display().to_string())
        .collect();
        let token = |i: usize| FileToken(format!("t{i}"));
        let files: Vec<(FileToken, String)> = paths
            .iter()
            .enumerate()
            .map(|(i, p)| (token(i), p.clone()))
            .collect();
        let out = inspect(&files, "Ada");
        assert_eq!(out.drafts.len(), 1);
        let draft = &out.drafts[0];
        assert_eq!(draft.file, token(3), "named by its token");
        assert_eq!(draft.file_name, "lab_panel.txt");
        assert_eq!(draft.kind, ContentKind::Text);
        assert_eq!(draft.metadata.category, Category::LabResult);
        assert_eq!(draft.metadata.author, "Ada");
        assert_eq!(draft.size, 18);
        // Each refusal is named as data...
        assert!(matches!(
            super::draft(&token(0), &paths[0], "Ada"),
            Err(CoreError::Records(RecordsError::EmptyFile { path })) if path == empty
        ));
        assert!(matches!(
            super::draft(&token(1), &paths[1], "Ada"),
            Err(CoreError::FileUnreadable { path, source })
                if path == dir.path().join("gone.pdf") && source.kind() == std::io::ErrorKind::NotFound
        ));
        assert!(matches!(
            super::draft(&token(2), &paths[2], "Ada"),
            Err(CoreError::Records(RecordsError::IsFolder { path })) if path == dir.path()
        ));
        assert!(matches!(
            super::draft(&token(9), " ", "Ada"),
            Err(CoreError::Records(RecordsError::NoFile))
        ));
        // ...and the inspection, an IPC answer, carries its words for each file, named by
        // its token and its name (not its path).
        let refused: Vec<(&str, &str)> = out
            .refused
            .iter()
            .map(|r| (r.file.as_str(), r.error.message.as_str()))
            .collect();
        assert_eq!(refused.len(), 3, "{refused:?}");
        assert_eq!(refused[0].0, "t0");
        assert_eq!(out.refused[0].file_name, "empty.pdf");
        assert!(refused[0].1.contains("is empty (0 bytes)"), "{refused:?}");
        assert!(refused[1].1.contains("does not exist"), "{refused:?}");
        assert!(refused[2].1.contains("is a folder"), "{refused:?}");
        assert!(out.refused.iter().all(|r| r.error.hint.is_some()));
    }

    #[test]
    fn the_content_guesses_the_category_before_the_name() {
        let dir = tempfile::tempdir().unwrap();
        let cases: [(&str, &[u8], Category); 4] = [
            (
                "flu.json",
                br#"{"resourceType": "Immunization"}"#,
                Category::Immunisation,
            ),
            // The content outweighs a word of the name.
            (
                "results.json",
                br#"{"resourceType": "MedicationRequest"}"#,
                Category::Prescription,
            ),
            (
                "patient.json",
                br#"{"resourceType": "Patient"}"#,
                Category::Note,
            ),
            ("lab_panel.txt", b"glucose 5.4 mmol/L", Category::LabResult),
        ];
        for (i, (name, bytes, category)) in cases.into_iter().enumerate() {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            let draft = super::draft(
                &FileToken(format!("t{i}")),
                &path.display().to_string(),
                "Ada",
            )
            .unwrap();
            assert_eq!(draft.metadata.category, category, "{name}");
        }
    }

    #[test]
    fn metadata_is_checked() {
        let ok = RecordMetadata {
            title: "  Blood test ".into(),
            category: Category::LabResult,
            date: "2026-03-01".into(),
            author: "Dr. Who".into(),
        };
        assert_eq!(validate(&ok).unwrap().title, "Blood test");
        let mut bad = ok.clone();
        bad.title = " ".into();
        assert!(matches!(
            validate(&bad),
            Err(CoreError::Records(RecordsError::NoTitle))
        ));
        let mut bad = ok;
        bad.date = "01/03/2026".into();
        assert!(matches!(
            validate(&bad),
            Err(CoreError::Records(RecordsError::NotADate { text })) if text == "01/03/2026"
        ));
    }
}
