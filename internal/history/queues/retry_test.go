package queues

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sundialhq/sundial/internal/clock"
	"github.com/sundialhq/sundial/internal/persistence"
)

// stepClock records the delay of every AfterFunc and runs f at once (in
// its own goroutine), so retries happen without waiting while the test
// sees the backoff the queue asked for.
type stepClock struct {
	mu     sync.Mutex
	delays []time.Duration
}

func (c *stepClock) Now() time.Time { return time.Now() }

func (c *stepClock) AfterFunc(d time.Duration, f func()) clock.Timer {
	c.mu.Lock()
	c.delays = append(c.delays, d)
	c.mu.Unlock()
	go f()
	return noTimer{}
}

func (c *stepClock) recorded() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.delays...)
}

type noTimer struct{}

func (noTimer) Stop() bool { return false }

// cycle returns the values in turn, for ever (safe for concurrent use).
func cycle(vals ...float64) func() float64 {
	var mu sync.Mutex
	i := 0
	return func() float64 {
		mu.Lock()
		defer mu.Unlock()
		v := vals[i%len(vals)]
		i++
		return v
	}
}

func TestBackoffDelayBounds(t *testing.T) {
	b := DefaultBackoff
	for n := 1; n <= 40; n++ {
		want := min(time.Second<<min(n-1, 30), 5*time.Minute)
		lo, hi := b.Delay(n, 0.999999), b.Delay(n, 0)
		if hi != want {
			t.Fatalf("retry %d without jitter waits %v, want %v", n, hi, want)
		}
		if floor := time.Duration(float64(want) * 0.8); lo < floor || lo > hi {
			t.Fatalf("retry %d with full jitter waits %v, want within [%v, %v]", n, lo, floor, hi)
		}
	}
}

// TestFailingTaskBacksOffThenMovesToDLQ: a task that always fails is
// retried with doubling, jittered delays and, after MaxAttempts failed
// runs, moved to the DLQ in place of its outbox row; it then runs no more.
func TestFailingTaskBacksOffThenMovesToDLQ(t *testing.T) {
	store := openStore(t)
	ctx := context.Background()
	rangeID, err := store.AcquireShard(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	err = store.CreateWorkflow(ctx, &persistence.CreateWorkflowRequest{
		ShardID: 0, RangeID: rangeID, Mode: persistence.CurrentBrandNew,
		Current: persistence.CurrentRun{NamespaceID: "ns", WorkflowID: "wf", RunID: "r", State: persistence.RunStateRunning},
		State:   []byte("{}"), NextEventID: 1,
		Tasks: []persistence.OutboxTask{{Category: persistence.CategoryTransfer, TaskID: 7, Data: []byte("never works")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	const maxAttempts = 6
	var mu sync.Mutex
	runs := 0
	runCount := func() int { mu.Lock(); defer mu.Unlock(); return runs }
	exec := func(context.Context, persistence.OutboxTask) error {
		mu.Lock()
		defer mu.Unlock()
		runs++
		return errors.New("target refuses")
	}
	dead := make(chan int, 1)
	clk := &stepClock{}
	q := New(Options{ShardID: 0, RangeID: func() int64 { return rangeID }, Category: persistence.CategoryTransfer, Store: store, DLQ: store, Execute: exec, Clock: clk,
		Backoff: Backoff{Initial: time.Second, Max: 8 * time.Second, Jitter: 0.5}, Rand: cycle(0, 0.5),
		MaxAttempts:  func() int { return maxAttempts },
		OnDeadLetter: func(_ persistence.OutboxTask, attempts int, _ error) { dead <- attempts }})
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer q.Stop()
	select {
	case n := <-dead:
		if n != maxAttempts {
			t.Fatalf("dead-lettered after %d attempts, want %d", n, maxAttempts)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the task was not dead-lettered; %d runs", runCount())
	}
	// Retry n waits min(2^(n-1) s, 8 s), less half of it on every second
	// retry (jitter 0.5 with r = 0, 0.5, 0, ...).
	want := []time.Duration{time.Second, 1500 * time.Millisecond, 4 * time.Second, 6 * time.Second, 8 * time.Second}
	got := clk.recorded()
	if len(got) != len(want) {
		t.Fatalf("retry delays %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("retry delays %v, want %v", got, want)
		}
	}
	if n := runCount(); n != maxAttempts {
		t.Fatalf("the task ran %d times, want %d", n, maxAttempts)
	}
	left, err := store.GetOutboxTasks(ctx, 0, persistence.CategoryTransfer, time.Time{}, 0, time.Time{}, 10)
	if err != nil || len(left) != 0 {
		t.Fatalf("outbox after dead-lettering: %v, %v; want empty", left, err)
	}
	dlq, err := store.ListDLQ(ctx, persistence.DLQKey{}, 10)
	if err != nil || len(dlq) != 1 {
		t.Fatalf("DLQ: %v, %v; want one task", dlq, err)
	}
	d := dlq[0]
	if d.TaskID != 7 || d.Category != persistence.CategoryTransfer || string(d.Data) != "never works" ||
		d.Attempts != maxAttempts || d.LastError != "target refuses" {
		t.Fatalf("DLQ task %+v", d)
	}
}
