package history

import (
	"context"
	"errors"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	querypb "go.temporal.io/api/query/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"

	sm "github.com/sundialhq/sundial/internal/history/statemachine"
	"github.com/sundialhq/sundial/internal/matching"
	"github.com/sundialhq/sundial/internal/persistence"
)

// queryView is what a query needs of a run.
type queryView struct {
	status       enumspb.WorkflowExecutionStatus
	workflowType string
	taskQueue    string
	sticky       string
	next         int64
	prevStarted  int64
}

// QueryWorkflow has a worker answer a query: first the sticky worker that
// has the run cached (with no history), else any worker of the run's task
// queue (with the full history, paged). Queries are never written. A query
// that arrives while a workflow task is scheduled or started is held until
// that task has completed (see awaitQueryable), so it sees every event that
// came before it, as on the reference server.
func (e *Engine) QueryWorkflow(ctx context.Context, namespaceID string, req *workflowservice.QueryWorkflowRequest) (*workflowservice.QueryWorkflowResponse, error) {
	key, err := e.resolveRun(ctx, persistence.WorkflowKey{NamespaceID: namespaceID, WorkflowID: req.GetExecution().GetWorkflowId(), RunID: req.GetExecution().GetRunId()})
	if err != nil {
		return nil, err
	}
	v, err := e.awaitQueryable(ctx, key)
	if err != nil {
		return nil, err
	}
	if rejected(req.GetQueryRejectCondition(), v.status) {
		return &workflowservice.QueryWorkflowResponse{QueryRejected: &querypb.QueryRejected{Status: v.status}}, nil
	}
	task := func(events []*historypb.HistoryEvent, next []byte) *workflowservice.PollWorkflowTaskQueueResponse {
		return &workflowservice.PollWorkflowTaskQueueResponse{
			WorkflowExecution:          &commonpb.WorkflowExecution{WorkflowId: key.WorkflowID, RunId: key.RunID},
			WorkflowType:               &commonpb.WorkflowType{Name: v.workflowType},
			PreviousStartedEventId:     v.prevStarted,
			Query:                      req.GetQuery(),
			WorkflowExecutionTaskQueue: &taskqueuepb.TaskQueue{Name: v.taskQueue, Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
			History:                    &historypb.History{Events: events},
			NextPageToken:              next,
		}
	}
	if v.sticky != "" && v.status == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		if res, err := e.stickyQuery(ctx, namespaceID, v.sticky, task(nil, nil)); err == nil {
			return queryResponse(res)
		}
	}
	events, next, err := e.readPage(ctx, key, historyToken{RunID: key.RunID, Next: 1, End: v.next}, e.historyPageSize(0))
	if err != nil {
		return nil, err
	}
	res, err := e.opts.Matching.DispatchQuery(ctx, namespaceID, v.taskQueue, false, task(events, next))
	if errors.Is(err, matching.ErrNoPoller) || errors.Is(err, context.DeadlineExceeded) {
		return nil, ErrQueryTimeout
	}
	if err != nil {
		return nil, err
	}
	return queryResponse(res)
}

// awaitQueryable returns the run's query view once the worker has seen
// every event written (or buffered) before the query arrived: at once when
// the run is closed, has no workflow task in flight, or its task is failing
// (attempt > 1: waiting could take for ever, the reference server then
// queries directly too); otherwise after a workflow task that started after
// those events completed. It gives up with ErrQueryTimeout a little before
// ctx's deadline (at most 1 s, a quarter of the time left), so the caller
// gets a clear answer. Nothing is written: waiting is in memory only.
func (e *Engine) awaitQueryable(ctx context.Context, key persistence.WorkflowKey) (queryView, error) {
	wctx, cancel := queryWaitContext(ctx)
	defer cancel()
	var v queryView
	first, after := true, int64(0)
	for {
		changed := e.watch.wait(key) // before the read, so no change is missed
		ready := false
		err := e.view(ctx, key, func(st *sm.State) {
			if first {
				first, after = false, queryBarrier(st)
			}
			ready = queryReady(st, after)
			v = queryView{status: st.Execution.Status, workflowType: st.Execution.WorkflowType, taskQueue: st.Execution.TaskQueue,
				sticky: st.Execution.StickyTaskQueue, next: st.NextEventID, prevStarted: st.LastCompletedWFTStartedEventID}
		})
		if err != nil || ready {
			return v, err
		}
		select {
		case <-changed:
		case <-wctx.Done():
			if err := ctx.Err(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
				return v, err
			}
			return v, ErrQueryTimeout
		}
	}
}

// queryBarrier is the started event ID a completed workflow task must pass
// (LastCompletedWFTStartedEventID > barrier) for a query arriving now: a
// scheduled task starts after its scheduled event; a started task covers
// the events up to its started event, and events buffered during it need
// the next task.
func queryBarrier(st *sm.State) int64 {
	wt := st.WorkflowTask
	switch {
	case wt == nil:
		return 0
	case !wt.Started():
		return wt.ScheduledEventID
	case len(st.Buffered) > 0:
		return wt.StartedEventID
	}
	return wt.StartedEventID - 1
}

// queryReady reports whether a query held at barrier may go to a worker.
func queryReady(st *sm.State, barrier int64) bool {
	wt := st.WorkflowTask
	return st.Execution.Status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING || wt == nil || wt.Attempt > 1 ||
		st.LastCompletedWFTStartedEventID > barrier
}

// queryWaitContext is ctx ending a little before its deadline (at most
// 1 s, a quarter of the time left).
func queryWaitContext(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	return context.WithDeadline(ctx, dl.Add(-min(time.Second, time.Until(dl)/4)))
}

// stickyQuery tries the sticky worker for up to half the time left.
func (e *Engine) stickyQuery(ctx context.Context, namespaceID, sticky string, task *workflowservice.PollWorkflowTaskQueueResponse) (*matching.QueryResult, error) {
	budget := 5 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		budget = min(budget, time.Until(dl)/2)
	}
	sctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	return e.opts.Matching.DispatchQuery(sctx, namespaceID, sticky, true, task)
}

func queryResponse(res *matching.QueryResult) (*workflowservice.QueryWorkflowResponse, error) {
	if res.Failed {
		return nil, &QueryFailedError{Msg: res.ErrorMessage, Failure: res.Failure}
	}
	return &workflowservice.QueryWorkflowResponse{QueryResult: res.Answer}, nil
}

// rejected applies query_reject_condition to a run's status.
func rejected(cond enumspb.QueryRejectCondition, status enumspb.WorkflowExecutionStatus) bool {
	switch cond {
	case enumspb.QUERY_REJECT_CONDITION_NOT_OPEN:
		return status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	case enumspb.QUERY_REJECT_CONDITION_NOT_COMPLETED_CLEANLY:
		return status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING && status != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
	}
	return false
}
