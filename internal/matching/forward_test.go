package matching

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundialhq/sundial/internal/membership"
	"github.com/sundialhq/sundial/internal/persistence"
)

// engineForwarder is a Forwarder between engines of one test: each call
// goes to the engine the view gives the queue's root, as the routed
// forwarder sends it to the root's owner.
type engineForwarder struct {
	view    *membership.View
	stale   atomic.Pointer[string] // set: every call goes to this engine instead
	mu      sync.Mutex
	engines map[string]*Engine
	tasks   atomic.Int32 // ForwardTask calls
	matched atomic.Int32 // of which matched
	polls   atomic.Int32 // forwarded polls
}

func newEngineForwarder(view *membership.View) *engineForwarder {
	return &engineForwarder{view: view, engines: map[string]*Engine{}}
}

func (f *engineForwarder) set(id string, e *Engine) {
	f.mu.Lock()
	f.engines[id] = e
	f.mu.Unlock()
}

func (f *engineForwarder) root(namespaceID, taskQueue string, activity bool) (*Engine, error) {
	kind := "workflow"
	if activity {
		kind = "activity"
	}
	m, err := f.view.Ring("").Lookup(membership.RoleMatching, membership.TaskQueueKey(namespaceID, taskQueue, kind))
	if err != nil {
		return nil, err
	}
	id := m.Identity
	if s := f.stale.Load(); s != nil {
		id = *s
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if e := f.engines[id]; e != nil {
		return e, nil
	}
	return nil, errors.New("no engine " + m.Identity)
}

func (f *engineForwarder) ForwardTask(ctx context.Context, t *ForwardedTask) (bool, error) {
	f.tasks.Add(1)
	e, err := f.root(t.NamespaceID, t.TaskQueue, t.Activity)
	if err != nil {
		return false, err
	}
	ok, err := e.OfferForwardedTask(ctx, t)
	if ok {
		f.matched.Add(1)
	}
	return ok, err
}

func (f *engineForwarder) ForwardPollWorkflowTask(ctx context.Context, namespaceID string, req *workflowservice.PollWorkflowTaskQueueRequest) (*workflowservice.PollWorkflowTaskQueueResponse, error) {
	f.polls.Add(1)
	e, err := f.root(namespaceID, req.GetTaskQueue().GetName(), false)
	if err != nil {
		return nil, err
	}
	return e.PollWorkflowTaskQueueForwarded(ctx, namespaceID, req)
}

func (f *engineForwarder) ForwardPollActivityTask(ctx context.Context, namespaceID string, req *workflowservice.PollActivityTaskQueueRequest) (*workflowservice.PollActivityTaskQueueResponse, error) {
	f.polls.Add(1)
	e, err := f.root(namespaceID, req.GetTaskQueue().GetName(), true)
	if err != nil {
		return nil, err
	}
	return e.PollActivityTaskQueueForwarded(ctx, namespaceID, req)
}

const fwdParts = 4

// forwardingCluster is engines a and b (and more by id) over one store and
// one history, forwarding through an engineForwarder.
type forwardingCluster struct {
	t     *testing.T
	store *fakeStore
	hist  *fakeHistory
	view  *membership.View
	fwd   *engineForwarder
	h     map[string]*harness
}

func newForwardingCluster(t *testing.T, ids ...string) *forwardingCluster {
	c := &forwardingCluster{t: t, store: newFakeStore(), hist: newFakeHistory(),
		view: membership.NewView(membership.RoleMatching), h: map[string]*harness{}}
	c.fwd = newEngineForwarder(c.view)
	c.view.Set("a", "b")
	for _, id := range ids {
		h := newForwardingHarness(t, c.store, map[string]any{KeyNumWritePartitions: fwdParts}, c.view.Ring(id), c.fwd)
		h.hist = c.hist
		h.e.SetHistoryClient(c.hist)
		c.fwd.set(id, h.e)
		c.h[id] = h
	}
	return c
}

func (c *forwardingCluster) owner(tq string, p int) string {
	m, _ := c.view.Ring("").Lookup(membership.RoleMatching, membership.PartitionKey(testNS, tq, "workflow", p))
	return m.Identity
}

// splitQueue returns a queue whose root a owns and a child partition of it
// that b owns.
func (c *forwardingCluster) splitQueue() (string, int32) {
	for i := range 1000 {
		tq := fmt.Sprintf("fwd-tq-%d", i)
		if c.owner(tq, 0) != "a" {
			continue
		}
		for p := 1; p < fwdParts; p++ {
			if c.owner(tq, p) == "b" {
				return tq, int32(p)
			}
		}
	}
	c.t.Fatal("no queue split between a and b")
	return "", 0
}

func (h *harness) addTo(tq, wf string, partition int32) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return h.e.AddWorkflowTask(ctx, &AddTaskRequest{NamespaceID: testNS, TaskQueue: tq, WorkflowID: wf,
		RunID: "run-" + wf, ScheduledEventID: 2, Partition: partition})
}

func (h *harness) load(tq string) {
	h.t.Helper()
	if _, err := h.e.DescribeTaskQueue(context.Background(), DescribeRequest{NamespaceID: testNS, Name: tq, Partition: -1}); err != nil {
		h.t.Fatal(err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// A task added to a child partition whose owner has no poller reaches the
// poller waiting at the root: once, never written.
func TestAddOnChildMatchesPollerAtRoot(t *testing.T) {
	c := newForwardingCluster(t, "a", "b")
	a, b := c.h["a"], c.h["b"]
	tq, child := c.splitQueue()
	b.load(tq)
	b.waitPollers(tq, 1) // b's task forwarders wait for work
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ch := a.pollAsync(ctx, tq)
	a.waitPollers(tq, 1)

	if err := b.addTo(tq, "wf-1", child); err != nil {
		t.Fatal(err)
	}
	resp := recvResp(t, ch)
	if got := resp.GetWorkflowExecution().GetWorkflowId(); got != "wf-1" {
		t.Fatalf("root poller got %q, want wf-1", got)
	}
	if got := c.hist.startedCopy()["wf-1"]; got != 1 {
		t.Fatalf("wf-1 started %d times", got)
	}
	if c.store.createCalls() != 0 || c.fwd.matched.Load() != 1 {
		t.Fatalf("%d backlog writes and %d forwarded matches; want a forwarded sync match", c.store.createCalls(), c.fwd.matched.Load())
	}
}

// A child partition's backlog, with pollers only at the root, drains
// there: each task delivered once, and its row deleted once the root's
// poller took it.
func TestChildBacklogDrainsToRootPollers(t *testing.T) {
	const n = 6
	c := newForwardingCluster(t, "a", "b")
	a, b := c.h["a"], c.h["b"]
	tq, child := c.splitQueue()
	for i := range n {
		if err := b.addTo(tq, fmt.Sprintf("wf-%d", i), child); err != nil {
			t.Fatal(err)
		}
	}
	if got := b.backlog(tq); got != n {
		t.Fatalf("b's backlog is %d, want %d (no poller anywhere)", got, n)
	}
	seen := map[string]bool{}
	for range n {
		wf, _ := a.mustPoll(tq)
		if seen[wf] {
			t.Fatalf("%s delivered twice", wf)
		}
		seen[wf] = true
	}
	waitFor(t, "b's backlog to drain", func() bool { return b.backlog(tq) == 0 && c.store.rows() == 0 })
	for wf, k := range c.hist.startedCopy() {
		if k != 1 {
			t.Errorf("%s started %d times", wf, k)
		}
	}
	if c.fwd.matched.Load() != n {
		t.Errorf("%d forwarded tasks matched, want %d", c.fwd.matched.Load(), n)
	}
}

// A poll on a child partition's owner with nothing there waits at the root
// and gets the root's task.
func TestPollOnChildForwardedToRoot(t *testing.T) {
	c := newForwardingCluster(t, "a", "b")
	a, b := c.h["a"], c.h["b"]
	tq, _ := c.splitQueue()
	a.load(tq)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ch := b.pollAsync(ctx, tq)
	waitFor(t, "the poll forwarded to the root", func() bool { return c.fwd.polls.Load() == 1 })
	a.waitPollers(tq, 1)
	if err := a.addTo(tq, "wf-root", 0); err != nil {
		t.Fatal(err)
	}
	if got := recvResp(t, ch).GetWorkflowExecution().GetWorkflowId(); got != "wf-root" {
		t.Fatalf("b's poll got %q, want wf-root", got)
	}
}

// Work forwarded to an engine that does not hold the root (its ring and
// the forwarder's disagree for a moment) is refused, and stays where it
// was: the poll waits on the child's owner, where a local task reaches it,
// and tries again a little later, reaching the root once it takes work.
func TestForwardToStaleRootStaysHere(t *testing.T) {
	c := newForwardingCluster(t, "a", "b")
	a, b := c.h["a"], c.h["b"]
	stale := "b"
	c.fwd.stale.Store(&stale)
	tq, child := c.splitQueue()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ch := b.pollAsync(ctx, tq)
	waitFor(t, "the poll forwarded", func() bool { return c.fwd.polls.Load() == 1 })
	b.waitPollers(tq, defaultForwardTasks+1) // the poll came back to wait here
	if err := b.addTo(tq, "wf-here", child); err != nil {
		t.Fatal(err)
	}
	if got := recvResp(t, ch).GetWorkflowExecution().GetWorkflowId(); got != "wf-here" {
		t.Fatalf("b's poll got %q, want wf-here", got)
	}
	var lost *persistence.TaskQueueLeaseLostError
	if _, err := b.e.OfferForwardedTask(ctx, &ForwardedTask{NamespaceID: testNS, TaskQueue: tq, WorkflowID: "x"}); !errors.As(err, &lost) {
		t.Fatalf("a forwarded task offered to b (not the root): %v, want a lost lease", err)
	}

	a.load(tq)
	polls := c.fwd.polls.Load()
	ch = b.pollAsync(ctx, tq)
	waitFor(t, "the poll refused", func() bool { return c.fwd.polls.Load() > polls })
	c.fwd.stale.Store(nil)
	a.waitPollers(tq, 1) // forwarded again, within forwardRetryWait
	if err := a.addTo(tq, "wf-root", 0); err != nil {
		t.Fatal(err)
	}
	if got := recvResp(t, ch).GetWorkflowExecution().GetWorkflowId(); got != "wf-root" {
		t.Fatalf("b's poll got %q, want wf-root", got)
	}
}

// Forwarded polls are bounded: beyond matching.forwarderMaxOutstandingPolls
// a poll waits on the child's owner, where a local task reaches it, ahead
// of the task forwarders waiting there too.
func TestForwardedPollsBounded(t *testing.T) {
	c := newForwardingCluster(t, "a", "b")
	b := c.h["b"]
	b.e.dyn.Set(KeyForwarderMaxOutstandingPolls, 1)
	tq, child := c.splitQueue()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	first := b.pollAsync(ctx, tq)
	waitFor(t, "the first poll forwarded", func() bool { return c.fwd.polls.Load() == 1 })
	second := b.pollAsync(ctx, tq)
	b.waitPollers(tq, defaultForwardTasks+1)
	if err := b.addTo(tq, "wf-local", child); err != nil {
		t.Fatal(err)
	}
	if got := recvResp(t, second).GetWorkflowExecution().GetWorkflowId(); got != "wf-local" {
		t.Fatalf("the poll waiting on b got %q, want wf-local", got)
	}
	if c.fwd.polls.Load() != 1 || c.fwd.tasks.Load() != 0 {
		t.Fatalf("%d polls and %d tasks forwarded, want 1 and 0", c.fwd.polls.Load(), c.fwd.tasks.Load())
	}
	cancel()
	<-first
}

// Partitions move (a member joins, one leaves, it comes back) while tasks
// are added and polled through their owners: every task is delivered to a
// poller exactly once, and no backlog row is left. History refuses a
// second start of a task, as the real one does.
func TestForwardingThroughPartitionMoves(t *testing.T) {
	const n = 150
	c := newForwardingCluster(t, "a", "b", "c")
	c.hist.setFail(func(req *RecordStartedRequest, _ int) error {
		if c.hist.started[req.WorkflowID] > 0 { // setFail's caller holds hist.mu
			return ErrTaskGone
		}
		return nil
	})
	tqs := []string{"move-tq-0", "move-tq-1"}
	route := func(tq string, p int) *harness { return c.h[c.owner(tq, p)] }

	var mu sync.Mutex
	delivered := map[string]int{}
	stop := make(chan struct{})
	var pollers sync.WaitGroup
	for i := range 6 {
		pollers.Add(1)
		go func() {
			defer pollers.Done()
			tq := tqs[i%len(tqs)]
			for {
				select {
				case <-stop:
					return
				default:
				}
				h := route(tq, rand.IntN(fwdParts))
				ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
				resp, err := h.e.PollWorkflowTaskQueue(ctx, testNS, &workflowservice.PollWorkflowTaskQueueRequest{
					Identity: "worker", TaskQueue: &taskqueuepb.TaskQueue{Name: tq, Kind: enumspb.TASK_QUEUE_KIND_NORMAL}})
				cancel()
				if err == nil && resp.GetWorkflowExecution() != nil {
					mu.Lock()
					delivered[resp.GetWorkflowExecution().GetWorkflowId()]++
					mu.Unlock()
				}
			}
		}()
	}
	defer func() {
		close(stop)
		pollers.Wait()
	}()
	moves := map[int][]string{n / 4: {"a", "b", "c"}, n / 2: {"a", "c"}, 3 * n / 4: {"a", "b", "c"}}
	for i := range n {
		if ids, ok := moves[i]; ok {
			c.view.Set(ids...)
		}
		tq := tqs[i%len(tqs)]
		wf := fmt.Sprintf("wf-%d", i)
		deadline := time.Now().Add(10 * time.Second)
		for {
			p := rand.IntN(fwdParts)
			err := route(tq, p).addTo(tq, wf, int32(p))
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("add %s: %v", wf, err)
			}
			time.Sleep(5 * time.Millisecond) // the ring settles (a lost lease, as the routed client retries)
		}
	}
	waitFor(t, "every task delivered", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(delivered) == n
	})
	mu.Lock()
	for wf, k := range delivered {
		if k != 1 {
			t.Errorf("%s delivered %d times", wf, k)
		}
	}
	mu.Unlock()
	waitFor(t, "no backlog row left", func() bool { return c.store.rows() == 0 })
}
