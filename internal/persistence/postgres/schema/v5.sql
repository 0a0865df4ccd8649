-- Sundial schema v5 for PostgreSQL: batch operations; the same layout as
-- SQLite's v5 (see there).

CREATE TABLE batch_jobs (
    namespace_id    TEXT COLLATE "C" NOT NULL,
    job_id          TEXT COLLATE "C" NOT NULL,
    state           INTEGER NOT NULL,
    start_time      BIGINT NOT NULL,
    close_time      BIGINT NOT NULL,
    total_count     BIGINT NOT NULL,
    complete_count  BIGINT NOT NULL,
    failure_count   BIGINT NOT NULL,
    resume_at       BYTEA NOT NULL,
    data            BYTEA NOT NULL,
    PRIMARY KEY (namespace_id, job_id)
);

CREATE INDEX batch_jobs_by_start ON batch_jobs (namespace_id, start_time);

CREATE INDEX batch_jobs_by_state ON batch_jobs (state, start_time);
