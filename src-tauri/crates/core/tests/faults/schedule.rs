//! The fault schedules: each party's proxies in front of its IPFS node and its ledger,
//! what a scene asked through them when nothing broke (the census), and schedules
//! drawn from it with a seed.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Duration;

use medwallet_core::LedgerTarget;
use medwallet_devnodes::{Applied, Fault, FaultProxy, Rule, StallEnd};
use url::Url;

use crate::world::{Nodes, Party, Scene, PARTIES};

/// Which of a party's nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Node {
    Ipfs,
    Ledger,
}

/// A fault proxy in front of each node of each party, each on an address of its own.
pub struct Proxies {
    proxies: Vec<(Party, Node, FaultProxy)>,
    contract: LedgerTarget,
}

impl Proxies {
    /// Starts them in front of `nodes`, passing every request.
    pub fn start(nodes: &Nodes) -> Self {
        let mut proxies = Vec::new();
        for (i, party) in PARTIES.into_iter().enumerate() {
            // 127.0.0.1 is the nodes'; a party's proxies take 127.0.0.<10 + i>.
            let at = Ipv4Addr::new(127, 0, 0, 10 + u8::try_from(i).unwrap());
            for (node, url) in [
                (Node::Ipfs, nodes.ipfs.as_str()),
                (Node::Ledger, nodes.ledger.url.as_str()),
            ] {
                proxies.push((party, node, FaultProxy::start(at, url).unwrap()));
            }
        }
        Self {
            proxies,
            contract: nodes.ledger.clone(),
        }
    }

    pub fn get(&self, party: Party, node: Node) -> &FaultProxy {
        &self
            .proxies
            .iter()
            .find(|(p, n, _)| *p == party && *n == node)
            .unwrap()
            .2
    }

    /// The nodes as `party` reaches them: through its proxies.
    pub fn route(&self, party: Party) -> Nodes {
        Nodes {
            ipfs: Url::parse(self.get(party, Node::Ipfs).url()).unwrap(),
            ledger: LedgerTarget {
                url: Url::parse(self.get(party, Node::Ledger).url()).unwrap(),
                ..self.contract.clone()
            },
        }
    }

    /// Every proxy passes every request (stalls held now end); counts start again.
    pub fn pass(&self) {
        for (_, _, proxy) in &self.proxies {
            proxy.pass();
        }
    }

    /// Breaks requests as `schedule` says (every other proxy passes); counts start again.
    pub fn arm(&self, schedule: &[Planned]) {
        for (party, node, proxy) in &self.proxies {
            proxy.set_rules(
                schedule
                    .iter()
                    .filter(|p| p.party == *party && p.node == *node)
                    .map(|p| p.rule.clone())
                    .collect(),
            );
        }
    }

    /// Waits until no proxy holds a stalled request, for `at_most`.
    pub async fn stalls_end(&self, at_most: Duration) {
        let all = futures_util::future::join_all(
            self.proxies
                .iter()
                .map(|(_, _, proxy)| proxy.holding_none()),
        );
        let _ = tokio::time::timeout(at_most, all).await;
    }

    /// What was asked through each proxy since the rules were set.
    pub fn census(&self) -> Census {
        let mut counts = BTreeMap::new();
        for (party, node, proxy) in &self.proxies {
            for (label, n) in proxy.counts() {
                counts.insert((*party, *node, label), n);
            }
        }
        Census(counts)
    }

    /// The requests broken since the rules were set.
    pub fn applied(&self) -> Vec<(Party, Node, Applied)> {
        self.proxies
            .iter()
            .flat_map(|(party, node, proxy)| {
                proxy.applied().into_iter().map(move |a| (*party, *node, a))
            })
            .collect()
    }
}

/// The requests a scene made through each proxy when nothing broke, by name.
pub struct Census(BTreeMap<(Party, Node, String), u64>);

impl Census {
    pub fn requests(&self) -> u64 {
        self.0.values().sum()
    }
}

/// One rule of a schedule, for one of a party's proxies.
#[derive(Clone, Debug)]
pub struct Planned {
    pub party: Party,
    pub node: Node,
    pub rule: Rule,
}

impl std::fmt::Display for Planned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:?}'s {:?}: {} #{} {}{}",
            self.party,
            self.node,
            self.rule.label,
            self.rule.nth,
            fault_name(self.rule.fault),
            if self.rule.outage {
                " and every request after it"
            } else {
                ""
            }
        )
    }
}

impl Planned {
    /// The rule in the form [`Planned::parse`] reads: `Party/Node/label/nth/fault`, and
    /// `+outage` for an outage.
    pub fn spec(&self) -> String {
        format!(
            "{:?}/{:?}/{}/{}/{}{}",
            self.party,
            self.node,
            self.rule.label,
            self.rule.nth,
            fault_name(self.rule.fault),
            if self.rule.outage { "+outage" } else { "" }
        )
    }

    /// A rule as [`Planned::spec`] writes it (a schedule given again, exactly).
    pub fn parse(spec: &str) -> Option<Planned> {
        let mut parts = spec.trim().split('/');
        let party = parts.next()?;
        let party = PARTIES.into_iter().find(|p| format!("{p:?}") == party)?;
        let node = match parts.next()? {
            "Ipfs" => Node::Ipfs,
            "Ledger" => Node::Ledger,
            _ => return None,
        };
        let label = parts.next()?.to_owned();
        let nth = parts.next()?.parse().ok()?;
        let fault = parts.next()?;
        let (fault, outage) = match fault.strip_suffix("+outage") {
            Some(f) => (f, true),
            None => (fault, false),
        };
        let fault = match fault {
            "reset" => Fault::Reset,
            "stall" => Fault::Stall {
                limit: deadline(node, &label) + MARGIN,
            },
            "truncate" => Fault::Truncate,
            "500" => Fault::Status(500),
            "429" => Fault::Status(429),
            "forward-then-close" => Fault::ForwardThenClose,
            _ => return None,
        };
        Some(Planned {
            party,
            node,
            rule: Rule {
                label,
                nth,
                fault,
                outage,
            },
        })
    }
}

pub fn fault_name(fault: Fault) -> &'static str {
    match fault {
        Fault::Reset => "reset",
        Fault::Stall { .. } => "stall",
        Fault::Truncate => "truncate",
        Fault::Status(500) => "500",
        Fault::Status(429) => "429",
        Fault::Status(_) => "status",
        Fault::ForwardThenClose => "forward-then-close",
    }
}

/// How long the client gives a request before it gives up (`medwallet-records`'
/// IPFS client, `medwallet-ledger`'s calls): a stall longer than this plus a margin
/// means the client never gave up.
fn deadline(node: Node, label: &str) -> Duration {
    let s = Duration::from_secs;
    match (node, label) {
        // A batch of reads has twice a call's time.
        (Node::Ledger, l) if l.starts_with("batch:") => s(10),
        (Node::Ledger, _) => s(5),
        // A pin waits for the blocks (60 s, and a second for the answer).
        (Node::Ipfs, "pin/add") => s(61),
        (Node::Ipfs, "repo/gc") => s(60),
        // Streams: 30 s without progress (an `add` of small bytes has 5 s, but the name
        // does not tell them apart).
        (Node::Ipfs, "add" | "cat") => s(30),
        (Node::Ipfs, "block/stat" | "swarm/connect") => s(6),
        (Node::Ipfs, _) => s(5),
    }
}

/// Time for the client to notice its deadline and close, and for the proxy to see it.
pub const MARGIN: Duration = Duration::from_secs(3);

/// Stalls are drawn only for requests whose deadline is at most this, unless long
/// stalls are asked for: a stalled pin costs a minute.
const SHORT: Duration = Duration::from_secs(6);

/// The requests that change something on the node: a transaction, an object added,
/// pinned, unpinned, collected. Forwarded and then closed, the change is made and the
/// wallet does not know it.
fn changes(node: Node, label: &str) -> bool {
    match node {
        Node::Ledger => label == "eth_sendRawTransaction",
        Node::Ipfs => matches!(label, "add" | "pin/add" | "pin/rm" | "repo/gc"),
    }
}

/// The `k`-th schedule of `scene` under `seed`: one to three faults, each on a request
/// drawn from the census (a name of a party's proxy first, all names alike, so a rare
/// call such as a transaction's sending is broken as often as a frequent read; then its
/// number), each fault drawn among those that fit it; one in five an outage (that
/// request and every later one through the proxy) when it is not a stall. One fault in
/// three is rather a request that changes something, forwarded and then closed: the
/// case a retry must recognise as done.
pub fn draw(seed: u64, scene: Scene, k: usize, census: &Census, long_stalls: bool) -> Vec<Planned> {
    let mut rng =
        SplitMix(seed ^ (scene as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (k as u64) << 32);
    let names: Vec<(&(Party, Node, String), &u64)> = census.0.iter().collect();
    let writes: Vec<(&(Party, Node, String), &u64)> = names
        .iter()
        .copied()
        .filter(|((_, node, label), _)| changes(*node, label))
        .collect();
    if names.is_empty() {
        return Vec::new();
    }
    let count = 1 + rng.below(3);
    let mut planned: Vec<Planned> = Vec::new();
    for _ in 0..count {
        let write = !writes.is_empty() && rng.below(3) == 0;
        let among = if write { &writes } else { &names };
        let ((party, node, label), n) = among[rng.below(among.len() as u64) as usize];
        let nth = 1 + rng.below(*n);
        let limit = deadline(*node, label) + MARGIN;
        let mut faults = vec![
            Fault::Reset,
            Fault::Truncate,
            Fault::Status(500),
            Fault::Status(429),
            Fault::ForwardThenClose,
        ];
        if long_stalls || deadline(*node, label) <= SHORT {
            faults.push(Fault::Stall { limit });
        }
        let fault = if write {
            Fault::ForwardThenClose
        } else {
            faults[rng.below(faults.len() as u64) as usize]
        };
        let outage = !write && !matches!(fault, Fault::Stall { .. }) && rng.below(5) == 0;
        // One rule per request: a second one on the same would never apply.
        if planned.iter().any(|p| {
            p.party == *party && p.node == *node && p.rule.label == *label && p.rule.nth == nth
        }) {
            continue;
        }
        planned.push(Planned {
            party: *party,
            node: *node,
            rule: Rule {
                label: label.clone(),
                nth,
                fault,
                outage,
            },
        });
    }
    planned
}

/// What a stall's end says of the client: `Err` when it did not give up by its own
/// deadline.
pub fn stall_verdict(party: Party, node: Node, applied: &Applied) -> Result<(), String> {
    let Fault::Stall { limit } = applied.fault else {
        return Ok(());
    };
    let what = format!("{party:?}'s {node:?} {} #{}", applied.label, applied.nth);
    match applied.stall {
        Some(StallEnd::ClientClosed(_)) => Ok(()),
        Some(StallEnd::Limit(held)) => Err(format!(
            "{what} was stalled for {held:?} (its deadline and {MARGIN:?}, {limit:?}) and the client still waited"
        )),
        Some(StallEnd::Released(held)) => Err(format!(
            "{what} was still stalled after {held:?}, when the scene had ended"
        )),
        None => Err(format!("{what} was still stalled when the scene had ended")),
    }
}

/// splitmix64, as the crash harness draws its kills.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}
