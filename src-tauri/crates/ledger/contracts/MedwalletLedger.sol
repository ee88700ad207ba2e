// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.20;

/// @title medwallet's ledger contract
/// @notice The registry and audit trail of medwallet: identities, authorities, records,
/// grants, revocations, key issuance and accesses. It stores no PHI: only pseudonymous
/// addresses, record ids (random 32 bytes), CIDs (binary CIDv1, at most 64 bytes) and
/// hashes. Everything a wallet needs to rebuild its history is in the events, each
/// indexed by record id, owner (or actor) and subject so `eth_getLogs` can select a
/// wallet's own history by topic.
///
/// Access rules enforced here:
/// - only a record's owner updates it, grants or revokes access to it, or marks an
///   emergency clinic for it;
/// - only a current, unexpired grantee can log an access (see `logAccess` and
///   `logClauseAccess`), and only a marked emergency clinic (or a holder of a key it
///   issued) can log an emergency access;
/// - a check-in code is redeemed once, by the clinic that proves it holds the code's key,
///   before it expires; only that clinic logs accesses through the code's grants and
///   registers records for the patient who offered it (see `offerCheckIn`).
contract MedwalletLedger {
    /// @notice The event and storage layout version the app expects.
    uint16 public constant SCHEMA_VERSION = 4;

    /// @notice The longest CID accepted, in bytes (a CIDv1 with a 512-bit digest fits).
    uint256 public constant MAX_CID_BYTES = 64;

    /// @notice The highest role number: 0 patient, 1 doctor, 2 clinic.
    uint8 public constant MAX_ROLE = 2;

    /// @notice Who deployed the contract: the consortium's operator.
    address public immutable admin;

    /// @notice A record's owner and current version (its CIDs are in the events).
    struct Record {
        address owner;
        uint32 version;
    }

    /// @notice A grant's state: active until revoked, valid until `expiry` (0 = none).
    struct Grant {
        bool active;
        uint64 expiry;
    }

    /// @notice Records by id.
    mapping(bytes32 => Record) public records;

    /// @notice Grants by `keccak256(abi.encode(recordId, grantee, clauseHash))`.
    mapping(bytes32 => Grant) public grants;

    /// @notice Whether `authority` has issued a key to `holder` (authority => holder).
    mapping(address => mapping(address => bool)) public keyIssued;

    /// @notice Whether an address has published authority parameters.
    mapping(address => bool) public isAuthority;

    /// @notice Clinics the owner allows to log an emergency access (record => clinic).
    mapping(bytes32 => mapping(address => bool)) public emergencyClinic;

    /// @notice The domain of a check-in redemption signature (see `redeemCheckIn`).
    bytes32 public constant CHECK_IN_TAG = keccak256("medwallet/v1/check-in");

    /// @notice A check-in a patient offered: the code's address (its key is in the code
    /// the patient shows), until when it can be redeemed, and the clinic that redeemed it.
    struct CheckIn {
        address patient;
        uint64 expiry;
        address clinic;
    }

    /// @notice Check-ins by code address.
    mapping(address => CheckIn) public checkIns;

    /// @notice Emitted once, at deployment.
    event LedgerCreated(address indexed admin, uint16 schemaVersion);
    /// @notice An account's public keys and role.
    event IdentityPublished(address indexed account, bytes32 hpkeKey, bytes32 ed25519Key, uint8 role);
    /// @notice An authority's public parameters, by CID.
    event AuthorityPublished(address indexed authority, bytes paramsCid);
    /// @notice A new record, version 1.
    event RecordRegistered(
        bytes32 indexed recordId, address indexed owner, uint32 version, bytes manifestCid, bytes capsuleCid
    );
    /// @notice A new version of a record.
    event RecordUpdated(
        bytes32 indexed recordId, address indexed owner, uint32 version, bytes manifestCid, bytes capsuleCid
    );
    /// @notice A grant to a person (`clauseHash` 0) or to a clause under the authority
    /// `grantee`.
    event AccessGranted(
        bytes32 indexed recordId,
        address indexed owner,
        address indexed grantee,
        bytes32 clauseHash,
        bytes capsuleCid,
        uint64 expiry
    );
    /// @notice A grant withdrawn; the record's capsule is now `newCapsuleCid`.
    event AccessRevoked(
        bytes32 indexed recordId, address indexed owner, address indexed grantee, bytes32 clauseHash, bytes newCapsuleCid
    );
    /// @notice An authority issued an attribute key to `holder` (HPKE-encrypted, on IPFS).
    event KeyIssued(address indexed authority, address indexed holder, bytes keyCid);
    /// @notice An authority took back the keys it issued to `holder`: the log functions
    /// refuse the holder from now on (until a key is issued to it again).
    event KeyRevoked(address indexed authority, address indexed holder);
    /// @notice A grantee is about to open a record. For a clause grant, `authority`
    /// and `clauseHash` name it; for a person grant both are zero.
    event RecordAccessed(
        bytes32 indexed recordId,
        address indexed owner,
        address indexed accessor,
        uint32 version,
        address authority,
        bytes32 clauseHash
    );
    /// @notice The owner allowed (or stopped allowing) `clinic` emergency access.
    event EmergencyAccessSet(bytes32 indexed recordId, address indexed owner, address indexed clinic, bool allowed);
    /// @notice An emergency access, by `accessor` on behalf of `clinic`.
    event EmergencyAccess(
        bytes32 indexed recordId, address indexed owner, address indexed accessor, uint32 version, address clinic
    );

    /// @notice A patient offered a check-in: whoever holds the key of `code` may redeem it
    /// once before `expiry`.
    event CheckInOffered(address indexed patient, address indexed code, uint64 expiry);
    /// @notice `clinic` redeemed the check-in `code` that `patient` offered.
    event CheckInRedeemed(address indexed clinic, address indexed code, address indexed patient);
    /// @notice A new record (version 1) that `author`, a checked-in clinic, registered for
    /// its `owner`.
    event RecordUploaded(
        bytes32 indexed recordId, address indexed owner, address indexed author, bytes manifestCid, bytes capsuleCid
    );

    /// @notice Only the record's owner may do this.
    error NotOwner(bytes32 recordId, address caller);
    /// @notice The caller holds no active grant for the record.
    error NotGrantee(bytes32 recordId, address caller);
    /// @notice The caller's grant has expired.
    error GrantExpired(bytes32 recordId, address caller, uint64 expiry);
    /// @notice No record has this id.
    error UnknownRecord(bytes32 recordId);
    /// @notice A record with this id already exists.
    error RecordExists(bytes32 recordId);
    /// @notice The record has no such version.
    error UnknownVersion(bytes32 recordId, uint32 version);
    /// @notice A CID is empty or longer than `MAX_CID_BYTES`.
    error BadCid();
    /// @notice The role number is not one the app knows.
    error BadRole(uint8 role);
    /// @notice A grant names neither a person nor an authority, or names a clause
    /// without its authority.
    error BadGrant();
    /// @notice The expiry is in the past.
    error BadExpiry(uint64 expiry);
    /// @notice No active grant matches what was revoked.
    error NoSuchGrant(bytes32 recordId, address grantee, bytes32 clauseHash);
    /// @notice The caller has not published authority parameters.
    error NotAuthority(address caller);
    /// @notice The caller is neither a marked emergency clinic nor holds its key.
    error NotEmergencyClinic(bytes32 recordId, address caller);
    /// @notice No check-in was offered for this code.
    error UnknownCheckIn(address code);
    /// @notice The check-in was already offered or redeemed (by `clinic`).
    error CheckInUsed(address code, address clinic);
    /// @notice The check-in's time is over.
    error CheckInExpired(address code, uint64 expiry);
    /// @notice The redemption was not signed with the code's key for this caller.
    error BadCheckInSignature(address code);
    /// @notice The caller did not redeem this check-in.
    error NotCheckedIn(address code, address caller);

    constructor() {
        admin = msg.sender;
        emit LedgerCreated(msg.sender, SCHEMA_VERSION);
    }

    /// @notice Publishes the caller's public keys and role (again to rotate them).
    function publishIdentity(bytes32 hpkeKey, bytes32 ed25519Key, uint8 role) external {
        if (role > MAX_ROLE) revert BadRole(role);
        emit IdentityPublished(msg.sender, hpkeKey, ed25519Key, role);
    }

    /// @notice Publishes the caller's authority public parameters (again to rotate them).
    function publishAuthority(bytes calldata paramsCid) external {
        _checkCid(paramsCid);
        isAuthority[msg.sender] = true;
        emit AuthorityPublished(msg.sender, paramsCid);
    }

    /// @notice Registers a new record owned by the caller, at version 1.
    function registerRecord(bytes32 recordId, bytes calldata manifestCid, bytes calldata capsuleCid) external {
        if (records[recordId].owner != address(0)) revert RecordExists(recordId);
        _checkCid(manifestCid);
        _checkCid(capsuleCid);
        records[recordId] = Record({owner: msg.sender, version: 1});
        emit RecordRegistered(recordId, msg.sender, 1, manifestCid, capsuleCid);
    }

    /// @notice A new version of one of the caller's records.
    function updateRecord(bytes32 recordId, bytes calldata manifestCid, bytes calldata capsuleCid) external {
        Record storage record = _owned(recordId);
        _checkCid(manifestCid);
        _checkCid(capsuleCid);
        uint32 version = record.version + 1;
        record.version = version;
        emit RecordUpdated(recordId, msg.sender, version, manifestCid, capsuleCid);
    }

    /// @notice Grants access to one of the caller's records.
    /// @dev A person grant names the person as `grantee` and `clauseHash` 0. A clause
    /// grant (a role at a clinic, such as `role:doctor AND dept:cardiology`) names the
    /// clause's authority (the clinic's address) as `grantee` and the keccak256 of the
    /// clause text as `clauseHash`: the chain cannot check attributes, but it can check
    /// that an accessor holds a key that authority issued (see `logClauseAccess`).
    function grantAccess(
        bytes32 recordId,
        address grantee,
        bytes32 clauseHash,
        bytes calldata capsuleCid,
        uint64 expiry
    ) external {
        _owned(recordId);
        if (grantee == address(0)) revert BadGrant();
        _checkCid(capsuleCid);
        if (expiry != 0 && expiry <= block.timestamp) revert BadExpiry(expiry);
        grants[_grantKey(recordId, grantee, clauseHash)] = Grant({active: true, expiry: expiry});
        emit AccessGranted(recordId, msg.sender, grantee, clauseHash, capsuleCid, expiry);
    }

    /// @notice Withdraws a grant; the record's capsule is re-wrapped without it.
    function revokeAccess(bytes32 recordId, address grantee, bytes32 clauseHash, bytes calldata newCapsuleCid)
        external
    {
        _owned(recordId);
        _checkCid(newCapsuleCid);
        Grant storage grant = grants[_grantKey(recordId, grantee, clauseHash)];
        if (!grant.active) revert NoSuchGrant(recordId, grantee, clauseHash);
        grant.active = false;
        emit AccessRevoked(recordId, msg.sender, grantee, clauseHash, newCapsuleCid);
    }

    /// @notice Announces a key the caller (an authority) issued to `holder`.
    function issueKey(address holder, bytes calldata keyCid) external {
        if (!isAuthority[msg.sender]) revert NotAuthority(msg.sender);
        _checkCid(keyCid);
        keyIssued[msg.sender][holder] = true;
        emit KeyIssued(msg.sender, holder, keyCid);
    }

    /// @notice Revokes the keys the caller (an authority) issued to `holder`: its
    /// `logClauseAccess` and `logEmergencyAccess` under the caller revert from now on.
    /// Idempotent: revoking again (a retry after a lost receipt) changes nothing.
    function revokeKey(address holder) external {
        if (!isAuthority[msg.sender]) revert NotAuthority(msg.sender);
        keyIssued[msg.sender][holder] = false;
        emit KeyRevoked(msg.sender, holder);
    }

    /// @notice Logs that the caller, a person grantee, opens `version` of a record.
    function logAccess(bytes32 recordId, uint32 version) external {
        address owner = _checkVersion(recordId, version);
        _checkGrant(recordId, msg.sender, bytes32(0));
        emit RecordAccessed(recordId, owner, msg.sender, version, address(0), bytes32(0));
    }

    /// @notice Logs that the caller opens `version` of a record through a clause grant
    /// under `authority`.
    /// @dev Sound as far as the chain can see: the grant (record, authority, clause)
    /// must be active and unexpired, and the caller must hold a key `authority` issued
    /// (`KeyIssued`). Whether that key's attributes satisfy the clause is enforced by
    /// the CP-ABE capsule itself, off chain: a holder without them can log but not open.
    function logClauseAccess(bytes32 recordId, uint32 version, address authority, bytes32 clauseHash) external {
        if (authority == address(0) || clauseHash == bytes32(0)) revert BadGrant();
        address owner = _checkVersion(recordId, version);
        _checkGrant(recordId, authority, clauseHash);
        if (!keyIssued[authority][msg.sender]) revert NotGrantee(recordId, msg.sender);
        emit RecordAccessed(recordId, owner, msg.sender, version, authority, clauseHash);
    }

    /// @notice Allows (or stops allowing) `clinic` emergency access to a record.
    function setEmergencyAccess(bytes32 recordId, address clinic, bool allowed) external {
        _owned(recordId);
        if (clinic == address(0)) revert BadGrant();
        emergencyClinic[recordId][clinic] = allowed;
        emit EmergencyAccessSet(recordId, msg.sender, clinic, allowed);
    }

    /// @notice Logs an emergency access by the caller on behalf of `clinic`: the caller
    /// is the clinic itself or holds a key the clinic issued.
    function logEmergencyAccess(bytes32 recordId, uint32 version, address clinic) external {
        address owner = _checkVersion(recordId, version);
        if (!emergencyClinic[recordId][clinic] || (msg.sender != clinic && !keyIssued[clinic][msg.sender])) {
            revert NotEmergencyClinic(recordId, msg.sender);
        }
        emit EmergencyAccess(recordId, owner, msg.sender, version, clinic);
    }

    /// @notice Offers a check-in: the caller (a patient) shows a code holding the key of
    /// address `code`; the first clinic to redeem it before `expiry` may open the records
    /// the patient granted to `code` and register records for the patient.
    function offerCheckIn(address code, uint64 expiry) external {
        if (code == address(0)) revert BadGrant();
        if (expiry <= block.timestamp) revert BadExpiry(expiry);
        CheckIn storage offered = checkIns[code];
        if (offered.patient != address(0)) revert CheckInUsed(code, offered.clinic);
        checkIns[code] = CheckIn({patient: msg.sender, expiry: expiry, clinic: address(0)});
        emit CheckInOffered(msg.sender, code, expiry);
    }

    /// @notice Redeems a check-in, once. The signature `(v, r, s)` is the code key's over
    /// `keccak256(abi.encode(CHECK_IN_TAG, chainid, this contract, code, caller))`: only
    /// someone who read the code can make it, and it names the caller, so a redemption
    /// seen in the mempool cannot be replayed by another account.
    function redeemCheckIn(address code, uint8 v, bytes32 r, bytes32 s) external {
        CheckIn storage offered = checkIns[code];
        if (offered.patient == address(0)) revert UnknownCheckIn(code);
        if (offered.clinic != address(0)) revert CheckInUsed(code, offered.clinic);
        if (offered.expiry <= block.timestamp) revert CheckInExpired(code, offered.expiry);
        bytes32 digest = keccak256(abi.encode(CHECK_IN_TAG, block.chainid, address(this), code, msg.sender));
        address signer = ecrecover(digest, v, r, s);
        if (signer == address(0) || signer != code) revert BadCheckInSignature(code);
        offered.clinic = msg.sender;
        emit CheckInRedeemed(msg.sender, code, offered.patient);
    }

    /// @notice Logs that the caller, the clinic that redeemed check-in `code`, opens
    /// `version` of a record its patient granted to the code. The event names the code
    /// as `authority` (with a zero clause hash).
    function logCheckInAccess(bytes32 recordId, uint32 version, address code) external {
        address owner = _checkVersion(recordId, version);
        CheckIn storage offered = checkIns[code];
        if (offered.clinic == address(0) || offered.clinic != msg.sender || offered.patient != owner) {
            revert NotCheckedIn(code, msg.sender);
        }
        // A check-in's grants end with it, whatever expiry they were given.
        if (offered.expiry <= block.timestamp) revert CheckInExpired(code, offered.expiry);
        _checkGrant(recordId, code, bytes32(0));
        emit RecordAccessed(recordId, owner, msg.sender, version, code, bytes32(0));
    }

    /// @notice Registers a new record, owned by the patient of check-in `code`, that the
    /// caller (the clinic that redeemed it, before it expired) made for them.
    function registerRecordFor(bytes32 recordId, address code, bytes calldata manifestCid, bytes calldata capsuleCid)
        external
    {
        CheckIn storage offered = checkIns[code];
        if (offered.clinic == address(0) || offered.clinic != msg.sender) revert NotCheckedIn(code, msg.sender);
        if (offered.expiry <= block.timestamp) revert CheckInExpired(code, offered.expiry);
        if (records[recordId].owner != address(0)) revert RecordExists(recordId);
        _checkCid(manifestCid);
        _checkCid(capsuleCid);
        records[recordId] = Record({owner: offered.patient, version: 1});
        emit RecordUploaded(recordId, offered.patient, msg.sender, manifestCid, capsuleCid);
    }

    function _owned(bytes32 recordId) private view returns (Record storage record) {
        record = records[recordId];
        if (record.owner == address(0)) revert UnknownRecord(recordId);
        if (record.owner != msg.sender) revert NotOwner(recordId, msg.sender);
    }

    function _checkVersion(bytes32 recordId, uint32 version) private view returns (address owner) {
        Record storage record = records[recordId];
        owner = record.owner;
        if (owner == address(0)) revert UnknownRecord(recordId);
        if (version == 0 || version > record.version) revert UnknownVersion(recordId, version);
    }

    function _checkGrant(bytes32 recordId, address grantee, bytes32 clauseHash) private view {
        Grant storage grant = grants[_grantKey(recordId, grantee, clauseHash)];
        if (!grant.active) revert NotGrantee(recordId, msg.sender);
        if (grant.expiry != 0 && grant.expiry <= block.timestamp) {
            revert GrantExpired(recordId, msg.sender, grant.expiry);
        }
    }

    function _checkCid(bytes calldata cid) private pure {
        if (cid.length == 0 || cid.length > MAX_CID_BYTES) revert BadCid();
    }

    function _grantKey(bytes32 recordId, address grantee, bytes32 clauseHash) private pure returns (bytes32) {
        return keccak256(abi.encode(recordId, grantee, clauseHash));
    }
}
