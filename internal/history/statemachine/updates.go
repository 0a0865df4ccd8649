package statemachine

import (
	"errors"
	"time"

	commandpb "go.temporal.io/api/command/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	protocolpb "go.temporal.io/api/protocol/v1"
	updatepb "go.temporal.io/api/update/v1"
	"google.golang.org/protobuf/types/known/anypb"
)

// UpdateStage is where a workflow update is.
type UpdateStage int32

const (
	// UpdateAdmitted: accepted by the server, not yet given to a worker.
	UpdateAdmitted UpdateStage = 1
	// UpdateSent: carried by workflow task SentIn, awaiting the worker.
	UpdateSent UpdateStage = 2
	// UpdateAccepted: the worker's validator accepted it.
	UpdateAccepted UpdateStage = 3
	// UpdateCompleted: it has an outcome (rejection or result).
	UpdateCompleted UpdateStage = 4
)

// UpdateInfo is one update of the run, kept after completion for dedup.
type UpdateInfo struct {
	Stage UpdateStage `json:"stage"`
	// Request is the proto-encoded updatepb.Request.
	Request         []byte `json:"request,omitempty"`
	SentIn          int64  `json:"sent_in,omitempty"`
	AcceptedEventID int64  `json:"accepted_event_id,omitempty"`
	// Outcome is the proto-encoded updatepb.Outcome once completed.
	Outcome []byte `json:"outcome,omitempty"`
}

var (
	// ErrTooManyInFlightUpdates: the run has the maximum of unfinished updates.
	ErrTooManyInFlightUpdates = errors.New("the workflow has too many in-flight updates")
	// ErrTooManyUpdates: the run accepted its maximum number of updates.
	ErrTooManyUpdates = errors.New("the workflow has received the maximum number of updates")
)

// AdmitUpdate registers an update and makes sure a workflow task will carry
// it. An update ID seen before is NoChange (the caller waits on the
// existing one).
func AdmitUpdate(s *State, req *updatepb.Request, lim Limits, now time.Time) (Output, error) {
	if !s.Running() {
		return Output{}, ErrClosed
	}
	id := req.GetMeta().GetUpdateId()
	if _, ok := s.Updates[id]; ok {
		return Output{NoChange: true}, nil
	}
	inFlight := 0
	for _, u := range s.Updates {
		if u.Stage != UpdateCompleted {
			inFlight++
		}
	}
	if lim.MaxInFlightUpdates > 0 && inFlight >= lim.MaxInFlightUpdates {
		return Output{}, ErrTooManyInFlightUpdates
	}
	if lim.MaxTotalUpdates > 0 && len(s.Updates) >= lim.MaxTotalUpdates {
		return Output{}, ErrTooManyUpdates
	}
	if s.Updates == nil {
		s.Updates = map[string]*UpdateInfo{}
	}
	s.Updates[id] = &UpdateInfo{Stage: UpdateAdmitted, Request: mustMarshal(req)}
	m := newMutation(s, now)
	if s.WorkflowTask == nil && !awaitsFirstWorkflowTask(s, now) {
		m.scheduleSpeculativeWorkflowTask()
	}
	return m.out, nil
}

// awaitsFirstWorkflowTask reports a run still in its start delay (or
// backoff): an update admitted then rides on the first workflow task.
func awaitsFirstWorkflowTask(s *State, now time.Time) bool {
	return s.NextEventID == 2 && s.LastCompletedWFTStartedEventID == 0 && now.Before(s.Execution.ExecutionTime)
}

// dropsSpeculativeTask reports a completion of a speculative task that
// only rejects updates: as the reference, nothing of it is written.
func dropsSpeculativeTask(s *State, in CompleteInput) bool {
	if !s.WorkflowTask.Speculative || len(in.Commands) > 0 || len(in.Messages) == 0 || len(s.Buffered) > 0 || in.ForceCreate {
		return false
	}
	for _, msg := range in.Messages {
		if !msg.GetBody().MessageIs((*updatepb.Rejection)(nil)) {
			return false
		}
	}
	return true
}

// completeSpeculative drops a speculative task whose completion only
// rejects updates: the rejections reach their callers, the task's events
// are never written, and the worker is told to roll back to the last
// completed task's started event.
func completeSpeculative(s *State, in CompleteInput, lim Limits, now time.Time) (Output, CompleteResult, error) {
	m := newMutation(s, now)
	for _, msg := range in.Messages {
		m.applyUpdateMessage(msg, 0)
	}
	s.WorkflowTask = nil
	s.Execution.StickyTaskQueue = in.StickyTaskQueue
	s.Execution.StickyScheduleToStart = in.StickyScheduleToStart
	if m.readmitUpdates() {
		m.scheduleSpeculativeWorkflowTask()
		m.maybeReturnNew(in, lim)
	}
	return m.out, CompleteResult{ResetHistoryEventID: s.LastCompletedWFTStartedEventID}, nil
}

// acceptedUpdateCompletedWorkflow is the outcome the reference gives an
// accepted update whose run closed before the update completed.
func acceptedUpdateCompletedWorkflow() *updatepb.Outcome {
	return &updatepb.Outcome{Value: &updatepb.Outcome_Failure{Failure: &failurepb.Failure{
		Message: "Workflow Update failed because the Workflow completed before the Update completed.",
		Source:  "Server",
		FailureInfo: &failurepb.Failure_ApplicationFailureInfo{ApplicationFailureInfo: &failurepb.ApplicationFailureInfo{
			Type: "AcceptedUpdateCompletedWorkflow", NonRetryable: true,
		}},
	}}}
}

// abortAcceptedUpdates completes every accepted, unfinished update with
// that failure when the run closes: their callers were promised an outcome.
func (m *mutation) abortAcceptedUpdates() {
	for _, u := range m.s.Updates {
		if u.Stage == UpdateAccepted {
			u.Stage, u.Outcome = UpdateCompleted, mustMarshal(acceptedUpdateCompletedWorkflow())
		}
	}
}

// sendUpdates marks the admitted updates as carried by the starting task.
func (m *mutation) sendUpdates() {
	for _, u := range m.s.Updates {
		if u.Stage == UpdateAdmitted {
			u.Stage, u.SentIn = UpdateSent, m.s.WorkflowTask.ScheduledEventID
		}
	}
}

// readmitUpdates returns updates a task carried but the worker did not
// answer to the admitted stage, to go with the next task; it reports
// whether there were any.
func (m *mutation) readmitUpdates() bool {
	any := false
	for _, u := range m.s.Updates {
		if u.Stage == UpdateSent || u.Stage == UpdateAdmitted {
			u.Stage, u.SentIn, any = UpdateAdmitted, 0, true
		}
	}
	return any
}

// UpdateMessages are the protocol messages a started workflow task carries
// (its sent updates), sequenced just before its started event.
func UpdateMessages(s *State) []*protocolpb.Message {
	wt := s.WorkflowTask
	if wt == nil || !wt.Started() {
		return nil
	}
	var out []*protocolpb.Message
	for id, u := range s.Updates {
		if u.Stage != UpdateSent || u.SentIn != wt.ScheduledEventID {
			continue
		}
		req := &updatepb.Request{}
		mustUnmarshal(u.Request, req)
		body, err := anypb.New(req)
		if err != nil {
			panic("statemachine: wrap update request: " + err.Error())
		}
		out = append(out, &protocolpb.Message{
			Id: id + "/request", ProtocolInstanceId: id,
			SequencingId: &protocolpb.Message_EventId{EventId: wt.StartedEventID - 1}, Body: body,
		})
	}
	return out
}

// applyUpdateMessages applies the worker's update messages: those named by
// ProtocolMessage commands in command order (done by applyCommand), then
// the rest (rejections need no command).
func (m *mutation) applyUpdateMessage(msg *protocolpb.Message, completedID int64) {
	u, ok := m.s.Updates[msg.GetProtocolInstanceId()]
	if !ok {
		return
	}
	body, err := msg.GetBody().UnmarshalNew()
	if err != nil {
		return
	}
	if _, rejection := body.(*updatepb.Rejection); !rejection && !m.s.Running() {
		return // nothing is written after the close event
	}
	switch b := body.(type) {
	case *updatepb.Acceptance:
		if u.Stage != UpdateSent && u.Stage != UpdateAdmitted {
			return
		}
		ev := m.event(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED)
		ev.Attributes = &historypb.HistoryEvent_WorkflowExecutionUpdateAcceptedEventAttributes{WorkflowExecutionUpdateAcceptedEventAttributes: &historypb.WorkflowExecutionUpdateAcceptedEventAttributes{
			ProtocolInstanceId: msg.GetProtocolInstanceId(), AcceptedRequestMessageId: b.GetAcceptedRequestMessageId(),
			AcceptedRequestSequencingEventId: b.GetAcceptedRequestSequencingEventId(), AcceptedRequest: b.GetAcceptedRequest()}}
		u.Stage, u.AcceptedEventID = UpdateAccepted, m.write(ev)
	case *updatepb.Rejection:
		if u.Stage == UpdateAccepted || u.Stage == UpdateCompleted {
			return
		}
		u.Stage = UpdateCompleted
		u.Outcome = mustMarshal(&updatepb.Outcome{Value: &updatepb.Outcome_Failure{Failure: b.GetFailure()}})
	case *updatepb.Response:
		if u.Stage != UpdateAccepted {
			return
		}
		ev := m.event(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED)
		ev.Attributes = &historypb.HistoryEvent_WorkflowExecutionUpdateCompletedEventAttributes{WorkflowExecutionUpdateCompletedEventAttributes: &historypb.WorkflowExecutionUpdateCompletedEventAttributes{
			Meta: b.GetMeta(), AcceptedEventId: u.AcceptedEventID, Outcome: b.GetOutcome()}}
		m.write(ev)
		u.Stage, u.Outcome = UpdateCompleted, mustMarshal(b.GetOutcome())
	}
}

// applyMessages applies the messages no ProtocolMessage command named.
func (m *mutation) applyMessages(msgs []*protocolpb.Message, cmds []*commandpb.Command, completedID int64) {
	named := map[string]bool{}
	for _, c := range cmds {
		if id := c.GetProtocolMessageCommandAttributes().GetMessageId(); id != "" {
			named[id] = true
		}
	}
	for _, msg := range msgs {
		if !named[msg.GetId()] {
			m.applyUpdateMessage(msg, completedID)
		}
	}
}

// UpdateStatus reports an update's stage and outcome (nil until completed).
func UpdateStatus(s *State, updateID string) (UpdateStage, *updatepb.Outcome, bool) {
	u, ok := s.Updates[updateID]
	if !ok {
		return 0, nil, false
	}
	if u.Outcome == nil {
		return u.Stage, nil, true
	}
	out := &updatepb.Outcome{}
	mustUnmarshal(u.Outcome, out)
	return u.Stage, out, true
}
