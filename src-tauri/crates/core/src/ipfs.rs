//! The IPFS node as the use cases see it, beyond the node client itself: fetching a
//! small object with its CID checked, and unpinning without failing the caller.

use std::io::Write;
use std::sync::{Arc, Mutex};

use medwallet_records::cid::{cid_of, Cid};
use medwallet_records::IpfsNode;
use url::Url;

use crate::error::{Alteration, Answer, CidRef, CoreError, Part};

/// Manifests, capsules, keys and parameters larger than this are refused when fetched.
pub(crate) const MAX_SMALL_OBJECT: u64 = 1024 * 1024;

/// Fetches a small object (a capsule, manifest, key or parameters) and checks its CID.
pub(crate) async fn fetch_small(node: &IpfsNode, cid: &Cid, part: Part) -> Answer<Vec<u8>> {
    let buffer = SharedBuffer::default();
    node.cat_to(cid, buffer.clone(), MAX_SMALL_OBJECT).await?;
    let bytes = buffer.take();
    let got = cid_of(&bytes);
    if &got != cid {
        return Err(CoreError::altered(
            part,
            Alteration::HashNotAsked { got, asked: *cid },
        ));
    }
    Ok(bytes)
}

/// The content CID a manifest (or this device's index, `part`) names, parsed: one that
/// does not parse is `part` altered.
pub(crate) fn content_cid(text: &str, part: Part) -> Answer<Cid> {
    text.parse().map_err(|source| {
        CoreError::altered(
            part,
            Alteration::UnreadableCid {
                which: CidRef::Content,
                source,
            },
        )
    })
}

/// A CID as a ledger event holds it (its bytes), parsed: one that does not parse is the
/// ledger entry altered.
pub(crate) fn ledger_cid(bytes: &[u8]) -> Answer<Cid> {
    Cid::from_bytes(bytes).map_err(|source| {
        CoreError::altered(
            Part::LedgerEntry,
            Alteration::UnreadableCid {
                which: CidRef::Entry,
                source,
            },
        )
    })
}

/// Connects this wallet's node to each configured peer it is not connected to. Best
/// effort: a peer that is down is dialled again on the next pass.
#[tracing::instrument(name = "keep_peers", skip_all, fields(peers = peers.len()))]
pub(crate) async fn keep_peers(ipfs: &Url, peers: &[String]) {
    if peers.is_empty() {
        return;
    }
    let Ok(node) = IpfsNode::new(ipfs) else {
        return;
    };
    let connected = match node.swarm_peers().await {
        Ok(connected) => connected,
        Err(e) => {
            tracing::debug!(error = e.kind(), "the node did not list its peers");
            return;
        }
    };
    for peer in peers {
        let id = peer.rsplit('/').next().unwrap_or_default();
        if connected.iter().any(|c| c == id) {
            continue;
        }
        match node.swarm_connect(peer).await {
            Ok(()) => tracing::debug!(peer = %id, "connected to a peer"),
            Err(e) => tracing::debug!(peer = %id, error = e.kind(), "a peer did not answer"),
        }
    }
}

/// The replica nodes of the settings (validated when saved; a URL that no longer reads
/// is skipped).
pub(crate) fn replica_urls(settings: &medwallet_api::NodeSettings) -> Vec<Url> {
    settings
        .replicas
        .iter()
        .filter_map(|r| Url::parse(r).ok())
        .collect()
}

/// Unpins objects, best effort (a node that is down keeps them; nothing depends on it).
pub(crate) async fn unpin(ipfs: &Url, cids: &[&str]) {
    let Ok(node) = IpfsNode::new(ipfs) else {
        return;
    };
    for cid in cids {
        if let Ok(cid) = cid.parse::<Cid>() {
            if let Err(e) = node.unpin(&cid).await {
                tracing::debug!(%cid, error = e.kind(), "unpin failed; the object stays pinned");
            }
        }
    }
}

/// After objects were unpinned ([`unpin`]): on a node on this computer (the wallet's
/// own), runs its garbage collection once and answers, for each set of objects, whether
/// the node holds none of them any more. A node elsewhere may be shared with others (a
/// clinic's, a consortium's), whose cache a collection would empty: it is only asked to
/// unpin, and the answer is `false`. One collection and one read of the local blocks
/// serve every set: a batch of re-encryptions pays for them once, not once per record
/// (on js-ipfs each walks the whole repository).
pub(crate) async fn collect_and_check(ipfs: &Url, sets: &[Vec<String>]) -> Vec<bool> {
    let none = vec![false; sets.len()];
    if sets.is_empty() || !crate::node_url::is_loopback(ipfs) {
        return none;
    }
    let Ok(node) = IpfsNode::new(ipfs) else {
        return none;
    };
    // The answer is not trusted: each object is checked afterwards.
    let _ = node.collect_garbage().await;
    // Every object of every set, once; a set with one that does not parse is not gone.
    let mut all: Vec<Cid> = Vec::new();
    let mut parsed: Vec<Option<Vec<usize>>> = Vec::with_capacity(sets.len());
    for set in sets {
        let mut at = Vec::with_capacity(set.len());
        let mut readable = true;
        for text in set {
            match text.parse::<Cid>() {
                Ok(cid) => {
                    at.push(all.len());
                    all.push(cid);
                }
                Err(_) => readable = false,
            }
        }
        parsed.push(readable.then_some(at));
    }
    let held = match node.held_locally(&all).await {
        Ok(held) => held,
        Err(_) => return none,
    };
    parsed
        .into_iter()
        .map(|at| at.is_some_and(|at| at.iter().all(|&i| !held[i])))
        .collect()
}

/// [`collect_and_check`] for one set, each object checked by a request of its own: how a
/// revocation run on its own did it before batches (the one-by-one path benchmarks
/// compare with; on js-ipfs each check reads the whole block list).
pub(crate) async fn collect_and_check_each(ipfs: &Url, cids: &[String]) -> bool {
    if !crate::node_url::is_loopback(ipfs) {
        return false;
    }
    let Ok(node) = IpfsNode::new(ipfs) else {
        return false;
    };
    // The answer is not trusted: each object is checked afterwards.
    let _ = node.collect_garbage().await;
    for cid in cids {
        let Ok(cid) = cid.parse::<Cid>() else {
            return false;
        };
        if !matches!(node.has_locally(&cid).await, Ok(false)) {
            return false;
        }
    }
    true
}

/// A `Write` whose bytes the caller takes afterwards (for `cat_to` of small objects).
#[derive(Clone, Default)]
pub(crate) struct SharedBuffer(Arc<Mutex<Vec<u8>>>);

impl SharedBuffer {
    pub(crate) fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *lock(&self.0))
    }
}

impl Write for SharedBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        lock(&self.0).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
