package tests

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// A 2 s timer fires no earlier than 2 s, in workflow time and wall time.
func TestTimerFires(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 60*time.Second)
	tq := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(func(ctx workflow.Context) (time.Duration, error) {
			before := workflow.Now(ctx)
			if err := workflow.Sleep(ctx, 2*time.Second); err != nil {
				return 0, err
			}
			return workflow.Now(ctx).Sub(before), nil
		}, workflow.RegisterOptions{Name: "SleepWorkflow"})
	})

	start := time.Now()
	run, err := env.client.ExecuteWorkflow(ctx, startOptions(t, tq), "SleepWorkflow")
	require.NoError(t, err)
	var slept time.Duration
	require.NoError(t, run.Get(ctx, &slept))
	require.GreaterOrEqual(t, time.Since(start), 2*time.Second, "wall clock")
	require.GreaterOrEqual(t, slept, 2*time.Second, "workflow.Now difference")
	require.Less(t, slept, 20*time.Second, "workflow.Now difference")

	events := requireHistory(t, ctx, env.client, run.GetID(), run.GetRunID())
	requireContiguousIDs(t, events)
	startedTimers := eventsOfType(events, enumspb.EVENT_TYPE_TIMER_STARTED)
	fired := eventsOfType(events, enumspb.EVENT_TYPE_TIMER_FIRED)
	require.Len(t, startedTimers, 1, "%v", eventTypes(events))
	require.Len(t, fired, 1, "%v", eventTypes(events))
	require.Equal(t, 2*time.Second, startedTimers[0].GetTimerStartedEventAttributes().GetStartToFireTimeout().AsDuration())
	require.Equal(t, startedTimers[0].GetEventId(), fired[0].GetTimerFiredEventAttributes().GetStartedEventId())
	require.GreaterOrEqual(t, fired[0].GetEventTime().AsTime().Sub(startedTimers[0].GetEventTime().AsTime()), 2*time.Second,
		"TimerFired event time - TimerStarted event time")
}

// A cancelled timer never fires, even after its deadline has passed.
func TestTimerCancelled(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 60*time.Second)
	tq := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(func(ctx workflow.Context) (string, error) {
			timerCtx, cancel := workflow.WithCancel(ctx)
			timer := workflow.NewTimer(timerCtx, 2*time.Second)
			// Cancel in a later workflow task, so the server has the timer.
			if err := workflow.Sleep(ctx, 500*time.Millisecond); err != nil {
				return "", err
			}
			cancel()
			err := timer.Get(ctx, nil)
			var canceled *temporal.CanceledError
			if !errors.As(err, &canceled) {
				return "", fmt.Errorf("cancelled timer returned %v", err)
			}
			// Outlive the cancelled timer's deadline.
			if err := workflow.Sleep(ctx, 3*time.Second); err != nil {
				return "", err
			}
			return "done", nil
		}, workflow.RegisterOptions{Name: "CancelTimerWorkflow"})
	})

	run, err := env.client.ExecuteWorkflow(ctx, startOptions(t, tq), "CancelTimerWorkflow")
	require.NoError(t, err)
	var out string
	require.NoError(t, run.Get(ctx, &out))
	require.Equal(t, "done", out)

	events := requireHistory(t, ctx, env.client, run.GetID(), run.GetRunID())
	requireContiguousIDs(t, events)
	types := eventTypes(events)
	var cancelledID string
	for _, ev := range eventsOfType(events, enumspb.EVENT_TYPE_TIMER_STARTED) {
		if ev.GetTimerStartedEventAttributes().GetStartToFireTimeout().AsDuration() == 2*time.Second {
			cancelledID = ev.GetTimerStartedEventAttributes().GetTimerId()
		}
	}
	require.NotEmpty(t, cancelledID, "no TimerStarted for the 2 s timer: %v", types)
	canceled := eventsOfType(events, enumspb.EVENT_TYPE_TIMER_CANCELED)
	require.Len(t, canceled, 1, "%v", types)
	require.Equal(t, cancelledID, canceled[0].GetTimerCanceledEventAttributes().GetTimerId())
	fired := eventsOfType(events, enumspb.EVENT_TYPE_TIMER_FIRED)
	require.Len(t, fired, 2, "the two sleeps fire, the cancelled timer does not: %v", types)
	for _, ev := range fired {
		require.NotEqual(t, cancelledID, ev.GetTimerFiredEventAttributes().GetTimerId(), "cancelled timer fired: %v", types)
	}
}

// A workflow that outlives its run timeout is timed out by the server.
func TestWorkflowRunTimeout(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 60*time.Second)
	tq := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
			return workflow.Sleep(ctx, time.Hour)
		}, workflow.RegisterOptions{Name: "SleepHourWorkflow"})
	})

	opts := startOptions(t, tq)
	opts.WorkflowRunTimeout = 2 * time.Second
	start := time.Now()
	run, err := env.client.ExecuteWorkflow(ctx, opts, "SleepHourWorkflow")
	require.NoError(t, err)
	err = run.Get(ctx, nil)
	require.Error(t, err)
	require.GreaterOrEqual(t, time.Since(start), 2*time.Second, "timed out early")
	var timeoutErr *temporal.TimeoutError
	require.ErrorAs(t, err, &timeoutErr)

	events := requireHistory(t, ctx, env.client, run.GetID(), run.GetRunID())
	requireContiguousIDs(t, events)
	require.Equal(t, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT, events[len(events)-1].GetEventType(), "%v", eventTypes(events))
	require.Equal(t, 2*time.Second, events[0].GetWorkflowExecutionStartedEventAttributes().GetWorkflowRunTimeout().AsDuration())
	require.Empty(t, eventsOfType(events, enumspb.EVENT_TYPE_TIMER_FIRED), "%v", eventTypes(events))
}

// Many workflows with timers and activities run at once and all complete.
func TestManyConcurrentWorkflows(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 90*time.Second)
	tq := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(timerThenActivityWorkflow, workflow.RegisterOptions{Name: "TimerThenActivity"})
		r.RegisterActivityWithOptions(doubleActivity, activity.RegisterOptions{Name: "Double"})
	})

	const n = 20
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = func() error {
				run, err := env.client.ExecuteWorkflow(ctx, startOptions(t, tq), "TimerThenActivity", i, time.Second)
				if err != nil {
					return fmt.Errorf("start: %w", err)
				}
				var out int
				if err := run.Get(ctx, &out); err != nil {
					return fmt.Errorf("get: %w", err)
				}
				if out != 2*i {
					return fmt.Errorf("result %d, want %d", out, 2*i)
				}
				events, err := history(ctx, env.client, run.GetID(), run.GetRunID())
				if err != nil {
					return fmt.Errorf("history: %w", err)
				}
				return checkContiguousIDs(events)
			}()
		}()
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "workflow %d", i)
	}
}

// timerThenActivityWorkflow sleeps, then returns Double(n).
func timerThenActivityWorkflow(ctx workflow.Context, n int, sleep time.Duration) (int, error) {
	if err := workflow.Sleep(ctx, sleep); err != nil {
		return 0, err
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second})
	var out int
	err := workflow.ExecuteActivity(ctx, "Double", n).Get(ctx, &out)
	return out, err
}

func doubleActivity(_ context.Context, n int) (int, error) { return 2 * n, nil }
