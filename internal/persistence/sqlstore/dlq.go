package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/sundialhq/sundial/internal/persistence"
)

// The dead-letter table outbox_dlq (schema v3) holds outbox tasks that
// failed past their retry budget, keyed as they were in the outbox.

func checkCategory(c persistence.TaskCategory) error {
	if c != persistence.CategoryTransfer && c != persistence.CategoryTimer {
		return fmt.Errorf("sqlstore: unknown outbox category %d", c)
	}
	return nil
}

// MoveOutboxTaskToDLQ implements persistence.DLQStore.
func (s *Store) MoveOutboxTaskToDLQ(ctx context.Context, rangeID int64, t persistence.DLQTask) error {
	if err := checkCategory(t.Category); err != nil {
		return err
	}
	msg := dlqErrorText(t.LastError)
	return s.write(ctx, "move outbox task to dlq", func(tx *sql.Tx) error {
		if err := s.fenceShard(ctx, tx, t.ShardID, rangeID); err != nil {
			return err
		}
		var err error
		if t.Category == persistence.CategoryTimer {
			_, err = tx.ExecContext(ctx, s.q("DELETE FROM timer_tasks WHERE shard_id = ? AND visibility_ts = ? AND task_id = ?"),
				t.ShardID, encodeTime(t.VisibilityTime), t.TaskID)
		} else {
			_, err = tx.ExecContext(ctx, s.q("DELETE FROM transfer_tasks WHERE shard_id = ? AND task_id = ?"), t.ShardID, t.TaskID)
		}
		if err != nil {
			return s.dbErr("delete outbox task", err)
		}
		if err := s.deleteDLQRow(ctx, tx, t.DLQKey); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.q("INSERT INTO outbox_dlq (shard_id, category, task_id, visibility_ts, data, attempts, last_error, moved_at)"+
			" VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
			t.ShardID, int32(t.Category), t.TaskID, encodeTime(t.VisibilityTime), nonNil(t.Data), t.Attempts, msg, encodeTime(t.MovedAt))
		return s.dbErr("insert dlq task", err)
	})
}

// dlqErrorText is msg as valid UTF-8 cut to at most MaxDLQErrorLength
// bytes on a rune boundary (MySQL rejects invalid UTF-8 in TEXT).
func dlqErrorText(msg string) string {
	msg = strings.ToValidUTF8(msg, "\uFFFD")
	if len(msg) <= persistence.MaxDLQErrorLength {
		return msg
	}
	cut := persistence.MaxDLQErrorLength
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return msg[:cut]
}

func (s *Store) deleteDLQRow(ctx context.Context, tx *sql.Tx, k persistence.DLQKey) error {
	_, err := tx.ExecContext(ctx, s.q("DELETE FROM outbox_dlq WHERE shard_id = ? AND category = ? AND task_id = ?"),
		k.ShardID, int32(k.Category), k.TaskID)
	return s.dbErr("delete dlq task", err)
}

const dlqColumns = "shard_id, category, task_id, visibility_ts, data, attempts, last_error, moved_at"

func scanDLQ(sc interface{ Scan(...any) error }) (persistence.DLQTask, error) {
	var t persistence.DLQTask
	var cat int32
	var vis, moved int64
	if err := sc.Scan(&t.ShardID, &cat, &t.TaskID, &vis, &t.Data, &t.Attempts, &t.LastError, &moved); err != nil {
		return t, err
	}
	t.Category, t.VisibilityTime, t.MovedAt = persistence.TaskCategory(cat), decodeTime(vis), decodeTime(moved)
	return t, nil
}

// ListDLQ implements persistence.DLQStore.
func (s *Store) ListDLQ(ctx context.Context, after persistence.DLQKey, limit int) ([]persistence.DLQTask, error) {
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	// (shard, category, id) > after, spelled without row comparison.
	return queryAll(ctx, s, "list dlq", scanDLQ, "SELECT "+dlqColumns+" FROM outbox_dlq"+
		" WHERE shard_id > ? OR (shard_id = ? AND (category > ? OR (category = ? AND task_id > ?)))"+
		" ORDER BY shard_id, category, task_id LIMIT ?",
		after.ShardID, after.ShardID, int32(after.Category), int32(after.Category), after.TaskID, limit)
}

// RestoreDLQTask implements persistence.DLQStore.
func (s *Store) RestoreDLQTask(ctx context.Context, key persistence.DLQKey) (persistence.OutboxTask, error) {
	var out persistence.OutboxTask
	err := s.write(ctx, "restore dlq task", func(tx *sql.Tx) error {
		row := tx.QueryRowContext(ctx, s.q("SELECT "+dlqColumns+" FROM outbox_dlq WHERE shard_id = ? AND category = ? AND task_id = ?"),
			key.ShardID, int32(key.Category), key.TaskID)
		t, err := scanDLQ(row)
		if errors.Is(err, sql.ErrNoRows) {
			return persistence.ErrNotFound
		}
		if err != nil {
			return s.dbErr("read dlq task", err)
		}
		out = persistence.OutboxTask{Category: t.Category, TaskID: t.TaskID, Data: t.Data}
		if t.Category == persistence.CategoryTimer {
			out.VisibilityTime = t.VisibilityTime
		}
		if err := s.deleteDLQRow(ctx, tx, key); err != nil {
			return err
		}
		return s.insertOutboxTasks(ctx, tx, key.ShardID, []persistence.OutboxTask{out})
	})
	return out, err
}

// DeleteDLQTask implements persistence.DLQStore.
func (s *Store) DeleteDLQTask(ctx context.Context, key persistence.DLQKey) error {
	return s.write(ctx, "delete dlq task", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q("DELETE FROM outbox_dlq WHERE shard_id = ? AND category = ? AND task_id = ?"),
			key.ShardID, int32(key.Category), key.TaskID)
		if err != nil {
			return s.dbErr("delete dlq task", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return s.dbErr("delete dlq task", err)
		} else if n == 0 {
			return persistence.ErrNotFound
		}
		return nil
	})
}

// CountDLQ implements persistence.DLQStore.
func (s *Store) CountDLQ(ctx context.Context) (int64, error) {
	var n int64
	err := s.read(ctx, "count dlq", func() error {
		return s.dbErr("count dlq", s.rdb.QueryRowContext(ctx, "SELECT COUNT(*) FROM outbox_dlq").Scan(&n))
	})
	return n, err
}
