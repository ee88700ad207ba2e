-- Emergency openings of this wallet's records (issue 17): each `EmergencyAccess` event
-- naming this wallet as the owner, recorded once (by its transaction and log index) by the
-- patient's background pass, and shown in a red banner until the patient marks it seen.
CREATE TABLE emergency_alerts (
    id              INTEGER PRIMARY KEY,
    contract        TEXT    NOT NULL,        -- EIP-55 address of the ledger contract
    record_id       TEXT    NOT NULL,        -- 0x + 64 lower-case hex
    accessor        TEXT    NOT NULL,        -- EIP-55: the staff member who opened it
    clinic          TEXT    NOT NULL,        -- EIP-55: on whose behalf
    version         INTEGER NOT NULL,
    block_number    INTEGER NOT NULL,
    tx_hash         TEXT    NOT NULL,        -- 0x + 64 lower-case hex
    log_index       INTEGER NOT NULL,
    opened_at       INTEGER NOT NULL,        -- the block's time (unix seconds)
    found_at        INTEGER NOT NULL,        -- when this device read it (unix seconds)
    -- 1: an OS notification was raised for it; 0: it is older than this device's watch
    -- (a restored wallet, or this version's first run): shown in the banner only.
    notified        INTEGER NOT NULL,
    acknowledged_at INTEGER,                 -- NULL until the patient clicks "Seen"
    UNIQUE (tx_hash, log_index)
) STRICT;

CREATE INDEX emergency_alerts_unacknowledged ON emergency_alerts (acknowledged_at);

-- Since when this device watches the wallet's emergency openings: when its records
-- database was made (a new wallet, a restore) or brought to this version. Openings before
-- it are shown, not notified.
CREATE TABLE emergency_watch (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    since INTEGER NOT NULL
) STRICT;

INSERT INTO emergency_watch (id, since) VALUES (1, CAST(strftime('%s', 'now') AS INTEGER));
