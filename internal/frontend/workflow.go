package frontend

import (
	"context"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/sundialhq/sundial/internal/history/statemachine"
)

// Workflow task timeout defaults: 10 s when unset, never above 120 s.
const (
	defaultWorkflowTaskTimeout = 10 * time.Second
	maxWorkflowTaskTimeout     = 120 * time.Second
)

var (
	errInvalidExecutionTimeout = serviceerror.NewInvalidArgument("An invalid WorkflowExecutionTimeoutSeconds is set on request.")
	errInvalidRunTimeout       = serviceerror.NewInvalidArgument("An invalid WorkflowRunTimeoutSeconds is set on request.")
	errInvalidTaskTimeout      = serviceerror.NewInvalidArgument("An invalid WorkflowTaskTimeoutSeconds is set on request.")
	errInvalidStartDelay       = serviceerror.NewInvalidArgument("An invalid WorkflowStartDelaySeconds is set on request.")
	errCronWithStartDelay      = serviceerror.NewInvalidArgument("CronSchedule and WorkflowStartDelay may not be used together.")
	errInvalidCron             = serviceerror.NewInvalidArgument("invalid CronSchedule.")
)

// StartWorkflowExecution validates and normalizes the request, then hands it
// to history with the namespace resolved to its ID.
func (h *Handler) StartWorkflowExecution(ctx context.Context, req *workflowservice.StartWorkflowExecutionRequest) (*workflowservice.StartWorkflowExecutionResponse, error) {
	ns, err := h.namespaceByName(ctx, req.GetNamespace())
	if err != nil {
		return nil, err
	}
	if err := validateStartRequest(req, h.limits()); err != nil {
		return nil, err
	}
	return h.hist.StartWorkflowExecution(ctx, ns.ID, req)
}

// validateStartRequest checks every field of a start request that the
// frontend can judge alone, and fills defaults in place: a new request ID
// when empty, the task queue kind, the timeouts and the retry policy.
func validateStartRequest(req *workflowservice.StartWorkflowExecutionRequest, lim limits) error {
	if err := validateRequiredID(req.GetWorkflowId(), "WorkflowId", lim); err != nil {
		return err
	}
	if err := validateRequiredID(req.GetWorkflowType().GetName(), "WorkflowType", lim); err != nil {
		return err
	}
	if err := validateTaskQueue(req.GetTaskQueue(), lim); err != nil {
		return err
	}
	if err := validateOptionalID(req.GetRequestId(), "RequestId", lim); err != nil {
		return err
	}
	if err := validateOptionalID(req.GetIdentity(), "Identity", lim); err != nil {
		return err
	}
	if err := validateIDPolicies(req); err != nil {
		return err
	}
	if err := normalizeStartTimeouts(req); err != nil {
		return err
	}
	if err := validateRetryPolicy(req.GetRetryPolicy()); err != nil {
		return err
	}
	if req.GetCronSchedule() != "" {
		if req.GetWorkflowStartDelay().AsDuration() > 0 {
			return errCronWithStartDelay
		}
		if _, err := statemachine.ParseCron(req.GetCronSchedule()); err != nil {
			return errInvalidCron
		}
	}
	if err := validateStartSizes(req, lim); err != nil {
		return err
	}
	if req.GetRequestId() == "" {
		req.RequestId = uuid.NewString()
	}
	return nil
}

func validateIDPolicies(req *workflowservice.StartWorkflowExecutionRequest) error {
	if err := validateEnum(req.GetWorkflowIdReusePolicy(), "WorkflowIdReusePolicy"); err != nil {
		return err
	}
	if err := validateEnum(req.GetWorkflowIdConflictPolicy(), "WorkflowIdConflictPolicy"); err != nil {
		return err
	}
	if req.GetWorkflowIdReusePolicy() == enumspb.WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING &&
		req.GetWorkflowIdConflictPolicy() != enumspb.WORKFLOW_ID_CONFLICT_POLICY_UNSPECIFIED {
		return serviceerror.NewInvalidArgument("Invalid WorkflowIDReusePolicy: WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING cannot be used together with a WorkflowIDConflictPolicy")
	}
	return nil
}

// normalizeStartTimeouts rejects negative or malformed timeouts and fills
// the defaults: the run timeout is the execution timeout when unset (and
// never above it); the workflow task timeout is 10 s when unset, at most
// 120 s, and never above the run timeout. Zero execution/run timeouts mean
// unlimited.
func normalizeStartTimeouts(req *workflowservice.StartWorkflowExecutionRequest) error {
	exec, err := durationValue(req.GetWorkflowExecutionTimeout(), errInvalidExecutionTimeout)
	if err != nil {
		return err
	}
	run, err := durationValue(req.GetWorkflowRunTimeout(), errInvalidRunTimeout)
	if err != nil {
		return err
	}
	task, err := durationValue(req.GetWorkflowTaskTimeout(), errInvalidTaskTimeout)
	if err != nil {
		return err
	}
	delay, err := durationValue(req.GetWorkflowStartDelay(), errInvalidStartDelay)
	if err != nil {
		return err
	}
	if run == 0 || (exec > 0 && run > exec) {
		run = exec
	}
	if task == 0 {
		task = defaultWorkflowTaskTimeout
	}
	task = min(task, maxWorkflowTaskTimeout)
	if run > 0 {
		task = min(task, run)
	}
	req.WorkflowExecutionTimeout = durationpb.New(exec)
	req.WorkflowRunTimeout = durationpb.New(run)
	req.WorkflowTaskTimeout = durationpb.New(task)
	if req.WorkflowStartDelay != nil {
		req.WorkflowStartDelay = durationpb.New(delay)
	}
	return nil
}

func validateStartSizes(req *workflowservice.StartWorkflowExecutionRequest, lim limits) error {
	if err := validateBlob(req.GetInput(), lim); err != nil {
		return err
	}
	if err := validateBlob(req.GetHeader(), lim); err != nil {
		return err
	}
	if err := validateBlob(req.GetLastCompletionResult(), lim); err != nil {
		return err
	}
	if err := validateBlob(req.GetContinuedFailure(), lim); err != nil {
		return err
	}
	return validateMemo(req.GetMemo(), lim)
}

// GetWorkflowExecutionHistory validates the execution and page size and
// asks history; long polls (wait_new_event) are history's to serve.
func (h *Handler) GetWorkflowExecutionHistory(ctx context.Context, req *workflowservice.GetWorkflowExecutionHistoryRequest) (*workflowservice.GetWorkflowExecutionHistoryResponse, error) {
	ns, err := h.namespaceByName(ctx, req.GetNamespace())
	if err != nil {
		return nil, err
	}
	lim := h.limits()
	if err := validateExecution(req.GetExecution().GetWorkflowId(), req.GetExecution().GetRunId(), req.GetExecution() != nil, lim); err != nil {
		return nil, err
	}
	if err := validateEnum(req.GetHistoryEventFilterType(), "HistoryEventFilterType"); err != nil {
		return nil, err
	}
	req.MaximumPageSize = clampPageSize(req.GetMaximumPageSize(), lim)
	return h.hist.GetWorkflowExecutionHistory(ctx, ns.ID, req)
}

// GetWorkflowExecutionHistoryReverse is GetWorkflowExecutionHistory from the
// newest event backwards, without long polling.
func (h *Handler) GetWorkflowExecutionHistoryReverse(ctx context.Context, req *workflowservice.GetWorkflowExecutionHistoryReverseRequest) (*workflowservice.GetWorkflowExecutionHistoryReverseResponse, error) {
	ns, err := h.namespaceByName(ctx, req.GetNamespace())
	if err != nil {
		return nil, err
	}
	lim := h.limits()
	if err := validateExecution(req.GetExecution().GetWorkflowId(), req.GetExecution().GetRunId(), req.GetExecution() != nil, lim); err != nil {
		return nil, err
	}
	req.MaximumPageSize = clampPageSize(req.GetMaximumPageSize(), lim)
	return h.hist.GetWorkflowExecutionHistoryReverse(ctx, ns.ID, req)
}

func validateExecution(workflowID, runID string, present bool, lim limits) error {
	if !present {
		return errExecutionNotSet
	}
	if err := validateRequiredID(workflowID, "WorkflowId", lim); err != nil {
		return err
	}
	return validateRunID(runID)
}

// clampPageSize maps a non-positive or too-large page size to the maximum.
func clampPageSize(size int32, lim limits) int32 {
	if size <= 0 || int(size) > lim.historyMaxPageSize {
		return int32(lim.historyMaxPageSize)
	}
	return size
}
