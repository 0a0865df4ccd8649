package tests

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

func requireInvalidArgument(t *testing.T, err error, contains string) {
	t.Helper()
	var invalid *serviceerror.InvalidArgument
	require.True(t, errors.As(err, &invalid), "want InvalidArgument, got %v", err)
	require.Contains(t, err.Error(), contains)
}

func TestSignalLimits(t *testing.T) {
	t.Parallel()
	env := newTestEnvWithConfig(t, map[string]any{"history.maximumSignalsPerExecution": 3})
	ctx := testContext(t, 30*time.Second)
	run, err := env.client.ExecuteWorkflow(ctx, startOptions(t, uniqueName(t, "tq")), "Nobody")
	require.NoError(t, err)
	for range 3 {
		require.NoError(t, env.client.SignalWorkflow(ctx, run.GetID(), "", "sig", nil))
	}
	err = env.client.SignalWorkflow(ctx, run.GetID(), "", "sig", nil)
	requireInvalidArgument(t, err, "exceeded workflow execution limit for signal events")

	big := bytes.Repeat([]byte("x"), 2<<20+1024)
	_, err = env.client.WorkflowService().SignalWorkflowExecution(ctx, &workflowservice.SignalWorkflowExecutionRequest{
		Namespace: testNamespace, WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: run.GetID()}, SignalName: "sig",
		Input: &commonpb.Payloads{Payloads: []*commonpb.Payload{{Data: big}}},
	})
	requireInvalidArgument(t, err, "Blob data size exceeds limit.")
	events := requireHistory(t, ctx, env.client, run.GetID(), run.GetRunID())
	require.Len(t, eventsOfType(events, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED), 3, "rejected signals change nothing")
}

func TestRequestSizeLimits(t *testing.T) {
	t.Parallel()
	env := newTestEnvWithConfig(t, map[string]any{"limit.memoSize.error": 1000})
	ctx := testContext(t, 30*time.Second)
	start := func(memo *commonpb.Memo, input []byte) error {
		_, err := env.client.WorkflowService().StartWorkflowExecution(ctx, &workflowservice.StartWorkflowExecutionRequest{
			Namespace: testNamespace, WorkflowId: uniqueName(t, "wf"), WorkflowType: &commonpb.WorkflowType{Name: "Nobody"},
			TaskQueue: &taskqueuepb.TaskQueue{Name: "q"}, Memo: memo,
			Input: &commonpb.Payloads{Payloads: []*commonpb.Payload{{Data: input}}},
		})
		return err
	}
	err := start(&commonpb.Memo{Fields: map[string]*commonpb.Payload{"m": {Data: bytes.Repeat([]byte("m"), 2000)}}}, nil)
	requireInvalidArgument(t, err, "Memo size exceeds limit.")
	err = start(nil, bytes.Repeat([]byte("i"), 5<<20))
	var exhausted *serviceerror.ResourceExhausted
	require.True(t, errors.As(err, &exhausted) || strings.Contains(err.Error(), "ResourceExhausted"), "a 5 MiB request: %v", err)
}

func TestPendingActivitiesLimit(t *testing.T) {
	t.Parallel()
	env := newTestEnvWithConfig(t, map[string]any{"limit.numPendingActivities.error": 2})
	ctx := testContext(t, 30*time.Second)
	tq := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
			ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
			var fs []workflow.Future
			for range 3 {
				fs = append(fs, workflow.ExecuteActivity(ctx, "Never"))
			}
			for _, f := range fs {
				_ = f.Get(ctx, nil)
			}
			return nil
		}, workflow.RegisterOptions{Name: "TooMany"})
	})
	run, err := env.client.ExecuteWorkflow(ctx, startOptions(t, tq), "TooMany")
	require.NoError(t, err)
	eventually(t, ctx, "the workflow task to fail on the limit", func() error {
		events, err := history(ctx, env.client, run.GetID(), run.GetRunID())
		if err != nil {
			return err
		}
		for _, ev := range eventsOfType(events, enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED) {
			if ev.GetWorkflowTaskFailedEventAttributes().GetCause() == enumspb.WORKFLOW_TASK_FAILED_CAUSE_PENDING_ACTIVITIES_LIMIT_EXCEEDED {
				require.Empty(t, eventsOfType(events, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED), "no activity of the rejected task is scheduled")
				return nil
			}
		}
		return errNotYet
	})
}

func TestHistoryLimits(t *testing.T) {
	t.Parallel()
	env := newTestEnvWithConfig(t, map[string]any{
		"limit.historyCount.error":                40,
		"limit.historyCount.suggestContinueAsNew": 15,
	})
	ctx := testContext(t, 60*time.Second)
	tq := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(func(ctx workflow.Context, stopAtSuggestion bool) (int, error) {
			for i := 0; ; i++ {
				if stopAtSuggestion && workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
					return i, nil
				}
				if err := workflow.Sleep(ctx, time.Millisecond); err != nil {
					return i, err
				}
			}
		}, workflow.RegisterOptions{Name: "Loop"})
	})
	run, err := env.client.ExecuteWorkflow(ctx, startOptions(t, tq), "Loop", true)
	require.NoError(t, err)
	var loops int
	require.NoError(t, run.Get(ctx, &loops))
	require.Greater(t, loops, 0)
	events := requireHistory(t, ctx, env.client, run.GetID(), run.GetRunID())
	require.Less(t, len(events), 40, "the workflow stopped at the suggestion")

	run, err = env.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: uniqueName(t, "wf"), TaskQueue: tq}, "Loop", false)
	require.NoError(t, err)
	err = run.Get(ctx, nil)
	require.Error(t, err)
	events = requireHistory(t, ctx, env.client, run.GetID(), run.GetRunID())
	last := events[len(events)-1]
	require.Equal(t, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED, last.GetEventType())
	require.Equal(t, "Workflow history count exceeds limit.", last.GetWorkflowExecutionTerminatedEventAttributes().GetReason())
}
