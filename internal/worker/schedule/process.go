package schedule

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/sundialhq/sundial/internal/persistence"
)

// processWithRetry runs one tick of a leased schedule, reloading it when
// an API call changed it meanwhile (the tick's starts dedup when redone).
// It stops when the lease is lost: another process has the schedule.
func (s *Service) processWithRetry(ctx context.Context, rec *persistence.ScheduleRecord, actBefore time.Time) error {
	for attempt := 0; ; attempt++ {
		err := s.process(ctx, rec, actBefore)
		if !errors.Is(err, persistence.ErrConditionFailed) || attempt >= 3 {
			return err
		}
		rec, err = s.opts.Store.GetSchedule(ctx, rec.NamespaceID, rec.ScheduleID)
		if errors.Is(err, persistence.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		if rec.LeaseOwner != s.opts.Owner {
			s.log.Info("schedule: lease lost; another process has the schedule", "schedule_id", rec.ScheduleID)
			return nil
		}
	}
}

// process is one tick of a schedule leased to this process: turn the
// spec's due times into buffered starts, look at running workflows, take
// the buffered actions the overlap policy allows (before actBefore), and
// write the state back conditioned on the version read and the lease,
// which the write ends. The order makes actions exactly-once: a crash
// after a start but before the write redoes the same starts with the
// same request IDs, which dedup. A schedule idle for longer than
// KeyIdleTime is deleted instead.
func (s *Service) process(ctx context.Context, rec *persistence.ScheduleRecord, actBefore time.Time) error {
	st, err := decodeState(rec.Data)
	if err != nil {
		return err
	}
	now := s.opts.Clock.Now()
	actCtx, cancel := context.WithDeadline(ctx, actBefore)
	defer cancel()
	behind := takeSpecActions(st, now, rec.ScheduleID)
	if refresh, all := needRefresh(st); refresh {
		s.refreshRunning(actCtx, st, rec.ScheduleID, all)
		if st.paused() {
			dropSpecStarts(st) // paused on a failure: no more scheduled actions
		}
	}
	actErr := s.runBuffer(actCtx, st, rec.ScheduleID, now)
	if actErr != nil {
		s.log.Warn("schedule: taking action", "schedule_id", rec.ScheduleID, "error", actErr)
	}
	next, expired := s.settle(st, now, s.nextRunTime(st, now, behind || actErr != nil))
	// The write ends the lease, also when the process is stopping (its
	// actions were cancelled): a restarted process then need not wait for
	// the lease to expire.
	wctx, wcancel := context.WithTimeout(context.WithoutCancel(ctx), finalWriteTimeout)
	defer wcancel()
	if expired {
		s.log.Info("schedule: deleting a schedule idle for longer than "+KeyIdleTime, "namespace", st.Namespace, "schedule_id", rec.ScheduleID)
		return s.opts.Store.DeleteLeasedSchedule(wctx, rec.NamespaceID, rec.ScheduleID, s.opts.Owner, rec.Version)
	}
	data, err := encodeState(st)
	if err != nil {
		return err
	}
	return s.opts.Store.UpdateSchedule(wctx, &persistence.ScheduleRecord{NamespaceID: rec.NamespaceID,
		ScheduleID: rec.ScheduleID, NextRunTime: next, Data: data, LeaseOwner: s.opts.Owner}, rec.Version)
}

// settle applies the idle rule to next, the time the schedule needs
// looking at again: a schedule that can take no more actions (next is
// zero) and is neither paused nor trigger-only is idle since now (or
// since earlier), and is looked at again when KeyIdleTime has passed;
// expired reports that it has. Any action or change ends idleness.
func (s *Service) settle(st *state, now, next time.Time) (_ time.Time, expired bool) {
	if !next.IsZero() || st.paused() || st.spec.empty() {
		st.IdleSince = time.Time{}
		return next, false
	}
	if st.IdleSince.IsZero() {
		st.IdleSince = now
	}
	deadline := st.IdleSince.Add(s.idleTime())
	return deadline, !now.Before(deadline)
}

// specRequestID is the request ID of the spec's action at nominal: the
// same on every recomputation.
func specRequestID(uid string, nominal time.Time) string {
	h := sha256.Sum256(fmt.Appendf(nil, "%s|%d", uid, nominal.UnixNano()))
	return hex.EncodeToString(h[:16])
}

// finalWriteTimeout bounds a tick's state write, which runs even when the
// process is stopping.
const finalWriteTimeout = 10 * time.Second

// maxMissedScan bounds the missed times counted one by one per tick.
const maxMissedScan = 100000

// takeSpecActions buffers the spec's actions due by now. Times missed by
// more than the catch-up window are counted and skipped; while paused or
// out of remaining actions, due times pass without actions. It reports
// whether it stopped early (more are due at once).
func takeSpecActions(st *state, now time.Time, scheduleID string) (behind bool) {
	if st.paused() {
		if now.After(st.LastProcessed) {
			st.LastProcessed = now
		}
		return false
	}
	window := st.catchupWindow()
	after := st.LastProcessed
	floor := now.Add(-window - st.spec.jitter - time.Second)
	pending := int64(0)
	for _, b := range st.Buffer {
		if !b.Manual {
			pending++
		}
	}
	for taken, missed := 0, 0; ; {
		if taken == maxBuffer {
			behind = true
			break
		}
		if missed == maxMissedScan && after.Before(floor) {
			after = floor // a very long outage: stop counting the misses one by one
		}
		nominal, actual, ok := st.spec.Next(st.UID, after)
		if !ok || actual.After(now) {
			break
		}
		after = nominal
		if now.Sub(actual) > window {
			st.MissedCatchup++
			missed++
			continue
		}
		taken++
		switch {
		case st.sched.GetState().GetLimitedActions() && st.sched.GetState().GetRemainingActions()-pending <= 0:
		case len(st.Buffer) >= maxBuffer:
			st.BufferDropped++
		default:
			st.Buffer = append(st.Buffer, bufferedStart{Nominal: nominal, Actual: actual,
				Overlap: st.overlapPolicy(), RequestID: specRequestID(st.UID, nominal)})
			pending++
		}
	}
	if after.After(st.LastProcessed) {
		st.LastProcessed = after
	}
	return behind
}

// maxTrackedRunning bounds the running workflows a schedule keeps
// track of when no policy depends on them (ALLOW_ALL): the oldest are
// forgotten rather than described on every tick.
const maxTrackedRunning = 10

// needRefresh reports which of the running workflows this tick must
// look at: all when a buffered start's overlap policy or pause-on-failure
// depends on them or too many are tracked; else only the newest when a
// start is buffered (it carries the last completion result: with
// ALLOW_ALL the newest run is the one that usually closed last), so an
// ALLOW_ALL tick costs one describe call, not one per run.
func needRefresh(st *state) (any, all bool) {
	if len(st.Running) == 0 {
		return false, false
	}
	if st.sched.GetPolicies().GetPauseOnFailure() || len(st.Running) > maxTrackedRunning {
		return true, true
	}
	for _, b := range st.Buffer {
		if b.Overlap != enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL {
			return true, true
		}
	}
	return len(st.Buffer) > 0, false
}

// runBuffer takes buffered actions in order as their overlap policies
// allow, and stops at the first that must wait for running workflows.
// An error leaves the failed start buffered for the next tick.
func (s *Service) runBuffer(ctx context.Context, st *state, scheduleID string, now time.Time) error {
	for len(st.Buffer) > 0 {
		b := st.Buffer[0]
		if len(st.Running) > 0 {
			switch b.Overlap {
			case enumspb.SCHEDULE_OVERLAP_POLICY_SKIP:
				st.OverlapSkipped++
				st.Buffer = st.Buffer[1:]
				continue
			case enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE:
				keepOneBuffered(st)
				return nil
			case enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ALL:
				return nil
			case enumspb.SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER:
				return s.cancelRunning(ctx, st, scheduleID)
			case enumspb.SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER:
				if err := s.terminateRunning(ctx, st, scheduleID); err != nil {
					return err
				}
			}
		}
		if err := s.start(ctx, st, scheduleID, b, now); err != nil {
			return err
		}
		st.Buffer = st.Buffer[1:]
	}
	st.Buffer = nil
	return nil
}

// dropSpecStarts drops the buffered starts that came from the spec;
// triggers and backfills stay.
func dropSpecStarts(st *state) {
	kept := st.Buffer[:0]
	for _, b := range st.Buffer {
		if b.Manual {
			kept = append(kept, b)
		}
	}
	st.Buffer = kept
}

// keepOneBuffered drops every BUFFER_ONE start after the first waiting
// one: at most one start waits per running workflow.
func keepOneBuffered(st *state) {
	out := st.Buffer[:1]
	for _, b := range st.Buffer[1:] {
		if b.Overlap == enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE {
			st.OverlapSkipped++
			continue
		}
		out = append(out, b)
	}
	st.Buffer = out
}

// nextRunTime is when the loop must look at the schedule again: at once
// when behind or after a failure (Recheck), every Recheck while a start
// waits for running workflows or a failure must be noticed, else at the
// spec's next actual time (never while paused or out of actions).
func (s *Service) nextRunTime(st *state, now time.Time, retry bool) time.Time {
	if retry || len(st.Buffer) > 0 {
		return now.Add(s.opts.Recheck)
	}
	var next time.Time
	if len(st.Running) > 0 && st.sched.GetPolicies().GetPauseOnFailure() {
		next = now.Add(s.opts.Recheck)
	}
	if st.paused() || st.exhausted() {
		return next
	}
	if _, actual, ok := st.spec.Next(st.UID, st.LastProcessed); ok && (next.IsZero() || actual.Before(next)) {
		next = actual
	}
	return next
}
