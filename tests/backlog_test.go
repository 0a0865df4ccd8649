package tests

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
)

// describeBacklog asks DescribeTaskQueue (default mode, stats and legacy
// status) about the workflow queue tq and returns its stats and status.
func describeBacklog(ctx context.Context, c client.Client, tq string) (*taskqueuepb.TaskQueueStats, *taskqueuepb.TaskQueueStatus, error) {
	resp, err := c.WorkflowService().DescribeTaskQueue(ctx, &workflowservice.DescribeTaskQueueRequest{
		Namespace:              testNamespace,
		TaskQueue:              &taskqueuepb.TaskQueue{Name: tq, Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
		TaskQueueType:          enumspb.TASK_QUEUE_TYPE_WORKFLOW,
		ReportStats:            true,
		IncludeTaskQueueStatus: true,
	})
	if err != nil {
		return nil, nil, err
	}
	return resp.GetStats(), resp.GetTaskQueueStatus(), nil
}

// requireBacklog checks that every form of DescribeTaskQueue reports
// exactly want workflow tasks for tq, with a non-zero age when want > 0:
// the default mode's stats and legacy status, the enhanced mode the CLI
// and SDK use, and the per-partition form ("/_sys/tq/N") summed.
func requireBacklog(t *testing.T, ctx context.Context, c client.Client, tq string, want int64) {
	t.Helper()
	stats, status, err := describeBacklog(ctx, c, tq)
	require.NoError(t, err)
	require.Equal(t, want, stats.GetApproximateBacklogCount(), "stats backlog")
	require.Equal(t, want, status.GetBacklogCountHint(), "legacy backlog hint")
	if want > 0 {
		require.Positive(t, stats.GetApproximateBacklogAge().AsDuration(), "backlog age")
	}

	desc, err := c.DescribeTaskQueueEnhanced(ctx, client.DescribeTaskQueueEnhancedOptions{
		TaskQueue: tq, ReportStats: true, ReportPollers: true,
		TaskQueueTypes: []client.TaskQueueType{client.TaskQueueTypeWorkflow, client.TaskQueueTypeActivity},
	})
	require.NoError(t, err, "DescribeTaskQueueEnhanced")
	types := desc.VersionsInfo[""].TypesInfo
	require.Equal(t, want, types[client.TaskQueueTypeWorkflow].Stats.ApproximateBacklogCount, "enhanced workflow backlog")
	require.Zero(t, types[client.TaskQueueTypeActivity].Stats.ApproximateBacklogCount, "enhanced activity backlog")

	var sum int64
	for p := range 4 {
		name := tq
		if p > 0 {
			name = fmt.Sprintf("/_sys/%s/%d", tq, p)
		}
		resp, err := c.WorkflowService().DescribeTaskQueue(ctx, &workflowservice.DescribeTaskQueueRequest{
			Namespace: testNamespace, TaskQueue: &taskqueuepb.TaskQueue{Name: name}, ReportStats: true,
		})
		require.NoError(t, err, "describe %s", name)
		n := resp.GetStats().GetApproximateBacklogCount()
		if p == 0 {
			require.Equal(t, want, n, "the plain name describes every partition")
			resp, err = c.WorkflowService().DescribeTaskQueue(ctx, &workflowservice.DescribeTaskQueueRequest{
				Namespace: testNamespace, TaskQueue: &taskqueuepb.TaskQueue{Name: "/_sys/" + tq + "/0"}, ReportStats: true,
			})
			require.NoError(t, err)
			n = resp.GetStats().GetApproximateBacklogCount()
		}
		if want >= 4 {
			require.Positive(t, n, "partition %d holds part of the backlog", p)
		}
		sum += n
	}
	require.Equal(t, want, sum, "partitions add up")
}

// With no worker, 500 started workflows leave exactly 500 workflow tasks
// in the backlog, with a non-zero age; a restart of the server on the
// same database still reports 500; a worker then drains it to 0, and
// DescribeTaskQueue lists the worker's pollers.
func TestBacklogExactAcrossRestart(t *testing.T) {
	t.Parallel()
	env := newObsEnv(t)
	ctx := testContext(t, 3*time.Minute)
	tq := uniqueName(t, "tq")
	const n = 500

	var wg sync.WaitGroup
	errs := make(chan error, n)
	for g := range 10 {
		wg.Go(func() {
			for i := g; i < n; i += 10 {
				opts := client.StartWorkflowOptions{ID: fmt.Sprintf("%s-wf-%03d", tq, i), TaskQueue: tq}
				if _, err := env.client.ExecuteWorkflow(ctx, opts, "ObsEmpty"); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err, "start")
	}
	// Starts return before the workflow tasks reach matching (outbox).
	eventually(t, ctx, "500 workflow tasks in the backlog", func() error {
		stats, _, err := describeBacklog(ctx, env.client, tq)
		if err != nil {
			return err
		}
		if got := stats.GetApproximateBacklogCount(); got != n {
			return fmt.Errorf("backlog %d", got)
		}
		return nil
	})
	requireBacklog(t, ctx, env.client, tq, n)

	env.restart()
	requireBacklog(t, ctx, env.client, tq, n)

	env.startWorker(t, tq, worker.Options{Identity: "backlog-worker"})
	eventually(t, ctx, "the backlog drained", func() error {
		stats, _, err := describeBacklog(ctx, env.client, tq)
		if err != nil {
			return err
		}
		if got := stats.GetApproximateBacklogCount(); got != 0 {
			return fmt.Errorf("backlog %d", got)
		}
		return nil
	})
	requireBacklog(t, ctx, env.client, tq, 0)

	resp, err := env.client.DescribeTaskQueue(ctx, tq, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
	require.NoError(t, err)
	require.NotEmpty(t, resp.GetPollers(), "pollers")
	p := resp.GetPollers()[0]
	require.Equal(t, "backlog-worker", p.GetIdentity())
	require.Positive(t, p.GetRatePerSecond())
	require.WithinDuration(t, time.Now(), p.GetLastAccessTime().AsTime(), 5*time.Minute)
	stats, _, err := describeBacklog(ctx, env.client, tq)
	require.NoError(t, err)
	require.Positive(t, stats.GetTasksDispatchRate(), "tasks were dispatched within the last 30 s")
}
