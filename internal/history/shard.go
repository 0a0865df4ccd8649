package history

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"sync/atomic"

	"github.com/sundialhq/sundial/internal/history/queues"
	"github.com/sundialhq/sundial/internal/history/statemachine"
	"github.com/sundialhq/sundial/internal/persistence"
)

// taskIDBits: task IDs are rangeID<<taskIDBits + sequence, so they keep
// rising across owner changes.
const taskIDBits = 20

// ShardFor maps a workflow to its shard.
func ShardFor(namespaceID, workflowID string, numShards int32) int32 {
	h := fnv.New32a()
	h.Write([]byte(namespaceID))
	h.Write([]byte{0})
	h.Write([]byte(workflowID))
	return int32(h.Sum32() % uint32(numShards))
}

// shard is one owned history shard: its fence (rangeID), task ID sequence
// and outbox queues.
type shard struct {
	id int32
	e  *Engine

	// mu: writers hold it shared while they allocate task IDs and write;
	// re-acquiring the shard (new rangeID) holds it exclusively.
	mu      sync.RWMutex
	rangeID int64
	// fence mirrors rangeID for readers that must not take mu: the outbox
	// queues' deletes and DLQ moves (a queue is stopped under mu).
	fence atomic.Int64
	seq   atomic.Int64
	reacq bool // a write's outcome was unknown: re-acquire first
	// lost: this process does not serve the shard (not acquired yet,
	// released because the ring gave it to another member, or taken by
	// another owner).
	lost bool
	// gen counts acquisitions; a cached run loaded under an older one may
	// be stale (another owner may have moved it on meanwhile).
	gen atomic.Int64
	// q holds the outbox queues of the current acquisition.
	q atomic.Pointer[shardQueues]
}

// shardQueues are the outbox queues of one acquisition of a shard: a queue
// cannot be restarted once stopped, so each acquisition makes new ones.
type shardQueues struct {
	transfer *queues.Queue
	timer    *queues.Queue
}

// newQueues makes a stopped-never-started pair of outbox queues.
func (sh *shard) newQueues() *shardQueues {
	e := sh.e
	maxAttempts := func() int { return e.opts.Dynamic.Int(KeyOutboxMaxAttempts, queues.DefaultMaxAttempts) }
	qopts := queues.Options{ShardID: sh.id, RangeID: sh.fence.Load, Store: e.opts.Store, DLQ: e.opts.Store, Clock: e.opts.Clock, Logger: e.opts.Logger,
		MaxAttempts: maxAttempts, OnDeadLetter: e.onDeadLetter}
	sq := &shardQueues{}
	qopts.Category, qopts.Execute = persistence.CategoryTransfer, e.executor(e.executeTransfer)
	sq.transfer = queues.New(qopts)
	qopts.Category, qopts.Execute = persistence.CategoryTimer, e.executor(e.executeTimer)
	sq.timer = queues.New(qopts)
	return sq
}

func (sh *shard) acquire(ctx context.Context) error {
	r, err := sh.e.opts.Store.AcquireShard(ctx, sh.id)
	if err != nil {
		return fmt.Errorf("acquire shard %d: %w", sh.id, err)
	}
	sh.rangeID, sh.reacq, sh.lost = r, false, false
	sh.fence.Store(r)
	sh.seq.Store(0)
	sh.gen.Add(1)
	sh.e.opts.Logger.Debug("shard acquired", "shard", sh.id, "range_id", r)
	return nil
}

// acquireAndStart takes the shard while running (the ring gave it to this
// process): a fresh range_id fences off the previous owner, and the new
// queues read back every task the previous owners left before any write
// of ours can add to them. Writers wait on sh.mu meanwhile.
func (sh *shard) acquireAndStart(ctx context.Context) error {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if !sh.lost {
		return nil
	}
	r, err := sh.e.opts.Store.AcquireShard(ctx, sh.id)
	if err != nil {
		return fmt.Errorf("acquire shard %d: %w", sh.id, err)
	}
	sq := sh.newQueues()
	if err := sq.transfer.Start(ctx); err != nil {
		return fmt.Errorf("recover transfer tasks of shard %d: %w", sh.id, err)
	}
	if err := sq.timer.Start(ctx); err != nil {
		sq.transfer.Stop()
		return fmt.Errorf("recover timer tasks of shard %d: %w", sh.id, err)
	}
	sh.q.Store(sq)
	sh.rangeID, sh.reacq, sh.lost = r, false, false
	sh.fence.Store(r)
	sh.seq.Store(0)
	sh.gen.Add(1)
	sh.e.opts.Logger.Info("shard acquired", "shard", sh.id, "range_id", r)
	return nil
}

// release stops serving the shard (the ring gave it to another member, or
// the process leaves): in-flight writes finish first (they hold sh.mu
// shared), later calls fail with ownership lost, and the queues stop; the
// tasks they held stay in the outbox for the next owner. It reports
// whether the shard was served.
func (sh *shard) release() bool {
	sh.mu.Lock()
	if sh.lost {
		sh.mu.Unlock()
		return false
	}
	sh.lost = true
	sq := sh.q.Load()
	sh.mu.Unlock()
	sh.e.watch.notifyShard(sh.id, sh.e.opts.NumShards)
	if sq != nil {
		sq.transfer.Stop()
		sq.timer.Stop()
	}
	return true
}

// serving reports whether the shard is served by this process.
func (sh *shard) serving() bool {
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	return !sh.lost
}

// renew moves the shard to a fresh range only if the store still holds
// ours (persistence.ShardStore.RenewShard): after an unknown write outcome
// it fences off our own late commit, and it never takes the shard back
// from an owner that acquired it meanwhile (that is ownership lost).
// Requires sh.mu held exclusively.
func (sh *shard) renew(ctx context.Context) error {
	r, err := sh.e.opts.Store.RenewShard(ctx, sh.id, sh.rangeID)
	if err != nil {
		var lost *persistence.ShardOwnershipLostError
		if errors.As(err, &lost) && !sh.lost {
			sh.lost = true
			sh.stopQueues()
		}
		return fmt.Errorf("renew shard %d: %w", sh.id, err)
	}
	sh.rangeID, sh.reacq = r, false
	sh.fence.Store(r)
	sh.seq.Store(0)
	return nil
}

// owned returns *persistence.ShardOwnershipLostError once the shard is
// lost: another process owns its runs now, so this one's cached state is
// stale and must serve neither reads nor writes.
func (sh *shard) owned() error {
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	if sh.lost {
		return &persistence.ShardOwnershipLostError{ShardID: sh.id, RangeID: sh.rangeID}
	}
	return nil
}

// stopQueues stops the shard's outbox queues once it is lost: its tasks
// belong to the new owner, who read them back on acquiring. It does not
// wait (it may run on a queue worker).
func (sh *shard) stopQueues() {
	sh.e.opts.Logger.Error("shard ownership lost; shard stopped", "shard", sh.id)
	sh.e.opts.Metrics.ShardClosed()
	sh.e.opts.Metrics.AddShards(-1)
	sh.e.opts.Metrics.ShardItemRemoved()
	sh.e.watch.notifyShard(sh.id, sh.e.opts.NumShards)
	if sq := sh.q.Load(); sq != nil {
		go func() {
			sq.transfer.Stop()
			sq.timer.Stop()
		}()
	}
}

// outboxTask is the encoded payload of an outbox row.
type outboxTask struct {
	NamespaceID string            `json:"n"`
	WorkflowID  string            `json:"w"`
	RunID       string            `json:"r"`
	Task        statemachine.Task `json:"t"`
}

// write runs fn with the shard's current rangeID and freshly allocated
// outbox rows for tasks. After an unknown outcome it hands the rows to the
// queues anyway and renews the shard's range before the next write; on
// ShardOwnershipLost it stops using the shard.
func (sh *shard) write(ctx context.Context, tasks []keyedTask,
	fn func(rangeID int64, rows []persistence.OutboxTask) error) ([]persistence.OutboxTask, error) {
	n := int64(len(tasks))
	for {
		if err := sh.prepare(ctx, n); err != nil {
			return nil, err
		}
		sh.rlockShard()
		end := sh.seq.Add(n)
		if end >= 1<<taskIDBits {
			sh.mu.RUnlock()
			continue // prepare renews the range
		}
		rows, err := sh.rows(tasks, sh.rangeID<<taskIDBits+end-n+1)
		if err == nil {
			err = fn(sh.rangeID, rows)
		}
		sh.mu.RUnlock()
		if err != nil {
			sh.noteWriteError(err)
			if errors.Is(err, persistence.ErrUnknownOutcome) {
				// The rows may have committed, and no one would read them
				// back before a restart. Executors re-check the state, so
				// running the tasks of a write that did not commit is a
				// no-op. Long polls re-read the run (they wait for our
				// workflow lock, so they see it reloaded).
				sh.enqueue(rows)
				for _, t := range tasks {
					sh.e.watch.notify(t.key)
				}
			}
			return nil, err
		}
		return rows, nil
	}
}

// keyedTask is an outbox task with the run it belongs to.
type keyedTask struct {
	key  persistence.WorkflowKey
	task statemachine.Task
}

func keyed(key persistence.WorkflowKey, tasks []statemachine.Task) []keyedTask {
	out := make([]keyedTask, len(tasks))
	for i, t := range tasks {
		out[i] = keyedTask{key: key, task: t}
	}
	return out
}

func (sh *shard) rows(tasks []keyedTask, firstID int64) ([]persistence.OutboxTask, error) {
	rows := make([]persistence.OutboxTask, len(tasks))
	for i, kt := range tasks {
		key, t := kt.key, kt.task
		data, err := json.Marshal(outboxTask{NamespaceID: key.NamespaceID, WorkflowID: key.WorkflowID, RunID: key.RunID, Task: t})
		if err != nil {
			return nil, err
		}
		rows[i] = persistence.OutboxTask{Category: persistence.CategoryTransfer, TaskID: firstID + int64(i), Data: data}
		if t.IsTimer() {
			rows[i].Category, rows[i].VisibilityTime = persistence.CategoryTimer, t.Time
		}
	}
	return rows, nil
}

// prepare re-acquires the shard after an unknown outcome or when the task
// ID sequence cannot fit n more tasks.
func (sh *shard) prepare(ctx context.Context, n int64) error {
	sh.mu.RLock()
	ok := !sh.lost && !sh.reacq && sh.seq.Load()+n < 1<<taskIDBits
	sh.mu.RUnlock()
	if ok {
		return nil
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.lost {
		return &persistence.ShardOwnershipLostError{ShardID: sh.id, RangeID: sh.rangeID}
	}
	if sh.reacq || sh.seq.Load()+n >= 1<<taskIDBits {
		return sh.renew(ctx)
	}
	return nil
}

func (sh *shard) noteWriteError(err error) {
	var lost *persistence.ShardOwnershipLostError
	var conflict *persistence.CurrentRunConflictError
	switch {
	case errors.As(err, &lost):
		sh.mu.Lock()
		if !sh.lost {
			sh.lost = true
			sh.stopQueues()
		}
		sh.mu.Unlock()
	case errors.Is(err, persistence.ErrConditionFailed), errors.Is(err, persistence.ErrAlreadyExists), errors.As(err, &conflict):
	default:
		sh.mu.Lock()
		sh.reacq = true
		sh.mu.Unlock()
	}
}

// enqueue hands committed rows to the queues.
func (sh *shard) enqueue(rows []persistence.OutboxTask) {
	sq := sh.q.Load()
	if sq == nil {
		return
	}
	for _, r := range rows {
		if r.Category == persistence.CategoryTimer {
			sq.timer.Add(r)
		} else {
			sq.transfer.Add(r)
		}
	}
}
