package statemachine

import (
	"slices"
	"testing"

	commandpb "go.temporal.io/api/command/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
)

func jsonPayload(data string) *commonpb.Payload {
	return &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(data)}
}

var nullPayload = &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("binary/null")}}

// Upserting a memo field or search attribute with a null value (what SDKs
// send for nil) removes the key; other values replace it.
func TestUpsertNullRemovesMemoAndSearchAttributeKeys(t *testing.T) {
	r := newRun(t, func(req *workflowservice.StartWorkflowExecutionRequest) {
		req.Memo = &commonpb.Memo{Fields: map[string]*commonpb.Payload{
			"gone": jsonPayload(`"a"`), "json-null": jsonPayload(`"b"`), "empty-list": jsonPayload(`"c"`), "kept": jsonPayload(`"d"`)}}
		req.SearchAttributes = &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{
			"Gone": jsonPayload(`1`), "Kept": jsonPayload(`2`)}}
	})
	modify := &commandpb.Command{CommandType: enumspb.COMMAND_TYPE_MODIFY_WORKFLOW_PROPERTIES,
		Attributes: &commandpb.Command_ModifyWorkflowPropertiesCommandAttributes{ModifyWorkflowPropertiesCommandAttributes: &commandpb.ModifyWorkflowPropertiesCommandAttributes{
			UpsertedMemo: &commonpb.Memo{Fields: map[string]*commonpb.Payload{
				"gone": nullPayload, "json-null": jsonPayload("null"), "empty-list": jsonPayload("[]"), "new": jsonPayload(`"e"`)}}}}}
	upsert := &commandpb.Command{CommandType: enumspb.COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
		Attributes: &commandpb.Command_UpsertWorkflowSearchAttributesCommandAttributes{UpsertWorkflowSearchAttributesCommandAttributes: &commandpb.UpsertWorkflowSearchAttributesCommandAttributes{
			SearchAttributes: &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{"Gone": nullPayload, "New": jsonPayload(`3`)}}}}}
	r.complete(r.startWFT("p"), modify, upsert)
	r.wantTypes(5, enumspb.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED, enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES)

	memo := &commonpb.Memo{}
	mustUnmarshal(r.s.Memo, memo)
	if got := payloadKeys(memo.GetFields()); len(got) != 2 || got[0] != "kept" || got[1] != "new" {
		t.Errorf("memo keys %v, want [kept new]", got)
	}
	sa := &commonpb.SearchAttributes{}
	mustUnmarshal(r.s.SearchAttributes, sa)
	if got := payloadKeys(sa.GetIndexedFields()); len(got) != 2 || got[0] != "Kept" || got[1] != "New" {
		t.Errorf("search attribute keys %v, want [Kept New]", got)
	}
	// Rebuilding from history gives the same state.
	rebuilt, err := Rebuild(r.history, r.s.Execution.NamespaceID, r.s.Execution.RunID)
	if err != nil {
		t.Fatal(err)
	}
	memo2 := &commonpb.Memo{}
	mustUnmarshal(rebuilt.Memo, memo2)
	if len(memo2.GetFields()) != 2 || memo2.GetFields()["gone"] != nil {
		t.Errorf("rebuilt memo %v", memo2)
	}
}

func payloadKeys(m map[string]*commonpb.Payload) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
