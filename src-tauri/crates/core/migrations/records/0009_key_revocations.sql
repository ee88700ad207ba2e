-- A clinic's staff revocations sent to the ledger (`revokeKey`), one per revocation: the
-- contract then refuses the revoked holder's access logs (issue 17). A revocation waits
-- here until its transaction is mined, like every other ledger step.
CREATE TABLE key_revocations (
    contract   TEXT    NOT NULL,
    holder     TEXT    NOT NULL,             -- EIP-55 address
    revoked_at INTEGER NOT NULL,             -- the staff row's revoked_at
    tx         TEXT    NOT NULL,
    PRIMARY KEY (contract, holder, revoked_at)
) STRICT;
