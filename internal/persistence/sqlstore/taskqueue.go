package sqlstore

import (
	"context"
	"database/sql"

	"github.com/sundialhq/sundial/internal/persistence"
)

const insertTask = "INSERT INTO tasks (namespace_id, name, kind, partition_id, task_id, expires_at, data) VALUES (?, ?, ?, ?, ?, ?, ?)"

// tqWhere selects one partition; its arguments come from tqArgs.
const tqWhere = " WHERE namespace_id = ? AND name = ? AND kind = ? AND partition_id = ?"

func tqArgs(key persistence.TaskQueueKey, more ...any) []any {
	return append([]any{key.NamespaceID, key.Name, int32(key.Kind), key.Partition}, more...)
}

// LeaseTaskQueue implements persistence.TaskQueueStore, the same way as
// AcquireShard.
func (s *Store) LeaseTaskQueue(ctx context.Context, key persistence.TaskQueueKey) (rangeID, ackLevel int64, err error) {
	err = s.write(ctx, "lease task queue", func(tx *sql.Tx) error {
		ins := s.d.InsertIgnore("task_queues",
			[]string{"namespace_id", "name", "kind", "partition_id", "range_id", "ack_level"},
			[]string{"namespace_id", "name", "kind", "partition_id"})
		if _, err := tx.ExecContext(ctx, s.q(ins), tqArgs(key, 0, 0)...); err != nil {
			return s.dbErr("insert task queue", err)
		}
		if _, err := tx.ExecContext(ctx, s.q("UPDATE task_queues SET range_id = range_id + 1"+tqWhere), tqArgs(key)...); err != nil {
			return s.dbErr("bump task queue range_id", err)
		}
		err := tx.QueryRowContext(ctx, s.q("SELECT range_id, ack_level FROM task_queues"+tqWhere), tqArgs(key)...).
			Scan(&rangeID, &ackLevel)
		return s.dbErr("read task queue", err)
	})
	return rangeID, ackLevel, err
}

// UpdateAckLevel implements persistence.TaskQueueStore.
func (s *Store) UpdateAckLevel(ctx context.Context, key persistence.TaskQueueKey, rangeID, ackLevel int64) error {
	return s.write(ctx, "update ack level", func(tx *sql.Tx) error {
		if err := s.fenceTaskQueue(ctx, tx, key, rangeID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q("UPDATE task_queues SET ack_level = ?"+tqWhere), append([]any{ackLevel}, tqArgs(key)...)...)
		return s.dbErr("update ack level", err)
	})
}

// CreateTasks implements persistence.TaskQueueStore. A duplicate task ID is
// a caller bug (IDs come from the lease's range) and is returned as a
// plain error; nothing is written.
func (s *Store) CreateTasks(ctx context.Context, key persistence.TaskQueueKey, rangeID int64, tasks []persistence.QueueTask) error {
	build := func() ([]Statement, bool) { return s.createTasksPipeline(key, rangeID, tasks) }
	return s.writeWithPipeline(ctx, "create tasks", build, func(tx *sql.Tx) error {
		if err := s.fenceTaskQueue(ctx, tx, key, rangeID); err != nil {
			return err
		}
		if len(tasks) == 0 {
			return nil
		}
		if s.server {
			// Interpolated (MySQL) or cached by the driver (PostgreSQL):
			// one round trip per task, no separate prepare.
			for _, t := range tasks {
				if _, err := tx.ExecContext(ctx, s.q(insertTask), tqArgs(key, t.TaskID, encodeTime(t.ExpiresAt), nonNil(t.Data))...); err != nil {
					return s.dbErr("insert task", err)
				}
			}
			return nil
		}
		stmt, err := tx.PrepareContext(ctx, s.q(insertTask))
		if err != nil {
			return s.dbErr("prepare insert task", err)
		}
		defer stmt.Close()
		for _, t := range tasks {
			if _, err := stmt.ExecContext(ctx, tqArgs(key, t.TaskID, encodeTime(t.ExpiresAt), nonNil(t.Data))...); err != nil {
				return s.dbErr("insert task", err)
			}
		}
		return nil
	})
}

// GetTasks implements persistence.TaskQueueStore. Expired tasks are
// returned too; the caller drops them. A non-positive limit is an error.
func (s *Store) GetTasks(ctx context.Context, key persistence.TaskQueueKey, afterTaskID int64, limit int) ([]persistence.QueueTask, error) {
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	var out []persistence.QueueTask
	err := s.read(ctx, "get tasks", func() error {
		out = out[:0]
		rows, err := s.rdb.QueryContext(ctx, s.q("SELECT task_id, expires_at, data FROM tasks"+tqWhere+
			" AND task_id > ? ORDER BY task_id LIMIT ?"), tqArgs(key, afterTaskID, limit)...)
		if err != nil {
			return s.dbErr("get tasks", err)
		}
		defer rows.Close()
		for rows.Next() {
			var t persistence.QueueTask
			var exp int64
			if err := rows.Scan(&t.TaskID, &exp, &t.Data); err != nil {
				return s.dbErr("scan task", err)
			}
			t.ExpiresAt = decodeTime(exp)
			out = append(out, t)
		}
		return s.dbErr("get tasks", rows.Err())
	})
	return out, err
}

// CompleteTasksUpTo implements persistence.TaskQueueStore. Not fenced: the
// contract gives it no range ID, and deleting processed tasks is idempotent.
func (s *Store) CompleteTasksUpTo(ctx context.Context, key persistence.TaskQueueKey, taskID int64) (int64, error) {
	var n int64
	err := s.write(ctx, "complete tasks up to", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q("DELETE FROM tasks"+tqWhere+" AND task_id <= ?"), tqArgs(key, taskID)...)
		if err != nil {
			return s.dbErr("complete tasks up to", err)
		}
		n, err = res.RowsAffected()
		return s.dbErr("complete tasks up to: rows affected", err)
	})
	return n, err
}

// CompleteTask implements persistence.TaskQueueStore.
func (s *Store) CompleteTask(ctx context.Context, key persistence.TaskQueueKey, taskID int64) error {
	if s.server {
		// One idempotent statement: autocommitted, retried as it is.
		return s.retry(ctx, "complete task", func() error {
			_, err := s.wdb.ExecContext(ctx, s.q("DELETE FROM tasks"+tqWhere+" AND task_id = ?"), tqArgs(key, taskID)...)
			return s.dbErr("complete task", err)
		})
	}
	return s.write(ctx, "complete task", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q("DELETE FROM tasks"+tqWhere+" AND task_id = ?"), tqArgs(key, taskID)...)
		return s.dbErr("complete task", err)
	})
}

// CountTasks implements persistence.TaskQueueStore.
func (s *Store) CountTasks(ctx context.Context, key persistence.TaskQueueKey) (int64, error) {
	var n int64
	err := s.read(ctx, "count tasks", func() error {
		err := s.rdb.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM tasks"+tqWhere), tqArgs(key)...).Scan(&n)
		return s.dbErr("count tasks", err)
	})
	return n, err
}
