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

/// Unpins groups of objects (best effort: the versions one or many revocations replace);
/// on a node on this computer (the wallet's own), runs its garbage collection once and
/// checks each object's blocks are gone: per group, `true` only when the node holds none
/// of it any more. One collection for all: it walks the whole repository, so one per
/// revocation would make revoking many records take time in the square of their number.
/// A node elsewhere may be shared with others (a clinic's, a consortium's), whose cache a
/// collection would empty: it is only asked to unpin.
pub(crate) async fn unpin_and_collect_each(ipfs: &Url, groups: &[Vec<String>]) -> Vec<bool> {
    let all: Vec<&str> = groups.iter().flatten().map(String::as_str).collect();
    unpin(ipfs, &all).await;
    let node = match IpfsNode::new(ipfs) {
        Ok(node) if crate::node_url::is_loopback(ipfs) => node,
        _ => return vec![false; groups.len()],
    };
    // The answer is not trusted: each object is checked afterwards.
    let _ = node.collect_garbage().await;
    let parsed: Option<Vec<Cid>> = all.iter().map(|c| c.parse::<Cid>().ok()).collect();
    let here = match parsed {
        Some(cids) => node.has_locally_each(&cids).await.ok(),
        None => None,
    };
    let Some(here) = here else {
        return vec![false; groups.len()];
    };
    let mut here = here.into_iter();
    groups
        .iter()
        .map(|group| {
            // This group's answers (taken whole, so the next group starts at its own):
            // every object gone.
            let mine: Vec<bool> = here.by_ref().take(group.len()).collect();
            mine.len() == group.len() && mine.iter().all(|&held| !held)
        })
        .collect()
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
