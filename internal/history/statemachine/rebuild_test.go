package statemachine

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	commandpb "go.temporal.io/api/command/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	protocolpb "go.temporal.io/api/protocol/v1"
	updatepb "go.temporal.io/api/update/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// canon re-encodes proto bytes deterministically (map order).
func canon(t *testing.T, b []byte, m proto.Message) []byte {
	t.Helper()
	if b == nil {
		return nil
	}
	mustUnmarshal(b, m)
	out, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// comparable is a copy of s without what history does not record (see
// Rebuild), with proto bytes in canonical form, as JSON.
func comparable(t *testing.T, s *State) []byte {
	t.Helper()
	b, err := s.Encode()
	if err != nil {
		t.Fatal(err)
	}
	c, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	c.StateTransitions, c.CancelRequestID = 0, ""
	c.Execution.CreateRequestID, c.Execution.StickyTaskQueue, c.Execution.StickyScheduleToStart = "", "", 0
	c.StartedAttrs = canon(t, c.StartedAttrs, &historypb.WorkflowExecutionStartedEventAttributes{})
	c.Memo = canon(t, c.Memo, &commonpb.Memo{})
	c.SearchAttributes = canon(t, c.SearchAttributes, &commonpb.SearchAttributes{})
	c.Execution.LastCompletionResult = canon(t, c.Execution.LastCompletionResult, &commonpb.Payloads{})
	for _, a := range c.Activities {
		a.Scheduled = canon(t, a.Scheduled, &historypb.ActivityTaskScheduledEventAttributes{})
		a.Attempt, a.Started, a.StartedTime, a.RequestID, a.StartedIdentity = 1, false, time.Time{}, "", ""
		a.HeartbeatDetails, a.LastHeartbeat, a.LastFailure, a.LastWorkerIdentity = nil, time.Time{}, nil, ""
		a.AttemptScheduledTime = a.ScheduledTime
	}
	for _, ch := range c.Children {
		ch.Initiated = canon(t, ch.Initiated, &historypb.StartChildWorkflowExecutionInitiatedEventAttributes{})
	}
	for _, x := range c.ExternalSignals {
		x.Initiated = canon(t, x.Initiated, &historypb.SignalExternalWorkflowExecutionInitiatedEventAttributes{})
	}
	for _, x := range c.ExternalCancels {
		x.Initiated = canon(t, x.Initiated, &historypb.RequestCancelExternalWorkflowExecutionInitiatedEventAttributes{})
	}
	for id, u := range c.Updates {
		if u.AcceptedEventID == 0 { // rejected or not accepted yet: not in history
			delete(c.Updates, id)
			continue
		}
		u.SentIn = 0
		u.Request = canon(t, u.Request, &updatepb.Request{})
		u.Outcome = canon(t, u.Outcome, &updatepb.Outcome{})
	}
	out, err := json.MarshalIndent(c, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkRebuild rebuilds the run from its history and compares the state
// with the one the transitions built.
func (r *run) checkRebuild(step string) {
	r.t.Helper()
	if len(r.s.Buffered) > 0 {
		r.t.Fatalf("%s: checkRebuild with buffered events (not in history yet)", step)
	}
	got, err := Rebuild(r.history, r.s.Execution.NamespaceID, r.s.Execution.RunID)
	if err != nil {
		r.t.Fatalf("%s: Rebuild: %v", step, err)
	}
	if want, have := comparable(r.t, r.s), comparable(r.t, got); !bytes.Equal(want, have) {
		r.t.Fatalf("%s: rebuilt state differs\nforward: %s\nrebuilt: %s", step, want, have)
	}
}

func cmd(t enumspb.CommandType, attrs any) *commandpb.Command {
	c := &commandpb.Command{CommandType: t}
	switch a := attrs.(type) {
	case *commandpb.UpsertWorkflowSearchAttributesCommandAttributes:
		c.Attributes = &commandpb.Command_UpsertWorkflowSearchAttributesCommandAttributes{UpsertWorkflowSearchAttributesCommandAttributes: a}
	case *commandpb.ModifyWorkflowPropertiesCommandAttributes:
		c.Attributes = &commandpb.Command_ModifyWorkflowPropertiesCommandAttributes{ModifyWorkflowPropertiesCommandAttributes: a}
	case *commandpb.RecordMarkerCommandAttributes:
		c.Attributes = &commandpb.Command_RecordMarkerCommandAttributes{RecordMarkerCommandAttributes: a}
	case *commandpb.RequestCancelActivityTaskCommandAttributes:
		c.Attributes = &commandpb.Command_RequestCancelActivityTaskCommandAttributes{RequestCancelActivityTaskCommandAttributes: a}
	case *commandpb.StartChildWorkflowExecutionCommandAttributes:
		c.Attributes = &commandpb.Command_StartChildWorkflowExecutionCommandAttributes{StartChildWorkflowExecutionCommandAttributes: a}
	case *commandpb.SignalExternalWorkflowExecutionCommandAttributes:
		c.Attributes = &commandpb.Command_SignalExternalWorkflowExecutionCommandAttributes{SignalExternalWorkflowExecutionCommandAttributes: a}
	case *commandpb.RequestCancelExternalWorkflowExecutionCommandAttributes:
		c.Attributes = &commandpb.Command_RequestCancelExternalWorkflowExecutionCommandAttributes{RequestCancelExternalWorkflowExecutionCommandAttributes: a}
	case *commandpb.ContinueAsNewWorkflowExecutionCommandAttributes:
		c.Attributes = &commandpb.Command_ContinueAsNewWorkflowExecutionCommandAttributes{ContinueAsNewWorkflowExecutionCommandAttributes: a}
	}
	return c
}

func payload(s string) *commonpb.Payload { return &commonpb.Payload{Data: []byte(s)} }

// A run with activities, timers, markers, search attributes, memo,
// signals, cancellation, workflow task failures and timeouts rebuilds to
// the state the transitions built, at every step.
func TestRebuildMatchesForwardTransitions(t *testing.T) {
	r := newRun(t, func(req *workflowservice.StartWorkflowExecutionRequest) {
		req.Memo = &commonpb.Memo{Fields: map[string]*commonpb.Payload{"m": payload("1"), "x": payload("2")}}
		req.SearchAttributes = &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{"k": payload("v")}}
		req.RetryPolicy = &commonpb.RetryPolicy{MaximumAttempts: 3}
		req.WorkflowRunTimeout = durationpb.New(time.Hour)
		req.WorkflowExecutionTimeout = durationpb.New(2 * time.Hour)
	})
	r.checkRebuild("start")
	ref := r.startWFT("p1")
	r.checkRebuild("first task started")
	s2c := scheduleActivity("a2", time.Minute, nil)
	s2c.GetScheduleActivityTaskCommandAttributes().ScheduleToCloseTimeout = durationpb.New(10 * time.Minute)
	r.complete(ref, scheduleActivity("a1", time.Minute, nil), s2c, startTimer("t1", time.Minute), startTimer("t2", time.Hour),
		cmd(enumspb.COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, &commandpb.UpsertWorkflowSearchAttributesCommandAttributes{
			SearchAttributes: &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{"k2": payload("w")}}}),
		cmd(enumspb.COMMAND_TYPE_MODIFY_WORKFLOW_PROPERTIES, &commandpb.ModifyWorkflowPropertiesCommandAttributes{
			UpsertedMemo: &commonpb.Memo{Fields: map[string]*commonpb.Payload{"x": {}, "y": payload("3")}}}),
		cmd(enumspb.COMMAND_TYPE_RECORD_MARKER, &commandpb.RecordMarkerCommandAttributes{MarkerName: "m"}))
	r.checkRebuild("commands applied")
	a1 := r.s.Activities[5]
	r.record(StartActivity(r.s, a1.ScheduledEventID, "", "p2", "w", r.now))
	r.record(FailActivity(r.s, ActivityRef{a1.ScheduledEventID, 1}, &failurepb.Failure{Message: "retry me"}, nil, "w", r.now))
	r.checkRebuild("activity retrying (nothing written)")
	r.record(StartActivity(r.s, a1.ScheduledEventID, "", "p3", "w", r.now))
	r.record(CompleteActivity(r.s, ActivityRef{a1.ScheduledEventID, 2}, nil, "w", r.now))
	r.checkRebuild("activity completed")
	r.advance(time.Minute)
	r.record(FireTimer(r.s, "t1", r.s.Timers["t1"].StartedEventID, r.now))
	r.record(Signal(r.s, SignalInput{Name: "s", RequestID: "req-1"}, DefaultLimits, r.now))
	r.record(RequestCancel(r.s, "cancel-1", "why", "me", r.now))
	r.checkRebuild("timer fired, signal, cancel request")

	ref = r.startWFT("p4")
	r.record(FailWorkflowTask(r.s, FailInput{Ref: ref, Cause: enumspb.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE}, r.now))
	r.checkRebuild("workflow task failed (transient retry)")
	ref = r.startWFT("p5")
	r.complete(ref, cancelTimer("t2"), cmd(enumspb.COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK,
		&commandpb.RequestCancelActivityTaskCommandAttributes{ScheduledEventId: 6}))
	r.checkRebuild("transient task completed, timer and activity cancelled")
	r.record(Signal(r.s, SignalInput{Name: "s2"}, DefaultLimits, r.now))
	ref = r.startWFT("p6")
	r.advance(time.Minute)
	r.record(TimeoutWorkflowTask(r.s, ref.ScheduledEventID, ref.Attempt, r.now))
	r.checkRebuild("workflow task timed out")
	r.complete(r.startWFT("p7"), completeWorkflow())
	if r.s.Running() {
		t.Fatal("run should be closed")
	}
	r.checkRebuild("closed")
}

// Children, external signals and cancels, sticky tasks, updates, a parent
// and continue-as-new rebuild too.
func TestRebuildChildrenExternalsUpdatesAndParents(t *testing.T) {
	r := newRun(t, nil)
	r.s, r.history = nil, nil
	s, out := Start(StartInput{NamespaceID: "ns", RunID: "run", Request: r.startRequest(),
		Parent:         &ParentInfo{NamespaceID: "pns", Namespace: "parent-ns", WorkflowID: "p", RunID: "prun", InitiatedEventID: 7},
		RootWorkflowID: "root", RootRunID: "rootrun", Attempt: 2, FirstRunID: "first",
		LastCompletionResult: &commonpb.Payloads{Payloads: []*commonpb.Payload{payload("last")}}}, r.now)
	r.s = s
	r.record(out, nil)
	r.checkRebuild("child run started")

	child := func(id string) *commandpb.Command {
		return cmd(enumspb.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION, &commandpb.StartChildWorkflowExecutionCommandAttributes{
			WorkflowId: id, WorkflowType: &commonpb.WorkflowType{Name: "C"}})
	}
	sig := cmd(enumspb.COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION, &commandpb.SignalExternalWorkflowExecutionCommandAttributes{
		Execution: &commonpb.WorkflowExecution{WorkflowId: "other"}, SignalName: "hi"})
	cancel := cmd(enumspb.COMMAND_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION, &commandpb.RequestCancelExternalWorkflowExecutionCommandAttributes{WorkflowId: "other"})
	out2, _, err := CompleteWorkflowTask(r.s, CompleteInput{Ref: r.startWFT("p1"), Commands: []*commandpb.Command{child("c1"), child("c2"), child("c3"), sig, cancel},
		StickyTaskQueue: "sticky", StickyScheduleToStart: time.Second}, DefaultLimits, r.now)
	r.record(out2, err)
	r.checkRebuild("children and externals initiated")
	r.record(ChildStarted(r.s, 5, "cns", "c1run", r.now))
	r.record(ChildStartFailed(r.s, 6, "cns", enumspb.START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_WORKFLOW_ALREADY_EXISTS, r.now))
	r.record(ExternalSignalDone(r.s, 8, "ons", enumspb.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_UNSPECIFIED, r.now))
	if !r.s.WorkflowTask.Sticky {
		t.Fatal("the task after a sticky completion should be sticky")
	}
	r.checkRebuild("child started, child failed, external signal done, sticky task")
	closeEv := &historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
		Attributes: &historypb.HistoryEvent_WorkflowExecutionCompletedEventAttributes{WorkflowExecutionCompletedEventAttributes: &historypb.WorkflowExecutionCompletedEventAttributes{}}}
	r.record(ChildClosed(r.s, 5, "cns", "c1run", closeEv, r.now))
	r.record(ExternalCancelDone(r.s, 9, "ons", enumspb.CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND, r.now))
	r.checkRebuild("child closed, external cancel failed")

	req := &updatepb.Request{Meta: &updatepb.Meta{UpdateId: "u1"}, Input: &updatepb.Input{Name: "add"}}
	r.record(AdmitUpdate(r.s, req, DefaultLimits, r.now))
	ref := r.startWFT("p2")
	accept := updateMsg(t, "u1", "/accept", &updatepb.Acceptance{AcceptedRequestMessageId: "u1/request", AcceptedRequest: req})
	out3, _, err := CompleteWorkflowTask(r.s, CompleteInput{Ref: ref, Commands: []*commandpb.Command{protocolCommand("u1/accept")},
		Messages: []*protocolpb.Message{accept}}, DefaultLimits, r.now)
	r.record(out3, err)
	r.checkRebuild("update accepted")
	respond := updateMsg(t, "u1", "/complete", &updatepb.Response{Meta: &updatepb.Meta{UpdateId: "u1"},
		Outcome: &updatepb.Outcome{Value: &updatepb.Outcome_Success{Success: &commonpb.Payloads{}}}})
	r.record(Signal(r.s, SignalInput{Name: "go"}, DefaultLimits, r.now))
	out4, _, err := CompleteWorkflowTask(r.s, CompleteInput{Ref: r.startWFT("p3"), Commands: []*commandpb.Command{protocolCommand("u1/complete"),
		cmd(enumspb.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION, &commandpb.ContinueAsNewWorkflowExecutionCommandAttributes{})},
		Messages: []*protocolpb.Message{respond}, NextRunID: "next"}, DefaultLimits, r.now)
	r.record(out4, err)
	if r.s.Execution.Status != enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW {
		t.Fatalf("want continued-as-new, got %v", r.s.Execution.Status)
	}
	r.checkRebuild("update completed, continued as new")
}

func TestRebuildRejectsBrokenHistories(t *testing.T) {
	r := newRun(t, nil)
	r.complete(r.startWFT("p"))
	cases := map[string][]*historypb.HistoryEvent{
		"empty":        nil,
		"no start":     r.history[1:],
		"gap":          {r.history[0], r.history[2]},
		"after close":  append(append([]*historypb.HistoryEvent(nil), r.history...), closedEvent(5), closedEvent(6)),
		"unknown type": {r.history[0], {EventId: 2, EventType: enumspb.EVENT_TYPE_NEXUS_OPERATION_SCHEDULED}},
	}
	for name, evs := range cases {
		if _, err := Rebuild(evs, "ns", "run"); err == nil {
			t.Errorf("%s: Rebuild accepted a broken history", name)
		}
	}
}

func closedEvent(id int64) *historypb.HistoryEvent {
	return &historypb.HistoryEvent{EventId: id, EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
		Attributes: &historypb.HistoryEvent_WorkflowExecutionTerminatedEventAttributes{WorkflowExecutionTerminatedEventAttributes: &historypb.WorkflowExecutionTerminatedEventAttributes{}}}
}
