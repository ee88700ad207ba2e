//! The IPFS node client: the Kubo RPC API (`/api/v0`), spoken by Kubo and by the
//! js-ipfs daemon used locally, over the HTTP client of [`medwallet_net`] (TLS with the
//! system's roots and a consortium's CA, the node's credentials).
//!
//! Every call is a `POST` with its arguments in the query; a node that refuses answers
//! an error status with `{"Message": …, "Code": …, "Type": "error"}`.
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
//! Uploads stream from the file (a multipart part pulled from the file as the
//! connection drains), so memory stays bounded; the add answer is parsed leniently
//! (only `Hash` is read: js-ipfs sends `Size` as a number, Kubo as a string). The
//! futures are `Send`: file reads go through tokio's file, writes of fetched bytes to
//! the caller's blocking `Write` through one blocking task per read.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use medwallet_net::NetProblem;
use reqwest::multipart::{Form, Part};
use url::Url;

use crate::cid::{cid_of, Cid};

/// How a node is reached (credentials, a consortium's CA) and what can go wrong with TLS,
/// from the HTTP client crate, so that users of this client need no other import.
pub use medwallet_net::{Credentials, NetError, NodeAccess, TlsProblem};

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
/// Read size between the file and the multipart body.
const UPLOAD_BUFFER: usize = 256 * 1024;
/// Chunks of a download queued for the writer at most (each as large as one network
/// read), so a slow disk holds back the download instead of filling memory.
const WRITE_QUEUE: usize = 16;
/// How much of an error answer is read (its JSON message is short).
const MAX_ERROR_BODY: usize = 64 * 1024;
/// The longest line of a streamed JSON answer (`refs/local`) accepted.
const MAX_LINE: usize = 64 * 1024;

/// What the node says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInfo {
    /// The node's software version, e.g. `0.66.1`.
    pub version: String,
    /// The node's peer id.
    pub peer_id: String,
    /// The node's software as its peers see it (`AgentVersion`, e.g. `kubo/0.29.0/` or
    /// `js-ipfs/0.18.1`); empty if it says none.
    pub agent: String,
    /// The swarm addresses it listens on, as multiaddrs ending in `/p2p/<peer id>`
    /// (empty for a node running offline).
    pub addresses: Vec<String>,
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
    /// The node's connection settings (its CA certificate, its credentials) cannot be
    /// used.
    #[error("the connection settings of the IPFS node at {url} cannot be used: {source}")]
    Setup {
        /// The node's URL.
        url: String,
        /// What is wrong with them (never the credentials themselves).
        source: NetError,
    },
    /// Nothing answered, or not in time.
    #[error("the IPFS node at {url} is unreachable: {detail}")]
    Unreachable {
        /// The node's URL.
        url: String,
        /// What the connection attempt saw.
        detail: String,
    },
    /// The TLS connection could not be made safely: nothing was sent.
    #[error("the IPFS node at {url} cannot be reached safely: {problem}")]
    Tls {
        /// The node's URL.
        url: String,
        /// What was wrong.
        problem: TlsProblem,
    },
    /// The node (or the proxy in front of it) refused the credentials: HTTP 401 or
    /// 403.
    #[error("the IPFS node at {url} refused the credentials")]
    Unauthorized {
        /// The node's URL.
        url: String,
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
    client: reqwest::Client,
    url: Url,
    /// `<scheme>://<host>:<port>/api/v0/`.
    api: Url,
}

impl std::fmt::Debug for IpfsNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IpfsNode")
            .field("url", &self.url.as_str())
            .finish()
    }
}

/// The `add` options that reproduce [`crate::cid::CidBuilder`]: CIDv1, raw leaves,
/// SHA-256, 256 KiB chunks, balanced layout, pinned. Spelled out so that a node whose
/// configuration changes the defaults still imports the same way.
const ADD_OPTIONS: [(&str, &str); 6] = [
    ("cid-version", "1"),
    ("raw-leaves", "true"),
    ("pin", "true"),
    ("hash", "sha2-256"),
    ("chunker", "size-262144"),
    ("trickle", "false"),
];

/// Shared between an upload's body (pulled by the connection) and its watchdog.
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
struct UploadStream<S> {
    inner: S,
    sent: u64,
    reported: u64,
    done: bool,
    progress: Box<dyn FnMut(u64) + Send>,
    cancel: Arc<AtomicBool>,
    activity: Arc<Activity>,
}

impl<S> Stream for UploadStream<S>
where
    S: Stream<Item = std::io::Result<Bytes>> + Unpin,
{
    type Item = std::io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        if this.cancel.load(Ordering::Relaxed) {
            return Poll::Ready(Some(Err(std::io::Error::other("upload cancelled"))));
        }
        match this.inner.poll_next_unpin(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(bytes))) => {
                this.activity.touch();
                this.sent += bytes.len() as u64;
                if this.sent - this.reported >= PROGRESS_STEP {
                    this.reported = this.sent;
                    (this.progress)(this.sent);
                }
                Poll::Ready(Some(Ok(bytes)))
            }
            Poll::Ready(Some(Err(e))) => {
                // The body's error goes to the connection; the original, for the
                // caller, is kept here.
                let copy = std::io::Error::new(e.kind(), e.to_string());
                if let Ok(mut slot) = this.activity.read_error.lock() {
                    *slot = Some(e);
                }
                Poll::Ready(Some(Err(copy)))
            }
            Poll::Ready(None) => {
                this.activity.touch();
                this.done = true;
                this.reported = this.sent;
                (this.progress)(this.sent);
                Poll::Ready(None)
            }
        }
    }
}

impl IpfsNode {
    /// A client for the node whose RPC API is at `url` (`http://host:port`; the
    /// `/api/v0` path is added), reached with the access the app's book gives its
    /// origin (`medwallet_net::book`: credentials, an extra CA; none by default).
    /// Connects lazily: this never touches the network.
    pub fn new(url: &Url) -> Result<Self, IpfsError> {
        IpfsNode::with_access(url, &medwallet_net::book::access_for(url))
    }

    /// A client for the node at `url` reached with `access`: its credentials on every
    /// request, its extra CA trusted for `https://`.
    pub fn with_access(url: &Url, access: &NodeAccess) -> Result<Self, IpfsError> {
        let invalid = |reason: &str| IpfsError::InvalidUrl {
            url: url.to_string(),
            reason: reason.to_owned(),
        };
        match url.scheme() {
            "http" | "https" => {}
            other => return Err(invalid(&format!("unsupported scheme {other}"))),
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(invalid("no host"));
        }
        if url.port_or_known_default().is_none() {
            return Err(invalid("no port"));
        }
        // Only scheme, host and port are used, as before: a path, a query or user
        // information in the URL is not sent.
        let mut api = url.clone();
        api.set_path("/api/v0/");
        api.set_query(None);
        api.set_fragment(None);
        api.set_username("")
            .and_then(|()| api.set_password(None))
            .map_err(|()| invalid("it cannot carry an API path"))?;
        let client = medwallet_net::http_client(access).map_err(|source| IpfsError::Setup {
            url: url.to_string(),
            source,
        })?;
        Ok(Self {
            client,
            url: url.clone(),
            api,
        })
    }

    /// The URL this client talks to.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// Asks the node for its version, peer id, agent and swarm addresses (`version`
    /// and `id`).
    #[tracing::instrument(name = "ipfs_info", level = "debug", skip_all)]
    pub async fn info(&self) -> Result<NodeInfo, IpfsError> {
        let result = self.info_here().await;
        match &result {
            Ok(info) => tracing::debug!(
                version = %info.version,
                peer_id = %info.peer_id,
                addresses = info.addresses.len(),
                "IPFS node answered"
            ),
            Err(e) => log_failure("info", e),
        }
        result
    }

    async fn info_here(&self) -> Result<NodeInfo, IpfsError> {
        let version = self.call("version", &[], CALL_TIMEOUT).await?;
        let id = self.call("id", &[], CALL_TIMEOUT).await?;
        let text = |v: &serde_json::Value, key: &str| {
            v.get(key)
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let info = NodeInfo {
            version: text(&version, "Version"),
            peer_id: text(&id, "ID"),
            agent: text(&id, "AgentVersion"),
            addresses: strings(id.get("Addresses")),
        };
        if info.version.trim().is_empty() || info.peer_id.trim().is_empty() {
            return Err(self.not_ipfs_because("it reported an empty version or peer id"));
        }
        Ok(info)
    }

    /// Asks the node to connect to the peer at `multiaddr` (`swarm/connect`, e.g.
    /// `/ip4/127.0.0.2/tcp/4001/p2p/12D3Koo…`), within [`CALL_TIMEOUT`].
    #[tracing::instrument(name = "ipfs_swarm_connect", level = "debug", skip_all)]
    pub async fn swarm_connect(&self, multiaddr: &str) -> Result<(), IpfsError> {
        let deadline = secs(CALL_TIMEOUT);
        let query = [("arg", multiaddr), ("timeout", deadline.as_str())];
        let result = self
            .call(
                "swarm/connect",
                &query,
                CALL_TIMEOUT + Duration::from_secs(1),
            )
            .await
            .map(|_| ());
        match &result {
            Ok(()) => tracing::debug!("connected to a peer"),
            Err(e) => log_failure("swarm connect", e),
        }
        result
    }

    /// The peer ids the node is connected to (`swarm/peers`), sorted, each once.
    #[tracing::instrument(name = "ipfs_swarm_peers", level = "debug", skip_all)]
    pub async fn swarm_peers(&self) -> Result<Vec<String>, IpfsError> {
        let result = self
            .call("swarm/peers", &[], CALL_TIMEOUT)
            .await
            .and_then(|answer| {
                let peers = match answer.get("Peers") {
                    // Kubo answers `null` for no peers.
                    None | Some(serde_json::Value::Null) => Vec::new(),
                    Some(serde_json::Value::Array(peers)) => peers
                        .iter()
                        .filter_map(|p| p.get("Peer").and_then(serde_json::Value::as_str))
                        .map(str::to_owned)
                        .collect(),
                    Some(_) => return Err(self.not_ipfs("a peer list that is not a list")),
                };
                Ok(peers)
            });
        match result {
            Ok(mut peers) => {
                peers.sort();
                peers.dedup();
                tracing::debug!(peers = peers.len(), "peers listed");
                Ok(peers)
            }
            Err(e) => {
                log_failure("swarm peers", &e);
                Err(e)
            }
        }
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
        let file_error = |source| IpfsError::File {
            path: path.to_owned(),
            source,
        };
        let file = tokio::fs::File::open(path).await.map_err(file_error)?;
        if let Ok(meta) = file.metadata().await {
            tracing::Span::current().record("bytes", meta.len());
        }
        let activity = Activity::new();
        let body = UploadStream {
            inner: tokio_util::io::ReaderStream::with_capacity(file, UPLOAD_BUFFER),
            sent: 0,
            reported: 0,
            done: false,
            progress: Box::new(progress),
            cancel: cancel.clone(),
            activity: activity.clone(),
        };
        // No length: the body is chunked, so a file that changes size while it is read
        // ends the upload with a CID mismatch rather than a broken request.
        let part = Part::stream(reqwest::Body::wrap_stream(body));
        let request = self
            .post("add", &ADD_OPTIONS)
            .multipart(self.file_form(part)?);
        let exchange = async {
            let answer = self.send(request).await?;
            answer.bytes().await.map_err(|e| self.transport(&e))
        };
        let answer = match watch(exchange, &activity, &cancel, STALL_TIMEOUT).await {
            Watched::Done(answer) => answer,
            Watched::Cancelled => return Err(IpfsError::Cancelled),
            Watched::Stalled => return Err(self.stalled()),
        };
        if cancel.load(Ordering::Relaxed) {
            return Err(IpfsError::Cancelled);
        }
        if let Some(source) = activity.take_read_error() {
            return Err(file_error(source));
        }
        let got = self.parse_add_answer(&answer?)?;
        if &got != expected {
            return Err(IpfsError::CidMismatch {
                expected: *expected,
                got,
            });
        }
        Ok(got)
    }

    /// Uploads and pins a small object (a manifest, a capsule) and checks that the
    /// node's CID equals [`cid_of`] the bytes. Bounded by [`CALL_TIMEOUT`].
    #[tracing::instrument(name = "ipfs_add", skip_all, fields(cid = tracing::field::Empty, bytes = bytes.len()))]
    pub async fn add_bytes(&self, bytes: Vec<u8>) -> Result<Cid, IpfsError> {
        let expected = cid_of(&bytes);
        tracing::Span::current().record("cid", tracing::field::display(&expected));
        let started = Instant::now();
        let result = self.add_bytes_here(bytes, expected).await;
        match &result {
            Ok(_) => tracing::debug!(
                elapsed_ms = started.elapsed().as_millis() as u64,
                "object added to IPFS"
            ),
            Err(e) => log_failure("add", e),
        }
        result
    }

    async fn add_bytes_here(&self, bytes: Vec<u8>, expected: Cid) -> Result<Cid, IpfsError> {
        let request = self
            .post("add", &ADD_OPTIONS)
            .multipart(self.file_form(Part::bytes(bytes))?);
        let exchange = async {
            let answer = self.send(request).await?;
            answer.bytes().await.map_err(|e| self.transport(&e))
        };
        let answer = tokio::time::timeout(CALL_TIMEOUT, exchange)
            .await
            .map_err(|_| self.timed_out(CALL_TIMEOUT))??;
        let got = self.parse_add_answer(&answer)?;
        if got != expected {
            return Err(IpfsError::CidMismatch { expected, got });
        }
        Ok(got)
    }

    /// The multipart form of an `add`: one file part, as Kubo's own client sends it.
    fn file_form(&self, part: Part) -> Result<Form, IpfsError> {
        let part = part
            .file_name("content")
            .mime_str("application/octet-stream")
            .map_err(|e| IpfsError::InvalidUrl {
                url: self.url.to_string(),
                reason: e.to_string(),
            })?;
        Ok(Form::new().part("file", part))
    }

    /// Reads the add answer: newline-separated JSON objects, the last with a `Hash` is
    /// the file's. Only `Hash` is read (js-ipfs and Kubo disagree on `Size`'s type).
    fn parse_add_answer(&self, body: &[u8]) -> Result<Cid, IpfsError> {
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
        Cid::parse(&hash).map_err(|e| {
            self.not_ipfs_because(&format!(
                "the add answer's CID {:?} is invalid: {e}",
                truncate(&hash, 80)
            ))
        })
    }

    /// Streams the object `cid` (a UnixFS file) into `dst` and returns its length.
    ///
    /// Fails with [`IpfsError::NotFound`] when the node does not have the object's root
    /// (asked first, with the node's own deadline of [`CALL_TIMEOUT`]), with
    /// [`IpfsError::TooLarge`] as soon as more than `max_len` bytes arrive, and with
    /// [`IpfsError::Unreachable`] when no byte arrives for [`STALL_TIMEOUT`]. The bytes
    /// written are unverified: the caller checks them (their CID, their AEAD).
    ///
    /// `dst` is written on a blocking thread (it may be a file); when this returns, it
    /// has been dropped and is written no more. If the future is dropped instead, the
    /// writer ends after at most the few chunks already queued.
    #[tracing::instrument(name = "ipfs_cat", skip_all, fields(cid = %cid, max_len = max_len))]
    pub async fn cat_to(
        &self,
        cid: &Cid,
        dst: impl Write + Send + 'static,
        max_len: u64,
    ) -> Result<u64, IpfsError> {
        let started = Instant::now();
        let result = self.cat_here(cid, dst, max_len).await;
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

    async fn cat_here(
        &self,
        cid: &Cid,
        dst: impl Write + Send + 'static,
        max_len: u64,
    ) -> Result<u64, IpfsError> {
        self.check_present(cid).await?;
        let arg = cid.to_string();
        let answer = tokio::time::timeout(
            STALL_TIMEOUT,
            self.send(self.post("cat", &[("arg", arg.as_str())])),
        )
        .await
        .map_err(|_| self.stalled())?
        .map_err(|e| self.missing_or(*cid, e))?;
        let mut body = answer.bytes_stream();
        let writer = Writer::start(dst);
        let mut total: u64 = 0;
        let read = loop {
            let next = match tokio::time::timeout(STALL_TIMEOUT, body.next()).await {
                Err(_) => break Err(self.stalled()),
                Ok(next) => next,
            };
            match next {
                None => break Ok(()),
                Some(Err(e)) => break Err(self.missing_or(*cid, self.transport(&e))),
                Some(Ok(bytes)) => {
                    total += bytes.len() as u64;
                    if total > max_len {
                        break Err(IpfsError::TooLarge { cid: *cid, max_len });
                    }
                    if !writer.send(bytes).await {
                        // The writer failed: its error is what to report.
                        break Ok(());
                    }
                }
            }
        };
        // The writer's failure comes first: the bytes read were not kept anyway.
        let written = writer.finish(read.is_ok()).await;
        written.map_err(IpfsError::Write)?;
        read.map(|()| total)
    }

    /// Whether the node has `cid`'s root block itself, without asking its peers.
    ///
    /// Kubo is asked `block/stat` with `offline=true`. js-ipfs ignores `offline` (it
    /// would fetch the block from a peer to answer), so any other node's local block
    /// list (`refs/local`) is read until the block is found; that is a scan of every
    /// block the node has, fine for tests and small nodes. Blocks are compared by
    /// multihash: nodes list them as raw CIDs whatever their codec.
    #[tracing::instrument(name = "ipfs_has_locally", level = "debug", skip_all, fields(cid = %cid))]
    pub async fn has_locally(&self, cid: &Cid) -> Result<bool, IpfsError> {
        let result = self.has_locally_here(cid).await;
        match &result {
            Ok(here) => tracing::debug!(here, "local blocks checked"),
            Err(e) => log_failure("has locally", e),
        }
        result
    }

    async fn has_locally_here(&self, cid: &Cid) -> Result<bool, IpfsError> {
        let id = self.call("id", &[], CALL_TIMEOUT).await?;
        let agent = id
            .get("AgentVersion")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default();
        if honours_offline(agent) {
            let arg = cid.to_string();
            let query = [("arg", arg.as_str()), ("offline", "true")];
            return match self.call("block/stat", &query, CALL_TIMEOUT).await {
                Ok(_) => Ok(true),
                Err(IpfsError::Api { message, .. }) if is_missing(&message) => Ok(false),
                Err(e) => Err(e),
            };
        }
        let answer = tokio::time::timeout(CALL_TIMEOUT, self.send(self.post("refs/local", &[])))
            .await
            .map_err(|_| self.timed_out(CALL_TIMEOUT))??;
        let mut body = answer.bytes_stream();
        let mut line = Vec::new();
        loop {
            let chunk = match tokio::time::timeout(STALL_TIMEOUT, body.next()).await {
                Err(_) => return Err(self.stalled()),
                Ok(None) => break,
                Ok(Some(Err(e))) => return Err(self.transport(&e)),
                Ok(Some(Ok(chunk))) => chunk,
            };
            for piece in chunk.split_inclusive(|&b| b == b'\n') {
                line.extend_from_slice(piece);
                if line.ends_with(b"\n") {
                    if self.ref_is(&line, cid)? {
                        return Ok(true);
                    }
                    line.clear();
                } else if line.len() > MAX_LINE {
                    return Err(self.not_ipfs("a local block list line too long"));
                }
            }
        }
        self.ref_is(&line, cid)
    }

    /// Whether one `refs/local` line (`{"Ref": "<cid>", "Err": ""}`) names `cid`'s block.
    fn ref_is(&self, line: &[u8], cid: &Cid) -> Result<bool, IpfsError> {
        let line = line.trim_ascii();
        if line.is_empty() {
            return Ok(false);
        }
        let value: serde_json::Value = serde_json::from_slice(line)
            .map_err(|_| self.not_ipfs("a local block list that is not JSON"))?;
        if let Some(err) = value.get("Err").and_then(serde_json::Value::as_str) {
            if !err.is_empty() {
                return Err(IpfsError::Api {
                    url: self.url.to_string(),
                    message: err.to_owned(),
                });
            }
        }
        Ok(value
            .get("Ref")
            .and_then(serde_json::Value::as_str)
            .and_then(|r| Cid::parse(r).ok())
            .is_some_and(|r| r.hash_code() == cid.hash_code() && r.digest() == cid.digest()))
    }

    /// Asks whether the node has `cid`'s root block, with a deadline on the node's side.
    #[tracing::instrument(name = "ipfs_block_stat", level = "debug", skip_all, fields(cid = %cid))]
    async fn check_present(&self, cid: &Cid) -> Result<(), IpfsError> {
        let arg = cid.to_string();
        let deadline = secs(CALL_TIMEOUT);
        let query = [("arg", arg.as_str()), ("timeout", deadline.as_str())];
        // One second more than the node's own deadline, so its answer wins.
        let answer = self
            .call("block/stat", &query, CALL_TIMEOUT + Duration::from_secs(1))
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
        let result = self.pin_here(cid).await;
        match &result {
            Ok(()) => tracing::debug!(elapsed_ms = started.elapsed().as_millis() as u64, "pinned"),
            Err(e) => log_failure("pin", e),
        }
        result
    }

    async fn pin_here(&self, cid: &Cid) -> Result<(), IpfsError> {
        // A root the node does not have fails fast here rather than after the pin's
        // long deadline.
        self.check_present(cid).await?;
        let arg = cid.to_string();
        let deadline = secs(PIN_TIMEOUT);
        let query = [
            ("arg", arg.as_str()),
            ("recursive", "true"),
            ("timeout", deadline.as_str()),
        ];
        self.call("pin/add", &query, PIN_TIMEOUT + Duration::from_secs(1))
            .await
            .map_err(|e| self.missing_or(*cid, e))?;
        Ok(())
    }

    /// Removes the recursive pin of `cid`. Unpinning what is not pinned succeeds, so
    /// the call can be retried.
    #[tracing::instrument(name = "ipfs_unpin", skip_all, fields(cid = %cid))]
    pub async fn unpin(&self, cid: &Cid) -> Result<(), IpfsError> {
        let arg = cid.to_string();
        let query = [("arg", arg.as_str()), ("recursive", "true")];
        let result = match self.call("pin/rm", &query, CALL_TIMEOUT).await {
            Ok(_) => Ok(()),
            Err(IpfsError::Api { message, .. }) if is_not_pinned(&message) => {
                tracing::debug!("was not pinned");
                Ok(())
            }
            Err(e) => Err(e),
        };
        match &result {
            Ok(()) => tracing::debug!("unpinned"),
            Err(e) => log_failure("unpin", e),
        }
        result
    }

    /// Whether the node keeps `cid`: pinned directly, recursively, or under another pin.
    #[tracing::instrument(name = "ipfs_pin_ls", level = "debug", skip_all, fields(cid = %cid))]
    pub async fn is_pinned(&self, cid: &Cid) -> Result<bool, IpfsError> {
        let result = self.is_pinned_here(cid).await;
        match &result {
            Ok(pinned) => tracing::debug!(pinned, "pin checked"),
            Err(e) => log_failure("pin ls", e),
        }
        result
    }

    async fn is_pinned_here(&self, cid: &Cid) -> Result<bool, IpfsError> {
        let arg = cid.to_string();
        let query = [("arg", arg.as_str()), ("type", "all")];
        let answer = match self.call("pin/ls", &query, CALL_TIMEOUT).await {
            Ok(answer) => answer,
            Err(IpfsError::Api { message, .. }) if is_not_pinned(&message) => return Ok(false),
            Err(e) => return Err(e),
        };
        let keys = answer
            .get("Keys")
            .and_then(|k| k.as_object())
            .ok_or_else(|| self.not_ipfs("a pin list without Keys"))?;
        // The node may answer in another base or CID version: compare values.
        Ok(keys.keys().any(|k| Cid::parse(k).is_ok_and(|c| c == *cid)))
    }

    /// `POST /api/v0/<path>?<query>`.
    fn post(&self, path: &str, query: &[(&str, &str)]) -> reqwest::RequestBuilder {
        let mut url = self.api.clone();
        url.set_path(&format!("{}{path}", self.api.path()));
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        self.client.post(url)
    }

    /// Sends a request; an answer with an error status is the error it says.
    async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, IpfsError> {
        let answer = request.send().await.map_err(|e| self.transport(&e))?;
        let status = answer.status();
        if status.is_success() {
            return Ok(answer);
        }
        if let Some(NetProblem::Unauthorized) = medwallet_net::status_problem(status) {
            return Err(IpfsError::Unauthorized {
                url: self.url.to_string(),
            });
        }
        let body = read_at_most(answer, MAX_ERROR_BODY).await;
        let message = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| {
                v.get("Message")
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_owned)
            });
        Err(match message {
            Some(message) => IpfsError::Api {
                url: self.url.to_string(),
                message,
            },
            None => self.not_ipfs_because(&format!(
                "HTTP {status} with {:?}",
                truncate(&String::from_utf8_lossy(&body), 120)
            )),
        })
    }

    /// One short call whose answer is one JSON value, bounded by `limit` overall.
    async fn call(
        &self,
        path: &str,
        query: &[(&str, &str)],
        limit: Duration,
    ) -> Result<serde_json::Value, IpfsError> {
        let exchange = async {
            let answer = self.send(self.post(path, query)).await?;
            let body = answer.bytes().await.map_err(|e| self.transport(&e))?;
            serde_json::from_slice(&body).map_err(|_| {
                self.not_ipfs_because(&format!(
                    "an answer to {path} that is not JSON: {:?}",
                    truncate(&String::from_utf8_lossy(&body), 120)
                ))
            })
        };
        tokio::time::timeout(limit, exchange)
            .await
            .map_err(|_| self.timed_out(limit))?
    }

    /// A failed exchange sorted by [`medwallet_net::classify`].
    fn transport(&self, err: &reqwest::Error) -> IpfsError {
        let url = self.url.to_string();
        if err.is_builder() {
            return IpfsError::InvalidUrl {
                url,
                reason: medwallet_net::root_cause(err),
            };
        }
        match medwallet_net::classify(err) {
            NetProblem::Unreachable(detail) => IpfsError::Unreachable { url, detail },
            NetProblem::Tls(problem) => IpfsError::Tls { url, problem },
            NetProblem::Unauthorized => IpfsError::Unauthorized { url },
            NetProblem::Other(detail) => IpfsError::NotIpfs { url, detail },
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
        self.not_ipfs_because(&format!("it sent {what}"))
    }

    fn not_ipfs_because(&self, detail: &str) -> IpfsError {
        IpfsError::NotIpfs {
            url: self.url.to_string(),
            detail: detail.to_owned(),
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

/// The writer of a download: the destination is a blocking `Write` (a file, usually),
/// so it is written on one blocking task fed through a bounded queue.
///
/// Why so: `block_in_place` would panic on a current-thread runtime (every
/// `#[tokio::test]`) and stall the worker it runs on; a `spawn_blocking` per chunk
/// would hand the destination back and forth thousands of times for a large record.
/// One blocking task for the whole download writes while the next chunks arrive, the
/// queue's bound keeps memory bounded when the disk is slower than the network, and
/// the future stays `Send` with nothing blocking on the async threads.
struct Writer {
    queue: tokio::sync::mpsc::Sender<Bytes>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Writer {
    fn start(mut dst: impl Write + Send + 'static) -> Writer {
        let (queue, mut chunks) = tokio::sync::mpsc::channel::<Bytes>(WRITE_QUEUE);
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let task = tokio::task::spawn_blocking(move || {
            while let Some(chunk) = chunks.blocking_recv() {
                if stopped.load(Ordering::Relaxed) {
                    return Ok(());
                }
                dst.write_all(&chunk)?;
            }
            if stopped.load(Ordering::Relaxed) {
                return Ok(());
            }
            dst.flush()
        });
        Writer { queue, stop, task }
    }

    /// Queues a chunk; false if the writer has ended (it failed).
    async fn send(&self, chunk: Bytes) -> bool {
        self.queue.send(chunk).await.is_ok()
    }

    /// Ends the writer and waits for it: with `complete`, after writing what is queued
    /// and flushing; without, dropping what is queued.
    async fn finish(self, complete: bool) -> std::io::Result<()> {
        if !complete {
            self.stop.store(true, Ordering::Relaxed);
        }
        drop(self.queue);
        match self.task.await {
            Ok(result) => result,
            Err(join) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
            Err(_) => Err(std::io::Error::other(
                "the writer was stopped as the runtime shut down",
            )),
        }
    }
}

/// The body of an answer, up to `max` bytes (an error answer's; the rest is dropped).
async fn read_at_most(answer: reqwest::Response, max: usize) -> Vec<u8> {
    let mut body = answer.bytes_stream();
    let mut out = Vec::new();
    let read = async {
        while let Some(Ok(chunk)) = body.next().await {
            let room = max.saturating_sub(out.len());
            out.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if out.len() >= max {
                break;
            }
        }
    };
    // The status already said it failed; a body that trickles does not hold that up.
    let _ = tokio::time::timeout(CALL_TIMEOUT, read).await;
    out
}

/// A duration as the node's `timeout` argument.
fn secs(d: Duration) -> String {
    format!("{}s", d.as_secs())
}

/// The strings of a JSON array (`null` or absent: none).
fn strings(value: Option<&serde_json::Value>) -> Vec<String> {
    value
        .and_then(serde_json::Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(serde_json::Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Whether a node with this `AgentVersion` answers `offline=true` from its own blocks
/// (Kubo, formerly go-ipfs).
fn honours_offline(agent: &str) -> bool {
    agent.starts_with("kubo/") || agent.starts_with("go-ipfs/")
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
        IpfsError::Setup { source, .. } => source.kind(),
        IpfsError::Unreachable { .. } => "unreachable",
        IpfsError::Tls { problem, .. } => problem.kind(),
        IpfsError::Unauthorized { .. } => "unauthorized",
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

fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

#[cfg(test)]
mod tests;
