package batch

import (
	"context"
	"errors"
	"fmt"

	batchpb "go.temporal.io/api/batch/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
)

// Client is the public API a batch acts through: in one process the
// frontend's handler, its errors already turned into serviceerror values.
type Client interface {
	TerminateWorkflowExecution(ctx context.Context, req *workflowservice.TerminateWorkflowExecutionRequest) (*workflowservice.TerminateWorkflowExecutionResponse, error)
	RequestCancelWorkflowExecution(ctx context.Context, req *workflowservice.RequestCancelWorkflowExecutionRequest) (*workflowservice.RequestCancelWorkflowExecutionResponse, error)
	SignalWorkflowExecution(ctx context.Context, req *workflowservice.SignalWorkflowExecutionRequest) (*workflowservice.SignalWorkflowExecutionResponse, error)
	DeleteWorkflowExecution(ctx context.Context, req *workflowservice.DeleteWorkflowExecutionRequest) (*workflowservice.DeleteWorkflowExecutionResponse, error)
	ResetWorkflowExecution(ctx context.Context, req *workflowservice.ResetWorkflowExecutionRequest) (*workflowservice.ResetWorkflowExecutionResponse, error)
	GetWorkflowExecutionHistory(ctx context.Context, req *workflowservice.GetWorkflowExecutionHistoryRequest) (*workflowservice.GetWorkflowExecutionHistoryResponse, error)
	UpdateWorkflowExecutionOptions(ctx context.Context, req *workflowservice.UpdateWorkflowExecutionOptionsRequest) (*workflowservice.UpdateWorkflowExecutionOptionsResponse, error)
	UnpauseActivity(ctx context.Context, req *workflowservice.UnpauseActivityRequest) (*workflowservice.UnpauseActivityResponse, error)
	ResetActivity(ctx context.Context, req *workflowservice.ResetActivityRequest) (*workflowservice.ResetActivityResponse, error)
	UpdateActivityOptions(ctx context.Context, req *workflowservice.UpdateActivityOptionsRequest) (*workflowservice.UpdateActivityOptionsResponse, error)
}

// act applies the job's operation to one run. A NotFound answer (the run
// is closed or gone) counts as done, as on the reference server.
func (r *runner) act(ctx context.Context, exec *commonpb.WorkflowExecution) error {
	req, ns := r.req, r.req.GetNamespace()
	var err error
	switch op := req.GetOperation().(type) {
	case *workflowservice.StartBatchOperationRequest_TerminationOperation:
		_, err = r.client.TerminateWorkflowExecution(ctx, &workflowservice.TerminateWorkflowExecutionRequest{
			Namespace: ns, WorkflowExecution: exec, Reason: req.GetReason(),
			Details: op.TerminationOperation.GetDetails(), Identity: op.TerminationOperation.GetIdentity(),
		})
	case *workflowservice.StartBatchOperationRequest_CancellationOperation:
		_, err = r.client.RequestCancelWorkflowExecution(ctx, &workflowservice.RequestCancelWorkflowExecutionRequest{
			Namespace: ns, WorkflowExecution: exec, Reason: req.GetReason(),
			Identity: op.CancellationOperation.GetIdentity(), RequestId: requestID(r.job.NamespaceID, r.job.JobID, exec),
		})
	case *workflowservice.StartBatchOperationRequest_SignalOperation:
		sig := op.SignalOperation
		_, err = r.client.SignalWorkflowExecution(ctx, &workflowservice.SignalWorkflowExecutionRequest{
			Namespace: ns, WorkflowExecution: exec, SignalName: sig.GetSignal(), Input: sig.GetInput(),
			Header: sig.GetHeader(), Identity: sig.GetIdentity(), RequestId: requestID(r.job.NamespaceID, r.job.JobID, exec),
		})
	case *workflowservice.StartBatchOperationRequest_DeletionOperation:
		_, err = r.client.DeleteWorkflowExecution(ctx, &workflowservice.DeleteWorkflowExecutionRequest{
			Namespace: ns, WorkflowExecution: exec,
		})
	case *workflowservice.StartBatchOperationRequest_ResetOperation:
		err = r.reset(ctx, op.ResetOperation, exec)
	case *workflowservice.StartBatchOperationRequest_UpdateWorkflowOptionsOperation:
		o := op.UpdateWorkflowOptionsOperation
		_, err = r.client.UpdateWorkflowExecutionOptions(ctx, &workflowservice.UpdateWorkflowExecutionOptionsRequest{
			Namespace: ns, WorkflowExecution: exec, WorkflowExecutionOptions: o.GetWorkflowExecutionOptions(),
			UpdateMask: o.GetUpdateMask(), Identity: o.GetIdentity(),
		})
	default:
		err = r.actOnActivities(ctx, exec)
	}
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return nil
	}
	return err
}

// actOnActivities applies an activity operation (unpause, reset, update
// options) to the activities of one run. A run without such activities
// answers NotFound, which act counts as done.
func (r *runner) actOnActivities(ctx context.Context, exec *commonpb.WorkflowExecution) error {
	req, ns := r.req, r.req.GetNamespace()
	var err error
	switch op := req.GetOperation().(type) {
	case *workflowservice.StartBatchOperationRequest_UnpauseActivitiesOperation:
		o := op.UnpauseActivitiesOperation
		u := &workflowservice.UnpauseActivityRequest{Namespace: ns, Execution: exec, Identity: o.GetIdentity(),
			ResetAttempts: o.GetResetAttempts(), ResetHeartbeat: o.GetResetHeartbeat(), Jitter: o.GetJitter()}
		if o.GetMatchAll() {
			u.Activity = &workflowservice.UnpauseActivityRequest_UnpauseAll{UnpauseAll: true}
		} else {
			u.Activity = &workflowservice.UnpauseActivityRequest_Type{Type: o.GetType()}
		}
		_, err = r.client.UnpauseActivity(ctx, u)
	case *workflowservice.StartBatchOperationRequest_ResetActivitiesOperation:
		o := op.ResetActivitiesOperation
		u := &workflowservice.ResetActivityRequest{Namespace: ns, Execution: exec, Identity: o.GetIdentity(),
			ResetHeartbeat: o.GetResetHeartbeat(), KeepPaused: o.GetKeepPaused(), Jitter: o.GetJitter(),
			RestoreOriginalOptions: o.GetRestoreOriginalOptions()}
		if o.GetMatchAll() {
			u.Activity = &workflowservice.ResetActivityRequest_MatchAll{MatchAll: true}
		} else {
			u.Activity = &workflowservice.ResetActivityRequest_Type{Type: o.GetType()}
		}
		_, err = r.client.ResetActivity(ctx, u)
	case *workflowservice.StartBatchOperationRequest_UpdateActivityOptionsOperation:
		o := op.UpdateActivityOptionsOperation
		u := &workflowservice.UpdateActivityOptionsRequest{Namespace: ns, Execution: exec, Identity: o.GetIdentity(),
			ActivityOptions: o.GetActivityOptions(), UpdateMask: o.GetUpdateMask(), RestoreOriginal: o.GetRestoreOriginal()}
		if o.GetMatchAll() {
			u.Activity = &workflowservice.UpdateActivityOptionsRequest_MatchAll{MatchAll: true}
		} else {
			u.Activity = &workflowservice.UpdateActivityOptionsRequest_Type{Type: o.GetType()}
		}
		_, err = r.client.UpdateActivityOptions(ctx, u)
	default:
		return fmt.Errorf("batch: operation %T is not supported", op)
	}
	return err
}

func (r *runner) reset(ctx context.Context, op *batchpb.BatchOperationReset, exec *commonpb.WorkflowExecution) error {
	eventID, err := r.resetEventID(ctx, op.GetOptions(), op.GetResetType(), exec)
	if err != nil {
		return err
	}
	reapply := op.GetResetReapplyType()
	var exclude []enumspb.ResetReapplyExcludeType
	if o := op.GetOptions(); o != nil {
		reapply, exclude = o.GetResetReapplyType(), o.GetResetReapplyExcludeTypes()
	}
	_, err = r.client.ResetWorkflowExecution(ctx, &workflowservice.ResetWorkflowExecutionRequest{
		Namespace: r.req.GetNamespace(), WorkflowExecution: exec, Reason: r.req.GetReason(),
		WorkflowTaskFinishEventId: eventID, RequestId: requestID(r.job.NamespaceID, r.job.JobID, exec),
		ResetReapplyType: reapply, ResetReapplyExcludeTypes: exclude,
		PostResetOperations: op.GetPostResetOperations(), Identity: op.GetIdentity(),
	})
	return err
}

// errNoWorkflowTask: the run has no workflow task to reset to.
var errNoWorkflowTask = errors.New("unable to find any scheduled or completed task")

// resetEventID finds the event a reset goes back to, as the reference
// server does: the first or last WorkflowTaskCompleted (or, when none
// completed, the event after the first WorkflowTaskScheduled), or the
// event ID given.
func (r *runner) resetEventID(ctx context.Context, opts *commonpb.ResetOptions, legacy enumspb.ResetType, exec *commonpb.WorkflowExecution) (int64, error) {
	last := false
	switch {
	case opts.GetWorkflowTaskId() > 0:
		return opts.GetWorkflowTaskId(), nil
	case opts.GetLastWorkflowTask() != nil:
		last = true
	case opts.GetFirstWorkflowTask() != nil:
	case opts == nil && legacy == enumspb.RESET_TYPE_LAST_WORKFLOW_TASK:
		last = true
	case opts == nil && legacy == enumspb.RESET_TYPE_FIRST_WORKFLOW_TASK:
	default:
		return 0, serviceerror.NewInvalidArgument("provided reset target is not supported.")
	}
	var completed, scheduled int64
	req := &workflowservice.GetWorkflowExecutionHistoryRequest{Namespace: r.req.GetNamespace(), Execution: exec, MaximumPageSize: 1000}
	for {
		resp, err := r.client.GetWorkflowExecutionHistory(ctx, req)
		if err != nil {
			return 0, err
		}
		for _, e := range resp.GetHistory().GetEvents() {
			switch e.GetEventType() {
			case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
				if !last {
					return e.GetEventId(), nil
				}
				completed = e.GetEventId()
			case enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
				if scheduled == 0 {
					scheduled = e.GetEventId() + 1
				}
			}
		}
		if len(resp.GetNextPageToken()) == 0 {
			break
		}
		req.NextPageToken = resp.GetNextPageToken()
	}
	switch {
	case completed > 0:
		return completed, nil
	case scheduled > 0:
		return scheduled, nil
	}
	return 0, errNoWorkflowTask
}

// retryable reports whether an action's error may go away on a retry.
func retryable(err error) bool {
	var unavailable *serviceerror.Unavailable
	var exhausted *serviceerror.ResourceExhausted
	var deadline *serviceerror.DeadlineExceeded
	var aborted *serviceerror.Aborted
	return errors.As(err, &unavailable) || errors.As(err, &exhausted) || errors.As(err, &deadline) || errors.As(err, &aborted)
}
