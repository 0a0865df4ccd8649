package statemachine

import (
	"bytes"

	commonpb "go.temporal.io/api/common/v1"
)

// clearsKey reports whether an upserted memo field or search attribute
// value removes its key rather than setting it, as the reference server
// decides: no payload, an empty one, the null encoding (what SDKs send for
// a nil value, e.g. the Go SDK's UpsertMemo(map{"k": nil}) or a typed
// search attribute's ValueUnset), or JSON null or an empty JSON list.
func clearsKey(p *commonpb.Payload) bool {
	if p == nil {
		return true
	}
	enc := string(p.GetMetadata()["encoding"])
	data := bytes.TrimSpace(p.GetData())
	switch {
	case enc == "binary/null":
		return true
	case len(data) == 0:
		return len(p.GetMetadata()) == 0
	case enc == "json/plain":
		return string(data) == "null" || string(data) == "[]"
	}
	return false
}

// mergePayloads applies upserted fields to fields (which may be nil) and
// returns the result: a field that clearsKey removes its key, any other
// replaces the old value.
func mergePayloads(fields, upserted map[string]*commonpb.Payload) map[string]*commonpb.Payload {
	if fields == nil {
		fields = make(map[string]*commonpb.Payload, len(upserted))
	}
	for k, v := range upserted {
		if clearsKey(v) {
			delete(fields, k)
			continue
		}
		fields[k] = v
	}
	return fields
}
