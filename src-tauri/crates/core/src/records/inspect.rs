//! Checking files before they are added, and proposing their metadata.

use std::io::Read;
use std::path::Path;

use medwallet_api::{
    Category, ContentKind, FileDraft, Inspection, RecordMetadata, RefusedFile, UserError,
};

/// How much of a file is read to tell its kind.
const SNIFF_LEN: usize = 4096;

/// Checks each path and proposes metadata; `author` is the default author.
pub fn inspect(paths: &[String], author: &str) -> Inspection {
    let mut out = Inspection::default();
    for path in paths {
        match draft(path, author) {
            Ok(draft) => out.drafts.push(draft),
            Err(error) => out.refused.push(RefusedFile {
                path: path.clone(),
                error,
            }),
        }
    }
    out
}

/// Why a file cannot be read, in words.
pub fn unreadable(path: &Path, error: &std::io::Error) -> UserError {
    let shown = path.display();
    match error.kind() {
        std::io::ErrorKind::NotFound => UserError::new(
            format!("The file {shown} does not exist (any more)."),
            "Check the path, or choose the file again.",
        ),
        std::io::ErrorKind::PermissionDenied => UserError::new(
            format!("medwallet may not read {shown} (permission denied)."),
            "Check the file's permissions, or copy it somewhere you can read it.",
        ),
        _ => UserError::new(
            format!("{shown} cannot be read: {error}."),
            "Check that the file and its disk are still there, then try again.",
        ),
    }
}

fn draft(path: &str, author: &str) -> Result<FileDraft, UserError> {
    let p = Path::new(path.trim());
    if path.trim().is_empty() {
        return Err(UserError::new(
            "No file was given.",
            "Type or paste the full path of a file, or choose it with Add records….",
        ));
    }
    let meta = std::fs::metadata(p).map_err(|e| unreadable(p, &e))?;
    if meta.is_dir() {
        return Err(UserError::new(
            format!("{} is a folder, not a file.", p.display()),
            "Choose the files inside it.",
        ));
    }
    if meta.len() == 0 {
        return Err(UserError::new(
            format!("{} is empty (0 bytes).", p.display()),
            "Choose the file that holds the record; an empty file has nothing to keep.",
        ));
    }
    let mut head = Vec::with_capacity(SNIFF_LEN);
    std::fs::File::open(p)
        .and_then(|f| f.take(SNIFF_LEN as u64).read_to_end(&mut head))
        .map_err(|e| unreadable(p, &e))?;
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
        path: path.to_owned(),
        size: meta.len(),
        kind,
        mime_type: mime.to_owned(),
        metadata: RecordMetadata {
            title: title_from(&file_name),
            category: guess_category(kind, &file_name),
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

fn guess_category(kind: ContentKind, file_name: &str) -> Category {
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
            ContentKind::Fhir => Category::LabResult,
            ContentKind::Other => Category::Other,
        }
    }
}

/// Checks metadata the user set; answers it cleaned up.
pub fn validate(metadata: &RecordMetadata) -> Result<RecordMetadata, UserError> {
    let title = metadata.title.trim();
    if title.is_empty() {
        return Err(UserError::new(
            "The record needs a title.",
            "Give it a title you will recognise, such as \"Blood test, March\".",
        ));
    }
    if title.chars().count() > 200 {
        return Err(UserError::new(
            "The title is longer than 200 characters.",
            "Shorten it; details belong in the file itself.",
        ));
    }
    if chrono::NaiveDate::parse_from_str(&metadata.date, "%Y-%m-%d").is_err() {
        return Err(UserError::new(
            format!("\"{}\" is not a date.", metadata.date),
            "Use the date picker, or write it as YYYY-MM-DD.",
        ));
    }
    let author = metadata.author.trim();
    if author.chars().count() > 200 {
        return Err(UserError::new(
            "The author is longer than 200 characters.",
            "Shorten it.",
        ));
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
        let out = inspect(&paths, "Ada");
        assert_eq!(out.drafts.len(), 1);
        let draft = &out.drafts[0];
        assert_eq!(draft.kind, ContentKind::Text);
        assert_eq!(draft.metadata.category, Category::LabResult);
        assert_eq!(draft.metadata.author, "Ada");
        assert_eq!(draft.size, 18);
        let messages: Vec<&str> = out
            .refused
            .iter()
            .map(|r| r.error.message.as_str())
            .collect();
        assert!(messages[0].contains("is empty (0 bytes)"), "{messages:?}");
        assert!(messages[1].contains("does not exist"), "{messages:?}");
        assert!(messages[2].contains("is a folder"), "{messages:?}");
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
        assert!(validate(&bad).is_err());
        let mut bad = ok;
        bad.date = "01/03/2026".into();
        assert!(validate(&bad)
            .unwrap_err()
            .message
            .contains("is not a date"));
    }
}
