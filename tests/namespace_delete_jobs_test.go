package tests

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	batchpb "go.temporal.io/api/batch/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

// TestDeleteNamespaceRemovesSchedulesAndBatchJobs: deleting a namespace
// removes its schedules and stops its batch jobs, so once the namespace is
// reclaimed and its name taken again, neither acts in the new namespace
// (both act by namespace name).
func TestDeleteNamespaceRemovesSchedulesAndBatchJobs(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 3*time.Minute)
	nc := dialNamespaceClient(t, env.addr)
	name := uniqueName(t, "ns")
	require.NoError(t, nc.Register(ctx, registerRequest(name, oneDay)))
	every := client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Second}}}
	createSchedule := func(c client.Client, id string) client.ScheduleHandle {
		h, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{ID: id, Spec: every,
			Action:  &client.ScheduleWorkflowAction{ID: id + "-wf", Workflow: "Nothing", TaskQueue: "nobody"},
			Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL})
		require.NoError(t, err)
		return h
	}
	atLeast := func(n int) func(d *client.ScheduleDescription) error {
		return func(d *client.ScheduleDescription) error {
			if d.Info.NumActions < n {
				return fmt.Errorf("%d actions", d.Info.NumActions)
			}
			return nil
		}
	}

	old := dialNamespace(t, env, name)
	waitFor(t, ctx, createSchedule(old, "old"), "the old schedule to fire", atLeast(1))
	// A slow batch terminate over IDs that will exist only in the new
	// namespace: 30 targets at 1 a second outlast the reclaim.
	victims := make([]string, 30)
	for i := range victims {
		victims[i] = fmt.Sprintf("victim-%02d", i)
	}
	startTerminate(t, old, name, "old-job", victims)
	desc, err := nc.Describe(ctx, name)
	require.NoError(t, err)
	id := desc.GetNamespaceInfo().GetId()
	_, err = env.client.OperatorService().DeleteNamespace(ctx, &operatorservice.DeleteNamespaceRequest{Namespace: name})
	require.NoError(t, err)
	eventually(t, ctx, "the deleted namespace to be reclaimed", func() error {
		_, err := env.client.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Id: id})
		var nf *serviceerror.NamespaceNotFound
		if !errors.As(err, &nf) {
			return fmt.Errorf("describe by ID: %v", err)
		}
		return nil
	})

	// The name again: only the new namespace's own schedule acts in it.
	require.NoError(t, nc.Register(ctx, registerRequest(name, oneDay)))
	c := dialNamespace(t, env, name)
	for _, v := range victims {
		_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: v, TaskQueue: "nobody"}, "Nothing")
		require.NoError(t, err)
	}
	// A job of the new namespace at the same rate over as many (missing)
	// targets ends after the old job would have.
	ghosts := make([]string, len(victims))
	for i := range ghosts {
		ghosts[i] = fmt.Sprintf("ghost-%02d", i)
	}
	startTerminate(t, c, name, "new-job", ghosts)
	marker := createSchedule(c, "marker")
	waitFor(t, ctx, marker, "the new schedule to fire three times", atLeast(3))
	_, err = c.ScheduleClient().GetHandle(ctx, "old").Describe(ctx)
	var nf *serviceerror.NotFound
	require.ErrorAs(t, err, &nf, "the old schedule is gone")
	list := func(query string) []string {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: name, Query: query, PageSize: 1000})
		require.NoError(t, err)
		var ids []string
		for _, e := range resp.Executions {
			ids = append(ids, e.Execution.WorkflowId)
		}
		return ids
	}
	eventually(t, ctx, "the new schedule's runs to be listed", func() error {
		if ids := list("TemporalScheduledById = 'marker'"); len(ids) < 3 {
			return fmt.Errorf("listed %v", ids)
		}
		return nil
	})
	require.Empty(t, list("TemporalScheduledById = 'old'"), "runs the old schedule started in the new namespace")

	eventually(t, ctx, "the new namespace's batch job to complete", func() error {
		d, err := c.WorkflowService().DescribeBatchOperation(ctx, &workflowservice.DescribeBatchOperationRequest{Namespace: name, JobId: "new-job"})
		if err != nil {
			return err
		}
		if d.GetState() != enumspb.BATCH_OPERATION_STATE_COMPLETED {
			return fmt.Errorf("state %v, %d done", d.GetState(), d.GetCompleteOperationCount())
		}
		return nil
	})
	for _, v := range victims {
		d, err := c.DescribeWorkflowExecution(ctx, v, "")
		require.NoError(t, err)
		require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, d.WorkflowExecutionInfo.Status, "%s: the old job acted in the new namespace", v)
	}
}

// startTerminate starts batch job jobID of namespace ns terminating the
// given workflow IDs at one a second.
func startTerminate(t *testing.T, c client.Client, ns, jobID string, ids []string) {
	t.Helper()
	execs := make([]*commonpb.WorkflowExecution, len(ids))
	for i, id := range ids {
		execs[i] = &commonpb.WorkflowExecution{WorkflowId: id}
	}
	_, err := c.WorkflowService().StartBatchOperation(testContext(t, 30*time.Second), &workflowservice.StartBatchOperationRequest{
		Namespace: ns, JobId: jobID, Executions: execs, Reason: "clean up", MaxOperationsPerSecond: 1,
		Operation: &workflowservice.StartBatchOperationRequest_TerminationOperation{
			TerminationOperation: &batchpb.BatchOperationTermination{Identity: "tester"}},
	})
	require.NoError(t, err)
}
