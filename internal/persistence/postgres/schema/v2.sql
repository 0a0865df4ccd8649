-- Sundial schema v2 for PostgreSQL: visibility (listings of runs) and
-- custom search attributes; the same layout as SQLite's v2 (see there).
-- String columns use COLLATE "C" so that they sort and compare by code
-- point, as on SQLite and MySQL: keyset paging, range predicates and
-- STARTS_WITH (a range) then give the same results on every backend.

CREATE TABLE visibility_executions (
    namespace_id            TEXT COLLATE "C" NOT NULL,
    run_id                  TEXT COLLATE "C" NOT NULL,
    workflow_id             TEXT COLLATE "C" NOT NULL,
    workflow_type           TEXT COLLATE "C" NOT NULL,
    task_queue              TEXT COLLATE "C" NOT NULL,
    status                  INTEGER NOT NULL,
    start_time              BIGINT NOT NULL,
    execution_time          BIGINT NOT NULL,
    close_time              BIGINT NOT NULL,
    execution_duration      BIGINT NOT NULL,
    history_length          BIGINT NOT NULL,
    history_size_bytes      BIGINT NOT NULL,
    state_transition_count  BIGINT NOT NULL,
    parent_workflow_id      TEXT COLLATE "C" NOT NULL,
    parent_run_id           TEXT COLLATE "C" NOT NULL,
    root_workflow_id        TEXT COLLATE "C" NOT NULL,
    root_run_id             TEXT COLLATE "C" NOT NULL,
    memo                    BYTEA,
    search_attributes       BYTEA,
    version                 BIGINT NOT NULL,
    PRIMARY KEY (namespace_id, run_id)
);

CREATE INDEX visibility_by_close ON visibility_executions (namespace_id, close_time, start_time, run_id);
CREATE INDEX visibility_by_start ON visibility_executions (namespace_id, start_time, run_id);
CREATE INDEX visibility_by_status ON visibility_executions (namespace_id, status, start_time, run_id);
CREATE INDEX visibility_by_type ON visibility_executions (namespace_id, workflow_type, status, start_time, run_id);
CREATE INDEX visibility_by_workflow_id ON visibility_executions (namespace_id, workflow_id, start_time, run_id);

CREATE TABLE visibility_sa_string (
    namespace_id  TEXT COLLATE "C" NOT NULL,
    name          TEXT COLLATE "C" NOT NULL,
    value         TEXT COLLATE "C" NOT NULL,
    run_id        TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (namespace_id, name, value, run_id)
);

CREATE INDEX visibility_sa_string_run ON visibility_sa_string (namespace_id, run_id);

CREATE TABLE visibility_sa_int (
    namespace_id  TEXT COLLATE "C" NOT NULL,
    name          TEXT COLLATE "C" NOT NULL,
    value         BIGINT NOT NULL,
    run_id        TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (namespace_id, name, value, run_id)
);

CREATE INDEX visibility_sa_int_run ON visibility_sa_int (namespace_id, run_id);

CREATE TABLE visibility_sa_double (
    namespace_id  TEXT COLLATE "C" NOT NULL,
    name          TEXT COLLATE "C" NOT NULL,
    value         DOUBLE PRECISION NOT NULL,
    run_id        TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (namespace_id, name, value, run_id)
);

CREATE INDEX visibility_sa_double_run ON visibility_sa_double (namespace_id, run_id);

CREATE TABLE visibility_search_attributes (
    namespace_id  TEXT COLLATE "C" NOT NULL,
    name          TEXT COLLATE "C" NOT NULL,
    type          INTEGER NOT NULL,
    PRIMARY KEY (namespace_id, name)
);

-- Exact run counts per (namespace, status, bucket); see SQLite's v2.
CREATE TABLE visibility_counts (
    namespace_id  TEXT COLLATE "C" NOT NULL,
    status        INTEGER NOT NULL,
    bucket        INTEGER NOT NULL,
    n             BIGINT NOT NULL,
    PRIMARY KEY (namespace_id, status, bucket)
);
