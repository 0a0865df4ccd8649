package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/sundialhq/sundial/internal/persistence"
)

// CreateWorkflow implements persistence.ExecutionStore. In one transaction:
// the shard fence, the current-run check and write, the run row (version
// 1), the first events and the outbox tasks.
//
// With CurrentReplace and no current row at all, it returns
// ErrConditionFailed (the caller's view of the workflow ID is stale); the
// same holds when a concurrent writer changes the current row between our
// read and write, which a single shard owner never does.
func (s *Store) CreateWorkflow(ctx context.Context, req *persistence.CreateWorkflowRequest) error {
	if err := validateCreate(req); err != nil {
		return err
	}
	return s.writeWithPipeline(ctx, "create workflow", func() ([]Statement, bool) { return s.createPipeline(req) }, func(tx *sql.Tx) error {
		if err := s.fenceShard(ctx, tx, req.ShardID, req.RangeID); err != nil {
			return err
		}
		return s.createInTx(ctx, tx, req)
	})
}

// createInTx writes a new run (current row, run row, events, tasks) inside
// a fenced transaction.
func (s *Store) createInTx(ctx context.Context, tx *sql.Tx, req *persistence.CreateWorkflowRequest) error {
	if err := s.writeCurrentForCreate(ctx, tx, req); err != nil {
		return err
	}
	c := req.Current
	_, err := tx.ExecContext(ctx, s.q("INSERT INTO executions"+
		" (shard_id, namespace_id, workflow_id, run_id, next_event_id, version, state)"+
		" VALUES (?, ?, ?, ?, ?, ?, ?)"),
		req.ShardID, c.NamespaceID, c.WorkflowID, c.RunID, req.NextEventID, 1, nonNil(req.State))
	if s.isUnique(err) {
		return fmt.Errorf("run %s of workflow %q: %w", c.RunID, c.WorkflowID, persistence.ErrAlreadyExists)
	}
	if err != nil {
		return s.dbErr("insert execution", err)
	}
	key := persistence.WorkflowKey{NamespaceID: c.NamespaceID, WorkflowID: c.WorkflowID, RunID: c.RunID}
	if err := s.insertEvents(ctx, tx, req.ShardID, key, req.Events, persistence.ErrAlreadyExists); err != nil {
		return err
	}
	return s.insertOutboxTasks(ctx, tx, req.ShardID, req.Tasks)
}

func validateCreate(req *persistence.CreateWorkflowRequest) error {
	c := req.Current
	if c.NamespaceID == "" || c.WorkflowID == "" || c.RunID == "" {
		return errors.New("sqlstore: create workflow: namespace ID, workflow ID and run ID are required")
	}
	if req.Mode != persistence.CurrentBrandNew && req.Mode != persistence.CurrentReplace {
		return fmt.Errorf("sqlstore: create workflow: unknown current mode %d", req.Mode)
	}
	return nil
}

// writeCurrentForCreate checks the current row against req.Mode and writes
// the new run's pointer.
func (s *Store) writeCurrentForCreate(ctx context.Context, tx *sql.Tx, req *persistence.CreateWorkflowRequest) error {
	c := req.Current
	existing, err := s.currentRun(ctx, tx, req.ShardID, c.NamespaceID, c.WorkflowID)
	if err != nil && !errors.Is(err, persistence.ErrNotFound) {
		return err
	}
	found := err == nil
	switch {
	case req.Mode == persistence.CurrentBrandNew && found:
		return &persistence.CurrentRunConflictError{Current: *existing}
	case req.Mode == persistence.CurrentReplace && !found:
		return fmt.Errorf("workflow %q has no current run to replace: %w", c.WorkflowID, persistence.ErrConditionFailed)
	case req.Mode == persistence.CurrentReplace && existing.RunID != req.PreviousRunID:
		return &persistence.CurrentRunConflictError{Current: *existing}
	}
	if req.Mode == persistence.CurrentBrandNew {
		_, err := tx.ExecContext(ctx, s.q("INSERT INTO current_executions"+
			" (shard_id, namespace_id, workflow_id, run_id, create_request_id, state, status)"+
			" VALUES (?, ?, ?, ?, ?, ?, ?)"),
			req.ShardID, c.NamespaceID, c.WorkflowID, c.RunID, c.CreateRequestID, int32(c.State), c.Status)
		if s.isUnique(err) {
			return fmt.Errorf("current run of workflow %q appeared concurrently: %w", c.WorkflowID, persistence.ErrConditionFailed)
		}
		return s.dbErr("insert current execution", err)
	}
	res, err := tx.ExecContext(ctx, s.q("UPDATE current_executions"+
		" SET run_id = ?, create_request_id = ?, state = ?, status = ?"+
		" WHERE shard_id = ? AND namespace_id = ? AND workflow_id = ? AND run_id = ?"),
		c.RunID, c.CreateRequestID, int32(c.State), c.Status,
		req.ShardID, c.NamespaceID, c.WorkflowID, req.PreviousRunID)
	if err != nil {
		return s.dbErr("replace current execution", err)
	}
	return s.expectOneRow(res, "replace current execution",
		fmt.Errorf("current run of workflow %q changed concurrently: %w", c.WorkflowID, persistence.ErrConditionFailed))
}

// UpdateWorkflow implements persistence.ExecutionStore: the shard fence,
// then the version-conditioned update of the run row, the events, the
// outbox tasks and optionally the current row, in one transaction.
func (s *Store) UpdateWorkflow(ctx context.Context, req *persistence.UpdateWorkflowRequest) error {
	if n := req.NewRun; n != nil {
		if err := validateCreate(n); err != nil {
			return err
		}
		if n.Mode != persistence.CurrentReplace || n.PreviousRunID != req.Key.RunID || n.ShardID != req.ShardID {
			return errors.New("sqlstore: update workflow: NewRun must replace the updated run on the same shard")
		}
	}
	return s.writeWithPipeline(ctx, "update workflow", func() ([]Statement, bool) { return s.updatePipeline(req) }, func(tx *sql.Tx) error {
		// The fence is folded into the conditional UPDATE (a subquery
		// reading range_id under the shared lock); only when no row
		// matched does a second read tell a lost shard from a stale
		// version.
		k := req.Key
		res, err := tx.ExecContext(ctx, s.q("UPDATE executions SET next_event_id = ?, version = version + 1, state = ?"+
			" WHERE shard_id = ? AND namespace_id = ? AND workflow_id = ? AND run_id = ? AND version = ?"+
			" AND (SELECT range_id FROM shards WHERE shard_id = ? "+s.d.SharedLockClause()+") = ?"),
			req.NextEventID, nonNil(req.State), req.ShardID, k.NamespaceID, k.WorkflowID, k.RunID, req.ExpectedVersion,
			req.ShardID, req.RangeID)
		if err != nil {
			return s.dbErr("update execution", err)
		}
		if err := s.expectOneRow(res, "update execution", errNoRow); err != nil {
			if err != errNoRow {
				return err
			}
			if err := s.fenceShard(ctx, tx, req.ShardID, req.RangeID); err != nil {
				return err
			}
			return fmt.Errorf("run %s of workflow %q at version %d: %w",
				k.RunID, k.WorkflowID, req.ExpectedVersion, persistence.ErrConditionFailed)
		}
		if err := s.insertEvents(ctx, tx, req.ShardID, k, req.Events, persistence.ErrConditionFailed); err != nil {
			return err
		}
		if err := s.insertOutboxTasks(ctx, tx, req.ShardID, req.Tasks); err != nil {
			return err
		}
		if req.UpdateCurrent {
			_, err = tx.ExecContext(ctx, s.q("UPDATE current_executions SET state = ?, status = ?"+
				" WHERE shard_id = ? AND namespace_id = ? AND workflow_id = ? AND run_id = ?"),
				int32(req.CurrentState), req.CurrentStatus, req.ShardID, k.NamespaceID, k.WorkflowID, k.RunID)
			if err != nil {
				return s.dbErr("update current execution", err)
			}
		}
		if req.NewRun != nil {
			return s.createInTx(ctx, tx, req.NewRun)
		}
		return nil
	})
}

// DeleteWorkflow implements persistence.ExecutionStore.
func (s *Store) DeleteWorkflow(ctx context.Context, shardID int32, rangeID int64, key persistence.WorkflowKey) error {
	return s.write(ctx, "delete workflow", func(tx *sql.Tx) error {
		if err := s.fenceShard(ctx, tx, shardID, rangeID); err != nil {
			return err
		}
		for _, table := range []string{"history_events", "executions", "current_executions"} {
			_, err := tx.ExecContext(ctx, s.q("DELETE FROM "+table+
				" WHERE shard_id = ? AND namespace_id = ? AND workflow_id = ? AND run_id = ?"),
				shardID, key.NamespaceID, key.WorkflowID, key.RunID)
			if err != nil {
				return s.dbErr("delete from "+table, err)
			}
		}
		return nil
	})
}

// errNoRow is expectOneRow's answer when the caller decides what no row
// means.
var errNoRow = errors.New("sqlstore: no row matched")

// expectOneRow returns ifNone when res affected no row.
func (s *Store) expectOneRow(res sql.Result, op string, ifNone error) error {
	n, err := res.RowsAffected()
	if err != nil {
		return s.dbErr(op+": rows affected", err)
	}
	if n == 0 {
		return ifNone
	}
	return nil
}

// insertEvents appends events, up to insertChunk rows per statement (one
// round trip on a server database); a duplicate event ID yields
// onDuplicate.
func (s *Store) insertEvents(ctx context.Context, tx *sql.Tx, shardID int32, k persistence.WorkflowKey,
	events []persistence.HistoryEvent, onDuplicate error) error {
	for len(events) > 0 {
		chunk := events[:min(len(events), insertChunk)]
		events = events[len(chunk):]
		args := make([]any, 0, 6*len(chunk))
		for _, e := range chunk {
			args = append(args, shardID, k.NamespaceID, k.WorkflowID, k.RunID, e.EventID, nonNil(e.Data))
		}
		_, err := tx.ExecContext(ctx, s.q(multiRowInsert("INSERT INTO history_events"+
			" (shard_id, namespace_id, workflow_id, run_id, event_id, data) VALUES ", 6, len(chunk))), args...)
		if s.isUnique(err) {
			return fmt.Errorf("events %d-%d of run %s: %w", chunk[0].EventID, chunk[len(chunk)-1].EventID, k.RunID, onDuplicate)
		}
		if err != nil {
			return s.dbErr("insert history events", err)
		}
	}
	return nil
}

// insertChunk bounds the rows of one multi-row INSERT, which keeps the
// distinct statements (for the statement caches) and the placeholders
// per statement few.
const insertChunk = 16

// multiRowInsert is prefix followed by n groups of cols placeholders.
func multiRowInsert(prefix string, cols, n int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	return prefix + strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
}

// GetWorkflow implements persistence.ExecutionStore.
func (s *Store) GetWorkflow(ctx context.Context, shardID int32, key persistence.WorkflowKey) (*persistence.WorkflowRecord, error) {
	var rec persistence.WorkflowRecord
	err := s.read(ctx, "get workflow", func() error {
		err := s.rdb.QueryRowContext(ctx, s.q("SELECT state, next_event_id, version FROM executions"+
			" WHERE shard_id = ? AND namespace_id = ? AND workflow_id = ? AND run_id = ?"),
			shardID, key.NamespaceID, key.WorkflowID, key.RunID).Scan(&rec.State, &rec.NextEventID, &rec.Version)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("run %s of workflow %q: %w", key.RunID, key.WorkflowID, persistence.ErrNotFound)
		}
		return s.dbErr("get workflow", err)
	})
	if err != nil {
		return nil, err
	}
	return &rec, nil
}

// GetCurrentRun implements persistence.ExecutionStore.
func (s *Store) GetCurrentRun(ctx context.Context, shardID int32, namespaceID, workflowID string) (*persistence.CurrentRun, error) {
	var cur *persistence.CurrentRun
	err := s.read(ctx, "get current run", func() error {
		var err error
		cur, err = s.currentRun(ctx, s.rdb, shardID, namespaceID, workflowID)
		return err
	})
	return cur, err
}

func (s *Store) currentRun(ctx context.Context, q queryer, shardID int32, namespaceID, workflowID string) (*persistence.CurrentRun, error) {
	cur := persistence.CurrentRun{NamespaceID: namespaceID, WorkflowID: workflowID}
	var state int32
	err := q.QueryRowContext(ctx, s.q("SELECT run_id, create_request_id, state, status FROM current_executions"+
		" WHERE shard_id = ? AND namespace_id = ? AND workflow_id = ?"),
		shardID, namespaceID, workflowID).Scan(&cur.RunID, &cur.CreateRequestID, &state, &cur.Status)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("current run of workflow %q: %w", workflowID, persistence.ErrNotFound)
	}
	if err != nil {
		return nil, s.dbErr("get current run", err)
	}
	cur.State = persistence.RunState(state)
	return &cur, nil
}
