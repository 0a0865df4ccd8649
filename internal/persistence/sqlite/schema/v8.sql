-- Sundial schema v8 for SQLite: cluster membership. Every process
-- heartbeats one row per role it runs; a row whose session_expiry (Unix
-- nanoseconds, the member's clock) has passed is a dead member. identity
-- is unique per process start.

CREATE TABLE cluster_membership (
    role            TEXT NOT NULL,
    identity        TEXT NOT NULL,
    rpc_address     TEXT NOT NULL,
    host            TEXT NOT NULL,
    started_at      INTEGER NOT NULL,
    last_heartbeat  INTEGER NOT NULL,
    session_expiry  INTEGER NOT NULL,
    PRIMARY KEY (role, identity)
) STRICT;

CREATE INDEX cluster_membership_expiry ON cluster_membership (session_expiry);
