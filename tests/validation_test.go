package tests

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// rawService dials the frontend without the SDK, so requests reach the
// server exactly as built (no client-side defaults or checks).
func rawService(t *testing.T, addr string) workflowservice.WorkflowServiceClient {
	t.Helper()
	conn, err := grpc.NewClient(addr, append(recordedDialOptions(addr), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return workflowservice.NewWorkflowServiceClient(conn)
}

// validStart is a well-formed start request; nothing polls its task queue.
func validStart(t *testing.T) *workflowservice.StartWorkflowExecutionRequest {
	return &workflowservice.StartWorkflowExecutionRequest{
		Namespace:    testNamespace,
		WorkflowId:   uniqueName(t, "wf"),
		WorkflowType: &commonpb.WorkflowType{Name: "NobodyRunsThis"},
		TaskQueue:    &taskqueuepb.TaskQueue{Name: uniqueName(t, "tq"), Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
		RequestId:    uniqueName(t, "req"),
		Identity:     "sundial-tests",
	}
}

func requireCode(t *testing.T, want codes.Code, err error, msgAndArgs ...any) {
	t.Helper()
	require.Error(t, err, msgAndArgs...)
	require.Equal(t, want.String(), status.Code(err).String(), append(msgAndArgs, err)...)
}

// requireNoWorkflow asserts that no execution with this ID exists.
func requireNoWorkflow(t *testing.T, ctx context.Context, svc workflowservice.WorkflowServiceClient, workflowID string) {
	t.Helper()
	_, err := svc.GetWorkflowExecutionHistory(ctx, &workflowservice.GetWorkflowExecutionHistoryRequest{
		Namespace: testNamespace,
		Execution: &commonpb.WorkflowExecution{WorkflowId: workflowID},
	})
	requireCode(t, codes.NotFound, err, "a rejected start must leave no execution behind")
}

func TestStartWorkflowBadInput(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 60*time.Second)
	svc := rawService(t, env.addr)

	cases := []struct {
		name   string
		mutate func(*workflowservice.StartWorkflowExecutionRequest)
		want   codes.Code
		// checkNothing: the workflow ID is valid, so we can look it up after.
		checkNothing bool
	}{
		{"empty workflow ID", func(r *workflowservice.StartWorkflowExecutionRequest) { r.WorkflowId = "" }, codes.InvalidArgument, false},
		{"workflow ID over 1000 chars", func(r *workflowservice.StartWorkflowExecutionRequest) {
			r.WorkflowId = strings.Repeat("w", 1001)
		}, codes.InvalidArgument, false},
		{"missing workflow type", func(r *workflowservice.StartWorkflowExecutionRequest) { r.WorkflowType = nil }, codes.InvalidArgument, true},
		{"empty workflow type", func(r *workflowservice.StartWorkflowExecutionRequest) {
			r.WorkflowType = &commonpb.WorkflowType{}
		}, codes.InvalidArgument, true},
		{"missing task queue", func(r *workflowservice.StartWorkflowExecutionRequest) { r.TaskQueue = nil }, codes.InvalidArgument, true},
		{"empty task queue", func(r *workflowservice.StartWorkflowExecutionRequest) {
			r.TaskQueue = &taskqueuepb.TaskQueue{}
		}, codes.InvalidArgument, true},
		{"reserved task queue", func(r *workflowservice.StartWorkflowExecutionRequest) {
			r.TaskQueue = &taskqueuepb.TaskQueue{Name: "/_sys/mine"}
		}, codes.InvalidArgument, true},
		{"missing namespace", func(r *workflowservice.StartWorkflowExecutionRequest) { r.Namespace = "" }, codes.InvalidArgument, true},
		{"unknown namespace", func(r *workflowservice.StartWorkflowExecutionRequest) { r.Namespace = "no-such-namespace" }, codes.NotFound, true},
		{"negative execution timeout", func(r *workflowservice.StartWorkflowExecutionRequest) {
			r.WorkflowExecutionTimeout = durationpb.New(-time.Second)
		}, codes.InvalidArgument, true},
		{"negative run timeout", func(r *workflowservice.StartWorkflowExecutionRequest) {
			r.WorkflowRunTimeout = durationpb.New(-time.Second)
		}, codes.InvalidArgument, true},
		{"negative task timeout", func(r *workflowservice.StartWorkflowExecutionRequest) {
			r.WorkflowTaskTimeout = durationpb.New(-time.Second)
		}, codes.InvalidArgument, true},
		{"retry backoff below 1", func(r *workflowservice.StartWorkflowExecutionRequest) {
			r.RetryPolicy = &commonpb.RetryPolicy{BackoffCoefficient: 0.5}
		}, codes.InvalidArgument, true},
		{"retry max interval below initial", func(r *workflowservice.StartWorkflowExecutionRequest) {
			r.RetryPolicy = &commonpb.RetryPolicy{
				InitialInterval:    durationpb.New(10 * time.Second),
				MaximumInterval:    durationpb.New(time.Second),
				BackoffCoefficient: 2,
			}
		}, codes.InvalidArgument, true},
		{"retry negative attempts", func(r *workflowservice.StartWorkflowExecutionRequest) {
			r.RetryPolicy = &commonpb.RetryPolicy{BackoffCoefficient: 2, MaximumAttempts: -1}
		}, codes.InvalidArgument, true},
		{"input over 2 MiB", func(r *workflowservice.StartWorkflowExecutionRequest) {
			r.Input = &commonpb.Payloads{Payloads: []*commonpb.Payload{{
				Metadata: map[string][]byte{"encoding": []byte("binary/plain")},
				Data:     make([]byte, 2*1024*1024+1),
			}}}
		}, codes.InvalidArgument, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := validStart(t)
			id := req.WorkflowId
			tc.mutate(req)
			_, err := svc.StartWorkflowExecution(ctx, req)
			requireCode(t, tc.want, err)
			if tc.checkNothing {
				requireNoWorkflow(t, ctx, svc, id)
			}
		})
	}

	// The same requests without the fault are accepted: the cases above
	// fail for the reason they name.
	t.Run("boundaries accepted", func(t *testing.T) {
		req := validStart(t)
		req.WorkflowId = strings.Repeat("w", 1000)
		_, err := svc.StartWorkflowExecution(ctx, req)
		require.NoError(t, err, "a 1000-char workflow ID is within the limit")

		req = validStart(t)
		req.RetryPolicy = &commonpb.RetryPolicy{MaximumAttempts: 1, BackoffCoefficient: 0.5}
		_, err = svc.StartWorkflowExecution(ctx, req)
		require.NoError(t, err, "MaximumAttempts 1 skips the other retry-policy checks")

		req = validStart(t)
		req.Input = &commonpb.Payloads{Payloads: []*commonpb.Payload{{
			Metadata: map[string][]byte{"encoding": []byte("binary/plain")},
			Data:     make([]byte, 1024*1024),
		}}}
		_, err = svc.StartWorkflowExecution(ctx, req)
		require.NoError(t, err, "a 1 MiB input is within the limit")
	})
}

func TestMalformedTaskToken(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 30*time.Second)
	svc := rawService(t, env.addr)

	for _, token := range [][]byte{nil, []byte("not a task token"), {0xff, 0x00, 0x13}} {
		_, err := svc.RespondActivityTaskCompleted(ctx, &workflowservice.RespondActivityTaskCompletedRequest{
			Namespace: testNamespace,
			TaskToken: token,
			Identity:  "sundial-tests",
		})
		requireCode(t, codes.InvalidArgument, err, "token %q", token)
	}
}

func TestStartWorkflowDeduplication(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 30*time.Second)
	svc := rawService(t, env.addr)

	first := validStart(t)
	resp, err := svc.StartWorkflowExecution(ctx, first)
	require.NoError(t, err)
	runID := resp.GetRunId()
	require.NotEmpty(t, runID)

	// A retry of the same request returns the same run.
	again, err := svc.StartWorkflowExecution(ctx, proto.Clone(first).(*workflowservice.StartWorkflowExecutionRequest))
	require.NoError(t, err, "retry with the same request ID")
	require.Equal(t, runID, again.GetRunId())

	// A different request for the same open workflow ID is refused.
	other := proto.Clone(first).(*workflowservice.StartWorkflowExecutionRequest)
	other.RequestId = uniqueName(t, "req")
	_, err = svc.StartWorkflowExecution(ctx, other)
	requireCode(t, codes.AlreadyExists, err)
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	require.ErrorAs(t, serviceerror.FromStatus(status.Convert(err)), &already, "details must be WorkflowExecutionAlreadyStarted")
	require.Equal(t, runID, already.RunId)
	require.Equal(t, first.RequestId, already.StartRequestId)

	// Exactly one run exists, with one start event.
	hist, err := svc.GetWorkflowExecutionHistory(ctx, &workflowservice.GetWorkflowExecutionHistoryRequest{
		Namespace: testNamespace,
		Execution: &commonpb.WorkflowExecution{WorkflowId: first.WorkflowId},
	})
	require.NoError(t, err)
	events := hist.GetHistory().GetEvents()
	require.NotEmpty(t, events)
	require.Len(t, eventsOfType(events, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED), 1, "%v", eventTypes(events))
	require.Equal(t, runID, events[0].GetWorkflowExecutionStartedEventAttributes().GetFirstExecutionRunId())
}
