package tests

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// A chain of five runs joined by continue-as-new, with a signal sent
// during each hand-over: every signal lands in some run, none is lost.
func TestContinueAsNewChainKeepsSignals(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 90*time.Second)
	tq := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(func(ctx workflow.Context, run, seen int) (int, error) {
			ch := workflow.GetSignalChannel(ctx, "sig")
			for ch.ReceiveAsync(nil) {
				seen++
			}
			if run == 5 {
				// The last run waits until every signal arrived.
				for seen < 5 {
					ch.Receive(ctx, nil)
					seen++
				}
				return seen, nil
			}
			if err := workflow.Sleep(ctx, 200*time.Millisecond); err != nil {
				return 0, err
			}
			for ch.ReceiveAsync(nil) {
				seen++
			}
			return 0, workflow.NewContinueAsNewError(ctx, "Chain", run+1, seen)
		}, workflow.RegisterOptions{Name: "Chain"})
	})
	run, err := env.client.ExecuteWorkflow(ctx, startOptions(t, tq), "Chain", 1, 0)
	require.NoError(t, err)
	firstRun := run.GetRunID() // Get moves the run to the end of the chain
	for i := range 5 {
		time.Sleep(150 * time.Millisecond)
		require.NoError(t, env.client.SignalWorkflow(ctx, run.GetID(), "", "sig", i), "signal %d", i)
	}
	var seen int
	require.NoError(t, run.Get(ctx, &seen), "Get follows the chain")
	require.Equal(t, 5, seen)

	first := requireHistory(t, ctx, env.client, run.GetID(), firstRun)
	last := first[len(first)-1]
	require.Equal(t, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW, last.GetEventType())
	next := last.GetWorkflowExecutionContinuedAsNewEventAttributes().GetNewExecutionRunId()
	second := requireHistory(t, ctx, env.client, run.GetID(), next)
	started := second[0].GetWorkflowExecutionStartedEventAttributes()
	require.Equal(t, firstRun, started.GetContinuedExecutionRunId())
	require.Equal(t, firstRun, started.GetFirstExecutionRunId(), "first_execution_run_id is kept")
	require.NotEqual(t, firstRun, run.GetRunID(), "Get followed the chain to the last run")
	require.Equal(t, enumspb.CONTINUE_AS_NEW_INITIATOR_WORKFLOW, started.GetInitiator())
}

// A failed run with a retry policy is retried as a new run; attempt 2
// succeeds.
func TestWorkflowRetry(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 60*time.Second)
	tq := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(func(ctx workflow.Context) (int32, error) {
			attempt := workflow.GetInfo(ctx).Attempt
			if attempt == 1 {
				return 0, temporal.NewApplicationError("first run fails", "Flaky")
			}
			return attempt, nil
		}, workflow.RegisterOptions{Name: "Retried"})
	})
	opts := startOptions(t, tq)
	opts.RetryPolicy = &temporal.RetryPolicy{InitialInterval: 100 * time.Millisecond, MaximumAttempts: 3}
	run, err := env.client.ExecuteWorkflow(ctx, opts, "Retried")
	require.NoError(t, err)
	firstRun := run.GetRunID()
	var attempt int32
	require.NoError(t, run.Get(ctx, &attempt))
	require.Equal(t, int32(2), attempt)

	first := requireHistory(t, ctx, env.client, run.GetID(), firstRun)
	failed := first[len(first)-1].GetWorkflowExecutionFailedEventAttributes()
	require.NotNil(t, failed, "%v", eventTypes(first))
	require.Equal(t, enumspb.RETRY_STATE_IN_PROGRESS, failed.GetRetryState())
	second := requireHistory(t, ctx, env.client, run.GetID(), failed.GetNewExecutionRunId())
	started := second[0].GetWorkflowExecutionStartedEventAttributes()
	require.Equal(t, enumspb.CONTINUE_AS_NEW_INITIATOR_RETRY, started.GetInitiator())
	require.Equal(t, int32(2), started.GetAttempt())
	require.Equal(t, "first run fails", started.GetContinuedFailure().GetMessage())
	require.GreaterOrEqual(t, started.GetFirstWorkflowTaskBackoff().AsDuration(), 100*time.Millisecond)
}

// A cron workflow runs on its schedule, each run seeing the previous
// result; terminating the current run stops the chain.
func TestCronSchedule(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 60*time.Second)
	tq := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(func(ctx workflow.Context) (int, error) {
			prev := 0
			if workflow.HasLastCompletionResult(ctx) {
				if err := workflow.GetLastCompletionResult(ctx, &prev); err != nil {
					return 0, err
				}
			}
			return prev + 1, nil
		}, workflow.RegisterOptions{Name: "Counter"})
	})
	opts := startOptions(t, tq)
	opts.CronSchedule = "@every 1s"
	run, err := env.client.ExecuteWorkflow(ctx, opts, "Counter")
	require.NoError(t, err)
	firstRun := run.GetRunID()
	var runs []string
	eventually(t, ctx, "two cron runs to complete", func() error {
		runs = runs[:0]
		runID := firstRun
		for runID != "" {
			events, err := history(ctx, env.client, run.GetID(), runID)
			if err != nil {
				return err
			}
			last := events[len(events)-1]
			if last.GetEventType() != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED {
				break
			}
			runs = append(runs, runID)
			runID = last.GetWorkflowExecutionCompletedEventAttributes().GetNewExecutionRunId()
		}
		if len(runs) < 2 {
			return fmt.Errorf("%d cron runs completed", len(runs))
		}
		return nil
	})
	second := requireHistory(t, ctx, env.client, run.GetID(), runs[1])
	started := second[0].GetWorkflowExecutionStartedEventAttributes()
	require.Equal(t, enumspb.CONTINUE_AS_NEW_INITIATOR_CRON_SCHEDULE, started.GetInitiator())
	require.NotNil(t, started.GetLastCompletionResult(), "the next cron run gets the last result")
	require.NoError(t, env.client.TerminateWorkflow(ctx, run.GetID(), "", "stop the schedule"))

	_, err = env.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: uniqueName(t, "bad"), TaskQueue: tq, CronSchedule: "not a schedule"}, "Counter")
	var invalid *serviceerror.InvalidArgument
	require.True(t, errors.As(err, &invalid), "invalid cron: %v", err)
}

// DeleteWorkflowExecution removes a run; retention deletes closed runs.
func TestDeleteAndRetention(t *testing.T) {
	t.Parallel()
	env := newTestEnvWithConfig(t, map[string]any{"history.retentionOverride": "1s"})
	ctx := testContext(t, 60*time.Second)
	tq := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(func(workflow.Context) error { return nil }, workflow.RegisterOptions{Name: "Quick"})
	})
	running, err := env.client.ExecuteWorkflow(ctx, startOptions(t, uniqueName(t, "idle")), "Nobody")
	require.NoError(t, err)
	_, err = env.client.WorkflowService().DeleteWorkflowExecution(ctx, deleteRequest(running.GetID(), running.GetRunID()))
	require.NoError(t, err)
	var nf *serviceerror.NotFound
	_, err = env.client.DescribeWorkflowExecution(ctx, running.GetID(), running.GetRunID())
	require.True(t, errors.As(err, &nf), "describe after delete: %v", err)

	done, err := env.client.ExecuteWorkflow(ctx, startOptions(t, tq), "Quick")
	require.NoError(t, err)
	require.NoError(t, done.Get(ctx, nil))
	eventually(t, ctx, "retention to delete the closed run", func() error {
		_, err := env.client.DescribeWorkflowExecution(ctx, done.GetID(), done.GetRunID())
		if errors.As(err, &nf) {
			return nil
		}
		return fmt.Errorf("still there (%v)", err)
	})
}
