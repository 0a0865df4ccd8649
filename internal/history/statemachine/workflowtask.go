package statemachine

import (
	"time"

	commandpb "go.temporal.io/api/command/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	protocolpb "go.temporal.io/api/protocol/v1"
	sdkpb "go.temporal.io/api/sdk/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// workflowTaskBackoff delays the dispatch of a retried workflow task so a
// task that keeps failing does not spin: nothing for the first three
// attempts, then 5 s doubling up to 10 min.
func workflowTaskBackoff(attempt int32) time.Duration {
	if attempt < 4 {
		return 0
	}
	d := 5 * time.Second
	for i := int32(4); i < attempt && d < 10*time.Minute; i++ {
		d *= 2
	}
	return min(d, 10*time.Minute)
}

// scheduleWorkflowTask makes a new pending workflow task and the task that
// dispatches it. A transient task's events are not written: its IDs are
// reserved at NextEventID.
func (m *mutation) scheduleWorkflowTask(attempt int32, transient bool) {
	m.newWorkflowTask(attempt, transient, false)
}

// scheduleSpeculativeWorkflowTask makes a task that carries updates to a
// run with nothing else to do. Like a transient task its events are not
// written (IDs reserved at NextEventID) unless its completion has to be
// recorded: a completion that only rejects updates is dropped whole.
func (m *mutation) scheduleSpeculativeWorkflowTask() {
	m.newWorkflowTask(1, true, true)
}

func (m *mutation) newWorkflowTask(attempt int32, transient, speculative bool) {
	s := m.s
	wt := &WorkflowTaskInfo{
		Attempt:       attempt,
		Transient:     transient,
		Speculative:   speculative,
		TaskQueue:     s.Execution.TaskQueue,
		Timeout:       s.Execution.TaskTimeout,
		ScheduledTime: m.now,
	}
	if s.Execution.StickyTaskQueue != "" && (!transient || speculative) {
		wt.TaskQueue, wt.Sticky = s.Execution.StickyTaskQueue, true
	}
	if transient {
		wt.ScheduledEventID = s.NextEventID
	} else {
		wt.ScheduledEventID = m.write(scheduledEvent(wt, s.Execution.TaskQueue))
	}
	s.WorkflowTask = wt
	m.scheduledWorkflowTask = true
	if d := workflowTaskBackoff(attempt); d > 0 {
		m.task(Task{Type: TaskWorkflowTaskBackoff, Time: m.now.Add(d), EventID: wt.ScheduledEventID, Attempt: attempt})
		return
	}
	m.dispatchWorkflowTask(wt)
}

// dispatchWorkflowTask emits the dispatch of wt, and for a sticky task the
// timer that falls back to the normal queue.
func (m *mutation) dispatchWorkflowTask(wt *WorkflowTaskInfo) {
	t := Task{Type: TaskDispatchWorkflowTask, EventID: wt.ScheduledEventID, Attempt: wt.Attempt, TaskQueue: wt.TaskQueue, Sticky: wt.Sticky}
	if d := m.s.Execution.StickyScheduleToStart; wt.Sticky && d > 0 {
		t.Timeout = d
		m.task(Task{Type: TaskStickyTimeout, Time: m.now.Add(d), EventID: wt.ScheduledEventID, Attempt: wt.Attempt})
	}
	m.task(t)
}

func scheduledEvent(wt *WorkflowTaskInfo, normalQueue string) *historypb.HistoryEvent {
	tq := &taskqueuepb.TaskQueue{Name: wt.TaskQueue, Kind: enumspb.TASK_QUEUE_KIND_NORMAL}
	if wt.Sticky {
		tq.Kind, tq.NormalName = enumspb.TASK_QUEUE_KIND_STICKY, normalQueue
	}
	return &historypb.HistoryEvent{
		EventId:   wt.ScheduledEventID,
		EventTime: timestamppb.New(wt.ScheduledTime),
		EventType: enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
		Attributes: &historypb.HistoryEvent_WorkflowTaskScheduledEventAttributes{
			WorkflowTaskScheduledEventAttributes: &historypb.WorkflowTaskScheduledEventAttributes{
				TaskQueue:           tq,
				StartToCloseTimeout: durationOrNil(wt.Timeout),
				Attempt:             wt.Attempt,
			},
		},
	}
}

func startedEvent(wt *WorkflowTaskInfo, historySize int64, suggestContinueAsNew bool) *historypb.HistoryEvent {
	return &historypb.HistoryEvent{
		EventId:   wt.StartedEventID,
		EventTime: timestamppb.New(wt.StartedTime),
		EventType: enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED,
		Attributes: &historypb.HistoryEvent_WorkflowTaskStartedEventAttributes{
			WorkflowTaskStartedEventAttributes: &historypb.WorkflowTaskStartedEventAttributes{
				ScheduledEventId:     wt.ScheduledEventID,
				Identity:             wt.Identity,
				RequestId:            wt.RequestID,
				HistorySizeBytes:     historySize,
				SuggestContinueAsNew: suggestContinueAsNew,
			},
		},
	}
}

// TransientEvents returns the unwritten Scheduled and Started events of a
// started transient workflow task (nil otherwise); workers must see them.
func TransientEvents(s *State) []*historypb.HistoryEvent {
	wt := s.WorkflowTask
	if wt == nil || !wt.Transient || !wt.Started() {
		return nil
	}
	return []*historypb.HistoryEvent{scheduledEvent(wt, s.Execution.TaskQueue), startedEvent(wt, s.HistorySize, false)}
}

// CanDispatchWorkflowTask reports whether workflow task scheduledEventID
// still waits for a worker.
func CanDispatchWorkflowTask(s *State, scheduledEventID int64) bool {
	wt := s.WorkflowTask
	return s.Running() && wt != nil && wt.ScheduledEventID == scheduledEventID && !wt.Started()
}

// StartWorkflowTask marks workflow task scheduledEventID started by a poll.
// A repeat with the same requestID is a no-op (NoChange); anything else that
// does not match the pending task is ErrTaskGone.
func StartWorkflowTask(s *State, scheduledEventID int64, requestID, identity string, lim Limits, now time.Time) (Output, error) {
	wt := s.WorkflowTask
	if !s.Running() || wt == nil || wt.ScheduledEventID != scheduledEventID {
		return Output{}, ErrTaskGone
	}
	if wt.Started() {
		if wt.RequestID == requestID {
			return Output{NoChange: true}, nil
		}
		return Output{}, ErrTaskGone
	}
	m := newMutation(s, now)
	m.startWorkflowTask(requestID, identity, lim)
	return m.out, nil
}

func (m *mutation) startWorkflowTask(requestID, identity string, lim Limits) {
	wt := m.s.WorkflowTask
	wt.RequestID = requestID
	wt.Identity = identity
	wt.StartedTime = m.now
	if wt.Transient {
		wt.StartedEventID = wt.ScheduledEventID + 1
	} else {
		wt.StartedEventID = m.s.NextEventID
		suggest := (lim.SuggestHistoryEvents > 0 && m.s.NextEventID > lim.SuggestHistoryEvents) ||
			(lim.SuggestHistorySize > 0 && m.s.HistorySize > lim.SuggestHistorySize)
		m.write(startedEvent(wt, m.s.HistorySize, suggest))
	}
	m.sendUpdates()
	m.task(Task{
		Type: TaskWorkflowTaskTimeout, Time: m.now.Add(wt.Timeout),
		EventID: wt.ScheduledEventID, Attempt: wt.Attempt,
		TimeoutType: int32(enumspb.TIMEOUT_TYPE_START_TO_CLOSE),
	})
}

// WorkflowTaskRef identifies a started workflow task, as a task token does.
type WorkflowTaskRef struct {
	ScheduledEventID int64
	StartedEventID   int64
	Attempt          int32
}

func checkStartedWorkflowTask(s *State, ref WorkflowTaskRef) error {
	if !s.Running() {
		return ErrClosed
	}
	wt := s.WorkflowTask
	if wt == nil || !wt.Started() || wt.ScheduledEventID != ref.ScheduledEventID ||
		wt.StartedEventID != ref.StartedEventID || wt.Attempt != ref.Attempt {
		return ErrStaleWorkflowTask
	}
	return nil
}

// writeTransient writes a transient task's Scheduled and Started events,
// turning it into a normal one, when its outcome must be recorded.
func (m *mutation) writeTransient() {
	wt := m.s.WorkflowTask
	if !wt.Transient {
		return
	}
	if wt.ScheduledEventID != m.s.NextEventID {
		panic("statemachine: transient workflow task overtaken by written events")
	}
	m.write(scheduledEvent(wt, m.s.Execution.TaskQueue))
	m.write(startedEvent(wt, m.s.HistorySize, false))
	wt.Transient, wt.Speculative = false, false
}

// FailInput is a worker's RespondWorkflowTaskFailed.
type FailInput struct {
	Ref            WorkflowTaskRef
	Cause          enumspb.WorkflowTaskFailedCause
	Failure        *failurepb.Failure
	Identity       string
	BinaryChecksum string
}

// FailWorkflowTask records a worker's failure of its workflow task and
// schedules the retry.
func FailWorkflowTask(s *State, in FailInput, now time.Time) (Output, error) {
	if err := checkStartedWorkflowTask(s, in.Ref); err != nil {
		return Output{}, err
	}
	m := newMutation(s, now)
	m.failWorkflowTask(in.Cause, in.Failure, in.Identity, in.BinaryChecksum)
	return m.out, nil
}

// failWorkflowTask ends the started workflow task as failed. The first
// failure is written; later attempts are transient and write nothing unless
// buffered events force the history to move on.
func (m *mutation) failWorkflowTask(cause enumspb.WorkflowTaskFailedCause, f *failurepb.Failure, identity, checksum string) {
	wt := m.s.WorkflowTask
	if !wt.Transient || wt.Speculative || len(m.s.Buffered) > 0 {
		m.writeTransient()
		ev := m.event(enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED)
		ev.Attributes = &historypb.HistoryEvent_WorkflowTaskFailedEventAttributes{
			WorkflowTaskFailedEventAttributes: &historypb.WorkflowTaskFailedEventAttributes{
				ScheduledEventId: wt.ScheduledEventID,
				StartedEventId:   wt.StartedEventID,
				Cause:            cause,
				Failure:          f,
				Identity:         identity,
				BinaryChecksum:   checksum,
			},
		}
		m.write(ev)
	}
	m.retryWorkflowTask(wt.Attempt, cause == enumspb.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND)
}

// retryWorkflowTask schedules the next attempt after a failure or timeout.
func (m *mutation) retryWorkflowTask(attempt int32, resetAttempt bool) {
	m.s.WorkflowTask = nil
	m.readmitUpdates()
	m.s.Execution.StickyTaskQueue = "" // retry on the normal queue
	if m.flushBuffered() || resetAttempt {
		m.scheduleWorkflowTask(1, false)
		return
	}
	m.scheduleWorkflowTask(attempt+1, true)
}

// TimeoutWorkflowTask handles a workflow task's start-to-close timer.
// Stale timers (task already done or another attempt) are NoChange.
func TimeoutWorkflowTask(s *State, scheduledEventID int64, attempt int32, now time.Time) (Output, error) {
	wt := s.WorkflowTask
	if !s.Running() || wt == nil || wt.ScheduledEventID != scheduledEventID || wt.Attempt != attempt || !wt.Started() {
		return Output{NoChange: true}, nil
	}
	m := newMutation(s, now)
	if !wt.Transient || wt.Speculative || len(s.Buffered) > 0 {
		m.writeTransient()
		ev := m.event(enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT)
		ev.Attributes = &historypb.HistoryEvent_WorkflowTaskTimedOutEventAttributes{
			WorkflowTaskTimedOutEventAttributes: &historypb.WorkflowTaskTimedOutEventAttributes{
				ScheduledEventId: wt.ScheduledEventID,
				StartedEventId:   wt.StartedEventID,
				TimeoutType:      enumspb.TIMEOUT_TYPE_START_TO_CLOSE,
			},
		}
		m.write(ev)
	}
	m.retryWorkflowTask(wt.Attempt, false)
	return m.out, nil
}

// DispatchAfterBackoff turns a workflow task backoff timer into a dispatch.
func DispatchAfterBackoff(s *State, scheduledEventID int64, attempt int32, now time.Time) (Output, error) {
	wt := s.WorkflowTask
	if !CanDispatchWorkflowTask(s, scheduledEventID) || wt.Attempt != attempt {
		return Output{NoChange: true}, nil
	}
	m := newMutation(s, now)
	m.dispatchWorkflowTask(wt)
	return m.out, nil
}

// TimeoutStickyWorkflowTask handles a sticky task nobody started in time:
// WorkflowTaskTimedOut (SCHEDULE_TO_START), stickiness cleared, and a new
// task on the normal queue.
func TimeoutStickyWorkflowTask(s *State, scheduledEventID int64, attempt int32, now time.Time) (Output, error) {
	wt := s.WorkflowTask
	if !CanDispatchWorkflowTask(s, scheduledEventID) || wt.Attempt != attempt || !wt.Sticky {
		return Output{NoChange: true}, nil
	}
	m := newMutation(s, now)
	if wt.Speculative {
		// Its timeout is recorded, so its scheduled event must be too.
		m.write(scheduledEvent(wt, s.Execution.TaskQueue))
		wt.Transient, wt.Speculative = false, false
	}
	ev := m.event(enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT)
	ev.Attributes = &historypb.HistoryEvent_WorkflowTaskTimedOutEventAttributes{
		WorkflowTaskTimedOutEventAttributes: &historypb.WorkflowTaskTimedOutEventAttributes{
			ScheduledEventId: wt.ScheduledEventID,
			TimeoutType:      enumspb.TIMEOUT_TYPE_SCHEDULE_TO_START,
		},
	}
	m.write(ev)
	s.Execution.StickyTaskQueue = ""
	s.WorkflowTask = nil
	m.flushBuffered()
	m.scheduleWorkflowTask(1, false)
	return m.out, nil
}

// ResetSticky clears the run's sticky queue (the worker is gone). A task
// waiting on the sticky queue is dispatched on the normal queue at once.
func ResetSticky(s *State, now time.Time) (Output, error) {
	if !s.Running() || (s.Execution.StickyTaskQueue == "" && !(s.WorkflowTask != nil && s.WorkflowTask.Sticky)) {
		return Output{NoChange: true}, nil
	}
	m := newMutation(s, now)
	s.Execution.StickyTaskQueue = ""
	if wt := s.WorkflowTask; wt != nil && wt.Sticky && !wt.Started() {
		wt.TaskQueue, wt.Sticky = s.Execution.TaskQueue, false
		m.dispatchWorkflowTask(wt)
	}
	return m.out, nil
}

// CompleteInput is a worker's RespondWorkflowTaskCompleted.
type CompleteInput struct {
	Ref                   WorkflowTaskRef
	Commands              []*commandpb.Command
	Identity              string
	BinaryChecksum        string
	SdkMetadata           *sdkpb.WorkflowTaskCompletedMetadata
	MeteringMetadata      *commonpb.MeteringMetadata
	StickyTaskQueue       string
	StickyScheduleToStart time.Duration
	ForceCreate           bool
	ReturnNew             bool
	// EagerActivities allows starting activities that ask for eager
	// execution for the completing worker.
	EagerActivities bool
	// NextRunID is the run ID a run that follows this one gets
	// (continue-as-new, retry, cron).
	NextRunID string
	// Messages are the worker's protocol messages (update answers).
	Messages []*protocolpb.Message
	// ValidateSearchAttributes checks upserted search attributes against
	// the namespace's registered ones ("" = valid); nil accepts all.
	ValidateSearchAttributes func(*commonpb.SearchAttributes) string
}

// CompleteResult tells the caller how a completion ended.
type CompleteResult struct {
	// Rejected is set when the completion was turned into a workflow task
	// failure (a bad command, or UnhandledCommand); the worker gets
	// InvalidArgument with this message.
	Rejected string
	// ResetHistoryEventID is set when a speculative task was dropped: the
	// worker rolls its history back to this started event ID.
	ResetHistoryEventID int64
}
