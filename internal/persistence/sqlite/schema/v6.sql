-- Sundial schema v6 for SQLite: schedules. One row per schedule; data is
-- the scheduler's opaque encoded state, version the conflict token every
-- update is conditioned on. next_run_time (Unix nanoseconds, 0 = nothing
-- due) is indexed so the scheduler loop reads only due rows and sleeps
-- until the earliest one: idle schedules cost nothing between firings.

CREATE TABLE schedules (
    namespace_id   TEXT NOT NULL,
    schedule_id    TEXT NOT NULL,
    next_run_time  INTEGER NOT NULL,
    version        INTEGER NOT NULL,
    data           BLOB NOT NULL,
    PRIMARY KEY (namespace_id, schedule_id)
) STRICT;

CREATE INDEX schedules_next_run_time ON schedules (next_run_time);
