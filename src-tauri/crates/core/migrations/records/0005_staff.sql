-- A clinic's staff, and the epoch of its authority; a patient's re-encryption of the
-- records it shared with a clinic's roles when that clinic revoked a staff key.

-- Staff keys this clinic issued (the latest per holder). Revoking one moves the
-- clinic's authority to its next epoch: new parameters, new keys for everyone else.
CREATE TABLE staff (
    holder     TEXT    PRIMARY KEY NOT NULL,   -- EIP-55 address
    attributes TEXT    NOT NULL,               -- one per line
    state      TEXT    NOT NULL CHECK (state IN ('active', 'revoked')),
    issued_at  INTEGER NOT NULL,               -- unix seconds
    revoked_at INTEGER
) STRICT;

-- The epoch of this wallet's authority (its master key is derived for it); one row.
CREATE TABLE authority_epoch (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    epoch INTEGER NOT NULL CHECK (epoch >= 1)
) STRICT;

-- Grants gain a third kind, 'rotate': a clinic moved to a new epoch (it revoked a staff
-- key), so a record shared with a role there is re-encrypted under the clinic's new
-- parameters, run like a 'leave' (grantee the clinic, clause the role). SQLite cannot
-- change a CHECK constraint in place: the table is rebuilt, rows and index kept.
CREATE TABLE grants_new (
    id              INTEGER PRIMARY KEY,
    kind            TEXT    NOT NULL DEFAULT 'grant' CHECK (kind IN ('grant', 'leave', 'rotate')),
    record_id       TEXT    NOT NULL,
    grantee         TEXT    NOT NULL,
    clause          TEXT,
    expires_at      INTEGER,
    state           TEXT    NOT NULL CHECK (state IN ('sending', 'active', 'revoking', 'revoked')),
    requested_at    TEXT    NOT NULL,
    grant_tx        TEXT,
    revoke_version  INTEGER,
    revoke_tx       TEXT,
    exposure        TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    problem         TEXT
) STRICT;
INSERT INTO grants_new SELECT id, kind, record_id, grantee, clause, expires_at, state,
    requested_at, grant_tx, revoke_version, revoke_tx, exposure, attempts, next_attempt_at,
    problem FROM grants;
DROP TABLE grants;
ALTER TABLE grants_new RENAME TO grants;
CREATE UNIQUE INDEX grants_open ON grants (kind, record_id, grantee, COALESCE(clause, ''))
    WHERE state != 'revoked';
