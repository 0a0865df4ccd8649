-- Sundial schema v5 for SQLite: batch operations (StartBatchOperation).
-- One row per job; data is the job's definition (opaque to the store),
-- the counters and cursor are its progress, written by the worker that
-- runs the job. state mirrors BatchOperationState (1 running, 2
-- completed, 3 failed). Times are INTEGER Unix nanoseconds, 0 = none.

CREATE TABLE batch_jobs (
    namespace_id    TEXT NOT NULL,
    job_id          TEXT NOT NULL,
    state           INTEGER NOT NULL,
    start_time      INTEGER NOT NULL,
    close_time      INTEGER NOT NULL,
    total_count     INTEGER NOT NULL,
    complete_count  INTEGER NOT NULL,
    failure_count   INTEGER NOT NULL,
    resume_at       BLOB NOT NULL,
    data            BLOB NOT NULL,
    PRIMARY KEY (namespace_id, job_id)
) STRICT;

CREATE INDEX batch_jobs_by_start ON batch_jobs (namespace_id, start_time);

CREATE INDEX batch_jobs_by_state ON batch_jobs (state, start_time);
