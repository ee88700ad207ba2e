-- The Records page reads one page at a time (issue 18). Titles, categories and dates are
-- in the sealed manifests, so nothing here indexes them: the unlocked wallet decrypts
-- each manifest once into an index kept in memory, and this counter tells it when the
-- set of record versions changed (a version added or removed), so it decrypts only what
-- is new instead of every manifest on every keystroke. What is in plain columns (where a
-- version is, its ledger registration, the replicas' pins) is counted here, by index.
CREATE TABLE records_generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL
) STRICT;
INSERT INTO records_generation (id, n) VALUES (1, 0);

CREATE TRIGGER records_generation_insert AFTER INSERT ON records
BEGIN
    UPDATE records_generation SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER records_generation_delete AFTER DELETE ON records
BEGIN
    UPDATE records_generation SET n = n + 1 WHERE id = 1;
END;
-- A version's manifest is never rewritten; if one ever were, the index would follow.
CREATE TRIGGER records_generation_update AFTER UPDATE OF record_id, version, sealed_dek, manifest
    ON records
BEGIN
    UPDATE records_generation SET n = n + 1 WHERE id = 1;
END;

-- Records kept on this device, newest first (the page's "on this device only" count and
-- reason), and which replicas hold an object (the page's "one node only" count).
CREATE INDEX records_by_state ON records (state, added_at, record_id, version);
CREATE INDEX replica_pins_by_cid ON replica_pins (cid, replica);
