-- Sundial schema v4 for MySQL: the audit log and role bindings.
-- audit_log is append-only: the server inserts and, for the retention
-- policy only, deletes old rows. Times are BIGINT Unix nanoseconds.
-- Re-runnable (MySQL commits each DDL statement on its own).

CREATE TABLE IF NOT EXISTS audit_log (
    id          BIGINT NOT NULL AUTO_INCREMENT,
    ts          BIGINT NOT NULL,
    subject     TEXT NOT NULL,
    source      VARCHAR(255) NOT NULL,
    api         VARCHAR(255) NOT NULL,
    namespace   VARCHAR(255) NOT NULL,
    workflow_id TEXT NOT NULL,
    run_id      VARCHAR(64) NOT NULL,
    target      TEXT NOT NULL,
    request_id  VARCHAR(255) NOT NULL,
    code        VARCHAR(32) NOT NULL,
    PRIMARY KEY (id),
    INDEX audit_log_ts (ts)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS role_bindings (
    principal   VARCHAR(480) NOT NULL,
    namespace   VARCHAR(255) NOT NULL,
    role        VARCHAR(16) NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (principal, namespace, role)
) ENGINE=InnoDB;
