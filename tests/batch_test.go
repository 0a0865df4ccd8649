package tests

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	batchpb "go.temporal.io/api/batch/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/sundialhq/sundial/internal/config"
	"github.com/sundialhq/sundial/internal/server"
)

// startIdle starts n runs of a workflow type no worker polls for on task
// queue tq (so they stay open) and returns their executions.
func startIdle(t *testing.T, ctx context.Context, c client.Client, tq string, n int) []*commonpb.WorkflowExecution {
	t.Helper()
	out := make([]*commonpb.WorkflowExecution, n)
	var g errgroup.Group
	g.SetLimit(8)
	for i := range n {
		g.Go(func() error {
			run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("%s-wf-%04d", tq, i), TaskQueue: tq}, "Idle")
			if err != nil {
				return err
			}
			out[i] = &commonpb.WorkflowExecution{WorkflowId: run.GetID(), RunId: run.GetRunID()}
			return nil
		})
	}
	require.NoError(t, g.Wait(), "starting %d workflows", n)
	return out
}

// waitCount waits until visibility counts want runs matching q.
func waitCount(t *testing.T, ctx context.Context, c client.Client, q string, want int64) {
	t.Helper()
	eventually(t, ctx, fmt.Sprintf("%d runs matching %s", want, q), func() error {
		resp, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: testNamespace, Query: q})
		if err != nil {
			return err
		}
		if resp.GetCount() != want {
			return fmt.Errorf("count %d", resp.GetCount())
		}
		return nil
	})
}

func describeBatch(ctx context.Context, c client.Client, jobID string) (*workflowservice.DescribeBatchOperationResponse, error) {
	return c.WorkflowService().DescribeBatchOperation(ctx, &workflowservice.DescribeBatchOperationRequest{Namespace: testNamespace, JobId: jobID})
}

// waitBatchDone polls describe until the job is no longer running and
// returns its last description. Counts must never go down while it runs.
func waitBatchDone(t *testing.T, ctx context.Context, c client.Client, jobID string) (last *workflowservice.DescribeBatchOperationResponse, sawProgress bool) {
	t.Helper()
	var prev *workflowservice.DescribeBatchOperationResponse
	for {
		d, err := describeBatch(ctx, c, jobID)
		require.NoError(t, err, "DescribeBatchOperation")
		if prev != nil {
			require.GreaterOrEqual(t, d.GetCompleteOperationCount(), prev.GetCompleteOperationCount(), "completed count went down")
			require.GreaterOrEqual(t, d.GetFailureOperationCount(), prev.GetFailureOperationCount(), "failure count went down")
		}
		prev = d
		if d.GetState() != enumspb.BATCH_OPERATION_STATE_RUNNING {
			return d, sawProgress
		}
		if d.GetCompleteOperationCount() > 0 && d.GetCompleteOperationCount() < d.GetTotalOperationCount() {
			sawProgress = true
		}
		select {
		case <-ctx.Done():
			t.Fatalf("batch %s still running: %v", jobID, d)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func terminateBatch(jobID, q, reason string, rps float32) *workflowservice.StartBatchOperationRequest {
	return &workflowservice.StartBatchOperationRequest{
		Namespace: testNamespace, JobId: jobID, VisibilityQuery: q, Reason: reason, MaxOperationsPerSecond: rps,
		Operation: &workflowservice.StartBatchOperationRequest_TerminationOperation{
			TerminationOperation: &batchpb.BatchOperationTermination{Identity: "batch-tester"},
		},
	}
}

func TestBatchTerminateByQuery(t *testing.T) {
	t.Parallel()
	env := newTestEnvWithConfig(t, map[string]any{"worker.batcherRPS": 200})
	ctx := testContext(t, 5*time.Minute)
	c := env.client
	tq := uniqueName(t, "tq")
	const n = 1000
	execs := startIdle(t, ctx, c, tq, n)
	q := fmt.Sprintf("TaskQueue = '%s'", tq)
	waitCount(t, ctx, c, q+" AND ExecutionStatus = 'Running'", n)

	jobID := uniqueName(t, "job")
	_, err := c.WorkflowService().StartBatchOperation(ctx, terminateBatch(jobID, q, "clean up", 200))
	require.NoError(t, err, "StartBatchOperation")
	first, err := describeBatch(ctx, c, jobID)
	require.NoError(t, err)
	require.Equal(t, int64(n), first.GetTotalOperationCount(), "total at start")

	d, sawProgress := waitBatchDone(t, ctx, c, jobID)
	require.True(t, sawProgress, "describe never showed a job part-way done")
	require.Equal(t, enumspb.BATCH_OPERATION_STATE_COMPLETED, d.GetState())
	require.Equal(t, enumspb.BATCH_OPERATION_TYPE_TERMINATE_WORKFLOW, d.GetOperationType())
	require.Equal(t, int64(n), d.GetTotalOperationCount())
	require.Equal(t, int64(n), d.GetCompleteOperationCount())
	require.Zero(t, d.GetFailureOperationCount())
	require.Equal(t, jobID, d.GetJobId())
	require.Equal(t, "batch-tester", d.GetIdentity())
	require.Equal(t, "clean up", d.GetReason())
	require.Equal(t, q, d.GetQuery(), "describe reports the query as given")
	require.Empty(t, d.GetExecutions())
	require.NotNil(t, d.GetStartTime())
	require.NotNil(t, d.GetCloseTime())
	require.False(t, d.GetCloseTime().AsTime().Before(d.GetStartTime().AsTime()))

	waitCount(t, ctx, c, q+" AND ExecutionStatus = 'Terminated'", n)
	for _, e := range []*commonpb.WorkflowExecution{execs[0], execs[n/2], execs[n-1]} {
		events := requireHistory(t, ctx, c, e.GetWorkflowId(), e.GetRunId())
		last := events[len(events)-1]
		require.Equal(t, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED, last.GetEventType())
		attrs := last.GetWorkflowExecutionTerminatedEventAttributes()
		require.Equal(t, "clean up", attrs.GetReason())
		require.Equal(t, "batch-tester", attrs.GetIdentity())
	}

	list, err := c.WorkflowService().ListBatchOperations(ctx, &workflowservice.ListBatchOperationsRequest{Namespace: testNamespace})
	require.NoError(t, err)
	require.Len(t, list.GetOperationInfo(), 1)
	info := list.GetOperationInfo()[0]
	require.Equal(t, jobID, info.GetJobId())
	require.Equal(t, enumspb.BATCH_OPERATION_STATE_COMPLETED, info.GetState())
	require.Equal(t, enumspb.BATCH_OPERATION_TYPE_TERMINATE_WORKFLOW, info.GetOperationType())
	require.Equal(t, d.GetStartTime().AsTime(), info.GetStartTime().AsTime())
	require.Equal(t, d.GetCloseTime().AsTime(), info.GetCloseTime().AsTime())
	require.Empty(t, list.GetNextPageToken())
}

func TestBatchSignalEveryTargetOnce(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 3*time.Minute)
	c := env.client
	tq := uniqueName(t, "tq")
	const n = 30
	execs := startIdle(t, ctx, c, tq, n)
	q := fmt.Sprintf("TaskQueue = '%s'", tq)
	waitCount(t, ctx, c, q, n)

	input, err := converter.GetDefaultDataConverter().ToPayloads("hello")
	require.NoError(t, err)
	jobID := uniqueName(t, "job")
	_, err = c.WorkflowService().StartBatchOperation(ctx, &workflowservice.StartBatchOperationRequest{
		Namespace: testNamespace, JobId: jobID, VisibilityQuery: q, Reason: "poke",
		Operation: &workflowservice.StartBatchOperationRequest_SignalOperation{SignalOperation: &batchpb.BatchOperationSignal{
			Signal: "poke", Input: input, Identity: "signaller"}},
	})
	require.NoError(t, err)
	d, _ := waitBatchDone(t, ctx, c, jobID)
	require.Equal(t, enumspb.BATCH_OPERATION_STATE_COMPLETED, d.GetState())
	require.Equal(t, enumspb.BATCH_OPERATION_TYPE_SIGNAL_WORKFLOW, d.GetOperationType())
	require.Equal(t, int64(n), d.GetCompleteOperationCount())
	requireSignalledOnce(t, ctx, c, execs, "poke", "signaller")
}

// requireSignalledOnce checks that every run got exactly one signal name,
// with input "hello", from identity.
func requireSignalledOnce(t *testing.T, ctx context.Context, c client.Client, execs []*commonpb.WorkflowExecution, name, identity string) {
	t.Helper()
	for _, e := range execs {
		events := requireHistory(t, ctx, c, e.GetWorkflowId(), e.GetRunId())
		sigs := eventsOfType(events, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
		require.Len(t, sigs, 1, "signals of %s: %v", e.GetWorkflowId(), eventTypes(events))
		attrs := sigs[0].GetWorkflowExecutionSignaledEventAttributes()
		require.Equal(t, name, attrs.GetSignalName())
		require.Equal(t, identity, attrs.GetIdentity())
		var got string
		require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(attrs.GetInput(), &got))
		require.Equal(t, "hello", got)
	}
}

func TestBatchResetToFirstWorkflowTask(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 3*time.Minute)
	c := env.client
	tq := env.startWorker(t, registerCollect)
	const n = 5
	var execs []*commonpb.WorkflowExecution
	for i := range n {
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("%s-wf-%d", tq, i), TaskQueue: tq}, "Collect", 2)
		require.NoError(t, err)
		execs = append(execs, &commonpb.WorkflowExecution{WorkflowId: run.GetID(), RunId: run.GetRunID()})
	}
	firstWFT := make(map[string]int64)
	for _, e := range execs {
		eventually(t, ctx, "first workflow task of "+e.GetWorkflowId(), func() error {
			evs, err := history(ctx, c, e.GetWorkflowId(), e.GetRunId())
			if err != nil {
				return err
			}
			if done := eventsOfType(evs, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED); len(done) > 0 {
				firstWFT[e.GetRunId()] = done[0].GetEventId()
				return nil
			}
			return errNotYet
		})
	}
	q := fmt.Sprintf("TaskQueue = '%s'", tq)
	waitCount(t, ctx, c, q, n)

	jobID := uniqueName(t, "job")
	_, err := c.WorkflowService().StartBatchOperation(ctx, &workflowservice.StartBatchOperationRequest{
		Namespace: testNamespace, JobId: jobID, VisibilityQuery: q, Reason: "redo",
		Operation: &workflowservice.StartBatchOperationRequest_ResetOperation{ResetOperation: &batchpb.BatchOperationReset{
			Identity: "resetter",
			Options:  &commonpb.ResetOptions{Target: &commonpb.ResetOptions_FirstWorkflowTask{FirstWorkflowTask: &emptypb.Empty{}}},
		}},
	})
	require.NoError(t, err)
	d, _ := waitBatchDone(t, ctx, c, jobID)
	require.Equal(t, enumspb.BATCH_OPERATION_STATE_COMPLETED, d.GetState())
	require.Equal(t, enumspb.BATCH_OPERATION_TYPE_RESET_WORKFLOW, d.GetOperationType())
	require.Equal(t, int64(n), d.GetCompleteOperationCount(), "%v", d)

	for _, e := range execs {
		desc, err := c.DescribeWorkflowExecution(ctx, e.GetWorkflowId(), "")
		require.NoError(t, err)
		cur := desc.GetWorkflowExecutionInfo()
		require.NotEqual(t, e.GetRunId(), cur.GetExecution().GetRunId(), "%s was not reset", e.GetWorkflowId())
		events := requireHistory(t, ctx, c, e.GetWorkflowId(), e.GetRunId())
		last := events[len(events)-1]
		require.Equal(t, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED, last.GetEventType())
		newRun := requireHistory(t, ctx, c, e.GetWorkflowId(), cur.GetExecution().GetRunId())
		failed := eventsOfType(newRun, enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED)
		require.NotEmpty(t, failed, "new run has no reset point: %v", eventTypes(newRun))
		attrs := failed[0].GetWorkflowTaskFailedEventAttributes()
		require.Equal(t, enumspb.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW, attrs.GetCause())
		require.Equal(t, "redo", attrs.GetFailure().GetMessage())
		require.Equal(t, firstWFT[e.GetRunId()], failed[0].GetEventId(), "reset point of %s (the failed task replaces the completed one)", e.GetWorkflowId())
		// Exactly one reset per workflow: the original run and its one
		// replacement.
		waitCount(t, ctx, c, fmt.Sprintf("WorkflowId = '%s'", e.GetWorkflowId()), 2)
	}
}

func TestBatchStopStopsIt(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 3*time.Minute)
	c := env.client
	tq, other := uniqueName(t, "tq"), uniqueName(t, "tq")
	const n, rps = 200, 20
	execs := startIdle(t, ctx, c, tq, n)
	startIdle(t, ctx, c, other, 100)
	q, otherQ := fmt.Sprintf("TaskQueue = '%s'", tq), fmt.Sprintf("TaskQueue = '%s'", other)
	waitCount(t, ctx, c, q, n)
	waitCount(t, ctx, c, otherQ, 100)

	jobID := uniqueName(t, "job")
	_, err := c.WorkflowService().StartBatchOperation(ctx, terminateBatch(jobID, q, "slowly", rps))
	require.NoError(t, err)
	eventually(t, ctx, "some progress", func() error {
		d, err := describeBatch(ctx, c, jobID)
		if err != nil {
			return err
		}
		if d.GetCompleteOperationCount() == 0 {
			return errNotYet
		}
		return nil
	})
	_, err = c.WorkflowService().StopBatchOperation(ctx, &workflowservice.StopBatchOperationRequest{
		Namespace: testNamespace, JobId: jobID, Reason: "enough", Identity: "stopper"})
	require.NoError(t, err, "StopBatchOperation")
	d, err := describeBatch(ctx, c, jobID)
	require.NoError(t, err)
	require.Equal(t, enumspb.BATCH_OPERATION_STATE_FAILED, d.GetState(), "a stopped batch describes as failed, as on the reference")
	require.NotNil(t, d.GetCloseTime())
	require.Less(t, d.GetCompleteOperationCount(), int64(n))

	_, err = c.WorkflowService().StopBatchOperation(ctx, &workflowservice.StopBatchOperationRequest{
		Namespace: testNamespace, JobId: jobID, Reason: "again"})
	var notFound *serviceerror.NotFound
	require.ErrorAs(t, err, &notFound, "stopping a stopped batch")

	// A second job on other runs (allowed now that the stopped one no
	// longer counts against the namespace's limit of one) takes at least
	// two seconds; a stopped job still acting would terminate about 40
	// more runs meanwhile.
	job2 := uniqueName(t, "job")
	_, err = c.WorkflowService().StartBatchOperation(ctx, terminateBatch(job2, otherQ, "other", 50))
	require.NoError(t, err, "a second batch after the stop")
	d2, _ := waitBatchDone(t, ctx, c, job2)
	require.Equal(t, enumspb.BATCH_OPERATION_STATE_COMPLETED, d2.GetState())
	require.Equal(t, int64(100), d2.GetCompleteOperationCount())
	// The stopped job acted on what it reported, plus what it did since its
	// last progress write (at most 250 ms at 20/s) and the action in
	// flight at the stop.
	terminated := 0
	for _, e := range execs {
		events := requireHistory(t, ctx, c, e.GetWorkflowId(), e.GetRunId())
		if events[len(events)-1].GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED {
			terminated++
		}
	}
	require.GreaterOrEqual(t, int64(terminated), d.GetCompleteOperationCount())
	require.LessOrEqual(t, int64(terminated), d.GetCompleteOperationCount()+7, "the stopped job went on acting")
}

func TestBatchExplicitExecutions(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 2*time.Minute)
	c := env.client
	tq := uniqueName(t, "tq")
	execs := startIdle(t, ctx, c, tq, 4)
	// The first by run ID, the second by workflow ID alone (its current
	// run), one that never existed; the last two runs are not named.
	targets := []*commonpb.WorkflowExecution{execs[0], {WorkflowId: execs[1].GetWorkflowId()}, {WorkflowId: tq + "-missing"}}
	jobID := uniqueName(t, "job")
	_, err := c.WorkflowService().StartBatchOperation(ctx, &workflowservice.StartBatchOperationRequest{
		Namespace: testNamespace, JobId: jobID, Executions: targets, Reason: "stop please",
		Operation: &workflowservice.StartBatchOperationRequest_CancellationOperation{
			CancellationOperation: &batchpb.BatchOperationCancellation{Identity: "canceller"}},
	})
	require.NoError(t, err)
	d, _ := waitBatchDone(t, ctx, c, jobID)
	require.Equal(t, enumspb.BATCH_OPERATION_STATE_COMPLETED, d.GetState())
	require.Equal(t, enumspb.BATCH_OPERATION_TYPE_CANCEL_WORKFLOW, d.GetOperationType())
	// A target that is not found counts as done, as on the reference.
	require.Equal(t, int64(3), d.GetTotalOperationCount())
	require.Equal(t, int64(3), d.GetCompleteOperationCount())
	require.Empty(t, d.GetQuery())
	require.Len(t, d.GetExecutions(), 3)
	for i, e := range d.GetExecutions() {
		require.Equal(t, enumspb.EXECUTION_TYPE_WORKFLOW, e.GetType())
		require.Equal(t, targets[i].GetWorkflowId(), e.GetBusinessId())
		require.Equal(t, targets[i].GetRunId(), e.GetRunId())
	}

	// The same through target_executions, here a delete of the third run.
	job2 := uniqueName(t, "job")
	_, err = c.WorkflowService().StartBatchOperation(ctx, &workflowservice.StartBatchOperationRequest{
		Namespace: testNamespace, JobId: job2, Reason: "remove",
		TargetExecutions: []*commonpb.Execution{{Type: enumspb.EXECUTION_TYPE_WORKFLOW, BusinessId: execs[2].GetWorkflowId(), RunId: execs[2].GetRunId()}},
		Operation:        &workflowservice.StartBatchOperationRequest_DeletionOperation{DeletionOperation: &batchpb.BatchOperationDeletion{}},
	})
	require.NoError(t, err)
	d2, _ := waitBatchDone(t, ctx, c, job2)
	require.Equal(t, enumspb.BATCH_OPERATION_TYPE_DELETE_WORKFLOW, d2.GetOperationType())
	require.Equal(t, int64(1), d2.GetCompleteOperationCount())
	eventually(t, ctx, "the third run deleted", func() error {
		_, err := c.DescribeWorkflowExecution(ctx, execs[2].GetWorkflowId(), execs[2].GetRunId())
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return nil
		}
		return fmt.Errorf("describe: %v", err)
	})

	for i, e := range execs {
		if i == 2 {
			continue
		}
		events := requireHistory(t, ctx, c, e.GetWorkflowId(), e.GetRunId())
		reqs := eventsOfType(events, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED)
		if i >= 2 {
			require.Empty(t, reqs, "%s was not a target", e.GetWorkflowId())
			continue
		}
		require.Len(t, reqs, 1, "%s: %v", e.GetWorkflowId(), eventTypes(events))
		require.Equal(t, "canceller", reqs[0].GetWorkflowExecutionCancelRequestedEventAttributes().GetIdentity())
	}
}

func TestBatchBadInput(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, time.Minute)
	svc := env.client.WorkflowService()
	term := &workflowservice.StartBatchOperationRequest_TerminationOperation{TerminationOperation: &batchpb.BatchOperationTermination{}}
	one := []*commonpb.WorkflowExecution{{WorkflowId: "w"}}
	cases := []struct {
		name string
		req  *workflowservice.StartBatchOperationRequest
		code codes.Code
		msg  string
	}{
		{"no query and no list", &workflowservice.StartBatchOperationRequest{Namespace: testNamespace, JobId: "j", Reason: "r", Operation: term},
			codes.InvalidArgument, "must provide required parameters: BatchType/Reason/Namespace/Query/Executions"},
		{"query and list", &workflowservice.StartBatchOperationRequest{Namespace: testNamespace, JobId: "j", Reason: "r", Operation: term,
			VisibilityQuery: "WorkflowType = 'x'", Executions: one},
			codes.InvalidArgument, "Workflow executions and visibility filter are both set on request. Only one of them is allowed."},
		{"no operation", &workflowservice.StartBatchOperationRequest{Namespace: testNamespace, JobId: "j", Reason: "r", Executions: one},
			codes.InvalidArgument, "must provide required parameters: BatchType/Reason/Namespace/Query/Executions"},
		{"no reason", &workflowservice.StartBatchOperationRequest{Namespace: testNamespace, JobId: "j", Operation: term, Executions: one},
			codes.InvalidArgument, "must provide required parameters: BatchType/Reason/Namespace/Query/Executions"},
		{"no job ID", &workflowservice.StartBatchOperationRequest{Namespace: testNamespace, Reason: "r", Operation: term, Executions: one},
			codes.InvalidArgument, "JobId is not set on request."},
		{"signal without name", &workflowservice.StartBatchOperationRequest{Namespace: testNamespace, JobId: "j", Reason: "r", Executions: one,
			Operation: &workflowservice.StartBatchOperationRequest_SignalOperation{SignalOperation: &batchpb.BatchOperationSignal{}}},
			codes.InvalidArgument, "must provide signal name"},
		{"reset without type", &workflowservice.StartBatchOperationRequest{Namespace: testNamespace, JobId: "j", Reason: "r", Executions: one,
			Operation: &workflowservice.StartBatchOperationRequest_ResetOperation{ResetOperation: &batchpb.BatchOperationReset{}}},
			codes.InvalidArgument, "unknown batch reset type Unspecified"},
		{"execution without workflow ID", &workflowservice.StartBatchOperationRequest{Namespace: testNamespace, JobId: "j", Reason: "r",
			Operation: term, Executions: []*commonpb.WorkflowExecution{{RunId: "x"}}},
			codes.InvalidArgument, "WorkflowId is not set on request."},
		{"bad query", &workflowservice.StartBatchOperationRequest{Namespace: testNamespace, JobId: "j", Reason: "r", Operation: term,
			VisibilityQuery: "WorkflowType = "}, codes.InvalidArgument, ""},
		{"unsupported operation", &workflowservice.StartBatchOperationRequest{Namespace: testNamespace, JobId: "j", Reason: "r", Executions: one,
			Operation: &workflowservice.StartBatchOperationRequest_CancelActivitiesOperation{
				CancelActivitiesOperation: &batchpb.BatchOperationCancelActivities{}}},
			codes.Unimplemented, "Batch operation cancel_activities_operation is not supported by this server."},
		{"activity target", &workflowservice.StartBatchOperationRequest{Namespace: testNamespace, JobId: "j", Reason: "r", Operation: term,
			TargetExecutions: []*commonpb.Execution{{Type: enumspb.EXECUTION_TYPE_ACTIVITY, BusinessId: "a"}}},
			codes.InvalidArgument, "target_executions[0]: execution type Activity does not match the workflow batch operation."},
		{"unknown namespace", &workflowservice.StartBatchOperationRequest{Namespace: "nowhere", JobId: "j", Reason: "r", Operation: term, Executions: one},
			codes.NotFound, "Namespace nowhere is not found."},
	}
	for _, tc := range cases {
		_, err := svc.StartBatchOperation(ctx, tc.req)
		require.Equal(t, tc.code, serviceerror.ToStatus(err).Code(), "%s: %v", tc.name, err)
		if tc.msg != "" {
			require.Equal(t, tc.msg, serviceerror.ToStatus(err).Message(), tc.name)
		}
	}
	list, err := svc.ListBatchOperations(ctx, &workflowservice.ListBatchOperationsRequest{Namespace: testNamespace})
	require.NoError(t, err)
	require.Empty(t, list.GetOperationInfo(), "a refused request created a job")

	_, err = svc.DescribeBatchOperation(ctx, &workflowservice.DescribeBatchOperationRequest{Namespace: testNamespace, JobId: "missing"})
	require.Equal(t, codes.NotFound, serviceerror.ToStatus(err).Code(), "describe of a missing job: %v", err)
	_, err = svc.DescribeBatchOperation(ctx, &workflowservice.DescribeBatchOperationRequest{Namespace: testNamespace})
	require.Equal(t, "JobId is not set on request.", serviceerror.ToStatus(err).Message())
	_, err = svc.StopBatchOperation(ctx, &workflowservice.StopBatchOperationRequest{Namespace: testNamespace, JobId: "missing"})
	require.Equal(t, codes.InvalidArgument, serviceerror.ToStatus(err).Code(), "stop without a reason: %v", err)
	_, err = svc.StopBatchOperation(ctx, &workflowservice.StopBatchOperationRequest{Namespace: testNamespace, JobId: "missing", Reason: "r"})
	require.Equal(t, codes.NotFound, serviceerror.ToStatus(err).Code(), "stop of a missing job: %v", err)
}

func TestBatchJobIDsAndConcurrencyLimit(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 2*time.Minute)
	c := env.client
	tq := uniqueName(t, "tq")
	startIdle(t, ctx, c, tq, 20)
	q := fmt.Sprintf("TaskQueue = '%s'", tq)
	waitCount(t, ctx, c, q, 20)
	svc := c.WorkflowService()
	_, err := svc.StartBatchOperation(ctx, terminateBatch("slow", q, "r", 1))
	require.NoError(t, err)
	_, err = svc.StartBatchOperation(ctx, terminateBatch("second", q, "r", 0))
	var exhausted *serviceerror.ResourceExhausted
	require.ErrorAs(t, err, &exhausted, "a second concurrent batch")
	require.Equal(t, enumspb.RESOURCE_EXHAUSTED_CAUSE_CONCURRENT_LIMIT, exhausted.Cause)
	_, err = svc.StopBatchOperation(ctx, &workflowservice.StopBatchOperationRequest{Namespace: testNamespace, JobId: "slow", Reason: "r"})
	require.NoError(t, err)
	_, err = svc.StartBatchOperation(ctx, terminateBatch("slow", q, "r", 0))
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	require.ErrorAs(t, err, &started, "reusing a job ID")
	list, err := svc.ListBatchOperations(ctx, &workflowservice.ListBatchOperationsRequest{Namespace: testNamespace, PageSize: 1})
	require.NoError(t, err)
	require.Len(t, list.GetOperationInfo(), 1)
	require.Equal(t, "slow", list.GetOperationInfo()[0].GetJobId())
	require.Empty(t, list.GetNextPageToken())
}

// TestBatchResumesAfterRestart stops the server while a batch signal runs
// and starts a new one on the same database: the job goes on where it was
// and every run gets exactly one signal.
func TestBatchResumesAfterRestart(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 4*time.Minute)
	store, dbFile := testBackend(t)
	logs := &lockedBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server logs:\n%s", logs.String())
		}
	})
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	first := startServer(t, store, dbFile, logger)
	c := dialClient(t, first.FrontendAddr(), nil)
	tq := uniqueName(t, "tq")
	const n = 60
	execs := startIdle(t, ctx, c, tq, n)
	q := fmt.Sprintf("TaskQueue = '%s'", tq)
	waitCount(t, ctx, c, q, n)
	input, err := converter.GetDefaultDataConverter().ToPayloads("hello")
	require.NoError(t, err)
	jobID := uniqueName(t, "job")
	_, err = c.WorkflowService().StartBatchOperation(ctx, &workflowservice.StartBatchOperationRequest{
		Namespace: testNamespace, JobId: jobID, VisibilityQuery: q, Reason: "poke", MaxOperationsPerSecond: 20,
		Operation: &workflowservice.StartBatchOperationRequest_SignalOperation{SignalOperation: &batchpb.BatchOperationSignal{
			Signal: "poke", Input: input, Identity: "signaller"}},
	})
	require.NoError(t, err)
	eventually(t, ctx, "some progress", func() error {
		d, err := describeBatch(ctx, c, jobID)
		if err != nil {
			return err
		}
		if d.GetCompleteOperationCount() < 5 {
			return errNotYet
		}
		return nil
	})
	first.Stop()

	second := startServer(t, store, dbFile, logger)
	c2 := dialClient(t, second.FrontendAddr(), nil)
	d, _ := waitBatchDone(t, ctx, c2, jobID)
	require.Equal(t, enumspb.BATCH_OPERATION_STATE_COMPLETED, d.GetState())
	require.Equal(t, int64(n), d.GetTotalOperationCount())
	requireSignalledOnce(t, ctx, c2, execs, "poke", "signaller")
}

// startServer starts a server on the given database; it stops when t
// ends (or earlier, by the caller).
func startServer(t *testing.T, store server.StoreConfig, dbFile string, logger *slog.Logger) *server.Server {
	t.Helper()
	s, err := server.New(server.Config{
		IP: "127.0.0.1", Port: 0, DBFilename: dbFile, Store: store, NumShards: 4,
		Namespaces: []string{testNamespace}, DynamicConfig: config.NewDynamic(nil), Logger: logger,
	})
	require.NoError(t, err, "server.New")
	require.NoError(t, s.Start(), "server.Start")
	t.Cleanup(s.Stop)
	return s
}
