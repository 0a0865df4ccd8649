package tests

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
)

// TestScheduleIdleRetention: a schedule that can take no more actions
// (out of remaining actions, or past its end time) is deleted once
// worker.scheduleIdleTime has passed since its last action, as the
// reference does; a paused one and a trigger-only one are kept.
func TestScheduleIdleRetention(t *testing.T) {
	t.Parallel()
	env := newTestEnvWithConfig(t, map[string]any{"worker.scheduleIdleTime": "2s"})
	ctx := testContext(t, 90*time.Second)
	sc := env.client.ScheduleClient()
	action := func(id string) *client.ScheduleWorkflowAction {
		return &client.ScheduleWorkflowAction{ID: id, Workflow: scheduleQuick, TaskQueue: "no-worker"}
	}
	every := client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Second}}}

	// Kept: created first, so they would be deleted first if they were idle.
	paused, err := sc.Create(ctx, client.ScheduleOptions{ID: "ret-paused", Spec: every, Action: action("ret-paused-wf"),
		Paused: true, RemainingActions: 1})
	require.NoError(t, err)
	manual, err := sc.Create(ctx, client.ScheduleOptions{ID: "ret-manual", Spec: client.ScheduleSpec{}, Action: action("ret-manual-wf")})
	require.NoError(t, err)

	// Deleted: one action, then idle; and one whose end time has passed.
	oneShot, err := sc.Create(ctx, client.ScheduleOptions{ID: "ret-once", Spec: every, Action: action("ret-once-wf"),
		RemainingActions: 1})
	require.NoError(t, err)
	ended := every
	ended.EndAt = time.Now().Add(-time.Hour)
	over, err := sc.Create(ctx, client.ScheduleOptions{ID: "ret-ended", Spec: ended, Action: action("ret-ended-wf")})
	require.NoError(t, err)

	for _, h := range []client.ScheduleHandle{oneShot, over} {
		eventually(t, ctx, h.GetID()+" deleted", func() error {
			_, err := h.Describe(ctx)
			var nf *serviceerror.NotFound
			if errors.As(err, &nf) {
				return nil
			}
			return fmt.Errorf("describe: %v", err)
		})
	}
	eventually(t, ctx, "the one-shot schedule's run listed", func() error {
		runs, err := scheduledRuns(ctx, env.client, "ret-once")
		if err != nil || len(runs) == 0 {
			return fmt.Errorf("runs %v, %v", runs, err)
		}
		require.Equal(t, map[string]int{"ret-once-wf-" + actionStamp(t, runs): 1}, runs, "it ran once before it was deleted")
		return nil
	})

	for _, h := range []client.ScheduleHandle{paused, manual} {
		_, err := h.Describe(ctx)
		require.NoError(t, err, "%s was deleted", h.GetID())
	}
}

// actionStamp is the time part of the single action in runs.
func actionStamp(t *testing.T, runs map[string]int) string {
	t.Helper()
	require.Len(t, runs, 1, "%v", runs)
	for id := range runs {
		return actionTime(t, id).UTC().Format(time.RFC3339)
	}
	return ""
}
