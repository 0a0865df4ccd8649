package namespace

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/sundialhq/sundial/internal/persistence"
)

// memStore is an in-memory persistence.NamespaceStore that counts reads.
type memStore struct {
	mu    sync.Mutex
	recs  map[string]persistence.NamespaceRecord // by ID
	reads int
	fail  error
}

func newMemStore() *memStore { return &memStore{recs: map[string]persistence.NamespaceRecord{}} }

func (s *memStore) CreateNamespace(_ context.Context, ns persistence.NamespaceRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	for _, r := range s.recs {
		if r.ID == ns.ID || r.Name == ns.Name {
			return persistence.ErrAlreadyExists
		}
	}
	ns.Data = append([]byte(nil), ns.Data...)
	s.recs[ns.ID] = ns
	return nil
}

func (s *memStore) GetNamespaceByName(_ context.Context, name string) (persistence.NamespaceRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	if s.fail != nil {
		return persistence.NamespaceRecord{}, s.fail
	}
	for _, r := range s.recs {
		if r.Name == name {
			return r, nil
		}
	}
	return persistence.NamespaceRecord{}, persistence.ErrNotFound
}

func (s *memStore) GetNamespaceByID(_ context.Context, id string) (persistence.NamespaceRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	if s.fail != nil {
		return persistence.NamespaceRecord{}, s.fail
	}
	r, ok := s.recs[id]
	if !ok {
		return persistence.NamespaceRecord{}, persistence.ErrNotFound
	}
	return r, nil
}

func (s *memStore) ListNamespaces(context.Context) ([]persistence.NamespaceRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []persistence.NamespaceRecord
	for _, r := range s.recs {
		out = append(out, r)
	}
	return out, nil
}

func (s *memStore) UpdateNamespace(_ context.Context, ns persistence.NamespaceRecord, prev []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	r, ok := s.recs[ns.ID]
	switch {
	case !ok:
		return persistence.ErrNotFound
	case !bytes.Equal(r.Data, prev):
		return persistence.ErrConditionFailed
	}
	if ns.Name != "" {
		for _, o := range s.recs {
			if o.ID != ns.ID && o.Name == ns.Name {
				return persistence.ErrAlreadyExists
			}
		}
		r.Name = ns.Name
	}
	r.Data = append([]byte(nil), ns.Data...)
	s.recs[ns.ID] = r
	return nil
}

func (s *memStore) DeleteNamespace(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	delete(s.recs, id)
	return nil
}

func TestRegisterAndGet(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	r := NewRegistry(Options{Store: st})
	if err := r.Register(ctx, "orders", 72*time.Hour); err != nil {
		t.Fatal(err)
	}
	// A fresh registry over the same store sees it (the record round-trips).
	r2 := NewRegistry(Options{Store: st})
	ns, err := r2.GetByName(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	if ns.Name != "orders" || ns.Retention != 72*time.Hour || ns.ID == "" {
		t.Fatalf("got %+v", ns)
	}
	info := ns.Describe.GetNamespaceInfo()
	if info.GetId() != ns.ID || info.GetName() != "orders" || info.GetState() != enumspb.NAMESPACE_STATE_REGISTERED {
		t.Fatalf("describe info = %v", info)
	}
	if info.GetCapabilities() == nil {
		t.Fatal("capabilities must be present (all false)")
	}
	if got := ns.Describe.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration(); got != 72*time.Hour {
		t.Fatalf("retention ttl = %v", got)
	}
	byID, err := r2.GetByID(ctx, ns.ID)
	if err != nil || byID != ns {
		t.Fatalf("GetByID = %v, %v; want the cached entry", byID, err)
	}
}

func TestCacheServesHits(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	r := NewRegistry(Options{Store: st})
	if err := r.Register(ctx, "default", time.Hour); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if _, err := r.GetByName(ctx, "default"); err != nil {
			t.Fatal(err)
		}
	}
	if st.reads != 0 {
		t.Fatalf("store reads = %d, want 0 (cached by Register)", st.reads)
	}
	// Misses are not cached: a namespace registered elsewhere shows up.
	if _, err := r.GetByName(ctx, "other"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	if err := NewRegistry(Options{Store: st}).Register(ctx, "other", time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := r.GetByName(ctx, "other"); err != nil {
		t.Fatalf("after registration elsewhere: %v", err)
	}
}

func TestRegisterErrors(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	r := NewRegistry(Options{Store: st})
	if err := r.Register(ctx, "a", time.Hour); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		retention time.Duration
		want      error
	}{
		{"a", time.Hour, ErrAlreadyExists},
		{"", time.Hour, ErrInvalidName},
		{strings.Repeat("x", MaxNameLength+1), time.Hour, ErrInvalidName},
		{"bad\xff", time.Hour, ErrInvalidName},
		{"b", -time.Second, ErrInvalidRetention},
	}
	for _, c := range cases {
		if err := r.Register(ctx, c.name, c.retention); !errors.Is(err, c.want) {
			t.Errorf("Register(%.20q) = %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := r.GetByID(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetByID missing = %v", err)
	}
}

func TestEnsureRegisteredIdempotent(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	for i := 0; i < 3; i++ {
		if err := NewRegistry(Options{Store: st}).EnsureRegistered(ctx, "default", 24*time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if len(st.recs) != 1 {
		t.Fatalf("records = %d, want 1", len(st.recs))
	}
}

func TestStoreErrorsPassThrough(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	unavailable := &persistence.UnavailableError{Err: errors.New("disk on fire")}
	st.fail = unavailable
	r := NewRegistry(Options{Store: st})
	var ue *persistence.UnavailableError
	if _, err := r.GetByName(ctx, "x"); !errors.As(err, &ue) {
		t.Fatalf("GetByName = %v, want UnavailableError", err)
	}
	if err := r.EnsureRegistered(ctx, "x", time.Hour); !errors.As(err, &ue) {
		t.Fatalf("EnsureRegistered = %v, want UnavailableError", err)
	}
}

func TestListSorted(t *testing.T) {
	ctx := context.Background()
	r := NewRegistry(Options{Store: newMemStore()})
	for _, n := range []string{"c", "a", "b"} {
		if err := r.Register(ctx, n, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	all, err := r.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ns := range all {
		names = append(names, ns.Name)
	}
	if strings.Join(names, ",") != "a,b,c" {
		t.Fatalf("names = %v", names)
	}
}
