package frontend

import (
	"context"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/durationpb"
)

func validStart() *workflowservice.StartWorkflowExecutionRequest {
	return &workflowservice.StartWorkflowExecutionRequest{
		Namespace:    "default",
		WorkflowId:   "wf",
		WorkflowType: &commonpb.WorkflowType{Name: "Greet"},
		TaskQueue:    &taskqueuepb.TaskQueue{Name: "tq"},
	}
}

func bigPayloads(n int) *commonpb.Payloads {
	return &commonpb.Payloads{Payloads: []*commonpb.Payload{{Data: make([]byte, n)}}}
}

func TestStartValidation(t *testing.T) {
	long := strings.Repeat("x", 1001)
	const mib = 1 << 20
	cases := []struct {
		name   string
		modify func(*workflowservice.StartWorkflowExecutionRequest)
		code   codes.Code
		msg    string
	}{
		{"namespace not set", func(r *workflowservice.StartWorkflowExecutionRequest) { r.Namespace = "" },
			codes.InvalidArgument, "Namespace not set on request."},
		{"namespace unknown", func(r *workflowservice.StartWorkflowExecutionRequest) { r.Namespace = "nope" },
			codes.NotFound, "Namespace nope is not found."},
		{"workflow id empty", func(r *workflowservice.StartWorkflowExecutionRequest) { r.WorkflowId = "" },
			codes.InvalidArgument, "WorkflowId is not set on request."},
		{"workflow id too long", func(r *workflowservice.StartWorkflowExecutionRequest) { r.WorkflowId = long },
			codes.InvalidArgument, "WorkflowId length exceeds limit."},
		{"workflow type missing", func(r *workflowservice.StartWorkflowExecutionRequest) { r.WorkflowType = nil },
			codes.InvalidArgument, "WorkflowType is not set on request."},
		{"workflow type too long", func(r *workflowservice.StartWorkflowExecutionRequest) { r.WorkflowType.Name = long },
			codes.InvalidArgument, "WorkflowType length exceeds limit."},
		{"task queue missing", func(r *workflowservice.StartWorkflowExecutionRequest) { r.TaskQueue = nil },
			codes.InvalidArgument, "TaskQueue is not set on request."},
		{"task queue too long", func(r *workflowservice.StartWorkflowExecutionRequest) { r.TaskQueue.Name = long },
			codes.InvalidArgument, "TaskQueue length exceeds limit."},
		{"task queue reserved", func(r *workflowservice.StartWorkflowExecutionRequest) { r.TaskQueue.Name = "/_sys/tq/1" },
			codes.InvalidArgument, "Task queue name cannot start with reserved prefix /_sys/."},
		{"task queue whitespace", func(r *workflowservice.StartWorkflowExecutionRequest) { r.TaskQueue.Name = " tq" },
			codes.InvalidArgument, "TaskQueue name must not contain leading or trailing whitespace."},
		{"request id too long", func(r *workflowservice.StartWorkflowExecutionRequest) { r.RequestId = long },
			codes.InvalidArgument, "RequestId length exceeds limit."},
		{"identity too long", func(r *workflowservice.StartWorkflowExecutionRequest) { r.Identity = long },
			codes.InvalidArgument, "Identity length exceeds limit."},
		{"negative execution timeout", func(r *workflowservice.StartWorkflowExecutionRequest) {
			r.WorkflowExecutionTimeout = durationpb.New(-time.Second)
		}, codes.InvalidArgument, "An invalid WorkflowExecutionTimeoutSeconds is set on request."},
		{"negative run timeout", func(r *workflowservice.StartWorkflowExecutionRequest) {
			r.WorkflowRunTimeout = durationpb.New(-time.Second)
		}, codes.InvalidArgument, "An invalid WorkflowRunTimeoutSeconds is set on request."},
		{"negative task timeout", func(r *workflowservice.StartWorkflowExecutionRequest) {
			r.WorkflowTaskTimeout = &durationpb.Duration{Nanos: -1}
		}, codes.InvalidArgument, "An invalid WorkflowTaskTimeoutSeconds is set on request."},
		{"negative start delay", func(r *workflowservice.StartWorkflowExecutionRequest) {
			r.WorkflowStartDelay = durationpb.New(-time.Second)
		}, codes.InvalidArgument, "An invalid WorkflowStartDelaySeconds is set on request."},
		{"backoff below 1", func(r *workflowservice.StartWorkflowExecutionRequest) {
			r.RetryPolicy = &commonpb.RetryPolicy{BackoffCoefficient: 0.5}
		}, codes.InvalidArgument, "BackoffCoefficient cannot be less than 1 on retry policy."},
		{"max interval below initial", func(r *workflowservice.StartWorkflowExecutionRequest) {
			r.RetryPolicy = &commonpb.RetryPolicy{InitialInterval: durationpb.New(10 * time.Second), MaximumInterval: durationpb.New(time.Second)}
		}, codes.InvalidArgument, "MaximumInterval cannot be less than InitialInterval on retry policy."},
		{"max interval below default initial", func(r *workflowservice.StartWorkflowExecutionRequest) {
			r.RetryPolicy = &commonpb.RetryPolicy{MaximumInterval: durationpb.New(time.Millisecond)}
		}, codes.InvalidArgument, "MaximumInterval cannot be less than InitialInterval on retry policy."},
		{"negative attempts", func(r *workflowservice.StartWorkflowExecutionRequest) {
			r.RetryPolicy = &commonpb.RetryPolicy{MaximumAttempts: -1}
		}, codes.InvalidArgument, "MaximumAttempts cannot be negative on retry policy."},
		{"negative initial interval", func(r *workflowservice.StartWorkflowExecutionRequest) {
			r.RetryPolicy = &commonpb.RetryPolicy{InitialInterval: durationpb.New(-time.Second)}
		}, codes.InvalidArgument, "InitialInterval cannot be negative on retry policy."},
		{"negative maximum interval", func(r *workflowservice.StartWorkflowExecutionRequest) {
			r.RetryPolicy = &commonpb.RetryPolicy{MaximumInterval: durationpb.New(-time.Second)}
		}, codes.InvalidArgument, "MaximumInterval cannot be negative on retry policy."},
		{"input too large", func(r *workflowservice.StartWorkflowExecutionRequest) { r.Input = bigPayloads(2*mib + 1) },
			codes.InvalidArgument, "Blob data size exceeds limit."},
		{"header too large", func(r *workflowservice.StartWorkflowExecutionRequest) {
			r.Header = &commonpb.Header{Fields: map[string]*commonpb.Payload{"h": {Data: make([]byte, 2*mib+1)}}}
		}, codes.InvalidArgument, "Blob data size exceeds limit."},
		{"memo too large", func(r *workflowservice.StartWorkflowExecutionRequest) {
			r.Memo = &commonpb.Memo{Fields: map[string]*commonpb.Payload{"m": {Data: make([]byte, 2*mib+1)}}}
		}, codes.InvalidArgument, "Memo size exceeds limit."},
		{"invalid cron", func(r *workflowservice.StartWorkflowExecutionRequest) { r.CronSchedule = "every tuesday" },
			codes.InvalidArgument, "invalid CronSchedule."},
		{"cron with delay", func(r *workflowservice.StartWorkflowExecutionRequest) {
			r.CronSchedule = "* * * * *"
			r.WorkflowStartDelay = durationpb.New(time.Minute)
		}, codes.InvalidArgument, "CronSchedule and WorkflowStartDelay may not be used together."},
		{"unknown reuse policy", func(r *workflowservice.StartWorkflowExecutionRequest) { r.WorkflowIdReusePolicy = 99 },
			codes.InvalidArgument, "Invalid WorkflowIdReusePolicy."},
		{"terminate-if-running with conflict policy", func(r *workflowservice.StartWorkflowExecutionRequest) {
			r.WorkflowIdReusePolicy = enumspb.WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING
			r.WorkflowIdConflictPolicy = enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL
		}, codes.InvalidArgument, "Invalid WorkflowIDReusePolicy: WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING cannot be used together with a WorkflowIDConflictPolicy"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := newTestEnv(t)
			req := validStart()
			c.modify(req)
			_, err := env.h.StartWorkflowExecution(context.Background(), req)
			st := wire(err)
			if st.Code() != c.code || st.Message() != c.msg {
				t.Fatalf("got %v %q, want %v %q", st.Code(), st.Message(), c.code, c.msg)
			}
			if env.hist.lastStart != nil {
				t.Fatal("an invalid request reached history")
			}
		})
	}
}

func TestStartAcceptsEdgeCases(t *testing.T) {
	cases := []struct {
		name   string
		modify func(*workflowservice.StartWorkflowExecutionRequest)
	}{
		{"id at the limit", func(r *workflowservice.StartWorkflowExecutionRequest) { r.WorkflowId = strings.Repeat("x", 1000) }},
		{"single attempt skips retry checks", func(r *workflowservice.StartWorkflowExecutionRequest) {
			r.RetryPolicy = &commonpb.RetryPolicy{MaximumAttempts: 1, BackoffCoefficient: 0.1, InitialInterval: durationpb.New(-time.Second)}
		}},
		{"zero coefficient means default", func(r *workflowservice.StartWorkflowExecutionRequest) { r.RetryPolicy = &commonpb.RetryPolicy{} }},
		{"payload at the limit", func(r *workflowservice.StartWorkflowExecutionRequest) { r.Input = bigPayloads(2<<20 - 16) }},
		{"huge timeouts are capped", func(r *workflowservice.StartWorkflowExecutionRequest) {
			r.WorkflowExecutionTimeout = &durationpb.Duration{Seconds: 1 << 62}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := newTestEnv(t)
			req := validStart()
			c.modify(req)
			if _, err := env.h.StartWorkflowExecution(context.Background(), req); err != nil {
				t.Fatalf("rejected: %v", err)
			}
		})
	}
}

func TestStartDefaults(t *testing.T) {
	env := newTestEnv(t)
	req := validStart()
	req.RetryPolicy = &commonpb.RetryPolicy{InitialInterval: durationpb.New(2 * time.Second)}
	req.WorkflowExecutionTimeout = &durationpb.Duration{Seconds: 1 << 40}
	if _, err := env.h.StartWorkflowExecution(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	got := env.hist.lastStart
	if env.hist.lastNSID != env.nsID {
		t.Fatalf("history got namespace %q, want ID %q", env.hist.lastNSID, env.nsID)
	}
	if got.GetRequestId() == "" {
		t.Fatal("request ID not filled in")
	}
	if got.GetTaskQueue().GetKind() != enumspb.TASK_QUEUE_KIND_NORMAL {
		t.Fatalf("task queue kind = %v", got.GetTaskQueue().GetKind())
	}
	if d := got.GetWorkflowExecutionTimeout().AsDuration(); d != maxDuration {
		t.Fatalf("execution timeout = %v, want capped to %v", d, maxDuration)
	}
	if d := got.GetWorkflowRunTimeout().AsDuration(); d != maxDuration {
		t.Fatalf("run timeout = %v, want the execution timeout", d)
	}
	if d := got.GetWorkflowTaskTimeout().AsDuration(); d != 10*time.Second {
		t.Fatalf("task timeout = %v, want 10s", d)
	}
	rp := got.GetRetryPolicy()
	if rp.GetBackoffCoefficient() != 2 || rp.GetMaximumInterval().AsDuration() != 200*time.Second {
		t.Fatalf("retry policy defaults = %v", rp)
	}
}

func TestStartTimeoutCaps(t *testing.T) {
	cases := []struct {
		exec, run, task          time.Duration
		wantExec, wantRun, wantT time.Duration
	}{
		{0, 0, 0, 0, 0, 10 * time.Second},
		{0, 0, 10 * time.Minute, 0, 0, 120 * time.Second},
		{time.Minute, 0, 0, time.Minute, time.Minute, 10 * time.Second},
		{time.Minute, time.Hour, 0, time.Minute, time.Minute, 10 * time.Second},
		{0, 5 * time.Second, 0, 0, 5 * time.Second, 5 * time.Second},
	}
	for _, c := range cases {
		req := validStart()
		req.WorkflowExecutionTimeout = durationpb.New(c.exec)
		req.WorkflowRunTimeout = durationpb.New(c.run)
		req.WorkflowTaskTimeout = durationpb.New(c.task)
		if err := normalizeStartTimeouts(req); err != nil {
			t.Fatal(err)
		}
		e, r, k := req.WorkflowExecutionTimeout.AsDuration(), req.WorkflowRunTimeout.AsDuration(), req.WorkflowTaskTimeout.AsDuration()
		if e != c.wantExec || r != c.wantRun || k != c.wantT {
			t.Errorf("(%v,%v,%v) -> (%v,%v,%v), want (%v,%v,%v)", c.exec, c.run, c.task, e, r, k, c.wantExec, c.wantRun, c.wantT)
		}
	}
}

func TestLimitsFromDynamicConfig(t *testing.T) {
	env := newTestEnv(t)
	env.h.opts.Dynamic.Set(keyMaxIDLength, 8)
	env.h.opts.Dynamic.Set(keyBlobSizeError, 100)
	req := validStart()
	req.WorkflowId = "123456789"
	if st := wire(callStart(env, req)); st.Message() != "WorkflowId length exceeds limit." {
		t.Fatalf("got %q", st.Message())
	}
	req = validStart()
	req.Input = bigPayloads(200)
	if st := wire(callStart(env, req)); st.Message() != "Blob data size exceeds limit." {
		t.Fatalf("got %q", st.Message())
	}
	resp, err := env.h.DescribeNamespace(context.Background(), &workflowservice.DescribeNamespaceRequest{Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.GetNamespaceInfo().GetLimits().GetBlobSizeLimitError(); got != 100 {
		t.Fatalf("described blob limit = %d", got)
	}
}

func callStart(env *testEnv, req *workflowservice.StartWorkflowExecutionRequest) error {
	_, err := env.h.StartWorkflowExecution(context.Background(), req)
	return err
}
