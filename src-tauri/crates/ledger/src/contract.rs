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

/// The contract schema this build of the app speaks.
pub const EXPECTED_SCHEMA_VERSION: u16 = 6;
