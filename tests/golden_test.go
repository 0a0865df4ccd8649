package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/pmezard/go-difflib/difflib"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
)

// go test ./tests -run TestGolden -update rewrites the golden histories.
var updateGolden = flag.Bool("update", false, "rewrite tests/testdata/golden from this run")

// goldenRun names one run whose history a golden file holds.
type goldenRun struct {
	name       string // file name under testdata/golden, without .json
	workflowID string
	runID      string // "" for the current run
}

// goldenScenario drives one workflow to its end on the shared server and
// names the runs whose histories are compared.
type goldenScenario struct {
	name  string
	files []string // the goldenRun names run returns
	run   func(t *testing.T, env *testEnv, ctx context.Context) []goldenRun
}

// TestGolden runs representative workflows and compares each history, in
// the JSON form of `temporal workflow show --output json`, field for field
// with tests/testdata/golden/*.json. Volatile values (times, run IDs,
// identities, request and task IDs, sticky queue names) are masked but
// their presence is kept, so a field that appears, disappears or changes
// its zero form is caught.
func TestGolden(t *testing.T) {
	env := newTestEnv(t)
	for _, sc := range goldenScenarios() {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			ctx := testContext(t, 90*time.Second)
			runs := sc.run(t, env, ctx)
			var names []string
			for _, r := range runs {
				names = append(names, r.name)
			}
			require.Equal(t, sc.files, names, "scenario %s must list the files it writes", sc.name)
			for _, r := range runs {
				events := requireHistory(t, ctx, env.client, r.workflowID, r.runID)
				got, err := goldenJSON(events)
				require.NoError(t, err)
				compareGolden(t, r.name, got)
			}
		})
	}
}

// goldenJSON renders a history as the CLI does (protojson with camelCase
// names in proto field order, enum strings and JSON shorthand payloads,
// two-space indent), with the volatile values masked.
func goldenJSON(events []*historypb.HistoryEvent) ([]byte, error) {
	raw, err := temporalproto.CustomJSONMarshalOptions{
		Metadata: map[string]any{commonpb.EnablePayloadShorthandMetadataKey: true},
	}.Marshal(&historypb.History{Events: events})
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	v, err := decodeOrdered(dec)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	writeOrdered(&out, maskGolden(v), "")
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// jsonField is one member of a JSON object; objects keep their order so
// the file reads like the CLI's output.
type jsonField struct {
	key   string
	value any
}

// decodeOrdered reads one JSON value, objects as []jsonField.
func decodeOrdered(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		var obj []jsonField
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, err
			}
			v, err := decodeOrdered(dec)
			if err != nil {
				return nil, err
			}
			obj = append(obj, jsonField{key: k.(string), value: v})
		}
		_, err = dec.Token() // }
		if obj == nil {
			obj = []jsonField{}
		}
		return obj, err
	case json.Delim('['):
		arr := []any{}
		for dec.More() {
			v, err := decodeOrdered(dec)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		_, err = dec.Token() // ]
		return arr, err
	}
	return tok, nil
}

func writeOrdered(b *bytes.Buffer, v any, indent string) {
	inner := indent + "  "
	switch x := v.(type) {
	case []jsonField:
		if len(x) == 0 {
			b.WriteString("{}")
			return
		}
		b.WriteString("{\n")
		for i, f := range x {
			k, _ := json.Marshal(f.key)
			b.WriteString(inner)
			b.Write(k)
			b.WriteString(": ")
			writeOrdered(b, f.value, inner)
			if i < len(x)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(indent + "}")
	case []any:
		if len(x) == 0 {
			b.WriteString("[]")
			return
		}
		b.WriteString("[\n")
		for i, e := range x {
			b.WriteString(inner)
			writeOrdered(b, e, inner)
			if i < len(x)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(indent + "]")
	default:
		var one bytes.Buffer
		enc := json.NewEncoder(&one)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(x) // scalars from the decoder always encode
		b.Write(bytes.TrimSuffix(one.Bytes(), []byte("\n")))
	}
}

// maskedGoldenKeys hold values that differ from run to run.
var maskedGoldenKeys = map[string]bool{
	"eventTime": true, "taskId": true, "identity": true, "requestId": true,
	"runId": true, "originalExecutionRunId": true, "firstExecutionRunId": true,
	"continuedExecutionRunId": true, "newExecutionRunId": true,
	"historySizeBytes": true, "binaryChecksum": true, "workflowExecutionExpirationTime": true,
	"namespaceId": true, "parentWorkflowNamespaceId": true,
	"ReplayTime": true, // inside a local activity marker's details
}

const goldenMask = "<masked>"

// maskGolden replaces the values of maskedGoldenKeys (keeping the keys, so
// presence is still compared) and the names of sticky task queues, and
// sorts the SDK's flag lists.
func maskGolden(v any) any {
	switch x := v.(type) {
	case []jsonField:
		sticky := false
		for _, f := range x {
			sticky = sticky || (f.key == "kind" && f.value == "TASK_QUEUE_KIND_STICKY")
		}
		for i, f := range x {
			if maskedGoldenKeys[f.key] || (sticky && f.key == "name") {
				x[i].value = goldenMask
				continue
			}
			if arr, ok := f.value.([]any); ok && f.key == "langUsedFlags" {
				// The SDK sends its flag set in map order.
				sort.Slice(arr, func(a, b int) bool { return fmt.Sprint(arr[a]) < fmt.Sprint(arr[b]) })
			}
			x[i].value = maskGolden(f.value)
		}
	case []any:
		for i := range x {
			x[i] = maskGolden(x[i])
		}
	}
	return v
}

// compareGolden compares got with testdata/golden/name.json (or rewrites
// it with -update) and fails with a unified diff.
func compareGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".json")
	if *updateGolden {
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "missing golden file; run go test ./tests -run TestGolden -update")
	if bytes.Equal(want, got) {
		return
	}
	diff, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(string(want)), B: difflib.SplitLines(string(got)),
		FromFile: path, ToFile: "this run", Context: 3,
	})
	t.Errorf("history %s differs from its golden file (go test ./tests -run TestGolden -update rewrites it):\n%s", name, diff)
}

// TestGoldenFilesAreUsed fails on a golden file no scenario produces, so
// renamed scenarios do not leave stale files behind.
func TestGoldenFilesAreUsed(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "golden", "*.json"))
	require.NoError(t, err)
	known := map[string]bool{}
	for _, sc := range goldenScenarios() {
		for _, n := range sc.files {
			known[n] = true
		}
	}
	var stale []string
	for _, f := range files {
		if n := filepath.Base(f); !known[n[:len(n)-len(".json")]] {
			stale = append(stale, n)
		}
	}
	sort.Strings(stale)
	require.Empty(t, stale, "golden files no scenario writes")
	require.GreaterOrEqual(t, len(files), 10, "at least ten golden histories")
}

// waitHistory waits until the run's history satisfies cond (e.g. the
// workflow is idle after a workflow task), for steps that must not race
// with a running workflow task.
func waitHistory(t *testing.T, ctx context.Context, env *testEnv, workflowID string, what string, cond func([]*historypb.HistoryEvent) bool) {
	t.Helper()
	eventually(t, ctx, what, func() error {
		events, err := history(ctx, env.client, workflowID, "")
		if err != nil {
			return err
		}
		if !cond(events) {
			return fmt.Errorf("%w: %d events", errNotYet, len(events))
		}
		return nil
	})
}
