package tests

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

// TestDeleteNamespaceRemovesSchedules: deleting a namespace removes its
// schedules, so once the namespace is reclaimed and its name taken again,
// the old schedule never starts workflows in the new namespace (a
// schedule acts by namespace name).
func TestDeleteNamespaceRemovesSchedules(t *testing.T) {
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
}
