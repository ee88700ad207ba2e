-- The doctor's side: whether this wallet's key opened a shared record's current capsule,
-- for the ledger facts it was decided on (`facts`: a digest of the latest version, every
-- capsule the owner named and the key issued). The list of shared records reads it
-- instead of fetching and opening 200 capsules each time; a new version, grant or key
-- changes the digest, and the capsule is opened again. No key is kept here.
CREATE TABLE located_shares (
    record_id TEXT    NOT NULL,
    route     TEXT    NOT NULL,
    facts     TEXT    NOT NULL,
    opens     INTEGER NOT NULL,
    PRIMARY KEY (record_id, route)
);
