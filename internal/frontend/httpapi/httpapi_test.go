package httpapi

import (
	"bytes"
	"io"
	"log/slog"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundialhq/sundial/internal/config"
)

func TestHostFilter(t *testing.T) {
	var logs bytes.Buffer
	d := config.NewDynamic(nil)
	f := &hostFilter{dynamic: d, log: slog.New(slog.NewTextHandler(&logs, nil))}
	check := func(host string, want bool) {
		t.Helper()
		if got := f.allowed(host); got != want {
			t.Errorf("allowed(%q) = %v, want %v", host, got, want)
		}
	}
	check("anything:1", true) // unset: every host

	d.Set(AllowedHostsKey, []any{"a.example", "*.b.example:*", "c.example:72*"})
	for host, want := range map[string]bool{
		"a.example": true, "a.example:80": false, "axexample": false, "x.a.example": false, "A.EXAMPLE": false,
		"x.b.example:1": true, "b.example:1": false, "x.b.example": false,
		"c.example:7243": true, "c.example:8243": false, "": false,
	} {
		check(host, want)
	}

	d.Set(AllowedHostsKey, []any{}) // an empty list allows no host
	check("a.example", false)

	d.Set(AllowedHostsKey, []any{"a.example", 3}) // malformed: deny all, say why once
	check("a.example", false)
	check("a.example", false)
	if n := strings.Count(logs.String(), "\n"); n != 1 {
		t.Errorf("malformed value logged %d times, want once:\n%s", n, logs.String())
	}

	d.Set(AllowedHostsKey, []any{"a.example"}) // fixed again
	check("a.example", true)
}

// The default flavour reads and writes payloads in shorthand; the
// no-shorthand flavour keeps protojson's metadata/data form; pretty
// indents.
func TestMarshalerFlavours(t *testing.T) {
	req := &workflowservice.SignalWorkflowExecutionRequest{}
	if err := newMarshaler(mimeJSON, "", true).Unmarshal([]byte(`{"signalName": "s", "input": [{"a": 1}, "x"]}`), req); err != nil {
		t.Fatal(err)
	}
	p := req.GetInput().GetPayloads()
	if len(p) != 2 || string(p[0].GetData()) != `{"a":1}` || string(p[0].GetMetadata()["encoding"]) != "json/plain" || string(p[1].GetData()) != `"x"` {
		t.Fatalf("shorthand input decoded as %v", p)
	}
	out, err := newMarshaler(mimeJSON, "", true).Marshal(req)
	if err != nil || string(out) != `{"signalName":"s","input":[{"a":1},"x"]}` {
		t.Fatalf("shorthand output %s, %v", out, err)
	}
	out, err = newMarshaler(mimeJSONNoShorthand, "", false).Marshal(&commonpb.Payloads{Payloads: p[:1]})
	if err != nil || string(out) != `{"payloads":[{"metadata":{"encoding":"anNvbi9wbGFpbg=="},"data":"eyJhIjoxfQ=="}]}` {
		t.Fatalf("protojson output %s, %v", out, err)
	}
	if err := newMarshaler(mimeJSONNoShorthand, "", false).Unmarshal([]byte(`{"input": [{"a": 1}]}`), &workflowservice.SignalWorkflowExecutionRequest{}); err == nil {
		t.Fatal("the no-shorthand flavour accepted a shorthand payload")
	}
	out, err = newMarshaler(mimeJSONPretty, prettyIndent, true).Marshal(req)
	if err != nil || !strings.Contains(string(out), "\n  \"signalName\"") {
		t.Fatalf("pretty output %s, %v", out, err)
	}

	var buf bytes.Buffer
	m := newMarshaler(mimeJSON, "", true)
	if err := m.NewEncoder(&buf).Encode(req); err != nil || !strings.HasSuffix(buf.String(), "}\n") {
		t.Fatalf("encoder wrote %q, %v", buf.String(), err)
	}
	var back workflowservice.SignalWorkflowExecutionRequest
	if err := m.NewDecoder(io.NopCloser(&buf)).Decode(&back); err != nil || back.GetSignalName() != "s" || len(back.GetInput().GetPayloads()) != 2 {
		t.Fatalf("decoder read %v, %v", &back, err)
	}
}
