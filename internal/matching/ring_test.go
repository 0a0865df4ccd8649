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

// Partitions follow the ring, each by its own key
// (membership.PartitionKey), so one queue spreads over engines: a second
// engine leases its share of the partitions; the first drops what the ring
// moves, leases and buffered tasks included, without leasing it again;
// every backlog task is delivered once, by its partition's owner.
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
	owner := func(k persistence.TaskQueueKey) string {
		m, _ := view.Ring("a").Lookup(membership.RoleMatching,
			membership.PartitionKey(k.NamespaceID, k.Name, "workflow", int(k.Partition)))
		return m.Identity
	}
	// Drain every backlog through both engines (no forwarding here: each
	// serves its own partitions); b loads its share on its first poll.
	got := 0
	for q := range queues {
		for got < (q+1)*perQueue && time.Now().Before(deadline.Add(10*time.Second)) {
			for _, h := range []*harness{a, b} {
				if wf, _ := h.mustPollOrEmpty(tq(q)); wf != "" {
					got++
				}
			}
		}
		if got != (q+1)*perQueue {
			t.Fatalf("queue %s: delivered %d tasks in all", tq(q), got)
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
		t.Fatalf("a holds %d and b %d partitions; the test needs a split", len(ownedA), len(ownedB))
	}
	// Each partition on its own owner, none on the other; b's were leased
	// by a first, a's only by a.
	for _, k := range ownedA {
		if owner(k) != "a" || slices.Contains(ownedB, k) {
			t.Errorf("a holds %s partition %d", k.Name, k.Partition)
		}
		if r := store.rangeOf(k); r != 1 {
			t.Errorf("a's %s partition %d has range %d, want 1", k.Name, k.Partition, r)
		}
	}
	split := map[string]int{}
	for _, k := range ownedB {
		if owner(k) != "b" {
			t.Errorf("b holds %s partition %d", k.Name, k.Partition)
		}
		if r := store.rangeOf(k); r != 2 {
			t.Errorf("b's %s partition %d has range %d, want 2 (a's lease, then b's)", k.Name, k.Partition, r)
		}
		split[k.Name]++
	}
	spread := false
	for _, n := range split {
		spread = spread || n < parts
	}
	if !spread {
		t.Error("no queue has partitions on both engines")
	}
	// A lease lost is not taken back once the ring gave the partition
	// away: a's adds go to its own partitions and lease nothing of b's.
	before := map[persistence.TaskQueueKey]int64{}
	for _, k := range ownedB {
		before[k] = store.rangeOf(k)
	}
	for q := range queues {
		err := a.addReq(tq(q), "after", 0)
		var lost *persistence.TaskQueueLeaseLostError
		if split[tq(q)] == parts && !errors.As(err, &lost) {
			t.Errorf("a's add to %s, all b's: %v, want a lost lease", tq(q), err)
		} else if split[tq(q)] < parts && err != nil {
			t.Errorf("a's add to %s: %v", tq(q), err)
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
