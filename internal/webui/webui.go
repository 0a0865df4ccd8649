// Package webui serves the official Temporal Web UI next to Sundial's
// frontend. The UI is github.com/temporalio/ui-server/v2 used as a library:
// its Go module embeds the built UI (the same assets `temporal server
// start-dev` serves) and an HTTP API that the browser calls, which the UI
// server turns into gRPC calls on Sundial's frontend. So the UI talks to
// Sundial exactly as it talks to a Temporal server, over the public API.
//
// The UI server's own Server type listens by itself and exits the process
// (log.Fatal) when its port is taken; Sundial instead builds the same echo
// handler from the library's exported routes and middleware (handler.go)
// and serves it on a listener it owns, so a busy port is an ordinary start-up
// error, port 0 works in tests and Stop closes everything it opened.
package webui

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// UIVersion is the version of the embedded Temporal Web UI (the
// github.com/temporalio/ui-server/v2 module in go.mod).
const UIVersion = "2.55.0"

// Options configures the UI server.
type Options struct {
	// Address is the host:port to listen on; port 0 picks a free port
	// (see Server.Addr). Required.
	Address string
	// FrontendAddress is the host:port of Sundial's gRPC frontend, which
	// the UI server calls on the browser's behalf. Required.
	FrontendAddress string
	// PublicPath serves the UI under a path prefix such as "/ui"; empty
	// serves it at the root.
	PublicPath string
	// DefaultNamespace is the namespace the UI opens first; default
	// "default".
	DefaultNamespace string
	// DisableWriteActions makes the UI read-only (no signal, cancel,
	// terminate, reset or start).
	DisableWriteActions bool
	// Logger; nil means slog.Default().
	Logger *slog.Logger
	// DialFrontend, when set, connects to the frontend (e.g. in process);
	// FrontendAddress is then only a name. Nil dials FrontendAddress over
	// TCP, in plaintext.
	DialFrontend func(ctx context.Context) (net.Conn, error)
	// WrapListener, when set, wraps the UI's listener (e.g. in TLS);
	// TLS says it serves HTTPS then (for URL).
	WrapListener func(net.Listener) net.Listener
	TLS          bool
	// CallMetadata, when set, adds gRPC metadata to every call the UI
	// server makes for a browser request (e.g. the identity of its
	// verified client certificate).
	CallMetadata func(*http.Request) metadata.MD
}

// Validate reports the first problem with o.
func (o Options) Validate() error {
	_, port, err := net.SplitHostPort(o.Address)
	if err != nil {
		return fmt.Errorf("ui address %q: want host:port", o.Address)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("ui address %q: port must be 0-65535", o.Address)
	}
	if _, _, err := net.SplitHostPort(o.FrontendAddress); err != nil {
		return fmt.Errorf("ui: frontend address %q: want host:port", o.FrontendAddress)
	}
	if o.PublicPath != "" && (!strings.HasPrefix(o.PublicPath, "/") || strings.HasSuffix(o.PublicPath, "/")) {
		return fmt.Errorf("ui publicPath %q: want a path like /ui (leading slash, no trailing slash)", o.PublicPath)
	}
	return nil
}

// shutdownTimeout bounds the graceful stop of the UI's HTTP server.
const shutdownTimeout = 5 * time.Second

// Server is a running UI server.
type Server struct {
	opts Options
	lis  net.Listener
	http *http.Server
	conn *grpc.ClientConn // the UI server's connection to the frontend
	done chan struct{}    // closed when Serve has returned
}

// Start listens on opts.Address and serves the UI in the background. The
// UI server connects to the frontend lazily, so the frontend may start
// after it.
func Start(opts Options) (*Server, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.DefaultNamespace == "" {
		opts.DefaultNamespace = "default"
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	h, conn, err := newHandler(uiConfig(opts), opts)
	if err != nil {
		return nil, err
	}
	lis, err := net.Listen("tcp", opts.Address)
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("ui listener on %s: %w", opts.Address, err)
	}
	serveLis := lis
	if opts.WrapListener != nil {
		serveLis = opts.WrapListener(lis)
	}
	s := &Server{
		opts: opts, lis: lis, conn: conn, done: make(chan struct{}),
		http: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second},
	}
	go func() {
		defer close(s.done)
		if err := s.http.Serve(serveLis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			opts.Logger.Error("web UI stopped serving", "error", err)
		}
	}()
	opts.Logger.Info("web UI started", "url", s.URL(), "uiVersion", UIVersion)
	return s, nil
}

// Addr is the host:port the UI listens on.
func (s *Server) Addr() string { return s.lis.Addr().String() }

// URL is the UI's address for a browser, with the public path. An
// unspecified bind address (0.0.0.0, ::) is shown as localhost.
func (s *Server) URL() string {
	host, port, _ := net.SplitHostPort(s.Addr())
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	scheme := "http://"
	if s.opts.TLS {
		scheme = "https://"
	}
	return scheme + net.JoinHostPort(host, port) + s.opts.PublicPath
}

// Stop stops serving (gracefully, for a bounded time) and closes the UI
// server's connection to the frontend. It is safe to call more than once.
func (s *Server) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := s.http.Shutdown(ctx); err != nil {
		_ = s.http.Close()
	}
	<-s.done
	_ = s.conn.Close()
}
