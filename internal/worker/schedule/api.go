package schedule

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	schedulepb "go.temporal.io/api/schedule/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/sundialhq/sundial/internal/persistence"
)

// maxMatchingTimes bounds ListScheduleMatchingTimes (as the reference).
const maxMatchingTimes = 1000

// Namespace names the namespace of an API call, resolved by the frontend.
type Namespace struct{ ID, Name string }

// normalize checks a schedule from a request and returns a copy with the
// spec in canonical form and the defaults filled (overlap SKIP, catch-up
// window one year, at least 10 s), plus the compiled spec.
func normalize(in *schedulepb.Schedule) (*schedulepb.Schedule, *Spec, error) {
	sched := proto.Clone(in).(*schedulepb.Schedule)
	nw := sched.GetAction().GetStartWorkflow()
	switch {
	case nw == nil:
		return nil, nil, invalidf("Schedule action must be start_workflow.")
	case nw.GetWorkflowId() == "":
		return nil, nil, invalidf("WorkflowId is not set on request.")
	case nw.GetWorkflowType().GetName() == "":
		return nil, nil, invalidf("WorkflowType is not set on request.")
	case nw.GetTaskQueue().GetName() == "":
		return nil, nil, invalidf("TaskQueue is not set on request.")
	case nw.GetCronSchedule() != "":
		return nil, nil, invalidf("CronSchedule is not allowed in a schedule's action.")
	}
	spec, canon, err := Compile(sched.GetSpec())
	if err != nil {
		return nil, nil, err
	}
	sched.Spec = canon
	if sched.Policies == nil {
		sched.Policies = &schedulepb.SchedulePolicies{}
	}
	p := sched.Policies
	if p.OverlapPolicy == enumspb.SCHEDULE_OVERLAP_POLICY_UNSPECIFIED {
		p.OverlapPolicy = enumspb.SCHEDULE_OVERLAP_POLICY_SKIP
	}
	if _, ok := enumspb.ScheduleOverlapPolicy_name[int32(p.OverlapPolicy)]; !ok {
		return nil, nil, invalidf("invalid overlap policy %d", p.OverlapPolicy)
	}
	if w := p.GetCatchupWindow().AsDuration(); w <= 0 {
		p.CatchupWindow = durationpb.New(defaultCatchupWindow)
	} else if w < minCatchupWindow {
		p.CatchupWindow = durationpb.New(minCatchupWindow)
	}
	if sched.State == nil {
		sched.State = &schedulepb.ScheduleState{}
	}
	if sched.State.LimitedActions && sched.State.RemainingActions < 0 {
		return nil, nil, invalidf("RemainingActions cannot be negative.")
	}
	return sched, spec, nil
}

func tokenBytes(n int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(n)) }

func marshalOrNil(m proto.Message) []byte {
	if m == nil {
		return nil
	}
	b, _ := proto.Marshal(m) // messages from a decoded request always marshal
	return b
}

// Create creates a schedule and applies its initial patch.
func (s *Service) Create(ctx context.Context, ns Namespace, req *workflowservice.CreateScheduleRequest) (*workflowservice.CreateScheduleResponse, error) {
	sched, spec, err := normalize(req.GetSchedule())
	if err != nil {
		return nil, err
	}
	now := s.opts.Clock.Now()
	st := &state{Namespace: ns.Name, UID: uuid.NewString(), Memo: marshalOrNil(req.GetMemo()),
		SearchAttributes: marshalOrNil(req.GetSearchAttributes()), ConflictToken: 1,
		LastProcessed: now, CreateTime: now, CreateRequestID: req.GetRequestId(), sched: sched, spec: spec}
	if err := s.applyPatch(st, req.GetInitialPatch(), now); err != nil {
		return nil, err
	}
	next := s.apiNextRunTime(st, now)
	data, err := encodeState(st)
	if err != nil {
		return nil, err
	}
	err = s.opts.Store.CreateSchedule(ctx, &persistence.ScheduleRecord{NamespaceID: ns.ID, ScheduleID: req.GetScheduleId(),
		NextRunTime: next, Data: data})
	if errors.Is(err, persistence.ErrAlreadyExists) {
		return s.retriedCreate(ctx, ns, req)
	}
	if err != nil {
		return nil, err
	}
	s.notify()
	return &workflowservice.CreateScheduleResponse{ConflictToken: tokenBytes(st.ConflictToken)}, nil
}

// retriedCreate answers a create whose schedule ID exists: success if the
// existing schedule was created by the same request (a client retry),
// else ErrAlreadyExists.
func (s *Service) retriedCreate(ctx context.Context, ns Namespace, req *workflowservice.CreateScheduleRequest) (*workflowservice.CreateScheduleResponse, error) {
	rec, err := s.load(ctx, ns, req.GetScheduleId())
	if err != nil {
		return nil, err
	}
	st, err := decodeState(rec.Data)
	if err != nil {
		return nil, err
	}
	if req.GetRequestId() == "" || st.CreateRequestID != req.GetRequestId() {
		return nil, ErrAlreadyExists
	}
	return &workflowservice.CreateScheduleResponse{ConflictToken: tokenBytes(st.ConflictToken)}, nil
}

// apiNextRunTime is nextRunTime after an API call: a start it buffered
// (trigger, backfill) is due at once. A change restarts the idle time.
func (s *Service) apiNextRunTime(st *state, now time.Time) time.Time {
	if len(st.Buffer) > 0 {
		st.IdleSince = time.Time{}
		return now
	}
	st.IdleSince = time.Time{}
	next, _ := s.settle(st, now, s.nextRunTime(st, now, false))
	return next
}

// errUnchanged tells modify that change found nothing to do: nothing is
// written and the call succeeds.
var errUnchanged = errors.New("schedule unchanged")

// modify applies change to the stored schedule with a conditional write,
// retrying on a race with the loop or another call.
func (s *Service) modify(ctx context.Context, ns Namespace, scheduleID string, change func(st *state, now time.Time) error) error {
	for attempt := 0; ; attempt++ {
		rec, err := s.load(ctx, ns, scheduleID)
		if err != nil {
			return err
		}
		st, err := decodeState(rec.Data)
		if err != nil {
			return err
		}
		now := s.opts.Clock.Now()
		if err := change(st, now); errors.Is(err, errUnchanged) {
			return nil
		} else if err != nil {
			return err
		}
		next := s.apiNextRunTime(st, now)
		data, err := encodeState(st)
		if err != nil {
			return err
		}
		err = s.opts.Store.UpdateSchedule(ctx, &persistence.ScheduleRecord{NamespaceID: ns.ID, ScheduleID: scheduleID,
			NextRunTime: next, Data: data}, rec.Version)
		if errors.Is(err, persistence.ErrConditionFailed) && attempt < 5 {
			continue
		}
		if err == nil {
			s.notify()
		}
		return err
	}
}

func (s *Service) load(ctx context.Context, ns Namespace, scheduleID string) (*persistence.ScheduleRecord, error) {
	rec, err := s.opts.Store.GetSchedule(ctx, ns.ID, scheduleID)
	if errors.Is(err, persistence.ErrNotFound) {
		return nil, ErrNotFound
	}
	return rec, err
}

// Update replaces the schedule (spec, action, policies, state), checked
// against the conflict token when one is given. The new spec applies
// from now on.
func (s *Service) Update(ctx context.Context, ns Namespace, req *workflowservice.UpdateScheduleRequest) error {
	sched, spec, err := normalize(req.GetSchedule())
	if err != nil {
		return err
	}
	return s.modify(ctx, ns, req.GetScheduleId(), func(st *state, now time.Time) error {
		if tok := req.GetConflictToken(); len(tok) > 0 && string(tok) != string(tokenBytes(st.ConflictToken)) {
			return ErrConflict
		}
		st.sched, st.spec = proto.Clone(sched).(*schedulepb.Schedule), spec
		if req.GetSearchAttributes() != nil {
			st.SearchAttributes = marshalOrNil(req.GetSearchAttributes())
		}
		st.ConflictToken++
		st.UpdateTime = now
		if now.After(st.LastProcessed) {
			st.LastProcessed = now
		}
		return nil
	})
}

// Patch pauses or unpauses, triggers or backfills. A patch whose
// request ID is among the schedule's last maxPatchRequestIDs is a client's
// retry and changes nothing (the reference sends a patch as a signal,
// deduped by the same request ID), so a retried trigger runs once.
func (s *Service) Patch(ctx context.Context, ns Namespace, req *workflowservice.PatchScheduleRequest) error {
	if req.GetPatch().GetPause() != "" && req.GetPatch().GetUnpause() != "" {
		return invalidf("Cannot pause and unpause in the same patch.")
	}
	return s.modify(ctx, ns, req.GetScheduleId(), func(st *state, now time.Time) error {
		if !st.rememberPatch(req.GetRequestId()) {
			return errUnchanged
		}
		return s.applyPatch(st, req.GetPatch(), now)
	})
}

func (s *Service) applyPatch(st *state, p *schedulepb.SchedulePatch, now time.Time) error {
	if p == nil {
		return nil
	}
	// Pausing and unpausing change the schedule, so they invalidate the
	// conflict token (as the reference); trigger and backfill do not.
	if p.GetPause() != "" {
		st.sched.State.Paused, st.sched.State.Notes = true, p.GetPause()
		st.ConflictToken++
	}
	if p.GetUnpause() != "" {
		st.sched.State.Paused, st.sched.State.Notes = false, p.GetUnpause()
		st.LastProcessed = now // the paused time is not caught up
		st.ConflictToken++
	}
	if t := p.GetTriggerImmediately(); t != nil {
		nominal := now
		if t.GetScheduledTime() != nil {
			nominal = t.GetScheduledTime().AsTime()
		}
		s.bufferManual(st, nominal, now, t.GetOverlapPolicy())
	}
	for _, b := range p.GetBackfillRequest() {
		if b.GetStartTime() == nil || b.GetEndTime() == nil {
			return invalidf("Backfill request must have start_time and end_time.")
		}
		after, end := b.GetStartTime().AsTime(), b.GetEndTime().AsTime()
		for {
			nominal, actual, ok := st.spec.Next(st.UID, after)
			if !ok || actual.After(end) {
				break
			}
			s.bufferManual(st, nominal, actual, b.GetOverlapPolicy())
			after = nominal
		}
	}
	return nil
}

// bufferManual buffers a triggered or backfilled action with a request
// ID of its own (the schedule's sequence number), so it never dedups
// against a spec action of the same time.
func (s *Service) bufferManual(st *state, nominal, actual time.Time, overlap enumspb.ScheduleOverlapPolicy) {
	if overlap == enumspb.SCHEDULE_OVERLAP_POLICY_UNSPECIFIED {
		overlap = st.overlapPolicy()
	}
	if len(st.Buffer) >= maxBuffer {
		st.BufferDropped++
		return
	}
	st.Seq++
	st.Buffer = append(st.Buffer, bufferedStart{Nominal: nominal, Actual: actual, Overlap: overlap, Manual: true,
		RequestID: fmt.Sprintf("%s-m%d", st.UID, st.Seq)})
}

// Delete removes the schedule; workflows it started keep running.
func (s *Service) Delete(ctx context.Context, ns Namespace, scheduleID string) error {
	err := s.opts.Store.DeleteSchedule(ctx, ns.ID, scheduleID)
	if errors.Is(err, persistence.ErrNotFound) {
		return ErrNotFound
	}
	return err
}

// MatchingTimes lists the actual action times in (start, end].
func (s *Service) MatchingTimes(ctx context.Context, ns Namespace, req *workflowservice.ListScheduleMatchingTimesRequest) (*workflowservice.ListScheduleMatchingTimesResponse, error) {
	if req.GetStartTime() == nil || req.GetEndTime() == nil {
		return nil, invalidf("StartTime and EndTime are required.")
	}
	rec, err := s.load(ctx, ns, req.GetScheduleId())
	if err != nil {
		return nil, err
	}
	st, err := decodeState(rec.Data)
	if err != nil {
		return nil, err
	}
	resp := &workflowservice.ListScheduleMatchingTimesResponse{}
	after, end := req.GetStartTime().AsTime(), req.GetEndTime().AsTime()
	for len(resp.StartTime) < maxMatchingTimes {
		nominal, actual, ok := st.spec.Next(st.UID, after)
		if !ok || actual.After(end) {
			break
		}
		resp.StartTime = append(resp.StartTime, timestamp(actual))
		after = nominal
	}
	return resp, nil
}
