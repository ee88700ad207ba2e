-- The node each contract's events were read from. A node can lie about a log's content
-- while keeping every block hash, so what one node said is never mixed with what another
-- says: reading through another node drops the contract's cache and starts again.
CREATE TABLE sources (
    contract BLOB NOT NULL PRIMARY KEY,
    node     TEXT NOT NULL
);
