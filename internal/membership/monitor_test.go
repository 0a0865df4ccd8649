package membership

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/sundialhq/sundial/internal/persistence"
)

// memStore is an in-memory persistence.MembershipStore.
type memStore struct {
	mu   sync.Mutex
	rows map[[2]string]persistence.ClusterMember
	fail bool
}

func newMemStore() *memStore { return &memStore{rows: map[[2]string]persistence.ClusterMember{}} }

func (s *memStore) HeartbeatClusterMembers(_ context.Context, ms []persistence.ClusterMember) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail {
		return context.DeadlineExceeded
	}
	for _, m := range ms {
		s.rows[[2]string{m.Role, m.Identity}] = m
	}
	return nil
}

func (s *memStore) ListClusterMembers(_ context.Context, aliveAt time.Time) ([]persistence.ClusterMember, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []persistence.ClusterMember
	for _, m := range s.rows {
		if aliveAt.IsZero() || m.SessionExpiry.After(aliveAt) {
			out = append(out, m)
		}
	}
	return out, nil
}

func (s *memStore) DeleteClusterMember(_ context.Context, role, identity string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.rows, [2]string{role, identity})
	return nil
}

func (s *memStore) PruneClusterMembers(context.Context, time.Time) (int64, error) { return 0, nil }

// fakeNow is a settable clock.
type fakeNow struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeNow) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeNow) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// unit scales the tests' TTL: the heartbeat loop (every hour) never runs
// during a test; the test beats by hand on a fake clock.
const unit = time.Hour

func newTestMonitor(t *testing.T, store *memStore, clock *fakeNow, id string) *Monitor {
	t.Helper()
	m, err := NewMonitor(MonitorOptions{Store: store, Now: clock.now, HeartbeatInterval: time.Hour, TTL: 5 * unit,
		Self: []Member{{Identity: id, Role: RoleHistory, RPCAddress: id + ":7234", StartedAt: clock.now()}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	return m
}

func identities(ms []Member) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Identity)
	}
	return out
}

// Members join through their heartbeat, die when their row expires and
// leave at once with Leave; each change closes the Changed channel; a
// process whose own heartbeats fail past the TTL drops itself.
func TestMonitorMembership(t *testing.T) {
	ctx := t.Context()
	store, clock := newMemStore(), &fakeNow{t: time.Unix(1_800_000_000, 0)}
	a := newTestMonitor(t, store, clock, "a")
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if got := identities(a.Members(RoleHistory)); len(got) != 1 || got[0] != "a" {
		t.Fatalf("a alone: members %v", got)
	}
	changed := a.Changed(RoleHistory)
	var reported [][]string
	a.opts.OnChange = func(role string, ms []Member) {
		// Called without the monitor's lock: the ring may be used.
		_ = a.Members(role)
		reported = append(reported, identities(ms))
	}
	b := newTestMonitor(t, store, clock, "b")
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.beat(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	default:
		t.Fatal("Changed did not fire when b joined")
	}
	if got := identities(a.Members(RoleHistory)); len(got) != 2 {
		t.Fatalf("after b joined: members %v", got)
	}
	if len(reported) != 1 || len(reported[0]) != 2 {
		t.Fatalf("OnChange reported %v, want one change to [a b]", reported)
	}
	a.opts.OnChange = nil
	// b stops heartbeating: after the TTL a sees it dead.
	changed = a.Changed(RoleHistory)
	clock.add(6 * unit)
	if err := a.beat(ctx); err != nil {
		t.Fatal(err)
	}
	<-changed
	if got := identities(a.Members(RoleHistory)); len(got) != 1 || got[0] != "a" {
		t.Fatalf("after b expired: members %v", got)
	}
	// b comes back, then leaves gracefully.
	if err := b.beat(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.beat(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(a.Members(RoleHistory)); n != 2 {
		t.Fatalf("after b came back: %d members", n)
	}
	b.Leave(ctx)
	if n := len(b.Members(RoleHistory)); n != 1 {
		t.Fatalf("b's view after leaving has %d members, want only a", n)
	}
	if err := a.beat(ctx); err != nil {
		t.Fatal(err)
	}
	if got := identities(a.Members(RoleHistory)); len(got) != 1 || got[0] != "a" {
		t.Fatalf("after b left: members %v", got)
	}
	// a's own heartbeats fail past the TTL: it drops itself.
	store.mu.Lock()
	store.fail = true
	store.mu.Unlock()
	clock.add(3 * unit)
	if err := a.beat(ctx); err == nil {
		t.Fatal("heartbeat on a failing store succeeded")
	}
	if n := len(a.Members(RoleHistory)); n != 1 {
		t.Fatalf("within the TTL a still counts itself: %d members", n)
	}
	clock.add(3 * unit)
	_ = a.beat(ctx)
	if _, err := a.Lookup(RoleHistory, "1"); err != ErrNoMembers {
		t.Fatalf("a's lease ran out: Lookup = %v, want ErrNoMembers", err)
	}
	// The store comes back: a rejoins and reports the lapse.
	store.mu.Lock()
	store.fail = false
	store.mu.Unlock()
	lapses := 0
	a.opts.OnLapse = func() { lapses++ }
	if err := a.beat(ctx); err != nil {
		t.Fatal(err)
	}
	if m, err := a.Lookup(RoleHistory, "1"); err != nil || m.Identity != "a" || lapses != 1 {
		t.Fatalf("after the store came back: Lookup = %v, %v; %d lapses reported, want 1", m, err, lapses)
	}
}

// A restarted process on the same RPC address removes its predecessor's
// row at Start instead of sharing keys with a dead member until the TTL.
func TestMonitorReplacesPredecessor(t *testing.T) {
	ctx := t.Context()
	store, clock := newMemStore(), &fakeNow{t: time.Unix(1_800_000_000, 0)}
	old := newTestMonitor(t, store, clock, "h1")
	if err := old.Start(ctx); err != nil {
		t.Fatal(err)
	}
	m, err := NewMonitor(MonitorOptions{Store: store, Now: clock.now, HeartbeatInterval: time.Hour, TTL: 5 * unit,
		Self: []Member{{Identity: "h1-restarted", Role: RoleHistory, RPCAddress: "h1:7234", StartedAt: clock.now()}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if got := identities(m.Members(RoleHistory)); len(got) != 1 || got[0] != "h1-restarted" {
		t.Fatalf("members %v, want only the restarted process", got)
	}
}
