//! Path tokens: the only way a command learns which file to read or write.
//!
//! The webview never sends a path. A file chosen in one of the app's own dialogs, or
//! dropped on its window, is registered here under a random token (128 bits from ring's
//! `SystemRandom`, in hex) with what it was chosen for: to be read (`Open`) or to be
//! written (`Save`). The webview holds the token and the file's name; a command takes the
//! token back and resolves it here. An unknown token (a path, a guess, a token from
//! before a restart), a save token used to read or an open token used to write is
//! refused; a save token is used once.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use medwallet_api::{ChosenFile, FileToken, UserError};
use ring::rand::{SecureRandom, SystemRandom};

/// How many tokens are kept; past this the oldest is forgotten (a window that holds it
/// is told to choose its file again).
const MAX_TOKENS: usize = 4096;

/// What a file was chosen for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// Read: chosen in an open dialog or dropped on the window.
    Open,
    /// Written, once: chosen in a save dialog.
    Save,
}

struct Entry {
    path: PathBuf,
    chosen_for: Use,
    /// Order of registration, to forget the oldest first.
    seq: u64,
}

#[derive(Default)]
struct Table {
    entries: HashMap<String, Entry>,
    next_seq: u64,
}

/// The tokens handed out to this process's window.
pub struct PathTokens {
    table: Mutex<Table>,
    rng: SystemRandom,
}

impl Default for PathTokens {
    fn default() -> Self {
        Self {
            table: Mutex::new(Table::default()),
            rng: SystemRandom::new(),
        }
    }
}

/// The refusal of a token this window was not given for this use.
pub fn not_chosen() -> UserError {
    UserError {
        message: "That file was not chosen in this window: choose it again.".into(),
        hint: None,
    }
}

/// The last part of `path`, for showing (never the folders above it).
pub fn display_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "(unnamed)".to_owned())
}

impl PathTokens {
    /// Registers `path`, chosen by the user in a dialog of the app or dropped on its
    /// window, for `chosen_for`; answers its token and name for the webview. A file
    /// chosen to be read again keeps its token (the window sees it is the same file); a
    /// file chosen to be written gets a new one each time.
    pub fn hand_out(&self, path: PathBuf, chosen_for: Use) -> Result<ChosenFile, UserError> {
        let name = display_name(&path);
        if chosen_for == Use::Open {
            let mut table = self.lock();
            let seq = table.next_seq;
            let known = table
                .entries
                .iter_mut()
                .find(|(_, e)| e.chosen_for == Use::Open && e.path == path);
            if let Some((token, entry)) = known {
                entry.seq = seq;
                let token = FileToken(token.clone());
                table.next_seq += 1;
                return Ok(ChosenFile { token, name });
            }
        }
        let mut bytes = [0u8; 16];
        self.rng.fill(&mut bytes).map_err(|_| {
            UserError::new("The system's random number generator failed.", "Try again.")
        })?;
        let token = hex::encode(bytes);
        let mut table = self.lock();
        if table.entries.len() >= MAX_TOKENS {
            let oldest = table
                .entries
                .iter()
                .min_by_key(|(_, e)| e.seq)
                .map(|(t, _)| t.clone());
            if let Some(oldest) = oldest {
                table.entries.remove(&oldest);
            }
        }
        let seq = table.next_seq;
        table.next_seq += 1;
        table.entries.insert(
            token.clone(),
            Entry {
                path,
                chosen_for,
                seq,
            },
        );
        Ok(ChosenFile {
            token: FileToken(token),
            name,
        })
    }

    /// The file to read behind `token`, chosen in an open dialog or dropped.
    pub fn open(&self, token: &FileToken) -> Result<PathBuf, UserError> {
        match self.lock().entries.get(&token.0) {
            Some(entry) if entry.chosen_for == Use::Open => Ok(entry.path.clone()),
            _ => Err(not_chosen()),
        }
    }

    /// The file to write behind `token`, chosen in a save dialog; the token is used up.
    pub fn save(&self, token: &FileToken) -> Result<PathBuf, UserError> {
        let mut table = self.lock();
        match table.entries.get(&token.0) {
            Some(entry) if entry.chosen_for == Use::Save => {}
            _ => return Err(not_chosen()),
        }
        Ok(table
            .entries
            .remove(&token.0)
            .map(|e| e.path)
            .unwrap_or_default())
    }

    /// [`PathTokens::open`], as the text core's use cases take.
    pub fn open_text(&self, token: &FileToken) -> Result<String, UserError> {
        self.open(token).map(|p| p.to_string_lossy().into_owned())
    }

    /// [`PathTokens::save`], as the text core's use cases take.
    pub fn save_text(&self, token: &FileToken) -> Result<String, UserError> {
        self.save(token).map(|p| p.to_string_lossy().into_owned())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        // A panic while holding the lock leaves the table as it was: keep using it.
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(text: &str) -> FileToken {
        FileToken(text.to_owned())
    }

    #[test]
    fn a_chosen_file_is_found_by_its_token_and_shown_by_its_name_only() {
        let tokens = PathTokens::default();
        let chosen = tokens
            .hand_out(PathBuf::from("/home/ada/scans/blood.pdf"), Use::Open)
            .unwrap();
        assert_eq!(chosen.name, "blood.pdf");
        assert_eq!(chosen.token.0.len(), 32, "128 bits in hex");
        assert!(chosen.token.0.chars().all(|c| c.is_ascii_hexdigit()));
        assert!(!chosen.token.0.contains("blood"));
        let path = tokens.open(&chosen.token).unwrap();
        assert_eq!(path, PathBuf::from("/home/ada/scans/blood.pdf"));
        // Read again (an add after its inspection): an open token is not used up.
        assert_eq!(tokens.open(&chosen.token).unwrap(), path);
        // Chosen again: the same token, so the window sees the same file.
        let again = tokens
            .hand_out(PathBuf::from("/home/ada/scans/blood.pdf"), Use::Open)
            .unwrap();
        assert_eq!(again.token, chosen.token);
        let other = tokens
            .hand_out(PathBuf::from("/home/ada/scans/other.pdf"), Use::Open)
            .unwrap();
        assert_ne!(other.token, chosen.token, "each file its own token");
        // A save dialog's answer always gets a fresh, single-use token.
        let save1 = tokens
            .hand_out(PathBuf::from("/tmp/c.pdf"), Use::Save)
            .unwrap();
        let save2 = tokens
            .hand_out(PathBuf::from("/tmp/c.pdf"), Use::Save)
            .unwrap();
        assert_ne!(save1.token, save2.token);
    }

    #[test]
    fn a_path_or_an_invented_token_is_refused() {
        let tokens = PathTokens::default();
        tokens
            .hand_out(PathBuf::from("/home/ada/notes.txt"), Use::Open)
            .unwrap();
        for invented in [
            "/home/ada/notes.txt",
            "/etc/passwd",
            "notes.txt",
            "",
            "00000000000000000000000000000000",
        ] {
            assert_eq!(
                tokens.open(&token(invented)),
                Err(not_chosen()),
                "{invented}"
            );
            assert_eq!(
                tokens.save(&token(invented)),
                Err(not_chosen()),
                "{invented}"
            );
        }
        assert_eq!(
            not_chosen().to_string(),
            "That file was not chosen in this window: choose it again."
        );
    }

    #[test]
    fn a_token_serves_only_what_it_was_chosen_for() {
        let tokens = PathTokens::default();
        let save = tokens
            .hand_out(PathBuf::from("/tmp/copy.pdf"), Use::Save)
            .unwrap();
        let open = tokens
            .hand_out(PathBuf::from("/tmp/report.pdf"), Use::Open)
            .unwrap();
        assert_eq!(
            tokens.open(&save.token),
            Err(not_chosen()),
            "save token read"
        );
        assert_eq!(
            tokens.save(&open.token),
            Err(not_chosen()),
            "open token written"
        );
        // Neither refusal used anything up.
        assert_eq!(
            tokens.open(&open.token).unwrap(),
            PathBuf::from("/tmp/report.pdf")
        );
        assert_eq!(
            tokens.save(&save.token).unwrap(),
            PathBuf::from("/tmp/copy.pdf")
        );
    }

    #[test]
    fn a_save_token_writes_once() {
        let tokens = PathTokens::default();
        let save = tokens
            .hand_out(PathBuf::from("/tmp/audit.csv"), Use::Save)
            .unwrap();
        assert_eq!(tokens.save_text(&save.token).unwrap(), "/tmp/audit.csv");
        assert_eq!(tokens.save(&save.token), Err(not_chosen()), "reused");
        assert_eq!(tokens.open(&save.token), Err(not_chosen()));
    }

    #[test]
    fn the_oldest_token_is_forgotten_past_the_limit() {
        let tokens = PathTokens::default();
        let first = tokens.hand_out(PathBuf::from("/tmp/0"), Use::Open).unwrap();
        let mut last = None;
        for i in 1..=MAX_TOKENS {
            last = Some(
                tokens
                    .hand_out(PathBuf::from(format!("/tmp/{i}")), Use::Open)
                    .unwrap(),
            );
        }
        assert_eq!(tokens.open(&first.token), Err(not_chosen()));
        assert!(tokens.open(&last.unwrap().token).is_ok());
        assert_eq!(tokens.lock().entries.len(), MAX_TOKENS);
    }
}
