package frontend

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"

	"github.com/sundialhq/sundial/internal/history"
)

// Each failed call is one record: warn when the server failed, debug when
// the caller's request was answered with an error.
func TestFailedCallLogLevels(t *testing.T) {
	cases := []struct {
		err   error
		level string
		code  string
	}{
		{history.ErrWorkflowNotFound, "DEBUG", "code=NotFound"},
		{errors.New("a bug"), "WARN", "code=Internal"},
		{history.ErrShuttingDown, "WARN", "code=Unavailable"},
	}
	for _, c := range cases {
		var buf bytes.Buffer
		logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
		ic := UnaryInterceptor(logger)
		req := &workflowservice.DescribeWorkflowExecutionRequest{Namespace: "ns-1"}
		_, _ = ic(context.Background(), req, &grpc.UnaryServerInfo{FullMethod: "/svc/DescribeWorkflowExecution"},
			func(context.Context, any) (any, error) { return nil, c.err })
		out := buf.String()
		if strings.Count(out, "\n") != 1 || !strings.Contains(out, "level="+c.level) || !strings.Contains(out, c.code) ||
			!strings.Contains(out, "method=DescribeWorkflowExecution") || !strings.Contains(out, "namespace=ns-1") {
			t.Errorf("%v: logged %q", c.err, out)
		}
	}
}
