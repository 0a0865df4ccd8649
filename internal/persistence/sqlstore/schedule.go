package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/sundialhq/sundial/internal/persistence"
)

// The schedules table holds one row per schedule (see the sqlite schema
// file that creates it for the layout).

const scheduleColumns = "namespace_id, schedule_id, next_run_time, version, data, lease_owner, lease_expiry"

func scanSchedule(sc interface{ Scan(...any) error }) (*persistence.ScheduleRecord, error) {
	var r persistence.ScheduleRecord
	var next, expiry int64
	if err := sc.Scan(&r.NamespaceID, &r.ScheduleID, &next, &r.Version, &r.Data, &r.LeaseOwner, &expiry); err != nil {
		return nil, err
	}
	r.NextRunTime, r.LeaseExpiry = decodeTime(next), decodeTime(expiry)
	return &r, nil
}

// CreateSchedule implements persistence.ScheduleStore.
func (s *Store) CreateSchedule(ctx context.Context, rec *persistence.ScheduleRecord) error {
	return s.write(ctx, "create schedule", func(tx *sql.Tx) error {
		var n int
		err := tx.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM schedules WHERE namespace_id = ? AND schedule_id = ?"),
			rec.NamespaceID, rec.ScheduleID).Scan(&n)
		if err != nil {
			return s.dbErr("read schedule", err)
		}
		if n > 0 {
			return persistence.ErrAlreadyExists
		}
		_, err = tx.ExecContext(ctx, s.q("INSERT INTO schedules ("+scheduleColumns+") VALUES (?, ?, ?, 1, ?, '', 0)"),
			rec.NamespaceID, rec.ScheduleID, encodeTime(rec.NextRunTime), nonNil(rec.Data))
		if s.isUnique(err) {
			return persistence.ErrAlreadyExists
		}
		return s.dbErr("insert schedule", err)
	})
}

// GetSchedule implements persistence.ScheduleStore.
func (s *Store) GetSchedule(ctx context.Context, namespaceID, scheduleID string) (*persistence.ScheduleRecord, error) {
	var out *persistence.ScheduleRecord
	err := s.read(ctx, "get schedule", func() error {
		row := s.rdb.QueryRowContext(ctx, s.q("SELECT "+scheduleColumns+" FROM schedules WHERE namespace_id = ? AND schedule_id = ?"),
			namespaceID, scheduleID)
		r, err := scanSchedule(row)
		if errors.Is(err, sql.ErrNoRows) {
			return persistence.ErrNotFound
		}
		out = r
		return s.dbErr("get schedule", err)
	})
	return out, err
}

// UpdateSchedule implements persistence.ScheduleStore.
func (s *Store) UpdateSchedule(ctx context.Context, rec *persistence.ScheduleRecord, expectedVersion int64) error {
	return s.write(ctx, "update schedule", func(tx *sql.Tx) error {
		var res sql.Result
		var err error
		if rec.LeaseOwner != "" {
			res, err = tx.ExecContext(ctx, s.q("UPDATE schedules SET next_run_time = ?, version = ?, data = ?, lease_owner = '', lease_expiry = 0"+
				" WHERE namespace_id = ? AND schedule_id = ? AND version = ? AND lease_owner = ?"),
				encodeTime(rec.NextRunTime), expectedVersion+1, nonNil(rec.Data), rec.NamespaceID, rec.ScheduleID, expectedVersion, rec.LeaseOwner)
		} else {
			res, err = tx.ExecContext(ctx, s.q("UPDATE schedules SET next_run_time = CASE WHEN lease_owner = '' THEN ? ELSE next_run_time END,"+
				" version = ?, data = ? WHERE namespace_id = ? AND schedule_id = ? AND version = ?"),
				encodeTime(rec.NextRunTime), expectedVersion+1, nonNil(rec.Data), rec.NamespaceID, rec.ScheduleID, expectedVersion)
		}
		if err != nil {
			return s.dbErr("update schedule", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return s.dbErr("update schedule", err)
		} else if n != 1 {
			return persistence.ErrConditionFailed
		}
		return nil
	})
}

// ClaimDueSchedules implements persistence.ScheduleStore. Each claim is
// an UPDATE that re-checks the row is due and unleased, so of concurrent
// claimers (PostgreSQL and MySQL re-read a locked row before updating
// it) one gets it.
func (s *Store) ClaimDueSchedules(ctx context.Context, owner string, now, until time.Time, limit int) ([]*persistence.ScheduleRecord, error) {
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	var out []*persistence.ScheduleRecord
	err := s.write(ctx, "claim due schedules", func(tx *sql.Tx) error {
		out = out[:0]
		at, to := encodeTime(now), encodeTime(until)
		rows, err := tx.QueryContext(ctx, s.q("SELECT "+scheduleColumns+" FROM schedules"+
			" WHERE next_run_time > 0 AND next_run_time <= ? AND lease_expiry <= ? ORDER BY next_run_time LIMIT ?"), at, at, limit)
		if err != nil {
			return s.dbErr("due schedules", err)
		}
		var due []*persistence.ScheduleRecord
		for rows.Next() {
			r, err := scanSchedule(rows)
			if err != nil {
				rows.Close()
				return s.dbErr("due schedules", err)
			}
			due = append(due, r)
		}
		if err := rows.Close(); err != nil {
			return s.dbErr("due schedules", err)
		}
		if err := rows.Err(); err != nil {
			return s.dbErr("due schedules", err)
		}
		for _, r := range due {
			res, err := tx.ExecContext(ctx, s.q("UPDATE schedules SET lease_owner = ?, lease_expiry = ?, next_run_time = ?"+
				" WHERE namespace_id = ? AND schedule_id = ? AND next_run_time > 0 AND next_run_time <= ? AND lease_expiry <= ?"),
				owner, to, to, r.NamespaceID, r.ScheduleID, at, at)
			if err != nil {
				return s.dbErr("claim schedule", err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return s.dbErr("claim schedule", err)
			} else if n == 1 {
				// Data and Version are as read: a write between the read
				// and the claim would have changed the version, which the
				// holder's conditional write then notices.
				r.LeaseOwner, r.LeaseExpiry, r.NextRunTime = owner, until, until
				out = append(out, r)
			}
		}
		return nil
	})
	return out, err
}

// DeleteLeasedSchedule implements persistence.ScheduleStore.
func (s *Store) DeleteLeasedSchedule(ctx context.Context, namespaceID, scheduleID, owner string, expectedVersion int64) error {
	return s.write(ctx, "delete leased schedule", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q("DELETE FROM schedules WHERE namespace_id = ? AND schedule_id = ? AND version = ? AND lease_owner = ?"),
			namespaceID, scheduleID, expectedVersion, owner)
		if err != nil {
			return s.dbErr("delete leased schedule", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return s.dbErr("delete leased schedule", err)
		} else if n != 1 {
			return persistence.ErrConditionFailed
		}
		return nil
	})
}

// DeleteSchedule implements persistence.ScheduleStore.
func (s *Store) DeleteSchedule(ctx context.Context, namespaceID, scheduleID string) error {
	return s.write(ctx, "delete schedule", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q("DELETE FROM schedules WHERE namespace_id = ? AND schedule_id = ?"), namespaceID, scheduleID)
		if err != nil {
			return s.dbErr("delete schedule", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return s.dbErr("delete schedule", err)
		} else if n == 0 {
			return persistence.ErrNotFound
		}
		return nil
	})
}

// ListSchedules implements persistence.ScheduleStore.
func (s *Store) ListSchedules(ctx context.Context, namespaceID, afterID string, limit int) ([]*persistence.ScheduleRecord, error) {
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	return s.querySchedules(ctx, "list schedules", "SELECT "+scheduleColumns+" FROM schedules"+
		" WHERE namespace_id = ? AND schedule_id > ? ORDER BY schedule_id LIMIT ?", namespaceID, afterID, limit)
}

// DueSchedules implements persistence.ScheduleStore.
func (s *Store) DueSchedules(ctx context.Context, now time.Time, limit int) ([]*persistence.ScheduleRecord, error) {
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	return s.querySchedules(ctx, "due schedules", "SELECT "+scheduleColumns+" FROM schedules"+
		" WHERE next_run_time > 0 AND next_run_time <= ? ORDER BY next_run_time LIMIT ?", encodeTime(now), limit)
}

func (s *Store) querySchedules(ctx context.Context, op, query string, args ...any) ([]*persistence.ScheduleRecord, error) {
	return queryAll(ctx, s, op, scanSchedule, query, args...)
}

// CountSchedules implements persistence.ScheduleStore.
func (s *Store) CountSchedules(ctx context.Context, namespaceID string) (int64, error) {
	var n int64
	err := s.read(ctx, "count schedules", func() error {
		return s.dbErr("count schedules", s.rdb.QueryRowContext(ctx,
			s.q("SELECT COUNT(*) FROM schedules WHERE namespace_id = ?"), namespaceID).Scan(&n))
	})
	return n, err
}

// NextScheduleRunTime implements persistence.ScheduleStore.
func (s *Store) NextScheduleRunTime(ctx context.Context) (time.Time, bool, error) {
	var next sql.NullInt64
	err := s.read(ctx, "next schedule run time", func() error {
		return s.dbErr("next schedule run time", s.rdb.QueryRowContext(ctx,
			s.q("SELECT MIN(next_run_time) FROM schedules WHERE next_run_time > 0")).Scan(&next))
	})
	if err != nil || !next.Valid {
		return time.Time{}, false, err
	}
	return decodeTime(next.Int64), true, nil
}
