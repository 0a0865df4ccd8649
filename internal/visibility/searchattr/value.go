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
// t: one value for scalars; the distinct elements of a KeywordList; the
// distinct lower-cased words of a Text. A value may come in either of the
// encodings SDKs use: the bare JSON value, or a JSON list holding it (the
// TypeScript and older SDKs send every attribute as a list). Only a
// KeywordList may hold more than one element; a lone string is a
// one-element KeywordList. It returns ErrUnset for a payload that clears
// the attribute (absent, JSON null, an empty list, or the binary/null
// encoding), and another error when the payload is not a value of the
// type.
func Decode(p *commonpb.Payload, t enumspb.IndexedValueType) ([]Value, error) {
	elems, err := elements(p, t)
	if err != nil {
		return nil, err
	}
	var out []Value
	for _, e := range elems {
		vals, err := decodeScalar(e, t)
		if err != nil {
			return nil, err
		}
		out = append(out, vals...)
	}
	if t == enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST {
		slices.SortFunc(out, func(a, b Value) int { return strings.Compare(a.Str, b.Str) })
		out = slices.Compact(out)
	}
	return out, nil
}

// elements returns the JSON elements of a payload: the items of a list, or
// the value itself. A list of more than one element is an error unless t is
// a KeywordList.
func elements(p *commonpb.Payload, t enumspb.IndexedValueType) ([]json.RawMessage, error) {
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
	if data[0] != '[' {
		return []json.RawMessage{data}, nil
	}
	var list []json.RawMessage
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, err
	}
	switch {
	case len(list) == 0:
		return nil, ErrUnset
	case len(list) > 1 && t != enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST:
		return nil, fmt.Errorf("a list of values is not allowed for type %s", TypeName(t))
	}
	return list, nil
}

// decodeScalar decodes one JSON element of a value of type t.
func decodeScalar(data json.RawMessage, t enumspb.IndexedValueType) ([]Value, error) {
	switch t {
	case enumspb.INDEXED_VALUE_TYPE_KEYWORD, enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST:
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return nil, errors.New("not a string")
		}
		return []Value{StringValue(s)}, nil
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

// MetadataType is the payload metadata key naming a search attribute's
// type ("Int", "KeywordList", …); SDKs decode typed values by it.
const MetadataType = "type"

// Canonical returns p, a valid value of type t, in the one form Sundial
// stores and returns: JSON (json/plain); the bare value for scalar types
// (a one-element list is unwrapped); a list for KeywordList (a lone string
// is wrapped); the "type" metadata set to t's name, so every SDK decodes
// it as that type. Other metadata is kept. It returns ErrUnset for a
// payload that clears the attribute (the caller keeps it as it is), and
// another error when p is not a value of type t.
func Canonical(p *commonpb.Payload, t enumspb.IndexedValueType) (*commonpb.Payload, error) {
	elems, err := elements(p, t)
	if err != nil {
		return nil, err
	}
	for _, e := range elems {
		if _, err := decodeScalar(e, t); err != nil {
			return nil, err
		}
	}
	data := []byte(elems[0])
	if t == enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST {
		if data, err = json.Marshal(elems); err != nil {
			return nil, err
		}
	}
	md := make(map[string][]byte, len(p.GetMetadata())+2)
	for k, v := range p.GetMetadata() {
		md[k] = v
	}
	md[metadataEncoding] = []byte(encodingJSON)
	md[MetadataType] = []byte(TypeName(t))
	return &commonpb.Payload{Metadata: md, Data: data}, nil
}

// WithType returns p with the "type" metadata of t, or p itself when it
// has one already or clears the attribute. The value is left alone: this
// is for output of values stored before they were made Canonical.
func WithType(p *commonpb.Payload, t enumspb.IndexedValueType) *commonpb.Payload {
	if p == nil || len(p.GetMetadata()[MetadataType]) != 0 || len(p.GetData()) == 0 ||
		string(p.GetMetadata()[metadataEncoding]) == encodingNull {
		return p
	}
	md := make(map[string][]byte, len(p.GetMetadata())+1)
	for k, v := range p.GetMetadata() {
		md[k] = v
	}
	md[MetadataType] = []byte(TypeName(t))
	return &commonpb.Payload{Metadata: md, Data: p.GetData()}
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
