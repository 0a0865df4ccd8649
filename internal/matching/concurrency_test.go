package matching

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
)

// TestConcurrentAddsAndPolls races adders against pollers (some with very
// short deadlines) while history fails now and then: every task must be
// started exactly once and nothing may remain.
func TestConcurrentAddsAndPolls(t *testing.T) {
	h := newHarness(t, nil, map[string]any{KeyLongPollExpirationInterval: "200ms"})
	h.hist.setFail(func(_ *RecordStartedRequest, call int) error {
		if call%10 == 0 {
			return errUnavailable
		}
		return nil
	})
	const (
		tasks   = 2000
		early   = 600 // backlog before any poller comes
		adders  = 8
		pollers = 16
	)
	for i := range early {
		h.add("tq", fmt.Sprintf("wf-%d", i))
	}
	served := atomic.Int64{}
	done := make(chan struct{})
	var wg sync.WaitGroup
	for p := range pollers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pollUntil(t, h, p, done, func() {
				if served.Add(1) == tasks {
					close(done)
				}
			})
		}()
	}
	var addWG sync.WaitGroup
	for a := range adders {
		addWG.Add(1)
		go func() {
			defer addWG.Done()
			for i := early + a; i < tasks; i += adders {
				if err := h.addReq("tq", fmt.Sprintf("wf-%d", i), 0); err != nil {
					t.Errorf("add: %v", err)
				}
			}
		}()
	}
	addWG.Wait()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("only %d of %d tasks served", served.Load(), tasks)
	}
	wg.Wait()
	h.store.mu.Lock()
	t.Logf("%d of %d tasks went through the backlog", h.store.created, tasks)
	h.store.mu.Unlock()

	started := h.hist.startedCopy()
	if len(started) != tasks {
		t.Fatalf("%d distinct tasks started, want %d", len(started), tasks)
	}
	for wf, n := range started {
		if n != 1 {
			t.Fatalf("%s started %d times", wf, n)
		}
	}
	if rows, n := h.store.rows(), h.backlog("tq"); rows != 0 || n != 0 {
		t.Fatalf("rows %d backlog %d left, want 0", rows, n)
	}
}

// pollUntil polls "tq" until done is closed, calling onTask per task. Every
// fifth poll has a deadline of 0-2ms, to be cancelled mid-match.
func pollUntil(t *testing.T, h *harness, seed int, done <-chan struct{}, onTask func()) {
	for i := 0; ; i++ {
		select {
		case <-done:
			return
		default:
		}
		timeout := time.Second
		if (i+seed)%5 == 0 {
			timeout = time.Duration(i%3) * time.Millisecond
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		resp, err := h.poll(ctx, "tq")
		cancel()
		if err != nil {
			t.Errorf("poll: %v", err)
			return
		}
		if resp.GetWorkflowExecution() != nil {
			onTask()
		}
	}
}

// TestSyncMatchRacingCancel cancels the poller while a task is handed to it:
// the task is either started by that poll or kept in the backlog.
func TestSyncMatchRacingCancel(t *testing.T) {
	h := newHarness(t, nil, nil)
	for i := range 200 {
		wf := fmt.Sprintf("wf-%d", i)
		ctx, cancel := context.WithCancel(context.Background())
		ch := h.pollAsync(ctx, "tq")
		h.waitPollers("tq", 1)
		go cancel()
		h.add("tq", wf)
		if resp := recvResp(t, ch); resp.GetWorkflowExecution() == nil {
			if got, _ := h.mustPoll("tq"); got != wf {
				t.Fatalf("got %s, want %s", got, wf)
			}
		}
		if n := h.hist.startedCopy()[wf]; n != 1 {
			t.Fatalf("%s started %d times", wf, n)
		}
	}
	if rows, n := h.store.rows(), h.backlog("tq"); rows != 0 || n != 0 {
		t.Fatalf("rows %d backlog %d left, want 0", rows, n)
	}
}

func TestActivityQueue(t *testing.T) {
	h := newHarness(t, nil, nil)
	add := func(wf string) {
		if err := h.e.AddActivityTask(context.Background(), &AddTaskRequest{NamespaceID: testNS,
			TaskQueue: "tq", WorkflowID: wf, RunID: "r", ScheduledEventID: 5}); err != nil {
			t.Fatal(err)
		}
	}
	poll := func() *workflowservice.PollActivityTaskQueueResponse {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		resp, err := h.e.PollActivityTaskQueue(ctx, testNS, &workflowservice.PollActivityTaskQueueRequest{
			TaskQueue: &taskqueuepb.TaskQueue{Name: "tq", Kind: enumspb.TASK_QUEUE_KIND_NORMAL}})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	add("wf-a")
	// A workflow poll on the same name does not see activity tasks.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if resp, _ := h.poll(ctx, "tq"); resp.GetWorkflowExecution() != nil {
		t.Fatal("workflow poll got an activity task")
	}
	if got := poll().GetWorkflowExecution().GetWorkflowId(); got != "wf-a" {
		t.Fatalf("got %q, want wf-a", got)
	}
	if n := h.e.BacklogCount(testNS, "tq", kindActivity); n != 0 {
		t.Fatalf("activity backlog %d", n)
	}
}

func TestStickyQueueHasOnePartition(t *testing.T) {
	h := newHarness(t, nil, nil)
	for i := range 3 {
		if err := h.e.AddWorkflowTask(context.Background(), &AddTaskRequest{NamespaceID: testNS,
			TaskQueue: "host:uuid", Sticky: true, WorkflowID: fmt.Sprintf("wf-%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	h.store.mu.Lock()
	n := len(h.store.parts)
	h.store.mu.Unlock()
	if n != 1 {
		t.Fatalf("sticky queue has %d partition rows, want 1", n)
	}
	for i := range 3 {
		resp, err := h.e.PollWorkflowTaskQueue(context.Background(), testNS, &workflowservice.PollWorkflowTaskQueueRequest{
			TaskQueue: &taskqueuepb.TaskQueue{Name: "host:uuid", Kind: enumspb.TASK_QUEUE_KIND_STICKY}})
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.GetWorkflowExecution().GetWorkflowId(); got != fmt.Sprintf("wf-%d", i) {
			t.Fatalf("got %q, want wf-%d", got, i)
		}
	}
}
