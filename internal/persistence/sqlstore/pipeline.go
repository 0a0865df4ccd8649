package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/sundialhq/sundial/internal/persistence"
)

// One round trip per transition (PostgreSQL).
//
// A Pipeline sends statements to the database in one message and commits
// them as one implicit transaction (PostgreSQL's extended protocol with a
// single Sync): nothing is sent between the statements, so the store cannot
// read a result and decide. Instead every condition of the write is part
// of a statement that fails when the condition does not hold, which rolls
// the whole transaction back:
//
//   - the shard fence is folded into the run row's conditional UPDATE (or,
//     for a start, into the INSERT of the current row) as a scalar
//     subquery reading shards.range_id FOR SHARE, so AcquireShard and
//     RenewShard wait for the write exactly as they wait for the fence
//     SELECT of a transaction;
//   - the statement ends with (CASE WHEN <row written> THEN '1' ELSE
//     'sundial: …' END)::int, which fails at run time (invalid input for
//     an integer) when no row matched;
//   - a duplicate key fails on its own.
//
// When the database rejects the pipeline (any server error: the
// transaction is rolled back for sure) the write runs again the ordinary
// way, as a transaction of single statements, which yields the precise
// answer (ShardOwnershipLost, ErrConditionFailed, CurrentRunConflict,
// ErrAlreadyExists, or success if the condition changed meanwhile). So
// the pipeline is only the fast path of the common case and every contract
// answer still comes from the code the conformance suite pins. Writes that
// are rare (continue-as-new, a start replacing a closed run) use the
// transaction directly.
//
// When the pipeline fails after it may have reached the database
// (connection lost, timeout), its outcome is unknown, as for a failed
// COMMIT.

// Statement is one statement of a pipeline, with '?' placeholders already
// rebound for the dialect.
type Statement struct {
	Query string
	Args  []any
}

// PipelineError classifies a failed pipeline.
type PipelineError struct {
	// Rejected: the database answered with an error, so the implicit
	// transaction rolled back; or nothing was sent. Either way nothing
	// took effect.
	Rejected bool
	Err      error
}

func (e *PipelineError) Error() string { return e.Err.Error() }
func (e *PipelineError) Unwrap() error { return e.Err }

// Pipeline runs stmts as one implicit transaction in one round trip. It
// returns nil when they all succeeded and were committed, else a
// *PipelineError.
type Pipeline func(ctx context.Context, stmts []Statement) error

// failUnless is the tail of a statement that fails unless cond holds.
func failUnless(cond, what string) string {
	return "SELECT (CASE WHEN " + cond + " THEN '1' ELSE 'sundial: " + what + "' END)::int"
}

// pipelined runs stmts through the pipeline and reports whether the write
// is settled: done=true with err the write's outcome (nil or unknown), or
// done=false when the write must run again as a transaction.
func (s *Store) pipelined(ctx context.Context, op string, stmts []Statement) (done bool, err error) {
	err = s.pipeline(ctx, stmts)
	if err == nil {
		return true, nil
	}
	var pe *PipelineError
	if errors.As(err, &pe) && pe.Rejected {
		return false, nil
	}
	wrapped := fmt.Errorf("sqlstore %s: %s: pipeline: %w: %w", s.d.Name(), op, persistence.ErrUnknownOutcome, err)
	return true, &persistence.UnavailableError{Err: &noRetry{wrapped}}
}

// updatePipeline is UpdateWorkflow's fast path; ok=false when the request
// needs the transaction.
func (s *Store) updatePipeline(req *persistence.UpdateWorkflowRequest) (stmts []Statement, ok bool) {
	if req.NewRun != nil {
		return nil, false
	}
	k := req.Key
	stmts = append(stmts, Statement{Query: s.q("WITH u AS (UPDATE executions SET next_event_id = ?, version = version + 1, state = ?" +
		" WHERE shard_id = ? AND namespace_id = ? AND workflow_id = ? AND run_id = ? AND version = ?" +
		" AND (SELECT range_id FROM shards WHERE shard_id = ? FOR SHARE) = ? RETURNING 1) " +
		failUnless("EXISTS (SELECT 1 FROM u)", "run version or shard fence")),
		Args: []any{req.NextEventID, nonNil(req.State), req.ShardID, k.NamespaceID, k.WorkflowID, k.RunID, req.ExpectedVersion,
			req.ShardID, req.RangeID}})
	stmts = s.appendEvents(stmts, req.ShardID, k, req.Events)
	stmts = s.appendOutboxTasks(stmts, req.ShardID, req.Tasks)
	if req.UpdateCurrent {
		stmts = append(stmts, Statement{Query: s.q("UPDATE current_executions SET state = ?, status = ?" +
			" WHERE shard_id = ? AND namespace_id = ? AND workflow_id = ? AND run_id = ?"),
			Args: []any{int32(req.CurrentState), req.CurrentStatus, req.ShardID, k.NamespaceID, k.WorkflowID, k.RunID}})
	}
	return stmts, true
}

// createPipeline is CreateWorkflow's fast path for a brand-new workflow
// ID; ok=false for the other modes.
func (s *Store) createPipeline(req *persistence.CreateWorkflowRequest) (stmts []Statement, ok bool) {
	if req.Mode != persistence.CurrentBrandNew {
		return nil, false
	}
	c := req.Current
	stmts = append(stmts, Statement{Query: s.q("WITH c AS (INSERT INTO current_executions" +
		" (shard_id, namespace_id, workflow_id, run_id, create_request_id, state, status)" +
		" SELECT ?, ?, ?, ?, ?, ?, ? WHERE (SELECT range_id FROM shards WHERE shard_id = ? FOR SHARE) = ? RETURNING 1) " +
		failUnless("EXISTS (SELECT 1 FROM c)", "shard fence")),
		Args: []any{req.ShardID, c.NamespaceID, c.WorkflowID, c.RunID, c.CreateRequestID, int32(c.State), c.Status,
			req.ShardID, req.RangeID}})
	stmts = append(stmts, Statement{Query: s.q("INSERT INTO executions" +
		" (shard_id, namespace_id, workflow_id, run_id, next_event_id, version, state)" +
		" VALUES (?, ?, ?, ?, ?, ?, ?)"),
		Args: []any{req.ShardID, c.NamespaceID, c.WorkflowID, c.RunID, req.NextEventID, 1, nonNil(req.State)}})
	key := persistence.WorkflowKey{NamespaceID: c.NamespaceID, WorkflowID: c.WorkflowID, RunID: c.RunID}
	stmts = s.appendEvents(stmts, req.ShardID, key, req.Events)
	return s.appendOutboxTasks(stmts, req.ShardID, req.Tasks), true
}

// createTasksPipeline is CreateTasks' fast path: the partition's fence
// folded into the first INSERT, the other tasks plain INSERTs.
func (s *Store) createTasksPipeline(key persistence.TaskQueueKey, rangeID int64, tasks []persistence.QueueTask) (stmts []Statement, ok bool) {
	if len(tasks) == 0 {
		return nil, false
	}
	t := tasks[0]
	stmts = append(stmts, Statement{Query: s.q("WITH i AS (INSERT INTO tasks" +
		" (namespace_id, name, kind, partition_id, task_id, expires_at, data) SELECT ?, ?, ?, ?, ?, ?, ?" +
		" WHERE (SELECT range_id FROM task_queues" + tqWhere + " FOR SHARE) = ? RETURNING 1) " +
		failUnless("EXISTS (SELECT 1 FROM i)", "task queue fence")),
		Args: append(tqArgs(key, t.TaskID, encodeTime(t.ExpiresAt), nonNil(t.Data)), append(tqArgs(key), rangeID)...)})
	for _, t := range tasks[1:] {
		stmts = append(stmts, Statement{Query: s.q(insertTask), Args: tqArgs(key, t.TaskID, encodeTime(t.ExpiresAt), nonNil(t.Data))})
	}
	return stmts, true
}

func (s *Store) appendEvents(stmts []Statement, shardID int32, k persistence.WorkflowKey, events []persistence.HistoryEvent) []Statement {
	for len(events) > 0 {
		chunk := events[:min(len(events), insertChunk)]
		events = events[len(chunk):]
		args := make([]any, 0, 6*len(chunk))
		for _, e := range chunk {
			args = append(args, shardID, k.NamespaceID, k.WorkflowID, k.RunID, e.EventID, nonNil(e.Data))
		}
		stmts = append(stmts, Statement{Query: s.q(multiRowInsert("INSERT INTO history_events"+
			" (shard_id, namespace_id, workflow_id, run_id, event_id, data) VALUES ", 6, len(chunk))), Args: args})
	}
	return stmts
}

// appendOutboxTasks is insertOutboxTasks as statements; an unknown
// category is left to the transaction, which reports it.
func (s *Store) appendOutboxTasks(stmts []Statement, shardID int32, tasks []persistence.OutboxTask) []Statement {
	var transfer, timers []any
	nt, nm := 0, 0
	flush := func() {
		if nt > 0 {
			stmts = append(stmts, Statement{Query: s.q(multiRowInsert("INSERT INTO transfer_tasks (shard_id, task_id, data) VALUES ", 3, nt)), Args: transfer})
			transfer, nt = nil, 0
		}
		if nm > 0 {
			stmts = append(stmts, Statement{Query: s.q(multiRowInsert("INSERT INTO timer_tasks (shard_id, visibility_ts, task_id, data) VALUES ", 4, nm)), Args: timers})
			timers, nm = nil, 0
		}
	}
	for _, t := range tasks {
		switch t.Category {
		case persistence.CategoryTransfer:
			transfer = append(transfer, shardID, t.TaskID, nonNil(t.Data))
			nt++
		case persistence.CategoryTimer:
			timers = append(timers, shardID, encodeTime(t.VisibilityTime), t.TaskID, nonNil(t.Data))
			nm++
		default:
			// Not reached for valid requests; a statement that always
			// fails sends the write to the transaction, which reports it.
			stmts = append(stmts, Statement{Query: failUnless("false", "unknown outbox category")})
		}
		if nt == insertChunk || nm == insertChunk {
			flush()
		}
	}
	flush()
	return stmts
}

// writeWithPipeline tries the fast path, then the transaction.
// (build is not called without a pipeline: SQLite pays nothing.)
func (s *Store) writeWithPipeline(ctx context.Context, op string, build func() ([]Statement, bool), fn func(tx *sql.Tx) error) error {
	if s.pipeline != nil {
		if stmts, ok := build(); ok {
			if done, err := s.pipelined(ctx, op, stmts); done {
				return err
			}
		}
	}
	return s.write(ctx, op, fn)
}
