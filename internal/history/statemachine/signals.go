package statemachine

import (
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
)

// SignalInput is one signal to a run.
type SignalInput struct {
	Name      string
	Input     *commonpb.Payloads
	Header    *commonpb.Header
	Identity  string
	RequestID string
	// EndsStartDelay makes a signal to a run whose first workflow task is
	// still delayed schedule that task at once (SignalWithStart on an open
	// run does); other signals are written and wait for the delay.
	EndsStartDelay bool
}

// Signal records a signal (buffered if a workflow task is in flight). A
// repeated request ID is NoChange. A signal during a start delay does not
// end it unless in.EndsStartDelay.
func Signal(s *State, in SignalInput, lim Limits, now time.Time) (Output, error) {
	if !s.Running() {
		return Output{}, ErrClosed
	}
	if in.RequestID != "" && s.SignalRequestIDs[in.RequestID] {
		return Output{NoChange: true}, nil
	}
	if lim.MaxSignals > 0 && s.SignalCount >= lim.MaxSignals {
		return Output{}, ErrSignalLimit
	}
	m := newMutation(s, now)
	if awaitingFirstWorkflowTask(s) && !in.EndsStartDelay {
		m.write(m.signalEvent(in))
		return m.out, nil
	}
	m.deliver(m.signalEvent(in))
	return m.out, nil
}

// signalEvent records the signal's request ID and count and returns its
// event.
func (m *mutation) signalEvent(in SignalInput) *historypb.HistoryEvent {
	if in.RequestID != "" {
		if m.s.SignalRequestIDs == nil {
			m.s.SignalRequestIDs = map[string]bool{}
		}
		m.s.SignalRequestIDs[in.RequestID] = true
	}
	m.s.SignalCount++
	ev := m.event(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
	ev.Attributes = &historypb.HistoryEvent_WorkflowExecutionSignaledEventAttributes{
		WorkflowExecutionSignaledEventAttributes: &historypb.WorkflowExecutionSignaledEventAttributes{
			SignalName: in.Name, Input: in.Input, Identity: in.Identity, Header: in.Header, RequestId: in.RequestID,
		},
	}
	return ev
}

// StartWithSignal is Start with the signal written before the first
// workflow task (SignalWithStartWorkflowExecution on a new run).
func StartWithSignal(in StartInput, sig SignalInput, now time.Time) (*State, Output) {
	return start(in, now, func(m *mutation) { m.write(m.signalEvent(sig)) })
}

// RequestCancel records a cancellation request; the workflow decides what
// to do with it. Cancellation is idempotent: once requested, further
// requests are NoChange whatever their request ID.
func RequestCancel(s *State, requestID, reason, identity string, now time.Time) (Output, error) {
	if !s.Running() {
		return Output{}, ErrClosed
	}
	if s.CancelRequested {
		return Output{NoChange: true}, nil
	}
	m := newMutation(s, now)
	s.CancelRequested, s.CancelRequestID = true, requestID
	ev := m.event(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED)
	ev.Attributes = &historypb.HistoryEvent_WorkflowExecutionCancelRequestedEventAttributes{
		WorkflowExecutionCancelRequestedEventAttributes: &historypb.WorkflowExecutionCancelRequestedEventAttributes{
			Cause: reason, Identity: identity,
		},
	}
	m.deliver(ev)
	return m.out, nil
}

// Terminate closes the run at once with WorkflowExecutionTerminated.
func Terminate(s *State, reason string, details *commonpb.Payloads, identity string, now time.Time) (Output, error) {
	if !s.Running() {
		return Output{}, ErrClosed
	}
	m := newMutation(s, now)
	m.terminate(reason, details, identity)
	return m.out, nil
}

func (m *mutation) terminate(reason string, details *commonpb.Payloads, identity string) {
	ev := m.event(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED)
	ev.Attributes = &historypb.HistoryEvent_WorkflowExecutionTerminatedEventAttributes{
		WorkflowExecutionTerminatedEventAttributes: &historypb.WorkflowExecutionTerminatedEventAttributes{
			Reason: reason, Details: details, Identity: identity,
		},
	}
	m.close(ev, enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED)
}

// modifyProperties applies ModifyWorkflowProperties: upserted memo fields
// replace old ones; a field with an empty payload removes it.
func (m *mutation) modifyProperties(memo *commonpb.Memo, completedID int64) {
	mergeMemo(m.s, memo)
	m.task(Task{Type: TaskVisibility})
	ev := m.event(enumspb.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED)
	ev.Attributes = &historypb.HistoryEvent_WorkflowPropertiesModifiedEventAttributes{
		WorkflowPropertiesModifiedEventAttributes: &historypb.WorkflowPropertiesModifiedEventAttributes{
			WorkflowTaskCompletedEventId: completedID, UpsertedMemo: memo,
		},
	}
	m.write(ev)
}
