package tests

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// collectSignals returns the values of the first n "sig" signals, in order.
func collectSignals(ctx workflow.Context, n int) ([]string, error) {
	ch := workflow.GetSignalChannel(ctx, "sig")
	var got []string
	for len(got) < n {
		var v string
		ch.Receive(ctx, &v)
		got = append(got, v)
	}
	return got, nil
}

func TestSignalsArriveInOrder(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 60*time.Second)
	tq := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(collectSignals, workflow.RegisterOptions{Name: "Collect"})
	})
	run, err := env.client.ExecuteWorkflow(ctx, startOptions(t, tq), "Collect", 5)
	require.NoError(t, err)
	for i := range 5 {
		require.NoError(t, env.client.SignalWorkflow(ctx, run.GetID(), "", "sig", fmt.Sprint(i)))
	}
	var got []string
	require.NoError(t, run.Get(ctx, &got))
	require.Equal(t, []string{"0", "1", "2", "3", "4"}, got)
	events := requireHistory(t, ctx, env.client, run.GetID(), run.GetRunID())
	requireContiguousIDs(t, events)
	require.Len(t, eventsOfType(events, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED), 5)
}

func TestSignalWithStart(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 60*time.Second)
	tq := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(collectSignals, workflow.RegisterOptions{Name: "Collect"})
	})
	opts := startOptions(t, tq)
	run, err := env.client.SignalWithStartWorkflow(ctx, opts.ID, "sig", "first", opts, "Collect", 2)
	require.NoError(t, err)
	run2, err := env.client.SignalWithStartWorkflow(ctx, opts.ID, "sig", "second", opts, "Collect", 2)
	require.NoError(t, err)
	require.Equal(t, run.GetRunID(), run2.GetRunID(), "the second signal-with-start joins the open run")
	var got []string
	require.NoError(t, run.Get(ctx, &got))
	require.Equal(t, []string{"first", "second"}, got)
	events := requireHistory(t, ctx, env.client, run.GetID(), run.GetRunID())
	require.Equal(t, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, events[1].GetEventType(), "%v", eventTypes(events))
}

// Signals racing a workflow that completes as soon as it can: every
// acknowledged signal is in the history (the completion is rejected while
// signals are buffered).
func TestConcurrentSignalsAreNeverLost(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 90*time.Second)
	tq := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(func(ctx workflow.Context) (int, error) {
			ch := workflow.GetSignalChannel(ctx, "sig")
			n := 0
			workflow.Await(ctx, func() bool { // wait for the first one
				for ch.ReceiveAsync(nil) {
					n++
				}
				return n > 0
			})
			for ch.ReceiveAsync(nil) {
				n++
			}
			return n, nil
		}, workflow.RegisterOptions{Name: "Drain"})
	})
	run, err := env.client.ExecuteWorkflow(ctx, startOptions(t, tq), "Drain")
	require.NoError(t, err)
	const n = 100
	var acked sync.Map
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if env.client.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), "sig", i) == nil {
				acked.Store(i, true)
			}
		}()
	}
	wg.Wait()
	var received int
	require.NoError(t, run.Get(ctx, &received))
	events := requireHistory(t, ctx, env.client, run.GetID(), run.GetRunID())
	requireContiguousIDs(t, events)
	signaled := eventsOfType(events, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
	count := 0
	acked.Range(func(any, any) bool { count++; return true })
	require.Equal(t, count, len(signaled), "every acknowledged signal must be in the history")
	require.Equal(t, len(signaled), received, "the workflow must have seen every signal in its history")
	require.Equal(t, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, events[len(events)-1].GetEventType())
}

func TestSignalDedupByRequestID(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 30*time.Second)
	run, err := env.client.ExecuteWorkflow(ctx, startOptions(t, uniqueName(t, "tq")), "Nobody")
	require.NoError(t, err)
	req := &workflowservice.SignalWorkflowExecutionRequest{
		Namespace: testNamespace, WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: run.GetID()},
		SignalName: "sig", RequestId: "same-request",
	}
	for range 3 {
		_, err := env.client.WorkflowService().SignalWorkflowExecution(ctx, req)
		require.NoError(t, err)
	}
	events := requireHistory(t, ctx, env.client, run.GetID(), run.GetRunID())
	require.Len(t, eventsOfType(events, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED), 1)
}

// Signals, cancels and terminates to unknown or closed workflows are
// NOT_FOUND.
func TestControlCallsOnMissingOrClosedWorkflows(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 30*time.Second)
	var nf *serviceerror.NotFound
	err := env.client.SignalWorkflow(ctx, "no-such-workflow", "", "sig", nil)
	require.True(t, errors.As(err, &nf), "signal unknown: %v", err)
	err = env.client.CancelWorkflow(ctx, "no-such-workflow", "")
	require.True(t, errors.As(err, &nf), "cancel unknown: %v", err)
	err = env.client.TerminateWorkflow(ctx, "no-such-workflow", "", "why")
	require.True(t, errors.As(err, &nf), "terminate unknown: %v", err)

	run, err := env.client.ExecuteWorkflow(ctx, startOptions(t, uniqueName(t, "tq")), "Nobody")
	require.NoError(t, err)
	require.NoError(t, env.client.TerminateWorkflow(ctx, run.GetID(), "", "done"))
	for name, call := range map[string]func() error{
		"signal":    func() error { return env.client.SignalWorkflow(ctx, run.GetID(), "", "sig", nil) },
		"cancel":    func() error { return env.client.CancelWorkflow(ctx, run.GetID(), "") },
		"terminate": func() error { return env.client.TerminateWorkflow(ctx, run.GetID(), "", "again") },
	} {
		err := call()
		require.True(t, errors.As(err, &nf), "%s on a closed workflow: %v", name, err)
		require.Contains(t, err.Error(), "completed", name)
	}
}

func TestCancelRunsCleanupAndTerminate(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 60*time.Second)
	tq := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(func(ctx workflow.Context) (string, error) {
			err := workflow.Sleep(ctx, time.Hour)
			if !errors.Is(err, workflow.ErrCanceled) {
				return "not cancelled", err
			}
			// Cleanup on a disconnected context still runs after cancellation.
			dctx, _ := workflow.NewDisconnectedContext(ctx)
			if err := workflow.Sleep(dctx, 10*time.Millisecond); err != nil {
				return "", err
			}
			return "cleaned up", workflow.ErrCanceled
		}, workflow.RegisterOptions{Name: "Cancellable"})
	})
	run, err := env.client.ExecuteWorkflow(ctx, startOptions(t, tq), "Cancellable")
	require.NoError(t, err)
	eventually(t, ctx, "the timer to start", func() error {
		events, err := history(ctx, env.client, run.GetID(), run.GetRunID())
		if err != nil || len(eventsOfType(events, enumspb.EVENT_TYPE_TIMER_STARTED)) == 0 {
			return fmt.Errorf("no timer yet (%v)", err)
		}
		return nil
	})
	require.NoError(t, env.client.CancelWorkflow(ctx, run.GetID(), ""))
	require.NoError(t, env.client.CancelWorkflow(ctx, run.GetID(), ""), "a second cancel request is accepted")
	err = run.Get(ctx, nil)
	var canceled *temporalCanceledError
	require.True(t, errors.As(err, &canceled), "want CanceledError, got %v", err)
	events := requireHistory(t, ctx, env.client, run.GetID(), run.GetRunID())
	requireContiguousIDs(t, events)
	require.Len(t, eventsOfType(events, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED), 1)
	require.Len(t, eventsOfType(events, enumspb.EVENT_TYPE_TIMER_STARTED), 2, "the cleanup timer ran: %v", eventTypes(events))
	require.Equal(t, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED, events[len(events)-1].GetEventType())

	run2, err := env.client.ExecuteWorkflow(ctx, startOptions(t, tq), "Cancellable")
	require.NoError(t, err)
	require.NoError(t, env.client.TerminateWorkflow(ctx, run2.GetID(), "", "enough", "detail"))
	err = run2.Get(ctx, nil)
	var terminated *temporalTerminatedError
	require.True(t, errors.As(err, &terminated), "want TerminatedError, got %v", err)
	events = requireHistory(t, ctx, env.client, run2.GetID(), run2.GetRunID())
	last := events[len(events)-1]
	require.Equal(t, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED, last.GetEventType())
	require.Equal(t, "enough", last.GetWorkflowExecutionTerminatedEventAttributes().GetReason())
}

var _ = client.StartWorkflowOptions{}
