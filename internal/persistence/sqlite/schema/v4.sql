-- Sundial schema v4 for SQLite: the audit log and role bindings.
-- audit_log is append-only: the server inserts and, for the retention
-- policy only, deletes old rows; no API updates a row. Times are INTEGER
-- Unix nanoseconds.

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    ts          INTEGER NOT NULL,
    subject     TEXT NOT NULL,
    source      TEXT NOT NULL,
    api         TEXT NOT NULL,
    namespace   TEXT NOT NULL,
    workflow_id TEXT NOT NULL,
    run_id      TEXT NOT NULL,
    target      TEXT NOT NULL,
    request_id  TEXT NOT NULL,
    code        TEXT NOT NULL
) STRICT;

CREATE INDEX audit_log_ts ON audit_log (ts);

CREATE TABLE role_bindings (
    principal   TEXT NOT NULL,
    namespace   TEXT NOT NULL,
    role        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (principal, namespace, role)
) STRICT;
