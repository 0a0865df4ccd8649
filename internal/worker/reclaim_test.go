package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/sundialhq/sundial/internal/clock"
	"github.com/sundialhq/sundial/internal/history"
	"github.com/sundialhq/sundial/internal/namespace"
	"github.com/sundialhq/sundial/internal/persistence"
)

// nsStore is an in-memory persistence.NamespaceStore.
type nsStore struct {
	mu   sync.Mutex
	recs map[string]persistence.NamespaceRecord
}

func (s *nsStore) CreateNamespace(_ context.Context, ns persistence.NamespaceRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.recs {
		if r.Name == ns.Name || r.ID == ns.ID {
			return persistence.ErrAlreadyExists
		}
	}
	s.recs[ns.ID] = ns
	return nil
}

func (s *nsStore) GetNamespaceByName(_ context.Context, name string) (persistence.NamespaceRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.recs {
		if r.Name == name {
			return r, nil
		}
	}
	return persistence.NamespaceRecord{}, persistence.ErrNotFound
}

func (s *nsStore) GetNamespaceByID(_ context.Context, id string) (persistence.NamespaceRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.recs[id]
	if !ok {
		return r, persistence.ErrNotFound
	}
	return r, nil
}

func (s *nsStore) ListNamespaces(context.Context) ([]persistence.NamespaceRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []persistence.NamespaceRecord
	for _, r := range s.recs {
		out = append(out, r)
	}
	return out, nil
}

func (s *nsStore) UpdateNamespace(_ context.Context, ns persistence.NamespaceRecord, prev []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.recs[ns.ID]
	if !ok {
		return persistence.ErrNotFound
	}
	if string(r.Data) != string(prev) {
		return persistence.ErrConditionFailed
	}
	if ns.Name != "" {
		r.Name = ns.Name
	}
	r.Data = ns.Data
	s.recs[ns.ID] = r
	return nil
}

func (s *nsStore) DeleteNamespace(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.recs, id)
	return nil
}

// runs is a fake history and visibility store over one set of runs per
// namespace ID: deleting a run through history removes its record.
type runs struct {
	history.Service
	persistence.VisibilityStore

	mu       sync.Mutex
	records  map[string][]*persistence.VisibilityRecord // by namespace ID
	gone     map[string]bool                            // run IDs history no longer has
	fail     error                                      // returned by DeleteWorkflowExecution
	failRun  string                                     // if set, fail only for this run
	deletes  int
	attrs    map[string]map[string]enumspb.IndexedValueType
	removed  map[string][]string
	pageSize int
}

func (f *runs) DeleteWorkflowExecution(_ context.Context, nsID string, exec *commonpb.WorkflowExecution) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil && (f.failRun == "" || f.failRun == exec.GetRunId()) {
		return f.fail
	}
	if f.gone[exec.GetRunId()] {
		return history.ErrWorkflowNotFound
	}
	f.deletes++
	f.drop(nsID, exec.GetRunId())
	return nil
}

func (f *runs) drop(nsID, runID string) {
	recs := f.records[nsID]
	for i, r := range recs {
		if r.RunID == runID {
			f.records[nsID] = append(recs[:i:i], recs[i+1:]...)
			return
		}
	}
}

func (f *runs) DeleteVisibility(_ context.Context, nsID, _, runID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.drop(nsID, runID)
	return nil
}

// ListVisibility pages by Version (each record's sequence number), as
// keyset paging does: deleting rows never makes a page skip one.
func (f *runs) ListVisibility(_ context.Context, req *persistence.ListVisibilityRequest) (*persistence.ListVisibilityResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pageSize = max(f.pageSize, req.PageSize)
	after := int64(-1)
	if len(req.NextPageToken) > 0 {
		after, _ = strconv.ParseInt(string(req.NextPageToken), 10, 64)
	}
	resp := &persistence.ListVisibilityResponse{}
	for _, r := range f.records[req.NamespaceID] {
		if r.Version <= after {
			continue
		}
		if len(resp.Records) == req.PageSize {
			resp.NextPageToken = []byte(strconv.FormatInt(resp.Records[len(resp.Records)-1].Version, 10))
			break
		}
		resp.Records = append(resp.Records, r)
	}
	return resp, nil
}

func (f *runs) GetSearchAttributes(_ context.Context, nsID string) (map[string]enumspb.IndexedValueType, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.attrs[nsID], nil
}

func (f *runs) Remove(_ context.Context, nsID string, names []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.removed[nsID] = names
	delete(f.attrs, nsID)
	return nil
}

func (f *runs) count(nsID string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.records[nsID])
}

// manualClock is a clock.Clock whose time the test moves; AfterFunc never
// fires (passes are driven by calling pass directly).
type manualClock struct{ now time.Time }

func (c *manualClock) Now() time.Time                              { return c.now }
func (c *manualClock) AfterFunc(time.Duration, func()) clock.Timer { return stopped{} }

type stopped struct{}

func (stopped) Stop() bool { return false }

type harness struct {
	r     *Reclaimer
	reg   *namespace.Registry
	runs  *runs
	clock *manualClock
}

func newHarness(t *testing.T) *harness {
	reg := namespace.NewRegistry(namespace.Options{Store: &nsStore{recs: map[string]persistence.NamespaceRecord{}}})
	f := &runs{records: map[string][]*persistence.VisibilityRecord{}, gone: map[string]bool{},
		attrs: map[string]map[string]enumspb.IndexedValueType{}, removed: map[string][]string{}}
	c := &manualClock{now: time.Unix(1000, 0)}
	r := NewReclaimer(ReclaimOptions{Namespaces: reg, History: f, Visibility: f, SearchAttributes: f,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Clock: c, QuietPeriod: 10 * time.Second})
	return &harness{r: r, reg: reg, runs: f, clock: c}
}

// namespaceWithRuns registers name with n runs and a custom attribute.
func (h *harness) namespaceWithRuns(t *testing.T, name string, n int) string {
	t.Helper()
	ns, err := h.reg.Create(context.Background(), namespace.Spec{Name: name, Retention: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		h.runs.records[ns.ID] = append(h.runs.records[ns.ID], &persistence.VisibilityRecord{
			NamespaceID: ns.ID, WorkflowID: fmt.Sprintf("wf-%d", i), RunID: fmt.Sprintf("%s-run-%d", name, i), Version: int64(i)})
	}
	h.runs.attrs[ns.ID] = map[string]enumspb.IndexedValueType{"B": enumspb.INDEXED_VALUE_TYPE_INT, "A": enumspb.INDEXED_VALUE_TYPE_KEYWORD}
	return ns.ID
}

func TestReclaimDeletesRunsThenRecordAfterQuietPeriod(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	doomed := h.namespaceWithRuns(t, "doomed", 250)
	kept := h.namespaceWithRuns(t, "kept", 3)
	h.runs.gone["doomed-run-7"] = true // history lost it; only its record is left
	if _, err := h.reg.MarkDeleted(ctx, "doomed"); err != nil {
		t.Fatal(err)
	}

	if !h.r.pass(ctx) {
		t.Fatal("first pass: want more work reported")
	}
	if n := h.runs.count(doomed); n != 0 {
		t.Fatalf("runs left after the first pass: %d", n)
	}
	if h.runs.deletes != 249 || h.runs.pageSize != reclaimPageSize {
		t.Fatalf("history deletes %d (want 249), page size %d", h.runs.deletes, h.runs.pageSize)
	}
	if h.runs.count(kept) != 3 || h.runs.attrs[kept] == nil {
		t.Fatal("a live namespace lost data")
	}
	// Empty now, but the record stays for the quiet period.
	for _, step := range []time.Duration{0, 5 * time.Second} {
		h.clock.now = h.clock.now.Add(step)
		if !h.r.pass(ctx) {
			t.Fatal("pass within the quiet period: want more work reported")
		}
		if _, err := h.reg.GetByID(ctx, doomed); err != nil {
			t.Fatalf("record removed within the quiet period: %v", err)
		}
	}
	h.clock.now = h.clock.now.Add(6 * time.Second)
	if h.r.pass(ctx) {
		t.Fatal("pass after the quiet period: want no more work")
	}
	if _, err := h.reg.GetByID(ctx, doomed); !errors.Is(err, namespace.ErrNotFound) {
		t.Fatalf("record after reclaim: %v, want ErrNotFound", err)
	}
	if got := h.runs.removed[doomed]; len(got) != 2 || !sort.StringsAreSorted(got) {
		t.Fatalf("search attributes removed: %v, want [A B]", got)
	}
	if _, err := h.reg.GetByName(ctx, "kept"); err != nil {
		t.Fatalf("live namespace: %v", err)
	}
}

func TestReclaimIsBoundedPerPass(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	id := h.namespaceWithRuns(t, "big", maxDeletesPerPass+150)
	if _, err := h.reg.MarkDeleted(ctx, "big"); err != nil {
		t.Fatal(err)
	}
	h.r.pass(ctx)
	if n := h.runs.count(id); n != 150 {
		t.Fatalf("runs left after one pass: %d, want 150", n)
	}
	h.r.pass(ctx)
	if n := h.runs.count(id); n != 0 {
		t.Fatalf("runs left after two passes: %d", n)
	}
}

func TestReclaimRetriesAfterFailure(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	id := h.namespaceWithRuns(t, "flaky", 5)
	if _, err := h.reg.MarkDeleted(ctx, "flaky"); err != nil {
		t.Fatal(err)
	}
	h.runs.fail = &persistence.UnavailableError{Err: errors.New("down")}
	if !h.r.pass(ctx) {
		t.Fatal("a failed pass must report more work")
	}
	if n := h.runs.count(id); n != 5 {
		t.Fatalf("runs left after a failed pass: %d, want 5", n)
	}
	h.runs.fail = nil
	h.r.pass(ctx)
	if n := h.runs.count(id); n != 0 {
		t.Fatalf("runs left after the retry: %d", n)
	}
}

func TestReclaimSkipsARunThatFails(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	id := h.namespaceWithRuns(t, "poisoned", 300)
	if _, err := h.reg.MarkDeleted(ctx, "poisoned"); err != nil {
		t.Fatal(err)
	}
	h.runs.fail = &persistence.UnavailableError{Err: errors.New("one bad run")}
	h.runs.failRun = "poisoned-run-3"
	if !h.r.pass(ctx) {
		t.Fatal("a pass with a failed run must report more work")
	}
	if n := h.runs.count(id); n != 1 {
		t.Fatalf("runs left: %d, want only the failing one", n)
	}
	h.runs.fail = nil
	h.r.pass(ctx)
	if n := h.runs.count(id); n != 0 {
		t.Fatalf("runs left after the retry: %d", n)
	}
}

func TestReclaimerWakeAndStop(t *testing.T) {
	h := newHarness(t)
	id := h.namespaceWithRuns(t, "woken", 2)
	h.r.Start()
	defer h.r.Stop()
	if _, err := h.reg.MarkDeleted(context.Background(), "woken"); err != nil {
		t.Fatal(err)
	}
	h.r.Wake()
	deadline := time.Now().Add(30 * time.Second)
	for h.runs.count(id) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("Wake did not start a pass")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
