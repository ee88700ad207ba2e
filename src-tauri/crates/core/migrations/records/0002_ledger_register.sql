-- Record versions are registered on the ledger once they are on IPFS: a second outbox
-- step, and where the registration landed. SQLite cannot alter a CHECK constraint, so the
-- outbox is recreated with its rows.

CREATE TABLE outbox_new (
    record_id       TEXT    NOT NULL,
    version         INTEGER NOT NULL,
    step            TEXT    NOT NULL CHECK (step IN ('upload', 'register')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0, -- unix seconds (backoff)
    PRIMARY KEY (record_id, version, step),
    FOREIGN KEY (record_id, version) REFERENCES records (record_id, version) ON DELETE CASCADE
) STRICT;

INSERT INTO outbox_new (record_id, version, step, attempts, next_attempt_at)
    SELECT record_id, version, step, attempts, next_attempt_at FROM outbox;

DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;

ALTER TABLE records ADD COLUMN ledger_tx TEXT;        -- 0x + 64 hex, once registered
ALTER TABLE records ADD COLUMN ledger_block INTEGER;  -- its block number
ALTER TABLE records ADD COLUMN ledger_problem TEXT;   -- why the registration still waits

-- Versions already on IPFS before this migration are registered by the outbox too.
INSERT OR IGNORE INTO outbox (record_id, version, step)
    SELECT record_id, version, 'register' FROM records WHERE state = 'on_ipfs';
