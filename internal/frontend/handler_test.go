package frontend

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/errordetails/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sundialhq/sundial/internal/history"
	"github.com/sundialhq/sundial/internal/matching"
	"github.com/sundialhq/sundial/internal/persistence"
	"github.com/sundialhq/sundial/internal/tasktoken"
)

func TestErrorMapping(t *testing.T) {
	cases := []struct {
		err  error
		code codes.Code
		msg  string
	}{
		{history.ErrWorkflowNotFound, codes.NotFound, "workflow execution not found"},
		{fmt.Errorf("load: %w", history.ErrWorkflowNotFound), codes.NotFound, "workflow execution not found"},
		{history.ErrWorkflowTaskNotFound, codes.NotFound, "workflow task not found."},
		{history.ErrActivityTaskNotFound, codes.NotFound, "activity task not found."},
		{history.ErrWorkflowCompleted, codes.NotFound, "workflow execution already completed"},
		{history.ErrUpdateAbortedByClose, codes.NotFound, "workflow update was aborted by closing workflow"},
		{&history.InvalidArgumentError{Msg: "bad command"}, codes.InvalidArgument, "bad command"},
		{history.ErrBusy, codes.ResourceExhausted, "Workflow is busy."},
		{&persistence.UnavailableError{Err: errors.New("locked")}, codes.Unavailable, "persistence: unavailable: locked"},
		{fmt.Errorf("x: %w", &persistence.ShardOwnershipLostError{ShardID: 1, RangeID: 2}), codes.Unavailable, ""},
		{matching.ErrTooManyPollers, codes.ResourceExhausted, "Too many outstanding pollers."},
		{history.ErrShuttingDown, codes.Unavailable, "history is shutting down"},
		{context.DeadlineExceeded, codes.DeadlineExceeded, "context deadline exceeded"},
		{fmt.Errorf("poll: %w", context.Canceled), codes.Canceled, "poll: context canceled"},
		{errors.New("boom"), codes.Internal, "boom"},
		{serviceerror.NewPermissionDenied("no", ""), codes.PermissionDenied, "no"},
		{status.Error(codes.Aborted, "as is"), codes.Aborted, "as is"},
	}
	for _, c := range cases {
		st := wire(c.err)
		if st.Code() != c.code || (c.msg != "" && st.Message() != c.msg) {
			t.Errorf("%v -> %v %q, want %v %q", c.err, st.Code(), st.Message(), c.code, c.msg)
		}
	}
}

func TestAlreadyStartedDetails(t *testing.T) {
	st := wire(&history.AlreadyStartedError{StartRequestID: "req-1", RunID: "run-1"})
	if st.Code() != codes.AlreadyExists {
		t.Fatalf("code = %v", st.Code())
	}
	var details *errordetails.WorkflowExecutionAlreadyStartedFailure
	for _, d := range st.Details() {
		if v, ok := d.(*errordetails.WorkflowExecutionAlreadyStartedFailure); ok {
			details = v
		}
	}
	if details.GetStartRequestId() != "req-1" || details.GetRunId() != "run-1" {
		t.Fatalf("details = %v", details)
	}
	// Resource exhaustion carries its cause.
	var re *serviceerror.ResourceExhausted
	if !errors.As(serviceerror.FromStatus(wire(history.ErrBusy)), &re) || re.Cause != enumspb.RESOURCE_EXHAUSTED_CAUSE_BUSY_WORKFLOW {
		t.Fatalf("busy -> %v", re)
	}
}

func TestInterceptorRecoversPanics(t *testing.T) {
	ic := UnaryInterceptor(quietLogger)
	info := &grpc.UnaryServerInfo{FullMethod: "/x/Y"}
	_, err := ic(context.Background(), nil, info, func(context.Context, any) (any, error) {
		var m map[string]int
		m["crash"] = 1 // nil map write panics
		return nil, nil
	})
	if status.Code(err) != codes.Internal {
		t.Fatalf("panic -> %v", err)
	}
	_, err = ic(context.Background(), nil, info, func(context.Context, any) (any, error) {
		return nil, history.ErrActivityTaskNotFound
	})
	if st, _ := status.FromError(err); st.Code() != codes.NotFound || st.Message() != "activity task not found." {
		t.Fatalf("mapped -> %v", err)
	}
}

func activityToken(nsID string) []byte {
	return tasktoken.Encode(&tasktoken.Token{NamespaceID: nsID, WorkflowID: "wf", RunID: "11111111-1111-1111-1111-111111111111",
		ScheduledEventID: 5, Attempt: 1, ActivityID: "a1", Activity: true})
}

func workflowToken(nsID string) []byte {
	return tasktoken.Encode(&tasktoken.Token{NamespaceID: nsID, WorkflowID: "wf", RunID: "11111111-1111-1111-1111-111111111111",
		ScheduledEventID: 2, StartedEventID: 3, Attempt: 1})
}

func TestTaskTokens(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	complete := func(ns string, tok []byte) error {
		_, err := env.h.RespondActivityTaskCompleted(ctx, &workflowservice.RespondActivityTaskCompletedRequest{Namespace: ns, TaskToken: tok})
		return err
	}
	cases := []struct {
		name string
		err  error
		code codes.Code
		msg  string
	}{
		{"no token", complete("default", nil), codes.InvalidArgument, "Task token not set on request."},
		{"garbage", complete("default", []byte("{not json")), codes.InvalidArgument, "Error deserializing task token."},
		{"workflow token for activity", complete("default", workflowToken(env.nsID)), codes.InvalidArgument, "Error deserializing task token."},
		{"other namespace", complete("default", activityToken(env.otherID)), codes.InvalidArgument, "Operation requested with a token from a different namespace."},
		{"unknown token namespace", complete("", activityToken("gone")), codes.NotFound, "Namespace gone is not found."},
		{"oversized result", func() error {
			_, err := env.h.RespondActivityTaskCompleted(ctx, &workflowservice.RespondActivityTaskCompletedRequest{
				Namespace: "default", TaskToken: activityToken(env.nsID), Result: bigPayloads(2<<20 + 1)})
			return err
		}(), codes.InvalidArgument, "Blob data size exceeds limit."},
	}
	for _, c := range cases {
		if st := wire(c.err); st.Code() != c.code || st.Message() != c.msg {
			t.Errorf("%s: got %v %q, want %v %q", c.name, st.Code(), st.Message(), c.code, c.msg)
		}
	}
	// A valid token reaches history as decoded, with or without a namespace on the request.
	for _, ns := range []string{"default", ""} {
		env.hist.lastToken = nil
		if err := complete(ns, activityToken(env.nsID)); err != nil {
			t.Fatalf("namespace %q: %v", ns, err)
		}
		if tok := env.hist.lastToken; tok == nil || tok.ActivityID != "a1" || tok.ScheduledEventID != 5 {
			t.Fatalf("history got token %+v", tok)
		}
	}
	_, err := env.h.RespondWorkflowTaskCompleted(ctx, &workflowservice.RespondWorkflowTaskCompletedRequest{
		Namespace: "default", TaskToken: workflowToken(env.nsID)})
	if err != nil || env.hist.lastToken.StartedEventID != 3 {
		t.Fatalf("workflow task completion: %v, token %+v", err, env.hist.lastToken)
	}
}

func TestActivityByID(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	env.hist.cancelResp = true
	resp, err := env.h.RecordActivityTaskHeartbeatById(ctx, &workflowservice.RecordActivityTaskHeartbeatByIdRequest{
		Namespace: "default", WorkflowId: "wf", ActivityId: "a1"})
	if err != nil || !resp.GetCancelRequested() {
		t.Fatalf("heartbeat by id = %v, %v", resp, err)
	}
	want := tasktoken.Token{NamespaceID: env.nsID, WorkflowID: "wf", ActivityID: "a1", Activity: true}
	if *env.hist.lastToken != want {
		t.Fatalf("token = %+v, want %+v", *env.hist.lastToken, want)
	}
	cases := []struct {
		req *workflowservice.RespondActivityTaskFailedByIdRequest
		msg string
	}{
		{&workflowservice.RespondActivityTaskFailedByIdRequest{Namespace: "default", ActivityId: "a"}, "WorkflowId is not set on request."},
		{&workflowservice.RespondActivityTaskFailedByIdRequest{Namespace: "default", WorkflowId: "w"}, "ActivityId is not set on request."},
		{&workflowservice.RespondActivityTaskFailedByIdRequest{Namespace: "default", WorkflowId: "w", RunId: "nope", ActivityId: "a"}, "Invalid RunId."},
		{&workflowservice.RespondActivityTaskFailedByIdRequest{Namespace: "default", WorkflowId: "w", ActivityId: strings.Repeat("a", 1001)}, "ActivityId length exceeds limit."},
	}
	for _, c := range cases {
		_, err := env.h.RespondActivityTaskFailedById(ctx, c.req)
		if st := wire(err); st.Code() != codes.InvalidArgument || st.Message() != c.msg {
			t.Errorf("got %v %q, want %q", st.Code(), st.Message(), c.msg)
		}
	}
}

func TestPollValidation(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	resp, err := env.h.PollActivityTaskQueue(ctx, &workflowservice.PollActivityTaskQueueRequest{
		Namespace: "default", TaskQueue: &taskqueuepb.TaskQueue{Name: "tq"}})
	if err != nil || resp == nil || env.match.lastNSID != env.nsID {
		t.Fatalf("poll = %v, %v (matching got ns %q)", resp, err, env.match.lastNSID)
	}
	cases := []struct {
		req *workflowservice.PollWorkflowTaskQueueRequest
		msg string
	}{
		{&workflowservice.PollWorkflowTaskQueueRequest{Namespace: "default"}, "TaskQueue is not set on request."},
		{&workflowservice.PollWorkflowTaskQueueRequest{Namespace: "default", TaskQueue: &taskqueuepb.TaskQueue{Name: "tq"},
			Identity: strings.Repeat("i", 1001)}, "Identity length exceeds limit."},
		{&workflowservice.PollWorkflowTaskQueueRequest{TaskQueue: &taskqueuepb.TaskQueue{Name: "tq"}}, "Namespace not set on request."},
	}
	for _, c := range cases {
		_, err := env.h.PollWorkflowTaskQueue(ctx, c.req)
		if st := wire(err); st.Code() != codes.InvalidArgument || st.Message() != c.msg {
			t.Errorf("got %v %q, want %q", st.Code(), st.Message(), c.msg)
		}
	}
	wresp, err := env.h.PollWorkflowTaskQueue(ctx, &workflowservice.PollWorkflowTaskQueueRequest{
		Namespace: "default", TaskQueue: &taskqueuepb.TaskQueue{Name: "host:123", Kind: enumspb.TASK_QUEUE_KIND_STICKY, NormalName: "tq"}})
	if err != nil || wresp == nil {
		t.Fatalf("sticky poll = %v, %v", wresp, err)
	}
}

func TestHistoryRequests(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	req := &workflowservice.GetWorkflowExecutionHistoryRequest{Namespace: "default",
		Execution: &commonpb.WorkflowExecution{WorkflowId: "wf"}, MaximumPageSize: 100000}
	if _, err := env.h.GetWorkflowExecutionHistory(ctx, req); err != nil {
		t.Fatal(err)
	}
	if req.MaximumPageSize != defaultHistoryMaxPageSize || env.hist.lastNSID != env.nsID {
		t.Fatalf("page size %d, namespace %q", req.MaximumPageSize, env.hist.lastNSID)
	}
	bad := []struct {
		exec *commonpb.WorkflowExecution
		msg  string
	}{
		{nil, "Execution is not set on request."},
		{&commonpb.WorkflowExecution{}, "WorkflowId is not set on request."},
		{&commonpb.WorkflowExecution{WorkflowId: "wf", RunId: "x"}, "Invalid RunId."},
	}
	for _, c := range bad {
		_, err := env.h.GetWorkflowExecutionHistoryReverse(ctx, &workflowservice.GetWorkflowExecutionHistoryReverseRequest{Namespace: "default", Execution: c.exec})
		if st := wire(err); st.Code() != codes.InvalidArgument || st.Message() != c.msg {
			t.Errorf("got %v %q, want %q", st.Code(), st.Message(), c.msg)
		}
	}
}

func TestNamespaceEndpoints(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	byName, err := env.h.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	info := byName.GetNamespaceInfo()
	if info.GetId() != env.nsID || info.GetState() != enumspb.NAMESPACE_STATE_REGISTERED ||
		info.GetCapabilities() == nil || info.GetLimits().GetBlobSizeLimitError() != 2<<20 {
		t.Fatalf("describe = %v", byName)
	}
	byID, err := env.h.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Id: env.nsID})
	if err != nil || byID.GetNamespaceInfo().GetName() != "default" {
		t.Fatalf("by id = %v, %v", byID, err)
	}
	for _, c := range []struct {
		req  *workflowservice.DescribeNamespaceRequest
		want string
	}{
		{&workflowservice.DescribeNamespaceRequest{}, "Namespace not set on request."},
		{&workflowservice.DescribeNamespaceRequest{Namespace: "x"}, "Namespace x is not found."},
		{&workflowservice.DescribeNamespaceRequest{Id: "no-such-id"}, "Namespace no-such-id is not found."},
	} {
		_, err := env.h.DescribeNamespace(ctx, c.req)
		if st := wire(err); st.Message() != c.want {
			t.Errorf("describe %v: %q, want %q", c.req, st.Message(), c.want)
		}
	}
	page1, err := env.h.ListNamespaces(ctx, &workflowservice.ListNamespacesRequest{PageSize: 1})
	if err != nil || len(page1.Namespaces) != 1 || len(page1.NextPageToken) == 0 {
		t.Fatalf("page 1 = %v, %v", page1, err)
	}
	page2, err := env.h.ListNamespaces(ctx, &workflowservice.ListNamespacesRequest{PageSize: 1, NextPageToken: page1.NextPageToken})
	if err != nil || len(page2.Namespaces) != 1 || len(page2.NextPageToken) != 0 ||
		page2.Namespaces[0].GetNamespaceInfo().GetName() != "other" {
		t.Fatalf("page 2 = %v, %v", page2, err)
	}
	sys, _ := env.h.GetSystemInfo(ctx, nil)
	if c := sys.GetCapabilities(); !c.GetSdkMetadata() || !c.GetInternalErrorDifferentiation() || !c.GetEagerWorkflowStart() {
		t.Fatalf("capabilities = %v", c)
	}
}
