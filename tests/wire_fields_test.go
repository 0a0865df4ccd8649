package tests

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commandpb "go.temporal.io/api/command/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	sdkpb "go.temporal.io/api/sdk/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/types/known/durationpb"
)

// summaryOf decodes a user metadata payload (a JSON string from the SDK).
func summaryOf(t *testing.T, p *commonpb.Payload) string {
	t.Helper()
	if p == nil {
		return ""
	}
	var s string
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(p, &s))
	return s
}

// requireZeroSet asserts a duration is present and zero: the reference
// server writes such fields as "0s" rather than leaving them out.
func requireZeroSet(t *testing.T, d *durationpb.Duration, field string) {
	t.Helper()
	require.NotNil(t, d, "%s must be set (0s), not omitted", field)
	require.Zero(t, d.AsDuration(), field)
}

// User metadata given at start, on timers, activities, local activities,
// side effects and child workflows is stored on the events and returned by
// describe; a top-level run's started event names no root, a child's names
// the parent; zero durations are written as 0s.
func TestUserMetadataRootAndZeroDurations(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 60*time.Second)
	tq := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
			ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second, Summary: "act"})
			if err := workflow.ExecuteActivity(ctx, "Noop").Get(ctx, nil); err != nil {
				return err
			}
			lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 10 * time.Second, Summary: "local"})
			if err := workflow.ExecuteLocalActivity(lctx, func(context.Context) error { return nil }).Get(ctx, nil); err != nil {
				return err
			}
			workflow.SideEffectWithOptions(ctx, workflow.SideEffectOptions{Summary: "effect"}, func(workflow.Context) any { return 1 })
			if err := workflow.NewTimerWithOptions(ctx, time.Millisecond, workflow.TimerOptions{Summary: "tick"}).Get(ctx, nil); err != nil {
				return err
			}
			cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID + "-child",
				StaticSummary: "kid", StaticDetails: "kid details"})
			return workflow.ExecuteChildWorkflow(cctx, "Child").Get(ctx, nil)
		}, workflow.RegisterOptions{Name: "Meta"})
		r.RegisterWorkflowWithOptions(func(workflow.Context) error { return nil }, workflow.RegisterOptions{Name: "Child"})
		r.RegisterActivityWithOptions(func(context.Context) error { return nil }, activity.RegisterOptions{Name: "Noop"})
	})
	opts := startOptions(t, tq)
	opts.StaticSummary, opts.StaticDetails = "top", "top details"
	run, err := env.client.ExecuteWorkflow(ctx, opts, "Meta")
	require.NoError(t, err)
	require.NoError(t, run.Get(ctx, nil))

	events := requireHistory(t, ctx, env.client, run.GetID(), run.GetRunID())
	started := events[0]
	sa := started.GetWorkflowExecutionStartedEventAttributes()
	require.Equal(t, "top", summaryOf(t, started.GetUserMetadata().GetSummary()))
	require.Equal(t, "top details", summaryOf(t, started.GetUserMetadata().GetDetails()))
	require.Nil(t, sa.GetRootWorkflowExecution(), "a top-level run names no root")
	requireZeroSet(t, sa.GetWorkflowExecutionTimeout(), "workflow_execution_timeout")
	requireZeroSet(t, sa.GetWorkflowRunTimeout(), "workflow_run_timeout")
	requireZeroSet(t, sa.GetFirstWorkflowTaskBackoff(), "first_workflow_task_backoff")
	require.Equal(t, 10*time.Second, sa.GetWorkflowTaskTimeout().AsDuration())

	want := map[enumspb.EventType]string{
		enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:                  "act",
		enumspb.EVENT_TYPE_TIMER_STARTED:                            "tick",
		enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED: "kid",
	}
	for et, summary := range want {
		evs := eventsOfType(events, et)
		require.Len(t, evs, 1, et.String())
		require.Equal(t, summary, summaryOf(t, evs[0].GetUserMetadata().GetSummary()), et.String())
	}
	var markers []string
	for _, ev := range eventsOfType(events, enumspb.EVENT_TYPE_MARKER_RECORDED) {
		markers = append(markers, summaryOf(t, ev.GetUserMetadata().GetSummary()))
	}
	require.ElementsMatch(t, []string{"local", "effect"}, markers)
	sched := eventsOfType(events, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)[0].GetActivityTaskScheduledEventAttributes()
	requireZeroSet(t, sched.GetHeartbeatTimeout(), "heartbeat_timeout")
	requireZeroSet(t, sched.GetScheduleToCloseTimeout(), "schedule_to_close_timeout")
	requireZeroSet(t, sched.GetScheduleToStartTimeout(), "schedule_to_start_timeout")

	desc, err := env.client.DescribeWorkflowExecution(ctx, run.GetID(), run.GetRunID())
	require.NoError(t, err)
	require.Equal(t, "top", summaryOf(t, desc.GetExecutionConfig().GetUserMetadata().GetSummary()))
	require.Equal(t, "top details", summaryOf(t, desc.GetExecutionConfig().GetUserMetadata().GetDetails()))
	requireZeroSet(t, desc.GetExecutionConfig().GetWorkflowExecutionTimeout(), "execution_config.workflow_execution_timeout")
	require.Equal(t, run.GetRunID(), desc.GetWorkflowExecutionInfo().GetRootExecution().GetRunId(), "describe: a top-level run is its own root")

	childID := run.GetID() + "-child"
	child := requireHistory(t, ctx, env.client, childID, "")
	ca := child[0].GetWorkflowExecutionStartedEventAttributes()
	require.Equal(t, run.GetID(), ca.GetRootWorkflowExecution().GetWorkflowId())
	require.Equal(t, run.GetRunID(), ca.GetRootWorkflowExecution().GetRunId())
	require.Equal(t, "kid", summaryOf(t, child[0].GetUserMetadata().GetSummary()))
	requireZeroSet(t, ca.GetFirstWorkflowTaskBackoff(), "child first_workflow_task_backoff")
	cdesc, err := env.client.DescribeWorkflowExecution(ctx, childID, "")
	require.NoError(t, err)
	require.Equal(t, "kid details", summaryOf(t, cdesc.GetExecutionConfig().GetUserMetadata().GetDetails()))
}

// With only schedule-to-close set, schedule-to-start and start-to-close
// default to it (and heartbeat is written as 0s).
func TestScheduleToCloseOnlyDefaults(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 60*time.Second)
	tq := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
			ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{ScheduleToCloseTimeout: 30 * time.Second})
			return workflow.ExecuteActivity(ctx, "Noop").Get(ctx, nil)
		}, workflow.RegisterOptions{Name: "S2COnly"})
		r.RegisterActivityWithOptions(func(context.Context) error { return nil }, activity.RegisterOptions{Name: "Noop"})
	})
	run, err := env.client.ExecuteWorkflow(ctx, startOptions(t, tq), "S2COnly")
	require.NoError(t, err)
	require.NoError(t, run.Get(ctx, nil))
	events := requireHistory(t, ctx, env.client, run.GetID(), run.GetRunID())
	a := eventsOfType(events, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)[0].GetActivityTaskScheduledEventAttributes()
	require.Equal(t, 30*time.Second, a.GetScheduleToCloseTimeout().AsDuration())
	require.Equal(t, 30*time.Second, a.GetScheduleToStartTimeout().AsDuration())
	require.Equal(t, 30*time.Second, a.GetStartToCloseTimeout().AsDuration())
	requireZeroSet(t, a.GetHeartbeatTimeout(), "heartbeat_timeout")
}

// rawPollWFT polls one workflow task from tq with raw gRPC.
func rawPollWFT(t *testing.T, ctx context.Context, svc workflowservice.WorkflowServiceClient, tq string) *workflowservice.PollWorkflowTaskQueueResponse {
	t.Helper()
	resp, err := svc.PollWorkflowTaskQueue(ctx, &workflowservice.PollWorkflowTaskQueueRequest{
		Namespace: testNamespace, TaskQueue: &taskqueuepb.TaskQueue{Name: tq, Kind: enumspb.TASK_QUEUE_KIND_NORMAL}, Identity: "raw",
	})
	require.NoError(t, err)
	require.NotEmpty(t, resp.GetTaskToken())
	return resp
}

func rawScheduleActivity(id string, prio *commonpb.Priority) *commandpb.Command {
	return &commandpb.Command{
		CommandType: enumspb.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK,
		UserMetadata: &sdkpb.UserMetadata{Summary: &commonpb.Payload{
			Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`"` + id + `"`)}},
		Attributes: &commandpb.Command_ScheduleActivityTaskCommandAttributes{ScheduleActivityTaskCommandAttributes: &commandpb.ScheduleActivityTaskCommandAttributes{
			ActivityId: id, ActivityType: &commonpb.ActivityType{Name: "Act"}, Header: &commonpb.Header{},
			Input:               &commonpb.Payloads{Payloads: []*commonpb.Payload{{Data: []byte(id)}}},
			StartToCloseTimeout: durationpb.New(10 * time.Second), Priority: prio,
		}},
	}
}

// The fields of both poll responses, against what the reference server
// fills in: an activity with only start-to-close gets schedule_to_close and
// heartbeat as 0s (the TypeScript SDK rejects a task without
// schedule_to_close_timeout), and inherits the workflow's priority unless
// its command sets one.
func TestPollResponseFields(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 60*time.Second)
	svc := env.client.WorkflowService()
	tq := uniqueName(t, "tq")
	opts := startOptions(t, tq)
	opts.Priority.PriorityKey = 3
	run, err := env.client.ExecuteWorkflow(ctx, opts, "Raw")
	require.NoError(t, err)

	wft := rawPollWFT(t, ctx, svc, tq)
	require.Equal(t, run.GetID(), wft.GetWorkflowExecution().GetWorkflowId())
	require.Equal(t, run.GetRunID(), wft.GetWorkflowExecution().GetRunId())
	require.Equal(t, "Raw", wft.GetWorkflowType().GetName())
	require.Zero(t, wft.GetPreviousStartedEventId())
	require.Equal(t, int64(3), wft.GetStartedEventId())
	require.Equal(t, int32(1), wft.GetAttempt())
	require.Len(t, wft.GetHistory().GetEvents(), 3)
	require.Empty(t, wft.GetNextPageToken())
	require.Equal(t, tq, wft.GetWorkflowExecutionTaskQueue().GetName())
	require.Equal(t, enumspb.TASK_QUEUE_KIND_NORMAL, wft.GetWorkflowExecutionTaskQueue().GetKind())
	require.NotNil(t, wft.GetScheduledTime())
	require.NotNil(t, wft.GetStartedTime())
	require.False(t, wft.GetStartedTime().AsTime().Before(wft.GetScheduledTime().AsTime()))
	require.Nil(t, wft.GetQuery())

	_, err = svc.RespondWorkflowTaskCompleted(ctx, &workflowservice.RespondWorkflowTaskCompletedRequest{
		Namespace: testNamespace, TaskToken: wft.GetTaskToken(), Identity: "raw",
		Commands: []*commandpb.Command{rawScheduleActivity("inherit", nil), rawScheduleActivity("own", &commonpb.Priority{PriorityKey: 1})},
	})
	require.NoError(t, err)

	got := map[string]*workflowservice.PollActivityTaskQueueResponse{}
	for len(got) < 2 {
		resp, err := svc.PollActivityTaskQueue(ctx, &workflowservice.PollActivityTaskQueueRequest{
			Namespace: testNamespace, TaskQueue: &taskqueuepb.TaskQueue{Name: tq, Kind: enumspb.TASK_QUEUE_KIND_NORMAL}, Identity: "raw",
		})
		require.NoError(t, err)
		if len(resp.GetTaskToken()) > 0 {
			got[resp.GetActivityId()] = resp
		}
	}
	for id, a := range got {
		require.Equal(t, testNamespace, a.GetWorkflowNamespace(), id)
		require.Equal(t, "Raw", a.GetWorkflowType().GetName(), id)
		require.Equal(t, run.GetRunID(), a.GetWorkflowExecution().GetRunId(), id)
		require.Equal(t, "Act", a.GetActivityType().GetName(), id)
		require.NotNil(t, a.GetHeader(), "%s: header sent empty comes back empty, not nil", id)
		require.Equal(t, []byte(id), a.GetInput().GetPayloads()[0].GetData())
		require.Nil(t, a.GetHeartbeatDetails(), id)
		require.NotNil(t, a.GetScheduledTime(), id)
		require.Equal(t, a.GetScheduledTime().AsTime(), a.GetCurrentAttemptScheduledTime().AsTime(), id)
		require.NotNil(t, a.GetStartedTime(), id)
		require.Equal(t, int32(1), a.GetAttempt(), id)
		requireZeroSet(t, a.GetScheduleToCloseTimeout(), id+" schedule_to_close_timeout")
		require.Equal(t, 10*time.Second, a.GetStartToCloseTimeout().AsDuration(), id)
		requireZeroSet(t, a.GetHeartbeatTimeout(), id+" heartbeat_timeout")
		rp := a.GetRetryPolicy()
		require.Equal(t, time.Second, rp.GetInitialInterval().AsDuration(), id)
		require.Equal(t, 2.0, rp.GetBackoffCoefficient(), id)
		require.Equal(t, 100*time.Second, rp.GetMaximumInterval().AsDuration(), id)
	}
	require.Equal(t, int32(3), got["inherit"].GetPriority().GetPriorityKey(), "inherited from the workflow")
	require.Equal(t, int32(1), got["own"].GetPriority().GetPriorityKey(), "the command's own")

	events := requireHistory(t, ctx, env.client, run.GetID(), run.GetRunID())
	prios := map[string]int32{}
	for _, ev := range eventsOfType(events, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) {
		a := ev.GetActivityTaskScheduledEventAttributes()
		prios[a.GetActivityId()] = a.GetPriority().GetPriorityKey()
		require.Equal(t, a.GetActivityId(), summaryOf(t, ev.GetUserMetadata().GetSummary()))
	}
	require.Equal(t, map[string]int32{"inherit": 3, "own": 1}, prios)
}
