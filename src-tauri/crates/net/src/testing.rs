//! Test helpers (feature `testing`): a generated CA ([`TestCa`]), a TLS reverse proxy
//! signed by it that checks a bearer token ([`TlsProxy`]), and a plain HTTP server that
//! answers every request the same ([`HttpStub`]).
//!
//! A test puts TLS and a token in front of a real node:
//!
//! ```no_run
//! # fn node_addr() -> std::net::SocketAddr { unimplemented!() }
//! use medwallet_net::testing::{TestCa, TlsProxy};
//! use medwallet_net::{Credentials, NodeAccess};
//!
//! let ca = TestCa::new();
//! let proxy = TlsProxy::start(node_addr(), &ca, Some("s3cret".into())).unwrap();
//! let access = NodeAccess {
//!     credentials: Some(Credentials::Bearer("s3cret".into())),
//!     extra_ca_pem: Some(ca.pem()),
//! };
//! // proxy.url() is https://127.0.0.1:<port>/; build the node's client with `access`.
//! ```
//!
//! Each server runs on its own thread and runtime, so it serves whatever the test's
//! own runtime is doing (a current-thread `#[tokio::test]` blocked in a synchronous
//! call included), and stops when dropped.
//!
//! The proxy works on bytes: it reads one request head, answers 401 unless it carries
//! `Authorization: Bearer <token>`, then forwards the head with `Connection: close`
//! and splices both directions. Closing after each exchange makes the client open a
//! new connection (and send a new head, checked again) for every request.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use url::Url;

/// The longest request head the proxy reads.
const MAX_HEAD: usize = 64 * 1024;

/// A CA made for one test: it signs the servers' certificates; its certificate
/// ([`TestCa::pem`]) is what a client trusts as its extra CA.
pub struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    cert_der: CertificateDer<'static>,
    cert_pem: String,
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCa").finish_non_exhaustive()
    }
}

impl Default for TestCa {
    fn default() -> Self {
        TestCa::new()
    }
}

/// How a server certificate's validity period relates to now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    /// Valid from 1975 to 4096.
    Current,
    /// Valid in 2000 only.
    Expired,
    /// Valid from 4000 on.
    NotYetValid,
}

/// A server certificate to issue: its names (DNS names or IP addresses) and validity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaf {
    /// The names it is valid for.
    pub hosts: Vec<String>,
    /// Its validity period.
    pub validity: Validity,
}

impl Default for Leaf {
    /// `localhost` and `127.0.0.1`, valid now.
    fn default() -> Self {
        Leaf {
            hosts: vec!["localhost".into(), "127.0.0.1".into()],
            validity: Validity::Current,
        }
    }
}

impl TestCa {
    /// A new CA with a fresh P-256 key.
    ///
    /// # Panics
    /// If rcgen cannot make a key or a certificate (a test helper: nothing outside
    /// goes in).
    pub fn new() -> TestCa {
        let key = KeyPair::generate().expect("generating the test CA's key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "medwallet test CA");
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).expect("self-signing the test CA");
        TestCa {
            cert_der: cert.der().clone(),
            cert_pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// The CA's certificate, PEM: what `NodeAccess::extra_ca_pem` takes.
    pub fn pem(&self) -> Vec<u8> {
        self.cert_pem.clone().into_bytes()
    }

    /// A server config presenting a certificate for `leaf` issued by this CA (with the
    /// CA's certificate in the chain), TLS 1.2 and 1.3, ring.
    ///
    /// # Panics
    /// If rcgen or rustls refuse the names (give DNS names or IP addresses).
    pub fn server_config(&self, leaf: &Leaf) -> Arc<rustls::ServerConfig> {
        let key = KeyPair::generate().expect("generating a test server key");
        let mut params = CertificateParams::new(leaf.hosts.clone()).expect("server names");
        params
            .distinguished_name
            .push(DnType::CommonName, "medwallet test server");
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        match leaf.validity {
            Validity::Current => {}
            Validity::Expired => {
                params.not_before = rcgen::date_time_ymd(2000, 1, 1);
                params.not_after = rcgen::date_time_ymd(2001, 1, 1);
            }
            Validity::NotYetValid => {
                params.not_before = rcgen::date_time_ymd(4000, 1, 1);
                params.not_after = rcgen::date_time_ymd(4001, 1, 1);
            }
        }
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("signing a test server certificate");
        let chain = vec![cert.der().clone(), self.cert_der.clone()];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let config = rustls::ServerConfig::builder_with_provider(crate::ring_provider())
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("the test server certificate");
        Arc::new(config)
    }
}

/// What [`TlsProxy::start_with`] presents and checks.
#[derive(Debug, Clone, Default)]
pub struct ProxyOptions {
    /// The certificate it presents.
    pub leaf: Leaf,
    /// The bearer token every request must carry; `None` lets every request through.
    pub token: Option<String>,
}

/// A TLS reverse proxy on `127.0.0.1` in front of a plain HTTP upstream (a js-ipfs API,
/// an anvil RPC), with a certificate from a [`TestCa`], optionally checking a bearer
/// token (401 otherwise). Stops when dropped.
#[derive(Debug)]
pub struct TlsProxy {
    addr: SocketAddr,
    _server: Background,
}

impl TlsProxy {
    /// A proxy to `upstream` with a certificate for `localhost` and `127.0.0.1`, valid
    /// now, checking `token` if given.
    pub fn start(
        upstream: SocketAddr,
        ca: &TestCa,
        token: Option<String>,
    ) -> std::io::Result<TlsProxy> {
        TlsProxy::start_with(
            upstream,
            ca,
            ProxyOptions {
                leaf: Leaf::default(),
                token,
            },
        )
    }

    /// A proxy to `upstream` presenting `options.leaf`, checking `options.token`.
    pub fn start_with(
        upstream: SocketAddr,
        ca: &TestCa,
        options: ProxyOptions,
    ) -> std::io::Result<TlsProxy> {
        let acceptor = tokio_rustls::TlsAcceptor::from(ca.server_config(&options.leaf));
        let token: Option<Arc<str>> = options.token.map(Into::into);
        let (addr, server) = Background::serve("medwallet-tls-proxy", move |conn| {
            let acceptor = acceptor.clone();
            let token = token.clone();
            async move {
                // A client that refuses the certificate ends the handshake: nothing to do.
                if let Ok(tls) = acceptor.accept(conn).await {
                    let _ = proxy(tls, upstream, token.as_deref()).await;
                }
            }
        })?;
        Ok(TlsProxy {
            addr,
            _server: server,
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://127.0.0.1:<port>/`.
    pub fn url(&self) -> Url {
        url_of("https", self.addr)
    }
}

/// A plain HTTP server on `127.0.0.1` answering every request with one status and
/// body (and `Connection: close`); what is not an HTTP request (a TLS handshake) gets
/// `400 Bad Request`, as a real HTTP server answers it. Stops when dropped.
#[derive(Debug)]
pub struct HttpStub {
    addr: SocketAddr,
    _server: Background,
}

impl HttpStub {
    /// Answers `status` with `body` (`application/json`) to every request.
    pub fn start(status: u16, body: &str) -> std::io::Result<HttpStub> {
        HttpStub::start_with(status, &[], body)
    }

    /// Answers `status` with `headers` (e.g. a redirect's `Location`) and `body`.
    pub fn start_with(
        status: u16,
        headers: &[(&str, &str)],
        body: &str,
    ) -> std::io::Result<HttpStub> {
        let answer: Arc<[u8]> = response_with(status, headers, body).into();
        let (addr, server) = Background::serve("medwallet-http-stub", move |mut conn| {
            let answer = answer.clone();
            async move {
                let reply = match read_head(&mut conn).await {
                    Ok((head, _)) if looks_like_http(&head) => answer,
                    _ => response(400, "").into(),
                };
                let _ = conn.write_all(&reply).await;
                let _ = conn.shutdown().await;
                drain(&mut conn).await;
            }
        })?;
        Ok(HttpStub {
            addr,
            _server: server,
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>/`.
    pub fn url(&self) -> Url {
        url_of("http", self.addr)
    }
}

fn url_of(scheme: &str, addr: SocketAddr) -> Url {
    Url::parse(&format!("{scheme}://{addr}/")).expect("a socket address makes a URL")
}

/// An accept loop on its own thread and current-thread runtime; dropping it stops the
/// loop and the connections it serves.
#[derive(Debug)]
struct Background {
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Background {
    fn serve<F, Fut>(name: &str, handle: F) -> std::io::Result<(SocketAddr, Background)>
    where
        F: Fn(TcpStream) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (stop, mut stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = TcpListener::from_std(listener) else {
                        return;
                    };
                    loop {
                        tokio::select! {
                            _ = &mut stopped => break,
                            accepted = listener.accept() => {
                                if let Ok((conn, _)) = accepted {
                                    tokio::spawn(handle(conn));
                                }
                            }
                        }
                    }
                });
                // Dropping the runtime here ends the connections still open.
            })?;
        Ok((
            addr,
            Background {
                stop: Some(stop),
                thread: Some(thread),
            },
        ))
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One proxied exchange: check the head, forward it with `Connection: close`, splice.
async fn proxy<S>(mut client: S, upstream: SocketAddr, token: Option<&str>) -> std::io::Result<()>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (head, rest) = read_head(&mut client).await?;
    if let Some(token) = token {
        if !carries_token(&head, token) {
            let body = r#"{"Message":"missing or wrong bearer token","Code":0,"Type":"error"}"#;
            client.write_all(&response(401, body)).await?;
            client.shutdown().await?;
            drain(&mut client).await;
            return Ok(());
        }
    }
    let mut server = TcpStream::connect(upstream).await?;
    server.write_all(&closing(&head)).await?;
    server.write_all(&rest).await?;
    tokio::io::copy_bidirectional(&mut client, &mut server).await?;
    Ok(())
}

/// Reads up to the end of a request head (`\r\n\r\n`): the head, and what came after
/// it in the same reads (the body's start). Stops early on bytes that are not HTTP.
async fn read_head<S: AsyncRead + Unpin>(conn: &mut S) -> std::io::Result<(Vec<u8>, Vec<u8>)> {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            let rest = buf.split_off(end + 4);
            return Ok((buf, rest));
        }
        if buf.len() > MAX_HEAD || (!buf.is_empty() && !looks_like_http(&buf)) {
            return Ok((buf, Vec::new()));
        }
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            return Ok((buf, Vec::new()));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Whether `head` starts like an HTTP request line (`METHOD `).
fn looks_like_http(head: &[u8]) -> bool {
    let method: Vec<u8> = head
        .iter()
        .take_while(|b| b.is_ascii_uppercase())
        .copied()
        .collect();
    match head.get(method.len()) {
        Some(b' ') => !method.is_empty(),
        // Not all of the method yet.
        None => method.len() == head.len() && head.len() < 16,
        Some(_) => false,
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Whether the head has `Authorization: Bearer <token>`.
fn carries_token(head: &[u8], token: &str) -> bool {
    let Ok(text) = std::str::from_utf8(head) else {
        return false;
    };
    text.split("\r\n").skip(1).any(|line| {
        line.split_once(':').is_some_and(|(name, value)| {
            name.trim().eq_ignore_ascii_case("authorization")
                && value.trim().strip_prefix("Bearer ") == Some(token)
        })
    })
}

/// The head with its `Connection` header replaced by `Connection: close`.
fn closing(head: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(head);
    let mut out = String::with_capacity(text.len() + 20);
    for line in text.split("\r\n").filter(|l| !l.is_empty()) {
        let is_connection = line
            .split_once(':')
            .is_some_and(|(name, _)| name.trim().eq_ignore_ascii_case("connection"));
        if !is_connection {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("Connection: close\r\n\r\n");
    out.into_bytes()
}

fn response(status: u16, body: &str) -> Vec<u8> {
    response_with(status, &[], body)
}

fn response_with(status: u16, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let extra: String = headers
        .iter()
        .map(|(name, value)| format!("{name}: {value}\r\n"))
        .collect();
    let reason = match status {
        200 => "OK",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        500 => "Internal Server Error",
        _ => "Status",
    };
    format!(
        "HTTP/1.1 {status} {reason}\r\n{extra}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Reads and drops what the client still sends (a request body after an early answer)
/// for a moment, so closing does not reset the connection before it reads the answer.
async fn drain<S: AsyncRead + Unpin>(conn: &mut S) {
    let mut sink = [0u8; 16 * 1024];
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while matches!(conn.read(&mut sink).await, Ok(n) if n > 0) {}
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_are_checked_and_rewritten() {
        let head = b"POST /api/v0/id HTTP/1.1\r\nHost: x\r\nAUTHORIZATION:  Bearer t0k\r\nconnection: keep-alive\r\n\r\n";
        assert!(carries_token(head, "t0k"));
        assert!(!carries_token(head, "t0"));
        assert!(!carries_token(b"GET / HTTP/1.1\r\n\r\n", "t0k"));
        let rewritten = String::from_utf8(closing(head)).unwrap();
        assert!(
            rewritten.ends_with("Connection: close\r\n\r\n"),
            "{rewritten}"
        );
        assert!(!rewritten.contains("keep-alive"), "{rewritten}");
        assert!(looks_like_http(b"POST /"));
        assert!(looks_like_http(b"PO"));
        assert!(!looks_like_http(&[0x16, 0x03, 0x01]));
    }
}
