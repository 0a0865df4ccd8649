package history

import (
	"context"
	"errors"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	updatepb "go.temporal.io/api/update/v1"
	"go.temporal.io/api/workflowservice/v1"

	sm "github.com/sundialhq/sundial/internal/history/statemachine"
	"github.com/sundialhq/sundial/internal/persistence"
)

var (
	// ErrUpdateNotFound: no update with that ID on the run (NotFound).
	ErrUpdateNotFound = errors.New("update not found")
	// ErrTooManyInFlightUpdates: ResourceExhausted (CONCURRENT_LIMIT).
	ErrTooManyInFlightUpdates = sm.ErrTooManyInFlightUpdates
	// ErrTooManyUpdates: FailedPrecondition.
	ErrTooManyUpdates = sm.ErrTooManyUpdates
	// ErrUpdateAbortedByClose: the run closed before the worker accepted
	// the update (NotFound, as the reference).
	ErrUpdateAbortedByClose = errors.New("workflow update was aborted by closing workflow")
)

// UpdateWorkflowExecution admits an update (deduplicated by update ID) and
// waits for the requested stage, up to the long-poll interval; the
// response's stage tells the caller how far it got.
func (e *Engine) UpdateWorkflowExecution(ctx context.Context, namespaceID string, req *workflowservice.UpdateWorkflowExecutionRequest) (*workflowservice.UpdateWorkflowExecutionResponse, error) {
	key, err := e.resolveRun(ctx, persistence.WorkflowKey{NamespaceID: namespaceID,
		WorkflowID: req.GetWorkflowExecution().GetWorkflowId(), RunID: req.GetWorkflowExecution().GetRunId()})
	if err != nil {
		return nil, err
	}
	err = e.update(ctx, key, func(st *sm.State, now time.Time) (sm.Output, error) {
		return sm.AdmitUpdate(st, req.GetRequest(), e.limits(), now)
	})
	if err != nil {
		return nil, controlError(err)
	}
	id := req.GetRequest().GetMeta().GetUpdateId()
	stage, outcome, err := e.waitUpdate(ctx, key, id, req.GetWaitPolicy().GetLifecycleStage())
	if err != nil {
		return nil, err
	}
	return &workflowservice.UpdateWorkflowExecutionResponse{UpdateRef: updateRef(key, id), Outcome: outcome, Stage: stage}, nil
}

// PollWorkflowExecutionUpdate waits for an admitted update to reach a stage.
func (e *Engine) PollWorkflowExecutionUpdate(ctx context.Context, namespaceID string, req *workflowservice.PollWorkflowExecutionUpdateRequest) (*workflowservice.PollWorkflowExecutionUpdateResponse, error) {
	ref := req.GetUpdateRef()
	key, err := e.resolveRun(ctx, persistence.WorkflowKey{NamespaceID: namespaceID,
		WorkflowID: ref.GetWorkflowExecution().GetWorkflowId(), RunID: ref.GetWorkflowExecution().GetRunId()})
	if err != nil {
		return nil, err
	}
	stage, outcome, err := e.waitUpdate(ctx, key, ref.GetUpdateId(), req.GetWaitPolicy().GetLifecycleStage())
	if err != nil {
		return nil, err
	}
	return &workflowservice.PollWorkflowExecutionUpdateResponse{UpdateRef: updateRef(key, ref.GetUpdateId()), Outcome: outcome, Stage: stage}, nil
}

func updateRef(key persistence.WorkflowKey, id string) *updatepb.UpdateRef {
	return &updatepb.UpdateRef{WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: key.WorkflowID, RunId: key.RunID}, UpdateId: id}
}

// waitUpdate long-polls until update id reaches want (or completes), the
// run closes, or the long-poll interval passes; it returns the stage
// reached.
func (e *Engine) waitUpdate(ctx context.Context, key persistence.WorkflowKey, id string, want enumspb.UpdateWorkflowExecutionLifecycleStage) (enumspb.UpdateWorkflowExecutionLifecycleStage, *updatepb.Outcome, error) {
	deadline := time.Now().Add(e.opts.Dynamic.Duration("history.longPollExpirationInterval", 20*time.Second))
	for {
		ch := e.watch.wait(key)
		var stage sm.UpdateStage
		var outcome *updatepb.Outcome
		var found, running bool
		err := e.view(ctx, key, func(st *sm.State) {
			stage, outcome, found = sm.UpdateStatus(st, id)
			running = st.Running()
		})
		switch {
		case err != nil:
			return 0, nil, err
		case !found:
			return 0, nil, ErrUpdateNotFound
		case outcome != nil:
			return enumspb.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED, outcome, nil
		case stage == sm.UpdateAccepted && want != enumspb.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED:
			return enumspb.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED, nil, nil
		case !running:
			// Accepted updates got an outcome when the run closed.
			return 0, nil, ErrUpdateAbortedByClose
		case want == enumspb.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED:
			return enumspb.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED, nil, nil
		}
		if !e.longPoll(ctx, ch, deadline) {
			reached := enumspb.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED
			if stage == sm.UpdateAccepted {
				reached = enumspb.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED
			}
			return reached, nil, nil
		}
	}
}
