//! The outbox's `register` step: a record version that is on IPFS is registered on the
//! ledger (`registerRecord` for version 1, `updateRecord` after), signed by the owner's
//! ledger key, with zero fees.
//!
//! The step is idempotent: when the contract refuses because the record (or version) is
//! already there, the ledger's events for the record are read, and if they show this
//! owner's registration of this version, that is the result (a transaction that was
//! mined while the app missed its receipt is found again, never sent twice).

use medwallet_ledger::{
    Address, EventFilter, LedgerClient, LedgerError, LedgerEvent, LedgerNode, LoggedEvent,
    PrivateKeySigner, B256,
};
use medwallet_records::cid::Cid;
use url::Url;

use super::store::StoredRecord;
use super::Owner;

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

/// Why a registration waits, and whether the node itself failed (then the rest of the
/// outbox waits for the next pass instead of trying each entry).
#[derive(Debug)]
pub(crate) struct RegisterFailure {
    pub reason: String,
    pub node_down: bool,
}

impl RegisterFailure {
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
) -> Result<Connected, RegisterFailure> {
    let contract = target
        .contract
        .ok_or_else(|| RegisterFailure::waiting(NO_CONTRACT))?;
    let node = LedgerNode::new(&target.url);
    if let Some(chain_id) = target.chain_id {
        node.check_chain(chain_id, contract)
            .await
            .map_err(|e| RegisterFailure::ledger(&e))?;
    }
    let signer = PrivateKeySigner::from_slice(&owner.ledger_key[..]).map_err(|e| {
        RegisterFailure::waiting(format!("The wallet's ledger key is unusable ({e})."))
    })?;
    let me = signer.address();
    let client = node
        .client(signer, contract)
        .await
        .map_err(|e| RegisterFailure::ledger(&e))?;
    Ok(Connected {
        node,
        client,
        contract,
        me,
    })
}

/// Registers one record version; answers (tx hash, block number).
pub(crate) async fn register(
    owner: &Owner,
    target: &LedgerTarget,
    row: &StoredRecord,
) -> Result<(String, u64), RegisterFailure> {
    let Connected {
        node,
        client,
        contract,
        me,
    } = connect(owner, target).await?;
    let record_id: B256 = row
        .record_id
        .parse()
        .map_err(|_| RegisterFailure::waiting("The record's id is not 32 bytes of hex."))?;
    let cid_bytes = |cid: &str| {
        Cid::parse(cid)
            .map(|c| c.to_bytes())
            .map_err(|e| RegisterFailure::waiting(format!("A stored CID is unreadable: {e}.")))
    };
    let manifest = cid_bytes(&row.manifest_cid)?;
    let capsule = cid_bytes(&row.capsule_cid)?;
    let sent = if row.version == 1 {
        client.register_record(record_id, &manifest, &capsule).await
    } else {
        client.update_record(record_id, &manifest, &capsule).await
    };
    match sent {
        Ok(receipt) => Ok((receipt.tx_hash.to_string(), receipt.block_number)),
        // Refused (e.g. `RecordExists` after a receipt we missed) or not mined in time:
        // the ledger's own events say whether our registration is there.
        Err(e @ (LedgerError::Reverted { .. } | LedgerError::NotMined { .. })) => {
            match find_registration(&node, contract, record_id, me, row.version).await {
                Ok(Some(found)) => Ok(found),
                Ok(None) | Err(_) => Err(RegisterFailure::ledger(&e)),
            }
        }
        Err(e) => Err(RegisterFailure::ledger(&e)),
    }
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

/// This owner's registration of `version` of a record, from the ledger's events.
pub(crate) async fn find_registration(
    node: &LedgerNode,
    contract: Address,
    record_id: B256,
    owner: Address,
    version: u32,
) -> Result<Option<(String, u64)>, LedgerError> {
    let events = events(node, contract, &EventFilter::Record(record_id)).await?;
    Ok(events.iter().find_map(|e| match &e.event {
        LedgerEvent::RecordRegistered {
            owner: o,
            version: v,
            ..
        }
        | LedgerEvent::RecordUpdated {
            owner: o,
            version: v,
            ..
        } if *o == owner && *v == version => {
            Some((e.meta.tx_hash.to_string(), e.meta.block_number))
        }
        _ => None,
    }))
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
