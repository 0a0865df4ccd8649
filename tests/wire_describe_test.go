package tests

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// DescribeTaskQueue answers for every task-queue type (the Web UI asks for
// all of them), in the legacy and the enhanced mode: Nexus, which Sundial
// does not serve, and activities on a sticky queue are empty, not refused.
func TestDescribeTaskQueueEveryType(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 60*time.Second)
	tq := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(func(workflow.Context) error { return nil }, workflow.RegisterOptions{Name: "Noop"})
	})
	svc := rawService(t, env.addr)
	legacy := func(kind enumspb.TaskQueueKind, typ enumspb.TaskQueueType) (*workflowservice.DescribeTaskQueueResponse, error) {
		return svc.DescribeTaskQueue(ctx, &workflowservice.DescribeTaskQueueRequest{
			Namespace: testNamespace, TaskQueue: &taskqueuepb.TaskQueue{Name: tq, Kind: kind},
			TaskQueueType: typ, ReportStats: true, IncludeTaskQueueStatus: true,
		})
	}
	eventually(t, ctx, "the worker's workflow and activity pollers", func() error {
		for _, typ := range []enumspb.TaskQueueType{enumspb.TASK_QUEUE_TYPE_WORKFLOW, enumspb.TASK_QUEUE_TYPE_ACTIVITY} {
			resp, err := legacy(enumspb.TASK_QUEUE_KIND_NORMAL, typ)
			if err != nil || len(resp.GetPollers()) == 0 {
				return fmt.Errorf("%v: no pollers yet (%v)", typ, err)
			}
		}
		return nil
	})

	resp, err := legacy(enumspb.TASK_QUEUE_KIND_NORMAL, enumspb.TASK_QUEUE_TYPE_NEXUS)
	require.NoError(t, err, "legacy mode, Nexus")
	require.Empty(t, resp.GetPollers())
	require.NotNil(t, resp.GetStats())
	require.Zero(t, resp.GetStats().GetApproximateBacklogCount())
	require.NotNil(t, resp.GetTaskQueueStatus())

	resp, err = legacy(enumspb.TASK_QUEUE_KIND_STICKY, enumspb.TASK_QUEUE_TYPE_ACTIVITY)
	require.NoError(t, err, "legacy mode, sticky activity")
	require.Empty(t, resp.GetPollers())

	all := []enumspb.TaskQueueType{enumspb.TASK_QUEUE_TYPE_WORKFLOW, enumspb.TASK_QUEUE_TYPE_ACTIVITY, enumspb.TASK_QUEUE_TYPE_NEXUS}
	//lint:ignore SA1019 the enhanced mode is deprecated but the CLI and the UI use it
	enhanced, err := svc.DescribeTaskQueue(ctx, &workflowservice.DescribeTaskQueueRequest{
		Namespace: testNamespace, TaskQueue: &taskqueuepb.TaskQueue{Name: tq, Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
		ApiMode: enumspb.DESCRIBE_TASK_QUEUE_MODE_ENHANCED, TaskQueueTypes: all, ReportPollers: true, ReportStats: true,
	})
	require.NoError(t, err, "enhanced mode, every type")
	types := enhanced.GetVersionsInfo()[""].GetTypesInfo()
	require.Len(t, types, 3)
	require.NotEmpty(t, types[int32(enumspb.TASK_QUEUE_TYPE_WORKFLOW)].GetPollers())
	require.NotEmpty(t, types[int32(enumspb.TASK_QUEUE_TYPE_ACTIVITY)].GetPollers())
	nexus := types[int32(enumspb.TASK_QUEUE_TYPE_NEXUS)]
	require.NotNil(t, nexus)
	require.Empty(t, nexus.GetPollers())
	require.Zero(t, nexus.GetStats().GetApproximateBacklogCount())
}
