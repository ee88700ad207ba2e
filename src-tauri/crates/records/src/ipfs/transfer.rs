//! The streamed transfers: `add` (a file pulled from disk as the connection drains,
//! or a small object) and `cat` (written to the caller's `Write` by one blocking
//! writer), each with its progress, cancel flag and stall watchdog.

use std::io::Write;
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use reqwest::multipart::{Form, Part};

use super::error::log_failure;
use super::{truncate, IpfsError, IpfsNode, CALL_TIMEOUT, STALL_TIMEOUT};
use crate::cid::{cid_of, Cid};

/// Progress is reported at most once per this many bytes (and at the end).
const PROGRESS_STEP: u64 = 256 * 1024;
/// Read size between the file and the multipart body.
const UPLOAD_BUFFER: usize = 256 * 1024;
/// Chunks of a download queued for the writer at most (each as large as one network
/// read), so a slow disk holds back the download instead of filling memory.
const WRITE_QUEUE: usize = 16;

/// The `add` options that reproduce [`crate::cid::CidBuilder`]: CIDv1, raw leaves,
/// SHA-256, 256 KiB chunks, balanced layout, pinned. Spelled out so that a node whose
/// configuration changes the defaults still imports the same way.
pub(super) const ADD_OPTIONS: [(&str, &str); 6] = [
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
        medwallet_faults::point("ipfs.add_file");
        let result = self.add_file_here(path, expected, progress, cancel).await;
        medwallet_faults::point("ipfs.add_file.answered");
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
        medwallet_faults::point("ipfs.add_bytes");
        let result = self.add_bytes_here(bytes, expected).await;
        medwallet_faults::point("ipfs.add_bytes.answered");
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
