package statemachine

import (
	"sort"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
)

// ActivitySelector names the pending activities an operator call acts on:
// the one with ID, every one of Type, or every one (All).
type ActivitySelector struct {
	ID   string
	Type string
	All  bool
}

// selectActivities returns the pending activities sel names, by scheduled
// event ID. An ID or type that matches none is ErrActivityNotFound; All on
// a run without pending activities is an empty list.
func selectActivities(s *State, sel ActivitySelector) ([]*ActivityInfo, error) {
	if !s.Running() {
		return nil, ErrClosed
	}
	var out []*ActivityInfo
	for _, ai := range s.Activities {
		if sel.All || (sel.ID != "" && ai.ActivityID == sel.ID) || (sel.Type != "" && ai.ActivityType == sel.Type) {
			out = append(out, ai)
		}
	}
	if len(out) == 0 && !sel.All {
		return nil, ErrActivityNotFound
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ScheduledEventID < out[j].ScheduledEventID })
	return out, nil
}

// PauseInput is a PauseActivity call.
type PauseInput struct {
	Selector ActivitySelector
	Identity string
	Reason   string
}

// PauseActivity pauses the selected activities. Nothing is written to
// history: pause lives in mutable state, as on the reference server. An
// attempt waiting for a worker is not handed out (its dispatch and
// schedule-to-start timer become void); a started attempt runs on, learns
// it is paused from its heartbeats, and is not retried if it fails.
// Pausing a paused activity changes nothing.
func PauseActivity(s *State, in PauseInput, now time.Time) (Output, error) {
	acts, err := selectActivities(s, in.Selector)
	if err != nil {
		return Output{}, err
	}
	changed := false
	for _, ai := range acts {
		if ai.Paused {
			continue
		}
		ai.Paused, ai.PauseTime, ai.PauseIdentity, ai.PauseReason = true, now, in.Identity, in.Reason
		changed = true
	}
	if !changed {
		return Output{NoChange: true}, nil
	}
	// TemporalPauseInfo lists the paused activity types.
	return Output{Tasks: []Task{{Type: TaskVisibility}}}, nil
}

// UnpauseInput is an UnpauseActivity call. Delay is the jitter drawn by
// the caller (the state machine takes no randomness).
type UnpauseInput struct {
	Selector       ActivitySelector
	ResetAttempts  bool
	ResetHeartbeat bool
	Delay          time.Duration
}

// UnpauseActivity unpauses the selected activities that are paused. One
// waiting for its next attempt is dispatched after Delay (its backoff is
// over); with ResetAttempts that attempt is number 1. A started attempt
// stops reporting activity_paused; with ResetAttempts it is reset as by
// ResetActivity (its token names its attempt, so the count restarts when
// it ends). Unpausing an unpaused activity changes nothing.
func UnpauseActivity(s *State, in UnpauseInput, now time.Time) (Output, error) {
	acts, err := selectActivities(s, in.Selector)
	if err != nil {
		return Output{}, err
	}
	m := newMutation(s, now)
	changed := false
	for _, ai := range acts {
		if !ai.Paused {
			continue
		}
		changed = true
		clearPause(ai)
		if in.ResetHeartbeat {
			clearHeartbeat(ai)
		}
		if ai.Started {
			// As a reset of a running attempt: its heartbeats answer
			// activity_reset and its failure restarts at attempt 1.
			ai.ResetRequested = ai.ResetRequested || in.ResetAttempts
			continue
		}
		if in.ResetAttempts {
			ai.Attempt = 1
		}
		m.redispatch(ai, in.Delay)
	}
	if !changed {
		return Output{NoChange: true}, nil
	}
	m.task(Task{Type: TaskVisibility})
	return m.out, nil
}

// ActivityResetInput is a ResetActivity call; Delay as in UnpauseInput.
type ActivityResetInput struct {
	Selector        ActivitySelector
	ResetHeartbeat  bool
	KeepPaused      bool
	RestoreOriginal bool
	Delay           time.Duration
}

// ResetActivity starts the selected activities over: attempt 1 and full
// timeouts (schedule-to-close counts from the reset). One waiting for a
// worker or a retry is re-dispatched after Delay, unpaused unless
// KeepPaused. A started attempt is flagged: its heartbeats answer
// activity_reset, and when it fails or times out the activity restarts so
// (a success still completes it).
func ResetActivity(s *State, in ActivityResetInput, now time.Time) (Output, error) {
	acts, err := selectActivities(s, in.Selector)
	if err != nil {
		return Output{}, err
	}
	if len(acts) == 0 {
		return Output{NoChange: true}, nil
	}
	m := newMutation(s, now)
	unpaused := false
	for _, ai := range acts {
		unpaused = unpaused || (ai.Paused && !in.KeepPaused)
		if in.RestoreOriginal {
			before := *ai
			restoreOriginalOptions(ai)
			if ai.Started { // a waiting one is re-dispatched below
				m.rearm(ai, &before)
			}
		}
		if !in.KeepPaused {
			clearPause(ai)
		}
		if ai.Started {
			ai.ResetRequested = true
			ai.ResetHeartbeat = ai.ResetHeartbeat || in.ResetHeartbeat
			continue
		}
		if in.ResetHeartbeat {
			clearHeartbeat(ai)
		}
		m.restart(ai, in.Delay)
	}
	if unpaused {
		m.task(Task{Type: TaskVisibility})
	}
	return m.out, nil
}

// restartReset restarts an activity whose reset was requested while its
// attempt ran, now that the attempt failed with f.
func (m *mutation) restartReset(ai *ActivityInfo, f *failurepb.Failure) {
	m.endAttempt(ai, f)
	if ai.ResetHeartbeat {
		clearHeartbeat(ai)
	}
	ai.ResetRequested, ai.ResetHeartbeat = false, false
	m.restart(ai, 0)
}

// restart makes a waiting activity's next attempt number 1 with full
// timeouts, dispatched after delay unless paused.
func (m *mutation) restart(ai *ActivityInfo, delay time.Duration) {
	ai.Attempt = 1
	ai.ScheduledTime = m.now
	if ai.ScheduleToClose > 0 {
		m.task(Task{Type: TaskActivityTimeout, Time: m.now.Add(ai.ScheduleToClose), EventID: ai.ScheduledEventID,
			TimeoutType: int32(enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE)})
	}
	if ai.Paused {
		ai.Stamp++
		ai.AttemptScheduledTime = m.now
		return
	}
	m.redispatch(ai, delay)
}

// redispatch hands a waiting attempt out anew after delay; retry timers
// armed before are void (Stamp).
func (m *mutation) redispatch(ai *ActivityInfo, delay time.Duration) {
	ai.Stamp++
	ai.AttemptScheduledTime = m.now.Add(delay)
	if delay > 0 {
		m.task(Task{Type: TaskActivityRetry, Time: ai.AttemptScheduledTime, EventID: ai.ScheduledEventID, Attempt: ai.Attempt, Stamp: ai.Stamp})
		return
	}
	m.dispatchActivity(ai)
}

func clearPause(ai *ActivityInfo) {
	ai.Paused, ai.PauseTime, ai.PauseIdentity, ai.PauseReason = false, time.Time{}, "", ""
}

func clearHeartbeat(ai *ActivityInfo) {
	ai.HeartbeatDetails, ai.LastHeartbeat = nil, time.Time{}
}
