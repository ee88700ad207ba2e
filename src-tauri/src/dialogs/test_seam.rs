//! The dialogs' test seam, compiled into debug builds only (see `super`): the end-to-end
//! tests cannot drive GTK's dialogs, so with `MEDWALLET_TEST_DIALOG_DIR` set, a dialog
//! answers the oldest answer the harness queued in that folder. An answer is a file
//! `<sequence>.answer` holding one path per line (empty: the dialog was cancelled); it is
//! removed once read. The paths come from that folder only, never from the webview, and
//! are registered as tokens exactly as a real dialog's answer is.

use std::path::{Path, PathBuf};

/// The folder of queued answers.
const DIR_ENV: &str = "MEDWALLET_TEST_DIALOG_DIR";

/// The next queued answer, if the seam is on (`None`: show the real dialog). With the
/// seam on and nothing queued, the dialog is cancelled (a test never waits on GTK).
pub fn next_answer() -> Option<Vec<PathBuf>> {
    let dir = PathBuf::from(std::env::var_os(DIR_ENV)?);
    Some(take_oldest(&dir).unwrap_or_else(|| {
        tracing::warn!("dialog test seam: no answer queued; the dialog is cancelled");
        Vec::new()
    }))
}

/// Logs, at start, that the seam is on.
pub fn note() {
    if std::env::var_os(DIR_ENV).is_some() {
        tracing::warn!("dialog test seam on (debug build): dialogs answer queued files");
    }
}

fn take_oldest(dir: &Path) -> Option<Vec<PathBuf>> {
    let mut queued: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "answer"))
        .collect();
    queued.sort();
    let oldest = queued.into_iter().next()?;
    let text = std::fs::read_to_string(&oldest).ok()?;
    std::fs::remove_file(&oldest).ok()?;
    Some(
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(PathBuf::from)
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_taken_oldest_first_and_once() {
        let dir = std::env::temp_dir().join(format!("medwallet-seam-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("000002.answer"), "/b\n").unwrap();
        std::fs::write(dir.join("000001.answer"), "/a/one.pdf\n/a/two.png\n").unwrap();
        std::fs::write(dir.join("000003.answer"), "").unwrap();
        assert_eq!(
            take_oldest(&dir),
            Some(vec![
                PathBuf::from("/a/one.pdf"),
                PathBuf::from("/a/two.png")
            ])
        );
        assert_eq!(take_oldest(&dir), Some(vec![PathBuf::from("/b")]));
        assert_eq!(take_oldest(&dir), Some(vec![]), "a cancelled dialog");
        assert_eq!(take_oldest(&dir), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
