package statemachine

import (
	"testing"
	"time"

	commandpb "go.temporal.io/api/command/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
)

const evSignaled = enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED

func TestSignalsAreBufferedDedupedAndLimited(t *testing.T) {
	r := newRun(t, nil)
	ref := r.startWFT("p1")
	r.record(Signal(r.s, SignalInput{Name: "a", RequestID: "x"}, DefaultLimits, r.now))
	r.record(Signal(r.s, SignalInput{Name: "a", RequestID: "x"}, DefaultLimits, r.now))
	if !r.last.NoChange || len(r.s.Buffered) != 1 {
		t.Fatalf("a repeated request ID must be dropped; buffered %d", len(r.s.Buffered))
	}
	r.complete(ref, completeWorkflow()) // rejected: a signal is buffered
	r.wantTypes(3, evWFTStarted, evWFTFailed, evSignaled, evWFTSched)
	lim := DefaultLimits
	lim.MaxSignals = 2
	r.record(Signal(r.s, SignalInput{Name: "b"}, lim, r.now))
	if _, err := Signal(r.s, SignalInput{Name: "c"}, lim, r.now); err != ErrSignalLimit {
		t.Fatalf("third signal over a limit of 2: got %v", err)
	}
}

func TestSignalWithStartPutsTheSignalFirst(t *testing.T) {
	s, out := StartWithSignal(StartInput{NamespaceID: "ns", RunID: "r", Request: newRun(t, nil).startRequest()}, SignalInput{Name: "go", RequestID: "q"}, t0)
	if len(out.Events) != 3 || out.Events[1].EventType != evSignaled || out.Events[2].EventType != evWFTSched || s.NextEventID != 4 {
		t.Fatalf("events %v", out.Events)
	}
	if !s.SignalRequestIDs["q"] || s.WorkflowTask == nil {
		t.Fatal("signal request ID not kept or no first task")
	}
}

func TestCancelRequestAndTerminate(t *testing.T) {
	r := newRun(t, nil)
	r.record(RequestCancel(r.s, "c1", "because", "me", r.now))
	r.record(RequestCancel(r.s, "c1", "because", "me", r.now))
	if !r.last.NoChange {
		t.Fatal("the same cancel request twice must be a no-op")
	}
	if out, err := RequestCancel(r.s, "c2", "", "me", r.now); err != nil || !out.NoChange {
		t.Fatalf("another cancel request must be an idempotent no-op: %v", err)
	}
	r.startWFT("p1")
	r.record(Signal(r.s, SignalInput{Name: "late"}, DefaultLimits, r.now))
	r.record(Terminate(r.s, "stop", nil, "me", r.now))
	r.wantTypes(1, evStarted, evWFTSched, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED, evWFTStarted,
		evSignaled, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED)
	if r.s.Execution.Status != enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED || r.s.WorkflowTask != nil {
		t.Fatal("terminate must close the run and drop the task")
	}
	if _, err := Signal(r.s, SignalInput{Name: "x"}, DefaultLimits, r.now); err != ErrClosed {
		t.Fatalf("signal to a closed run: %v", err)
	}
}

func TestStickyDispatchAndFallback(t *testing.T) {
	r := newRun(t, nil)
	ref := r.startWFT("p1")
	out, _, err := CompleteWorkflowTask(r.s, CompleteInput{Ref: ref, Commands: []*commandpb.Command{startTimer("t", time.Second)},
		StickyTaskQueue: "host:1", StickyScheduleToStart: 5 * time.Second}, DefaultLimits, r.now)
	r.record(out, err)
	r.advance(time.Second)
	r.record(FireTimer(r.s, "t", 5, r.now))
	d := hasTask(r.last, TaskDispatchWorkflowTask)
	if d == nil || !d.Sticky || d.TaskQueue != "host:1" || hasTask(r.last, TaskStickyTimeout) == nil {
		t.Fatalf("want a sticky dispatch with a fallback timer, got %+v", r.last.Tasks)
	}
	tq := r.history[len(r.history)-1].GetWorkflowTaskScheduledEventAttributes().GetTaskQueue()
	if tq.GetKind() != enumspb.TASK_QUEUE_KIND_STICKY || tq.GetNormalName() != "q" {
		t.Fatalf("scheduled event task queue %v", tq)
	}
	r.advance(5 * time.Second)
	r.record(TimeoutStickyWorkflowTask(r.s, r.s.WorkflowTask.ScheduledEventID, 1, r.now))
	r.wantTypes(7, evWFTSched, enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT, evWFTSched)
	if d := hasTask(r.last, TaskDispatchWorkflowTask); d == nil || d.Sticky || d.TaskQueue != "q" || r.s.Execution.StickyTaskQueue != "" {
		t.Fatalf("fallback must go to the normal queue: %+v", r.last.Tasks)
	}
}

func TestResetStickyRedispatchesAtOnce(t *testing.T) {
	r := newRun(t, nil)
	ref := r.startWFT("p1")
	out, _, err := CompleteWorkflowTask(r.s, CompleteInput{Ref: ref, Commands: []*commandpb.Command{startTimer("t", time.Second)},
		StickyTaskQueue: "host:1", StickyScheduleToStart: 5 * time.Second}, DefaultLimits, r.now)
	r.record(out, err)
	r.advance(time.Second)
	r.record(FireTimer(r.s, "t", 5, r.now))
	r.record(ResetSticky(r.s, r.now))
	if d := hasTask(r.last, TaskDispatchWorkflowTask); d == nil || d.Sticky || len(r.last.Events) != 0 {
		t.Fatalf("reset must re-dispatch on the normal queue without events: %+v", r.last)
	}
}

func TestHistoryCountLimitTerminates(t *testing.T) {
	r := newRun(t, nil)
	lim := DefaultLimits
	lim.MaxHistoryEvents = 6
	out, _, err := CompleteWorkflowTask(r.s, CompleteInput{Ref: r.startWFT("p"), Commands: []*commandpb.Command{
		startTimer("a", time.Hour), startTimer("b", time.Hour), startTimer("c", time.Hour)}}, lim, r.now)
	r.record(out, err)
	last := r.history[len(r.history)-1]
	if last.EventType != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED ||
		last.GetWorkflowExecutionTerminatedEventAttributes().GetReason() != "Workflow history count exceeds limit." {
		t.Fatalf("want termination for history count, got %v", r.types(1))
	}
}

func TestModifyWorkflowPropertiesMergesMemo(t *testing.T) {
	r := newRun(t, nil)
	memo := &commonpb.Memo{Fields: map[string]*commonpb.Payload{"a": {Data: []byte("1")}, "b": {Data: []byte("2")}}}
	modify := &commandpb.Command{CommandType: enumspb.COMMAND_TYPE_MODIFY_WORKFLOW_PROPERTIES,
		Attributes: &commandpb.Command_ModifyWorkflowPropertiesCommandAttributes{ModifyWorkflowPropertiesCommandAttributes: &commandpb.ModifyWorkflowPropertiesCommandAttributes{UpsertedMemo: memo}}}
	r.complete(r.startWFT("p"), modify)
	got := &commonpb.Memo{}
	mustUnmarshal(r.s.Memo, got)
	if string(got.Fields["a"].GetData()) != "1" || string(got.Fields["b"].GetData()) != "2" {
		t.Fatalf("memo %v", got)
	}
	r.wantTypes(5, enumspb.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED)
}

func TestOversizedCommandPayloadTerminates(t *testing.T) {
	r := newRun(t, nil)
	lim := DefaultLimits
	lim.MaxBlobSize = 10
	done := completeWorkflow()
	done.GetCompleteWorkflowExecutionCommandAttributes().Result = &commonpb.Payloads{Payloads: []*commonpb.Payload{{Data: make([]byte, 100)}}}
	out, res, err := CompleteWorkflowTask(r.s, CompleteInput{Ref: r.startWFT("p"), Commands: []*commandpb.Command{done}}, lim, r.now)
	r.record(out, err)
	if res.Rejected == "" || r.s.Execution.Status != enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED || hasTask(out, TaskDispatchWorkflowTask) != nil {
		t.Fatalf("want the run terminated with no retry task, got %v %+v", r.types(1), out.Tasks)
	}
	r.wantTypes(4, evWFTFailed, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED)
}
