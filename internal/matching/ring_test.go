package matching

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sundialhq/sundial/internal/membership"
	"github.com/sundialhq/sundial/internal/persistence"
)

// testView is a matching member list shared by several engines' rings.
type testView struct {
	mu      sync.Mutex
	members []membership.Member
	changed chan struct{}
}

func (v *testView) set(ids ...string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.members = nil
	for _, id := range ids {
		v.members = append(v.members, membership.Member{Identity: id, Role: membership.RoleMatching})
	}
	if v.changed != nil {
		close(v.changed)
	}
	v.changed = make(chan struct{})
}

type testRing struct {
	v    *testView
	self string
}

func (r testRing) Lookup(_ string, key string) (membership.Member, error) {
	r.v.mu.Lock()
	defer r.v.mu.Unlock()
	m, ok := membership.Owner(r.v.members, key)
	if !ok {
		return m, membership.ErrNoMembers
	}
	return m, nil
}
func (r testRing) Members(string) []membership.Member {
	r.v.mu.Lock()
	defer r.v.mu.Unlock()
	return slices.Clone(r.v.members)
}
func (r testRing) Self(string) (membership.Member, bool) {
	return membership.Member{Identity: r.self, Role: membership.RoleMatching}, true
}
func (r testRing) Changed(string) <-chan struct{} {
	r.v.mu.Lock()
	defer r.v.mu.Unlock()
	return r.v.changed
}

func (s *fakeStore) rangeOf(key persistence.TaskQueueKey) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.part(key).rangeID
}

// Partitions follow the ring: a second engine leases only its share, the
// first drops that share's leases and buffered tasks without leasing them
// again, and every backlog task is delivered once, by its partition's
// owner.
func TestPartitionsFollowRing(t *testing.T) {
	const tq, n, parts = "ring-tq", 16, 8
	store := newFakeStore()
	dyn := map[string]any{KeyNumWritePartitions: parts}
	view := &testView{}
	view.set("a")
	a := newRingHarness(t, store, dyn, testRing{view, "a"})
	for i := range n {
		a.add(tq, fmt.Sprintf("wf-%02d", i))
	}
	if got := len(a.e.OwnedPartitions()); got != parts {
		t.Fatalf("alone, a holds %d partitions, want %d", got, parts)
	}

	view.set("a", "b")
	deadline := time.Now().Add(5 * time.Second)
	for len(a.e.OwnedPartitions()) == parts {
		if time.Now().After(deadline) {
			t.Fatal("a kept every partition after b joined")
		}
		time.Sleep(time.Millisecond)
	}
	b := newRingHarness(t, store, dyn, testRing{view, "b"})
	b.hist = a.hist // one history: count starts across both engines
	b.e.SetHistoryClient(a.hist)
	ownedA := a.e.OwnedPartitions()
	if len(ownedA) == 0 || len(ownedA) == parts {
		t.Fatalf("a holds %d of %d partitions after b joined; the test needs a split", len(ownedA), parts)
	}

	// Drain the backlog through both engines.
	got := 0
	for got < n {
		for _, h := range []*harness{a, b} {
			if h.backlog(tq) > 0 || h == b {
				if wf, _ := h.mustPollOrEmpty(tq); wf != "" {
					got++
				}
			}
		}
		if time.Now().After(deadline.Add(10 * time.Second)) {
			t.Fatalf("delivered %d of %d tasks", got, n)
		}
	}
	for wf, c := range a.hist.startedCopy() {
		if c != 1 {
			t.Errorf("%s started %d times", wf, c)
		}
	}
	if len(a.hist.startedCopy()) != n {
		t.Errorf("%d tasks started, want %d", len(a.hist.startedCopy()), n)
	}
	// b leased only its partitions; a's were leased once, by a.
	for _, k := range b.e.OwnedPartitions() {
		if slices.Contains(ownedA, k) {
			t.Errorf("partition %d held by both", k.Partition)
		}
		if r := store.rangeOf(k); r != 2 {
			t.Errorf("b's partition %d has range %d, want 2 (a's lease, then b's)", k.Partition, r)
		}
	}
	for _, k := range ownedA {
		if r := store.rangeOf(k); r != 1 {
			t.Errorf("a's partition %d has range %d, want 1", k.Partition, r)
		}
	}
	// A lease lost is not taken back once the ring gave the partition away:
	// a's adds go only to its own partitions.
	before := map[int32]int64{}
	for _, k := range b.e.OwnedPartitions() {
		before[k.Partition] = store.rangeOf(k)
	}
	for i := range 8 {
		a.add(tq, fmt.Sprintf("after-%d", i))
	}
	for _, k := range b.e.OwnedPartitions() {
		if r := store.rangeOf(k); r != before[k.Partition] {
			t.Errorf("a leased b's partition %d again (range %d -> %d)", k.Partition, before[k.Partition], r)
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
