//! medwallet ledger: the Solidity contract, its compiled artifact, and the client
//! that talks to an EVM JSON-RPC node (anvil locally, a Besu QBFT consortium in
//! production).
//!
//! The ledger is permissioned and has no fees: every transaction this crate sends
//! carries zero gas price, set explicitly, because fee estimation would ask the node
//! for a tip and then fail for lack of funds.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod contract;
mod error;
mod node;
mod tx;

pub use alloy::primitives::Address;
pub use alloy::signers::local::PrivateKeySigner;
pub use error::LedgerError;
pub use node::{ChainStatus, ContractStatus, LedgerNode};
