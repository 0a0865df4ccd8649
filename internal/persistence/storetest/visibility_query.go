package storetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/sundialhq/sundial/internal/persistence"
)

// visDataset writes five runs r1..r5 with every custom type and returns
// the store. r4 is open and has no custom attributes; r5 failed.
func visDataset(f *fixture) persistence.VisibilityStore {
	v := f.vis()
	f.must(v.AddSearchAttributes(f.ctx, testNamespace, map[string]enumspb.IndexedValueType{
		"CKeyword": enumspb.INDEXED_VALUE_TYPE_KEYWORD, "CInt": enumspb.INDEXED_VALUE_TYPE_INT,
		"CDouble": enumspb.INDEXED_VALUE_TYPE_DOUBLE, "CBool": enumspb.INDEXED_VALUE_TYPE_BOOL,
		"CDatetime": enumspb.INDEXED_VALUE_TYPE_DATETIME, "CKeywordList": enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST,
		"CText": enumspb.INDEXED_VALUE_TYPE_TEXT,
	}), "AddSearchAttributes")
	ts := func(d time.Duration) string { return t0.Add(d).Format(time.RFC3339Nano) }
	sas := [][]any{
		{"CKeyword", "alpha", "CInt", 1, "CDouble", 1.5, "CBool", true, "CDatetime", ts(0),
			"CKeywordList", []string{"a", "b"}, "CText", "Hello brave new World"},
		{"CKeyword", "alphabet", "CInt", 2, "CDouble", 2.5, "CBool", false, "CDatetime", ts(time.Hour),
			"CKeywordList", []string{"b", "c"}, "CText", "goodbye world"},
		{"CKeyword", "beta", "CInt", 3, "CDouble", 3.5, "CBool", true, "CDatetime", ts(2 * time.Hour),
			"CKeywordList", []string{"d"}, "CText", "my-business-id-foobar"},
		nil,
		{"CKeyword", "Alpha", "CInt", -5, "CDouble", -0.5, "CDatetime", ts(-time.Hour), "CKeywordList", []string{}},
	}
	types := []string{"type-a", "type-a", "type-b", "type-c", "type-a"}
	for i := range 5 {
		r := visRec(fmt.Sprintf("r%d", i+1), i+1)
		r.WorkflowType = types[i]
		if sas[i] != nil {
			r.SearchAttributes = searchAttrs(sas[i]...)
		}
		switch i + 1 {
		case 2:
			r.ParentWorkflowID, r.ParentRunID = "wf-r1", "r1"
		case 4:
			r.Status, r.CloseTime = enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, time.Time{}
		case 5:
			r.Status = enumspb.WORKFLOW_EXECUTION_STATUS_FAILED
		}
		f.upsert(v, r)
	}
	return v
}

// ts quotes t0+d as a query literal.
func ts(d time.Duration) string { return "'" + t0.Add(d).Format(time.RFC3339Nano) + "'" }

// visOperatorCases are the queries of testVisOperators on visDataset and
// the runs each must find.
var visOperatorCases = []struct{ q, want string }{
	{"", "r1 r2 r3 r4 r5"},
	{"WorkflowId = 'wf-r1'", "r1"},
	{"WorkflowId != 'wf-r1'", "r2 r3 r4 r5"},
	{"WorkflowId <> 'wf-r1'", "r2 r3 r4 r5"},
	{"RunId = 'r3'", "r3"},
	{"WorkflowType = 'type-a'", "r1 r2 r5"},
	{"WorkflowType IN ('type-b', 'type-c')", "r3 r4"},
	{"WorkflowType NOT IN ('type-a')", "r3 r4"},
	{"WorkflowId STARTS_WITH 'wf-r'", "r1 r2 r3 r4 r5"},
	{"WorkflowType STARTS_WITH 'type-b'", "r3"},
	{"TaskQueue = 'tq'", "r1 r2 r3 r4 r5"},
	{"ExecutionStatus = 'Running'", "r4"},
	{"ExecutionStatus != 'Completed'", "r4 r5"},
	{"ExecutionStatus IN ('Failed', 'Running')", "r4 r5"},
	{"ExecutionStatus = 'WORKFLOW_EXECUTION_STATUS_FAILED'", "r5"},
	{"HistoryLength > 13", "r4 r5"},
	{"HistoryLength >= 13", "r3 r4 r5"},
	{"HistoryLength < 12", "r1"},
	{"HistoryLength <= 12", "r1 r2"},
	{"HistoryLength BETWEEN 12 AND 14", "r2 r3 r4"},
	{"HistoryLength NOT BETWEEN 12 AND 14", "r1 r5"},
	{"HistorySizeBytes = 1003", "r3"},
	{"StateTransitionCount > 8", "r4 r5"},
	{"CloseTime IS NULL", "r4"},
	{"CloseTime IS NOT NULL", "r1 r2 r3 r5"},
	{"CloseTime > " + ts(0), "r1 r2 r3 r5"},
	{"CloseTime < " + ts(time.Hour), "r1 r2 r3 r5"},
	{"StartTime >= " + ts(3*time.Minute), "r3 r4 r5"},
	{"StartTime BETWEEN " + ts(2*time.Minute) + " AND " + ts(4*time.Minute), "r2 r3 r4"},
	{"ExecutionTime < " + ts(2*time.Minute), "r1"},
	{"ExecutionDuration > '3s'", "r3 r5"},
	{"ExecutionDuration <= 3000000000", "r1 r2"},
	{"ExecutionDuration IS NULL", "r4"},
	{"ParentWorkflowId = 'wf-r1'", "r2"},
	{"ParentWorkflowId IS NULL", "r1 r3 r4 r5"},
	{"ParentRunId IS NOT NULL", "r2"},
	{"RootWorkflowId IS NULL", "r1 r2 r3 r4 r5"},
	{"CKeyword = 'alpha'", "r1"},
	{"CKeyword != 'alpha'", "r2 r3 r4 r5"},
	{"CKeyword STARTS_WITH 'alpha'", "r1 r2"},
	{"CKeyword NOT STARTS_WITH 'alpha'", "r3 r4 r5"},
	{"CKeyword STARTS_WITH ''", "r1 r2 r3 r5"},
	{"CKeyword IN ('beta', 'Alpha')", "r3 r5"},
	{"CKeyword NOT IN ('beta')", "r1 r2 r4 r5"},
	{"CKeyword > 'alpha'", "r2 r3"},
	{"CKeyword BETWEEN 'alpha' AND 'alphabet'", "r1 r2"},
	{"CKeyword IS NULL", "r4"},
	{"CKeyword IS NOT NULL", "r1 r2 r3 r5"},
	{"CInt = 2", "r2"},
	{"CInt != 2", "r1 r3 r4 r5"},
	{"CInt > 1", "r2 r3"},
	{"CInt >= 2", "r2 r3"},
	{"CInt < 0", "r5"},
	{"CInt <= 1", "r1 r5"},
	{"CInt BETWEEN 1 AND 2", "r1 r2"},
	{"CInt IN (1, 3)", "r1 r3"},
	{"CInt NOT IN (1, 3)", "r2 r4 r5"},
	{"CDouble = 1.5", "r1"},
	{"CDouble > 2", "r2 r3"},
	{"CDouble BETWEEN -1 AND 2", "r1 r5"},
	{"CDouble < 0", "r5"},
	{"CBool = true", "r1 r3"},
	{"CBool = false", "r2"},
	{"CBool != true", "r2 r4 r5"},
	{"CBool IS NULL", "r4 r5"},
	{"CDatetime > " + ts(0), "r2 r3"},
	{"CDatetime <= " + ts(0), "r1 r5"},
	{"CDatetime BETWEEN " + ts(-time.Hour) + " AND " + ts(0), "r1 r5"},
	{"CDatetime IN (" + ts(time.Hour) + ", " + ts(2*time.Hour) + ")", "r2 r3"},
	{"CKeywordList = 'b'", "r1 r2"},
	{"CKeywordList IN ('a', 'd')", "r1 r3"},
	{"CKeywordList != 'b'", "r3 r4 r5"},
	{"CKeywordList STARTS_WITH 'c'", "r2"},
	{"CKeywordList IS NULL", "r4 r5"},
	{"CText = 'world'", "r1 r2"},
	{"CText = 'WORLD hello'", "r1 r2"},
	{"CText = 'brave'", "r1"},
	{"CText = 'foobar'", "r3"},
	{"CText = 'foo'", ""},
	{"CText = '---'", ""},
	{"CText != 'world'", "r3 r4 r5"},
	{"CInt = 1 OR CInt = 3", "r1 r3"},
	{"(CInt = 1 OR CInt = 3) AND CBool = true", "r1 r3"},
	{"CInt = 1 OR CInt = 3 AND CBool = false", "r1"},
	{"NOT (CInt = 1 OR WorkflowType = 'type-b')", "r2 r4 r5"},
	{"NOT NOT CInt = 1", "r1"},
	{"WorkflowType = 'type-a' AND NOT CKeyword STARTS_WITH 'alpha'", "r5"},
	{"`CKeyword` = 'beta'", "r3"},
	{`CKeyword = "beta"`, "r3"},
	{"HistoryLength > 10 and HistoryLength < 12 or CInt = 3", "r1 r3"},
	{"WorkflowType = 'type-a' AND ExecutionStatus = 'Completed' ORDER BY StartTime DESC", "r1 r2"},
}

func testVisOperators(f *fixture) {
	v := visDataset(f)
	cases := visOperatorCases
	for _, c := range cases {
		got := strings.Join(sortedCopy(f.list(v, testNamespace, c.q, 2)), " ")
		if got != c.want {
			f.Errorf("%s: got [%s], want [%s]", c.q, got, c.want)
		}
		if n := f.visCount(v, testNamespace, c.q).Count; n != int64(len(strings.Fields(c.want))) {
			f.Errorf("count %s = %d, want %d", c.q, n, len(strings.Fields(c.want)))
		}
	}
}

func testVisOrder(f *fixture) {
	v := visDataset(f)
	cases := []struct{ q, want string }{
		{"", "r4 r5 r3 r2 r1"}, // open first, then CloseTime DESC
		{"ORDER BY StartTime", "r1 r2 r3 r4 r5"},
		{"ORDER BY StartTime ASC", "r1 r2 r3 r4 r5"},
		{"order by StartTime desc", "r5 r4 r3 r2 r1"},
		{"ORDER BY CloseTime", "r1 r2 r3 r5 r4"},
		{"ORDER BY WorkflowType, HistoryLength DESC", "r5 r2 r1 r3 r4"},
		{"ORDER BY WorkflowType DESC, StartTime", "r4 r3 r1 r2 r5"},
		{"ORDER BY ExecutionStatus, RunId DESC", "r4 r3 r2 r1 r5"},
		{"ExecutionStatus = 'Completed' ORDER BY HistoryLength DESC", "r3 r2 r1"},
		{"CInt >= 1 ORDER BY WorkflowId DESC", "r3 r2 r1"},
	}
	for _, c := range cases {
		for _, size := range []int{1, 2, 10} {
			if got := strings.Join(f.list(v, testNamespace, c.q, size), " "); got != c.want {
				f.Errorf("%q with page size %d: got [%s], want [%s]", c.q, size, got, c.want)
			}
		}
	}
}

func testVisCount(f *fixture) {
	v := visDataset(f)
	render := func(c *persistence.VisibilityCount) string {
		var b strings.Builder
		fmt.Fprintf(&b, "%d", c.Count)
		for _, g := range c.Groups {
			fmt.Fprintf(&b, " %s=%d", g.Status, g.Count)
		}
		return b.String()
	}
	cases := []struct{ q, want string }{
		{"", "5"},
		{"GROUP BY ExecutionStatus", "5 Running=1 Completed=3 Failed=1"},
		{"WorkflowType = 'type-a' GROUP BY ExecutionStatus", "3 Completed=2 Failed=1"},
		{"CInt > 100 GROUP BY ExecutionStatus", "0"},
		{"WorkflowType = 'type-a' ORDER BY StartTime", "3"},
	}
	for _, c := range cases {
		if got := render(f.visCount(v, testNamespace, c.q)); got != c.want {
			f.Errorf("count %q = %s, want %s", c.q, got, c.want)
		}
	}
	if c, err := v.CountVisibility(f.ctx, testNamespace, nil); err != nil || c.Count != 5 {
		f.Errorf("count with a nil query = %+v, %v", c, err)
	}
}

func testVisPageTokens(f *fixture) {
	v := visDataset(f)
	byStart := f.parse(v, testNamespace, "ORDER BY StartTime")
	resp, err := v.ListVisibility(f.ctx, &persistence.ListVisibilityRequest{NamespaceID: testNamespace, Query: byStart, PageSize: 2})
	f.must(err, "ListVisibility")
	if resp.NextPageToken == nil {
		f.Fatal("no token after a full page")
	}
	for name, token := range map[string][]byte{"garbage": []byte("garbage"), "empty object": []byte("{}"),
		"other order": resp.NextPageToken, "wrong types": []byte(`{"o":"close_time:true,start_time:true,run_id:true","v":["a","b","c"]}`)} {
		_, err := v.ListVisibility(f.ctx, &persistence.ListVisibilityRequest{NamespaceID: testNamespace, PageSize: 2, NextPageToken: token})
		f.wantIs(err, persistence.ErrInvalidPageToken, "token "+name)
	}
}

// loadVis writes recs in batches when the store can, one by one otherwise.
func (f *fixture) loadVis(v persistence.VisibilityStore, recs []*persistence.VisibilityRecord) {
	f.Helper()
	type batcher interface {
		UpsertVisibilityBatch(ctx context.Context, recs []*persistence.VisibilityRecord) error
	}
	if b, ok := v.(batcher); ok {
		for len(recs) > 0 {
			n := min(len(recs), 500)
			f.must(b.UpsertVisibilityBatch(f.ctx, recs[:n]), "UpsertVisibilityBatch")
			recs = recs[n:]
		}
		return
	}
	f.upsert(v, recs...)
}

// pageUnderWrites pages through 1,000 runs with query q while another
// goroutine keeps updating them (without changing their sort keys) and
// inserting new runs, and checks that every original run came exactly once.
func pageUnderWrites(f *fixture, q string, mutate func(r *persistence.VisibilityRecord, round int)) {
	v := f.vis()
	const n = 1000
	recs := make([]*persistence.VisibilityRecord, n)
	for i := range recs {
		recs[i] = visRec(fmt.Sprintf("run-%04d", i), i)
	}
	f.loadVis(v, recs)

	ctx, stop := context.WithCancel(f.ctx)
	var wg sync.WaitGroup
	var writeErr error
	wg.Go(func() {
		for round := 0; ctx.Err() == nil && round < 200; round++ {
			r := *recs[(round*37)%n]
			r.Version = int64(round + 2)
			mutate(&r, round)
			extra := visRec(fmt.Sprintf("new-%04d", round), n+round)
			for _, w := range []*persistence.VisibilityRecord{&r, extra} {
				if err := v.UpsertVisibility(ctx, w); err != nil && ctx.Err() == nil {
					writeErr = err
					return
				}
			}
		}
	})
	seen := map[string]int{}
	for _, id := range f.list(v, testNamespace, q, 37) {
		seen[id]++
	}
	stop()
	wg.Wait()
	if writeErr != nil {
		f.Fatalf("concurrent writer: %v", writeErr)
	}
	for id, c := range seen {
		if c > 1 {
			f.Errorf("%s listed %d times", id, c)
		}
	}
	for _, r := range recs {
		if seen[r.RunID] != 1 {
			f.Errorf("%s listed %d times, want once", r.RunID, seen[r.RunID])
		}
	}
	// Unfiltered counts come from counters kept with the writes; they
	// must agree with counting the rows.
	counted := f.visCount(v, testNamespace, "GROUP BY ExecutionStatus")
	scanned := f.visCount(v, testNamespace, "TaskQueue = 'tq' GROUP BY ExecutionStatus")
	if fmt.Sprint(counted) != fmt.Sprint(scanned) || counted.Count < n {
		f.Errorf("counters say %+v, rows say %+v", counted, scanned)
	}
}

func testVisPagingUnderWrites(f *fixture) {
	pageUnderWrites(f, "ORDER BY StartTime DESC", func(r *persistence.VisibilityRecord, round int) {
		r.HistoryLength += int64(round)
		r.Status = enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED
		r.CloseTime = r.CloseTime.Add(time.Hour)
	})
}

func testVisPagingDefaultOrder(f *fixture) {
	pageUnderWrites(f, "TaskQueue = 'tq'", func(r *persistence.VisibilityRecord, round int) {
		r.HistorySizeBytes += int64(round)
		r.WorkflowType = "renamed"
	})
}

// testVisBatch writes one run twice in a batch (the later version wins) and
// a batch mixing new and stored runs.
func testVisBatch(f *fixture) {
	v := f.vis()
	f.must(v.AddSearchAttributes(f.ctx, testNamespace, map[string]enumspb.IndexedValueType{
		"Stage": enumspb.INDEXED_VALUE_TYPE_KEYWORD}), "AddSearchAttributes")
	a1, a2, b := visRec("run-a", 1), visRec("run-a", 1), visRec("run-b", 2)
	a1.SearchAttributes, a2.SearchAttributes = searchAttrs("Stage", "one"), searchAttrs("Stage", "two")
	a2.Version, a2.Status = 2, enumspb.WORKFLOW_EXECUTION_STATUS_FAILED
	f.loadVis(v, []*persistence.VisibilityRecord{a1, a2, b})
	f.wantIDs("Stage = 'two'", f.list(v, testNamespace, "Stage = 'two'", 10), "run-a")
	f.wantIDs("Stage = 'one'", f.list(v, testNamespace, "Stage = 'one'", 10))
	c := visRec("run-c", 3)
	b.Version, b.HistoryLength = 3, 99
	f.loadVis(v, []*persistence.VisibilityRecord{c, b})
	f.wantIDs("updated in a mixed batch", f.list(v, testNamespace, "HistoryLength = 99", 10), "run-b")
	want := "3 Completed=2 Failed=1"
	got := f.visCount(v, testNamespace, "GROUP BY ExecutionStatus")
	if s := fmt.Sprintf("%d Completed=%d Failed=%d", got.Count, got.Groups[0].Count, got.Groups[1].Count); s != want || len(got.Groups) != 2 {
		f.Errorf("counts %+v, want %s", got, want)
	}
}
