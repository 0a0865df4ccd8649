// Package httpapi serves Temporal's HTTP/JSON API: the REST routes that
// go.temporal.io/api declares for WorkflowService and OperatorService
// (the generated grpc-gateway handlers), in Temporal's JSON (camelCase,
// enums by name, payload shorthand), with errors as
// {"code": <gRPC code>, "message": ..., "details": [...]}.
//
// Every call reaches the frontend through the frontend's own gRPC server,
// over an in-memory connection: the same codec, interceptors (validation
// errors, metrics, logging, panic recovery) and handlers as a gRPC call,
// so the two APIs cannot drift apart.
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/sundialhq/sundial/internal/auth"
	"github.com/sundialhq/sundial/internal/config"
)

const (
	// MaxRequestBytes bounds a request body: gRPC's 4 MiB request limit,
	// which the reference server applies to its HTTP API as well.
	MaxRequestBytes = 4 << 20
	// maxResponseBytes is the largest response the gateway accepts from
	// the frontend (the Go SDK's client limit).
	maxResponseBytes = 128 << 20
	// pipeBufferBytes is the in-memory connection's buffer per direction.
	pipeBufferBytes = 1 << 20
	// idleTimeout closes keep-alive connections left idle this long.
	idleTimeout = 2 * time.Minute
)

// forwardedHeaders are HTTP headers passed to the frontend as gRPC
// metadata (lower-cased), besides grpc-gateway's defaults (Authorization,
// the permanent HTTP headers as grpcgateway-*, and Grpc-Metadata-*).
var forwardedHeaders = map[string]bool{
	"Authorization-Extras": true,
	"X-Forwarded-For":      true,
	"Client-Name":          true,
	"Client-Version":       true,
}

// Options configures a Server.
type Options struct {
	// GRPC is the frontend's gRPC server; the Server serves it one more
	// listener (in memory) and calls it through that. Required.
	GRPC *grpc.Server
	// Dynamic is read for AllowedHostsKey on every request; nil allows
	// every host.
	Dynamic *config.Dynamic
	// Logger; nil means slog.Default().
	Logger *slog.Logger
}

// Server is the HTTP/JSON API. It is an http.Handler; Serve runs it on a
// listener and Stop ends it.
type Server struct {
	log   *slog.Logger
	mux   *runtime.ServeMux
	hosts *hostFilter
	conn  *grpc.ClientConn
	pipe  *bufconn.Listener
	http  *http.Server
}

// New starts serving opts.GRPC on an in-memory listener and registers the
// gateway routes against a client of it. Stop releases both.
func New(opts Options) (*Server, error) {
	if opts.GRPC == nil {
		return nil, errors.New("httpapi: Options.GRPC is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Server{log: opts.Logger, hosts: &hostFilter{dynamic: opts.Dynamic, log: opts.Logger}}
	s.http = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: idleTimeout}
	s.pipe = bufconn.Listen(pipeBufferBytes)
	go func() { _ = opts.GRPC.Serve(s.pipe) }() // returns when the gRPC server stops
	conn, err := grpc.NewClient("passthrough:///frontend",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return s.pipe.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxResponseBytes)),
	)
	if err != nil {
		_ = s.pipe.Close()
		return nil, fmt.Errorf("httpapi: in-memory frontend client: %w", err)
	}
	s.conn = conn
	s.mux = runtime.NewServeMux(append(marshalerOptions(),
		runtime.WithErrorHandler(s.writeError),
		runtime.WithMiddlewares(s.checkHost),
		runtime.WithIncomingHeaderMatcher(matchHeader),
		runtime.WithMetadata(func(_ context.Context, r *http.Request) metadata.MD { return auth.InProcessCertMetadata(r) }),
	)...)
	ctx := context.Background()
	if err := workflowservice.RegisterWorkflowServiceHandlerClient(ctx, s.mux, workflowservice.NewWorkflowServiceClient(conn)); err != nil {
		s.close()
		return nil, fmt.Errorf("httpapi: registering WorkflowService routes: %w", err)
	}
	if err := operatorservice.RegisterOperatorServiceHandlerClient(ctx, s.mux, operatorservice.NewOperatorServiceClient(conn)); err != nil {
		s.close()
		return nil, fmt.Errorf("httpapi: registering OperatorService routes: %w", err)
	}
	return s, nil
}

// Serve serves the API on lis until Stop; it returns nil after Stop.
func (s *Server) Serve(lis net.Listener) error {
	if err := s.http.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("HTTP API: %w", err)
	}
	return nil
}

// Stop lets in-flight requests finish until ctx is done, then closes
// every connection and the in-memory client. Call it before stopping the
// gRPC server, so that requests in flight are answered.
func (s *Server) Stop(ctx context.Context) {
	if err := s.http.Shutdown(ctx); err != nil {
		_ = s.http.Close()
	}
	s.close()
}

func (s *Server) close() {
	if s.conn != nil {
		_ = s.conn.Close()
	}
	_ = s.pipe.Close()
}

// ServeHTTP bounds the body, turns the `pretty` and `noPayloadShorthand`
// query parameters into the Accept media type that selects that JSON
// flavour (as the reference server does), and routes the request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxRequestBytes)
	q := r.URL.Query()
	_, pretty := q["pretty"]
	_, noShorthand := q["noPayloadShorthand"]
	switch {
	case pretty && noShorthand:
		r.Header.Set("Accept", mimeJSONPrettyNoShorthand)
	case pretty:
		r.Header.Set("Accept", mimeJSONPretty)
	case noShorthand:
		r.Header.Set("Accept", mimeJSONNoShorthand)
	}
	s.mux.ServeHTTP(w, r)
}

// checkHost answers 403 with PermissionDenied's code to a request whose
// Host header frontend.httpAllowedHosts does not allow.
func (s *Server) checkHost(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		if s.hosts.allowed(r.Host) {
			next(w, r, params)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"code": 7, "message": "Host not allowed"}`))
	}
}

// writeError writes err as a google.rpc.Status in the request's JSON
// flavour, with grpc-gateway's HTTP status for its code (400 for
// InvalidArgument, 404 NotFound, 409 AlreadyExists, ...). Errors from the
// frontend are already gRPC statuses carrying Temporal's typed details;
// the gateway's own (undecodable JSON, bad path values, unknown routes)
// are InvalidArgument or NotFound.
func (s *Server) writeError(_ context.Context, _ *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, _ *http.Request, err error) {
	st := status.Convert(err)
	body, merr := m.Marshal(st.Proto())
	if merr != nil {
		s.log.Warn("HTTP API: cannot encode an error", "error", merr, "status", st.String())
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"code": 13, "message": "failed to marshal error message"}`))
		return
	}
	w.Header().Set("Content-Type", m.ContentType(nil))
	w.WriteHeader(runtime.HTTPStatusFromCode(st.Code()))
	_, _ = w.Write(body)
}

// matchHeader forwards forwardedHeaders under their own (lower-cased)
// names and the rest as grpc-gateway does by default.
func matchHeader(name string) (string, bool) {
	if forwardedHeaders[http.CanonicalHeaderKey(name)] {
		return name, true
	}
	key, ok := runtime.DefaultHeaderMatcher(name)
	if ok && strings.EqualFold(key, auth.InProcessCertKey) {
		return "", false // only clientCertMetadata sets it
	}
	return key, ok
}
