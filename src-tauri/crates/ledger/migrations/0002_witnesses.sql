-- What other ledger nodes (witnesses) said about cached blocks: one row per contract,
-- block and witness, the latest verdict on the hash the cache read (our_hash).
-- verdict: 'agree', 'disagree' (their_hash), 'not_yet' (their_head), 'down' (error kind).
CREATE TABLE witness_checks (
    contract     BLOB    NOT NULL,
    block_number INTEGER NOT NULL,
    witness      TEXT    NOT NULL,
    our_hash     BLOB    NOT NULL,
    verdict      TEXT    NOT NULL,
    their_hash   BLOB,
    their_head   INTEGER,
    error        TEXT,
    checked_at   INTEGER NOT NULL,
    PRIMARY KEY (contract, block_number, witness)
);
