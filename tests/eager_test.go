package tests

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// An eager start hands the first workflow task to the starting client's
// worker; activities asking for eager execution come back in the
// completion's response instead of through matching.
func TestEagerStartAndEagerActivity(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 60*time.Second)
	tq := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(func(ctx workflow.Context) (string, error) {
			ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
			var out string
			err := workflow.ExecuteActivity(ctx, "Echo", "eager").Get(ctx, &out)
			return out, err
		}, workflow.RegisterOptions{Name: "EagerFlow"})
		r.RegisterActivityWithOptions(func(_ context.Context, s string) (string, error) { return s, nil }, activity.RegisterOptions{Name: "Echo"})
	})
	opts := startOptions(t, tq)
	opts.EnableEagerStart = true
	run, err := env.client.ExecuteWorkflow(ctx, opts, "EagerFlow")
	require.NoError(t, err)
	var out string
	require.NoError(t, run.Get(ctx, &out))
	require.Equal(t, "eager", out)
	events := requireHistory(t, ctx, env.client, run.GetID(), run.GetRunID())
	requireContiguousIDs(t, events)
	require.Equal(t, enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED, events[2].GetEventType(), "%v", eventTypes(events))
	require.True(t, events[2].GetEventTime().AsTime().Equal(events[0].GetEventTime().AsTime()),
		"an eager first task is started in the start's own transaction")
	require.Equal(t, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, events[len(events)-1].GetEventType())
	act := eventsOfType(events, enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED)
	require.Len(t, act, 1)
	require.Equal(t, "eager", act[0].GetActivityTaskStartedEventAttributes().GetRequestId(), "the activity ran eagerly")
}
