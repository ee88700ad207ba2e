//! Sending the contract's transactions from a wallet's ledger account.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::primitives::{Address, Bytes, B256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use url::Url;

use crate::contract::MedwalletLedger as C;
use crate::revert::Action;
use crate::tx::send_zero_fee;
use crate::LedgerError;

/// Where a transaction landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipt {
    /// The transaction hash.
    pub tx_hash: B256,
    /// The block it was mined in.
    pub block_number: u64,
    /// That block's hash.
    pub block_hash: B256,
}

impl Receipt {
    pub(crate) fn from_rpc(url: &Url, receipt: &TransactionReceipt) -> Result<Self, LedgerError> {
        match (receipt.block_number, receipt.block_hash) {
            (Some(block_number), Some(block_hash)) => Ok(Self {
                tx_hash: receipt.transaction_hash,
                block_number,
                block_hash,
            }),
            _ => Err(LedgerError::NotEvm {
                url: url.to_string(),
                detail: "a mined receipt has no block".into(),
            }),
        }
    }
}

/// A provider that signs with `signer` and fills nonces; fees are set by
/// [`send_zero_fee`].
pub(crate) fn signing_provider(url: &Url, chain_id: u64, signer: PrivateKeySigner) -> DynProvider {
    ProviderBuilder::new()
        .disable_recommended_fillers()
        .with_simple_nonce_management()
        .with_chain_id(chain_id)
        .wallet(EthereumWallet::from(signer))
        .connect_client(rpc_client(url))
        .erased()
}

/// The JSON-RPC client for the node at `url`, reached with the access the app's book
/// gives its origin (TLS trust, credentials: `medwallet_net::book`).
///
/// Access that cannot be used (a CA file that is not a certificate) is logged by kind
/// and the node is reached without it: the TLS or credential failure that follows is
/// named by every call, as for a node whose settings are wrong.
pub(crate) fn rpc_client(url: &Url) -> alloy::rpc::client::RpcClient {
    let access = medwallet_net::book::access_for(url);
    let http = match medwallet_net::http_client(&access) {
        Ok(client) => client,
        Err(e) => {
            tracing::warn!(
                error = e.kind(),
                "the ledger node's access settings cannot be used"
            );
            medwallet_net::http_client(&medwallet_net::NodeAccess::default()).unwrap_or_default()
        }
    };
    alloy::rpc::client::RpcClient::new_http_with_client(http, url.clone())
}

/// One lock per ledger account in this process: an account's transactions are sent one
/// at a time, from reading its nonce to the receipt.
///
/// The nonce of a transaction is the account's count of pending ones, read from the node
/// just before it is signed; two sends from one account at once (two records added
/// together, an add's registration during the background pass's publishing) would read
/// the same count, and the node would refuse the second. Clients are made per use case
/// (`connect`), so the lock belongs to the account, not to a client.
fn account_lock(from: Address) -> Arc<tokio::sync::Mutex<()>> {
    static LOCKS: OnceLock<Mutex<HashMap<Address, Arc<tokio::sync::Mutex<()>>>>> = OnceLock::new();
    let locks = LOCKS.get_or_init(Default::default);
    let mut locks = locks
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    locks.entry(from).or_default().clone()
}

/// The contract's transactions, signed by one wallet's ledger account, each sent
/// with zero fees and awaited (with a deadline), one at a time per account.
#[derive(Clone)]
pub struct LedgerClient {
    pub(crate) provider: DynProvider,
    pub(crate) url: Url,
    pub(crate) contract: Address,
    pub(crate) from: Address,
    /// The contract's schema: batches are sent as batches from
    /// [`BATCH_SCHEMA_VERSION`](crate::contract::BATCH_SCHEMA_VERSION), one transaction
    /// per item before.
    pub(crate) schema: u16,
    pub(crate) sending: Arc<tokio::sync::Mutex<()>>,
}

impl std::fmt::Debug for LedgerClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LedgerClient")
            .field("url", &self.url.as_str())
            .field("contract", &self.contract)
            .field("from", &self.from)
            .field("schema", &self.schema)
            .finish()
    }
}

impl LedgerClient {
    pub(crate) fn new(
        url: &Url,
        chain_id: u64,
        signer: PrivateKeySigner,
        contract: Address,
        schema: u16,
    ) -> Self {
        let from = signer.address();
        Self {
            provider: signing_provider(url, chain_id, signer),
            url: url.clone(),
            contract,
            from,
            schema,
            sending: account_lock(from),
        }
    }

    /// The contract's schema version.
    pub fn schema(&self) -> u16 {
        self.schema
    }

    /// Whether the contract has the batch functions (else a batch goes one transaction
    /// per item).
    pub fn sends_batches(&self) -> bool {
        self.schema >= crate::contract::BATCH_SCHEMA_VERSION
    }

    /// The account that signs.
    pub fn address(&self) -> Address {
        self.from
    }

    /// The contract it talks to.
    pub fn contract(&self) -> Address {
        self.contract
    }

    #[tracing::instrument(
        name = "ledger_transaction",
        skip_all,
        fields(function = T::SIGNATURE, from = %self.from, contract = %self.contract)
    )]
    pub(crate) async fn send<T: SolCall>(
        &self,
        action: Action,
        call: T,
    ) -> Result<Receipt, LedgerError> {
        // Held from the nonce to the receipt (see `account_lock`); a later transaction of
        // the account then never depends on an earlier one that was dropped.
        let _one_at_a_time = self.sending.lock().await;
        let tx = TransactionRequest::default()
            .with_from(self.from)
            .with_to(self.contract)
            .with_input(call.abi_encode());
        let receipt = send_zero_fee(&self.provider, self.url.as_str(), action, tx).await?;
        Receipt::from_rpc(&self.url, &receipt)
    }

    /// `publishIdentity`: the account's HPKE (X25519) and Ed25519 public keys and its
    /// role (0 patient, 1 doctor, 2 clinic).
    pub async fn publish_identity(
        &self,
        hpke_key: B256,
        ed25519_key: B256,
        role: u8,
    ) -> Result<Receipt, LedgerError> {
        self.send(
            Action::PublishIdentity,
            C::publishIdentityCall {
                hpkeKey: hpke_key,
                ed25519Key: ed25519_key,
                role,
            },
        )
        .await
    }

    /// `publishAuthority`: the CID (binary) of the account's authority parameters.
    pub async fn publish_authority(&self, params_cid: &[u8]) -> Result<Receipt, LedgerError> {
        self.send(
            Action::PublishAuthority,
            C::publishAuthorityCall {
                paramsCid: Bytes::copy_from_slice(params_cid),
            },
        )
        .await
    }

    /// `registerRecord`: a new record owned by this account, version 1, with the id
    /// [`record_id_of`](crate::record_id_of)`(this account, nonce)`.
    pub async fn register_record(
        &self,
        nonce: B256,
        manifest_cid: &[u8],
        capsule_cid: &[u8],
    ) -> Result<Receipt, LedgerError> {
        self.send(
            Action::RegisterRecord,
            C::registerRecordCall {
                nonce,
                manifestCid: Bytes::copy_from_slice(manifest_cid),
                capsuleCid: Bytes::copy_from_slice(capsule_cid),
            },
        )
        .await
    }

    /// `updateRecord`: a new version of one of this account's records.
    pub async fn update_record(
        &self,
        record_id: B256,
        manifest_cid: &[u8],
        capsule_cid: &[u8],
    ) -> Result<Receipt, LedgerError> {
        self.send(
            Action::UpdateRecord,
            C::updateRecordCall {
                recordId: record_id,
                manifestCid: Bytes::copy_from_slice(manifest_cid),
                capsuleCid: Bytes::copy_from_slice(capsule_cid),
            },
        )
        .await
    }

    /// `grantAccess`: to a person (`clause_hash` zero) or to a clause under the
    /// clinic authority `grantee`; `expiry` in unix seconds, 0 for none.
    pub async fn grant_access(
        &self,
        record_id: B256,
        grantee: Address,
        clause_hash: B256,
        capsule_cid: &[u8],
        expiry: u64,
    ) -> Result<Receipt, LedgerError> {
        self.send(
            Action::GrantAccess,
            C::grantAccessCall {
                recordId: record_id,
                grantee,
                clauseHash: clause_hash,
                capsuleCid: Bytes::copy_from_slice(capsule_cid),
                expiry,
            },
        )
        .await
    }

    /// `revokeAccess`: withdraws a grant; `new_capsule_cid` is the re-wrapped capsule.
    pub async fn revoke_access(
        &self,
        record_id: B256,
        grantee: Address,
        clause_hash: B256,
        new_capsule_cid: &[u8],
    ) -> Result<Receipt, LedgerError> {
        self.send(
            Action::RevokeAccess,
            C::revokeAccessCall {
                recordId: record_id,
                grantee,
                clauseHash: clause_hash,
                newCapsuleCid: Bytes::copy_from_slice(new_capsule_cid),
            },
        )
        .await
    }

    /// `issueKey`: announces a key this account (an authority) issued to `holder`.
    pub async fn issue_key(&self, holder: Address, key_cid: &[u8]) -> Result<Receipt, LedgerError> {
        self.send(
            Action::IssueKey,
            C::issueKeyCall {
                holder,
                keyCid: Bytes::copy_from_slice(key_cid),
            },
        )
        .await
    }

    /// `revokeKey`: this account (an authority) takes back the keys it issued to
    /// `holder`; the contract then refuses the holder's access logs under it.
    pub async fn revoke_key(&self, holder: Address) -> Result<Receipt, LedgerError> {
        self.send(Action::RevokeKey, C::revokeKeyCall { holder })
            .await
    }

    /// `logAccess`: this account, a person grantee, opens `version` of a record.
    pub async fn log_access(&self, record_id: B256, version: u32) -> Result<Receipt, LedgerError> {
        self.send(
            Action::LogAccess,
            C::logAccessCall {
                recordId: record_id,
                version,
            },
        )
        .await
    }

    /// `logClauseAccess`: this account opens a record through a clause grant under
    /// `authority`, holding a key that authority issued.
    pub async fn log_clause_access(
        &self,
        record_id: B256,
        version: u32,
        authority: Address,
        clause_hash: B256,
    ) -> Result<Receipt, LedgerError> {
        self.send(
            Action::LogAccess,
            C::logClauseAccessCall {
                recordId: record_id,
                version,
                authority,
                clauseHash: clause_hash,
            },
        )
        .await
    }

    /// `setEmergencyAccess`: allows (or stops allowing) `clinic` emergency access.
    pub async fn set_emergency_access(
        &self,
        record_id: B256,
        clinic: Address,
        allowed: bool,
    ) -> Result<Receipt, LedgerError> {
        self.send(
            Action::SetEmergencyAccess,
            C::setEmergencyAccessCall {
                recordId: record_id,
                clinic,
                allowed,
            },
        )
        .await
    }

    /// `logEmergencyAccess`: this account opens a record in an emergency, on behalf of
    /// `clinic` (itself, or the clinic that issued it a key), through the emergency
    /// grant `clause_hash` under it.
    pub async fn log_emergency_access(
        &self,
        record_id: B256,
        version: u32,
        clinic: Address,
        clause_hash: B256,
    ) -> Result<Receipt, LedgerError> {
        self.send(
            Action::LogEmergencyAccess,
            C::logEmergencyAccessCall {
                recordId: record_id,
                version,
                clinic,
                clauseHash: clause_hash,
            },
        )
        .await
    }

    /// `redeemCheckIn`: this account (a clinic's desk) redeems `patient`'s check-in code
    /// (`nonce`, `expiry` and the patient's signature over
    /// [`check_in_digest`](crate::check_in_digest)): it asks to check them in.
    pub async fn redeem_check_in(
        &self,
        patient: Address,
        nonce: B256,
        expiry: u64,
        signature: &alloy::primitives::Signature,
    ) -> Result<Receipt, LedgerError> {
        self.send(
            Action::RedeemCheckIn,
            C::redeemCheckInCall {
                patient,
                nonce,
                expiry,
                v: 27 + u8::from(signature.v()),
                r: signature.r().into(),
                s: signature.s().into(),
            },
        )
        .await
    }

    /// `answerCheckIn`: this account (the patient) allows the check-in `clinic` redeemed
    /// until `until` (unix seconds), or declines it; refused if another clinic redeemed it.
    pub async fn answer_check_in(
        &self,
        check_in_id: B256,
        clinic: Address,
        allowed: bool,
        until: u64,
    ) -> Result<Receipt, LedgerError> {
        self.send(
            Action::AnswerCheckIn,
            C::answerCheckInCall {
                checkInId: check_in_id,
                clinic,
                allowed,
                until,
            },
        )
        .await
    }

    /// `registerRecordFor`: a new record (id [`record_id_of`](crate::record_id_of)`(this
    /// account, nonce)`) owned by the patient of check-in `check_in_id`, made by this
    /// account (the clinic the patient allowed).
    pub async fn register_record_for(
        &self,
        nonce: B256,
        check_in_id: B256,
        manifest_cid: &[u8],
        capsule_cid: &[u8],
    ) -> Result<Receipt, LedgerError> {
        self.send(
            Action::RegisterRecordFor,
            C::registerRecordForCall {
                nonce,
                checkInId: check_in_id,
                manifestCid: Bytes::copy_from_slice(manifest_cid),
                capsuleCid: Bytes::copy_from_slice(capsule_cid),
            },
        )
        .await
    }

    /// `setAdmin`: this account (an admin) makes `account` an admin, or stops it being one.
    pub async fn set_admin(&self, account: Address, allowed: bool) -> Result<Receipt, LedgerError> {
        self.send(Action::Attest, C::setAdminCall { account, allowed })
            .await
    }

    /// `attestProvider`: this account (an admin) attests `provider` as the doctor (role
    /// 1) or clinic (role 2) `name`.
    pub async fn attest_provider(
        &self,
        provider: Address,
        name: &str,
        role: u8,
    ) -> Result<Receipt, LedgerError> {
        self.send(
            Action::Attest,
            C::attestProviderCall {
                provider,
                name: name.to_owned(),
                role,
            },
        )
        .await
    }

    /// `withdrawProvider`: this account (an admin) withdraws `provider`'s attestation.
    pub async fn withdraw_provider(&self, provider: Address) -> Result<Receipt, LedgerError> {
        self.send(Action::Attest, C::withdrawProviderCall { provider })
            .await
    }
}
