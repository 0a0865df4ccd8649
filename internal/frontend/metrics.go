package frontend

import (
	"context"
	"strings"
	"time"

	"google.golang.org/grpc"

	"github.com/sundialhq/sundial/internal/metrics"
)

// MetricsInterceptor records service_requests, service_latency and the
// service_errors family for every unary call, with service_name
// "frontend", the RPC's method name as operation and the request's
// namespace. It must run outside UnaryInterceptor so it sees the final
// gRPC status. With a nil m it records nothing.
func MetricsInterceptor(m *metrics.Metrics) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if m == nil {
			return handler(ctx, req)
		}
		start := time.Now()
		resp, err := handler(ctx, req)
		m.Request(metrics.ServiceFrontend, methodName(info.FullMethod), requestNamespace(req), time.Since(start), err)
		return resp, err
	}
}

// methodName is the last element of a gRPC full method name
// ("/temporal.api.workflowservice.v1.WorkflowService/StartWorkflowExecution"
// -> "StartWorkflowExecution").
func methodName(full string) string {
	return full[strings.LastIndexByte(full, '/')+1:]
}

// requestNamespace is the namespace a request names, "" if none.
func requestNamespace(req any) string {
	if r, ok := req.(interface{ GetNamespace() string }); ok {
		return r.GetNamespace()
	}
	return ""
}
