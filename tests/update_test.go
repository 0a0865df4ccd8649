package tests

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// counter adds update arguments to a total until a "done" signal; its
// validator rejects negative numbers.
func counter(ctx workflow.Context, start int) (int, error) {
	total := start
	err := workflow.SetUpdateHandlerWithOptions(ctx, "add", func(ctx workflow.Context, n int) (int, error) {
		total += n
		return total, nil
	}, workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, n int) error {
		if n < 0 {
			return fmt.Errorf("negative numbers are not allowed: %d", n)
		}
		return nil
	}})
	if err != nil {
		return 0, err
	}
	workflow.GetSignalChannel(ctx, "done").Receive(ctx, nil)
	return total, nil
}

func updateAdd(t *testing.T, c client.Client, id, updateID string, n int) (int, error) {
	t.Helper()
	ctx := testContext(t, 30*time.Second)
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: id, UpdateID: updateID, UpdateName: "add", Args: []any{n},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return 0, err
	}
	var out int
	err = h.Get(ctx, &out)
	return out, err
}

func TestWorkflowUpdates(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 60*time.Second)
	tq := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(counter, workflow.RegisterOptions{Name: "Counter"})
	})
	run, err := env.client.ExecuteWorkflow(ctx, startOptions(t, tq), "Counter", 10)
	require.NoError(t, err)

	got, err := updateAdd(t, env.client, run.GetID(), "u1", 5)
	require.NoError(t, err)
	require.Equal(t, 15, got)

	again, err := updateAdd(t, env.client, run.GetID(), "u1", 5)
	require.NoError(t, err)
	require.Equal(t, 15, again, "the same update ID returns the first outcome, not a second application")

	_, err = updateAdd(t, env.client, run.GetID(), "u2", -1)
	require.Error(t, err)
	require.Contains(t, err.Error(), "negative numbers are not allowed")

	got, err = updateAdd(t, env.client, run.GetID(), "u3", 1)
	require.NoError(t, err)
	require.Equal(t, 16, got)

	require.NoError(t, env.client.SignalWorkflow(ctx, run.GetID(), "", "done", nil))
	var total int
	require.NoError(t, run.Get(ctx, &total))
	require.Equal(t, 16, total)

	events := requireHistory(t, ctx, env.client, run.GetID(), run.GetRunID())
	requireContiguousIDs(t, events)
	require.Len(t, eventsOfType(events, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED), 2, "%v", eventTypes(events))
	require.Len(t, eventsOfType(events, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED), 2)

	_, err = updateAdd(t, env.client, run.GetID(), "u4", 1)
	require.Error(t, err, "an update to a closed workflow fails")
	require.Contains(t, err.Error(), "completed")
}

func TestUpdateWithStart(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 60*time.Second)
	tq := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(counter, workflow.RegisterOptions{Name: "Counter"})
	})
	opts := startOptions(t, tq)
	opts.WorkflowIDConflictPolicy = enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING
	for i, want := range []int{102, 104} {
		op := env.client.NewWithStartWorkflowOperation(opts, "Counter", 100)
		h, err := env.client.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
			StartWorkflowOperation: op,
			UpdateOptions: client.UpdateWorkflowOptions{UpdateID: fmt.Sprintf("uws-%d", i), UpdateName: "add",
				Args: []any{2}, WaitForStage: client.WorkflowUpdateStageCompleted},
		})
		require.NoError(t, err, "update-with-start %d", i)
		var got int
		require.NoError(t, h.Get(ctx, &got))
		require.Equal(t, want, got, "update-with-start %d", i)
	}
	require.NoError(t, env.client.SignalWorkflow(ctx, opts.ID, "", "done", nil))
	var total int
	require.NoError(t, env.client.GetWorkflow(ctx, opts.ID, "").Get(ctx, &total))
	require.Equal(t, 104, total, "both updates reached the one run")
}
