//! Shared by the integration tests and the benchmark: a real anvil with the real
//! contract, and a fast way to write many events.

#![allow(dead_code, unused_imports)]

use alloy::primitives::Address;
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use medwallet_devnodes::{Anvil, AnvilOptions, NodeTools};
use medwallet_ledger::{LedgerClient, LedgerNode};
use url::Url;

/// A running anvil with our contract deployed.
pub struct Chain {
    pub anvil: Anvil,
    pub node: LedgerNode,
    pub contract: Address,
    pub dir: tempfile::TempDir,
    /// The deployer's key: the consortium's first admin.
    pub admin_key: PrivateKeySigner,
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
        let admin_key = PrivateKeySigner::random();
        let contract = node.deploy(admin_key.clone()).await.unwrap();
        Self {
            anvil,
            node,
            contract,
            dir,
            admin_key,
        }
    }

    /// A client for the deployer, the consortium's first admin.
    pub async fn admin(&self) -> LedgerClient {
        self.node
            .client(self.admin_key.clone(), self.contract)
            .await
            .unwrap()
    }

    /// A client for a fresh account, with its secret key (to sign check-in codes).
    pub async fn account_with_key(&self) -> (LedgerClient, [u8; 32]) {
        let key = PrivateKeySigner::random();
        let secret: [u8; 32] = key.to_bytes().0;
        (self.node.client(key, self.contract).await.unwrap(), secret)
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

    /// Writes `count` events fast from one fresh account (see
    /// `medwallet_ledger::testing::write_events`).
    pub async fn write_events(&self, count: usize, updates: usize) -> Address {
        medwallet_ledger::testing::write_events(
            &self.url(),
            self.contract,
            PrivateKeySigner::random(),
            count,
            updates,
        )
        .await
        .unwrap()
    }
}

pub use medwallet_ledger::record_id_of;
pub use medwallet_ledger::testing::{record_id, record_nonce};
