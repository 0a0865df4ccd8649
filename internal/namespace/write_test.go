package namespace

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sundialhq/sundial/internal/persistence"
)

func ptr[T any](v T) *T { return &v }

func TestCreateStoresDescription(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	data := map[string]string{"team": "payments"}
	ns, err := NewRegistry(Options{Store: st}).Create(ctx, Spec{
		Name: "orders", Retention: 48 * time.Hour, Description: "order flows", OwnerEmail: "a@b.c", Data: data,
	})
	if err != nil {
		t.Fatal(err)
	}
	data["team"] = "changed" // Create must have copied the map
	got, err := NewRegistry(Options{Store: st}).GetByID(ctx, ns.ID)
	if err != nil {
		t.Fatal(err)
	}
	info := got.Describe.GetNamespaceInfo()
	if info.GetDescription() != "order flows" || info.GetOwnerEmail() != "a@b.c" || info.GetData()["team"] != "payments" ||
		got.Retention != 48*time.Hour || got.Describe.GetReplicationConfig().GetActiveClusterName() != "active" {
		t.Fatalf("stored namespace = %v", got.Describe)
	}
}

func TestUpdateIsVisibleAtOnceAndPersisted(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	r := NewRegistry(Options{Store: st})
	created, err := r.Create(ctx, Spec{Name: "orders", Retention: 24 * time.Hour, Data: map[string]string{"a": "1", "b": "2"}})
	if err != nil {
		t.Fatal(err)
	}
	updated, err := r.Update(ctx, "orders", Change{
		Description: "new", OwnerEmail: "o@x.y", Data: map[string]string{"b": "20", "c": "3"}, Retention: ptr(72 * time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	if created.Describe.GetNamespaceInfo().GetDescription() != "" || created.Retention != 24*time.Hour {
		t.Fatal("Update modified the namespace returned earlier; namespaces must be immutable")
	}
	byName, _ := r.GetByName(ctx, "orders")
	byID, _ := r.GetByID(ctx, created.ID)
	if byName != updated || byID != updated {
		t.Fatalf("cache after update: by name %p, by ID %p, want %p", byName, byID, updated)
	}
	for what, ns := range map[string]*Namespace{"cached": updated, "stored": mustGet(t, NewRegistry(Options{Store: st}), "orders")} {
		info := ns.Describe.GetNamespaceInfo()
		data := info.GetData()
		if info.GetDescription() != "new" || info.GetOwnerEmail() != "o@x.y" || ns.Retention != 72*time.Hour ||
			ns.Describe.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration() != 72*time.Hour ||
			len(data) != 3 || data["a"] != "1" || data["b"] != "20" || data["c"] != "3" {
			t.Errorf("%s namespace = %v", what, ns.Describe)
		}
	}
}

func mustGet(t *testing.T, r *Registry, name string) *Namespace {
	t.Helper()
	ns, err := r.GetByName(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

func TestUpdateErrors(t *testing.T) {
	ctx := context.Background()
	r := NewRegistry(Options{Store: newMemStore()})
	if _, err := r.Update(ctx, "missing", Change{Description: "x"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown namespace: %v, want ErrNotFound", err)
	}
	if err := r.Register(ctx, "a", time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Update(ctx, "a", Change{Retention: ptr(-time.Hour)}); !errors.Is(err, ErrInvalidRetention) {
		t.Errorf("negative retention: %v, want ErrInvalidRetention", err)
	}
}

func TestUpdateWithoutChangeWritesNothing(t *testing.T) {
	ctx := context.Background()
	st := &countingStore{memStore: newMemStore()}
	r := NewRegistry(Options{Store: st})
	if _, err := r.Create(ctx, Spec{Name: "a", Retention: time.Hour, Description: "d"}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Update(ctx, "a", Change{Description: "d", Retention: ptr(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if st.updates != 0 {
		t.Fatalf("store updates = %d, want 0 for a no-op change", st.updates)
	}
}

// countingStore counts UpdateNamespace calls and can run a hook (another
// process's write) before the first one.
type countingStore struct {
	*memStore
	updates int
	before  func()
}

func (s *countingStore) UpdateNamespace(ctx context.Context, ns persistence.NamespaceRecord, prev []byte) error {
	s.updates++
	if s.before != nil {
		hook := s.before
		s.before = nil
		hook()
	}
	return s.memStore.UpdateNamespace(ctx, ns, prev)
}

func TestUpdateRetriesWhenAnotherProcessWins(t *testing.T) {
	ctx := context.Background()
	st := &countingStore{memStore: newMemStore()}
	mine := NewRegistry(Options{Store: st})
	other := NewRegistry(Options{Store: st.memStore})
	if err := mine.Register(ctx, "a", time.Hour); err != nil {
		t.Fatal(err)
	}
	st.before = func() {
		if _, err := other.Update(ctx, "a", Change{OwnerEmail: "other@x.y", Data: map[string]string{"k": "other"}}); err != nil {
			t.Error(err)
		}
	}
	ns, err := mine.Update(ctx, "a", Change{Description: "mine", Data: map[string]string{"k": "mine"}})
	if err != nil {
		t.Fatal(err)
	}
	info := ns.Describe.GetNamespaceInfo()
	if st.updates != 2 || info.GetDescription() != "mine" || info.GetOwnerEmail() != "other@x.y" || info.GetData()["k"] != "mine" {
		t.Fatalf("after a lost race: %d writes, info %v; want 2 writes and both changes kept", st.updates, info)
	}
}

func TestUpdateWithUnknownOutcomeDropsCachedEntry(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	r := NewRegistry(Options{Store: st})
	if err := r.Register(ctx, "a", time.Hour); err != nil {
		t.Fatal(err)
	}
	failing := &failingUpdates{memStore: st, err: &persistence.UnavailableError{Err: persistence.ErrUnknownOutcome}}
	r.store = failing
	var ue *persistence.UnavailableError
	if _, err := r.Update(ctx, "a", Change{Description: "x"}); !errors.As(err, &ue) {
		t.Fatalf("Update = %v, want the store's UnavailableError", err)
	}
	reads := st.reads
	if _, err := r.GetByName(ctx, "a"); err != nil || st.reads != reads+1 {
		t.Fatalf("lookup after an unknown outcome: err %v, store reads %d -> %d; want a store read", err, reads, st.reads)
	}
}

type failingUpdates struct {
	*memStore
	err error
}

func (s *failingUpdates) UpdateNamespace(context.Context, persistence.NamespaceRecord, []byte) error {
	return s.err
}

func TestRefreshPicksUpOtherProcessesChanges(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	mine, other := NewRegistry(Options{Store: st}), NewRegistry(Options{Store: st})
	if err := mine.Register(ctx, "a", time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Update(ctx, "a", Change{Description: "from elsewhere"}); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, mine, "a").Describe.GetNamespaceInfo().GetDescription(); got != "" {
		t.Fatalf("before Refresh the cache is expected to lag, got %q", got)
	}
	if err := mine.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, mine, "a").Describe.GetNamespaceInfo().GetDescription(); got != "from elsewhere" {
		t.Fatalf("after Refresh: description %q", got)
	}
}

func TestConcurrentUpdatesKeepEveryChange(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	r := NewRegistry(Options{Store: st})
	if err := r.Register(ctx, "a", time.Hour); err != nil {
		t.Fatal(err)
	}
	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			key := fmt.Sprint("k", i)
			if _, err := r.Update(ctx, "a", Change{Data: map[string]string{key: "v"}}); err != nil {
				t.Error(err)
			}
			if _, err := r.GetByName(ctx, "a"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	cached := mustGet(t, r, "a").Describe.GetNamespaceInfo().GetData()
	stored := mustGet(t, NewRegistry(Options{Store: st}), "a").Describe.GetNamespaceInfo().GetData()
	if len(cached) != n || len(stored) != n {
		t.Fatalf("data keys: cached %d, stored %d, want %d", len(cached), len(stored), n)
	}
}
