package history

import (
	"context"

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
	return rec
}
