package frontend

import (
	"context"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundialhq/sundial/internal/history"
	"github.com/sundialhq/sundial/internal/namespace"
)

var (
	errSignalNameNotSet = serviceerror.NewInvalidArgument("SignalName is not set on request.")
	errQueryNotSet      = serviceerror.NewInvalidArgument("WorkflowQuery is not set on request.")
	errQueryTypeNotSet  = serviceerror.NewInvalidArgument("QueryType is not set on request.")

	errConflictPolicyFailNotSupported = serviceerror.NewInvalidArgument("Invalid WorkflowIDConflictPolicy: WORKFLOW_ID_CONFLICT_POLICY_FAIL is not supported for this operation.")
)

// SignalWorkflowExecution delivers a signal to a workflow's run.
func (h *Handler) SignalWorkflowExecution(ctx context.Context, req *workflowservice.SignalWorkflowExecutionRequest) (*workflowservice.SignalWorkflowExecutionResponse, error) {
	ns, _, err := h.execution(ctx, req.GetNamespace(), req.GetWorkflowExecution())
	if err != nil {
		return nil, err
	}
	lim := h.limits()
	if err := validateSignal(req.GetSignalName(), req.GetRequestId(), req.GetIdentity(), req.GetInput(), lim); err != nil {
		return nil, err
	}
	if err := h.hist.SignalWorkflowExecution(ctx, ns.ID, req); err != nil {
		return nil, err
	}
	return &workflowservice.SignalWorkflowExecutionResponse{}, nil
}

func validateSignal(name, requestID, identity string, input *commonpb.Payloads, lim limits) error {
	if name == "" {
		return errSignalNameNotSet
	}
	if err := validateRequiredID(name, "SignalName", lim); err != nil {
		return err
	}
	if err := validateOptionalID(requestID, "RequestId", lim); err != nil {
		return err
	}
	if err := validateOptionalID(identity, "Identity", lim); err != nil {
		return err
	}
	return validateBlob(input, lim)
}

// SignalWithStartWorkflowExecution signals the workflow's open run or
// starts one with the signal. The start part is validated like
// StartWorkflowExecution; the conflict policy FAIL is refused (it has no
// meaning here: an open run is always signalled or terminated).
func (h *Handler) SignalWithStartWorkflowExecution(ctx context.Context, req *workflowservice.SignalWithStartWorkflowExecutionRequest) (*workflowservice.SignalWithStartWorkflowExecutionResponse, error) {
	ns, err := h.namespaceByName(ctx, req.GetNamespace())
	if err != nil {
		return nil, err
	}
	lim := h.limits()
	if err := validateSignal(req.GetSignalName(), req.GetRequestId(), req.GetIdentity(), req.GetSignalInput(), lim); err != nil {
		return nil, err
	}
	start := startFromSignalWithStart(req)
	if err := validateStartRequest(start, lim); err != nil {
		return nil, err
	}
	if req.GetWorkflowIdConflictPolicy() == enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL {
		return nil, errConflictPolicyFailNotSupported
	}
	sig := history.SignalInput{Name: req.GetSignalName(), Input: req.GetSignalInput(), Header: req.GetHeader(), Identity: req.GetIdentity(), RequestID: start.GetRequestId()}
	return h.hist.SignalWithStartWorkflowExecution(ctx, ns.ID, start, sig)
}

func startFromSignalWithStart(req *workflowservice.SignalWithStartWorkflowExecutionRequest) *workflowservice.StartWorkflowExecutionRequest {
	return &workflowservice.StartWorkflowExecutionRequest{
		Namespace: req.GetNamespace(), WorkflowId: req.GetWorkflowId(), WorkflowType: req.GetWorkflowType(),
		TaskQueue: req.GetTaskQueue(), Input: req.GetInput(), WorkflowExecutionTimeout: req.GetWorkflowExecutionTimeout(),
		WorkflowRunTimeout: req.GetWorkflowRunTimeout(), WorkflowTaskTimeout: req.GetWorkflowTaskTimeout(),
		Identity: req.GetIdentity(), RequestId: req.GetRequestId(), WorkflowIdReusePolicy: req.GetWorkflowIdReusePolicy(),
		WorkflowIdConflictPolicy: req.GetWorkflowIdConflictPolicy(), RetryPolicy: req.GetRetryPolicy(),
		CronSchedule: req.GetCronSchedule(), Memo: req.GetMemo(), SearchAttributes: req.GetSearchAttributes(),
		Header: req.GetHeader(), WorkflowStartDelay: req.GetWorkflowStartDelay(), UserMetadata: req.GetUserMetadata(),
		Priority: req.GetPriority(),
	}
}

// RequestCancelWorkflowExecution asks a workflow to cancel itself.
func (h *Handler) RequestCancelWorkflowExecution(ctx context.Context, req *workflowservice.RequestCancelWorkflowExecutionRequest) (*workflowservice.RequestCancelWorkflowExecutionResponse, error) {
	ns, _, err := h.execution(ctx, req.GetNamespace(), req.GetWorkflowExecution())
	if err != nil {
		return nil, err
	}
	lim := h.limits()
	if err := validateOptionalID(req.GetRequestId(), "RequestId", lim); err != nil {
		return nil, err
	}
	if err := h.hist.RequestCancelWorkflowExecution(ctx, ns.ID, req); err != nil {
		return nil, err
	}
	return &workflowservice.RequestCancelWorkflowExecutionResponse{}, nil
}

// TerminateWorkflowExecution ends a run at once.
func (h *Handler) TerminateWorkflowExecution(ctx context.Context, req *workflowservice.TerminateWorkflowExecutionRequest) (*workflowservice.TerminateWorkflowExecutionResponse, error) {
	ns, _, err := h.execution(ctx, req.GetNamespace(), req.GetWorkflowExecution())
	if err != nil {
		return nil, err
	}
	lim := h.limits()
	if err := validateBlob(req.GetDetails(), lim); err != nil {
		return nil, err
	}
	if err := h.hist.TerminateWorkflowExecution(ctx, ns.ID, req); err != nil {
		return nil, err
	}
	return &workflowservice.TerminateWorkflowExecutionResponse{}, nil
}

// DescribeWorkflowExecution reports a run's state and pending work.
func (h *Handler) DescribeWorkflowExecution(ctx context.Context, req *workflowservice.DescribeWorkflowExecutionRequest) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	ns, _, err := h.execution(ctx, req.GetNamespace(), req.GetExecution())
	if err != nil {
		return nil, err
	}
	return h.hist.DescribeWorkflowExecution(ctx, ns.ID, req)
}

// QueryWorkflow has a worker answer a query on a run.
func (h *Handler) QueryWorkflow(ctx context.Context, req *workflowservice.QueryWorkflowRequest) (*workflowservice.QueryWorkflowResponse, error) {
	ns, _, err := h.execution(ctx, req.GetNamespace(), req.GetExecution())
	if err != nil {
		return nil, err
	}
	lim := h.limits()
	switch {
	case req.GetQuery() == nil:
		return nil, errQueryNotSet
	case req.GetQuery().GetQueryType() == "":
		return nil, errQueryTypeNotSet
	}
	if err := validateEnum(req.GetQueryRejectCondition(), "QueryRejectCondition"); err != nil {
		return nil, err
	}
	if err := validateBlob(req.GetQuery().GetQueryArgs(), lim); err != nil {
		return nil, err
	}
	return h.hist.QueryWorkflow(ctx, ns.ID, req)
}

// RespondQueryTaskCompleted delivers a worker's answer to a query task.
func (h *Handler) RespondQueryTaskCompleted(ctx context.Context, req *workflowservice.RespondQueryTaskCompletedRequest) (*workflowservice.RespondQueryTaskCompletedResponse, error) {
	ns, err := h.namespaceByName(ctx, req.GetNamespace())
	if err != nil {
		return nil, err
	}
	if len(req.GetTaskToken()) == 0 {
		return nil, errTaskTokenNotSet
	}
	if err := validateEnum(req.GetCompletedType(), "CompletedType"); err != nil {
		return nil, err
	}
	if req.GetCompletedType() == enumspb.QUERY_RESULT_TYPE_ANSWERED {
		// An answer over the blob limit fails the query for its caller at
		// once (QueryFailed "Blob data size exceeds limit."), as the
		// reference server does; the worker's call itself succeeds. Rejecting
		// the call instead would leave the caller waiting for its deadline.
		if err := validateBlob(req.GetQueryResult(), h.limits()); err != nil {
			req = &workflowservice.RespondQueryTaskCompletedRequest{Namespace: req.GetNamespace(), TaskToken: req.GetTaskToken(),
				CompletedType: enumspb.QUERY_RESULT_TYPE_FAILED, ErrorMessage: errBlobSizeExceedsLimit.Error()}
		}
	}
	if err := h.match.RespondQueryTaskCompleted(ctx, ns.ID, req); err != nil {
		return nil, err
	}
	return &workflowservice.RespondQueryTaskCompletedResponse{}, nil
}

// ResetStickyTaskQueue makes the run's next workflow task go to the normal
// queue with full history.
func (h *Handler) ResetStickyTaskQueue(ctx context.Context, req *workflowservice.ResetStickyTaskQueueRequest) (*workflowservice.ResetStickyTaskQueueResponse, error) {
	ns, exec, err := h.execution(ctx, req.GetNamespace(), req.GetExecution())
	if err != nil {
		return nil, err
	}
	if err := h.hist.ResetStickyTaskQueue(ctx, ns.ID, exec); err != nil {
		return nil, err
	}
	return &workflowservice.ResetStickyTaskQueueResponse{}, nil
}

// ShutdownWorker releases the stopping worker's sticky queue at once: the
// workflow tasks waiting there move to their normal queues.
func (h *Handler) ShutdownWorker(ctx context.Context, req *workflowservice.ShutdownWorkerRequest) (*workflowservice.ShutdownWorkerResponse, error) {
	ns, err := h.namespaceByName(ctx, req.GetNamespace())
	if err != nil {
		return nil, err
	}
	if req.GetStickyTaskQueue() == "" {
		return &workflowservice.ShutdownWorkerResponse{}, nil
	}
	held, err := h.match.ShutdownSticky(ctx, ns.ID, req.GetStickyTaskQueue())
	if err != nil {
		return nil, err
	}
	for _, t := range held {
		exec := &commonpb.WorkflowExecution{WorkflowId: t.WorkflowID, RunId: t.RunID}
		if err := h.hist.ResetStickyTaskQueue(ctx, ns.ID, exec); err != nil {
			h.logger.Warn("reset sticky queue on worker shutdown", "workflow_id", t.WorkflowID, "error", err)
		}
	}
	return &workflowservice.ShutdownWorkerResponse{}, nil
}

// DeleteWorkflowExecution terminates the run if it is open and deletes it.
func (h *Handler) DeleteWorkflowExecution(ctx context.Context, req *workflowservice.DeleteWorkflowExecutionRequest) (*workflowservice.DeleteWorkflowExecutionResponse, error) {
	ns, exec, err := h.execution(ctx, req.GetNamespace(), req.GetWorkflowExecution())
	if err != nil {
		return nil, err
	}
	if err := h.hist.DeleteWorkflowExecution(ctx, ns.ID, exec); err != nil {
		return nil, err
	}
	return &workflowservice.DeleteWorkflowExecutionResponse{}, nil
}

// execution resolves a request's namespace and validates the execution it
// names.
func (h *Handler) execution(ctx context.Context, nsName string, exec *commonpb.WorkflowExecution) (*namespace.Namespace, *commonpb.WorkflowExecution, error) {
	ns, err := h.namespaceByName(ctx, nsName)
	if err != nil {
		return nil, nil, err
	}
	if err := validateExecution(exec.GetWorkflowId(), exec.GetRunId(), exec != nil, h.limits()); err != nil {
		return nil, nil, err
	}
	return ns, exec, nil
}
