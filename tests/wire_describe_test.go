package tests

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
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

// Responses carry empty messages, not nil, where the reference server
// always sets them and clients dereference them: the SDK's DescribeWorkflow
// on a run without memo or search attributes, the extended info, a pending
// activity's options, list entries and the namespace's bad binaries.
func TestDescribeResponsesHaveNoNilMessages(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 60*time.Second)
	tq := env.startWorker(t, func(r worker.Registry) { // no activity worker: the activity stays scheduled
		r.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
			ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
				StartToCloseTimeout: time.Minute, ScheduleToCloseTimeout: time.Hour,
				RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 7,
					NonRetryableErrorTypes: []string{"Fatal"}},
			})
			return workflow.ExecuteActivity(ctx, "NobodyServesThis").Get(ctx, nil)
		}, workflow.RegisterOptions{Name: "WaitsOnActivity"})
	})
	run, err := env.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: uniqueName(t, "wf"), TaskQueue: tq, WorkflowRunTimeout: time.Hour}, "WaitsOnActivity")
	require.NoError(t, err)

	var desc *client.WorkflowExecutionDescription
	require.NotPanics(t, func() { desc, err = env.client.DescribeWorkflow(ctx, run.GetID(), run.GetRunID()) })
	require.NoError(t, err)
	require.Equal(t, run.GetRunID(), desc.WorkflowExecution.RunID)

	svc := rawService(t, env.addr)
	var resp *workflowservice.DescribeWorkflowExecutionResponse
	eventually(t, ctx, "the activity to be scheduled", func() error {
		resp, err = svc.DescribeWorkflowExecution(ctx, &workflowservice.DescribeWorkflowExecutionRequest{
			Namespace: testNamespace, Execution: &commonpb.WorkflowExecution{WorkflowId: run.GetID(), RunId: run.GetRunID()}})
		if err != nil || len(resp.GetPendingActivities()) == 0 {
			return fmt.Errorf("not yet: %v", err)
		}
		return nil
	})
	info := resp.GetWorkflowExecutionInfo()
	require.NotNil(t, info.Memo, "memo")
	require.NotNil(t, info.SearchAttributes, "search attributes")
	require.NotNil(t, info.AutoResetPoints, "auto reset points")
	ext := resp.GetWorkflowExtendedInfo()
	require.NotNil(t, ext, "extended info")
	require.Equal(t, info.GetStartTime().AsTime(), ext.GetOriginalStartTime().AsTime())
	require.Equal(t, info.GetExecutionTime().AsTime().Add(time.Hour), ext.GetRunExpirationTime().AsTime())
	require.False(t, ext.GetCancelRequested())

	opts := resp.GetPendingActivities()[0].GetActivityOptions()
	require.NotNil(t, opts, "pending activity options")
	require.Equal(t, tq, opts.GetTaskQueue().GetName())
	require.Equal(t, time.Minute, opts.GetStartToCloseTimeout().AsDuration())
	require.Equal(t, time.Hour, opts.GetScheduleToCloseTimeout().AsDuration())
	require.Equal(t, int32(7), opts.GetRetryPolicy().GetMaximumAttempts())
	require.Equal(t, time.Second, opts.GetRetryPolicy().GetInitialInterval().AsDuration())
	require.Equal(t, []string{"Fatal"}, opts.GetRetryPolicy().GetNonRetryableErrorTypes())

	require.NoError(t, env.client.CancelWorkflow(ctx, run.GetID(), run.GetRunID()))
	resp, err = svc.DescribeWorkflowExecution(ctx, &workflowservice.DescribeWorkflowExecutionRequest{
		Namespace: testNamespace, Execution: &commonpb.WorkflowExecution{WorkflowId: run.GetID(), RunId: run.GetRunID()}})
	require.NoError(t, err)
	require.True(t, resp.GetWorkflowExtendedInfo().GetCancelRequested(), "cancel requested")

	eventually(t, ctx, "the run to be listed", func() error {
		list, err := svc.ListWorkflowExecutions(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: testNamespace, Query: fmt.Sprintf("WorkflowId = '%s'", run.GetID())})
		if err != nil || len(list.GetExecutions()) == 0 {
			return fmt.Errorf("not yet: %v", err)
		}
		e := list.GetExecutions()[0]
		require.NotNil(t, e.Memo, "listed memo")
		require.NotNil(t, e.SearchAttributes, "listed search attributes")
		return nil
	})

	ns, err := svc.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: testNamespace})
	require.NoError(t, err)
	require.NotNil(t, ns.GetConfig().BadBinaries, "namespace bad binaries")
}
