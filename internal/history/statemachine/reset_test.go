package statemachine

import (
	"errors"
	"testing"
	"time"

	commandpb "go.temporal.io/api/command/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	protocolpb "go.temporal.io/api/protocol/v1"
	updatepb "go.temporal.io/api/update/v1"
	"google.golang.org/protobuf/proto"
)

var t1 = t0.Add(time.Hour)

func resetIn(signals, updates bool) ResetInput {
	return ResetInput{NamespaceID: "ns", RunID: "new", BaseRunID: "run", RequestID: "reset-1", Reason: "bad deploy",
		Identity: "ops", ReapplySignals: signals, ReapplyUpdates: updates}
}

// signalRun: first task schedules activity a1 and timer t1 (events 2-6),
// then signals s1, s2 arrive with a task in between (events 7-12).
func signalRun(t *testing.T) *run {
	r := newRun(t, nil)
	r.complete(r.startWFT("p1"), scheduleActivity("a1", time.Minute, nil), startTimer("t1", 2*time.Hour))
	r.record(Signal(r.s, SignalInput{Name: "s1", RequestID: "r1"}, DefaultLimits, r.now))
	r.complete(r.startWFT("p2"))
	r.record(Signal(r.s, SignalInput{Name: "s2", RequestID: "r2"}, DefaultLimits, r.now))
	r.wantTypes(1, evStarted, evWFTSched, evWFTStarted, evWFTDone, evActSched, enumspb.EVENT_TYPE_TIMER_STARTED,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, evWFTSched, evWFTStarted, evWFTDone,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, evWFTSched)
	return r
}

func eventTypesOf(evs []*historypb.HistoryEvent) []enumspb.EventType {
	out := make([]enumspb.EventType, len(evs))
	for i, ev := range evs {
		out[i] = ev.GetEventType()
	}
	return out
}

// wantEventTypes checks the types of evs, numbered from evs[0]'s ID.
func wantEventTypes(t *testing.T, evs []*historypb.HistoryEvent, want ...enumspb.EventType) {
	t.Helper()
	first := evs[0].GetEventId()
	got := eventTypesOf(evs)
	if len(got) != len(want) {
		t.Fatalf("events: got %v, want %v", got, want)
	}
	for i := range got {
		if got[i] != want[i] || evs[i].GetEventId() != first+int64(i) {
			t.Fatalf("event %d: got %v (ID %d), want %v", i+1, got[i], evs[i].GetEventId(), want[i])
		}
	}
}

func TestResetToFirstWorkflowTaskReappliesSignals(t *testing.T) {
	r := signalRun(t)
	s, out, err := Reset(r.history, 4, nil, resetIn(true, true), t1)
	if err != nil {
		t.Fatal(err)
	}
	wantEventTypes(t, out.Events, evStarted, evWFTSched, evWFTStarted, evWFTFailed,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, evWFTSched)
	for i := range 3 {
		if out.Events[i] != r.history[i] {
			t.Fatalf("event %d must be the base run's event", i+1)
		}
	}
	f := out.Events[3].GetWorkflowTaskFailedEventAttributes()
	if f.GetCause() != enumspb.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW || f.GetBaseRunId() != "run" || f.GetNewRunId() != "new" ||
		f.GetFailure().GetMessage() != "bad deploy" || f.GetScheduledEventId() != 2 || f.GetStartedEventId() != 3 || f.GetIdentity() != "ops" {
		t.Fatalf("WorkflowTaskFailed: %v", f)
	}
	for i, name := range []string{"s1", "s2"} {
		a := out.Events[4+i].GetWorkflowExecutionSignaledEventAttributes()
		if a.GetSignalName() != name || a.GetRequestId() != "r"+name[1:] || !out.Events[4+i].GetEventTime().AsTime().Equal(t1) {
			t.Fatalf("re-applied signal %d: %v", i, out.Events[4+i])
		}
	}
	x := s.Execution
	if x.RunID != "new" || x.CreateRequestID != "reset-1" || !x.StartTime.Equal(t1) || x.FirstRunID != "run" || !s.Running() {
		t.Fatalf("execution: %+v", x)
	}
	if s.NextEventID != 8 || s.SignalCount != 2 || !s.SignalRequestIDs["r1"] || !s.SignalRequestIDs["r2"] ||
		s.WorkflowTask.ScheduledEventID != 7 || s.WorkflowTask.Started() || s.WorkflowTask.Attempt != 1 || s.LastCompletedWFTStartedEventID != 0 {
		t.Fatalf("state: next %d, signals %d %v, task %+v", s.NextEventID, s.SignalCount, s.SignalRequestIDs, s.WorkflowTask)
	}
	if len(s.Activities) != 0 || len(s.Timers) != 0 {
		t.Fatal("the activity and timer came after the reset point")
	}
	if len(out.Tasks) != 2 || out.Tasks[0].Type != TaskDispatchWorkflowTask || out.Tasks[0].EventID != 7 || out.Tasks[1].Type != TaskVisibility {
		t.Fatalf("tasks: want the workflow task's dispatch and the visibility record, got %+v", out.Tasks)
	}
	// The new run's history rebuilds to its state.
	re, err := Rebuild(out.Events, "ns", "new")
	if err != nil {
		t.Fatal(err)
	}
	re.Execution.StartTime, re.Execution.ExecutionTime = s.Execution.StartTime, s.Execution.ExecutionTime
	if a, b := comparable(t, s), comparable(t, re); string(a) != string(b) {
		t.Fatalf("reset state and the rebuild of its history differ\n%s\n%s", a, b)
	}
}

func TestResetKeepsPendingWorkAndResumesIt(t *testing.T) {
	r := signalRun(t)
	s, out, err := Reset(r.history, 10, nil, resetIn(false, false), t1)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Events) != 11 {
		t.Fatalf("want events 1-9 copied, got %v", eventTypesOf(out.Events))
	}
	wantEventTypes(t, out.Events[9:], evWFTFailed, evWFTSched)
	if s.SignalCount != 1 || len(s.Activities) != 1 || s.Timers["t1"] == nil || s.LastCompletedWFTStartedEventID != 3 {
		t.Fatalf("pending work before the reset point must be kept: signals %d, activities %v, timers %v", s.SignalCount, s.Activities, s.Timers)
	}
	if a := s.Activities[5]; a.Attempt != 1 || !a.ScheduledTime.Equal(t1) {
		t.Fatalf("the activity restarts now at attempt 1: %+v", a)
	}
	if d := hasTask(out, TaskDispatchActivity); d == nil || d.EventID != 5 {
		t.Fatalf("activity not dispatched: %+v", out.Tasks)
	}
	if tm := hasTask(out, TaskUserTimer); tm == nil || !tm.Time.Equal(t0.Add(2*time.Hour)) || tm.TimerID != "t1" {
		t.Fatalf("timer must keep its fire time: %+v", out.Tasks)
	}
}

func TestResetReapplyPolicyAndUnwrittenEvents(t *testing.T) {
	r := signalRun(t)
	_, out, err := Reset(r.history, 4, nil, resetIn(false, true), t1)
	if err != nil {
		t.Fatal(err)
	}
	wantEventTypes(t, out.Events, evStarted, evWFTSched, evWFTStarted, evWFTFailed, evWFTSched)

	// A signal buffered during a started task is not in history yet; the
	// engine passes it as extra and it is re-applied after the written ones.
	r.startWFT("p3")
	r.record(Signal(r.s, SignalInput{Name: "s3", RequestID: "r3"}, DefaultLimits, r.now))
	extra := UnwrittenEvents(r.s)
	if len(extra) != 1 {
		t.Fatalf("want the buffered signal, got %v", extra)
	}
	in := resetIn(true, true)
	in.Signals = []SignalInput{{Name: "post"}}
	s, out, err := Reset(r.history, 4, extra, in, t1)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ev := range out.Events {
		if a := ev.GetWorkflowExecutionSignaledEventAttributes(); a != nil {
			names = append(names, a.GetSignalName())
		}
	}
	if len(names) != 4 || names[0] != "s1" || names[1] != "s2" || names[2] != "s3" || names[3] != "post" || s.SignalCount != 4 {
		t.Fatalf("re-applied signals %v (count %d)", names, s.SignalCount)
	}
}

func TestResetReappliesUpdatesAsAdmitted(t *testing.T) {
	r := newRun(t, nil)
	r.complete(r.startWFT("p1"))
	req := &updatepb.Request{Meta: &updatepb.Meta{UpdateId: "u1"}, Input: &updatepb.Input{Name: "add"}}
	r.record(AdmitUpdate(r.s, req, DefaultLimits, r.now))
	ref := r.startWFT("p2")
	accept := updateMsg(t, "u1", "/accept", &updatepb.Acceptance{AcceptedRequestMessageId: "u1/request", AcceptedRequest: req})
	out, _, err := CompleteWorkflowTask(r.s, CompleteInput{Ref: ref, Commands: []*commandpb.Command{protocolCommand("u1/accept")},
		Messages: []*protocolpb.Message{accept}}, DefaultLimits, r.now)
	r.record(out, err)
	r.record(AdmitUpdate(r.s, &updatepb.Request{Meta: &updatepb.Meta{UpdateId: "u2"}}, DefaultLimits, r.now))

	s, rout, err := Reset(r.history, 4, UnwrittenEvents(r.s), resetIn(true, true), t1)
	if err != nil {
		t.Fatal(err)
	}
	// Admitted again in state only (no event: the SDK would see it twice).
	wantEventTypes(t, rout.Events, evStarted, evWFTSched, evWFTStarted, evWFTFailed, evWFTSched)
	if s.Updates["u1"].Stage != UpdateAdmitted || s.Updates["u2"].Stage != UpdateAdmitted {
		t.Fatalf("updates: %+v", s.Updates)
	}
	// The new run's first task carries them to the worker.
	nr := &run{t: t, s: s, now: t1, history: rout.Events}
	nr.startWFT("p3")
	msgs := UpdateMessages(s)
	if len(msgs) != 2 {
		t.Fatalf("want both updates in the new task, got %v", msgs)
	}
	for _, msg := range msgs {
		if msg.GetProtocolInstanceId() == "u1" {
			got := &updatepb.Request{}
			if err := msg.GetBody().UnmarshalTo(got); err != nil || !proto.Equal(got, req) {
				t.Fatalf("u1's request: %v %v", got, err)
			}
		}
	}

	_, rout, err = Reset(r.history, 4, UnwrittenEvents(r.s), resetIn(true, false), t1)
	if err != nil {
		t.Fatal(err)
	}
	wantEventTypes(t, rout.Events, evStarted, evWFTSched, evWFTStarted, evWFTFailed, evWFTSched)
	if s2, _, _ := Reset(r.history, 4, nil, resetIn(true, false), t1); len(s2.Updates) != 0 {
		t.Fatalf("excluded updates must not be admitted: %+v", s2.Updates)
	}
}

// A WorkflowExecutionUpdateAdmitted event (other servers write them for
// re-applied updates) rebuilds to an admitted update.
func TestRebuildAdmittedUpdateEvent(t *testing.T) {
	r := newRun(t, nil)
	r.complete(r.startWFT("p1"))
	req := &updatepb.Request{Meta: &updatepb.Meta{UpdateId: "u1"}}
	ev := &historypb.HistoryEvent{EventId: r.s.NextEventID, EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ADMITTED,
		Attributes: &historypb.HistoryEvent_WorkflowExecutionUpdateAdmittedEventAttributes{WorkflowExecutionUpdateAdmittedEventAttributes: &historypb.WorkflowExecutionUpdateAdmittedEventAttributes{Request: req}}}
	s, err := Rebuild(append(r.history, ev), "ns", "run")
	if err != nil || s.Updates["u1"].Stage != UpdateAdmitted {
		t.Fatalf("rebuild of an admitted event: %v %+v", err, s)
	}
}

func TestResetPointValidation(t *testing.T) {
	r := signalRun(t)
	for _, id := range []int64{0, -1, 1, 2, 5, 7, 99} {
		if _, _, err := Reset(r.history, id, nil, resetIn(true, true), t1); !errors.Is(err, ErrInvalidResetPoint) {
			t.Errorf("reset to event %d: got %v, want ErrInvalidResetPoint", id, err)
		}
	}
	// A workflow task's failure and its started event are reset points too.
	ref := r.startWFT("p3")
	r.record(FailWorkflowTask(r.s, FailInput{Ref: ref, Cause: enumspb.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE}, r.now))
	for _, id := range []int64{14, 13, 9} {
		cut, err := ResetPoint(r.history, id)
		if err != nil {
			t.Fatalf("reset to event %d (%v): %v", id, r.history[id-1].GetEventType(), err)
		}
		if _, _, err := Reset(r.history, id, nil, resetIn(true, true), t1); err != nil || (id != 9 && cut != 13) {
			t.Fatalf("reset to event %d: cut %d, %v", id, cut, err)
		}
	}
}
