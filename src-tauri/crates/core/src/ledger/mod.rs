//! The ledger as the use cases see it: where it is ([`LedgerTarget`]), a connection signing
//! as the unlocked wallet ([`connect`]), reading a filter's events, a failed step's reason
//! in words ([`StepFailure`]), and the directory of published identities and authorities
//! ([`directory`]).
//!
//! Every other room reaches the ledger through here, never through `medwallet_ledger`'s
//! node directly, so the chain checks and the words for a failure are the same everywhere.

pub(crate) mod directory;

use medwallet_api::UserError;
use medwallet_ledger::{
    Address, EventFilter, LedgerClient, LedgerError, LedgerNode, LoggedEvent, PrivateKeySigner,
    B256,
};
use medwallet_records::IpfsError;

use crate::store::StoreError;
use crate::words::internal;
use crate::Answer;
use url::Url;

use crate::session::Owner;

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
    pub fn from_settings(settings: &medwallet_api::NodeSettings) -> Result<Self, String> {
        let url = Url::parse(settings.ledger_url.trim()).map_err(|e| {
            format!(
                "The ledger node URL {} is not valid ({e}); correct it in Settings.",
                settings.ledger_url
            )
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
    /// The chain the node is on, or why it cannot say (in words).
    pub async fn chain_id(&self) -> Result<u64, String> {
        LedgerNode::new(&self.url)
            .status()
            .await
            .map(|s| s.chain_id)
            .map_err(|e| sentence(&e.to_string()))
    }
}

/// Why a queued step (an upload, a registration, a grant) waits, and whether the node itself failed (then the rest of the
/// outbox waits for the next pass instead of trying each entry).
#[derive(Debug)]
pub(crate) struct StepFailure {
    pub reason: String,
    pub node_down: bool,
}

impl StepFailure {
    /// A step that waits for a reason other than a node.
    pub(crate) fn waiting(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            node_down: false,
        }
    }

    /// A ledger failure in words; the node counts as down when it does not answer, or
    /// answers as something else than our contract on the expected chain.
    pub(crate) fn ledger(e: &LedgerError) -> Self {
        Self {
            reason: ledger_words(e),
            node_down: matches!(
                e,
                LedgerError::Unreachable { .. }
                    | LedgerError::NotEvm { .. }
                    | LedgerError::WrongChain { .. }
                    | LedgerError::NoContract { .. }
                    | LedgerError::ForeignContract { .. }
            ),
        }
    }
}

/// A ledger failure in words, ending with what happens next.
pub(crate) fn ledger_words(e: &LedgerError) -> String {
    match e {
        LedgerError::Unreachable { url, .. } => format!(
            "The ledger node at {url} does not answer; the transaction is kept and sent when it is back."
        ),
        LedgerError::WrongChain { .. }
        | LedgerError::NoContract { .. }
        | LedgerError::ForeignContract { .. } => sentence(&e.to_string()),
        other => format!("{} It is tried again later.", sentence(&other.to_string())),
    }
}

fn sentence(s: &str) -> String {
    let mut c = s.chars();
    let mut out = match c.next() {
        Some(first) => first.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    };
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

/// The reason shown while no contract is configured.
pub(crate) const NO_CONTRACT: &str = "No ledger contract is set: the record is registered once the contract address is saved in Settings.";

/// A connection to the contract, signing as the owner.
pub(crate) struct Connected {
    pub node: LedgerNode,
    pub client: LedgerClient,
    pub contract: Address,
    pub me: Address,
}

/// Connects to the ledger as `owner` (checking the chain when the target names one).
pub(crate) async fn connect(
    owner: &Owner,
    target: &LedgerTarget,
) -> Result<Connected, StepFailure> {
    let contract = target
        .contract
        .ok_or_else(|| StepFailure::waiting(NO_CONTRACT))?;
    let node = LedgerNode::new(&target.url);
    if let Some(chain_id) = target.chain_id {
        node.check_chain(chain_id, contract)
            .await
            .map_err(|e| StepFailure::ledger(&e))?;
    }
    let signer = PrivateKeySigner::from_slice(&owner.ledger_key[..])
        .map_err(|e| StepFailure::waiting(format!("The wallet's ledger key is unusable ({e}).")))?;
    let me = signer.address();
    let client = node
        .client(signer, contract)
        .await
        .map_err(|e| StepFailure::ledger(&e))?;
    Ok(Connected {
        node,
        client,
        contract,
        me,
    })
}

/// Every checked event the filter selects, from the first block to the head.
pub(crate) async fn events(
    node: &LedgerNode,
    contract: Address,
    filter: &EventFilter,
) -> Result<Vec<LoggedEvent>, LedgerError> {
    let head = node.status().await?.block_height;
    Ok(node.fetch_events(contract, 0, head, filter).await?.events)
}

impl StepFailure {
    pub(crate) fn ipfs(e: &IpfsError) -> Self {
        let words = crate::words::node_error(e);
        Self {
            reason: match words.hint {
                Some(hint) => format!("{} {hint}", words.message),
                None => words.message,
            },
            node_down: matches!(e, IpfsError::Unreachable { .. }),
        }
    }

    pub(crate) fn store(e: StoreError) -> Self {
        Self::waiting(crate::words::store_error(e).message)
    }

    pub(crate) fn user(e: UserError) -> Self {
        Self::waiting(e.message)
    }
}

// Addresses, ids and the chain's clock, as every room reads them.

/// Reads a person's address: `0x` and 40 hex digits; mixed case must be the EIP-55
/// checksum (a typo in one letter is caught, as wallets do).
pub(crate) fn parse_address(text: &str) -> Answer<Address> {
    let t = text.trim();
    let hex_part = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X"));
    let valid = hex_part.is_some_and(|h| h.len() == 40 && h.bytes().all(|b| b.is_ascii_hexdigit()));
    let Some(hex_part) = hex_part.filter(|_| valid) else {
        return Err(UserError::new(
            format!("\"{t}\" is not a ledger address."),
            "An address is 0x followed by 40 hexadecimal digits; copy it from the person's Keys page.",
        ));
    };
    let bytes = hex::decode(hex_part).map_err(|e| internal("reading an address", e))?;
    let checksummed = medwallet_vault::eip55(&bytes);
    let mixed = hex_part.bytes().any(|b| b.is_ascii_lowercase())
        && hex_part.bytes().any(|b| b.is_ascii_uppercase());
    if mixed && checksummed != format!("0x{hex_part}") {
        return Err(UserError::new(
            format!("The address {t} has a checksum error: a letter was changed."),
            "Copy the address again from the person's Keys page.",
        ));
    }
    Ok(Address::from_slice(&bytes))
}

/// `id:<address>`, the attribute naming one person under a patient's authority.
pub(crate) fn id_attribute(address: &str) -> String {
    format!("id:{}", address.to_lowercase())
}

/// A record id as the contract keys it.
pub(crate) fn b256(record_id: &str) -> Answer<B256> {
    record_id.parse().map_err(|_| {
        UserError::new(
            format!("{record_id} is not a record id."),
            "Pick the record again from the list.",
        )
    })
}

/// Why nothing can be encrypted for an address: it published no keys.
pub(crate) fn not_published(address: &Address) -> UserError {
    UserError::new(
        format!("{address} has not published its keys on this ledger, so nothing can be encrypted for it."),
        "Ask that person to open medwallet with the same ledger (Settings: the same node and contract) and unlock their wallet once: their keys are published then. Then share again.",
    )
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

/// A Unix time as RFC 3339 (UTC, seconds).
pub(crate) fn rfc3339(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_sentences_with_a_next_step() {
        let down = ledger_words(&LedgerError::Unreachable {
            url: "http://127.0.0.1:1/".into(),
            detail: "refused".into(),
        });
        assert!(down.starts_with("The ledger node") && down.contains("sent when it is back"));
        let missing = ledger_words(&LedgerError::NoContract {
            address: "0x11".into(),
        });
        assert!(missing.starts_with("There is no contract") && missing.ends_with('.'));
    }

    #[test]
    fn settings_without_contract_give_no_target_contract() {
        let t = LedgerTarget::from_settings(&medwallet_api::NodeSettings {
            ipfs_url: "http://127.0.0.1:5001".into(),
            ledger_url: "http://127.0.0.1:8545".into(),
            contract_address: None,
        })
        .unwrap();
        assert_eq!(t.contract, None);
        assert!(LedgerTarget::from_settings(&medwallet_api::NodeSettings {
            ipfs_url: String::new(),
            ledger_url: "not a url".into(),
            contract_address: None,
        })
        .is_err());
    }
}
