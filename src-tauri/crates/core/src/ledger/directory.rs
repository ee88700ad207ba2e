//! The ledger as a directory: a wallet's published identity and authority, read from the
//! events, and this wallet's own publications (sent once per contract).

use medwallet_abe::PublicParams;
use medwallet_ledger::{Address, EventFilter, LedgerError, LedgerEvent, LedgerNode, B256};
use medwallet_records::cid::{cid_of, Cid};
use medwallet_records::IpfsNode;
use medwallet_vault::Role;

use super::StepFailure as Failure;
use crate::error::{CoreError, Part, SharingError};
use crate::ipfs::fetch_small;
use crate::session::Owner;
use crate::store::RecordStore;

pub(crate) use super::reads::Reads;
pub(crate) use super::Connected;

/// A wallet's published identity: its HPKE key and role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Published {
    pub hpke_key: [u8; 32],
    pub ed25519_key: [u8; 32],
    pub role: Option<Role>,
}

/// The latest identity `account` published, if any.
pub(crate) async fn identity_of(
    reads: &Reads,
    account: Address,
) -> Result<Option<Published>, LedgerError> {
    let events = reads.events(&EventFilter::Wallet(account)).await?;
    Ok(events.iter().rev().find_map(|e| match &e.event {
        LedgerEvent::IdentityPublished {
            account: a,
            hpke_key,
            ed25519_key,
            role,
        } if *a == account => Some(Published {
            hpke_key: hpke_key.0,
            ed25519_key: ed25519_key.0,
            role: match role {
                0 => Some(Role::Patient),
                1 => Some(Role::Doctor),
                2 => Some(Role::Clinic),
                _ => None,
            },
        }),
        _ => None,
    }))
}

/// Whether `account` published the clinic role (the only wallets whose records for a
/// patient the patient's wallet follows).
pub(crate) async fn is_clinic(reads: &Reads, account: Address) -> Result<bool, LedgerError> {
    Ok(identity_of(reads, account).await?.and_then(|p| p.role) == Some(Role::Clinic))
}

/// How the app names `account`: with the name the consortium's admins attest on the
/// ledger, or unverified. A node that does not answer leaves it unverified (never a name
/// that was not read).
pub(crate) async fn provider_label(
    node: &LedgerNode,
    contract: Address,
    account: Address,
) -> medwallet_api::ProviderLabel {
    let attested = match node.provider_of(contract, account).await {
        Ok(found) => found,
        Err(e) => {
            tracing::debug!(provider = %account, error = e.kind(), "reading a provider's attestation failed");
            None
        }
    };
    medwallet_api::ProviderLabel {
        address: account.to_string(),
        verified_role: attested
            .as_ref()
            .map(|p| if p.role == 1 { "doctor" } else { "clinic" }.to_owned()),
        verified_name: attested.map(|p| p.name),
    }
}

/// The most distinct addresses one list asks the registry about (one call each).
pub(crate) const MAX_PROVIDER_LOOKUPS: usize = 64;

/// [`provider_label`]s for one list (the audit trail, the inbox): each address asked
/// once, at most [`MAX_PROVIDER_LOOKUPS`] of them (the others get no label).
#[derive(Default)]
pub(crate) struct ProviderLabels(std::collections::HashMap<String, medwallet_api::ProviderLabel>);

impl ProviderLabels {
    /// The label of `address` (as text); `None` for text that is not an address, or past
    /// the bound.
    pub(crate) async fn of(
        &mut self,
        node: &LedgerNode,
        contract: Address,
        address: &str,
    ) -> Option<medwallet_api::ProviderLabel> {
        if let Some(label) = self.0.get(address) {
            return Some(label.clone());
        }
        if self.0.len() >= MAX_PROVIDER_LOOKUPS {
            return None;
        }
        let label = provider_label(node, contract, address.parse().ok()?).await;
        self.0.insert(address.to_owned(), label.clone());
        Some(label)
    }
}

fn role_number(role: Role) -> u8 {
    match role {
        Role::Patient => 0,
        Role::Doctor => 1,
        Role::Clinic => 2,
    }
}

/// Publishes the owner's identity on the contract, and its authority's public parameters
/// (on IPFS, their CID on the ledger) when it has one, unless done before. Idempotent: the
/// store remembers what each contract has.
pub(crate) async fn publish_self(
    store: &RecordStore,
    owner: &Owner,
    ipfs: &url::Url,
    conn: &Connected,
) -> Result<(), Failure> {
    let contract = conn.contract.to_string();
    // A wallet being rebuilt publishes nothing: what it published before is not read
    // back yet (a clinic would publish its first epoch's parameters again).
    if store
        .rebuild_unfinished(&contract)
        .await
        .map_err(Failure::store)?
    {
        return Ok(());
    }
    if store
        .published(&contract, "identity")
        .await
        .map_err(Failure::store)?
        .is_none()
    {
        let receipt = conn
            .client
            .publish_identity(
                B256::from(owner.x25519_public),
                B256::from(owner.ed25519_public),
                role_number(owner.role),
            )
            .await
            .map_err(Failure::ledger)?;
        store
            .set_published(&contract, "identity", &receipt.tx_hash.to_string())
            .await
            .map_err(Failure::store)?;
    }
    if owner.authority_seed.is_some()
        && store
            .published(&contract, "authority")
            .await
            .map_err(Failure::store)?
            .is_none()
    {
        let epoch = store.authority_epoch().await.map_err(Failure::store)?;
        let params = owner
            .authority_at(epoch)
            .map_err(Failure::waiting)?
            .public_params()
            .to_bytes();
        let cid = put(ipfs, params).await?;
        let receipt = conn
            .client
            .publish_authority(&cid.to_bytes())
            .await
            .map_err(Failure::ledger)?;
        store
            .set_published(&contract, "authority", &receipt.tx_hash.to_string())
            .await
            .map_err(Failure::store)?;
    }
    Ok(())
}

/// Adds bytes to IPFS, checks the CID the node answers, and pins them.
pub(crate) async fn put(ipfs: &url::Url, bytes: Vec<u8>) -> Result<Cid, Failure> {
    let node = IpfsNode::new(ipfs).map_err(Failure::ipfs)?;
    let expected = cid_of(&bytes);
    let got = node.add_bytes(bytes).await.map_err(Failure::ipfs)?;
    if got != expected {
        return Err(Failure::waiting(CoreError::StoredAs {
            part: None,
            got: Box::new(got),
            expected: Box::new(expected),
        }));
    }
    node.pin(&got).await.map_err(Failure::ipfs)?;
    Ok(got)
}

/// The CID of the public parameters `authority` published last; `None` if it published
/// none.
pub(crate) async fn authority_cid(
    reads: &Reads,
    authority: Address,
) -> Result<Option<Cid>, Failure> {
    let events = reads
        .events(&EventFilter::Wallet(authority))
        .await
        .map_err(Failure::ledger)?;
    events
        .iter()
        .rev()
        .find_map(|e| match &e.event {
            LedgerEvent::AuthorityPublished {
                authority: a,
                params_cid,
                ..
            } if *a == authority => Some(params_cid.to_vec()),
            _ => None,
        })
        .map(|cid| {
            Cid::from_bytes(&cid).map_err(|source| {
                Failure::waiting(SharingError::PublishedCidUnreadable { authority, source })
            })
        })
        .transpose()
}

/// The public parameters `authority` published last (their CID on the ledger, the bytes
/// on IPFS), checked to decode; `None` if it published none.
pub(crate) async fn authority_params(
    reads: &Reads,
    ipfs: &url::Url,
    authority: Address,
) -> Result<Option<Vec<u8>>, Failure> {
    let Some(cid) = authority_cid(reads, authority).await? else {
        return Ok(None);
    };
    let ipfs = IpfsNode::new(ipfs).map_err(Failure::ipfs)?;
    let bytes = fetch_small(&ipfs, &cid, Part::AuthorityParameters)
        .await
        .map_err(Failure::waiting)?;
    PublicParams::from_bytes(&bytes)
        .map_err(|source| Failure::waiting(SharingError::ParamsUnusable { authority, source }))?;
    Ok(Some(bytes))
}
