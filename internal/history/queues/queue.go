// Package queues runs a shard's outbox: tasks committed with a state change
// are handed over in memory right after the commit, executed when due, and
// deleted from the store once done. On start the store's rows are read back,
// so tasks of a crashed process run after the restart.
//
// Deletes are batched: a done task's key waits up to completeInterval (or
// until completeBatch keys wait) and is deleted with the others in one
// transaction. A crash in between only means those tasks run again, which
// executors allow for anyway.
package queues

import (
	"container/heap"
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sundialhq/sundial/internal/clock"
	"github.com/sundialhq/sundial/internal/persistence"
)

// Executor runs one task. nil means done (the task is deleted); an error
// means retry later (with backoff; after Options.MaxAttempts failures the
// task is dead-lettered, see retry.go). A task that can never succeed (its
// run or target is gone or closed) must return nil, not an error.
// Executors must be idempotent: a task may run again after a crash
// between its effect and its deletion.
type Executor func(ctx context.Context, t persistence.OutboxTask) error

const (
	// completeBatch is the most keys one delete carries; completeInterval
	// is how long a done task's key may wait for others.
	completeBatch    = 256
	completeInterval = 100 * time.Millisecond
	// completeTimeout bounds one batch delete.
	completeTimeout = 10 * time.Second
)

// Options configures a Queue.
type Options struct {
	ShardID int32
	// RangeID returns the shard's current range ID, which fences the
	// queue's deletes and DLQ moves (a stale owner's change nothing).
	RangeID  func() int64
	Category persistence.TaskCategory
	Store    persistence.ExecutionStore
	// DLQ receives tasks that failed MaxAttempts times; nil keeps retrying
	// them for ever (at the backoff cap).
	DLQ     persistence.DLQStore
	Execute Executor
	Clock   clock.Clock
	Logger  *slog.Logger
	// Workers is how many tasks run at once (default 4).
	Workers int
	// RecoveryPageSize bounds each read of the store on start (default 1000).
	RecoveryPageSize int
	// Backoff spaces the retries of a failing task (DefaultBackoff when
	// zero).
	Backoff Backoff
	// Rand returns numbers in [0, 1) for the retry jitter (default: the
	// math/rand/v2 global source). Tests pass a fixed sequence.
	Rand func() float64
	// MaxAttempts is read at each failure: the number of failed runs after
	// which a task moves to the DLQ (DefaultMaxAttempts when nil or < 1).
	MaxAttempts func() int
	// OnDeadLetter, if set, is called after a task was moved to the DLQ
	// (for metrics).
	OnDeadLetter func(t persistence.OutboxTask, attempts int, err error)
}

// Queue holds a shard's pending tasks of one category, ordered by
// (VisibilityTime, TaskID); transfer tasks have a zero time and are always due.
type Queue struct {
	opts Options
	mu   sync.Mutex
	h    taskHeap
	// attempts counts failed runs of tasks still pending, by task ID; it
	// lives in memory only, so a restart gives every task a fresh budget.
	attempts map[int64]int
	// Retries waiting out a backoff after an outage-like failure (see
	// outage.go), by task ID; early marks the tasks already released once
	// before their backoff ended; outage is set by such a failure and
	// cleared by the next success.
	parked map[int64]parkedTask
	early  map[int64]bool
	outage atomic.Bool // read without mu on every success
	gen    uint64
	wake   chan struct{}
	ready  chan persistence.OutboxTask
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	started   atomic.Bool
	stopOnce  sync.Once
	doneMu    sync.Mutex
	done      []persistence.OutboxKey // executed, not yet deleted
	flushNow  chan struct{}           // capacity 1
	stopFlush chan struct{}           // closed by Stop after the workers ended
	flushed   chan struct{}           // closed when the flush loop ended
}

// New returns a stopped queue.
func New(opts Options) *Queue {
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	if opts.RecoveryPageSize <= 0 {
		opts.RecoveryPageSize = 1000
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Backoff == (Backoff{}) {
		opts.Backoff = DefaultBackoff
	}
	if opts.Rand == nil {
		opts.Rand = rand.Float64
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Queue{opts: opts, attempts: map[int64]int{}, parked: map[int64]parkedTask{}, early: map[int64]bool{}, wake: make(chan struct{}, 1), ready: make(chan persistence.OutboxTask), ctx: ctx, cancel: cancel,
		flushNow: make(chan struct{}, 1), stopFlush: make(chan struct{}), flushed: make(chan struct{})}
}

// Start loads the tasks left in the store and starts running them.
func (q *Queue) Start(ctx context.Context) error {
	if err := q.recover(ctx); err != nil {
		return err
	}
	q.wg.Add(1 + q.opts.Workers)
	q.started.Store(true)
	go q.dispatchLoop()
	go q.flushLoop()
	for range q.opts.Workers {
		go q.worker()
	}
	return nil
}

func (q *Queue) recover(ctx context.Context) error {
	var afterTime time.Time
	var afterID int64
	for {
		page, err := q.opts.Store.GetOutboxTasks(ctx, q.opts.ShardID, q.opts.Category, afterTime, afterID, time.Time{}, q.opts.RecoveryPageSize)
		if err != nil {
			return err
		}
		q.Add(page...)
		if len(page) < q.opts.RecoveryPageSize {
			return nil
		}
		last := page[len(page)-1]
		afterTime, afterID = last.VisibilityTime, last.TaskID
	}
}

// Stop ends the loops, waits for running tasks to finish and deletes the
// done ones. Pending tasks stay in the store. Stop may be called more
// than once, and without Start.
func (q *Queue) Stop() {
	q.cancel()
	q.wg.Wait()
	if q.started.Load() {
		q.stopOnce.Do(func() { close(q.stopFlush) })
		<-q.flushed
	}
}

// Add hands over committed tasks.
func (q *Queue) Add(tasks ...persistence.OutboxTask) {
	if len(tasks) == 0 {
		return
	}
	q.mu.Lock()
	for _, t := range tasks {
		heap.Push(&q.h, t)
	}
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Len is the number of tasks waiting in memory.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.h)
}

// dispatchLoop moves due tasks to the workers and sleeps until the next one
// is due or a new task arrives.
func (q *Queue) dispatchLoop() {
	defer q.wg.Done()
	for {
		q.mu.Lock()
		var next *persistence.OutboxTask
		var wait time.Duration = -1
		if len(q.h) > 0 {
			top := q.h[0]
			if d := top.VisibilityTime.Sub(q.opts.Clock.Now()); top.VisibilityTime.IsZero() || d <= 0 {
				t := heap.Pop(&q.h).(persistence.OutboxTask)
				next = &t
			} else {
				wait = d
			}
		}
		q.mu.Unlock()
		if next != nil {
			select {
			case q.ready <- *next:
				continue
			case <-q.ctx.Done():
				return
			}
		}
		var timer *time.Timer
		var fire <-chan time.Time
		if wait >= 0 {
			timer = time.NewTimer(wait)
			fire = timer.C
		}
		select {
		case <-q.wake:
		case <-fire:
		case <-q.ctx.Done():
		}
		if timer != nil {
			timer.Stop()
		}
		if q.ctx.Err() != nil {
			return
		}
	}
}

func (q *Queue) worker() {
	defer q.wg.Done()
	for {
		select {
		case t := <-q.ready:
			q.run(t)
		case <-q.ctx.Done():
			return
		}
	}
}

// run executes a task; on failure it is retried after a backoff, or
// dead-lettered once it has failed MaxAttempts times.
func (q *Queue) run(t persistence.OutboxTask) {
	err := q.opts.Execute(q.ctx, t)
	if err == nil {
		q.forget(t.TaskID)
		q.complete(persistence.OutboxKey{VisibilityTime: t.VisibilityTime, TaskID: t.TaskID})
		q.recovered()
		return
	}
	if q.ctx.Err() != nil {
		return
	}
	q.failed(t, err)
}

// complete queues k for deletion.
func (q *Queue) complete(k persistence.OutboxKey) {
	q.doneMu.Lock()
	q.done = append(q.done, k)
	n := len(q.done)
	q.doneMu.Unlock()
	switch {
	case n >= completeBatch:
		q.signalFlush()
	case n == 1:
		time.AfterFunc(completeInterval, q.signalFlush)
	}
}

func (q *Queue) signalFlush() {
	select {
	case q.flushNow <- struct{}{}:
	default:
	}
}

// flushLoop deletes done tasks when signalled, and once more at Stop.
func (q *Queue) flushLoop() {
	defer close(q.flushed)
	for {
		select {
		case <-q.flushNow:
			q.flush()
		case <-q.stopFlush:
			q.flush()
			return
		}
	}
}

// flush deletes the done tasks in batches. A failed batch is kept for the
// next flush (or, at Stop, left for the tasks to run again after a
// restart).
func (q *Queue) flush() {
	for {
		q.doneMu.Lock()
		n := min(len(q.done), completeBatch)
		keys := append([]persistence.OutboxKey(nil), q.done[:n]...)
		q.done = append(q.done[:0], q.done[n:]...)
		q.doneMu.Unlock()
		if n == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), completeTimeout)
		err := q.opts.Store.CompleteOutboxTasks(ctx, q.opts.ShardID, q.opts.RangeID(), q.opts.Category, keys)
		cancel()
		if err != nil {
			q.opts.Logger.Warn("deleting done outbox tasks failed; will retry", "shard", q.opts.ShardID,
				"category", q.opts.Category, "tasks", len(keys), "error", err)
			q.doneMu.Lock()
			q.done = append(keys, q.done...)
			q.doneMu.Unlock()
			time.AfterFunc(time.Second, q.signalFlush)
			return
		}
		q.recovered()
	}
}

type taskHeap []persistence.OutboxTask

func (h taskHeap) Len() int { return len(h) }
func (h taskHeap) Less(i, j int) bool {
	if !h[i].VisibilityTime.Equal(h[j].VisibilityTime) {
		return h[i].VisibilityTime.Before(h[j].VisibilityTime)
	}
	return h[i].TaskID < h[j].TaskID
}
func (h taskHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *taskHeap) Push(x any)   { *h = append(*h, x.(persistence.OutboxTask)) }
func (h *taskHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	return t
}
