package history

import (
	"context"
	"errors"
	"time"

	activitypb "go.temporal.io/api/activity/v1"
	commonpb "go.temporal.io/api/common/v1"

	sm "github.com/sundialhq/sundial/internal/history/statemachine"
)

// Inputs of the operator calls on a run's activities.
type (
	PauseActivityInput         = sm.PauseInput
	UnpauseActivityInput       = sm.UnpauseInput
	ResetActivityInput         = sm.ActivityResetInput
	UpdateActivityOptionsInput = sm.ActivityOptionsInput
	ActivitySelector           = sm.ActivitySelector
	HeartbeatAnswer            = sm.HeartbeatAnswer
)

// activityOpError maps the errors of operator calls on activities.
func activityOpError(err error) error {
	var opts *sm.OptionsError
	switch {
	case errors.Is(err, sm.ErrActivityNotFound):
		return ErrActivityNotFound
	case errors.As(err, &opts):
		return &InvalidArgumentError{Msg: opts.Msg}
	}
	return err
}

// PauseActivity pauses the run's selected activities.
func (e *Engine) PauseActivity(ctx context.Context, namespaceID string, exec *commonpb.WorkflowExecution, in PauseActivityInput) error {
	return activityOpError(e.updateRun(ctx, namespaceID, exec, func(st *sm.State, now time.Time) (sm.Output, error) {
		return sm.PauseActivity(st, in, now)
	}))
}

// UnpauseActivity unpauses the run's selected activities.
func (e *Engine) UnpauseActivity(ctx context.Context, namespaceID string, exec *commonpb.WorkflowExecution, in UnpauseActivityInput) error {
	return activityOpError(e.updateRun(ctx, namespaceID, exec, func(st *sm.State, now time.Time) (sm.Output, error) {
		return sm.UnpauseActivity(st, in, now)
	}))
}

// ResetActivity resets the run's selected activities.
func (e *Engine) ResetActivity(ctx context.Context, namespaceID string, exec *commonpb.WorkflowExecution, in ResetActivityInput) error {
	return activityOpError(e.updateRun(ctx, namespaceID, exec, func(st *sm.State, now time.Time) (sm.Output, error) {
		return sm.ResetActivity(st, in, now)
	}))
}

// UpdateActivityOptions changes the options of the run's selected
// activities and returns the resulting options (of the last one).
func (e *Engine) UpdateActivityOptions(ctx context.Context, namespaceID string, exec *commonpb.WorkflowExecution, in UpdateActivityOptionsInput) (*activitypb.ActivityOptions, error) {
	var opts *activitypb.ActivityOptions
	err := e.updateRun(ctx, namespaceID, exec, func(st *sm.State, now time.Time) (sm.Output, error) {
		out, o, err := sm.UpdateActivityOptions(st, in, now)
		opts = o
		return out, err
	})
	return opts, activityOpError(err)
}

// UpdateWorkflowPriority applies the priority paths of an
// UpdateWorkflowExecutionOptions mask to the run and returns its priority
// after the update.
func (e *Engine) UpdateWorkflowPriority(ctx context.Context, namespaceID string, exec *commonpb.WorkflowExecution, upd *commonpb.Priority, paths []string, identity string) (*commonpb.Priority, error) {
	var result *commonpb.Priority
	err := e.updateRun(ctx, namespaceID, exec, func(st *sm.State, now time.Time) (sm.Output, error) {
		p, err := sm.MergePriorityMask(sm.WorkflowPriority(st), upd, paths)
		if err != nil {
			return sm.Output{}, err
		}
		result = p
		return sm.UpdateWorkflowPriority(st, p, identity, now)
	})
	return result, activityOpError(err)
}
