-- Sundial schema v2 for MySQL 8 and MariaDB 10.6 or newer: visibility
-- (listings of runs) and custom search attributes; the same layout as
-- SQLite's v2 (see there). Strings are VARBINARY so they compare by byte,
-- which for UTF-8 is code point order, as on SQLite and PostgreSQL.
-- Indexes are declared inside CREATE TABLE IF NOT EXISTS so the migration
-- can be re-run. Keys fit InnoDB's 3072-byte limit; a search attribute
-- value is at most 2048 bytes (limit.searchAttributesSizeOfValue).

CREATE TABLE IF NOT EXISTS visibility_executions (
    namespace_id            VARBINARY(255) NOT NULL,
    run_id                  VARBINARY(255) NOT NULL,
    workflow_id             VARBINARY(2048) NOT NULL,
    workflow_type           VARBINARY(2048) NOT NULL,
    task_queue              VARBINARY(2048) NOT NULL,
    status                  INTEGER NOT NULL,
    start_time              BIGINT NOT NULL,
    execution_time          BIGINT NOT NULL,
    close_time              BIGINT NOT NULL,
    execution_duration      BIGINT NOT NULL,
    history_length          BIGINT NOT NULL,
    history_size_bytes      BIGINT NOT NULL,
    state_transition_count  BIGINT NOT NULL,
    parent_workflow_id      VARBINARY(2048) NOT NULL,
    parent_run_id           VARBINARY(255) NOT NULL,
    root_workflow_id        VARBINARY(2048) NOT NULL,
    root_run_id             VARBINARY(255) NOT NULL,
    memo                    LONGBLOB,
    search_attributes       LONGBLOB,
    version                 BIGINT NOT NULL,
    PRIMARY KEY (namespace_id, run_id),
    KEY visibility_by_close (namespace_id, close_time, start_time, run_id),
    KEY visibility_by_start (namespace_id, start_time, run_id),
    KEY visibility_by_status (namespace_id, status, start_time, run_id),
    KEY visibility_by_type (namespace_id, workflow_type, status, start_time, run_id),
    KEY visibility_by_workflow_id (namespace_id, workflow_id, start_time, run_id)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS visibility_sa_string (
    namespace_id  VARBINARY(255) NOT NULL,
    name          VARBINARY(255) NOT NULL,
    value         VARBINARY(2048) NOT NULL,
    run_id        VARBINARY(255) NOT NULL,
    PRIMARY KEY (namespace_id, name, value, run_id),
    KEY visibility_sa_string_run (namespace_id, run_id)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS visibility_sa_int (
    namespace_id  VARBINARY(255) NOT NULL,
    name          VARBINARY(255) NOT NULL,
    value         BIGINT NOT NULL,
    run_id        VARBINARY(255) NOT NULL,
    PRIMARY KEY (namespace_id, name, value, run_id),
    KEY visibility_sa_int_run (namespace_id, run_id)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS visibility_sa_double (
    namespace_id  VARBINARY(255) NOT NULL,
    name          VARBINARY(255) NOT NULL,
    value         DOUBLE NOT NULL,
    run_id        VARBINARY(255) NOT NULL,
    PRIMARY KEY (namespace_id, name, value, run_id),
    KEY visibility_sa_double_run (namespace_id, run_id)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS visibility_search_attributes (
    namespace_id  VARBINARY(255) NOT NULL,
    name          VARBINARY(255) NOT NULL,
    type          INTEGER NOT NULL,
    PRIMARY KEY (namespace_id, name)
) ENGINE=InnoDB;

-- Exact run counts per (namespace, status, bucket); see SQLite's v2.
CREATE TABLE IF NOT EXISTS visibility_counts (
    namespace_id  VARBINARY(255) NOT NULL,
    status        INTEGER NOT NULL,
    bucket        INTEGER NOT NULL,
    n             BIGINT NOT NULL,
    PRIMARY KEY (namespace_id, status, bucket)
) ENGINE=InnoDB;
