package matching

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sundialhq/sundial/internal/membership"
	"github.com/sundialhq/sundial/internal/persistence"
)

func (s *fakeStore) rangeOf(key persistence.TaskQueueKey) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.part(key).rangeID
}

// Task queues follow the ring: all partitions of a queue go to the owner
// of its root (membership.TaskQueueKey), so a second engine leases whole
// queues, never a share of one; the first drops the queues the ring moves,
// leases and buffered tasks included, without leasing them again; every
// backlog task is delivered once, by its queue's owner.
func TestPartitionsFollowRing(t *testing.T) {
	const queues, perQueue, parts = 8, 3, 4
	store := newFakeStore()
	dyn := map[string]any{KeyNumWritePartitions: parts}
	view := membership.NewView(membership.RoleMatching)
	view.Set("a")
	a := newRingHarness(t, store, dyn, view.Ring("a"))
	tq := func(i int) string { return fmt.Sprintf("ring-tq-%d", i) }
	for q := range queues {
		for i := range perQueue {
			a.add(tq(q), fmt.Sprintf("wf-%d-%d", q, i))
		}
	}
	if got := len(a.e.OwnedPartitions()); got != queues*parts {
		t.Fatalf("alone, a holds %d partitions, want %d", got, queues*parts)
	}

	view.Set("a", "b")
	deadline := time.Now().Add(5 * time.Second)
	for len(a.e.OwnedPartitions()) == queues*parts {
		if time.Now().After(deadline) {
			t.Fatal("a kept every partition after b joined")
		}
		time.Sleep(time.Millisecond)
	}
	b := newRingHarness(t, store, dyn, view.Ring("b"))
	b.hist = a.hist // one history: count starts across both engines
	b.e.SetHistoryClient(a.hist)
	// Queue ownership as the ring gives it.
	owner := map[string]*harness{}
	for q := range queues {
		m, _ := view.Ring("a").Lookup(membership.RoleMatching, membership.TaskQueueKey(testNS, tq(q), "workflow"))
		owner[tq(q)] = map[string]*harness{"a": a, "b": b}[m.Identity]
	}
	// Drain every backlog through its owner: b loads its queues on the
	// first poll.
	got := 0
	for q := range queues {
		for range perQueue {
			wf, _ := owner[tq(q)].mustPollOrEmpty(tq(q))
			for wf == "" && time.Now().Before(deadline.Add(10*time.Second)) {
				wf, _ = owner[tq(q)].mustPollOrEmpty(tq(q))
			}
			if wf == "" {
				t.Fatalf("queue %s: delivered %d tasks in all", tq(q), got)
			}
			got++
		}
	}
	started := a.hist.startedCopy()
	for wf, c := range started {
		if c != 1 {
			t.Errorf("%s started %d times", wf, c)
		}
	}
	if len(started) != queues*perQueue {
		t.Errorf("%d tasks started, want %d", len(started), queues*perQueue)
	}
	ownedA, ownedB := a.e.OwnedPartitions(), b.e.OwnedPartitions()
	if len(ownedA) == 0 || len(ownedB) == 0 {
		t.Fatalf("a holds %d and b %d partitions; the test needs a split of the queues", len(ownedA), len(ownedB))
	}
	// Whole queues: every partition of a queue on its owner, none on the
	// other; b's were leased by a first, a's only by a.
	for _, k := range ownedA {
		if owner[k.Name] != a || slices.Contains(ownedB, k) {
			t.Errorf("a holds %s partition %d", k.Name, k.Partition)
		}
		if r := store.rangeOf(k); r != 1 {
			t.Errorf("a's %s partition %d has range %d, want 1", k.Name, k.Partition, r)
		}
	}
	perQueueB := map[string]int{}
	for _, k := range ownedB {
		perQueueB[k.Name]++
		if owner[k.Name] != b {
			t.Errorf("b holds %s partition %d", k.Name, k.Partition)
		}
		if r := store.rangeOf(k); r != 2 {
			t.Errorf("b's %s partition %d has range %d, want 2 (a's lease, then b's)", k.Name, k.Partition, r)
		}
	}
	for name, n := range perQueueB {
		if n != parts {
			t.Errorf("b holds %d of %s's %d partitions: a queue is split", n, name, parts)
		}
	}
	// A lease lost is not taken back once the ring gave the queue away:
	// a refuses adds to b's queues as a lost lease (the routed client
	// retries them on b) and leases nothing of b's.
	before := map[persistence.TaskQueueKey]int64{}
	for _, k := range ownedB {
		before[k] = store.rangeOf(k)
	}
	for name := range perQueueB {
		var lost *persistence.TaskQueueLeaseLostError
		if err := a.addReq(name, "after", 0); !errors.As(err, &lost) {
			t.Errorf("a's add to b's queue %s: %v, want a lost lease", name, err)
		}
	}
	for _, k := range ownedB {
		if r := store.rangeOf(k); r != before[k] {
			t.Errorf("a leased b's %s partition %d again (range %d -> %d)", k.Name, k.Partition, before[k], r)
		}
	}
}

// mustPollOrEmpty polls for a short while and returns the started task's
// workflow ID, or "" when none came.
func (h *harness) mustPollOrEmpty(tq string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	resp, err := h.poll(ctx, tq)
	if err != nil {
		return "", err
	}
	return resp.GetWorkflowExecution().GetWorkflowId(), nil
}
