package frontend

import (
	"context"

	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
)

var (
	errResetEventIDNotSet = serviceerror.NewInvalidArgument("WorkflowTaskFinishEventId must be greater than 0.")
	errReasonTooLong      = serviceerror.NewInvalidArgument("Reason length exceeds limit.")
	errBadPostResetOp     = serviceerror.NewInvalidArgument("PostResetOperations: only SignalWorkflow operations are supported by this server.")
)

// ResetWorkflowExecution resets a run to a workflow task: the history up to
// that task is copied into a new run (whose ID is returned), later signals
// and updates are re-applied as the request says, and the workflow's open
// run is terminated. An empty request ID is filled in, as for starts.
func (h *Handler) ResetWorkflowExecution(ctx context.Context, req *workflowservice.ResetWorkflowExecutionRequest) (*workflowservice.ResetWorkflowExecutionResponse, error) {
	ns, err := h.namespaceByName(ctx, req.GetNamespace())
	if err != nil {
		return nil, err
	}
	if err := validateReset(req, h.limits()); err != nil {
		return nil, err
	}
	if req.GetRequestId() == "" {
		req.RequestId = uuid.NewString()
	}
	return h.hist.ResetWorkflowExecution(ctx, ns.ID, req)
}

func validateReset(req *workflowservice.ResetWorkflowExecutionRequest, lim limits) error {
	exec := req.GetWorkflowExecution()
	if err := validateExecution(exec.GetWorkflowId(), exec.GetRunId(), exec != nil, lim); err != nil {
		return err
	}
	if req.GetWorkflowTaskFinishEventId() <= 0 {
		return errResetEventIDNotSet
	}
	if err := validateOptionalID(req.GetRequestId(), "RequestId", lim); err != nil {
		return err
	}
	if err := validateOptionalID(req.GetIdentity(), "Identity", lim); err != nil {
		return err
	}
	if len(req.GetReason()) > lim.blobSizeError {
		return errReasonTooLong
	}
	if err := validateEnum(req.GetResetReapplyType(), "ResetReapplyType"); err != nil {
		return err
	}
	for _, t := range req.GetResetReapplyExcludeTypes() {
		if err := validateEnum(t, "ResetReapplyExcludeType"); err != nil {
			return err
		}
	}
	for _, op := range req.GetPostResetOperations() {
		sig := op.GetSignalWorkflow()
		if sig == nil {
			return errBadPostResetOp
		}
		if err := validateSignal(sig.GetSignalName(), "", "", sig.GetInput(), lim); err != nil {
			return err
		}
		if err := validateBlob(sig.GetHeader(), lim); err != nil {
			return err
		}
	}
	return nil
}
