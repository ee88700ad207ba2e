//! Bindings to `contracts/MedwalletLedger.sol`, generated from the committed solc-js
//! artifact (`contracts/MedwalletLedger.json`, made by
//! `node scripts/node/compile-contract.cjs`), so the app and the deployed bytecode
//! cannot disagree.

#![allow(missing_docs)] // generated code

alloy::sol!(
    #[sol(rpc)]
    MedwalletLedger,
    "contracts/MedwalletLedger.json"
);

/// The contract schema this build of the app deploys, and speaks in full.
pub const EXPECTED_SCHEMA_VERSION: u16 = 7;

/// The oldest contract schema this build still uses: schema 7 only added batch
/// functions (the same checks and events as the single ones), so a ledger deployed at
/// schema 6 is used as it is, its batches sent one transaction per item.
pub const OLDEST_SCHEMA_VERSION: u16 = 6;

/// The first schema with `registerRecords`, `updateRecords`, `grantAccessBatch` and
/// `revokeAccessBatch`.
pub const BATCH_SCHEMA_VERSION: u16 = 7;

/// Whether this build uses a contract that answers `schema_version`.
pub fn is_supported_schema(schema_version: u16) -> bool {
    (OLDEST_SCHEMA_VERSION..=EXPECTED_SCHEMA_VERSION).contains(&schema_version)
}
