package tests

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	schedulepb "go.temporal.io/api/schedule/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/types/known/timestamppb"
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

func scheduleFail(ctx workflow.Context) error {
	return temporal.NewNonRetryableApplicationError("boom", "test", nil)
}

func registerScheduleWorkflows(r worker.Registry) {
	r.RegisterWorkflow(scheduleQuick)
	r.RegisterWorkflow(scheduleSlow)
	r.RegisterWorkflow(scheduleFail)
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

// matchingTimes asks the server for a schedule's times in (start, end].
func matchingTimes(t *testing.T, ctx context.Context, c client.Client, id string, start, end time.Time) []string {
	t.Helper()
	resp, err := c.WorkflowService().ListScheduleMatchingTimes(ctx, &workflowservice.ListScheduleMatchingTimesRequest{
		Namespace: testNamespace, ScheduleId: id, StartTime: timestamppb.New(start), EndTime: timestamppb.New(end)})
	require.NoError(t, err)
	var out []string
	for _, ts := range resp.StartTime {
		out = append(out, ts.AsTime().UTC().Format(time.RFC3339))
	}
	return out
}

// TestScheduleSpecKinds creates a paused schedule of each spec kind and
// checks the times the server computes for them exactly.
func TestScheduleSpecKinds(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 60*time.Second)
	from := time.Date(2026, 3, 6, 0, 0, 0, 0, time.UTC) // a Friday; NY springs forward on Sunday the 8th
	action := &client.ScheduleWorkflowAction{ID: "wf", Workflow: scheduleQuick, TaskQueue: "unused"}
	cases := []struct {
		name string
		spec client.ScheduleSpec
		end  time.Duration
		want []string
	}{
		{"calendar", client.ScheduleSpec{Calendars: []client.ScheduleCalendarSpec{{
			Hour: []client.ScheduleRange{{Start: 9}}, Minute: []client.ScheduleRange{{Start: 0, End: 30, Step: 30}},
			DayOfWeek: []client.ScheduleRange{{Start: 1, End: 5}}}}}, 4 * 24 * time.Hour,
			[]string{"2026-03-06T09:00:00Z", "2026-03-06T09:30:00Z", "2026-03-09T09:00:00Z", "2026-03-09T09:30:00Z"}},
		{"interval-with-phase", client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: 6 * time.Hour, Offset: 90 * time.Minute}}},
			24 * time.Hour, []string{"2026-03-06T01:30:00Z", "2026-03-06T07:30:00Z", "2026-03-06T13:30:00Z", "2026-03-06T19:30:00Z"}},
		{"cron-with-tz", client.ScheduleSpec{CronExpressions: []string{"CRON_TZ=America/New_York 30 2 * * *"}}, 4 * 24 * time.Hour,
			[]string{"2026-03-06T07:30:00Z", "2026-03-07T07:30:00Z", "2026-03-09T06:30:00Z"}}, // no 02:30 on the 8th
		{"every", client.ScheduleSpec{CronExpressions: []string{"@every 8h/1h"}}, 24 * time.Hour,
			[]string{"2026-03-06T01:00:00Z", "2026-03-06T09:00:00Z", "2026-03-06T17:00:00Z"}},
		{"skip-and-bounds", client.ScheduleSpec{
			Intervals: []client.ScheduleIntervalSpec{{Every: time.Hour}},
			Skip:      []client.ScheduleCalendarSpec{{Hour: []client.ScheduleRange{{Start: 3, End: 4}}, Minute: []client.ScheduleRange{{Start: 0, End: 59}}}},
			StartAt:   from.Add(2 * time.Hour), EndAt: from.Add(6 * time.Hour)}, 24 * time.Hour,
			[]string{"2026-03-06T02:00:00Z", "2026-03-06T05:00:00Z", "2026-03-06T06:00:00Z"}},
	}
	for _, tc := range cases {
		_, err := env.client.ScheduleClient().Create(ctx, client.ScheduleOptions{ID: tc.name, Spec: tc.spec, Action: action, Paused: true})
		require.NoError(t, err, tc.name)
		require.Equal(t, tc.want, matchingTimes(t, ctx, env.client, tc.name, from, from.Add(tc.end)), tc.name)
	}
	// Describe shows the compiled form: the cron string became a
	// structured calendar and the time zone.
	d := describeSchedule(t, ctx, env.client.ScheduleClient().GetHandle(ctx, "cron-with-tz"))
	require.Empty(t, d.Schedule.Spec.CronExpressions)
	require.Equal(t, "America/New_York", d.Schedule.Spec.TimeZoneName)
	require.Len(t, d.Schedule.Spec.Calendars, 1)
	require.True(t, d.Schedule.State.Paused)

	// A bad spec is refused with InvalidArgument and creates nothing.
	_, err := env.client.ScheduleClient().Create(ctx, client.ScheduleOptions{ID: "bad",
		Spec: client.ScheduleSpec{CronExpressions: []string{"61 * * * *"}}, Action: action})
	var invalid *serviceerror.InvalidArgument
	require.ErrorAs(t, err, &invalid)
	_, err = env.client.ScheduleClient().GetHandle(ctx, "bad").Describe(ctx)
	var notFound *serviceerror.NotFound
	require.ErrorAs(t, err, &notFound)

	// Bad requests are refused with InvalidArgument.
	svc := env.client.WorkflowService()
	for name, req := range map[string]*workflowservice.CreateScheduleRequest{
		"no id":       {Namespace: testNamespace, Schedule: &schedulepb.Schedule{}},
		"no schedule": {Namespace: testNamespace, ScheduleId: "x"},
		"no action":   {Namespace: testNamespace, ScheduleId: "x", Schedule: &schedulepb.Schedule{}},
	} {
		_, err := svc.CreateSchedule(ctx, req)
		require.ErrorAs(t, err, &invalid, name)
	}
	_, err = svc.PatchSchedule(ctx, &workflowservice.PatchScheduleRequest{Namespace: testNamespace, ScheduleId: "calendar",
		Patch: &schedulepb.SchedulePatch{Pause: "a", Unpause: "b"}})
	require.ErrorAs(t, err, &invalid)

	// A retried create (same request ID) succeeds; another request for
	// the same ID does not.
	raw, err := svc.DescribeSchedule(ctx, &workflowservice.DescribeScheduleRequest{Namespace: testNamespace, ScheduleId: "calendar"})
	require.NoError(t, err)
	create := &workflowservice.CreateScheduleRequest{Namespace: testNamespace, ScheduleId: "retried", Schedule: raw.Schedule, RequestId: "req-1"}
	_, err = svc.CreateSchedule(ctx, create)
	require.NoError(t, err)
	_, err = svc.CreateSchedule(ctx, create)
	require.NoError(t, err)
	create.RequestId = "req-2"
	_, err = svc.CreateSchedule(ctx, create)
	var exists *serviceerror.WorkflowExecutionAlreadyStarted
	require.ErrorAs(t, err, &exists)

	info, err := svc.GetSystemInfo(ctx, &workflowservice.GetSystemInfoRequest{})
	require.NoError(t, err)
	require.True(t, info.Capabilities.SupportsSchedules)
}

// TestSchedulePauseOnFailure: a failed action pauses a schedule with
// pause_on_failure, with a note saying why.
func TestSchedulePauseOnFailure(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 60*time.Second)
	tq := env.startWorker(t, registerScheduleWorkflows)
	h, err := env.client.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID: "fails", Spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Second}}},
		Action:         &client.ScheduleWorkflowAction{ID: "fails-wf", Workflow: scheduleFail, TaskQueue: tq},
		PauseOnFailure: true,
	})
	require.NoError(t, err)
	d := waitFor(t, ctx, h, "paused after the failure", func(d *client.ScheduleDescription) error {
		if !d.Schedule.State.Paused {
			return errors.New("not paused")
		}
		return nil
	})
	require.Contains(t, d.Schedule.State.Note, "fails-wf-")
	raw, err := env.client.WorkflowService().DescribeSchedule(ctx, &workflowservice.DescribeScheduleRequest{Namespace: testNamespace, ScheduleId: "fails"})
	require.NoError(t, err)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_FAILED, raw.Info.RecentActions[0].StartWorkflowStatus, "recent actions carry their result")
}

// overlapSchedule creates a schedule firing every second whose action
// runs until signalled.
func overlapSchedule(t *testing.T, ctx context.Context, env *testEnv, tq, id string, policy enumspb.ScheduleOverlapPolicy) client.ScheduleHandle {
	t.Helper()
	h, err := env.client.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID: id, Spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Second}}},
		Action:  &client.ScheduleWorkflowAction{ID: id + "-wf", Workflow: scheduleSlow, TaskQueue: tq},
		Overlap: policy,
	})
	require.NoError(t, err)
	return h
}

func waitFor(t *testing.T, ctx context.Context, h client.ScheduleHandle, what string, cond func(d *client.ScheduleDescription) error) *client.ScheduleDescription {
	t.Helper()
	var last *client.ScheduleDescription
	eventually(t, ctx, what, func() error {
		d, err := h.Describe(ctx)
		if err != nil {
			return err
		}
		last = d
		return cond(d)
	})
	return last
}

func signalDone(t *testing.T, ctx context.Context, c client.Client, wf client.ScheduleWorkflowExecution) {
	t.Helper()
	require.NoError(t, c.SignalWorkflow(ctx, wf.WorkflowID, wf.FirstExecutionRunID, "done", nil))
}

// TestScheduleOverlapPolicies runs a long-running action under several
// overlap policies.
func TestScheduleOverlapPolicies(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 120*time.Second)
	tq := env.startWorker(t, registerScheduleWorkflows)

	t.Run("skip", func(t *testing.T) {
		h := overlapSchedule(t, ctx, env, tq, "ov-skip", enumspb.SCHEDULE_OVERLAP_POLICY_SKIP)
		d := waitFor(t, ctx, h, "skips while running", func(d *client.ScheduleDescription) error {
			if d.Info.NumActionsSkippedOverlap < 2 {
				return fmt.Errorf("skipped %d", d.Info.NumActionsSkippedOverlap)
			}
			return nil
		})
		require.Equal(t, 1, d.Info.NumActions)
		require.Len(t, d.Info.RunningWorkflows, 1)
		require.NoError(t, h.Pause(ctx, client.SchedulePauseOptions{}))
		signalDone(t, ctx, env.client, d.Info.RunningWorkflows[0])
	})
	t.Run("allow-all", func(t *testing.T) {
		h := overlapSchedule(t, ctx, env, tq, "ov-all", enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL)
		d := waitFor(t, ctx, h, "overlapping runs", func(d *client.ScheduleDescription) error {
			if len(d.Info.RunningWorkflows) < 3 {
				return fmt.Errorf("%d running", len(d.Info.RunningWorkflows))
			}
			return nil
		})
		require.Zero(t, d.Info.NumActionsSkippedOverlap)
		require.NoError(t, h.Pause(ctx, client.SchedulePauseOptions{}))
	})
	t.Run("buffer-one", func(t *testing.T) {
		h := overlapSchedule(t, ctx, env, tq, "ov-buf1", enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE)
		d := waitFor(t, ctx, h, "one running, later ones dropped", func(d *client.ScheduleDescription) error {
			if d.Info.NumActionsSkippedOverlap < 2 {
				return fmt.Errorf("skipped %d", d.Info.NumActionsSkippedOverlap)
			}
			return nil
		})
		require.Equal(t, 1, d.Info.NumActions)
		first := d.Info.RunningWorkflows[0]
		signalDone(t, ctx, env.client, first)
		d = waitFor(t, ctx, h, "the buffered start runs when the first closes", func(d *client.ScheduleDescription) error {
			if d.Info.NumActions < 2 || len(d.Info.RunningWorkflows) != 1 || d.Info.RunningWorkflows[0].WorkflowID == first.WorkflowID {
				return fmt.Errorf("%d actions, running %v", d.Info.NumActions, d.Info.RunningWorkflows)
			}
			return nil
		})
		require.NoError(t, h.Pause(ctx, client.SchedulePauseOptions{}))
	})
	t.Run("terminate-other", func(t *testing.T) {
		h := overlapSchedule(t, ctx, env, tq, "ov-term", enumspb.SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER)
		d := waitFor(t, ctx, h, "replaced runs", func(d *client.ScheduleDescription) error {
			if d.Info.NumActions < 3 {
				return fmt.Errorf("%d actions", d.Info.NumActions)
			}
			return nil
		})
		require.NoError(t, h.Pause(ctx, client.SchedulePauseOptions{}))
		require.LessOrEqual(t, len(d.Info.RunningWorkflows), 1)
		first := d.Info.RecentActions[0].StartWorkflowResult
		desc, err := env.client.DescribeWorkflowExecution(ctx, first.WorkflowID, first.FirstExecutionRunID)
		require.NoError(t, err)
		require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, desc.WorkflowExecutionInfo.Status)
	})
	t.Run("cancel-other", func(t *testing.T) {
		h := overlapSchedule(t, ctx, env, tq, "ov-cancel", enumspb.SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER)
		waitFor(t, ctx, h, "cancelled runs replaced", func(d *client.ScheduleDescription) error {
			if d.Info.NumActions < 2 {
				return fmt.Errorf("%d actions", d.Info.NumActions)
			}
			return nil
		})
		d := describeSchedule(t, ctx, h)
		require.NoError(t, h.Pause(ctx, client.SchedulePauseOptions{}))
		// The first run was asked to cancel (it then returns normally) and
		// had closed before the next started.
		first := d.Info.RecentActions[0].StartWorkflowResult
		events := requireHistory(t, ctx, env.client, first.WorkflowID, first.FirstExecutionRunID)
		require.NotEmpty(t, eventsOfType(events, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED))
		closed := events[len(events)-1].EventTime.AsTime()
		second := d.Info.RecentActions[1]
		require.False(t, second.ActualTime.Before(closed), "the next run starts after the cancelled one closed")
	})
}

// TestScheduleBackfillPauseTrigger: a backfill over a past hour runs one
// action per matching time; trigger runs one action while paused; pause
// and unpause keep their notes; limited actions stop the spec.
func TestScheduleBackfillPauseTrigger(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 120*time.Second)
	tq := env.startWorker(t, registerScheduleWorkflows)
	sc := env.client.ScheduleClient()

	h, err := sc.Create(ctx, client.ScheduleOptions{
		ID: "backfill", Spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: 5 * time.Minute}}},
		Action: &client.ScheduleWorkflowAction{ID: "bf", Workflow: scheduleQuick, TaskQueue: tq},
		Paused: true, Note: "created paused",
	})
	require.NoError(t, err)
	end := time.Now().UTC().Truncate(5 * time.Minute).Add(-time.Hour)
	require.NoError(t, h.Backfill(ctx, client.ScheduleBackfillOptions{Backfill: []client.ScheduleBackfill{{
		Start: end.Add(-time.Hour), End: end, Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL}}}))
	// All done before the trigger, whose overlap policy (the schedule's,
	// skip) would otherwise skip it while a backfilled run is open.
	d := waitFor(t, ctx, h, "12 backfilled actions, all closed", func(d *client.ScheduleDescription) error {
		if d.Info.NumActions != 12 || len(d.Info.RunningWorkflows) != 0 {
			return fmt.Errorf("%d actions, %d running", d.Info.NumActions, len(d.Info.RunningWorkflows))
		}
		return nil
	})
	// (start, end]: the first is 5 min after start, the last at end.
	resp, err := env.client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Namespace: testNamespace, Query: "TemporalScheduledById = 'backfill'", PageSize: 100})
	require.NoError(t, err)
	var ids []string
	for _, e := range resp.Executions {
		ids = append(ids, e.Execution.WorkflowId)
	}
	slices.Sort(ids)
	require.Len(t, ids, 12)
	require.Equal(t, "bf-"+end.Add(-55*time.Minute).Format(time.RFC3339), ids[0])
	require.Equal(t, "bf-"+end.Format(time.RFC3339), ids[11])
	require.True(t, d.Schedule.State.Paused)
	require.Equal(t, "created paused", d.Schedule.State.Note)

	// Trigger while paused runs one action now.
	require.NoError(t, h.Trigger(ctx, client.ScheduleTriggerOptions{}))
	waitFor(t, ctx, h, "triggered action", func(d *client.ScheduleDescription) error {
		if d.Info.NumActions != 13 {
			return fmt.Errorf("%d actions", d.Info.NumActions)
		}
		return nil
	})
	require.NoError(t, h.Unpause(ctx, client.ScheduleUnpauseOptions{Note: "go"}))
	d = describeSchedule(t, ctx, h)
	require.False(t, d.Schedule.State.Paused)
	require.Equal(t, "go", d.Schedule.State.Note)
	require.NoError(t, h.Pause(ctx, client.SchedulePauseOptions{Note: "stop"}))
	d = describeSchedule(t, ctx, h)
	require.True(t, d.Schedule.State.Paused)
	require.Equal(t, "stop", d.Schedule.State.Note)

	// Limited actions: two spec actions, then none (triggers still run).
	lim, err := sc.Create(ctx, client.ScheduleOptions{
		ID: "limited", Spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Second}}},
		Action:           &client.ScheduleWorkflowAction{ID: "lim", Workflow: scheduleQuick, TaskQueue: tq},
		Overlap:          enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL,
		RemainingActions: 2,
	})
	require.NoError(t, err)
	d = waitFor(t, ctx, lim, "remaining actions used up", func(d *client.ScheduleDescription) error {
		if d.Schedule.State.RemainingActions != 0 {
			return fmt.Errorf("%d remaining", d.Schedule.State.RemainingActions)
		}
		return nil
	})
	require.Equal(t, 2, d.Info.NumActions)
	require.Empty(t, d.Info.NextActionTimes)
}

// TestScheduleUpdateDeleteListCount: update replaces the spec (and is
// refused on a stale conflict token), list and count filter by query,
// delete removes the schedule.
func TestScheduleUpdateDeleteListCount(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 60*time.Second)
	sc := env.client.ScheduleClient()
	action := &client.ScheduleWorkflowAction{ID: "wf", Workflow: scheduleQuick, TaskQueue: "unused"}
	for _, id := range []string{"team-a-1", "team-a-2", "team-b-1"} {
		_, err := sc.Create(ctx, client.ScheduleOptions{ID: id, Action: action, Paused: id == "team-a-2",
			Spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Hour}}}})
		require.NoError(t, err)
	}
	_, err := sc.Create(ctx, client.ScheduleOptions{ID: "team-a-1", Action: action})
	require.ErrorIs(t, err, temporal.ErrScheduleAlreadyRunning)

	h := sc.GetHandle(ctx, "team-a-1")
	require.NoError(t, h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
		s := in.Description.Schedule
		s.Spec = &client.ScheduleSpec{CronExpressions: []string{"0 12 * * *"}}
		return &client.ScheduleUpdate{Schedule: &s}, nil
	}}))
	d := describeSchedule(t, ctx, h)
	require.Len(t, d.Schedule.Spec.Calendars, 1)
	require.Empty(t, d.Schedule.Spec.Intervals)
	for _, next := range d.Info.NextActionTimes {
		require.Equal(t, 12, next.UTC().Hour())
	}

	// A stale conflict token is refused.
	raw, err := env.client.WorkflowService().DescribeSchedule(ctx, &workflowservice.DescribeScheduleRequest{Namespace: testNamespace, ScheduleId: "team-a-1"})
	require.NoError(t, err)
	_, err = env.client.WorkflowService().UpdateSchedule(ctx, &workflowservice.UpdateScheduleRequest{Namespace: testNamespace,
		ScheduleId: "team-a-1", Schedule: raw.Schedule, ConflictToken: raw.ConflictToken, RequestId: "r1"})
	require.NoError(t, err)
	_, err = env.client.WorkflowService().UpdateSchedule(ctx, &workflowservice.UpdateScheduleRequest{Namespace: testNamespace,
		ScheduleId: "team-a-1", Schedule: raw.Schedule, ConflictToken: raw.ConflictToken, RequestId: "r2"})
	var precondition *serviceerror.FailedPrecondition
	require.ErrorAs(t, err, &precondition)

	list := func(query string) []string {
		it, err := sc.List(ctx, client.ScheduleListOptions{PageSize: 2, Query: query})
		require.NoError(t, err)
		var ids []string
		for it.HasNext() {
			e, err := it.Next()
			require.NoError(t, err)
			ids = append(ids, e.ID)
		}
		return ids
	}
	require.Equal(t, []string{"team-a-1", "team-a-2", "team-b-1"}, list(""))
	require.Equal(t, []string{"team-a-1", "team-a-2"}, list("ScheduleId STARTS_WITH 'team-a'"))
	require.Equal(t, []string{"team-a-2"}, list("TemporalSchedulePaused = true"))
	count := func(query string) int64 {
		resp, err := env.client.WorkflowService().CountSchedules(ctx, &workflowservice.CountSchedulesRequest{Namespace: testNamespace, Query: query})
		require.NoError(t, err)
		return resp.Count
	}
	require.EqualValues(t, 3, count(""))
	require.EqualValues(t, 2, count("TemporalSchedulePaused = false"))
	_, err = env.client.WorkflowService().ListSchedules(ctx, &workflowservice.ListSchedulesRequest{Namespace: testNamespace, Query: "Nope = 1"})
	var invalid *serviceerror.InvalidArgument
	require.ErrorAs(t, err, &invalid)

	require.NoError(t, h.Delete(ctx))
	_, err = h.Describe(ctx)
	var notFound *serviceerror.NotFound
	require.ErrorAs(t, err, &notFound)
	require.ErrorAs(t, h.Delete(ctx), &notFound)
	require.Equal(t, []string{"team-a-2", "team-b-1"}, list(""))
}
