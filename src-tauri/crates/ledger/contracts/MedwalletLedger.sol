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
/// - a record's id is `keccak256(abi.encode(author, nonce))`: bound to whoever registers
///   it, so nobody can take an id someone else is about to register (`recordIdOf`);
/// - an attribute key counts only in the authority's current epoch (each new parameter
///   set is one) and until the authority revokes it (see `issueKey`, `revokeKey`);
/// - an emergency access needs the owner's mark and an active, unexpired emergency grant;
/// - a check-in code is the patient's signature over a nonce and a short expiry: it
///   grants nothing; the clinic that redeems it first (once, before it expires) asks, and
///   only the patient's answer (`answerCheckIn`) lets it register records for them;
/// - the consortium's admins attest providers (name and role); identities published by
///   anyone else are unverified (see `attestProvider`).
///
/// Batches (schema 7): `registerRecords`, `updateRecords`, `grantAccessBatch` and
/// `revokeAccessBatch` do in one transaction what the single functions do one item at a
/// time, through the same private helpers (the same checks, the same per-record events),
/// so a batch is only cheaper, never different; one refused item refuses the batch.
contract MedwalletLedger {
    /// @notice The event and storage layout version the app expects.
    uint16 public constant SCHEMA_VERSION = 7;

    /// @notice The longest CID accepted, in bytes (a CIDv1 with a 512-bit digest fits).
    uint256 public constant MAX_CID_BYTES = 64;

    /// @notice The highest role number: 0 patient, 1 doctor, 2 clinic.
    uint8 public constant MAX_ROLE = 2;

    /// @notice Who deployed the contract: the consortium's operator, its first admin.
    address public immutable admin;

    /// @notice The consortium's admins, who attest providers and name other admins.
    mapping(address => bool) public isAdmin;

    /// @notice How many admins there are (never fewer than one: the registry can always
    /// withdraw an attestation).
    uint256 public adminCount;

    /// @notice A provider the consortium attests: its name (1 to `MAX_NAME_BYTES` bytes)
    /// and role (1 doctor, 2 clinic). A withdrawn attestation leaves `verified` false.
    struct Provider {
        bool verified;
        uint8 role;
        string name;
    }

    /// @notice The longest provider name, in bytes.
    uint256 public constant MAX_NAME_BYTES = 64;

    /// @notice Attested providers by address.
    mapping(address => Provider) private _providers;

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

    /// @notice An authority's epoch: how many distinct parameter sets it published (0:
    /// none, so not an authority).
    mapping(address => uint32) public authorityEpoch;

    /// @notice The keccak256 of the parameters' CID an authority published last (a retry
    /// of the same publication does not start a new epoch).
    mapping(address => bytes32) public authorityParams;

    /// @notice Parameter sets an authority published before (authority => CID hash): none
    /// can come back, so a key of an older epoch never opens what a new epoch protects.
    mapping(address => mapping(bytes32 => bool)) public pastParams;

    /// @notice The clause of an emergency grant: the only clause an emergency access may be
    /// logged through.
    bytes32 public constant EMERGENCY_CLAUSE_HASH = keccak256("role:emergency");

    /// @notice The epoch of the key an authority issued to a holder last (authority =>
    /// holder); 0 for none.
    mapping(address => mapping(address => uint32)) public keyEpoch;

    /// @notice The epoch up to which an authority revoked a holder's keys (authority =>
    /// holder): no key of that epoch or before counts, and none can be issued again in it.
    mapping(address => mapping(address => uint32)) public revokedThrough;

    /// @notice Clinics the owner allows to log an emergency access (record => clinic).
    mapping(bytes32 => mapping(address => bool)) public emergencyClinic;

    /// @notice The domain of a check-in code's signature (see `redeemCheckIn`).
    bytes32 public constant CHECK_IN_TAG = keccak256("medwallet/v2/check-in");

    /// @notice The longest a check-in code can be redeemed for, from its redemption.
    uint64 public constant MAX_CHECK_IN_CODE_SECONDS = 1 hours;

    /// @notice A check-in's states.
    uint8 public constant CHECK_IN_REDEEMED = 1;
    uint8 public constant CHECK_IN_ALLOWED = 2;
    uint8 public constant CHECK_IN_DECLINED = 3;

    /// @notice A redeemed check-in: the patient whose code it was, the clinic that
    /// redeemed it, its state, and until when the patient allowed it (when allowed).
    struct CheckIn {
        address patient;
        address clinic;
        uint8 state;
        uint64 until;
    }

    /// @notice Check-ins by id, `keccak256(abi.encode(patient, nonce))`.
    mapping(bytes32 => CheckIn) public checkIns;

    /// @notice Emitted once, at deployment.
    event LedgerCreated(address indexed admin, uint16 schemaVersion);
    /// @notice `by`, an admin, made `account` an admin (or stopped it being one).
    event AdminSet(address indexed account, address indexed by, bool allowed);
    /// @notice `admin` attested that `provider` is the doctor or clinic `name`.
    event ProviderAttested(address indexed provider, address indexed admin, string name, uint8 role);
    /// @notice `admin` withdrew the attestation of `provider`.
    event ProviderWithdrawn(address indexed provider, address indexed admin);
    /// @notice An account's public keys and role.
    event IdentityPublished(address indexed account, bytes32 hpkeKey, bytes32 ed25519Key, uint8 role);
    /// @notice An authority's public parameters, by CID, starting `epoch`.
    event AuthorityPublished(address indexed authority, bytes paramsCid, uint32 epoch);
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
    /// @notice An authority issued an attribute key of `epoch` to `holder`
    /// (HPKE-encrypted, on IPFS).
    event KeyIssued(address indexed authority, address indexed holder, bytes keyCid, uint32 epoch);
    /// @notice An authority took back the keys it issued to `holder` up to `epoch`: the
    /// log functions refuse them from now on, and no key can be issued to the holder
    /// again before the authority's next epoch.
    event KeyRevoked(address indexed authority, address indexed holder, uint32 epoch);
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

    /// @notice `clinic` redeemed `patient`'s check-in code: it asks to check them in.
    event CheckInRedeemed(bytes32 indexed checkInId, address indexed patient, address indexed clinic);
    /// @notice The patient allowed the check-in until `until`, or declined it.
    event CheckInAnswered(
        bytes32 indexed checkInId, address indexed patient, address indexed clinic, bool allowed, uint64 until
    );
    /// @notice A new record (version 1) that `author`, a clinic the patient checked in
    /// with, registered for its `owner`.
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
    /// @notice No clinic redeemed this check-in.
    error UnknownCheckIn(bytes32 checkInId);
    /// @notice The check-in code was already redeemed, by `clinic`.
    error CheckInUsed(bytes32 checkInId, address clinic);
    /// @notice The check-in's time is over.
    error CheckInExpired(bytes32 checkInId, uint64 expiry);
    /// @notice The code was not signed by the patient it names.
    error BadCheckInSignature(bytes32 checkInId);
    /// @notice The caller is not the clinic the patient allowed, or it was not allowed.
    error NotCheckedIn(bytes32 checkInId, address caller);
    /// @notice The patient answered for another clinic than the one that redeemed the code.
    error NotThisClinic(bytes32 checkInId, address clinic);
    /// @notice The last admin cannot step down.
    error LastAdmin();
    /// @notice These parameters were published before, in an older epoch.
    error StaleParams();
    /// @notice The check-in was already answered.
    error CheckInAlreadyAnswered(bytes32 checkInId, uint8 state);
    /// @notice Only the consortium's admins may do this.
    error NotAdmin(address caller);
    /// @notice A provider's name is empty or longer than `MAX_NAME_BYTES`, or its role is
    /// not a provider's.
    error BadProvider();
    /// @notice The authority revoked `holder`'s keys of `epoch`: a key for it needs the
    /// authority's next epoch.
    error KeyRevokedInEpoch(address holder, uint32 epoch);
    /// @notice A batch's arrays do not all have the same length.
    error LengthMismatch();

    constructor() {
        admin = msg.sender;
        isAdmin[msg.sender] = true;
        adminCount = 1;
        emit LedgerCreated(msg.sender, SCHEMA_VERSION);
        emit AdminSet(msg.sender, msg.sender, true);
    }

    modifier onlyAdmin() {
        if (!isAdmin[msg.sender]) revert NotAdmin(msg.sender);
        _;
    }

    /// @notice Makes `account` an admin, or stops it being one (an admin may step down,
    /// but not the last one).
    function setAdmin(address account, bool allowed) external onlyAdmin {
        if (account == address(0)) revert BadGrant();
        if (isAdmin[account] == allowed) return;
        if (!allowed && adminCount == 1) revert LastAdmin();
        isAdmin[account] = allowed;
        adminCount = allowed ? adminCount + 1 : adminCount - 1;
        emit AdminSet(account, msg.sender, allowed);
    }

    /// @notice Attests that `provider` is the doctor (role 1) or clinic (role 2) `name`;
    /// again to rename it.
    function attestProvider(address provider, string calldata name, uint8 role) external onlyAdmin {
        uint256 length = bytes(name).length;
        if (provider == address(0) || length == 0 || length > MAX_NAME_BYTES || role == 0 || role > MAX_ROLE) {
            revert BadProvider();
        }
        _providers[provider] = Provider({verified: true, role: role, name: name});
        emit ProviderAttested(provider, msg.sender, name, role);
    }

    /// @notice Withdraws the attestation of `provider`.
    function withdrawProvider(address provider) external onlyAdmin {
        delete _providers[provider];
        emit ProviderWithdrawn(provider, msg.sender);
    }

    /// @notice Whether the consortium attests `provider`, and as whom.
    function providerOf(address provider) external view returns (bool verified, uint8 role, string memory name) {
        Provider storage p = _providers[provider];
        return (p.verified, p.role, p.name);
    }

    /// @notice The id of the record `author` registers with `nonce`.
    function recordIdOf(address author, bytes32 nonce) public pure returns (bytes32) {
        return keccak256(abi.encode(author, nonce));
    }

    /// @notice The id of the check-in `patient` signed with `nonce`.
    function checkInIdOf(address patient, bytes32 nonce) public pure returns (bytes32) {
        return keccak256(abi.encode(patient, nonce));
    }

    /// @notice Whether `holder` holds a key `authority` issued in its current epoch and
    /// did not revoke.
    function holdsKey(address authority, address holder) public view returns (bool) {
        uint32 epoch = keyEpoch[authority][holder];
        return epoch != 0 && epoch == authorityEpoch[authority] && epoch > revokedThrough[authority][holder];
    }

    /// @notice Publishes the caller's public keys and role (again to rotate them).
    function publishIdentity(bytes32 hpkeKey, bytes32 ed25519Key, uint8 role) external {
        if (role > MAX_ROLE) revert BadRole(role);
        emit IdentityPublished(msg.sender, hpkeKey, ed25519Key, role);
    }

    /// @notice Publishes the caller's authority public parameters (again to rotate them).
    /// @dev A new parameter set starts the next epoch, in which the keys of the epoch
    /// before count no more; publishing the same CID again (a retry) changes nothing.
    function publishAuthority(bytes calldata paramsCid) external {
        _checkCid(paramsCid);
        bytes32 hash = keccak256(paramsCid);
        if (authorityEpoch[msg.sender] != 0 && authorityParams[msg.sender] == hash) return;
        if (pastParams[msg.sender][hash]) revert StaleParams();
        pastParams[msg.sender][hash] = true;
        authorityParams[msg.sender] = hash;
        uint32 epoch = authorityEpoch[msg.sender] + 1;
        authorityEpoch[msg.sender] = epoch;
        emit AuthorityPublished(msg.sender, paramsCid, epoch);
    }

    /// @notice Registers a new record owned by the caller, at version 1, with the id
    /// `recordIdOf(caller, nonce)`.
    function registerRecord(bytes32 nonce, bytes calldata manifestCid, bytes calldata capsuleCid) external {
        _register(nonce, manifestCid, capsuleCid);
    }

    /// @notice `registerRecord` for each `(nonces[i], manifestCids[i], capsuleCids[i])`,
    /// in order, in one transaction.
    function registerRecords(bytes32[] calldata nonces, bytes[] calldata manifestCids, bytes[] calldata capsuleCids)
        external
    {
        uint256 n = nonces.length;
        if (manifestCids.length != n || capsuleCids.length != n) revert LengthMismatch();
        for (uint256 i = 0; i < n; ++i) {
            _register(nonces[i], manifestCids[i], capsuleCids[i]);
        }
    }

    /// @notice A new version of one of the caller's records.
    function updateRecord(bytes32 recordId, bytes calldata manifestCid, bytes calldata capsuleCid) external {
        _update(recordId, manifestCid, capsuleCid);
    }

    /// @notice `updateRecord` for each `(recordIds[i], manifestCids[i], capsuleCids[i])`,
    /// in order, in one transaction.
    function updateRecords(bytes32[] calldata recordIds, bytes[] calldata manifestCids, bytes[] calldata capsuleCids)
        external
    {
        uint256 n = recordIds.length;
        if (manifestCids.length != n || capsuleCids.length != n) revert LengthMismatch();
        for (uint256 i = 0; i < n; ++i) {
            _update(recordIds[i], manifestCids[i], capsuleCids[i]);
        }
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
        _grant(recordId, grantee, clauseHash, capsuleCid, expiry);
    }

    /// @notice `grantAccess` of each of `recordIds` (with its capsule `capsuleCids[i]`)
    /// to one grantee and clause, with one expiry, in one transaction.
    function grantAccessBatch(
        bytes32[] calldata recordIds,
        address grantee,
        bytes32 clauseHash,
        bytes[] calldata capsuleCids,
        uint64 expiry
    ) external {
        uint256 n = recordIds.length;
        if (capsuleCids.length != n) revert LengthMismatch();
        for (uint256 i = 0; i < n; ++i) {
            _grant(recordIds[i], grantee, clauseHash, capsuleCids[i], expiry);
        }
    }

    /// @notice Withdraws a grant; the record's capsule is re-wrapped without it.
    function revokeAccess(bytes32 recordId, address grantee, bytes32 clauseHash, bytes calldata newCapsuleCid)
        external
    {
        _revoke(recordId, grantee, clauseHash, newCapsuleCid);
    }

    /// @notice `revokeAccess` of one grantee and clause from each of `recordIds` (its
    /// capsule now `newCapsuleCids[i]`), in one transaction.
    function revokeAccessBatch(
        bytes32[] calldata recordIds,
        address grantee,
        bytes32 clauseHash,
        bytes[] calldata newCapsuleCids
    ) external {
        uint256 n = recordIds.length;
        if (newCapsuleCids.length != n) revert LengthMismatch();
        for (uint256 i = 0; i < n; ++i) {
            _revoke(recordIds[i], grantee, clauseHash, newCapsuleCids[i]);
        }
    }

    /// @notice Announces a key of the caller's (an authority's) current epoch issued to
    /// `holder`. Refused if the caller revoked the holder in this epoch: a retried issue
    /// sent after its revocation must not bring the key back.
    function issueKey(address holder, bytes calldata keyCid) external {
        uint32 epoch = authorityEpoch[msg.sender];
        if (epoch == 0) revert NotAuthority(msg.sender);
        _checkCid(keyCid);
        if (epoch <= revokedThrough[msg.sender][holder]) revert KeyRevokedInEpoch(holder, epoch);
        keyEpoch[msg.sender][holder] = epoch;
        emit KeyIssued(msg.sender, holder, keyCid, epoch);
    }

    /// @notice Revokes the keys the caller (an authority) issued to `holder`, up to its
    /// current epoch: its `logClauseAccess` and `logEmergencyAccess` under the caller
    /// revert from now on. Idempotent: revoking again (a retry) changes nothing.
    function revokeKey(address holder) external {
        uint32 epoch = authorityEpoch[msg.sender];
        if (epoch == 0) revert NotAuthority(msg.sender);
        revokedThrough[msg.sender][holder] = epoch;
        emit KeyRevoked(msg.sender, holder, epoch);
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
        if (!holdsKey(authority, msg.sender)) revert NotGrantee(recordId, msg.sender);
        emit RecordAccessed(recordId, owner, msg.sender, version, authority, clauseHash);
    }

    /// @notice Allows (or stops allowing) `clinic` emergency access to a record.
    function setEmergencyAccess(bytes32 recordId, address clinic, bool allowed) external {
        _owned(recordId);
        if (clinic == address(0)) revert BadGrant();
        emergencyClinic[recordId][clinic] = allowed;
        emit EmergencyAccessSet(recordId, msg.sender, clinic, allowed);
    }

    /// @notice Logs an emergency access by the caller on behalf of `clinic`, through the
    /// emergency grant under it (`clauseHash` must be `EMERGENCY_CLAUSE_HASH`): the owner
    /// marked the clinic, that grant is active and unexpired, and the caller is the clinic
    /// itself or holds a key of its current epoch that it did not revoke.
    function logEmergencyAccess(bytes32 recordId, uint32 version, address clinic, bytes32 clauseHash) external {
        address owner = _checkVersion(recordId, version);
        if (!emergencyClinic[recordId][clinic] || (msg.sender != clinic && !holdsKey(clinic, msg.sender))) {
            revert NotEmergencyClinic(recordId, msg.sender);
        }
        if (clauseHash != EMERGENCY_CLAUSE_HASH) revert BadGrant();
        _checkGrant(recordId, clinic, clauseHash);
        emit EmergencyAccess(recordId, owner, msg.sender, version, clinic);
    }

    /// @notice Redeems `patient`'s check-in code, once, before `expiry`: the caller (a
    /// clinic's desk) asks to check the patient in. The code is the patient's signature
    /// `(v, r, s)` over `keccak256(abi.encode(CHECK_IN_TAG, chainid, this contract,
    /// patient, nonce, expiry))`; it grants nothing: the patient's wallet shows who asked
    /// and the patient answers (`answerCheckIn`). Whoever photographs a code can redeem
    /// it first, and is then named to the patient, who declines.
    function redeemCheckIn(address patient, bytes32 nonce, uint64 expiry, uint8 v, bytes32 r, bytes32 s)
        external
    {
        bytes32 id = checkInIdOf(patient, nonce);
        CheckIn storage found = checkIns[id];
        if (found.clinic != address(0)) revert CheckInUsed(id, found.clinic);
        if (expiry <= block.timestamp) revert CheckInExpired(id, expiry);
        if (expiry > block.timestamp + MAX_CHECK_IN_CODE_SECONDS) revert BadExpiry(expiry);
        bytes32 digest = keccak256(abi.encode(CHECK_IN_TAG, block.chainid, address(this), patient, nonce, expiry));
        address signer = ecrecover(digest, v, r, s);
        if (patient == address(0) || signer != patient) revert BadCheckInSignature(id);
        checkIns[id] = CheckIn({patient: patient, clinic: msg.sender, state: CHECK_IN_REDEEMED, until: 0});
        emit CheckInRedeemed(id, patient, msg.sender);
    }

    /// @notice The patient's answer to a redeemed check-in, for the clinic the patient was
    /// shown (`clinic`, refused if another redeemed it): allowed until `until` (the clinic
    /// may register records for the patient until then), or declined.
    function answerCheckIn(bytes32 checkInId, address clinic, bool allowed, uint64 until) external {
        CheckIn storage found = checkIns[checkInId];
        if (found.clinic == address(0)) revert UnknownCheckIn(checkInId);
        if (found.patient != msg.sender) revert NotOwner(checkInId, msg.sender);
        if (found.clinic != clinic) revert NotThisClinic(checkInId, clinic);
        if (found.state != CHECK_IN_REDEEMED) revert CheckInAlreadyAnswered(checkInId, found.state);
        if (allowed) {
            if (until <= block.timestamp) revert BadExpiry(until);
            found.state = CHECK_IN_ALLOWED;
            found.until = until;
        } else {
            found.state = CHECK_IN_DECLINED;
            until = 0;
        }
        emit CheckInAnswered(checkInId, msg.sender, found.clinic, allowed, until);
    }

    /// @notice Registers a new record with the id `recordIdOf(caller, nonce)`, owned by
    /// the patient of check-in `checkInId`, that the caller (the clinic the patient allowed,
    /// before the time it allowed ends) made for them.
    function registerRecordFor(
        bytes32 nonce,
        bytes32 checkInId,
        bytes calldata manifestCid,
        bytes calldata capsuleCid
    ) external {
        CheckIn storage found = checkIns[checkInId];
        if (found.clinic != msg.sender || found.state != CHECK_IN_ALLOWED) revert NotCheckedIn(checkInId, msg.sender);
        if (found.until <= block.timestamp) revert CheckInExpired(checkInId, found.until);
        bytes32 recordId = recordIdOf(msg.sender, nonce);
        if (records[recordId].owner != address(0)) revert RecordExists(recordId);
        _checkCid(manifestCid);
        _checkCid(capsuleCid);
        records[recordId] = Record({owner: found.patient, version: 1});
        emit RecordUploaded(recordId, found.patient, msg.sender, manifestCid, capsuleCid);
    }

    function _register(bytes32 nonce, bytes calldata manifestCid, bytes calldata capsuleCid) private {
        bytes32 recordId = recordIdOf(msg.sender, nonce);
        if (records[recordId].owner != address(0)) revert RecordExists(recordId);
        _checkCid(manifestCid);
        _checkCid(capsuleCid);
        records[recordId] = Record({owner: msg.sender, version: 1});
        emit RecordRegistered(recordId, msg.sender, 1, manifestCid, capsuleCid);
    }

    function _update(bytes32 recordId, bytes calldata manifestCid, bytes calldata capsuleCid) private {
        Record storage record = _owned(recordId);
        _checkCid(manifestCid);
        _checkCid(capsuleCid);
        uint32 version = record.version + 1;
        record.version = version;
        emit RecordUpdated(recordId, msg.sender, version, manifestCid, capsuleCid);
    }

    function _grant(bytes32 recordId, address grantee, bytes32 clauseHash, bytes calldata capsuleCid, uint64 expiry)
        private
    {
        _owned(recordId);
        if (grantee == address(0)) revert BadGrant();
        _checkCid(capsuleCid);
        if (expiry != 0 && expiry <= block.timestamp) revert BadExpiry(expiry);
        grants[_grantKey(recordId, grantee, clauseHash)] = Grant({active: true, expiry: expiry});
        emit AccessGranted(recordId, msg.sender, grantee, clauseHash, capsuleCid, expiry);
    }

    function _revoke(bytes32 recordId, address grantee, bytes32 clauseHash, bytes calldata newCapsuleCid) private {
        _owned(recordId);
        _checkCid(newCapsuleCid);
        Grant storage grant = grants[_grantKey(recordId, grantee, clauseHash)];
        if (!grant.active) revert NoSuchGrant(recordId, grantee, clauseHash);
        grant.active = false;
        emit AccessRevoked(recordId, msg.sender, grantee, clauseHash, newCapsuleCid);
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
