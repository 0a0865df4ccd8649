package history

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundialhq/sundial/internal/membership"
	"github.com/sundialhq/sundial/internal/persistence"
	"github.com/sundialhq/sundial/internal/persistence/sqlite"
)

func newRingEngine(t *testing.T, store persistence.Store, ring membership.Ring) *Engine {
	t.Helper()
	e, err := NewEngine(Options{Store: store, Matching: nopMatching{}, NumShards: 8, Ring: ring,
		RetryAcquire: 50 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Stop)
	return e
}

// awaitSplit waits until the engines serve disjoint shard sets that cover
// every shard, each as its ring says.
func awaitSplit(t *testing.T, engines map[string]*Engine) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		seen, ok := map[int32]string{}, true
		for id, e := range engines {
			for _, sh := range e.OwnedShards() {
				if m, _ := e.opts.Ring.Lookup(membership.RoleHistory, membership.ShardKey(sh)); m.Identity != id {
					ok = false
				}
				if _, dup := seen[sh]; dup {
					ok = false
				}
				seen[sh] = id
			}
		}
		if ok && len(seen) == 8 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("shards did not settle: %v", seen)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func startOn(e *Engine, wid string) error {
	_, err := e.StartWorkflowExecution(context.Background(), "ns-id", &workflowservice.StartWorkflowExecutionRequest{
		Namespace: "default", WorkflowId: wid, WorkflowType: &commonpb.WorkflowType{Name: "W"},
		TaskQueue: &taskqueuepb.TaskQueue{Name: "tq"}, RequestId: wid, Identity: "test",
	})
	return err
}

// Shards follow the ring: a second member takes its share (the first
// releases it), a call on a shard of the other member fails with
// ownership lost, and when a member leaves the other takes everything.
func TestEngineFollowsRing(t *testing.T) {
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "ring.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	if _, err := store.InitCluster(t.Context(), 8); err != nil {
		t.Fatal(err)
	}
	view := membership.NewView(membership.RoleHistory)
	view.Set("a")
	a := newRingEngine(t, store, view.Ring("a"))
	if got := a.OwnedShards(); len(got) != 8 {
		t.Fatalf("alone, a serves %v", got)
	}

	view.Set("a", "b")
	b := newRingEngine(t, store, view.Ring("b"))
	awaitSplit(t, map[string]*Engine{"a": a, "b": b})
	if len(a.OwnedShards()) == 0 || len(b.OwnedShards()) == 0 {
		t.Fatalf("a serves %v, b %v: want both some", a.OwnedShards(), b.OwnedShards())
	}

	// A workflow on one of b's shards is started through b; through a
	// it fails with ownership lost (retryable: the caller routes again).
	var wid string
	for i := 0; wid == ""; i++ {
		id := fmt.Sprintf("wf-%d", i)
		if slices.Contains(b.OwnedShards(), ShardFor("ns-id", id, 8)) {
			wid = id
		}
	}
	var lost *persistence.ShardOwnershipLostError
	if err := startOn(a, wid); !errors.As(err, &lost) {
		t.Fatalf("start on a non-owner: %v, want ownership lost", err)
	}
	if err := startOn(b, wid); err != nil {
		t.Fatalf("start on the owner: %v", err)
	}

	// a leaves: it releases everything, and b takes all shards.
	a.ReleaseShards()
	if got := a.OwnedShards(); len(got) != 0 {
		t.Fatalf("after leaving a still serves %v", got)
	}
	view.Set("b")
	awaitSplit(t, map[string]*Engine{"b": b})
	if err := startOn(b, wid+"-2"); err != nil {
		t.Fatalf("start after b took every shard: %v", err)
	}

	// A process whose view lags takes one of b's shards: b's next write
	// there fails, and since the ring still gives b the shard, b takes it
	// back with a new range.
	sh := ShardFor("ns-id", wid+"-3", 8)
	if _, err := store.AcquireShard(t.Context(), sh); err != nil {
		t.Fatal(err)
	}
	if err := startOn(b, wid+"-3"); !errors.As(err, &lost) {
		t.Fatalf("start after another owner took the shard: %v, want ownership lost", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for startOn(b, wid+"-3") != nil {
		if time.Now().After(deadline) {
			t.Fatal("b did not take its shard back")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
