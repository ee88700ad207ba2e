-- The encryption (X25519 HPKE) key a pasted share code gave for an address: a key issued
-- to that address is sealed only when the ledger's published key is this one, so a
-- hostile ledger node cannot redirect it to a key of its own (issue 17).
CREATE TABLE expected_keys (
    holder   TEXT PRIMARY KEY NOT NULL,     -- EIP-55 address
    x25519   BLOB NOT NULL CHECK (length(x25519) = 32),
    noted_at TEXT NOT NULL                  -- RFC 3339
) STRICT;
