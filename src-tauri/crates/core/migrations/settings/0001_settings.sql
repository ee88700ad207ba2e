-- Node settings the user changed. A value equal to the default is not stored, so
-- defaults (which the run command sets for the local nodes) keep applying.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT;
