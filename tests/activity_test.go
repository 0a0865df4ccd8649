package tests

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Runs one activity and checks the result and the exact history.
func TestOneActivityWorkflow(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 60*time.Second)
	tq := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(func(ctx workflow.Context, name string) (string, error) {
			ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
			var out string
			err := workflow.ExecuteActivity(ctx, "Greet", name).Get(ctx, &out)
			return out, err
		}, workflow.RegisterOptions{Name: "GreetWorkflow"})
		r.RegisterActivityWithOptions(func(ctx context.Context, name string) (string, error) {
			return "Hello, " + name + "!", nil
		}, activity.RegisterOptions{Name: "Greet"})
	})

	run, err := env.client.ExecuteWorkflow(ctx, startOptions(t, tq), "GreetWorkflow", "Sundial")
	require.NoError(t, err)
	var out string
	require.NoError(t, run.Get(ctx, &out))
	require.Equal(t, "Hello, Sundial!", out)

	events := requireHistory(t, ctx, env.client, run.GetID(), run.GetRunID())
	require.Equal(t, []enumspb.EventType{
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
		enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
		enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED,
		enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
	}, eventTypes(events))
	requireContiguousIDs(t, events)

	started := events[0].GetWorkflowExecutionStartedEventAttributes()
	require.Equal(t, "GreetWorkflow", started.GetWorkflowType().GetName())
	require.Equal(t, tq, started.GetTaskQueue().GetName())

	// The SDK sends its name in sdk_metadata on the first completion; the
	// server must store it on the WorkflowTaskCompleted event.
	md := events[3].GetWorkflowTaskCompletedEventAttributes().GetSdkMetadata()
	require.NotNil(t, md, "first WorkflowTaskCompleted has no sdk_metadata")
	require.Equal(t, "temporal-go", md.GetSdkName())
	require.NotEmpty(t, md.GetSdkVersion())

	// Cross-references between events.
	sched := events[4].GetActivityTaskScheduledEventAttributes()
	require.Equal(t, "Greet", sched.GetActivityType().GetName())
	require.Equal(t, int64(4), sched.GetWorkflowTaskCompletedEventId())
	require.Equal(t, int64(5), events[5].GetActivityTaskStartedEventAttributes().GetScheduledEventId())
	require.Equal(t, int32(1), events[5].GetActivityTaskStartedEventAttributes().GetAttempt())
	completed := events[6].GetActivityTaskCompletedEventAttributes()
	require.Equal(t, int64(5), completed.GetScheduledEventId())
	require.Equal(t, int64(6), completed.GetStartedEventId())
	require.Equal(t, int64(8), events[8].GetWorkflowTaskStartedEventAttributes().GetScheduledEventId())
	require.Equal(t, int64(10), events[10].GetWorkflowExecutionCompletedEventAttributes().GetWorkflowTaskCompletedEventId())
}

// An activity failing twice with a retryable error succeeds on attempt 3;
// retries leave no trace in history except the final attempt number.
func TestActivityRetriesUntilSuccess(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 60*time.Second)
	var calls atomic.Int32
	tq := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(func(ctx workflow.Context) (int32, error) {
			ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
				StartToCloseTimeout: 10 * time.Second,
				RetryPolicy: &temporal.RetryPolicy{
					InitialInterval:    100 * time.Millisecond,
					BackoffCoefficient: 1,
					MaximumAttempts:    5,
				},
			})
			var attempt int32
			err := workflow.ExecuteActivity(ctx, "Flaky").Get(ctx, &attempt)
			return attempt, err
		}, workflow.RegisterOptions{Name: "RetryWorkflow"})
		r.RegisterActivityWithOptions(func(ctx context.Context) (int32, error) {
			calls.Add(1)
			attempt := activity.GetInfo(ctx).Attempt
			if attempt < 3 {
				return 0, fmt.Errorf("attempt %d fails", attempt)
			}
			return attempt, nil
		}, activity.RegisterOptions{Name: "Flaky"})
	})

	run, err := env.client.ExecuteWorkflow(ctx, startOptions(t, tq), "RetryWorkflow")
	require.NoError(t, err)
	var attempt int32
	require.NoError(t, run.Get(ctx, &attempt))
	require.Equal(t, int32(3), attempt)
	require.Equal(t, int32(3), calls.Load())

	events := requireHistory(t, ctx, env.client, run.GetID(), run.GetRunID())
	requireContiguousIDs(t, events)
	require.Len(t, eventsOfType(events, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED), 1, "%v", eventTypes(events))
	require.Len(t, eventsOfType(events, enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED), 1, "%v", eventTypes(events))
	require.Empty(t, eventsOfType(events, enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED), "%v", eventTypes(events))
	startedEvents := eventsOfType(events, enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED)
	require.Len(t, startedEvents, 1, "%v", eventTypes(events))
	st := startedEvents[0].GetActivityTaskStartedEventAttributes()
	require.Equal(t, int32(3), st.GetAttempt())
	require.Contains(t, st.GetLastFailure().GetMessage(), "attempt 2 fails")
}

// A non-retryable error, whether marked by the activity or listed in the
// retry policy, ends the activity after one attempt.
func TestActivityNonRetryableError(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 60*time.Second)
	var calls atomic.Int32
	tq := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(func(ctx workflow.Context, mode string) error {
			ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
				StartToCloseTimeout: 10 * time.Second,
				RetryPolicy: &temporal.RetryPolicy{
					InitialInterval:        100 * time.Millisecond,
					MaximumAttempts:        10,
					NonRetryableErrorTypes: []string{"ListedError"},
				},
			})
			return workflow.ExecuteActivity(ctx, "Fail", mode).Get(ctx, nil)
		}, workflow.RegisterOptions{Name: "NonRetryableWorkflow"})
		r.RegisterActivityWithOptions(func(ctx context.Context, mode string) error {
			calls.Add(1)
			if mode == "marked" {
				return temporal.NewNonRetryableApplicationError("bad input", "MarkedError", nil, "detail")
			}
			return temporal.NewApplicationError("listed as non-retryable", "ListedError")
		}, activity.RegisterOptions{Name: "Fail"})
	})

	for _, tc := range []struct{ mode, errType string }{
		{"marked", "MarkedError"},
		{"listed", "ListedError"},
	} {
		calls.Store(0)
		run, err := env.client.ExecuteWorkflow(ctx, startOptions(t, tq), "NonRetryableWorkflow", tc.mode)
		require.NoError(t, err)
		err = run.Get(ctx, nil)
		require.Error(t, err, tc.mode)
		var actErr *temporal.ActivityError
		require.ErrorAs(t, err, &actErr, tc.mode)
		var appErr *temporal.ApplicationError
		require.ErrorAs(t, actErr, &appErr, tc.mode)
		require.Equal(t, tc.errType, appErr.Type())
		require.Equal(t, int32(1), calls.Load(), "%s: attempts", tc.mode)

		events := requireHistory(t, ctx, env.client, run.GetID(), run.GetRunID())
		requireContiguousIDs(t, events)
		require.Equal(t, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED, events[len(events)-1].GetEventType())
		failed := eventsOfType(events, enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED)
		require.Len(t, failed, 1, "%s: %v", tc.mode, eventTypes(events))
		require.Equal(t, enumspb.RETRY_STATE_NON_RETRYABLE_FAILURE, failed[0].GetActivityTaskFailedEventAttributes().GetRetryState())
		startedEvents := eventsOfType(events, enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED)
		require.Len(t, startedEvents, 1)
		require.Equal(t, int32(1), startedEvents[0].GetActivityTaskStartedEventAttributes().GetAttempt())
	}
}

// Attempt 1 heartbeats then stops; the heartbeat timeout fails it and
// attempt 2 sees the last recorded heartbeat details.
func TestActivityHeartbeatTimeoutKeepsDetails(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 60*time.Second)
	release := make(chan struct{})
	tq := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(func(ctx workflow.Context) (string, error) {
			ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
				StartToCloseTimeout: 30 * time.Second,
				HeartbeatTimeout:    2 * time.Second,
				RetryPolicy: &temporal.RetryPolicy{
					InitialInterval: 100 * time.Millisecond,
					MaximumAttempts: 3,
				},
			})
			var out string
			err := workflow.ExecuteActivity(ctx, "Progress").Get(ctx, &out)
			return out, err
		}, workflow.RegisterOptions{Name: "HeartbeatWorkflow"})
		r.RegisterActivityWithOptions(func(ctx context.Context) (string, error) {
			if activity.GetInfo(ctx).Attempt == 1 {
				for i := 1; i <= 3; i++ {
					activity.RecordHeartbeat(ctx, fmt.Sprintf("progress-%d", i))
					time.Sleep(10 * time.Millisecond)
				}
				// Go silent until the server times this attempt out.
				select {
				case <-ctx.Done():
				case <-release:
				}
				return "", errors.New("attempt 1 should have timed out")
			}
			if !activity.HasHeartbeatDetails(ctx) {
				return "no details", nil
			}
			var details string
			if err := activity.GetHeartbeatDetails(ctx, &details); err != nil {
				return "", err
			}
			return details, nil
		}, activity.RegisterOptions{Name: "Progress"})
	})
	t.Cleanup(func() { close(release) }) // runs before the worker stops

	start := time.Now()
	run, err := env.client.ExecuteWorkflow(ctx, startOptions(t, tq), "HeartbeatWorkflow")
	require.NoError(t, err)
	var out string
	require.NoError(t, run.Get(ctx, &out))
	require.Equal(t, "progress-3", out)
	require.GreaterOrEqual(t, time.Since(start), 2*time.Second, "heartbeat timeout fired early")

	events := requireHistory(t, ctx, env.client, run.GetID(), run.GetRunID())
	requireContiguousIDs(t, events)
	startedEvents := eventsOfType(events, enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED)
	require.Len(t, startedEvents, 1, "%v", eventTypes(events))
	st := startedEvents[0].GetActivityTaskStartedEventAttributes()
	require.Equal(t, int32(2), st.GetAttempt())
	require.Equal(t, enumspb.TIMEOUT_TYPE_HEARTBEAT, st.GetLastFailure().GetTimeoutFailureInfo().GetTimeoutType(),
		"last failure: %v", st.GetLastFailure())
}

// Start-to-close and schedule-to-close timeouts fail the activity with the
// right timeout type.
func TestActivityTimeouts(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 60*time.Second)
	release := make(chan struct{})
	block := func(ctx context.Context) {
		select {
		case <-ctx.Done():
		case <-release:
		}
	}
	tq := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(func(ctx workflow.Context, kind string) error {
			var opts workflow.ActivityOptions
			switch kind {
			case "start-to-close":
				opts.StartToCloseTimeout = time.Second
				opts.RetryPolicy = &temporal.RetryPolicy{MaximumAttempts: 1}
			case "schedule-to-close":
				// Attempt 2 starts at about 0.5 s, so its start-to-close
				// deadline (3.5 s) is after the schedule-to-close one (3 s):
				// only schedule-to-close can fire.
				opts.ScheduleToCloseTimeout = 3 * time.Second
				opts.RetryPolicy = &temporal.RetryPolicy{InitialInterval: 500 * time.Millisecond}
			}
			return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), "FailThenBlock", kind).Get(ctx, nil)
		}, workflow.RegisterOptions{Name: "TimeoutWorkflow"})
		r.RegisterActivityWithOptions(func(ctx context.Context, kind string) error {
			if kind == "schedule-to-close" && activity.GetInfo(ctx).Attempt == 1 {
				return errors.New("first attempt fails fast")
			}
			block(ctx)
			return nil
		}, activity.RegisterOptions{Name: "FailThenBlock"})
	})
	t.Cleanup(func() { close(release) })

	for _, tc := range []struct {
		kind string
		want enumspb.TimeoutType
		min  time.Duration
	}{
		{"start-to-close", enumspb.TIMEOUT_TYPE_START_TO_CLOSE, time.Second},
		{"schedule-to-close", enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE, 3 * time.Second},
	} {
		start := time.Now()
		run, err := env.client.ExecuteWorkflow(ctx, startOptions(t, tq), "TimeoutWorkflow", tc.kind)
		require.NoError(t, err)
		err = run.Get(ctx, nil)
		require.Error(t, err, tc.kind)
		require.GreaterOrEqual(t, time.Since(start), tc.min, "%s fired early", tc.kind)
		var actErr *temporal.ActivityError
		require.ErrorAs(t, err, &actErr, tc.kind)
		var timeoutErr *temporal.TimeoutError
		require.ErrorAs(t, actErr, &timeoutErr, tc.kind)
		require.Equal(t, tc.want, timeoutErr.TimeoutType(), tc.kind)

		events := requireHistory(t, ctx, env.client, run.GetID(), run.GetRunID())
		requireContiguousIDs(t, events)
		timedOut := eventsOfType(events, enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT)
		require.Len(t, timedOut, 1, "%s: %v", tc.kind, eventTypes(events))
		require.Equal(t, tc.want,
			timedOut[0].GetActivityTaskTimedOutEventAttributes().GetFailure().GetTimeoutFailureInfo().GetTimeoutType(), tc.kind)
		require.Equal(t, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED, events[len(events)-1].GetEventType(), tc.kind)
	}
}

// The workflow cancels a running activity and waits for it to acknowledge.
func TestActivityCancelledByWorkflow(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 60*time.Second)
	activityRunning := make(chan struct{}, 1)
	var sawDone atomic.Bool
	tq := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(func(ctx workflow.Context) (string, error) {
			actCtx, cancel := workflow.WithCancel(ctx)
			actCtx = workflow.WithActivityOptions(actCtx, workflow.ActivityOptions{
				StartToCloseTimeout: 30 * time.Second,
				HeartbeatTimeout:    2 * time.Second,
				WaitForCancellation: true,
			})
			fut := workflow.ExecuteActivity(actCtx, "Spin")
			// Cancel in a later workflow task, once the activity runs.
			if err := workflow.Sleep(ctx, time.Second); err != nil {
				return "", err
			}
			cancel()
			err := fut.Get(ctx, nil)
			var canceled *temporal.CanceledError
			if errors.As(err, &canceled) {
				return "activity cancelled", nil
			}
			return "", fmt.Errorf("activity ended with %v, want CanceledError", err)
		}, workflow.RegisterOptions{Name: "CancelActivityWorkflow"})
		r.RegisterActivityWithOptions(func(ctx context.Context) error {
			select {
			case activityRunning <- struct{}{}:
			default:
			}
			for {
				activity.RecordHeartbeat(ctx)
				select {
				case <-ctx.Done():
					sawDone.Store(true)
					return ctx.Err()
				case <-time.After(100 * time.Millisecond):
				}
			}
		}, activity.RegisterOptions{Name: "Spin"})
	})

	run, err := env.client.ExecuteWorkflow(ctx, startOptions(t, tq), "CancelActivityWorkflow")
	require.NoError(t, err)
	var out string
	require.NoError(t, run.Get(ctx, &out))
	require.Equal(t, "activity cancelled", out)
	select {
	case <-activityRunning:
	default:
		t.Fatal("the activity had not started 1 s after it was scheduled")
	}
	require.True(t, sawDone.Load(), "activity context was never cancelled")

	events := requireHistory(t, ctx, env.client, run.GetID(), run.GetRunID())
	requireContiguousIDs(t, events)
	types := eventTypes(events)
	require.Len(t, eventsOfType(events, enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED), 1, "%v", types)
	canceled := eventsOfType(events, enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCELED)
	require.Len(t, canceled, 1, "%v", types)
	require.Less(t, eventsOfType(events, enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED)[0].GetEventId(), canceled[0].GetEventId())
	require.Empty(t, eventsOfType(events, enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED), "%v", types)
	require.Equal(t, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, events[len(events)-1].GetEventType())
}
