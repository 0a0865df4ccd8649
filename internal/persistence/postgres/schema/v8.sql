-- Sundial schema v8 for PostgreSQL: cluster membership; the same layout as
-- SQLite's v8 (see there).

CREATE TABLE cluster_membership (
    role            TEXT COLLATE "C" NOT NULL,
    identity        TEXT COLLATE "C" NOT NULL,
    rpc_address     TEXT NOT NULL,
    host            TEXT NOT NULL,
    started_at      BIGINT NOT NULL,
    last_heartbeat  BIGINT NOT NULL,
    session_expiry  BIGINT NOT NULL,
    PRIMARY KEY (role, identity)
);

CREATE INDEX cluster_membership_expiry ON cluster_membership (session_expiry);
