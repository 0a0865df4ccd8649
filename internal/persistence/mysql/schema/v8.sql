-- Sundial schema v8 for MySQL 8 and MariaDB 10.6 or newer: cluster
-- membership; the same layout as SQLite's v8 (see there).

CREATE TABLE IF NOT EXISTS cluster_membership (
    role            VARBINARY(64) NOT NULL,
    identity        VARBINARY(255) NOT NULL,
    rpc_address     VARBINARY(255) NOT NULL,
    host            VARBINARY(255) NOT NULL,
    started_at      BIGINT NOT NULL,
    last_heartbeat  BIGINT NOT NULL,
    session_expiry  BIGINT NOT NULL,
    PRIMARY KEY (role, identity),
    INDEX cluster_membership_expiry (session_expiry)
) ENGINE=InnoDB;
