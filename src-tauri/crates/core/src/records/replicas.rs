//! Replica nodes: no single copy of a record.
//!
//! A patient names replica nodes in Settings (their clinic's node, a family member's, a
//! pinning service): Kubo RPC endpoints that keep a copy. The pass here makes each
//! replica pin the three objects of every record's latest version that is on IPFS and
//! the keys the wallet issued, and unpin what a revocation replaced. A replica fetches the blocks itself, over bitswap,
//! from this wallet's node (it is asked to connect to it first: there is no public DHT),
//! so nothing is uploaded twice and the replica checks the blocks against their CIDs as
//! any IPFS node does.
//!
//! The pass reconciles (what should be pinned against what each replica confirmed, in
//! `replica_pins`), so it is idempotent: a replica that is down keeps its backoff and
//! is tried again by a later pass, and a pin is asked for until confirmed, once.
//! Nothing here needs a key: the objects are encrypted and their CIDs are on the ledger.

use std::collections::{HashMap, HashSet};

use medwallet_api::Copies;
use medwallet_records::{Cid, IpfsNode};
use url::Url;

use std::time::{Duration, Instant};

use super::outbox::backoff_until;
use super::RecordService;
use crate::error::{Answer, CoreError, RecordsError};
use crate::store::replicas::Backoff;
use crate::store::RecordStore;

/// What one replication pass did for one wallet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplicationReport {
    /// Objects replicas confirmed they pin now.
    pub pinned: u32,
    /// Objects of replaced versions replicas no longer pin.
    pub unpinned: u32,
    /// Replicas that failed (their URL as in the settings), with the user's words why.
    pub failed: Vec<(String, String)>,
}

/// How long one pass may spend on one wallet's replicas; what is left waits for the next
/// pass (a slow replica must not hold the background pass for hours).
pub const PASS_BUDGET: Duration = Duration::from_secs(60);

/// How much of a node's own words a replica's problem keeps (it is shown, and stored).
const MAX_PROBLEM: usize = 300;

/// A replica's name in the tables and in the window: its URL without a trailing slash,
/// as the settings keep it.
pub(crate) fn replica_key(url: &Url) -> String {
    url.as_str().trim_end_matches('/').to_owned()
}

impl RecordService {
    /// Makes every replica in `replicas` hold what it should of `wallet_id`'s records;
    /// `ipfs` is this wallet's own node, which the replicas fetch from.
    #[tracing::instrument(name = "replicate", skip_all, fields(wallet = %wallet_id, replicas = replicas.len()))]
    pub async fn replicate(
        &self,
        wallet_id: &str,
        ipfs: &Url,
        replicas: &[Url],
        now_too: bool,
    ) -> Answer<ReplicationReport> {
        let mut report = ReplicationReport::default();
        if replicas.is_empty() {
            return Ok(report);
        }
        let store = self.store(wallet_id).await?;
        // Each record's latest version on IPFS (a newer version still on this device
        // leaves the older one wanted), and the keys issued to grantees.
        let mut wanted: HashSet<String> = store
            .replica_wanted()
            .await?
            .into_values()
            .flatten()
            .collect();
        wanted.extend(store.issued_key_cids().await?);
        // Asked once per pass, only when some replica has something to fetch.
        let mut own: Option<Own> = None;
        let deadline = Instant::now() + PASS_BUDGET;
        for replica_url in replicas {
            if Instant::now() >= deadline {
                break;
            }
            let replica = replica_key(replica_url);
            if !now_too {
                if let Some(b) = store.replica_backoff(&replica).await? {
                    if b.next_attempt_at > chrono::Utc::now().timestamp() {
                        continue;
                    }
                }
            }
            let pinned = store.replica_pins(&replica).await?;
            let mut to_pin: Vec<&String> = wanted.difference(&pinned).collect();
            to_pin.sort();
            let mut to_unpin: Vec<&String> = pinned.difference(&wanted).collect();
            to_unpin.sort();
            if to_pin.is_empty() && to_unpin.is_empty() {
                store.clear_replica_backoff(&replica).await?;
                continue;
            }
            if !to_pin.is_empty() && own.is_none() {
                own = Some(own_node(ipfs).await);
            }
            let outcome = sync_replica(
                &store,
                (replica_url, &replica),
                (&to_pin, &to_unpin),
                own.as_ref(),
                deadline,
                &mut report,
            )
            .await;
            match outcome {
                Ok(()) => store.clear_replica_backoff(&replica).await?,
                Err(e) => {
                    let problem = cap(crate::words::reason(&e));
                    let failures = store
                        .replica_backoff(&replica)
                        .await?
                        .map_or(0, |b| b.failures)
                        .saturating_add(1);
                    tracing::info!(
                        failures,
                        error = e.kind(),
                        "a replica node failed; it is tried again later"
                    );
                    store
                        .set_replica_backoff(
                            &replica,
                            &Backoff {
                                failures,
                                next_attempt_at: backoff_until(failures - 1),
                                problem: problem.clone(),
                            },
                        )
                        .await?;
                    report.failed.push((replica, problem));
                }
            }
        }
        Ok(report)
    }

    /// Asks each replica again whether it still pins what it confirmed (`pin/ls`), and
    /// forgets every pin it no longer holds, so the copies shown are what the replicas
    /// hold now; the next [`Self::replicate`] asks for them again. A replica that does
    /// not answer keeps its rows (its backoff says why). Answers how many were forgotten.
    #[tracing::instrument(name = "recheck_replicas", skip_all, fields(wallet = %wallet_id))]
    pub async fn recheck_replicas(&self, wallet_id: &str, replicas: &[Url]) -> Answer<u32> {
        let store = self.store(wallet_id).await?;
        let deadline = Instant::now() + PASS_BUDGET;
        let mut forgotten = 0;
        for url in replicas {
            let replica = replica_key(url);
            let node = IpfsNode::new(url)?;
            let mut pinned: Vec<String> = store.replica_pins(&replica).await?.into_iter().collect();
            pinned.sort();
            for cid in pinned {
                if Instant::now() >= deadline {
                    return Ok(forgotten);
                }
                let parsed: Cid = cid.parse().map_err(CoreError::StoredCidUnreadable)?;
                match node.is_pinned(&parsed).await {
                    Ok(true) => {}
                    Ok(false) => {
                        store.mark_replica_unpinned(&replica, &cid).await?;
                        forgotten += 1;
                    }
                    Err(e) => {
                        tracing::debug!(error = e.kind(), "a replica did not say what it pins");
                        break;
                    }
                }
            }
        }
        if forgotten > 0 {
            tracing::info!(
                forgotten,
                "replicas no longer hold some pins; they are asked again"
            );
        }
        Ok(forgotten)
    }

    /// Runs [`Self::replicate`] for every wallet with records on this device.
    pub async fn replicate_all(&self, ipfs: &Url, replicas: &[Url]) {
        if replicas.is_empty() {
            return;
        }
        for id in self.wallet_folders() {
            if let Err(e) = self.replicate(&id, ipfs, replicas, false).await {
                tracing::debug!(wallet = %id, error = e.kind(), "a wallet's replication did not run");
            }
        }
    }

    /// Where each of the wallet's records is held: this wallet's node (once the latest
    /// version is on IPFS) and each replica that confirmed all three of its objects.
    pub async fn copies(
        &self,
        wallet_id: &str,
        ipfs: &Url,
        replicas: &[Url],
    ) -> Answer<HashMap<String, Copies>> {
        let store = self.store(wallet_id).await?;
        let wanted = store.replica_wanted().await?;
        let pins = store.all_replica_pins().await?;
        let mut backoff = HashMap::new();
        for url in replicas {
            let key = replica_key(url);
            if let Some(b) = store.replica_backoff(&key).await? {
                backoff.insert(key, b.problem);
            }
        }
        let own = replica_key(ipfs);
        let of = u32::try_from(replicas.len())
            .unwrap_or(u32::MAX)
            .saturating_add(1);
        Ok(wanted
            .into_iter()
            .map(|(record_id, cids)| {
                let mut held_by = vec![own.clone()];
                let mut waiting = Vec::new();
                for url in replicas {
                    let key = replica_key(url);
                    let holds = pins
                        .get(&key)
                        .is_some_and(|p| cids.iter().all(|c| p.contains(c)));
                    if holds {
                        held_by.push(key);
                    } else {
                        let why = backoff.get(&key).cloned();
                        waiting.push((key, why));
                    }
                }
                let copies = Copies {
                    held_by,
                    of,
                    waiting: waiting
                        .into_iter()
                        .map(|(node, problem)| medwallet_api::CopyWaiting { node, problem })
                        .collect(),
                };
                (record_id, copies)
            })
            .collect())
    }
}

/// Connects the replica to this wallet's node, then pins and unpins there. Stops at
/// the first failure (the rest waits for the next pass), and at `deadline`.
async fn sync_replica(
    store: &RecordStore,
    (url, replica): (&Url, &str),
    (to_pin, to_unpin): (&[&String], &[&String]),
    own: Option<&Own>,
    deadline: Instant,
    report: &mut ReplicationReport,
) -> Result<(), CoreError> {
    let node = IpfsNode::new(url)?;
    if !to_pin.is_empty() {
        // The same node under another name (localhost for 127.0.0.1, another path) is
        // not a second copy.
        let info = node.info().await?;
        if own.is_some_and(|o| o.peer_id == info.peer_id) {
            return Err(RecordsError::ReplicaIsOwnNode.into());
        }
        // The replica fetches the blocks from this node; without a connection it would
        // search for them and time out (no public DHT here). A failed dial is not the
        // end: the replica may reach the blocks through its other peers.
        for address in own.map(|o| o.addresses.as_slice()).unwrap_or_default() {
            match node.swarm_connect(address).await {
                Ok(()) => break,
                Err(e) => tracing::debug!(
                    error = e.kind(),
                    "the replica could not dial this node's address"
                ),
            }
        }
    }
    for cid in to_pin {
        if Instant::now() >= deadline {
            return Ok(());
        }
        let parsed: Cid = cid.parse().map_err(CoreError::StoredCidUnreadable)?;
        node.pin(&parsed).await?;
        store.mark_replica_pinned(replica, cid).await?;
        report.pinned += 1;
    }
    for cid in to_unpin {
        if Instant::now() >= deadline {
            return Ok(());
        }
        let parsed: Cid = cid.parse().map_err(CoreError::StoredCidUnreadable)?;
        node.unpin(&parsed).await?;
        store.mark_replica_unpinned(replica, cid).await?;
        report.unpinned += 1;
    }
    Ok(())
}

/// This wallet's node as a replica is asked to reach it.
struct Own {
    peer_id: String,
    /// Its swarm addresses with its peer id (`…/p2p/<id>`), loopback and private ones
    /// too (a replica on the same network reaches those).
    addresses: Vec<String>,
}

/// What this wallet's node says of itself; nothing when it does not answer (the pins
/// then fail on their own and are tried again).
async fn own_node(ipfs: &Url) -> Own {
    let info = match IpfsNode::new(ipfs) {
        Ok(node) => node.info().await,
        Err(e) => Err(e),
    };
    match info {
        Ok(info) => Own {
            addresses: info
                .addresses
                .iter()
                .map(|a| {
                    if a.contains("/p2p/") {
                        a.clone()
                    } else {
                        format!("{a}/p2p/{}", info.peer_id)
                    }
                })
                .collect(),
            peer_id: info.peer_id,
        },
        Err(e) => {
            tracing::debug!(
                error = e.kind(),
                "this wallet's node did not say its addresses"
            );
            Own {
                peer_id: String::new(),
                addresses: Vec::new(),
            }
        }
    }
}

/// A replica's problem as kept and shown: a node's own words are cut short.
fn cap(mut problem: String) -> String {
    if let Some((i, _)) = problem.char_indices().nth(MAX_PROBLEM) {
        problem.truncate(i);
        problem.push('…');
    }
    problem
}
