package history

import (
	"context"
	"errors"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/workflowservice/v1"

	sm "github.com/sundialhq/sundial/internal/history/statemachine"
	"github.com/sundialhq/sundial/internal/persistence"
)

// controlError maps state-machine errors of client calls on a run.
func controlError(err error) error {
	switch {
	case errors.Is(err, sm.ErrClosed):
		return ErrWorkflowCompleted
	case errors.Is(err, sm.ErrTooManyUpdates):
		return &FailedPreconditionError{Msg: "the workflow has received the maximum number of updates"}
	case errors.Is(err, sm.ErrSignalLimit):
		return &InvalidArgumentError{Msg: sm.ErrSignalLimit.Error()}
	}
	return err
}

// updateRun resolves the run (current one if runID is empty) and applies
// fn. Without a run ID, a run that closed meanwhile into a next run
// (continue-as-new, retry, cron) is followed, so nothing sent during the
// hand-over is lost.
func (e *Engine) updateRun(ctx context.Context, namespaceID string, exec *commonpb.WorkflowExecution, fn transition) error {
	base := persistence.WorkflowKey{NamespaceID: namespaceID, WorkflowID: exec.GetWorkflowId(), RunID: exec.GetRunId()}
	var last string
	for {
		key, err := e.resolveRun(ctx, base)
		if err != nil {
			return err
		}
		err = e.update(ctx, key, fn)
		if base.RunID != "" || !errors.Is(err, sm.ErrClosed) || key.RunID == last {
			return controlError(err)
		}
		last = key.RunID
	}
}

// SignalWorkflowExecution delivers a signal to a run (deduplicated by
// request ID).
func (e *Engine) SignalWorkflowExecution(ctx context.Context, namespaceID string, req *workflowservice.SignalWorkflowExecutionRequest) error {
	in := sm.SignalInput{Name: req.GetSignalName(), Input: req.GetInput(), Header: req.GetHeader(), Identity: req.GetIdentity(), RequestID: req.GetRequestId()}
	return e.updateRun(ctx, namespaceID, req.GetWorkflowExecution(), func(st *sm.State, now time.Time) (sm.Output, error) {
		return sm.Signal(st, in, e.limits(), now)
	})
}

// currentRun returns the workflow ID's current run, or nil if it never ran.
func (e *Engine) currentRun(ctx context.Context, namespaceID, workflowID string) (*persistence.CurrentRun, error) {
	cur, err := e.opts.Store.GetCurrentRun(ctx, e.shardOf(namespaceID, workflowID).id, namespaceID, workflowID)
	if errors.Is(err, persistence.ErrNotFound) {
		return nil, nil
	}
	return cur, err
}

// RequestCancelWorkflowExecution asks the workflow to cancel itself.
func (e *Engine) RequestCancelWorkflowExecution(ctx context.Context, namespaceID string, req *workflowservice.RequestCancelWorkflowExecutionRequest) error {
	exec, fn := inChain(req.GetWorkflowExecution(), req.GetFirstExecutionRunId(), func(st *sm.State, now time.Time) (sm.Output, error) {
		return sm.RequestCancel(st, req.GetRequestId(), req.GetReason(), req.GetIdentity(), now)
	})
	return e.updateRun(ctx, namespaceID, exec, fn)
}

// TerminateWorkflowExecution closes the run at once.
func (e *Engine) TerminateWorkflowExecution(ctx context.Context, namespaceID string, req *workflowservice.TerminateWorkflowExecutionRequest) error {
	exec, fn := inChain(req.GetWorkflowExecution(), req.GetFirstExecutionRunId(), func(st *sm.State, now time.Time) (sm.Output, error) {
		return sm.Terminate(st, req.GetReason(), req.GetDetails(), req.GetIdentity(), now)
	})
	return e.updateRun(ctx, namespaceID, exec, fn)
}

// inChain applies a cancel's or terminate's first_execution_run_id, as
// the reference server does: when it is set, the call is aimed at the
// workflow ID's current run whatever run ID was given, and applies only
// if that run's chain (continue-as-new, retries, cron) started at
// firstRunID; otherwise the workflow is not found. A closed current run
// stays "already completed", as it is checked first.
func inChain(exec *commonpb.WorkflowExecution, firstRunID string, fn transition) (*commonpb.WorkflowExecution, transition) {
	if firstRunID == "" {
		return exec, fn
	}
	current := &commonpb.WorkflowExecution{WorkflowId: exec.GetWorkflowId()}
	return current, func(st *sm.State, now time.Time) (sm.Output, error) {
		if st.Running() && st.Execution.FirstRunID != firstRunID {
			return sm.Output{}, ErrWorkflowNotFound
		}
		return fn(st, now)
	}
}

// ResetStickyTaskQueue forgets the run's sticky worker; a task waiting on
// the sticky queue moves to the normal queue.
func (e *Engine) ResetStickyTaskQueue(ctx context.Context, namespaceID string, exec *commonpb.WorkflowExecution) error {
	err := e.updateRun(ctx, namespaceID, exec, func(st *sm.State, now time.Time) (sm.Output, error) {
		return sm.ResetSticky(st, now)
	})
	if errors.Is(err, ErrWorkflowCompleted) {
		return nil
	}
	return err
}

// DeleteWorkflowExecution terminates the run if it is open, then deletes
// it (state and history).
func (e *Engine) DeleteWorkflowExecution(ctx context.Context, namespaceID string, exec *commonpb.WorkflowExecution) error {
	key, err := e.resolveRun(ctx, persistence.WorkflowKey{NamespaceID: namespaceID, WorkflowID: exec.GetWorkflowId(), RunID: exec.GetRunId()})
	if err != nil {
		return err
	}
	err = e.update(ctx, key, func(st *sm.State, now time.Time) (sm.Output, error) {
		return sm.Terminate(st, "Delete workflow execution", nil, "sundial", now)
	})
	if err != nil && !errors.Is(err, sm.ErrClosed) {
		return err
	}
	return e.deleteRun(ctx, key, true)
}

// deleteRun removes a closed run from the store and the cache. Unless
// force is set, a run that is still open (a stale retention timer of a
// reset or reused key) is kept.
func (e *Engine) deleteRun(ctx context.Context, key persistence.WorkflowKey, force bool) error {
	if err := e.begin(); err != nil {
		return err
	}
	defer e.ops.Done()
	sh := e.shardOf(key.NamespaceID, key.WorkflowID)
	ent := e.cache.lock(key)
	defer e.cache.unlock(key, ent)
	if err := e.load(ctx, sh, key, ent); errors.Is(err, ErrWorkflowNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	if ent.st.Running() && !force {
		return nil
	}
	_, err := sh.write(ctx, nil, func(rangeID int64, _ []persistence.OutboxTask) error {
		return e.opts.Store.DeleteWorkflow(ctx, sh.id, rangeID, key)
	})
	if err != nil {
		return err
	}
	ent.st = nil
	ent.tail.clear()
	if e.opts.Visibility != nil {
		if err := e.opts.Visibility.DeleteVisibility(ctx, key.NamespaceID, key.WorkflowID, key.RunID); err != nil {
			return err
		}
	}
	e.watch.notify(key)
	return nil
}
