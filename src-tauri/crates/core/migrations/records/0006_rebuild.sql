-- Rebuilding a wallet from the ledger and IPFS (a restore from the 24 words, or on demand).

-- Where the rebuild is; one row, absent for a wallet that never asked for one. 'needed'
-- until it finishes (also while the ledger node does not answer, and after an
-- interruption: it resumes), 'cancelled' by the user, 'done'. While it is not 'done' for
-- the contract in the settings, the wallet writes nothing to that contract (a clinic
-- restored before its epoch is read would publish its first epoch's parameters again).
CREATE TABLE rebuild (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    state          TEXT    NOT NULL CHECK (state IN ('needed', 'cancelled', 'done')),
    chain_id       INTEGER,                    -- the chain it read
    contract       TEXT,                       -- the contract it read (EIP-55)
    block          INTEGER NOT NULL DEFAULT 0, -- the last block read
    head           INTEGER NOT NULL DEFAULT 0, -- the head when it ran
    records_found  INTEGER NOT NULL DEFAULT 0,
    records_opened INTEGER NOT NULL DEFAULT 0,
    not_found      INTEGER NOT NULL DEFAULT 0,
    grants_found   INTEGER NOT NULL DEFAULT 0,
    problem        TEXT,                       -- why it waits or stopped
    finished_at    TEXT                        -- RFC 3339
) STRICT;

-- Record versions registered on the ledger that this device could not bring back: their
-- objects are not on the IPFS node, or do not open with the wallet's key. Listed, never
-- dropped; a later rebuild that opens them moves them to `records`.
CREATE TABLE unrecovered (
    record_id     TEXT    NOT NULL,
    version       INTEGER NOT NULL,
    manifest_cid  TEXT    NOT NULL,
    capsule_cid   TEXT    NOT NULL,
    registered_at TEXT    NOT NULL,            -- RFC 3339 (the block's time)
    ledger_tx     TEXT    NOT NULL,
    ledger_block  INTEGER NOT NULL,
    uploaded_by   TEXT,                        -- EIP-55: the clinic that registered it
    reason        TEXT    NOT NULL,            -- in words
    PRIMARY KEY (record_id, version)
) STRICT;
