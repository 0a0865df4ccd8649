package history

import (
	"context"
	"errors"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	sm "github.com/sundialhq/sundial/internal/history/statemachine"
	"github.com/sundialhq/sundial/internal/persistence"
)

// SignalWithStartWorkflowExecution signals the workflow's open run, or
// starts a new run with the signal as its first event, deciding as the
// reference server does:
//
//   - an open run is signalled (conflict policy USE_EXISTING, the default;
//     the signal also ends the run's start delay), unless the conflict
//     policy is TERMINATE_EXISTING (or the deprecated reuse policy
//     TERMINATE_IF_RUNNING): then it is terminated and a new run starts,
//     whatever the reuse policy;
//   - with no open run, the reuse policy decides against the last closed
//     run (ALLOW_DUPLICATE, the default; ALLOW_DUPLICATE_FAILED_ONLY;
//     REJECT_DUPLICATE: WorkflowExecutionAlreadyStarted).
//
// The frontend has rejected the conflict policy FAIL.
func (e *Engine) SignalWithStartWorkflowExecution(ctx context.Context, namespaceID string, start *workflowservice.StartWorkflowExecutionRequest, sig SignalInput) (*workflowservice.SignalWithStartWorkflowExecutionResponse, error) {
	sa, err := e.canonicalSearchAttributes(ctx, namespaceID, start.GetSearchAttributes())
	if err != nil {
		return nil, err
	}
	start.SearchAttributes = sa
	start.WorkflowIdReusePolicy, start.WorkflowIdConflictPolicy = signalWithStartPolicies(start)
	sig.EndsStartDelay = true
	for attempt := 0; attempt < 3; attempt++ {
		cur, err := e.currentRun(ctx, namespaceID, start.GetWorkflowId())
		if err != nil {
			return nil, err
		}
		resp, retry, err := e.signalWithStartOn(ctx, cur, start, sig)
		if retry {
			continue
		}
		if resp != nil || err != nil {
			return resp, err
		}
		created, err := e.createRun(e.shardOf(namespaceID, start.GetWorkflowId()), sm.StartInput{NamespaceID: namespaceID, Request: start}, cur, &sig)
		var conflict *persistence.CurrentRunConflictError
		if errors.As(err, &conflict) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return &workflowservice.SignalWithStartWorkflowExecutionResponse{RunId: created.RunId, Started: true}, nil
	}
	return nil, ErrBusy
}

// signalWithStartPolicies returns the reuse and conflict policies a
// signal-with-start applies: unset ones take their defaults
// (ALLOW_DUPLICATE, USE_EXISTING) and TERMINATE_IF_RUNNING is
// ALLOW_DUPLICATE with TERMINATE_EXISTING.
func signalWithStartPolicies(req *workflowservice.StartWorkflowExecutionRequest) (enumspb.WorkflowIdReusePolicy, enumspb.WorkflowIdConflictPolicy) {
	reuse, conflict := req.GetWorkflowIdReusePolicy(), req.GetWorkflowIdConflictPolicy()
	if reuse == enumspb.WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING {
		reuse, conflict = enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE, enumspb.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING
	}
	if reuse == enumspb.WORKFLOW_ID_REUSE_POLICY_UNSPECIFIED {
		reuse = enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
	}
	if conflict == enumspb.WORKFLOW_ID_CONFLICT_POLICY_UNSPECIFIED {
		conflict = enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING
	}
	return reuse, conflict
}

// signalWithStartOn decides on the workflow ID's current run cur (nil:
// none): signal it (a response), refuse (an error), or go on and create a
// run replacing cur (nil, false, nil). retry means cur changed meanwhile:
// read it again and decide again.
func (e *Engine) signalWithStartOn(ctx context.Context, cur *persistence.CurrentRun, start *workflowservice.StartWorkflowExecutionRequest, sig SignalInput) (*workflowservice.SignalWithStartWorkflowExecutionResponse, bool, error) {
	switch {
	case cur == nil:
		return nil, false, nil
	case cur.State == persistence.RunStateRunning:
		key := persistence.WorkflowKey{NamespaceID: cur.NamespaceID, WorkflowID: cur.WorkflowID, RunID: cur.RunID}
		if start.GetWorkflowIdConflictPolicy() == enumspb.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING {
			if cur.CreateRequestID == start.GetRequestId() {
				// A retry of the call that created this run: never replace it.
				return &workflowservice.SignalWithStartWorkflowExecutionResponse{RunId: cur.RunID, Started: true}, false, nil
			}
			err := e.update(ctx, key, func(st *sm.State, now time.Time) (sm.Output, error) {
				return sm.Terminate(st, "terminated by a new start of the same workflow ID", nil, start.GetIdentity(), now)
			})
			if errors.Is(err, sm.ErrClosed) {
				return nil, true, nil // closed meanwhile: the reuse policy decides
			}
			return nil, false, err // terminated: replace it whatever the reuse policy
		}
		err := e.update(ctx, key, func(st *sm.State, now time.Time) (sm.Output, error) { return sm.Signal(st, sig, e.limits(), now) })
		if errors.Is(err, sm.ErrClosed) {
			return nil, true, nil
		}
		if err != nil {
			return nil, false, controlError(err)
		}
		return &workflowservice.SignalWithStartWorkflowExecutionResponse{RunId: cur.RunID, Started: false}, false, nil
	}
	resp, err := e.startConflict(ctx, cur, start, "") // closed: request-ID dedup, then the reuse policy
	if err != nil {
		return nil, false, err
	}
	if resp != nil {
		return &workflowservice.SignalWithStartWorkflowExecutionResponse{RunId: resp.RunId, Started: false}, false, nil
	}
	return nil, false, nil
}
