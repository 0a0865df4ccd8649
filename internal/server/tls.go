package server

import (
	"net"

	"github.com/sundialhq/sundial/internal/tlsconfig"
)

// loadTLS reads the frontend's certificates before anything else starts,
// so a missing or bad file refuses the start naming its key and path.
func (s *Server) loadTLS() error {
	if !tlsconfig.Enabled(s.cfg.FrontendTLS) {
		return nil
	}
	p, err := tlsconfig.New(tlsconfig.Options{
		Group: s.cfg.FrontendTLS, Key: "global.tls.frontend", RefreshInterval: s.cfg.TLSRefreshInterval,
		Logger: s.log.With("component", "tls"),
	})
	if err != nil {
		return err
	}
	s.tls = p
	return nil
}

// publicListener wraps a listener that serves clients over the network
// (the HTTP API, the Web UI) in the frontend's TLS when it is configured.
// nextProtos are the ALPN protocols offered (tlsconfig.HTTP for HTTP).
// Every public listener must go through here: global.tls.frontend covers
// them all.
func (s *Server) publicListener(lis net.Listener, nextProtos []string) net.Listener {
	if s.tls == nil {
		return lis
	}
	return s.tls.Listener(lis, nextProtos)
}

// TLS reports whether the frontend serves TLS (known after Start).
func (s *Server) TLS() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tls != nil
}
