package tests

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	filterpb "go.temporal.io/api/filter/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sundialhq/sundial/internal/persistence"
)

// visEnv is a server whose store the test can write visibility rows to
// directly, so listings are tested apart from history's writes.
type visEnv struct {
	*testEnv
	store persistence.Store
	nsID  string
}

func newVisEnv(t *testing.T) *visEnv {
	t.Helper()
	var mu sync.Mutex
	var store persistence.Store
	env := newWrappedEnv(t, func(s persistence.Store) persistence.Store {
		mu.Lock()
		defer mu.Unlock()
		store = s
		return s
	})
	ctx := testContext(t, 30*time.Second)
	ns, err := env.client.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: testNamespace})
	require.NoError(t, err)
	mu.Lock()
	defer mu.Unlock()
	return &visEnv{testEnv: env, store: store, nsID: ns.GetNamespaceInfo().GetId()}
}

var visT0 = time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)

func keywordPayload(t *testing.T, v any) *commonpb.Payload {
	p, err := converter.GetDefaultDataConverter().ToPayload(v)
	require.NoError(t, err)
	return p
}

// load writes n runs: run i is of type "type-<i%3>", open when i%4 == 0,
// started at visT0 + i seconds, with CustomerId "cust-<i%10>".
func (e *visEnv) load(t *testing.T, n int) {
	ctx := testContext(t, time.Minute)
	for i := range n {
		r := &persistence.VisibilityRecord{
			NamespaceID: e.nsID, WorkflowID: fmt.Sprintf("wf-%04d", i), RunID: fmt.Sprintf("00000000-0000-0000-0000-%012d", i),
			WorkflowType: fmt.Sprintf("type-%d", i%3), TaskQueue: "tq", Status: enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED,
			StartTime: visT0.Add(time.Duration(i) * time.Second), ExecutionTime: visT0.Add(time.Duration(i) * time.Second),
			CloseTime: visT0.Add(time.Duration(i)*time.Second + time.Minute), HistoryLength: 11, Version: 1,
			SearchAttributes: &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{
				"CustomerId": keywordPayload(t, fmt.Sprintf("cust-%d", i%10)),
			}},
		}
		if i%4 == 0 {
			r.Status, r.CloseTime = enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, time.Time{}
		}
		require.NoError(t, e.store.UpsertVisibility(ctx, r))
	}
}

func (e *visEnv) addSearchAttributes(t *testing.T, attrs map[string]enumspb.IndexedValueType) {
	_, err := e.client.OperatorService().AddSearchAttributes(testContext(t, 30*time.Second), &operatorservice.AddSearchAttributesRequest{
		Namespace: testNamespace, SearchAttributes: attrs,
	})
	require.NoError(t, err)
}

func listAll(t *testing.T, c client.Client, q string, pageSize int32) []string {
	ctx := testContext(t, time.Minute)
	var ids []string
	var token []byte
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: testNamespace, Query: q, PageSize: pageSize, NextPageToken: token,
		})
		require.NoError(t, err, "ListWorkflow %q", q)
		require.LessOrEqual(t, len(resp.Executions), int(pageSize))
		for _, ex := range resp.Executions {
			ids = append(ids, ex.GetExecution().GetWorkflowId())
		}
		if len(resp.NextPageToken) == 0 {
			return ids
		}
		token = resp.NextPageToken
	}
}

func TestVisibilityListCountScan(t *testing.T) {
	e := newVisEnv(t)
	e.addSearchAttributes(t, map[string]enumspb.IndexedValueType{"CustomerId": enumspb.INDEXED_VALUE_TYPE_KEYWORD})
	e.load(t, 1000)
	ctx := testContext(t, time.Minute)

	// The CLI's kind of query, paged through 1000 runs.
	ids := listAll(t, e.client, "WorkflowType = 'type-0' AND ExecutionStatus = 'Running' ORDER BY StartTime DESC", 7)
	var want []string
	for i := 999; i >= 0; i-- {
		if i%3 == 0 && i%4 == 0 {
			want = append(want, fmt.Sprintf("wf-%04d", i))
		}
	}
	require.Equal(t, want, ids)
	require.Len(t, listAll(t, e.client, "", 100), 1000)
	require.Len(t, listAll(t, e.client, "CustomerId = 'cust-3'", 1000), 100)

	scanned := 0
	var token []byte
	for {
		resp, err := e.client.ScanWorkflow(ctx, &workflowservice.ScanWorkflowExecutionsRequest{
			Namespace: testNamespace, Query: "CustomerId STARTS_WITH 'cust-1'", PageSize: 33, NextPageToken: token})
		require.NoError(t, err)
		scanned += len(resp.Executions)
		if token = resp.NextPageToken; len(token) == 0 {
			break
		}
	}
	require.Equal(t, 100, scanned)

	count, err := e.client.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: testNamespace, Query: "WorkflowType = 'type-1'"})
	require.NoError(t, err)
	require.EqualValues(t, 333, count.GetCount())
	count, err = e.client.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: testNamespace, Query: "GROUP BY ExecutionStatus"})
	require.NoError(t, err)
	require.EqualValues(t, 1000, count.GetCount())
	groups := map[string]int64{}
	for _, g := range count.GetGroups() {
		var status string
		require.NoError(t, converter.GetDefaultDataConverter().FromPayload(g.GetGroupValues()[0], &status))
		groups[status] = g.GetCount()
	}
	require.Equal(t, map[string]int64{"Running": 250, "Completed": 750}, groups)

	// A listed run carries typed search attributes the SDK can decode.
	resp, err := e.client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: testNamespace, Query: "WorkflowId = 'wf-0013'"})
	require.NoError(t, err)
	require.Len(t, resp.Executions, 1)
	info := resp.Executions[0]
	require.Equal(t, "type-1", info.GetType().GetName())
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, info.GetStatus())
	require.Equal(t, time.Minute, info.GetExecutionDuration().AsDuration())
	p := info.GetSearchAttributes().GetIndexedFields()["CustomerId"]
	require.Equal(t, "Keyword", string(p.GetMetadata()["type"]))
}

func TestVisibilityBadInput(t *testing.T) {
	e := newVisEnv(t)
	ctx := testContext(t, time.Minute)
	cases := []struct{ q, msg string }{
		{"WorkflowType = ", "expected a value (a quoted string or a number), found end of query (at position 16)"},
		{"WorkflowType 'x'", "expected an operator"},
		{"Nope = 'x'", "search attribute Nope is not defined (at position 1)"},
		{"HistoryLength = 'ten'", "invalid value string 'ten' for HistoryLength (type Int): expected an integer"},
		{"StartTime > 'yesterday'", "expected an RFC 3339 time"},
		{"(WorkflowType = 'x'", "expected ')', found end of query"},
		{"ExecutionStatus = 'Sleeping'", "expected a workflow execution status"},
		{"WorkflowType = 'x' GROUP BY WorkflowType", "GROUP BY is supported on ExecutionStatus only"},
	}
	for _, c := range cases {
		_, err := e.client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: testNamespace, Query: c.q})
		var invalid *serviceerror.InvalidArgument
		require.True(t, errors.As(err, &invalid), "%q: got %v, want InvalidArgument", c.q, err)
		require.Contains(t, invalid.Error(), c.msg, c.q)
	}
	_, err := e.client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: testNamespace, PageSize: 1001})
	require.EqualError(t, err, "PageSize is larger than allowed 1000.")
	_, err = e.client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: testNamespace, NextPageToken: []byte("junk")})
	require.EqualError(t, err, "Invalid NextPageToken.")
	_, err = e.client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: "nope"})
	var nsNotFound *serviceerror.NamespaceNotFound
	require.ErrorAs(t, err, &nsNotFound)
}

func TestVisibilitySearchAttributeOperator(t *testing.T) {
	e := newVisEnv(t)
	ctx := testContext(t, time.Minute)
	op := e.client.OperatorService()
	all := map[string]enumspb.IndexedValueType{}
	for tp := enumspb.INDEXED_VALUE_TYPE_TEXT; tp <= enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST; tp++ {
		all[fmt.Sprintf("Custom%d", tp)] = tp
	}
	e.addSearchAttributes(t, all)
	e.addSearchAttributes(t, map[string]enumspb.IndexedValueType{"Custom2": enumspb.INDEXED_VALUE_TYPE_KEYWORD}) // same type: no-op

	_, err := op.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: testNamespace,
		SearchAttributes: map[string]enumspb.IndexedValueType{"Custom2": enumspb.INDEXED_VALUE_TYPE_INT}})
	var exists *serviceerror.AlreadyExists
	require.ErrorAs(t, err, &exists)
	_, err = op.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: testNamespace,
		SearchAttributes: map[string]enumspb.IndexedValueType{"WorkflowType": enumspb.INDEXED_VALUE_TYPE_KEYWORD}})
	require.EqualError(t, err, "Search attribute WorkflowType is reserved by system.")

	list, err := op.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: testNamespace})
	require.NoError(t, err)
	require.Equal(t, all, list.GetCustomAttributes())
	require.Equal(t, enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST, list.GetSystemAttributes()["TemporalChangeVersion"])
	require.Equal(t, enumspb.INDEXED_VALUE_TYPE_DATETIME, list.GetSystemAttributes()["StartTime"])

	sa, err := e.client.GetSearchAttributes(ctx)
	require.NoError(t, err)
	require.Equal(t, enumspb.INDEXED_VALUE_TYPE_DOUBLE, sa.GetKeys()["Custom4"])
	require.Equal(t, enumspb.INDEXED_VALUE_TYPE_KEYWORD, sa.GetKeys()["WorkflowId"])

	_, err = op.RemoveSearchAttributes(ctx, &operatorservice.RemoveSearchAttributesRequest{Namespace: testNamespace, SearchAttributes: []string{"Custom3", "Missing"}})
	require.EqualError(t, err, "Search attribute Missing doesn't exist.")
	_, err = op.RemoveSearchAttributes(ctx, &operatorservice.RemoveSearchAttributesRequest{Namespace: testNamespace, SearchAttributes: []string{"Custom3"}})
	require.NoError(t, err)
	_, err = e.client.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: testNamespace, Query: "Custom3 = 1"})
	require.ErrorContains(t, err, "search attribute Custom3 is not defined")
}

func TestVisibilityListOpenClosed(t *testing.T) {
	e := newVisEnv(t)
	e.load(t, 40)
	ctx := testContext(t, time.Minute)
	open, err := e.client.ListOpenWorkflow(ctx, &workflowservice.ListOpenWorkflowExecutionsRequest{
		Namespace: testNamespace, MaximumPageSize: 100,
		StartTimeFilter: &filterpb.StartTimeFilter{EarliestTime: timestamppb.New(visT0.Add(10 * time.Second))},
		Filters:         &workflowservice.ListOpenWorkflowExecutionsRequest_TypeFilter{TypeFilter: &filterpb.WorkflowTypeFilter{Name: "type-0"}},
	})
	require.NoError(t, err)
	var got []string
	for _, ex := range open.GetExecutions() {
		got = append(got, ex.GetExecution().GetWorkflowId())
	}
	require.Equal(t, []string{"wf-0036", "wf-0024", "wf-0012"}, got)

	closed, err := e.client.ListClosedWorkflow(ctx, &workflowservice.ListClosedWorkflowExecutionsRequest{
		Namespace: testNamespace, MaximumPageSize: 100,
		Filters: &workflowservice.ListClosedWorkflowExecutionsRequest_ExecutionFilter{
			ExecutionFilter: &filterpb.WorkflowExecutionFilter{WorkflowId: "wf-0005"}},
	})
	require.NoError(t, err)
	require.Len(t, closed.GetExecutions(), 1)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, closed.GetExecutions()[0].GetStatus())
}

// TestVisibilityWorkflowsEndToEnd runs real workflows, which history
// records through its outbox, and finds them with the SDK's list and count;
// a start with an undefined search attribute is refused.
func TestVisibilityWorkflowsEndToEnd(t *testing.T) {
	e := newVisEnv(t)
	ctx := testContext(t, time.Minute)
	e.addSearchAttributes(t, map[string]enumspb.IndexedValueType{"OrderId": enumspb.INDEXED_VALUE_TYPE_KEYWORD})
	orderID := temporal.NewSearchAttributeKeyKeyword("OrderId")
	wf := func(ctx workflow.Context) error { return nil }
	tq := e.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(wf, workflow.RegisterOptions{Name: "VisWorkflow"})
	})
	opts := startOptions(t, tq)
	opts.TypedSearchAttributes = temporal.NewSearchAttributes(orderID.ValueSet("order-1"))
	run, err := e.client.ExecuteWorkflow(ctx, opts, "VisWorkflow")
	require.NoError(t, err)
	require.NoError(t, run.Get(ctx, nil))
	eventually(t, ctx, "the run to be listed as completed", func() error {
		resp, err := e.client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: testNamespace, Query: "OrderId = 'order-1' AND ExecutionStatus = 'Completed'"})
		if err != nil {
			return err
		}
		if len(resp.Executions) != 1 || resp.Executions[0].GetExecution().GetRunId() != run.GetRunID() {
			return fmt.Errorf("listed %v", resp.Executions)
		}
		return nil
	})
	scan, err := e.client.ScanWorkflow(ctx, &workflowservice.ScanWorkflowExecutionsRequest{Namespace: testNamespace, Query: "WorkflowType = 'VisWorkflow'"})
	require.NoError(t, err)
	require.Len(t, scan.GetExecutions(), 1)
	require.Equal(t, "order-1", string(scan.GetExecutions()[0].GetSearchAttributes().GetIndexedFields()["OrderId"].GetData()[1:8]))
	count, err := e.client.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: testNamespace, Query: "WorkflowType = 'VisWorkflow'"})
	require.NoError(t, err)
	require.EqualValues(t, 1, count.GetCount())

	bad := startOptions(t, tq)
	bad.TypedSearchAttributes = temporal.NewSearchAttributes(temporal.NewSearchAttributeKeyKeyword("Undefined").ValueSet("x"))
	_, err = e.client.ExecuteWorkflow(ctx, bad, "VisWorkflow")
	require.ErrorContains(t, err, "search attribute Undefined is not defined")
}
