//! The IPFS node client: the Kubo RPC API (`/api/v0`), spoken by Kubo and by the
//! js-ipfs daemon used locally.
//!
//! Every call has a deadline: a node that accepts the connection and then says
//! nothing must not hang the app.

use std::time::Duration;

use ipfs_api::{IpfsApi, IpfsClient, TryFromUri};
use ipfs_api_backend_hyper::Error as BackendError;
use url::Url;

/// How long one RPC call may take before the node counts as unreachable.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);

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
    pub async fn info(&self) -> Result<NodeInfo, IpfsError> {
        let this = self.clone();
        off_thread(move || async move { this.info_here().await }).await
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

    async fn call<T>(
        &self,
        fut: impl std::future::Future<Output = Result<T, BackendError>>,
    ) -> Result<T, IpfsError> {
        match tokio::time::timeout(CALL_TIMEOUT, fut).await {
            Err(_) => Err(IpfsError::Unreachable {
                url: self.url.to_string(),
                detail: format!("no answer within {} s", CALL_TIMEOUT.as_secs()),
            }),
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => Err(classify(&self.url, err)),
        }
    }
}

/// Runs a future built by `make` on a blocking-pool thread and awaits its result.
///
/// `ipfs-api`'s futures are not `Send` (its trait is `async_trait(?Send)`), but the
/// app's callers (tauri commands on a multi-threaded runtime) need `Send` futures.
/// Driving the call to completion on its own thread gives them one.
async fn off_thread<F, Fut, T>(make: F) -> T
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = T>,
    T: Send + 'static,
{
    let handle = tokio::runtime::Handle::current();
    match tokio::task::spawn_blocking(move || handle.block_on(make())).await {
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
        assert_send(&node.info());
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
        let err = IpfsNode::new(&url).unwrap().info().await.unwrap_err();
        assert!(matches!(err, IpfsError::Unreachable { .. }), "{err:?}");
    }
}
