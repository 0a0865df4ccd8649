package tests

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commandpb "go.temporal.io/api/command/v1"
	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/types/known/durationpb"
)

// A worker that set sticky attributes gets the run's next workflow task on
// its sticky queue, with only the events after its previous task.
func TestStickyQueueGetsPartialHistory(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 30*time.Second)
	svc := env.client.WorkflowService()
	tq := uniqueName(t, "tq")
	sticky := uniqueName(t, "sticky")
	run, err := env.client.ExecuteWorkflow(ctx, startOptions(t, tq), "Raw")
	require.NoError(t, err)

	first, err := svc.PollWorkflowTaskQueue(ctx, &workflowservice.PollWorkflowTaskQueueRequest{
		Namespace: testNamespace, TaskQueue: &taskqueuepb.TaskQueue{Name: tq, Kind: enumspb.TASK_QUEUE_KIND_NORMAL}, Identity: "raw",
	})
	require.NoError(t, err)
	require.Len(t, first.GetHistory().GetEvents(), 3)
	_, err = svc.RespondWorkflowTaskCompleted(ctx, &workflowservice.RespondWorkflowTaskCompletedRequest{
		Namespace: testNamespace, TaskToken: first.GetTaskToken(), Identity: "raw",
		Commands: []*commandpb.Command{{
			CommandType: enumspb.COMMAND_TYPE_START_TIMER,
			Attributes: &commandpb.Command_StartTimerCommandAttributes{StartTimerCommandAttributes: &commandpb.StartTimerCommandAttributes{
				TimerId: "t", StartToFireTimeout: durationpb.New(100 * time.Millisecond)}},
		}},
		StickyAttributes: &taskqueuepb.StickyExecutionAttributes{
			WorkerTaskQueue:        &taskqueuepb.TaskQueue{Name: sticky, Kind: enumspb.TASK_QUEUE_KIND_STICKY, NormalName: tq},
			ScheduleToStartTimeout: durationpb.New(10 * time.Second),
		},
	})
	require.NoError(t, err)

	second, err := svc.PollWorkflowTaskQueue(ctx, &workflowservice.PollWorkflowTaskQueueRequest{
		Namespace: testNamespace, TaskQueue: &taskqueuepb.TaskQueue{Name: sticky, Kind: enumspb.TASK_QUEUE_KIND_STICKY, NormalName: tq}, Identity: "raw",
	})
	require.NoError(t, err)
	require.NotEmpty(t, second.GetTaskToken(), "the timer's workflow task must come on the sticky queue")
	events := second.GetHistory().GetEvents()
	require.Equal(t, int64(3), second.GetPreviousStartedEventId())
	require.Equal(t, second.GetPreviousStartedEventId()+1, events[0].GetEventId(), "partial history starts after the previous task")
	require.Equal(t, []enumspb.EventType{
		enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
		enumspb.EVENT_TYPE_TIMER_STARTED,
		enumspb.EVENT_TYPE_TIMER_FIRED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED,
	}, eventTypes(events))
	sched := events[3].GetWorkflowTaskScheduledEventAttributes().GetTaskQueue()
	require.Equal(t, enumspb.TASK_QUEUE_KIND_STICKY, sched.GetKind())
	require.Equal(t, tq, sched.GetNormalName())
	require.Equal(t, second.GetStartedEventId(), events[4].GetEventId())
	_ = run
}

// After the worker that has the run cached stops, the run continues on
// another worker of the same task queue.
func TestStickyWorkerStopsAnotherContinues(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 60*time.Second)
	tq := uniqueName(t, "tq")
	register := func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(func(ctx workflow.Context) (string, error) {
			var v string
			workflow.GetSignalChannel(ctx, "go").Receive(ctx, &v)
			return v, nil
		}, workflow.RegisterOptions{Name: "WaitSignal"})
	}
	a := worker.New(env.client, tq, worker.Options{Identity: "worker-a"})
	register(a)
	require.NoError(t, a.Start())
	run, err := env.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: uniqueName(t, "wf"), TaskQueue: tq}, "WaitSignal")
	require.NoError(t, err)
	eventually(t, ctx, "worker A to complete the first task", func() error {
		events, err := history(ctx, env.client, run.GetID(), run.GetRunID())
		if err != nil || len(eventsOfType(events, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)) == 0 {
			return fmt.Errorf("not yet: %v", err)
		}
		return nil
	})
	a.Stop()
	env.startWorkerOn(t, tq, func(r worker.Registry) { register(r) })
	require.NoError(t, env.client.SignalWorkflow(ctx, run.GetID(), "", "go", "from-b"))
	var out string
	require.NoError(t, run.Get(ctx, &out))
	require.Equal(t, "from-b", out)
	events := requireHistory(t, ctx, env.client, run.GetID(), run.GetRunID())
	requireContiguousIDs(t, events)
	started := eventsOfType(events, enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED)
	require.NotEqual(t, "worker-a", started[len(started)-1].GetWorkflowTaskStartedEventAttributes().GetIdentity())
}
