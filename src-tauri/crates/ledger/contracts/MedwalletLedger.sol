// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.20;

/// @title medwallet's ledger contract
/// @notice The first, minimal version: it identifies itself and its admin so the app
/// can tell "our contract is deployed here" from "something else is". The ledger
/// issue grows it with registrations, grants, revocations and access events.
/// It stores no PHI: only pseudonymous ids and CIDs will ever be written here.
contract MedwalletLedger {
    /// @notice The event and storage layout version the app expects.
    uint16 public constant SCHEMA_VERSION = 1;

    /// @notice Who deployed the contract: the consortium's operator.
    address public immutable admin;

    /// @notice Emitted once, at deployment.
    event LedgerCreated(address indexed admin, uint16 schemaVersion);

    constructor() {
        admin = msg.sender;
        emit LedgerCreated(msg.sender, SCHEMA_VERSION);
    }
}
