package matching

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
)

func (h *harness) addSticky(tq, wf string, scheduleToStart time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return h.e.AddWorkflowTask(ctx, &AddTaskRequest{NamespaceID: testNS, TaskQueue: tq, Sticky: true,
		WorkflowID: wf, RunID: "run-" + wf, ScheduledEventID: 2, ScheduleToStart: scheduleToStart})
}

func (h *harness) pollSticky(ctx context.Context, tq string) (*workflowservice.PollWorkflowTaskQueueResponse, error) {
	return h.e.PollWorkflowTaskQueue(ctx, testNS, &workflowservice.PollWorkflowTaskQueueRequest{
		Identity: "worker-1", TaskQueue: &taskqueuepb.TaskQueue{Name: tq, Kind: enumspb.TASK_QUEUE_KIND_STICKY}})
}

func (h *harness) loaded(tq string) bool {
	h.e.mu.Lock()
	defer h.e.mu.Unlock()
	return h.e.queues[queueID{testNS, tq, kindWorkflow}] != nil
}

func workflowIDs(tasks []StickyTask) []string {
	var out []string
	for _, t := range tasks {
		out = append(out, t.WorkflowID)
	}
	slices.Sort(out)
	return out
}

func TestStickyShutdownReleasesPoller(t *testing.T) {
	h := newHarness(t, nil, map[string]any{KeyLongPollExpirationInterval: "60s"})
	ch := make(chan *workflowservice.PollWorkflowTaskQueueResponse, 1)
	go func() {
		resp, err := h.pollSticky(context.Background(), "sticky")
		if err != nil {
			t.Errorf("poll: %v", err)
		}
		ch <- resp
	}()
	h.waitPollers("sticky", 1)
	start := time.Now()
	tasks, err := h.e.ShutdownSticky(context.Background(), testNS, "sticky")
	if err != nil || len(tasks) != 0 {
		t.Fatalf("shutdown: %v, %v; want no tasks", tasks, err)
	}
	if resp := recvResp(t, ch); resp.GetWorkflowExecution() != nil || time.Since(start) > time.Second {
		t.Fatalf("poller got %v after %v, want empty at once", resp, time.Since(start))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if resp, err := h.pollSticky(ctx, "sticky"); err != nil || resp.GetWorkflowExecution() != nil || ctx.Err() != nil {
		t.Fatalf("poll after shutdown: %v, %v; want empty at once", resp, err)
	}
	if err := h.addSticky("sticky", "wf-1", time.Minute); !errors.Is(err, ErrStickyWorkerUnavailable) {
		t.Fatalf("add after shutdown: %v, want ErrStickyWorkerUnavailable", err)
	}
	if o := recvQuery(t, h.queryAsync("sticky", true, 5*time.Second)); !errors.Is(o.err, ErrStickyWorkerUnavailable) {
		t.Fatalf("query after shutdown: %v, want ErrStickyWorkerUnavailable", o.err)
	}
	if h.store.rows() != 0 {
		t.Fatalf("%d rows written to a gone sticky queue", h.store.rows())
	}
}

func TestStickyShutdownReturnsHeldTasks(t *testing.T) {
	h := newHarness(t, nil, nil)
	// wf-retry fails to start and waits in the retry list after its poller left.
	h.hist.setFail(func(req *RecordStartedRequest, _ int) error {
		if req.WorkflowID == "wf-retry" {
			return errUnavailable
		}
		return nil
	})
	if err := h.addSticky("sticky", "wf-retry", time.Minute); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if resp, err := h.pollSticky(ctx, "sticky"); err != nil || resp.GetWorkflowExecution() != nil {
		t.Fatalf("poll: %v, %v; want empty", resp, err)
	}
	for i := range 3 {
		if err := h.addSticky("sticky", fmt.Sprintf("wf-%d", i), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	tasks, err := h.e.ShutdownSticky(context.Background(), testNS, "sticky")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := workflowIDs(tasks), []string{"wf-0", "wf-1", "wf-2", "wf-retry"}; !slices.Equal(got, want) {
		t.Fatalf("held tasks %v, want %v", got, want)
	}
	if tasks[0].RunID == "" || tasks[0].ScheduledEventID != 2 {
		t.Fatalf("task %+v lacks its identity", tasks[0])
	}
	if h.store.rows() != 0 || h.backlog("sticky") != 0 {
		t.Fatalf("rows %d backlog %d after shutdown, want 0", h.store.rows(), h.backlog("sticky"))
	}
	if again, err := h.e.ShutdownSticky(context.Background(), testNS, "sticky"); err != nil || len(again) != 0 {
		t.Fatalf("second shutdown: %v, %v; want nothing", again, err)
	}
}

func TestStickyShutdownAfterRestart(t *testing.T) {
	store := newFakeStore()
	h1 := newHarness(t, store, nil)
	for i := range 2 {
		if err := h1.addSticky("sticky", fmt.Sprintf("wf-%d", i), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	h1.e.Stop()
	h2 := newHarness(t, store, nil)
	tasks, err := h2.e.ShutdownSticky(context.Background(), testNS, "sticky")
	if err != nil {
		t.Fatal(err)
	}
	if got := workflowIDs(tasks); !slices.Equal(got, []string{"wf-0", "wf-1"}) {
		t.Fatalf("held tasks %v, want wf-0 and wf-1", got)
	}
	if store.rows() != 0 {
		t.Fatalf("rows %d, want 0", store.rows())
	}
	// A sticky queue this engine never saw and with no rows is not loaded.
	if tasks, err := h2.e.ShutdownSticky(context.Background(), testNS, "other"); err != nil || len(tasks) != 0 || h2.loaded("other") {
		t.Fatalf("shutdown of an unknown queue: %v, %v, loaded %v", tasks, err, h2.loaded("other"))
	}
}

func TestStickyUnavailableWithoutPoller(t *testing.T) {
	h := newHarness(t, nil, map[string]any{KeyStickyPollerUnavailableWindow: "1s"})
	// Never polled, but within the window of the engine's start: accepted.
	if err := h.addSticky("sticky", "wf-0", time.Minute); err != nil {
		t.Fatalf("add within the window: %v", err)
	}
	h.clock.Advance(2 * time.Second)
	if err := h.addSticky("sticky", "wf-1", time.Minute); !errors.Is(err, ErrStickyWorkerUnavailable) {
		t.Fatalf("add to a never-polled queue: %v, want ErrStickyWorkerUnavailable", err)
	}
	if err := h.addSticky("other", "wf-1", time.Minute); !errors.Is(err, ErrStickyWorkerUnavailable) {
		t.Fatalf("add to a new queue: %v, want ErrStickyWorkerUnavailable", err)
	}
	start := time.Now()
	if o := recvQuery(t, h.queryAsync("sticky", true, 5*time.Second)); !errors.Is(o.err, ErrStickyWorkerUnavailable) || time.Since(start) > time.Second {
		t.Fatalf("sticky query: %v after %v, want ErrStickyWorkerUnavailable at once", o.err, time.Since(start))
	}
	// A poll makes it available again; it gets the task backlogged before.
	resp, err := h.pollSticky(context.Background(), "sticky")
	if err != nil || resp.GetWorkflowExecution().GetWorkflowId() != "wf-0" {
		t.Fatalf("poll: %v, %v; want wf-0", resp, err)
	}
	if err := h.addSticky("sticky", "wf-2", time.Minute); err != nil {
		t.Fatalf("add after a poll: %v", err)
	}
	h.clock.Advance(2 * time.Second)
	if err := h.addSticky("sticky", "wf-3", time.Minute); !errors.Is(err, ErrStickyWorkerUnavailable) {
		t.Fatalf("add after the poller left: %v, want ErrStickyWorkerUnavailable", err)
	}
	if h.store.rows() != 1 {
		t.Fatalf("rows %d, want 1 (wf-0 started, wf-2 kept, rejected adds not written)", h.store.rows())
	}
}

func TestIdleStickyQueueUnloaded(t *testing.T) {
	h := newHarness(t, nil, map[string]any{
		KeyMaxTaskQueueIdleTime:          "100ms",
		KeyStickyPollerUnavailableWindow: "200ms", // idle time is at least this
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := h.pollSticky(ctx, "sticky-idle"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.poll(ctx, "normal"); err != nil {
		t.Fatal(err)
	}
	// An expiring task is dropped, then its queue unloaded; a task without
	// expiry keeps its queue.
	if err := h.addSticky("sticky-expiring", "wf-e", 30*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := h.addSticky("sticky-kept", "wf-k", 0); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for h.loaded("sticky-idle") || h.loaded("sticky-expiring") {
		if time.Now().After(deadline) {
			t.Fatalf("idle sticky queues still loaded: idle %v expiring %v", h.loaded("sticky-idle"), h.loaded("sticky-expiring"))
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !h.loaded("normal") || !h.loaded("sticky-kept") {
		t.Fatalf("unloaded a normal queue (%v) or a sticky queue with a task (%v)", !h.loaded("normal"), !h.loaded("sticky-kept"))
	}
	if h.store.rows() != 1 {
		t.Fatalf("rows %d, want 1 (the expired task deleted)", h.store.rows())
	}
	// Re-created on use: polled again, it serves as before.
	if err := h.addSticky("sticky-idle", "wf-late", time.Minute); !errors.Is(err, ErrStickyWorkerUnavailable) {
		t.Fatalf("add to an unloaded, unpolled queue: %v, want ErrStickyWorkerUnavailable", err)
	}
}

// An add waiting for a poller when the worker shuts down is not left on
// the gone queue (where it would wait for the sticky timeout): it fails at
// once with ErrStickyWorkerUnavailable, so history uses the normal queue.
func TestStickyShutdownRefusesWaitingAdd(t *testing.T) {
	h := newHarness(t, nil, map[string]any{"matching.syncMatchWaitDuration": "1m"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := h.pollSticky(ctx, "sticky"); err != nil { // the queue was polled lately
		t.Fatal(err)
	}
	added := make(chan error, 1)
	go func() { added <- h.addSticky("sticky", "wf-1", time.Minute) }()
	h.waitOffers("sticky", 1)
	tasks, err := h.e.ShutdownSticky(context.Background(), testNS, "sticky")
	if err != nil || len(tasks) != 0 {
		t.Fatalf("shutdown: %v, %v; want no held tasks (the add is still waiting)", tasks, err)
	}
	select {
	case err := <-added:
		if !errors.Is(err, ErrStickyWorkerUnavailable) {
			t.Fatalf("waiting add: %v, want ErrStickyWorkerUnavailable", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the waiting add was not released by the shutdown")
	}
	if h.store.rows() != 0 || h.backlog("sticky") != 0 {
		t.Fatalf("rows %d backlog %d, want nothing left on the gone queue", h.store.rows(), h.backlog("sticky"))
	}
}
