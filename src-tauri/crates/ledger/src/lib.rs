//! medwallet ledger: the Solidity contract, its compiled artifact, and the client
//! that talks to an EVM JSON-RPC node (anvil locally, a Besu QBFT consortium in
//! production).
//!
//! The ledger is permissioned and has no fees: every transaction this crate sends
//! carries zero gas price, set explicitly, because fee estimation would ask the node
//! for a tip and then fail for lack of funds.
//!
//! - [`LedgerNode`]: status, contract checks, deployment, [`LedgerNode::fetch_events`];
//! - [`LedgerClient`]: the contract's transactions from one account, and batches of
//!   them in as few transactions as fit in a block;
//! - [`EventCache`]: the events in SQLite, synced incrementally, reorgs repaired, and
//!   (with [`EventCache::sync_checked`]) their blocks checked against the ledger's other
//!   nodes ([`BlockAgreement`]); a wallet's trail read from it a page at a time
//!   ([`EventCache::trail_page`], [`TrailFilter`]), or whole by key
//!   ([`EventCache::trail_page_before`], [`TrailKey`]).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod batch;
mod cache;
mod check_in;
mod client;
pub mod contract;
mod error;
mod events;
mod node;
mod revert;
#[cfg(feature = "testing")]
pub mod testing;
mod trail;
mod tx;
mod witness;

pub use alloy::primitives::{keccak256, Address, Bytes, Signature, B256};
pub use alloy::signers::local::PrivateKeySigner;
pub use batch::{BatchOutcome, NewRecord, NewVersion, RecordCapsule};
pub use cache::{EventCache, ReorgInfo, SyncReport};
pub use check_in::{
    check_in_confirmation, check_in_digest, check_in_id_of, check_in_signer, record_id_of,
    CheckInSigner,
};
pub use client::{LedgerClient, Receipt};
pub use error::LedgerError;
pub use events::{
    EventFilter, EventKind, EventMeta, FetchedEvents, LedgerEvent, LoggedEvent, RejectedEvent,
    LOG_PAGE_BLOCKS,
};
pub use node::{is_plain_name, AttestedProvider, ChainStatus, ContractStatus, Head, LedgerNode};
pub use revert::{Action, Revert};
pub use trail::{TrailFilter, TrailKey};
pub use witness::{
    Agreements, BlockAgreement, Dispute, Verdict, WitnessCheck, MAX_CHECKS_PER_STEP,
};
