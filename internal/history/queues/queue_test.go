package queues

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sundialhq/sundial/internal/persistence"
	"github.com/sundialhq/sundial/internal/persistence/sqlite"
)

func openStore(t *testing.T) persistence.Store {
	t.Helper()
	s, err := sqlite.Open(sqlite.MemoryPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

type recorder struct {
	mu    sync.Mutex
	ran   []int64
	fails map[int64]int // task ID -> failures left
	done  chan int64
}

func (r *recorder) exec(_ context.Context, t persistence.OutboxTask) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fails[t.TaskID] > 0 {
		r.fails[t.TaskID]--
		return errors.New("transient")
	}
	r.ran = append(r.ran, t.TaskID)
	r.done <- t.TaskID
	return nil
}

func waitN(t *testing.T, ch chan int64, n int) {
	t.Helper()
	for range n {
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatal("tasks did not run")
		}
	}
}

func TestTimerTasksRunInDueOrderAndAreDeleted(t *testing.T) {
	store := openStore(t)
	ctx := context.Background()
	rangeID, err := store.AcquireShard(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{done: make(chan int64, 10)}
	q := New(Options{ShardID: 0, RangeID: func() int64 { return rangeID }, Category: persistence.CategoryTimer, Store: store, Execute: rec.exec, Workers: 1})
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer q.Stop()
	now := time.Now()
	q.Add(
		persistence.OutboxTask{Category: persistence.CategoryTimer, TaskID: 3, VisibilityTime: now.Add(300 * time.Millisecond)},
		persistence.OutboxTask{Category: persistence.CategoryTimer, TaskID: 1, VisibilityTime: now.Add(100 * time.Millisecond)},
		persistence.OutboxTask{Category: persistence.CategoryTimer, TaskID: 2, VisibilityTime: now.Add(200 * time.Millisecond)},
	)
	waitN(t, rec.done, 3)
	if time.Since(now) < 300*time.Millisecond {
		t.Fatal("a timer task ran before it was due")
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.ran) != 3 || rec.ran[0] != 1 || rec.ran[1] != 2 || rec.ran[2] != 3 {
		t.Fatalf("ran %v, want [1 2 3]", rec.ran)
	}
}

func TestFailedTaskIsRetriedAndRecoveryReadsTheStore(t *testing.T) {
	store := openStore(t)
	ctx := context.Background()
	rangeID, err := store.AcquireShard(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Two transfer tasks committed by a "previous process".
	err = store.CreateWorkflow(ctx, &persistence.CreateWorkflowRequest{
		ShardID: 0, RangeID: rangeID, Mode: persistence.CurrentBrandNew,
		Current: persistence.CurrentRun{NamespaceID: "ns", WorkflowID: "wf", RunID: "r", State: persistence.RunStateRunning},
		State:   []byte("{}"), NextEventID: 1,
		Tasks: []persistence.OutboxTask{
			{Category: persistence.CategoryTransfer, TaskID: 10, Data: []byte("a")},
			{Category: persistence.CategoryTransfer, TaskID: 11, Data: []byte("b")},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{done: make(chan int64, 10), fails: map[int64]int{10: 1}}
	q := New(Options{ShardID: 0, RangeID: func() int64 { return rangeID }, Category: persistence.CategoryTransfer, Store: store, Execute: rec.exec})
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer q.Stop()
	waitN(t, rec.done, 2)
	// Done tasks are deleted in a batch within completeInterval: wait for that.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		left, err := store.GetOutboxTasks(ctx, 0, persistence.CategoryTransfer, time.Time{}, 0, time.Time{}, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d done tasks left in the store", len(left))
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.fails[10] != 0 {
		t.Fatal("the failing task was not retried")
	}
}

func TestStopDeletesDoneTasks(t *testing.T) {
	store := openStore(t)
	ctx := context.Background()
	rangeID, err := store.AcquireShard(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	const n = 300 // more than one delete batch
	tasks := make([]persistence.OutboxTask, n)
	for i := range tasks {
		tasks[i] = persistence.OutboxTask{Category: persistence.CategoryTransfer, TaskID: int64(100 + i)}
	}
	err = store.CreateWorkflow(ctx, &persistence.CreateWorkflowRequest{
		ShardID: 0, RangeID: rangeID, Mode: persistence.CurrentBrandNew,
		Current: persistence.CurrentRun{NamespaceID: "ns", WorkflowID: "wf", RunID: "r", State: persistence.RunStateRunning},
		State:   []byte("{}"), NextEventID: 1, Tasks: tasks,
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{done: make(chan int64, n)}
	q := New(Options{ShardID: 0, RangeID: func() int64 { return rangeID }, Category: persistence.CategoryTransfer, Store: store, Execute: rec.exec})
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitN(t, rec.done, n)
	// Stop right away: the keys still waiting for their batch are deleted
	// by Stop, not left for a restart to run again.
	q.Stop()
	q.Stop() // a second Stop is harmless
	left, err := store.GetOutboxTasks(ctx, 0, persistence.CategoryTransfer, time.Time{}, 0, time.Time{}, n)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Fatalf("%d done tasks left in the store after Stop", len(left))
	}
}
