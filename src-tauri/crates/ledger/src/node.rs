//! A connection to one ledger node: health, contract check and deployment.

use std::time::Duration;

use alloy::network::TransactionBuilder;
use alloy::primitives::Address;
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use url::Url;

use crate::client::{signing_provider, LedgerClient};
use crate::contract::{is_supported_schema, MedwalletLedger, EXPECTED_SCHEMA_VERSION};
use crate::revert::Action;
use crate::tx::send_zero_fee;
use crate::LedgerError;

/// How long one read call may take before the node counts as unreachable.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// What the node says about its chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainStatus {
    /// `eth_chainId`.
    pub chain_id: u64,
    /// `eth_blockNumber`.
    pub block_height: u64,
}

/// The chain's latest block, as one node reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// Its number (the chain's height).
    pub number: u64,
    /// Its hash.
    pub hash: alloy::primitives::B256,
    /// Its timestamp (unix seconds): the chain's "now".
    pub timestamp: u64,
}

/// Whether an attested name can be shown as it is: 1 to 64 bytes, no control characters
/// and no invisible format characters (bidirectional marks, overrides and isolates, zero
/// widths, separators, the byte-order mark), which would make it read as another name.
pub fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.chars().any(|c| {
            c.is_control()
                || matches!(
                    c,
                    '\u{00ad}'
                        | '\u{061c}'
                        | '\u{180e}'
                        | '\u{200b}'..='\u{200f}'
                        | '\u{2028}'..='\u{202e}'
                        | '\u{2060}'..='\u{206f}'
                        | '\u{feff}'
                )
        })
}

/// A provider the consortium's admins attest (`providerOf`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestedProvider {
    /// Its name, as attested.
    pub name: String,
    /// 1 doctor, 2 clinic.
    pub role: u8,
}

/// What is at the configured contract address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContractStatus {
    /// No code at all: not deployed on this chain.
    Missing,
    /// Our contract, at this schema version.
    Deployed {
        /// `SCHEMA_VERSION()`.
        schema_version: u16,
    },
    /// Code that does not answer as our contract.
    Foreign,
}

/// A client of one EVM JSON-RPC node.
#[derive(Clone)]
pub struct LedgerNode {
    provider: DynProvider,
    url: Url,
}

impl std::fmt::Debug for LedgerNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LedgerNode")
            .field("url", &self.url.as_str())
            .finish()
    }
}

impl LedgerNode {
    /// A read-only client for the node at `url`. Connects lazily.
    pub fn new(url: &Url) -> Self {
        let provider = ProviderBuilder::new()
            .disable_recommended_fillers()
            .connect_client(crate::client::rpc_client(url))
            .erased();
        Self {
            provider,
            url: url.clone(),
        }
    }

    /// The URL this client talks to.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The node's URL to show, store and log: scheme, host, port and path, without a
    /// user name, password, query or fragment (should the URL carry any).
    pub fn label(&self) -> String {
        let mut url = self.url.clone();
        // Both fail only for URLs that cannot have credentials (no host): nothing to drop.
        let _ = url.set_username("");
        let _ = url.set_password(None);
        url.set_query(None);
        url.set_fragment(None);
        url.as_str().trim_end_matches('/').to_owned()
    }

    /// Chain id and block height, each within [`CALL_TIMEOUT`].
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn status(&self) -> Result<ChainStatus, LedgerError> {
        let status: Result<ChainStatus, LedgerError> = async {
            let chain_id = self.timed(self.provider.get_chain_id()).await?;
            let block_height = self.timed(self.provider.get_block_number()).await?;
            Ok(ChainStatus {
                chain_id,
                block_height,
            })
        }
        .await;
        match &status {
            Ok(s) => tracing::debug!(
                chain_id = s.chain_id,
                block_height = s.block_height,
                "ledger node status"
            ),
            Err(e) => tracing::warn!(error = e.kind(), "ledger node status failed"),
        }
        status
    }

    /// The latest block's timestamp (unix seconds): the chain's "now", which grant
    /// expiries are checked against.
    pub async fn head_time(&self) -> Result<u64, LedgerError> {
        Ok(self.head().await?.timestamp)
    }

    /// The latest block: its number, hash and timestamp, in one call. Its hash tells a
    /// chain that was reorganised to the same height from one that did not move.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn head(&self) -> Result<Head, LedgerError> {
        let block = self.latest_block().await?;
        Ok(Head {
            number: block.header.number,
            hash: block.header.hash,
            timestamp: block.header.timestamp,
        })
    }

    async fn latest_block(&self) -> Result<alloy::rpc::types::Block, LedgerError> {
        self.timed(
            self.provider
                .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest),
        )
        .await?
        .ok_or_else(|| LedgerError::NotEvm {
            url: self.url.to_string(),
            detail: "it has no latest block".to_owned(),
        })
    }

    /// Whether our contract is deployed at `address`.
    #[tracing::instrument(level = "debug", skip_all, fields(contract = %address))]
    pub async fn contract_status(&self, address: Address) -> Result<ContractStatus, LedgerError> {
        let code = self.timed(self.provider.get_code_at(address)).await?;
        if code.is_empty() {
            tracing::debug!("no code at the contract address");
            return Ok(ContractStatus::Missing);
        }
        let contract = MedwalletLedger::new(address, &self.provider);
        let status =
            match tokio::time::timeout(CALL_TIMEOUT, contract.SCHEMA_VERSION().call()).await {
                Ok(Ok(schema_version)) => Ok(ContractStatus::Deployed { schema_version }),
                // No answer (a broken connection, a node that failed): nothing is known of
                // the code, and the node is the problem, as for any other call.
                Ok(Err(alloy::contract::Error::TransportError(e)))
                    if !matches!(e, alloy::transports::RpcError::ErrorResp(_)) =>
                {
                    Err(LedgerError::from_rpc(self.url.as_str(), e))
                }
                // Code that does not answer SCHEMA_VERSION() (it reverts, or answers
                // something else): the answer itself is the result.
                Ok(Err(_)) => Ok(ContractStatus::Foreign),
                Err(_) => Err(self.timeout()),
            };
        match &status {
            Ok(s) => tracing::debug!(status = ?s, code_bytes = code.len(), "contract checked"),
            Err(e) => tracing::warn!(error = e.kind(), "contract check failed"),
        }
        status
    }

    /// What the consortium attests about `provider` (`providerOf`): `None` when no admin
    /// attests it (never attested, or withdrawn). Read from this node only.
    #[tracing::instrument(level = "debug", skip_all, fields(contract = %contract, provider = %provider))]
    pub async fn provider_of(
        &self,
        contract: Address,
        provider: Address,
    ) -> Result<Option<AttestedProvider>, LedgerError> {
        let bound = MedwalletLedger::new(contract, &self.provider);
        let answer =
            match tokio::time::timeout(CALL_TIMEOUT, bound.providerOf(provider).call()).await {
                Ok(Ok(answer)) => answer,
                Ok(Err(e)) => {
                    return Err(LedgerError::NotEvm {
                        url: self.url.to_string(),
                        detail: format!("providerOf() failed: {e}"),
                    })
                }
                Err(_) => return Err(self.timeout()),
            };
        if !answer.verified {
            return Ok(None);
        }
        // The contract accepts 1 to 64 bytes; anything else (a hostile node's answer), or
        // a name with control characters, is not shown as a verified name.
        let name = answer.name;
        if !is_plain_name(&name) {
            return Err(LedgerError::NotEvm {
                url: self.url.to_string(),
                detail: "a provider's name is not a short line of text".to_owned(),
            });
        }
        Ok(Some(AttestedProvider {
            name,
            role: answer.role,
        }))
    }

    /// Deploys the contract from `deployer`'s account with zero fees and returns its
    /// address once mined.
    #[tracing::instrument(skip_all, fields(deployer = %deployer.address()))]
    pub async fn deploy(&self, deployer: PrivateKeySigner) -> Result<Address, LedgerError> {
        let url = self.url.as_str();
        let chain_id = self.status().await?.chain_id;
        let from = deployer.address();
        let signing = signing_provider(&self.url, chain_id, deployer);
        let tx = TransactionRequest::default()
            .with_from(from)
            .with_deploy_code(MedwalletLedger::BYTECODE.clone());
        let receipt = send_zero_fee(&signing, url, Action::Deploy, tx).await?;
        let address = receipt.contract_address.ok_or_else(|| {
            tracing::warn!("the deployment receipt has no contract address");
            LedgerError::NotEvm {
                url: url.to_owned(),
                detail: "the deployment receipt has no contract address".into(),
            }
        })?;
        tracing::info!(contract = %address, chain_id, "contract deployed");
        Ok(address)
    }

    /// A client that sends the contract's transactions signed by `signer`, after
    /// [`check_chain`](Self::check_chain)-style checks of the node and the contract.
    pub async fn client(
        &self,
        signer: PrivateKeySigner,
        contract: Address,
    ) -> Result<LedgerClient, LedgerError> {
        let chain_id = self.status().await?.chain_id;
        let schema = self.require_contract(contract).await?;
        Ok(LedgerClient::new(
            &self.url, chain_id, signer, contract, schema,
        ))
    }

    /// Checks that the node is on `expected_chain_id` and that our contract, at a
    /// schema this build speaks ([`is_supported_schema`]), is at `contract`. Returns the node's status (its chain
    /// id is what the settings page shows).
    pub async fn check_chain(
        &self,
        expected_chain_id: u64,
        contract: Address,
    ) -> Result<ChainStatus, LedgerError> {
        let status = self.status().await?;
        if status.chain_id != expected_chain_id {
            tracing::warn!(
                expected = expected_chain_id,
                found = status.chain_id,
                "the ledger node is on another chain"
            );
            return Err(LedgerError::WrongChain {
                url: self.url.to_string(),
                expected: expected_chain_id,
                found: status.chain_id,
            });
        }
        self.require_contract(contract).await?;
        Ok(status)
    }

    /// Our contract at `contract`, at a schema this build speaks: answers that schema.
    async fn require_contract(&self, contract: Address) -> Result<u16, LedgerError> {
        let foreign = |detail: String| LedgerError::ForeignContract {
            address: contract.to_string(),
            expected: EXPECTED_SCHEMA_VERSION,
            detail,
        };
        let status = self.contract_status(contract).await?;
        if !matches!(status, ContractStatus::Deployed { schema_version } if is_supported_schema(schema_version))
        {
            tracing::warn!(
                contract = %contract,
                status = ?status,
                expected_schema = EXPECTED_SCHEMA_VERSION,
                "the configured contract is not usable"
            );
        }
        match status {
            ContractStatus::Missing => Err(LedgerError::NoContract {
                address: contract.to_string(),
            }),
            ContractStatus::Foreign => {
                Err(foreign("its code does not answer SCHEMA_VERSION()".into()))
            }
            ContractStatus::Deployed { schema_version } if !is_supported_schema(schema_version) => {
                Err(foreign(format!("it speaks schema {schema_version}")))
            }
            ContractStatus::Deployed { schema_version } => Ok(schema_version),
        }
    }

    /// The latest block's gas limit: the most gas one transaction may use.
    pub async fn block_gas_limit(&self) -> Result<u64, LedgerError> {
        Ok(self.latest_block().await?.header.gas_limit)
    }

    /// A record's owner and latest version as the contract holds them (`records`);
    /// `None` when no record has this id.
    pub async fn record_on_chain(
        &self,
        contract: Address,
        record_id: alloy::primitives::B256,
    ) -> Result<Option<(Address, u32)>, LedgerError> {
        let bound = MedwalletLedger::new(contract, &self.provider);
        let found = self.view(bound.records(record_id).call()).await?;
        Ok((found.owner != Address::ZERO).then_some((found.owner, found.version)))
    }

    /// Whether the grant of a record to `grantee` under `clause_hash` (zero for a person)
    /// is active on the contract (`grants`), whatever its expiry.
    pub async fn grant_active(
        &self,
        contract: Address,
        record_id: alloy::primitives::B256,
        grantee: Address,
        clause_hash: alloy::primitives::B256,
    ) -> Result<bool, LedgerError> {
        // `keccak256(abi.encode(recordId, grantee, clauseHash))`, as `_grantKey`.
        let mut words = [0u8; 96];
        words[..32].copy_from_slice(record_id.as_slice());
        words[44..64].copy_from_slice(grantee.as_slice());
        words[64..].copy_from_slice(clause_hash.as_slice());
        let key = alloy::primitives::keccak256(words);
        let bound = MedwalletLedger::new(contract, &self.provider);
        Ok(self.view(bound.grants(key).call()).await?.active)
    }

    /// A view call of the contract, within [`CALL_TIMEOUT`].
    async fn view<T>(
        &self,
        call: impl std::future::IntoFuture<Output = alloy::contract::Result<T>>,
    ) -> Result<T, LedgerError> {
        match tokio::time::timeout(CALL_TIMEOUT, call.into_future()).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(alloy::contract::Error::TransportError(e))) => {
                Err(LedgerError::from_rpc(self.url.as_str(), e))
            }
            Ok(Err(e)) => Err(LedgerError::NotEvm {
                url: self.url.to_string(),
                detail: format!("a view of the contract failed: {e}"),
            }),
            Err(_) => Err(self.timeout()),
        }
    }

    pub(crate) fn provider(&self) -> &DynProvider {
        &self.provider
    }

    pub(crate) async fn timed<T>(
        &self,
        call: impl std::future::IntoFuture<Output = alloy::transports::TransportResult<T>>,
    ) -> Result<T, LedgerError> {
        let result = match tokio::time::timeout(CALL_TIMEOUT, call.into_future()).await {
            Ok(result) => result.map_err(|e| LedgerError::from_rpc(self.url.as_str(), e)),
            Err(_) => Err(self.timeout()),
        };
        if let Err(e) = &result {
            // The callers warn with what they were doing; this names the call's outcome.
            tracing::debug!(error = e.kind(), "ledger RPC call failed");
        }
        result
    }

    pub(crate) fn timeout(&self) -> LedgerError {
        LedgerError::Unreachable {
            url: self.url.to_string(),
            detail: format!("no answer within {} s", CALL_TIMEOUT.as_secs()),
        }
    }
}
