package tests

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Package-level because the "fix" must reach a workflow function that a
// second worker registers; only TestWorkflowTaskPanicRetried uses them.
var (
	panicFixed atomic.Bool
	panicCount atomic.Int32
)

func panickyWorkflow(ctx workflow.Context) (string, error) {
	if !panicFixed.Load() {
		panicCount.Add(1)
		panic("workflow bug")
	}
	return "fixed", nil
}

// A panicking workflow task is retried; only the first failure is written
// to history. After a fixed worker takes over, the workflow completes.
func TestWorkflowTaskPanicRetried(t *testing.T) {
	t.Parallel()
	panicFixed.Store(false) // reset for -count > 1
	panicCount.Store(0)
	env := newTestEnv(t)
	ctx := testContext(t, 90*time.Second)
	register := func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(panickyWorkflow, workflow.RegisterOptions{Name: "PanickyWorkflow"})
	}
	tq := uniqueName(t, "tq")
	w1 := env.startWorkerOn(t, tq, register)

	opts := startOptions(t, tq)
	// Attempts after the first are not reported by the SDK; they time out,
	// so a short task timeout makes the retries quick.
	opts.WorkflowTaskTimeout = time.Second
	run, err := env.client.ExecuteWorkflow(ctx, opts, "PanickyWorkflow")
	require.NoError(t, err)

	wantPrefix := []enumspb.EventType{
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED,
	}
	// checkFailedOnce accepts the written history [Started, Scheduled,
	// Started, Failed] followed at most by the transient Scheduled/Started
	// of the current attempt (which the server may show).
	checkFailedOnce := func(events []*historypb.HistoryEvent) error {
		types := eventTypes(events)
		if len(types) < len(wantPrefix) || len(types) > len(wantPrefix)+2 {
			return fmt.Errorf("history %v: want %v plus at most a transient Scheduled/Started", types, wantPrefix)
		}
		for i, et := range wantPrefix {
			if types[i] != et {
				return fmt.Errorf("history %v: want prefix %v", types, wantPrefix)
			}
		}
		for _, ev := range events[len(wantPrefix):] {
			switch ev.GetEventType() {
			case enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
				if a := ev.GetWorkflowTaskScheduledEventAttributes().GetAttempt(); a < 2 {
					return fmt.Errorf("transient WorkflowTaskScheduled has attempt %d", a)
				}
			case enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED:
			default:
				return fmt.Errorf("history %v: unexpected %v after the failure", types, ev.GetEventType())
			}
		}
		return checkContiguousIDs(events)
	}

	eventually(t, ctx, "the first WorkflowTaskFailed", func() error {
		events, err := history(ctx, env.client, run.GetID(), run.GetRunID())
		if err != nil {
			return err
		}
		if len(eventsOfType(events, enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED)) == 0 {
			return fmt.Errorf("no WorkflowTaskFailed yet: %v", eventTypes(events))
		}
		return checkFailedOnce(events)
	})
	failed := requireHistory(t, ctx, env.client, run.GetID(), run.GetRunID())
	require.Equal(t, enumspb.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE,
		failed[3].GetWorkflowTaskFailedEventAttributes().GetCause())
	require.Contains(t, failed[3].GetWorkflowTaskFailedEventAttributes().GetFailure().GetMessage(), "workflow bug")

	// Attempts 2 and 3 fail too (by timing out); nothing more is written.
	eventually(t, ctx, "three panics", func() error {
		if n := panicCount.Load(); n < 3 {
			return fmt.Errorf("%d panics so far", n)
		}
		return nil
	})
	require.NoError(t, checkFailedOnce(requireHistory(t, ctx, env.client, run.GetID(), run.GetRunID())))

	w1.Stop()
	panicFixed.Store(true)
	env.startWorkerOn(t, tq, register)

	var out string
	require.NoError(t, run.Get(ctx, &out))
	require.Equal(t, "fixed", out)

	events := requireHistory(t, ctx, env.client, run.GetID(), run.GetRunID())
	requireContiguousIDs(t, events)
	types := eventTypes(events)
	require.Equal(t, wantPrefix, types[:4], "%v", types)
	require.Len(t, eventsOfType(events, enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED), 1, "%v", types)
	require.Empty(t, eventsOfType(events, enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT), "%v", types)
	require.Equal(t, []enumspb.EventType{
		enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
	}, types[4:], "%v", types)
	require.GreaterOrEqual(t, events[4].GetWorkflowTaskScheduledEventAttributes().GetAttempt(), int32(4),
		"the successful attempt follows at least three failures")
}

// Local activities, side effects and versions are recorded as markers.
func TestMarkers(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 60*time.Second)
	tq := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(func(ctx workflow.Context, name string) (string, error) {
			v := workflow.GetVersion(ctx, "greeting-change", workflow.DefaultVersion, 1)

			var n int
			if err := workflow.SideEffect(ctx, func(workflow.Context) any { return 42 }).Get(&n); err != nil {
				return "", err
			}

			lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 10 * time.Second})
			var greeting string
			err := workflow.ExecuteLocalActivity(lctx, func(_ context.Context, s string) (string, error) {
				return "local hello, " + s, nil
			}, name).Get(ctx, &greeting)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("%s v%d n%d", greeting, v, n), nil
		}, workflow.RegisterOptions{Name: "MarkerWorkflow"})
	})

	run, err := env.client.ExecuteWorkflow(ctx, startOptions(t, tq), "MarkerWorkflow", "Sundial")
	require.NoError(t, err)
	var out string
	require.NoError(t, run.Get(ctx, &out))
	require.Equal(t, "local hello, Sundial v1 n42", out)

	events := requireHistory(t, ctx, env.client, run.GetID(), run.GetRunID())
	requireContiguousIDs(t, events)
	require.Equal(t, []string{"Version", "SideEffect", "LocalActivity"}, markerNames(events), "%v", eventTypes(events))
	require.Equal(t, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, events[len(events)-1].GetEventType())
	for _, ev := range eventsOfType(events, enumspb.EVENT_TYPE_MARKER_RECORDED) {
		require.NotEmpty(t, ev.GetMarkerRecordedEventAttributes().GetDetails(), "marker %s has no details",
			ev.GetMarkerRecordedEventAttributes().GetMarkerName())
	}
}
