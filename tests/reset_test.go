package tests

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/proto"
)

// resetFixture is a "Collect 2 signals" run whose first workflow task
// completed and which then got signals "a" and "b" while no worker ran, so
// it is still open.
type resetFixture struct {
	env        *testEnv
	tq         string
	workflowID string
	runID      string
	// firstWFT is the ID of the run's first WorkflowTaskCompleted event.
	firstWFT int64
}

func registerCollect(r worker.Registry) {
	r.RegisterWorkflowWithOptions(collectSignals, workflow.RegisterOptions{Name: "Collect"})
}

func newResetFixture(t *testing.T, ctx context.Context) *resetFixture {
	t.Helper()
	env := newTestEnv(t)
	tq := uniqueName(t, "tq")
	w := env.startWorkerOn(t, tq, registerCollect)
	run, err := env.client.ExecuteWorkflow(ctx, startOptions(t, tq), "Collect", 2)
	require.NoError(t, err)
	f := &resetFixture{env: env, tq: tq, workflowID: run.GetID(), runID: run.GetRunID()}
	events := waitForHistory(t, ctx, f, f.runID, func(evs []*historypb.HistoryEvent) bool {
		return len(eventsOfType(evs, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)) > 0
	})
	f.firstWFT = eventsOfType(events, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)[0].GetEventId()
	w.Stop()
	for _, v := range []string{"a", "b"} {
		require.NoError(t, env.client.SignalWorkflow(ctx, f.workflowID, f.runID, "sig", v))
	}
	return f
}

// waitForHistory polls the run's history until done accepts it.
func waitForHistory(t *testing.T, ctx context.Context, f *resetFixture, runID string, done func([]*historypb.HistoryEvent) bool) []*historypb.HistoryEvent {
	t.Helper()
	for {
		events := requireHistory(t, ctx, f.env.client, f.workflowID, runID)
		if done(events) {
			return events
		}
		select {
		case <-ctx.Done():
			t.Fatalf("history of run %s never got there: %v", runID, eventTypes(events))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (f *resetFixture) reset(ctx context.Context, runID string, eventID int64, mutate func(*workflowservice.ResetWorkflowExecutionRequest)) (string, error) {
	req := &workflowservice.ResetWorkflowExecutionRequest{
		Namespace:                 testNamespace,
		WorkflowExecution:         &commonpb.WorkflowExecution{WorkflowId: f.workflowID, RunId: runID},
		Reason:                    "test reset",
		WorkflowTaskFinishEventId: eventID,
		RequestId:                 uuid.NewString(),
	}
	if mutate != nil {
		mutate(req)
	}
	resp, err := f.env.client.ResetWorkflowExecution(ctx, req)
	return resp.GetRunId(), err
}

// requireResetPrefix checks a reset run's history: the base run's events
// up to the reset task's started event, WorkflowTaskFailed(RESET_WORKFLOW)
// naming both runs, then the signals given.
func requireResetPrefix(t *testing.T, base, reset []*historypb.HistoryEvent, startedID int64, baseRun, newRun string, signals ...string) {
	t.Helper()
	requireContiguousIDs(t, reset)
	for i := range startedID {
		require.True(t, proto.Equal(base[i], reset[i]), "copied event %d differs:\nbase  %v\nreset %v", i+1, base[i], reset[i])
	}
	failed := reset[startedID]
	require.Equal(t, enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED, failed.GetEventType(), "%v", eventTypes(reset))
	a := failed.GetWorkflowTaskFailedEventAttributes()
	require.Equal(t, enumspb.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW, a.GetCause())
	require.Equal(t, baseRun, a.GetBaseRunId())
	require.Equal(t, newRun, a.GetNewRunId())
	require.Equal(t, "test reset", a.GetFailure().GetMessage())
	for i, want := range signals {
		ev := reset[int(startedID)+1+i]
		require.Equal(t, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, ev.GetEventType(), "%v", eventTypes(reset))
		var got string
		require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(ev.GetWorkflowExecutionSignaledEventAttributes().GetInput(), &got))
		require.Equal(t, want, got)
	}
	next := reset[int(startedID)+1+len(signals)]
	require.Equal(t, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, next.GetEventType(), "%v", eventTypes(reset))
}

// Reset an open run to its first workflow task: the old run is terminated,
// the new run replays with both signals re-applied and completes with the
// same result; the same request ID returns the same run.
func TestResetToFirstWorkflowTaskReappliesSignals(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 90*time.Second)
	f := newResetFixture(t, ctx)
	c := f.env.client

	requestID := uuid.NewString()
	withID := func(r *workflowservice.ResetWorkflowExecutionRequest) { r.RequestId = requestID }
	newRun, err := f.reset(ctx, f.runID, f.firstWFT, withID)
	require.NoError(t, err)
	require.NotEqual(t, f.runID, newRun)
	again, err := f.reset(ctx, f.runID, f.firstWFT, withID)
	require.NoError(t, err)
	require.Equal(t, newRun, again, "a retried reset (same request ID) returns the same run")

	var terminated *temporal.TerminatedError
	require.ErrorAs(t, c.GetWorkflow(ctx, f.workflowID, f.runID).Get(ctx, nil), &terminated)
	base := requireHistory(t, ctx, c, f.workflowID, f.runID)
	last := base[len(base)-1]
	require.Equal(t, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED, last.GetEventType())
	require.Contains(t, last.GetWorkflowExecutionTerminatedEventAttributes().GetReason(), "reset")

	f.env.startWorkerOn(t, f.tq, registerCollect)
	var got []string
	require.NoError(t, c.GetWorkflow(ctx, f.workflowID, newRun).Get(ctx, &got))
	require.Equal(t, []string{"a", "b"}, got)
	reset := requireHistory(t, ctx, c, f.workflowID, newRun)
	requireResetPrefix(t, base, reset, f.firstWFT-1, f.runID, newRun, "a", "b")
	require.Equal(t, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, reset[len(reset)-1].GetEventType())

	desc, err := c.DescribeWorkflowExecution(ctx, f.workflowID, "")
	require.NoError(t, err)
	require.Equal(t, newRun, desc.GetWorkflowExecutionInfo().GetExecution().GetRunId(), "the new run is current")

	// Visibility lists both runs with their final status.
	require.Eventually(t, func() bool {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: "WorkflowId = '" + f.workflowID + "'"})
		if err != nil {
			return false
		}
		status := map[string]enumspb.WorkflowExecutionStatus{}
		for _, info := range resp.GetExecutions() {
			status[info.GetExecution().GetRunId()] = info.GetStatus()
		}
		return status[f.runID] == enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED && status[newRun] == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
	}, 10*time.Second, 50*time.Millisecond, "visibility must list the terminated base run and the completed reset run")
}

// Reapply policies, and resets of runs that are not open: NONE and an
// excluded signal type re-apply nothing; resetting the (closed) original
// run again terminates whichever run is current.
func TestResetReapplyPolicies(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 90*time.Second)
	f := newResetFixture(t, ctx)
	c := f.env.client
	f.env.startWorkerOn(t, f.tq, registerCollect)

	none, err := f.reset(ctx, f.runID, f.firstWFT, func(r *workflowservice.ResetWorkflowExecutionRequest) {
		r.ResetReapplyType = enumspb.RESET_REAPPLY_TYPE_NONE
	})
	require.NoError(t, err)
	base := requireHistory(t, ctx, c, f.workflowID, f.runID)
	noneHistory := waitForHistory(t, ctx, f, none, func(evs []*historypb.HistoryEvent) bool {
		return evs[len(evs)-1].GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED && int64(len(evs)) > f.firstWFT
	})
	requireResetPrefix(t, base, noneHistory, f.firstWFT-1, f.runID, none)
	require.Empty(t, eventsOfType(noneHistory, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED))

	// Reset the closed original run again, with signals: the open NONE run
	// is terminated and the new run completes.
	withSignals, err := f.reset(ctx, f.runID, f.firstWFT, nil)
	require.NoError(t, err)
	var terminated *temporal.TerminatedError
	require.ErrorAs(t, c.GetWorkflow(ctx, f.workflowID, none).Get(ctx, nil), &terminated)
	var got []string
	require.NoError(t, c.GetWorkflow(ctx, f.workflowID, withSignals).Get(ctx, &got))
	require.Equal(t, []string{"a", "b"}, got)

	// Reset the completed current run with signals excluded.
	excluded, err := f.reset(ctx, "", f.firstWFT, func(r *workflowservice.ResetWorkflowExecutionRequest) {
		r.ResetReapplyExcludeTypes = []enumspb.ResetReapplyExcludeType{enumspb.RESET_REAPPLY_EXCLUDE_TYPE_SIGNAL}
	})
	require.NoError(t, err)
	withSignalsHistory := requireHistory(t, ctx, c, f.workflowID, withSignals)
	excludedHistory := waitForHistory(t, ctx, f, excluded, func(evs []*historypb.HistoryEvent) bool {
		return evs[len(evs)-1].GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED && int64(len(evs)) > f.firstWFT
	})
	requireResetPrefix(t, withSignalsHistory, excludedHistory, f.firstWFT-1, withSignals, excluded)
	require.Empty(t, eventsOfType(excludedHistory, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED))
	desc, err := c.DescribeWorkflowExecution(ctx, f.workflowID, "")
	require.NoError(t, err)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, desc.GetWorkflowExecutionInfo().GetStatus())
	require.Eventually(t, func() bool {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: "WorkflowId = '" + f.workflowID + "' AND ExecutionStatus = 'Running'"})
		return err == nil && len(resp.GetExecutions()) == 1 && resp.GetExecutions()[0].GetExecution().GetRunId() == excluded
	}, 10*time.Second, 50*time.Millisecond, "visibility must list the open reset run")
	require.NoError(t, c.TerminateWorkflow(ctx, f.workflowID, "", "done"))
}

// Bad reset points and unknown workflows change nothing.
func TestResetErrors(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 60*time.Second)
	f := newResetFixture(t, ctx)
	c := f.env.client
	before := requireHistory(t, ctx, c, f.workflowID, f.runID)
	signaled := eventsOfType(before, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)[0].GetEventId()

	for _, id := range []int64{signaled, 1, int64(len(before)) + 10, 0} {
		_, err := f.reset(ctx, f.runID, id, nil)
		var invalid *serviceerror.InvalidArgument
		require.True(t, errors.As(err, &invalid), "reset to event %d: %v", id, err)
	}
	_, err := f.reset(ctx, uuid.NewString(), f.firstWFT, nil)
	var notFound *serviceerror.NotFound
	require.True(t, errors.As(err, &notFound), "unknown run: %v", err)
	f.workflowID = "no-such-workflow"
	_, err = f.reset(ctx, "", f.firstWFT, nil)
	require.True(t, errors.As(err, &notFound), "unknown workflow: %v", err)

	f.workflowID = before[0].GetWorkflowExecutionStartedEventAttributes().GetWorkflowId()
	after := requireHistory(t, ctx, c, f.workflowID, "")
	require.Equal(t, eventTypes(before), eventTypes(after), "failed resets change nothing")
	desc, err := c.DescribeWorkflowExecution(ctx, f.workflowID, "")
	require.NoError(t, err)
	require.Equal(t, f.runID, desc.GetWorkflowExecutionInfo().GetExecution().GetRunId())
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, desc.GetWorkflowExecutionInfo().GetStatus())
}

// Updates accepted after the reset point are re-applied (admitted again,
// so the new run's worker runs the handler again) unless excluded.
func TestResetReappliesUpdates(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 90*time.Second)
	env := newTestEnv(t)
	tq := uniqueName(t, "tq")
	register := func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(counter, workflow.RegisterOptions{Name: "Counter"})
	}
	w := env.startWorkerOn(t, tq, register)
	run, err := env.client.ExecuteWorkflow(ctx, startOptions(t, tq), "Counter", 10)
	require.NoError(t, err)
	got, err := updateAdd(t, env.client, run.GetID(), "u1", 5)
	require.NoError(t, err)
	require.Equal(t, 15, got)
	w.Stop()
	f := &resetFixture{env: env, tq: tq, workflowID: run.GetID(), runID: run.GetRunID()}
	base := requireHistory(t, ctx, env.client, f.workflowID, f.runID)
	f.firstWFT = eventsOfType(base, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)[0].GetEventId()

	excluded, err := f.reset(ctx, f.runID, f.firstWFT, func(r *workflowservice.ResetWorkflowExecutionRequest) {
		r.ResetReapplyExcludeTypes = []enumspb.ResetReapplyExcludeType{enumspb.RESET_REAPPLY_EXCLUDE_TYPE_UPDATE}
	})
	require.NoError(t, err)
	reapplied, err := f.reset(ctx, f.runID, f.firstWFT, nil)
	require.NoError(t, err)

	env.startWorkerOn(t, tq, register)
	events := waitForHistory(t, ctx, f, reapplied, func(evs []*historypb.HistoryEvent) bool {
		return len(eventsOfType(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED)) == 1
	})
	accepted := eventsOfType(events, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED)
	require.Len(t, accepted, 1)
	require.Equal(t, "u1", accepted[0].GetWorkflowExecutionUpdateAcceptedEventAttributes().GetProtocolInstanceId())
	require.NoError(t, env.client.SignalWorkflow(ctx, f.workflowID, reapplied, "done", nil))
	var total int
	require.NoError(t, env.client.GetWorkflow(ctx, f.workflowID, reapplied).Get(ctx, &total))
	require.Equal(t, 15, total, "the re-applied update ran again in the new run")

	// The run reset with updates excluded (terminated by the second reset)
	// never saw the update.
	require.Empty(t, eventsOfType(requireHistory(t, ctx, env.client, f.workflowID, excluded), enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED))
}

// Resetting a child: the parent is not told the replaced run was
// terminated; it gets the result of the reset run.
func TestResetChildReportsTheResetRunToItsParent(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 90*time.Second)
	env := newTestEnv(t)
	childID := uniqueName(t, "child")
	tq := env.startWorker(t, func(r worker.Registry) {
		registerCollect(r)
		r.RegisterWorkflowWithOptions(func(ctx workflow.Context) ([]string, error) {
			var out []string
			cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: childID})
			err := workflow.ExecuteChildWorkflow(cctx, "Collect", 2).Get(ctx, &out)
			return out, err
		}, workflow.RegisterOptions{Name: "Parent"})
	})
	parent, err := env.client.ExecuteWorkflow(ctx, startOptions(t, tq), "Parent")
	require.NoError(t, err)
	f := &resetFixture{env: env, tq: tq, workflowID: childID}
	var events []*historypb.HistoryEvent
	require.Eventually(t, func() bool {
		events, err = history(ctx, env.client, childID, "")
		return err == nil && len(eventsOfType(events, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)) > 0
	}, 30*time.Second, 50*time.Millisecond)
	f.firstWFT = eventsOfType(events, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)[0].GetEventId()
	require.NoError(t, env.client.SignalWorkflow(ctx, childID, "", "sig", "a"))

	newRun, err := f.reset(ctx, "", f.firstWFT, nil)
	require.NoError(t, err)
	require.NoError(t, env.client.SignalWorkflow(ctx, childID, newRun, "sig", "b"))
	var got []string
	require.NoError(t, parent.Get(ctx, &got))
	require.Equal(t, []string{"a", "b"}, got)
	parentEvents := requireHistory(t, ctx, env.client, parent.GetID(), parent.GetRunID())
	require.Empty(t, eventsOfType(parentEvents, enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED))
	require.Len(t, eventsOfType(parentEvents, enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED), 1)
}
