package server

import (
	"fmt"
	"net"
	"strconv"

	"google.golang.org/grpc/test/bufconn"

	"github.com/sundialhq/sundial/internal/auth"
	"github.com/sundialhq/sundial/internal/config"
	"github.com/sundialhq/sundial/internal/tlsconfig"
	"github.com/sundialhq/sundial/internal/webui"
)

// UIConfig serves the Temporal Web UI (internal/webui) beside the
// frontend. The UI calls the frontend over gRPC like any client.
type UIConfig struct {
	// Address is the UI's host:port; port 0 picks a free one (see
	// Server.UIURL).
	Address string
	// PublicPath serves the UI under a prefix such as "/ui".
	PublicPath string
	// DisableWriteActions makes the UI read-only.
	DisableWriteActions bool
}

// uiPortOffset is how far above the frontend's gRPC port the UI listens by
// default (7233 -> 8233), as `temporal server start-dev`.
const uiPortOffset = 1000

// DefaultUIPort is the UI's port for a frontend on grpcPort.
func DefaultUIPort(grpcPort int) int { return grpcPort + uiPortOffset }

// uiFromStatic turns the config's `ui` block into a UIConfig (nil when the
// block is absent): bindOnIP defaults to the frontend's IP, port to the
// frontend's gRPC port + 1000.
func uiFromStatic(ui *config.UI, cfg Config) (*UIConfig, error) {
	if ui == nil {
		return nil, nil
	}
	ip := ui.BindOnIP
	if ip == "" {
		ip = cfg.IP
	}
	if net.ParseIP(ip) == nil {
		return nil, fmt.Errorf("ui.bindOnIP %q: not an IP address", ip)
	}
	port := ui.Port
	if port == 0 {
		port = DefaultUIPort(cfg.Port)
	}
	if port < 1 || port > 65535 {
		return nil, fmt.Errorf("ui.port %d: want 1-65535", port)
	}
	return &UIConfig{
		Address:             net.JoinHostPort(ip, strconv.Itoa(port)),
		PublicPath:          ui.PublicPath,
		DisableWriteActions: ui.DisableWriteActions,
	}, nil
}

// options are the webui options for c, whose UI calls the frontend at
// frontendAddr (only a name when the caller sets DialFrontend).
func (c *UIConfig) options(frontendAddr string, cfg Config) webui.Options {
	return webui.Options{
		Address:             c.Address,
		FrontendAddress:     dialAddress(frontendAddr),
		PublicPath:          c.PublicPath,
		DisableWriteActions: c.DisableWriteActions,
		Logger:              cfg.Logger.With("component", "webui"),
	}
}

// validate checks c without starting anything.
func (c *UIConfig) validate() error {
	return c.options("127.0.0.1:1", Config{}.withDefaults()).Validate()
}

// dialAddress turns a listener's address into one a local client can dial:
// an unspecified host (0.0.0.0, ::) becomes the loopback address.
func dialAddress(listenAddr string) string {
	host, port, err := net.SplitHostPort(listenAddr)
	if err != nil {
		return listenAddr
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// startUI serves the web UI when the config asks for it. Called after the
// frontend listens.
func (s *Server) startUI() error {
	if s.cfg.UI == nil {
		return nil
	}
	if s.lis == nil {
		s.log.Warn("the web UI is served by frontend processes only: not served here")
		return nil
	}
	opts := s.cfg.UI.options(s.lis.Addr().String(), s.cfg)
	// The UI server calls the frontend in process, as the HTTP API does:
	// the frontend's TLS needs no client side, audit entries get the
	// browser's address (X-Forwarded-For), and a browser's verified client
	// certificate is its identity. Its own listener is a public one, in the
	// frontend's TLS when that is configured.
	pipe := bufconn.Listen(uiPipeBufferBytes)
	go func() { _ = s.grpc.Serve(pipe) }() // returns when the gRPC server stops
	opts.DialFrontend = pipe.DialContext
	opts.CallMetadata = auth.InProcessCertMetadata
	if s.tls != nil {
		opts.TLS = true
		opts.WrapListener = func(l net.Listener) net.Listener { return s.publicListener(l, tlsconfig.HTTP) }
	}
	ui, err := webui.Start(opts)
	if err != nil {
		_ = pipe.Close()
		return err
	}
	s.ui, s.uiPipe = ui, pipe
	return nil
}

// uiPipeBufferBytes is the in-memory connection's buffer per direction.
const uiPipeBufferBytes = 1 << 20

// UIURL is the web UI's URL, or "" when it is off or not started.
func (s *Server) UIURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ui == nil {
		return ""
	}
	return s.ui.URL()
}
