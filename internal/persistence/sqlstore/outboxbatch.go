package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/sundialhq/sundial/internal/persistence"
)

// Outbox deletes are coalesced: CompleteOutboxTask calls for one shard and
// category that arrive while a delete of theirs is running are deleted
// together by the next one, in one transaction. A history shard finishes
// a dozen outbox tasks per workflow from many queue workers at once; alone
// each would be a transaction of its own (three round trips on a server
// database, a commit on SQLite). Every call still returns only once its
// row is deleted (or the batch failed), as the contract says.

const (
	// maxDeleteBatch bounds the tasks of one delete transaction.
	maxDeleteBatch = 256
	// deleteTimeout bounds a batch: it serves many callers, so no one
	// caller's context may cancel it.
	deleteTimeout = 30 * time.Second
)

type deleteKey struct {
	shardID  int32
	category persistence.TaskCategory
}

type outboxRef struct {
	visibilityTime time.Time
	taskID         int64
}

// deleteBatch is the tasks deleted by one transaction.
type deleteBatch struct {
	refs []outboxRef
	done chan struct{} // closed when err is set
	err  error
}

type outboxDeleter struct {
	mu      sync.Mutex
	forming map[deleteKey]*deleteBatch  // the batch new calls join
	running map[deleteKey]chan struct{} // one running batch per key (capacity 1)
}

// completeOutboxTask joins the forming batch of (shardID, category); the
// call that opened the batch runs it once the key's previous batch ended.
func (s *Store) completeOutboxTask(ctx context.Context, shardID int32, category persistence.TaskCategory, ref outboxRef) error {
	d := &s.outboxDel
	k := deleteKey{shardID, category}
	d.mu.Lock()
	if d.forming == nil {
		d.forming, d.running = map[deleteKey]*deleteBatch{}, map[deleteKey]chan struct{}{}
	}
	b := d.forming[k]
	lead := b == nil || len(b.refs) >= maxDeleteBatch
	if lead {
		b = &deleteBatch{done: make(chan struct{})}
		d.forming[k] = b
	}
	b.refs = append(b.refs, ref)
	sem := d.running[k]
	if sem == nil {
		sem = make(chan struct{}, 1)
		d.running[k] = sem
	}
	d.mu.Unlock()
	if !lead {
		<-b.done
		return b.err
	}
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		// Nobody has waited on this batch yet but others may have joined:
		// run it anyway, only this caller stops waiting.
		go func() {
			sem <- struct{}{}
			s.runDeleteBatch(k, b, sem)
		}()
		return s.dbErr("complete outbox task", ctx.Err())
	}
	s.runDeleteBatch(k, b, sem)
	return b.err
}

// runDeleteBatch closes b to new calls, deletes its tasks and releases the
// key's next batch. The caller holds sem.
func (s *Store) runDeleteBatch(k deleteKey, b *deleteBatch, sem chan struct{}) {
	d := &s.outboxDel
	d.mu.Lock()
	if d.forming[k] == b {
		delete(d.forming, k)
	}
	refs := append([]outboxRef(nil), b.refs...)
	d.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), deleteTimeout)
	b.err = s.write(ctx, "complete outbox tasks", func(tx *sql.Tx) error {
		return s.deleteOutboxTasks(ctx, tx, k, refs)
	})
	cancel()
	close(b.done)
	<-sem
}

// deleteOutboxTasks deletes refs in tx: transfer tasks by one IN list on
// the primary key (padded to a power of two with copies of the last task,
// so there are few distinct statements for the statement caches), timer
// tasks one primary-key DELETE each (an OR of (time, ID) pairs is not
// planned as primary-key lookups by every backend).
func (s *Store) deleteOutboxTasks(ctx context.Context, tx *sql.Tx, k deleteKey, refs []outboxRef) error {
	switch k.category {
	case persistence.CategoryTransfer:
		n := 1
		for n < len(refs) {
			n *= 2
		}
		var q strings.Builder
		args := make([]any, 0, 1+n)
		args = append(args, k.shardID)
		q.WriteString("DELETE FROM transfer_tasks WHERE shard_id = ? AND task_id IN (")
		for i := range n {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("?")
			args = append(args, refs[min(i, len(refs)-1)].taskID)
		}
		q.WriteString(")")
		_, err := tx.ExecContext(ctx, s.q(q.String()), args...)
		return s.dbErr("complete outbox tasks", err)
	case persistence.CategoryTimer:
		for _, r := range refs {
			_, err := tx.ExecContext(ctx, s.q("DELETE FROM timer_tasks WHERE shard_id = ? AND visibility_ts = ? AND task_id = ?"),
				k.shardID, encodeTime(r.visibilityTime), r.taskID)
			if err != nil {
				return s.dbErr("complete outbox task", err)
			}
		}
		return nil
	}
	return fmt.Errorf("sqlstore: unknown outbox category %d", k.category)
}
