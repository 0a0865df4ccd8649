package tests

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// valueAttrs are the custom search attributes of the value tests, one per
// type.
var valueAttrs = map[string]enumspb.IndexedValueType{
	"CustomIntField":      enumspb.INDEXED_VALUE_TYPE_INT,
	"CustomBoolField":     enumspb.INDEXED_VALUE_TYPE_BOOL,
	"CustomDatetimeField": enumspb.INDEXED_VALUE_TYPE_DATETIME,
	"CustomDoubleField":   enumspb.INDEXED_VALUE_TYPE_DOUBLE,
	"CustomKeywordField":  enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	"CustomTextField":     enumspb.INDEXED_VALUE_TYPE_TEXT,
	"CustomKeywordList":   enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST,
}

func addValueAttrs(t *testing.T, env *testEnv) {
	t.Helper()
	_, err := env.client.OperatorService().AddSearchAttributes(testContext(t, 30*time.Second), &operatorservice.AddSearchAttributesRequest{
		Namespace: testNamespace, SearchAttributes: valueAttrs,
	})
	require.NoError(t, err)
}

// rawSA builds search attributes from raw JSON values with no type
// metadata, as the TypeScript SDK sends them.
func rawSA(kv map[string]string) *commonpb.SearchAttributes {
	sa := &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{}}
	for k, v := range kv {
		sa.IndexedFields[k] = &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(v)}
	}
	return sa
}

// listEncoded is every type's value as a one-element JSON list, and the
// canonical form Sundial answers with.
var listEncoded = map[string][2]string{
	"CustomIntField":      {`[3]`, `3`},
	"CustomBoolField":     {`[true]`, `true`},
	"CustomDatetimeField": {`["2024-01-01T00:00:00Z"]`, `"2024-01-01T00:00:00Z"`},
	"CustomDoubleField":   {`[2.5]`, `2.5`},
	"CustomKeywordField":  {`["k"]`, `"k"`},
	"CustomTextField":     {`["some text"]`, `"some text"`},
	"CustomKeywordList":   {`["a","b"]`, `["a","b"]`},
}

// requireCanonical checks that every attribute of listEncoded is in fields
// in its canonical JSON with the type metadata of its registered type.
func requireCanonical(t *testing.T, where string, fields map[string]*commonpb.Payload) {
	t.Helper()
	for name, v := range listEncoded {
		p := fields[name]
		require.NotNil(t, p, "%s: %s missing", where, name)
		require.Equal(t, v[1], string(p.GetData()), "%s: %s value", where, name)
		want := map[enumspb.IndexedValueType]string{
			enumspb.INDEXED_VALUE_TYPE_INT: "Int", enumspb.INDEXED_VALUE_TYPE_BOOL: "Bool",
			enumspb.INDEXED_VALUE_TYPE_DATETIME: "Datetime", enumspb.INDEXED_VALUE_TYPE_DOUBLE: "Double",
			enumspb.INDEXED_VALUE_TYPE_KEYWORD: "Keyword", enumspb.INDEXED_VALUE_TYPE_TEXT: "Text",
			enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST: "KeywordList",
		}[valueAttrs[name]]
		require.Equal(t, want, string(p.GetMetadata()["type"]), "%s: %s type metadata", where, name)
	}
}

func rawStart(tq, id string, sa *commonpb.SearchAttributes) *workflowservice.StartWorkflowExecutionRequest {
	return &workflowservice.StartWorkflowExecutionRequest{
		Namespace: testNamespace, WorkflowId: id, WorkflowType: &commonpb.WorkflowType{Name: "Waiter"},
		TaskQueue: &taskqueuepb.TaskQueue{Name: tq}, SearchAttributes: sa,
	}
}

func rawSignalWithStart(tq, id string, sa *commonpb.SearchAttributes) *workflowservice.SignalWithStartWorkflowExecutionRequest {
	return &workflowservice.SignalWithStartWorkflowExecutionRequest{
		Namespace: testNamespace, WorkflowId: id, WorkflowType: &commonpb.WorkflowType{Name: "Waiter"},
		TaskQueue: &taskqueuepb.TaskQueue{Name: tq}, SearchAttributes: sa, SignalName: "go",
	}
}

// Search attribute values sent as one-element JSON lists (the TypeScript
// SDK's encoding) are accepted at start and signal-with-start, stored in
// one canonical form, and returned typed by describe, list and history; a
// list of two Ints is rejected.
func TestSearchAttributeListEncodingAccepted(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 90*time.Second)
	addValueAttrs(t, env)
	tq := uniqueName(t, "tq") // no worker: the runs stay open
	raw := map[string]string{}
	for name, v := range listEncoded {
		raw[name] = v[0]
	}
	svc := env.client.WorkflowService()
	startID := uniqueName(t, "start")
	started, err := svc.StartWorkflowExecution(ctx, rawStart(tq, startID, rawSA(raw)))
	require.NoError(t, err, "start with list-encoded values")
	sws := rawSignalWithStart(tq, uniqueName(t, "sws"), rawSA(raw))
	swsResp, err := svc.SignalWithStartWorkflowExecution(ctx, sws)
	require.NoError(t, err, "signal-with-start with list-encoded values")

	for id, runID := range map[string]string{startID: started.GetRunId(), sws.GetWorkflowId(): swsResp.GetRunId()} {
		d, err := svc.DescribeWorkflowExecution(ctx, &workflowservice.DescribeWorkflowExecutionRequest{
			Namespace: testNamespace, Execution: &commonpb.WorkflowExecution{WorkflowId: id, RunId: runID}})
		require.NoError(t, err)
		requireCanonical(t, "describe", d.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields())
		events := requireHistory(t, ctx, env.client, id, runID)
		requireCanonical(t, "WorkflowExecutionStarted", events[0].GetWorkflowExecutionStartedEventAttributes().GetSearchAttributes().GetIndexedFields())
	}
	eventually(t, ctx, "both runs listed by CustomIntField = 3", func() error {
		resp, err := env.client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: testNamespace, Query: fmt.Sprintf("CustomIntField = 3 AND TaskQueue = '%s'", tq)})
		if err != nil {
			return err
		}
		if len(resp.GetExecutions()) != 2 {
			return fmt.Errorf("%d listed: %w", len(resp.GetExecutions()), errNotYet)
		}
		for _, ex := range resp.GetExecutions() {
			requireCanonical(t, "list", ex.GetSearchAttributes().GetIndexedFields())
		}
		return nil
	})

	var invalid *serviceerror.InvalidArgument
	two := rawSA(map[string]string{"CustomIntField": `[3,4]`})
	_, err = svc.StartWorkflowExecution(ctx, rawStart(tq, uniqueName(t, "two"), two))
	require.True(t, errors.As(err, &invalid), "two Ints at start: want InvalidArgument, got %v", err)
	require.Contains(t, err.Error(), "invalid value for search attribute CustomIntField of type Int: [3,4]")
	_, err = svc.SignalWithStartWorkflowExecution(ctx, rawSignalWithStart(tq, uniqueName(t, "two-sws"), two))
	require.True(t, errors.As(err, &invalid), "two Ints at signal-with-start: want InvalidArgument, got %v", err)
}

var (
	saInt      = temporal.NewSearchAttributeKeyInt64("CustomIntField")
	saBool     = temporal.NewSearchAttributeKeyBool("CustomBoolField")
	saTime     = temporal.NewSearchAttributeKeyTime("CustomDatetimeField")
	saDouble   = temporal.NewSearchAttributeKeyFloat64("CustomDoubleField")
	saKeyword  = temporal.NewSearchAttributeKeyKeyword("CustomKeywordField")
	saText     = temporal.NewSearchAttributeKeyString("CustomTextField")
	saKeywords = temporal.NewSearchAttributeKeyKeywordList("CustomKeywordList")
	valueTime  = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
)

// requireTypedValues checks the values the Upserter workflow sets, read
// back typed (the SDK decodes by the "type" metadata).
func requireTypedValues(t *testing.T, where string, sa temporal.SearchAttributes) {
	t.Helper()
	n, ok := sa.GetInt64(saInt)
	require.True(t, ok && n == 7, "%s: Int %v %v", where, n, ok)
	b, ok := sa.GetBool(saBool)
	require.True(t, ok && b, "%s: Bool", where)
	tm, ok := sa.GetTime(saTime)
	require.True(t, ok && tm.Equal(valueTime), "%s: Datetime %v %v", where, tm, ok)
	f, ok := sa.GetFloat64(saDouble)
	require.True(t, ok && f == 1.5, "%s: Double %v %v", where, f, ok)
	k, ok := sa.GetKeyword(saKeyword)
	require.True(t, ok && k == "kw", "%s: Keyword %q %v", where, k, ok)
	s, ok := sa.GetString(saText)
	require.True(t, ok && s == "free text", "%s: Text %q %v", where, s, ok)
	l, ok := sa.GetKeywordList(saKeywords)
	require.True(t, ok && len(l) == 2 && l[0] == "x" && l[1] == "y", "%s: KeywordList %v %v", where, l, ok)
}

// upserter sets every type of search attribute by upsert (the typed API
// for most, the untyped one, with no type metadata, for Text and
// KeywordList), then waits for "done".
func upserter(ctx workflow.Context) error {
	err := workflow.UpsertTypedSearchAttributes(ctx, saInt.ValueSet(7), saBool.ValueSet(true), saTime.ValueSet(valueTime),
		saDouble.ValueSet(1.5), saKeyword.ValueSet("kw"))
	if err != nil {
		return err
	}
	//lint:ignore SA1019 the untyped API is what sends values without type metadata
	if err := workflow.UpsertSearchAttributes(ctx, map[string]any{"CustomTextField": "free text", "CustomKeywordList": []string{"x", "y"}}); err != nil {
		return err
	}
	workflow.GetSignalChannel(ctx, "done").Receive(ctx, nil)
	return nil
}

// Search attributes set by upsert come back typed from describe, list and
// the history's upsert events.
func TestUpsertedValuesComeBackTyped(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 90*time.Second)
	addValueAttrs(t, env)
	tq := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(upserter, workflow.RegisterOptions{Name: "Upserter"})
	})
	run, err := env.client.ExecuteWorkflow(ctx, startOptions(t, tq), "Upserter")
	require.NoError(t, err)
	eventually(t, ctx, "the upserts to be applied", func() error {
		events, err := history(ctx, env.client, run.GetID(), run.GetRunID())
		if err != nil {
			return err
		}
		upserts := eventsOfType(events, enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES)
		if len(upserts) < 2 {
			return errNotYet
		}
		for _, ev := range upserts {
			for name, p := range ev.GetUpsertWorkflowSearchAttributesEventAttributes().GetSearchAttributes().GetIndexedFields() {
				require.NotEmpty(t, p.GetMetadata()["type"], "upsert event: %s has no type metadata", name)
			}
		}
		return nil
	})

	d, err := env.client.DescribeWorkflow(ctx, run.GetID(), run.GetRunID())
	require.NoError(t, err)
	requireTypedValues(t, "describe", d.TypedSearchAttributes)

	eventually(t, ctx, "the run listed with its upserts", func() error {
		resp, err := env.client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: testNamespace, Query: fmt.Sprintf("WorkflowId = '%s' AND CustomIntField = 7", run.GetID())})
		if err != nil {
			return err
		}
		if len(resp.GetExecutions()) != 1 {
			return errNotYet
		}
		fields := resp.GetExecutions()[0].GetSearchAttributes().GetIndexedFields()
		for name := range valueAttrs {
			require.NotEmpty(t, fields[name].GetMetadata()["type"], "list: %s has no type metadata", name)
		}
		return nil
	})
	require.NoError(t, env.client.SignalWorkflow(ctx, run.GetID(), "", "done", nil))
	require.NoError(t, run.Get(ctx, nil))
}

// A memo key upserted with nil (the Go SDK sends the binary/null encoding)
// is removed from the run's memo, as describe and list show.
func TestUpsertMemoNilRemovesKey(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 90*time.Second)
	tq := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
			if err := workflow.UpsertMemo(ctx, map[string]any{"gone": nil, "added": "new"}); err != nil {
				return err
			}
			workflow.GetSignalChannel(ctx, "done").Receive(ctx, nil)
			return nil
		}, workflow.RegisterOptions{Name: "MemoClearer"})
	})
	opts := startOptions(t, tq)
	opts.Memo = map[string]any{"gone": "old", "kept": "yes"}
	run, err := env.client.ExecuteWorkflow(ctx, opts, "MemoClearer")
	require.NoError(t, err)
	eventually(t, ctx, "the memo upsert to be applied", func() error {
		events, err := history(ctx, env.client, run.GetID(), run.GetRunID())
		if err != nil {
			return err
		}
		if len(eventsOfType(events, enumspb.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED)) == 0 {
			return errNotYet
		}
		return nil
	})
	d, err := env.client.DescribeWorkflowExecution(ctx, run.GetID(), run.GetRunID())
	require.NoError(t, err)
	memo := d.GetWorkflowExecutionInfo().GetMemo().GetFields()
	require.Contains(t, memo, "kept")
	require.Contains(t, memo, "added")
	require.NotContains(t, memo, "gone", "a memo key upserted with nil must be removed")
	eventually(t, ctx, "the run listed with its new memo", func() error {
		resp, err := env.client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: testNamespace, Query: fmt.Sprintf("WorkflowId = '%s'", run.GetID())})
		if err != nil {
			return err
		}
		if len(resp.GetExecutions()) != 1 || resp.GetExecutions()[0].GetMemo().GetFields()["added"] == nil {
			return errNotYet
		}
		require.NotContains(t, resp.GetExecutions()[0].GetMemo().GetFields(), "gone")
		return nil
	})
	require.NoError(t, env.client.SignalWorkflow(ctx, run.GetID(), "", "done", nil))
	require.NoError(t, run.Get(ctx, nil))
}

// Signal-with-start follows the reference's table of ID policies: an open
// run is signalled (USE_EXISTING, the default) or terminated and replaced
// (TERMINATE_EXISTING, TERMINATE_IF_RUNNING) whatever the reuse policy;
// FAIL is refused; with no open run the reuse policy decides against the
// last closed run.
func TestSignalWithStartPolicies(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 90*time.Second)
	svc := env.client.WorkflowService()
	tq := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(func(workflow.Context) error { return nil }, workflow.RegisterOptions{Name: "Quick"})
	})
	const (
		noReuse       = enumspb.WORKFLOW_ID_REUSE_POLICY_UNSPECIFIED
		allow         = enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
		failedOnly    = enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY
		reject        = enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE
		terminateIf   = enumspb.WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING
		noConflict    = enumspb.WORKFLOW_ID_CONFLICT_POLICY_UNSPECIFIED
		useExisting   = enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING
		terminateExis = enumspb.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING
		fail          = enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL
	)
	sws := func(id, workflowType, queue string, reuse enumspb.WorkflowIdReusePolicy, conflict enumspb.WorkflowIdConflictPolicy) (*workflowservice.SignalWithStartWorkflowExecutionResponse, error) {
		req := rawSignalWithStart(queue, id, nil)
		req.WorkflowType.Name, req.WorkflowIdReusePolicy, req.WorkflowIdConflictPolicy = workflowType, reuse, conflict
		return svc.SignalWithStartWorkflowExecution(ctx, req)
	}
	// prior sets up the workflow ID: "none", "open" (a run with no worker),
	// "terminated" or "completed"; it returns the prior run ID.
	prior := func(id, state string) string {
		switch state {
		case "open", "terminated":
			resp, err := sws(id, "Waiter", uniqueName(t, "idle"), noReuse, noConflict)
			require.NoError(t, err)
			if state == "terminated" {
				require.NoError(t, env.client.TerminateWorkflow(ctx, id, resp.GetRunId(), "closing"))
			}
			return resp.GetRunId()
		case "completed":
			run, err := env.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: tq}, "Quick")
			require.NoError(t, err)
			require.NoError(t, run.Get(ctx, nil))
			return run.GetRunID()
		}
		return ""
	}
	cases := []struct {
		prior    string
		reuse    enumspb.WorkflowIdReusePolicy
		conflict enumspb.WorkflowIdConflictPolicy
		want     string // "signalled", "started" (prior run, if open, terminated), "already-started", or an InvalidArgument message
	}{
		{"none", reject, noConflict, "started"},
		{"open", noReuse, noConflict, "signalled"},
		{"open", reject, useExisting, "signalled"},
		{"open", allow, terminateExis, "started"},
		{"open", reject, terminateExis, "started"},
		{"open", terminateIf, noConflict, "started"},
		{"open", allow, fail, "Invalid WorkflowIDConflictPolicy: WORKFLOW_ID_CONFLICT_POLICY_FAIL is not supported for this operation."},
		{"open", terminateIf, useExisting, "Invalid WorkflowIDReusePolicy: WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING cannot be used together with a WorkflowIDConflictPolicy"},
		{"terminated", noReuse, noConflict, "started"},
		{"terminated", failedOnly, useExisting, "started"},
		{"terminated", reject, useExisting, "already-started"},
		{"terminated", reject, terminateExis, "already-started"},
		{"completed", failedOnly, noConflict, "already-started"},
		{"completed", allow, useExisting, "started"},
	}
	for i, c := range cases {
		name := fmt.Sprintf("%d: %s run, %s, %s", i, c.prior, c.reuse, c.conflict)
		id := uniqueName(t, fmt.Sprintf("case-%d", i))
		prev := prior(id, c.prior)
		resp, err := sws(id, "Waiter", uniqueName(t, "idle"), c.reuse, c.conflict)
		switch c.want {
		case "signalled":
			require.NoError(t, err, name)
			require.Equal(t, prev, resp.GetRunId(), name)
			require.False(t, resp.GetStarted(), name)
			events := requireHistory(t, ctx, env.client, id, prev)
			require.Len(t, eventsOfType(events, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED), 2, name)
		case "started":
			require.NoError(t, err, name)
			require.True(t, resp.GetStarted(), name)
			require.NotEqual(t, prev, resp.GetRunId(), name)
			if c.prior == "open" {
				require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, runStatus(t, env, id, prev), name)
			}
			events := requireHistory(t, ctx, env.client, id, resp.GetRunId())
			require.Equal(t, []enumspb.EventType{enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
				enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED}, eventTypes(events), name)
		case "already-started":
			requireAlreadyStarted(t, err, name)
		default:
			var invalid *serviceerror.InvalidArgument
			require.True(t, errors.As(err, &invalid), "%s: want InvalidArgument, got %v", name, err)
			require.Equal(t, c.want, invalid.Message, name)
			require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, runStatus(t, env, id, prev), name)
			events := requireHistory(t, ctx, env.client, id, prev)
			require.Len(t, eventsOfType(events, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED), 1, "%s: refused call changed the run", name)
		}
	}

	// A retried TERMINATE_EXISTING call (same request ID) does not replace
	// the run it created.
	req := rawSignalWithStart(uniqueName(t, "idle"), uniqueName(t, "retried"), nil)
	req.RequestId, req.WorkflowIdConflictPolicy = "retried-request", terminateExis
	first, err := svc.SignalWithStartWorkflowExecution(ctx, req)
	require.NoError(t, err)
	again, err := svc.SignalWithStartWorkflowExecution(ctx, req)
	require.NoError(t, err)
	require.Equal(t, first.GetRunId(), again.GetRunId(), "a retry replaced its own run")
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, runStatus(t, env, req.GetWorkflowId(), first.GetRunId()))
}

// echoSignal returns the first "go" signal's value.
func echoSignal(ctx workflow.Context) (string, error) {
	var v string
	workflow.GetSignalChannel(ctx, "go").Receive(ctx, &v)
	return v, nil
}

// SignalWithStart with a start delay: the signal is in history at once,
// the first workflow task comes after the delay and sees it. A plain
// signal during a delay does not end it; another SignalWithStart does.
func TestSignalWithStartDelay(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 90*time.Second)
	tq := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(echoSignal, workflow.RegisterOptions{Name: "Echo"})
	})
	const delay = 2 * time.Second
	opts := startOptions(t, tq)
	opts.StartDelay = delay
	run, err := env.client.SignalWithStartWorkflow(ctx, opts.ID, "go", "first", opts, "Echo")
	require.NoError(t, err)
	var got string
	require.NoError(t, run.Get(ctx, &got))
	require.Equal(t, "first", got)
	events := requireHistory(t, ctx, env.client, run.GetID(), run.GetRunID())
	require.Equal(t, []enumspb.EventType{enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED}, eventTypes(events)[:3])
	require.Equal(t, delay, events[0].GetWorkflowExecutionStartedEventAttributes().GetFirstWorkflowTaskBackoff().AsDuration())
	scheduledAfter := events[2].GetEventTime().AsTime().Sub(events[0].GetEventTime().AsTime())
	require.GreaterOrEqual(t, scheduledAfter, delay, "the first workflow task came before the delay")

	// A plain signal leaves the delay running.
	opts = startOptions(t, tq)
	opts.StartDelay = delay
	run, err = env.client.ExecuteWorkflow(ctx, opts, "Echo")
	require.NoError(t, err)
	require.NoError(t, env.client.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), "go", "plain"))
	require.NoError(t, run.Get(ctx, &got))
	require.Equal(t, "plain", got)
	events = requireHistory(t, ctx, env.client, run.GetID(), run.GetRunID())
	sched := eventsOfType(events, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED)[0]
	require.GreaterOrEqual(t, sched.GetEventTime().AsTime().Sub(events[0].GetEventTime().AsTime()), delay,
		"a plain signal ended the start delay")

	// Another SignalWithStart ends a long delay at once.
	opts = startOptions(t, tq)
	opts.StartDelay = time.Hour
	run, err = env.client.ExecuteWorkflow(ctx, opts, "Echo")
	require.NoError(t, err)
	again, err := env.client.SignalWithStartWorkflow(ctx, opts.ID, "go", "second", opts, "Echo")
	require.NoError(t, err)
	require.Equal(t, run.GetRunID(), again.GetRunID())
	require.NoError(t, run.Get(ctx, &got))
	require.Equal(t, "second", got)
}

// badChildAttrs starts a child with a search attribute the namespace does
// not define.
func badChildAttrs(ctx workflow.Context) error {
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		SearchAttributes: map[string]interface{}{"NoSuchAttribute": "x"}})
	return workflow.ExecuteChildWorkflow(cctx, "Anything").Get(ctx, nil)
}

// Undefined search attributes on a start-child command fail the workflow
// task with BAD_SEARCH_ATTRIBUTES, as on an upsert; the child is not
// initiated. (Continue-as-new: statemachine TestCommandSearchAttributesValidated.)
func TestChildSearchAttributesValidated(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	tq := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(badChildAttrs, workflow.RegisterOptions{Name: "badChildAttrs"})
	})
	ctx := testContext(t, time.Minute)
	run, err := env.client.ExecuteWorkflow(ctx, startOptions(t, tq), "badChildAttrs")
	require.NoError(t, err)
	eventually(t, ctx, "a failed workflow task", func() error {
		events, err := history(ctx, env.client, run.GetID(), run.GetRunID())
		if err != nil {
			return err
		}
		failed := eventsOfType(events, enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED)
		if len(failed) == 0 {
			return errors.New("no WorkflowTaskFailed yet")
		}
		a := failed[0].GetWorkflowTaskFailedEventAttributes()
		if a.GetCause() != enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES {
			return fmt.Errorf("cause %v (%s), want BAD_SEARCH_ATTRIBUTES", a.GetCause(), a.GetFailure().GetMessage())
		}
		if n := len(eventsOfType(events, enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED)); n != 0 {
			return fmt.Errorf("%d child initiated events written", n)
		}
		return nil
	})
	require.NoError(t, env.client.TerminateWorkflow(ctx, run.GetID(), run.GetRunID(), "done"))
}
