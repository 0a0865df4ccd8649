package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/sundialhq/sundial/internal/persistence"
)

// The table batch_jobs (schema v5) holds batch operations, one row per
// (namespace, job ID); see persistence.BatchStore.

const batchColumns = "namespace_id, job_id, state, start_time, close_time, total_count, complete_count, failure_count, resume_at, data, lease_owner, lease_expiry"

func scanBatchJob(sc interface{ Scan(...any) error }) (*persistence.BatchJob, error) {
	var j persistence.BatchJob
	var state int32
	var start, closed, expiry int64
	p := &j.Progress
	if err := sc.Scan(&j.NamespaceID, &j.JobID, &state, &start, &closed, &p.Total, &p.Completed, &p.Failed, &p.Cursor, &j.Data,
		&j.LeaseOwner, &expiry); err != nil {
		return nil, err
	}
	j.State, j.StartTime, j.CloseTime = persistence.BatchJobState(state), decodeTime(start), decodeTime(closed)
	j.LeaseExpiry = decodeTime(expiry)
	if len(p.Cursor) == 0 {
		p.Cursor = nil
	}
	return &j, nil
}

// CreateBatchJob implements persistence.BatchStore.
func (s *Store) CreateBatchJob(ctx context.Context, job *persistence.BatchJob) error {
	p := job.Progress
	return s.write(ctx, "create batch job", func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, s.q("SELECT 1 FROM batch_jobs WHERE namespace_id = ? AND job_id = ?"), job.NamespaceID, job.JobID).Scan(&one)
		if err == nil {
			return persistence.ErrAlreadyExists
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return s.dbErr("read batch job", err)
		}
		_, err = tx.ExecContext(ctx, s.q("INSERT INTO batch_jobs ("+batchColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', 0)"),
			job.NamespaceID, job.JobID, int32(job.State), encodeTime(job.StartTime), encodeTime(job.CloseTime),
			p.Total, p.Completed, p.Failed, nonNil(p.Cursor), nonNil(job.Data))
		return s.dbErr("insert batch job", err)
	})
}

// GetBatchJob implements persistence.BatchStore.
func (s *Store) GetBatchJob(ctx context.Context, namespaceID, jobID string) (*persistence.BatchJob, error) {
	var out *persistence.BatchJob
	err := s.read(ctx, "get batch job", func() error {
		row := s.rdb.QueryRowContext(ctx, s.q("SELECT "+batchColumns+" FROM batch_jobs WHERE namespace_id = ? AND job_id = ?"), namespaceID, jobID)
		j, err := scanBatchJob(row)
		if errors.Is(err, sql.ErrNoRows) {
			return persistence.ErrNotFound
		}
		out = j
		return s.dbErr("get batch job", err)
	})
	return out, err
}

// ListBatchJobs implements persistence.BatchStore.
func (s *Store) ListBatchJobs(ctx context.Context, namespaceID string, after *persistence.BatchJobKey, limit int) ([]*persistence.BatchJob, error) {
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	query := "SELECT " + batchColumns + " FROM batch_jobs WHERE namespace_id = ?"
	args := []any{namespaceID}
	if after != nil {
		at := encodeTime(after.StartTime)
		query += " AND (start_time < ? OR (start_time = ? AND job_id > ?))"
		args = append(args, at, at, after.JobID)
	}
	query += " ORDER BY start_time DESC, job_id LIMIT ?"
	return s.queryBatchJobs(ctx, "list batch jobs", query, append(args, limit)...)
}

// ListRunningBatchJobs implements persistence.BatchStore.
func (s *Store) ListRunningBatchJobs(ctx context.Context, limit int) ([]*persistence.BatchJob, error) {
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	return s.queryBatchJobs(ctx, "list running batch jobs",
		"SELECT "+batchColumns+" FROM batch_jobs WHERE state = ? ORDER BY start_time, namespace_id, job_id LIMIT ?",
		int32(persistence.BatchJobRunning), limit)
}

func (s *Store) queryBatchJobs(ctx context.Context, op, query string, args ...any) ([]*persistence.BatchJob, error) {
	return queryAll(ctx, s, op, scanBatchJob, query, args...)
}

// CountRunningBatchJobs implements persistence.BatchStore.
func (s *Store) CountRunningBatchJobs(ctx context.Context, namespaceID string) (int64, error) {
	var n int64
	err := s.read(ctx, "count running batch jobs", func() error {
		return s.dbErr("count running batch jobs", s.rdb.QueryRowContext(ctx,
			s.q("SELECT COUNT(*) FROM batch_jobs WHERE state = ? AND namespace_id = ?"), int32(persistence.BatchJobRunning), namespaceID).Scan(&n))
	})
	return n, err
}

// ClaimBatchJob implements persistence.BatchStore.
func (s *Store) ClaimBatchJob(ctx context.Context, namespaceID, jobID, owner string, now, until time.Time) error {
	return s.write(ctx, "claim batch job", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q("UPDATE batch_jobs SET lease_owner = ?, lease_expiry = ?"+
			" WHERE namespace_id = ? AND job_id = ? AND state = ? AND (lease_owner = ? OR lease_expiry <= ?)"),
			owner, encodeTime(until), namespaceID, jobID, int32(persistence.BatchJobRunning), owner, encodeTime(now))
		return s.batchUpdated(ctx, tx, "claim batch job", res, err, namespaceID, jobID)
	})
}

// leaseCond is the condition a batch job write adds for owner ("" adds
// none).
func leaseCond(owner string) (string, []any) {
	if owner == "" {
		return "", nil
	}
	return " AND lease_owner = ?", []any{owner}
}

// UpdateBatchProgress implements persistence.BatchStore.
func (s *Store) UpdateBatchProgress(ctx context.Context, namespaceID, jobID, owner string, p persistence.BatchProgress) error {
	return s.write(ctx, "update batch progress", func(tx *sql.Tx) error {
		cond, condArgs := leaseCond(owner)
		res, err := tx.ExecContext(ctx, s.q("UPDATE batch_jobs SET total_count = ?, complete_count = ?, failure_count = ?, resume_at = ?"+
			" WHERE namespace_id = ? AND job_id = ? AND state = ?"+cond),
			append([]any{p.Total, p.Completed, p.Failed, nonNil(p.Cursor), namespaceID, jobID, int32(persistence.BatchJobRunning)}, condArgs...)...)
		return s.batchUpdated(ctx, tx, "update batch progress", res, err, namespaceID, jobID)
	})
}

// CloseBatchJob implements persistence.BatchStore.
func (s *Store) CloseBatchJob(ctx context.Context, namespaceID, jobID, owner string, state persistence.BatchJobState, closeTime time.Time, p *persistence.BatchProgress) error {
	return s.write(ctx, "close batch job", func(tx *sql.Tx) error {
		query := "UPDATE batch_jobs SET state = ?, close_time = ?, lease_owner = '', lease_expiry = 0"
		args := []any{int32(state), encodeTime(closeTime)}
		if p != nil {
			query += ", total_count = ?, complete_count = ?, failure_count = ?, resume_at = ?"
			args = append(args, p.Total, p.Completed, p.Failed, nonNil(p.Cursor))
		}
		cond, condArgs := leaseCond(owner)
		res, err := tx.ExecContext(ctx, s.q(query+" WHERE namespace_id = ? AND job_id = ? AND state = ?"+cond),
			append(append(args, namespaceID, jobID, int32(persistence.BatchJobRunning)), condArgs...)...)
		return s.batchUpdated(ctx, tx, "close batch job", res, err, namespaceID, jobID)
	})
}

// DeleteBatchJobs implements persistence.BatchStore.
func (s *Store) DeleteBatchJobs(ctx context.Context, namespaceID string) (int64, error) {
	var n int64
	err := s.write(ctx, "delete batch jobs", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q("DELETE FROM batch_jobs WHERE namespace_id = ?"), namespaceID)
		if err != nil {
			return s.dbErr("delete batch jobs", err)
		}
		n, err = res.RowsAffected()
		return s.dbErr("delete batch jobs", err)
	})
	return n, err
}

// batchUpdated checks the outcome of an update conditioned on the job
// running: nil if it hit the row, else ErrNotFound or ErrConditionFailed
// (read in the same transaction).
func (s *Store) batchUpdated(ctx context.Context, tx *sql.Tx, op string, res sql.Result, err error, namespaceID, jobID string) error {
	if err != nil {
		return s.dbErr(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return s.dbErr(op, err)
	}
	if n > 0 {
		return nil
	}
	var one int
	err = tx.QueryRowContext(ctx, s.q("SELECT 1 FROM batch_jobs WHERE namespace_id = ? AND job_id = ?"), namespaceID, jobID).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return persistence.ErrNotFound
	case err != nil:
		return s.dbErr(op, err)
	}
	return persistence.ErrConditionFailed
}
