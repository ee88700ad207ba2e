-- The front desk: patients checked in at this clinic from their one-time codes, and the
-- records clinics made for this patient.

-- A check-in this clinic redeemed. The code's seed (the throwaway wallet the patient
-- granted records to) is sealed under the wallet's local records key, like a data key
-- (AES-256-GCM, associated data "check-in:<code address>"), because the desk opens the
-- records with it until the check-in expires.
CREATE TABLE check_ins (
    code_address  TEXT    PRIMARY KEY,        -- EIP-55
    patient       TEXT    NOT NULL,           -- EIP-55
    patient_name  TEXT    NOT NULL,
    sealed_seed   BLOB    NOT NULL,
    issued_at     INTEGER NOT NULL,           -- unix seconds (the patient's clock)
    expires_at    INTEGER NOT NULL,           -- unix seconds (ledger time)
    checked_in_at INTEGER NOT NULL,           -- unix seconds
    redeem_tx     TEXT    NOT NULL
) STRICT;

-- Records a clinic registered for this patient (`RecordUploaded`): who made them.
CREATE TABLE uploaded_for_me (
    record_id TEXT PRIMARY KEY,
    author    TEXT NOT NULL                   -- EIP-55: the clinic
) STRICT;
