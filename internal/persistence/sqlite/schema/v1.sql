-- Sundial schema v1 for SQLite.
-- Times are INTEGER Unix nanoseconds (UTC); 0 means "no time".
-- Every query of sqlstore is a primary-key lookup or a range scan on a
-- primary-key prefix.

CREATE TABLE cluster_metadata (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    num_shards  INTEGER NOT NULL
) STRICT;

CREATE TABLE namespaces (
    id    TEXT NOT NULL PRIMARY KEY,
    name  TEXT NOT NULL UNIQUE,
    data  BLOB NOT NULL
) STRICT;

CREATE TABLE shards (
    shard_id  INTEGER PRIMARY KEY,
    range_id  INTEGER NOT NULL
) STRICT;

CREATE TABLE executions (
    shard_id       INTEGER NOT NULL,
    namespace_id   TEXT NOT NULL,
    workflow_id    TEXT NOT NULL,
    run_id         TEXT NOT NULL,
    next_event_id  INTEGER NOT NULL,
    version        INTEGER NOT NULL,
    state          BLOB NOT NULL,
    PRIMARY KEY (shard_id, namespace_id, workflow_id, run_id)
) STRICT;

CREATE TABLE current_executions (
    shard_id           INTEGER NOT NULL,
    namespace_id       TEXT NOT NULL,
    workflow_id        TEXT NOT NULL,
    run_id             TEXT NOT NULL,
    create_request_id  TEXT NOT NULL,
    state              INTEGER NOT NULL,
    status             INTEGER NOT NULL,
    PRIMARY KEY (shard_id, namespace_id, workflow_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE history_events (
    shard_id      INTEGER NOT NULL,
    namespace_id  TEXT NOT NULL,
    workflow_id   TEXT NOT NULL,
    run_id        TEXT NOT NULL,
    event_id      INTEGER NOT NULL,
    data          BLOB NOT NULL,
    PRIMARY KEY (shard_id, namespace_id, workflow_id, run_id, event_id)
) STRICT;

CREATE TABLE transfer_tasks (
    shard_id  INTEGER NOT NULL,
    task_id   INTEGER NOT NULL,
    data      BLOB NOT NULL,
    PRIMARY KEY (shard_id, task_id)
) STRICT;

CREATE TABLE timer_tasks (
    shard_id       INTEGER NOT NULL,
    visibility_ts  INTEGER NOT NULL,
    task_id        INTEGER NOT NULL,
    data           BLOB NOT NULL,
    PRIMARY KEY (shard_id, visibility_ts, task_id)
) STRICT;

CREATE TABLE task_queues (
    namespace_id  TEXT NOT NULL,
    name          TEXT NOT NULL,
    kind          INTEGER NOT NULL,
    partition_id  INTEGER NOT NULL,
    range_id      INTEGER NOT NULL,
    ack_level     INTEGER NOT NULL,
    PRIMARY KEY (namespace_id, name, kind, partition_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE tasks (
    namespace_id  TEXT NOT NULL,
    name          TEXT NOT NULL,
    kind          INTEGER NOT NULL,
    partition_id  INTEGER NOT NULL,
    task_id       INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    data          BLOB NOT NULL,
    PRIMARY KEY (namespace_id, name, kind, partition_id, task_id)
) STRICT;
