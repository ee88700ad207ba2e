//! The IPFS node client: the Kubo RPC API (`/api/v0`), spoken by Kubo and by the
//! js-ipfs daemon used locally.
//!
//! Every call has a deadline: a node that accepts the connection and then says
//! nothing must not hang the app. Short calls get [`CALL_TIMEOUT`] overall; transfers
//! of any size instead fail when no byte moves for [`STALL_TIMEOUT`], so a large
//! upload on a slow link is not cut off while it progresses.
//!
//! Nothing a node answers is trusted: every CID it gives for an upload is compared
//! with the CID computed locally ([`crate::cid`]), and content read back is checked by
//! the caller (the stream decryption recomputes its CID).
//!
//! Uploads stream from the file through `ipfs-api`'s multipart body (a `Read` part is
//! pulled as the connection drains), so memory stays bounded; the add answer is parsed
//! leniently, because js-ipfs sends `Size` as a number where `ipfs-api`'s typed answer
//! expects a string.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use ipfs_api::{IpfsApi, IpfsClient, TryFromUri};
use ipfs_api_backend_hyper::Error as BackendError;
use ipfs_api_prelude::{ApiRequest, Backend};
use tracing::Instrument;
use url::Url;

use crate::cid::{cid_of, Cid};

/// How long one RPC call may take before the node counts as unreachable.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a transfer may go without moving a byte before the node counts as
/// unreachable.
pub const STALL_TIMEOUT: Duration = Duration::from_secs(30);
/// How long pinning may take (the node walks the whole DAG, which for a large record
/// takes a while even locally).
pub const PIN_TIMEOUT: Duration = Duration::from_secs(60);
/// Progress is reported at most once per this many bytes (and at the end).
const PROGRESS_STEP: u64 = 256 * 1024;
/// Read buffer between the file and the multipart body (which pulls small pieces).
const UPLOAD_BUFFER: usize = 256 * 1024;

/// What the node says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInfo {
    /// The node's software version, e.g. `0.66.1`.
    pub version: String,
    /// The node's peer id.
    pub peer_id: String,
}

/// A failed call to the IPFS node.
#[derive(Debug, thiserror::Error)]
pub enum IpfsError {
    /// The URL cannot be used as an IPFS API base.
    #[error("{url} cannot be used as an IPFS node URL: {reason}")]
    InvalidUrl {
        /// The URL given.
        url: String,
        /// Why.
        reason: String,
    },
    /// Nothing answered, or not in time.
    #[error("the IPFS node at {url} is unreachable: {detail}")]
    Unreachable {
        /// The node's URL.
        url: String,
        /// What the connection attempt saw.
        detail: String,
    },
    /// Something answered, but not as an IPFS RPC API.
    #[error("{url} answered, but not as an IPFS node: {detail}")]
    NotIpfs {
        /// The node's URL.
        url: String,
        /// What was wrong with the answer.
        detail: String,
    },
    /// The node answered with an error of its own.
    #[error("the IPFS node at {url} refused the request: {message}")]
    Api {
        /// The node's URL.
        url: String,
        /// The node's message.
        message: String,
    },
    /// The node stored the bytes under another CID than the one computed here: it (or
    /// something between) changed the bytes or imported them differently.
    #[error("the IPFS node stored the data as {got}, but {expected} was computed on this device")]
    CidMismatch {
        /// The CID computed locally.
        expected: Cid,
        /// The CID the node answered.
        got: Cid,
    },
    /// The node does not have the object (and did not find it in time).
    #[error("the IPFS node at {url} does not have {cid} (or could not find it in time)")]
    NotFound {
        /// The node's URL.
        url: String,
        /// The CID asked for.
        cid: Cid,
    },
    /// The object is larger than the caller allows.
    #[error("{cid} is larger than the {max_len} bytes allowed")]
    TooLarge {
        /// The CID asked for.
        cid: Cid,
        /// The limit.
        max_len: u64,
    },
    /// The caller's cancel flag was set.
    #[error("cancelled")]
    Cancelled,
    /// Reading the local file to upload failed.
    #[error("reading {} failed: {source}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Writing the fetched bytes failed.
    #[error("writing the data fetched from IPFS failed: {0}")]
    Write(#[source] std::io::Error),
}

/// A connection to one IPFS node's RPC API.
#[derive(Clone)]
pub struct IpfsNode {
    client: IpfsClient,
    url: Url,
}

impl std::fmt::Debug for IpfsNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IpfsNode")
            .field("url", &self.url.as_str())
            .finish()
    }
}

/// Query-only requests (`arg`, and options) this client sends.
macro_rules! arg_request {
    ($name:ident, $path:literal) => {
        #[derive(serde::Serialize)]
        struct $name<'a> {
            arg: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            recursive: Option<bool>,
            #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
            kind: Option<&'a str>,
            /// The node's own deadline (Kubo's global `--timeout`, also read by js-ipfs),
            /// so an object it does not have is not searched for forever.
            #[serde(skip_serializing_if = "Option::is_none")]
            timeout: Option<&'a str>,
        }
        impl ApiRequest for $name<'_> {
            const PATH: &'static str = $path;
        }
        impl<'a> $name<'a> {
            fn arg(arg: &'a str) -> Self {
                Self {
                    arg,
                    recursive: None,
                    kind: None,
                    timeout: None,
                }
            }
        }
    };
}
arg_request!(BlockStat, "/block/stat");
arg_request!(PinAdd, "/pin/add");
arg_request!(PinRm, "/pin/rm");
arg_request!(PinLs, "/pin/ls");

/// The `add` options that reproduce [`crate::cid::CidBuilder`]: CIDv1, raw leaves,
/// SHA-256, 256 KiB chunks, pinned. Spelled out so that a node whose configuration
/// changes the defaults still imports the same way.
fn add_request() -> ipfs_api::request::Add<'static> {
    ipfs_api::request::Add {
        cid_version: Some(1),
        raw_leaves: Some(true),
        pin: Some(true),
        hash: Some("sha2-256"),
        chunker: Some("size-262144"),
        trickle: Some(false),
        ..Default::default()
    }
}

/// Shared between an upload's reader (on the body's side) and its watchdog.
struct Activity {
    start: Instant,
    last_ms: AtomicU64,
    read_error: Mutex<Option<std::io::Error>>,
}

impl Activity {
    fn new() -> Arc<Activity> {
        Arc::new(Activity {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
            read_error: Mutex::new(None),
        })
    }

    fn touch(&self) {
        let ms = self.start.elapsed().as_millis() as u64;
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    fn idle(&self) -> Duration {
        let now = self.start.elapsed().as_millis() as u64;
        Duration::from_millis(now.saturating_sub(self.last_ms.load(Ordering::Relaxed)))
    }

    fn take_read_error(&self) -> Option<std::io::Error> {
        self.read_error.lock().ok().and_then(|mut e| e.take())
    }
}

/// The file as the multipart body pulls it: counts bytes, reports progress, honours
/// the cancel flag and records activity for the stall watchdog.
struct UploadReader<R> {
    inner: R,
    sent: u64,
    reported: u64,
    // `Mutex` only to make the reader `Sync`, as the multipart form requires; it is
    // never contended.
    progress: Mutex<Box<dyn FnMut(u64) + Send>>,
    cancel: Arc<AtomicBool>,
    activity: Arc<Activity>,
}

impl<R: Read> Read for UploadReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.cancel.load(Ordering::Relaxed) {
            return Err(std::io::Error::other("upload cancelled"));
        }
        let n = match self.inner.read(buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => return Err(e),
            Err(e) => {
                let copy = std::io::Error::new(e.kind(), e.to_string());
                if let Ok(mut slot) = self.activity.read_error.lock() {
                    *slot = Some(e);
                }
                return Err(copy);
            }
        };
        self.activity.touch();
        self.sent += n as u64;
        if n == 0 || self.sent - self.reported >= PROGRESS_STEP {
            self.reported = self.sent;
            if let Ok(mut progress) = self.progress.lock() {
                progress(self.sent);
            }
        }
        Ok(n)
    }
}

impl IpfsNode {
    /// A client for the node whose RPC API is at `url` (`http://host:port`; the
    /// `/api/v0` path is added). Connects lazily: this never touches the network.
    pub fn new(url: &Url) -> Result<Self, IpfsError> {
        let invalid = |reason: String| IpfsError::InvalidUrl {
            url: url.to_string(),
            reason,
        };
        let scheme = match url.scheme() {
            "http" => http::uri::Scheme::HTTP,
            "https" => http::uri::Scheme::HTTPS,
            other => return Err(invalid(format!("unsupported scheme {other}"))),
        };
        let host = url.host_str().ok_or_else(|| invalid("no host".into()))?;
        let port = url
            .port_or_known_default()
            .ok_or_else(|| invalid("no port".into()))?;
        let client = IpfsClient::from_host_and_port(scheme, host, port)
            .map_err(|e| invalid(e.to_string()))?;
        Ok(Self {
            client,
            url: url.clone(),
        })
    }

    /// The URL this client talks to.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// Asks the node for its version and peer id (`version` and `id`).
    #[tracing::instrument(name = "ipfs_info", level = "debug", skip_all)]
    pub async fn info(&self) -> Result<NodeInfo, IpfsError> {
        let this = self.clone();
        let result = off_thread(move || async move { this.info_here().await }).await;
        match &result {
            Ok(info) => tracing::debug!(
                version = %info.version,
                peer_id = %info.peer_id,
                "IPFS node answered"
            ),
            Err(e) => log_failure("info", e),
        }
        result
    }

    async fn info_here(&self) -> Result<NodeInfo, IpfsError> {
        let version = self.call(self.client.version()).await?;
        let id = self.call(self.client.id(None)).await?;
        if version.version.trim().is_empty() || id.id.trim().is_empty() {
            return Err(IpfsError::NotIpfs {
                url: self.url.to_string(),
                detail: "it reported an empty version or peer id".into(),
            });
        }
        Ok(NodeInfo {
            version: version.version,
            peer_id: id.id,
        })
    }

    /// Uploads the file at `path` and pins it (`add`, CIDv1, raw leaves), streaming it
    /// from disk. The CID the node answers must equal `expected` (computed while the
    /// file was written, e.g. [`crate::stream::Encrypted::cid`]), else
    /// [`IpfsError::CidMismatch`].
    ///
    /// `progress` gets the bytes of the file sent so far (every 256 KiB and at the end);
    /// `cancel` stops the upload. There is no overall deadline: the upload fails as
    /// [`IpfsError::Unreachable`] only when no byte moves (and no answer comes) for
    /// [`STALL_TIMEOUT`].
    #[tracing::instrument(name = "ipfs_add", skip_all, fields(cid = %expected, bytes = tracing::field::Empty))]
    pub async fn add_file(
        &self,
        path: &Path,
        expected: &Cid,
        progress: impl FnMut(u64) + Send + 'static,
        cancel: Arc<AtomicBool>,
    ) -> Result<Cid, IpfsError> {
        let started = Instant::now();
        let result = self.add_file_here(path, expected, progress, cancel).await;
        match &result {
            Ok(_) => tracing::info!(
                elapsed_ms = started.elapsed().as_millis() as u64,
                "file added to IPFS"
            ),
            Err(e) => log_failure("add", e),
        }
        result
    }

    async fn add_file_here(
        &self,
        path: &Path,
        expected: &Cid,
        progress: impl FnMut(u64) + Send + 'static,
        cancel: Arc<AtomicBool>,
    ) -> Result<Cid, IpfsError> {
        let file = std::fs::File::open(path).map_err(|source| IpfsError::File {
            path: path.to_owned(),
            source,
        })?;
        if let Ok(meta) = file.metadata() {
            tracing::Span::current().record("bytes", meta.len());
        }
        let this = self.clone();
        let path = path.to_owned();
        let expected = *expected;
        off_thread(move || async move {
            let activity = Activity::new();
            let reader = UploadReader {
                inner: std::io::BufReader::with_capacity(UPLOAD_BUFFER, file),
                sent: 0,
                reported: 0,
                progress: Mutex::new(Box::new(progress)),
                cancel: cancel.clone(),
                activity: activity.clone(),
            };
            let mut form = ipfs_api::Form::default();
            form.add_reader_file("file", reader, "content");
            let request = this.client.request_raw(add_request(), Some(form));
            let answer = watch(request, &activity, &cancel, STALL_TIMEOUT).await;
            let answer = match answer {
                Watched::Done(result) => result,
                Watched::Cancelled => return Err(IpfsError::Cancelled),
                Watched::Stalled => return Err(this.stalled()),
            };
            if cancel.load(Ordering::Relaxed) {
                return Err(IpfsError::Cancelled);
            }
            if let Some(source) = activity.take_read_error() {
                return Err(IpfsError::File { path, source });
            }
            let got = this.parse_add_answer(answer)?;
            if got != expected {
                return Err(IpfsError::CidMismatch { expected, got });
            }
            Ok(got)
        })
        .await
    }

    /// Uploads and pins a small object (a manifest, a capsule) and checks that the
    /// node's CID equals [`cid_of`] the bytes. Bounded by [`CALL_TIMEOUT`].
    #[tracing::instrument(name = "ipfs_add", skip_all, fields(cid = tracing::field::Empty, bytes = bytes.len()))]
    pub async fn add_bytes(&self, bytes: Vec<u8>) -> Result<Cid, IpfsError> {
        let expected = cid_of(&bytes);
        tracing::Span::current().record("cid", tracing::field::display(&expected));
        let started = Instant::now();
        let this = self.clone();
        let result = off_thread(move || async move {
            let mut form = ipfs_api::Form::default();
            form.add_reader_file("file", std::io::Cursor::new(bytes), "object");
            let answer = match tokio::time::timeout(
                CALL_TIMEOUT,
                this.client.request_raw(add_request(), Some(form)),
            )
            .await
            {
                Ok(answer) => answer,
                Err(_) => return Err(this.timed_out(CALL_TIMEOUT)),
            };
            let got = this.parse_add_answer(answer)?;
            if got != expected {
                return Err(IpfsError::CidMismatch { expected, got });
            }
            Ok(got)
        })
        .await;
        match &result {
            Ok(_) => tracing::debug!(
                elapsed_ms = started.elapsed().as_millis() as u64,
                "object added to IPFS"
            ),
            Err(e) => log_failure("add", e),
        }
        result
    }

    /// Reads the add answer: newline-separated JSON objects, the last with a `Hash` is
    /// the file's. Only `Hash` is read (js-ipfs and Kubo disagree on `Size`'s type).
    fn parse_add_answer(
        &self,
        answer: Result<(http::StatusCode, bytes::Bytes), BackendError>,
    ) -> Result<Cid, IpfsError> {
        let (status, body) = answer.map_err(|e| classify(&self.url, e))?;
        if status != http::StatusCode::OK {
            return Err(classify(
                &self.url,
                <IpfsClient as Backend>::process_error_from_body(body),
            ));
        }
        let mut hash = None;
        for line in body.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let value: serde_json::Value = serde_json::from_slice(line)
                .map_err(|_| self.not_ipfs("an add answer that is not JSON"))?;
            if let Some(h) = value.get("Hash").and_then(|h| h.as_str()) {
                hash = Some(h.to_owned());
            } else if let Some(message) = value.get("Message").and_then(|m| m.as_str()) {
                return Err(IpfsError::Api {
                    url: self.url.to_string(),
                    message: message.to_owned(),
                });
            }
        }
        let hash = hash.ok_or_else(|| self.not_ipfs("an add answer without a CID"))?;
        Cid::parse(&hash).map_err(|e| IpfsError::NotIpfs {
            url: self.url.to_string(),
            detail: format!(
                "the add answer's CID {:?} is invalid: {e}",
                truncate(&hash, 80)
            ),
        })
    }

    /// Streams the object `cid` (a UnixFS file) into `dst` and returns its length.
    ///
    /// Fails with [`IpfsError::NotFound`] when the node does not have the object's root
    /// (asked first, with the node's own deadline of [`CALL_TIMEOUT`]), with
    /// [`IpfsError::TooLarge`] as soon as more than `max_len` bytes arrive, and with
    /// [`IpfsError::Unreachable`] when no byte arrives for [`STALL_TIMEOUT`]. The bytes
    /// written are unverified: the caller checks them (their CID, their AEAD).
    #[tracing::instrument(name = "ipfs_cat", skip_all, fields(cid = %cid, max_len = max_len))]
    pub async fn cat_to(
        &self,
        cid: &Cid,
        mut dst: impl Write + Send + 'static,
        max_len: u64,
    ) -> Result<u64, IpfsError> {
        let started = Instant::now();
        let this = self.clone();
        let cid = *cid;
        let result = off_thread(move || async move {
            this.check_present(&cid).await?;
            let arg = cid.to_string();
            let mut stream = this.client.cat(&arg);
            let mut total: u64 = 0;
            loop {
                let next = match tokio::time::timeout(STALL_TIMEOUT, stream.next()).await {
                    Err(_) => return Err(this.stalled()),
                    Ok(next) => next,
                };
                match next {
                    None => break,
                    Some(Err(e)) => return Err(this.missing_or(cid, classify(&this.url, e))),
                    Some(Ok(bytes)) => {
                        total += bytes.len() as u64;
                        if total > max_len {
                            return Err(IpfsError::TooLarge { cid, max_len });
                        }
                        dst.write_all(&bytes).map_err(IpfsError::Write)?;
                    }
                }
            }
            dst.flush().map_err(IpfsError::Write)?;
            Ok(total)
        })
        .await;
        match &result {
            Ok(bytes) => tracing::debug!(
                bytes,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "object read from IPFS"
            ),
            Err(e) => log_failure("cat", e),
        }
        result
    }

    /// Asks whether the node has `cid`'s root block, with a deadline on the node's side.
    #[tracing::instrument(name = "ipfs_block_stat", level = "debug", skip_all, fields(cid = %cid))]
    async fn check_present(&self, cid: &Cid) -> Result<(), IpfsError> {
        let arg = cid.to_string();
        let deadline = format!("{}s", CALL_TIMEOUT.as_secs());
        let mut req = BlockStat::arg(&arg);
        req.timeout = Some(&deadline);
        let fut = self.client.request::<_, serde_json::Value>(req, None);
        // One second more than the node's own deadline, so its answer wins.
        let answer = self
            .call_within(fut, CALL_TIMEOUT + Duration::from_secs(1))
            .await
            .map_err(|e| self.missing_or(*cid, e));
        match &answer {
            Ok(stat) => tracing::debug!(
                block_bytes = stat.get("Size").and_then(serde_json::Value::as_u64),
                "root block present"
            ),
            // The caller logs the failure of what it was doing.
            Err(e) => tracing::debug!(error = error_kind(e), "block stat failed"),
        }
        answer.map(|_| ())
    }

    /// Pins `cid` and everything under it. Fails with [`IpfsError::NotFound`] if the
    /// node does not have (or cannot find) every block within [`PIN_TIMEOUT`].
    #[tracing::instrument(name = "ipfs_pin", skip_all, fields(cid = %cid))]
    pub async fn pin(&self, cid: &Cid) -> Result<(), IpfsError> {
        let started = Instant::now();
        let this = self.clone();
        let cid = *cid;
        let result = off_thread(move || async move {
            // A root the node does not have fails fast here rather than after the pin's
            // long deadline.
            this.check_present(&cid).await?;
            let arg = cid.to_string();
            let deadline = format!("{}s", PIN_TIMEOUT.as_secs());
            let mut req = PinAdd::arg(&arg);
            req.recursive = Some(true);
            req.timeout = Some(&deadline);
            let fut = this.client.request::<_, serde_json::Value>(req, None);
            this.call_within(fut, PIN_TIMEOUT + Duration::from_secs(1))
                .await
                .map_err(|e| this.missing_or(cid, e))?;
            Ok(())
        })
        .await;
        match &result {
            Ok(()) => tracing::debug!(elapsed_ms = started.elapsed().as_millis() as u64, "pinned"),
            Err(e) => log_failure("pin", e),
        }
        result
    }

    /// Removes the recursive pin of `cid`. Unpinning what is not pinned succeeds, so
    /// the call can be retried.
    #[tracing::instrument(name = "ipfs_unpin", skip_all, fields(cid = %cid))]
    pub async fn unpin(&self, cid: &Cid) -> Result<(), IpfsError> {
        let this = self.clone();
        let cid = *cid;
        let result = off_thread(move || async move {
            let arg = cid.to_string();
            let mut req = PinRm::arg(&arg);
            req.recursive = Some(true);
            let fut = this.client.request::<_, serde_json::Value>(req, None);
            match this.call(fut).await {
                Ok(_) => Ok(()),
                Err(IpfsError::Api { message, .. }) if is_not_pinned(&message) => {
                    tracing::debug!("was not pinned");
                    Ok(())
                }
                Err(e) => Err(e),
            }
        })
        .await;
        match &result {
            Ok(()) => tracing::debug!("unpinned"),
            Err(e) => log_failure("unpin", e),
        }
        result
    }

    /// Whether the node keeps `cid`: pinned directly, recursively, or under another pin.
    #[tracing::instrument(name = "ipfs_pin_ls", level = "debug", skip_all, fields(cid = %cid))]
    pub async fn is_pinned(&self, cid: &Cid) -> Result<bool, IpfsError> {
        let this = self.clone();
        let cid = *cid;
        let result = off_thread(move || async move {
            let arg = cid.to_string();
            let mut req = PinLs::arg(&arg);
            req.kind = Some("all");
            let fut = this.client.request::<_, serde_json::Value>(req, None);
            let answer = match this.call(fut).await {
                Ok(answer) => answer,
                Err(IpfsError::Api { message, .. }) if is_not_pinned(&message) => return Ok(false),
                Err(e) => return Err(e),
            };
            let keys = answer
                .get("Keys")
                .and_then(|k| k.as_object())
                .ok_or_else(|| this.not_ipfs("a pin list without Keys"))?;
            // The node may answer in another base or CID version: compare values.
            Ok(keys.keys().any(|k| Cid::parse(k).is_ok_and(|c| c == cid)))
        })
        .await;
        match &result {
            Ok(pinned) => tracing::debug!(pinned, "pin checked"),
            Err(e) => log_failure("pin ls", e),
        }
        result
    }

    async fn call<T>(
        &self,
        fut: impl std::future::Future<Output = Result<T, BackendError>>,
    ) -> Result<T, IpfsError> {
        self.call_within(fut, CALL_TIMEOUT).await
    }

    async fn call_within<T>(
        &self,
        fut: impl std::future::Future<Output = Result<T, BackendError>>,
        limit: Duration,
    ) -> Result<T, IpfsError> {
        match tokio::time::timeout(limit, fut).await {
            Err(_) => Err(self.timed_out(limit)),
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => Err(classify(&self.url, err)),
        }
    }

    fn timed_out(&self, limit: Duration) -> IpfsError {
        IpfsError::Unreachable {
            url: self.url.to_string(),
            detail: format!("no answer within {} s", limit.as_secs()),
        }
    }

    fn stalled(&self) -> IpfsError {
        IpfsError::Unreachable {
            url: self.url.to_string(),
            detail: format!(
                "the transfer stalled: no data for {} s",
                STALL_TIMEOUT.as_secs()
            ),
        }
    }

    fn not_ipfs(&self, what: &str) -> IpfsError {
        IpfsError::NotIpfs {
            url: self.url.to_string(),
            detail: format!("it sent {what}"),
        }
    }

    /// Turns the node's "I do not have it / gave up looking" answers into `NotFound`.
    fn missing_or(&self, cid: Cid, err: IpfsError) -> IpfsError {
        match err {
            IpfsError::Api { ref message, .. } if is_missing(message) => IpfsError::NotFound {
                url: self.url.to_string(),
                cid,
            },
            other => other,
        }
    }
}

impl IpfsError {
    /// The variant's name, for logs: error messages may carry the node's URL, a path or
    /// the node's own words, none of which belongs in a log.
    pub fn kind(&self) -> &'static str {
        error_kind(self)
    }
}

fn error_kind(err: &IpfsError) -> &'static str {
    match err {
        IpfsError::InvalidUrl { .. } => "invalid_url",
        IpfsError::Unreachable { .. } => "unreachable",
        IpfsError::NotIpfs { .. } => "not_ipfs",
        IpfsError::Api { .. } => "api",
        IpfsError::CidMismatch { .. } => "cid_mismatch",
        IpfsError::NotFound { .. } => "not_found",
        IpfsError::TooLarge { .. } => "too_large",
        IpfsError::Cancelled => "cancelled",
        IpfsError::File { .. } => "file",
        IpfsError::Write(_) => "write",
    }
}

/// Logs a failed call by its kind (and CIDs, for a mismatch); a cancel is the user's
/// choice, not a failure.
fn log_failure(call: &'static str, err: &IpfsError) {
    match err {
        IpfsError::Cancelled => tracing::debug!(call, "IPFS call cancelled"),
        IpfsError::CidMismatch { expected, got } => tracing::warn!(
            call,
            expected = %expected,
            got = %got,
            "the IPFS node stored the data under another CID"
        ),
        IpfsError::TooLarge { max_len, .. } => {
            tracing::warn!(call, max_len, "the IPFS object is larger than allowed")
        }
        other => tracing::warn!(call, error = error_kind(other), "IPFS call failed"),
    }
}

/// What a node says when it does not have a block and gave up looking: Kubo offline
/// ("block was not found locally"), Kubo or js-ipfs past the request's `timeout`
/// ("context deadline exceeded", "request timed out").
fn is_missing(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    [
        "not found",
        "could not find",
        "timed out",
        "deadline exceeded",
    ]
    .iter()
    .any(|s| m.contains(s))
}

/// Kubo: "not pinned or pinned indirectly"; js-ipfs: "... is not pinned".
fn is_not_pinned(message: &str) -> bool {
    message.to_ascii_lowercase().contains("not pinned")
}

enum Watched<T> {
    Done(T),
    Cancelled,
    Stalled,
}

/// Drives `fut` while watching the cancel flag and the transfer's activity: gives up
/// when the flag is set or nothing moved for `stall`.
async fn watch<T>(
    fut: impl std::future::Future<Output = T>,
    activity: &Activity,
    cancel: &AtomicBool,
    stall: Duration,
) -> Watched<T> {
    let mut fut = std::pin::pin!(fut);
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        tokio::select! {
            value = &mut fut => return Watched::Done(value),
            _ = tick.tick() => {
                if cancel.load(Ordering::Relaxed) {
                    return Watched::Cancelled;
                }
                if activity.idle() >= stall {
                    return Watched::Stalled;
                }
            }
        }
    }
}

/// Runs a future built by `make` on a blocking-pool thread and awaits its result.
///
/// `ipfs-api`'s futures are not `Send` (its trait is `async_trait(?Send)`), but the
/// app's callers (tauri commands on a multi-threaded runtime) need `Send` futures.
/// Driving the call to completion on its own thread gives them one. Blocking file I/O
/// in an upload or download happens on that thread too, off the async workers.
async fn off_thread<F, Fut, T>(make: F) -> T
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = T>,
    T: Send + 'static,
{
    let handle = tokio::runtime::Handle::current();
    // The caller's span follows the call onto the blocking thread.
    let span = tracing::Span::current();
    match tokio::task::spawn_blocking(move || handle.block_on(make().instrument(span))).await {
        Ok(value) => value,
        Err(join) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
        Err(join) => panic!("the IPFS call was cancelled while the runtime shut down: {join}"),
    }
}

/// Sorts a backend error into "nothing there", "something else there" and "the
/// node said no", which is what the user can act on.
fn classify(url: &Url, err: BackendError) -> IpfsError {
    use ipfs_api_prelude::Error as Prelude;
    let url = url.to_string();
    match err {
        BackendError::Client(e) if e.is_connect() || e.is_timeout() || e.is_closed() => {
            IpfsError::Unreachable {
                url,
                detail: root_cause(&e),
            }
        }
        // The connection broke mid-request (e.g. the node died during an upload).
        BackendError::Client(e) if e.is_incomplete_message() || e.is_body_write_aborted() => {
            IpfsError::Unreachable {
                url,
                detail: root_cause(&e),
            }
        }
        BackendError::Client(e) => IpfsError::NotIpfs {
            url,
            detail: root_cause(&e),
        },
        BackendError::Http(e) => IpfsError::InvalidUrl {
            url,
            reason: e.to_string(),
        },
        BackendError::Api(api) => IpfsError::Api {
            url,
            message: api.message,
        },
        BackendError::IpfsClientError(Prelude::Io(e)) => IpfsError::Unreachable {
            url,
            detail: e.to_string(),
        },
        BackendError::IpfsClientError(Prelude::UnrecognizedApiError(text)) => IpfsError::NotIpfs {
            url,
            detail: format!("unexpected answer {:?}", truncate(&text, 120)),
        },
        BackendError::IpfsClientError(other) => IpfsError::NotIpfs {
            url,
            detail: other.to_string(),
        },
    }
}

fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate("héllo", 2), "hé");
        assert_eq!(truncate("hi", 10), "hi");
    }

    #[test]
    fn node_futures_are_send() {
        fn assert_send<T: Send>(_: &T) {}
        let node = IpfsNode::new(&Url::parse("http://127.0.0.1:1").unwrap()).unwrap();
        let cid = cid_of(b"");
        assert_send(&node.info());
        assert_send(&node.add_bytes(Vec::new()));
        assert_send(&node.add_file(
            Path::new("/nonexistent"),
            &cid,
            |_| {},
            Arc::new(AtomicBool::new(false)),
        ));
        assert_send(&node.cat_to(&cid, std::io::sink(), 1));
        assert_send(&node.pin(&cid));
        assert_send(&node.unpin(&cid));
        assert_send(&node.is_pinned(&cid));
    }

    #[test]
    fn requests_spell_the_kubo_options() {
        let q = serde_urlencoded::to_string(add_request()).unwrap();
        for part in [
            "cid-version=1",
            "raw-leaves=true",
            "pin=true",
            "hash=sha2-256",
            "chunker=size-262144",
        ] {
            assert!(q.contains(part), "{q}");
        }
        let mut pin = PinLs::arg("bafy");
        pin.kind = Some("all");
        assert_eq!(
            serde_urlencoded::to_string(pin).unwrap(),
            "arg=bafy&type=all"
        );
        let mut stat = BlockStat::arg("bafy");
        stat.timeout = Some("5s");
        assert_eq!(
            serde_urlencoded::to_string(stat).unwrap(),
            "arg=bafy&timeout=5s"
        );
    }

    #[test]
    fn node_messages_are_sorted() {
        assert!(is_missing("Failed to get block stats: request timed out"));
        assert!(is_missing(
            "block was not found locally (offline): ipld: could not find bafy"
        ));
        assert!(is_missing("context deadline exceeded"));
        assert!(!is_missing("invalid path"));
        assert!(is_not_pinned("Failed to remove pin: bafy is not pinned"));
        assert!(is_not_pinned("not pinned or pinned indirectly"));
    }

    #[tokio::test]
    async fn closed_port_is_unreachable_not_a_panic() {
        // Bind then drop a listener: the port is free and nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = Url::parse(&format!("http://127.0.0.1:{port}")).unwrap();
        let node = IpfsNode::new(&url).unwrap();
        let err = node.info().await.unwrap_err();
        assert!(matches!(err, IpfsError::Unreachable { .. }), "{err:?}");
        let err = node.add_bytes(b"x".to_vec()).await.unwrap_err();
        assert!(matches!(err, IpfsError::Unreachable { .. }), "{err:?}");
        let err = node
            .cat_to(&cid_of(b"x"), std::io::sink(), 10)
            .await
            .unwrap_err();
        assert!(matches!(err, IpfsError::Unreachable { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn a_missing_file_is_a_file_error() {
        let node = IpfsNode::new(&Url::parse("http://127.0.0.1:1").unwrap()).unwrap();
        let err = node
            .add_file(
                Path::new("/nonexistent/record"),
                &cid_of(b""),
                |_| {},
                Arc::new(AtomicBool::new(false)),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, IpfsError::File { .. }), "{err:?}");
    }
}
