package matching

import (
	"context"
	"testing"
	"time"
)

// offersWaiting is how many adds wait in q.offers for a poller.
func (h *harness) offersWaiting(tq string) int {
	h.e.mu.Lock()
	q := h.e.queues[queueID{testNS, tq, kindWorkflow}]
	h.e.mu.Unlock()
	if q == nil {
		return 0
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.offers.Len()
}

// waitOffers waits until n adds wait for a poller on tq.
func (h *harness) waitOffers(tq string, n int) {
	h.t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for h.offersWaiting(tq) < n {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %d adds to wait for a poller on %s", n, tq)
		}
		time.Sleep(time.Millisecond)
	}
}

// An add that arrives while the worker's pollers are away (the queue was
// polled lately, no backlog) waits for the next poller and is handed over
// in memory: nothing is written. The wait is made long so the test does
// not depend on timing.
func TestAddWaitsForPollerWithoutWriting(t *testing.T) {
	h := newHarness(t, nil, map[string]any{"matching.syncMatchWaitDuration": "1m"})
	h.add("tq", "warm-up-poll-target")
	if wf, _ := h.mustPoll("tq"); wf != "warm-up-poll-target" { // the queue is now polled lately
		t.Fatalf("polled %s", wf)
	}
	h.store.mu.Lock()
	writesBefore := h.store.creates
	h.store.mu.Unlock()

	added := make(chan error, 2)
	go func() { added <- h.addReq("tq", "wf-1", 0) }()
	go func() { added <- h.addReq("tq", "wf-2", 0) }()
	h.waitOffers("tq", 2)
	got := map[string]bool{}
	for range 2 {
		wf, _ := h.mustPoll("tq")
		got[wf] = true
	}
	for range 2 {
		if err := <-added; err != nil {
			t.Fatalf("add: %v", err)
		}
	}
	if !got["wf-1"] || !got["wf-2"] {
		t.Fatalf("polled %v, want wf-1 and wf-2", got)
	}
	h.store.mu.Lock()
	writes := h.store.creates - writesBefore
	h.store.mu.Unlock()
	if writes != 0 {
		t.Errorf("%d backlog writes, want 0 (both tasks matched in memory)", writes)
	}
	if n := h.backlog("tq"); n != 0 {
		t.Errorf("backlog %d, want 0", n)
	}
}

// With a backlog, an add does not wait for a poller: the task is written
// to the backlog, behind the tasks already there.
func TestAddWithBacklogDoesNotWait(t *testing.T) {
	h := newHarness(t, nil, map[string]any{"matching.syncMatchWaitDuration": "1m"})
	h.add("tq", "wf-1") // never polled: written at once
	h.add("tq", "wf-2") // backlog of one: written at once, not waiting
	if n := h.backlog("tq"); n != 2 {
		t.Fatalf("backlog %d, want 2", n)
	}
	got := map[string]bool{}
	for range 2 {
		wf, _ := h.mustPoll("tq")
		got[wf] = true
	}
	if !got["wf-1"] || !got["wf-2"] {
		t.Fatalf("polled %v, want wf-1 and wf-2", got)
	}
}

// An add waiting for a poller stops waiting when the engine stops.
func TestWaitingAddEndsOnStop(t *testing.T) {
	store := newFakeStore()
	h := newHarness(t, store, map[string]any{"matching.syncMatchWaitDuration": "1m"})
	h.add("tq", "warm-up")
	h.mustPoll("tq")
	added := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		added <- h.e.AddWorkflowTask(ctx, &AddTaskRequest{NamespaceID: testNS, TaskQueue: "tq", WorkflowID: "wf-1",
			RunID: "run-wf-1", ScheduledEventID: 2})
	}()
	h.waitOffers("tq", 1)
	h.e.Stop()
	<-added // written or failed with the stopping store; either way the add returned
	if h.offersWaiting("tq") != 0 {
		t.Fatal("an add still waits after Stop")
	}
}
