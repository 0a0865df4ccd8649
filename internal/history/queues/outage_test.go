package queues

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sundialhq/sundial/internal/clock"
	"github.com/sundialhq/sundial/internal/persistence"
)

// holdClock never fires: a retry can only happen through the recovery
// release, not because its backoff ended.
type holdClock struct{}

func (holdClock) Now() time.Time                              { return time.Now() }
func (holdClock) AfterFunc(time.Duration, func()) clock.Timer { return noTimer{} }

type outageExec struct {
	down  atomic.Bool
	mu    sync.Mutex
	runs  map[int64]int
	fail  map[int64]error // always fails with this error
	done  chan int64
	unav  error
	plain error
}

func (e *outageExec) exec(_ context.Context, t persistence.OutboxTask) error {
	e.mu.Lock()
	e.runs[t.TaskID]++
	err := e.fail[t.TaskID]
	e.mu.Unlock()
	if err == nil && e.down.Load() {
		err = e.unav
	}
	if err == nil {
		e.done <- t.TaskID
	}
	return err
}

func (e *outageExec) count(id int64) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.runs[id]
}

func waitTask(t *testing.T, ch chan int64, id int64) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case got := <-ch:
			if got == id {
				return
			}
		case <-deadline:
			t.Fatalf("task %d did not run", id)
		}
	}
}

// TestOutageFailuresRetryAtOnceOnRecovery: tasks that failed because the
// store was unavailable run again as soon as another task succeeds, not
// after their (here: endless) backoff; a task that failed on its own keeps
// its backoff, and a task that keeps failing is released early only once.
func TestOutageFailuresRetryAtOnceOnRecovery(t *testing.T) {
	store := openStore(t)
	ctx := context.Background()
	rangeID, err := store.AcquireShard(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	unav := &persistence.UnavailableError{Err: errors.New("connection refused")}
	e := &outageExec{runs: map[int64]int{}, done: make(chan int64, 100), unav: unav,
		fail: map[int64]error{2: errors.New("target refuses"), 3: unav}}
	q := New(Options{ShardID: 0, RangeID: func() int64 { return rangeID }, Category: persistence.CategoryTransfer, Store: store, Execute: e.exec,
		Clock: holdClock{}, Workers: 1, Backoff: Backoff{Initial: time.Hour, Max: time.Hour}})
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer q.Stop()
	task := func(id int64) persistence.OutboxTask {
		return persistence.OutboxTask{Category: persistence.CategoryTransfer, TaskID: id}
	}

	// The outage: task 1 fails as unavailable, task 2 with its own error,
	// task 3 with unavailable (and will keep doing so).
	e.down.Store(true)
	q.Add(task(1), task(2), task(3))
	for deadline := time.Now().Add(10 * time.Second); e.count(1) < 1 || e.count(2) < 1 || e.count(3) < 1; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the tasks did not run during the outage")
		}
	}

	// The store is back: task 10 succeeds, which releases 1 and 3 at once.
	e.down.Store(false)
	q.Add(task(10))
	waitTask(t, e.done, 10)
	waitTask(t, e.done, 1)
	if n := e.count(1); n != 2 {
		t.Fatalf("task 1 ran %d times, want 2 (failed in the outage, then released)", n)
	}

	// Tasks 11 and 12 succeed after task 3's second failure; with one
	// worker, a release of 3 by 11's success would run before 12.
	for deadline := time.Now().Add(10 * time.Second); e.count(3) < 2; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("task 3 was not released after the outage")
		}
	}
	q.Add(task(11))
	waitTask(t, e.done, 11)
	q.Add(task(12))
	waitTask(t, e.done, 12)
	if n := e.count(3); n != 2 {
		t.Fatalf("task 3, failing on and on, ran %d times, want 2 (released early once only)", n)
	}
	if n := e.count(2); n != 1 {
		t.Fatalf("task 2, failing with its own error, ran %d times, want 1 (its backoff holds)", n)
	}
}

func TestOutageError(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&persistence.UnavailableError{Err: errors.New("x")}, true},
		{context.DeadlineExceeded, true},
		{errors.New("target refuses"), false},
		{persistence.ErrNotFound, false},
	} {
		if got := outageError(c.err); got != c.want {
			t.Errorf("outageError(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
