package statemachine

import (
	"time"

	commandpb "go.temporal.io/api/command/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// ActivityRef identifies an attempt of an activity, as a task token does.
type ActivityRef struct {
	ScheduledEventID int64
	Attempt          int32
}

// FindActivity returns the pending activity with activityID, for the
// ...ById APIs.
func FindActivity(s *State, activityID string) (*ActivityInfo, bool) {
	for _, a := range s.Activities {
		if a.ActivityID == activityID {
			return a, true
		}
	}
	return nil, false
}

func startedActivity(s *State, ref ActivityRef) (*ActivityInfo, error) {
	if !s.Running() {
		return nil, ErrClosed
	}
	ai, ok := s.Activities[ref.ScheduledEventID]
	if !ok || !ai.Started || ai.Attempt != ref.Attempt {
		return nil, ErrStaleActivityTask
	}
	return ai, nil
}

// activityTimeouts fills an activity's timeouts the way Temporal does:
// schedule-to-close defaults to the run timeout (0: none), the other two
// default to and are capped by it, heartbeat is capped by start-to-close.
func activityTimeouts(a *commandpb.ScheduleActivityTaskCommandAttributes, runTimeout time.Duration) (s2c, s2s, stc, hb time.Duration) {
	s2c = a.GetScheduleToCloseTimeout().AsDuration()
	s2s = a.GetScheduleToStartTimeout().AsDuration()
	stc = a.GetStartToCloseTimeout().AsDuration()
	hb = a.GetHeartbeatTimeout().AsDuration()
	if runTimeout > 0 && (s2c == 0 || s2c > runTimeout) {
		s2c = runTimeout
	}
	if s2c > 0 {
		if s2s == 0 || s2s > s2c {
			s2s = s2c
		}
		if stc == 0 || stc > s2c {
			stc = s2c
		}
	}
	if hb > stc {
		hb = stc
	}
	return s2c, s2s, stc, hb
}

func (m *mutation) scheduleActivity(a *commandpb.ScheduleActivityTaskCommandAttributes, completedID int64) {
	s2c, s2s, stc, hb := activityTimeouts(a, m.s.Execution.RunTimeout)
	rp := DefaultRetryPolicy(a.GetRetryPolicy())
	tq := a.GetTaskQueue().GetName()
	if tq == "" {
		tq = m.s.Execution.TaskQueue
	}
	attrs := &historypb.ActivityTaskScheduledEventAttributes{
		ActivityId:                   a.GetActivityId(),
		ActivityType:                 a.GetActivityType(),
		TaskQueue:                    &taskqueuepb.TaskQueue{Name: tq, Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
		Header:                       a.GetHeader(),
		Input:                        a.GetInput(),
		ScheduleToCloseTimeout:       durationpb.New(s2c),
		ScheduleToStartTimeout:       durationpb.New(s2s),
		StartToCloseTimeout:          durationpb.New(stc),
		HeartbeatTimeout:             durationpb.New(hb),
		WorkflowTaskCompletedEventId: completedID,
		RetryPolicy:                  rp.Proto(),
		UseWorkflowBuildId:           a.GetUseWorkflowBuildId(),
		Priority:                     mergePriority(m.priority(), a.GetPriority()),
	}
	ev := m.event(enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
	ev.Attributes = &historypb.HistoryEvent_ActivityTaskScheduledEventAttributes{ActivityTaskScheduledEventAttributes: attrs}
	id := m.write(ev)
	ai := &ActivityInfo{
		ScheduledEventID: id, ActivityID: a.GetActivityId(), ActivityType: a.GetActivityType().GetName(),
		TaskQueue: tq, Scheduled: mustMarshal(attrs), ScheduledTime: m.now, AttemptScheduledTime: m.now,
		ScheduleToStart: s2s, ScheduleToClose: s2c, StartToClose: stc, Heartbeat: hb, Retry: rp, Attempt: 1,
	}
	m.s.Activities[id] = ai
	if a.GetRequestEagerExecution() && m.eager != nil && tq == m.s.Execution.TaskQueue && len(m.out.EagerActivities) < maxEagerActivities {
		m.startActivity(ai, "eager", m.eager.identity)
		m.out.EagerActivities = append(m.out.EagerActivities, id)
	} else {
		m.dispatchActivity(ai)
	}
	if s2c > 0 {
		m.task(Task{Type: TaskActivityTimeout, Time: m.now.Add(s2c), EventID: id, TimeoutType: int32(enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE)})
	}
}

// mergePriority is an activity's priority: each field its command sets,
// the workflow's value for the rest (nil when neither sets any).
func mergePriority(workflow, command *commonpb.Priority) *commonpb.Priority {
	if workflow == nil {
		return command
	}
	p := proto.Clone(workflow).(*commonpb.Priority)
	if command.GetPriorityKey() != 0 {
		p.PriorityKey = command.GetPriorityKey()
	}
	if command.GetFairnessKey() != "" {
		p.FairnessKey = command.GetFairnessKey()
	}
	if command.GetFairnessWeight() != 0 {
		p.FairnessWeight = command.GetFairnessWeight()
	}
	return p
}

// dispatchActivity emits the tasks of a new attempt: its dispatch and its
// schedule-to-start timer. The timer is armed even when it is due with
// schedule-to-close: that instant times out as schedule-to-start.
func (m *mutation) dispatchActivity(ai *ActivityInfo) {
	m.task(Task{Type: TaskDispatchActivity, EventID: ai.ScheduledEventID, Attempt: ai.Attempt, TaskQueue: ai.TaskQueue, Timeout: ai.ScheduleToStart})
	if ai.ScheduleToStart > 0 {
		m.task(Task{Type: TaskActivityTimeout, Time: m.now.Add(ai.ScheduleToStart), EventID: ai.ScheduledEventID,
			Attempt: ai.Attempt, TimeoutType: int32(enumspb.TIMEOUT_TYPE_SCHEDULE_TO_START)})
	}
}

// CanDispatchActivity reports whether activity scheduledEventID waits for a
// worker on taskQueue (not paused, not moved to another queue).
func CanDispatchActivity(s *State, scheduledEventID int64, taskQueue string) bool {
	ai, ok := s.Activities[scheduledEventID]
	return s.Running() && ok && !ai.Started && !ai.Paused && (taskQueue == "" || taskQueue == ai.TaskQueue)
}

// StartActivity marks the current attempt of an activity started by a poll
// of taskQueue ("" for any). A repeat with the same requestID is NoChange; a
// task that no longer waits (started, paused, moved to another queue by
// UpdateActivityOptions) is ErrTaskGone.
func StartActivity(s *State, scheduledEventID int64, taskQueue, requestID, identity string, now time.Time) (Output, error) {
	ai, ok := s.Activities[scheduledEventID]
	if !s.Running() || !ok {
		return Output{}, ErrTaskGone
	}
	if ai.Started {
		if ai.RequestID == requestID {
			return Output{NoChange: true}, nil
		}
		return Output{}, ErrTaskGone
	}
	if !CanDispatchActivity(s, scheduledEventID, taskQueue) {
		return Output{}, ErrTaskGone
	}
	m := newMutation(s, now)
	m.startActivity(ai, requestID, identity)
	return m.out, nil
}

// maxEagerActivities bounds the activities one completion starts eagerly.
const maxEagerActivities = 25

// startActivity marks the current attempt started and arms its timers.
func (m *mutation) startActivity(ai *ActivityInfo, requestID, identity string) {
	now, scheduledEventID := m.now, ai.ScheduledEventID
	ai.Started, ai.StartedTime, ai.RequestID, ai.StartedIdentity = true, now, requestID, identity
	if ai.StartToClose > 0 {
		m.task(Task{Type: TaskActivityTimeout, Time: now.Add(ai.StartToClose), EventID: scheduledEventID,
			Attempt: ai.Attempt, TimeoutType: int32(enumspb.TIMEOUT_TYPE_START_TO_CLOSE)})
	}
	if ai.Heartbeat > 0 {
		m.task(Task{Type: TaskActivityTimeout, Time: now.Add(ai.Heartbeat), EventID: scheduledEventID,
			Attempt: ai.Attempt, TimeoutType: int32(enumspb.TIMEOUT_TYPE_HEARTBEAT)})
	}
}

// HeartbeatAnswer is what a heartbeat tells the worker: the workflow asked
// to cancel the activity, an operator paused it, or reset it.
type HeartbeatAnswer struct {
	CancelRequested bool
	Paused          bool
	Reset           bool
}

// Heartbeat records progress of a started attempt and reports what the
// worker must learn about the activity.
func Heartbeat(s *State, ref ActivityRef, details *commonpb.Payloads, now time.Time) (Output, HeartbeatAnswer, error) {
	ai, err := startedActivity(s, ref)
	if err != nil {
		return Output{}, HeartbeatAnswer{}, err
	}
	if details != nil {
		ai.HeartbeatDetails = mustMarshal(details)
	}
	ai.LastHeartbeat = now
	return Output{}, HeartbeatAnswer{CancelRequested: ai.CancelRequested, Paused: ai.Paused, Reset: ai.ResetRequested}, nil
}

func (m *mutation) activityStartedEvent(ai *ActivityInfo) *historypb.HistoryEvent {
	var last *failurepb.Failure
	if ai.LastFailure != nil {
		last = &failurepb.Failure{}
		mustUnmarshal(ai.LastFailure, last)
	}
	return &historypb.HistoryEvent{
		EventType: enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED,
		EventTime: timestamppb.New(ai.StartedTime),
		Attributes: &historypb.HistoryEvent_ActivityTaskStartedEventAttributes{
			ActivityTaskStartedEventAttributes: &historypb.ActivityTaskStartedEventAttributes{
				ScheduledEventId: ai.ScheduledEventID,
				Identity:         ai.StartedIdentity,
				RequestId:        ai.RequestID,
				Attempt:          ai.Attempt,
				LastFailure:      last,
			},
		},
	}
}

// finishActivity delivers an activity's final outcome: its lazily written
// ActivityTaskStarted (if the attempt started) and the result event.
func (m *mutation) finishActivity(ai *ActivityInfo, result *historypb.HistoryEvent) {
	delete(m.s.Activities, ai.ScheduledEventID)
	if ai.Paused {
		m.task(Task{Type: TaskVisibility}) // TemporalPauseInfo changes
	}
	if !ai.Started {
		m.deliver(result)
		return
	}
	started := m.activityStartedEvent(ai)
	if m.s.WorkflowTask.Started() {
		m.deliver(started, result)
		return
	}
	setActivityResultStartedID(result, m.write(started))
	m.deliver(result)
}

// CompleteActivity records a successful attempt.
func CompleteActivity(s *State, ref ActivityRef, result *commonpb.Payloads, identity string, now time.Time) (Output, error) {
	ai, err := startedActivity(s, ref)
	if err != nil {
		return Output{}, err
	}
	m := newMutation(s, now)
	ev := m.event(enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)
	ev.Attributes = &historypb.HistoryEvent_ActivityTaskCompletedEventAttributes{
		ActivityTaskCompletedEventAttributes: &historypb.ActivityTaskCompletedEventAttributes{
			Result: result, ScheduledEventId: ai.ScheduledEventID, Identity: identity,
		},
	}
	m.finishActivity(ai, ev)
	return m.out, nil
}

// FailActivity records a failed attempt: retried per the retry policy
// (nothing written) or final (ActivityTaskFailed).
func FailActivity(s *State, ref ActivityRef, f *failurepb.Failure, lastHeartbeat *commonpb.Payloads, identity string, now time.Time) (Output, error) {
	ai, err := startedActivity(s, ref)
	if err != nil {
		return Output{}, err
	}
	m := newMutation(s, now)
	if lastHeartbeat != nil {
		ai.HeartbeatDetails = mustMarshal(lastHeartbeat)
	}
	if ai.ResetRequested {
		m.restartReset(ai, f)
		return m.out, nil
	}
	backoff, state := m.retryBackoff(ai, f)
	if state == enumspb.RETRY_STATE_IN_PROGRESS {
		m.retryActivity(ai, f, backoff)
		return m.out, nil
	}
	ev := m.event(enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED)
	ev.Attributes = &historypb.HistoryEvent_ActivityTaskFailedEventAttributes{
		ActivityTaskFailedEventAttributes: &historypb.ActivityTaskFailedEventAttributes{
			Failure: f, ScheduledEventId: ai.ScheduledEventID, Identity: identity, RetryState: state,
		},
	}
	m.finishActivity(ai, ev)
	return m.out, nil
}

// CancelActivity records a worker's report that the attempt was cancelled.
func CancelActivity(s *State, ref ActivityRef, details *commonpb.Payloads, identity string, now time.Time) (Output, error) {
	ai, err := startedActivity(s, ref)
	if err != nil {
		return Output{}, err
	}
	m := newMutation(s, now)
	m.finishActivity(ai, m.canceledEvent(ai, details, identity))
	return m.out, nil
}

func (m *mutation) canceledEvent(ai *ActivityInfo, details *commonpb.Payloads, identity string) *historypb.HistoryEvent {
	ev := m.event(enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCELED)
	ev.Attributes = &historypb.HistoryEvent_ActivityTaskCanceledEventAttributes{
		ActivityTaskCanceledEventAttributes: &historypb.ActivityTaskCanceledEventAttributes{
			Details: details, LatestCancelRequestedEventId: ai.CancelRequestEventID,
			ScheduledEventId: ai.ScheduledEventID, Identity: identity,
		},
	}
	return ev
}

// requestCancelActivity applies RequestCancelActivityTask: an activity not
// yet started is cancelled at once; a started one is flagged so its next
// heartbeat tells the worker. A result already buffered makes it a no-op.
func (m *mutation) requestCancelActivity(scheduledEventID, completedID int64) {
	ai, ok := m.s.Activities[scheduledEventID]
	if !ok {
		return
	}
	ev := m.event(enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED)
	ev.Attributes = &historypb.HistoryEvent_ActivityTaskCancelRequestedEventAttributes{
		ActivityTaskCancelRequestedEventAttributes: &historypb.ActivityTaskCancelRequestedEventAttributes{
			ScheduledEventId: scheduledEventID, WorkflowTaskCompletedEventId: completedID,
		},
	}
	ai.CancelRequested, ai.CancelRequestEventID = true, m.write(ev)
	if !ai.Started {
		delete(m.s.Activities, scheduledEventID)
		if ai.Paused {
			m.task(Task{Type: TaskVisibility}) // TemporalPauseInfo changes
		}
		m.write(m.canceledEvent(ai, nil, ""))
		m.needWorkflowTask = true
	}
}

// retryBackoff decides whether a failed attempt is retried and after how
// long. The state is RETRY_STATE_IN_PROGRESS when it is.
func (m *mutation) retryBackoff(ai *ActivityInfo, f *failurepb.Failure) (time.Duration, enumspb.RetryState) {
	var deadline time.Time
	if ai.ScheduleToClose > 0 {
		deadline = ai.ScheduledTime.Add(ai.ScheduleToClose)
	}
	return retryDecision(ai.Retry, ai.Attempt, f, m.now, deadline)
}

// retryActivity moves the activity to its next attempt after backoff.
// Nothing is written to history. A paused activity gets no retry timer:
// UnpauseActivity dispatches it.
func (m *mutation) retryActivity(ai *ActivityInfo, f *failurepb.Failure, backoff time.Duration) {
	ai.Attempt++
	m.endAttempt(ai, f)
	ai.AttemptScheduledTime = m.now.Add(backoff)
	if ai.Paused {
		return
	}
	m.task(Task{Type: TaskActivityRetry, Time: ai.AttemptScheduledTime, EventID: ai.ScheduledEventID, Attempt: ai.Attempt, Stamp: ai.Stamp})
}

// endAttempt records the end of the started attempt with failure f.
func (m *mutation) endAttempt(ai *ActivityInfo, f *failurepb.Failure) {
	ai.LastFailure = mustMarshal(f)
	ai.LastWorkerIdentity = ai.StartedIdentity
	ai.Started, ai.StartedTime, ai.RequestID, ai.StartedIdentity = false, time.Time{}, "", ""
}

// ActivityRetryDue dispatches a retried attempt once its backoff passed.
// A timer of another attempt or stamp, or of a paused activity, is void.
func ActivityRetryDue(s *State, scheduledEventID int64, attempt, stamp int32, now time.Time) (Output, error) {
	ai, ok := s.Activities[scheduledEventID]
	if !s.Running() || !ok || ai.Attempt != attempt || ai.Started || ai.Paused || ai.Stamp != stamp {
		return Output{NoChange: true}, nil
	}
	m := newMutation(s, now)
	m.dispatchActivity(ai)
	return m.out, nil
}

var timeoutNames = map[enumspb.TimeoutType]string{
	enumspb.TIMEOUT_TYPE_START_TO_CLOSE:    "StartToClose",
	enumspb.TIMEOUT_TYPE_SCHEDULE_TO_START: "ScheduleToStart",
	enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE: "ScheduleToClose",
	enumspb.TIMEOUT_TYPE_HEARTBEAT:         "Heartbeat",
}

// TimeoutActivity handles an activity timeout timer. Timers of another
// attempt, of a finished activity, or not yet due (a heartbeat that moved
// the deadline re-arms the timer) change nothing else.
func TimeoutActivity(s *State, scheduledEventID int64, attempt int32, tt enumspb.TimeoutType, now time.Time) (Output, error) {
	ai, ok := s.Activities[scheduledEventID]
	if !s.Running() || !ok {
		return Output{NoChange: true}, nil
	}
	if tt != enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE && ai.Attempt != attempt {
		return Output{NoChange: true}, nil
	}
	m := newMutation(s, now)
	switch tt {
	case enumspb.TIMEOUT_TYPE_START_TO_CLOSE:
		if !ai.Started || now.Before(ai.StartedTime.Add(ai.StartToClose)) {
			return Output{NoChange: true}, nil
		}
	case enumspb.TIMEOUT_TYPE_HEARTBEAT:
		if !ai.Started {
			return Output{NoChange: true}, nil
		}
		deadline := ai.StartedTime
		if ai.LastHeartbeat.After(deadline) {
			deadline = ai.LastHeartbeat
		}
		deadline = deadline.Add(ai.Heartbeat)
		if now.Before(deadline) {
			m.task(Task{Type: TaskActivityTimeout, Time: deadline, EventID: scheduledEventID, Attempt: attempt, TimeoutType: int32(tt)})
			return m.out, nil
		}
	case enumspb.TIMEOUT_TYPE_SCHEDULE_TO_START:
		// A paused activity does not wait for a worker; an unpaused or
		// re-dispatched one waits from its new AttemptScheduledTime.
		if ai.Started || ai.Paused || now.Before(ai.AttemptScheduledTime.Add(ai.ScheduleToStart)) {
			return Output{NoChange: true}, nil
		}
	case enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE:
		if now.Before(ai.ScheduledTime.Add(ai.ScheduleToClose)) {
			return Output{NoChange: true}, nil
		}
		if scheduleToStartDue(ai, now) {
			tt = enumspb.TIMEOUT_TYPE_SCHEDULE_TO_START
		}
	}
	m.timeoutActivity(ai, tt)
	return m.out, nil
}

// scheduleToStartDue reports whether a waiting attempt's schedule-to-start
// deadline has passed no later than its schedule-to-close one. Timeouts due
// at the same instant are ordered by type as the reference server does
// (schedule-to-start before schedule-to-close), whichever timer fires first.
func scheduleToStartDue(ai *ActivityInfo, now time.Time) bool {
	if ai.Started || ai.ScheduleToStart <= 0 {
		return false
	}
	due := ai.AttemptScheduledTime.Add(ai.ScheduleToStart)
	return !now.Before(due) && !due.After(ai.ScheduledTime.Add(ai.ScheduleToClose))
}

func (m *mutation) timeoutActivity(ai *ActivityInfo, tt enumspb.TimeoutType) {
	info := &failurepb.TimeoutFailureInfo{TimeoutType: tt}
	if tt == enumspb.TIMEOUT_TYPE_HEARTBEAT && ai.HeartbeatDetails != nil {
		info.LastHeartbeatDetails = &commonpb.Payloads{}
		mustUnmarshal(ai.HeartbeatDetails, info.LastHeartbeatDetails)
	}
	f := &failurepb.Failure{
		Message:     "activity " + timeoutNames[tt] + " timeout",
		Source:      "Server",
		FailureInfo: &failurepb.Failure_TimeoutFailureInfo{TimeoutFailureInfo: info},
	}
	state := enumspb.RETRY_STATE_TIMEOUT
	if (tt == enumspb.TIMEOUT_TYPE_START_TO_CLOSE || tt == enumspb.TIMEOUT_TYPE_HEARTBEAT) && ai.ResetRequested {
		m.restartReset(ai, f)
		return
	}
	if tt == enumspb.TIMEOUT_TYPE_START_TO_CLOSE || tt == enumspb.TIMEOUT_TYPE_HEARTBEAT {
		var backoff time.Duration
		if backoff, state = m.retryBackoff(ai, f); state == enumspb.RETRY_STATE_IN_PROGRESS {
			m.retryActivity(ai, f, backoff)
			return
		}
	} else if ai.LastFailure != nil {
		f.Cause = &failurepb.Failure{}
		mustUnmarshal(ai.LastFailure, f.Cause)
	}
	// The final timeout carries the last heartbeat details whatever the
	// timeout type, as the reference server's does.
	if info.LastHeartbeatDetails == nil && ai.HeartbeatDetails != nil {
		info.LastHeartbeatDetails = &commonpb.Payloads{}
		mustUnmarshal(ai.HeartbeatDetails, info.LastHeartbeatDetails)
	}
	ev := m.event(enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT)
	ev.Attributes = &historypb.HistoryEvent_ActivityTaskTimedOutEventAttributes{
		ActivityTaskTimedOutEventAttributes: &historypb.ActivityTaskTimedOutEventAttributes{
			Failure: f, ScheduledEventId: ai.ScheduledEventID, RetryState: state,
		},
	}
	m.finishActivity(ai, ev)
}

// activityResultScheduledID returns the scheduled event ID of an activity
// result event (0 for other events).
func activityResultScheduledID(ev *historypb.HistoryEvent) int64 {
	switch a := ev.Attributes.(type) {
	case *historypb.HistoryEvent_ActivityTaskCompletedEventAttributes:
		return a.ActivityTaskCompletedEventAttributes.GetScheduledEventId()
	case *historypb.HistoryEvent_ActivityTaskFailedEventAttributes:
		return a.ActivityTaskFailedEventAttributes.GetScheduledEventId()
	case *historypb.HistoryEvent_ActivityTaskTimedOutEventAttributes:
		return a.ActivityTaskTimedOutEventAttributes.GetScheduledEventId()
	case *historypb.HistoryEvent_ActivityTaskCanceledEventAttributes:
		return a.ActivityTaskCanceledEventAttributes.GetScheduledEventId()
	}
	return 0
}

func setActivityResultStartedID(ev *historypb.HistoryEvent, id int64) {
	switch a := ev.Attributes.(type) {
	case *historypb.HistoryEvent_ActivityTaskCompletedEventAttributes:
		a.ActivityTaskCompletedEventAttributes.StartedEventId = id
	case *historypb.HistoryEvent_ActivityTaskFailedEventAttributes:
		a.ActivityTaskFailedEventAttributes.StartedEventId = id
	case *historypb.HistoryEvent_ActivityTaskTimedOutEventAttributes:
		a.ActivityTaskTimedOutEventAttributes.StartedEventId = id
	case *historypb.HistoryEvent_ActivityTaskCanceledEventAttributes:
		a.ActivityTaskCanceledEventAttributes.StartedEventId = id
	}
}
