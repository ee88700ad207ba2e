//! Ledger errors, sorted by what the user can do about them.

use alloy::transports::{RpcError, TransportErrorKind};

/// A failed call to the ledger node.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// Nothing answered at the URL, or not in time.
    #[error("the ledger node at {url} is unreachable: {detail}")]
    Unreachable {
        /// The node's URL.
        url: String,
        /// What the connection attempt saw.
        detail: String,
    },
    /// Something answered, but not as an Ethereum JSON-RPC node.
    #[error("{url} answered, but not as an Ethereum JSON-RPC node: {detail}")]
    NotEvm {
        /// The node's URL.
        url: String,
        /// What was wrong with the answer.
        detail: String,
    },
    /// The node understood the request and refused it.
    #[error("the ledger node at {url} refused the request: {message}")]
    Rejected {
        /// The node's URL.
        url: String,
        /// The node's message.
        message: String,
    },
    /// A transaction was sent but no receipt came in time.
    #[error("transaction {tx} was not mined within {seconds} s; the ledger node may be stalled")]
    NotMined {
        /// The transaction hash.
        tx: String,
        /// How long we waited.
        seconds: u64,
    },
    /// A transaction was mined but reverted.
    #[error("transaction {tx} was reverted by the contract")]
    Reverted {
        /// The transaction hash.
        tx: String,
    },
}

impl LedgerError {
    /// Sorts an alloy transport error into unreachable / not-EVM / rejected.
    pub(crate) fn from_rpc(url: &str, err: RpcError<TransportErrorKind>) -> Self {
        let url = url.to_owned();
        match err {
            RpcError::ErrorResp(payload) => {
                // -32601 "method not found" from a JSON-RPC server is a server that is
                // not an Ethereum node; any other code is a real node saying no.
                if payload.code == -32601 {
                    Self::NotEvm {
                        url,
                        detail: payload.message.to_string(),
                    }
                } else {
                    Self::Rejected {
                        url,
                        message: payload.message.to_string(),
                    }
                }
            }
            RpcError::Transport(TransportErrorKind::HttpError(http)) => Self::NotEvm {
                url,
                detail: format!("it answered HTTP {}", http.status),
            },
            RpcError::Transport(kind) if has_io_cause(&kind) => Self::Unreachable {
                url,
                detail: root_cause(&kind),
            },
            RpcError::DeserError { .. } | RpcError::NullResp => Self::NotEvm {
                url,
                detail: "its answer is not a JSON-RPC response".into(),
            },
            other => Self::Unreachable {
                url,
                detail: root_cause(&other),
            },
        }
    }
}

fn has_io_cause(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(err);
    while let Some(e) = cause {
        if e.downcast_ref::<std::io::Error>().is_some() {
            return true;
        }
        cause = e.source();
    }
    // reqwest hides hyper's io error behind a string in some versions.
    let text = err.to_string().to_ascii_lowercase();
    text.contains("connect") || text.contains("connection")
}

fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}
