package tests

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commandpb "go.temporal.io/api/command/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	protocolpb "go.temporal.io/api/protocol/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	updatepb "go.temporal.io/api/update/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/types/known/anypb"
)

// One RespondWorkflowTaskCompleted is one batch: its commands and messages
// see what the earlier ones in the same batch did, and the edges of a run
// (its start delay, its close) do not lose updates.

// cancelledAtOnce schedules an activity (or starts a timer) with a context
// it cancels right away, so the Go SDK sends the schedule and its cancel
// in one completion; it returns what waiting on the future gave.
func cancelledAtOnce(ctx workflow.Context, what string, waitCancel bool) (string, error) {
	cctx, cancel := workflow.WithCancel(ctx)
	var f workflow.Future
	switch what {
	case "activity":
		cctx = workflow.WithActivityOptions(cctx, workflow.ActivityOptions{
			StartToCloseTimeout: time.Minute, WaitForCancellation: waitCancel,
		})
		f = workflow.ExecuteActivity(cctx, "NeverRegistered")
	case "timer":
		f = workflow.NewTimer(cctx, time.Hour)
	}
	cancel()
	err := f.Get(ctx, nil)
	var canceled *temporal.CanceledError
	if !errors.As(err, &canceled) {
		return "", fmt.Errorf("want a CanceledError, got %v", err)
	}
	return "canceled", nil
}

func runCancelledAtOnce(t *testing.T, what string, waitCancel bool) []enumspb.EventType {
	t.Helper()
	env := newTestEnv(t)
	ctx := testContext(t, 60*time.Second)
	tq := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(cancelledAtOnce, workflow.RegisterOptions{Name: "CancelledAtOnce"})
	})
	run, err := env.client.ExecuteWorkflow(ctx, startOptions(t, tq), "CancelledAtOnce", what, waitCancel)
	require.NoError(t, err)
	var got string
	require.NoError(t, run.Get(ctx, &got))
	require.Equal(t, "canceled", got)
	events := requireHistory(t, ctx, env.client, run.GetID(), run.GetRunID())
	requireContiguousIDs(t, events)
	return eventTypes(events)
}

// The Go SDK cancels an activity scheduled in the same completion with a
// RequestCancelActivityTask naming the event ID the schedule gets: the
// activity never started, so it is cancelled at once.
func TestCancelActivityScheduledInSameTask(t *testing.T) {
	t.Parallel()
	t.Run("try-cancel", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, []enumspb.EventType{
			enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
			enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
			enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED,
			enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
			enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
			enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED,
			enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCELED,
			enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
		}, runCancelledAtOnce(t, "activity", false))
	})
	t.Run("wait-cancellation", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, []enumspb.EventType{
			enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
			enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
			enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED,
			enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
			enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
			enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED,
			enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCELED,
			enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
			enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED,
			enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
			enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
		}, runCancelledAtOnce(t, "activity", true))
	})
}

// A timer started and cancelled in the same completion.
func TestCancelTimerStartedInSameTask(t *testing.T) {
	t.Parallel()
	require.Equal(t, []enumspb.EventType{
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
		enumspb.EVENT_TYPE_TIMER_STARTED,
		enumspb.EVENT_TYPE_TIMER_CANCELED,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
	}, runCancelledAtOnce(t, "timer", false))
}

// rawWorker drives workflow tasks of one task queue by hand.
type rawWorker struct {
	t   *testing.T
	svc workflowservice.WorkflowServiceClient
	tq  string
}

func newRawWorker(t *testing.T, env *testEnv) *rawWorker {
	return &rawWorker{t: t, svc: env.client.WorkflowService(), tq: uniqueName(t, "tq")}
}

// poll waits for the next workflow task of the queue.
func (w *rawWorker) poll(ctx context.Context) *workflowservice.PollWorkflowTaskQueueResponse {
	w.t.Helper()
	for {
		resp, err := w.svc.PollWorkflowTaskQueue(ctx, &workflowservice.PollWorkflowTaskQueueRequest{
			Namespace: testNamespace, TaskQueue: &taskqueuepb.TaskQueue{Name: w.tq, Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
			Identity: "raw-worker",
		})
		require.NoError(w.t, err)
		if len(resp.GetTaskToken()) > 0 {
			return resp
		}
	}
}

func (w *rawWorker) complete(ctx context.Context, task *workflowservice.PollWorkflowTaskQueueResponse, msgs []*protocolpb.Message, cmds ...*commandpb.Command) (*workflowservice.RespondWorkflowTaskCompletedResponse, error) {
	return w.svc.RespondWorkflowTaskCompleted(ctx, &workflowservice.RespondWorkflowTaskCompletedRequest{
		Namespace: testNamespace, TaskToken: task.GetTaskToken(), Commands: cmds, Messages: msgs, Identity: "raw-worker",
	})
}

func completeCommand() *commandpb.Command {
	return &commandpb.Command{
		CommandType: enumspb.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
		Attributes: &commandpb.Command_CompleteWorkflowExecutionCommandAttributes{
			CompleteWorkflowExecutionCommandAttributes: &commandpb.CompleteWorkflowExecutionCommandAttributes{},
		},
	}
}

// rejection answers the update request msg with a rejection.
func rejection(t *testing.T, msg *protocolpb.Message, why string) *protocolpb.Message {
	req := &updatepb.Request{}
	require.NoError(t, msg.GetBody().UnmarshalTo(req))
	body, err := anypb.New(&updatepb.Rejection{
		RejectedRequestMessageId: msg.GetId(), RejectedRequestSequencingEventId: msg.GetEventId(), RejectedRequest: req,
		Failure: &failurepb.Failure{Message: why, FailureInfo: &failurepb.Failure_ApplicationFailureInfo{
			ApplicationFailureInfo: &failurepb.ApplicationFailureInfo{Type: "Rejected"}}},
	})
	require.NoError(t, err)
	return &protocolpb.Message{Id: msg.GetId() + "/reject", ProtocolInstanceId: msg.GetProtocolInstanceId(), Body: body}
}

// An update rejection sent with CompleteWorkflowExecution in the same
// completion still reaches the update's caller.
func TestUpdateRejectedInClosingTask(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 60*time.Second)
	w := newRawWorker(t, env)
	run, err := env.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: uniqueName(t, "wf"), TaskQueue: w.tq}, "Raw")
	require.NoError(t, err)
	_, err = w.complete(ctx, w.poll(ctx), nil)
	require.NoError(t, err)

	updated := make(chan error, 1)
	go func() {
		h, err := env.client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			WorkflowID: run.GetID(), UpdateID: "u1", UpdateName: "add", Args: []any{1}, WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		if err == nil {
			err = h.Get(ctx, nil)
		}
		updated <- err
	}()
	task := w.poll(ctx)
	require.Len(t, task.GetMessages(), 1, "the update request rides on the task")
	_, err = w.complete(ctx, task, []*protocolpb.Message{rejection(t, task.GetMessages()[0], "not now")}, completeCommand())
	require.NoError(t, err)

	err = <-updated
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr, "the caller gets the rejection, not %v", err)
	require.Equal(t, "Rejected", appErr.Type())
	require.Contains(t, appErr.Error(), "not now")
	require.NoError(t, run.Get(ctx, nil))
	require.Equal(t, []enumspb.EventType{
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
	}, eventTypes(requireHistory(t, ctx, env.client, run.GetID(), run.GetRunID())))
}

// A completion that closes the run while a signal waits is refused the way
// the reference refuses it: InvalidArgument "UnhandledCommand", so the SDK
// does not count the workflow as completed; the next task sees the signal.
func TestCloseWithUnhandledSignalIsRefused(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 60*time.Second)
	w := newRawWorker(t, env)
	run, err := env.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: uniqueName(t, "wf"), TaskQueue: w.tq}, "Raw")
	require.NoError(t, err)
	task := w.poll(ctx)
	require.NoError(t, env.client.SignalWorkflow(ctx, run.GetID(), "", "sig", nil))

	resp, err := w.svc.RespondWorkflowTaskCompleted(ctx, &workflowservice.RespondWorkflowTaskCompletedRequest{
		Namespace: testNamespace, TaskToken: task.GetTaskToken(), Commands: []*commandpb.Command{completeCommand()},
		Identity: "raw-worker", ReturnNewWorkflowTask: true,
	})
	require.Error(t, err, "the completion is refused, not answered with %v", resp)
	var invalid *serviceerror.InvalidArgument
	require.ErrorAs(t, err, &invalid)
	require.Equal(t, "UnhandledCommand", invalid.Error())

	task = w.poll(ctx)
	require.Contains(t, eventTypes(task.GetHistory().GetEvents()), enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
	_, err = w.complete(ctx, task, nil, completeCommand())
	require.NoError(t, err)
	require.NoError(t, run.Get(ctx, nil))

	events := requireHistory(t, ctx, env.client, run.GetID(), run.GetRunID())
	require.Equal(t, []enumspb.EventType{
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
	}, eventTypes(events))
	failed := events[3].GetWorkflowTaskFailedEventAttributes()
	require.Equal(t, enumspb.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND, failed.GetCause())
	require.Equal(t, "UnhandledCommand", failed.GetFailure().GetMessage())
}

// The same with the SDK: a signal arriving while the workflow completes is
// handled by the workflow, which completes once.
func TestSignalWhileCompletingIsHandled(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 60*time.Second)
	signalled := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	tq := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(func(ctx workflow.Context) (int, error) {
			n := 0
			ch := workflow.GetSignalChannel(ctx, "sig")
			ch.Receive(ctx, nil)
			n++
			// A local activity holds the task started until a second
			// signal arrived (it runs again after the refused completion).
			lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 30 * time.Second})
			if err := workflow.ExecuteLocalActivity(lctx, func(context.Context) error {
				once.Do(func() { close(signalled) })
				<-release
				return nil
			}).Get(ctx, nil); err != nil {
				return 0, err
			}
			for ch.ReceiveAsync(nil) {
				n++
			}
			return n, nil
		}, workflow.RegisterOptions{Name: "CountSignals"})
	})
	run, err := env.client.ExecuteWorkflow(ctx, startOptions(t, tq), "CountSignals")
	require.NoError(t, err)
	require.NoError(t, env.client.SignalWorkflow(ctx, run.GetID(), "", "sig", nil))
	<-signalled
	require.NoError(t, env.client.SignalWorkflow(ctx, run.GetID(), "", "sig", nil))
	close(release)
	var n int
	require.NoError(t, run.Get(ctx, &n))
	require.Equal(t, 2, n, "the signal that arrived during the closing task was handled")
	events := requireHistory(t, ctx, env.client, run.GetID(), run.GetRunID())
	requireContiguousIDs(t, events)
	require.Len(t, eventsOfType(events, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED), 1)
	failed := eventsOfType(events, enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED)
	require.Len(t, failed, 1, "%v", eventTypes(events))
	require.Equal(t, enumspb.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND, failed[0].GetWorkflowTaskFailedEventAttributes().GetCause())
}

// An update the worker only rejects leaves no trace in history: its
// workflow task is speculative and dropped.
func TestRejectedUpdateWritesNoHistory(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 60*time.Second)
	tq := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(counter, workflow.RegisterOptions{Name: "Counter"})
	})
	run, err := env.client.ExecuteWorkflow(ctx, startOptions(t, tq), "Counter", 10)
	require.NoError(t, err)
	eventually(t, ctx, "the first workflow task to complete", func() error {
		events, err := history(ctx, env.client, run.GetID(), run.GetRunID())
		if err != nil || len(events) < 4 {
			return fmt.Errorf("history %v (%v)", eventTypes(events), err)
		}
		return nil
	})
	before := requireHistory(t, ctx, env.client, run.GetID(), run.GetRunID())
	require.Len(t, before, 4)

	for i := range 2 {
		_, err = updateAdd(t, env.client, run.GetID(), fmt.Sprintf("bad-%d", i), -1)
		require.ErrorContains(t, err, "negative numbers are not allowed")
		after := requireHistory(t, ctx, env.client, run.GetID(), run.GetRunID())
		require.Equal(t, eventTypes(before), eventTypes(after), "a rejected update writes nothing")
	}

	got, err := updateAdd(t, env.client, run.GetID(), "good", 5)
	require.NoError(t, err)
	require.Equal(t, 15, got)
	require.NoError(t, env.client.SignalWorkflow(ctx, run.GetID(), "", "done", nil))
	var total int
	require.NoError(t, run.Get(ctx, &total))
	require.Equal(t, 15, total)
	events := requireHistory(t, ctx, env.client, run.GetID(), run.GetRunID())
	requireContiguousIDs(t, events)
	require.Len(t, eventsOfType(events, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED), 1)
}

// blockingUpdate accepts "wait" updates whose handler never finishes, and
// returns on the "done" signal.
func blockingUpdate(ctx workflow.Context) error {
	if err := workflow.SetUpdateHandler(ctx, "wait", func(ctx workflow.Context) error {
		return workflow.Await(ctx, func() bool { return false })
	}); err != nil {
		return err
	}
	workflow.GetSignalChannel(ctx, "done").Receive(ctx, nil)
	return nil
}

// A run that completes while an accepted update's handler is unfinished
// gives the update's caller the reference's failure outcome.
func TestAcceptedUpdateOutlivedByRun(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 60*time.Second)
	tq := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(blockingUpdate, workflow.RegisterOptions{Name: "BlockingUpdate"})
	})
	run, err := env.client.ExecuteWorkflow(ctx, startOptions(t, tq), "BlockingUpdate")
	require.NoError(t, err)
	h, err := env.client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: run.GetID(), UpdateID: "u1", UpdateName: "wait", WaitForStage: client.WorkflowUpdateStageAccepted,
	})
	require.NoError(t, err)
	require.NoError(t, env.client.SignalWorkflow(ctx, run.GetID(), "", "done", nil))
	require.NoError(t, run.Get(ctx, nil))

	for _, get := range []func() error{
		func() error { return h.Get(ctx, nil) },
		func() error {
			return env.client.GetWorkflowUpdateHandle(client.GetWorkflowUpdateHandleOptions{
				WorkflowID: run.GetID(), RunID: run.GetRunID(), UpdateID: "u1"}).Get(ctx, nil)
		},
	} {
		err := get()
		var appErr *temporal.ApplicationError
		require.ErrorAs(t, err, &appErr, "an update failure, not %v", err)
		require.Equal(t, "AcceptedUpdateCompletedWorkflow", appErr.Type())
		require.Contains(t, appErr.Error(), "Workflow Update failed because the Workflow completed before the Update completed.")
		require.True(t, appErr.NonRetryable())
	}
}

// An update sent during the start delay waits for the run's first workflow
// task and rides on it.
func TestUpdateDuringStartDelay(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 60*time.Second)
	tq := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(counter, workflow.RegisterOptions{Name: "Counter"})
	})
	const delay = 2 * time.Second
	opts := startOptions(t, tq)
	opts.StartDelay = delay
	run, err := env.client.ExecuteWorkflow(ctx, opts, "Counter", 10)
	require.NoError(t, err)
	got, err := updateAdd(t, env.client, run.GetID(), "early", 5)
	require.NoError(t, err)
	require.Equal(t, 15, got)

	events := requireHistory(t, ctx, env.client, run.GetID(), run.GetRunID())
	require.Equal(t, []enumspb.EventType{
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
	}, eventTypes(events)[:6])
	started, scheduled := events[0].GetEventTime().AsTime(), events[1].GetEventTime().AsTime()
	require.GreaterOrEqual(t, scheduled.Sub(started), delay, "the update did not cut the start delay short")
}

// An update the worker never accepted fails with the reference's NotFound
// when the run is terminated under it.
func TestUnacceptedUpdateAbortedByClose(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 60*time.Second)
	w := newRawWorker(t, env)
	run, err := env.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: uniqueName(t, "wf"), TaskQueue: w.tq}, "Raw")
	require.NoError(t, err)
	_, err = w.complete(ctx, w.poll(ctx), nil)
	require.NoError(t, err)

	updated := make(chan error, 1)
	go func() {
		_, err := env.client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			WorkflowID: run.GetID(), UpdateID: "u1", UpdateName: "add", WaitForStage: client.WorkflowUpdateStageAccepted,
		})
		updated <- err
	}()
	eventually(t, ctx, "the update to be admitted", func() error {
		d, err := env.client.DescribeWorkflowExecution(ctx, run.GetID(), "")
		if err != nil || d.GetPendingWorkflowTask() == nil {
			return fmt.Errorf("no pending workflow task yet (%v)", err)
		}
		return nil
	})
	require.NoError(t, env.client.TerminateWorkflow(ctx, run.GetID(), "", "stop"))
	err = <-updated
	var notFound *serviceerror.NotFound
	require.ErrorAs(t, err, &notFound, "got %v", err)
	require.Equal(t, "workflow update was aborted by closing workflow", notFound.Error())
}
