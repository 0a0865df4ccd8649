package matching

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	querypb "go.temporal.io/api/query/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundialhq/sundial/internal/tasktoken"
)

type queryOutcome struct {
	res *QueryResult
	err error
}

// queryTaskFor is the poll response a caller prepares for a query.
func queryTaskFor(wf string) *workflowservice.PollWorkflowTaskQueueResponse {
	return &workflowservice.PollWorkflowTaskQueueResponse{
		WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: wf, RunId: "run-" + wf},
		WorkflowType:      &commonpb.WorkflowType{Name: "wf-type"},
		Query:             &querypb.WorkflowQuery{QueryType: "state"},
	}
}

// queryAsync runs DispatchQuery with the given timeout in a goroutine.
func (h *harness) queryAsync(tq string, sticky bool, timeout time.Duration) <-chan queryOutcome {
	ch := make(chan queryOutcome, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		res, err := h.e.DispatchQuery(ctx, testNS, tq, sticky, queryTaskFor("wf-q"))
		ch <- queryOutcome{res, err}
	}()
	return ch
}

func recvQuery(t *testing.T, ch <-chan queryOutcome) queryOutcome {
	t.Helper()
	select {
	case o := <-ch:
		return o
	case <-time.After(5 * time.Second):
		t.Fatal("DispatchQuery did not return")
		return queryOutcome{}
	}
}

func (h *harness) answer(token []byte, completed enumspb.QueryResultType, result *commonpb.Payloads, msg string) error {
	return h.e.RespondQueryTaskCompleted(context.Background(), testNS, &workflowservice.RespondQueryTaskCompletedRequest{
		TaskToken: token, CompletedType: completed, QueryResult: result, ErrorMessage: msg,
		Failure: &failurepb.Failure{Message: msg},
	})
}

// waitQueued waits until n queries wait for a poller on the workflow queue tq.
func (h *harness) waitQueued(tq string, n int) {
	h.t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		h.e.mu.Lock()
		q := h.e.queues[queueID{testNS, tq, kindWorkflow}]
		h.e.mu.Unlock()
		if q != nil {
			q.mu.Lock()
			got := len(q.queries)
			q.mu.Unlock()
			if got >= n {
				return
			}
		}
		time.Sleep(time.Millisecond)
	}
	h.t.Fatalf("timed out waiting for %d queued queries on %s", n, tq)
}

// assertNoQueries checks that no query is left registered or queued.
func (h *harness) assertNoQueries(tq string) {
	h.t.Helper()
	h.e.qmu.Lock()
	n := len(h.e.queries)
	h.e.qmu.Unlock()
	h.e.mu.Lock()
	q := h.e.queues[queueID{testNS, tq, kindWorkflow}]
	h.e.mu.Unlock()
	q.mu.Lock()
	queued, count := len(q.queries), q.queryCount
	q.mu.Unlock()
	if n != 0 || queued != 0 || count != 0 {
		h.t.Fatalf("queries left: %d registered, %d queued, count %d", n, queued, count)
	}
}

func TestQueryAnsweredByWaitingPoller(t *testing.T) {
	h := newHarness(t, nil, nil)
	polled := h.pollAsync(context.Background(), "tq")
	h.waitPollers("tq", 1)
	out := h.queryAsync("tq", false, 5*time.Second)
	resp := recvResp(t, polled)
	if resp.GetQuery().GetQueryType() != "state" || resp.GetWorkflowExecution().GetWorkflowId() != "wf-q" {
		t.Fatalf("poller got %v, want the prepared query task", resp)
	}
	if !IsQueryToken(resp.TaskToken) {
		t.Fatalf("token %q is not a query token", resp.TaskToken)
	}
	if n := h.hist.callCount("wf-q"); n != 0 {
		t.Fatalf("query went through history %d times", n)
	}
	answer := &commonpb.Payloads{Payloads: []*commonpb.Payload{{Data: []byte(`"ok"`)}}}
	if err := h.answer(resp.TaskToken, enumspb.QUERY_RESULT_TYPE_ANSWERED, answer, ""); err != nil {
		t.Fatalf("respond: %v", err)
	}
	o := recvQuery(t, out)
	if o.err != nil || o.res.Failed || string(o.res.Answer.GetPayloads()[0].GetData()) != `"ok"` {
		t.Fatalf("got %+v, %v; want the answer", o.res, o.err)
	}
	// The token is single-use.
	if err := h.answer(resp.TaskToken, enumspb.QUERY_RESULT_TYPE_ANSWERED, answer, ""); !errors.Is(err, ErrQueryTaskNotFound) {
		t.Fatalf("second answer: %v, want ErrQueryTaskNotFound", err)
	}
	h.assertNoQueries("tq")
}

func TestQueryFailed(t *testing.T) {
	h := newHarness(t, nil, nil)
	out := h.queryAsync("tq", false, 5*time.Second)
	_, resp := h.mustPoll("tq") // a poller arriving after the query takes it
	if err := h.answer(resp.TaskToken, enumspb.QUERY_RESULT_TYPE_FAILED, nil, "boom"); err != nil {
		t.Fatalf("respond: %v", err)
	}
	o := recvQuery(t, out)
	if o.err != nil || !o.res.Failed || o.res.ErrorMessage != "boom" || o.res.Failure.GetMessage() != "boom" {
		t.Fatalf("got %+v, %v; want a failed result", o.res, o.err)
	}
	// FailQueryTask (a query reported through RespondWorkflowTaskFailed).
	out = h.queryAsync("tq", false, 5*time.Second)
	_, resp = h.mustPoll("tq")
	if err := h.e.FailQueryTask(context.Background(), testNS, resp.TaskToken, "panic"); err != nil {
		t.Fatal(err)
	}
	if o := recvQuery(t, out); o.err != nil || !o.res.Failed || o.res.ErrorMessage != "panic" {
		t.Fatalf("got %+v, %v; want a failed result", o.res, o.err)
	}
}

func TestQueryNoPoller(t *testing.T) {
	h := newHarness(t, nil, nil)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	_, err := h.e.DispatchQuery(ctx, testNS, "tq", false, queryTaskFor("wf-q"))
	if !errors.Is(err, ErrNoPoller) {
		t.Fatalf("got %v, want ErrNoPoller", err)
	}
	if ctx.Err() != nil {
		t.Fatalf("returned after ctx's deadline (%v)", time.Since(start))
	}
	// matching.queryPollerTimeout bounds the wait under a long deadline.
	h.e.dyn.Set(KeyQueryPollerTimeout, "50ms")
	start = time.Now()
	if o := recvQuery(t, h.queryAsync("tq", false, 5*time.Second)); !errors.Is(o.err, ErrNoPoller) {
		t.Fatalf("got %v, want ErrNoPoller", o.err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("gave up after %v, want about 50ms", d)
	}
	h.assertNoQueries("tq")
	// A later poller does not see the abandoned queries.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if resp, _ := h.poll(ctx2, "tq"); resp.GetQuery() != nil {
		t.Fatal("abandoned query handed to a poller")
	}
}

func TestQueryNotAnsweredInTime(t *testing.T) {
	h := newHarness(t, nil, nil)
	out := h.queryAsync("tq", false, 400*time.Millisecond)
	_, resp := h.mustPoll("tq")
	o := recvQuery(t, out)
	if !errors.Is(o.err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want DeadlineExceeded", o.err)
	}
	if err := h.answer(resp.TaskToken, enumspb.QUERY_RESULT_TYPE_ANSWERED, nil, ""); !errors.Is(err, ErrQueryTaskNotFound) {
		t.Fatalf("late answer: %v, want ErrQueryTaskNotFound", err)
	}
	h.assertNoQueries("tq")
}

func TestRespondUnknownQueryToken(t *testing.T) {
	h := newHarness(t, nil, nil)
	if err := h.answer(encodeQueryToken(testNS, "no-such-query"), enumspb.QUERY_RESULT_TYPE_ANSWERED, nil, ""); !errors.Is(err, ErrQueryTaskNotFound) {
		t.Fatalf("unknown token: %v, want ErrQueryTaskNotFound", err)
	}
	for _, bad := range [][]byte{nil, []byte("garbage"), tasktoken.Encode(&tasktoken.Token{NamespaceID: testNS, WorkflowID: "w", RunID: "r"})} {
		if err := h.answer(bad, enumspb.QUERY_RESULT_TYPE_ANSWERED, nil, ""); !errors.Is(err, ErrMalformedQueryToken) {
			t.Fatalf("token %q: %v, want ErrMalformedQueryToken", bad, err)
		}
	}
	// Another namespace cannot answer the query.
	out := h.queryAsync("tq", false, 5*time.Second)
	_, resp := h.mustPoll("tq")
	err := h.e.RespondQueryTaskCompleted(context.Background(), "ns-other", &workflowservice.RespondQueryTaskCompletedRequest{
		TaskToken: resp.TaskToken, CompletedType: enumspb.QUERY_RESULT_TYPE_ANSWERED})
	if !errors.Is(err, ErrQueryTaskNotFound) {
		t.Fatalf("other namespace: %v, want ErrQueryTaskNotFound", err)
	}
	if err := h.answer(resp.TaskToken, enumspb.QUERY_RESULT_TYPE_ANSWERED, nil, ""); err != nil {
		t.Fatal(err)
	}
	recvQuery(t, out)
}

func TestQueryTokenIsNotTaskToken(t *testing.T) {
	tok := encodeQueryToken(testNS, "id-1")
	if !IsQueryToken(tok) {
		t.Fatal("IsQueryToken false for a query token")
	}
	if _, err := tasktoken.Decode(tok); err == nil {
		t.Fatal("tasktoken.Decode accepted a query token")
	}
	normal := tasktoken.Encode(&tasktoken.Token{NamespaceID: testNS, WorkflowID: "w", RunID: "r", ScheduledEventID: 2})
	if IsQueryToken(normal) || IsQueryToken(nil) {
		t.Fatal("IsQueryToken true for a task token or nil")
	}
	if got, err := decodeQueryToken(tok); err != nil || got.ID != "id-1" || got.NamespaceID != testNS {
		t.Fatalf("decode: %+v, %v", got, err)
	}
}

func TestQueryServedBeforeBacklog(t *testing.T) {
	h := newHarness(t, nil, map[string]any{KeyNumWritePartitions: 1})
	h.add("tq", "wf-0")
	h.add("tq", "wf-1")
	out := h.queryAsync("tq", false, 5*time.Second)
	h.waitQueued("tq", 1)
	_, resp := h.mustPoll("tq")
	if resp.GetQuery() == nil {
		t.Fatalf("poller got %s before the query", resp.GetWorkflowExecution().GetWorkflowId())
	}
	if err := h.answer(resp.TaskToken, enumspb.QUERY_RESULT_TYPE_ANSWERED, nil, ""); err != nil {
		t.Fatal(err)
	}
	if o := recvQuery(t, out); o.err != nil {
		t.Fatal(o.err)
	}
	for _, want := range []string{"wf-0", "wf-1"} {
		if got, _ := h.mustPoll("tq"); got != want {
			t.Fatalf("got %s, want %s", got, want)
		}
	}
}

func TestQueryBounded(t *testing.T) {
	h := newHarness(t, nil, nil)
	q := h.e.acquire(queueID{testNS, "tq", kindWorkflow}, false)
	defer h.e.release(q)
	q.mu.Lock()
	q.queryCount = maxQueriesPerQueue
	q.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := h.e.DispatchQuery(ctx, testNS, "tq", false, queryTaskFor("wf")); !errors.Is(err, ErrTooManyQueries) {
		t.Fatalf("got %v, want ErrTooManyQueries", err)
	}
	q.mu.Lock()
	q.queryCount = 0
	q.mu.Unlock()
}

// TestConcurrentQueries races queries and backlog tasks against pollers,
// some cancelled mid-hand-off: every query gets its own answer exactly once
// and every task is started once.
func TestConcurrentQueries(t *testing.T) {
	h := newHarness(t, nil, map[string]any{KeyLongPollExpirationInterval: "200ms"})
	const queries, tasks, pollers = 200, 100, 8
	for i := range tasks {
		h.add("tq", fmt.Sprintf("wf-%d", i))
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	for p := range pollers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				timeout := time.Second
				if (i+p)%4 == 0 {
					timeout = time.Duration(i%3) * time.Millisecond
				}
				ctx, cancel := context.WithTimeout(context.Background(), timeout)
				resp, err := h.poll(ctx, "tq")
				cancel()
				if err != nil {
					t.Errorf("poll: %v", err)
					return
				}
				if resp.GetQuery() != nil {
					id := []byte(resp.GetWorkflowExecution().GetWorkflowId())
					answer := &commonpb.Payloads{Payloads: []*commonpb.Payload{{Data: id}}}
					if err := h.answer(resp.TaskToken, enumspb.QUERY_RESULT_TYPE_ANSWERED, answer, ""); err != nil {
						t.Errorf("answer: %v", err)
					}
				}
			}
		}()
	}
	var qwg sync.WaitGroup
	for i := range queries {
		qwg.Add(1)
		go func() {
			defer qwg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			wf := fmt.Sprintf("q-%d", i)
			res, err := h.e.DispatchQuery(ctx, testNS, "tq", false, queryTaskFor(wf))
			if err != nil || string(res.Answer.GetPayloads()[0].GetData()) != wf {
				t.Errorf("query %s: %+v, %v", wf, res, err)
			}
		}()
	}
	qwg.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for len(h.hist.startedCopy()) < tasks && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	close(done)
	wg.Wait()
	for wf, n := range h.hist.startedCopy() {
		if n != 1 {
			t.Fatalf("%s started %d times", wf, n)
		}
	}
	if got := len(h.hist.startedCopy()); got != tasks {
		t.Fatalf("%d tasks started, want %d", got, tasks)
	}
	h.assertNoQueries("tq")
}
