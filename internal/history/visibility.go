package history

import (
	"context"
	"encoding/json"
	"sort"

	commonpb "go.temporal.io/api/common/v1"

	sm "github.com/sundialhq/sundial/internal/history/statemachine"
	"github.com/sundialhq/sundial/internal/persistence"
)

// VisibilityWriter receives run records for listing (persistence's
// VisibilityStore implements it).
type VisibilityWriter interface {
	UpsertVisibility(ctx context.Context, rec *persistence.VisibilityRecord) error
	DeleteVisibility(ctx context.Context, namespaceID, workflowID, runID string) error
}

// writeVisibility writes the run's current record. Records carry the run's
// transition count as version, so a late or repeated task never overwrites
// a newer record.
func (e *Engine) writeVisibility(ctx context.Context, key persistence.WorkflowKey) error {
	if e.opts.Visibility == nil {
		return nil
	}
	var rec *persistence.VisibilityRecord
	err := e.view(ctx, key, func(st *sm.State) { rec = visibilityRecord(key, st) })
	if err != nil {
		return ignoreGone(err)
	}
	return e.opts.Visibility.UpsertVisibility(ctx, rec)
}

func visibilityRecord(key persistence.WorkflowKey, st *sm.State) *persistence.VisibilityRecord {
	x := st.Execution
	rec := &persistence.VisibilityRecord{
		NamespaceID: key.NamespaceID, WorkflowID: key.WorkflowID, RunID: key.RunID,
		WorkflowType: x.WorkflowType, TaskQueue: x.TaskQueue, Status: x.Status,
		StartTime: x.StartTime, ExecutionTime: x.ExecutionTime, CloseTime: x.CloseTime,
		HistoryLength: st.NextEventID - 1, HistorySizeBytes: st.HistorySize, StateTransitionCount: st.StateTransitions,
		RootWorkflowID: x.RootWorkflowID, RootRunID: x.RootRunID, Version: st.StateTransitions,
	}
	if p := x.Parent; p != nil {
		rec.ParentWorkflowID, rec.ParentRunID = p.WorkflowID, p.RunID
	}
	if st.Memo != nil {
		rec.Memo = &commonpb.Memo{}
		mustDecode(st.Memo, rec.Memo)
	}
	if st.SearchAttributes != nil {
		rec.SearchAttributes = &commonpb.SearchAttributes{}
		mustDecode(st.SearchAttributes, rec.SearchAttributes)
	}
	if p := pauseInfo(st); p != nil {
		if rec.SearchAttributes == nil {
			rec.SearchAttributes = &commonpb.SearchAttributes{}
		}
		if rec.SearchAttributes.IndexedFields == nil {
			rec.SearchAttributes.IndexedFields = map[string]*commonpb.Payload{}
		}
		rec.SearchAttributes.IndexedFields[pauseInfoAttribute] = p
	}
	return rec
}

// pauseInfoAttribute is the server-managed KeywordList naming what is
// paused in a run: "property:activityType=<type>" per paused activity
// type, as the reference writes it (the CLI's batch examples query it).
const pauseInfoAttribute = "TemporalPauseInfo"

// pauseInfo is the run's TemporalPauseInfo value, nil when nothing is
// paused.
func pauseInfo(st *sm.State) *commonpb.Payload {
	seen := map[string]bool{}
	var entries []string
	for _, ai := range st.Activities {
		if e := "property:activityType=" + ai.ActivityType; ai.Paused && !seen[e] {
			seen[e] = true
			entries = append(entries, e)
		}
	}
	if len(entries) == 0 {
		return nil
	}
	sort.Strings(entries)
	data, _ := json.Marshal(entries) // strings always marshal
	return &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("json/plain"), "type": []byte("KeywordList")}, Data: data}
}
