package history

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"

	sm "github.com/sundialhq/sundial/internal/history/statemachine"
	"github.com/sundialhq/sundial/internal/persistence"
)

// errResetRetry: the workflow moved on while a reset was prepared (events
// written, runs replaced); read it again and decide again.
var errResetRetry = errors.New("retry reset")

// resetReadPage bounds one history read of a reset.
const resetReadPage = 1000

// ResetWorkflowExecution resets a run (the current one when no run ID is
// given) to a workflow task: a new run gets the run's history up to that
// task's started event, then WorkflowTaskFailed (RESET_WORKFLOW), the
// signals and updates that came after re-applied as the request says, and
// a new workflow task. The workflow ID's current run, if open, is
// terminated, and the new run becomes current. A request ID that created
// the current run returns that run (dedup).
func (e *Engine) ResetWorkflowExecution(ctx context.Context, namespaceID string, req *workflowservice.ResetWorkflowExecutionRequest) (*workflowservice.ResetWorkflowExecutionResponse, error) {
	if err := e.begin(); err != nil {
		return nil, err
	}
	defer e.ops.Done()
	for attempt := 0; attempt < 3; attempt++ {
		runID, err := e.reset(ctx, namespaceID, req)
		var conflict *persistence.CurrentRunConflictError
		if errors.Is(err, errResetRetry) || errors.As(err, &conflict) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return &workflowservice.ResetWorkflowExecutionResponse{RunId: runID}, nil
	}
	return nil, ErrBusy
}

// reset makes one attempt and returns the new run's ID.
func (e *Engine) reset(ctx context.Context, namespaceID string, req *workflowservice.ResetWorkflowExecutionRequest) (string, error) {
	workflowID := req.GetWorkflowExecution().GetWorkflowId()
	cur, err := e.currentRun(ctx, namespaceID, workflowID)
	if err != nil {
		return "", err
	}
	if cur == nil {
		return "", ErrWorkflowNotFound
	}
	if req.GetRequestId() != "" && cur.CreateRequestID == req.GetRequestId() {
		return cur.RunID, nil
	}
	key := persistence.WorkflowKey{NamespaceID: namespaceID, WorkflowID: workflowID, RunID: req.GetWorkflowExecution().GetRunId()}
	if key.RunID == "" {
		key.RunID = cur.RunID
	}
	events, next, err := e.readRun(ctx, key)
	if err != nil {
		return "", err
	}
	if _, err := sm.ResetPoint(events, req.GetWorkflowTaskFinishEventId()); err != nil {
		return "", &InvalidArgumentError{Msg: err.Error()}
	}
	in := resetInput(namespaceID, key.RunID, e.opts.NewRunID(), req)
	sh := e.shardOf(namespaceID, workflowID)
	if cur.RunID == key.RunID && cur.State == persistence.RunStateRunning {
		return in.RunID, e.resetOpenRun(ctx, sh, key, events, next, req, in)
	}
	st, out, err := sm.Reset(events, req.GetWorkflowTaskFinishEventId(), nil, in, e.opts.Clock.Now())
	if err != nil {
		return "", err
	}
	run, err := prepareRun(sh, st, out, cur.RunID)
	if err != nil {
		return "", err
	}
	if cur.State == persistence.RunStateRunning {
		// The base run is closed; the open current run is another one.
		curKey := persistence.WorkflowKey{NamespaceID: namespaceID, WorkflowID: workflowID, RunID: cur.RunID}
		err := e.update(ctx, curKey, func(st *sm.State, now time.Time) (sm.Output, error) {
			return terminateForReset(st, in, now)
		})
		if err != nil && !errors.Is(err, sm.ErrClosed) {
			return "", err
		}
	}
	return in.RunID, e.createPrepared(sh, run)
}

// resetOpenRun resets the open current run: it is terminated and the new
// run created in one transaction. Events the run had not written (signals
// buffered during a started workflow task, updates not yet accepted) are
// re-applied too.
func (e *Engine) resetOpenRun(ctx context.Context, sh *shard, key persistence.WorkflowKey, events []*historypb.HistoryEvent, next int64,
	req *workflowservice.ResetWorkflowExecutionRequest, in sm.ResetInput) error {
	return e.updateWith(ctx, key, func(st *sm.State, now time.Time) (sm.Output, *newRun, error) {
		if !st.Running() || st.NextEventID != next {
			return sm.Output{}, nil, errResetRetry
		}
		nst, nout, err := sm.Reset(events, req.GetWorkflowTaskFinishEventId(), sm.UnwrittenEvents(st), in, now)
		if err != nil {
			return sm.Output{}, nil, err
		}
		run, err := prepareRun(sh, nst, nout, key.RunID)
		if err != nil {
			return sm.Output{}, nil, err
		}
		out, err := terminateForReset(st, in, now)
		return out, run, err
	})
}

// terminateForReset terminates the run a reset replaces. Like a run that
// continues as new, it does not report its close to a parent: the reset
// run keeps the parent and reports when it closes.
func terminateForReset(st *sm.State, in sm.ResetInput, now time.Time) (sm.Output, error) {
	out, err := sm.Terminate(st, resetReason(in), nil, in.Identity, now)
	tasks := out.Tasks[:0]
	for _, t := range out.Tasks {
		if t.Type != sm.TaskNotifyParent {
			tasks = append(tasks, t)
		}
	}
	out.Tasks = tasks
	return out, err
}

// readRun reads a run's whole written history and the next event ID it
// was read up to.
func (e *Engine) readRun(ctx context.Context, key persistence.WorkflowKey) ([]*historypb.HistoryEvent, int64, error) {
	v, err := e.runView(ctx, key)
	if err != nil {
		return nil, 0, err
	}
	sh := e.shardOf(key.NamespaceID, key.WorkflowID)
	events := make([]*historypb.HistoryEvent, 0, v.next-1)
	for next := int64(1); next < v.next; {
		rows, err := e.opts.Store.ReadHistory(ctx, sh.id, key, next, v.next, resetReadPage, false)
		if err != nil {
			return nil, 0, err
		}
		if len(rows) == 0 {
			return nil, 0, fmt.Errorf("history of run %s ends before event %d", key.RunID, next)
		}
		page, err := decodeEvents(rows)
		if err != nil {
			return nil, 0, err
		}
		events = append(events, page...)
		next = page[len(page)-1].GetEventId() + 1
	}
	return events, v.next, nil
}

// createPrepared writes a prepared run on its own.
func (e *Engine) createPrepared(sh *shard, run *newRun) error {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	c := run.create.Current
	key := persistence.WorkflowKey{NamespaceID: c.NamespaceID, WorkflowID: c.WorkflowID, RunID: c.RunID}
	rows, err := sh.write(ctx, keyed(key, run.tasks), func(rangeID int64, rows []persistence.OutboxTask) error {
		run.create.RangeID, run.create.Tasks = rangeID, rows
		return e.opts.Store.CreateWorkflow(ctx, run.create)
	})
	if err != nil {
		return err
	}
	sh.enqueue(rows)
	return nil
}

// resetInput turns the request into the state machine's input: the
// re-apply policy (the deprecated reset_reapply_type, then the exclude
// list) and the post-reset signals.
func resetInput(namespaceID, baseRunID, runID string, req *workflowservice.ResetWorkflowExecutionRequest) sm.ResetInput {
	in := sm.ResetInput{
		NamespaceID: namespaceID, RunID: runID, BaseRunID: baseRunID, RequestID: req.GetRequestId(),
		Reason: req.GetReason(), Identity: req.GetIdentity(), ReapplySignals: true, ReapplyUpdates: true,
	}
	if in.RequestID == "" {
		in.RequestID = runID
	}
	switch req.GetResetReapplyType() {
	case enumspb.RESET_REAPPLY_TYPE_SIGNAL:
		in.ReapplyUpdates = false
	case enumspb.RESET_REAPPLY_TYPE_NONE:
		in.ReapplySignals, in.ReapplyUpdates = false, false
	}
	for _, t := range req.GetResetReapplyExcludeTypes() {
		switch t {
		case enumspb.RESET_REAPPLY_EXCLUDE_TYPE_SIGNAL:
			in.ReapplySignals = false
		case enumspb.RESET_REAPPLY_EXCLUDE_TYPE_UPDATE:
			in.ReapplyUpdates = false
		}
	}
	for _, op := range req.GetPostResetOperations() {
		if s := op.GetSignalWorkflow(); s != nil {
			in.Signals = append(in.Signals, sm.SignalInput{Name: s.GetSignalName(), Input: s.GetInput(), Header: s.GetHeader(), Identity: req.GetIdentity()})
		}
	}
	return in
}

// resetReason is the termination reason of the run a reset replaces.
func resetReason(in sm.ResetInput) string {
	msg := fmt.Sprintf("reset to new run %s", in.RunID)
	if in.Reason != "" {
		msg += ": " + in.Reason
	}
	return msg
}
