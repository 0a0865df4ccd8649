package batch

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	batchpb "go.temporal.io/api/batch/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/sundialhq/sundial/internal/config"
	"github.com/sundialhq/sundial/internal/persistence"
	"github.com/sundialhq/sundial/internal/persistence/sqlite"
	"github.com/sundialhq/sundial/internal/visibility"
)

const nsID = "ns-1"

// fakeClient records the runs acted on and answers with errs[workflowID]
// (consumed one per call; nil when empty).
type fakeClient struct {
	mu     sync.Mutex
	calls  []string
	errs   map[string][]error
	events []*historypb.HistoryEvent
	// ops describes each activity or options request (operation and
	// target activities).
	ops []string
}

func (f *fakeClient) op(desc string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ops = append(f.ops, desc)
}

func (f *fakeClient) record(e *commonpb.WorkflowExecution) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, e.GetWorkflowId())
	if q := f.errs[e.GetWorkflowId()]; len(q) > 0 {
		f.errs[e.GetWorkflowId()] = q[1:]
		return q[0]
	}
	return nil
}

func (f *fakeClient) acted() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.calls, " ")
}

func (f *fakeClient) TerminateWorkflowExecution(_ context.Context, r *workflowservice.TerminateWorkflowExecutionRequest) (*workflowservice.TerminateWorkflowExecutionResponse, error) {
	return &workflowservice.TerminateWorkflowExecutionResponse{}, f.record(r.GetWorkflowExecution())
}

func (f *fakeClient) RequestCancelWorkflowExecution(_ context.Context, r *workflowservice.RequestCancelWorkflowExecutionRequest) (*workflowservice.RequestCancelWorkflowExecutionResponse, error) {
	return &workflowservice.RequestCancelWorkflowExecutionResponse{}, f.record(r.GetWorkflowExecution())
}

func (f *fakeClient) SignalWorkflowExecution(_ context.Context, r *workflowservice.SignalWorkflowExecutionRequest) (*workflowservice.SignalWorkflowExecutionResponse, error) {
	return &workflowservice.SignalWorkflowExecutionResponse{}, f.record(r.GetWorkflowExecution())
}

func (f *fakeClient) DeleteWorkflowExecution(_ context.Context, r *workflowservice.DeleteWorkflowExecutionRequest) (*workflowservice.DeleteWorkflowExecutionResponse, error) {
	return &workflowservice.DeleteWorkflowExecutionResponse{}, f.record(r.GetWorkflowExecution())
}

func (f *fakeClient) ResetWorkflowExecution(_ context.Context, r *workflowservice.ResetWorkflowExecutionRequest) (*workflowservice.ResetWorkflowExecutionResponse, error) {
	return &workflowservice.ResetWorkflowExecutionResponse{}, f.record(r.GetWorkflowExecution())
}

func (f *fakeClient) GetWorkflowExecutionHistory(context.Context, *workflowservice.GetWorkflowExecutionHistoryRequest) (*workflowservice.GetWorkflowExecutionHistoryResponse, error) {
	return &workflowservice.GetWorkflowExecutionHistoryResponse{History: &historypb.History{Events: f.events}}, nil
}

func (f *fakeClient) UpdateWorkflowExecutionOptions(_ context.Context, r *workflowservice.UpdateWorkflowExecutionOptionsRequest) (*workflowservice.UpdateWorkflowExecutionOptionsResponse, error) {
	f.op(fmt.Sprintf("options:%v", r.GetUpdateMask().GetPaths()))
	return &workflowservice.UpdateWorkflowExecutionOptionsResponse{}, f.record(r.GetWorkflowExecution())
}

func (f *fakeClient) UnpauseActivity(_ context.Context, r *workflowservice.UnpauseActivityRequest) (*workflowservice.UnpauseActivityResponse, error) {
	f.op(fmt.Sprintf("unpause:%s:%v:%v", r.GetType(), r.GetUnpauseAll(), r.GetResetAttempts()))
	return &workflowservice.UnpauseActivityResponse{}, f.record(r.GetExecution())
}

func (f *fakeClient) ResetActivity(_ context.Context, r *workflowservice.ResetActivityRequest) (*workflowservice.ResetActivityResponse, error) {
	f.op(fmt.Sprintf("reset:%s:%v:%v", r.GetType(), r.GetMatchAll(), r.GetKeepPaused()))
	return &workflowservice.ResetActivityResponse{}, f.record(r.GetExecution())
}

func (f *fakeClient) UpdateActivityOptions(_ context.Context, r *workflowservice.UpdateActivityOptionsRequest) (*workflowservice.UpdateActivityOptionsResponse, error) {
	f.op(fmt.Sprintf("activity-options:%s:%v:%v", r.GetType(), r.GetMatchAll(), r.GetUpdateMask().GetPaths()))
	return &workflowservice.UpdateActivityOptionsResponse{}, f.record(r.GetExecution())
}

type harness struct {
	t      *testing.T
	store  *sqlite.Store
	worker *Worker
	client *fakeClient
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	store, err := sqlite.Open(sqlite.MemoryPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	w, err := New(Options{Store: store, Visibility: store, Queries: visibility.NewRegistry(visibility.RegistryOptions{Store: store}),
		Dynamic: config.NewDynamic(map[string]any{KeyRPS: 1000}), ScanInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, store: store, worker: w, client: &fakeClient{errs: map[string][]error{}}}
}

func (h *harness) addRun(workflowID, runID string, status enumspb.WorkflowExecutionStatus) {
	h.t.Helper()
	err := h.store.UpsertVisibility(h.t.Context(), &persistence.VisibilityRecord{NamespaceID: nsID, WorkflowID: workflowID, RunID: runID,
		WorkflowType: "T", TaskQueue: "tq", Status: status, StartTime: time.Unix(100, 0), Version: 1})
	if err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) create(req *workflowservice.StartBatchOperationRequest, p persistence.BatchProgress) {
	h.t.Helper()
	data, err := EncodeRequest(req)
	if err != nil {
		h.t.Fatal(err)
	}
	job := &persistence.BatchJob{NamespaceID: nsID, JobID: req.GetJobId(), State: persistence.BatchJobRunning,
		StartTime: time.Now(), Data: data, Progress: p}
	if err := h.store.CreateBatchJob(h.t.Context(), job); err != nil {
		h.t.Fatal(err)
	}
}

// runToEnd starts the worker and waits until the job has closed.
func (h *harness) runToEnd(jobID string) *persistence.BatchJob {
	h.t.Helper()
	h.worker.Start(h.client)
	defer h.worker.Stop()
	deadline := time.Now().Add(30 * time.Second)
	for {
		j, err := h.store.GetBatchJob(h.t.Context(), nsID, jobID)
		if err != nil {
			h.t.Fatal(err)
		}
		if j.State != persistence.BatchJobRunning {
			return j
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("job %s still running: %+v", jobID, j.Progress)
		}
		time.Sleep(10 * time.Millisecond) // polling the store, not synchronising on time
	}
}

func terminate(jobID string) *workflowservice.StartBatchOperationRequest {
	return &workflowservice.StartBatchOperationRequest{Namespace: "default", JobId: jobID, Reason: "r",
		Operation: &workflowservice.StartBatchOperationRequest_TerminationOperation{TerminationOperation: &batchpb.BatchOperationTermination{}}}
}

func TestQueryJobResumesAfterCursorInKeyOrder(t *testing.T) {
	h := newHarness(t)
	for _, id := range []string{"wf-e", "wf-a", "wf-c", "wf-b", "wf-d"} {
		h.addRun(id, "run-"+id, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING)
	}
	h.addRun("wf-c", "run-0", enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED) // not open: terminate skips it
	h.addRun("wf-f", "run-wf-f", enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING)
	req := terminate("job")
	req.VisibilityQuery = "WorkflowId != 'wf-f'"
	// As if a previous process got through wf-b and crashed.
	h.create(req, persistence.BatchProgress{Total: 5, Completed: 2, Cursor: cursor{WorkflowID: "wf-b", RunID: "run-wf-b"}.encode()})
	j := h.runToEnd("job")
	if got := h.client.acted(); got != "wf-c wf-d wf-e" {
		t.Errorf("acted on %q, want wf-c wf-d wf-e", got)
	}
	if j.State != persistence.BatchJobCompleted || j.Progress.Completed != 5 || j.Progress.Failed != 0 || j.Progress.Total != 5 {
		t.Errorf("closed job = state %d progress %+v", j.State, j.Progress)
	}
}

func TestListJobCountsOutcomes(t *testing.T) {
	h := newHarness(t)
	req := terminate("job")
	for _, id := range []string{"busy", "gone", "bad", "fine"} {
		req.Executions = append(req.Executions, &commonpb.WorkflowExecution{WorkflowId: id})
	}
	h.client.errs["busy"] = []error{serviceerror.NewUnavailable("x"), serviceerror.NewResourceExhausted(enumspb.RESOURCE_EXHAUSTED_CAUSE_BUSY_WORKFLOW, "y")}
	h.client.errs["gone"] = []error{serviceerror.NewNotFound("workflow execution already completed")}
	h.client.errs["bad"] = []error{serviceerror.NewInvalidArgument("no")}
	h.create(req, persistence.BatchProgress{Total: 4})
	j := h.runToEnd("job")
	if got := h.client.acted(); got != "busy busy busy gone bad fine" {
		t.Errorf("acted on %q", got)
	}
	if j.Progress.Completed != 3 || j.Progress.Failed != 1 || j.Progress.Total != 4 {
		t.Errorf("progress = %+v, want 3 completed (a not-found run counts as done), 1 failed", j.Progress)
	}
}

func TestStoppedJobIsLeftAlone(t *testing.T) {
	h := newHarness(t)
	req := terminate("job")
	req.Executions = []*commonpb.WorkflowExecution{{WorkflowId: "w"}}
	h.create(req, persistence.BatchProgress{Total: 1})
	if err := h.store.CloseBatchJob(t.Context(), nsID, "job", persistence.BatchJobFailed, time.Now(), nil); err != nil {
		t.Fatal(err)
	}
	h.worker.Start(h.client)
	h.worker.scan() // a scan the test waits for: nothing is running
	h.worker.Stop()
	if got := h.client.acted(); got != "" {
		t.Errorf("a stopped job acted on %q", got)
	}
}

func TestUndecodableJobFails(t *testing.T) {
	h := newHarness(t)
	job := &persistence.BatchJob{NamespaceID: nsID, JobID: "job", State: persistence.BatchJobRunning, StartTime: time.Now(), Data: []byte{0xff, 0xff}}
	if err := h.store.CreateBatchJob(t.Context(), job); err != nil {
		t.Fatal(err)
	}
	if j := h.runToEnd("job"); j.State != persistence.BatchJobFailed {
		t.Errorf("state = %d, want failed", j.State)
	}
}

func TestResetEventID(t *testing.T) {
	ev := func(id int64, t enumspb.EventType) *historypb.HistoryEvent {
		return &historypb.HistoryEvent{EventId: id, EventType: t}
	}
	const sched, started, done = enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
	full := []*historypb.HistoryEvent{ev(1, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED), ev(2, sched), ev(3, started), ev(4, done),
		ev(5, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED), ev(6, sched), ev(7, started), ev(8, done), ev(9, sched)}
	noneDone := []*historypb.HistoryEvent{ev(1, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED), ev(2, sched), ev(3, started)}
	first := &commonpb.ResetOptions{Target: &commonpb.ResetOptions_FirstWorkflowTask{FirstWorkflowTask: &emptypb.Empty{}}}
	last := &commonpb.ResetOptions{Target: &commonpb.ResetOptions_LastWorkflowTask{LastWorkflowTask: &emptypb.Empty{}}}
	byID := &commonpb.ResetOptions{Target: &commonpb.ResetOptions_WorkflowTaskId{WorkflowTaskId: 42}}
	cases := []struct {
		name   string
		events []*historypb.HistoryEvent
		opts   *commonpb.ResetOptions
		legacy enumspb.ResetType
		want   int64
		err    error
	}{
		{"first", full, first, 0, 4, nil},
		{"last", full, last, 0, 8, nil},
		{"by ID", full, byID, 0, 42, nil},
		{"legacy last", full, nil, enumspb.RESET_TYPE_LAST_WORKFLOW_TASK, 8, nil},
		{"legacy first", full, nil, enumspb.RESET_TYPE_FIRST_WORKFLOW_TASK, 4, nil},
		{"none completed", noneDone, last, 0, 3, nil},
		{"empty", nil, first, 0, 0, errNoWorkflowTask},
	}
	for _, tc := range cases {
		r := &runner{client: &fakeClient{events: tc.events}, req: &workflowservice.StartBatchOperationRequest{Namespace: "default"}}
		got, err := r.resetEventID(t.Context(), tc.opts, tc.legacy, &commonpb.WorkflowExecution{WorkflowId: "w"})
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("%s: resetEventID = %d, %v; want %d, %v", tc.name, got, err, tc.want, tc.err)
		}
	}
}

func TestRequestIDIsStablePerJobAndRun(t *testing.T) {
	a := requestID("ns", "job", &commonpb.WorkflowExecution{WorkflowId: "w", RunId: "r"})
	if a != requestID("ns", "job", &commonpb.WorkflowExecution{WorkflowId: "w", RunId: "r"}) {
		t.Error("request ID differs between calls")
	}
	for _, other := range []string{
		requestID("ns", "job2", &commonpb.WorkflowExecution{WorkflowId: "w", RunId: "r"}),
		requestID("ns", "job", &commonpb.WorkflowExecution{WorkflowId: "w", RunId: "r2"}),
		requestID("ns", "jobw", &commonpb.WorkflowExecution{WorkflowId: "", RunId: "r"}),
	} {
		if other == a {
			t.Errorf("request ID %s shared by different jobs or runs", a)
		}
	}
}

func TestRPS(t *testing.T) {
	w := &Worker{opts: Options{Dynamic: config.NewDynamic(map[string]any{KeyRPS: 100})}}
	for _, tc := range []struct {
		req  float32
		want float64
	}{{0, 100}, {-1, 100}, {10, 10}, {500, 100}, {0.5, 0.5}} {
		if got := w.rps(tc.req); got != tc.want {
			t.Errorf("rps(%v) = %v, want %v", tc.req, got, tc.want)
		}
	}
	if got := (&Worker{}).rps(0); got != DefaultRPS {
		t.Errorf("default rps = %v, want %d", got, DefaultRPS)
	}
}

func TestActivityAndOptionsOperations(t *testing.T) {
	ops := []struct {
		op   any
		want string
		typ  enumspb.BatchOperationType
	}{
		{&workflowservice.StartBatchOperationRequest_UnpauseActivitiesOperation{UnpauseActivitiesOperation: &batchpb.BatchOperationUnpauseActivities{
			Activity: &batchpb.BatchOperationUnpauseActivities_Type{Type: "A"}, ResetAttempts: true}},
			"unpause:A:false:true", enumspb.BATCH_OPERATION_TYPE_UNPAUSE_ACTIVITY},
		{&workflowservice.StartBatchOperationRequest_ResetActivitiesOperation{ResetActivitiesOperation: &batchpb.BatchOperationResetActivities{
			Activity: &batchpb.BatchOperationResetActivities_MatchAll{MatchAll: true}, KeepPaused: true}},
			"reset::true:true", enumspb.BATCH_OPERATION_TYPE_RESET_ACTIVITY},
		{&workflowservice.StartBatchOperationRequest_UpdateActivityOptionsOperation{UpdateActivityOptionsOperation: &batchpb.BatchOperationUpdateActivityOptions{
			Activity: &batchpb.BatchOperationUpdateActivityOptions_Type{Type: "B"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"heartbeat_timeout"}}}},
			"activity-options:B:false:[heartbeat_timeout]", enumspb.BATCH_OPERATION_TYPE_UPDATE_ACTIVITY_OPTIONS},
		{&workflowservice.StartBatchOperationRequest_UpdateWorkflowOptionsOperation{UpdateWorkflowOptionsOperation: &batchpb.BatchOperationUpdateWorkflowExecutionOptions{
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"priority"}}}},
			"options:[priority]", enumspb.BATCH_OPERATION_TYPE_UPDATE_WORKFLOW_EXECUTION_OPTIONS},
	}
	for _, tc := range ops {
		h := newHarness(t)
		h.addRun("wf-a", "run-a", enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING)
		h.addRun("wf-b", "run-b", enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED) // closed: not a target
		h.addRun("wf-c", "run-c", enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING)
		h.client.errs["wf-c"] = []error{serviceerror.NewNotFound("activity not found.")}
		req := &workflowservice.StartBatchOperationRequest{Namespace: "default", JobId: "job", Reason: "r", VisibilityQuery: "WorkflowType = 'T'"}
		switch op := tc.op.(type) {
		case *workflowservice.StartBatchOperationRequest_UnpauseActivitiesOperation:
			req.Operation = op
		case *workflowservice.StartBatchOperationRequest_ResetActivitiesOperation:
			req.Operation = op
		case *workflowservice.StartBatchOperationRequest_UpdateActivityOptionsOperation:
			req.Operation = op
		case *workflowservice.StartBatchOperationRequest_UpdateWorkflowOptionsOperation:
			req.Operation = op
		}
		if got := OperationType(req); got != tc.typ {
			t.Errorf("%s: type %v", tc.want, got)
		}
		h.create(req, persistence.BatchProgress{Total: 2})
		j := h.runToEnd("job")
		if got := h.client.acted(); got != "wf-a wf-c" {
			t.Errorf("%s: acted on %q, want the open runs", tc.want, got)
		}
		if len(h.client.ops) != 2 || h.client.ops[0] != tc.want {
			t.Errorf("requests %q, want %q", h.client.ops, tc.want)
		}
		if j.State != persistence.BatchJobCompleted || j.Progress.Completed != 2 || j.Progress.Failed != 0 {
			t.Errorf("%s: job %d %+v (a run without the activity counts as done)", tc.want, j.State, j.Progress)
		}
	}
}
