-- Sundial schema v2 for SQLite: visibility (listings of runs) and custom
-- search attributes. Times are INTEGER Unix nanoseconds.
--
-- visibility_executions holds one row per run with the system attributes
-- as columns. A close time or execution duration that does not exist yet
-- (open run) is 9223372036854775807, so the default order (CloseTime DESC,
-- StartTime DESC) lists open runs first straight from an index.
-- Strings compare by code point (BINARY collation).
--
-- Search attribute values are rows of three typed tables, one row per
-- (run, attribute, value): KeywordList elements and Text words are rows of
-- their own. The primary key (namespace, name, value, run) answers a
-- predicate on an attribute with an index range scan that yields run IDs;
-- there is no per-type slot cap.

CREATE TABLE visibility_executions (
    namespace_id            TEXT NOT NULL,
    run_id                  TEXT NOT NULL,
    workflow_id             TEXT NOT NULL,
    workflow_type           TEXT NOT NULL,
    task_queue              TEXT NOT NULL,
    status                  INTEGER NOT NULL,
    start_time              INTEGER NOT NULL,
    execution_time          INTEGER NOT NULL,
    close_time              INTEGER NOT NULL,
    execution_duration      INTEGER NOT NULL,
    history_length          INTEGER NOT NULL,
    history_size_bytes      INTEGER NOT NULL,
    state_transition_count  INTEGER NOT NULL,
    parent_workflow_id      TEXT NOT NULL,
    parent_run_id           TEXT NOT NULL,
    root_workflow_id        TEXT NOT NULL,
    root_run_id             TEXT NOT NULL,
    memo                    BLOB,
    search_attributes       BLOB,
    version                 INTEGER NOT NULL,
    PRIMARY KEY (namespace_id, run_id)
) STRICT;

CREATE INDEX visibility_by_close ON visibility_executions (namespace_id, close_time, start_time, run_id);
CREATE INDEX visibility_by_start ON visibility_executions (namespace_id, start_time, run_id);
CREATE INDEX visibility_by_status ON visibility_executions (namespace_id, status, start_time, run_id);
CREATE INDEX visibility_by_type ON visibility_executions (namespace_id, workflow_type, status, start_time, run_id);
CREATE INDEX visibility_by_workflow_id ON visibility_executions (namespace_id, workflow_id, start_time, run_id);

CREATE TABLE visibility_sa_string (
    namespace_id  TEXT NOT NULL,
    name          TEXT NOT NULL,
    value         TEXT NOT NULL,
    run_id        TEXT NOT NULL,
    PRIMARY KEY (namespace_id, name, value, run_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX visibility_sa_string_run ON visibility_sa_string (namespace_id, run_id);

CREATE TABLE visibility_sa_int (
    namespace_id  TEXT NOT NULL,
    name          TEXT NOT NULL,
    value         INTEGER NOT NULL,
    run_id        TEXT NOT NULL,
    PRIMARY KEY (namespace_id, name, value, run_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX visibility_sa_int_run ON visibility_sa_int (namespace_id, run_id);

CREATE TABLE visibility_sa_double (
    namespace_id  TEXT NOT NULL,
    name          TEXT NOT NULL,
    value         REAL NOT NULL,
    run_id        TEXT NOT NULL,
    PRIMARY KEY (namespace_id, name, value, run_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX visibility_sa_double_run ON visibility_sa_double (namespace_id, run_id);

CREATE TABLE visibility_search_attributes (
    namespace_id  TEXT NOT NULL,
    name          TEXT NOT NULL,
    type          INTEGER NOT NULL,
    PRIMARY KEY (namespace_id, name)
) STRICT, WITHOUT ROWID;

-- Exact run counts per (namespace, status), spread over 16 buckets by run
-- ID so concurrent writers rarely touch the same row. Written in the same
-- transaction as visibility_executions; an unfiltered count (with or
-- without GROUP BY ExecutionStatus) reads these instead of the runs.
CREATE TABLE visibility_counts (
    namespace_id  TEXT NOT NULL,
    status        INTEGER NOT NULL,
    bucket        INTEGER NOT NULL,
    n             INTEGER NOT NULL,
    PRIMARY KEY (namespace_id, status, bucket)
) STRICT, WITHOUT ROWID;
