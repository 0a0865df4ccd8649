package frontend

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"go.temporal.io/api/serviceerror"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	_ "google.golang.org/grpc/encoding/gzip" // SDKs compress requests with gzip by default
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"

	"github.com/sundialhq/sundial/internal/metrics"
)

// MaxRecvMsgSize is the largest request the server accepts (Temporal's
// default). Larger requests are refused by gRPC itself with
// RESOURCE_EXHAUSTED before any handler runs.
const MaxRecvMsgSize = 4 << 20

// streamWorkers is the size of the gRPC server's goroutine pool.
const streamWorkers = 128

// ServerOptions returns the gRPC server options every Sundial frontend
// listener uses: the metrics and error/panic interceptors, the
// receive-size limit, and a keepalive policy that admits the SDKs' 30 s
// pings (gRPC's default policy would answer them with GOAWAY
// "too_many_pings"). m may be nil. extra interceptors (authorization,
// audit) run after those, so their refusals are counted and logged like
// any other error.
func ServerOptions(logger *slog.Logger, m *metrics.Metrics, extra ...grpc.UnaryServerInterceptor) []grpc.ServerOption {
	// Authorization (extra) runs before the unimplemented-feature answer,
	// so a caller without the right learns nothing about the method.
	chain := append([]grpc.UnaryServerInterceptor{MetricsInterceptor(m), UnaryInterceptor(logger)}, extra...)
	chain = append(chain, unimplementedInterceptor)
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(chain...),
		grpc.MaxRecvMsgSize(MaxRecvMsgSize),
		grpc.ForceServerCodecV2(requestCodec{}),
		// Calls run on long-lived goroutines whose stacks have already
		// grown (a new goroutine per call spent ~6% of the server's CPU
		// growing its stack); calls beyond the pool get a new goroutine.
		grpc.NumStreamWorkers(streamWorkers),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
			MinTime:             5 * time.Second,
			PermitWithoutStream: true,
		}),
	}
}

// UnaryInterceptor turns every handler error into a gRPC status via
// toServiceError, and a panic into Internal (logged with its stack) so that
// no request can crash the process. A request requestCodec could not
// decode fails here with InvalidArgument, before the handler. Every failed
// call is logged once here (see logFailedCall).
func UnaryInterceptor(logger *slog.Logger) grpc.UnaryServerInterceptor {
	if logger == nil {
		logger = slog.Default()
	}
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if r := recover(); r != nil {
				logger.Error("panic in request handler", "method", info.FullMethod,
					"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				resp = nil
				err = serviceerror.ToStatus(serviceerror.NewInternal("internal error: the request handler panicked")).Err()
			}
			if err != nil {
				logFailedCall(ctx, logger, info.FullMethod, req, err)
			}
		}()
		if err = undecodableRequest(req); err != nil {
			return nil, serviceerror.ToStatus(err).Err()
		}
		resp, err = handler(ctx, req)
		if err != nil {
			return nil, serviceerror.ToStatus(toServiceError(err)).Err()
		}
		return resp, nil
	}
}

// ErrorCode is the gRPC code a caller gets for err, a handler's error as
// UnaryInterceptor maps it (interceptors after it, such as authorization
// and audit, see the handler's own error).
func ErrorCode(err error) codes.Code {
	if err == nil {
		return codes.OK
	}
	return serviceerror.ToStatus(toServiceError(err)).Code()
}

// logFailedCall writes the one log record of a failed call: at warn when
// the code means the server failed (the operator should look), at debug
// when it is an answer to the caller's request (not found, bad input, ...),
// which is routine and would flood the log at a higher level.
func logFailedCall(ctx context.Context, logger *slog.Logger, fullMethod string, req any, err error) {
	st := status.Convert(err)
	level := slog.LevelDebug
	switch st.Code() {
	case codes.Internal, codes.Unavailable, codes.Unknown, codes.DataLoss:
		level = slog.LevelWarn
	}
	if !logger.Enabled(ctx, level) {
		return
	}
	logger.LogAttrs(ctx, level, "request failed",
		slog.String("method", methodName(fullMethod)),
		slog.String("namespace", requestNamespace(req)),
		slog.String("code", st.Code().String()),
		slog.String("message", st.Message()))
}
