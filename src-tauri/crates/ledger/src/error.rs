//! Ledger errors, sorted by what the user can do about them.

use alloy::transports::{RpcError, TransportErrorKind};

use crate::revert::{Action, Revert};

/// A failed call to the ledger node.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LedgerError {
    /// Nothing answered at the URL, or not in time, or it answered that it is busy or
    /// failing (HTTP 429, 5xx).
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
    /// The node (or the proxy in front of it) refused the credentials, or wants some.
    #[error("the ledger node at {url} refused the credentials")]
    Unauthorized {
        /// The node's URL.
        url: String,
    },
    /// The TLS connection could not be made safely (nothing was sent).
    #[error("the TLS connection to the ledger node at {url} failed ({})", problem.kind())]
    Tls {
        /// The node's URL.
        url: String,
        /// What was wrong.
        problem: medwallet_net::TlsProblem,
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
    /// The contract refused a transaction, at gas estimation (nothing was sent, `tx`
    /// is `None`) or once mined.
    #[error("{action} was refused by the ledger contract: {reason}{}", tx_suffix(.tx))]
    Reverted {
        /// What was being done.
        action: Action,
        /// The transaction hash, if it was sent.
        tx: Option<String>,
        /// The contract's reason, decoded.
        reason: Revert,
    },
    /// The node is on another chain than the settings name.
    #[error("the ledger node at {url} is on chain {found}, but the settings expect chain {expected}; check the node URL or the chain id")]
    WrongChain {
        /// The node's URL.
        url: String,
        /// The chain id the settings name.
        expected: u64,
        /// The node's chain id.
        found: u64,
    },
    /// No code at the contract address.
    #[error("there is no contract at {address} on this ledger; check the contract address in Settings or deploy it")]
    NoContract {
        /// The configured address.
        address: String,
    },
    /// Code that is not medwallet's contract, or another schema version.
    #[error("the contract at {address} is not medwallet's ledger contract (schema {expected}): {detail}")]
    ForeignContract {
        /// The configured address.
        address: String,
        /// The schema this build speaks.
        expected: u16,
        /// What was found.
        detail: String,
    },
    /// The local event cache failed.
    #[error("the ledger event cache failed: {detail}")]
    Cache {
        /// What went wrong.
        detail: String,
    },
    /// The local event cache could not be written: the disk is full (`SQLITE_FULL`).
    /// Nothing half-written is kept: SQLite rolled the step back.
    #[error("the disk holding the ledger event cache is full")]
    CacheFull,
    /// The local event cache file holds a value it cannot hold (a text where a
    /// number belongs, a hash of the wrong length, a missing value, an event that no
    /// longer decodes): the file was damaged or edited. Deleting it rebuilds it from the
    /// ledger.
    #[error("the ledger event cache is damaged ({what}); delete the cache file to rebuild it from the ledger")]
    CacheDamaged {
        /// Where: the table and column (`events.block_number`), and the block when known.
        what: String,
    },
    /// The node's answers do not hang together (a log naming a block the node does
    /// not have, a block missing): usually a reorganisation while reading; try again.
    #[error("the ledger node at {url} gave inconsistent answers: {detail}; sync again")]
    Inconsistent {
        /// The node's URL.
        url: String,
        /// What did not match.
        detail: String,
    },
    /// A key could not sign (an invalid secret).
    #[error("a ledger key could not sign: {0}")]
    Signer(String),
}

fn tx_suffix(tx: &Option<String>) -> String {
    match tx {
        Some(tx) => format!(" (transaction {tx})"),
        None => String::new(),
    }
}

impl From<sqlx::Error> for LedgerError {
    fn from(err: sqlx::Error) -> Self {
        if let Some(what) = damage_in(&err) {
            return Self::CacheDamaged { what };
        }
        if disk_full(&err) {
            return Self::CacheFull;
        }
        Self::Cache {
            detail: err.to_string(),
        }
    }
}

/// What SQLite says when the cache file itself is damaged: not a database or malformed
/// (`SQLITE_NOTADB`, `SQLITE_CORRUPT` and its extended codes), or a table or column of
/// the schema gone (the statements are fixed, so only an edited file lacks one).
fn damage_in(err: &sqlx::Error) -> Option<String> {
    const SQLITE_CORRUPT: i32 = 11;
    const SQLITE_NOTADB: i32 = 26;
    let db = err.as_database_error()?;
    let code = db.code().and_then(|c| c.parse::<i32>().ok());
    match code.map(|c| c & 0xff) {
        Some(SQLITE_NOTADB) => return Some("the file is not an SQLite database".into()),
        Some(SQLITE_CORRUPT) => return Some("SQLite reports the file malformed".into()),
        _ => {}
    }
    let message = db.message();
    (message.starts_with("no such column") || message.starts_with("no such table"))
        .then(|| message.to_owned())
}

/// Whether SQLite failed for a full disk: `SQLITE_FULL` (primary code 13), the log's
/// index not growing (`SQLITE_IOERR_SHMSIZE`), or the file's write failing with `ENOSPC`.
fn disk_full(err: &sqlx::Error) -> bool {
    const SQLITE_FULL: i32 = 13;
    const SQLITE_IOERR_SHMSIZE: i32 = 4874;
    const ENOSPC: i32 = 28;
    match err {
        sqlx::Error::Io(io) => {
            io.kind() == std::io::ErrorKind::StorageFull || io.raw_os_error() == Some(ENOSPC)
        }
        other => other
            .as_database_error()
            .and_then(|db| db.code())
            .and_then(|c| c.parse::<i32>().ok())
            .is_some_and(|c| c & 0xff == SQLITE_FULL || c == SQLITE_IOERR_SHMSIZE),
    }
}

impl From<sqlx::migrate::MigrateError> for LedgerError {
    fn from(err: sqlx::migrate::MigrateError) -> Self {
        match err {
            // A statement failed: a damaged file is named as such.
            sqlx::migrate::MigrateError::Execute(e) => e.into(),
            other => Self::Cache {
                detail: other.to_string(),
            },
        }
    }
}

impl LedgerError {
    /// The variant's name, for logs: it names no URL, message or value.
    /// The variant's name, for logs (a message may carry a URL or the node's words).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Unreachable { .. } => "unreachable",
            Self::Unauthorized { .. } => "unauthorized",
            Self::Tls { .. } => "tls",
            Self::NotEvm { .. } => "not_evm",
            Self::Rejected { .. } => "rejected",
            Self::NotMined { .. } => "not_mined",
            Self::Reverted { .. } => "reverted",
            Self::WrongChain { .. } => "wrong_chain",
            Self::NoContract { .. } => "no_contract",
            Self::ForeignContract { .. } => "foreign_contract",
            Self::Cache { .. } => "cache",
            Self::CacheFull => "cache_full",
            Self::CacheDamaged { .. } => "cache_damaged",
            Self::Inconsistent { .. } => "inconsistent",
            Self::Signer(_) => "signer",
        }
    }

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
            RpcError::Transport(TransportErrorKind::HttpError(http))
                if http.status == 401 || http.status == 403 =>
            {
                Self::Unauthorized { url }
            }
            // Too many requests, or a server error without a JSON-RPC answer: the node
            // (or a gateway in front of it) is busy or failing, not another kind of
            // server. It is tried again as a node that does not answer.
            RpcError::Transport(TransportErrorKind::HttpError(http))
                if http.status == 429 || (500..600).contains(&http.status) =>
            {
                Self::Unreachable {
                    url,
                    detail: format!(
                        "HTTP {}: the node, or a gateway in front of it, is busy or failing",
                        http.status
                    ),
                }
            }
            RpcError::Transport(TransportErrorKind::HttpError(http)) => Self::NotEvm {
                url,
                detail: format!("it answered HTTP {}", http.status),
            },
            RpcError::Transport(kind) if tls_problem(&kind).is_some() => Self::Tls {
                url,
                problem: tls_problem(&kind)
                    .unwrap_or(medwallet_net::TlsProblem::Other(String::new())),
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

/// The TLS problem behind a transport error, if that is what it is.
fn tls_problem(err: &(dyn std::error::Error + 'static)) -> Option<medwallet_net::TlsProblem> {
    match medwallet_net::classify_source(err)? {
        medwallet_net::NetProblem::Tls(problem) => Some(problem),
        _ => None,
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
