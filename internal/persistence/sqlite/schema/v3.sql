-- Sundial schema v3 for SQLite: the outbox dead-letter queue. An outbox
-- task that still fails after its retry budget is moved here (in the same
-- transaction as the delete of its outbox row) under its outbox key, so
-- `sundial admin dlq retry` can put it back unchanged. Times are INTEGER
-- Unix nanoseconds (visibility_ts 0 for transfer tasks).

CREATE TABLE outbox_dlq (
    shard_id       INTEGER NOT NULL,
    category       INTEGER NOT NULL,
    task_id        INTEGER NOT NULL,
    visibility_ts  INTEGER NOT NULL,
    data           BLOB NOT NULL,
    attempts       INTEGER NOT NULL,
    last_error     TEXT NOT NULL,
    moved_at       INTEGER NOT NULL,
    PRIMARY KEY (shard_id, category, task_id)
) STRICT;
