package statemachine

import (
	"time"

	commandpb "go.temporal.io/api/command/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
)

func (m *mutation) startTimer(a *commandpb.StartTimerCommandAttributes, completedID int64) {
	d := a.GetStartToFireTimeout().AsDuration()
	ev := m.event(enumspb.EVENT_TYPE_TIMER_STARTED)
	ev.Attributes = &historypb.HistoryEvent_TimerStartedEventAttributes{
		TimerStartedEventAttributes: &historypb.TimerStartedEventAttributes{
			TimerId:                      a.GetTimerId(),
			StartToFireTimeout:           a.GetStartToFireTimeout(),
			WorkflowTaskCompletedEventId: completedID,
		},
	}
	id := m.write(ev)
	t := &TimerInfo{TimerID: a.GetTimerId(), StartedEventID: id, FireTime: m.now.Add(d)}
	m.s.Timers[t.TimerID] = t
	m.task(Task{Type: TaskUserTimer, Time: t.FireTime, EventID: id, TimerID: t.TimerID})
}

func (m *mutation) cancelTimer(timerID string, completedID int64) {
	var startedID int64
	if t, ok := m.s.Timers[timerID]; ok {
		startedID = t.StartedEventID
		delete(m.s.Timers, timerID)
	} else if !m.dropBufferedTimerFired(timerID) {
		panic("statemachine: cancel of an unknown timer passed validation")
	}
	ev := m.event(enumspb.EVENT_TYPE_TIMER_CANCELED)
	ev.Attributes = &historypb.HistoryEvent_TimerCanceledEventAttributes{
		TimerCanceledEventAttributes: &historypb.TimerCanceledEventAttributes{
			TimerId:                      timerID,
			StartedEventId:               startedID,
			WorkflowTaskCompletedEventId: completedID,
		},
	}
	m.write(ev)
}

// FireTimer fires user timer timerID if it is still the one started by
// startedEventID; a cancelled or older timer is NoChange. A timer never
// fires before its fire time: an early call re-arms it.
func FireTimer(s *State, timerID string, startedEventID int64, now time.Time) (Output, error) {
	t, ok := s.Timers[timerID]
	if !s.Running() || !ok || t.StartedEventID != startedEventID {
		return Output{NoChange: true}, nil
	}
	m := newMutation(s, now)
	if now.Before(t.FireTime) {
		m.task(Task{Type: TaskUserTimer, Time: t.FireTime, EventID: startedEventID, TimerID: timerID})
		return m.out, nil
	}
	delete(s.Timers, timerID)
	ev := m.event(enumspb.EVENT_TYPE_TIMER_FIRED)
	ev.Attributes = &historypb.HistoryEvent_TimerFiredEventAttributes{
		TimerFiredEventAttributes: &historypb.TimerFiredEventAttributes{TimerId: timerID, StartedEventId: startedEventID},
	}
	m.deliver(ev)
	return m.out, nil
}
