-- Sundial schema v6 for MySQL 8 and MariaDB 10.6 or newer: schedules; the
-- same layout as SQLite's v4 (see there).

CREATE TABLE IF NOT EXISTS schedules (
    namespace_id   VARBINARY(255) NOT NULL,
    schedule_id    VARBINARY(2048) NOT NULL,
    next_run_time  BIGINT NOT NULL,
    version        BIGINT NOT NULL,
    data           LONGBLOB NOT NULL,
    PRIMARY KEY (namespace_id, schedule_id),
    INDEX schedules_next_run_time (next_run_time)
) ENGINE=InnoDB;
