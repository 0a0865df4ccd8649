package statemachine

import (
	"time"

	commandpb "go.temporal.io/api/command/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
)

func (m *mutation) signalExternal(a *commandpb.SignalExternalWorkflowExecutionCommandAttributes, completedID int64) {
	attrs := &historypb.SignalExternalWorkflowExecutionInitiatedEventAttributes{
		WorkflowTaskCompletedEventId: completedID, Namespace: a.GetNamespace(), WorkflowExecution: a.GetExecution(),
		SignalName: a.GetSignalName(), Input: a.GetInput(), Control: a.GetControl(),
		ChildWorkflowOnly: a.GetChildWorkflowOnly(), Header: a.GetHeader(),
	}
	ev := m.event(enumspb.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED)
	ev.Attributes = &historypb.HistoryEvent_SignalExternalWorkflowExecutionInitiatedEventAttributes{SignalExternalWorkflowExecutionInitiatedEventAttributes: attrs}
	id := m.write(ev)
	if m.s.ExternalSignals == nil {
		m.s.ExternalSignals = map[int64]*ExternalInfo{}
	}
	m.s.ExternalSignals[id] = &ExternalInfo{InitiatedEventID: id, Namespace: a.GetNamespace(),
		WorkflowID: a.GetExecution().GetWorkflowId(), RunID: a.GetExecution().GetRunId(), Initiated: mustMarshal(attrs)}
	m.task(Task{Type: TaskSignalExternal, EventID: id})
}

func (m *mutation) cancelExternal(a *commandpb.RequestCancelExternalWorkflowExecutionCommandAttributes, completedID int64) {
	exec := &commonpb.WorkflowExecution{WorkflowId: a.GetWorkflowId(), RunId: a.GetRunId()}
	attrs := &historypb.RequestCancelExternalWorkflowExecutionInitiatedEventAttributes{
		WorkflowTaskCompletedEventId: completedID, Namespace: a.GetNamespace(), WorkflowExecution: exec,
		Control: a.GetControl(), ChildWorkflowOnly: a.GetChildWorkflowOnly(), Reason: a.GetReason(),
	}
	ev := m.event(enumspb.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED)
	ev.Attributes = &historypb.HistoryEvent_RequestCancelExternalWorkflowExecutionInitiatedEventAttributes{RequestCancelExternalWorkflowExecutionInitiatedEventAttributes: attrs}
	id := m.write(ev)
	if m.s.ExternalCancels == nil {
		m.s.ExternalCancels = map[int64]*ExternalInfo{}
	}
	m.s.ExternalCancels[id] = &ExternalInfo{InitiatedEventID: id, Namespace: a.GetNamespace(),
		WorkflowID: a.GetWorkflowId(), RunID: a.GetRunId(), Initiated: mustMarshal(attrs)}
	m.task(Task{Type: TaskCancelExternal, EventID: id})
}

// PendingSignal returns a pending external signal's initiated attributes
// (nil when done or the run closed).
func PendingSignal(s *State, initiatedID int64) *historypb.SignalExternalWorkflowExecutionInitiatedEventAttributes {
	info, ok := s.ExternalSignals[initiatedID]
	if !s.Running() || !ok {
		return nil
	}
	a := &historypb.SignalExternalWorkflowExecutionInitiatedEventAttributes{}
	mustUnmarshal(info.Initiated, a)
	return a
}

// PendingCancel returns a pending external cancel's initiated attributes.
func PendingCancel(s *State, initiatedID int64) *historypb.RequestCancelExternalWorkflowExecutionInitiatedEventAttributes {
	info, ok := s.ExternalCancels[initiatedID]
	if !s.Running() || !ok {
		return nil
	}
	a := &historypb.RequestCancelExternalWorkflowExecutionInitiatedEventAttributes{}
	mustUnmarshal(info.Initiated, a)
	return a
}

// ExternalSignalDone records the outcome of an external signal: delivered,
// or failed with cause (cause UNSPECIFIED means delivered).
func ExternalSignalDone(s *State, initiatedID int64, namespaceID string, cause enumspb.SignalExternalWorkflowExecutionFailedCause, now time.Time) (Output, error) {
	a := PendingSignal(s, initiatedID)
	if a == nil {
		return Output{NoChange: true}, nil
	}
	delete(s.ExternalSignals, initiatedID)
	m := newMutation(s, now)
	if cause == enumspb.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_UNSPECIFIED {
		ev := m.event(enumspb.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED)
		ev.Attributes = &historypb.HistoryEvent_ExternalWorkflowExecutionSignaledEventAttributes{ExternalWorkflowExecutionSignaledEventAttributes: &historypb.ExternalWorkflowExecutionSignaledEventAttributes{
			InitiatedEventId: initiatedID, Namespace: a.GetNamespace(), NamespaceId: namespaceID,
			WorkflowExecution: a.GetWorkflowExecution(), Control: a.GetControl()}}
		m.deliver(ev)
		return m.out, nil
	}
	ev := m.event(enumspb.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED)
	ev.Attributes = &historypb.HistoryEvent_SignalExternalWorkflowExecutionFailedEventAttributes{SignalExternalWorkflowExecutionFailedEventAttributes: &historypb.SignalExternalWorkflowExecutionFailedEventAttributes{
		Cause: cause, WorkflowTaskCompletedEventId: a.GetWorkflowTaskCompletedEventId(), Namespace: a.GetNamespace(),
		NamespaceId: namespaceID, WorkflowExecution: a.GetWorkflowExecution(), InitiatedEventId: initiatedID, Control: a.GetControl()}}
	m.deliver(ev)
	return m.out, nil
}

// ExternalCancelDone records the outcome of an external cancel request.
func ExternalCancelDone(s *State, initiatedID int64, namespaceID string, cause enumspb.CancelExternalWorkflowExecutionFailedCause, now time.Time) (Output, error) {
	a := PendingCancel(s, initiatedID)
	if a == nil {
		return Output{NoChange: true}, nil
	}
	delete(s.ExternalCancels, initiatedID)
	m := newMutation(s, now)
	if cause == enumspb.CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_UNSPECIFIED {
		ev := m.event(enumspb.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED)
		ev.Attributes = &historypb.HistoryEvent_ExternalWorkflowExecutionCancelRequestedEventAttributes{ExternalWorkflowExecutionCancelRequestedEventAttributes: &historypb.ExternalWorkflowExecutionCancelRequestedEventAttributes{
			InitiatedEventId: initiatedID, Namespace: a.GetNamespace(), NamespaceId: namespaceID, WorkflowExecution: a.GetWorkflowExecution()}}
		m.deliver(ev)
		return m.out, nil
	}
	ev := m.event(enumspb.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED)
	ev.Attributes = &historypb.HistoryEvent_RequestCancelExternalWorkflowExecutionFailedEventAttributes{RequestCancelExternalWorkflowExecutionFailedEventAttributes: &historypb.RequestCancelExternalWorkflowExecutionFailedEventAttributes{
		Cause: cause, WorkflowTaskCompletedEventId: a.GetWorkflowTaskCompletedEventId(), Namespace: a.GetNamespace(),
		NamespaceId: namespaceID, WorkflowExecution: a.GetWorkflowExecution(), InitiatedEventId: initiatedID, Control: a.GetControl()}}
	m.deliver(ev)
	return m.out, nil
}
