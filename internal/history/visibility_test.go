package history

import (
	"testing"

	sm "github.com/sundialhq/sundial/internal/history/statemachine"
	"github.com/sundialhq/sundial/internal/persistence"
)

func TestPauseInfo(t *testing.T) {
	st := &sm.State{Activities: map[int64]*sm.ActivityInfo{
		5: {ActivityType: "B", Paused: true},
		6: {ActivityType: "A", Paused: true},
		7: {ActivityType: "B", Paused: true},
		8: {ActivityType: "C"},
	}}
	p := pauseInfo(st)
	if p == nil || string(p.GetData()) != `["property:activityType=A","property:activityType=B"]` || string(p.GetMetadata()["type"]) != "KeywordList" {
		t.Fatalf("TemporalPauseInfo = %v", p)
	}
	st.Activities[5].Paused, st.Activities[6].Paused, st.Activities[7].Paused = false, false, false
	if p := pauseInfo(st); p != nil {
		t.Fatalf("nothing paused: %v", p)
	}
	rec := visibilityRecord(persistence.WorkflowKey{NamespaceID: "ns", WorkflowID: "w", RunID: "r"}, &sm.State{Activities: map[int64]*sm.ActivityInfo{1: {ActivityType: "X", Paused: true}}})
	if rec.SearchAttributes.GetIndexedFields()[pauseInfoAttribute] == nil {
		t.Fatal("the record must carry TemporalPauseInfo")
	}
}
