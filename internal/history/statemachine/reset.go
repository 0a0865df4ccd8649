package statemachine

import (
	"errors"
	"fmt"
	"sort"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	updatepb "go.temporal.io/api/update/v1"
)

// ErrInvalidResetPoint: the requested reset event is not a workflow task
// event of the base run that a run can be reset to.
var ErrInvalidResetPoint = errors.New("invalid reset point")

// ResetInput describes the run a reset creates.
type ResetInput struct {
	NamespaceID string
	// RunID is the new run's ID; BaseRunID the run whose history is copied.
	RunID     string
	BaseRunID string
	// RequestID becomes the new run's create request ID (reset dedup).
	RequestID string
	Reason    string
	Identity  string
	// ReapplySignals / ReapplyUpdates select which events after the reset
	// point are re-applied to the new run.
	ReapplySignals bool
	ReapplyUpdates bool
	// Signals are sent to the new run after the re-applied events (the
	// request's post-reset signal operations).
	Signals []SignalInput
}

// ResetPoint returns the ID of the WorkflowTaskStarted event a reset to
// event resetEventID of base keeps history up to: for a
// WorkflowTaskCompleted, WorkflowTaskFailed or WorkflowTaskTimedOut event,
// the started event of that task; for a WorkflowTaskStarted event, itself.
// Anything else is ErrInvalidResetPoint.
func ResetPoint(base []*historypb.HistoryEvent, resetEventID int64) (int64, error) {
	if resetEventID < 1 || resetEventID > int64(len(base)) || base[resetEventID-1].GetEventId() != resetEventID {
		return 0, fmt.Errorf("%w: event %d is not in the run's history (it has %d events)", ErrInvalidResetPoint, resetEventID, len(base))
	}
	ev := base[resetEventID-1]
	var started int64
	switch ev.GetEventType() {
	case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
		started = ev.GetWorkflowTaskCompletedEventAttributes().GetStartedEventId()
	case enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED:
		started = ev.GetWorkflowTaskFailedEventAttributes().GetStartedEventId()
	case enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
		started = ev.GetWorkflowTaskTimedOutEventAttributes().GetStartedEventId()
	case enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED:
		started = resetEventID
	default:
		return 0, fmt.Errorf("%w: event %d is %s; reset needs a WorkflowTaskCompleted event (or WorkflowTaskFailed, WorkflowTaskTimedOut, WorkflowTaskStarted)",
			ErrInvalidResetPoint, resetEventID, ev.GetEventType())
	}
	if started < 2 || started > resetEventID || base[started-1].GetEventType() != enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED {
		return 0, fmt.Errorf("%w: the workflow task of event %d was never started", ErrInvalidResetPoint, resetEventID)
	}
	return started, nil
}

// Reset creates the state and history of a new run from base, the base
// run's history: its events up to the reset point (see ResetPoint; they
// keep their IDs and attributes), WorkflowTaskFailed (RESET_WORKFLOW) for
// the task started there, the signals and updates of the events after the
// reset point re-applied as in.ReapplySignals / in.ReapplyUpdates say
// (base after the point, then extra: events the base run had not written
// yet, e.g. buffered signals; see reapply), in.Signals, and a new
// WorkflowTaskScheduled.
//
// The new run starts now: pending activities restart at attempt 1 with
// their timeouts counted from now, the run timeout counts from now (the
// chain's execution expiration is kept), pending timers keep their fire
// times, children not yet started are started and pending external
// signals and cancel requests are sent again.
func Reset(base []*historypb.HistoryEvent, resetEventID int64, extra []*historypb.HistoryEvent, in ResetInput, now time.Time) (*State, Output, error) {
	cut, err := ResetPoint(base, resetEventID)
	if err != nil {
		return nil, Output{}, err
	}
	s, err := Rebuild(base[:cut], in.NamespaceID, in.RunID)
	if err != nil {
		return nil, Output{}, err
	}
	wt := s.WorkflowTask
	if !wt.Started() || wt.StartedEventID != cut {
		return nil, Output{}, fmt.Errorf("reset of run %s: event %d does not start the pending workflow task", in.BaseRunID, cut)
	}
	x := &s.Execution
	x.CreateRequestID, x.StartTime, x.ExecutionTime = in.RequestID, now, now
	m := newMutation(s, now)
	identity := in.Identity
	if identity == "" {
		identity = "sundial"
	}
	ev := m.event(enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED)
	ev.Attributes = &historypb.HistoryEvent_WorkflowTaskFailedEventAttributes{WorkflowTaskFailedEventAttributes: &historypb.WorkflowTaskFailedEventAttributes{
		ScheduledEventId: wt.ScheduledEventID, StartedEventId: wt.StartedEventID,
		Cause: enumspb.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW, Failure: &failurepb.Failure{Message: in.Reason, Source: "Server"},
		Identity: identity, BaseRunId: in.BaseRunID, NewRunId: in.RunID,
	}}
	m.write(ev)
	s.WorkflowTask = nil
	for _, u := range s.Updates {
		if u.Stage == UpdateSent {
			u.Stage, u.SentIn = UpdateAdmitted, 0
		}
	}
	for _, ev := range append(append([]*historypb.HistoryEvent(nil), base[cut:]...), extra...) {
		m.reapply(ev, in)
	}
	for _, sig := range in.Signals {
		m.write(m.signalEvent(sig))
	}
	m.scheduleWorkflowTask(1, false)
	m.resumePending()
	if deadline := runDeadline(now, x.RunTimeout, x.ExecutionExpiration); !deadline.IsZero() {
		m.task(Task{Type: TaskWorkflowRunTimeout, Time: deadline})
	}
	m.task(Task{Type: TaskVisibility})
	m.out.Events = append(append([]*historypb.HistoryEvent(nil), base[:cut]...), m.out.Events...)
	return s, m.out, nil
}

// reapply re-applies one event from after the reset point, if in selects
// its kind: a signal is written again as WorkflowExecutionSignaled; an
// update (admitted or accepted, not yet known to the new run) is admitted
// again, so the next workflow task carries it to the worker as a protocol
// message, as AdmitUpdate does. No WorkflowExecutionUpdateAdmitted event
// is written: the SDK turns such an event into the same request message,
// and would then see the update twice.
func (m *mutation) reapply(ev *historypb.HistoryEvent, in ResetInput) {
	var req *updatepb.Request
	switch a := ev.Attributes.(type) {
	case *historypb.HistoryEvent_WorkflowExecutionSignaledEventAttributes:
		sig := a.WorkflowExecutionSignaledEventAttributes
		if !in.ReapplySignals || (sig.GetRequestId() != "" && m.s.SignalRequestIDs[sig.GetRequestId()]) {
			return
		}
		out := m.signalEvent(SignalInput{Name: sig.GetSignalName(), Input: sig.GetInput(), Header: sig.GetHeader(),
			Identity: sig.GetIdentity(), RequestID: sig.GetRequestId()})
		out.GetWorkflowExecutionSignaledEventAttributes().ExternalWorkflowExecution = sig.GetExternalWorkflowExecution()
		m.write(out)
		return
	case *historypb.HistoryEvent_WorkflowExecutionUpdateAdmittedEventAttributes:
		req = a.WorkflowExecutionUpdateAdmittedEventAttributes.GetRequest()
	case *historypb.HistoryEvent_WorkflowExecutionUpdateAcceptedEventAttributes:
		req = a.WorkflowExecutionUpdateAcceptedEventAttributes.GetAcceptedRequest()
	default:
		return
	}
	id := req.GetMeta().GetUpdateId()
	if !in.ReapplyUpdates || id == "" || m.s.Updates[id] != nil {
		return
	}
	if m.s.Updates == nil {
		m.s.Updates = map[string]*UpdateInfo{}
	}
	m.s.Updates[id] = &UpdateInfo{Stage: UpdateAdmitted, Request: mustMarshal(req)}
}

// resumePending emits the tasks that keep the new run's pending work
// going, in event ID order.
func (m *mutation) resumePending() {
	s := m.s
	for _, id := range sortedKeys(s.Activities) {
		ai := s.Activities[id]
		ai.ScheduledTime, ai.AttemptScheduledTime = m.now, m.now
		m.dispatchActivity(ai)
		if ai.ScheduleToClose > 0 {
			m.task(Task{Type: TaskActivityTimeout, Time: m.now.Add(ai.ScheduleToClose), EventID: id, TimeoutType: int32(enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE)})
		}
	}
	timers := make([]*TimerInfo, 0, len(s.Timers))
	for _, t := range s.Timers {
		timers = append(timers, t)
	}
	sort.Slice(timers, func(i, j int) bool { return timers[i].StartedEventID < timers[j].StartedEventID })
	for _, t := range timers {
		m.task(Task{Type: TaskUserTimer, Time: t.FireTime, EventID: t.StartedEventID, TimerID: t.TimerID})
	}
	for _, id := range sortedKeys(s.Children) {
		if s.Children[id].StartedEventID == 0 {
			m.task(Task{Type: TaskStartChild, EventID: id})
		}
	}
	for _, id := range sortedKeys(s.ExternalSignals) {
		m.task(Task{Type: TaskSignalExternal, EventID: id})
	}
	for _, id := range sortedKeys(s.ExternalCancels) {
		m.task(Task{Type: TaskCancelExternal, EventID: id})
	}
}

func sortedKeys[V any](m map[int64]V) []int64 {
	keys := make([]int64, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	return keys
}

// UnwrittenEvents returns what a reset of this (open) run must consider
// beyond its written history: the events buffered during a started
// workflow task, and the updates admitted but not accepted yet, as
// WorkflowExecutionUpdateAdmitted events. IDs are not assigned.
func UnwrittenEvents(s *State) []*historypb.HistoryEvent {
	out := s.bufferedEvents()
	ids := make([]string, 0, len(s.Updates))
	for id, u := range s.Updates {
		if u.Stage == UpdateAdmitted || u.Stage == UpdateSent {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		req := &updatepb.Request{}
		mustUnmarshal(s.Updates[id].Request, req)
		out = append(out, &historypb.HistoryEvent{
			EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ADMITTED,
			Attributes: &historypb.HistoryEvent_WorkflowExecutionUpdateAdmittedEventAttributes{WorkflowExecutionUpdateAdmittedEventAttributes: &historypb.WorkflowExecutionUpdateAdmittedEventAttributes{
				Request: req,
			}},
		})
	}
	return out
}
