package tests

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// scheduleQuick returns at once; scheduleSlow runs until signalled
// "done" (or for an hour).
func scheduleQuick(ctx workflow.Context) (string, error) { return "ok", nil }

func scheduleSlow(ctx workflow.Context) error {
	sel := workflow.NewSelector(ctx)
	sel.AddReceive(workflow.GetSignalChannel(ctx, "done"), func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil) })
	sel.AddFuture(workflow.NewTimer(ctx, time.Hour), func(workflow.Future) {})
	sel.Select(ctx)
	return nil
}

func registerScheduleWorkflows(r worker.Registry) {
	r.RegisterWorkflow(scheduleQuick)
	r.RegisterWorkflow(scheduleSlow)
}

// describeSchedule describes through the SDK, failing the test on error.
func describeSchedule(t *testing.T, ctx context.Context, h client.ScheduleHandle) *client.ScheduleDescription {
	t.Helper()
	d, err := h.Describe(ctx)
	require.NoError(t, err)
	return d
}

// actionIDs are the workflow IDs a schedule's recent actions started.
func actionIDs(d *client.ScheduleDescription) []string {
	var out []string
	for _, a := range d.Info.RecentActions {
		out = append(out, a.StartWorkflowResult.WorkflowID)
	}
	return out
}

var scheduledByKey = temporal.NewSearchAttributeKeyKeyword("TemporalScheduledById")

// TestScheduleIntervalStartsWorkflows: an interval schedule starts its
// action every second with the reference's workflow IDs, the action's
// memo and search attributes, and the scheduler's own attributes; describe
// counts them and shows their results.
func TestScheduleIntervalStartsWorkflows(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 90*time.Second)
	_, err := env.client.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: testNamespace, SearchAttributes: map[string]enumspb.IndexedValueType{"Team": enumspb.INDEXED_VALUE_TYPE_KEYWORD}})
	require.NoError(t, err)
	teamKey := temporal.NewSearchAttributeKeyKeyword("Team")
	tq := env.startWorker(t, registerScheduleWorkflows)

	h, err := env.client.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:   "every-second",
		Spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Second}}},
		Action: &client.ScheduleWorkflowAction{
			ID: "wf-every", Workflow: scheduleQuick, TaskQueue: tq,
			Memo:                  map[string]any{"owner": "ops"},
			TypedSearchAttributes: temporal.NewSearchAttributes(teamKey.ValueSet("blue")),
		},
		Memo: map[string]any{"about": "the schedule itself"},
	})
	require.NoError(t, err)
	eventually(t, ctx, "two completed actions", func() error {
		d, err := h.Describe(ctx)
		if err != nil {
			return err
		}
		done := 0
		for _, a := range d.Info.RecentActions {
			if a.StartWorkflowResult != nil {
				done++
			}
		}
		if d.Info.NumActions < 2 || done < 2 {
			return fmt.Errorf("%d actions", d.Info.NumActions)
		}
		return nil
	})
	d := describeSchedule(t, ctx, h)
	ids := actionIDs(d)
	for _, id := range ids {
		stamp, ok := strings.CutPrefix(id, "wf-every-")
		require.True(t, ok, id)
		ts, err := time.Parse(time.RFC3339, stamp)
		require.NoError(t, err, id)
		require.Equal(t, ts.UTC().Format(time.RFC3339), stamp, "UTC, second precision")
	}
	require.Len(t, d.Info.NextActionTimes, 10)
	for i := 1; i < len(d.Info.NextActionTimes); i++ {
		require.Equal(t, time.Second, d.Info.NextActionTimes[i].Sub(d.Info.NextActionTimes[i-1]))
	}
	var memo string
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(d.Memo.Fields["about"], &memo))
	require.Equal(t, "the schedule itself", memo)

	// The action's workflow carries the action's memo and search attributes
	// plus TemporalScheduledById and TemporalScheduledStartTime.
	desc, err := env.client.DescribeWorkflowExecution(ctx, ids[0], "")
	require.NoError(t, err)
	info := desc.WorkflowExecutionInfo
	var owner string
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(info.Memo.Fields["owner"], &owner))
	require.Equal(t, "ops", owner)
	sa := info.SearchAttributes.IndexedFields
	require.Equal(t, `"blue"`, string(sa["Team"].Data))
	require.Equal(t, `"every-second"`, string(sa["TemporalScheduledById"].Data))
	require.Contains(t, sa, "TemporalScheduledStartTime")

	// They are found by the scheduler's search attribute, and complete.
	eventually(t, ctx, "completed status in recent actions", func() error {
		d := describeSchedule(t, ctx, h)
		for _, a := range d.Info.RecentActions {
			run := env.client.GetWorkflow(ctx, a.StartWorkflowResult.WorkflowID, a.StartWorkflowResult.FirstExecutionRunID)
			var out string
			if err := run.Get(ctx, &out); err != nil || out != "ok" {
				return fmt.Errorf("run %s: %v %q", a.StartWorkflowResult.WorkflowID, err, out)
			}
		}
		resp, err := env.client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: testNamespace, Query: "TemporalScheduledById = 'every-second'"})
		if err != nil {
			return err
		}
		if len(resp.Executions) < 2 {
			return fmt.Errorf("%d listed", len(resp.Executions))
		}
		return nil
	})
	_ = scheduledByKey
	require.NoError(t, h.Delete(ctx))
}
