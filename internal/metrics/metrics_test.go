package metrics

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
)

func page(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want Class
	}{
		{serviceerror.NewNotFound("x"), Class{Type: "NotFound", Kind: kindNotFound}},
		{serviceerror.ToStatus(serviceerror.NewNamespaceNotFound("ns")).Err(), Class{Type: "NamespaceNotFound", Kind: kindNotFound}},
		{serviceerror.ToStatus(serviceerror.NewWorkflowExecutionAlreadyStarted("x", "r", "run")).Err(),
			Class{Type: "WorkflowExecutionAlreadyStarted", Kind: kindAlreadyStarted}},
		{serviceerror.ToStatus(serviceerror.NewInvalidArgument("x")).Err(), Class{Type: "InvalidArgument", Kind: kindInvalidArgument}},
		{serviceerror.ToStatus(serviceerror.NewResourceExhausted(enumspb.RESOURCE_EXHAUSTED_CAUSE_RPS_LIMIT, "x")).Err(),
			Class{Type: "ResourceExhausted", Kind: "resource_exhausted", Cause: "RpsLimit"}},
		{serviceerror.ToStatus(serviceerror.NewUnavailable("db")).Err(), Class{Type: "Unavailable", Unexpected: true}},
		{serviceerror.ToStatus(serviceerror.NewInternal("bug")).Err(), Class{Type: "Internal", Unexpected: true}},
		{serviceerror.ToStatus(serviceerror.NewDeadlineExceeded("slow")).Err(), Class{Type: "DeadlineExceeded", Kind: kindContextTimeout}},
		{errors.New("plain"), Class{Type: "error", Unexpected: true}},
	} {
		if got := Classify(tc.err); got != tc.want {
			t.Errorf("Classify(%v) = %+v, want %+v", tc.err, got, tc.want)
		}
	}
}

// Requests count into the right series; expected errors stay out of
// service_errors; names are tally style.
func TestRequestCounters(t *testing.T) {
	m := New()
	m.Request(ServiceFrontend, "StartWorkflowExecution", "default", time.Millisecond, nil)
	m.Request(ServiceFrontend, "StartWorkflowExecution", "default", time.Millisecond,
		serviceerror.ToStatus(serviceerror.NewWorkflowExecutionAlreadyStarted("x", "r", "run")).Err())
	m.Request(ServiceFrontend, "GetWorkflowExecutionHistory", "default", time.Millisecond,
		serviceerror.ToStatus(serviceerror.NewUnavailable("db")).Err())
	m.Persistence("GetWorkflow", time.Millisecond, "NotFound", true)
	m.Persistence("UpdateWorkflow", time.Millisecond, "Unavailable", false)
	m.WorkflowClosed("default", enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED)
	m.WorkflowClosed("default", enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW)
	p := page(t, m)
	for _, want := range []string{
		`service_requests{namespace="default",operation="StartWorkflowExecution",service_name="frontend"} 2`,
		`service_errors_execution_already_started{namespace="default",operation="StartWorkflowExecution",service_name="frontend"} 1`,
		`service_errors{namespace="default",operation="GetWorkflowExecutionHistory",service_name="frontend"} 1`,
		`service_latency_count{namespace="default",operation="StartWorkflowExecution",service_name="frontend"} 2`,
		`persistence_requests{operation="GetWorkflow"} 1`,
		`persistence_error_with_type{error_type="NotFound",operation="GetWorkflow"} 1`,
		`persistence_errors{operation="UpdateWorkflow"} 1`,
		`workflow_success{namespace="default",operation="CompletionStats",service_name="history"} 1`,
		`workflow_continued_as_new{namespace="default",operation="CompletionStats",service_name="history"} 1`,
		"restarts 1",
	} {
		if !strings.Contains(p, want+"\n") {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(p, `service_errors{namespace="default",operation="StartWorkflowExecution"`) {
		t.Error("an expected error was counted in service_errors")
	}
	if strings.Contains(p, `persistence_errors{operation="GetWorkflow"}`) {
		t.Error("a not-found answer was counted in persistence_errors")
	}
	for _, line := range strings.Split(p, "\n") {
		name, _, _ := strings.Cut(line, "{")
		name, _, _ = strings.Cut(name, " ")
		if strings.HasSuffix(name, "_total") && !strings.HasPrefix(name, "go_") && !strings.HasPrefix(name, "process_") {
			t.Errorf("counter with _total: %s", line)
		}
	}
}

func TestGaugeFuncAndNil(t *testing.T) {
	var none *Metrics
	none.Request(ServiceFrontend, "X", "", 0, errors.New("x")) // nil records nothing, no panic
	none.GaugeFunc("g", "h", nil, nil)
	m := New()
	m.GaugeFunc("cache_size", "bytes", []string{LabelCacheType}, func(emit func(float64, ...string)) { emit(42, "mutablestate") })
	m.GaugeFunc("cache_size", "bytes", []string{LabelCacheType}, func(emit func(float64, ...string)) { emit(43, "mutablestate") })
	if p := page(t, m); !strings.Contains(p, `cache_size{cache_type="mutablestate"} 43`+"\n") {
		t.Errorf("gauge func not exported or not replaced:\n%s", p)
	}
	if p := page(t, m); !strings.Contains(p, "num_goroutines ") || !strings.Contains(p, "memory_heap ") {
		t.Error("runtime gauges missing")
	}
}
