package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/sundialhq/sundial/internal/persistence"
)

// ReadHistory implements persistence.ExecutionStore. A non-positive limit
// is an error: every page has a bound.
func (s *Store) ReadHistory(ctx context.Context, shardID int32, key persistence.WorkflowKey,
	minEventID, maxEventID int64, limit int, reverse bool) ([]persistence.HistoryEvent, error) {
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	order := "ASC"
	if reverse {
		order = "DESC"
	}
	query := s.q("SELECT event_id, data FROM history_events" +
		" WHERE shard_id = ? AND namespace_id = ? AND workflow_id = ? AND run_id = ? AND event_id >= ? AND event_id < ?" +
		" ORDER BY event_id " + order + " LIMIT ?")
	var out []persistence.HistoryEvent
	err := s.read(ctx, "read history", func() error {
		out = out[:0]
		rows, err := s.rdb.QueryContext(ctx, query,
			shardID, key.NamespaceID, key.WorkflowID, key.RunID, minEventID, maxEventID, limit)
		if err != nil {
			return s.dbErr("read history", err)
		}
		defer rows.Close()
		for rows.Next() {
			var e persistence.HistoryEvent
			if err := rows.Scan(&e.EventID, &e.Data); err != nil {
				return s.dbErr("scan history event", err)
			}
			out = append(out, e)
		}
		return s.dbErr("read history", rows.Err())
	})
	return out, err
}

// insertOutboxTasks writes tasks into their category's table, a
// multi-row INSERT per category and insertChunk tasks. A duplicate key is
// a caller bug (task IDs come from the shard's range) and is returned as
// a plain error.
func (s *Store) insertOutboxTasks(ctx context.Context, tx *sql.Tx, shardID int32, tasks []persistence.OutboxTask) error {
	var transfer, timers []persistence.OutboxTask
	for _, t := range tasks {
		switch t.Category {
		case persistence.CategoryTransfer:
			transfer = append(transfer, t)
		case persistence.CategoryTimer:
			timers = append(timers, t)
		default:
			return fmt.Errorf("sqlstore: outbox task %d: unknown category %d", t.TaskID, t.Category)
		}
	}
	for len(transfer) > 0 {
		chunk := transfer[:min(len(transfer), insertChunk)]
		transfer = transfer[len(chunk):]
		args := make([]any, 0, 3*len(chunk))
		for _, t := range chunk {
			args = append(args, shardID, t.TaskID, nonNil(t.Data))
		}
		_, err := tx.ExecContext(ctx, s.q(multiRowInsert("INSERT INTO transfer_tasks (shard_id, task_id, data) VALUES ", 3, len(chunk))), args...)
		if err != nil {
			return s.dbErr(fmt.Sprintf("insert transfer tasks %d-%d", chunk[0].TaskID, chunk[len(chunk)-1].TaskID), err)
		}
	}
	for len(timers) > 0 {
		chunk := timers[:min(len(timers), insertChunk)]
		timers = timers[len(chunk):]
		args := make([]any, 0, 4*len(chunk))
		for _, t := range chunk {
			args = append(args, shardID, encodeTime(t.VisibilityTime), t.TaskID, nonNil(t.Data))
		}
		_, err := tx.ExecContext(ctx, s.q(multiRowInsert("INSERT INTO timer_tasks (shard_id, visibility_ts, task_id, data) VALUES ", 4, len(chunk))), args...)
		if err != nil {
			return s.dbErr(fmt.Sprintf("insert timer tasks %d-%d", chunk[0].TaskID, chunk[len(chunk)-1].TaskID), err)
		}
	}
	return nil
}

// GetOutboxTasks implements persistence.ExecutionStore. A non-positive
// limit is an error.
func (s *Store) GetOutboxTasks(ctx context.Context, shardID int32, category persistence.TaskCategory,
	afterTime time.Time, afterTaskID int64, beforeTime time.Time, limit int) ([]persistence.OutboxTask, error) {
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	var query string
	var args []any
	switch category {
	case persistence.CategoryTransfer:
		query = "SELECT 0, task_id, data FROM transfer_tasks WHERE shard_id = ? AND task_id > ? ORDER BY task_id LIMIT ?"
		args = []any{shardID, afterTaskID, limit}
	case persistence.CategoryTimer:
		after, before := int64(math.MinInt64), int64(math.MaxInt64)
		if !afterTime.IsZero() {
			after = encodeTime(afterTime)
		}
		if !beforeTime.IsZero() {
			before = encodeTime(beforeTime)
		}
		// (ts, id) > (after, afterTaskID), spelled so every backend uses
		// the primary key for a range scan starting at ts = after.
		query = "SELECT visibility_ts, task_id, data FROM timer_tasks" +
			" WHERE shard_id = ? AND visibility_ts >= ? AND (visibility_ts > ? OR task_id > ?) AND visibility_ts < ?" +
			" ORDER BY visibility_ts, task_id LIMIT ?"
		args = []any{shardID, after, after, afterTaskID, before, limit}
	default:
		return nil, fmt.Errorf("sqlstore: unknown outbox category %d", category)
	}
	var out []persistence.OutboxTask
	err := s.read(ctx, "get outbox tasks", func() error {
		out = out[:0]
		rows, err := s.rdb.QueryContext(ctx, s.q(query), args...)
		if err != nil {
			return s.dbErr("get outbox tasks", err)
		}
		defer rows.Close()
		for rows.Next() {
			t := persistence.OutboxTask{Category: category}
			var ts int64
			if err := rows.Scan(&ts, &t.TaskID, &t.Data); err != nil {
				return s.dbErr("scan outbox task", err)
			}
			t.VisibilityTime = decodeTime(ts)
			out = append(out, t)
		}
		return s.dbErr("get outbox tasks", rows.Err())
	})
	return out, err
}

// CompleteOutboxTasks implements persistence.ExecutionStore. Each DELETE
// carries the shard fence as a condition (no shared lock: a delete racing
// an acquisition removes only tasks its writer had executed), so a stale
// owner's delete, even one that reaches the database long after it was
// sent, removes nothing. Callers batch completions (the history queues
// flush them every 100 ms), so this is one statement or transaction for
// many tasks.
func (s *Store) CompleteOutboxTasks(ctx context.Context, shardID int32, rangeID int64, category persistence.TaskCategory,
	keys []persistence.OutboxKey) error {
	if category != persistence.CategoryTransfer && category != persistence.CategoryTimer {
		return fmt.Errorf("sqlstore: unknown outbox category %d", category)
	}
	if len(keys) == 0 {
		return nil
	}
	if s.server && len(keys) <= maxDeleteIn {
		// One statement on a server database: no transaction (BEGIN and
		// COMMIT would be two more round trips). Deleting a done task is
		// idempotent, so a retry after an unknown outcome is harmless.
		return s.retry(ctx, "complete outbox tasks", func() error {
			if category == persistence.CategoryTimer {
				return s.deleteTimerTasks(ctx, s.wdb, shardID, rangeID, keys)
			}
			return s.deleteTransferTasks(ctx, s.wdb, shardID, rangeID, keys)
		})
	}
	return s.write(ctx, "complete outbox tasks", func(tx *sql.Tx) error {
		if category == persistence.CategoryTimer && s.server {
			for len(keys) > 0 {
				n := min(len(keys), maxDeleteIn)
				if err := s.deleteTimerTasks(ctx, tx, shardID, rangeID, keys[:n]); err != nil {
					return err
				}
				keys = keys[n:]
			}
			return nil
		}
		if category == persistence.CategoryTimer {
			// SQLite: one primary-key DELETE each (statements cost no round
			// trip there, and this is its measured path), after one fence.
			var got int64
			err := tx.QueryRowContext(ctx, s.q("SELECT range_id FROM shards WHERE shard_id = ?"), shardID).Scan(&got)
			if errors.Is(err, sql.ErrNoRows) || (err == nil && got != rangeID) {
				return nil
			}
			if err != nil {
				return s.dbErr("read shard range_id", err)
			}
			for _, k := range keys {
				_, err := tx.ExecContext(ctx, s.q("DELETE FROM timer_tasks WHERE shard_id = ? AND visibility_ts = ? AND task_id = ?"),
					shardID, encodeTime(k.VisibilityTime), k.TaskID)
				if err != nil {
					return s.dbErr("complete timer task", err)
				}
			}
			return nil
		}
		for len(keys) > 0 {
			n := min(len(keys), maxDeleteIn)
			if err := s.deleteTransferTasks(ctx, tx, shardID, rangeID, keys[:n]); err != nil {
				return err
			}
			keys = keys[n:]
		}
		return nil
	})
}

// outboxFence is the condition that makes an outbox DELETE a no-op for a
// stale owner; its arguments are the shard ID and the writer's range ID.
const outboxFence = " AND (SELECT range_id FROM shards WHERE shard_id = ?) = ?"

// maxDeleteIn bounds the IN list of one transfer-task DELETE.
const maxDeleteIn = 256

// deleteTransferTasks deletes keys by one IN list on the primary key,
// padded to a power of two with copies of the last ID, so there are few
// distinct statements for the statement caches.
func (s *Store) deleteTransferTasks(ctx context.Context, tx execer, shardID int32, rangeID int64, keys []persistence.OutboxKey) error {
	n := 1
	for n < len(keys) {
		n *= 2
	}
	var q strings.Builder
	args := make([]any, 0, 1+n)
	args = append(args, shardID)
	q.WriteString("DELETE FROM transfer_tasks WHERE shard_id = ? AND task_id IN (")
	for i := range n {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("?")
		args = append(args, keys[min(i, len(keys)-1)].TaskID)
	}
	q.WriteString(")" + outboxFence)
	args = append(args, shardID, rangeID)
	_, err := tx.ExecContext(ctx, s.q(q.String()), args...)
	return s.dbErr("complete transfer tasks", err)
}

// deleteTimerTasks deletes keys with one statement, a row-value IN list on
// the primary key padded to a power of two like deleteTransferTasks.
// PostgreSQL and MySQL plan it as primary-key lookups (checked with
// EXPLAIN: a BitmapOr of index scans, a range on PRIMARY).
func (s *Store) deleteTimerTasks(ctx context.Context, tx execer, shardID int32, rangeID int64, keys []persistence.OutboxKey) error {
	n := 1
	for n < len(keys) {
		n *= 2
	}
	var q strings.Builder
	args := make([]any, 0, 1+2*n)
	args = append(args, shardID)
	q.WriteString("DELETE FROM timer_tasks WHERE shard_id = ? AND (visibility_ts, task_id) IN (")
	for i := range n {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?)")
		k := keys[min(i, len(keys)-1)]
		args = append(args, encodeTime(k.VisibilityTime), k.TaskID)
	}
	q.WriteString(")" + outboxFence)
	args = append(args, shardID, rangeID)
	_, err := tx.ExecContext(ctx, s.q(q.String()), args...)
	return s.dbErr("complete timer tasks", err)
}

// execer is a *sql.Tx or, for a single autocommitted statement, a *sql.DB.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}
