-- Sundial schema v4 for PostgreSQL: the audit log and role bindings.
-- audit_log is append-only: the server inserts and, for the retention
-- policy only, deletes old rows. Times are BIGINT Unix nanoseconds.

CREATE TABLE audit_log (
    id          BIGSERIAL PRIMARY KEY,
    ts          BIGINT NOT NULL,
    subject     TEXT NOT NULL,
    source      TEXT NOT NULL,
    api         TEXT NOT NULL,
    namespace   TEXT NOT NULL,
    workflow_id TEXT NOT NULL,
    run_id      TEXT NOT NULL,
    target      TEXT NOT NULL,
    request_id  TEXT NOT NULL,
    code        TEXT NOT NULL
);

CREATE INDEX audit_log_ts ON audit_log (ts);

CREATE TABLE role_bindings (
    principal   VARCHAR(1000) NOT NULL,
    namespace   VARCHAR(255) NOT NULL,
    role        VARCHAR(16) NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (principal, namespace, role)
);
