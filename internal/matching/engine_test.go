package matching

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundialhq/sundial/internal/config"
	"github.com/sundialhq/sundial/internal/membership"
	"github.com/sundialhq/sundial/internal/persistence"
)

const testNS = "ns-1"

// harness is an Engine over a fake store and a fake history.
type harness struct {
	t     *testing.T
	store *fakeStore
	hist  *fakeHistory
	clock *skewClock
	e     *Engine
}

// newHarness builds an engine over store (a fresh one if nil) with a 2s long
// poll unless dyn overrides it.
func newHarness(t *testing.T, store *fakeStore, dyn map[string]any) *harness {
	t.Helper()
	return newRingHarness(t, store, dyn, nil)
}

// newRingHarness is newHarness with the engine on ring (nil: a cluster of
// one).
func newRingHarness(t *testing.T, store *fakeStore, dyn map[string]any, ring membership.Ring) *harness {
	t.Helper()
	return newForwardingHarness(t, store, dyn, ring, nil)
}

// newForwardingHarness is newRingHarness with a Forwarder (nil: none).
func newForwardingHarness(t *testing.T, store *fakeStore, dyn map[string]any, ring membership.Ring, fwd Forwarder) *harness {
	t.Helper()
	if store == nil {
		store = newFakeStore()
	}
	d := config.NewDynamic(map[string]any{KeyLongPollExpirationInterval: "2s"})
	for k, v := range dyn {
		d.Set(k, v)
	}
	h := &harness{t: t, store: store, hist: newFakeHistory(), clock: &skewClock{}}
	h.e = New(Options{Store: store, Dynamic: d, Clock: h.clock, Ring: ring, Forwarder: fwd,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	h.e.SetHistoryClient(h.hist)
	t.Cleanup(h.e.Stop)
	return h
}

func (h *harness) addReq(tq, wf string, scheduleToStart time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return h.e.AddWorkflowTask(ctx, &AddTaskRequest{NamespaceID: testNS, TaskQueue: tq, WorkflowID: wf,
		RunID: "run-" + wf, ScheduledEventID: 2, ScheduleToStart: scheduleToStart})
}

func (h *harness) add(tq, wf string) {
	h.t.Helper()
	if err := h.addReq(tq, wf, 0); err != nil {
		h.t.Fatalf("add %s: %v", wf, err)
	}
}

func (h *harness) poll(ctx context.Context, tq string) (*workflowservice.PollWorkflowTaskQueueResponse, error) {
	return h.e.PollWorkflowTaskQueue(ctx, testNS, &workflowservice.PollWorkflowTaskQueueRequest{
		Namespace: "default", Identity: "worker-1",
		TaskQueue: &taskqueuepb.TaskQueue{Name: tq, Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
	})
}

// mustPoll polls once and returns the started task's workflow ID.
func (h *harness) mustPoll(tq string) (string, *workflowservice.PollWorkflowTaskQueueResponse) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := h.poll(ctx, tq)
	if err != nil {
		h.t.Fatalf("poll: %v", err)
	}
	if resp.GetWorkflowExecution() == nil {
		h.t.Fatalf("poll returned empty, want a task")
	}
	return resp.GetWorkflowExecution().GetWorkflowId(), resp
}

// pollAsync starts a poll and returns its result channel.
func (h *harness) pollAsync(ctx context.Context, tq string) <-chan *workflowservice.PollWorkflowTaskQueueResponse {
	ch := make(chan *workflowservice.PollWorkflowTaskQueueResponse, 1)
	go func() {
		resp, err := h.poll(ctx, tq)
		if err != nil {
			h.t.Errorf("poll: %v", err)
		}
		ch <- resp
	}()
	return ch
}

// waitPollers waits until n pollers are parked on the workflow queue tq.
func (h *harness) waitPollers(tq string, n int) {
	h.t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		h.e.mu.Lock()
		q := h.e.queues[queueID{testNS, tq, kindWorkflow}]
		h.e.mu.Unlock()
		if q != nil {
			q.mu.Lock()
			got := q.waiters.Len()
			q.mu.Unlock()
			if got >= n {
				return
			}
		}
		time.Sleep(time.Millisecond)
	}
	h.t.Fatalf("timed out waiting for %d pollers on %s", n, tq)
}

func (h *harness) backlog(tq string) int64 { return h.e.BacklogCount(testNS, tq, kindWorkflow) }

func recvResp(t *testing.T, ch <-chan *workflowservice.PollWorkflowTaskQueueResponse) *workflowservice.PollWorkflowTaskQueueResponse {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("poll did not return")
		return nil
	}
}

func TestSyncMatchWritesNothing(t *testing.T) {
	h := newHarness(t, nil, nil)
	ch := h.pollAsync(context.Background(), "tq")
	h.waitPollers("tq", 1)
	h.add("tq", "wf-1")
	resp := recvResp(t, ch)
	if got := resp.GetWorkflowExecution().GetWorkflowId(); got != "wf-1" {
		t.Fatalf("got workflow %q, want wf-1", got)
	}
	if string(resp.TaskToken) != "wf-1/2" {
		t.Fatalf("task token %q not passed through from history", resp.TaskToken)
	}
	if n := h.store.createCalls(); n != 0 {
		t.Fatalf("sync match wrote %d batches, want none", n)
	}
	if n := h.backlog("tq"); n != 0 {
		t.Fatalf("backlog %d, want 0", n)
	}
	h.hist.mu.Lock()
	req := h.hist.calls[0]
	h.hist.mu.Unlock()
	if req.PollRequestID == "" || req.Identity != "worker-1" || req.TaskQueue != "tq" || req.NamespaceID != testNS {
		t.Fatalf("RecordStarted request %+v lacks poll details", req)
	}
}

func TestBacklogServedInOrder(t *testing.T) {
	h := newHarness(t, nil, map[string]any{KeyNumWritePartitions: 1})
	for i := range 10 {
		h.add("tq", fmt.Sprintf("wf-%d", i))
	}
	if h.store.rows() != 10 || h.backlog("tq") != 10 {
		t.Fatalf("rows %d backlog %d, want 10 and 10", h.store.rows(), h.backlog("tq"))
	}
	for i := range 10 {
		got, resp := h.mustPoll("tq")
		if want := fmt.Sprintf("wf-%d", i); got != want {
			t.Fatalf("poll %d got %s, want %s", i, got, want)
		}
		if resp.BacklogCountHint != int64(9-i) {
			t.Fatalf("poll %d backlog hint %d, want %d", i, resp.BacklogCountHint, 9-i)
		}
	}
	if h.store.rows() != 0 || h.backlog("tq") != 0 {
		t.Fatalf("rows %d backlog %d after draining, want 0", h.store.rows(), h.backlog("tq"))
	}
}

func TestBacklogAcrossPartitions(t *testing.T) {
	h := newHarness(t, nil, nil) // default: 4 partitions
	want := map[string]bool{}
	for i := range 12 {
		wf := fmt.Sprintf("wf-%d", i)
		want[wf] = true
		h.add("tq", wf)
	}
	h.store.mu.Lock()
	parts := 0
	for key, p := range h.store.parts {
		if key.Name == "tq" && len(p.tasks) > 0 {
			parts++
		}
	}
	h.store.mu.Unlock()
	if parts != 4 {
		t.Fatalf("tasks spread over %d partitions, want 4", parts)
	}
	for range 12 {
		got, _ := h.mustPoll("tq")
		if !want[got] {
			t.Fatalf("unexpected or duplicate task %s", got)
		}
		delete(want, got)
	}
}

func TestLongPollReturnsEmpty(t *testing.T) {
	h := newHarness(t, nil, map[string]any{KeyLongPollExpirationInterval: "100ms"})
	start := time.Now()
	resp, err := h.poll(context.Background(), "tq")
	if err != nil || resp == nil || resp.TaskToken != nil {
		t.Fatalf("got %v, %v; want an empty response", resp, err)
	}
	if d := time.Since(start); d < 100*time.Millisecond || d > 2*time.Second {
		t.Fatalf("long poll took %v, want about 100ms", d)
	}
	// ctx ending first also gives an empty response, not an error.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	h2 := newHarness(t, nil, nil)
	resp, err = h2.poll(ctx, "tq")
	if err != nil || resp == nil || resp.TaskToken != nil {
		t.Fatalf("got %v, %v on ctx timeout; want an empty response", resp, err)
	}
}

func TestStopReleasesPollers(t *testing.T) {
	h := newHarness(t, nil, map[string]any{KeyLongPollExpirationInterval: "60s"})
	ch := h.pollAsync(context.Background(), "tq")
	h.waitPollers("tq", 1)
	start := time.Now()
	h.e.Stop()
	if resp := recvResp(t, ch); resp == nil || resp.TaskToken != nil {
		t.Fatalf("got %v, want an empty response", resp)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("poller released after %v", d)
	}
	start = time.Now()
	resp, err := h.poll(context.Background(), "tq")
	if err != nil || resp.TaskToken != nil || time.Since(start) > time.Second {
		t.Fatalf("poll after Stop: %v, %v after %v; want empty at once", resp, err, time.Since(start))
	}
	// Adds still land in the backlog.
	h.add("tq", "wf-late")
	if h.store.rows() != 1 {
		t.Fatalf("add after Stop wrote %d rows, want 1", h.store.rows())
	}
}

func TestTaskGoneDroppedAndNextServed(t *testing.T) {
	h := newHarness(t, nil, map[string]any{KeyNumWritePartitions: 1})
	h.hist.setFail(func(req *RecordStartedRequest, _ int) error {
		if req.WorkflowID == "gone-1" || req.WorkflowID == "gone-2" {
			return fmt.Errorf("wrapped: %w", ErrTaskGone)
		}
		return nil
	})
	// Backlog: the stale task is deleted and the same poll gets the next.
	h.add("tq", "gone-1")
	h.add("tq", "wf-1")
	if got, _ := h.mustPoll("tq"); got != "wf-1" {
		t.Fatalf("got %s, want wf-1", got)
	}
	if h.store.rows() != 0 || h.backlog("tq") != 0 {
		t.Fatalf("rows %d backlog %d, want 0", h.store.rows(), h.backlog("tq"))
	}
	// Sync match: the add succeeds, the poller keeps waiting for the next.
	ch := h.pollAsync(context.Background(), "tq")
	h.waitPollers("tq", 1)
	h.add("tq", "gone-2")
	h.waitPollers("tq", 1)
	h.add("tq", "wf-2")
	if got := recvResp(t, ch).GetWorkflowExecution().GetWorkflowId(); got != "wf-2" {
		t.Fatalf("got %s, want wf-2", got)
	}
	if h.store.createCalls() != 2 {
		t.Fatalf("%d CreateTasks calls, want 2 (the backlog part only)", h.store.createCalls())
	}
}

func TestTransientHistoryErrorRetried(t *testing.T) {
	h := newHarness(t, nil, map[string]any{KeyNumWritePartitions: 1})
	failures := map[string]int{"wf-1": 2, "wf-2": 1}
	h.hist.setFail(func(req *RecordStartedRequest, _ int) error {
		if failures[req.WorkflowID] > 0 {
			failures[req.WorkflowID]--
			return errUnavailable
		}
		return nil
	})
	// Backlog task: kept and served by the same waiting poll after backoff.
	h.add("tq", "wf-1")
	if got, _ := h.mustPoll("tq"); got != "wf-1" {
		t.Fatalf("got %s, want wf-1", got)
	}
	if n := h.hist.callCount("wf-1"); n != 3 {
		t.Fatalf("history called %d times for wf-1, want 3", n)
	}
	if h.store.rows() != 0 {
		t.Fatalf("rows %d, want 0", h.store.rows())
	}
	// Sync-match task: persisted by the add, then served to the poller.
	ch := h.pollAsync(context.Background(), "tq")
	h.waitPollers("tq", 1)
	h.add("tq", "wf-2")
	if h.store.createCalls() != 2 {
		t.Fatalf("failed sync match not persisted: %d CreateTasks calls", h.store.createCalls())
	}
	if got := recvResp(t, ch).GetWorkflowExecution().GetWorkflowId(); got != "wf-2" {
		t.Fatalf("got %s, want wf-2", got)
	}
	if h.store.rows() != 0 || h.backlog("tq") != 0 {
		t.Fatalf("rows %d backlog %d, want 0", h.store.rows(), h.backlog("tq"))
	}
}

func TestExpiredTaskDropped(t *testing.T) {
	h := newHarness(t, nil, map[string]any{KeyNumWritePartitions: 1})
	if err := h.addReq("tq", "wf-expiring", time.Minute); err != nil {
		t.Fatal(err)
	}
	h.add("tq", "wf-1")
	h.clock.Advance(2 * time.Minute)
	if got, _ := h.mustPoll("tq"); got != "wf-1" {
		t.Fatalf("got %s, want wf-1", got)
	}
	if n := h.hist.callCount("wf-expiring"); n != 0 {
		t.Fatalf("expired task dispatched %d times", n)
	}
	if h.store.rows() != 0 || h.backlog("tq") != 0 {
		t.Fatalf("rows %d backlog %d, want 0", h.store.rows(), h.backlog("tq"))
	}
}

func TestRestartServesPersistedBacklog(t *testing.T) {
	store := newFakeStore()
	h1 := newHarness(t, store, map[string]any{KeyNumWritePartitions: 1})
	const n = bufferCap + 300 // more than one buffer's worth
	for i := range n {
		h1.add("tq", fmt.Sprintf("wf-%04d", i))
	}
	h1.e.Stop()

	h2 := newHarness(t, store, map[string]any{KeyNumWritePartitions: 1})
	if got := h2.backlog("tq"); got != n {
		t.Fatalf("backlog before load %d, want %d", got, n)
	}
	for i := range n {
		if got, _ := h2.mustPoll("tq"); got != fmt.Sprintf("wf-%04d", i) {
			t.Fatalf("poll %d got %s", i, got)
		}
	}
	if store.rows() != 0 || h2.backlog("tq") != 0 {
		t.Fatalf("rows %d backlog %d, want 0", store.rows(), h2.backlog("tq"))
	}
}

func TestBacklogCountExact(t *testing.T) {
	h := newHarness(t, nil, nil)
	if got := h.backlog("tq"); got != 0 {
		t.Fatalf("empty queue backlog %d", got)
	}
	for i := range 7 {
		h.add("tq", fmt.Sprintf("wf-%d", i))
	}
	if got := h.backlog("tq"); got != 7 {
		t.Fatalf("backlog %d, want 7", got)
	}
	h.hist.setFail(func(req *RecordStartedRequest, call int) error {
		if call == 1 {
			return ErrTaskGone
		}
		return nil
	})
	for range 3 {
		h.mustPoll("tq")
	}
	if got := h.backlog("tq"); got != 3 { // 3 started, 1 dropped
		t.Fatalf("backlog %d, want 3", got)
	}
	if got := h.e.BacklogCount(testNS, "tq", kindActivity); got != 0 {
		t.Fatalf("activity backlog %d, want 0", got)
	}
}

func TestStoreErrorOnAddReturned(t *testing.T) {
	h := newHarness(t, nil, map[string]any{KeyNumWritePartitions: 1})
	boom := &persistence.UnavailableError{Err: errors.New("disk gone")}
	h.store.setFailAdd(boom)
	if err := h.addReq("tq", "wf-1", 0); !errors.As(err, new(*persistence.UnavailableError)) {
		t.Fatalf("add error %v, want UnavailableError", err)
	}
	if got := h.backlog("tq"); got != 0 {
		t.Fatalf("backlog %d after failed add, want 0", got)
	}
	h.store.setFailAdd(nil)
	h.add("tq", "wf-2")
	if got, _ := h.mustPoll("tq"); got != "wf-2" {
		t.Fatalf("got %s, want wf-2", got)
	}
}

func TestLeaseLostThenRecovered(t *testing.T) {
	store := newFakeStore()
	h1 := newHarness(t, store, map[string]any{KeyNumWritePartitions: 1})
	h1.add("tq", "wf-1")
	h2 := newHarness(t, store, map[string]any{KeyNumWritePartitions: 1})
	h2.add("tq", "wf-2") // leases the partition away from h1
	err := h1.addReq("tq", "wf-3", 0)
	if !errors.As(err, new(*persistence.TaskQueueLeaseLostError)) {
		t.Fatalf("add on stale lease: %v, want TaskQueueLeaseLostError", err)
	}
	h1.add("tq", "wf-3") // re-leases and writes
	if store.rows() != 3 {
		t.Fatalf("rows %d, want 3", store.rows())
	}
}
