package frontend

import (
	"strings"
	"sync"

	"go.temporal.io/api/serviceerror"
	"google.golang.org/grpc/encoding"
	protocodec "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
)

// gRPC answers a request it cannot unmarshal (invalid UTF-8 in a string,
// nesting beyond protobuf's recursion limit, corrupt wire data) with
// Internal, and writes that status before any handler or interceptor runs.
// The fault is the caller's, and SDKs that trust
// internal_error_differentiation must not take it for a server bug, so
// Sundial answers InvalidArgument instead. Two pieces of ServerOptions do
// it together: requestCodec lets the unmarshal "succeed" and parks the
// error, and UnaryInterceptor picks it up and fails the call before the
// handler runs, so it is counted and logged like any failed call.

// undecodable holds the unmarshal error of each Temporal API request
// message that failed to decode, keyed by the message pointer, from the
// codec's Unmarshal until UnaryInterceptor takes it out (both run in the
// same call, one after the other).
var undecodable sync.Map // proto.Message -> error

// requestCodec is gRPC's protobuf codec, except that a Temporal API
// message that fails to unmarshal is left (partly) decoded and its error
// parked in undecodable. Other messages (health checks) fail as usual:
// only the unary Temporal services are sure to pass through the
// interceptor that collects the error.
type requestCodec struct{}

func (requestCodec) Name() string { return protocodec.Name }

func (requestCodec) Marshal(v any) (mem.BufferSlice, error) {
	return encoding.GetCodecV2(protocodec.Name).Marshal(v)
}

func (requestCodec) Unmarshal(data mem.BufferSlice, v any) error {
	err := encoding.GetCodecV2(protocodec.Name).Unmarshal(data, v)
	if err == nil {
		return nil
	}
	m, ok := v.(proto.Message)
	if !ok || !strings.HasPrefix(string(m.ProtoReflect().Descriptor().FullName()), "temporal.api.") {
		return err
	}
	undecodable.Store(m, err)
	return nil
}

// undecodableRequest returns InvalidArgument if requestCodec could not
// decode req (and forgets the error), nil otherwise.
func undecodableRequest(req any) error {
	m, ok := req.(proto.Message)
	if !ok {
		return nil
	}
	err, found := undecodable.LoadAndDelete(m)
	if !found {
		return nil
	}
	return serviceerror.NewInvalidArgument("The request could not be decoded: " + err.(error).Error())
}
