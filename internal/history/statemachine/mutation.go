package statemachine

import (
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	sdkpb "go.temporal.io/api/sdk/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// mutation carries one transition: the state being changed, the time and
// what has been produced so far.
type mutation struct {
	s   *State
	now time.Time
	out Output
	// needWorkflowTask: a command wrote an event the workflow must see
	// (e.g. an activity cancelled before it started).
	needWorkflowTask bool
	// scheduledWorkflowTask: this transition scheduled the pending task.
	scheduledWorkflowTask bool
	// eager, when set, lets ScheduleActivityTask start activities at once
	// for the completing worker (request_eager_execution).
	eager *eagerWorker
	// metadata is the user metadata of the command being applied.
	metadata *sdkpb.UserMetadata
}

type eagerWorker struct{ identity string }

func newMutation(s *State, now time.Time) *mutation {
	if s.Activities == nil {
		s.Activities = map[int64]*ActivityInfo{}
	}
	if s.Timers == nil {
		s.Timers = map[string]*TimerInfo{}
	}
	return &mutation{s: s, now: now}
}

func (m *mutation) event(t enumspb.EventType) *historypb.HistoryEvent {
	return &historypb.HistoryEvent{EventType: t, EventTime: timestamppb.New(m.now)}
}

// write appends ev to history now, giving it the next event ID.
func (m *mutation) write(ev *historypb.HistoryEvent) int64 {
	ev.EventId = m.s.NextEventID
	m.s.NextEventID++
	m.s.HistorySize += int64(proto.Size(ev))
	m.out.Events = append(m.out.Events, ev)
	return ev.EventId
}

func (m *mutation) task(t Task) { m.out.Tasks = append(m.out.Tasks, t) }

// deliver adds events that the workflow must see in its next workflow
// task: buffered while a workflow task is started, otherwise written, and
// then a workflow task is made sure to be scheduled.
func (m *mutation) deliver(evs ...*historypb.HistoryEvent) {
	if m.s.WorkflowTask.Started() {
		for _, ev := range evs {
			m.s.Buffered = append(m.s.Buffered, mustMarshal(ev))
		}
		return
	}
	for _, ev := range evs {
		m.write(ev)
	}
	m.ensureWorkflowTask()
}

// ensureWorkflowTask schedules a workflow task unless one is pending. A
// transient task (events not written) that new events overtook is replaced
// by a written one, so event IDs stay contiguous.
func (m *mutation) ensureWorkflowTask() {
	wt := m.s.WorkflowTask
	switch {
	case wt == nil:
		m.scheduleWorkflowTask(1, false)
	case wt.Transient && !wt.Started() && wt.ScheduledEventID != m.s.NextEventID:
		m.s.WorkflowTask = nil
		m.scheduleWorkflowTask(1, false)
	}
}

// flushBuffered writes the buffered events, fixing up the started event IDs
// of activity results whose ActivityTaskStarted was buffered with them.
// It reports whether anything was written.
func (m *mutation) flushBuffered() bool {
	if len(m.s.Buffered) == 0 {
		return false
	}
	evs := m.s.bufferedEvents()
	m.s.Buffered = nil
	started := map[int64]int64{}      // activity scheduled event ID -> started event ID
	childStarted := map[int64]int64{} // child initiated event ID -> started event ID
	for _, ev := range evs {
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil {
			started[a.GetScheduledEventId()] = m.write(ev)
			continue
		}
		if a := ev.GetChildWorkflowExecutionStartedEventAttributes(); a != nil {
			id := m.write(ev)
			childStarted[a.GetInitiatedEventId()] = id
			if c, ok := m.s.Children[a.GetInitiatedEventId()]; ok {
				c.StartedEventID = id
			}
			continue
		}
		if sched := activityResultScheduledID(ev); sched != 0 {
			setActivityResultStartedID(ev, started[sched])
		}
		fixChildResultStartedID(ev, childStarted)
		m.write(ev)
	}
	return true
}

// dropBufferedTimerFired removes a buffered TimerFired for timerID and
// reports whether there was one (a cancel that raced with the fire).
func (m *mutation) dropBufferedTimerFired(timerID string) bool {
	for i, b := range m.s.Buffered {
		ev := &historypb.HistoryEvent{}
		mustUnmarshal(b, ev)
		if ev.EventType == enumspb.EVENT_TYPE_TIMER_FIRED && ev.GetTimerFiredEventAttributes().GetTimerId() == timerID {
			m.s.Buffered = append(m.s.Buffered[:i:i], m.s.Buffered[i+1:]...)
			return true
		}
	}
	return false
}

// bufferedActivityResult reports whether a result of activity
// scheduledEventID waits in the buffer.
func (m *mutation) bufferedActivityResult(scheduledEventID int64) bool {
	for _, b := range m.s.Buffered {
		ev := &historypb.HistoryEvent{}
		mustUnmarshal(b, ev)
		if ev.EventType == enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED &&
			ev.GetActivityTaskStartedEventAttributes().GetScheduledEventId() == scheduledEventID {
			return true
		}
	}
	return false
}

// close ends the run with the given close event.
func (m *mutation) close(ev *historypb.HistoryEvent, status enumspb.WorkflowExecutionStatus) {
	m.flushBuffered()
	id := m.write(ev)
	x := &m.s.Execution
	x.Status = status
	x.CloseTime = m.now
	x.CloseEventID = id
	m.s.WorkflowTask = nil
	m.s.Activities = map[int64]*ActivityInfo{}
	m.s.Timers = map[string]*TimerInfo{}
	m.s.Buffered = nil
	m.abortAcceptedUpdates()
	m.applyParentClosePolicies()
	m.s.ExternalSignals, m.s.ExternalCancels = nil, nil
	if m.s.Execution.Parent != nil && m.out.Next == nil {
		m.task(Task{Type: TaskNotifyParent})
	}
	m.task(Task{Type: TaskVisibility})
	m.out.Closed = true
}

// applyParentClosePolicies asks for each started child to be terminated
// or cancelled as its policy says; children not started yet are never
// started (their start task finds the parent closed).
func (m *mutation) applyParentClosePolicies() {
	for _, c := range m.s.Children {
		policy := enumspb.ParentClosePolicy(c.ParentClosePolicy)
		if c.StartedEventID == 0 || policy == enumspb.PARENT_CLOSE_POLICY_ABANDON {
			continue
		}
		m.task(Task{Type: TaskParentClosePolicy, TimeoutType: int32(policy),
			Target: &Target{NamespaceID: c.NamespaceID, Namespace: c.Namespace, WorkflowID: c.WorkflowID, RunID: c.RunID}})
	}
	m.s.Children = nil
}

func durationOrNil(d time.Duration) *durationpb.Duration {
	if d == 0 {
		return nil
	}
	return durationpb.New(d)
}
