package tests

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	schedulepb "go.temporal.io/api/schedule/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// TestSchedulePatchRequestIDDedup: a PatchSchedule repeated with the same
// request ID (a client's retry) changes nothing: a retried trigger runs
// once, a retried pause does not move the conflict token again. Pause and
// unpause move the token; trigger does not.
func TestSchedulePatchRequestIDDedup(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 2*time.Minute)
	tq := env.startWorker(t, registerScheduleWorkflows)
	svc := env.client.WorkflowService()

	h, err := env.client.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID: "dedup", Spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Hour}}},
		Action: &client.ScheduleWorkflowAction{ID: "dd", Workflow: scheduleSlow, TaskQueue: tq},
		Paused: true,
	})
	require.NoError(t, err)
	token := func() string {
		d, err := svc.DescribeSchedule(ctx, &workflowservice.DescribeScheduleRequest{Namespace: testNamespace, ScheduleId: "dedup"})
		require.NoError(t, err)
		return string(d.ConflictToken)
	}
	patch := func(requestID string, p *schedulepb.SchedulePatch) {
		t.Helper()
		_, err := svc.PatchSchedule(ctx, &workflowservice.PatchScheduleRequest{Namespace: testNamespace,
			ScheduleId: "dedup", Patch: p, Identity: "test", RequestId: requestID})
		require.NoError(t, err)
	}
	// Buffer-all behind a long-running first action keeps every accepted
	// trigger visible (started or buffered); distinct scheduled times give
	// the runs distinct workflow IDs.
	base := time.Now().UTC().Truncate(time.Second)
	triggerAt := func(ago time.Duration) *schedulepb.SchedulePatch {
		return &schedulepb.SchedulePatch{TriggerImmediately: &schedulepb.TriggerImmediatelyRequest{
			OverlapPolicy: enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ALL, ScheduledTime: timestamppb.New(base.Add(-ago))}}
	}
	trigger := triggerAt(time.Hour)

	created := token()
	patch("trigger-1", trigger)
	patch("trigger-1", trigger) // retry
	patch("trigger-2", triggerAt(2*time.Hour))
	require.Equal(t, created, token(), "a trigger leaves the conflict token")
	describeRaw := func() *workflowservice.DescribeScheduleResponse {
		raw, err := svc.DescribeSchedule(ctx, &workflowservice.DescribeScheduleRequest{Namespace: testNamespace, ScheduleId: "dedup"})
		require.NoError(t, err)
		return raw
	}
	first := waitFor(t, ctx, h, "the first action to start", func(d *client.ScheduleDescription) error {
		if len(d.Info.RunningWorkflows) != 1 {
			return fmt.Errorf("%d running", len(d.Info.RunningWorkflows))
		}
		return nil
	})
	in := describeRaw().Info
	require.Equal(t, int64(2), in.ActionCount+in.BufferSize, "accepted triggers: %v", in)
	signalDone(t, ctx, env.client, first.Info.RunningWorkflows[0])
	second := waitFor(t, ctx, h, "the buffered action to start", func(d *client.ScheduleDescription) error {
		if d.Info.NumActions != 2 || len(d.Info.RunningWorkflows) != 1 {
			return fmt.Errorf("%d actions, %d running", d.Info.NumActions, len(d.Info.RunningWorkflows))
		}
		return nil
	})
	signalDone(t, ctx, env.client, second.Info.RunningWorkflows[0])
	eventually(t, ctx, "the triggered actions to close", func() error {
		if in := describeRaw().Info; in.ActionCount != 2 || in.BufferSize > 0 || len(in.RunningWorkflows) > 0 {
			return fmt.Errorf("%d actions, %d buffered, %d running", in.ActionCount, in.BufferSize, len(in.RunningWorkflows))
		}
		return nil
	})
	d := describeSchedule(t, ctx, h)
	require.Equal(t, 2, d.Info.NumActions, "the retried trigger ran once")
	require.ElementsMatch(t, []string{"dd-" + base.Add(-time.Hour).Format(time.RFC3339),
		"dd-" + base.Add(-2*time.Hour).Format(time.RFC3339)}, actionIDs(d))
	require.Zero(t, d.Info.NumActionsSkippedOverlap)

	patch("unpause-1", &schedulepb.SchedulePatch{Unpause: "go"})
	unpaused := token()
	require.NotEqual(t, created, unpaused, "unpause moves the conflict token")
	patch("pause-1", &schedulepb.SchedulePatch{Pause: "stop"})
	paused := token()
	require.NotEqual(t, unpaused, paused, "pause moves the conflict token")
	patch("unpause-1", &schedulepb.SchedulePatch{Unpause: "late retry"})
	require.Equal(t, paused, token(), "a retried unpause changes nothing")
	d = describeSchedule(t, ctx, h)
	require.True(t, d.Schedule.State.Paused)
	require.Equal(t, "stop", d.Schedule.State.Note)

	// An over-long request ID is refused.
	_, err = svc.PatchSchedule(ctx, &workflowservice.PatchScheduleRequest{Namespace: testNamespace,
		ScheduleId: "dedup", Patch: trigger, RequestId: string(make([]byte, 1001))})
	require.ErrorContains(t, err, "RequestId length exceeds limit.")
}
