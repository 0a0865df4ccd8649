-- Sundial schema v7 for PostgreSQL: leases on schedules and batch jobs;
-- the same columns as SQLite's v7 (see there).

ALTER TABLE schedules ADD COLUMN lease_owner TEXT COLLATE "C" NOT NULL DEFAULT '',
    ADD COLUMN lease_expiry BIGINT NOT NULL DEFAULT 0;

ALTER TABLE batch_jobs ADD COLUMN lease_owner TEXT COLLATE "C" NOT NULL DEFAULT '',
    ADD COLUMN lease_expiry BIGINT NOT NULL DEFAULT 0;
