//! Other ledger nodes as witnesses: the consortium's other validators asked whether they
//! hold the blocks the cache read from one node, with the same hash.
//!
//! A BFT ledger's point is that no single node is trusted. The cache reads from one node
//! (the one in the settings); after each sync step it asks every witness for the hash of
//! the step's head block and of every block holding a cached event that no witness has
//! confirmed yet, and stores one verdict per (contract, block, witness): the same hash,
//! another hash (a dispute), not there yet (the witness's head is below), or no answer
//! (the error's kind). [`EventCache::agreements`](crate::EventCache::agreements) answers,
//! per block, how many nodes agree and who disputes it.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use alloy::primitives::B256;
use tracing::Instrument;

use crate::LedgerNode;

/// At most this many blocks are asked of one witness in one sync step (the newest first;
/// the rest are asked at the next steps).
pub const MAX_CHECKS_PER_STEP: usize = 512;

/// Header requests in flight to one witness.
const IN_FLIGHT: usize = 16;

/// After this long asking one witness in one step, the blocks not asked yet wait for the
/// next step (every call has its own deadline too): a slow witness does not hold up the
/// sync.
const BUDGET: Duration = Duration::from_secs(20);

/// What a witness said about one block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The witness has the block with the same hash.
    Agrees,
    /// The witness has another block at that height.
    Disagrees {
        /// The witness's hash of the block.
        their_hash: B256,
    },
    /// The witness's chain does not reach the block yet.
    NotYet {
        /// The witness's head block.
        their_head: u64,
    },
    /// The witness did not answer as a node of this chain.
    Down {
        /// The error's kind ([`LedgerError::kind`](crate::LedgerError::kind), or
        /// `wrong_chain` for a node on another chain): no URL, no message.
        error: String,
    },
}

impl Verdict {
    pub(crate) fn as_str(&self) -> &'static str {
        match self {
            Verdict::Agrees => "agree",
            Verdict::Disagrees { .. } => "disagree",
            Verdict::NotYet { .. } => "not_yet",
            Verdict::Down { .. } => "down",
        }
    }

    /// Whether the witness said yes or no (rather than nothing yet).
    pub fn is_conclusive(&self) -> bool {
        matches!(self, Verdict::Agrees | Verdict::Disagrees { .. })
    }
}

/// One witness's verdict on one block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessCheck {
    /// The witness, as [`LedgerNode::label`] names it.
    pub witness: String,
    /// The block.
    pub block_number: u64,
    /// The hash the cache read from the node it syncs from.
    pub our_hash: B256,
    /// What the witness said.
    pub verdict: Verdict,
}

/// A witness holding another block than the node the cache read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dispute {
    /// The block number.
    pub block_number: u64,
    /// The witness, as [`LedgerNode::label`] names it.
    pub witness: String,
    /// The witness's hash of the block.
    pub their_hash: B256,
    /// The hash the cache read (from the node it syncs from).
    pub our_hash: B256,
}

/// How far one cached block is confirmed by the witnesses asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockAgreement {
    /// The block number.
    pub block_number: u64,
    /// The hash the cache holds for it.
    pub block_hash: B256,
    /// The node read from and every witness: `1 + witnesses`.
    pub nodes_asked: u32,
    /// The node read from (always 1) plus the witnesses that hold the same block.
    pub nodes_agreeing: u32,
    /// Witnesses that hold another block at that height.
    pub disputes: Vec<Dispute>,
    /// Every witness asked about, with its latest verdict on this block (`None`: not
    /// asked yet).
    pub verdicts: Vec<(String, Option<Verdict>)>,
}

impl BlockAgreement {
    /// Whether any witness holds another block at that height.
    pub fn is_disputed(&self) -> bool {
        !self.disputes.is_empty()
    }
}

/// The stored verdicts of some witnesses ([`EventCache::agreements`](crate::EventCache::agreements)),
/// to look blocks up in.
#[derive(Debug, Clone, Default)]
pub struct Agreements {
    witnesses: Vec<String>,
    /// By block number: each witness's verdict and the hash it was about.
    checks: HashMap<u64, Vec<(String, B256, Verdict)>>,
}

impl Agreements {
    /// Verdicts of `witnesses` (labels), none yet: [`insert`](Self::insert) adds them.
    /// The cache makes these ([`EventCache::agreements`](crate::EventCache::agreements));
    /// callers make their own to show verdicts they have (in tests).
    pub fn new(witnesses: Vec<String>) -> Self {
        Self {
            witnesses,
            checks: HashMap::new(),
        }
    }

    pub(crate) fn asks(&self, witness: &str) -> bool {
        self.witnesses.iter().any(|w| w == witness)
    }

    /// Adds `witness`'s verdict on block `block` as it was about `our_hash`.
    pub fn insert(&mut self, block: u64, witness: String, our_hash: B256, verdict: Verdict) {
        self.checks
            .entry(block)
            .or_default()
            .push((witness, our_hash, verdict));
    }

    /// The witnesses asked about, as [`LedgerNode::label`] names them.
    pub fn witnesses(&self) -> &[String] {
        &self.witnesses
    }

    /// How far block `block_number`, with the hash `block_hash` the caller holds, is
    /// confirmed. A verdict about another hash (stored before a reorganisation) counts as
    /// none.
    pub fn block(&self, block_number: u64, block_hash: B256) -> BlockAgreement {
        let here = self.checks.get(&block_number);
        let mut agreement = BlockAgreement {
            block_number,
            block_hash,
            nodes_asked: u32::try_from(self.witnesses.len())
                .unwrap_or(u32::MAX - 1)
                .saturating_add(1),
            nodes_agreeing: 1,
            disputes: Vec::new(),
            verdicts: Vec::with_capacity(self.witnesses.len()),
        };
        for w in &self.witnesses {
            let verdict = here
                .and_then(|v| {
                    v.iter()
                        .find(|(who, ours, _)| who == w && *ours == block_hash)
                })
                .map(|(_, _, verdict)| verdict.clone());
            match &verdict {
                Some(Verdict::Agrees) => agreement.nodes_agreeing += 1,
                Some(Verdict::Disagrees { their_hash }) => agreement.disputes.push(Dispute {
                    block_number,
                    witness: w.clone(),
                    their_hash: *their_hash,
                    our_hash: block_hash,
                }),
                _ => {}
            }
            agreement.verdicts.push((w.clone(), verdict));
        }
        agreement
    }
}

/// One witness's verdicts on `blocks` (number, our hash), in the order given: its chain id
/// and head first (`eth_chainId`, `eth_blockNumber`), then each block at or below its
/// head, [`IN_FLIGHT`] at a time. The first failed call makes every block not yet asked
/// `Down`; blocks not asked within [`BUDGET`] get no verdict (they are asked next time).
pub(crate) async fn ask(
    witness: LedgerNode,
    chain_id: u64,
    blocks: Vec<(u64, B256)>,
) -> Vec<WitnessCheck> {
    let label = witness.label();
    let span = tracing::info_span!("witness", witness = %label, blocks = blocks.len());
    async move {
        let started = Instant::now();
        let check = |(block_number, our_hash): (u64, B256), verdict| WitnessCheck {
            witness: label.clone(),
            block_number,
            our_hash,
            verdict,
        };
        let down = |blocks: &[(u64, B256)], error: &str| -> Vec<WitnessCheck> {
            blocks
                .iter()
                .map(|b| {
                    check(
                        *b,
                        Verdict::Down {
                            error: error.to_owned(),
                        },
                    )
                })
                .collect()
        };
        let status = match witness.status().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = e.kind(), "a witness ledger node did not answer");
                return down(&blocks, e.kind());
            }
        };
        if status.chain_id != chain_id {
            tracing::warn!(
                expected = chain_id,
                found = status.chain_id,
                "a witness ledger node is on another chain"
            );
            return down(&blocks, "wrong_chain");
        }
        let their_head = status.block_height;
        let mut out = Vec::with_capacity(blocks.len());
        let (reachable, beyond): (Vec<_>, Vec<_>) =
            blocks.into_iter().partition(|(n, _)| *n <= their_head);
        out.extend(
            beyond
                .into_iter()
                .map(|b| check(b, Verdict::NotYet { their_head })),
        );
        let mut failed: Option<&'static str> = None;
        for (asked, chunk) in reachable.chunks(IN_FLIGHT).enumerate() {
            if let Some(error) = failed {
                out.extend(down(chunk, error));
                continue;
            }
            if started.elapsed() > BUDGET {
                tracing::info!(
                    left = reachable.len() - asked * IN_FLIGHT,
                    "a witness took too long: the other blocks are asked at the next sync"
                );
                break;
            }
            let mut set = tokio::task::JoinSet::new();
            for (i, &(n, _)) in chunk.iter().enumerate() {
                let w = witness.clone();
                set.spawn(async move { (i, w.header(n).await) });
            }
            let mut answers: Vec<Option<_>> =
                std::iter::repeat_with(|| None).take(chunk.len()).collect();
            while let Some(joined) = set.join_next().await {
                // A task that panicked or was cancelled leaves its block without a verdict.
                if let Ok((i, answer)) = joined {
                    answers[i] = Some(answer);
                }
            }
            for (&block, answer) in chunk.iter().zip(answers) {
                let verdict = match answer {
                    None => continue,
                    Some(Ok(Some(h))) if h.hash == block.1 => Verdict::Agrees,
                    Some(Ok(Some(h))) => Verdict::Disagrees { their_hash: h.hash },
                    Some(Ok(None)) => Verdict::NotYet { their_head },
                    Some(Err(e)) => {
                        failed = Some(e.kind());
                        Verdict::Down {
                            error: e.kind().to_owned(),
                        }
                    }
                };
                if let Verdict::Disagrees { their_hash } = &verdict {
                    tracing::warn!(
                        block = block.0,
                        ours = %block.1,
                        theirs = %their_hash,
                        "ledger nodes disagree about a block"
                    );
                }
                out.push(check(block, verdict));
            }
        }
        if let Some(error) = failed {
            tracing::warn!(error, "a witness ledger node stopped answering");
        }
        tracing::debug!(
            their_head,
            verdicts = out.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "witness asked"
        );
        out
    }
    .instrument(span)
    .await
}

/// Every witness asked at once, each about its own blocks.
pub(crate) async fn ask_all(
    chain_id: u64,
    asks: Vec<(LedgerNode, Vec<(u64, B256)>)>,
) -> Vec<WitnessCheck> {
    let mut set = tokio::task::JoinSet::new();
    for (witness, blocks) in asks {
        if !blocks.is_empty() {
            set.spawn(ask(witness, chain_id, blocks));
        }
    }
    let mut out = Vec::new();
    while let Some(joined) = set.join_next().await {
        // A task that panicked leaves its witness's blocks unchecked, asked next time.
        if let Ok(checks) = joined {
            out.extend(checks);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use url::Url;

    #[test]
    fn a_label_holds_no_credentials_query_or_fragment() {
        let node = LedgerNode::new(
            &Url::parse("https://user:secret@node.example:8545/rpc/?token=abc#x").unwrap(),
        );
        assert_eq!(node.label(), "https://node.example:8545/rpc");
        let plain = LedgerNode::new(&Url::parse("http://127.0.0.1:8545").unwrap());
        assert_eq!(plain.label(), "http://127.0.0.1:8545");
    }

    #[test]
    fn a_block_counts_agreeing_witnesses_and_names_disputes() {
        let (ours, theirs) = (B256::repeat_byte(1), B256::repeat_byte(2));
        let mut a = Agreements::new(vec![
            "http://a".into(),
            "http://b".into(),
            "http://c".into(),
        ]);
        a.insert(5, "http://a".into(), ours, Verdict::Agrees);
        a.insert(
            5,
            "http://b".into(),
            ours,
            Verdict::Disagrees { their_hash: theirs },
        );
        a.insert(
            5,
            "http://c".into(),
            ours,
            Verdict::Down {
                error: "unreachable".into(),
            },
        );
        // About another hash (before a reorganisation): counts as none.
        a.insert(6, "http://a".into(), theirs, Verdict::Agrees);

        let five = a.block(5, ours);
        assert_eq!((five.nodes_agreeing, five.nodes_asked), (2, 4));
        assert_eq!(
            five.disputes,
            vec![Dispute {
                block_number: 5,
                witness: "http://b".into(),
                their_hash: theirs,
                our_hash: ours
            }]
        );
        assert!(five.is_disputed());
        let six = a.block(6, ours);
        assert_eq!((six.nodes_agreeing, six.nodes_asked), (1, 4));
        assert!(six.verdicts.iter().all(|(_, v)| v.is_none()));

        let alone = Agreements::new(Vec::new()).block(5, ours);
        assert_eq!((alone.nodes_agreeing, alone.nodes_asked), (1, 1));
    }
}
