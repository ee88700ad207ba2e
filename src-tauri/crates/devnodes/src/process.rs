//! Child processes that are stopped gracefully when their handle is dropped.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::DevnodeError;

/// A free TCP port on 127.0.0.1 (bound, then released for the node to take).
pub fn free_port() -> std::io::Result<u16> {
    free_port_on(std::net::Ipv4Addr::LOCALHOST)
}

/// Where node ports are chosen: below the kernel's ephemeral range (32768 and up on
/// Linux), so that no outgoing connection of any process (a test's own HTTP clients, a
/// proxy's upstream connection) can take a port between its choice and the node's
/// listening on it. A port the kernel hands out with `bind(0)` can: that race made a
/// js-ipfs fail with `EADDRINUSE` now and then.
const NODE_PORTS: std::ops::Range<u16> = 20_000..32_000;

/// A free TCP port on `host` (bound, then released for the node to take): a random one
/// of [`NODE_PORTS`] this process never handed out before.
pub fn free_port_on(host: std::net::Ipv4Addr) -> std::io::Result<u16> {
    use std::collections::HashSet;
    use std::hash::{BuildHasher, RandomState};
    use std::sync::Mutex;
    static GIVEN: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    let span = u64::from(NODE_PORTS.end - NODE_PORTS.start);
    let seed = RandomState::new().hash_one((std::process::id(), Instant::now()));
    for i in 0..512u64 {
        let port =
            NODE_PORTS.start + u16::try_from((seed.wrapping_add(i * 7919)) % span).unwrap_or(0);
        let mut given = GIVEN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let given = given.get_or_insert_with(HashSet::new);
        if given.contains(&port) {
            continue;
        }
        if TcpListener::bind((host, port)).is_ok() {
            given.insert(port);
            return Ok(port);
        }
    }
    // Every candidate taken: whatever the kernel gives.
    Ok(TcpListener::bind((host, 0))?.local_addr()?.port())
}

/// A running node process with its output in a log file.
#[derive(Debug)]
pub(crate) struct Managed {
    what: &'static str,
    child: Option<Child>,
    log: PathBuf,
}

impl Managed {
    /// Starts `cmd` with its output going to `log`.
    pub(crate) fn spawn(
        what: &'static str,
        mut cmd: Command,
        log: &Path,
    ) -> Result<Self, DevnodeError> {
        let out = File::create(log).map_err(|source| DevnodeError::Io {
            context: format!("creating {}", log.display()),
            source,
        })?;
        let err = out
            .try_clone()
            .map_err(|source| DevnodeError::Spawn { what, source })?;
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        die_with_parent(&mut cmd);
        let child = cmd
            .spawn()
            .map_err(|source| DevnodeError::Spawn { what, source })?;
        Ok(Self {
            what,
            child: Some(child),
            log: log.to_owned(),
        })
    }

    /// Waits until `ready` holds, failing early if the process exits.
    pub(crate) fn wait_ready(
        &mut self,
        timeout: Duration,
        ready: impl Fn() -> bool,
    ) -> Result<(), DevnodeError> {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(self.not_ready(timeout, &format!("exited with {status}")));
                }
            }
            if ready() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(self.not_ready(timeout, "timed out"))
    }

    fn not_ready(&self, timeout: Duration, why: &str) -> DevnodeError {
        DevnodeError::NotReady {
            what: self.what,
            seconds: timeout.as_secs(),
            log: format!("({why})\n{}", tail(&self.log, 4000)),
        }
    }

    /// Process id, for messages.
    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGTERM, then SIGKILL if it has not exited within `grace`.
    pub(crate) fn stop(&mut self, grace: Duration) {
        if let Some(mut child) = self.child.take() {
            stop_gracefully(&mut child, grace);
        }
    }

    /// Whether the process is still running.
    pub(crate) fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(Child::try_wait), Some(Ok(None)))
    }
}

impl Drop for Managed {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(5));
    }
}

/// True once something accepts TCP connections at `addr`.
pub(crate) fn port_open(addr: SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
}

/// A bodyless HTTP POST; true on a 2xx status. Enough to probe readiness without
/// pulling an HTTP client into this crate.
pub(crate) fn http_post_ok(addr: SocketAddr, path: &str) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 2")
}

fn tail(path: &Path, max: u64) -> String {
    let Ok(mut file) = File::open(path) else {
        return String::new();
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = file.seek(SeekFrom::Start(len.saturating_sub(max)));
    let mut text = String::new();
    let _ = file.read_to_string(&mut text);
    text
}

#[allow(unsafe_code)]
fn die_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs between fork and exec and only calls prctl, which is
    // async-signal-safe. It asks the kernel to SIGTERM the node if the thread that
    // started it dies, so a killed test binary leaves no node behind.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
}

/// SIGTERM, then SIGKILL if `child` has not exited within `grace`; reaps it either way.
/// SIGTERM first lets a node flush its state and lets tauri-driver end WebKitWebDriver.
pub fn stop_gracefully(child: &mut Child, grace: Duration) {
    terminate(child);
    let start = Instant::now();
    while start.elapsed() < grace {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn terminate(child: &Child) {
    let Ok(pid) = libc::pid_t::try_from(child.id()) else {
        return;
    };
    // SAFETY: kill(2) with a pid we own; a stale pid at worst fails with ESRCH.
    #[allow(unsafe_code)]
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
}
