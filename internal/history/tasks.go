package history

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/sundialhq/sundial/internal/history/queues"
	sm "github.com/sundialhq/sundial/internal/history/statemachine"
	"github.com/sundialhq/sundial/internal/matching"
	"github.com/sundialhq/sundial/internal/persistence"
)

func decodeOutbox(row persistence.OutboxTask) (outboxTask, persistence.WorkflowKey, error) {
	var ot outboxTask
	if err := json.Unmarshal(row.Data, &ot); err != nil {
		return ot, persistence.WorkflowKey{}, fmt.Errorf("decode outbox task %d: %w", row.TaskID, err)
	}
	ot.Task.Time = row.VisibilityTime
	return ot, persistence.WorkflowKey{NamespaceID: ot.NamespaceID, WorkflowID: ot.WorkflowID, RunID: ot.RunID}, nil
}

// settled maps an executor's error to the queue's outcome: a task whose
// run or target no longer exists or is already closed can never succeed,
// so it is done (as on the reference server), not retried.
func settled(err error) error {
	if errors.Is(err, ErrWorkflowNotFound) || errors.Is(err, ErrWorkflowCompleted) || errors.Is(err, sm.ErrClosed) {
		return nil
	}
	return err
}

// executeTransfer hands a workflow or activity task to matching if it
// still waits for a worker.
func (e *Engine) executeTransfer(ctx context.Context, ot outboxTask, key persistence.WorkflowKey) error {
	t := ot.Task
	switch t.Type {
	case sm.TaskStartChild:
		return e.startChild(ctx, key, t.EventID)
	case sm.TaskNotifyParent:
		return e.notifyParent(ctx, key)
	case sm.TaskParentClosePolicy:
		return e.applyParentClosePolicy(ctx, key, t)
	case sm.TaskSignalExternal:
		return e.signalExternal(ctx, key, t.EventID)
	case sm.TaskCancelExternal:
		return e.cancelExternal(ctx, key, t.EventID)
	case sm.TaskVisibility:
		return e.writeVisibility(ctx, key)
	}
	pending := false
	err := e.view(ctx, key, func(st *sm.State) {
		switch t.Type {
		case sm.TaskDispatchWorkflowTask:
			pending = sm.CanDispatchWorkflowTask(st, t.EventID) && st.WorkflowTask.Attempt == t.Attempt
		case sm.TaskDispatchActivity:
			pending = sm.CanDispatchActivity(st, t.EventID, t.TaskQueue) && st.Activities[t.EventID].Attempt == t.Attempt
		}
	})
	if errors.Is(err, ErrWorkflowNotFound) || (err == nil && !pending) {
		return nil
	}
	if err != nil {
		return err
	}
	req := &matching.AddTaskRequest{
		NamespaceID: key.NamespaceID, TaskQueue: t.TaskQueue, Sticky: t.Sticky,
		WorkflowID: key.WorkflowID, RunID: key.RunID, ScheduledEventID: t.EventID, ScheduleToStart: t.Timeout,
	}
	if t.Type != sm.TaskDispatchWorkflowTask {
		return e.opts.Matching.AddActivityTask(ctx, req)
	}
	err = e.opts.Matching.AddWorkflowTask(ctx, req)
	if t.Sticky && errors.Is(err, matching.ErrStickyWorkerUnavailable) {
		// The sticky worker is gone: fall back to the normal queue now.
		err = e.update(ctx, key, func(st *sm.State, now time.Time) (sm.Output, error) { return sm.ResetSticky(st, now) })
		if errors.Is(err, ErrWorkflowNotFound) {
			return nil
		}
	}
	return err
}

// executeTimer applies a due timer task to its run.
func (e *Engine) executeTimer(ctx context.Context, ot outboxTask, key persistence.WorkflowKey) error {
	t := ot.Task
	var fn transition
	switch t.Type {
	case sm.TaskUserTimer:
		fn = func(st *sm.State, now time.Time) (sm.Output, error) {
			return sm.FireTimer(st, t.TimerID, t.EventID, now)
		}
	case sm.TaskActivityTimeout:
		fn = func(st *sm.State, now time.Time) (sm.Output, error) {
			return sm.TimeoutActivity(st, t.EventID, t.Attempt, enumspb.TimeoutType(t.TimeoutType), now)
		}
	case sm.TaskActivityRetry:
		fn = func(st *sm.State, now time.Time) (sm.Output, error) {
			return sm.ActivityRetryDue(st, t.EventID, t.Attempt, t.Stamp, now)
		}
	case sm.TaskWorkflowTaskTimeout:
		fn = func(st *sm.State, now time.Time) (sm.Output, error) {
			return sm.TimeoutWorkflowTask(st, t.EventID, t.Attempt, now)
		}
	case sm.TaskWorkflowRunTimeout:
		next := e.opts.NewRunID()
		fn = func(st *sm.State, now time.Time) (sm.Output, error) { return sm.TimeoutRun(st, next, now) }
	case sm.TaskDeleteRun:
		return e.deleteRun(ctx, key, false)
	case sm.TaskWorkflowBackoff:
		fn = func(st *sm.State, now time.Time) (sm.Output, error) { return sm.FireWorkflowBackoff(st, now) }
	case sm.TaskStickyTimeout:
		fn = func(st *sm.State, now time.Time) (sm.Output, error) {
			return sm.TimeoutStickyWorkflowTask(st, t.EventID, t.Attempt, now)
		}
	case sm.TaskWorkflowTaskBackoff:
		fn = func(st *sm.State, now time.Time) (sm.Output, error) {
			return sm.DispatchAfterBackoff(st, t.EventID, t.Attempt, now)
		}
	default:
		return queues.Permanent(fmt.Errorf("timer task of unknown type %d", t.Type))
	}
	err := e.update(ctx, key, fn)
	if errors.Is(err, ErrWorkflowNotFound) {
		return nil
	}
	return err
}
