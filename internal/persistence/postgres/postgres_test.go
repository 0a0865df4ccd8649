package postgres_test

import (
	"context"
	"errors"
	"io"
	"time"

	"testing"

	"github.com/sundialhq/sundial/internal/persistence"
	"github.com/sundialhq/sundial/internal/persistence/postgres"
	"github.com/sundialhq/sundial/internal/persistence/sqlstore"
	"github.com/sundialhq/sundial/internal/persistence/sqltest"
	"github.com/sundialhq/sundial/internal/persistence/storetest"
)

func TestConformance(t *testing.T) {
	_ = sqltest.Postgres.Admin(t) // skips when the server is not configured
	storetest.RunAll(t, func(t *testing.T) persistence.Store {
		s, err := postgres.Open(t.Context(), sqltest.Postgres.NewDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestMigrations(t *testing.T) {
	ms, err := postgres.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	sqltest.Postgres.CheckMigrations(t, postgres.Dialect{}, ms, func(ctx context.Context, o sqlstore.ServerOptions) (io.Closer, error) {
		return postgres.Open(ctx, o)
	})
}

// BenchmarkTransitions: see storetest.BenchmarkTransitions.
func BenchmarkTransitions(b *testing.B) {
	o := sqltest.Postgres.NewDatabase(b)
	var rt sqltest.RoundTrips
	o.Dial = rt.Dial
	s, err := postgres.Open(b.Context(), o)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.BenchmarkTransitions(b, s, rt.Count)
}

// TestTransitionIsOneRoundTrip: once its statements are prepared on the
// connection, a start and a transition each cost one round trip (the
// pipeline), and a fenced-out transition is still refused.
func TestTransitionIsOneRoundTrip(t *testing.T) {
	o := sqltest.Postgres.NewDatabase(t)
	var rt sqltest.RoundTrips
	o.Dial, o.MaxConns = rt.Dial, 1
	s, err := postgres.Open(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	rangeID, err := s.AcquireShard(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	create := func(wf string) persistence.WorkflowKey {
		t.Helper()
		err := s.CreateWorkflow(ctx, &persistence.CreateWorkflowRequest{ShardID: 3, RangeID: rangeID, Mode: persistence.CurrentBrandNew,
			Current: persistence.CurrentRun{NamespaceID: "ns", WorkflowID: wf, RunID: wf + "-run", State: persistence.RunStateRunning},
			State:   []byte("s"), NextEventID: 2, Events: []persistence.HistoryEvent{{EventID: 1, Data: []byte("e")}},
			Tasks: []persistence.OutboxTask{{Category: persistence.CategoryTransfer, TaskID: rangeID<<20 + int64(len(wf))}}})
		if err != nil {
			t.Fatal(err)
		}
		return persistence.WorkflowKey{NamespaceID: "ns", WorkflowID: wf, RunID: wf + "-run"}
	}
	update := func(key persistence.WorkflowKey, version, rng int64) error {
		return s.UpdateWorkflow(ctx, &persistence.UpdateWorkflowRequest{ShardID: 3, RangeID: rng, Key: key, ExpectedVersion: version,
			State: []byte("s2"), NextEventID: version + 2, Events: []persistence.HistoryEvent{{EventID: version + 1, Data: []byte("e")}},
			Tasks: []persistence.OutboxTask{{Category: persistence.CategoryTimer, TaskID: rangeID<<20 + 100 + version, VisibilityTime: time.Unix(1, 0)}}})
	}
	key := create("a") // prepares the statements
	if err := update(key, 1, rangeID); err != nil {
		t.Fatal(err)
	}
	before := rt.Count()
	create("bb")
	if n := rt.Count() - before; n != 1 {
		t.Errorf("a start took %d round trips, want 1", n)
	}
	before = rt.Count()
	if err := update(key, 2, rangeID); err != nil {
		t.Fatal(err)
	}
	if n := rt.Count() - before; n != 1 {
		t.Errorf("a transition took %d round trips, want 1", n)
	}
	if _, err := s.AcquireShard(ctx, 3); err != nil {
		t.Fatal(err)
	}
	var lost *persistence.ShardOwnershipLostError
	if err := update(key, 3, rangeID); !errors.As(err, &lost) {
		t.Fatalf("transition with a stale range: %v, want ShardOwnershipLostError", err)
	}
}

// TestTaskWriteIsOneRoundTrip: a matching task write (the partition's
// fence and the rows) is one round trip once prepared, and a write with a
// stale lease is refused.
func TestTaskWriteIsOneRoundTrip(t *testing.T) {
	o := sqltest.Postgres.NewDatabase(t)
	var rt sqltest.RoundTrips
	o.Dial, o.MaxConns = rt.Dial, 1
	s, err := postgres.Open(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	key := persistence.TaskQueueKey{NamespaceID: "ns", Name: "tq", Kind: persistence.TaskQueueKind(1)}
	rangeID, _, err := s.LeaseTaskQueue(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(id, rng int64) error {
		return s.CreateTasks(ctx, key, rng, []persistence.QueueTask{{TaskID: id, Data: []byte("t")}, {TaskID: id + 1, Data: []byte("u")}})
	}
	if err := write(1, rangeID); err != nil { // prepares the statements
		t.Fatal(err)
	}
	before := rt.Count()
	if err := write(3, rangeID); err != nil {
		t.Fatal(err)
	}
	if n := rt.Count() - before; n != 1 {
		t.Errorf("a task write took %d round trips, want 1", n)
	}
	if _, _, err := s.LeaseTaskQueue(ctx, key); err != nil {
		t.Fatal(err)
	}
	var lost *persistence.TaskQueueLeaseLostError
	if err := write(5, rangeID); !errors.As(err, &lost) {
		t.Fatalf("task write with a stale lease: %v, want TaskQueueLeaseLostError", err)
	}
	if n, err := s.CountTasks(ctx, key); err != nil || n != 4 {
		t.Fatalf("CountTasks = %d, %v; want 4", n, err)
	}
}
