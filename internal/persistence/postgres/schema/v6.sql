-- Sundial schema v6 for PostgreSQL: schedules; the same layout as
-- SQLite's v4 (see there).

CREATE TABLE schedules (
    namespace_id   TEXT COLLATE "C" NOT NULL,
    schedule_id    TEXT COLLATE "C" NOT NULL,
    next_run_time  BIGINT NOT NULL,
    version        BIGINT NOT NULL,
    data           BYTEA NOT NULL,
    PRIMARY KEY (namespace_id, schedule_id)
);

CREATE INDEX schedules_next_run_time ON schedules (next_run_time);
