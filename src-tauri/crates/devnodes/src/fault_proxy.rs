//! A loopback HTTP proxy that breaks connections on a schedule: tests put one between
//! a wallet and each node it uses (the IPFS API, the ledger's JSON-RPC) and tell it
//! which request to break and how ([`Rule`], [`Fault`]): reset mid-request, stall past
//! the client's deadline, cut the answer short, answer 500 or 429, or forward the
//! request and close before answering (the node did it, the client does not know).
//!
//! Requests are named by what they ask: an IPFS call by its path under `/api/v0/`
//! (`pin/add`), a JSON-RPC call by its method (`eth_sendRawTransaction`; a batch as
//! `batch:<first method>`). A rule names the n-th request of a name since the rules
//! were set, so a schedule drawn from the names a run asked for ([`FaultProxy::counts`])
//! lands on the same kind of moment in the next run.
//!
//! It speaks HTTP/1.1 by hyper on both sides: each request is read whole (to be named
//! and, for a fault, answered as the fault says), sent to the node on a connection of
//! its own, and its answer read whole before it is passed on. Like the other test
//! servers it runs on its own thread and runtime, so it serves whatever the test's
//! runtime is doing, and it stops when dropped.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};
use hyper::header::{
    HeaderValue, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HOST, TRANSFER_ENCODING,
};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};

/// How a request is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The request's head and the first part of its body are read, then the connection
    /// is reset (`SO_LINGER` 0): the node never sees the request.
    Reset,
    /// The request is read, then nothing is answered: the connection is held until the
    /// client closes it (its own deadline), the rules change, or `limit` passes, when the
    /// proxy closes it and notes that the client never gave up ([`StallEnd::Limit`]).
    Stall {
        /// How long the client may wait before giving up, at most.
        limit: Duration,
    },
    /// The node's answer is announced whole (`Content-Length`) but only its first half
    /// is sent, then the connection is dropped.
    Truncate,
    /// An answer with this status (500, 429…) made up by the proxy; the node never sees
    /// the request.
    Status(u16),
    /// The request is sent to the node and its whole answer read, then the connection
    /// is closed without answering: what the request did is done, and the client does
    /// not know it.
    ForwardThenClose,
}

/// Which request a fault breaks: the `nth` (from 1) request named `label` since the
/// rules were set (or the `nth` request of any name, for [`Rule::ANY`]); with `outage`,
/// that one and every later one (of any name) until the rules change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The request's name ([module docs](self)), or [`Rule::ANY`].
    pub label: String,
    /// Its number among the requests of that name.
    pub nth: u64,
    /// What is done to it.
    pub fault: Fault,
    /// Whether every later request is broken the same way too.
    pub outage: bool,
}

impl Rule {
    /// The label that names every request: a rule with it counts them all.
    pub const ANY: &'static str = "*";
}

/// A request the proxy broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Its name.
    pub label: String,
    /// Its number among the requests of that name.
    pub nth: u64,
    /// What was done to it.
    pub fault: Fault,
    /// For a stall, how it ended; `None` while it holds (or for another fault).
    pub stall: Option<StallEnd>,
}

/// How a stalled request ended, and after how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StallEnd {
    /// The client closed the connection: it gave up by its own deadline.
    ClientClosed(Duration),
    /// The rules changed while it was held.
    Released(Duration),
    /// The stall's limit passed and the proxy closed it: the client was still waiting.
    Limit(Duration),
}

/// A running fault proxy in front of one node.
#[derive(Debug)]
pub struct FaultProxy {
    url: String,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    /// The requests a stall holds now.
    holding: watch::Sender<usize>,
    /// Moves each time the rules change: the stalls held then end.
    generation: watch::Sender<u64>,
    upstream: SocketAddr,
    upstream_host: HeaderValue,
}

#[derive(Debug, Default)]
struct State {
    rules: Vec<Rule>,
    counts: BTreeMap<String, u64>,
    /// The requests of every name.
    total: u64,
    /// The fault of an outage that started.
    outage: Option<Fault>,
    applied: Vec<Entry>,
}

/// An [`Applied`] as kept: a stall notes its end in its slot, also after the list was
/// cleared by new rules.
#[derive(Debug)]
struct Entry {
    label: String,
    nth: u64,
    fault: Fault,
    stall: Arc<Mutex<Option<StallEnd>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl FaultProxy {
    /// Starts a proxy on a free port of `bind` (a `127.0.0.x`) in front of the node at
    /// `upstream` (`http://host:port`, as the node's handle gives it), passing every
    /// request until rules are set.
    pub fn start(bind: Ipv4Addr, upstream: &str) -> std::io::Result<FaultProxy> {
        let bad = |why: &str| std::io::Error::new(std::io::ErrorKind::InvalidInput, why.to_owned());
        let parsed = url::Url::parse(upstream).map_err(|e| bad(&e.to_string()))?;
        let host = parsed.host_str().ok_or_else(|| bad("no host"))?.to_owned();
        let port = parsed
            .port_or_known_default()
            .ok_or_else(|| bad("no port"))?;
        let upstream = (host.as_str(), port)
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| bad("the node's address does not resolve"))?;
        let upstream_host =
            HeaderValue::from_str(&format!("{host}:{port}")).map_err(|e| bad(&e.to_string()))?;
        let listener = std::net::TcpListener::bind((bind, 0))?;
        listener.set_nonblocking(true)?;
        let url = format!("http://{}/", listener.local_addr()?);
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            holding: watch::Sender::new(0),
            generation: watch::Sender::new(0),
            upstream,
            upstream_host,
        });
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = shared.clone();
        let thread = std::thread::Builder::new()
            .name("fault-proxy".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime for the fault proxy");
                runtime.block_on(async move {
                    let listener = TcpListener::from_std(listener).expect("the proxy's listener");
                    tokio::select! {
                        _ = stopped => {}
                        () = accept(listener, serving) => {}
                    }
                });
            })?;
        Ok(FaultProxy {
            url,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.x:<port>/`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Breaks requests as `rules` say from now on: the counts start again, the outage
    /// and the list of broken requests are cleared, stalls held now end.
    pub fn set_rules(&self, rules: Vec<Rule>) {
        {
            let mut s = lock(&self.shared.state);
            s.rules = rules;
            s.counts.clear();
            s.total = 0;
            s.outage = None;
            s.applied.clear();
        }
        self.shared.generation.send_modify(|g| *g += 1);
    }

    /// Passes every request from now on ([`set_rules`](Self::set_rules) with none).
    pub fn pass(&self) {
        self.set_rules(Vec::new());
    }

    /// The requests seen since the rules were set, by name.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        lock(&self.shared.state).counts.clone()
    }

    /// The requests broken since the rules were set, in order.
    pub fn applied(&self) -> Vec<Applied> {
        lock(&self.shared.state)
            .applied
            .iter()
            .map(|e| Applied {
                label: e.label.clone(),
                nth: e.nth,
                fault: e.fault,
                stall: *lock(&e.stall),
            })
            .collect()
    }

    /// Resolves once a stall holds a request (at once if one does now).
    pub async fn holding(&self) {
        let mut held = self.shared.holding.subscribe();
        // The sender lives as long as `self`.
        let _ = held.wait_for(|n| *n > 0).await;
    }

    /// Resolves once no stall holds a request (at once if none does now).
    pub async fn holding_none(&self) {
        let mut held = self.shared.holding.subscribe();
        let _ = held.wait_for(|n| *n == 0).await;
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of descriptors, say: a moment's pause rather than a spinning loop.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let reset = Arc::new(AtomicBool::new(false));
        let io = TokioIo::new(Conn {
            stream,
            reset: reset.clone(),
        });
        let shared = shared.clone();
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |req| handle(shared.clone(), reset.clone(), req));
            // A fault ends the connection with an error: that is its point.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .await;
        });
    }
}

/// Why the proxy dropped a connection instead of answering.
#[derive(Debug)]
struct Dropped(&'static str);

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the fault proxy dropped the connection: {}", self.0)
    }
}

impl std::error::Error for Dropped {}

async fn handle(
    shared: Arc<Shared>,
    reset: Arc<AtomicBool>,
    req: Request<Incoming>,
) -> Result<Response<Answer>, Dropped> {
    let (parts, mut body) = req.into_parts();
    // An IPFS call is named by its path; a JSON-RPC call only by its body.
    let (label, mut read) = match parts.uri.path().strip_prefix("/api/v0/") {
        Some(path) => (path.to_owned(), None),
        None => {
            let bytes = read_all(&mut body).await?;
            (rpc_label(&bytes), Some(bytes))
        }
    };
    let fault = shared.decide(&label);
    if let Some((Fault::Reset, _)) = fault {
        if read.is_none() {
            // Part of the body, as when the connection breaks while it is sent.
            let _ = body.frame().await;
        }
        reset.store(true, Ordering::Relaxed);
        return Err(Dropped("reset"));
    }
    let bytes = match read.take() {
        Some(bytes) => bytes,
        None => read_all(&mut body).await?,
    };
    match fault {
        None => {
            let (head, answer) = forward(&shared, parts, bytes).await?;
            Ok(Response::from_parts(head, Answer::whole(answer)))
        }
        Some((Fault::Status(code), _)) => Ok(made_up(code)),
        Some((Fault::Stall { limit }, slot)) => {
            stall(&shared, limit, slot).await;
            Err(Dropped("stalled"))
        }
        Some((Fault::Truncate, _)) => {
            let (mut head, answer) = forward(&shared, parts, bytes).await?;
            let announced = answer.len().max(1);
            head.headers
                .insert(CONTENT_LENGTH, HeaderValue::from(announced));
            let half = answer.slice(..answer.len() / 2);
            Ok(Response::from_parts(head, Answer::cut(half)))
        }
        Some((Fault::ForwardThenClose, _)) => {
            forward(&shared, parts, bytes).await?;
            Err(Dropped("closed after the node answered"))
        }
        Some((Fault::Reset, _)) => unreachable!("answered above"),
    }
}

impl Shared {
    /// Counts a request named `label` and says what to do to it (with the slot a stall
    /// notes its end in).
    fn decide(&self, label: &str) -> Option<(Fault, Arc<Mutex<Option<StallEnd>>>)> {
        let mut s = lock(&self.state);
        let nth = {
            let n = s.counts.entry(label.to_owned()).or_default();
            *n += 1;
            *n
        };
        s.total += 1;
        let total = s.total;
        let fault = match s.outage {
            Some(fault) => fault,
            None => {
                let rule = s.rules.iter().find(|r| {
                    (r.label == label && r.nth == nth) || (r.label == Rule::ANY && r.nth == total)
                })?;
                let (fault, outage) = (rule.fault, rule.outage);
                if outage {
                    s.outage = Some(fault);
                }
                fault
            }
        };
        let slot = Arc::new(Mutex::new(None));
        s.applied.push(Entry {
            label: label.to_owned(),
            nth,
            fault,
            stall: slot.clone(),
        });
        Some((fault, slot))
    }
}

/// Holds a request unanswered until the client closes the connection (hyper drops this
/// future: [`Holding`]'s drop notes it), the rules change, or `limit` passes.
async fn stall(shared: &Shared, limit: Duration, slot: Arc<Mutex<Option<StallEnd>>>) {
    let mut generation = shared.generation.subscribe();
    let now = *generation.borrow_and_update();
    let mut held = Holding::start(shared, slot);
    tokio::select! {
        _ = generation.wait_for(|g| *g != now) => held.end(StallEnd::Released(held.since.elapsed())),
        () = tokio::time::sleep(limit) => held.end(StallEnd::Limit(held.since.elapsed())),
    }
}

/// A request held by a stall: counted in [`Shared::holding`] while it lives.
struct Holding<'a> {
    shared: &'a Shared,
    slot: Arc<Mutex<Option<StallEnd>>>,
    since: Instant,
}

impl<'a> Holding<'a> {
    fn start(shared: &'a Shared, slot: Arc<Mutex<Option<StallEnd>>>) -> Self {
        shared.holding.send_modify(|n| *n += 1);
        Holding {
            shared,
            slot,
            since: Instant::now(),
        }
    }

    fn end(&mut self, how: StallEnd) {
        lock(&self.slot).get_or_insert(how);
    }
}

impl Drop for Holding<'_> {
    fn drop(&mut self) {
        // Dropped before it ended: hyper saw the client close the connection.
        let elapsed = self.since.elapsed();
        lock(&self.slot).get_or_insert(StallEnd::ClientClosed(elapsed));
        self.shared.holding.send_modify(|n| *n -= 1);
    }
}

async fn read_all(body: &mut Incoming) -> Result<Bytes, Dropped> {
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| Dropped("the client's request broke"))?;
        if let Ok(data) = frame.into_data() {
            out.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(out))
}

/// A JSON-RPC request's method (`batch:<first method>` for a batch), else `?`.
fn rpc_label(body: &[u8]) -> String {
    let method = |v: &serde_json::Value| {
        v.get("method")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("?")
            .to_owned()
    };
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Array(calls)) => {
            format!("batch:{}", calls.first().map_or("?".to_owned(), method))
        }
        Ok(call) => method(&call),
        Err(_) => "?".to_owned(),
    }
}

/// Sends the request to the node on a connection of its own; its whole answer.
async fn forward(
    shared: &Shared,
    mut parts: hyper::http::request::Parts,
    body: Bytes,
) -> Result<(hyper::http::response::Parts, Bytes), Dropped> {
    let node = TcpStream::connect(shared.upstream)
        .await
        .map_err(|_| Dropped("the node did not accept the connection"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(node))
        .await
        .map_err(|_| Dropped("no HTTP with the node"))?;
    tokio::spawn(connection);
    // The body goes whole, with its length (the client may have sent it chunked).
    for hop in [CONNECTION, TRANSFER_ENCODING, CONTENT_LENGTH] {
        parts.headers.remove(hop);
    }
    parts.headers.insert(HOST, shared.upstream_host.clone());
    let answer = sender
        .send_request(Request::from_parts(parts, Full::new(body)))
        .await
        .map_err(|_| Dropped("the node's answer broke"))?;
    let (mut head, mut incoming) = answer.into_parts();
    let bytes = read_all(&mut incoming).await?;
    for hop in [CONNECTION, TRANSFER_ENCODING, CONTENT_LENGTH] {
        head.headers.remove(hop);
    }
    Ok((head, bytes))
}

/// An answer the proxy makes up, as a gateway in front of a node would.
fn made_up(code: u16) -> Response<Answer> {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let text = format!(
        "fault proxy: {}",
        status.canonical_reason().unwrap_or("error")
    );
    let mut answer = Response::new(Answer::whole(Bytes::from(text)));
    *answer.status_mut() = status;
    answer
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    if status == StatusCode::TOO_MANY_REQUESTS {
        answer
            .headers_mut()
            .insert("retry-after", HeaderValue::from_static("1"));
    }
    answer
}

/// An answer's body: whole, or cut short (its data, then an error that makes hyper
/// drop the connection before the length it announced).
struct Answer {
    data: Option<Bytes>,
    cut: CutState,
}

#[derive(PartialEq, Eq)]
enum CutState {
    Whole,
    /// The data is sent; the next poll yields once, so hyper writes it out first.
    Sending,
    Flushing,
    Done,
}

impl Answer {
    fn whole(data: Bytes) -> Self {
        Answer {
            data: Some(data),
            cut: CutState::Whole,
        }
    }

    fn cut(data: Bytes) -> Self {
        Answer {
            data: Some(data),
            cut: CutState::Sending,
        }
    }
}

impl Body for Answer {
    type Data = Bytes;
    type Error = Dropped;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Dropped>>> {
        if let Some(data) = self.data.take().filter(|d| !d.is_empty()) {
            return Poll::Ready(Some(Ok(Frame::data(data))));
        }
        match self.cut {
            CutState::Whole | CutState::Done => Poll::Ready(None),
            CutState::Sending => {
                self.cut = CutState::Flushing;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            CutState::Flushing => {
                self.cut = CutState::Done;
                Poll::Ready(Some(Err(Dropped("answer cut short"))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.data.as_ref().is_none_or(Bytes::is_empty)
            && matches!(self.cut, CutState::Whole | CutState::Done)
    }

    fn size_hint(&self) -> SizeHint {
        match (&self.data, &self.cut) {
            (Some(data), CutState::Whole) => SizeHint::with_exact(data.len() as u64),
            (None, CutState::Whole) => SizeHint::with_exact(0),
            // The header announces the whole answer.
            _ => SizeHint::default(),
        }
    }
}

/// A client connection; reset (`SO_LINGER` 0, so its close sends RST) when a
/// [`Fault::Reset`] ends it.
struct Conn {
    stream: TcpStream,
    reset: Arc<AtomicBool>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        if self.reset.load(Ordering::Relaxed) {
            let _ = socket2::SockRef::from(&self.stream).set_linger(Some(Duration::ZERO));
        }
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests;
