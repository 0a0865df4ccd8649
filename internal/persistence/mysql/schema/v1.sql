-- Sundial schema v1 for MySQL 8 and MariaDB 10.6 or newer (InnoDB).
-- Times are BIGINT Unix nanoseconds (UTC); 0 means "no time".
-- Identifiers are VARBINARY so they compare byte for byte (workflow IDs
-- are case-sensitive) and fit InnoDB's 3072-byte key limit: a workflow ID
-- may take up to 2048 bytes of UTF-8 here.
-- MySQL commits each DDL statement on its own, so every statement is
-- re-runnable (IF NOT EXISTS): a migration cut short is finished by the
-- next start.

CREATE TABLE IF NOT EXISTS cluster_metadata (
    id          INTEGER NOT NULL PRIMARY KEY,
    num_shards  INTEGER NOT NULL
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS namespaces (
    id    VARBINARY(255) NOT NULL PRIMARY KEY,
    name  VARBINARY(255) NOT NULL,
    data  LONGBLOB NOT NULL,
    UNIQUE KEY namespaces_name (name)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS shards (
    shard_id  INTEGER NOT NULL PRIMARY KEY,
    range_id  BIGINT NOT NULL
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS executions (
    shard_id       INTEGER NOT NULL,
    namespace_id   VARBINARY(255) NOT NULL,
    workflow_id    VARBINARY(2048) NOT NULL,
    run_id         VARBINARY(255) NOT NULL,
    next_event_id  BIGINT NOT NULL,
    version        BIGINT NOT NULL,
    state          LONGBLOB NOT NULL,
    PRIMARY KEY (shard_id, namespace_id, workflow_id, run_id)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS current_executions (
    shard_id           INTEGER NOT NULL,
    namespace_id       VARBINARY(255) NOT NULL,
    workflow_id        VARBINARY(2048) NOT NULL,
    run_id             VARBINARY(255) NOT NULL,
    create_request_id  VARBINARY(255) NOT NULL,
    state              INTEGER NOT NULL,
    status             INTEGER NOT NULL,
    PRIMARY KEY (shard_id, namespace_id, workflow_id)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS history_events (
    shard_id      INTEGER NOT NULL,
    namespace_id  VARBINARY(255) NOT NULL,
    workflow_id   VARBINARY(2048) NOT NULL,
    run_id        VARBINARY(255) NOT NULL,
    event_id      BIGINT NOT NULL,
    data          LONGBLOB NOT NULL,
    PRIMARY KEY (shard_id, namespace_id, workflow_id, run_id, event_id)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS transfer_tasks (
    shard_id  INTEGER NOT NULL,
    task_id   BIGINT NOT NULL,
    data      LONGBLOB NOT NULL,
    PRIMARY KEY (shard_id, task_id)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS timer_tasks (
    shard_id       INTEGER NOT NULL,
    visibility_ts  BIGINT NOT NULL,
    task_id        BIGINT NOT NULL,
    data           LONGBLOB NOT NULL,
    PRIMARY KEY (shard_id, visibility_ts, task_id)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS task_queues (
    namespace_id  VARBINARY(255) NOT NULL,
    name          VARBINARY(1024) NOT NULL,
    kind          INTEGER NOT NULL,
    partition_id  INTEGER NOT NULL,
    range_id      BIGINT NOT NULL,
    ack_level     BIGINT NOT NULL,
    PRIMARY KEY (namespace_id, name, kind, partition_id)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS tasks (
    namespace_id  VARBINARY(255) NOT NULL,
    name          VARBINARY(1024) NOT NULL,
    kind          INTEGER NOT NULL,
    partition_id  INTEGER NOT NULL,
    task_id       BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    data          LONGBLOB NOT NULL,
    PRIMARY KEY (namespace_id, name, kind, partition_id, task_id)
) ENGINE=InnoDB;
