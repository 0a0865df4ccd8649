package statemachine

import (
	"bytes"
	"testing"
	"time"

	commandpb "go.temporal.io/api/command/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	protocolpb "go.temporal.io/api/protocol/v1"
	updatepb "go.temporal.io/api/update/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/types/known/durationpb"
)

func cancelActivity(scheduledEventID int64) *commandpb.Command {
	return &commandpb.Command{CommandType: enumspb.COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK,
		Attributes: &commandpb.Command_RequestCancelActivityTaskCommandAttributes{
			RequestCancelActivityTaskCommandAttributes: &commandpb.RequestCancelActivityTaskCommandAttributes{ScheduledEventId: scheduledEventID}}}
}

func updateRequest(id string) *updatepb.Request {
	return &updatepb.Request{Meta: &updatepb.Meta{UpdateId: id}, Input: &updatepb.Input{Name: "add"}}
}

// The Go SDK cancels an activity it schedules in the same completion,
// naming the event ID the schedule gets (WorkflowTaskCompleted + 1).
func TestCancelOfActivityScheduledInSameBatch(t *testing.T) {
	r := newRun(t, nil)
	ref := r.startWFT("p1")
	res := r.complete(ref, scheduleActivity("a", time.Minute, nil), cancelActivity(5), completeWorkflow())
	if res.Rejected != "" {
		t.Fatalf("rejected: %s", res.Rejected)
	}
	r.wantTypes(4, evWFTDone, evActSched, enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED,
		enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCELED, evCompleted)
	if c := r.history[6].GetActivityTaskCanceledEventAttributes(); c.GetScheduledEventId() != 5 || c.GetLatestCancelRequestedEventId() != 6 {
		t.Fatalf("canceled event: %v", c)
	}
}

// A cancel naming an ID the batch does not create is still a bad command,
// found only while applying: nothing of the batch stays applied.
func TestProvisionalCancelThatFailsRestoresTheState(t *testing.T) {
	r := newRun(t, nil)
	ref := r.startWFT("p1")
	before := mustEncode(r.s)
	res := r.complete(ref, startTimer("t", time.Second), scheduleActivity("a", time.Minute, nil), cancelActivity(7))
	if res.Rejected != "no pending activity with scheduled event ID 7" {
		t.Fatalf("Rejected = %q", res.Rejected)
	}
	r.wantTypes(1, evStarted, evWFTSched, evWFTStarted, evWFTFailed)
	if len(r.s.Timers) != 0 || len(r.s.Activities) != 0 {
		t.Fatalf("the bad batch left state behind: timers %v activities %v", r.s.Timers, r.s.Activities)
	}
	// Apart from the failure and its retry, the state is the one before.
	fresh := newRun(t, nil)
	freshRef := fresh.startWFT("p1")
	if !bytes.Equal(before, mustEncode(fresh.s)) {
		t.Fatal("test setup: runs differ")
	}
	fresh.record(FailWorkflowTask(fresh.s, FailInput{Ref: freshRef, Cause: enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_REQUEST_CANCEL_ACTIVITY_ATTRIBUTES,
		Failure: &failurepb.Failure{Message: res.Rejected, Source: "Server"}, Identity: "worker"}, r.now))
	if !bytes.Equal(mustEncode(r.s), mustEncode(fresh.s)) {
		t.Fatalf("rejected batch state differs from a plain failure:\n%s\n%s", mustEncode(r.s), mustEncode(fresh.s))
	}
}

func TestCancelOfUnknownActivityWithoutSchedulesIsRejectedUpFront(t *testing.T) {
	r := newRun(t, nil)
	res := r.complete(r.startWFT("p1"), cancelActivity(5))
	if res.Rejected != "no pending activity with scheduled event ID 5" {
		t.Fatalf("Rejected = %q", res.Rejected)
	}
}

func TestUpdateRejectionAfterCloseIsAnswered(t *testing.T) {
	r := newRun(t, nil)
	r.complete(r.startWFT("p1"))
	r.record(AdmitUpdate(r.s, updateRequest("u"), DefaultLimits, r.now))
	ref := r.startWFT("p2")
	reject := updateMsg(t, "u", "/reject", &updatepb.Rejection{RejectedRequestMessageId: "u/request", Failure: &failurepb.Failure{Message: "no"}})
	out, _, err := CompleteWorkflowTask(r.s, CompleteInput{Ref: ref, Commands: []*commandpb.Command{completeWorkflow()},
		Messages: []*protocolpb.Message{reject}}, DefaultLimits, r.now)
	r.record(out, err)
	if st, o, _ := UpdateStatus(r.s, "u"); st != UpdateCompleted || o.GetFailure().GetMessage() != "no" {
		t.Fatalf("the rejection was lost: %v %v", st, o)
	}
	r.wantTypes(5, evWFTSched, evWFTStarted, evWFTDone, evCompleted)
}

func TestUnhandledCommandIsRejectedWithItsCauseName(t *testing.T) {
	r := newRun(t, nil)
	ref := r.startWFT("p1")
	r.record(Signal(r.s, SignalInput{Name: "s", RequestID: "r"}, DefaultLimits, r.now))
	out, res, err := CompleteWorkflowTask(r.s, CompleteInput{Ref: ref, Commands: []*commandpb.Command{completeWorkflow()}, ReturnNew: true},
		DefaultLimits, r.now)
	r.record(out, err)
	if res.Rejected != "UnhandledCommand" || out.NewWorkflowTaskStarted || r.s.WorkflowTask.Started() {
		t.Fatalf("want a refused completion and a new task left for dispatch: %+v %+v", res, r.s.WorkflowTask)
	}
	if f := r.history[3].GetWorkflowTaskFailedEventAttributes().GetFailure(); f.GetMessage() != "UnhandledCommand" {
		t.Fatalf("failure %v", f)
	}
}

func TestSpeculativeTaskThatOnlyRejectsIsDropped(t *testing.T) {
	r := newRun(t, nil)
	r.complete(r.startWFT("p1"))
	r.record(AdmitUpdate(r.s, updateRequest("u1"), DefaultLimits, r.now))
	if wt := r.s.WorkflowTask; wt == nil || !wt.Speculative || len(r.last.Events) != 0 || hasTask(r.last, TaskDispatchWorkflowTask) == nil {
		t.Fatalf("want a dispatched speculative task and no event: %+v %v", r.s.WorkflowTask, r.last.Events)
	}
	ref := r.startWFT("p2")
	if len(TransientEvents(r.s)) != 2 || len(UpdateMessages(r.s)) != 1 {
		t.Fatal("the worker must see the task's events and the update")
	}
	reject := updateMsg(t, "u1", "/reject", &updatepb.Rejection{RejectedRequestMessageId: "u1/request", Failure: &failurepb.Failure{Message: "no"}})
	out, res, err := CompleteWorkflowTask(r.s, CompleteInput{Ref: ref, Messages: []*protocolpb.Message{reject}}, DefaultLimits, r.now)
	r.record(out, err)
	if len(out.Events) != 0 || r.s.WorkflowTask != nil || res.ResetHistoryEventID != 3 {
		t.Fatalf("want nothing written and a reset to event 3: %v %+v %+v", out.Events, r.s.WorkflowTask, res)
	}
	if st, _, _ := UpdateStatus(r.s, "u1"); st != UpdateCompleted {
		t.Fatal("the rejection was lost")
	}

	// Accepting needs the task written.
	r.record(AdmitUpdate(r.s, updateRequest("u2"), DefaultLimits, r.now))
	ref = r.startWFT("p3")
	accept := updateMsg(t, "u2", "/accept", &updatepb.Acceptance{AcceptedRequestMessageId: "u2/request", AcceptedRequest: updateRequest("u2")})
	out, res, err = CompleteWorkflowTask(r.s, CompleteInput{Ref: ref, Commands: []*commandpb.Command{protocolCommand("u2/accept")},
		Messages: []*protocolpb.Message{accept}}, DefaultLimits, r.now)
	r.record(out, err)
	r.wantTypes(5, evWFTSched, evWFTStarted, evWFTDone, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED)
	if res.ResetHistoryEventID != 0 || r.s.LastCompletedWFTStartedEventID != 6 {
		t.Fatalf("a written task is no reset: %+v", res)
	}
}

func TestSpeculativeTaskFailureIsWritten(t *testing.T) {
	r := newRun(t, nil)
	r.complete(r.startWFT("p1"))
	r.record(AdmitUpdate(r.s, updateRequest("u1"), DefaultLimits, r.now))
	ref := r.startWFT("p2")
	r.record(FailWorkflowTask(r.s, FailInput{Ref: ref, Cause: enumspb.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE}, r.now))
	r.wantTypes(5, evWFTSched, evWFTStarted, evWFTFailed)
}

func TestAcceptedUpdateFailsWhenTheRunCloses(t *testing.T) {
	r := newRun(t, nil)
	r.complete(r.startWFT("p1"))
	r.record(AdmitUpdate(r.s, updateRequest("u"), DefaultLimits, r.now))
	ref := r.startWFT("p2")
	accept := updateMsg(t, "u", "/accept", &updatepb.Acceptance{AcceptedRequestMessageId: "u/request", AcceptedRequest: updateRequest("u")})
	out, _, err := CompleteWorkflowTask(r.s, CompleteInput{Ref: ref, Commands: []*commandpb.Command{protocolCommand("u/accept"), completeWorkflow()},
		Messages: []*protocolpb.Message{accept}}, DefaultLimits, r.now)
	r.record(out, err)
	st, o, _ := UpdateStatus(r.s, "u")
	f := o.GetFailure()
	if st != UpdateCompleted || f.GetApplicationFailureInfo().GetType() != "AcceptedUpdateCompletedWorkflow" ||
		f.GetMessage() != "Workflow Update failed because the Workflow completed before the Update completed." ||
		!f.GetApplicationFailureInfo().GetNonRetryable() {
		t.Fatalf("outcome %v %v", st, o)
	}
}

func TestUpdateDuringStartDelayWaitsForTheFirstTask(t *testing.T) {
	r := newRun(t, func(req *workflowservice.StartWorkflowExecutionRequest) {
		req.WorkflowStartDelay = durationpb.New(time.Minute)
	})
	r.record(AdmitUpdate(r.s, updateRequest("u"), DefaultLimits, r.now))
	if r.s.WorkflowTask != nil || len(r.last.Tasks) != 0 {
		t.Fatalf("an update must not cut the start delay short: %+v", r.last.Tasks)
	}
	r.advance(time.Minute)
	r.record(FireWorkflowBackoff(r.s, r.now))
	r.startWFT("p1")
	if len(UpdateMessages(r.s)) != 1 {
		t.Fatal("the first task must carry the update")
	}
}

// Search attributes a validator refuses fail the task with
// BAD_SEARCH_ATTRIBUTES on start-child and continue-as-new commands too.
func TestCommandSearchAttributesValidated(t *testing.T) {
	bad := &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{"NoSuchAttribute": {Data: []byte(`"x"`)}}}
	validate := func(sa *commonpb.SearchAttributes) string {
		if sa.GetIndexedFields()["NoSuchAttribute"] != nil {
			return "search attribute NoSuchAttribute is not defined"
		}
		return ""
	}
	cmds := map[string]*commandpb.Command{
		"child": {CommandType: enumspb.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION,
			Attributes: &commandpb.Command_StartChildWorkflowExecutionCommandAttributes{StartChildWorkflowExecutionCommandAttributes: &commandpb.StartChildWorkflowExecutionCommandAttributes{
				WorkflowId: "c", WorkflowType: &commonpb.WorkflowType{Name: "C"}, SearchAttributes: bad}}},
		"continue-as-new": {CommandType: enumspb.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION,
			Attributes: &commandpb.Command_ContinueAsNewWorkflowExecutionCommandAttributes{ContinueAsNewWorkflowExecutionCommandAttributes: &commandpb.ContinueAsNewWorkflowExecutionCommandAttributes{
				WorkflowType: &commonpb.WorkflowType{Name: "W"}, SearchAttributes: bad}}},
	}
	for name, c := range cmds {
		t.Run(name, func(t *testing.T) {
			r := newRun(t, nil)
			ref := r.startWFT("p1")
			out, res, err := CompleteWorkflowTask(r.s, CompleteInput{Ref: ref, Commands: []*commandpb.Command{c}, ValidateSearchAttributes: validate}, DefaultLimits, r.now)
			r.record(out, err)
			if res.Rejected != "search attribute NoSuchAttribute is not defined" {
				t.Fatalf("Rejected = %q", res.Rejected)
			}
			r.wantTypes(1, evStarted, evWFTSched, evWFTStarted, evWFTFailed)
			if cause := r.history[3].GetWorkflowTaskFailedEventAttributes().GetCause(); cause != enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES {
				t.Fatalf("cause %v", cause)
			}
		})
	}
}
