package statemachine

import (
	"testing"

	commandpb "go.temporal.io/api/command/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	protocolpb "go.temporal.io/api/protocol/v1"
	updatepb "go.temporal.io/api/update/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

func updateMsg(t *testing.T, id, suffix string, body proto.Message) *protocolpb.Message {
	b, err := anypb.New(body)
	if err != nil {
		t.Fatal(err)
	}
	return &protocolpb.Message{Id: id + suffix, ProtocolInstanceId: id, Body: b}
}

func protocolCommand(msgID string) *commandpb.Command {
	return &commandpb.Command{CommandType: enumspb.COMMAND_TYPE_PROTOCOL_MESSAGE,
		Attributes: &commandpb.Command_ProtocolMessageCommandAttributes{ProtocolMessageCommandAttributes: &commandpb.ProtocolMessageCommandAttributes{MessageId: msgID}}}
}

func TestUpdateAcceptedCompletedAndRejected(t *testing.T) {
	r := newRun(t, nil)
	r.complete(r.startWFT("p1"))
	req := func(id string) *updatepb.Request {
		return &updatepb.Request{Meta: &updatepb.Meta{UpdateId: id}, Input: &updatepb.Input{Name: "add"}}
	}
	r.record(AdmitUpdate(r.s, req("u1"), DefaultLimits, r.now))
	if r.s.WorkflowTask == nil {
		t.Fatal("an admitted update must schedule a workflow task")
	}
	r.record(AdmitUpdate(r.s, req("u1"), DefaultLimits, r.now))
	if !r.last.NoChange {
		t.Fatal("the same update ID twice must be admitted once")
	}
	r.record(AdmitUpdate(r.s, req("u2"), DefaultLimits, r.now))
	ref := r.startWFT("p2")
	msgs := UpdateMessages(r.s)
	if len(msgs) != 2 || msgs[0].GetEventId() != ref.StartedEventID-1 {
		t.Fatalf("the started task must carry both updates before its started event: %v", msgs)
	}
	accept := updateMsg(t, "u1", "/accept", &updatepb.Acceptance{AcceptedRequestMessageId: "u1/request", AcceptedRequest: req("u1")})
	respond := updateMsg(t, "u1", "/complete", &updatepb.Response{Meta: &updatepb.Meta{UpdateId: "u1"},
		Outcome: &updatepb.Outcome{Value: &updatepb.Outcome_Success{Success: &commonpb.Payloads{}}}})
	reject := updateMsg(t, "u2", "/reject", &updatepb.Rejection{RejectedRequestMessageId: "u2/request", Failure: &failurepb.Failure{Message: "no"}})
	out, _, err := CompleteWorkflowTask(r.s, CompleteInput{Ref: ref,
		Commands: []*commandpb.Command{protocolCommand("u1/accept"), protocolCommand("u1/complete")},
		Messages: []*protocolpb.Message{accept, respond, reject}}, DefaultLimits, r.now)
	r.record(out, err)
	r.wantTypes(7, evWFTDone, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED)
	if st, o, _ := UpdateStatus(r.s, "u1"); st != UpdateCompleted || o.GetSuccess() == nil {
		t.Fatalf("u1: %v %v", st, o)
	}
	if st, o, _ := UpdateStatus(r.s, "u2"); st != UpdateCompleted || o.GetFailure().GetMessage() != "no" {
		t.Fatalf("u2 must be completed by its rejection: %v %v", st, o)
	}
	lim := DefaultLimits
	lim.MaxTotalUpdates = 2
	if _, err := AdmitUpdate(r.s, req("u3"), lim, r.now); err != ErrTooManyUpdates {
		t.Fatalf("third update over a total of 2: %v", err)
	}
}

func TestUnansweredUpdateGoesWithTheNextTask(t *testing.T) {
	r := newRun(t, nil)
	r.complete(r.startWFT("p1"))
	r.record(AdmitUpdate(r.s, &updatepb.Request{Meta: &updatepb.Meta{UpdateId: "u"}}, DefaultLimits, r.now))
	ref := r.startWFT("p2")
	r.record(FailWorkflowTask(r.s, FailInput{Ref: ref, Cause: enumspb.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE}, r.now))
	r.startWFT("p3")
	if len(UpdateMessages(r.s)) != 1 {
		t.Fatal("an update of a failed task must be delivered again")
	}
}
