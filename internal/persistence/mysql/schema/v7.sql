-- Sundial schema v7 for MySQL 8 and MariaDB 10.6 or newer: leases on
-- schedules and batch jobs; the same columns as SQLite's v7 (see there).
-- MySQL 8 has no ADD COLUMN IF NOT EXISTS: each ALTER is atomic, so a
-- crash can only fall between the two tables (then add batch_jobs'
-- columns by hand and record version 7).

ALTER TABLE schedules ADD COLUMN lease_owner VARBINARY(255) NOT NULL DEFAULT '',
    ADD COLUMN lease_expiry BIGINT NOT NULL DEFAULT 0;

ALTER TABLE batch_jobs ADD COLUMN lease_owner VARBINARY(255) NOT NULL DEFAULT '',
    ADD COLUMN lease_expiry BIGINT NOT NULL DEFAULT 0;
