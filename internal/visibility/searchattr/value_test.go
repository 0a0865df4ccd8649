package searchattr

import (
	"errors"
	"fmt"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
)

func jsonP(raw string) *commonpb.Payload {
	return &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(raw)}
}

func TestDecode(t *testing.T) {
	ts := time.Date(2024, 1, 2, 3, 4, 5, 6000, time.UTC)
	cases := []struct {
		t    enumspb.IndexedValueType
		raw  string
		want string // fmt of the values, or "error"
	}{
		{enumspb.INDEXED_VALUE_TYPE_KEYWORD, `"a b"`, "[a b]"},
		{enumspb.INDEXED_VALUE_TYPE_KEYWORD, `["b"]`, "[b]"}, // TypeScript and old SDKs send lists
		{enumspb.INDEXED_VALUE_TYPE_KEYWORD, `["b","a"]`, "error"},
		{enumspb.INDEXED_VALUE_TYPE_KEYWORD, `1`, "error"},
		{enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST, `["y","x","y"]`, "[x y]"},
		{enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST, `"x"`, "[x]"},
		{enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST, `[1]`, "error"},
		{enumspb.INDEXED_VALUE_TYPE_TEXT, `"Hello, hello World-2"`, "[2 hello world]"},
		{enumspb.INDEXED_VALUE_TYPE_INT, `-42`, "[-42]"},
		{enumspb.INDEXED_VALUE_TYPE_INT, `4.5`, "error"},
		{enumspb.INDEXED_VALUE_TYPE_INT, `[3]`, "[3]"},
		{enumspb.INDEXED_VALUE_TYPE_INT, `[3,4]`, "error"},
		{enumspb.INDEXED_VALUE_TYPE_INT, `["3"]`, "error"},
		{enumspb.INDEXED_VALUE_TYPE_TEXT, `["Big words"]`, "[big words]"},
		{enumspb.INDEXED_VALUE_TYPE_DOUBLE, `[1.5]`, "[1.5]"},
		{enumspb.INDEXED_VALUE_TYPE_BOOL, `[true]`, "[1]"},
		{enumspb.INDEXED_VALUE_TYPE_DATETIME, `["2024-01-02T03:04:05.000006Z"]`, fmt.Sprintf("[%d]", ts.UnixNano())},
		{enumspb.INDEXED_VALUE_TYPE_DOUBLE, `4.5`, "[4.5]"},
		{enumspb.INDEXED_VALUE_TYPE_DOUBLE, `"4.5"`, "error"},
		{enumspb.INDEXED_VALUE_TYPE_BOOL, `true`, "[1]"},
		{enumspb.INDEXED_VALUE_TYPE_BOOL, `false`, "[0]"},
		{enumspb.INDEXED_VALUE_TYPE_BOOL, `"true"`, "error"},
		{enumspb.INDEXED_VALUE_TYPE_DATETIME, `"2024-01-02T03:04:05.000006Z"`, fmt.Sprintf("[%d]", ts.UnixNano())},
		{enumspb.INDEXED_VALUE_TYPE_DATETIME, `"2024-01-02"`, "error"},
	}
	for _, c := range cases {
		vals, err := Decode(jsonP(c.raw), c.t)
		got := fmt.Sprint(vals)
		if err != nil {
			got = "error"
		}
		if got != c.want {
			t.Errorf("Decode(%s as %s) = %s (%v), want %s", c.raw, TypeName(c.t), got, err, c.want)
		}
	}
	for _, p := range []*commonpb.Payload{nil, jsonP("null"), jsonP(""), jsonP("[]"),
		{Metadata: map[string][]byte{"encoding": []byte("binary/null")}}} {
		if _, err := Decode(p, enumspb.INDEXED_VALUE_TYPE_INT); !errors.Is(err, ErrUnset) {
			t.Errorf("Decode(%v) = %v, want ErrUnset", p, err)
		}
	}
	if _, err := Decode(&commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("binary/plain")}, Data: []byte("x")},
		enumspb.INDEXED_VALUE_TYPE_KEYWORD); err == nil {
		t.Error("a binary payload decoded")
	}
}

// Canonical turns both encodings into the one Sundial stores: the bare
// value (a list for KeywordList), JSON, with the type metadata.
func TestCanonical(t *testing.T) {
	cases := []struct {
		t       enumspb.IndexedValueType
		in, out string
	}{
		{enumspb.INDEXED_VALUE_TYPE_INT, `[3]`, `3`},
		{enumspb.INDEXED_VALUE_TYPE_INT, `3`, `3`},
		{enumspb.INDEXED_VALUE_TYPE_BOOL, `[true]`, `true`},
		{enumspb.INDEXED_VALUE_TYPE_DOUBLE, `[ 2.5 ]`, `2.5`},
		{enumspb.INDEXED_VALUE_TYPE_KEYWORD, `["k"]`, `"k"`},
		{enumspb.INDEXED_VALUE_TYPE_TEXT, `["some text"]`, `"some text"`},
		{enumspb.INDEXED_VALUE_TYPE_DATETIME, `["2024-01-01T00:00:00Z"]`, `"2024-01-01T00:00:00Z"`},
		{enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST, `"a"`, `["a"]`},
		{enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST, `["b","a"]`, `["b","a"]`},
	}
	for _, c := range cases {
		in := jsonP(c.in)
		in.Metadata["other"] = []byte("kept")
		got, err := Canonical(in, c.t)
		if err != nil {
			t.Errorf("Canonical(%s as %s): %v", c.in, TypeName(c.t), err)
			continue
		}
		if string(got.Data) != c.out || string(got.Metadata["type"]) != TypeName(c.t) ||
			string(got.Metadata["encoding"]) != "json/plain" || string(got.Metadata["other"]) != "kept" {
			t.Errorf("Canonical(%s as %s) = %s %q", c.in, TypeName(c.t), got.Data, got.Metadata)
		}
		if string(in.Data) != c.in || in.Metadata["type"] != nil {
			t.Errorf("Canonical changed its input %s", c.in)
		}
	}
	if _, err := Canonical(jsonP(`[1,2]`), enumspb.INDEXED_VALUE_TYPE_INT); err == nil || errors.Is(err, ErrUnset) {
		t.Errorf("two Ints: %v, want a value error", err)
	}
	if _, err := Canonical(jsonP(`null`), enumspb.INDEXED_VALUE_TYPE_INT); !errors.Is(err, ErrUnset) {
		t.Errorf("null: %v, want ErrUnset", err)
	}
	typed := WithType(jsonP(`[3]`), enumspb.INDEXED_VALUE_TYPE_INT)
	if string(typed.Data) != `[3]` || string(typed.Metadata["type"]) != "Int" {
		t.Errorf("WithType = %s %q", typed.Data, typed.Metadata)
	}
}

func TestCatalog(t *testing.T) {
	if a, ok := System("WorkflowType"); !ok || a.Column != ColumnWorkflowType || a.Predefined || a.Custom() {
		t.Errorf("WorkflowType = %+v", a)
	}
	if a, ok := System("TemporalChangeVersion"); !ok || !a.Predefined || a.Type != enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST {
		t.Errorf("TemporalChangeVersion = %+v", a)
	}
	lookup := NewLookup(map[string]enumspb.IndexedValueType{"Mine": enumspb.INDEXED_VALUE_TYPE_INT, "RunId": enumspb.INDEXED_VALUE_TYPE_INT})
	if a, ok := lookup("Mine"); !ok || !a.Custom() {
		t.Errorf("Mine = %+v", a)
	}
	if a, _ := lookup("RunId"); a.Column != ColumnRunID {
		t.Error("a custom definition shadowed a system attribute")
	}
	if _, ok := lookup("Other"); ok {
		t.Error("undefined name resolved")
	}
	for c := ColumnWorkflowID; c <= ColumnRootRunID; c++ {
		if ColumnAttribute(c).Column != c {
			t.Errorf("ColumnAttribute(%d)", c)
		}
	}
	if len(SystemTypes()) != len(columns)+len(predefined) {
		t.Error("SystemTypes is incomplete")
	}
}
