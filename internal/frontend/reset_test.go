package frontend

import (
	"context"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc/codes"
)

// resetHistory fakes history's reset and keeps the request it got.
type resetHistory struct {
	*fakeHistory
	got *workflowservice.ResetWorkflowExecutionRequest
}

func (f *resetHistory) ResetWorkflowExecution(_ context.Context, nsID string, req *workflowservice.ResetWorkflowExecutionRequest) (*workflowservice.ResetWorkflowExecutionResponse, error) {
	f.lastNSID, f.got = nsID, req
	return &workflowservice.ResetWorkflowExecutionResponse{RunId: "new"}, f.err
}

func TestResetWorkflowExecutionValidation(t *testing.T) {
	env := newTestEnv(t)
	fake := &resetHistory{fakeHistory: env.hist}
	env.h.hist = fake
	valid := func() *workflowservice.ResetWorkflowExecutionRequest {
		return &workflowservice.ResetWorkflowExecutionRequest{Namespace: "default",
			WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: "wf"}, WorkflowTaskFinishEventId: 4, Reason: "r"}
	}
	cases := map[string]struct {
		mutate func(*workflowservice.ResetWorkflowExecutionRequest)
		code   codes.Code
		msg    string
	}{
		"no namespace":      {func(r *workflowservice.ResetWorkflowExecutionRequest) { r.Namespace = "" }, codes.InvalidArgument, "Namespace not set"},
		"unknown namespace": {func(r *workflowservice.ResetWorkflowExecutionRequest) { r.Namespace = "nope" }, codes.NotFound, "nope"},
		"no execution":      {func(r *workflowservice.ResetWorkflowExecutionRequest) { r.WorkflowExecution = nil }, codes.InvalidArgument, "Execution is not set"},
		"no workflow ID":    {func(r *workflowservice.ResetWorkflowExecutionRequest) { r.WorkflowExecution.WorkflowId = "" }, codes.InvalidArgument, "WorkflowId is not set"},
		"bad run ID":        {func(r *workflowservice.ResetWorkflowExecutionRequest) { r.WorkflowExecution.RunId = "x" }, codes.InvalidArgument, "Invalid RunId"},
		"no event ID":       {func(r *workflowservice.ResetWorkflowExecutionRequest) { r.WorkflowTaskFinishEventId = 0 }, codes.InvalidArgument, "WorkflowTaskFinishEventId"},
		"long request ID": {func(r *workflowservice.ResetWorkflowExecutionRequest) { r.RequestId = strings.Repeat("x", 1001) },
			codes.InvalidArgument, "RequestId length exceeds limit"},
		"bad reapply type": {func(r *workflowservice.ResetWorkflowExecutionRequest) { r.ResetReapplyType = 99 }, codes.InvalidArgument, "ResetReapplyType"},
		"bad exclude type": {func(r *workflowservice.ResetWorkflowExecutionRequest) {
			r.ResetReapplyExcludeTypes = []enumspb.ResetReapplyExcludeType{99}
		}, codes.InvalidArgument, "ResetReapplyExcludeType"},
		"unsupported post-reset operation": {func(r *workflowservice.ResetWorkflowExecutionRequest) {
			r.PostResetOperations = []*workflowpb.PostResetOperation{{Variant: &workflowpb.PostResetOperation_UpdateWorkflowOptions_{}}}
		}, codes.InvalidArgument, "SignalWorkflow"},
		"post-reset signal without a name": {func(r *workflowservice.ResetWorkflowExecutionRequest) {
			r.PostResetOperations = []*workflowpb.PostResetOperation{{Variant: &workflowpb.PostResetOperation_SignalWorkflow_{
				SignalWorkflow: &workflowpb.PostResetOperation_SignalWorkflow{}}}}
		}, codes.InvalidArgument, "SignalName"},
	}
	for name, c := range cases {
		req := valid()
		c.mutate(req)
		fake.got = nil
		_, err := env.h.ResetWorkflowExecution(context.Background(), req)
		st := wire(err)
		if st.Code() != c.code || !strings.Contains(st.Message(), c.msg) {
			t.Errorf("%s: got %v %q, want %v containing %q", name, st.Code(), st.Message(), c.code, c.msg)
		}
		if fake.got != nil {
			t.Errorf("%s: a rejected request reached history", name)
		}
	}

	resp, err := env.h.ResetWorkflowExecution(context.Background(), valid())
	if err != nil || resp.GetRunId() != "new" {
		t.Fatalf("valid request: %v %v", resp, err)
	}
	if fake.lastNSID != env.nsID || fake.got.GetRequestId() == "" {
		t.Fatalf("history got namespace %q, request ID %q (an empty one is filled in)", fake.lastNSID, fake.got.GetRequestId())
	}
}
