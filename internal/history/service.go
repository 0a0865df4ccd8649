package history

import (
	"context"
	"errors"
	"fmt"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	"go.temporal.io/api/workflowservice/v1"

	sm "github.com/sundialhq/sundial/internal/history/statemachine"
	"github.com/sundialhq/sundial/internal/persistence"
	"github.com/sundialhq/sundial/internal/tasktoken"
)

var _ Service = (*Engine)(nil)

// StartWorkflowExecution creates a run, honouring request-ID dedup and the
// ID reuse/conflict policies against the workflow ID's current run.
func (e *Engine) StartWorkflowExecution(ctx context.Context, namespaceID string, req *workflowservice.StartWorkflowExecutionRequest) (*workflowservice.StartWorkflowExecutionResponse, error) {
	if err := e.begin(); err != nil {
		return nil, err
	}
	defer e.ops.Done()
	sa, err := e.canonicalSearchAttributes(ctx, namespaceID, req.GetSearchAttributes())
	if err != nil {
		return nil, err
	}
	req.SearchAttributes = sa
	eager := req.GetRequestEagerExecution() && e.opts.Dynamic.Bool("system.enableEagerWorkflowStart", true)
	// The scheduler hands an action its schedule's last completion result
	// and failure through the request (as the reference's scheduler does).
	return e.start(ctx, sm.StartInput{NamespaceID: namespaceID, Request: req, Eager: eager,
		LastCompletionResult: req.GetLastCompletionResult(), ContinuedFailure: req.GetContinuedFailure()})
}

// start creates a run from tmpl (RunID filled in here) after applying
// dedup and the ID policies against the workflow ID's current run.
//
// The first attempt does not read the current run: it assumes a new
// workflow ID (the common case) and creates a brand-new run, whose write
// fails with the current run when there is one; dedup and the policies
// then decide on that.
func (e *Engine) start(ctx context.Context, tmpl sm.StartInput) (*workflowservice.StartWorkflowExecutionResponse, error) {
	req := tmpl.Request
	sh := e.shardOf(tmpl.NamespaceID, req.GetWorkflowId())
	var cur *persistence.CurrentRun
	known := true    // cur is the current run as last written (nil: none)
	terminated := "" // the run this start terminated for its conflict policy
	for attempt := 0; attempt < 5; attempt++ {
		if !known {
			var err error
			if cur, err = e.currentRun(ctx, tmpl.NamespaceID, req.GetWorkflowId()); err != nil {
				return nil, err
			}
		}
		known = false
		if cur != nil {
			if resp, err := e.startConflict(ctx, cur, req, terminated); resp != nil || err != nil {
				if errors.Is(err, errRetryStart) {
					terminated = cur.RunID
					continue
				}
				return resp, err
			}
		}
		resp, err := e.createRun(sh, tmpl, cur, nil)
		var conflict *persistence.CurrentRunConflictError
		if errors.As(err, &conflict) {
			cur, known = &conflict.Current, true // decide again on the run found
			continue
		}
		if errors.Is(err, persistence.ErrConditionFailed) {
			continue // another start won the race: decide again
		}
		return resp, err
	}
	return nil, ErrBusy
}

// errRetryStart: the current run was terminated for the start's policy;
// decide again.
var errRetryStart = errors.New("retry start")

// startConflict decides what a start does when the workflow ID already has
// a current run: return it (dedup, USE_EXISTING), refuse, terminate it
// (TERMINATE_EXISTING / TERMINATE_IF_RUNNING; then errRetryStart), or
// (nil, nil): go on and replace it. The reuse policy judges only a run that
// closed by itself: a run this start terminated (terminated) is replaced,
// as the reference server does.
func (e *Engine) startConflict(ctx context.Context, cur *persistence.CurrentRun, req *workflowservice.StartWorkflowExecutionRequest, terminated string) (*workflowservice.StartWorkflowExecutionResponse, error) {
	if cur.CreateRequestID == req.GetRequestId() {
		return &workflowservice.StartWorkflowExecutionResponse{RunId: cur.RunID, Started: true}, nil
	}
	reuse, conflict := req.GetWorkflowIdReusePolicy(), req.GetWorkflowIdConflictPolicy()
	if cur.State == persistence.RunStateRunning {
		switch {
		case conflict == enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING:
			return &workflowservice.StartWorkflowExecutionResponse{RunId: cur.RunID, Started: false}, nil
		case conflict == enumspb.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING,
			reuse == enumspb.WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING:
			key := persistence.WorkflowKey{NamespaceID: cur.NamespaceID, WorkflowID: cur.WorkflowID, RunID: cur.RunID}
			err := e.update(ctx, key, func(st *sm.State, now time.Time) (sm.Output, error) {
				return sm.Terminate(st, "terminated by a new start of the same workflow ID", nil, req.GetIdentity(), now)
			})
			if err != nil && !errors.Is(err, sm.ErrClosed) {
				return nil, err
			}
			return nil, errRetryStart
		}
		return nil, alreadyStarted(cur, "")
	}
	if cur.RunID == terminated {
		return nil, nil
	}
	switch reuse {
	case enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE:
		return nil, alreadyStarted(cur, "Workflow execution already finished. WorkflowId: %v, RunId: %v. Workflow Id reuse policy: reject duplicate workflow Id.")
	case enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY:
		if enumspb.WorkflowExecutionStatus(cur.Status) == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
			return nil, alreadyStarted(cur, "Workflow execution already finished successfully. WorkflowId: %v, RunId: %v. Workflow Id reuse policy: allow duplicate workflow Id if last run failed.")
		}
	}
	return nil, nil
}

// alreadyStarted is the error for a start refused because of run cur;
// format (workflow ID, run ID) words the refusal of a closed run as the
// reference server does, "" means cur is running.
func alreadyStarted(cur *persistence.CurrentRun, format string) *AlreadyStartedError {
	e := &AlreadyStartedError{StartRequestID: cur.CreateRequestID, RunID: cur.RunID, WorkflowID: cur.WorkflowID}
	if format != "" {
		e.Msg = fmt.Sprintf(format, cur.WorkflowID, cur.RunID)
	}
	return e
}

// createRun writes a new run, replacing prev as current run when prev is
// set; sig, when set, is delivered as the run's first signal.
func (e *Engine) createRun(sh *shard, in sm.StartInput, prev *persistence.CurrentRun, sig *sm.SignalInput) (*workflowservice.StartWorkflowExecutionResponse, error) {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	runID := e.opts.NewRunID()
	in.RunID = runID
	namespaceID, req := in.NamespaceID, in.Request
	var st *sm.State
	var out sm.Output
	if sig != nil {
		st, out = sm.StartWithSignal(in, *sig, e.opts.Clock.Now())
	} else {
		st, out = sm.Start(in, e.opts.Clock.Now())
	}
	events, err := encodeEvents(out)
	if err != nil {
		return nil, err
	}
	st.StateTransitions = 1
	state, err := st.Encode()
	if err != nil {
		return nil, err
	}
	key := persistence.WorkflowKey{NamespaceID: namespaceID, WorkflowID: req.GetWorkflowId(), RunID: runID}
	cr := &persistence.CreateWorkflowRequest{
		ShardID: sh.id, Mode: persistence.CurrentBrandNew,
		Current: persistence.CurrentRun{
			NamespaceID: namespaceID, WorkflowID: key.WorkflowID, RunID: runID, CreateRequestID: req.GetRequestId(),
			State: persistence.RunStateRunning, Status: int32(enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING),
		},
		State: state, NextEventID: st.NextEventID, Events: events,
	}
	if prev != nil {
		cr.Mode, cr.PreviousRunID = persistence.CurrentReplace, prev.RunID
	}
	rows, err := sh.write(ctx, keyed(key, out.Tasks), func(rangeID int64, rows []persistence.OutboxTask) error {
		cr.RangeID, cr.Tasks = rangeID, rows
		return e.opts.Store.CreateWorkflow(ctx, cr)
	})
	if err != nil {
		return nil, err
	}
	sh.enqueue(rows)
	e.recordTransition(st, false)
	resp := &workflowservice.StartWorkflowExecutionResponse{RunId: runID, Started: true}
	if out.NewWorkflowTaskStarted {
		// Eager start: the starter runs the first task itself.
		task, err := e.workflowTaskResponse(ctx, key, snapshotWFT(st, false))
		if err != nil {
			return nil, err
		}
		resp.EagerWorkflowTask = task
	}
	e.cache.seed(key, sh.gen.Load(), st, len(state), events)
	return resp, nil
}

// resolveRun fills an empty run ID with the workflow's current run.
func (e *Engine) resolveRun(ctx context.Context, key persistence.WorkflowKey) (persistence.WorkflowKey, error) {
	if key.RunID != "" {
		return key, nil
	}
	sh := e.shardOf(key.NamespaceID, key.WorkflowID)
	cur, err := e.opts.Store.GetCurrentRun(ctx, sh.id, key.NamespaceID, key.WorkflowID)
	if errors.Is(err, persistence.ErrNotFound) {
		return key, ErrWorkflowNotFound
	}
	if err != nil {
		return key, err
	}
	key.RunID = cur.RunID
	return key, nil
}

func tokenKey(tok *tasktoken.Token) persistence.WorkflowKey {
	return persistence.WorkflowKey{NamespaceID: tok.NamespaceID, WorkflowID: tok.WorkflowID, RunID: tok.RunID}
}

func wftRef(tok *tasktoken.Token) sm.WorkflowTaskRef {
	return sm.WorkflowTaskRef{ScheduledEventID: tok.ScheduledEventID, StartedEventID: tok.StartedEventID, Attempt: tok.Attempt}
}

// wftError maps state-machine errors of workflow task calls.
func wftError(err error) error {
	switch {
	case errors.Is(err, sm.ErrStaleWorkflowTask), errors.Is(err, sm.ErrClosed), errors.Is(err, ErrWorkflowNotFound):
		return ErrWorkflowTaskNotFound
	}
	return err
}

// RespondWorkflowTaskCompleted applies a worker's commands.
func (e *Engine) RespondWorkflowTaskCompleted(ctx context.Context, tok *tasktoken.Token, req *workflowservice.RespondWorkflowTaskCompletedRequest) (*workflowservice.RespondWorkflowTaskCompletedResponse, error) {
	in := sm.CompleteInput{
		Ref: wftRef(tok), Commands: req.GetCommands(), Identity: req.GetIdentity(),
		BinaryChecksum: req.GetBinaryChecksum(), SdkMetadata: req.GetSdkMetadata(), MeteringMetadata: req.GetMeteringMetadata(),
		StickyTaskQueue:       req.GetStickyAttributes().GetWorkerTaskQueue().GetName(),
		StickyScheduleToStart: req.GetStickyAttributes().GetScheduleToStartTimeout().AsDuration(),
		ForceCreate:           req.GetForceCreateNewWorkflowTask(), ReturnNew: req.GetReturnNewWorkflowTask(),
		Messages:        req.GetMessages(),
		NextRunID:       e.opts.NewRunID(),
		EagerActivities: e.opts.Dynamic.Bool("system.enableActivityEagerExecution", true),
	}
	var err error
	if in.ValidateSearchAttributes, err = e.commandSearchAttributes(ctx, tok.NamespaceID, req.GetCommands()); err != nil {
		return nil, err
	}
	var res sm.CompleteResult
	var snap *wftSnapshot
	var eager []sm.ActivityInfo
	var exec sm.ExecutionInfo
	key := tokenKey(tok)
	err = e.update(ctx, key, func(st *sm.State, now time.Time) (sm.Output, error) {
		out, r, err := sm.CompleteWorkflowTask(st, in, e.limits(), now)
		res, snap, eager, exec = r, nil, nil, st.Execution
		if err == nil && out.NewWorkflowTaskStarted {
			snap = snapshotWFT(st, in.StickyTaskQueue != "")
		}
		for _, id := range out.EagerActivities {
			eager = append(eager, *st.Activities[id])
		}
		return out, err
	})
	if err != nil {
		return nil, wftError(err)
	}
	if res.Rejected != "" {
		return nil, &InvalidArgumentError{Msg: res.Rejected}
	}
	resp := &workflowservice.RespondWorkflowTaskCompletedResponse{ResetHistoryEventId: res.ResetHistoryEventID}
	if snap != nil {
		if resp.WorkflowTask, err = e.workflowTaskResponse(ctx, key, snap); err != nil {
			return nil, err
		}
	}
	for i := range eager {
		task, err := activityResponse(key, exec, &eager[i])
		if err != nil {
			return nil, err
		}
		resp.ActivityTasks = append(resp.ActivityTasks, task)
	}
	return resp, nil
}

// RespondWorkflowTaskFailed records a worker's failure of its task.
func (e *Engine) RespondWorkflowTaskFailed(ctx context.Context, tok *tasktoken.Token, req *workflowservice.RespondWorkflowTaskFailedRequest) error {
	in := sm.FailInput{Ref: wftRef(tok), Cause: req.GetCause(), Failure: req.GetFailure(), Identity: req.GetIdentity(), BinaryChecksum: req.GetBinaryChecksum()}
	err := e.update(ctx, tokenKey(tok), func(st *sm.State, now time.Time) (sm.Output, error) {
		return sm.FailWorkflowTask(st, in, now)
	})
	return wftError(err)
}

// activityCall resolves an activity token (including ...ById tokens) and
// runs fn on the attempt it names.
func (e *Engine) activityCall(ctx context.Context, tok *tasktoken.Token, fn func(st *sm.State, ref sm.ActivityRef, now time.Time) (sm.Output, error)) error {
	key, err := e.resolveRun(ctx, tokenKey(tok))
	if err != nil {
		return err
	}
	err = e.update(ctx, key, func(st *sm.State, now time.Time) (sm.Output, error) {
		ref := sm.ActivityRef{ScheduledEventID: tok.ScheduledEventID, Attempt: tok.Attempt}
		if ref.ScheduledEventID == 0 {
			ai, ok := sm.FindActivity(st, tok.ActivityID)
			if !ok {
				return sm.Output{}, sm.ErrStaleActivityTask
			}
			ref = sm.ActivityRef{ScheduledEventID: ai.ScheduledEventID, Attempt: ai.Attempt}
		}
		return fn(st, ref, now)
	})
	switch {
	case errors.Is(err, sm.ErrStaleActivityTask):
		return ErrActivityTaskNotFound
	case errors.Is(err, sm.ErrClosed):
		return ErrWorkflowCompleted
	}
	return err
}

// RespondActivityTaskCompleted records an activity's result.
func (e *Engine) RespondActivityTaskCompleted(ctx context.Context, tok *tasktoken.Token, result *commonpb.Payloads, identity string) error {
	return e.activityCall(ctx, tok, func(st *sm.State, ref sm.ActivityRef, now time.Time) (sm.Output, error) {
		return sm.CompleteActivity(st, ref, result, identity, now)
	})
}

// RespondActivityTaskFailed records a failed attempt (retried or final).
func (e *Engine) RespondActivityTaskFailed(ctx context.Context, tok *tasktoken.Token, f *failurepb.Failure, lastHeartbeat *commonpb.Payloads, identity string) error {
	return e.activityCall(ctx, tok, func(st *sm.State, ref sm.ActivityRef, now time.Time) (sm.Output, error) {
		return sm.FailActivity(st, ref, f, lastHeartbeat, identity, now)
	})
}

// RespondActivityTaskCanceled records that the worker cancelled the attempt.
func (e *Engine) RespondActivityTaskCanceled(ctx context.Context, tok *tasktoken.Token, details *commonpb.Payloads, identity string) error {
	return e.activityCall(ctx, tok, func(st *sm.State, ref sm.ActivityRef, now time.Time) (sm.Output, error) {
		return sm.CancelActivity(st, ref, details, identity, now)
	})
}

// RecordActivityTaskHeartbeat keeps the details and reports a pending
// cancel, pause or reset.
func (e *Engine) RecordActivityTaskHeartbeat(ctx context.Context, tok *tasktoken.Token, details *commonpb.Payloads, identity string) (HeartbeatAnswer, error) {
	var ans HeartbeatAnswer
	err := e.activityCall(ctx, tok, func(st *sm.State, ref sm.ActivityRef, now time.Time) (sm.Output, error) {
		out, a, err := sm.Heartbeat(st, ref, details, now)
		ans = a
		return out, err
	})
	return ans, err
}
