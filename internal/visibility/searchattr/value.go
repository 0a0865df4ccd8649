package searchattr

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
)

// Kind is how values of a type are stored and compared.
type Kind int

const (
	// KindString holds Keyword and KeywordList values and Text tokens,
	// compared by code point.
	KindString Kind = iota + 1
	// KindInt holds Int, Datetime (Unix nanoseconds) and Bool (0/1).
	KindInt
	// KindDouble holds Double.
	KindDouble
)

// KindOf returns the storage kind of t.
func KindOf(t enumspb.IndexedValueType) Kind {
	switch t {
	case enumspb.INDEXED_VALUE_TYPE_INT, enumspb.INDEXED_VALUE_TYPE_DATETIME, enumspb.INDEXED_VALUE_TYPE_BOOL:
		return KindInt
	case enumspb.INDEXED_VALUE_TYPE_DOUBLE:
		return KindDouble
	}
	return KindString
}

// Value is one indexed value; which field is meaningful follows Kind.
type Value struct {
	Kind   Kind
	Str    string
	Int    int64
	Double float64
}

// String returns a value as text, for errors and tests.
func (v Value) String() string {
	switch v.Kind {
	case KindInt:
		return fmt.Sprint(v.Int)
	case KindDouble:
		return fmt.Sprint(v.Double)
	}
	return v.Str
}

// StringValue, IntValue and DoubleValue build Values.
func StringValue(s string) Value  { return Value{Kind: KindString, Str: s} }
func IntValue(n int64) Value      { return Value{Kind: KindInt, Int: n} }
func DoubleValue(f float64) Value { return Value{Kind: KindDouble, Double: f} }

// TimeValue is a Datetime value; BoolValue a Bool value (1 is true).
func TimeValue(t time.Time) Value { return IntValue(TimeNanos(t)) }
func BoolValue(b bool) Value {
	if b {
		return IntValue(1)
	}
	return IntValue(0)
}

// TimeNanos encodes t as Unix nanoseconds, clamped to what int64 holds.
func TimeNanos(t time.Time) int64 {
	switch {
	case t.Before(time.Unix(0, math.MinInt64)):
		return math.MinInt64
	case t.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// ParseTime parses a Datetime value: RFC 3339 with optional fractional
// seconds.
func ParseTime(s string) (time.Time, error) {
	return time.Parse(time.RFC3339Nano, s)
}

// ErrUnset is returned by Decode for a payload that clears the attribute
// (absent, JSON null, or the binary/null encoding).
var ErrUnset = errors.New("searchattr: value is unset")

const (
	metadataEncoding = "encoding"
	encodingJSON     = "json/plain"
	encodingNull     = "binary/null"
)

// Decode returns the indexed values of a search attribute payload of type
// t: one value for scalars; the distinct elements of a KeywordList (a
// Keyword given a list, as old SDKs send, is indexed the same way); the
// distinct lower-cased words of a Text. It returns ErrUnset for a payload
// that clears the attribute, and another error when the payload is not a
// JSON value of the type.
func Decode(p *commonpb.Payload, t enumspb.IndexedValueType) ([]Value, error) {
	if p == nil {
		return nil, ErrUnset
	}
	enc := string(p.GetMetadata()[metadataEncoding])
	data := bytes.TrimSpace(p.GetData())
	if enc == encodingNull || len(data) == 0 || string(data) == "null" {
		return nil, ErrUnset
	}
	if enc != "" && enc != encodingJSON {
		return nil, fmt.Errorf("unsupported encoding %q", enc)
	}
	switch t {
	case enumspb.INDEXED_VALUE_TYPE_KEYWORD, enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST:
		return decodeKeywords(data)
	case enumspb.INDEXED_VALUE_TYPE_TEXT:
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return nil, err
		}
		return stringValues(Tokenize(s)), nil
	case enumspb.INDEXED_VALUE_TYPE_INT:
		var n int64
		if err := json.Unmarshal(data, &n); err != nil {
			return nil, err
		}
		return []Value{IntValue(n)}, nil
	case enumspb.INDEXED_VALUE_TYPE_DOUBLE:
		var f float64
		if err := json.Unmarshal(data, &f); err != nil {
			return nil, err
		}
		return []Value{DoubleValue(f)}, nil
	case enumspb.INDEXED_VALUE_TYPE_BOOL:
		var b bool
		if err := json.Unmarshal(data, &b); err != nil {
			return nil, err
		}
		return []Value{BoolValue(b)}, nil
	case enumspb.INDEXED_VALUE_TYPE_DATETIME:
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return nil, err
		}
		tm, err := ParseTime(s)
		if err != nil {
			return nil, err
		}
		return []Value{TimeValue(tm)}, nil
	}
	return nil, fmt.Errorf("unknown type %v", t)
}

func decodeKeywords(data []byte) ([]Value, error) {
	var one string
	if err := json.Unmarshal(data, &one); err == nil {
		return []Value{StringValue(one)}, nil
	}
	var list []string
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, errors.New("not a string or a list of strings")
	}
	slices.Sort(list)
	return stringValues(slices.Compact(list)), nil
}

func stringValues(ss []string) []Value {
	out := make([]Value, len(ss))
	for i, s := range ss {
		out[i] = StringValue(s)
	}
	return out
}

// Tokenize splits Text into its distinct lower-cased words: maximal runs
// of letters and digits, so "my-business-id" is "my", "business", "id".
// The order of the result is sorted.
func Tokenize(text string) []string {
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	slices.Sort(words)
	return slices.Compact(words)
}
