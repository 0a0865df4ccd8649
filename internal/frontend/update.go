package frontend

import (
	"context"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
)

var (
	errUpdateRequestNotSet = serviceerror.NewInvalidArgument("Update request is not set on request.")
	errUpdateIDNotSet      = serviceerror.NewInvalidArgument("UpdateId is not set on request.")
	errUpdateNameNotSet    = serviceerror.NewInvalidArgument("Update name is not set on request.")
	errMultiOpShape        = serviceerror.NewInvalidArgument("ExecuteMultiOperation takes exactly a StartWorkflow then an UpdateWorkflow operation.")
)

// UpdateWorkflowExecution sends an update to a run and waits for the stage
// the caller asked for (or as far as it got within the long poll).
func (h *Handler) UpdateWorkflowExecution(ctx context.Context, req *workflowservice.UpdateWorkflowExecutionRequest) (*workflowservice.UpdateWorkflowExecutionResponse, error) {
	ns, err := h.namespaceByName(ctx, req.GetNamespace())
	if err != nil {
		return nil, err
	}
	if err := h.validateUpdate(req); err != nil {
		return nil, err
	}
	return h.hist.UpdateWorkflowExecution(ctx, ns.ID, req)
}

func (h *Handler) validateUpdate(req *workflowservice.UpdateWorkflowExecutionRequest) error {
	lim := h.limits()
	exec := req.GetWorkflowExecution()
	if err := validateExecution(exec.GetWorkflowId(), exec.GetRunId(), exec != nil, lim); err != nil {
		return err
	}
	u := req.GetRequest()
	switch {
	case u == nil:
		return errUpdateRequestNotSet
	case u.GetMeta().GetUpdateId() == "":
		return errUpdateIDNotSet
	case u.GetInput().GetName() == "":
		return errUpdateNameNotSet
	}
	if err := validateRequiredID(u.GetMeta().GetUpdateId(), "UpdateId", lim); err != nil {
		return err
	}
	return validateBlob(u.GetInput().GetArgs(), lim)
}

// PollWorkflowExecutionUpdate waits for an update's outcome.
func (h *Handler) PollWorkflowExecutionUpdate(ctx context.Context, req *workflowservice.PollWorkflowExecutionUpdateRequest) (*workflowservice.PollWorkflowExecutionUpdateResponse, error) {
	ns, err := h.namespaceByName(ctx, req.GetNamespace())
	if err != nil {
		return nil, err
	}
	exec := req.GetUpdateRef().GetWorkflowExecution()
	if err := validateExecution(exec.GetWorkflowId(), exec.GetRunId(), exec != nil, h.limits()); err != nil {
		return nil, err
	}
	if req.GetUpdateRef().GetUpdateId() == "" {
		return nil, errUpdateIDNotSet
	}
	return h.hist.PollWorkflowExecutionUpdate(ctx, ns.ID, req)
}

// ExecuteMultiOperation runs update-with-start: start the workflow (or use
// the running one, per its conflict policy), then send it the update.
func (h *Handler) ExecuteMultiOperation(ctx context.Context, req *workflowservice.ExecuteMultiOperationRequest) (*workflowservice.ExecuteMultiOperationResponse, error) {
	ns, err := h.namespaceByName(ctx, req.GetNamespace())
	if err != nil {
		return nil, err
	}
	ops := req.GetOperations()
	if len(ops) != 2 || ops[0].GetStartWorkflow() == nil || ops[1].GetUpdateWorkflow() == nil {
		return nil, errMultiOpShape
	}
	start, upd := ops[0].GetStartWorkflow(), ops[1].GetUpdateWorkflow()
	if upd.GetWorkflowExecution().GetWorkflowId() != start.GetWorkflowId() {
		return nil, serviceerror.NewInvalidArgument("the update's workflow ID must be the started workflow's.")
	}
	aborted := serviceerror.NewMultiOperationAborted("operation was aborted")
	if err := validateStartRequest(start, h.limits()); err != nil {
		return nil, serviceerror.NewMultiOperationExecution("start validation failed", []error{err, aborted})
	}
	if err := h.validateUpdate(upd); err != nil {
		return nil, serviceerror.NewMultiOperationExecution("update validation failed", []error{aborted, err})
	}
	started, err := h.hist.StartWorkflowExecution(ctx, ns.ID, start)
	if err != nil {
		return nil, serviceerror.NewMultiOperationExecution("start failed", []error{toServiceError(err), aborted})
	}
	upd.WorkflowExecution.RunId = started.GetRunId()
	updated, err := h.hist.UpdateWorkflowExecution(ctx, ns.ID, upd)
	if err != nil {
		return nil, serviceerror.NewMultiOperationExecution("update failed", []error{aborted, toServiceError(err)})
	}
	return &workflowservice.ExecuteMultiOperationResponse{Responses: []*workflowservice.ExecuteMultiOperationResponse_Response{
		{Response: &workflowservice.ExecuteMultiOperationResponse_Response_StartWorkflow{StartWorkflow: started}},
		{Response: &workflowservice.ExecuteMultiOperationResponse_Response_UpdateWorkflow{UpdateWorkflow: updated}},
	}}, nil
}
