-- A wallet's records on this device. Nothing here is readable without the wallet's
-- local records key: data keys are sealed under it, manifests under the data keys.

-- One row per record version that exists: complete, never half-written (it is inserted
-- in one transaction once its three objects are on disk).
CREATE TABLE records (
    record_id    TEXT    NOT NULL,              -- 0x + 64 hex, random, pseudonymous
    version      INTEGER NOT NULL CHECK (version >= 1),
    sealed_dek   BLOB    NOT NULL,              -- the data key, sealed under the local records key
    manifest     BLOB    NOT NULL,              -- the manifest object, sealed under the data key
    content_cid  TEXT    NOT NULL,
    manifest_cid TEXT    NOT NULL,
    capsule_cid  TEXT    NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN ('local', 'on_ipfs')),
    problem      TEXT,                          -- why it is still only on this device
    added_at     TEXT    NOT NULL,              -- RFC 3339
    PRIMARY KEY (record_id, version)
) STRICT;

-- Work that must finish. Written before it runs, deleted in the transaction that
-- records its result; every step is idempotent, so running it twice is harmless.
CREATE TABLE outbox (
    record_id       TEXT    NOT NULL,
    version         INTEGER NOT NULL,
    step            TEXT    NOT NULL CHECK (step IN ('upload')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0, -- unix seconds (backoff)
    PRIMARY KEY (record_id, version, step),
    FOREIGN KEY (record_id, version) REFERENCES records (record_id, version) ON DELETE CASCADE
) STRICT;

-- Adds whose encryption started and did not finish (the app was killed, the disk filled):
-- their partial files are removed at start-up, so a record is either complete or absent.
CREATE TABLE adds_in_progress (
    record_id  TEXT PRIMARY KEY NOT NULL,
    started_at TEXT NOT NULL
) STRICT;
