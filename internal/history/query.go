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
// queue (with the full history, paged). Queries are never written.
func (e *Engine) QueryWorkflow(ctx context.Context, namespaceID string, req *workflowservice.QueryWorkflowRequest) (*workflowservice.QueryWorkflowResponse, error) {
	key, err := e.resolveRun(ctx, persistence.WorkflowKey{NamespaceID: namespaceID, WorkflowID: req.GetExecution().GetWorkflowId(), RunID: req.GetExecution().GetRunId()})
	if err != nil {
		return nil, err
	}
	var v queryView
	err = e.view(ctx, key, func(st *sm.State) {
		v = queryView{status: st.Execution.Status, workflowType: st.Execution.WorkflowType, taskQueue: st.Execution.TaskQueue,
			sticky: st.Execution.StickyTaskQueue, next: st.NextEventID, prevStarted: st.LastCompletedWFTStartedEventID}
	})
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
