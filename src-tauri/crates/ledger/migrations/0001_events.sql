-- The ledger's events as read from the node, per contract, with the blocks they
-- were read from (to detect reorganisations) and a sync cursor per filter.
CREATE TABLE events (
    contract     BLOB    NOT NULL,
    block_number INTEGER NOT NULL,
    block_hash   BLOB    NOT NULL,
    parent_hash  BLOB    NOT NULL,
    tx_hash      BLOB    NOT NULL,
    log_index    INTEGER NOT NULL,
    sender       BLOB    NOT NULL,
    block_time   INTEGER NOT NULL,
    kind         TEXT    NOT NULL,
    record_id    BLOB,
    actor        BLOB    NOT NULL,
    owner        BLOB,
    subject      BLOB,
    topics       BLOB    NOT NULL,
    data         BLOB    NOT NULL,
    PRIMARY KEY (contract, block_hash, log_index)
);
CREATE INDEX events_by_record ON events (contract, record_id, block_number, log_index);
CREATE INDEX events_by_actor ON events (contract, actor);
CREATE INDEX events_by_owner ON events (contract, owner);
CREATE INDEX events_by_subject ON events (contract, subject);
CREATE INDEX events_by_block ON events (contract, block_number);

-- Every synced block that had events, and each sync's last block.
CREATE TABLE blocks (
    contract    BLOB    NOT NULL,
    number      INTEGER NOT NULL,
    hash        BLOB    NOT NULL,
    parent_hash BLOB    NOT NULL,
    PRIMARY KEY (contract, number)
);

CREATE TABLE cursors (
    contract   BLOB    NOT NULL,
    filter     TEXT    NOT NULL,
    last_block INTEGER NOT NULL,
    last_hash  BLOB    NOT NULL,
    PRIMARY KEY (contract, filter)
);
