// Package queues runs a shard's outbox: tasks committed with a state change
// are handed over in memory right after the commit, executed when due, and
// deleted from the store once done. On start the store's rows are read back,
// so tasks of a crashed process run after the restart.
package queues

import (
	"container/heap"
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/sundialhq/sundial/internal/clock"
	"github.com/sundialhq/sundial/internal/persistence"
)

// Executor runs one task. nil means done (the task is deleted); an error
// means retry later. Executors must be idempotent: a task may run again
// after a crash between its effect and its deletion.
type Executor func(ctx context.Context, t persistence.OutboxTask) error

// Options configures a Queue.
type Options struct {
	ShardID  int32
	Category persistence.TaskCategory
	Store    persistence.ExecutionStore
	Execute  Executor
	Clock    clock.Clock
	Logger   *slog.Logger
	// Workers is how many tasks run at once (default 4).
	Workers int
	// RecoveryPageSize bounds each read of the store on start (default 1000).
	RecoveryPageSize int
}

// Queue holds a shard's pending tasks of one category, ordered by
// (VisibilityTime, TaskID); transfer tasks have a zero time and are always due.
type Queue struct {
	opts   Options
	mu     sync.Mutex
	h      taskHeap
	wake   chan struct{}
	ready  chan persistence.OutboxTask
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
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
	ctx, cancel := context.WithCancel(context.Background())
	return &Queue{opts: opts, wake: make(chan struct{}, 1), ready: make(chan persistence.OutboxTask), ctx: ctx, cancel: cancel}
}

// Start loads the tasks left in the store and starts running them.
func (q *Queue) Start(ctx context.Context) error {
	if err := q.recover(ctx); err != nil {
		return err
	}
	q.wg.Add(1 + q.opts.Workers)
	go q.dispatchLoop()
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

// Stop ends the loops and waits for running tasks to finish. Pending tasks
// stay in the store.
func (q *Queue) Stop() {
	q.cancel()
	q.wg.Wait()
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

// run executes a task; on failure it is put back with a delay.
func (q *Queue) run(t persistence.OutboxTask) {
	err := q.opts.Execute(q.ctx, t)
	if err == nil {
		err = q.opts.Store.CompleteOutboxTask(q.ctx, q.opts.ShardID, q.opts.Category, t.VisibilityTime, t.TaskID)
		if err == nil {
			return
		}
	}
	if q.ctx.Err() != nil {
		return
	}
	q.opts.Logger.Warn("outbox task failed; will retry", "shard", q.opts.ShardID, "category", q.opts.Category, "task_id", t.TaskID, "error", err)
	// The task keeps its store key; the retry delay is in memory only.
	q.opts.Clock.AfterFunc(time.Second, func() { q.Add(t) })
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
