//! A failed call to the IPFS node: the error, its kind for logs, and how the node's
//! own messages are read.

use std::path::PathBuf;

use super::{NetError, TlsProblem};
use crate::cid::Cid;

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
    /// Nothing answered, or not in time, or it answered that it is busy or failing
    /// (HTTP 429, or 5xx without the node's own error).
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

impl IpfsError {
    /// The variant's name, for logs: error messages may carry the node's URL, a path or
    /// the node's own words, none of which belongs in a log.
    pub fn kind(&self) -> &'static str {
        error_kind(self)
    }
}

pub(super) fn error_kind(err: &IpfsError) -> &'static str {
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
pub(super) fn log_failure(call: &'static str, err: &IpfsError) {
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
pub(super) fn is_missing(message: &str) -> bool {
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
pub(super) fn is_not_pinned(message: &str) -> bool {
    message.to_ascii_lowercase().contains("not pinned")
}
