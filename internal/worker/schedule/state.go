package schedule

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	schedulepb "go.temporal.io/api/schedule/v1"
	"google.golang.org/protobuf/proto"
)

// Limits of the persisted state (the reference keeps the same sizes).
const (
	maxRecentActions = 10
	maxFutureTimes   = 10
	maxBuffer        = 1000
	// maxListedActions bounds the recent actions and future times of a
	// ListSchedules entry (smaller than describe's, as the reference).
	maxListedActions = 5
	// maxPatchRequestIDs bounds the patch request IDs kept for dedup: a
	// client retries a patch within seconds, long before 100 others.
	maxPatchRequestIDs = 100
	// defaultCatchupWindow and minCatchupWindow are the API's documented
	// default and minimum.
	defaultCatchupWindow = 365 * 24 * time.Hour
	minCatchupWindow     = 10 * time.Second
)

// state is what a schedule row's data holds. Proto values are kept as
// proto bytes inside JSON, as the history's mutable state does.
type state struct {
	Namespace string `json:"ns"` // namespace name, for starting workflows
	// UID is random per created schedule: it seeds request IDs and
	// jitter, so a schedule deleted and created again under the same ID
	// never dedups against the old one's starts.
	UID              string `json:"uid"`
	Schedule         []byte `json:"schedule"` // schedulepb.Schedule, spec in canonical form
	Memo             []byte `json:"memo,omitempty"`
	SearchAttributes []byte `json:"sa,omitempty"`
	ConflictToken    int64  `json:"token"`
	// CreateRequestID dedups a retried CreateSchedule.
	CreateRequestID string `json:"create_req,omitempty"`
	// PatchRequestIDs are the request IDs of the last patches, oldest
	// first: a retried PatchSchedule changes nothing.
	PatchRequestIDs []string `json:"patch_reqs,omitempty"`

	ActionCount    int64 `json:"actions"`
	MissedCatchup  int64 `json:"missed"`
	OverlapSkipped int64 `json:"skipped"`
	BufferDropped  int64 `json:"dropped"`

	// LastProcessed is the nominal time up to which the spec was turned
	// into buffered starts (or skipped).
	LastProcessed time.Time       `json:"last"`
	Buffer        []bufferedStart `json:"buffer,omitempty"`
	Running       []runRef        `json:"running,omitempty"`
	Recent        []recentAction  `json:"recent,omitempty"`
	Seq           int64           `json:"seq"` // numbers manual starts

	// LastCompletion (commonpb.Payloads) and ContinuedFailure
	// (failurepb.Failure), proto bytes, go to every action's start: the
	// result of the last action that completed and the failure of the
	// last one that failed since.
	LastCompletion   []byte `json:"lcr,omitempty"`
	ContinuedFailure []byte `json:"cf,omitempty"`

	// IdleSince is when the schedule last became unable to take more
	// actions (zero while it can): it is deleted KeyIdleTime later.
	IdleSince time.Time `json:"idle,omitzero"`

	CreateTime time.Time `json:"created"`
	UpdateTime time.Time `json:"updated,omitzero"`

	sched *schedulepb.Schedule // decoded Schedule
	spec  *Spec                // compiled sched.Spec
}

// bufferedStart is an action waiting to be taken. RequestID is fixed
// when the start is buffered (or derived from the nominal time for spec
// actions), so a start retried after a crash dedups.
type bufferedStart struct {
	Nominal   time.Time                     `json:"n"`
	Actual    time.Time                     `json:"a"`
	Overlap   enumspb.ScheduleOverlapPolicy `json:"o"`
	Manual    bool                          `json:"m,omitempty"` // trigger or backfill: not counted against remaining actions
	RequestID string                        `json:"r"`
}

type runRef struct {
	WorkflowID      string `json:"w"`
	RunID           string `json:"r"`
	CancelRequested bool   `json:"c,omitempty"`
}

type recentAction struct {
	Scheduled  time.Time                       `json:"s"`
	Actual     time.Time                       `json:"a"`
	WorkflowID string                          `json:"w"`
	RunID      string                          `json:"r"`
	Status     enumspb.WorkflowExecutionStatus `json:"st"`
}

func encodeState(st *state) ([]byte, error) {
	b, err := proto.Marshal(st.sched)
	if err != nil {
		return nil, err
	}
	st.Schedule = b
	return json.Marshal(st)
}

func decodeState(data []byte) (*state, error) {
	st := &state{}
	if err := json.Unmarshal(data, st); err != nil {
		return nil, fmt.Errorf("schedule: undecodable state: %w", err)
	}
	st.sched = &schedulepb.Schedule{}
	if err := proto.Unmarshal(st.Schedule, st.sched); err != nil {
		return nil, fmt.Errorf("schedule: undecodable schedule: %w", err)
	}
	if st.sched.State == nil {
		st.sched.State = &schedulepb.ScheduleState{}
	}
	if st.sched.Policies == nil {
		st.sched.Policies = &schedulepb.SchedulePolicies{}
	}
	spec, _, err := Compile(st.sched.GetSpec())
	if err != nil {
		return nil, fmt.Errorf("schedule: stored spec no longer compiles: %w", err)
	}
	st.spec = spec
	return st, nil
}

func (st *state) memo() *commonpb.Memo {
	m := &commonpb.Memo{}
	if proto.Unmarshal(st.Memo, m) != nil || len(m.GetFields()) == 0 {
		return nil
	}
	return m
}

func (st *state) searchAttributes() *commonpb.SearchAttributes {
	sa := &commonpb.SearchAttributes{}
	if proto.Unmarshal(st.SearchAttributes, sa) != nil || len(sa.GetIndexedFields()) == 0 {
		return nil
	}
	return sa
}

func (st *state) lastCompletionResult() *commonpb.Payloads {
	if st.LastCompletion == nil {
		return nil
	}
	p := &commonpb.Payloads{}
	if proto.Unmarshal(st.LastCompletion, p) != nil {
		return nil
	}
	return p
}

func (st *state) continuedFailure() *failurepb.Failure {
	if st.ContinuedFailure == nil {
		return nil
	}
	f := &failurepb.Failure{}
	if proto.Unmarshal(st.ContinuedFailure, f) != nil {
		return nil
	}
	return f
}

func (st *state) paused() bool { return st.sched.GetState().GetPaused() }

func (st *state) catchupWindow() time.Duration {
	w := st.sched.GetPolicies().GetCatchupWindow().AsDuration()
	if w <= 0 {
		return defaultCatchupWindow
	}
	return max(w, minCatchupWindow)
}

func (st *state) overlapPolicy() enumspb.ScheduleOverlapPolicy {
	p := st.sched.GetPolicies().GetOverlapPolicy()
	if p == enumspb.SCHEDULE_OVERLAP_POLICY_UNSPECIFIED {
		return enumspb.SCHEDULE_OVERLAP_POLICY_SKIP
	}
	return p
}

// exhausted reports whether limited actions are used up.
func (st *state) exhausted() bool {
	s := st.sched.GetState()
	return s.GetLimitedActions() && s.GetRemainingActions() <= 0
}

func (st *state) addRecent(r recentAction) {
	st.Recent = append(st.Recent, r)
	if len(st.Recent) > maxRecentActions {
		st.Recent = st.Recent[len(st.Recent)-maxRecentActions:]
	}
}

// setRecentStatus records the final status of a run among the recent
// actions.
func (st *state) setRecentStatus(workflowID, runID string, status enumspb.WorkflowExecutionStatus) {
	for i := range st.Recent {
		if st.Recent[i].WorkflowID == workflowID && st.Recent[i].RunID == runID {
			st.Recent[i].Status = status
		}
	}
}

// futureTimes returns up to n next actual action times after now.
func (st *state) futureTimes(now time.Time, n int) []time.Time {
	if st.sched.GetState().GetLimitedActions() {
		n = min(n, int(st.sched.GetState().GetRemainingActions()))
	}
	var out []time.Time
	after := now
	if st.LastProcessed.After(after) {
		after = st.LastProcessed
	}
	for len(out) < n {
		nominal, actual, ok := st.spec.Next(st.UID, after)
		if !ok {
			break
		}
		out = append(out, actual)
		after = nominal
	}
	return out
}

// rememberPatch records a patch's request ID and reports whether it is
// new. An empty ID is always new (nothing to dedup by).
func (st *state) rememberPatch(requestID string) bool {
	if requestID == "" {
		return true
	}
	if slices.Contains(st.PatchRequestIDs, requestID) {
		return false
	}
	st.PatchRequestIDs = append(st.PatchRequestIDs, requestID)
	if len(st.PatchRequestIDs) > maxPatchRequestIDs {
		st.PatchRequestIDs = st.PatchRequestIDs[len(st.PatchRequestIDs)-maxPatchRequestIDs:]
	}
	return true
}
