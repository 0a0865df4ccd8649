package statemachine

import (
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/proto"
)

// Rebuild replays a run's written history into the State the forward
// transitions built while writing it, for run runID of namespaceID. The
// events must be the run's history from event 1, contiguous.
//
// History does not record everything the state holds, so the rebuilt state
// differs from the forward one in these respects (callers that start a run
// from it, like Reset, set or accept them):
//   - pending activities are at attempt 1, not started, with no heartbeat or
//     last failure (ActivityTaskStarted is only written with the outcome, so
//     a pending activity never has one in history);
//   - a workflow task retried transiently (attempts after the first failure,
//     never written) shows as the attempt after the last written failure;
//   - the sticky queue of the last completion, the create request ID, the
//     cancel request's ID and the state transition count are not recorded;
//   - rejected updates and updates admitted but not yet accepted (neither is
//     written) are missing; events buffered during a started workflow task
//     are not in history yet.
func Rebuild(events []*historypb.HistoryEvent, namespaceID, runID string) (*State, error) {
	if len(events) == 0 || events[0].GetEventType() != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED {
		return nil, fmt.Errorf("rebuild run %s: history does not begin with WorkflowExecutionStarted", runID)
	}
	s := &State{NextEventID: 1, Activities: map[int64]*ActivityInfo{}, Timers: map[string]*TimerInfo{}}
	for _, ev := range events {
		if ev.GetEventId() != s.NextEventID {
			return nil, fmt.Errorf("rebuild run %s: event %d (%s) where event %d was expected",
				runID, ev.GetEventId(), ev.GetEventType(), s.NextEventID)
		}
		s.NextEventID++
		s.HistorySize += int64(proto.Size(ev))
		if !s.Running() && ev.GetEventId() > 1 {
			return nil, fmt.Errorf("rebuild run %s: event %d (%s) follows the close event", runID, ev.GetEventId(), ev.GetEventType())
		}
		if err := replay(s, ev, namespaceID, runID); err != nil {
			return nil, fmt.Errorf("rebuild run %s: event %d (%s): %w", runID, ev.GetEventId(), ev.GetEventType(), err)
		}
	}
	return s, nil
}

// replay applies one written event to s.
func replay(s *State, ev *historypb.HistoryEvent, namespaceID, runID string) error {
	if a := ev.GetWorkflowExecutionStartedEventAttributes(); a != nil {
		replayStarted(s, ev, a, namespaceID, runID)
		return nil
	}
	if replayWorkflowTask(s, ev) || replayActivity(s, ev) || replayTimer(s, ev) ||
		replayChild(s, ev) || replayExternal(s, ev) || replayUpdate(s, ev) || replayClose(s, ev) {
		return nil
	}
	switch a := ev.Attributes.(type) {
	case *historypb.HistoryEvent_WorkflowExecutionSignaledEventAttributes:
		if id := a.WorkflowExecutionSignaledEventAttributes.GetRequestId(); id != "" {
			if s.SignalRequestIDs == nil {
				s.SignalRequestIDs = map[string]bool{}
			}
			s.SignalRequestIDs[id] = true
		}
		s.SignalCount++
	case *historypb.HistoryEvent_WorkflowExecutionCancelRequestedEventAttributes:
		s.CancelRequested = true
	case *historypb.HistoryEvent_UpsertWorkflowSearchAttributesEventAttributes:
		mergeSearchAttributes(s, a.UpsertWorkflowSearchAttributesEventAttributes.GetSearchAttributes())
	case *historypb.HistoryEvent_WorkflowPropertiesModifiedEventAttributes:
		mergeMemo(s, a.WorkflowPropertiesModifiedEventAttributes.GetUpsertedMemo())
	case *historypb.HistoryEvent_MarkerRecordedEventAttributes:
	default:
		return fmt.Errorf("event type not supported by this server's history")
	}
	return nil
}

// replayStarted sets the execution info as Start does.
func replayStarted(s *State, ev *historypb.HistoryEvent, a *historypb.WorkflowExecutionStartedEventAttributes, namespaceID, runID string) {
	start := ev.GetEventTime().AsTime()
	s.Execution = ExecutionInfo{
		NamespaceID:      namespaceID,
		WorkflowID:       a.GetWorkflowId(),
		RunID:            runID,
		FirstRunID:       a.GetFirstExecutionRunId(),
		WorkflowType:     a.GetWorkflowType().GetName(),
		TaskQueue:        a.GetTaskQueue().GetName(),
		Status:           enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
		StartTime:        start,
		ExecutionTime:    start.Add(a.GetFirstWorkflowTaskBackoff().AsDuration()),
		ExecutionTimeout: a.GetWorkflowExecutionTimeout().AsDuration(),
		RunTimeout:       a.GetWorkflowRunTimeout().AsDuration(),
		TaskTimeout:      a.GetWorkflowTaskTimeout().AsDuration(),
		Attempt:          a.GetAttempt(),
		CronSchedule:     a.GetCronSchedule(),
		RootWorkflowID:   a.GetRootWorkflowExecution().GetWorkflowId(),
		RootRunID:        a.GetRootWorkflowExecution().GetRunId(),
	}
	x := &s.Execution
	if a.GetWorkflowExecutionExpirationTime() != nil {
		x.ExecutionExpiration = a.GetWorkflowExecutionExpirationTime().AsTime()
	}
	if a.GetRetryPolicy() != nil {
		rp := DefaultRetryPolicy(a.GetRetryPolicy())
		x.Retry = &rp
	}
	if p := a.GetParentWorkflowExecution(); p != nil {
		x.Parent = &ParentInfo{NamespaceID: a.GetParentWorkflowNamespaceId(), Namespace: a.GetParentWorkflowNamespace(),
			WorkflowID: p.GetWorkflowId(), RunID: p.GetRunId(), InitiatedEventID: a.GetParentInitiatedEventId()}
	}
	if a.GetRootWorkflowExecution() == nil {
		x.RootWorkflowID, x.RootRunID = a.GetWorkflowId(), runID
	}
	if a.GetPriority() != nil {
		x.Priority = mustMarshal(a.GetPriority())
	}
	if ev.GetUserMetadata() != nil {
		s.UserMetadata = mustMarshal(ev.GetUserMetadata())
	}
	if a.GetLastCompletionResult() != nil {
		x.LastCompletionResult = mustMarshal(a.GetLastCompletionResult())
	}
	if a.GetSearchAttributes() != nil {
		s.SearchAttributes = mustMarshal(a.GetSearchAttributes())
	}
	if a.GetMemo() != nil {
		s.Memo = mustMarshal(a.GetMemo())
	}
	if x.Retry != nil || x.CronSchedule != "" {
		s.StartedAttrs = mustMarshal(a)
	}
}

// replayWorkflowTask tracks the pending workflow task. After a written
// failure or timeout the forward machine schedules a transient retry
// (unwritten); a Scheduled event that follows replaces it.
func replayWorkflowTask(s *State, ev *historypb.HistoryEvent) bool {
	switch ev.GetEventType() {
	case enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
		a := ev.GetWorkflowTaskScheduledEventAttributes()
		s.WorkflowTask = &WorkflowTaskInfo{
			ScheduledEventID: ev.GetEventId(), Attempt: a.GetAttempt(),
			TaskQueue: a.GetTaskQueue().GetName(), Sticky: a.GetTaskQueue().GetKind() == enumspb.TASK_QUEUE_KIND_STICKY,
			Timeout: a.GetStartToCloseTimeout().AsDuration(), ScheduledTime: ev.GetEventTime().AsTime(),
		}
	case enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED:
		a := ev.GetWorkflowTaskStartedEventAttributes()
		if wt := s.WorkflowTask; wt != nil && wt.ScheduledEventID == a.GetScheduledEventId() {
			wt.StartedEventID, wt.StartedTime = ev.GetEventId(), ev.GetEventTime().AsTime()
			wt.RequestID, wt.Identity = a.GetRequestId(), a.GetIdentity()
		}
	case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
		s.LastCompletedWFTStartedEventID = ev.GetWorkflowTaskCompletedEventAttributes().GetStartedEventId()
		s.WorkflowTask = nil
	case enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED, enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
		attempt := int32(1)
		if s.WorkflowTask != nil {
			attempt = s.WorkflowTask.Attempt
		}
		s.WorkflowTask = &WorkflowTaskInfo{
			ScheduledEventID: s.NextEventID, Attempt: attempt + 1, Transient: true,
			TaskQueue: s.Execution.TaskQueue, Timeout: s.Execution.TaskTimeout, ScheduledTime: ev.GetEventTime().AsTime(),
		}
	default:
		return false
	}
	return true
}

// replayActivity tracks pending activities: scheduled minus those with an
// outcome. ActivityTaskStarted is written with the outcome, so it changes
// nothing here.
func replayActivity(s *State, ev *historypb.HistoryEvent) bool {
	switch ev.GetEventType() {
	case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
		a := ev.GetActivityTaskScheduledEventAttributes()
		at := ev.GetEventTime().AsTime()
		s.Activities[ev.GetEventId()] = &ActivityInfo{
			ScheduledEventID: ev.GetEventId(), ActivityID: a.GetActivityId(), ActivityType: a.GetActivityType().GetName(),
			TaskQueue: a.GetTaskQueue().GetName(), Scheduled: mustMarshal(a), ScheduledTime: at, AttemptScheduledTime: at,
			ScheduleToStart: a.GetScheduleToStartTimeout().AsDuration(), ScheduleToClose: a.GetScheduleToCloseTimeout().AsDuration(),
			StartToClose: a.GetStartToCloseTimeout().AsDuration(), Heartbeat: a.GetHeartbeatTimeout().AsDuration(),
			Retry: DefaultRetryPolicy(a.GetRetryPolicy()), Attempt: 1,
		}
	case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
	case enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED:
		if ai, ok := s.Activities[ev.GetActivityTaskCancelRequestedEventAttributes().GetScheduledEventId()]; ok {
			ai.CancelRequested, ai.CancelRequestEventID = true, ev.GetEventId()
		}
	case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED,
		enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT, enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCELED:
		delete(s.Activities, activityResultScheduledID(ev))
	default:
		return false
	}
	return true
}

// replayTimer tracks pending user timers: started minus fired or canceled.
func replayTimer(s *State, ev *historypb.HistoryEvent) bool {
	switch a := ev.Attributes.(type) {
	case *historypb.HistoryEvent_TimerStartedEventAttributes:
		t := a.TimerStartedEventAttributes
		s.Timers[t.GetTimerId()] = &TimerInfo{TimerID: t.GetTimerId(), StartedEventID: ev.GetEventId(),
			FireTime: ev.GetEventTime().AsTime().Add(t.GetStartToFireTimeout().AsDuration())}
	case *historypb.HistoryEvent_TimerFiredEventAttributes:
		delete(s.Timers, a.TimerFiredEventAttributes.GetTimerId())
	case *historypb.HistoryEvent_TimerCanceledEventAttributes:
		delete(s.Timers, a.TimerCanceledEventAttributes.GetTimerId())
	default:
		return false
	}
	return true
}

// replayChild tracks pending children: initiated, then started, until the
// start failed or the child closed.
func replayChild(s *State, ev *historypb.HistoryEvent) bool {
	if a := ev.GetStartChildWorkflowExecutionInitiatedEventAttributes(); a != nil {
		if s.Children == nil {
			s.Children = map[int64]*ChildInfo{}
		}
		s.Children[ev.GetEventId()] = &ChildInfo{
			InitiatedEventID: ev.GetEventId(), Namespace: a.GetNamespace(), WorkflowID: a.GetWorkflowId(),
			WorkflowType: a.GetWorkflowType().GetName(), ParentClosePolicy: int32(a.GetParentClosePolicy()), Initiated: mustMarshal(a),
		}
		if ev.GetUserMetadata() != nil {
			s.Children[ev.GetEventId()].UserMetadata = mustMarshal(ev.GetUserMetadata())
		}
		return true
	}
	if a := ev.GetChildWorkflowExecutionStartedEventAttributes(); a != nil {
		if c, ok := s.Children[a.GetInitiatedEventId()]; ok {
			c.NamespaceID, c.RunID, c.StartedEventID = a.GetNamespaceId(), a.GetWorkflowExecution().GetRunId(), ev.GetEventId()
		}
		return true
	}
	var initiated int64
	switch a := ev.Attributes.(type) {
	case *historypb.HistoryEvent_StartChildWorkflowExecutionFailedEventAttributes:
		initiated = a.StartChildWorkflowExecutionFailedEventAttributes.GetInitiatedEventId()
	case *historypb.HistoryEvent_ChildWorkflowExecutionCompletedEventAttributes:
		initiated = a.ChildWorkflowExecutionCompletedEventAttributes.GetInitiatedEventId()
	case *historypb.HistoryEvent_ChildWorkflowExecutionFailedEventAttributes:
		initiated = a.ChildWorkflowExecutionFailedEventAttributes.GetInitiatedEventId()
	case *historypb.HistoryEvent_ChildWorkflowExecutionCanceledEventAttributes:
		initiated = a.ChildWorkflowExecutionCanceledEventAttributes.GetInitiatedEventId()
	case *historypb.HistoryEvent_ChildWorkflowExecutionTimedOutEventAttributes:
		initiated = a.ChildWorkflowExecutionTimedOutEventAttributes.GetInitiatedEventId()
	case *historypb.HistoryEvent_ChildWorkflowExecutionTerminatedEventAttributes:
		initiated = a.ChildWorkflowExecutionTerminatedEventAttributes.GetInitiatedEventId()
	default:
		return false
	}
	delete(s.Children, initiated)
	return true
}

// replayExternal tracks pending external signals and cancel requests.
func replayExternal(s *State, ev *historypb.HistoryEvent) bool {
	switch a := ev.Attributes.(type) {
	case *historypb.HistoryEvent_SignalExternalWorkflowExecutionInitiatedEventAttributes:
		t := a.SignalExternalWorkflowExecutionInitiatedEventAttributes
		if s.ExternalSignals == nil {
			s.ExternalSignals = map[int64]*ExternalInfo{}
		}
		s.ExternalSignals[ev.GetEventId()] = &ExternalInfo{InitiatedEventID: ev.GetEventId(), Namespace: t.GetNamespace(),
			WorkflowID: t.GetWorkflowExecution().GetWorkflowId(), RunID: t.GetWorkflowExecution().GetRunId(), Initiated: mustMarshal(t)}
	case *historypb.HistoryEvent_ExternalWorkflowExecutionSignaledEventAttributes:
		delete(s.ExternalSignals, a.ExternalWorkflowExecutionSignaledEventAttributes.GetInitiatedEventId())
	case *historypb.HistoryEvent_SignalExternalWorkflowExecutionFailedEventAttributes:
		delete(s.ExternalSignals, a.SignalExternalWorkflowExecutionFailedEventAttributes.GetInitiatedEventId())
	case *historypb.HistoryEvent_RequestCancelExternalWorkflowExecutionInitiatedEventAttributes:
		t := a.RequestCancelExternalWorkflowExecutionInitiatedEventAttributes
		if s.ExternalCancels == nil {
			s.ExternalCancels = map[int64]*ExternalInfo{}
		}
		s.ExternalCancels[ev.GetEventId()] = &ExternalInfo{InitiatedEventID: ev.GetEventId(), Namespace: t.GetNamespace(),
			WorkflowID: t.GetWorkflowExecution().GetWorkflowId(), RunID: t.GetWorkflowExecution().GetRunId(), Initiated: mustMarshal(t)}
	case *historypb.HistoryEvent_ExternalWorkflowExecutionCancelRequestedEventAttributes:
		delete(s.ExternalCancels, a.ExternalWorkflowExecutionCancelRequestedEventAttributes.GetInitiatedEventId())
	case *historypb.HistoryEvent_RequestCancelExternalWorkflowExecutionFailedEventAttributes:
		delete(s.ExternalCancels, a.RequestCancelExternalWorkflowExecutionFailedEventAttributes.GetInitiatedEventId())
	default:
		return false
	}
	return true
}

// replayUpdate tracks the updates history records: admitted (re-applied by
// a reset), accepted and completed.
func replayUpdate(s *State, ev *historypb.HistoryEvent) bool {
	get := func(id string) *UpdateInfo {
		if s.Updates == nil {
			s.Updates = map[string]*UpdateInfo{}
		}
		if s.Updates[id] == nil {
			s.Updates[id] = &UpdateInfo{}
		}
		return s.Updates[id]
	}
	switch a := ev.Attributes.(type) {
	case *historypb.HistoryEvent_WorkflowExecutionUpdateAdmittedEventAttributes:
		req := a.WorkflowExecutionUpdateAdmittedEventAttributes.GetRequest()
		u := get(req.GetMeta().GetUpdateId())
		u.Stage, u.Request = UpdateAdmitted, mustMarshal(req)
	case *historypb.HistoryEvent_WorkflowExecutionUpdateAcceptedEventAttributes:
		t := a.WorkflowExecutionUpdateAcceptedEventAttributes
		u := get(t.GetProtocolInstanceId())
		if u.Request == nil {
			u.Request = mustMarshal(t.GetAcceptedRequest())
		}
		u.Stage, u.SentIn, u.AcceptedEventID = UpdateAccepted, 0, ev.GetEventId()
	case *historypb.HistoryEvent_WorkflowExecutionUpdateCompletedEventAttributes:
		t := a.WorkflowExecutionUpdateCompletedEventAttributes
		u := get(t.GetMeta().GetUpdateId())
		u.Stage, u.Outcome = UpdateCompleted, mustMarshal(t.GetOutcome())
	default:
		return false
	}
	return true
}

// closeStatus maps close events to the run's final status.
var closeStatus = map[enumspb.EventType]enumspb.WorkflowExecutionStatus{
	enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:        enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED,
	enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:           enumspb.WORKFLOW_EXECUTION_STATUS_FAILED,
	enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:        enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT,
	enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:         enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED,
	enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:       enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED,
	enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW: enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW,
}

// replayClose closes the run as mutation.close does.
func replayClose(s *State, ev *historypb.HistoryEvent) bool {
	status, ok := closeStatus[ev.GetEventType()]
	if !ok {
		return false
	}
	x := &s.Execution
	x.Status, x.CloseTime, x.CloseEventID = status, ev.GetEventTime().AsTime(), ev.GetEventId()
	s.WorkflowTask, s.Buffered = nil, nil
	s.Activities, s.Timers = map[int64]*ActivityInfo{}, map[string]*TimerInfo{}
	s.Children, s.ExternalSignals, s.ExternalCancels = nil, nil, nil
	return true
}

// mergeSearchAttributes merges upserted search attributes into the run's;
// a value that clearsKey removes the attribute.
func mergeSearchAttributes(s *State, sa *commonpb.SearchAttributes) {
	merged := &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{}}
	if s.SearchAttributes != nil {
		mustUnmarshal(s.SearchAttributes, merged)
	}
	merged.IndexedFields = mergePayloads(merged.IndexedFields, sa.GetIndexedFields())
	s.SearchAttributes = mustMarshal(merged)
}

// mergeMemo applies upserted memo fields: they replace old ones; a field
// that clearsKey removes it.
func mergeMemo(s *State, memo *commonpb.Memo) {
	merged := &commonpb.Memo{Fields: map[string]*commonpb.Payload{}}
	if s.Memo != nil {
		mustUnmarshal(s.Memo, merged)
	}
	merged.Fields = mergePayloads(merged.Fields, memo.GetFields())
	s.Memo = mustMarshal(merged)
}
