//! medwallet's log file.
//!
//! [`init`] installs the process's one `tracing` subscriber: events go to a daily-rotating
//! file in `<data>/logs/` (`medwallet.YYYY-MM-DD.log`, UTC dates, the 7 newest kept) through
//! a non-blocking writer, and warnings and errors also go to stderr. `log` records from
//! dependencies are bridged in. The level comes from `MEDWALLET_LOG` (see [`ENV_VAR`]).
//! [`tail`] reads the last lines back for the diagnostics report.
//!
//! Invariant, for every crate that logs: no secret, key, passphrase, plaintext, recovery
//! word, record title, file name a user chose or person's name in a log line. Log ids,
//! counts, sizes, CIDs, addresses, durations and error kinds.
//!
//! ```no_run
//! # fn demo(data_dir: &std::path::Path) -> Result<(), medwallet_logs::LogsError> {
//! let _guard = medwallet_logs::init(data_dir)?; // keep it until exit: it flushes on drop
//! tracing::info!(version = env!("CARGO_PKG_VERSION"), "medwallet started");
//! let last = medwallet_logs::tail(data_dir, 200)?;
//! # let _ = last; Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{Builder, Rotation};
use tracing_subscriber::filter::{EnvFilter, LevelFilter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

/// The environment variable that sets the level: unset or empty for `info`; a level
/// (`debug`, `trace`, `warn`…) for medwallet's own crates, other crates staying at `info`
/// (or quieter, if the level is); or a full `tracing` filter directive such as
/// `info,medwallet_core=trace,hyper=debug`, used as it is.
pub const ENV_VAR: &str = "MEDWALLET_LOG";

/// The log files' name: `medwallet.<date>.log`.
const PREFIX: &str = "medwallet";
const SUFFIX: &str = "log";
/// How many daily files are kept (today's included).
const MAX_FILES: usize = 7;

/// How many bytes of one line [`tail`] keeps; a longer line is cut and ends with `…`.
pub const MAX_LINE_BYTES: usize = 4096;
/// How far back from a file's end [`tail`] looks for line breaks.
const MAX_SCAN_BYTES: u64 = 64 * 1024 * 1024;
/// [`tail`] reads a file backwards in blocks of this size.
const CHUNK: usize = 64 * 1024;

/// What went wrong with the log file, and where.
#[derive(Debug, thiserror::Error)]
pub enum LogsError {
    /// The log folder could not be created or made private.
    #[error("could not create the log folder {}: {source}", path.display())]
    CreateDir {
        /// The folder.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The rotating file could not be opened.
    #[error("could not open the log file in {}: {source}", path.display())]
    OpenFile {
        /// The log folder.
        path: PathBuf,
        /// Why.
        source: tracing_appender::rolling::InitError,
    },
    /// A logger is already installed in this process (by an earlier [`init`] or another
    /// library); nothing was changed.
    #[error("logging to {} was not started: {reason}", path.display())]
    AlreadyInstalled {
        /// The log folder this call would have written to.
        path: PathBuf,
        /// What was installed already.
        reason: String,
    },
    /// The log folder could not be listed.
    #[error("could not list the log folder {}: {source}", path.display())]
    ListDir {
        /// The folder.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A log file could not be read.
    #[error("could not read the log file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
}

/// Keeps the log writer running; dropping it flushes what is buffered (waiting up to a
/// second) and stops writing to the file. Keep it until the app exits.
#[must_use = "dropping the guard stops writing to the log file"]
#[derive(Debug)]
pub struct LogGuard {
    dir: PathBuf,
    _worker: WorkerGuard,
}

impl LogGuard {
    /// The folder the log files are written to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// The log folder: `<data_dir>/logs`.
pub fn log_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("logs")
}

/// The file being written to: the newest `medwallet.<date>.log` in the log folder, or
/// `None` when there is none yet. The writer moves to a new file at the first line
/// after midnight UTC.
pub fn current_file(data_dir: &Path) -> Result<Option<PathBuf>, LogsError> {
    Ok(log_files(&log_dir(data_dir))?.into_iter().next())
}

/// Starts logging to `<data_dir>/logs/` (created private to the user) with the level from
/// [`ENV_VAR`]. An invalid value logs at `info` and says so in the first line. Call it once
/// per process; a second call (or one after another library installed a logger) is an
/// error and changes nothing.
pub fn init(data_dir: &Path) -> Result<LogGuard, LogsError> {
    let dir = log_dir(data_dir);
    if tracing::dispatcher::has_been_set() {
        return Err(LogsError::AlreadyInstalled {
            path: dir,
            reason: "a tracing subscriber is already installed".into(),
        });
    }
    create_log_dir(&dir)?;
    let appender = Builder::new()
        .rotation(Rotation::DAILY)
        .filename_prefix(PREFIX)
        .filename_suffix(SUFFIX)
        .max_log_files(MAX_FILES)
        .build(&dir)
        .map_err(|source| LogsError::OpenFile {
            path: dir.clone(),
            source,
        })?;
    let (writer, worker) = tracing_appender::non_blocking(appender);
    let requested = std::env::var(ENV_VAR).ok();
    let choice = choose_filter(requested.as_deref());
    let directives = choice.filter.to_string();
    let file = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(false)
        .with_filter(choice.filter);
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(io::stderr)
        .with_ansi(false)
        .with_filter(LevelFilter::WARN);
    tracing_subscriber::registry()
        .with(file)
        .with(stderr)
        .try_init()
        .map_err(|e| LogsError::AlreadyInstalled {
            path: dir.clone(),
            reason: e.to_string(),
        })?;
    if let Some(problem) = choice.problem {
        tracing::warn!(target: "medwallet_logs", "{problem}");
    }
    // Not the folder: its path names the user's home, often after them.
    tracing::info!(target: "medwallet_logs", filter = %directives, "logging started");
    Ok(LogGuard {
        dir,
        _worker: worker,
    })
}

/// The last `lines` lines of the log, oldest first: from the newest file, then from older
/// ones while the newer have fewer than asked for. Only the end of each file is read
/// (memory stays about `lines` × [`MAX_LINE_BYTES`]); bytes that are not UTF-8 are shown as
/// `�`. No log folder yet is no lines.
pub fn tail(data_dir: &Path, lines: usize) -> Result<Vec<String>, LogsError> {
    let mut newest_first = Vec::new();
    let mut have = 0;
    for path in log_files(&log_dir(data_dir))? {
        if have >= lines {
            break;
        }
        let found = match tail_file(&path, lines - have) {
            Ok(found) => found,
            // Removed by rotation since the folder was listed.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(source) => return Err(LogsError::Read { path, source }),
        };
        have += found.len();
        newest_first.push(found);
    }
    Ok(newest_first.into_iter().rev().flatten().collect())
}

/// The filter for a value of [`ENV_VAR`], and what was wrong with the value.
struct FilterChoice {
    filter: EnvFilter,
    problem: Option<String>,
}

fn choose_filter(value: Option<&str>) -> FilterChoice {
    let fallback = |problem: String| FilterChoice {
        filter: EnvFilter::new("info"),
        problem: Some(problem),
    };
    let value = value.map(str::trim).unwrap_or_default();
    if value.is_empty() {
        return FilterChoice {
            filter: EnvFilter::new("info"),
            problem: None,
        };
    }
    let directives = if value.contains(['=', ',', '[']) {
        if let Some(part) = typo(value) {
            return fallback(format!(
                "{ENV_VAR}={value:?} is not a valid log filter ({part:?} is not `level` or \
                 `target=level`); logging at info"
            ));
        }
        value.to_owned()
    } else {
        // One word: a level. (A lone word is also a valid directive, "this target at every
        // level and nothing else", but here it is a typo that would silence the log.)
        match value.to_ascii_lowercase().parse::<LevelFilter>() {
            // Dependencies stay at info: their debug lines are noise, and some print what
            // they send.
            Ok(level) if level > LevelFilter::INFO => format!("info,medwallet={level}"),
            Ok(level) => level.to_string(),
            Err(_) => {
                return fallback(format!(
                    "{ENV_VAR}={value:?} is not a log level (error, warn, info, debug, trace) \
                     or filter; logging at info"
                ))
            }
        }
    };
    match EnvFilter::builder().parse(&directives) {
        Ok(filter) => FilterChoice {
            filter,
            problem: None,
        },
        Err(e) => fallback(format!(
            "{ENV_VAR}={value:?} is not a valid log filter ({e}); logging at info"
        )),
    }
}

/// The first part of a filter directive that is likely a typo: a lone word that is not a
/// level, or `target=` without a level. `tracing` reads the first as "that target at every
/// level, nothing else" and the second as "that target at every level", so a typo would
/// silence the log. Directives with span filters (`[…]`) are left to `tracing`.
fn typo(directives: &str) -> Option<&str> {
    if directives.contains('[') {
        return None;
    }
    // (`LevelFilter` also reads "" as `error`.)
    let is_level = |s: &str| {
        let s = s.trim();
        !s.is_empty() && s.to_ascii_lowercase().parse::<LevelFilter>().is_ok()
    };
    directives
        .split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .find(|part| match part.rsplit_once('=') {
            Some((target, level)) => target.trim().is_empty() || !is_level(level),
            None => !is_level(part),
        })
}

/// Creates the log folder, readable by the user only on unix (an existing folder is made
/// private too).
fn create_log_dir(dir: &Path) -> Result<(), LogsError> {
    let failed = |source| LogsError::CreateDir {
        path: dir.to_owned(),
        source,
    };
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        builder.mode(0o700);
        builder.create(dir).map_err(failed)?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(failed)?;
    }
    #[cfg(not(unix))]
    builder.create(dir).map_err(failed)?;
    Ok(())
}

/// The rotated files in `dir`, newest first (their names end in the date). No folder is
/// no files.
fn log_files(dir: &Path) -> Result<Vec<PathBuf>, LogsError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(LogsError::ListDir {
                path: dir.to_owned(),
                source,
            })
        }
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| LogsError::ListDir {
            path: dir.to_owned(),
            source,
        })?;
        let name = entry.file_name();
        let Some(date) = name
            .to_str()
            .and_then(|n| n.strip_prefix(PREFIX)?.strip_prefix('.'))
            .and_then(|n| n.strip_suffix(SUFFIX)?.strip_suffix('.'))
        else {
            continue;
        };
        if is_date(date) && entry.file_type().is_ok_and(|t| t.is_file()) {
            files.push((date.to_owned(), entry.path()));
        }
    }
    files.sort_unstable_by(|a, b| b.0.cmp(&a.0));
    Ok(files.into_iter().map(|(_, path)| path).collect())
}

/// `YYYY-MM-DD`, the daily rotation's date.
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        })
}

/// The last `want` lines of one file, oldest first. It scans backwards from the end for
/// line breaks (at most [`MAX_SCAN_BYTES`]), then reads the start of each line found (at
/// most [`MAX_LINE_BYTES`]).
fn tail_file(path: &Path, want: usize) -> io::Result<Vec<String>> {
    if want == 0 {
        return Ok(Vec::new());
    }
    let mut file = File::open(path)?;
    // Lines appended while reading are not looked at.
    let len = file.metadata()?.len();
    let floor = len.saturating_sub(MAX_SCAN_BYTES);
    // `[start, end)` of each line found, newest first; `end` excludes the '\n'.
    let mut ranges: Vec<(u64, u64)> = Vec::new();
    let mut end = len;
    let mut pos = len;
    let mut block = vec![0u8; CHUNK.min(len as usize)];
    'scan: while pos > floor {
        let n = (pos - floor).min(CHUNK as u64) as usize;
        pos -= n as u64;
        file.seek(SeekFrom::Start(pos))?;
        file.read_exact(&mut block[..n])?;
        for i in (0..n).rev() {
            if block[i] != b'\n' {
                continue;
            }
            let at = pos + i as u64;
            if at + 1 < len {
                ranges.push((at + 1, end));
                if ranges.len() == want {
                    break 'scan;
                }
            } // else: the file's final line break ends the last line
            end = at;
        }
    }
    if ranges.len() < want && pos == floor && end > floor {
        ranges.push((floor, end)); // the first line (cut, if the scan stopped early)
    }
    let mut lines = Vec::with_capacity(ranges.len());
    for (start, end) in ranges.into_iter().rev() {
        let size = end - start;
        let keep = size.min(MAX_LINE_BYTES as u64);
        file.seek(SeekFrom::Start(start))?;
        let mut bytes = Vec::with_capacity(keep as usize);
        (&mut file).take(keep).read_to_end(&mut bytes)?;
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
        let mut line = String::from_utf8_lossy(&bytes).into_owned();
        if size > keep {
            line.push('…');
        }
        if start == floor && floor > 0 {
            line.insert(0, '…');
        }
        lines.push(line);
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::process::Command;
    use std::sync::{Arc, Mutex};

    /// Set in a child process this test binary starts: the data folder `child_init` logs to.
    const CHILD_DIR: &str = "MEDWALLET_LOGS_TEST_CHILD_DIR";

    /// Runs `child_init` in a new process (a global subscriber can be installed once per
    /// process) with `MEDWALLET_LOG` set to `level` (or unset); answers its stderr.
    fn run_child(data_dir: &Path, level: Option<&str>) -> String {
        let mut command = Command::new(std::env::current_exe().unwrap());
        command
            .args(["--ignored", "--exact", "tests::child_init", "--nocapture"])
            .env(CHILD_DIR, data_dir);
        match level {
            Some(level) => command.env(ENV_VAR, level),
            None => command.env_remove(ENV_VAR),
        };
        let out = command.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            out.status.success(),
            "child failed: {}\n{stderr}",
            String::from_utf8_lossy(&out.stdout)
        );
        stderr
    }

    /// The child's side of the `init_*` tests: logs a few lines and checks that a second
    /// `init` is refused without panicking.
    #[test]
    #[ignore = "run by the init_* tests in a child process"]
    fn child_init() {
        let Some(dir) = std::env::var_os(CHILD_DIR) else {
            return;
        };
        let dir = PathBuf::from(dir);
        let guard = init(&dir).expect("first init");
        tracing::info!(count = 3, "info marker");
        tracing::debug!("debug marker");
        tracing::debug!(target: "hyper::client", "dependency debug marker");
        tracing::warn!("warn marker");
        match init(&dir) {
            Err(LogsError::AlreadyInstalled { path, .. }) => assert_eq!(path, log_dir(&dir)),
            other => panic!("second init: {other:?}"),
        }
        assert_eq!(guard.dir(), log_dir(&dir));
        drop(guard); // flushes
    }

    fn file_text(data_dir: &Path) -> String {
        let file = current_file(data_dir).unwrap().expect("a log file");
        let name = file.file_name().unwrap().to_str().unwrap().to_owned();
        assert!(
            name.starts_with("medwallet.") && name.ends_with(".log"),
            "{name}"
        );
        fs::read_to_string(file).unwrap()
    }

    #[test]
    fn init_logs_info_to_the_file_and_not_debug() {
        let data = tempfile::tempdir().unwrap();
        let stderr = run_child(data.path(), None);
        let text = file_text(data.path());
        assert!(
            text.contains("info marker") && text.contains("count=3"),
            "{text}"
        );
        assert!(text.contains("warn marker"), "{text}");
        assert!(!text.contains("debug marker"), "{text}");
        assert!(!text.contains('\u{1b}'), "ANSI escapes in the file: {text}");
        assert!(
            text.lines().next().unwrap().contains("logging started"),
            "{text}"
        );
        // Warnings also go to stderr, info does not.
        assert!(stderr.contains("warn marker"), "{stderr}");
        assert!(!stderr.contains("info marker"), "{stderr}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(log_dir(data.path()))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o700);
        }
    }

    #[test]
    fn init_at_debug_logs_debug_of_medwallet_crates() {
        let data = tempfile::tempdir().unwrap();
        run_child(data.path(), Some("debug"));
        let text = file_text(data.path());
        assert!(text.contains("info marker"), "{text}");
        assert!(text.contains("debug marker"), "{text}");
        assert!(!text.contains("dependency debug marker"), "{text}");
    }

    #[test]
    fn init_with_a_full_directive_uses_it() {
        let data = tempfile::tempdir().unwrap();
        run_child(data.path(), Some("warn,hyper=debug"));
        let text = file_text(data.path());
        assert!(text.contains("dependency debug marker"), "{text}");
        assert!(text.contains("warn marker"), "{text}");
        assert!(!text.contains("info marker"), "{text}");
    }

    #[test]
    fn init_with_an_invalid_value_logs_at_info_and_says_so_first() {
        let data = tempfile::tempdir().unwrap();
        let stderr = run_child(data.path(), Some("debgu"));
        let text = file_text(data.path());
        let first = text.lines().next().unwrap();
        assert!(
            first.contains("WARN") && first.contains("MEDWALLET_LOG=\"debgu\""),
            "{first}"
        );
        assert!(first.contains("logging at info"), "{first}");
        assert!(
            text.contains("info marker") && !text.contains("debug marker"),
            "{text}"
        );
        assert!(stderr.contains("debgu"), "{stderr}");
    }

    /// A subscriber with the filter `MEDWALLET_LOG=value` would choose, writing to memory,
    /// for this thread only.
    fn capture(value: Option<&str>, emit: impl FnOnce()) -> (String, Option<String>) {
        #[derive(Clone, Default)]
        struct Buffer(Arc<Mutex<Vec<u8>>>);
        impl Write for Buffer {
            fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let buffer = Buffer::default();
        let choice = choose_filter(value);
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::registry().with(
            tracing_subscriber::fmt::layer()
                .with_writer(move || writer.clone())
                .with_ansi(false)
                .with_filter(choice.filter),
        );
        tracing::subscriber::with_default(subscriber, emit);
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        (text, choice.problem)
    }

    #[test]
    fn filter_is_info_when_unset_or_empty() {
        for value in [None, Some(""), Some("  ")] {
            let (text, problem) = capture(value, || {
                tracing::info!("unset info");
                tracing::debug!("unset debug");
            });
            assert!(problem.is_none());
            assert!(text.contains("unset info"), "{text}");
            assert!(!text.contains("unset debug"), "{text}");
        }
    }

    #[test]
    fn filter_levels_apply_to_medwallet_crates() {
        for value in ["debug", "DEBUG", " trace "] {
            let (text, problem) = capture(Some(value), || {
                tracing::debug!("level debug");
                tracing::debug!(target: "medwallet_core::wallet", "core debug");
                tracing::debug!(target: "sqlx::query", "dependency debug");
                tracing::info!(target: "sqlx::query", "dependency info");
            });
            assert!(problem.is_none(), "{value}");
            assert!(
                text.contains("level debug") && text.contains("core debug"),
                "{text}"
            );
            assert!(!text.contains("dependency debug"), "{text}");
            assert!(text.contains("dependency info"), "{text}");
        }
        let (text, _) = capture(Some("warn"), || {
            tracing::info!("quiet info");
            tracing::warn!(target: "sqlx::query", "dependency warn");
        });
        assert!(
            !text.contains("quiet info") && text.contains("dependency warn"),
            "{text}"
        );
    }

    #[test]
    fn filter_falls_back_to_info_on_nonsense() {
        for value in [
            "verbose",
            "debug=",
            "info,medwallet_core",
            "=debug",
            "info,[{",
            "medwallet=loud",
        ] {
            let (text, problem) = capture(Some(value), || {
                tracing::info!("fallback info");
                tracing::debug!("fallback debug");
            });
            let problem = problem.unwrap_or_else(|| panic!("{value:?} accepted"));
            assert!(problem.contains(ENV_VAR) && problem.contains("logging at info"));
            assert!(text.contains("fallback info"), "{value}: {text}");
            assert!(!text.contains("fallback debug"), "{value}: {text}");
        }
    }

    fn write_file(dir: &Path, date: &str, bytes: &[u8]) -> PathBuf {
        fs::create_dir_all(dir).unwrap();
        let path = dir.join(format!("medwallet.{date}.log"));
        fs::write(&path, bytes).unwrap();
        path
    }

    fn numbered(from: usize, to: usize, tag: &str) -> String {
        (from..to).map(|i| format!("{tag} line {i}\n")).collect()
    }

    #[test]
    fn tail_of_nothing_is_empty() {
        let data = tempfile::tempdir().unwrap();
        assert!(tail(data.path(), 200).unwrap().is_empty());
        assert_eq!(current_file(data.path()).unwrap(), None);
        write_file(&log_dir(data.path()), "2025-01-01", b"");
        assert!(tail(data.path(), 200).unwrap().is_empty());
        assert!(tail(data.path(), 0).unwrap().is_empty());
    }

    #[test]
    fn tail_reads_back_across_rotated_files() {
        let data = tempfile::tempdir().unwrap();
        let dir = log_dir(data.path());
        write_file(&dir, "2025-03-01", numbered(0, 50, "old").as_bytes());
        write_file(&dir, "2025-03-02", numbered(0, 150, "mid").as_bytes());
        let newest = write_file(&dir, "2025-03-10", numbered(0, 120, "new").as_bytes());
        // Not log files: ignored.
        fs::write(dir.join("medwallet.log"), "stray\n").unwrap();
        fs::write(dir.join("medwallet.2025-99-99x.log"), "stray\n").unwrap();
        fs::write(dir.join("notes.2025-03-11.log"), "stray\n").unwrap();

        assert_eq!(current_file(data.path()).unwrap(), Some(newest));
        let lines = tail(data.path(), 200).unwrap();
        assert_eq!(lines.len(), 200);
        assert_eq!(lines[0], "mid line 70");
        assert_eq!(lines[79], "mid line 149");
        assert_eq!(lines[80], "new line 0");
        assert_eq!(lines[199], "new line 119");
        assert!(lines
            .iter()
            .all(|l| !l.contains("stray") && !l.contains("old")));

        let few = tail(data.path(), 3).unwrap();
        assert_eq!(few, ["new line 117", "new line 118", "new line 119"]);
        let all = tail(data.path(), 1000).unwrap();
        assert_eq!(all.len(), 320);
        assert_eq!(all[0], "old line 0");
    }

    #[test]
    fn tail_handles_invalid_utf8_crlf_and_a_missing_last_break() {
        let data = tempfile::tempdir().unwrap();
        let dir = log_dir(data.path());
        write_file(
            &dir,
            "2025-03-01",
            b"first\r\nbad \xff\xfe bytes\n\nlast, no break",
        );
        let lines = tail(data.path(), 10).unwrap();
        assert_eq!(
            lines,
            ["first", "bad \u{fffd}\u{fffd} bytes", "", "last, no break"]
        );
    }

    #[test]
    fn tail_reads_only_the_end_of_a_huge_file() {
        let data = tempfile::tempdir().unwrap();
        let dir = log_dir(data.path());
        fs::create_dir_all(&dir).unwrap();
        // 2 GiB of zeros (sparse: nothing is written), then 300 lines and a very long one.
        let path = dir.join("medwallet.2025-03-01.log");
        let mut file = File::create(&path).unwrap();
        file.set_len(2 << 30).unwrap();
        file.seek(SeekFrom::End(0)).unwrap();
        file.write_all(b"\n").unwrap();
        file.write_all(numbered(0, 300, "end").as_bytes()).unwrap();
        file.write_all(&vec![b'x'; 3 * MAX_LINE_BYTES]).unwrap();
        file.write_all(b"\n").unwrap();
        drop(file);

        let lines = tail(data.path(), 200).unwrap();
        assert_eq!(lines.len(), 200);
        assert_eq!(lines[0], "end line 101");
        assert_eq!(lines[198], "end line 299");
        let long = &lines[199];
        assert!(long.ends_with('…') && long.len() == MAX_LINE_BYTES + '…'.len_utf8());

        // Only line breaks in the last MAX_SCAN_BYTES count: what is before is one cut line.
        let lines = tail(data.path(), 1000).unwrap();
        assert_eq!(lines.len(), 302);
        assert!(
            lines[0].starts_with('…') && lines[0].ends_with('…'),
            "{:?}",
            &lines[0][..10]
        );
        assert_eq!(lines[1], "end line 0");
    }

    #[test]
    fn the_guard_can_be_kept_in_app_state() {
        fn shareable<T: Send + Sync + 'static>() {}
        shareable::<LogGuard>();
        shareable::<LogsError>();
    }

    #[test]
    fn log_dir_is_created_private() {
        let data = tempfile::tempdir().unwrap();
        let dir = log_dir(data.path());
        fs::create_dir_all(&dir).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
            create_log_dir(&dir).unwrap();
            let mode = fs::metadata(&dir).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
        let nested = data.path().join("a/b/logs");
        create_log_dir(&nested).unwrap();
        assert!(nested.is_dir());
    }
}
