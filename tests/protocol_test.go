package tests

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/types/known/durationpb"
)

// A history longer than one page (256 events) reaches the worker paged:
// the worker follows next_page_token and replays it correctly, and a client
// reads it forwards and backwards.
func TestLongHistoryIsPaged(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 90*time.Second)
	const steps = 60 // 6 events per step: well over one page
	tq := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(func(ctx workflow.Context) (int, error) {
			ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
			sum := 0
			for i := range steps {
				var out int
				if err := workflow.ExecuteActivity(ctx, "Inc", i).Get(ctx, &out); err != nil {
					return 0, err
				}
				sum += out
			}
			return sum, nil
		}, workflow.RegisterOptions{Name: "Long"})
		r.RegisterActivityWithOptions(func(_ context.Context, i int) (int, error) { return i + 1, nil }, activity.RegisterOptions{Name: "Inc"})
	})
	run, err := env.client.ExecuteWorkflow(ctx, startOptions(t, tq), "Long")
	require.NoError(t, err)
	var sum int
	require.NoError(t, run.Get(ctx, &sum))
	require.Equal(t, steps*(steps+1)/2, sum)

	events := requireHistory(t, ctx, env.client, run.GetID(), run.GetRunID())
	require.Greater(t, len(events), 300)
	requireContiguousIDs(t, events)

	svc := env.client.WorkflowService()
	var reversed []int64
	var token []byte
	for {
		resp, err := svc.GetWorkflowExecutionHistoryReverse(ctx, &workflowservice.GetWorkflowExecutionHistoryReverseRequest{
			Namespace: testNamespace, Execution: &commonpb.WorkflowExecution{WorkflowId: run.GetID(), RunId: run.GetRunID()},
			MaximumPageSize: 100, NextPageToken: token,
		})
		require.NoError(t, err)
		for _, ev := range resp.GetHistory().GetEvents() {
			reversed = append(reversed, ev.GetEventId())
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	require.Len(t, reversed, len(events))
	for i, id := range reversed {
		require.Equal(t, int64(len(events)-i), id, "reverse order")
	}
}

// A workflow task that no worker completes times out
// (WorkflowTaskTimedOut) and is retried on another poll.
func TestWorkflowTaskTimeout(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 60*time.Second)
	tq := uniqueName(t, "tq")
	opts := startOptions(t, tq)
	opts.WorkflowTaskTimeout = time.Second
	run, err := env.client.ExecuteWorkflow(ctx, opts, "Quick")
	require.NoError(t, err)

	// A raw poller takes the first task and never answers.
	svc := env.client.WorkflowService()
	resp, err := svc.PollWorkflowTaskQueue(ctx, &workflowservice.PollWorkflowTaskQueueRequest{
		Namespace: testNamespace, TaskQueue: &taskqueuepb.TaskQueue{Name: tq, Kind: enumspb.TASK_QUEUE_KIND_NORMAL}, Identity: "silent",
	})
	require.NoError(t, err)
	require.NotEmpty(t, resp.GetTaskToken())

	env.startWorkerOn(t, tq, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(func(ctx workflow.Context) (string, error) { return "done", nil }, workflow.RegisterOptions{Name: "Quick"})
	})
	var out string
	require.NoError(t, run.Get(ctx, &out))
	require.Equal(t, "done", out)

	events := requireHistory(t, ctx, env.client, run.GetID(), run.GetRunID())
	requireContiguousIDs(t, events)
	require.Equal(t, []enumspb.EventType{
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
	}, eventTypes(events))
	require.Equal(t, enumspb.TIMEOUT_TYPE_START_TO_CLOSE, events[3].GetWorkflowTaskTimedOutEventAttributes().GetTimeoutType())
	require.Equal(t, int32(2), events[4].GetWorkflowTaskScheduledEventAttributes().GetAttempt())

	// The silent poller's token is stale now.
	_, err = svc.RespondWorkflowTaskCompleted(ctx, &workflowservice.RespondWorkflowTaskCompletedRequest{
		Namespace: testNamespace, TaskToken: resp.GetTaskToken(), Identity: "silent",
	})
	var nf *serviceerror.NotFound
	require.ErrorAs(t, err, &nf)
}

// A local activity that outlives the workflow task timeout keeps the task
// alive through force_create_new_workflow_task heartbeats and completes.
func TestLongLocalActivityHeartbeatsWorkflowTask(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 60*time.Second)
	tq := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(func(ctx workflow.Context) (string, error) {
			ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 20 * time.Second})
			var out string
			err := workflow.ExecuteLocalActivity(ctx, func(context.Context) (string, error) {
				time.Sleep(11 * time.Second)
				return "slow", nil
			}).Get(ctx, &out)
			return out, err
		}, workflow.RegisterOptions{Name: "SlowLocal"})
	})
	opts := startOptions(t, tq)
	opts.WorkflowTaskTimeout = 5 * time.Second // heartbeats at 80%: room to spare under -race
	run, err := env.client.ExecuteWorkflow(ctx, opts, "SlowLocal")
	require.NoError(t, err)
	var out string
	require.NoError(t, run.Get(ctx, &out))
	require.Equal(t, "slow", out)

	events := requireHistory(t, ctx, env.client, run.GetID(), run.GetRunID())
	requireContiguousIDs(t, events)
	require.Empty(t, eventsOfType(events, enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT), "%v", eventTypes(events))
	require.GreaterOrEqual(t, len(eventsOfType(events, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)), 3,
		"the slow local activity should have heartbeated the workflow task: %v", eventTypes(events))
	require.Equal(t, []string{"LocalActivity"}, markerNames(events))
}

// Activities completed asynchronously by ID, heartbeats by ID, and stale
// tokens answered NotFound.
func TestActivityCompletionByIDAndStaleToken(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 60*time.Second)
	tokens := make(chan []byte, 1)
	tq := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(func(ctx workflow.Context) (string, error) {
			ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{ActivityID: "async", StartToCloseTimeout: 30 * time.Second})
			var out string
			err := workflow.ExecuteActivity(ctx, "Async").Get(ctx, &out)
			return out, err
		}, workflow.RegisterOptions{Name: "AsyncWorkflow"})
		r.RegisterActivityWithOptions(func(ctx context.Context) (string, error) {
			tokens <- activity.GetInfo(ctx).TaskToken
			return "", activity.ErrResultPending
		}, activity.RegisterOptions{Name: "Async"})
	})
	run, err := env.client.ExecuteWorkflow(ctx, startOptions(t, tq), "AsyncWorkflow")
	require.NoError(t, err)
	var token []byte
	select {
	case token = <-tokens:
	case <-ctx.Done():
		t.Fatal("activity never ran")
	}
	require.NoError(t, env.client.RecordActivityHeartbeatByID(ctx, testNamespace, run.GetID(), "", "async", "halfway"))
	require.NoError(t, env.client.CompleteActivityByID(ctx, testNamespace, run.GetID(), "", "async", "by-id", nil))
	var out string
	require.NoError(t, run.Get(ctx, &out))
	require.Equal(t, "by-id", out)

	err = env.client.CompleteActivity(ctx, token, "again", nil)
	var nf *serviceerror.NotFound
	require.True(t, errors.As(err, &nf), "completing with a used token: want NotFound, got %v", err)
	err = env.client.CompleteActivityByID(ctx, testNamespace, "no-such-workflow", "", "async", "x", nil)
	require.True(t, errors.As(err, &nf), "completing an unknown workflow's activity: want NotFound, got %v", err)
}

// The started event carries what the start request said, with Temporal's
// defaults filled in.
func TestStartedEventCarriesRequest(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 30*time.Second)
	id := uniqueName(t, "wf")
	_, err := env.client.WorkflowService().StartWorkflowExecution(ctx, &workflowservice.StartWorkflowExecutionRequest{
		Namespace: testNamespace, WorkflowId: id, WorkflowType: &commonpb.WorkflowType{Name: "Nobody"},
		TaskQueue: &taskqueuepb.TaskQueue{Name: uniqueName(t, "tq")}, WorkflowRunTimeout: durationpb.New(time.Hour),
		Memo: &commonpb.Memo{Fields: map[string]*commonpb.Payload{"k": {Data: []byte(`"v"`)}}},
	})
	require.NoError(t, err)
	events := requireHistory(t, ctx, env.client, id, "")
	require.Equal(t, []enumspb.EventType{enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED}, eventTypes(events))
	attrs := events[0].GetWorkflowExecutionStartedEventAttributes()
	require.Equal(t, "Nobody", attrs.GetWorkflowType().GetName())
	require.Equal(t, time.Hour, attrs.GetWorkflowRunTimeout().AsDuration())
	require.Equal(t, 10*time.Second, attrs.GetWorkflowTaskTimeout().AsDuration())
	require.Equal(t, []byte(`"v"`), attrs.GetMemo().GetFields()["k"].GetData())
	require.Equal(t, int32(1), attrs.GetAttempt())
	require.Equal(t, attrs.GetOriginalExecutionRunId(), attrs.GetFirstExecutionRunId())
}
