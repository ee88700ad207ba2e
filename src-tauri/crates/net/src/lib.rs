//! medwallet net: the HTTP client every node connection uses.
//!
//! [`http_client`] builds a [`reqwest::Client`] from a node's [`NodeAccess`]:
//!
//! - TLS by rustls with the **ring** provider, configured here (not by reqwest): the
//!   system's root certificates, plus one extra CA certificate (a consortium's private
//!   CA, PEM) when the node's settings give one;
//! - the node's [`Credentials`] as a default `Authorization` header, marked sensitive
//!   (hyper leaves it out of its debug output);
//! - no redirect followed: a redirect could lead to `http://` and carry the token there,
//!   or to another host; a node that answers 3xx is a misconfigured node;
//! - no proxy from the environment; connecting is bounded by [`CONNECT_TIMEOUT`] (the
//!   callers bound each call on top).
//!
//! [`classify`] sorts a failed request into what the user can act on ([`NetProblem`]):
//! nothing answered, a TLS problem ([`TlsProblem`]: untrusted, expired, wrong host, not
//! TLS at all), credentials refused (from the HTTP status, [`status_problem`]).
//!
//! No secret leaves this crate in words: [`Credentials`] and [`NodeAccess`] print
//! `<redacted>` in their `Debug`, are zeroized on drop, and no error carries them.
//!
//! [`book`] says which access each node origin is reached with: the app writes it from
//! its settings and vault, and clients made from a URL alone look it up.
//!
//! Feature `testing`: [`testing`] has a generated CA and a TLS reverse proxy checking a
//! bearer token, to put in front of real nodes in tests.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::error::Error as StdError;
use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use base64::Engine as _;
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use reqwest::StatusCode;
use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use zeroize::{Zeroize, Zeroizing};

pub mod book;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

/// How long opening a connection (TCP and the TLS handshake) may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How to reach one node: its credentials and the extra CA its certificate is issued
/// by, if not by a CA the system trusts. The default is neither.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct NodeAccess {
    /// Sent with every request as `Authorization`.
    pub credentials: Option<Credentials>,
    /// A CA certificate to trust besides the system's (a consortium's private CA), PEM.
    /// More than one certificate in the PEM are all trusted.
    pub extra_ca_pem: Option<Vec<u8>>,
}

impl fmt::Debug for NodeAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeAccess")
            .field("credentials", &self.credentials)
            .field(
                "extra_ca_pem",
                &self.extra_ca_pem.as_ref().map(|pem| Bytes(pem.len())),
            )
            .finish()
    }
}

/// A length printed as `<n bytes>`.
struct Bytes(usize);

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} bytes>", self.0)
    }
}

/// A node's credentials. Zeroized on drop; `Debug` prints `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// `Authorization: Bearer <token>`.
    Bearer(String),
    /// `Authorization: Basic base64(user:password)`.
    Basic {
        /// The user name.
        user: String,
        /// The password.
        password: String,
    },
}

impl Drop for Credentials {
    fn drop(&mut self) {
        match self {
            Credentials::Bearer(token) => token.zeroize(),
            Credentials::Basic { user, password } => {
                user.zeroize();
                password.zeroize();
            }
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Bearer(_) => f.write_str("Bearer(<redacted>)"),
            Credentials::Basic { .. } => f.write_str("Basic(<redacted>)"),
        }
    }
}

impl Credentials {
    /// The `Authorization` header's value, marked sensitive.
    fn header_value(&self) -> Result<HeaderValue, NetError> {
        let text = Zeroizing::new(match self {
            Credentials::Bearer(token) => format!("Bearer {token}"),
            Credentials::Basic { user, password } => {
                if user.contains(':') {
                    return Err(NetError::BadCredentials);
                }
                let pair = Zeroizing::new(format!("{user}:{password}"));
                let encoded = Zeroizing::new(
                    base64::engine::general_purpose::STANDARD.encode(pair.as_bytes()),
                );
                format!("Basic {}", encoded.as_str())
            }
        });
        let mut value = HeaderValue::from_str(&text).map_err(|_| NetError::BadCredentials)?;
        value.set_sensitive(true);
        Ok(value)
    }
}

/// The client could not be set up from a node's settings. No variant carries a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetError {
    /// The extra CA certificate is not readable PEM.
    #[error("the extra CA certificate is not a readable PEM file: {0}")]
    BadCaPem(String),
    /// The extra CA's PEM holds no certificate (e.g. only a key).
    #[error("the extra CA certificate file holds no certificate")]
    NoCaCertificate,
    /// A certificate in the extra CA's PEM cannot be a trust anchor.
    #[error("the extra CA certificate cannot be trusted as a CA: {0}")]
    BadCa(String),
    /// The credentials hold a character an HTTP header cannot carry (or, for basic
    /// credentials, the user name holds a `:`).
    #[error("the credentials hold a character that cannot be sent in an HTTP header")]
    BadCredentials,
    /// TLS could not be set up (no usable protocol version with the crypto provider).
    #[error("TLS could not be set up: {0}")]
    Tls(String),
    /// reqwest refused the configuration.
    #[error("the HTTP client could not be built: {0}")]
    Client(String),
}

impl NetError {
    /// The variant's name, for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            NetError::BadCaPem(_) => "bad_ca_pem",
            NetError::NoCaCertificate => "no_ca_certificate",
            NetError::BadCa(_) => "bad_ca",
            NetError::BadCredentials => "bad_credentials",
            NetError::Tls(_) => "tls_setup",
            NetError::Client(_) => "client",
        }
    }
}

/// The HTTP client for a node reached with `access`: rustls (ring) trusting the
/// system's roots and `access.extra_ca_pem`, `access.credentials` on every request, no
/// redirects, no proxy, [`CONNECT_TIMEOUT`].
///
/// Plain `http://` URLs work with it too; which hosts may be reached without TLS is the
/// caller's rule.
pub fn http_client(access: &NodeAccess) -> Result<reqwest::Client, NetError> {
    install_crypto_provider();
    let tls = tls_config(access)?;
    let mut headers = HeaderMap::new();
    if let Some(credentials) = &access.credentials {
        headers.insert(AUTHORIZATION, credentials.header_value()?);
    }
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .connect_timeout(CONNECT_TIMEOUT)
        .build()
        .map_err(|e| NetError::Client(root_cause(&e)))
}

/// The certificates of a CA file (PEM, one or more `CERTIFICATE` blocks), DER; a file
/// with none, or a block that does not decode, is an error. Each is also checked to be a
/// usable trust anchor.
pub fn ca_certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, NetError> {
    let mut out = Vec::new();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| NetError::BadCaPem(e.to_string()))?;
        let mut probe = RootCertStore::empty();
        probe
            .add(cert.clone())
            .map_err(|e| NetError::BadCa(e.to_string()))?;
        out.push(cert);
    }
    if out.is_empty() {
        return Err(NetError::NoCaCertificate);
    }
    Ok(out)
}

/// The certificates of a CA file (see [`ca_certificates`]) written out again as PEM
/// `CERTIFICATE` blocks and nothing else: what is worth keeping of a file that may also
/// hold a private key or comments.
pub fn ca_certificates_pem(pem: &[u8]) -> Result<String, NetError> {
    let engine = base64::engine::general_purpose::STANDARD;
    let mut out = String::new();
    for cert in ca_certificates(pem)? {
        out.push_str("-----BEGIN CERTIFICATE-----\n");
        let b64 = engine.encode(cert.as_ref());
        for line in b64.as_bytes().chunks(64) {
            out.push_str(std::str::from_utf8(line).unwrap_or_default());
            out.push('\n');
        }
        out.push_str("-----END CERTIFICATE-----\n");
    }
    Ok(out)
}

/// rustls with ring, the system's roots and the extra CA.
fn tls_config(access: &NodeAccess) -> Result<rustls::ClientConfig, NetError> {
    let mut roots = system_roots().clone();
    if let Some(pem) = &access.extra_ca_pem {
        for cert in ca_certificates(pem)? {
            roots
                .add(cert)
                .map_err(|e| NetError::BadCa(e.to_string()))?;
        }
    }
    Ok(rustls::ClientConfig::builder_with_provider(ring_provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| NetError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// rustls's ring provider: TLS 1.3 and 1.2 with X25519, P-256 and P-384 key exchange.
///
/// rustls 0.23.48 marks it deprecated because ring has no post-quantum key exchange
/// (aws-lc-rs has). ring is the workspace's crypto already and builds without a C
/// toolchain beyond cc; post-quantum key exchange is not what the nodes' threat model
/// hinges on today. Moving to aws-lc-rs is this one function.
pub fn ring_provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(ring())
}

#[allow(deprecated)]
fn ring() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// Makes ring the process's default rustls provider (once; a default installed before
/// is kept).
///
/// The clients built here carry their own provider, but with this crate in a build,
/// reqwest is built with rustls and no provider of its own: every other reqwest client
/// in the process (alloy's `connect_http`, a WebDriver client) then needs a process
/// default, or building it panics. Call this before making one; [`http_client`] calls
/// it too.
pub fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = ring().install_default();
    });
}

/// The system's root certificates, read once per process (reading them takes a few
/// milliseconds and a client is built per node connection). Unreadable ones are
/// skipped; none at all leaves only an extra CA trusted.
fn system_roots() -> &'static RootCertStore {
    static ROOTS: OnceLock<RootCertStore> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        let mut roots = RootCertStore::empty();
        let (added, ignored) = roots.add_parsable_certificates(found.certs);
        tracing::debug!(
            added,
            ignored,
            errors = found.errors.len(),
            "system root certificates loaded"
        );
        roots
    })
}

/// Why a request to a node failed, in terms the user can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetProblem {
    /// Nothing answered, not in time, or the connection broke.
    #[error("nothing answered: {0}")]
    Unreachable(String),
    /// The TLS connection could not be made safely.
    #[error(transparent)]
    Tls(TlsProblem),
    /// The node refused the credentials (HTTP 401 or 403).
    #[error("the credentials were refused")]
    Unauthorized,
    /// Something answered, but the exchange failed otherwise (not HTTP, a broken body).
    #[error("{0}")]
    Other(String),
}

/// What was wrong with a node's TLS.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsProblem {
    /// The certificate is not issued by a CA this device trusts (neither the system's
    /// nor the extra CA given), or its signature does not verify.
    #[error("its TLS certificate is not issued by a trusted CA")]
    Untrusted,
    /// The certificate has expired or is not valid yet (or this device's clock is off).
    #[error("its TLS certificate has expired or is not valid yet")]
    Expired,
    /// The certificate is valid, but for another host name.
    #[error("its TLS certificate is for another host name")]
    WrongHost,
    /// The server does not speak TLS (an `https://` URL to a plain HTTP server): the
    /// connection was not encrypted, so nothing was sent.
    #[error("it does not speak TLS")]
    NotTls,
    /// Another TLS failure.
    #[error("TLS failed: {0}")]
    Other(String),
}

impl TlsProblem {
    /// The variant's name, for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            TlsProblem::Untrusted => "tls_untrusted",
            TlsProblem::Expired => "tls_expired",
            TlsProblem::WrongHost => "tls_wrong_host",
            TlsProblem::NotTls => "not_tls",
            TlsProblem::Other(_) => "tls",
        }
    }
}

impl NetProblem {
    /// The variant's name, for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            NetProblem::Unreachable(_) => "unreachable",
            NetProblem::Tls(tls) => tls.kind(),
            NetProblem::Unauthorized => "unauthorized",
            NetProblem::Other(_) => "other",
        }
    }
}

/// The problem an HTTP status says, if it is one of ours: 401 and 403 are
/// [`NetProblem::Unauthorized`].
pub fn status_problem(status: StatusCode) -> Option<NetProblem> {
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Some(NetProblem::Unauthorized),
        _ => None,
    }
}

/// [`classify`] for the first `reqwest::Error` in `err`'s source chain (an alloy
/// transport error wraps it); `None` when there is none.
pub fn classify_source(err: &(dyn StdError + 'static)) -> Option<NetProblem> {
    let mut cause = Some(err);
    while let Some(e) = cause {
        if let Some(reqwest) = e.downcast_ref::<reqwest::Error>() {
            return Some(classify(reqwest));
        }
        cause = e.source();
    }
    None
}

/// Sorts a failed request by walking its error's source chain: a rustls error anywhere
/// is a [`NetProblem::Tls`]; a failed or dropped connection, or a timeout, is
/// [`NetProblem::Unreachable`]; anything else is [`NetProblem::Other`]. Details are the
/// deepest cause's words (no URL, no header).
pub fn classify(err: &reqwest::Error) -> NetProblem {
    if let Some(tls) = find_tls(err) {
        return NetProblem::Tls(tls_problem(tls));
    }
    let detail = root_cause(err);
    if err.is_connect() || err.is_timeout() || connection_dropped(err) {
        NetProblem::Unreachable(detail)
    } else {
        NetProblem::Other(detail)
    }
}

/// The rustls error in `err`'s chain.
fn find_tls<'a>(err: &'a (dyn StdError + 'static)) -> Option<&'a rustls::Error> {
    chain(err).find_map(|e| e.downcast_ref::<rustls::Error>())
}

/// Whether the chain shows a connection that broke or closed mid-exchange (e.g. the node
/// died during an upload), rather than an answer that made no sense.
fn connection_dropped(err: &(dyn StdError + 'static)) -> bool {
    use std::io::ErrorKind as K;
    chain(err).any(|e| {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return matches!(
                io.kind(),
                K::ConnectionRefused
                    | K::ConnectionReset
                    | K::ConnectionAborted
                    | K::NotConnected
                    | K::BrokenPipe
                    | K::TimedOut
                    | K::UnexpectedEof
                    | K::HostUnreachable
                    | K::NetworkUnreachable
                    | K::AddrNotAvailable
            );
        }
        if let Some(h) = e.downcast_ref::<hyper::Error>() {
            return h.is_incomplete_message()
                || h.is_body_write_aborted()
                || h.is_closed()
                || h.is_canceled()
                || h.is_timeout();
        }
        false
    })
}

fn tls_problem(err: &rustls::Error) -> TlsProblem {
    use rustls::CertificateError as C;
    match err {
        rustls::Error::InvalidCertificate(cert) => match cert {
            C::UnknownIssuer | C::BadSignature | C::BadEncoding => TlsProblem::Untrusted,
            C::Expired
            | C::ExpiredContext { .. }
            | C::NotValidYet
            | C::NotValidYetContext { .. } => TlsProblem::Expired,
            C::NotValidForName | C::NotValidForNameContext { .. } => TlsProblem::WrongHost,
            other => TlsProblem::Other(format!("the certificate was refused: {other:?}")),
        },
        // What the server sent is not TLS records (e.g. "HTTP/1.1 400 Bad Request").
        rustls::Error::InvalidMessage(_) => TlsProblem::NotTls,
        other => TlsProblem::Other(other.to_string()),
    }
}

/// `err` and its sources, outermost first. An `io::Error` wrapping another error is
/// followed into what it wraps: its `source` skips that error (tokio-rustls reports a
/// rustls error so, and the connectors wrap io errors in io errors).
fn chain<'a>(
    err: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(err), |e: &&'a (dyn StdError + 'static)| {
        match e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn StdError + 'static)),
            None => (*e).source(),
        }
    })
}

/// The deepest cause's words: what the connection saw, without the URL reqwest's outer
/// error names.
pub fn root_cause(err: &(dyn StdError + 'static)) -> String {
    chain(err).last().unwrap_or(err).to_string()
}

#[cfg(test)]
mod tests;
