package matching

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	"go.temporal.io/api/workflowservice/v1"
)

// Query tasks.
//
// A query reaches a workflow worker as a workflow task with Query set. It is
// never written and never started through history: DispatchQuery queues the
// poll response its caller prepared, the first poller of the queue to take
// it (queries come before backlog tasks) gets it as is, with an opaque query
// token, and DispatchQuery waits for RespondQueryTaskCompleted with that
// token. Queries live only in this process: after a restart their tokens
// are unknown (ErrQueryTaskNotFound) and their callers have gone.

var (
	// ErrNoPoller means DispatchQuery gave up because no poller took the
	// query task in time (see DispatchQuery); nothing is outstanding.
	ErrNoPoller = errors.New("matching: no worker took the query task in time")
	// ErrQueryTaskNotFound means a query token is unknown: never issued by
	// this process, already answered, or its DispatchQuery has returned.
	ErrQueryTaskNotFound = errors.New("matching: query task not found")
	// ErrMalformedQueryToken means a token is not a query token.
	ErrMalformedQueryToken = errors.New("matching: malformed query task token")
	// ErrTooManyQueries means the task queue (or the engine) already has
	// the maximum number of outstanding queries; retry later.
	ErrTooManyQueries = errors.New("matching: too many outstanding queries")
)

const (
	// maxQueriesPerQueue bounds the outstanding queries of one task queue;
	// maxQueries those of the engine.
	maxQueriesPerQueue = 1000
	maxQueries         = 100_000
	// queryDeadlineMargin is how long before ctx's deadline DispatchQuery
	// stops waiting for a poller (at most a quarter of the time left).
	queryDeadlineMargin = time.Second
	// queryNoDeadline stands in for the deadline of a ctx without one.
	queryNoDeadline = time.Minute
)

// QueryResult is a worker's answer to a query: Answer when it answered,
// else Failed with the worker's ErrorMessage and Failure.
type QueryResult struct {
	Answer       *commonpb.Payloads
	Failed       bool
	ErrorMessage string
	Failure      *failurepb.Failure
}

// queryTokenPrefix starts every query token. Its leading NUL makes the
// token invalid JSON, so tasktoken.Decode rejects it.
var queryTokenPrefix = []byte("\x00sq1")

type queryToken struct {
	NamespaceID string `json:"n"`
	ID          string `json:"q"`
}

// IsQueryToken reports whether b is a query task token (from DispatchQuery)
// rather than a workflow or activity task token. The frontend routes
// RespondWorkflowTaskCompleted/Failed and RespondQueryTaskCompleted by it.
func IsQueryToken(b []byte) bool { return bytes.HasPrefix(b, queryTokenPrefix) }

func encodeQueryToken(namespaceID, id string) []byte {
	body, err := json.Marshal(queryToken{NamespaceID: namespaceID, ID: id})
	if err != nil {
		panic("matching: encode query token: " + err.Error()) // strings only
	}
	return append(slices.Clip(queryTokenPrefix), body...)
}

func decodeQueryToken(b []byte) (queryToken, error) {
	var t queryToken
	if !IsQueryToken(b) || json.Unmarshal(b[len(queryTokenPrefix):], &t) != nil || t.ID == "" {
		return queryToken{}, ErrMalformedQueryToken
	}
	return t, nil
}

type queryState int

const (
	queryPending queryState = iota // waiting for a poller
	queryClaimed                   // handed to a poller, awaiting the answer
	queryDone                      // answered or given up; outcome set
)

// queryTask is one outstanding query. Its state moves pending -> claimed ->
// done or pending -> done, each step taken by exactly one party.
type queryTask struct {
	id          string
	namespaceID string
	resp        *workflowservice.PollWorkflowTaskQueueResponse

	claimed chan struct{} // closed on pending -> claimed
	done    chan struct{} // closed on -> done, after res/err are set

	mu    sync.Mutex
	state queryState
	res   *QueryResult
	err   error
}

func (qt *queryTask) pending() bool {
	qt.mu.Lock()
	defer qt.mu.Unlock()
	return qt.state == queryPending
}

// claim hands the query to a poller; false if it was given up meanwhile.
func (qt *queryTask) claim() bool {
	qt.mu.Lock()
	defer qt.mu.Unlock()
	if qt.state != queryPending {
		return false
	}
	qt.state = queryClaimed
	close(qt.claimed)
	return true
}

// finish moves the query from state from to done with the given outcome;
// false if it was not in state from.
func (qt *queryTask) finish(from queryState, res *QueryResult, err error) bool {
	qt.mu.Lock()
	defer qt.mu.Unlock()
	if qt.state != from {
		return false
	}
	qt.state, qt.res, qt.err = queryDone, res, err
	close(qt.done)
	return true
}

func (qt *queryTask) outcome() (*QueryResult, error) {
	<-qt.done
	qt.mu.Lock()
	defer qt.mu.Unlock()
	return qt.res, qt.err
}

// claimQuery is PollWorkflowTaskQueue's serveQuery.
func claimQuery(qt *queryTask) (*workflowservice.PollWorkflowTaskQueueResponse, bool) {
	if !qt.claim() {
		return nil, false
	}
	return qt.resp, true
}

// DispatchQuery hands resp — the complete poll response for the worker
// (history, workflow type and execution, Query) — to a poller of the
// workflow task queue taskQueue (a sticky queue when sticky) and returns
// the worker's answer. It sets resp.TaskToken to a query token; matching
// owns resp from the call on (the caller may still read it), and the poller
// gets it as is (not through HistoryClient). A poller waiting now, or the next to come, takes it before
// any backlog task.
//
// Waiting is bounded so the caller can still reply within ctx's deadline.
// With T the time left (one minute if ctx has no deadline) and
// m = min(1s, T/4), DispatchQuery waits for a poller until
// min(T-m, matching.queryPollerTimeout (default 10s)) and then returns
// ErrNoPoller; once a poller took the task it waits for the answer until
// T-m/4 and then returns an error wrapping context.DeadlineExceeded.
//
// Other errors: ErrInvalidRequest; ErrStickyWorkerUnavailable (sticky: the
// worker shut down or has not polled lately, see AddWorkflowTask) at once
// or when the worker shuts down while the query waits for a poller;
// ErrTooManyQueries; ctx.Err() when ctx is cancelled; ErrNoPoller when the
// engine stops before a poller took the task.
func (e *Engine) DispatchQuery(ctx context.Context, namespaceID, taskQueue string, sticky bool,
	resp *workflowservice.PollWorkflowTaskQueueResponse) (*QueryResult, error) {
	if namespaceID == "" || taskQueue == "" || resp == nil {
		return nil, ErrInvalidRequest
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if e.stopped() {
		return nil, ErrNoPoller
	}
	pollWait, answerWait := queryWaits(ctx, e.queryPollerTimeout())
	q := e.acquire(queueID{namespaceID, taskQueue, kindWorkflow}, sticky)
	defer e.release(q)
	if sticky {
		if err := e.checkSticky(q); err != nil {
			return nil, err
		}
	}
	qt, err := e.registerQuery(q, namespaceID, resp)
	if err != nil {
		return nil, err
	}
	defer e.unregisterQuery(q, qt)
	q.mu.Lock()
	q.queries = append(q.queries, &task{query: qt})
	q.matchLocked()
	q.mu.Unlock()
	if !e.awaitClaim(ctx, qt, pollWait) {
		return qt.outcome()
	}
	return e.awaitAnswer(ctx, qt, answerWait)
}

// queryWaits returns how long DispatchQuery waits for a poller and, in
// all, for the answer (see DispatchQuery). ctx deadlines are wall-clock
// times, so the time left is measured on the wall clock.
func queryWaits(ctx context.Context, pollerTimeout time.Duration) (poll, answer time.Duration) {
	left := queryNoDeadline
	if dl, ok := ctx.Deadline(); ok {
		left = time.Until(dl)
	}
	margin := min(queryDeadlineMargin, left/4)
	return min(left-margin, pollerTimeout), left - margin/4
}

// awaitClaim waits until a poller claims qt (true) or qt is done: given up
// here (no poller in time, ctx ended, engine stopped) or by ShutdownSticky.
func (e *Engine) awaitClaim(ctx context.Context, qt *queryTask, wait time.Duration) bool {
	expired := make(chan struct{})
	timer := e.clock.AfterFunc(wait, func() { close(expired) })
	defer timer.Stop()
	var err error
	select {
	case <-qt.claimed:
		return true
	case <-qt.done:
		return false
	case <-expired:
		err = ErrNoPoller
	case <-e.stopCh:
		err = ErrNoPoller
	case <-ctx.Done():
		err = ctx.Err()
	}
	if qt.finish(queryPending, nil, err) {
		return false
	}
	return true // claimed meanwhile (or done: awaitAnswer returns the outcome)
}

// awaitAnswer waits for the answer to a claimed query for up to wait.
func (e *Engine) awaitAnswer(ctx context.Context, qt *queryTask, wait time.Duration) (*QueryResult, error) {
	expired := make(chan struct{})
	timer := e.clock.AfterFunc(wait, func() { close(expired) })
	defer timer.Stop()
	var err error
	select {
	case <-qt.done:
		return qt.outcome()
	case <-expired:
		err = fmt.Errorf("matching: the worker did not answer the query in time: %w", context.DeadlineExceeded)
	case <-ctx.Done():
		err = ctx.Err()
	}
	qt.finish(queryClaimed, nil, err) // loses only to an answer that just came
	return qt.outcome()
}

// registerQuery counts a new query against the bounds and makes its token
// known to RespondQueryTaskCompleted.
func (e *Engine) registerQuery(q *taskQueue, namespaceID string,
	resp *workflowservice.PollWorkflowTaskQueueResponse) (*queryTask, error) {
	q.mu.Lock()
	if q.queryCount >= maxQueriesPerQueue {
		q.mu.Unlock()
		return nil, ErrTooManyQueries
	}
	q.queryCount++
	q.mu.Unlock()
	qt := &queryTask{id: uuid.NewString(), namespaceID: namespaceID, resp: resp,
		claimed: make(chan struct{}), done: make(chan struct{})}
	e.qmu.Lock()
	full := len(e.queries) >= maxQueries
	if !full {
		e.queries[qt.id] = qt
	}
	e.qmu.Unlock()
	if full {
		q.mu.Lock()
		q.queryCount--
		q.mu.Unlock()
		return nil, ErrTooManyQueries
	}
	resp.TaskToken = encodeQueryToken(namespaceID, qt.id)
	return qt, nil
}

// unregisterQuery forgets a query whose DispatchQuery returns: its token
// becomes unknown and it leaves the queue's query list.
func (e *Engine) unregisterQuery(q *taskQueue, qt *queryTask) {
	e.qmu.Lock()
	delete(e.queries, qt.id)
	e.qmu.Unlock()
	q.mu.Lock()
	defer q.mu.Unlock()
	q.queryCount--
	q.queries = slices.DeleteFunc(q.queries, func(t *task) bool { return t.query == qt })
}

// RespondQueryTaskCompleted delivers a worker's answer to the waiting
// DispatchQuery: CompletedType ANSWERED gives Answer = QueryResult; FAILED
// (or any other type, which a correct worker never sends) gives Failed with
// ErrorMessage and Failure. Errors: ErrMalformedQueryToken;
// ErrQueryTaskNotFound when the token is unknown, of another namespace,
// already answered or its query given up.
func (e *Engine) RespondQueryTaskCompleted(ctx context.Context, namespaceID string,
	req *workflowservice.RespondQueryTaskCompletedRequest) error {
	res := &QueryResult{}
	switch req.GetCompletedType() {
	case enumspb.QUERY_RESULT_TYPE_ANSWERED:
		res.Answer = req.GetQueryResult()
	case enumspb.QUERY_RESULT_TYPE_FAILED:
		res.Failed, res.ErrorMessage, res.Failure = true, req.GetErrorMessage(), req.GetFailure()
	default:
		res.Failed, res.Failure = true, req.GetFailure()
		res.ErrorMessage = fmt.Sprintf("invalid query result type %v: %s", req.GetCompletedType(), req.GetErrorMessage())
	}
	return e.answerQuery(namespaceID, req.GetTaskToken(), res)
}

// FailQueryTask fails a query with message, for a worker that reported a
// query task through RespondWorkflowTaskFailed (the Go SDK uses
// RespondQueryTaskCompleted with FAILED instead). Errors as for
// RespondQueryTaskCompleted.
func (e *Engine) FailQueryTask(ctx context.Context, namespaceID string, token []byte, message string) error {
	return e.answerQuery(namespaceID, token, &QueryResult{Failed: true, ErrorMessage: message})
}

func (e *Engine) answerQuery(namespaceID string, token []byte, res *QueryResult) error {
	tok, err := decodeQueryToken(token)
	if err != nil {
		return err
	}
	e.qmu.Lock()
	qt := e.queries[tok.ID]
	e.qmu.Unlock()
	if qt == nil || qt.namespaceID != namespaceID || tok.NamespaceID != namespaceID {
		return ErrQueryTaskNotFound
	}
	if !qt.finish(queryClaimed, res, nil) {
		return ErrQueryTaskNotFound
	}
	return nil
}

func (e *Engine) queryPollerTimeout() time.Duration {
	d := e.dyn.Duration(KeyQueryPollerTimeout, defaultQueryPollerTimeout)
	if d <= 0 {
		return defaultQueryPollerTimeout
	}
	return d
}
