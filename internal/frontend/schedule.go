package frontend

import (
	"context"
	"errors"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundialhq/sundial/internal/worker/schedule"
)

// Schedules is the worker role's scheduler as the frontend uses it
// (schedule.Service). Namespaces are resolved here; errors are the
// schedule package's typed errors, mapped by scheduleErr.
type Schedules interface {
	Create(ctx context.Context, ns schedule.Namespace, req *workflowservice.CreateScheduleRequest) (*workflowservice.CreateScheduleResponse, error)
	Describe(ctx context.Context, ns schedule.Namespace, scheduleID string) (*workflowservice.DescribeScheduleResponse, error)
	Update(ctx context.Context, ns schedule.Namespace, req *workflowservice.UpdateScheduleRequest) error
	Patch(ctx context.Context, ns schedule.Namespace, req *workflowservice.PatchScheduleRequest) error
	Delete(ctx context.Context, ns schedule.Namespace, scheduleID string) error
	List(ctx context.Context, ns schedule.Namespace, req *workflowservice.ListSchedulesRequest, custom map[string]enumspb.IndexedValueType) (*workflowservice.ListSchedulesResponse, error)
	Count(ctx context.Context, ns schedule.Namespace, query string, custom map[string]enumspb.IndexedValueType) (int64, error)
	MatchingTimes(ctx context.Context, ns schedule.Namespace, req *workflowservice.ListScheduleMatchingTimesRequest) (*workflowservice.ListScheduleMatchingTimesResponse, error)
}

var errSchedulesOff = serviceerror.NewUnimplemented("schedules are not enabled on this server")

// scheduleErr maps the scheduler's errors to service errors; others go
// on to toServiceError.
func scheduleErr(err error) error {
	var invalid *schedule.InvalidSpecError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, schedule.ErrNotFound):
		return serviceerror.NewNotFound("schedule not found")
	case errors.Is(err, schedule.ErrAlreadyExists):
		// The SDKs recognise an existing schedule by this type.
		return serviceerror.NewWorkflowExecutionAlreadyStarted("schedule with this ID is already registered", "", "")
	case errors.Is(err, schedule.ErrConflict):
		return serviceerror.NewFailedPrecondition("mismatched conflict token")
	case errors.Is(err, schedule.ErrInvalidPageToken):
		return serviceerror.NewInvalidArgument("invalid page token")
	case errors.As(err, &invalid):
		return serviceerror.NewInvalidArgument(invalid.Msg)
	}
	return err
}

// scheduleNamespace resolves the namespace and checks the schedule ID of
// a schedule call.
func (h *Handler) scheduleNamespace(ctx context.Context, namespace, scheduleID string) (schedule.Namespace, error) {
	if h.opts.Schedules == nil {
		return schedule.Namespace{}, errSchedulesOff
	}
	ns, err := h.namespaceByName(ctx, namespace)
	if err != nil {
		return schedule.Namespace{}, err
	}
	if scheduleID != "\x00" { // list and count have no schedule ID
		if err := validateRequiredID(scheduleID, "ScheduleId", h.limits()); err != nil {
			return schedule.Namespace{}, err
		}
	}
	return schedule.Namespace{ID: ns.ID, Name: ns.Name}, nil
}

// validateScheduleSearchAttributes checks the schedule's own and its
// action's search attributes against the namespace's definitions, so a
// bad one is refused now rather than failing every action.
func (h *Handler) validateScheduleSearchAttributes(ctx context.Context, nsID string, sas ...*commonpb.SearchAttributes) error {
	if h.opts.SearchAttributes == nil {
		return nil
	}
	for _, sa := range sas {
		if len(sa.GetIndexedFields()) == 0 {
			continue
		}
		if err := h.opts.SearchAttributes.Validate(ctx, nsID, sa); err != nil {
			return err
		}
	}
	return nil
}

// CreateSchedule creates a schedule.
func (h *Handler) CreateSchedule(ctx context.Context, req *workflowservice.CreateScheduleRequest) (*workflowservice.CreateScheduleResponse, error) {
	ns, err := h.scheduleNamespace(ctx, req.GetNamespace(), req.GetScheduleId())
	if err != nil {
		return nil, err
	}
	if req.GetSchedule() == nil {
		return nil, serviceerror.NewInvalidArgument("Schedule is not set on request.")
	}
	if err := validateOptionalID(req.GetRequestId(), "RequestId", h.limits()); err != nil {
		return nil, err
	}
	if err := h.validateScheduleSearchAttributes(ctx, ns.ID, req.GetSearchAttributes(),
		req.GetSchedule().GetAction().GetStartWorkflow().GetSearchAttributes()); err != nil {
		return nil, err
	}
	resp, err := h.opts.Schedules.Create(ctx, ns, req)
	return resp, scheduleErr(err)
}

// DescribeSchedule returns a schedule with its info.
func (h *Handler) DescribeSchedule(ctx context.Context, req *workflowservice.DescribeScheduleRequest) (*workflowservice.DescribeScheduleResponse, error) {
	ns, err := h.scheduleNamespace(ctx, req.GetNamespace(), req.GetScheduleId())
	if err != nil {
		return nil, err
	}
	resp, err := h.opts.Schedules.Describe(ctx, ns, req.GetScheduleId())
	return resp, scheduleErr(err)
}

// UpdateSchedule replaces a schedule's configuration.
func (h *Handler) UpdateSchedule(ctx context.Context, req *workflowservice.UpdateScheduleRequest) (*workflowservice.UpdateScheduleResponse, error) {
	ns, err := h.scheduleNamespace(ctx, req.GetNamespace(), req.GetScheduleId())
	if err != nil {
		return nil, err
	}
	if req.GetSchedule() == nil {
		return nil, serviceerror.NewInvalidArgument("Schedule is not set on request.")
	}
	if err := h.validateScheduleSearchAttributes(ctx, ns.ID, req.GetSearchAttributes(),
		req.GetSchedule().GetAction().GetStartWorkflow().GetSearchAttributes()); err != nil {
		return nil, err
	}
	if err := h.opts.Schedules.Update(ctx, ns, req); err != nil {
		return nil, scheduleErr(err)
	}
	return &workflowservice.UpdateScheduleResponse{}, nil
}

// PatchSchedule pauses, unpauses, triggers or backfills a schedule.
func (h *Handler) PatchSchedule(ctx context.Context, req *workflowservice.PatchScheduleRequest) (*workflowservice.PatchScheduleResponse, error) {
	ns, err := h.scheduleNamespace(ctx, req.GetNamespace(), req.GetScheduleId())
	if err != nil {
		return nil, err
	}
	if err := validateOptionalID(req.GetRequestId(), "RequestId", h.limits()); err != nil {
		return nil, err
	}
	if err := h.opts.Schedules.Patch(ctx, ns, req); err != nil {
		return nil, scheduleErr(err)
	}
	return &workflowservice.PatchScheduleResponse{}, nil
}

// DeleteSchedule deletes a schedule (not the workflows it started).
func (h *Handler) DeleteSchedule(ctx context.Context, req *workflowservice.DeleteScheduleRequest) (*workflowservice.DeleteScheduleResponse, error) {
	ns, err := h.scheduleNamespace(ctx, req.GetNamespace(), req.GetScheduleId())
	if err != nil {
		return nil, err
	}
	if err := h.opts.Schedules.Delete(ctx, ns, req.GetScheduleId()); err != nil {
		return nil, scheduleErr(err)
	}
	return &workflowservice.DeleteScheduleResponse{}, nil
}

// ListScheduleMatchingTimes lists the times a schedule's spec matches.
func (h *Handler) ListScheduleMatchingTimes(ctx context.Context, req *workflowservice.ListScheduleMatchingTimesRequest) (*workflowservice.ListScheduleMatchingTimesResponse, error) {
	ns, err := h.scheduleNamespace(ctx, req.GetNamespace(), req.GetScheduleId())
	if err != nil {
		return nil, err
	}
	resp, err := h.opts.Schedules.MatchingTimes(ctx, ns, req)
	return resp, scheduleErr(err)
}

func (h *Handler) customSearchAttributes(ctx context.Context, nsID string) (map[string]enumspb.IndexedValueType, error) {
	if h.opts.SearchAttributes == nil {
		return nil, nil
	}
	return h.opts.SearchAttributes.Custom(ctx, nsID)
}

// ListSchedules lists a namespace's schedules, filtered by query.
func (h *Handler) ListSchedules(ctx context.Context, req *workflowservice.ListSchedulesRequest) (*workflowservice.ListSchedulesResponse, error) {
	ns, err := h.scheduleNamespace(ctx, req.GetNamespace(), "\x00")
	if err != nil {
		return nil, err
	}
	custom, err := h.customSearchAttributes(ctx, ns.ID)
	if err != nil {
		return nil, err
	}
	resp, err := h.opts.Schedules.List(ctx, ns, req, custom)
	return resp, scheduleErr(err)
}

// CountSchedules counts a namespace's schedules matching query.
func (h *Handler) CountSchedules(ctx context.Context, req *workflowservice.CountSchedulesRequest) (*workflowservice.CountSchedulesResponse, error) {
	ns, err := h.scheduleNamespace(ctx, req.GetNamespace(), "\x00")
	if err != nil {
		return nil, err
	}
	custom, err := h.customSearchAttributes(ctx, ns.ID)
	if err != nil {
		return nil, err
	}
	n, err := h.opts.Schedules.Count(ctx, ns, req.GetQuery(), custom)
	if err != nil {
		return nil, scheduleErr(err)
	}
	return &workflowservice.CountSchedulesResponse{Count: n}, nil
}

// LocalWorkflows is the WorkflowService as the in-process scheduler calls
// it: the handler's own methods (same validation), with errors mapped to
// service errors as a remote caller would see them.
type LocalWorkflows struct{ h *Handler }

// NewLocalWorkflows returns h as the scheduler's schedule.Workflows.
func NewLocalWorkflows(h *Handler) LocalWorkflows { return LocalWorkflows{h: h} }

func (l LocalWorkflows) StartWorkflowExecution(ctx context.Context, req *workflowservice.StartWorkflowExecutionRequest) (*workflowservice.StartWorkflowExecutionResponse, error) {
	resp, err := l.h.StartWorkflowExecution(ctx, req)
	return resp, toServiceError(err)
}

func (l LocalWorkflows) DescribeWorkflowExecution(ctx context.Context, req *workflowservice.DescribeWorkflowExecutionRequest) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	resp, err := l.h.DescribeWorkflowExecution(ctx, req)
	return resp, toServiceError(err)
}

func (l LocalWorkflows) GetWorkflowExecutionHistory(ctx context.Context, req *workflowservice.GetWorkflowExecutionHistoryRequest) (*workflowservice.GetWorkflowExecutionHistoryResponse, error) {
	resp, err := l.h.GetWorkflowExecutionHistory(ctx, req)
	return resp, toServiceError(err)
}

func (l LocalWorkflows) TerminateWorkflowExecution(ctx context.Context, req *workflowservice.TerminateWorkflowExecutionRequest) (*workflowservice.TerminateWorkflowExecutionResponse, error) {
	resp, err := l.h.TerminateWorkflowExecution(ctx, req)
	return resp, toServiceError(err)
}

func (l LocalWorkflows) RequestCancelWorkflowExecution(ctx context.Context, req *workflowservice.RequestCancelWorkflowExecutionRequest) (*workflowservice.RequestCancelWorkflowExecutionResponse, error) {
	resp, err := l.h.RequestCancelWorkflowExecution(ctx, req)
	return resp, toServiceError(err)
}
