//! Crash points: the places where the crash tests may kill this process.
//!
//! medwallet promises that a kill at any moment loses nothing: every write is atomic or
//! two-phase, every ledger step idempotent. The crash tests check that promise at
//! points nobody chose by hand: they run a story in a child process with
//! `MEDWALLET_CRASH_AT=n`, and the n-th crash point that process passes kills it with
//! `SIGKILL`, as a power cut or the OOM killer would (no destructor, no flush, no
//! unwinding). `MEDWALLET_CRASH_LOG=<file>` appends one line per point passed
//! (`n name`), so a test learns how many points a story passes and where a kill landed.
//!
//! The points sit where state changes hands: before and after each file a store writes
//! is renamed into place, each IPFS add and pin, each ledger transaction's sending and
//! its receipt, each outbox step and each sharing step.
//!
//! Debug builds only: in a release build [`point`] is empty and reads no variable.

/// A point where a crash test may kill this process; `name` says where (for the log).
#[inline]
pub fn point(name: &'static str) {
    #[cfg(debug_assertions)]
    armed::pass(name);
    #[cfg(not(debug_assertions))]
    let _ = name;
}

#[cfg(debug_assertions)]
mod armed {
    use std::io::Write;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;

    /// What the environment asked for: a point to die at, a log of points passed.
    struct Plan {
        at: Option<u64>,
        log: Option<std::fs::File>,
    }

    static PLAN: OnceLock<Option<Plan>> = OnceLock::new();
    static PASSED: AtomicU64 = AtomicU64::new(0);

    fn read() -> Option<Plan> {
        let at = std::env::var("MEDWALLET_CRASH_AT")
            .ok()
            .and_then(|n| n.parse::<u64>().ok())
            .filter(|n| *n > 0);
        let log = std::env::var_os("MEDWALLET_CRASH_LOG").and_then(|path| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .ok()
        });
        (at.is_some() || log.is_some()).then_some(Plan { at, log })
    }

    pub(super) fn pass(name: &'static str) {
        let Some(plan) = PLAN.get_or_init(read) else {
            return;
        };
        let n = PASSED.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some(log) = &plan.log {
            // One write per line on an O_APPEND file: lines of several threads never mix,
            // and the line is in the file (the kernel's) before the kill below.
            let _ = (&*log).write_all(format!("{n} {name}\n").as_bytes());
        }
        if plan.at == Some(n) {
            // SAFETY: kill(2) on our own pid with a signal that cannot be caught.
            unsafe {
                libc::kill(libc::getpid(), libc::SIGKILL);
            }
            // SIGKILL is delivered before kill returns to a single-threaded caller and
            // promptly to a multi-threaded one; never run on past the point meanwhile.
            loop {
                std::thread::park();
            }
        }
    }
}
