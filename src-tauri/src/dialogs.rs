//! The app's own file dialogs (tauri's dialog plugin, used from Rust only): the one
//! place, with the window's file drops, where a path enters the app. Commands register
//! what they answer in [`crate::paths`] and hand the webview tokens.
//!
//! Debug builds have a test seam (`test_seam`, compiled only with `debug_assertions`):
//! with `MEDWALLET_TEST_DIALOG_DIR` set, a dialog answers the next file the end-to-end
//! harness queued in that folder instead of opening GTK. A release build has no such
//! code (and says in the log that it ignores the variable).

use std::path::PathBuf;

use medwallet_api::UserError;
use tauri_plugin_dialog::DialogExt;

#[cfg(debug_assertions)]
mod test_seam;

/// An open dialog: its title, an optional filter, one file or several.
pub struct Open {
    /// The dialog's title.
    pub title: &'static str,
    /// `(name, extensions)` of the files shown.
    pub filter: Option<(&'static str, &'static [&'static str])>,
    /// Several files may be chosen.
    pub many: bool,
}

/// A system dialog failed to open or answer.
pub fn failed(error: impl std::fmt::Display) -> UserError {
    UserError::new(format!("The dialog failed: {error}."), "Try again.")
}

/// Shows the open dialog `open` for one file and hands it out as a token to open (none
/// if cancelled).
pub async fn pick_one(
    app: &tauri::AppHandle,
    paths: &crate::paths::PathTokens,
    open: Open,
) -> Result<Option<medwallet_api::ChosenFile>, UserError> {
    pick(
        app,
        Open {
            many: false,
            ..open
        },
    )
    .await?
    .into_iter()
    .next()
    .map(|path| paths.hand_out(path, crate::paths::Use::Open))
    .transpose()
}

/// Shows the open dialog `open`; answers the chosen files (none if cancelled).
pub async fn pick(app: &tauri::AppHandle, open: Open) -> Result<Vec<PathBuf>, UserError> {
    #[cfg(debug_assertions)]
    if let Some(answer) = test_seam::next_answer() {
        return Ok(if open.many {
            answer
        } else {
            answer.into_iter().take(1).collect()
        });
    }
    let app = app.clone();
    let picked = tokio::task::spawn_blocking(move || {
        let mut dialog = app.dialog().file().set_title(open.title);
        if let Some((name, extensions)) = open.filter {
            dialog = dialog.add_filter(name, extensions);
        }
        if open.many {
            dialog.blocking_pick_files().unwrap_or_default()
        } else {
            dialog.blocking_pick_file().into_iter().collect()
        }
    })
    .await
    .map_err(failed)?;
    Ok(picked
        .into_iter()
        .filter_map(|p| p.into_path().ok())
        .collect())
}

/// Shows the save dialog titled `title`, proposing `suggested_name`; answers the chosen
/// file (none if cancelled).
pub async fn save(
    app: &tauri::AppHandle,
    title: &'static str,
    suggested_name: String,
) -> Result<Option<PathBuf>, UserError> {
    #[cfg(debug_assertions)]
    if let Some(answer) = test_seam::next_answer() {
        return Ok(answer.into_iter().next());
    }
    let app = app.clone();
    let chosen = tokio::task::spawn_blocking(move || {
        app.dialog()
            .file()
            .set_title(title)
            .set_file_name(&suggested_name)
            .blocking_save_file()
    })
    .await
    .map_err(failed)?;
    Ok(chosen.and_then(|p| p.into_path().ok()))
}

/// Says in the log, at start, that a release build ignores the test seam's variable.
pub fn note_test_seam() {
    #[cfg(not(debug_assertions))]
    if std::env::var_os("MEDWALLET_TEST_DIALOG_DIR").is_some() {
        tracing::warn!(
            "MEDWALLET_TEST_DIALOG_DIR is ignored: a release build has no dialog test seam"
        );
    }
    #[cfg(debug_assertions)]
    test_seam::note();
}

#[cfg(test)]
mod tests {
    /// The seam cannot reach a release build: its module, and every use of it, is
    /// compiled only with `debug_assertions` (a use without the cfg would not compile in
    /// a release build, which `scripts/package` makes; this test says so earlier).
    #[test]
    fn the_dialog_seam_is_in_debug_builds_only() {
        let source = include_str!("dialogs.rs");
        let lines: Vec<&str> = source.lines().collect();
        let mut uses = 0;
        for (i, line) in lines.iter().enumerate() {
            let code = line.trim();
            let names_the_seam = code.contains("test_seam::") || code.contains("mod test_seam");
            // This test's own lines name it in strings.
            if code.starts_with("//") || !names_the_seam || code.contains('"') {
                continue;
            }
            uses += 1;
            assert_eq!(
                lines[i - 1].trim(),
                "#[cfg(debug_assertions)]",
                "line {}: {code} is not behind #[cfg(debug_assertions)]",
                i + 1
            );
        }
        assert!(uses >= 4, "the module and its uses were found ({uses})");
        let seam = include_str!("dialogs/test_seam.rs");
        assert!(
            !seam.contains("medwallet_api"),
            "the seam takes nothing from the webview: its answers are files the harness queued"
        );
    }
}
