package statemachine

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fill sets every field reachable from v to a distinct non-zero value
// (maps and slices get two entries), so that a field the codec does not
// carry shows as a difference after a round trip.
func fill(t *testing.T, v reflect.Value, n *int) {
	t.Helper()
	*n++
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Unix(int64(1_700_000_000+*n), int64(*n)).UTC()))
			return
		}
		for i := range v.NumField() {
			fill(t, v.Field(i), n)
		}
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fill(t, p.Elem(), n)
		v.Set(p)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		for range 2 {
			k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			fill(t, k, n)
			fill(t, e, n)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			fill(t, s.Index(i), n)
		}
		v.Set(s)
	case reflect.String:
		v.SetString("s" + strings.Repeat("x", *n%7) + string(rune('a'+*n%26)))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(*n) * 1000) // a Duration too
	case reflect.Uint8:
		v.SetUint(uint64(*n % 256))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Float64:
		v.SetFloat(1.5 + float64(*n))
	default:
		t.Fatalf("fill: unhandled kind %s (%s): teach the codec and this test", v.Kind(), v.Type())
	}
}

// Every field of the state survives Encode and Decode.
func TestStateCodecCarriesEveryField(t *testing.T) {
	var want State
	n := 0
	fill(t, reflect.ValueOf(&want).Elem(), &n)
	b, err := want.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, &want) {
		gj, _ := json.MarshalIndent(got, "", " ")
		wj, _ := json.MarshalIndent(&want, "", " ")
		t.Fatalf("round trip differs:\n got %s\nwant %s", gj, wj)
	}
	// The encoding does not depend on map order.
	for range 5 {
		again, _ := got.Encode()
		if string(again) != string(b) {
			t.Fatal("the same state encoded to different bytes")
		}
	}
}

// A state stored as JSON by an earlier version decodes to the same state.
func TestStateDecodesJSONRows(t *testing.T) {
	var want State
	n := 0
	fill(t, reflect.ValueOf(&want).Elem(), &n)
	old, err := json.Marshal(&want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(old)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, &want) {
		t.Fatalf("JSON row decoded to %+v", got)
	}
	empty, err := Decode([]byte(`{"execution":{"run_id":"r"},"next_event_id":3}`))
	if err != nil || empty.Activities == nil || empty.Timers == nil || empty.Execution.RunID != "r" || empty.NextEventID != 3 {
		t.Fatalf("minimal JSON row: %+v, %v", empty, err)
	}
}

// Truncated or unknown input is an error, never a panic or a partial state.
func TestStateDecodeRejectsCorruptInput(t *testing.T) {
	var s State
	n := 0
	fill(t, reflect.ValueOf(&s).Elem(), &n)
	b, _ := s.Encode()
	for i := 0; i < len(b); i++ {
		if _, err := Decode(b[:i]); err == nil {
			t.Fatalf("a state truncated to %d of %d bytes decoded", i, len(b))
		}
	}
	if _, err := Decode(append(b, 0)); err == nil {
		t.Error("trailing bytes accepted")
	}
	if _, err := Decode([]byte{9, 1, 2}); err == nil {
		t.Error("unknown version accepted")
	}
}
