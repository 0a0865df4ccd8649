package tests

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// The golden scenarios. Each uses fixed workflow IDs and task queues (the
// server is the test's own) and steps that cannot race with a running
// workflow task, so each history is the same on every run.
func goldenScenarios() []goldenScenario {
	return []goldenScenario{
		{"activity", []string{"activity"}, goldenActivity},
		{"activity_retries", []string{"activity_retries"}, goldenActivityRetries},
		{"activity_timeout", []string{"activity_schedule_to_start_timeout"}, goldenActivityTimeout},
		{"timer", []string{"timer"}, goldenTimer},
		{"signal", []string{"signal", "signal_with_start"}, goldenSignal},
		{"child", []string{"child_parent", "child_child"}, goldenChild},
		{"continue_as_new", []string{"continue_as_new_first", "continue_as_new_second"}, goldenContinueAsNew},
		{"update", []string{"update"}, goldenUpdate},
		{"local_activity", []string{"local_activity_and_side_effect"}, goldenLocalActivity},
		{"cancel", []string{"cancel"}, goldenCancel},
		{"failure", []string{"workflow_failure"}, goldenFailure},
	}
}

// goldenStart starts workflowType with a fixed ID on a worker of its own
// queue and returns the run.
func goldenStart(t *testing.T, env *testEnv, ctx context.Context, id string, register func(worker.Registry), workflowType string, args ...any) client.WorkflowRun {
	t.Helper()
	tq := "golden-" + id
	env.startWorkerOn(t, tq, register)
	run, err := env.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "golden-" + id, TaskQueue: tq}, workflowType, args...)
	require.NoError(t, err)
	return run
}

func one(name string, run client.WorkflowRun) []goldenRun {
	return []goldenRun{{name: name, workflowID: run.GetID(), runID: run.GetRunID()}}
}

// idleAfter reports whether the workflow waits (its last event is a
// completed workflow task) with at least n events.
func idleAfter(n int) func([]*historypb.HistoryEvent) bool {
	return func(evs []*historypb.HistoryEvent) bool {
		return len(evs) >= n && evs[len(evs)-1].GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
	}
}

func goldenActivity(t *testing.T, env *testEnv, ctx context.Context) []goldenRun {
	run := goldenStart(t, env, ctx, "activity", func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(func(ctx workflow.Context, name string) (string, error) {
			ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
			var out string
			err := workflow.ExecuteActivity(ctx, "Greet", name).Get(ctx, &out)
			return out, err
		}, workflow.RegisterOptions{Name: "Hello"})
		r.RegisterActivityWithOptions(func(_ context.Context, name string) (string, error) { return "hello " + name, nil },
			activity.RegisterOptions{Name: "Greet"})
	}, "Hello", "golden")
	require.NoError(t, run.Get(ctx, nil))
	return one("activity", run)
}

func goldenActivityRetries(t *testing.T, env *testEnv, ctx context.Context) []goldenRun {
	run := goldenStart(t, env, ctx, "retries", func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(func(ctx workflow.Context) (int32, error) {
			ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second,
				RetryPolicy: &temporal.RetryPolicy{InitialInterval: 10 * time.Millisecond, MaximumAttempts: 5}})
			var attempt int32
			err := workflow.ExecuteActivity(ctx, "Flaky").Get(ctx, &attempt)
			return attempt, err
		}, workflow.RegisterOptions{Name: "Retries"})
		r.RegisterActivityWithOptions(func(ctx context.Context) (int32, error) {
			if a := activity.GetInfo(ctx).Attempt; a < 3 {
				return 0, temporal.NewApplicationError(fmt.Sprintf("attempt %d fails", a), "Flaky")
			}
			return activity.GetInfo(ctx).Attempt, nil
		}, activity.RegisterOptions{Name: "Flaky"})
	}, "Retries")
	require.NoError(t, run.Get(ctx, nil))
	return one("activity_retries", run)
}

// An activity on a queue no worker polls, with only schedule-to-close:
// both timeouts are due at once and it times out as schedule-to-start.
func goldenActivityTimeout(t *testing.T, env *testEnv, ctx context.Context) []goldenRun {
	run := goldenStart(t, env, ctx, "activity-timeout", func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(func(ctx workflow.Context) (string, error) {
			ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{ScheduleToCloseTimeout: time.Second, TaskQueue: "golden-nobody"})
			err := workflow.ExecuteActivity(ctx, "Never").Get(ctx, nil)
			var te *temporal.TimeoutError
			if errors.As(err, &te) {
				return te.TimeoutType().String(), nil
			}
			return "", err
		}, workflow.RegisterOptions{Name: "ActivityTimeout"})
	}, "ActivityTimeout")
	var out string
	require.NoError(t, run.Get(ctx, &out))
	require.Equal(t, enumspb.TIMEOUT_TYPE_SCHEDULE_TO_START.String(), out)
	return one("activity_schedule_to_start_timeout", run)
}

func goldenTimer(t *testing.T, env *testEnv, ctx context.Context) []goldenRun {
	run := goldenStart(t, env, ctx, "timer", func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
			if err := workflow.Sleep(ctx, 10*time.Millisecond); err != nil {
				return err
			}
			return workflow.NewTimerWithOptions(ctx, 20*time.Millisecond, workflow.TimerOptions{Summary: "second"}).Get(ctx, nil)
		}, workflow.RegisterOptions{Name: "Timer"})
	}, "Timer")
	require.NoError(t, run.Get(ctx, nil))
	return one("timer", run)
}

func registerWaitSignal(r worker.Registry) {
	r.RegisterWorkflowWithOptions(func(ctx workflow.Context) (string, error) {
		var v string
		workflow.GetSignalChannel(ctx, "go").Receive(ctx, &v)
		return v, nil
	}, workflow.RegisterOptions{Name: "WaitSignal"})
}

func goldenSignal(t *testing.T, env *testEnv, ctx context.Context) []goldenRun {
	run := goldenStart(t, env, ctx, "signal", registerWaitSignal, "WaitSignal")
	waitHistory(t, ctx, env, run.GetID(), "the workflow to wait", idleAfter(4))
	require.NoError(t, env.client.SignalWorkflow(ctx, run.GetID(), "", "go", "now"))
	require.NoError(t, run.Get(ctx, nil))

	swsRun, err := env.client.SignalWithStartWorkflow(ctx, "golden-signal-with-start", "go", "early",
		client.StartWorkflowOptions{TaskQueue: "golden-signal"}, "WaitSignal")
	require.NoError(t, err)
	require.NoError(t, swsRun.Get(ctx, nil))
	return append(one("signal", run), goldenRun{name: "signal_with_start", workflowID: swsRun.GetID(), runID: swsRun.GetRunID()})
}

// The child waits for a signal the test sends once the parent is idle, so
// the child's start and close reach the parent in separate tasks.
func goldenChild(t *testing.T, env *testEnv, ctx context.Context) []goldenRun {
	const childID = "golden-child-kid"
	run := goldenStart(t, env, ctx, "child", func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(func(ctx workflow.Context) (string, error) {
			cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: childID, StaticSummary: "kid"})
			var out string
			err := workflow.ExecuteChildWorkflow(cctx, "WaitSignal").Get(ctx, &out)
			return out, err
		}, workflow.RegisterOptions{Name: "Parent"})
		registerWaitSignal(r)
	}, "Parent")
	waitHistory(t, ctx, env, run.GetID(), "the parent to see its child start", func(evs []*historypb.HistoryEvent) bool {
		return len(eventsOfType(evs, enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED)) == 1 && idleAfter(8)(evs)
	})
	waitHistory(t, ctx, env, childID, "the child to wait", idleAfter(4))
	require.NoError(t, env.client.SignalWorkflow(ctx, childID, "", "go", "from test"))
	require.NoError(t, run.Get(ctx, nil))
	return append(one("child_parent", run), goldenRun{name: "child_child", workflowID: childID})
}

func goldenContinueAsNew(t *testing.T, env *testEnv, ctx context.Context) []goldenRun {
	run := goldenStart(t, env, ctx, "can", func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(func(ctx workflow.Context, n int) (int, error) {
			if n < 1 {
				return 0, workflow.NewContinueAsNewError(ctx, "Chain", n+1)
			}
			return n, nil
		}, workflow.RegisterOptions{Name: "Chain"})
	}, "Chain", 0)
	first := run.GetRunID() // Get follows the chain and moves the run's ID on
	require.NoError(t, run.Get(ctx, nil))
	desc, err := env.client.DescribeWorkflowExecution(ctx, run.GetID(), "")
	require.NoError(t, err)
	second := desc.GetWorkflowExecutionInfo().GetExecution().GetRunId()
	require.NotEqual(t, first, second)
	return []goldenRun{{name: "continue_as_new_first", workflowID: run.GetID(), runID: first},
		{name: "continue_as_new_second", workflowID: run.GetID(), runID: second}}
}

func goldenUpdate(t *testing.T, env *testEnv, ctx context.Context) []goldenRun {
	run := goldenStart(t, env, ctx, "update", func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(func(ctx workflow.Context) (int, error) {
			total, done := 0, false
			if err := workflow.SetUpdateHandler(ctx, "add", func(_ workflow.Context, n int) (int, error) {
				total += n
				done = true
				return total, nil
			}); err != nil {
				return 0, err
			}
			err := workflow.Await(ctx, func() bool { return done })
			return total, err
		}, workflow.RegisterOptions{Name: "Update"})
	}, "Update")
	waitHistory(t, ctx, env, run.GetID(), "the workflow to wait", idleAfter(4))
	h, err := env.client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: run.GetID(), UpdateID: "golden-update",
		UpdateName: "add", Args: []any{5}, WaitForStage: client.WorkflowUpdateStageCompleted})
	require.NoError(t, err)
	var got int
	require.NoError(t, h.Get(ctx, &got))
	require.Equal(t, 5, got)
	require.NoError(t, run.Get(ctx, nil))
	return one("update", run)
}

func goldenLocalActivity(t *testing.T, env *testEnv, ctx context.Context) []goldenRun {
	run := goldenStart(t, env, ctx, "local", func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(func(ctx workflow.Context) (int, error) {
			lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 10 * time.Second, Summary: "local"})
			var n int
			if err := workflow.ExecuteLocalActivity(lctx, "Two").Get(ctx, &n); err != nil {
				return 0, err
			}
			var m int
			if err := workflow.SideEffect(ctx, func(workflow.Context) any { return 3 }).Get(&m); err != nil {
				return 0, err
			}
			return n + m, nil
		}, workflow.RegisterOptions{Name: "Local"})
		r.RegisterActivityWithOptions(func(context.Context) (int, error) { return 2, nil }, activity.RegisterOptions{Name: "Two"})
	}, "Local")
	require.NoError(t, run.Get(ctx, nil))
	return one("local_activity_and_side_effect", run)
}

func goldenCancel(t *testing.T, env *testEnv, ctx context.Context) []goldenRun {
	run := goldenStart(t, env, ctx, "cancel", func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
			return workflow.Sleep(ctx, time.Hour)
		}, workflow.RegisterOptions{Name: "Cancellable"})
	}, "Cancellable")
	waitHistory(t, ctx, env, run.GetID(), "the timer to start", func(evs []*historypb.HistoryEvent) bool {
		return len(evs) == 5 && evs[4].GetEventType() == enumspb.EVENT_TYPE_TIMER_STARTED
	})
	require.NoError(t, env.client.CancelWorkflow(ctx, run.GetID(), ""))
	var canceled *temporal.CanceledError
	require.ErrorAs(t, run.Get(ctx, nil), &canceled)
	return one("cancel", run)
}

func goldenFailure(t *testing.T, env *testEnv, ctx context.Context) []goldenRun {
	run := goldenStart(t, env, ctx, "failure", func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(func(workflow.Context) error {
			return temporal.NewNonRetryableApplicationError("it broke", "Broken", nil, "detail")
		}, workflow.RegisterOptions{Name: "Fails"})
	}, "Fails")
	require.Error(t, run.Get(ctx, nil))
	return one("workflow_failure", run)
}
