package statemachine

import (
	"time"

	commandpb "go.temporal.io/api/command/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	sdkpb "go.temporal.io/api/sdk/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"google.golang.org/protobuf/types/known/durationpb"
)

// startChild applies StartChildWorkflowExecution: the initiated event and
// the transfer task that starts the child (possibly on another shard).
func (m *mutation) startChild(a *commandpb.StartChildWorkflowExecutionCommandAttributes, completedID int64) {
	x := m.s.Execution
	tq := a.GetTaskQueue()
	if tq.GetName() == "" {
		tq = &taskqueuepb.TaskQueue{Name: x.TaskQueue, Kind: enumspb.TASK_QUEUE_KIND_NORMAL}
	}
	policy := a.GetParentClosePolicy()
	if policy == enumspb.PARENT_CLOSE_POLICY_UNSPECIFIED {
		policy = enumspb.PARENT_CLOSE_POLICY_TERMINATE
	}
	attrs := &historypb.StartChildWorkflowExecutionInitiatedEventAttributes{
		Namespace: a.GetNamespace(), WorkflowId: a.GetWorkflowId(), WorkflowType: a.GetWorkflowType(),
		TaskQueue: tq, Input: a.GetInput(), WorkflowExecutionTimeout: a.GetWorkflowExecutionTimeout(),
		ParentClosePolicy: policy, Control: a.GetControl(), WorkflowTaskCompletedEventId: completedID,
		WorkflowIdReusePolicy: a.GetWorkflowIdReusePolicy(), RetryPolicy: a.GetRetryPolicy(),
		CronSchedule: a.GetCronSchedule(), Header: a.GetHeader(), Memo: a.GetMemo(),
		SearchAttributes: a.GetSearchAttributes(), Priority: a.GetPriority(),
	}
	attrs.WorkflowRunTimeout, attrs.WorkflowTaskTimeout = childTimeouts(a)
	ev := m.event(enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED)
	ev.Attributes = &historypb.HistoryEvent_StartChildWorkflowExecutionInitiatedEventAttributes{StartChildWorkflowExecutionInitiatedEventAttributes: attrs}
	id := m.write(ev)
	if m.s.Children == nil {
		m.s.Children = map[int64]*ChildInfo{}
	}
	m.s.Children[id] = &ChildInfo{
		InitiatedEventID: id, Namespace: a.GetNamespace(), WorkflowID: a.GetWorkflowId(),
		WorkflowType: a.GetWorkflowType().GetName(), ParentClosePolicy: int32(policy), Initiated: mustMarshal(attrs),
	}
	if m.metadata != nil {
		m.s.Children[id].UserMetadata = mustMarshal(m.metadata)
	}
	m.task(Task{Type: TaskStartChild, EventID: id})
}

// childTimeouts are the run and task timeouts the initiated event records,
// filled in as the reference server does: the run timeout defaults to and
// is capped by the execution timeout, the task timeout defaults to 10 s and
// is capped by the run timeout; both are always set ("0s" for none).
func childTimeouts(a *commandpb.StartChildWorkflowExecutionCommandAttributes) (run, task *durationpb.Duration) {
	exec := a.GetWorkflowExecutionTimeout().AsDuration()
	r := a.GetWorkflowRunTimeout().AsDuration()
	if r == 0 || (exec > 0 && r > exec) {
		r = exec
	}
	t := a.GetWorkflowTaskTimeout().AsDuration()
	if t <= 0 {
		t = DefaultWorkflowTaskTimeout
	}
	if r > 0 && t > r {
		t = r
	}
	return durationpb.New(r), durationpb.New(t)
}

// ChildInitiated returns the initiated attributes of a child that still
// waits to be started (nil when started, gone, or the parent closed).
func ChildInitiated(s *State, initiatedID int64) *historypb.StartChildWorkflowExecutionInitiatedEventAttributes {
	c, ok := s.Children[initiatedID]
	if !s.Running() || !ok || c.StartedEventID != 0 {
		return nil
	}
	a := &historypb.StartChildWorkflowExecutionInitiatedEventAttributes{}
	mustUnmarshal(c.Initiated, a)
	return a
}

// ChildUserMetadata is the user metadata (static summary and details) of
// the StartChildWorkflowExecution command, for the child's start; nil if
// none was given.
func ChildUserMetadata(s *State, initiatedID int64) *sdkpb.UserMetadata {
	c, ok := s.Children[initiatedID]
	if !ok || c.UserMetadata == nil {
		return nil
	}
	md := &sdkpb.UserMetadata{}
	mustUnmarshal(c.UserMetadata, md)
	return md
}

// ChildStarted records that the child started as run runID (idempotent).
func ChildStarted(s *State, initiatedID int64, namespaceID, runID string, now time.Time) (Output, error) {
	c, ok := s.Children[initiatedID]
	if !s.Running() || !ok || c.StartedEventID != 0 {
		return Output{NoChange: true}, nil
	}
	m := newMutation(s, now)
	m.childStarted(c, namespaceID, runID)
	return m.out, nil
}

func (m *mutation) childStarted(c *ChildInfo, namespaceID, runID string) {
	c.NamespaceID, c.RunID = namespaceID, runID
	ev := m.event(enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED)
	ev.Attributes = &historypb.HistoryEvent_ChildWorkflowExecutionStartedEventAttributes{
		ChildWorkflowExecutionStartedEventAttributes: &historypb.ChildWorkflowExecutionStartedEventAttributes{
			Namespace: c.Namespace, NamespaceId: namespaceID, InitiatedEventId: c.InitiatedEventID,
			WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: c.WorkflowID, RunId: runID},
			WorkflowType:      &commonpb.WorkflowType{Name: c.WorkflowType},
		},
	}
	if m.s.WorkflowTask.Started() {
		c.StartedEventID = -1 // buffered; the ID is assigned on flush
		m.deliver(ev)
		return
	}
	c.StartedEventID = m.s.NextEventID
	m.deliver(ev)
}

// ChildStartFailed records that the child could not start.
func ChildStartFailed(s *State, initiatedID int64, namespaceID string, cause enumspb.StartChildWorkflowExecutionFailedCause, now time.Time) (Output, error) {
	c, ok := s.Children[initiatedID]
	if !s.Running() || !ok || c.StartedEventID != 0 {
		return Output{NoChange: true}, nil
	}
	m := newMutation(s, now)
	a := &historypb.StartChildWorkflowExecutionInitiatedEventAttributes{}
	mustUnmarshal(c.Initiated, a)
	delete(s.Children, initiatedID)
	ev := m.event(enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED)
	ev.Attributes = &historypb.HistoryEvent_StartChildWorkflowExecutionFailedEventAttributes{
		StartChildWorkflowExecutionFailedEventAttributes: &historypb.StartChildWorkflowExecutionFailedEventAttributes{
			Namespace: c.Namespace, NamespaceId: namespaceID, WorkflowId: c.WorkflowID, WorkflowType: a.GetWorkflowType(),
			Cause: cause, Control: a.GetControl(), InitiatedEventId: initiatedID,
			WorkflowTaskCompletedEventId: a.GetWorkflowTaskCompletedEventId(),
		},
	}
	m.deliver(ev)
	return m.out, nil
}

// ChildClosed records a child's final close, given the child's close
// event. A child whose start was never recorded gets its started event
// first (the close notification overtook it).
func ChildClosed(s *State, initiatedID int64, namespaceID, runID string, closeEvent *historypb.HistoryEvent, now time.Time) (Output, error) {
	c, ok := s.Children[initiatedID]
	if !s.Running() || !ok {
		return Output{NoChange: true}, nil
	}
	m := newMutation(s, now)
	if c.StartedEventID == 0 {
		m.childStarted(c, namespaceID, runID)
	}
	delete(s.Children, initiatedID)
	ev, ok := childCloseEvent(m, c, closeEvent)
	if !ok {
		return Output{NoChange: true}, nil
	}
	m.deliver(ev)
	return m.out, nil
}

func childCloseEvent(m *mutation, c *ChildInfo, closeEvent *historypb.HistoryEvent) (*historypb.HistoryEvent, bool) {
	exec := &commonpb.WorkflowExecution{WorkflowId: c.WorkflowID, RunId: c.RunID}
	wt := &commonpb.WorkflowType{Name: c.WorkflowType}
	var ev *historypb.HistoryEvent
	switch closeEvent.GetEventType() {
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
		ev = m.event(enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED)
		ev.Attributes = &historypb.HistoryEvent_ChildWorkflowExecutionCompletedEventAttributes{ChildWorkflowExecutionCompletedEventAttributes: &historypb.ChildWorkflowExecutionCompletedEventAttributes{
			Result: closeEvent.GetWorkflowExecutionCompletedEventAttributes().GetResult(), Namespace: c.Namespace, NamespaceId: c.NamespaceID,
			WorkflowExecution: exec, WorkflowType: wt, InitiatedEventId: c.InitiatedEventID, StartedEventId: c.StartedEventID}}
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
		a := closeEvent.GetWorkflowExecutionFailedEventAttributes()
		ev = m.event(enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED)
		ev.Attributes = &historypb.HistoryEvent_ChildWorkflowExecutionFailedEventAttributes{ChildWorkflowExecutionFailedEventAttributes: &historypb.ChildWorkflowExecutionFailedEventAttributes{
			Failure: a.GetFailure(), RetryState: a.GetRetryState(), Namespace: c.Namespace, NamespaceId: c.NamespaceID,
			WorkflowExecution: exec, WorkflowType: wt, InitiatedEventId: c.InitiatedEventID, StartedEventId: c.StartedEventID}}
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
		ev = m.event(enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED)
		ev.Attributes = &historypb.HistoryEvent_ChildWorkflowExecutionCanceledEventAttributes{ChildWorkflowExecutionCanceledEventAttributes: &historypb.ChildWorkflowExecutionCanceledEventAttributes{
			Details: closeEvent.GetWorkflowExecutionCanceledEventAttributes().GetDetails(), Namespace: c.Namespace, NamespaceId: c.NamespaceID,
			WorkflowExecution: exec, WorkflowType: wt, InitiatedEventId: c.InitiatedEventID, StartedEventId: c.StartedEventID}}
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
		ev = m.event(enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT)
		ev.Attributes = &historypb.HistoryEvent_ChildWorkflowExecutionTimedOutEventAttributes{ChildWorkflowExecutionTimedOutEventAttributes: &historypb.ChildWorkflowExecutionTimedOutEventAttributes{
			RetryState: closeEvent.GetWorkflowExecutionTimedOutEventAttributes().GetRetryState(), Namespace: c.Namespace, NamespaceId: c.NamespaceID,
			WorkflowExecution: exec, WorkflowType: wt, InitiatedEventId: c.InitiatedEventID, StartedEventId: c.StartedEventID}}
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
		ev = m.event(enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED)
		ev.Attributes = &historypb.HistoryEvent_ChildWorkflowExecutionTerminatedEventAttributes{ChildWorkflowExecutionTerminatedEventAttributes: &historypb.ChildWorkflowExecutionTerminatedEventAttributes{
			Namespace: c.Namespace, NamespaceId: c.NamespaceID,
			WorkflowExecution: exec, WorkflowType: wt, InitiatedEventId: c.InitiatedEventID, StartedEventId: c.StartedEventID}}
	default:
		return nil, false
	}
	return ev, true
}

// fixChildResultStartedID points a child close event whose started event
// was buffered with it (StartedEventId -1) at that event's new ID.
func fixChildResultStartedID(ev *historypb.HistoryEvent, started map[int64]int64) {
	set := func(initiated int64, field *int64) {
		if *field == -1 {
			*field = started[initiated]
		}
	}
	switch a := ev.Attributes.(type) {
	case *historypb.HistoryEvent_ChildWorkflowExecutionCompletedEventAttributes:
		set(a.ChildWorkflowExecutionCompletedEventAttributes.InitiatedEventId, &a.ChildWorkflowExecutionCompletedEventAttributes.StartedEventId)
	case *historypb.HistoryEvent_ChildWorkflowExecutionFailedEventAttributes:
		set(a.ChildWorkflowExecutionFailedEventAttributes.InitiatedEventId, &a.ChildWorkflowExecutionFailedEventAttributes.StartedEventId)
	case *historypb.HistoryEvent_ChildWorkflowExecutionCanceledEventAttributes:
		set(a.ChildWorkflowExecutionCanceledEventAttributes.InitiatedEventId, &a.ChildWorkflowExecutionCanceledEventAttributes.StartedEventId)
	case *historypb.HistoryEvent_ChildWorkflowExecutionTimedOutEventAttributes:
		set(a.ChildWorkflowExecutionTimedOutEventAttributes.InitiatedEventId, &a.ChildWorkflowExecutionTimedOutEventAttributes.StartedEventId)
	case *historypb.HistoryEvent_ChildWorkflowExecutionTerminatedEventAttributes:
		set(a.ChildWorkflowExecutionTerminatedEventAttributes.InitiatedEventId, &a.ChildWorkflowExecutionTerminatedEventAttributes.StartedEventId)
	}
}
