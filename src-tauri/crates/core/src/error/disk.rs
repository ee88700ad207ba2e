//! A full disk, as data: which file, what the use case still needed, what is free.
//!
//! A full disk is met at many depths (a content file, a small object, a download, a
//! SQLite write of the records database, the event cache or the vault); each failure
//! becomes [`CoreError::DiskFull`] where it is met, and the use case completes it when it
//! ends ([`CoreError::disk_full_in`]), after it removed what it wrote: then the free space
//! measured is what the user has, and what it needed is known there.

use std::path::{Path, PathBuf};

use super::CoreError;

/// What a database write needs besides its rows: SQLite's write-ahead log grows by whole
/// pages (up to 1000 of 4 KiB before a checkpoint) and a transaction touches a few; a
/// megabyte covers it.
pub(crate) const DATABASE_ROOM: u64 = 1_000_000;

/// `SQLITE_FULL`, the primary result code of "database or disk is full".
const SQLITE_FULL: i32 = 13;
/// `SQLITE_IOERR_SHMSIZE`: the write-ahead log's index could not grow (SQLite writes a
/// byte into each new page of it so that a full disk fails here, not as a `SIGBUS`).
const SQLITE_IOERR_SHMSIZE: i32 = 4874;

/// Whether an I/O error is a full disk (`ENOSPC`, or a quota: `EDQUOT`).
pub(crate) fn is_disk_full(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::StorageFull
        || e.kind() == std::io::ErrorKind::QuotaExceeded
        || e.raw_os_error() == Some(28)
}

/// Whether SQLite failed for a full disk: `SQLITE_FULL` (its extended codes too), its
/// log's index not growing, or the file's own write failing so.
pub(crate) fn sqlite_full(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(io) => is_disk_full(io),
        other => other
            .as_database_error()
            .and_then(|db| db.code())
            .and_then(|c| c.parse::<i32>().ok())
            .is_some_and(|c| c & 0xff == SQLITE_FULL || c == SQLITE_IOERR_SHMSIZE),
    }
}

/// The bytes an unprivileged writer may still write on the file system holding `path`
/// (its nearest folder that exists); `None` when the system cannot say.
pub(crate) fn free_bytes(path: &Path) -> Option<u64> {
    let mut at = Some(path);
    while let Some(p) = at {
        if p.exists() {
            return rustix::fs::statvfs(p)
                .ok()
                .map(|s| s.f_bavail.saturating_mul(s.f_frsize));
        }
        at = p.parent();
    }
    None
}

impl CoreError {
    /// The disk holding `path` is full; its free space measured now.
    pub(crate) fn disk_full(path: Option<&Path>) -> Self {
        CoreError::DiskFull {
            path: path.map(Path::to_owned),
            needed_bytes: None,
            free_bytes: path.and_then(free_bytes),
        }
    }

    /// Refused before writing: `needed` bytes are needed in `dir` and fewer are free.
    pub(crate) fn check_room(dir: &Path, needed: u64) -> Result<(), CoreError> {
        match free_bytes(dir) {
            Some(free) if free < needed => Err(CoreError::DiskFull {
                path: Some(dir.to_owned()),
                needed_bytes: Some(needed),
                free_bytes: Some(free),
            }),
            _ => Ok(()),
        }
    }

    /// A use case's full disk completed as it ends, after it removed what it wrote: the
    /// folder it writes in (when the failure named no file), what it `needed` in all
    /// (when the failure did not say), and the space free now. Other failures unchanged.
    pub(crate) fn disk_full_in(self, dir: &Path, needed: Option<u64>) -> Self {
        match self {
            CoreError::DiskFull {
                path, needed_bytes, ..
            } => {
                let path: PathBuf = path.unwrap_or_else(|| dir.to_owned());
                CoreError::DiskFull {
                    free_bytes: free_bytes(&path),
                    path: Some(path),
                    needed_bytes: needed_bytes.or(needed),
                }
            }
            CoreError::During { task, source } => CoreError::During {
                task,
                source: Box::new(source.disk_full_in(dir, needed)),
            },
            CoreError::Explained(source) => {
                CoreError::Explained(Box::new(source.disk_full_in(dir, needed)))
            }
            other => other,
        }
    }
}

/// The megabytes (10^6 bytes) to free: what was needed less what is free, rounded up,
/// at least one (a database write's room when the need is not known).
pub(crate) fn megabytes_to_free(needed: Option<u64>, free: Option<u64>) -> u64 {
    let needed = needed.unwrap_or(DATABASE_ROOM);
    let short = needed.saturating_sub(free.unwrap_or(0));
    short.div_ceil(1_000_000).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_megabytes_to_free_are_rounded_up_and_at_least_one() {
        assert_eq!(megabytes_to_free(Some(10_000_000), Some(2_500_000)), 8);
        assert_eq!(megabytes_to_free(Some(10_000_001), Some(0)), 11);
        assert_eq!(megabytes_to_free(Some(1), Some(5_000_000)), 1);
        assert_eq!(megabytes_to_free(None, None), 1);
        assert_eq!(megabytes_to_free(None, Some(400_000)), 1);
    }

    #[test]
    fn the_free_space_is_read_from_the_nearest_folder_that_exists() {
        let dir = tempfile::tempdir().unwrap();
        assert!(free_bytes(&dir.path().join("not/yet/there")).is_some());
        assert!(CoreError::check_room(dir.path(), u64::MAX).is_err());
        assert!(CoreError::check_room(dir.path(), 1).is_ok());
    }

    #[test]
    fn sqlite_full_is_recognised_by_its_code() {
        assert!(sqlite_full(&sqlx::Error::Io(
            std::io::Error::from_raw_os_error(28)
        )));
        assert!(!sqlite_full(&sqlx::Error::RowNotFound));
    }
}
