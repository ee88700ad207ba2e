-- Ledger schema 5: record ids bound to their author, and check-ins that grant nothing
-- until the patient answers.

-- The nonce each record this wallet authors is registered with: its id is
-- keccak256(abi.encode(author, nonce)), which the contract recomputes.
CREATE TABLE record_nonces (
    record_id TEXT PRIMARY KEY NOT NULL,      -- 0x + 64 hex
    nonce     TEXT NOT NULL                   -- 0x + 64 hex
) STRICT;

-- The patient's side: each check-in code this wallet made, what it would share and until
-- when, and what became of it. A code is only a request to be asked: nothing is granted
-- before the patient allows the clinic that redeemed it.
CREATE TABLE check_in_offers (
    check_in_id     TEXT    PRIMARY KEY NOT NULL, -- keccak256(abi.encode(patient, nonce))
    record_ids      TEXT    NOT NULL,            -- JSON array of record ids
    code_expires_at INTEGER NOT NULL,            -- unix seconds (ledger time): redeem before
    until           INTEGER NOT NULL,            -- unix seconds: how long an allow lasts
    made_at         INTEGER NOT NULL,
    clinic          TEXT,                        -- EIP-55: who redeemed it
    state           TEXT    NOT NULL DEFAULT 'offered'
                    CHECK (state IN ('offered', 'asked', 'allowed', 'declined')),
    answer_tx       TEXT
) STRICT;

-- The desk's side, replacing the seed-carrying check-ins of schema 4 (whose codes held a
-- key, and which a schema-5 ledger does not know).
DROP TABLE check_ins;
CREATE TABLE desk_check_ins (
    check_in_id   TEXT    PRIMARY KEY NOT NULL,
    patient       TEXT    NOT NULL,           -- EIP-55
    patient_name  TEXT    NOT NULL,
    issued_at     INTEGER NOT NULL,           -- unix seconds (the patient's clock)
    code_expires_at INTEGER NOT NULL,         -- unix seconds (ledger time)
    checked_in_at INTEGER NOT NULL,           -- unix seconds
    redeem_tx     TEXT    NOT NULL
) STRICT;
