package history

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/api/workflowservice/v1"

	sm "github.com/sundialhq/sundial/internal/history/statemachine"
	"github.com/sundialhq/sundial/internal/persistence"
)

// Cross-run tasks: a run acting on another run (maybe on another shard).
// Each is a transfer task of the acting run, idempotent: requests to the
// other run carry a request ID derived from (run ID, initiated event ID),
// and the outcome is recorded back only if still pending.

// resolveNamespace returns the ID of namespace name, or ownID when name is
// empty or the workflow's own.
func (e *Engine) resolveNamespace(ctx context.Context, name, ownID string) (string, error) {
	if name == "" || e.opts.NamespaceID == nil {
		return ownID, nil
	}
	return e.opts.NamespaceID(ctx, name)
}

func (e *Engine) namespaceName(ctx context.Context, id string) string {
	if e.opts.NamespaceName == nil {
		return ""
	}
	return e.opts.NamespaceName(ctx, id)
}

func crossRequestID(key persistence.WorkflowKey, initiatedID int64) string {
	return fmt.Sprintf("%s:%d", key.RunID, initiatedID)
}

// startChild starts the child a parent initiated and records the outcome.
func (e *Engine) startChild(ctx context.Context, key persistence.WorkflowKey, initiatedID int64) error {
	var a *historypb.StartChildWorkflowExecutionInitiatedEventAttributes
	var root, rootRun string
	var md *sdkpb.UserMetadata
	err := e.view(ctx, key, func(st *sm.State) {
		a, root, rootRun = sm.ChildInitiated(st, initiatedID), st.Execution.RootWorkflowID, st.Execution.RootRunID
		md = sm.ChildUserMetadata(st, initiatedID)
	})
	if a == nil || err != nil {
		return ignoreGone(err)
	}
	nsID, err := e.resolveNamespace(ctx, a.GetNamespace(), key.NamespaceID)
	if err != nil {
		return e.recordChildFailed(ctx, key, initiatedID, key.NamespaceID, enumspb.START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_NAMESPACE_NOT_FOUND)
	}
	req := &workflowservice.StartWorkflowExecutionRequest{
		WorkflowId: a.GetWorkflowId(), WorkflowType: a.GetWorkflowType(), TaskQueue: a.GetTaskQueue(), Input: a.GetInput(),
		WorkflowExecutionTimeout: a.GetWorkflowExecutionTimeout(), WorkflowRunTimeout: a.GetWorkflowRunTimeout(),
		WorkflowTaskTimeout: a.GetWorkflowTaskTimeout(), RequestId: crossRequestID(key, initiatedID),
		WorkflowIdReusePolicy: a.GetWorkflowIdReusePolicy(), RetryPolicy: a.GetRetryPolicy(), CronSchedule: a.GetCronSchedule(),
		Memo: a.GetMemo(), SearchAttributes: a.GetSearchAttributes(), Header: a.GetHeader(), Priority: a.GetPriority(),
		UserMetadata: md,
	}
	parent := &sm.ParentInfo{NamespaceID: key.NamespaceID, Namespace: e.namespaceName(ctx, key.NamespaceID),
		WorkflowID: key.WorkflowID, RunID: key.RunID, InitiatedEventID: initiatedID}
	resp, err := e.cross().StartChild(ctx, &ChildStartRequest{NamespaceID: nsID, Request: req, Parent: parent,
		RootWorkflowID: root, RootRunID: rootRun})
	var already *AlreadyStartedError
	if errors.As(err, &already) {
		return e.recordChildFailed(ctx, key, initiatedID, nsID, enumspb.START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_WORKFLOW_ALREADY_EXISTS)
	}
	if err != nil {
		return err
	}
	return ignoreGone(e.update(ctx, key, func(st *sm.State, now time.Time) (sm.Output, error) {
		return sm.ChildStarted(st, initiatedID, nsID, resp.GetRunId(), now)
	}))
}

func (e *Engine) recordChildFailed(ctx context.Context, key persistence.WorkflowKey, initiatedID int64, nsID string, cause enumspb.StartChildWorkflowExecutionFailedCause) error {
	return ignoreGone(e.update(ctx, key, func(st *sm.State, now time.Time) (sm.Output, error) {
		return sm.ChildStartFailed(st, initiatedID, nsID, cause, now)
	}))
}

// notifyParent tells a closed child's parent how the child ended.
func (e *Engine) notifyParent(ctx context.Context, key persistence.WorkflowKey) error {
	var parent *sm.ParentInfo
	var closeID int64
	var firstRun string
	err := e.view(ctx, key, func(st *sm.State) {
		parent, closeID, firstRun = st.Execution.Parent, st.Execution.CloseEventID, st.Execution.FirstRunID
	})
	if err != nil || parent == nil || closeID == 0 {
		return ignoreGone(err)
	}
	events, _, err := e.readPage(ctx, key, historyToken{Next: closeID, End: closeID + 1}, 1)
	if err != nil || len(events) == 0 {
		return err
	}
	pkey := persistence.WorkflowKey{NamespaceID: parent.NamespaceID, WorkflowID: parent.WorkflowID, RunID: parent.RunID}
	return ignoreGone(e.cross().RecordChildClosed(ctx, &ChildClosedRequest{Parent: pkey,
		InitiatedEventID: parent.InitiatedEventID, ChildNamespaceID: key.NamespaceID, ChildFirstRunID: firstRun,
		CloseEvent: events[0]}))
}

// applyParentClosePolicy terminates or cancels a closed parent's child, if
// the child workflow's current run still belongs to that parent.
func (e *Engine) applyParentClosePolicy(ctx context.Context, key persistence.WorkflowKey, t sm.Task) error {
	target := t.Target
	err := e.cross().ApplyParentClosePolicy(ctx, &ParentCloseRequest{Parent: key,
		Child:  persistence.WorkflowKey{NamespaceID: target.NamespaceID, WorkflowID: target.WorkflowID},
		Policy: enumspb.ParentClosePolicy(t.TimeoutType)})
	return ignoreGone(err)
}

// signalExternal delivers a SignalExternalWorkflowExecution and records
// the outcome.
func (e *Engine) signalExternal(ctx context.Context, key persistence.WorkflowKey, initiatedID int64) error {
	var a *historypb.SignalExternalWorkflowExecutionInitiatedEventAttributes
	err := e.view(ctx, key, func(st *sm.State) { a = sm.PendingSignal(st, initiatedID) })
	if a == nil || err != nil {
		return ignoreGone(err)
	}
	cause := enumspb.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_UNSPECIFIED
	nsID, err := e.resolveNamespace(ctx, a.GetNamespace(), key.NamespaceID)
	if err != nil {
		cause = enumspb.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_NAMESPACE_NOT_FOUND
	} else {
		in := sm.SignalInput{Name: a.GetSignalName(), Input: a.GetInput(), Header: a.GetHeader(), RequestID: crossRequestID(key, initiatedID)}
		err = e.cross().SignalExternal(ctx, &ExternalSignalRequest{Source: key, NamespaceID: nsID,
			Execution: a.GetWorkflowExecution(), ChildOnly: a.GetChildWorkflowOnly(), Signal: in})
		var invalid *InvalidArgumentError
		switch {
		case errors.Is(err, ErrWorkflowNotFound), errors.Is(err, ErrWorkflowCompleted):
			cause = enumspb.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND
		case errors.As(err, &invalid):
			cause = enumspb.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_SIGNAL_COUNT_LIMIT_EXCEEDED
		case err != nil:
			return err
		}
	}
	return ignoreGone(e.update(ctx, key, func(st *sm.State, now time.Time) (sm.Output, error) {
		return sm.ExternalSignalDone(st, initiatedID, nsID, cause, now)
	}))
}

// cancelExternal delivers a RequestCancelExternalWorkflowExecution and
// records the outcome.
func (e *Engine) cancelExternal(ctx context.Context, key persistence.WorkflowKey, initiatedID int64) error {
	var a *historypb.RequestCancelExternalWorkflowExecutionInitiatedEventAttributes
	err := e.view(ctx, key, func(st *sm.State) { a = sm.PendingCancel(st, initiatedID) })
	if a == nil || err != nil {
		return ignoreGone(err)
	}
	cause := enumspb.CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_UNSPECIFIED
	nsID, err := e.resolveNamespace(ctx, a.GetNamespace(), key.NamespaceID)
	if err != nil {
		cause = enumspb.CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_NAMESPACE_NOT_FOUND
	} else {
		err = e.cross().CancelExternal(ctx, &ExternalCancelRequest{Source: key, NamespaceID: nsID,
			Execution: a.GetWorkflowExecution(), ChildOnly: a.GetChildWorkflowOnly(),
			RequestID: crossRequestID(key, initiatedID), Reason: a.GetReason()})
		switch {
		case errors.Is(err, ErrWorkflowNotFound), errors.Is(err, ErrWorkflowCompleted):
			cause = enumspb.CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND
		case err != nil:
			return err
		}
	}
	return ignoreGone(e.update(ctx, key, func(st *sm.State, now time.Time) (sm.Output, error) {
		return sm.ExternalCancelDone(st, initiatedID, nsID, cause, now)
	}))
}

func childOf(st *sm.State, parent persistence.WorkflowKey) bool {
	p := st.Execution.Parent
	return p != nil && p.WorkflowID == parent.WorkflowID && p.RunID == parent.RunID
}

// ignoreGone treats a run that no longer exists as done.
func ignoreGone(err error) error {
	if errors.Is(err, ErrWorkflowNotFound) {
		return nil
	}
	return err
}
