-- Replica nodes (issue 16): which objects each of the patient's replica nodes was asked
-- to pin and confirmed, and when a replica that failed is tried again. A replica is
-- named by its RPC URL as the settings hold it. Rows are facts the node confirmed; the
-- replication pass makes them match what should be pinned (each record's latest
-- version on IPFS) and removes the pins of versions a revocation replaced.
CREATE TABLE replica_pins (
    replica   TEXT NOT NULL,
    cid       TEXT NOT NULL,
    pinned_at TEXT NOT NULL,               -- RFC 3339
    PRIMARY KEY (replica, cid)
) STRICT;

CREATE TABLE replica_backoff (
    replica         TEXT PRIMARY KEY NOT NULL,
    failures        INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,      -- unix seconds
    problem         TEXT NOT NULL          -- the user's words for the last failure
) STRICT;
