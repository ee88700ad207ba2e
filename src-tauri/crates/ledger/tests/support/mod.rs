//! Shared by the integration tests and the benchmark: a real anvil with the real
//! contract, and a fast way to write many events.

#![allow(dead_code)]

use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::primitives::{Address, B256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use medwallet_devnodes::{Anvil, AnvilOptions, NodeTools};
use medwallet_ledger::contract::MedwalletLedger as C;
use medwallet_ledger::{LedgerClient, LedgerNode};
use url::Url;

/// A running anvil with our contract deployed.
pub struct Chain {
    pub anvil: Anvil,
    pub node: LedgerNode,
    pub contract: Address,
    pub dir: tempfile::TempDir,
}

impl Chain {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let anvil = Anvil::start(
            &NodeTools::locate().unwrap(),
            &AnvilOptions::ephemeral(dir.path()),
        )
        .unwrap();
        let node = LedgerNode::new(&Url::parse(&anvil.url()).unwrap());
        let contract = node.deploy(PrivateKeySigner::random()).await.unwrap();
        Self {
            anvil,
            node,
            contract,
            dir,
        }
    }

    pub fn url(&self) -> Url {
        Url::parse(&self.anvil.url()).unwrap()
    }

    /// A client for a fresh, unfunded account.
    pub async fn account(&self) -> LedgerClient {
        self.node
            .client(PrivateKeySigner::random(), self.contract)
            .await
            .unwrap()
    }

    /// A plain provider for anvil's own RPC methods.
    pub fn raw(&self) -> DynProvider {
        ProviderBuilder::new()
            .disable_recommended_fillers()
            .connect_http(self.url())
            .erased()
    }

    pub async fn rpc<P, R>(&self, method: &'static str, params: P) -> R
    where
        P: alloy::rpc::json_rpc::RpcSend,
        R: alloy::rpc::json_rpc::RpcRecv,
    {
        self.raw().raw_request(method.into(), params).await.unwrap()
    }

    /// Writes `count` events fast from one fresh account: `count - updates` records
    /// registered (ids `record_id(i)`), then `updates` updates of record 0. Mining is
    /// paused while the signed transactions are sent concurrently, then blocks are
    /// mined until all are in.
    pub async fn write_events(&self, count: usize, updates: usize) -> Address {
        let signer = PrivateKeySigner::random();
        let from = signer.address();
        let chain_id = self.node.status().await.unwrap().chain_id;
        let provider = ProviderBuilder::new()
            .disable_recommended_fillers()
            .with_chain_id(chain_id)
            .wallet(EthereumWallet::from(signer))
            .connect_http(self.url())
            .erased();
        let cid = [0x01u8; 36];
        let calls: Vec<Vec<u8>> = (0..count)
            .map(|i| {
                if i < count - updates {
                    C::registerRecordCall {
                        recordId: record_id(i as u64),
                        manifestCid: cid.into(),
                        capsuleCid: cid.into(),
                    }
                    .abi_encode()
                } else {
                    C::updateRecordCall {
                        recordId: record_id(0),
                        manifestCid: cid.into(),
                        capsuleCid: cid.into(),
                    }
                    .abi_encode()
                }
            })
            .collect();
        let _: serde_json::Value = self.rpc("evm_setAutomine", (false,)).await;
        let mut sent = 0;
        for chunk in calls.chunks(500) {
            let mut set = tokio::task::JoinSet::new();
            for (j, input) in chunk.iter().enumerate() {
                let tx = TransactionRequest::default()
                    .with_from(from)
                    .with_to(self.contract)
                    .with_input(input.clone())
                    .with_nonce((sent + j) as u64)
                    .with_gas_limit(120_000)
                    .with_max_fee_per_gas(0)
                    .with_max_priority_fee_per_gas(0);
                let p = provider.clone();
                set.spawn(async move { p.send_transaction(tx).await.map(|_| ()) });
            }
            while let Some(r) = set.join_next().await {
                r.unwrap().unwrap();
            }
            sent += chunk.len();
        }
        loop {
            let _: String = self.rpc("evm_mine", ()).await;
            let nonce = self.raw().get_transaction_count(from).await.unwrap();
            if nonce as usize >= count {
                break;
            }
        }
        let _: serde_json::Value = self.rpc("evm_setAutomine", (true,)).await;
        from
    }
}

/// The id of the `i`-th generated record.
pub fn record_id(i: u64) -> B256 {
    let mut b = [0xabu8; 32];
    b[24..].copy_from_slice(&i.to_be_bytes());
    B256::from(b)
}
