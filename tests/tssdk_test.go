package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
)

// tssdkResult is the JSON line tests/tssdk/run.js prints.
type tssdkResult struct {
	OK         bool                       `json:"ok"`
	SetupError json.RawMessage            `json:"setupError"`
	TimedOut   bool                       `json:"timedOut"`
	Steps      map[string]json.RawMessage `json:"steps"`
}

// tssdkStep is what every step reports besides its own fields.
type tssdkStep struct {
	OK       bool            `json:"ok"`
	Error    json.RawMessage `json:"error"`
	Problems []string        `json:"problems"`
	History  []string        `json:"history"`
}

// The official TypeScript SDK (a second SDK next to the Go one) drives a
// workflow with activities, a timer, a signal, a query, an update, a child and
// a continue-as-new; upserts search attributes of every type in list form and
// deletes a memo key; starts a run with list-form search attributes; and
// sees an update outlive its run. Each step is a
// subtest so a failure names the feature. The program is tests/tssdk/run.js;
// .ci/run installs it and sets SUNDIAL_TSSDK_DIR.
func TestTypeScriptSDK(t *testing.T) {
	dir := os.Getenv("SUNDIAL_TSSDK_DIR")
	if dir == "" {
		t.Skip("SUNDIAL_TSSDK_DIR is not set: run `npm ci` in tests/tssdk and point SUNDIAL_TSSDK_DIR at it (.ci/run does)")
	}
	t.Parallel()
	env := newTestEnv(t)
	out := runTSSDK(t, dir, env.addr, uniqueName(t, "tq"))

	t.Run("main", func(t *testing.T) { checkTSSDKMain(t, out.Steps["main"]) })
	t.Run("attrs", func(t *testing.T) { checkTSSDKAttrs(t, out.Steps["attrs"]) })
	t.Run("startAttrs", func(t *testing.T) { checkTSSDKStartAttrs(t, out.Steps["startAttrs"]) })
	t.Run("updateAfterClose", func(t *testing.T) { checkTSSDKUpdateAfterClose(t, out.Steps["updateAfterClose"]) })
}

// runTSSDK runs the program against addr, bounded at 3 minutes, and returns
// its parsed result. Exit status 1 (some step failed) is left for the
// subtests to explain; any other failure ends the test here.
func runTSSDK(t *testing.T, dir, addr, taskQueue string) tssdkResult {
	t.Helper()
	markUnrecordedCallers(addr)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join(dir, "run.js"),
		"--address", addr, "--namespace", testNamespace, "--task-queue", taskQueue)
	cmd.Dir = dir
	cmd.WaitDelay = 10 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("run.js stderr:\n%s", stderr.String())
		}
	})
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) {
		t.Fatalf("node run.js: %v (ctx: %v)\nstdout: %s", err, ctx.Err(), stdout.String())
	}
	var out tssdkResult
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &out), "run.js stdout is not one JSON line: %q", stdout.String())
	require.Equal(t, err == nil, out.OK, "exit status %v disagrees with ok=%v", err, out.OK)
	return out
}

// decodeTSSDKStep unmarshals one step's JSON into common (and into extra, if not
// nil) and fails t if the step stopped early with an error.
func decodeTSSDKStep(t *testing.T, raw json.RawMessage, extra any) tssdkStep {
	t.Helper()
	require.NotNil(t, raw, "step missing from the output")
	var s tssdkStep
	require.NoError(t, json.Unmarshal(raw, &s))
	if len(s.Error) > 0 {
		t.Fatalf("step stopped early: %s (events so far: %v)", s.Error, s.History)
	}
	if extra != nil {
		require.NoError(t, json.Unmarshal(raw, extra))
	}
	return s
}

// tssdkEventTypes maps the program's EVENT_TYPE_* names to enum values so
// a mismatch prints readable names; an unknown name fails t.
func tssdkEventTypes(t *testing.T, names []string) []enumspb.EventType {
	t.Helper()
	out := make([]enumspb.EventType, len(names))
	for i, n := range names {
		v, ok := enumspb.EventType_value[n]
		require.True(t, ok, "unknown event type %q", n)
		out[i] = enumspb.EventType(v)
	}
	return out
}

// tssdkWFT is one workflow task that ran and completed.
var tssdkWFT = []enumspb.EventType{
	enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
	enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED,
	enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
}

// tssdkSeq concatenates event-type sequences.
func tssdkSeq(parts ...any) []enumspb.EventType {
	var out []enumspb.EventType
	for _, p := range parts {
		switch p := p.(type) {
		case enumspb.EventType:
			out = append(out, p)
		case []enumspb.EventType:
			out = append(out, p...)
		default:
			panic("tssdkSeq: unexpected part")
		}
	}
	return out
}

// tssdkJSONEq reports a mismatch and lets the test go on, so one run shows
// every difference.
func tssdkJSONEq(t *testing.T, want string, got json.RawMessage, what string) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: missing, want %s", what, want)
		return
	}
	assert.JSONEq(t, want, string(got), what)
}

// checkTSSDKMain: results, and the exact history of both runs. The program
// waits for a quiet point (no workflow task in flight) before each signal
// and update, so the order below does not depend on timing.
func checkTSSDKMain(t *testing.T, raw json.RawMessage) {
	var m struct {
		Query            json.RawMessage `json:"query"`
		Update           json.RawMessage `json:"update"`
		Result           json.RawMessage `json:"result"`
		ChildResult      json.RawMessage `json:"childResult"`
		ContinuedHistory []string        `json:"continuedHistory"`
	}
	s := decodeTSSDKStep(t, raw, &m)
	tssdkJSONEq(t, `{"stage":"waiting-update","activities":["hello sundial","HELLO SUNDIAL"],"signal":"go","child":"child of sundial","greeting":null}`, m.Query, "query result")
	tssdkJSONEq(t, `"greeting set to hola"`, m.Update, "update result")
	tssdkJSONEq(t, `{"activities":["hello sundial","HELLO SUNDIAL"],"signal":"go","child":"child of sundial","greeting":"hola","iteration":1}`, m.Result, "workflow result")
	tssdkJSONEq(t, `"child of sundial"`, m.ChildResult, "child result")

	activity := []enumspb.EventType{
		enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
		enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED,
		enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
	}
	want := tssdkSeq(
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, tssdkWFT,
		activity, tssdkWFT, // greet: start-to-close only
		activity, tssdkWFT, // shout: schedule-to-close too
		enumspb.EVENT_TYPE_TIMER_STARTED, enumspb.EVENT_TYPE_TIMER_FIRED, tssdkWFT,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, tssdkWFT,
		enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
		enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED, tssdkWFT,
		enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED, tssdkWFT,
		tssdkWFT, // the update's task: accept, complete, continue as new
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
	)
	require.Equal(t, want, tssdkEventTypes(t, s.History), "history of the first run")
	require.Equal(t, tssdkSeq(
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, tssdkWFT,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
	), tssdkEventTypes(t, m.ContinuedHistory), "history of the continued run")
	assert.Empty(t, s.Problems, "problems the program itself found")
}

// tssdkAttrValues is what describe() must decode for each custom search
// attribute the program sets, through the deprecated list accessor
// (searchAttributes) and the typed one (typedSearchAttributes): value and
// JavaScript type, a Datetime as a Date.
var tssdkAttrValues = []struct{ name, untyped, typed string }{
	{"CustomIntField", `{"jsType":"Array","value":[{"jsType":"number","value":42}]}`,
		`{"type":"INT","jsType":"number","value":42}`},
	{"CustomDoubleField", `{"jsType":"Array","value":[{"jsType":"number","value":3.5}]}`,
		`{"type":"DOUBLE","jsType":"number","value":3.5}`},
	{"CustomBoolField", `{"jsType":"Array","value":[{"jsType":"boolean","value":true}]}`,
		`{"type":"BOOL","jsType":"boolean","value":true}`},
	{"CustomDatetimeField", `{"jsType":"Array","value":[{"jsType":"Date","value":"2026-01-02T03:04:05.000Z"}]}`,
		`{"type":"DATETIME","jsType":"Date","value":"2026-01-02T03:04:05.000Z"}`},
	{"CustomTextField", `{"jsType":"Array","value":[{"jsType":"string","value":"hello text"}]}`,
		`{"type":"TEXT","jsType":"string","value":"hello text"}`},
	{"CustomKeywordField", `{"jsType":"Array","value":[{"jsType":"string","value":"kw-1"}]}`,
		`{"type":"KEYWORD","jsType":"string","value":"kw-1"}`},
	{"CustomKeywordListField", `{"jsType":"Array","value":[{"jsType":"string","value":"kl-a"},{"jsType":"string","value":"kl-b"}]}`,
		`{"type":"KEYWORD_LIST","jsType":"Array","value":[{"jsType":"string","value":"kl-a"},{"jsType":"string","value":"kl-b"}]}`},
}

// tssdkAttrs is the search-attribute part of a step's output.
type tssdkAttrs struct {
	SearchAttributes      map[string]json.RawMessage `json:"searchAttributes"`
	TypedSearchAttributes map[string]json.RawMessage `json:"typedSearchAttributes"`
}

// checkTSSDKSearchAttributes reports every attribute that describe() did
// not give back as tssdkAttrValues says.
func checkTSSDKSearchAttributes(t *testing.T, a tssdkAttrs) {
	t.Helper()
	for _, v := range tssdkAttrValues {
		tssdkJSONEq(t, v.untyped, a.SearchAttributes[v.name], "describe().searchAttributes."+v.name)
		got, ok := a.TypedSearchAttributes[v.name]
		if !ok {
			t.Errorf("describe().typedSearchAttributes has no %s (the server must send each value's type)", v.name)
			continue
		}
		tssdkJSONEq(t, v.typed, got, "describe().typedSearchAttributes."+v.name)
	}
}

// checkTSSDKAttrs: every search attribute type, upserted in list form,
// comes back from describe; the deleted memo key is gone.
func checkTSSDKAttrs(t *testing.T, raw json.RawMessage) {
	var a struct {
		tssdkAttrs
		MemoKeys []string        `json:"memoKeys"`
		Memo     json.RawMessage `json:"memo"`
		Result   json.RawMessage `json:"result"`
	}
	s := decodeTSSDKStep(t, raw, &a)
	checkTSSDKSearchAttributes(t, a.tssdkAttrs)
	assert.Equal(t, []string{"added", "keep"}, a.MemoKeys, "memo keys after upsertMemo({drop: null, added})")
	tssdkJSONEq(t, `{"added":"new","keep":"kept"}`, a.Memo, "memo")
	tssdkJSONEq(t, `"attrs done"`, a.Result, "workflow result")
	require.Equal(t, tssdkSeq(
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, tssdkWFT,
		enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
		enumspb.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, tssdkWFT,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
	), tssdkEventTypes(t, s.History), "history")
	assert.Empty(t, s.Problems, "problems the program itself found")
}

// checkTSSDKUpdateAfterClose: an accepted update still running when the
// run completes fails for its caller as the reference server words it;
// nothing about it is written after the acceptance.
func checkTSSDKUpdateAfterClose(t *testing.T, raw json.RawMessage) {
	var u struct {
		Result      json.RawMessage `json:"result"`
		UpdateError struct {
			Name         string `json:"name"`
			CauseName    string `json:"causeName"`
			CauseType    string `json:"causeType"`
			CauseMessage string `json:"causeMessage"`
		} `json:"updateError"`
	}
	s := decodeTSSDKStep(t, raw, &u)
	tssdkJSONEq(t, `"run completed with an update in flight"`, u.Result, "workflow result")
	assert.Equal(t, "WorkflowUpdateFailedError", u.UpdateError.Name, "update caller's error")
	assert.Equal(t, "ApplicationFailure", u.UpdateError.CauseName)
	assert.Equal(t, "AcceptedUpdateCompletedWorkflow", u.UpdateError.CauseType)
	assert.Equal(t, "Workflow Update failed because the Workflow completed before the Update completed.", u.UpdateError.CauseMessage)
	require.Equal(t, tssdkSeq(
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, tssdkWFT,
		tssdkWFT, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, tssdkWFT,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
	), tssdkEventTypes(t, s.History), "history")
	assert.Empty(t, s.Problems, "problems the program itself found")
}

// checkTSSDKStartAttrs: every search attribute type in list form (the
// SDK's searchAttributes start option) is accepted at start and comes back
// from describe.
func checkTSSDKStartAttrs(t *testing.T, raw json.RawMessage) {
	var a struct {
		tssdkAttrs
		Result json.RawMessage `json:"result"`
	}
	s := decodeTSSDKStep(t, raw, &a)
	checkTSSDKSearchAttributes(t, a.tssdkAttrs)
	tssdkJSONEq(t, `"held"`, a.Result, "workflow result")
	require.Equal(t, tssdkSeq(
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, tssdkWFT,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, tssdkWFT,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
	), tssdkEventTypes(t, s.History), "history")
	assert.Empty(t, s.Problems, "problems the program itself found")
}
