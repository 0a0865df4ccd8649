package tests

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/sundialhq/sundial/internal/config"
	"github.com/sundialhq/sundial/internal/server"
)

// httpEnv is a test server that also serves the HTTP/JSON API.
type httpEnv struct {
	*testEnv
	base       string // http://host:port
	dynamic    *config.Dynamic
	metricsURL string
}

// newHTTPEnv starts a server with the HTTP API on a free port of
// 127.0.0.1 and an SDK client, both closed when t ends.
func newHTTPEnv(t *testing.T, dynamic map[string]any) *httpEnv {
	t.Helper()
	logs := &lockedBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server and SDK logs:\n%s", logs.String())
		}
	})
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	store, dbFile := testBackend(t)
	dyn := config.NewDynamic(dynamic)
	s, err := server.New(server.Config{
		IP: "127.0.0.1", DBFilename: dbFile, Store: store, NumShards: 4,
		Namespaces: []string{testNamespace}, DynamicConfig: dyn,
		Logger: logger.With("component", "server"), HTTPAddress: "127.0.0.1:0", MetricsAddress: "127.0.0.1:0",
	})
	require.NoError(t, err)
	require.NoError(t, s.Start())
	t.Cleanup(s.Stop)
	require.NotEmpty(t, s.HTTPAddr(), "HTTPAddr after Start")
	c := dialClient(t, s.FrontendAddr(), logger.With("component", "sdk"))
	return &httpEnv{
		testEnv:    &testEnv{addr: s.FrontendAddr(), client: c, logs: logs},
		base:       "http://" + s.HTTPAddr(),
		dynamic:    dyn,
		metricsURL: s.MetricsURL(),
	}
}

// httpReply is an HTTP response read in full.
type httpReply struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into a generic JSON value.
func (r httpReply) json(t *testing.T) map[string]any {
	t.Helper()
	var v map[string]any
	require.NoError(t, json.Unmarshal(r.body, &v), "body %s", r.body)
	return v
}

// call sends a request with the given media type as Content-Type and
// Accept ("" sends neither) and an optional Host override.
func (e *httpEnv) call(t *testing.T, method, path, mediaType, body, host string) httpReply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(testContext(t, 30*time.Second), method, e.base+path, rd)
	require.NoError(t, err)
	if mediaType != "" {
		req.Header.Set("Content-Type", mediaType)
		req.Header.Set("Accept", mediaType)
	}
	if host != "" {
		req.Host = host
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err, "%s %s", method, path)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return httpReply{status: resp.StatusCode, header: resp.Header, body: b}
}

// do is call with application/json and the default Host, requiring
// wantStatus.
func (e *httpEnv) do(t *testing.T, method, path, body string, wantStatus int) httpReply {
	t.Helper()
	r := e.call(t, method, path, "application/json", body, "")
	require.Equal(t, wantStatus, r.status, "%s %s: body %s", method, path, r.body)
	return r
}

// jsonAt walks a decoded JSON value along keys (strings for objects,
// ints for arrays).
func jsonAt(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			require.True(t, ok, "want an object at %q, have %v", k, v)
			v = m[k]
		case int:
			a, ok := v.([]any)
			require.True(t, ok && k < len(a), "want an array of more than %d items, have %v", k, v)
			v = a[k]
		}
	}
	return v
}

// requireJSONAt asserts that the value at path encodes as the JSON want.
func requireJSONAt(t *testing.T, want string, v any, path ...any) {
	t.Helper()
	got, err := json.Marshal(jsonAt(t, v, path...))
	require.NoError(t, err)
	require.JSONEq(t, want, string(got), "at %v", path)
}

type someJSON struct {
	SomeField string `json:"someField"`
}

// httpWorkflow answers "some-query" with its argument, waits for
// "some-signal" and returns its input and the signal's argument.
func httpWorkflow(ctx workflow.Context, in someJSON) ([]someJSON, error) {
	if err := workflow.SetQueryHandler(ctx, "some-query", func(q someJSON) (someJSON, error) { return q, nil }); err != nil {
		return nil, err
	}
	var sig someJSON
	workflow.GetSignalChannel(ctx, "some-signal").Receive(ctx, &sig)
	return []someJSON{in, sig}, nil
}

// Start, duplicate start, query, describe, signal, history (shorthand,
// protojson and pretty) and list with a query, all over HTTP with the
// payload shorthand, against an SDK worker.
func TestHTTPAPIWorkflowLifecycle(t *testing.T) {
	e := newHTTPEnv(t, nil)
	tq := e.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(httpWorkflow, workflow.RegisterOptions{Name: "http-wf"})
	})
	id := uniqueName(t, "wf")
	wf := "/api/v1/namespaces/" + testNamespace + "/workflows/" + id
	start := `{"workflowType": {"name": "http-wf"}, "taskQueue": {"name": "` + tq + `"},
		"input": [{"someField": "workflow-arg"}], "requestId": "` + id + `-req"}`

	started := e.do(t, http.MethodPost, wf, start, http.StatusOK).json(t)
	runID, _ := started["runId"].(string)
	require.NotEmpty(t, runID, "start response %v", started)
	require.Equal(t, "application/json", e.do(t, http.MethodGet, wf, "", http.StatusOK).header.Get("Content-Type"))

	// A second start with another request id: 409 and Temporal's details.
	dup := e.do(t, http.MethodPost, wf, strings.Replace(start, "-req", "-req2", 1), http.StatusConflict).json(t)
	require.EqualValues(t, 6, dup["code"])
	require.Contains(t, dup["message"], "already")
	requireJSONAt(t, `"type.googleapis.com/temporal.api.errordetails.v1.WorkflowExecutionAlreadyStartedFailure"`, dup, "details", 0, "@type")
	requireJSONAt(t, `"`+runID+`"`, dup, "details", 0, "runId")

	q := e.do(t, http.MethodPost, wf+"/query/some-query", `{"query": {"queryArgs": [{"someField": "query-arg"}]}}`, http.StatusOK).json(t)
	requireJSONAt(t, `[{"someField": "query-arg"}]`, q, "queryResult")

	desc := e.do(t, http.MethodGet, wf, "", http.StatusOK).json(t)
	info := jsonAt(t, desc, "workflowExecutionInfo")
	requireJSONAt(t, `{"workflowId": "`+id+`", "runId": "`+runID+`"}`, info, "execution")
	requireJSONAt(t, `{"name": "http-wf"}`, info, "type")
	requireJSONAt(t, `"WORKFLOW_EXECUTION_STATUS_RUNNING"`, info, "status")
	requireJSONAt(t, `"`+tq+`"`, info, "taskQueue")

	require.JSONEq(t, `{}`, string(e.do(t, http.MethodPost, wf+"/signal/some-signal", `{"input": [{"someField": "signal-arg"}]}`, http.StatusOK).body))
	var result []someJSON
	require.NoError(t, e.client.GetWorkflow(testContext(t, time.Minute), id, runID).Get(testContext(t, time.Minute), &result))
	require.Equal(t, []someJSON{{"workflow-arg"}, {"signal-arg"}}, result)

	hist := e.do(t, http.MethodGet, wf+"/history", "", http.StatusOK).json(t)
	events, _ := jsonAt(t, hist, "history", "events").([]any)
	var types []string
	for _, ev := range events {
		types = append(types, jsonAt(t, ev, "eventType").(string))
	}
	require.Equal(t, []string{
		"EVENT_TYPE_WORKFLOW_EXECUTION_STARTED", "EVENT_TYPE_WORKFLOW_TASK_SCHEDULED",
		"EVENT_TYPE_WORKFLOW_TASK_STARTED", "EVENT_TYPE_WORKFLOW_TASK_COMPLETED",
		"EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED", "EVENT_TYPE_WORKFLOW_TASK_SCHEDULED",
		"EVENT_TYPE_WORKFLOW_TASK_STARTED", "EVENT_TYPE_WORKFLOW_TASK_COMPLETED",
		"EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED",
	}, types)
	requireJSONAt(t, `"1"`, events[0], "eventId") // int64 as a string, as protojson writes it
	requireJSONAt(t, `[{"someField": "workflow-arg"}]`, events[0], "workflowExecutionStartedEventAttributes", "input")
	requireJSONAt(t, `[{"someField": "signal-arg"}]`, events[4], "workflowExecutionSignaledEventAttributes", "input")
	requireJSONAt(t, `"some-signal"`, events[4], "workflowExecutionSignaledEventAttributes", "signalName")
	requireJSONAt(t, `[[{"someField": "workflow-arg"}, {"someField": "signal-arg"}]]`, events[8], "workflowExecutionCompletedEventAttributes", "result")

	// ?noPayloadShorthand: payloads as protojson (base64 metadata and data).
	plain := e.do(t, http.MethodGet, wf+"/history?noPayloadShorthand", "", http.StatusOK)
	require.Equal(t, "application/json+no-payload-shorthand", plain.header.Get("Content-Type"))
	input := jsonAt(t, plain.json(t), "history", "events", 0, "workflowExecutionStartedEventAttributes", "input", "payloads", 0)
	requireJSONAt(t, `{"encoding": "anNvbi9wbGFpbg=="}`, input, "metadata")       // "json/plain"
	requireJSONAt(t, `"eyJzb21lRmllbGQiOiJ3b3JrZmxvdy1hcmcifQ=="`, input, "data") // {"someField":"workflow-arg"}
	// ?pretty: indented.
	pretty := e.do(t, http.MethodGet, wf+"?pretty", "", http.StatusOK)
	require.Contains(t, string(pretty.body), "\n  \"workflowExecutionInfo\": {")

	query := url.Values{"query": {"WorkflowId = '" + id + "' AND ExecutionStatus = 'Completed'"}}.Encode()
	require.Eventually(t, func() bool {
		list := e.do(t, http.MethodGet, "/api/v1/namespaces/"+testNamespace+"/workflows?"+query, "", http.StatusOK).json(t)
		executions, _ := list["executions"].([]any)
		return len(executions) == 1 && jsonAt(t, executions[0], "execution", "runId") == runID &&
			jsonAt(t, executions[0], "status") == "WORKFLOW_EXECUTION_STATUS_COMPLETED" &&
			jsonAt(t, executions[0], "type", "name") == "http-wf"
	}, 30*time.Second, 100*time.Millisecond, "list by query never showed the completed run")
}

// Register and describe a namespace over HTTP, and reach an
// OperatorService route.
func TestHTTPAPINamespaces(t *testing.T) {
	e := newHTTPEnv(t, nil)
	name := strings.ToLower(uniqueName(t, "ns"))
	register := `{"namespace": "` + name + `", "description": "from http", "workflowExecutionRetentionPeriod": "259200s"}`
	require.JSONEq(t, `{}`, string(e.do(t, http.MethodPost, "/api/v1/namespaces", register, http.StatusOK).body))

	desc := e.do(t, http.MethodGet, "/api/v1/namespaces/"+name, "", http.StatusOK).json(t)
	requireJSONAt(t, `"`+name+`"`, desc, "namespaceInfo", "name")
	requireJSONAt(t, `"from http"`, desc, "namespaceInfo", "description")
	requireJSONAt(t, `"NAMESPACE_STATE_REGISTERED"`, desc, "namespaceInfo", "state")
	requireJSONAt(t, `"259200s"`, desc, "config", "workflowExecutionRetentionTtl")

	again := e.do(t, http.MethodPost, "/api/v1/namespaces", register, http.StatusConflict).json(t)
	require.EqualValues(t, 6, again["code"])
	require.Contains(t, again["message"], "already exists")

	attrs := e.do(t, http.MethodGet, "/api/v1/namespaces/"+name+"/search-attributes", "", http.StatusOK).json(t)
	requireJSONAt(t, `"INDEXED_VALUE_TYPE_KEYWORD"`, attrs, "systemAttributes", "WorkflowId")
}

// Bad input: undecodable JSON and unknown fields are 400 with Temporal's
// error body and start nothing; the frontend's validation and not-found
// answers come back with their gRPC code and HTTP status.
func TestHTTPAPIErrors(t *testing.T) {
	e := newHTTPEnv(t, nil)
	id := uniqueName(t, "wf")
	wf := "/api/v1/namespaces/" + testNamespace + "/workflows/" + id
	for _, body := range []string{
		`{"workflowType": {"name": "x"}, "taskQueue": `,
		`{"workflowType": {"name": "x"}, "taskQueue": {"name": "q"}, "noSuchField": 1}`,
		`{"workflowType": {"name": 7}}`,
	} {
		r := e.do(t, http.MethodPost, wf, body, http.StatusBadRequest)
		v := r.json(t)
		require.EqualValues(t, 3, v["code"], "body %s", r.body)
		require.NotEmpty(t, v["message"])
		require.NotContains(t, v, "details", "the Temporal marshaler omits empty details")
	}
	// Without a JSON media type the gateway's default JSON applies, which
	// writes empty fields too: {"code": 3, "message": ..., "details": []}.
	r := e.call(t, http.MethodPost, wf, "", `{"workflowType": `, "")
	require.Equal(t, http.StatusBadRequest, r.status, "body %s", r.body)
	v := r.json(t)
	require.EqualValues(t, 3, v["code"])
	require.Equal(t, []any{}, v["details"])
	_, err := e.client.DescribeWorkflowExecution(testContext(t, 10*time.Second), id, "")
	var nf *serviceerror.NotFound
	require.ErrorAs(t, err, &nf, "a rejected start must start nothing")

	// The frontend's own validation, with its message.
	v = e.do(t, http.MethodPost, wf, `{"taskQueue": {"name": "q"}}`, http.StatusBadRequest).json(t)
	require.EqualValues(t, 3, v["code"])
	require.Equal(t, "WorkflowType is not set on request.", v["message"])

	v = e.do(t, http.MethodGet, wf, "", http.StatusNotFound).json(t)
	require.EqualValues(t, 5, v["code"])
	v = e.do(t, http.MethodGet, "/api/v1/namespaces/no-such-namespace/workflows/x", "", http.StatusNotFound).json(t)
	require.EqualValues(t, 5, v["code"])
	requireJSONAt(t, `"type.googleapis.com/temporal.api.errordetails.v1.NamespaceNotFoundFailure"`, v, "details", 0, "@type")
	v = e.do(t, http.MethodGet, "/api/v1/no/such/route", "", http.StatusNotFound).json(t)
	require.EqualValues(t, 5, v["code"])
}

// HTTP calls pass through the frontend's interceptors: they are counted
// in service_requests like gRPC calls, failures included.
func TestHTTPAPIMetrics(t *testing.T) {
	e := newHTTPEnv(t, nil)
	before, err := scrapeMetrics(e.metricsURL)
	require.NoError(t, err)
	wf := "/api/v1/namespaces/" + testNamespace + "/workflows/" + uniqueName(t, "wf")
	e.do(t, http.MethodGet, wf, "", http.StatusNotFound)
	e.do(t, http.MethodGet, wf, "", http.StatusNotFound)
	e.do(t, http.MethodGet, "/api/v1/namespaces/"+testNamespace, "", http.StatusOK)
	after, err := scrapeMetrics(e.metricsURL)
	require.NoError(t, err)
	delta := func(op string) float64 {
		ms := []matcher{eq("service_name", "frontend"), eq("operation", op), eq("namespace", testNamespace)}
		return after.sum("service_requests", ms...) - before.sum("service_requests", ms...)
	}
	require.Equal(t, 2.0, delta("DescribeWorkflowExecution"))
	require.Equal(t, 1.0, delta("DescribeNamespace"))
}

// frontend.httpAllowedHosts: a Host header it does not match gets 403 and
// changes nothing; the setting is read at every request.
func TestHTTPAPIAllowedHosts(t *testing.T) {
	e := newHTTPEnv(t, map[string]any{"frontend.httpAllowedHosts": []any{"temporal.example", "*.internal:*"}})
	ns := strings.ToLower(uniqueName(t, "ns"))
	register := `{"namespace": "` + ns + `", "workflowExecutionRetentionPeriod": "86400s"}`

	for _, host := range []string{"evil.example", "temporal.example:7243", "internal:80", "TEMPORAL.EXAMPLE"} {
		r := e.call(t, http.MethodPost, "/api/v1/namespaces", "application/json", register, host)
		require.Equal(t, http.StatusForbidden, r.status, "host %s: body %s", host, r.body)
		require.JSONEq(t, `{"code": 7, "message": "Host not allowed"}`, string(r.body))
	}
	for _, host := range []string{"temporal.example", "api.internal:7243"} {
		r := e.call(t, http.MethodGet, "/api/v1/namespaces/"+ns, "application/json", "", host)
		require.Equal(t, http.StatusNotFound, r.status, "host %s: denied register must change nothing; body %s", host, r.body)
	}

	e.dynamic.Set("frontend.httpAllowedHosts", []any{"evil.example"})
	r := e.call(t, http.MethodPost, "/api/v1/namespaces", "application/json", register, "evil.example")
	require.Equal(t, http.StatusOK, r.status, "body %s", r.body)
	r = e.call(t, http.MethodGet, "/api/v1/namespaces/"+ns, "application/json", "", "temporal.example")
	require.Equal(t, http.StatusForbidden, r.status, "body %s", r.body)

	e.dynamic.Set("frontend.httpAllowedHosts", "evil.example") // not a list: deny all
	r = e.call(t, http.MethodGet, "/api/v1/namespaces/"+ns, "application/json", "", "evil.example")
	require.Equal(t, http.StatusForbidden, r.status, "body %s", r.body)
}
