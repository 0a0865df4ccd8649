package tests

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Describe shows status, times, history length, memo (including a memo
// upserted by the workflow), the TemporalChangeVersion search attribute,
// and a pending activity with its attempt, last failure and heartbeat.
func TestDescribeWorkflowExecution(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 60*time.Second)
	release := make(chan struct{})
	tq := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
			workflow.GetVersion(ctx, "change", workflow.DefaultVersion, 2)
			if err := workflow.UpsertMemo(ctx, map[string]any{"added": "later"}); err != nil {
				return err
			}
			ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
				ActivityID: "slow", StartToCloseTimeout: time.Minute, HeartbeatTimeout: 30 * time.Second,
				RetryPolicy: &temporal.RetryPolicy{InitialInterval: 10 * time.Millisecond, MaximumAttempts: 5},
			})
			return workflow.ExecuteActivity(ctx, "Slow").Get(ctx, nil)
		}, workflow.RegisterOptions{Name: "Describable"})
		r.RegisterActivityWithOptions(func(ctx context.Context) error {
			if activity.GetInfo(ctx).Attempt == 1 {
				return temporal.NewApplicationError("first attempt fails", "Flaky")
			}
			activity.RecordHeartbeat(ctx, "beat")
			select {
			case <-release:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}, activity.RegisterOptions{Name: "Slow"})
	})
	opts := startOptions(t, tq)
	opts.Memo = map[string]any{"owner": "tests"}
	run, err := env.client.ExecuteWorkflow(ctx, opts, "Describable")
	require.NoError(t, err)

	var desc *describeResponse
	eventually(t, ctx, "a started second attempt with a heartbeat", func() error {
		d, err := env.client.DescribeWorkflowExecution(ctx, run.GetID(), "")
		if err != nil {
			return err
		}
		if len(d.PendingActivities) != 1 || d.PendingActivities[0].GetAttempt() != 2 ||
			d.PendingActivities[0].GetHeartbeatDetails() == nil {
			return errNotYet
		}
		desc = d
		return nil
	})
	info := desc.GetWorkflowExecutionInfo()
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, info.GetStatus())
	require.Equal(t, "Describable", info.GetType().GetName())
	require.Equal(t, run.GetRunID(), info.GetExecution().GetRunId())
	require.Equal(t, tq, info.GetTaskQueue())
	require.NotNil(t, info.GetStartTime())
	require.Nil(t, info.GetCloseTime())
	events := requireHistory(t, ctx, env.client, run.GetID(), run.GetRunID())
	require.Equal(t, int64(len(events)), info.GetHistoryLength())

	var owner, added string
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(info.GetMemo().GetFields()["owner"], &owner))
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(info.GetMemo().GetFields()["added"], &added))
	require.Equal(t, "tests", owner)
	require.Equal(t, "later", added)
	require.Contains(t, info.GetSearchAttributes().GetIndexedFields(), "TemporalChangeVersion")

	pa := desc.PendingActivities[0]
	require.Equal(t, "slow", pa.GetActivityId())
	require.Equal(t, "Slow", pa.GetActivityType().GetName())
	require.Equal(t, enumspb.PENDING_ACTIVITY_STATE_STARTED, pa.GetState())
	require.Equal(t, int32(5), pa.GetMaximumAttempts())
	require.Equal(t, "first attempt fails", pa.GetLastFailure().GetMessage())
	require.NotNil(t, pa.GetLastHeartbeatTime())
	require.Nil(t, desc.GetPendingWorkflowTask(), "no workflow task is pending while the activity runs")

	close(release)
	require.NoError(t, run.Get(ctx, nil))
	d, err := env.client.DescribeWorkflowExecution(ctx, run.GetID(), run.GetRunID())
	require.NoError(t, err)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, d.GetWorkflowExecutionInfo().GetStatus())
	require.NotNil(t, d.GetWorkflowExecutionInfo().GetCloseTime())
	require.Empty(t, d.GetPendingActivities())
}
