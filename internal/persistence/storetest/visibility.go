package storetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"google.golang.org/protobuf/proto"

	"github.com/sundialhq/sundial/internal/persistence"
	"github.com/sundialhq/sundial/internal/visibility/query"
	"github.com/sundialhq/sundial/internal/visibility/searchattr"
)

// visibilityTests pin persistence.VisibilityStore.
var visibilityTests = map[string]func(*fixture){
	"Batch":                  testVisBatch,
	"UpsertRoundTrip":        testVisRoundTrip,
	"VersionOrdersWrites":    testVisVersions,
	"Delete":                 testVisDelete,
	"NamespaceIsolation":     testVisNamespaces,
	"SearchAttributeDefs":    testVisDefs,
	"ManyCustomAttributes":   testVisManyAttributes,
	"RemoveDropsIndex":       testVisRemoveDropsIndex,
	"Operators":              testVisOperators,
	"Order":                  testVisOrder,
	"Count":                  testVisCount,
	"PageTokens":             testVisPageTokens,
	"PagingUnderWrites":      testVisPagingUnderWrites,
	"UndefinedNotIndexed":    testVisUndefinedNotIndexed,
	"PredefinedAttributes":   testVisPredefined,
	"PagingDefaultOrder1000": testVisPagingDefaultOrder,
}

func (f *fixture) vis() persistence.VisibilityStore { return f.s }

// payload encodes v as the SDKs do: JSON with encoding json/plain.
func payload(v any) *commonpb.Payload {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: data}
}

func searchAttrs(kv ...any) *commonpb.SearchAttributes {
	sa := &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{}}
	for i := 0; i < len(kv); i += 2 {
		sa.IndexedFields[kv[i].(string)] = payload(kv[i+1])
	}
	return sa
}

// visRec is a closed, completed run started at t0+i minutes.
func visRec(runID string, i int) *persistence.VisibilityRecord {
	start := t0.Add(time.Duration(i) * time.Minute)
	return &persistence.VisibilityRecord{
		NamespaceID: testNamespace, WorkflowID: "wf-" + runID, RunID: runID,
		WorkflowType: "type-a", TaskQueue: "tq", Status: enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED,
		StartTime: start, ExecutionTime: start, CloseTime: start.Add(time.Duration(i+1) * time.Second),
		HistoryLength: int64(10 + i), HistorySizeBytes: int64(1000 + i), StateTransitionCount: int64(5 + i),
		Version: 1,
	}
}

func (f *fixture) upsert(v persistence.VisibilityStore, recs ...*persistence.VisibilityRecord) {
	f.Helper()
	for _, r := range recs {
		f.must(v.UpsertVisibility(f.ctx, r), "UpsertVisibility "+r.RunID)
	}
}

// lookup resolves names against the store's definitions for testNamespace.
func (f *fixture) lookup(v persistence.VisibilityStore, namespaceID string) searchattr.Lookup {
	f.Helper()
	defs, err := v.GetSearchAttributes(f.ctx, namespaceID)
	f.must(err, "GetSearchAttributes")
	return searchattr.NewLookup(defs)
}

func (f *fixture) parse(v persistence.VisibilityStore, namespaceID, text string) *query.Query {
	f.Helper()
	q, err := query.Parse(text, f.lookup(v, namespaceID))
	if err != nil {
		f.Fatalf("parse %q: %v", text, err)
	}
	return q
}

// list returns the run IDs of every page of text, in order, paging by size.
func (f *fixture) list(v persistence.VisibilityStore, namespaceID, text string, size int) []string {
	f.Helper()
	q := f.parse(v, namespaceID, text)
	var ids []string
	var token []byte
	for pages := 0; ; pages++ {
		if pages > 100000 {
			f.Fatalf("list %q: paging does not end", text)
		}
		resp, err := v.ListVisibility(f.ctx, &persistence.ListVisibilityRequest{
			NamespaceID: namespaceID, Query: q, PageSize: size, NextPageToken: token,
		})
		f.must(err, "ListVisibility "+text)
		if len(resp.Records) > size {
			f.Fatalf("list %q: %d records in a page of %d", text, len(resp.Records), size)
		}
		for _, r := range resp.Records {
			ids = append(ids, r.RunID)
		}
		if resp.NextPageToken == nil {
			return ids
		}
		token = resp.NextPageToken
	}
}

func (f *fixture) visCount(v persistence.VisibilityStore, namespaceID, text string) *persistence.VisibilityCount {
	f.Helper()
	c, err := v.CountVisibility(f.ctx, namespaceID, f.parse(v, namespaceID, text))
	f.must(err, "CountVisibility "+text)
	return c
}

func sortedCopy(ids []string) []string {
	out := slices.Clone(ids)
	sort.Strings(out)
	return out
}

func (f *fixture) wantIDs(what string, got []string, want ...string) {
	f.Helper()
	if strings.Join(got, ",") != strings.Join(want, ",") {
		f.Errorf("%s: got %v, want %v", what, got, want)
	}
}

func testVisRoundTrip(f *fixture) {
	v := f.vis()
	rec := visRec("run-1", 1)
	rec.Status = enumspb.WORKFLOW_EXECUTION_STATUS_FAILED
	rec.ExecutionTime = rec.StartTime.Add(time.Second)
	rec.Memo = &commonpb.Memo{Fields: map[string]*commonpb.Payload{"note": payload("hello")}}
	rec.SearchAttributes = searchAttrs("TemporalChangeVersion", []string{"v1"})
	rec.ParentWorkflowID, rec.ParentRunID, rec.RootWorkflowID, rec.RootRunID = "parent", "prun", "root", "rrun"
	rec.Version = 7
	f.upsert(v, rec)
	resp, err := v.ListVisibility(f.ctx, &persistence.ListVisibilityRequest{NamespaceID: testNamespace, PageSize: 10})
	f.must(err, "ListVisibility")
	if len(resp.Records) != 1 || resp.NextPageToken != nil {
		f.Fatalf("got %d records, token %q; want 1, none", len(resp.Records), resp.NextPageToken)
	}
	got := resp.Records[0]
	if !proto.Equal(got.Memo, rec.Memo) || !proto.Equal(got.SearchAttributes, rec.SearchAttributes) {
		f.Errorf("memo/search attributes did not round-trip: %v %v", got.Memo, got.SearchAttributes)
	}
	gotCopy, wantCopy := *got, *rec
	gotCopy.Memo, gotCopy.SearchAttributes, wantCopy.Memo, wantCopy.SearchAttributes = nil, nil, nil, nil
	for _, t := range []*time.Time{&gotCopy.StartTime, &gotCopy.ExecutionTime, &gotCopy.CloseTime,
		&wantCopy.StartTime, &wantCopy.ExecutionTime, &wantCopy.CloseTime} {
		*t = t.UTC()
	}
	if fmt.Sprintf("%+v", gotCopy) != fmt.Sprintf("%+v", wantCopy) {
		f.Errorf("record:\n got %+v\nwant %+v", gotCopy, wantCopy)
	}

	// An open run reads back with a zero close time.
	open := visRec("run-2", 2)
	open.CloseTime, open.Status = time.Time{}, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	f.upsert(v, open)
	q := f.parse(v, testNamespace, "RunId = 'run-2'")
	resp, err = v.ListVisibility(f.ctx, &persistence.ListVisibilityRequest{NamespaceID: testNamespace, Query: q, PageSize: 10})
	f.must(err, "ListVisibility")
	if len(resp.Records) != 1 || !resp.Records[0].CloseTime.IsZero() {
		f.Fatalf("open run: %+v", resp.Records)
	}

	if err := v.UpsertVisibility(f.ctx, &persistence.VisibilityRecord{NamespaceID: testNamespace}); err == nil {
		f.Error("an upsert without a run ID succeeded")
	}
	if _, err := v.ListVisibility(f.ctx, &persistence.ListVisibilityRequest{NamespaceID: testNamespace}); err == nil {
		f.Error("a list with page size 0 succeeded")
	}
}

func testVisVersions(f *fixture) {
	v := f.vis()
	f.must(v.AddSearchAttributes(f.ctx, testNamespace, map[string]enumspb.IndexedValueType{
		"Stage": enumspb.INDEXED_VALUE_TYPE_KEYWORD}), "AddSearchAttributes")
	rec := visRec("run-1", 1)
	rec.Version, rec.HistoryLength, rec.SearchAttributes = 5, 50, searchAttrs("Stage", "five")
	f.upsert(v, rec)

	older := visRec("run-1", 1)
	older.Version, older.HistoryLength, older.SearchAttributes = 4, 40, searchAttrs("Stage", "four")
	f.upsert(v, older)
	f.wantIDs("after an older write, HistoryLength = 50", f.list(v, testNamespace, "HistoryLength = 50", 10), "run-1")
	f.wantIDs("after an older write, Stage = 'five'", f.list(v, testNamespace, "Stage = 'five'", 10), "run-1")
	f.wantIDs("after an older write, Stage = 'four'", f.list(v, testNamespace, "Stage = 'four'", 10))

	f.upsert(v, rec) // the same write again changes nothing
	f.wantIDs("after a repeated write", f.list(v, testNamespace, "Stage = 'five'", 10), "run-1")

	newer := visRec("run-1", 1)
	newer.Version, newer.HistoryLength, newer.SearchAttributes = 6, 60, searchAttrs("Stage", "six")
	f.upsert(v, newer)
	f.wantIDs("after a newer write, HistoryLength = 60", f.list(v, testNamespace, "HistoryLength = 60", 10), "run-1")
	f.wantIDs("after a newer write, Stage = 'five'", f.list(v, testNamespace, "Stage = 'five'", 10))
	f.wantIDs("after a newer write, Stage = 'six'", f.list(v, testNamespace, "Stage = 'six'", 10), "run-1")
	if c := f.visCount(v, testNamespace, ""); c.Count != 1 {
		f.Errorf("count %d, want 1", c.Count)
	}
}

func testVisDelete(f *fixture) {
	v := f.vis()
	f.must(v.AddSearchAttributes(f.ctx, testNamespace, map[string]enumspb.IndexedValueType{
		"Amount": enumspb.INDEXED_VALUE_TYPE_INT}), "AddSearchAttributes")
	a, b := visRec("run-a", 1), visRec("run-b", 2)
	a.SearchAttributes, b.SearchAttributes = searchAttrs("Amount", 3), searchAttrs("Amount", 3)
	f.upsert(v, a, b)
	f.must(v.DeleteVisibility(f.ctx, testNamespace, a.WorkflowID, a.RunID), "DeleteVisibility")
	f.must(v.DeleteVisibility(f.ctx, testNamespace, a.WorkflowID, a.RunID), "DeleteVisibility again")
	f.must(v.DeleteVisibility(f.ctx, testNamespace, "nope", "nope"), "DeleteVisibility of a missing run")
	f.wantIDs("all after delete", f.list(v, testNamespace, "", 10), "run-b")
	f.wantIDs("Amount = 3 after delete", f.list(v, testNamespace, "Amount = 3", 10), "run-b")
}

func testVisNamespaces(f *fixture) {
	v := f.vis()
	const other = "ns-id-2"
	f.must(v.AddSearchAttributes(f.ctx, testNamespace, map[string]enumspb.IndexedValueType{
		"Color": enumspb.INDEXED_VALUE_TYPE_KEYWORD}), "AddSearchAttributes")
	f.must(v.AddSearchAttributes(f.ctx, other, map[string]enumspb.IndexedValueType{
		"Color": enumspb.INDEXED_VALUE_TYPE_KEYWORD}), "AddSearchAttributes other")
	a := visRec("same-run", 1)
	a.SearchAttributes = searchAttrs("Color", "red")
	b := visRec("same-run", 1)
	b.NamespaceID, b.SearchAttributes, b.WorkflowType = other, searchAttrs("Color", "blue"), "type-b"
	f.upsert(v, a, b)
	f.wantIDs("red in ns 1", f.list(v, testNamespace, "Color = 'red'", 10), "same-run")
	f.wantIDs("blue in ns 1", f.list(v, testNamespace, "Color = 'blue'", 10))
	f.wantIDs("blue in ns 2", f.list(v, other, "Color = 'blue'", 10), "same-run")
	f.wantIDs("type-b in ns 1", f.list(v, testNamespace, "WorkflowType = 'type-b'", 10))
	if c := f.visCount(v, other, ""); c.Count != 1 {
		f.Errorf("count in ns 2 = %d, want 1", c.Count)
	}
	f.must(v.DeleteVisibility(f.ctx, other, b.WorkflowID, b.RunID), "DeleteVisibility")
	f.wantIDs("ns 1 after deleting in ns 2", f.list(v, testNamespace, "Color = 'red'", 10), "same-run")
}

func testVisDefs(f *fixture) {
	v := f.vis()
	defs, err := v.GetSearchAttributes(f.ctx, testNamespace)
	f.must(err, "GetSearchAttributes")
	if len(defs) != 0 {
		f.Fatalf("new namespace has definitions %v", defs)
	}
	all := map[string]enumspb.IndexedValueType{}
	for t := enumspb.INDEXED_VALUE_TYPE_TEXT; t <= enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST; t++ {
		all["Custom"+searchattr.TypeName(t)] = t
	}
	f.must(v.AddSearchAttributes(f.ctx, testNamespace, all), "AddSearchAttributes")
	f.must(v.AddSearchAttributes(f.ctx, testNamespace, map[string]enumspb.IndexedValueType{
		"CustomInt": enumspb.INDEXED_VALUE_TYPE_INT}), "adding an existing attribute with its type")
	err = v.AddSearchAttributes(f.ctx, testNamespace, map[string]enumspb.IndexedValueType{
		"CustomInt": enumspb.INDEXED_VALUE_TYPE_KEYWORD, "Fresh": enumspb.INDEXED_VALUE_TYPE_BOOL})
	f.wantIs(err, persistence.ErrAlreadyExists, "adding an existing attribute with another type")
	defs, err = v.GetSearchAttributes(f.ctx, testNamespace)
	f.must(err, "GetSearchAttributes")
	if fmt.Sprint(defs) != fmt.Sprint(all) {
		f.Fatalf("definitions %v, want %v (a failed add must write nothing)", defs, all)
	}

	err = v.RemoveSearchAttributes(f.ctx, testNamespace, []string{"CustomInt", "Missing"})
	f.wantIs(err, persistence.ErrNotFound, "removing a missing attribute")
	f.must(v.RemoveSearchAttributes(f.ctx, testNamespace, []string{"CustomInt", "CustomText"}), "RemoveSearchAttributes")
	defs, err = v.GetSearchAttributes(f.ctx, testNamespace)
	f.must(err, "GetSearchAttributes")
	if _, ok := defs["CustomInt"]; ok || len(defs) != len(all)-2 {
		f.Errorf("after removal: %v", defs)
	}
	// Another type may be defined under a removed name.
	f.must(v.AddSearchAttributes(f.ctx, testNamespace, map[string]enumspb.IndexedValueType{
		"CustomInt": enumspb.INDEXED_VALUE_TYPE_KEYWORD}), "re-adding with another type")
	if other, _ := v.GetSearchAttributes(f.ctx, "ns-id-2"); len(other) != 0 {
		f.Errorf("definitions leaked to another namespace: %v", other)
	}
}

// testVisManyAttributes defines 140 custom attributes (20 of each type) and
// finds a run by each of them: no per-type slot cap.
func testVisManyAttributes(f *fixture) {
	v := f.vis()
	defs := map[string]enumspb.IndexedValueType{}
	sa := &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{}}
	var queries []string
	for t := enumspb.INDEXED_VALUE_TYPE_TEXT; t <= enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST; t++ {
		for i := range 20 {
			name := fmt.Sprintf("Attr%s%02d", searchattr.TypeName(t), i)
			defs[name] = t
			val, lit := manyValue(t, i)
			sa.IndexedFields[name] = payload(val)
			queries = append(queries, name+" = "+lit)
		}
	}
	f.must(v.AddSearchAttributes(f.ctx, testNamespace, defs), "AddSearchAttributes")
	rec, decoy := visRec("run-1", 1), visRec("run-2", 2)
	rec.SearchAttributes = sa
	f.upsert(v, rec, decoy)
	for _, q := range queries {
		f.wantIDs(q, f.list(v, testNamespace, q, 10), "run-1")
	}
	f.wantIDs("all 140 at once", f.list(v, testNamespace, strings.Join(queries, " AND "), 10), "run-1")
}

func manyValue(t enumspb.IndexedValueType, i int) (any, string) {
	switch t {
	case enumspb.INDEXED_VALUE_TYPE_TEXT:
		return fmt.Sprintf("some words w%d", i), fmt.Sprintf("'w%d'", i)
	case enumspb.INDEXED_VALUE_TYPE_INT:
		return i * 7, fmt.Sprint(i * 7)
	case enumspb.INDEXED_VALUE_TYPE_DOUBLE:
		return float64(i) + 0.5, fmt.Sprint(float64(i) + 0.5)
	case enumspb.INDEXED_VALUE_TYPE_BOOL:
		return i%2 == 0, fmt.Sprint(i%2 == 0)
	case enumspb.INDEXED_VALUE_TYPE_DATETIME:
		tm := t0.Add(time.Duration(i) * time.Hour)
		return tm.Format(time.RFC3339Nano), "'" + tm.Format(time.RFC3339Nano) + "'"
	case enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST:
		return []string{"x", fmt.Sprintf("k%d", i)}, fmt.Sprintf("'k%d'", i)
	}
	return fmt.Sprintf("kw-%d", i), fmt.Sprintf("'kw-%d'", i)
}

func testVisRemoveDropsIndex(f *fixture) {
	v := f.vis()
	f.must(v.AddSearchAttributes(f.ctx, testNamespace, map[string]enumspb.IndexedValueType{
		"Flag": enumspb.INDEXED_VALUE_TYPE_INT}), "AddSearchAttributes")
	rec := visRec("run-1", 1)
	rec.SearchAttributes = searchAttrs("Flag", 1)
	f.upsert(v, rec)
	f.must(v.RemoveSearchAttributes(f.ctx, testNamespace, []string{"Flag"}), "RemoveSearchAttributes")
	f.must(v.AddSearchAttributes(f.ctx, testNamespace, map[string]enumspb.IndexedValueType{
		"Flag": enumspb.INDEXED_VALUE_TYPE_KEYWORD}), "AddSearchAttributes as Keyword")
	f.wantIDs("Flag IS NOT NULL after redefinition", f.list(v, testNamespace, "Flag IS NOT NULL", 10))
	// The record keeps the value it was written with.
	resp, err := v.ListVisibility(f.ctx, &persistence.ListVisibilityRequest{NamespaceID: testNamespace, PageSize: 10})
	f.must(err, "ListVisibility")
	if len(resp.Records) != 1 || resp.Records[0].SearchAttributes.GetIndexedFields()["Flag"] == nil {
		f.Errorf("record lost its stored search attributes: %+v", resp.Records)
	}
}

func testVisUndefinedNotIndexed(f *fixture) {
	v := f.vis()
	rec := visRec("run-1", 1)
	rec.SearchAttributes = searchAttrs("Later", "x")
	f.upsert(v, rec)
	f.must(v.AddSearchAttributes(f.ctx, testNamespace, map[string]enumspb.IndexedValueType{
		"Later": enumspb.INDEXED_VALUE_TYPE_KEYWORD}), "AddSearchAttributes")
	f.wantIDs("value written before the definition", f.list(v, testNamespace, "Later = 'x'", 10))
	rec.Version++
	f.upsert(v, rec)
	f.wantIDs("value written after the definition", f.list(v, testNamespace, "Later = 'x'", 10), "run-1")
	// A value that does not decode as the type is kept but not indexed.
	bad := visRec("run-2", 2)
	bad.SearchAttributes = searchAttrs("Later", 12)
	f.upsert(v, bad)
	f.wantIDs("IS NOT NULL", f.list(v, testNamespace, "Later IS NOT NULL", 10), "run-1")
}

func testVisPredefined(f *fixture) {
	v := f.vis()
	a, b := visRec("run-a", 1), visRec("run-b", 2)
	a.SearchAttributes = searchAttrs("TemporalChangeVersion", []string{"change-1", "change-2"}, "BuildIds", []string{"b1"})
	b.SearchAttributes = searchAttrs("TemporalChangeVersion", []string{"change-2"}, "BatcherUser", "alice")
	f.upsert(v, a, b)
	f.wantIDs("change-1", sortedCopy(f.list(v, testNamespace, "TemporalChangeVersion = 'change-1'", 10)), "run-a")
	f.wantIDs("change-2", sortedCopy(f.list(v, testNamespace, "TemporalChangeVersion = 'change-2'", 10)), "run-a", "run-b")
	f.wantIDs("BuildIds", f.list(v, testNamespace, "BuildIds IN ('b1', 'b2')", 10), "run-a")
	f.wantIDs("BatcherUser", f.list(v, testNamespace, "BatcherUser = 'alice'", 10), "run-b")
}
