package tests

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	activitypb "go.temporal.io/api/activity/v1"
	batchpb "go.temporal.io/api/batch/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// pauseActivityID is the activity ID the workflows of these tests use.
const pauseActivityID = "act-1"

// runOneActivity runs activity "Pausable" on actTQ with a retry backoff of
// backoff and returns its result.
func runOneActivity(ctx workflow.Context, actTQ string, backoff time.Duration) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		ActivityID: pauseActivityID, TaskQueue: actTQ, StartToCloseTimeout: time.Minute, HeartbeatTimeout: time.Second,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: backoff, BackoffCoefficient: 1, MaximumInterval: backoff},
	})
	var out string
	err := workflow.ExecuteActivity(ctx, "Pausable").Get(ctx, &out)
	return out, err
}

// attempts records what the worker saw of each attempt it ran.
type attempts struct {
	mu    sync.Mutex
	infos []activity.Info
	cause []error
}

func (a *attempts) add(info activity.Info) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.infos = append(a.infos, info)
}

func (a *attempts) ended(cause error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.cause = append(a.cause, cause)
}

func (a *attempts) snapshot() ([]activity.Info, []error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]activity.Info(nil), a.infos...), append([]error(nil), a.cause...)
}

func (a *attempts) numbers() []int32 {
	infos, _ := a.snapshot()
	out := make([]int32, len(infos))
	for i, info := range infos {
		out[i] = info.Attempt
	}
	return out
}

// pendingActivity describes the run and returns its pending activity.
func pendingActivity(ctx context.Context, c client.Client, workflowID string) (*workflowpb.PendingActivityInfo, error) {
	d, err := c.DescribeWorkflowExecution(ctx, workflowID, "")
	if err != nil {
		return nil, err
	}
	if len(d.GetPendingActivities()) != 1 {
		return nil, fmt.Errorf("%d pending activities", len(d.GetPendingActivities()))
	}
	return d.GetPendingActivities()[0], nil
}

func requireCodeMsg(t *testing.T, err error, code codes.Code, msg string) {
	t.Helper()
	require.Equal(t, code, serviceerror.ToStatus(err).Code(), "%v", err)
	if msg != "" {
		require.Equal(t, msg, serviceerror.ToStatus(err).Message())
	}
}

// TestActivityPauseUnpause: a heartbeating activity paused through the raw
// API learns it from its heartbeat (the SDK cancels it with
// ErrActivityPaused), is not retried while paused, and runs again once
// unpaused.
func TestActivityPauseUnpause(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 2*time.Minute)
	c, svc := env.client, env.client.WorkflowService()
	var rec attempts
	var release atomic.Bool
	tq := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(runOneActivity, workflow.RegisterOptions{Name: "RunOneActivity"})
		r.RegisterActivityWithOptions(func(ctx context.Context) (string, error) {
			rec.add(activity.GetInfo(ctx))
			if release.Load() {
				return "done", nil
			}
			for {
				activity.RecordHeartbeat(ctx, "beat")
				select {
				case <-ctx.Done():
					rec.ended(context.Cause(ctx))
					return "", ctx.Err()
				case <-time.After(100 * time.Millisecond):
				}
			}
		}, activity.RegisterOptions{Name: "Pausable"})
	})
	run, err := c.ExecuteWorkflow(ctx, startOptions(t, tq), "RunOneActivity", tq, time.Second)
	require.NoError(t, err)
	exec := &commonpb.WorkflowExecution{WorkflowId: run.GetID()}
	eventually(t, ctx, "attempt 1 running", func() error {
		if n := len(rec.numbers()); n != 1 {
			return fmt.Errorf("%d attempts", n)
		}
		return nil
	})

	// Bad input changes nothing.
	_, err = svc.PauseActivity(ctx, &workflowservice.PauseActivityRequest{Namespace: testNamespace, Execution: exec})
	requireCodeMsg(t, err, codes.InvalidArgument, "Either Activity.Id or Activity.Type should be set on request.")
	_, err = svc.PauseActivity(ctx, &workflowservice.PauseActivityRequest{Namespace: testNamespace, Execution: exec,
		Activity: &workflowservice.PauseActivityRequest_Id{Id: "no-such-activity"}})
	requireCodeMsg(t, err, codes.NotFound, "")
	_, err = svc.PauseActivity(ctx, &workflowservice.PauseActivityRequest{Namespace: testNamespace,
		Execution: &commonpb.WorkflowExecution{WorkflowId: "no-such-workflow"}, Activity: &workflowservice.PauseActivityRequest_Id{Id: pauseActivityID}})
	requireCodeMsg(t, err, codes.NotFound, "")
	pa, err := pendingActivity(ctx, c, run.GetID())
	require.NoError(t, err)
	require.False(t, pa.GetPaused())
	require.Equal(t, enumspb.PENDING_ACTIVITY_STATE_STARTED, pa.GetState())

	_, err = svc.PauseActivity(ctx, &workflowservice.PauseActivityRequest{Namespace: testNamespace, Execution: exec,
		Activity: &workflowservice.PauseActivityRequest_Id{Id: pauseActivityID}, Identity: "operator", Reason: "maintenance"})
	require.NoError(t, err)
	// The running attempt heartbeats, is told it is paused and fails; the
	// activity then waits, paused, for attempt 2.
	eventually(t, ctx, "activity paused between attempts", func() error {
		pa, err := pendingActivity(ctx, c, run.GetID())
		if err != nil {
			return err
		}
		if pa.GetState() != enumspb.PENDING_ACTIVITY_STATE_PAUSED || pa.GetAttempt() != 2 {
			return fmt.Errorf("state %v attempt %d", pa.GetState(), pa.GetAttempt())
		}
		return nil
	})
	_, causes := rec.snapshot()
	require.Len(t, causes, 1)
	require.ErrorIs(t, causes[0], activity.ErrActivityPaused, "the worker must see the pause")
	pa, err = pendingActivity(ctx, c, run.GetID())
	require.NoError(t, err)
	require.True(t, pa.GetPaused())
	require.Equal(t, "operator", pa.GetPauseInfo().GetManual().GetIdentity())
	require.Equal(t, "maintenance", pa.GetPauseInfo().GetManual().GetReason())
	require.NotNil(t, pa.GetPauseInfo().GetPauseTime())

	// Attempt 2 was due 1 s after the failure; while paused it never runs.
	// Watch three backoffs' worth of time.
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); {
		pa, err := pendingActivity(ctx, c, run.GetID())
		require.NoError(t, err)
		require.Equal(t, enumspb.PENDING_ACTIVITY_STATE_PAUSED, pa.GetState())
		require.Equal(t, []int32{1}, rec.numbers(), "a paused activity was retried")
		time.Sleep(200 * time.Millisecond)
	}

	release.Store(true)
	_, err = svc.UnpauseActivity(ctx, &workflowservice.UnpauseActivityRequest{Namespace: testNamespace, Execution: exec,
		Activity: &workflowservice.UnpauseActivityRequest_Id{Id: pauseActivityID}, Identity: "operator"})
	require.NoError(t, err)
	var out string
	require.NoError(t, run.Get(ctx, &out))
	require.Equal(t, "done", out)
	require.Equal(t, []int32{1, 2}, rec.numbers())
	// Pause and options live in mutable state: history has no trace.
	for _, ev := range requireHistory(t, ctx, c, run.GetID(), run.GetRunID()) {
		require.NotEqual(t, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_OPTIONS_UPDATED, ev.GetEventType())
	}
}

// TestActivityResetAndUpdateOptions: an activity in a long retry backoff
// gets new options (seen in describe and, after a reset, by the next
// attempt's worker) and is reset to attempt 1 at once.
func TestActivityResetAndUpdateOptions(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 2*time.Minute)
	c, svc := env.client, env.client.WorkflowService()
	var rec attempts
	tq := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(runOneActivity, workflow.RegisterOptions{Name: "RunOneActivity"})
		r.RegisterActivityWithOptions(func(ctx context.Context) (string, error) {
			rec.add(activity.GetInfo(ctx))
			if len(rec.numbers()) == 1 {
				return "", errors.New("first call fails")
			}
			return "ok", nil
		}, activity.RegisterOptions{Name: "Pausable"})
	})
	// A retry would wait an hour.
	run, err := c.ExecuteWorkflow(ctx, startOptions(t, tq), "RunOneActivity", tq, time.Hour)
	require.NoError(t, err)
	exec := &commonpb.WorkflowExecution{WorkflowId: run.GetID()}
	eventually(t, ctx, "attempt 1 failed", func() error {
		pa, err := pendingActivity(ctx, c, run.GetID())
		if err != nil {
			return err
		}
		if pa.GetAttempt() != 2 || pa.GetLastFailure() == nil {
			return fmt.Errorf("attempt %d", pa.GetAttempt())
		}
		return nil
	})

	// Bad option updates are refused and change nothing.
	upd := func(o *activitypb.ActivityOptions, paths ...string) (*workflowservice.UpdateActivityOptionsResponse, error) {
		return svc.UpdateActivityOptions(ctx, &workflowservice.UpdateActivityOptionsRequest{Namespace: testNamespace, Execution: exec,
			Activity: &workflowservice.UpdateActivityOptionsRequest_Id{Id: pauseActivityID}, ActivityOptions: o,
			UpdateMask: &fieldmaskpb.FieldMask{Paths: paths}})
	}
	_, err = upd(&activitypb.ActivityOptions{}, "no_such_field")
	requireCodeMsg(t, err, codes.InvalidArgument, "error parsing UpdateMask: path no_such_field not supported")
	_, err = svc.UpdateActivityOptions(ctx, &workflowservice.UpdateActivityOptionsRequest{Namespace: testNamespace, Execution: exec,
		Activity:        &workflowservice.UpdateActivityOptionsRequest_Id{Id: pauseActivityID},
		ActivityOptions: &activitypb.ActivityOptions{StartToCloseTimeout: durationpb.New(time.Second)}})
	requireCodeMsg(t, err, codes.InvalidArgument, "UpdateMask must be non-nil")
	_, err = upd(&activitypb.ActivityOptions{RetryPolicy: &commonpb.RetryPolicy{BackoffCoefficient: 0.5}}, "retry_policy")
	requireCodeMsg(t, err, codes.InvalidArgument, "BackoffCoefficient cannot be less than 1 on retry policy.")
	_, err = svc.UpdateActivityOptions(ctx, &workflowservice.UpdateActivityOptionsRequest{Namespace: testNamespace, Execution: exec,
		Activity: &workflowservice.UpdateActivityOptionsRequest_Id{Id: pauseActivityID}, RestoreOriginal: true,
		ActivityOptions: &activitypb.ActivityOptions{}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"heartbeat_timeout"}}})
	requireCodeMsg(t, err, codes.InvalidArgument, "")
	pa, err := pendingActivity(ctx, c, run.GetID())
	require.NoError(t, err)
	require.Equal(t, time.Minute, pa.GetActivityOptions().GetStartToCloseTimeout().AsDuration())

	resp, err := upd(&activitypb.ActivityOptions{StartToCloseTimeout: durationpb.New(42 * time.Second)}, "start_to_close_timeout")
	require.NoError(t, err)
	require.Equal(t, 42*time.Second, resp.GetActivityOptions().GetStartToCloseTimeout().AsDuration())
	pa, err = pendingActivity(ctx, c, run.GetID())
	require.NoError(t, err)
	require.Equal(t, 42*time.Second, pa.GetActivityOptions().GetStartToCloseTimeout().AsDuration())
	require.Equal(t, []int32{1}, rec.numbers(), "an options update does not end the backoff")

	_, err = svc.ResetActivity(ctx, &workflowservice.ResetActivityRequest{Namespace: testNamespace, Execution: exec,
		Activity: &workflowservice.ResetActivityRequest_Id{Id: pauseActivityID}, Identity: "operator"})
	require.NoError(t, err)
	var out string
	require.NoError(t, run.Get(ctx, &out))
	require.Equal(t, "ok", out)
	infos, _ := rec.snapshot()
	require.Len(t, infos, 2)
	require.Equal(t, int32(1), infos[1].Attempt, "reset starts over at attempt 1")
	require.Equal(t, 42*time.Second, infos[1].StartToCloseTimeout, "the next attempt runs with the updated options")
	require.Equal(t, time.Minute, infos[0].StartToCloseTimeout)
}

// TestUpdateWorkflowExecutionOptions: a priority update is recorded
// (WorkflowExecutionOptionsUpdated), shown by describe and inherited by
// activities scheduled after it; a versioning override is refused.
func TestUpdateWorkflowExecutionOptions(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 2*time.Minute)
	c, svc := env.client, env.client.WorkflowService()
	tq := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(func(ctx workflow.Context) (int, error) {
			workflow.GetSignalChannel(ctx, "go").Receive(ctx, nil)
			ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
			var key int
			err := workflow.ExecuteActivity(ctx, "PriorityKey").Get(ctx, &key)
			return key, err
		}, workflow.RegisterOptions{Name: "PriorityWorkflow"})
		r.RegisterActivityWithOptions(func(ctx context.Context) (int, error) {
			return activity.GetInfo(ctx).Priority.PriorityKey, nil
		}, activity.RegisterOptions{Name: "PriorityKey"})
	})
	run, err := c.ExecuteWorkflow(ctx, startOptions(t, tq), "PriorityWorkflow")
	require.NoError(t, err)
	exec := &commonpb.WorkflowExecution{WorkflowId: run.GetID()}
	eventually(t, ctx, "first workflow task done", func() error {
		events, err := history(ctx, c, run.GetID(), "")
		if err != nil {
			return err
		}
		if len(eventsOfType(events, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)) == 0 {
			return errors.New("no completed workflow task yet")
		}
		return nil
	})
	before := len(requireHistory(t, ctx, c, run.GetID(), ""))

	opts := func(o *workflowpb.WorkflowExecutionOptions, paths ...string) (*workflowservice.UpdateWorkflowExecutionOptionsResponse, error) {
		return svc.UpdateWorkflowExecutionOptions(ctx, &workflowservice.UpdateWorkflowExecutionOptionsRequest{Namespace: testNamespace,
			WorkflowExecution: exec, WorkflowExecutionOptions: o, UpdateMask: &fieldmaskpb.FieldMask{Paths: paths}, Identity: "operator"})
	}
	_, err = opts(&workflowpb.WorkflowExecutionOptions{VersioningOverride: &workflowpb.VersioningOverride{
		Override: &workflowpb.VersioningOverride_AutoUpgrade{AutoUpgrade: true}}}, "versioning_override")
	requireCodeMsg(t, err, codes.PermissionDenied, "Worker versioning in workflow progress APIs is disabled on this namespace.")
	_, err = opts(&workflowpb.WorkflowExecutionOptions{Priority: &commonpb.Priority{PriorityKey: -1}}, "priority.priority_key")
	requireCodeMsg(t, err, codes.InvalidArgument, "")
	_, err = opts(&workflowpb.WorkflowExecutionOptions{}, "nonsense")
	requireCodeMsg(t, err, codes.InvalidArgument, "error parsing UpdateMask: path nonsense not supported")
	require.Len(t, requireHistory(t, ctx, c, run.GetID(), ""), before, "a refused update wrote history")

	resp, err := opts(&workflowpb.WorkflowExecutionOptions{Priority: &commonpb.Priority{PriorityKey: 3}}, "priority.priority_key")
	require.NoError(t, err)
	require.Equal(t, int32(3), resp.GetWorkflowExecutionOptions().GetPriority().GetPriorityKey())
	// The same update again changes nothing.
	_, err = opts(&workflowpb.WorkflowExecutionOptions{Priority: &commonpb.Priority{PriorityKey: 3}}, "priority.priority_key")
	require.NoError(t, err)
	d, err := c.DescribeWorkflowExecution(ctx, run.GetID(), "")
	require.NoError(t, err)
	require.Equal(t, int32(3), d.GetWorkflowExecutionInfo().GetPriority().GetPriorityKey())
	updated := eventsOfType(requireHistory(t, ctx, c, run.GetID(), ""), enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_OPTIONS_UPDATED)
	require.Len(t, updated, 1)
	require.True(t, updated[0].GetWorkerMayIgnore())
	require.Equal(t, "operator", updated[0].GetWorkflowExecutionOptionsUpdatedEventAttributes().GetIdentity())
	require.Equal(t, int32(3), updated[0].GetWorkflowExecutionOptionsUpdatedEventAttributes().GetPriority().GetPriorityKey())

	require.NoError(t, c.SignalWorkflow(ctx, run.GetID(), "", "go", nil))
	var key int
	require.NoError(t, run.Get(ctx, &key))
	require.Equal(t, 3, key, "an activity scheduled after the update inherits the priority")
}

// TestBatchActivityOperations: batch update of activity options over a
// list, batch workflow options over a list, and batch unpause over a query.
func TestBatchActivityOperations(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 3*time.Minute)
	c, svc := env.client, env.client.WorkflowService()
	wfTQ := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(runOneActivity, workflow.RegisterOptions{Name: "RunOneActivity"})
	})
	actTQ := uniqueName(t, "acts")
	var runs []client.WorkflowRun
	var execs []*commonpb.WorkflowExecution
	for range 4 {
		run, err := c.ExecuteWorkflow(ctx, startOptions(t, wfTQ), "RunOneActivity", actTQ, time.Second)
		require.NoError(t, err)
		runs = append(runs, run)
		execs = append(execs, &commonpb.WorkflowExecution{WorkflowId: run.GetID(), RunId: run.GetRunID()})
	}
	// No worker polls actTQ yet: pause each activity while it waits.
	for _, run := range runs {
		eventually(t, ctx, "activity scheduled", func() error { _, err := pendingActivity(ctx, c, run.GetID()); return err })
		_, err := svc.PauseActivity(ctx, &workflowservice.PauseActivityRequest{Namespace: testNamespace,
			Execution: &commonpb.WorkflowExecution{WorkflowId: run.GetID()}, Activity: &workflowservice.PauseActivityRequest_Type{Type: "Pausable"}})
		require.NoError(t, err)
		pa, err := pendingActivity(ctx, c, run.GetID())
		require.NoError(t, err)
		require.Equal(t, enumspb.PENDING_ACTIVITY_STATE_PAUSED, pa.GetState())
	}
	var rec attempts
	env.startWorkerOn(t, actTQ, func(r worker.Registry) {
		r.RegisterActivityWithOptions(func(ctx context.Context) (string, error) {
			rec.add(activity.GetInfo(ctx))
			return "ran", nil
		}, activity.RegisterOptions{Name: "Pausable"})
	})

	batch := func(jobID string, req *workflowservice.StartBatchOperationRequest) *workflowservice.DescribeBatchOperationResponse {
		req.Namespace, req.JobId, req.Reason = testNamespace, jobID, "test"
		_, err := svc.StartBatchOperation(ctx, req)
		require.NoError(t, err, jobID)
		d, _ := waitBatchDone(t, ctx, c, jobID)
		require.Equal(t, enumspb.BATCH_OPERATION_STATE_COMPLETED, d.GetState(), jobID)
		require.Equal(t, d.GetTotalOperationCount(), d.GetCompleteOperationCount(), jobID)
		return d
	}

	// Update the options of the first two runs' activities (a list).
	d := batch(uniqueName(t, "opts"), &workflowservice.StartBatchOperationRequest{Executions: execs[:2],
		Operation: &workflowservice.StartBatchOperationRequest_UpdateActivityOptionsOperation{
			UpdateActivityOptionsOperation: &batchpb.BatchOperationUpdateActivityOptions{
				Activity:        &batchpb.BatchOperationUpdateActivityOptions_MatchAll{MatchAll: true},
				ActivityOptions: &activitypb.ActivityOptions{StartToCloseTimeout: durationpb.New(77 * time.Second)},
				UpdateMask:      &fieldmaskpb.FieldMask{Paths: []string{"start_to_close_timeout"}},
			}}})
	require.Equal(t, enumspb.BATCH_OPERATION_TYPE_UPDATE_ACTIVITY_OPTIONS, d.GetOperationType())
	for i, run := range runs {
		pa, err := pendingActivity(ctx, c, run.GetID())
		require.NoError(t, err)
		want := time.Minute
		if i < 2 {
			want = 77 * time.Second
		}
		require.Equal(t, want, pa.GetActivityOptions().GetStartToCloseTimeout().AsDuration(), "run %d", i)
		require.Equal(t, enumspb.PENDING_ACTIVITY_STATE_PAUSED, pa.GetState(), "run %d", i)
	}

	// Workflow options of the last run (a list).
	batch(uniqueName(t, "wfopts"), &workflowservice.StartBatchOperationRequest{Executions: execs[3:],
		Operation: &workflowservice.StartBatchOperationRequest_UpdateWorkflowOptionsOperation{
			UpdateWorkflowOptionsOperation: &batchpb.BatchOperationUpdateWorkflowExecutionOptions{
				WorkflowExecutionOptions: &workflowpb.WorkflowExecutionOptions{Priority: &commonpb.Priority{PriorityKey: 5}},
				UpdateMask:               &fieldmaskpb.FieldMask{Paths: []string{"priority"}},
			}}})
	desc, err := c.DescribeWorkflowExecution(ctx, runs[3].GetID(), "")
	require.NoError(t, err)
	require.Equal(t, int32(5), desc.GetWorkflowExecutionInfo().GetPriority().GetPriorityKey())

	// Nothing ran while paused, though a worker polls the queue.
	require.Empty(t, rec.numbers(), "a paused activity ran")

	// Unpause every paused activity of the runs on wfTQ, found as the CLI's
	// examples find them: by the TemporalPauseInfo search attribute.
	paused := fmt.Sprintf("TaskQueue = '%s' AND TemporalPauseInfo = 'property:activityType=Pausable'", wfTQ)
	waitCount(t, ctx, c, paused, 4)
	d = batch(uniqueName(t, "unpause"), &workflowservice.StartBatchOperationRequest{
		VisibilityQuery: paused,
		Operation: &workflowservice.StartBatchOperationRequest_UnpauseActivitiesOperation{
			UnpauseActivitiesOperation: &batchpb.BatchOperationUnpauseActivities{
				Activity: &batchpb.BatchOperationUnpauseActivities_Type{Type: "Pausable"}, Identity: "batch-operator",
			}}})
	require.Equal(t, int64(4), d.GetTotalOperationCount())
	require.Equal(t, enumspb.BATCH_OPERATION_TYPE_UNPAUSE_ACTIVITY, d.GetOperationType())
	for _, run := range runs {
		var out string
		require.NoError(t, run.Get(ctx, &out))
		require.Equal(t, "ran", out)
	}
	waitCount(t, ctx, c, paused, 0)
	infos, _ := rec.snapshot()
	require.Len(t, infos, 4)
	byID := map[string]time.Duration{}
	for _, info := range infos {
		byID[info.WorkflowExecution.ID] = info.StartToCloseTimeout
	}
	for i, run := range runs {
		want := time.Minute
		if i < 2 {
			want = 77 * time.Second
		}
		require.Equal(t, want, byID[run.GetID()], "run %d", i)
	}

	// Bad batch input is refused.
	_, err = svc.StartBatchOperation(ctx, &workflowservice.StartBatchOperationRequest{Namespace: testNamespace, JobId: uniqueName(t, "bad"),
		Reason: "r", Executions: execs[:1],
		Operation: &workflowservice.StartBatchOperationRequest_UnpauseActivitiesOperation{
			UnpauseActivitiesOperation: &batchpb.BatchOperationUnpauseActivities{}}})
	requireCodeMsg(t, err, codes.InvalidArgument, "Either activity type or match_all should be set on request.")
	_, err = svc.StartBatchOperation(ctx, &workflowservice.StartBatchOperationRequest{Namespace: testNamespace, JobId: uniqueName(t, "bad"),
		Reason: "r", Executions: execs[:1],
		Operation: &workflowservice.StartBatchOperationRequest_UpdateWorkflowOptionsOperation{
			UpdateWorkflowOptionsOperation: &batchpb.BatchOperationUpdateWorkflowExecutionOptions{
				WorkflowExecutionOptions: &workflowpb.WorkflowExecutionOptions{VersioningOverride: &workflowpb.VersioningOverride{
					Override: &workflowpb.VersioningOverride_AutoUpgrade{AutoUpgrade: true}}},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"versioning_override"}}}}})
	requireCodeMsg(t, err, codes.PermissionDenied, "")
}

// TestHTTPAPIActivityPause: the Web UI's pause and unpause buttons (the
// HTTP API routes activities-deprecated/pause|unpause, as Web UI v2.55
// calls them) pause and unpause a pending activity.
func TestHTTPAPIActivityPause(t *testing.T) {
	t.Parallel()
	env := newHTTPEnv(t, nil)
	ctx := testContext(t, time.Minute)
	c := env.client
	wfTQ := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(runOneActivity, workflow.RegisterOptions{Name: "RunOneActivity"})
	})
	// No worker polls the activity queue: the activity waits.
	run, err := c.ExecuteWorkflow(ctx, startOptions(t, wfTQ), "RunOneActivity", uniqueName(t, "acts"), time.Second)
	require.NoError(t, err)
	eventually(t, ctx, "activity scheduled", func() error { _, err := pendingActivity(ctx, c, run.GetID()); return err })
	body := fmt.Sprintf(`{"execution":{"workflowId":%q,"runId":%q},"id":%q,"identity":"webui","reason":"from the UI"}`,
		run.GetID(), run.GetRunID(), pauseActivityID)
	env.do(t, "POST", "/api/v1/namespaces/"+testNamespace+"/activities-deprecated/pause", body, 200)
	pa, err := pendingActivity(ctx, c, run.GetID())
	require.NoError(t, err)
	require.Equal(t, enumspb.PENDING_ACTIVITY_STATE_PAUSED, pa.GetState())
	require.Equal(t, "from the UI", pa.GetPauseInfo().GetManual().GetReason())
	body = fmt.Sprintf(`{"execution":{"workflowId":%q},"id":%q,"identity":"webui"}`, run.GetID(), pauseActivityID)
	env.do(t, "POST", "/api/v1/namespaces/"+testNamespace+"/activities-deprecated/unpause", body, 200)
	pa, err = pendingActivity(ctx, c, run.GetID())
	require.NoError(t, err)
	require.Equal(t, enumspb.PENDING_ACTIVITY_STATE_SCHEDULED, pa.GetState())
	require.False(t, pa.GetPaused())
}

// TestCLIActivityCommands: `temporal activity pause|update-options|reset|
// unpause` and `temporal workflow update-options` against a waiting
// activity.
func TestCLIActivityCommands(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	cli := newCLI(t, env)
	ctx := testContext(t, 2*time.Minute)
	c := env.client
	wfTQ := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(runOneActivity, workflow.RegisterOptions{Name: "RunOneActivity"})
	})
	run, err := c.ExecuteWorkflow(ctx, startOptions(t, wfTQ), "RunOneActivity", uniqueName(t, "acts"), time.Second)
	require.NoError(t, err)
	eventually(t, ctx, "activity scheduled", func() error { _, err := pendingActivity(ctx, c, run.GetID()); return err })
	target := []string{"--workflow-id", run.GetID(), "--activity-id", pauseActivityID}

	cli.ok(t, append([]string{"activity", "pause", "--identity", "cli-user"}, target...)...)
	pa, err := pendingActivity(ctx, c, run.GetID())
	require.NoError(t, err)
	require.Equal(t, enumspb.PENDING_ACTIVITY_STATE_PAUSED, pa.GetState())
	require.NotEmpty(t, pa.GetPauseInfo().GetManual().GetIdentity())

	cli.ok(t, append([]string{"activity", "update-options", "--start-to-close-timeout", "33s", "--retry-maximum-attempts", "4"}, target...)...)
	pa, err = pendingActivity(ctx, c, run.GetID())
	require.NoError(t, err)
	require.Equal(t, 33*time.Second, pa.GetActivityOptions().GetStartToCloseTimeout().AsDuration())
	require.Equal(t, int32(4), pa.GetActivityOptions().GetRetryPolicy().GetMaximumAttempts())
	require.Equal(t, time.Second, pa.GetActivityOptions().GetRetryPolicy().GetInitialInterval().AsDuration(), "fields not named are kept")

	cli.ok(t, append([]string{"activity", "reset", "--keep-paused"}, target...)...)
	pa, err = pendingActivity(ctx, c, run.GetID())
	require.NoError(t, err)
	require.Equal(t, enumspb.PENDING_ACTIVITY_STATE_PAUSED, pa.GetState())
	cli.ok(t, append([]string{"activity", "unpause"}, target...)...)
	pa, err = pendingActivity(ctx, c, run.GetID())
	require.NoError(t, err)
	require.Equal(t, enumspb.PENDING_ACTIVITY_STATE_SCHEDULED, pa.GetState())

	cli.fails(t, "Worker versioning in workflow progress APIs is disabled on this namespace.",
		"workflow", "update-options", "--workflow-id", run.GetID(), "--versioning-override-behavior", "auto_upgrade")
}
