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
//!
//! The failures are [`IpfsError`] (`error.rs`, with how they are logged and how the
//! node's own messages are read); the streamed transfers, `add` and `cat`, are in
//! `transfer.rs`; the rest, short calls, here.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use medwallet_net::NetProblem;
use url::Url;

use crate::cid::Cid;

mod error;
mod gc;
mod transfer;

pub use error::IpfsError;
use error::{error_kind, is_missing, is_not_pinned, log_failure};

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
/// How much of an error answer is read (its JSON message is short).
const MAX_ERROR_BODY: usize = 64 * 1024;
/// The largest JSON answer to a short call accepted (a node that streams more is not
/// answering as an IPFS node; reading on would let it fill the memory).
const MAX_ANSWER: usize = 1024 * 1024;
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
        let mut found = false;
        self.each_line(answer, "a local block list", |line| {
            found = self.ref_is(line, cid)?;
            Ok(!found)
        })
        .await?;
        Ok(found)
    }

    /// [`has_locally`](Self::has_locally) for many objects, in their order: on a node
    /// that cannot be asked offline, one scan of its local block list for all of them
    /// (a scan per object would read the list once per object).
    #[tracing::instrument(name = "ipfs_has_locally_each", level = "debug", skip_all, fields(cids = cids.len()))]
    pub async fn has_locally_each(&self, cids: &[Cid]) -> Result<Vec<bool>, IpfsError> {
        let id = self.call("id", &[], CALL_TIMEOUT).await?;
        let agent = id
            .get("AgentVersion")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default();
        if honours_offline(agent) || cids.len() < 2 {
            let mut out = Vec::with_capacity(cids.len());
            for cid in cids {
                out.push(self.has_locally(cid).await?);
            }
            return Ok(out);
        }
        let answer = tokio::time::timeout(CALL_TIMEOUT, self.send(self.post("refs/local", &[])))
            .await
            .map_err(|_| self.timed_out(CALL_TIMEOUT))??;
        // Blocks compared by multihash, as `has_locally` compares them.
        let mut wanted: std::collections::HashMap<(u64, Vec<u8>), Vec<usize>> =
            std::collections::HashMap::new();
        for (i, cid) in cids.iter().enumerate() {
            wanted
                .entry((cid.hash_code(), cid.digest().to_vec()))
                .or_default()
                .push(i);
        }
        let mut found = vec![false; cids.len()];
        let mut left = cids.len();
        self.each_line(answer, "a local block list", |line| {
            if let Some(r) = self.local_ref(line)? {
                if let Some(indexes) = wanted.remove(&(r.hash_code(), r.digest().to_vec())) {
                    left -= indexes.len();
                    for i in indexes {
                        found[i] = true;
                    }
                }
            }
            Ok(left > 0)
        })
        .await?;
        tracing::debug!(here = cids.len() - left, "local blocks checked");
        Ok(found)
    }

    /// Reads an answer of JSON lines (`refs/local`, `repo/gc`) as it streams, each line to
    /// `on_line` until it answers `false` (enough read) or the answer ends; a line longer
    /// than [`MAX_LINE`] or [`STALL_TIMEOUT`] without progress ends it with an error.
    async fn each_line(
        &self,
        answer: reqwest::Response,
        what: &str,
        mut on_line: impl FnMut(&[u8]) -> Result<bool, IpfsError>,
    ) -> Result<(), IpfsError> {
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
                    if !on_line(&line)? {
                        return Ok(());
                    }
                    line.clear();
                } else if line.len() > MAX_LINE {
                    return Err(self.not_ipfs(&format!("{what} line too long")));
                }
            }
        }
        on_line(&line).map(|_| ())
    }

    /// Whether one `refs/local` line (`{"Ref": "<cid>", "Err": ""}`) names `cid`'s block.
    fn ref_is(&self, line: &[u8], cid: &Cid) -> Result<bool, IpfsError> {
        Ok(self
            .local_ref(line)?
            .is_some_and(|r| r.hash_code() == cid.hash_code() && r.digest() == cid.digest()))
    }

    /// The block one line of `refs/local` names, if it names one.
    fn local_ref(&self, line: &[u8]) -> Result<Option<Cid>, IpfsError> {
        let line = line.trim_ascii();
        if line.is_empty() {
            return Ok(None);
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
            .and_then(|r| Cid::parse(r).ok()))
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
        // A node that says yes names the block it has: an empty `{}` (a proxy that
        // answers every call alike) is not a yes.
        let stat = answer?;
        let named = stat.get("Key").and_then(serde_json::Value::as_str);
        if !named.is_some_and(|k| same_block(k, cid)) {
            return Err(self.not_ipfs_because("a block/stat answer that does not name the block"));
        }
        Ok(())
    }

    /// Pins `cid` and everything under it. Fails with [`IpfsError::NotFound`] if the
    /// node does not have (or cannot find) every block within [`PIN_TIMEOUT`].
    #[tracing::instrument(name = "ipfs_pin", skip_all, fields(cid = %cid))]
    pub async fn pin(&self, cid: &Cid) -> Result<(), IpfsError> {
        let started = Instant::now();
        medwallet_faults::point("ipfs.pin");
        let result = self.pin_here(cid).await;
        medwallet_faults::point("ipfs.pin.answered");
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
        let answer = self
            .call("pin/add", &query, PIN_TIMEOUT + Duration::from_secs(1))
            .await
            .map_err(|e| self.missing_or(*cid, e))?;
        // The node says which roots it pinned; a pin is counted only when it names ours.
        if !strings(answer.get("Pins"))
            .iter()
            .any(|p| same_block(p, cid))
        {
            return Err(self.not_ipfs_because("a pin/add answer that does not name the pinned CID"));
        }
        Ok(())
    }

    /// Removes the recursive pin of `cid`. Unpinning what is not pinned succeeds, so
    /// the call can be retried.
    #[tracing::instrument(name = "ipfs_unpin", skip_all, fields(cid = %cid))]
    pub async fn unpin(&self, cid: &Cid) -> Result<(), IpfsError> {
        let arg = cid.to_string();
        let query = [("arg", arg.as_str()), ("recursive", "true")];
        medwallet_faults::point("ipfs.unpin");
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
            // Too many requests, or a server error without the node's own answer: the
            // node (or a gateway in front of it) is busy or failing, not another kind of
            // server. It is tried again as a node that does not answer.
            None if status == reqwest::StatusCode::TOO_MANY_REQUESTS
                || status.is_server_error() =>
            {
                IpfsError::Unreachable {
                    url: self.url.to_string(),
                    detail: format!(
                        "HTTP {status}: the node, or a gateway in front of it, is busy or failing"
                    ),
                }
            }
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
            let body = self.read_bounded(answer, path).await?;
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

    /// A short call's whole answer, refused past [`MAX_ANSWER`] bytes.
    async fn read_bounded(
        &self,
        answer: reqwest::Response,
        path: &str,
    ) -> Result<Vec<u8>, IpfsError> {
        let mut body = answer.bytes_stream();
        let mut out = Vec::new();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| self.transport(&e))?;
            if out.len() + chunk.len() > MAX_ANSWER {
                return Err(self.not_ipfs_because(&format!(
                    "an answer to {path} larger than {} KiB",
                    MAX_ANSWER / 1024
                )));
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
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

/// Whether `text` is a CID of the same block as `cid` (a node may answer in another
/// base or CID version: the multihash is what names the bytes).
fn same_block(text: &str, cid: &Cid) -> bool {
    Cid::parse(text).is_ok_and(|c| c.hash_code() == cid.hash_code() && c.digest() == cid.digest())
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

fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

#[cfg(test)]
mod tests;
