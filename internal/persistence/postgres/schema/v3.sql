-- Sundial schema v3 for PostgreSQL: the outbox dead-letter queue; the same
-- layout as SQLite's v3 (see there).

CREATE TABLE outbox_dlq (
    shard_id       INTEGER NOT NULL,
    category       INTEGER NOT NULL,
    task_id        BIGINT NOT NULL,
    visibility_ts  BIGINT NOT NULL,
    data           BYTEA NOT NULL,
    attempts       INTEGER NOT NULL,
    last_error     TEXT NOT NULL,
    moved_at       BIGINT NOT NULL,
    PRIMARY KEY (shard_id, category, task_id)
);
