package visibility_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/sundialhq/sundial/internal/clock"
	"github.com/sundialhq/sundial/internal/config"
	"github.com/sundialhq/sundial/internal/persistence"
	"github.com/sundialhq/sundial/internal/persistence/sqlite"
	"github.com/sundialhq/sundial/internal/visibility"
)

const ns = "ns-1"

// fakeClock is a clock tests move by hand.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

func (c *fakeClock) AfterFunc(time.Duration, func()) clock.Timer { panic("not used") }

var testClock = &fakeClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}

func newRegistry(t *testing.T, dyn map[string]any) (*visibility.Registry, persistence.VisibilityStore) {
	t.Helper()
	s, err := sqlite.Open(sqlite.MemoryPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	r := visibility.NewRegistry(visibility.RegistryOptions{Store: s, Dynamic: config.NewDynamic(dyn), Clock: testClock})
	err = r.Add(t.Context(), ns, map[string]enumspb.IndexedValueType{
		"CustomKeyword": enumspb.INDEXED_VALUE_TYPE_KEYWORD, "CustomInt": enumspb.INDEXED_VALUE_TYPE_INT,
		"CustomBool": enumspb.INDEXED_VALUE_TYPE_BOOL, "CustomDatetime": enumspb.INDEXED_VALUE_TYPE_DATETIME,
		"CustomDouble": enumspb.INDEXED_VALUE_TYPE_DOUBLE, "CustomText": enumspb.INDEXED_VALUE_TYPE_TEXT,
		"CustomKeywordList": enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST,
	})
	if err != nil {
		t.Fatal(err)
	}
	return r, s
}

func p(raw string) *commonpb.Payload {
	return &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(raw)}
}

func sa(kv ...string) *commonpb.SearchAttributes {
	out := &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{}}
	for i := 0; i < len(kv); i += 2 {
		out.IndexedFields[kv[i]] = p(kv[i+1])
	}
	return out
}

func TestValidate(t *testing.T) {
	r, _ := newRegistry(t, nil)
	ok := []*commonpb.SearchAttributes{
		nil,
		sa(),
		sa("CustomKeyword", `"a"`, "CustomInt", `12`, "CustomBool", `true`, "CustomDouble", `1.5`,
			"CustomDatetime", `"2024-01-02T03:04:05.123Z"`, "CustomText", `"some text"`, "CustomKeywordList", `["a","b"]`),
		sa("TemporalChangeVersion", `["change-1"]`, "BuildIds", `["b"]`, "BinaryChecksums", `[]`),
		sa("CustomKeyword", `null`), // unsets
		{IndexedFields: map[string]*commonpb.Payload{"CustomInt": {Metadata: map[string][]byte{"encoding": []byte("binary/null")}}}},
	}
	for _, s := range ok {
		if err := r.Validate(t.Context(), ns, s); err != nil {
			t.Errorf("Validate(%v): %v", s, err)
		}
	}
	bad := []struct {
		sa  *commonpb.SearchAttributes
		msg string
	}{
		{sa("Undefined", `"x"`), "search attribute Undefined is not defined"},
		{sa("WorkflowType", `"x"`), "WorkflowType attribute can't be set in SearchAttributes"},
		{sa("ExecutionStatus", `"Running"`), "ExecutionStatus attribute can't be set in SearchAttributes"},
		{sa("CustomKeyword", `12`), "invalid value for search attribute CustomKeyword of type Keyword: 12"},
		{sa("CustomInt", `"x"`), "invalid value for search attribute CustomInt of type Int: \"x\""},
		{sa("CustomInt", `1.5`), "invalid value for search attribute CustomInt of type Int: 1.5"},
		{sa("CustomBool", `"yes"`), "of type Bool"},
		{sa("CustomDatetime", `"tomorrow"`), "of type Datetime"},
		{sa("CustomKeywordList", `[1]`), "of type KeywordList"},
		{sa("TemporalChangeVersion", `5`), "of type KeywordList"},
		{sa("CustomKeyword", `"`+strings.Repeat("x", 2048)+`"`), "search attribute CustomKeyword value size 2050 exceeds size limit 2048"},
	}
	for _, c := range bad {
		err := r.Validate(t.Context(), ns, c.sa)
		var e *visibility.InvalidSearchAttributeError
		if !errors.As(err, &e) || !strings.Contains(e.Msg, c.msg) {
			t.Errorf("Validate(%v) = %v, want an InvalidSearchAttributeError containing %q", c.sa, err, c.msg)
		}
	}
}

func TestValidateLimits(t *testing.T) {
	r, _ := newRegistry(t, map[string]any{visibility.KeyNumberOfKeys: 2, visibility.KeyTotalSize: 30})
	err := r.Validate(t.Context(), ns, sa("CustomKeyword", `"a"`, "CustomInt", `1`, "CustomBool", `true`))
	if err == nil || err.Error() != "number of search attributes 3 exceeds limit 2" {
		t.Errorf("too many keys: %v", err)
	}
	err = r.Validate(t.Context(), ns, sa("CustomKeyword", `"aaaaaaaaaaaaaaaaaaaa"`))
	if err == nil || !strings.HasPrefix(err.Error(), "total size of search attributes") {
		t.Errorf("total size: %v", err)
	}
}

func TestAddRemove(t *testing.T) {
	r, store := newRegistry(t, map[string]any{visibility.KeyMaxCustom: 8})
	ctx := t.Context()
	var e *visibility.InvalidSearchAttributeError
	for name, want := range map[string]string{
		"StartTime": "Search attribute StartTime is reserved by system.",
		"BuildIds":  "Search attribute BuildIds is reserved by system.",
		"":          "Search attribute name is empty.",
		"a`b":       "has characters that are not allowed",
	} {
		err := r.Add(ctx, ns, map[string]enumspb.IndexedValueType{name: enumspb.INDEXED_VALUE_TYPE_INT})
		if !errors.As(err, &e) || !strings.Contains(e.Msg, want) {
			t.Errorf("Add(%q) = %v, want %q", name, err, want)
		}
	}
	err := r.Add(ctx, ns, map[string]enumspb.IndexedValueType{"X": 99})
	if !errors.As(err, &e) {
		t.Errorf("unknown type: %v", err)
	}
	err = r.Add(ctx, ns, map[string]enumspb.IndexedValueType{"A": enumspb.INDEXED_VALUE_TYPE_INT, "B": enumspb.INDEXED_VALUE_TYPE_INT})
	if !errors.As(err, &e) || !strings.Contains(e.Msg, "at most 8") {
		t.Errorf("over the limit: %v", err)
	}
	if err := r.Add(ctx, ns, map[string]enumspb.IndexedValueType{"A": enumspb.INDEXED_VALUE_TYPE_INT}); err != nil {
		t.Fatal(err)
	}
	// Definitions made through the registry are seen at once.
	if err := r.Validate(ctx, ns, sa("A", "1")); err != nil {
		t.Errorf("Validate after Add: %v", err)
	}
	if err := r.Add(ctx, ns, map[string]enumspb.IndexedValueType{"A": enumspb.INDEXED_VALUE_TYPE_TEXT}); !errors.Is(err, persistence.ErrAlreadyExists) {
		t.Errorf("Add with another type: %v", err)
	}
	if err := r.Remove(ctx, ns, []string{"RunId"}); !errors.As(err, &e) {
		t.Errorf("Remove(RunId): %v", err)
	}
	if err := r.Remove(ctx, ns, []string{"Missing"}); !errors.Is(err, persistence.ErrNotFound) {
		t.Errorf("Remove(Missing): %v", err)
	}
	if err := r.Remove(ctx, ns, []string{"A"}); err != nil {
		t.Fatal(err)
	}
	if err := r.Validate(ctx, ns, sa("A", "1")); err == nil {
		t.Error("Validate accepted a removed attribute")
	}
	// Another process's definition is found even while the cache is fresh.
	if err := store.AddSearchAttributes(ctx, ns, map[string]enumspb.IndexedValueType{"Elsewhere": enumspb.INDEXED_VALUE_TYPE_BOOL}); err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(true)
	if err := r.Validate(ctx, ns, sa("Elsewhere", string(raw))); err == nil {
		t.Error("definitions were re-read within a second")
	}
	testClock.now = testClock.now.Add(2 * time.Second)
	if err := r.Validate(ctx, ns, sa("Elsewhere", string(raw))); err != nil {
		t.Errorf("Validate of an attribute added elsewhere: %v", err)
	}
	if q, err := r.Parse(ctx, ns, "Elsewhere = true"); err != nil || q == nil {
		t.Errorf("Parse of an attribute added elsewhere: %v", err)
	}
}

// Canonical validates like Validate and returns a new message in the
// stored form; the input is left alone and unsetting values are kept.
func TestCanonical(t *testing.T) {
	r, _ := newRegistry(t, nil)
	in := sa("CustomInt", `[3]`, "CustomKeywordList", `"a"`, "TemporalChangeVersion", `["v1"]`, "CustomBool", `null`)
	got, err := r.Canonical(t.Context(), ns, in)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][2]string{"CustomInt": {`3`, "Int"}, "CustomKeywordList": {`["a"]`, "KeywordList"},
		"TemporalChangeVersion": {`["v1"]`, "KeywordList"}, "CustomBool": {`null`, ""}}
	for name, w := range want {
		f := got.GetIndexedFields()[name]
		if string(f.GetData()) != w[0] || string(f.GetMetadata()["type"]) != w[1] {
			t.Errorf("%s = %s %q, want %s type %q", name, f.GetData(), f.GetMetadata(), w[0], w[1])
		}
	}
	if string(in.GetIndexedFields()["CustomInt"].GetData()) != `[3]` {
		t.Error("Canonical changed its input")
	}
	_, err = r.Canonical(t.Context(), ns, sa("CustomInt", `[3,4]`))
	var bad *visibility.InvalidSearchAttributeError
	if !errors.As(err, &bad) || bad.Msg != "invalid value for search attribute CustomInt of type Int: [3,4]" {
		t.Errorf("two Ints: %v", err)
	}
}
