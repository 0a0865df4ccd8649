package frontend

import (
	"context"
	"errors"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundialhq/sundial/internal/namespace"
	"github.com/sundialhq/sundial/internal/tasktoken"
)

// PollWorkflowTaskQueue long-polls matching for a workflow task. An empty
// response means no task arrived in time.
func (h *Handler) PollWorkflowTaskQueue(ctx context.Context, req *workflowservice.PollWorkflowTaskQueueRequest) (*workflowservice.PollWorkflowTaskQueueResponse, error) {
	ns, err := h.namespaceByName(ctx, req.GetNamespace())
	if err != nil {
		return nil, err
	}
	lim := h.limits()
	if err := validateTaskQueue(req.GetTaskQueue(), lim); err != nil {
		return nil, err
	}
	if err := validateOptionalID(req.GetIdentity(), "Identity", lim); err != nil {
		return nil, err
	}
	resp, err := h.match.PollWorkflowTaskQueue(ctx, ns.ID, req)
	if err != nil {
		return nil, err
	}
	if resp == nil {
		resp = &workflowservice.PollWorkflowTaskQueueResponse{}
	}
	return resp, nil
}

// PollActivityTaskQueue long-polls matching for an activity task. An empty
// response means no task arrived in time.
func (h *Handler) PollActivityTaskQueue(ctx context.Context, req *workflowservice.PollActivityTaskQueueRequest) (*workflowservice.PollActivityTaskQueueResponse, error) {
	ns, err := h.namespaceByName(ctx, req.GetNamespace())
	if err != nil {
		return nil, err
	}
	lim := h.limits()
	if err := validateTaskQueue(req.GetTaskQueue(), lim); err != nil {
		return nil, err
	}
	if err := validateOptionalID(req.GetIdentity(), "Identity", lim); err != nil {
		return nil, err
	}
	resp, err := h.match.PollActivityTaskQueue(ctx, ns.ID, req)
	if err != nil {
		return nil, err
	}
	if resp == nil {
		resp = &workflowservice.PollActivityTaskQueueResponse{}
	}
	if len(resp.GetTaskToken()) > 0 {
		resp.WorkflowNamespace = ns.Name
	}
	return resp, nil
}

// taskKind says which kind of task a token must identify.
type taskKind bool

const (
	workflowTask taskKind = false
	activityTask taskKind = true
)

// decodeToken decodes a task token and checks it belongs to the request's
// namespace. With no namespace on the request, the token's namespace is used
// (it must exist). A token of the wrong kind, or one that does not name a
// scheduled event, does not deserialize.
func (h *Handler) decodeToken(ctx context.Context, nsName string, raw []byte, kind taskKind) (*tasktoken.Token, error) {
	if len(raw) == 0 {
		return nil, errTaskTokenNotSet
	}
	tok, err := tasktoken.Decode(raw)
	if err != nil || tok.Activity != bool(kind) || tok.ScheduledEventID <= 0 ||
		(kind == activityTask && tok.ActivityID == "") {
		return nil, errDeserializingToken
	}
	if nsName == "" {
		if _, err := h.ns.GetByID(ctx, tok.NamespaceID); err != nil {
			if errors.Is(err, namespace.ErrNotFound) {
				return nil, serviceerror.NewNamespaceNotFound(tok.NamespaceID)
			}
			return nil, err
		}
		return tok, nil
	}
	ns, err := h.namespaceByName(ctx, nsName)
	if err != nil {
		return nil, err
	}
	if ns.ID != tok.NamespaceID {
		return nil, errTokenNamespaceMismatch
	}
	return tok, nil
}

// RespondWorkflowTaskCompleted hands the worker's commands to history.
// Command payload limits are history's to enforce: over the limit there,
// the workflow is terminated rather than the call rejected.
func (h *Handler) RespondWorkflowTaskCompleted(ctx context.Context, req *workflowservice.RespondWorkflowTaskCompletedRequest) (*workflowservice.RespondWorkflowTaskCompletedResponse, error) {
	tok, err := h.decodeToken(ctx, req.GetNamespace(), req.GetTaskToken(), workflowTask)
	if err != nil {
		return nil, err
	}
	lim := h.limits()
	if err := validateOptionalID(req.GetIdentity(), "Identity", lim); err != nil {
		return nil, err
	}
	if sticky := req.GetStickyAttributes(); sticky != nil {
		if err := validateTaskQueue(sticky.GetWorkerTaskQueue(), lim); err != nil {
			return nil, err
		}
		if _, err := durationValue(sticky.GetScheduleToStartTimeout(),
			serviceerror.NewInvalidArgument("An invalid StickyScheduleToStartTimeout is set on request.")); err != nil {
			return nil, err
		}
	}
	resp, err := h.hist.RespondWorkflowTaskCompleted(ctx, tok, req)
	if err != nil {
		return nil, err
	}
	if resp == nil {
		resp = &workflowservice.RespondWorkflowTaskCompletedResponse{}
	}
	if len(resp.GetActivityTasks()) > 0 {
		ns, err := h.ns.GetByID(ctx, tok.NamespaceID)
		if err != nil {
			return nil, err
		}
		for _, t := range resp.GetActivityTasks() {
			t.WorkflowNamespace = ns.Name
		}
	}
	return resp, nil
}

// RespondWorkflowTaskFailed records a failed workflow task attempt.
func (h *Handler) RespondWorkflowTaskFailed(ctx context.Context, req *workflowservice.RespondWorkflowTaskFailedRequest) (*workflowservice.RespondWorkflowTaskFailedResponse, error) {
	tok, err := h.decodeToken(ctx, req.GetNamespace(), req.GetTaskToken(), workflowTask)
	if err != nil {
		return nil, err
	}
	lim := h.limits()
	if err := validateOptionalID(req.GetIdentity(), "Identity", lim); err != nil {
		return nil, err
	}
	if err := validateEnum(req.GetCause(), "WorkflowTaskFailedCause"); err != nil {
		return nil, err
	}
	if err := validateBlob(req.GetFailure(), lim); err != nil {
		return nil, err
	}
	if err := h.hist.RespondWorkflowTaskFailed(ctx, tok, req); err != nil {
		return nil, err
	}
	return &workflowservice.RespondWorkflowTaskFailedResponse{}, nil
}
