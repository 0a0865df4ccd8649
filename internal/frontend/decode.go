package frontend

import (
	"context"
	"strings"
	"sync"

	"go.temporal.io/api/serviceerror"
	"google.golang.org/grpc"
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
// Sundial answers InvalidArgument instead. Two pieces do it together:
// requestCodec (installed by ServerOptions) lets the unmarshal "succeed"
// and parks the error, and WithUndecodableRequestsAsInvalidArgument (used
// when registering the services) picks it up and fails the call through
// the interceptors, so it is counted and logged like any failed call.

// undecodable holds the unmarshal error of each Temporal API request
// message that failed to decode, keyed by the message pointer, from the
// codec's Unmarshal until the handler wrapper takes it out (both run in the
// same call, one after the other).
var undecodable sync.Map // proto.Message -> error

// requestCodec is gRPC's protobuf codec, except that a Temporal API
// message that fails to unmarshal is left (partly) decoded and its error
// parked in undecodable. Other messages (health checks) fail as usual, as
// their services are not wrapped and would never collect the error.
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

// WithUndecodableRequestsAsInvalidArgument returns a copy of a generated
// Temporal API service descriptor whose unary handlers fail a request that
// requestCodec could not decode with InvalidArgument ("The request could
// not be decoded: ..."). The service method is not called for it.
func WithUndecodableRequestsAsInvalidArgument(desc *grpc.ServiceDesc) *grpc.ServiceDesc {
	d := *desc
	d.Methods = make([]grpc.MethodDesc, len(desc.Methods))
	for i, m := range desc.Methods {
		m.Handler = failUndecodable(m.Handler)
		d.Methods[i] = m
	}
	return &d
}

// failUndecodable wraps one generated unary handler. The generated code
// returns a decode error before running the interceptors, so the wrapper
// lets decoding succeed, keeps the error, and hands the interceptor chain a
// handler that returns it.
func failUndecodable(h grpc.MethodHandler) grpc.MethodHandler {
	return func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
		var decodeErr error
		keep := func(v any) error {
			decodeErr = dec(v) // reading failed (too large, cancelled): gRPC's status stands
			if m, ok := v.(proto.Message); ok {
				if err, found := undecodable.LoadAndDelete(m); found {
					decodeErr = serviceerror.ToStatus(serviceerror.NewInvalidArgument(
						"The request could not be decoded: " + err.(error).Error())).Err()
				}
			}
			return nil
		}
		intercept := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
			if decodeErr != nil {
				handler = func(context.Context, any) (any, error) { return nil, decodeErr }
			}
			if interceptor == nil {
				return handler(ctx, req)
			}
			return interceptor(ctx, req, info, handler)
		}
		return h(srv, ctx, keep, intercept)
	}
}
