package frontend

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	activitypb "go.temporal.io/api/activity/v1"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sundialhq/sundial/internal/history"
	sm "github.com/sundialhq/sundial/internal/history/statemachine"
)

// Messages as the reference server words them where it has one.
var (
	errActivityIDOrTypeNotSet = serviceerror.NewInvalidArgument("Either Activity.Id or Activity.Type should be set on request.")
	errRestoreOriginalMixed   = serviceerror.NewInvalidArgument("restore_original flag cannot be combined with other options.")
	errActivityOptionsNotSet  = serviceerror.NewInvalidArgument("ActivityOptions are not set on request.")
	errUpdateMaskNotSet       = serviceerror.NewInvalidArgument("UpdateMask must be non-nil")
	errWorkflowOptionsNotSet  = serviceerror.NewInvalidArgument("WorkflowExecutionOptions is not set on request.")
	errInvalidJitter          = serviceerror.NewInvalidArgument("Jitter cannot be negative.")
	errActivityStartDelay     = serviceerror.NewInvalidArgument("ActivityOptions.start_delay cannot be updated: Sundial has no activity start delay.")
	// Sundial has no worker versioning: a versioning override is refused
	// as the reference refuses it on a namespace where versioning in
	// workflow APIs is disabled.
	errVersioningOverrideNotAllowed = serviceerror.NewPermissionDenied("Worker versioning in workflow progress APIs is disabled on this namespace.", "")
	errTimeSkippingNotImplemented   = serviceerror.NewUnimplemented("Time skipping is not implemented by Sundial yet (WorkflowExecutionOptions.time_skipping_config)")
)

// activityTarget validates what every activity operator call names: the
// namespace, the execution and the identity.
func (h *Handler) activityTarget(ctx context.Context, nsName string, exec *commonpb.WorkflowExecution, identity string) (string, error) {
	if nsName == "" {
		return "", errNamespaceNotSet
	}
	ns, _, err := h.execution(ctx, nsName, exec)
	if err != nil {
		return "", err
	}
	if err := validateOptionalID(identity, "Identity", h.limits()); err != nil {
		return "", err
	}
	return ns.ID, nil
}

// selector checks an ID-or-type-or-all choice.
func (h *Handler) selector(id, typ string, all bool) (sm.ActivitySelector, error) {
	lim := h.limits()
	switch {
	case id == "" && typ == "" && !all:
		return sm.ActivitySelector{}, errActivityIDOrTypeNotSet
	case len(id) > lim.maxIDLength:
		return sm.ActivitySelector{}, serviceerror.NewInvalidArgument("ActivityId length exceeds limit.")
	case len(typ) > lim.maxIDLength:
		return sm.ActivitySelector{}, serviceerror.NewInvalidArgument("ActivityType length exceeds limit.")
	}
	return sm.ActivitySelector{ID: id, Type: typ, All: all}, nil
}

// jitterDelay draws the delay of an unpause or reset with jitter: uniform
// in [0, jitter).
func jitterDelay(jitter *durationpb.Duration) (time.Duration, error) {
	d := jitter.AsDuration()
	if jitter != nil && (jitter.CheckValid() != nil || d < 0) {
		return 0, errInvalidJitter
	}
	if d <= 0 {
		return 0, nil
	}
	return time.Duration(rand.Int64N(int64(d))), nil
}

// PauseActivity pauses a run's activity by ID or every one of a type.
func (h *Handler) PauseActivity(ctx context.Context, req *workflowservice.PauseActivityRequest) (*workflowservice.PauseActivityResponse, error) {
	nsID, err := h.activityTarget(ctx, req.GetNamespace(), req.GetExecution(), req.GetIdentity())
	if err != nil {
		return nil, err
	}
	sel, err := h.selector(req.GetId(), req.GetType(), false)
	if err != nil {
		return nil, err
	}
	if len(req.GetReason()) > h.limits().blobSizeError {
		return nil, errReasonTooLong
	}
	if err := validateOptionalID(req.GetRequestId(), "RequestId", h.limits()); err != nil {
		return nil, err
	}
	in := history.PauseActivityInput{Selector: sel, Identity: req.GetIdentity(), Reason: req.GetReason()}
	if err := h.hist.PauseActivity(ctx, nsID, req.GetExecution(), in); err != nil {
		return nil, err
	}
	return &workflowservice.PauseActivityResponse{}, nil
}

// UnpauseActivity unpauses a run's paused activities by ID, type or all.
func (h *Handler) UnpauseActivity(ctx context.Context, req *workflowservice.UnpauseActivityRequest) (*workflowservice.UnpauseActivityResponse, error) {
	nsID, err := h.activityTarget(ctx, req.GetNamespace(), req.GetExecution(), req.GetIdentity())
	if err != nil {
		return nil, err
	}
	sel, err := h.selector(req.GetId(), req.GetType(), req.GetUnpauseAll())
	if err != nil {
		return nil, err
	}
	delay, err := jitterDelay(req.GetJitter())
	if err != nil {
		return nil, err
	}
	in := history.UnpauseActivityInput{Selector: sel, ResetAttempts: req.GetResetAttempts(), ResetHeartbeat: req.GetResetHeartbeat(), Delay: delay}
	if err := h.hist.UnpauseActivity(ctx, nsID, req.GetExecution(), in); err != nil {
		return nil, err
	}
	return &workflowservice.UnpauseActivityResponse{}, nil
}

// ResetActivity starts a run's activities over by ID, type or all.
func (h *Handler) ResetActivity(ctx context.Context, req *workflowservice.ResetActivityRequest) (*workflowservice.ResetActivityResponse, error) {
	nsID, err := h.activityTarget(ctx, req.GetNamespace(), req.GetExecution(), req.GetIdentity())
	if err != nil {
		return nil, err
	}
	sel, err := h.selector(req.GetId(), req.GetType(), req.GetMatchAll())
	if err != nil {
		return nil, err
	}
	delay, err := jitterDelay(req.GetJitter())
	if err != nil {
		return nil, err
	}
	in := history.ResetActivityInput{Selector: sel, ResetHeartbeat: req.GetResetHeartbeat(), KeepPaused: req.GetKeepPaused(),
		RestoreOriginal: req.GetRestoreOriginalOptions(), Delay: delay}
	if err := h.hist.ResetActivity(ctx, nsID, req.GetExecution(), in); err != nil {
		return nil, err
	}
	return &workflowservice.ResetActivityResponse{}, nil
}

// UpdateActivityOptions changes a run's activities' options (the fields an
// update mask names) or restores the ones they were scheduled with.
func (h *Handler) UpdateActivityOptions(ctx context.Context, req *workflowservice.UpdateActivityOptionsRequest) (*workflowservice.UpdateActivityOptionsResponse, error) {
	nsID, err := h.activityTarget(ctx, req.GetNamespace(), req.GetExecution(), req.GetIdentity())
	if err != nil {
		return nil, err
	}
	sel, err := h.selector(req.GetId(), req.GetType(), req.GetMatchAll())
	if err != nil {
		return nil, err
	}
	in, err := activityOptionsInput(req.GetActivityOptions(), req.GetUpdateMask(), req.GetRestoreOriginal(), h.limits())
	if err != nil {
		return nil, err
	}
	in.Selector = sel
	opts, err := h.hist.UpdateActivityOptions(ctx, nsID, req.GetExecution(), in)
	if err != nil {
		return nil, err
	}
	return &workflowservice.UpdateActivityOptionsResponse{ActivityOptions: opts}, nil
}

// activityOptionsInput validates an options update (shared with the
// batch operation).
func activityOptionsInput(opts *activitypb.ActivityOptions, mask *fieldmaskpb.FieldMask, restore bool, lim limits) (history.UpdateActivityOptionsInput, error) {
	if restore {
		if len(mask.GetPaths()) > 0 {
			return history.UpdateActivityOptionsInput{}, errRestoreOriginalMixed
		}
		return history.UpdateActivityOptionsInput{RestoreOriginal: true}, nil
	}
	if opts == nil {
		return history.UpdateActivityOptionsInput{}, errActivityOptionsNotSet
	}
	if mask == nil {
		return history.UpdateActivityOptionsInput{}, errUpdateMaskNotSet
	}
	for _, p := range mask.GetPaths() {
		if p == "start_delay" {
			return history.UpdateActivityOptionsInput{}, errActivityStartDelay
		}
		if !sm.ValidActivityOptionPath(p) {
			return history.UpdateActivityOptionsInput{}, serviceerror.NewInvalidArgument(fmt.Sprintf("error parsing UpdateMask: path %s not supported", p))
		}
	}
	if tq := opts.GetTaskQueue(); tq != nil && tq.GetName() != "" {
		if err := validateTaskQueue(tq, lim); err != nil {
			return history.UpdateActivityOptionsInput{}, err
		}
	}
	if err := validateRetryPolicy(opts.GetRetryPolicy()); err != nil {
		return history.UpdateActivityOptionsInput{}, err
	}
	if err := validatePriority(opts.GetPriority()); err != nil {
		return history.UpdateActivityOptionsInput{}, err
	}
	return history.UpdateActivityOptionsInput{Options: opts, Paths: mask.GetPaths()}, nil
}

// validatePriority refuses negative priority keys and fairness weights.
func validatePriority(p *commonpb.Priority) error {
	switch {
	case p.GetPriorityKey() < 0:
		return serviceerror.NewInvalidArgument("PriorityKey can't be negative.")
	case p.GetFairnessWeight() < 0:
		return serviceerror.NewInvalidArgument("FairnessWeight can't be negative.")
	}
	return nil
}

// UpdateWorkflowExecutionOptions updates a run's options: its priority
// (Sundial's only one); a versioning override or time skipping is refused.
func (h *Handler) UpdateWorkflowExecutionOptions(ctx context.Context, req *workflowservice.UpdateWorkflowExecutionOptionsRequest) (*workflowservice.UpdateWorkflowExecutionOptionsResponse, error) {
	nsID, err := h.activityTarget(ctx, req.GetNamespace(), req.GetWorkflowExecution(), req.GetIdentity())
	if err != nil {
		return nil, err
	}
	paths, err := workflowOptionPaths(req.GetWorkflowExecutionOptions(), req.GetUpdateMask())
	if err != nil {
		return nil, err
	}
	p, err := h.hist.UpdateWorkflowPriority(ctx, nsID, req.GetWorkflowExecution(), req.GetWorkflowExecutionOptions().GetPriority(), paths, req.GetIdentity())
	if err != nil {
		return nil, err
	}
	return &workflowservice.UpdateWorkflowExecutionOptionsResponse{
		WorkflowExecutionOptions: &workflowpb.WorkflowExecutionOptions{Priority: p},
		UpdateTime:               timestamppb.Now(),
	}, nil
}

// workflowOptionPaths validates a workflow options update and returns its
// priority paths.
func workflowOptionPaths(opts *workflowpb.WorkflowExecutionOptions, mask *fieldmaskpb.FieldMask) ([]string, error) {
	if opts == nil {
		return nil, errWorkflowOptionsNotSet
	}
	if mask == nil {
		return nil, errUpdateMaskNotSet
	}
	var paths []string
	for _, p := range mask.GetPaths() {
		switch {
		case p == "versioning_override" || strings.HasPrefix(p, "versioning_override."):
			// Unsetting the override of a run that cannot have one is a
			// no-op; setting one is refused.
			if opts.GetVersioningOverride() != nil {
				return nil, errVersioningOverrideNotAllowed
			}
		case p == "time_skipping_config" || strings.HasPrefix(p, "time_skipping_config."):
			return nil, errTimeSkippingNotImplemented
		case p == "priority" || p == "priority.priority_key" || p == "priority.fairness_key" || p == "priority.fairness_weight":
			paths = append(paths, p)
		default:
			return nil, serviceerror.NewInvalidArgument(fmt.Sprintf("error parsing UpdateMask: path %s not supported", p))
		}
	}
	if err := validatePriority(opts.GetPriority()); err != nil {
		return nil, err
	}
	return paths, nil
}
