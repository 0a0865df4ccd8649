-- Sundial schema v7 for SQLite: leases on schedules and batch jobs, so
-- several worker processes can share one database. lease_owner is the
-- process working on the row ('' = none) and lease_expiry (Unix
-- nanoseconds, 0 = none) when another process may take it over; every
-- write of the holder is conditioned on lease_owner (fencing).

ALTER TABLE schedules ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';

ALTER TABLE schedules ADD COLUMN lease_expiry INTEGER NOT NULL DEFAULT 0;

ALTER TABLE batch_jobs ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';

ALTER TABLE batch_jobs ADD COLUMN lease_expiry INTEGER NOT NULL DEFAULT 0;
