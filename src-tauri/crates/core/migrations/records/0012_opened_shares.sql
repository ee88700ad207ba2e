-- A record shared with this wallet that it opened (the opening logged on the ledger
-- first): its manifest as fetched, and its data key sealed under the local records key
-- (associated data "opened-share:<record id>", the version). The list of shared records
-- names a record from here only; nothing is decrypted for a list before an opening.
CREATE TABLE opened_shares (
    record_id  TEXT    PRIMARY KEY NOT NULL,
    version    INTEGER NOT NULL,
    sealed_dek BLOB    NOT NULL,
    manifest   BLOB    NOT NULL
) STRICT;
