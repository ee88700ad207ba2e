//! The ledger as the use cases see it: where it is ([`LedgerTarget`]), a connection signing
//! as the unlocked wallet ([`connect`]), reading a filter's events, a failed step's reason
//! in words ([`StepFailure`]), and the directory of published identities and authorities
//! ([`directory`]).
//!
//! Every other room reaches the ledger through here, never through `medwallet_ledger`'s
//! node directly, so the chain checks and the words for a failure are the same everywhere.

pub(crate) mod directory;
pub(crate) mod reads;

pub use reads::EventCaches;

use medwallet_ledger::{Address, LedgerClient, LedgerError, LedgerNode, PrivateKeySigner, B256};
use medwallet_records::IpfsError;
use url::Url;

use crate::error::{Answer, CoreError, Task};
use crate::session::Owner;
use crate::store::StoreError;

/// Where the ledger is: the node and, once deployed, the contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerTarget {
    /// The node's JSON-RPC URL.
    pub url: Url,
    /// The medwallet contract's address; `None` until one is configured.
    pub contract: Option<Address>,
    /// The chain the node must be on, when known; `None` accepts the node's chain.
    pub chain_id: Option<u64>,
}

impl LedgerTarget {
    /// From the settings' strings. An address that does not parse counts as none (the
    /// settings page refuses such addresses before they are saved).
    pub fn from_settings(settings: &medwallet_api::NodeSettings) -> Answer<Self> {
        let url =
            Url::parse(settings.ledger_url.trim()).map_err(|source| CoreError::BadLedgerUrl {
                url: settings.ledger_url.clone(),
                source,
            })?;
        let contract = settings
            .contract_address
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .and_then(|s| s.parse::<Address>().ok());
        Ok(Self {
            url,
            contract,
            chain_id: None,
        })
    }
}

impl LedgerTarget {
    /// The chain the node is on, or why it cannot say.
    pub async fn chain_id(&self) -> Answer<u64> {
        LedgerNode::new(&self.url)
            .status()
            .await
            .map(|s| s.chain_id)
            .map_err(|e| CoreError::ChainUnknown(Box::new(e)))
    }
}

/// Why a queued step (an upload, a registration, a grant) waits, and whether the node
/// itself failed (then the rest of the outbox waits for the next pass instead of trying
/// each entry). Its [`reason`](StepFailure::reason) is kept with the step as data.
#[derive(Debug)]
pub(crate) struct StepFailure {
    pub error: CoreError,
    pub node_down: bool,
}

impl StepFailure {
    /// A step that waits for a reason other than a node.
    pub(crate) fn waiting(error: impl Into<CoreError>) -> Self {
        Self {
            error: error.into(),
            node_down: false,
        }
    }

    /// A step that waits, its reason told with the failure's advice (as the Shared page
    /// shows it).
    pub(crate) fn explained(error: impl Into<CoreError>) -> Self {
        Self::waiting(CoreError::Explained(Box::new(error.into())))
    }

    /// A ledger failure; the node counts as down when it does not answer, or answers as
    /// something else than our contract on the expected chain.
    pub(crate) fn ledger(e: LedgerError) -> Self {
        let error = CoreError::from(e);
        Self {
            node_down: error.node_down(),
            error,
        }
    }

    /// An IPFS failure, told with its advice; the node counts as down when it does not
    /// answer.
    pub(crate) fn ipfs(e: IpfsError) -> Self {
        let error = CoreError::Explained(Box::new(e.into()));
        Self {
            node_down: error.node_down(),
            error,
        }
    }

    /// A records database failure.
    pub(crate) fn store(e: StoreError) -> Self {
        Self::waiting(e)
    }

    /// Why the step waits, in words, as its row keeps it.
    pub(crate) fn reason(&self) -> String {
        crate::words::reason(&self.error)
    }

    /// The failure, inside the use case `task` (which says what to do next).
    pub(crate) fn during(self, task: Task) -> CoreError {
        self.error.during(task)
    }
}

/// A connection to the contract, signing as the owner.
pub(crate) struct Connected {
    pub node: LedgerNode,
    pub client: LedgerClient,
    pub contract: Address,
    pub me: Address,
    /// The ledger's events, through the wallet's cache.
    pub reads: reads::Reads,
}

/// Connects to the ledger as `owner` (checking the chain when the target names one).
pub(crate) async fn connect(
    owner: &Owner,
    target: &LedgerTarget,
    caches: &EventCaches,
) -> Result<Connected, StepFailure> {
    let contract = target
        .contract
        .ok_or_else(|| StepFailure::waiting(CoreError::NoContract))?;
    let node = LedgerNode::new(&target.url);
    // The chain the settings name, else the one this wallet's events were first read
    // from: the cache never takes another network's events for this one's.
    match target
        .chain_id
        .or_else(|| caches.remembered_chain(&owner.wallet_id))
    {
        Some(chain_id) => {
            node.check_chain(chain_id, contract)
                .await
                .map_err(StepFailure::ledger)?;
        }
        None => {
            let status = node.status().await.map_err(StepFailure::ledger)?;
            node.check_chain(status.chain_id, contract)
                .await
                .map_err(StepFailure::ledger)?;
            caches.remember_chain_once(&owner.wallet_id, status.chain_id);
        }
    }
    let signer = PrivateKeySigner::from_slice(&owner.ledger_key[..]).map_err(|e| {
        StepFailure::waiting(CoreError::LedgerKeyUnusable {
            detail: e.to_string(),
        })
    })?;
    let me = signer.address();
    let client = node
        .client(signer, contract)
        .await
        .map_err(StepFailure::ledger)?;
    let cache = caches
        .open(&owner.wallet_id)
        .await
        .map_err(StepFailure::waiting)?;
    Ok(Connected {
        reads: reads::Reads::new(node.clone(), contract, cache),
        node,
        client,
        contract,
        me,
    })
}

// Addresses, ids and the chain's clock, as every room reads them.

/// Reads a person's address: `0x` and 40 hex digits; mixed case must be the EIP-55
/// checksum (a typo in one letter is caught, as wallets do).
pub(crate) fn parse_address(text: &str) -> Answer<Address> {
    let t = text.trim();
    let hex_part = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X"));
    let valid = hex_part.is_some_and(|h| h.len() == 40 && h.bytes().all(|b| b.is_ascii_hexdigit()));
    let Some(hex_part) = hex_part.filter(|_| valid) else {
        return Err(CoreError::BadAddress { text: t.to_owned() });
    };
    let bytes = hex::decode(hex_part).map_err(|e| CoreError::internal("reading an address", e))?;
    let checksummed = medwallet_vault::eip55(&bytes);
    let mixed = hex_part.bytes().any(|b| b.is_ascii_lowercase())
        && hex_part.bytes().any(|b| b.is_ascii_uppercase());
    if mixed && checksummed != format!("0x{hex_part}") {
        return Err(CoreError::AddressChecksum { text: t.to_owned() });
    }
    Ok(Address::from_slice(&bytes))
}

/// `id:<address>`, the attribute naming one person under a patient's authority.
pub(crate) fn id_attribute(address: &str) -> String {
    format!("id:{}", address.to_lowercase())
}

/// A record id as the contract keys it.
pub(crate) fn b256(record_id: &str) -> Answer<B256> {
    record_id.parse().map_err(|_| CoreError::BadRecordId {
        text: record_id.to_owned(),
    })
}

/// This device's clock, in Unix seconds.
pub(crate) fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The ledger's latest block time, or 0 if it does not say.
pub(crate) async fn chain_time(node: &medwallet_ledger::LedgerNode) -> i64 {
    node.head_time()
        .await
        .ok()
        .and_then(|t| i64::try_from(t).ok())
        .unwrap_or(0)
}

pub(crate) use crate::words::rfc3339;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_sentences_with_a_next_step() {
        let down = StepFailure::ledger(LedgerError::Unreachable {
            url: "http://127.0.0.1:1/".into(),
            detail: "refused".into(),
        });
        assert!(down.node_down);
        let down = down.reason();
        assert!(down.starts_with("The ledger node") && down.contains("sent when it is back"));
        let missing = StepFailure::ledger(LedgerError::NoContract {
            address: "0x11".into(),
        });
        assert!(missing.node_down);
        let missing = missing.reason();
        assert!(missing.starts_with("There is no contract") && missing.ends_with('.'));
        let refused = StepFailure::ledger(LedgerError::Signer("bad".into()));
        assert!(!refused.node_down);
        assert!(refused.reason().ends_with("It is tried again later."));
    }

    #[test]
    fn settings_without_contract_give_no_target_contract() {
        let t = LedgerTarget::from_settings(&medwallet_api::NodeSettings {
            ipfs_url: "http://127.0.0.1:5001".into(),
            ledger_url: "http://127.0.0.1:8545".into(),
            contract_address: None,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(t.contract, None);
        assert!(matches!(
            LedgerTarget::from_settings(&medwallet_api::NodeSettings {
                ipfs_url: String::new(),
                ledger_url: "not a url".into(),
                contract_address: None,
                ..Default::default()
            }),
            Err(CoreError::BadLedgerUrl { url, .. }) if url == "not a url"
        ));
    }
}
