package statemachine

import (
	"testing"
	"time"

	commandpb "go.temporal.io/api/command/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/types/known/durationpb"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// run drives one run through transitions, keeping the whole history so
// tests can check IDs stay contiguous.
type run struct {
	t       *testing.T
	s       *State
	now     time.Time
	history []*historypb.HistoryEvent
	last    Output
}

func (r *run) startRequest() *workflowservice.StartWorkflowExecutionRequest {
	return &workflowservice.StartWorkflowExecutionRequest{
		WorkflowId: "wf", WorkflowType: &commonpb.WorkflowType{Name: "T"},
		TaskQueue: &taskqueuepb.TaskQueue{Name: "q"}, RequestId: "r1",
	}
}

func newRun(t *testing.T, mutate func(*workflowservice.StartWorkflowExecutionRequest)) *run {
	req := &workflowservice.StartWorkflowExecutionRequest{
		WorkflowId: "wf", WorkflowType: &commonpb.WorkflowType{Name: "T"},
		TaskQueue: &taskqueuepb.TaskQueue{Name: "q"}, RequestId: "r1",
	}
	if mutate != nil {
		mutate(req)
	}
	s, out := Start(StartInput{NamespaceID: "ns", RunID: "run", Request: req}, t0)
	r := &run{t: t, s: s, now: t0}
	r.record(out, nil)
	return r
}

func (r *run) record(out Output, err error) Output {
	r.t.Helper()
	if err != nil {
		r.t.Fatalf("transition: %v", err)
	}
	for _, ev := range out.Events {
		if want := int64(len(r.history) + 1); ev.EventId != want {
			r.t.Fatalf("event %s has ID %d, want %d", ev.EventType, ev.EventId, want)
		}
		r.history = append(r.history, ev)
	}
	if r.s.NextEventID != int64(len(r.history)+1) {
		r.t.Fatalf("NextEventID %d after %d events", r.s.NextEventID, len(r.history))
	}
	r.last = out
	return out
}

func (r *run) advance(d time.Duration) { r.now = r.now.Add(d) }

func (r *run) startWFT(requestID string) WorkflowTaskRef {
	r.t.Helper()
	r.record(StartWorkflowTask(r.s, r.s.WorkflowTask.ScheduledEventID, requestID, "worker", DefaultLimits, r.now))
	wt := r.s.WorkflowTask
	return WorkflowTaskRef{ScheduledEventID: wt.ScheduledEventID, StartedEventID: wt.StartedEventID, Attempt: wt.Attempt}
}

func (r *run) complete(ref WorkflowTaskRef, cmds ...*commandpb.Command) CompleteResult {
	r.t.Helper()
	out, res, err := CompleteWorkflowTask(r.s, CompleteInput{Ref: ref, Commands: cmds, Identity: "worker"}, DefaultLimits, r.now)
	r.record(out, err)
	return res
}

func (r *run) types(from int) []enumspb.EventType {
	var ts []enumspb.EventType
	for _, ev := range r.history[from-1:] {
		ts = append(ts, ev.EventType)
	}
	return ts
}

func (r *run) wantTypes(from int, want ...enumspb.EventType) {
	r.t.Helper()
	got := r.types(from)
	if len(got) != len(want) {
		r.t.Fatalf("events from %d: got %v, want %v", from, got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			r.t.Fatalf("events from %d: got %v, want %v", from, got, want)
		}
	}
}

func hasTask(out Output, typ TaskType) *Task {
	for i := range out.Tasks {
		if out.Tasks[i].Type == typ {
			return &out.Tasks[i]
		}
	}
	return nil
}

func scheduleActivity(id string, stc time.Duration, rp *commonpb.RetryPolicy) *commandpb.Command {
	return &commandpb.Command{
		CommandType: enumspb.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK,
		Attributes: &commandpb.Command_ScheduleActivityTaskCommandAttributes{ScheduleActivityTaskCommandAttributes: &commandpb.ScheduleActivityTaskCommandAttributes{
			ActivityId: id, ActivityType: &commonpb.ActivityType{Name: "A"}, StartToCloseTimeout: durationpb.New(stc), RetryPolicy: rp,
		}},
	}
}

func completeWorkflow() *commandpb.Command {
	return &commandpb.Command{CommandType: enumspb.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
		Attributes: &commandpb.Command_CompleteWorkflowExecutionCommandAttributes{CompleteWorkflowExecutionCommandAttributes: &commandpb.CompleteWorkflowExecutionCommandAttributes{}}}
}

func startTimer(id string, d time.Duration) *commandpb.Command {
	return &commandpb.Command{CommandType: enumspb.COMMAND_TYPE_START_TIMER,
		Attributes: &commandpb.Command_StartTimerCommandAttributes{StartTimerCommandAttributes: &commandpb.StartTimerCommandAttributes{TimerId: id, StartToFireTimeout: durationpb.New(d)}}}
}

func cancelTimer(id string) *commandpb.Command {
	return &commandpb.Command{CommandType: enumspb.COMMAND_TYPE_CANCEL_TIMER,
		Attributes: &commandpb.Command_CancelTimerCommandAttributes{CancelTimerCommandAttributes: &commandpb.CancelTimerCommandAttributes{TimerId: id}}}
}

const (
	evStarted     = enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
	evWFTSched    = enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED
	evWFTStarted  = enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED
	evWFTDone     = enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
	evWFTFailed   = enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED
	evActSched    = enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
	evActStarted  = enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED
	evActDone     = enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
	evActFailed   = enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED
	evActTimedOut = enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT
	evCompleted   = enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
)

func TestOneActivityWorkflowHistory(t *testing.T) {
	r := newRun(t, nil)
	if hasTask(r.last, TaskDispatchWorkflowTask) == nil {
		t.Fatal("start did not dispatch the first workflow task")
	}
	ref := r.startWFT("p1")
	r.complete(ref, scheduleActivity("a1", time.Minute, nil))
	if hasTask(r.last, TaskDispatchActivity) == nil || hasTask(r.last, TaskActivityTimeout) != nil {
		t.Fatalf("want one activity dispatch and no timeout before start, got %+v", r.last.Tasks)
	}
	r.record(StartActivity(r.s, 5, "", "p2", "worker", r.now))
	if tt := hasTask(r.last, TaskActivityTimeout); tt == nil || tt.Time != r.now.Add(time.Minute) {
		t.Fatalf("start-to-close timer missing or wrong: %+v", r.last.Tasks)
	}
	r.record(CompleteActivity(r.s, ActivityRef{ScheduledEventID: 5, Attempt: 1}, nil, "worker", r.now))
	ref = r.startWFT("p3")
	r.complete(ref, completeWorkflow())
	r.wantTypes(1, evStarted, evWFTSched, evWFTStarted, evWFTDone, evActSched, evActStarted, evActDone,
		evWFTSched, evWFTStarted, evWFTDone, evCompleted)
	if got := r.history[6].GetActivityTaskCompletedEventAttributes().GetStartedEventId(); got != 6 {
		t.Fatalf("ActivityTaskCompleted.StartedEventId = %d, want 6", got)
	}
	if r.s.Running() || r.s.Execution.CloseEventID != 11 || !r.last.Closed {
		t.Fatalf("run not closed at event 11: %+v", r.s.Execution)
	}
}

func TestActivityResultDuringWorkflowTaskIsBuffered(t *testing.T) {
	r := newRun(t, nil)
	r.complete(r.startWFT("p1"), scheduleActivity("a1", time.Minute, nil), scheduleActivity("a2", time.Minute, nil))
	r.record(StartActivity(r.s, 5, "", "p2", "w", r.now))
	r.record(StartActivity(r.s, 6, "", "p3", "w", r.now))
	r.record(CompleteActivity(r.s, ActivityRef{5, 1}, nil, "w", r.now))
	r.wantTypes(7, evActStarted, evActDone, evWFTSched)
	ref := r.startWFT("p4")
	r.record(CompleteActivity(r.s, ActivityRef{6, 1}, nil, "w", r.now))
	if len(r.last.Events) != 0 || len(r.s.Buffered) != 2 {
		t.Fatalf("result during an in-flight task must be buffered: %d events, %d buffered", len(r.last.Events), len(r.s.Buffered))
	}
	r.complete(ref)
	r.wantTypes(10, evWFTStarted, evWFTDone, evActStarted, evActDone, evWFTSched)
	if got := r.history[12].GetActivityTaskCompletedEventAttributes().GetStartedEventId(); got != 12 {
		t.Fatalf("flushed result points at started event %d, want 12", got)
	}
}

func TestWorkflowTaskFailureRetriesAreTransient(t *testing.T) {
	r := newRun(t, nil)
	fail := func(ref WorkflowTaskRef) {
		r.record(FailWorkflowTask(r.s, FailInput{Ref: ref, Cause: enumspb.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE, Identity: "w"}, r.now))
	}
	fail(r.startWFT("p1"))
	r.wantTypes(1, evStarted, evWFTSched, evWFTStarted, evWFTFailed)
	for attempt := int32(2); attempt <= 5; attempt++ {
		if r.s.WorkflowTask.Attempt != attempt || !r.s.WorkflowTask.Transient {
			t.Fatalf("want transient attempt %d, got %+v", attempt, r.s.WorkflowTask)
		}
		if attempt >= 4 && hasTask(r.last, TaskWorkflowTaskBackoff) == nil {
			t.Fatalf("attempt %d must be dispatched after a backoff", attempt)
		}
		ref := r.startWFT("p")
		if got := TransientEvents(r.s); len(got) != 2 || got[0].EventId != 5 || got[1].EventId != 6 {
			t.Fatalf("transient events = %v", got)
		}
		if attempt < 5 {
			fail(ref)
			if len(r.history) != 4 {
				t.Fatalf("failed transient attempt grew history to %d events", len(r.history))
			}
		}
	}
	// The fifth attempt succeeds: its events are written with the reserved IDs.
	ref := WorkflowTaskRef{ScheduledEventID: 5, StartedEventID: 6, Attempt: 5}
	r.complete(ref, completeWorkflow())
	r.wantTypes(5, evWFTSched, evWFTStarted, evWFTDone, evCompleted)
	if r.history[4].GetWorkflowTaskScheduledEventAttributes().GetAttempt() != 5 {
		t.Fatal("written transient task lost its attempt")
	}
}

func TestStaleWorkflowTaskTokens(t *testing.T) {
	r := newRun(t, nil)
	ref := r.startWFT("p1")
	if _, err := StartWorkflowTask(r.s, ref.ScheduledEventID, "other", "w", DefaultLimits, r.now); err != ErrTaskGone {
		t.Fatalf("second poller got %v, want ErrTaskGone", err)
	}
	if out, err := StartWorkflowTask(r.s, ref.ScheduledEventID, "p1", "w", DefaultLimits, r.now); err != nil || !out.NoChange {
		t.Fatalf("repeat of the same poll must be a no-op, got %v %v", out, err)
	}
	bad := ref
	bad.Attempt = 2
	if _, _, err := CompleteWorkflowTask(r.s, CompleteInput{Ref: bad}, DefaultLimits, r.now); err != ErrStaleWorkflowTask {
		t.Fatalf("stale attempt: got %v", err)
	}
	r.complete(ref, completeWorkflow())
	if _, _, err := CompleteWorkflowTask(r.s, CompleteInput{Ref: ref}, DefaultLimits, r.now); err != ErrClosed {
		t.Fatalf("completion after close: got %v", err)
	}
}

func TestActivityRetriesWriteNothingUntilFinal(t *testing.T) {
	r := newRun(t, nil)
	rp := &commonpb.RetryPolicy{InitialInterval: durationpb.New(time.Second), BackoffCoefficient: 2, MaximumAttempts: 3}
	r.complete(r.startWFT("p1"), scheduleActivity("a", time.Minute, rp))
	appErr := &failurepb.Failure{Message: "boom", FailureInfo: &failurepb.Failure_ApplicationFailureInfo{ApplicationFailureInfo: &failurepb.ApplicationFailureInfo{Type: "E"}}}
	wantBackoff := []time.Duration{time.Second, 2 * time.Second}
	for attempt := int32(1); attempt <= 2; attempt++ {
		r.record(StartActivity(r.s, 5, "", "p", "w", r.now))
		r.record(FailActivity(r.s, ActivityRef{5, attempt}, appErr, nil, "w", r.now))
		rt := hasTask(r.last, TaskActivityRetry)
		if len(r.last.Events) != 0 || rt == nil || rt.Time != r.now.Add(wantBackoff[attempt-1]) {
			t.Fatalf("attempt %d: want a retry after %v and no events, got %+v", attempt, wantBackoff[attempt-1], r.last)
		}
		r.advance(wantBackoff[attempt-1])
		r.record(ActivityRetryDue(r.s, 5, attempt+1, 0, r.now))
		if hasTask(r.last, TaskDispatchActivity) == nil {
			t.Fatal("retry due did not dispatch")
		}
	}
	r.record(StartActivity(r.s, 5, "", "p", "w", r.now))
	r.record(FailActivity(r.s, ActivityRef{5, 3}, appErr, nil, "w", r.now))
	r.wantTypes(5, evActSched, evActStarted, evActFailed, evWFTSched)
	started := r.history[5].GetActivityTaskStartedEventAttributes()
	failed := r.history[6].GetActivityTaskFailedEventAttributes()
	if started.Attempt != 3 || started.LastFailure.GetMessage() != "boom" || failed.RetryState != enumspb.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED {
		t.Fatalf("final events wrong: %+v %+v", started, failed)
	}
}

func TestNonRetryableFailureEndsRetries(t *testing.T) {
	r := newRun(t, nil)
	rp := &commonpb.RetryPolicy{NonRetryableErrorTypes: []string{"Fatal"}}
	r.complete(r.startWFT("p1"), scheduleActivity("a", time.Minute, rp))
	r.record(StartActivity(r.s, 5, "", "p", "w", r.now))
	f := &failurepb.Failure{FailureInfo: &failurepb.Failure_ApplicationFailureInfo{ApplicationFailureInfo: &failurepb.ApplicationFailureInfo{Type: "Fatal"}}}
	r.record(FailActivity(r.s, ActivityRef{5, 1}, f, nil, "w", r.now))
	r.wantTypes(5, evActSched, evActStarted, evActFailed, evWFTSched)
	if r.history[6].GetActivityTaskFailedEventAttributes().RetryState != enumspb.RETRY_STATE_NON_RETRYABLE_FAILURE {
		t.Fatal("want NON_RETRYABLE_FAILURE")
	}
}

func TestHeartbeatTimeoutRearmsThenRetriesKeepingDetails(t *testing.T) {
	r := newRun(t, nil)
	cmd := scheduleActivity("a", time.Minute, &commonpb.RetryPolicy{MaximumAttempts: 2})
	cmd.GetScheduleActivityTaskCommandAttributes().HeartbeatTimeout = durationpb.New(10 * time.Second)
	r.complete(r.startWFT("p1"), cmd)
	r.record(StartActivity(r.s, 5, "", "p", "w", r.now))
	r.advance(5 * time.Second)
	details := &commonpb.Payloads{Payloads: []*commonpb.Payload{{Data: []byte("progress")}}}
	r.record(func() (Output, error) { o, _, err := Heartbeat(r.s, ActivityRef{5, 1}, details, r.now); return o, err }())
	r.advance(5 * time.Second) // the first heartbeat timer is due, but the deadline moved
	r.record(TimeoutActivity(r.s, 5, 1, enumspb.TIMEOUT_TYPE_HEARTBEAT, r.now))
	if tt := hasTask(r.last, TaskActivityTimeout); tt == nil || tt.Time != r.now.Add(5*time.Second) {
		t.Fatalf("heartbeat timer not re-armed at the new deadline: %+v", r.last.Tasks)
	}
	r.advance(5 * time.Second)
	r.record(TimeoutActivity(r.s, 5, 1, enumspb.TIMEOUT_TYPE_HEARTBEAT, r.now))
	ai := r.s.Activities[5]
	if ai == nil || ai.Attempt != 2 || ai.Started || string(ai.HeartbeatDetails) == "" {
		t.Fatalf("heartbeat timeout must retry with details kept, got %+v", ai)
	}
	r.advance(time.Second)
	r.record(ActivityRetryDue(r.s, 5, 2, 0, r.now))
	r.record(StartActivity(r.s, 5, "", "p2", "w", r.now))
	r.advance(10 * time.Second)
	r.record(TimeoutActivity(r.s, 5, 2, enumspb.TIMEOUT_TYPE_HEARTBEAT, r.now))
	r.wantTypes(5, evActSched, evActStarted, evActTimedOut, evWFTSched)
	to := r.history[6].GetActivityTaskTimedOutEventAttributes()
	if to.GetFailure().GetTimeoutFailureInfo().GetTimeoutType() != enumspb.TIMEOUT_TYPE_HEARTBEAT ||
		string(to.GetFailure().GetTimeoutFailureInfo().GetLastHeartbeatDetails().GetPayloads()[0].GetData()) != "progress" {
		t.Fatalf("timed-out event wrong: %+v", to)
	}
}

func TestTimerFireAndCancel(t *testing.T) {
	r := newRun(t, nil)
	r.complete(r.startWFT("p1"), startTimer("t1", 2*time.Second), startTimer("t2", time.Hour))
	if tt := hasTask(r.last, TaskUserTimer); tt == nil || tt.Time != t0.Add(2*time.Second) {
		t.Fatalf("timer task wrong: %+v", r.last.Tasks)
	}
	r.advance(2 * time.Second)
	r.record(FireTimer(r.s, "t1", 5, r.now))
	ref := r.startWFT("p2")
	r.complete(ref, cancelTimer("t2"))
	r.record(FireTimer(r.s, "t2", 6, r.now.Add(time.Hour)))
	if !r.last.NoChange {
		t.Fatal("a cancelled timer fired")
	}
	r.wantTypes(5, enumspb.EVENT_TYPE_TIMER_STARTED, enumspb.EVENT_TYPE_TIMER_STARTED, enumspb.EVENT_TYPE_TIMER_FIRED,
		evWFTSched, evWFTStarted, evWFTDone, enumspb.EVENT_TYPE_TIMER_CANCELED)
}

func TestCancelOfBufferedTimerFire(t *testing.T) {
	r := newRun(t, nil)
	r.complete(r.startWFT("p1"), startTimer("t1", time.Second), scheduleActivity("a", time.Minute, nil))
	r.record(StartActivity(r.s, 6, "", "p", "w", r.now))
	r.record(CompleteActivity(r.s, ActivityRef{6, 1}, nil, "w", r.now))
	ref := r.startWFT("p2")
	r.advance(time.Second)
	r.record(FireTimer(r.s, "t1", 5, r.now))
	if len(r.s.Buffered) != 1 || len(r.last.Events) != 0 {
		t.Fatal("a fire during a started task must be buffered")
	}
	r.complete(ref, cancelTimer("t1"))
	r.wantTypes(10, evWFTStarted, evWFTDone, enumspb.EVENT_TYPE_TIMER_CANCELED)
	if len(r.s.Buffered) != 0 || r.s.WorkflowTask != nil {
		t.Fatal("cancel must drop the buffered fire and need no new task")
	}
}

func TestCloseWithBufferedEventsIsUnhandledCommand(t *testing.T) {
	r := newRun(t, nil)
	r.complete(r.startWFT("p1"), scheduleActivity("a", time.Minute, nil), startTimer("t", time.Second))
	r.advance(time.Second)
	r.record(FireTimer(r.s, "t", 6, r.now))
	ref := r.startWFT("p2")
	r.record(StartActivity(r.s, 5, "", "p3", "w", r.now))
	r.record(CompleteActivity(r.s, ActivityRef{5, 1}, nil, "w", r.now))
	r.complete(ref, completeWorkflow())
	if !r.s.Running() {
		t.Fatal("a completion with buffered events closed the run")
	}
	r.wantTypes(9, evWFTStarted, evWFTFailed, evActStarted, evActDone, evWFTSched)
	if r.history[9].GetWorkflowTaskFailedEventAttributes().GetCause() != enumspb.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND {
		t.Fatal("want cause UNHANDLED_COMMAND")
	}
	if r.s.WorkflowTask.Attempt != 1 || r.s.WorkflowTask.Transient {
		t.Fatalf("the new task must be a normal first attempt: %+v", r.s.WorkflowTask)
	}
}

func TestBadCommandFailsTheTaskAndChangesNothingElse(t *testing.T) {
	r := newRun(t, nil)
	res := r.complete(r.startWFT("p1"), startTimer("t", time.Second), scheduleActivity("", time.Minute, nil))
	if res.Rejected != "ActivityId is not set on command." {
		t.Fatalf("Rejected = %q", res.Rejected)
	}
	r.wantTypes(1, evStarted, evWFTSched, evWFTStarted, evWFTFailed)
	if len(r.s.Timers) != 0 || r.history[3].GetWorkflowTaskFailedEventAttributes().GetCause() != enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_SCHEDULE_ACTIVITY_ATTRIBUTES {
		t.Fatal("a rejected completion applied its commands or lost its cause")
	}
	res = r.complete(r.startWFT("p2"), &commandpb.Command{CommandType: enumspb.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION})
	if res.Rejected == "" {
		t.Fatal("an unsupported command was accepted")
	}
}

func TestRunTimeoutAndStartDelay(t *testing.T) {
	r := newRun(t, func(req *workflowservice.StartWorkflowExecutionRequest) {
		req.WorkflowRunTimeout = durationpb.New(2 * time.Second)
		req.WorkflowStartDelay = durationpb.New(time.Second)
	})
	if r.s.WorkflowTask != nil || hasTask(r.last, TaskWorkflowBackoff) == nil {
		t.Fatal("a delayed start scheduled its first task at once")
	}
	if tt := hasTask(r.last, TaskWorkflowRunTimeout); tt == nil || tt.Time != t0.Add(3*time.Second) {
		t.Fatalf("run timeout timer wrong: %+v", r.last.Tasks)
	}
	r.advance(time.Second)
	r.record(FireWorkflowBackoff(r.s, r.now))
	r.startWFT("p")
	r.advance(2 * time.Second)
	r.record(TimeoutRun(r.s, "", r.now))
	r.wantTypes(1, evStarted, evWFTSched, evWFTStarted, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT)
	if r.s.Execution.Status != enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT {
		t.Fatal("status not TIMED_OUT")
	}
}

func TestCancelActivityBeforeAndAfterStart(t *testing.T) {
	r := newRun(t, nil)
	r.complete(r.startWFT("p1"), scheduleActivity("a", time.Minute, nil), scheduleActivity("b", time.Minute, nil), startTimer("t", time.Second))
	r.record(StartActivity(r.s, 6, "", "p", "w", r.now))
	r.advance(time.Second)
	r.record(FireTimer(r.s, "t", 7, r.now))
	cancel := func(id int64) *commandpb.Command {
		return &commandpb.Command{CommandType: enumspb.COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK,
			Attributes: &commandpb.Command_RequestCancelActivityTaskCommandAttributes{RequestCancelActivityTaskCommandAttributes: &commandpb.RequestCancelActivityTaskCommandAttributes{ScheduledEventId: id}}}
	}
	r.complete(r.startWFT("p2"), cancel(5), cancel(6))
	r.wantTypes(11, evWFTDone, enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED, enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCELED,
		enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED, evWFTSched)
	_, hb, err := Heartbeat(r.s, ActivityRef{6, 1}, nil, r.now)
	cancelRequested := hb.CancelRequested
	if err != nil || !cancelRequested {
		t.Fatalf("heartbeat must report the cancel request: %v %v", cancelRequested, err)
	}
	r.complete(r.startWFT("p3"))
	r.record(CancelActivity(r.s, ActivityRef{6, 1}, nil, "w", r.now))
	r.wantTypes(16, evWFTStarted, evWFTDone, evActStarted, enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCELED, evWFTSched)
}

func TestStateRoundTrip(t *testing.T) {
	r := newRun(t, nil)
	r.complete(r.startWFT("p1"), scheduleActivity("a", time.Minute, nil), startTimer("t", time.Hour))
	b, err := r.s.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.NextEventID != r.s.NextEventID || len(got.Activities) != 1 || got.Timers["t"].FireTime != r.s.Timers["t"].FireTime ||
		got.Activities[5].Retry.MaximumInterval != 100*time.Second {
		t.Fatalf("round trip lost data: %+v", got)
	}
}
