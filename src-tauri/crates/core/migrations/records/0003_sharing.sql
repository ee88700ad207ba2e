-- Sharing: grants of this wallet's records to people and to roles at clinics, and the work
-- to send and take them back; what the wallet published on a ledger contract; the keys
-- its authority issued; the public parameters of the clinics it shares with.

-- One row per grant. A grant is queued ('sending') until its key, capsule and transaction
-- are out, 'active' on the ledger, 'revoking' while the record is re-encrypted without the
-- grantee and the revocation is sent, 'revoked' after (kept, with its exposure report).
-- A 'grant' names a person (clause NULL), a role at a clinic (grantee the clinic, clause
-- its clause), or one of the owner's groups (grantee the owner, clause the group's name).
-- A 'leave' is a member's removal from a group: the records shared with the group are
-- re-encrypted for the group's next epoch (grantee the member, clause the group's name).
CREATE TABLE grants (
    id              INTEGER PRIMARY KEY,
    kind            TEXT    NOT NULL DEFAULT 'grant' CHECK (kind IN ('grant', 'leave')),
    record_id       TEXT    NOT NULL,
    grantee         TEXT    NOT NULL,          -- EIP-55 address: the person, or the clinic
    clause          TEXT,                      -- a role at the clinic (its authority); NULL for a person
    expires_at      INTEGER,                   -- unix seconds; NULL = never
    state           TEXT    NOT NULL CHECK (state IN ('sending', 'active', 'revoking', 'revoked')),
    requested_at    TEXT    NOT NULL,          -- RFC 3339
    grant_tx        TEXT,
    revoke_version  INTEGER,                   -- the version made without the grantee
    revoke_tx       TEXT,
    exposure        TEXT,                      -- the exposure report (JSON), once revoked
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0, -- unix seconds (backoff)
    problem         TEXT                       -- why it waits
) STRICT;

-- At most one open grant per record and person (or clinic clause, or group).
CREATE UNIQUE INDEX grants_open ON grants (kind, record_id, grantee, COALESCE(clause, ''))
    WHERE state != 'revoked';

-- The owner's groups (attributes under its own authority, such as `careteam`): a member
-- holds `<name>#<epoch>`; removing a member moves the group to the next epoch.
CREATE TABLE groups (
    name  TEXT    PRIMARY KEY NOT NULL,
    epoch INTEGER NOT NULL DEFAULT 1 CHECK (epoch >= 1)
) STRICT;

CREATE TABLE group_members (
    group_name TEXT    NOT NULL REFERENCES groups (name),
    member     TEXT    NOT NULL,               -- EIP-55 address
    state      TEXT    NOT NULL CHECK (state IN ('active', 'removed')),
    joined_at  INTEGER NOT NULL,               -- unix seconds
    removed_at INTEGER,
    PRIMARY KEY (group_name, member)
) STRICT;

-- What this wallet published on a contract: its identity (keys and role), its authority.
CREATE TABLE published (
    contract TEXT NOT NULL,
    what     TEXT NOT NULL CHECK (what IN ('identity', 'authority')),
    tx       TEXT NOT NULL,
    PRIMARY KEY (contract, what)
) STRICT;

-- Keys this wallet's authority issued, by contract and holder (the latest replaces the
-- one before). The envelope's CID is kept before `issueKey` is sent, so a retry announces
-- the same key.
CREATE TABLE issued_keys (
    contract   TEXT NOT NULL,
    holder     TEXT NOT NULL,                  -- EIP-55 address
    attributes TEXT NOT NULL,                  -- the key's attributes, one per line
    key_cid    TEXT NOT NULL,
    tx         TEXT,                           -- NULL until KeyIssued is mined
    PRIMARY KEY (contract, holder)
) STRICT;

-- The public parameters of clinics this wallet shares with (read from the ledger and IPFS
-- once), so capsules can be wrapped for them while a node is down.
CREATE TABLE authorities (
    contract TEXT NOT NULL,
    address  TEXT NOT NULL,                    -- EIP-55 address of the clinic
    params   BLOB NOT NULL,                    -- medwallet-abe PublicParams::to_bytes()
    PRIMARY KEY (contract, address)
) STRICT;
