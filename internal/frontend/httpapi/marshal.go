package httpapi

import (
	"encoding/json"
	"io"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/temporalproto"
	"google.golang.org/protobuf/proto"
)

// The media types that select a JSON flavour, as the reference server
// names them. A request picks its outbound flavour with Accept (or the
// `pretty` / `noPayloadShorthand` query parameters, see
// Server.ServeHTTP) and its inbound one with Content-Type. A request with
// neither falls to grpc-gateway's own marshaler (plain protojson with
// default values emitted and no payload shorthand), as on the reference
// server.
const (
	mimeJSON                  = "application/json"
	mimeJSONPretty            = "application/json+pretty"
	mimeJSONNoShorthand       = "application/json+no-payload-shorthand"
	mimeJSONPrettyNoShorthand = "application/json+pretty+no-payload-shorthand"
)

// prettyIndent is the indentation of the pretty flavours.
const prettyIndent = "  "

// marshalerOptions registers the four Temporal JSON flavours with the
// gateway mux.
func marshalerOptions() []runtime.ServeMuxOption {
	return []runtime.ServeMuxOption{
		runtime.WithMarshalerOption(mimeJSON, newMarshaler(mimeJSON, "", true)),
		runtime.WithMarshalerOption(mimeJSONPretty, newMarshaler(mimeJSONPretty, prettyIndent, true)),
		runtime.WithMarshalerOption(mimeJSONNoShorthand, newMarshaler(mimeJSONNoShorthand, "", false)),
		runtime.WithMarshalerOption(mimeJSONPrettyNoShorthand, newMarshaler(mimeJSONPrettyNoShorthand, prettyIndent, false)),
	}
}

// marshaler is a runtime.Marshaler over Temporal's protojson variant
// (go.temporal.io/api/temporalproto): camelCase field names, enums by
// name, and — when shorthand is on — payloads written and read as their
// plain JSON value (`"input": [{"a": 1}]`) instead of
// `{"metadata": {...}, "data": "<base64>"}` when their encoding allows it.
type marshaler struct {
	contentType string
	indent      string
	m           temporalproto.CustomJSONMarshalOptions
	u           temporalproto.CustomJSONUnmarshalOptions
}

var _ runtime.Marshaler = (*marshaler)(nil)

func newMarshaler(contentType, indent string, shorthand bool) *marshaler {
	meta := map[string]any{}
	if shorthand {
		meta[commonpb.EnablePayloadShorthandMetadataKey] = true
	}
	return &marshaler{
		contentType: contentType,
		indent:      indent,
		m:           temporalproto.CustomJSONMarshalOptions{Metadata: meta, Indent: indent},
		u:           temporalproto.CustomJSONUnmarshalOptions{Metadata: meta},
	}
}

// Marshal writes protos with Temporal's protojson and anything else (the
// gateway's own error structs) with encoding/json.
func (p *marshaler) Marshal(v any) ([]byte, error) {
	if m, ok := v.(proto.Message); ok {
		return p.m.Marshal(m)
	}
	if p.indent != "" {
		return json.MarshalIndent(v, "", p.indent)
	}
	return json.Marshal(v)
}

// Unmarshal reads protos with Temporal's protojson. Unknown fields are an
// error, as on the reference server.
func (p *marshaler) Unmarshal(data []byte, v any) error {
	if m, ok := v.(proto.Message); ok {
		return p.u.Unmarshal(data, m)
	}
	return json.Unmarshal(data, v)
}

// NewDecoder reads one JSON value from r per Decode.
func (p *marshaler) NewDecoder(r io.Reader) runtime.Decoder {
	dec := json.NewDecoder(r)
	return runtime.DecoderFunc(func(v any) error {
		m, ok := v.(proto.Message)
		if !ok {
			return dec.Decode(v)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		return p.u.Unmarshal(raw, m)
	})
}

// NewEncoder writes one JSON value and a newline per Encode.
func (p *marshaler) NewEncoder(w io.Writer) runtime.Encoder {
	return runtime.EncoderFunc(func(v any) error {
		b, err := p.Marshal(v)
		if err != nil {
			return err
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
		_, err = w.Write([]byte{'\n'})
		return err
	})
}

// ContentType is the media type the flavour was registered under.
func (p *marshaler) ContentType(any) string { return p.contentType }
