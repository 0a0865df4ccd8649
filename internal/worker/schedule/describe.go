package schedule

import (
	"context"
	"errors"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	schedulepb "go.temporal.io/api/schedule/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sundialhq/sundial/internal/visibility/query"
	"github.com/sundialhq/sundial/internal/visibility/searchattr"
)

// Default and maximum ListSchedules page sizes.
const (
	defaultListPageSize = 1000
	maxListPageSize     = 1000
)

func timestamp(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }

func timestamps(ts []time.Time) []*timestamppb.Timestamp {
	out := make([]*timestamppb.Timestamp, len(ts))
	for i, t := range ts {
		out[i] = timestamp(t)
	}
	return out
}

// Describe returns the schedule with its info. Running workflows are
// looked at live (not written back), so recent actions show their
// current status.
func (s *Service) Describe(ctx context.Context, ns Namespace, scheduleID string) (*workflowservice.DescribeScheduleResponse, error) {
	rec, err := s.load(ctx, ns, scheduleID)
	if err != nil {
		return nil, err
	}
	st, err := decodeState(rec.Data)
	if err != nil {
		return nil, err
	}
	if s.wf != nil {
		s.refreshRunning(ctx, st, scheduleID, true)
		st.sched = proto.Clone(st.sched).(*schedulepb.Schedule)
	}
	now := s.opts.Clock.Now()
	return &workflowservice.DescribeScheduleResponse{
		Schedule:         st.sched,
		Info:             info(st, now),
		Memo:             st.memo(),
		SearchAttributes: st.searchAttributes(),
		ConflictToken:    tokenBytes(st.ConflictToken),
	}, nil
}

func info(st *state, now time.Time) *schedulepb.ScheduleInfo {
	in := &schedulepb.ScheduleInfo{
		ActionCount:         st.ActionCount,
		MissedCatchupWindow: st.MissedCatchup,
		OverlapSkipped:      st.OverlapSkipped,
		BufferDropped:       st.BufferDropped,
		BufferSize:          int64(len(st.Buffer)),
		RecentActions:       recentActions(st),
		FutureActionTimes:   timestamps(st.futureTimes(now, maxFutureTimes)),
		CreateTime:          timestamp(st.CreateTime),
	}
	for _, r := range st.Running {
		in.RunningWorkflows = append(in.RunningWorkflows, &commonpb.WorkflowExecution{WorkflowId: r.WorkflowID, RunId: r.RunID})
	}
	if !st.UpdateTime.IsZero() {
		in.UpdateTime = timestamp(st.UpdateTime)
	}
	return in
}

func recentActions(st *state) []*schedulepb.ScheduleActionResult {
	var out []*schedulepb.ScheduleActionResult
	for _, r := range st.Recent {
		out = append(out, &schedulepb.ScheduleActionResult{
			ScheduleTime:        timestamp(r.Scheduled),
			ActualTime:          timestamp(r.Actual),
			StartWorkflowResult: &commonpb.WorkflowExecution{WorkflowId: r.WorkflowID, RunId: r.RunID},
			StartWorkflowStatus: r.Status,
		})
	}
	return out
}

func listInfo(st *state, now time.Time) *schedulepb.ScheduleListInfo {
	spec := proto.Clone(st.sched.GetSpec()).(*schedulepb.ScheduleSpec)
	spec.TimezoneData = nil
	return &schedulepb.ScheduleListInfo{
		Spec:              spec,
		WorkflowType:      st.sched.GetAction().GetStartWorkflow().GetWorkflowType(),
		Notes:             st.sched.GetState().GetNotes(),
		Paused:            st.paused(),
		RecentActions:     tail(recentActions(st), maxListedActions),
		FutureActionTimes: timestamps(st.futureTimes(now, maxListedActions)),
	}
}

// tail returns the last n elements of s.
func tail[T any](s []T, n int) []T { return s[max(0, len(s)-n):] }

// ErrInvalidPageToken: a ListSchedules token this service did not make.
var ErrInvalidPageToken = errors.New("invalid page token")

// List returns a page of the namespace's schedules in schedule ID order,
// filtered by query (see matchQuery for what it understands). custom is
// the namespace's custom search attributes.
func (s *Service) List(ctx context.Context, ns Namespace, req *workflowservice.ListSchedulesRequest, custom map[string]enumspb.IndexedValueType) (*workflowservice.ListSchedulesResponse, error) {
	filter, err := parseScheduleQuery(req.GetQuery(), custom)
	if err != nil {
		return nil, err
	}
	size := int(req.GetMaximumPageSize())
	if size <= 0 || size > maxListPageSize {
		size = defaultListPageSize
	}
	after := ""
	if tok := req.GetNextPageToken(); len(tok) > 0 {
		if !strings.HasPrefix(string(tok), "s:") {
			return nil, ErrInvalidPageToken
		}
		after = string(tok[2:])
	}
	resp := &workflowservice.ListSchedulesResponse{}
	now := s.opts.Clock.Now()
	for len(resp.Schedules) < size {
		recs, err := s.opts.Store.ListSchedules(ctx, ns.ID, after, size)
		if err != nil {
			return nil, err
		}
		for _, rec := range recs {
			after = rec.ScheduleID
			st, err := decodeState(rec.Data)
			if err != nil || !matches(filter, rec.ScheduleID, st) {
				continue
			}
			resp.Schedules = append(resp.Schedules, &schedulepb.ScheduleListEntry{
				ScheduleId: rec.ScheduleID, Memo: st.memo(), SearchAttributes: st.searchAttributes(), Info: listInfo(st, now)})
			if len(resp.Schedules) == size {
				resp.NextPageToken = []byte("s:" + rec.ScheduleID)
				break
			}
		}
		if len(recs) < size {
			break
		}
	}
	return resp, nil
}

// Count counts the namespace's schedules matching query.
func (s *Service) Count(ctx context.Context, ns Namespace, q string, custom map[string]enumspb.IndexedValueType) (int64, error) {
	if strings.TrimSpace(q) == "" {
		return s.opts.Store.CountSchedules(ctx, ns.ID)
	}
	filter, err := parseScheduleQuery(q, custom)
	if err != nil {
		return 0, err
	}
	var n int64
	after := ""
	for {
		recs, err := s.opts.Store.ListSchedules(ctx, ns.ID, after, maxListPageSize)
		if err != nil {
			return 0, err
		}
		for _, rec := range recs {
			after = rec.ScheduleID
			if st, err := decodeState(rec.Data); err == nil && matches(filter, rec.ScheduleID, st) {
				n++
			}
		}
		if len(recs) < maxListPageSize {
			return n, nil
		}
	}
}

// scheduleAttrs are the attributes a schedule query may name besides the
// namespace's custom ones.
var scheduleAttrs = map[string]searchattr.Attribute{
	"ScheduleId":             {Name: "ScheduleId", Type: enumspb.INDEXED_VALUE_TYPE_KEYWORD, Predefined: true},
	"TemporalSchedulePaused": {Name: "TemporalSchedulePaused", Type: enumspb.INDEXED_VALUE_TYPE_BOOL, Predefined: true},
	"WorkflowType":           {Name: "WorkflowType", Type: enumspb.INDEXED_VALUE_TYPE_KEYWORD, Predefined: true},
}

func parseScheduleQuery(text string, custom map[string]enumspb.IndexedValueType) (query.Expr, error) {
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	lookup := func(name string) (searchattr.Attribute, bool) {
		if a, ok := scheduleAttrs[name]; ok {
			return a, true
		}
		if t, ok := custom[name]; ok {
			return searchattr.Custom(name, t), true
		}
		return searchattr.Attribute{}, false
	}
	q, err := query.Parse(text, lookup)
	if err != nil {
		return nil, invalidf("invalid query: %v", err)
	}
	if len(q.OrderBy) > 0 || len(q.GroupBy) > 0 {
		return nil, invalidf("invalid query: ORDER BY and GROUP BY are not supported for schedules")
	}
	return q.Filter, nil
}

// values returns a schedule's values of attribute name.
func values(name, scheduleID string, st *state) []searchattr.Value {
	switch name {
	case "ScheduleId":
		return []searchattr.Value{searchattr.StringValue(scheduleID)}
	case "TemporalSchedulePaused":
		return []searchattr.Value{searchattr.BoolValue(st.paused())}
	case "WorkflowType":
		return []searchattr.Value{searchattr.StringValue(st.sched.GetAction().GetStartWorkflow().GetWorkflowType().GetName())}
	}
	return nil
}
