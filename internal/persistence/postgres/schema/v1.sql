-- Sundial schema v1 for PostgreSQL (12 or newer).
-- Times are BIGINT Unix nanoseconds (UTC); 0 means "no time".
-- Every query of sqlstore is a primary-key lookup or a range scan on a
-- primary-key prefix. Identifiers are TEXT COLLATE "C": compared byte
-- for byte (case-sensitive, code-point order, no locale cost).

CREATE TABLE cluster_metadata (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    num_shards  INTEGER NOT NULL
);

CREATE TABLE namespaces (
    id    TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    name  TEXT COLLATE "C" NOT NULL UNIQUE,
    data  BYTEA NOT NULL
);

CREATE TABLE shards (
    shard_id  INTEGER PRIMARY KEY,
    range_id  BIGINT NOT NULL
);

CREATE TABLE executions (
    shard_id       INTEGER NOT NULL,
    namespace_id   TEXT COLLATE "C" NOT NULL,
    workflow_id    TEXT COLLATE "C" NOT NULL,
    run_id         TEXT COLLATE "C" NOT NULL,
    next_event_id  BIGINT NOT NULL,
    version        BIGINT NOT NULL,
    state          BYTEA NOT NULL,
    PRIMARY KEY (shard_id, namespace_id, workflow_id, run_id)
);

CREATE TABLE current_executions (
    shard_id           INTEGER NOT NULL,
    namespace_id       TEXT COLLATE "C" NOT NULL,
    workflow_id        TEXT COLLATE "C" NOT NULL,
    run_id             TEXT COLLATE "C" NOT NULL,
    create_request_id  TEXT COLLATE "C" NOT NULL,
    state              INTEGER NOT NULL,
    status             INTEGER NOT NULL,
    PRIMARY KEY (shard_id, namespace_id, workflow_id)
);

CREATE TABLE history_events (
    shard_id      INTEGER NOT NULL,
    namespace_id  TEXT COLLATE "C" NOT NULL,
    workflow_id   TEXT COLLATE "C" NOT NULL,
    run_id        TEXT COLLATE "C" NOT NULL,
    event_id      BIGINT NOT NULL,
    data          BYTEA NOT NULL,
    PRIMARY KEY (shard_id, namespace_id, workflow_id, run_id, event_id)
);

CREATE TABLE transfer_tasks (
    shard_id  INTEGER NOT NULL,
    task_id   BIGINT NOT NULL,
    data      BYTEA NOT NULL,
    PRIMARY KEY (shard_id, task_id)
);

CREATE TABLE timer_tasks (
    shard_id       INTEGER NOT NULL,
    visibility_ts  BIGINT NOT NULL,
    task_id        BIGINT NOT NULL,
    data           BYTEA NOT NULL,
    PRIMARY KEY (shard_id, visibility_ts, task_id)
);

CREATE TABLE task_queues (
    namespace_id  TEXT COLLATE "C" NOT NULL,
    name          TEXT COLLATE "C" NOT NULL,
    kind          INTEGER NOT NULL,
    partition_id  INTEGER NOT NULL,
    range_id      BIGINT NOT NULL,
    ack_level     BIGINT NOT NULL,
    PRIMARY KEY (namespace_id, name, kind, partition_id)
);

CREATE TABLE tasks (
    namespace_id  TEXT COLLATE "C" NOT NULL,
    name          TEXT COLLATE "C" NOT NULL,
    kind          INTEGER NOT NULL,
    partition_id  INTEGER NOT NULL,
    task_id       BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    data          BYTEA NOT NULL,
    PRIMARY KEY (namespace_id, name, kind, partition_id, task_id)
);
