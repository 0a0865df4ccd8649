-- Sundial schema v5 for MySQL 8 and MariaDB 10.6 or newer: batch
-- operations; the same layout as SQLite's v5 (see there). Indexes are
-- declared in the table so the statement stays re-runnable.

CREATE TABLE IF NOT EXISTS batch_jobs (
    namespace_id    VARBINARY(255) NOT NULL,
    job_id          VARBINARY(2048) NOT NULL,
    state           INTEGER NOT NULL,
    start_time      BIGINT NOT NULL,
    close_time      BIGINT NOT NULL,
    total_count     BIGINT NOT NULL,
    complete_count  BIGINT NOT NULL,
    failure_count   BIGINT NOT NULL,
    resume_at       LONGBLOB NOT NULL,
    data            LONGBLOB NOT NULL,
    PRIMARY KEY (namespace_id, job_id),
    KEY batch_jobs_by_start (namespace_id, start_time),
    KEY batch_jobs_by_state (state, start_time)
) ENGINE=InnoDB;
