-- medwallet vault, schema 1.
-- Secrets are stored only as AES-256-GCM ciphertext (see src/seal.rs); the associated data of
-- each binds the wallet id, the column's purpose and the public identity columns below.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT;

INSERT INTO meta (key, value) VALUES ('app', 'medwallet-vault'), ('schema', '1');

CREATE TABLE wallets (
    id                 TEXT PRIMARY KEY NOT NULL,   -- 128 random bits, hex
    role               TEXT NOT NULL CHECK (role IN ('patient', 'doctor', 'clinic')),
    display_name       TEXT NOT NULL,
    address            TEXT NOT NULL UNIQUE,        -- EIP-55 ledger address
    ed25519_public     TEXT NOT NULL,               -- hex
    x25519_public      TEXT NOT NULL,               -- hex
    created_at         INTEGER NOT NULL,            -- unix seconds
    kdf_version        INTEGER NOT NULL,            -- 1 = Argon2id v0x13
    kdf_m_cost_kib     INTEGER NOT NULL,
    kdf_t_cost         INTEGER NOT NULL,
    kdf_p_cost         INTEGER NOT NULL,
    kdf_salt           BLOB NOT NULL,
    wrapped_vault_key  BLOB NOT NULL,               -- vault key sealed under Argon2id(passphrase)
    sealed_seed        BLOB NOT NULL,               -- seed sealed under the vault key
    quick_unlock       INTEGER NOT NULL DEFAULT 0,  -- 1 = vault key also in the OS keyring
    failed_attempts    INTEGER NOT NULL DEFAULT 0,  -- wrong passphrases since the last success
    last_failure_at_ms INTEGER                      -- unix milliseconds of the last attempt counted
) STRICT;

CREATE TABLE secrets (
    wallet_id  TEXT NOT NULL REFERENCES wallets (id) ON DELETE CASCADE,
    purpose    TEXT NOT NULL,
    ciphertext BLOB NOT NULL,                       -- sealed under the vault key
    updated_at INTEGER NOT NULL,                    -- unix seconds
    PRIMARY KEY (wallet_id, purpose)
) STRICT;

PRAGMA user_version = 1;
