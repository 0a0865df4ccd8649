package server

import (
	"context"
	"fmt"
	"net"

	"github.com/sundialhq/sundial/internal/frontend/httpapi"
	"github.com/sundialhq/sundial/internal/tlsconfig"
)

// startHTTPAPI serves the HTTP/JSON API on cfg.HTTPAddress, if set. It
// needs the frontend's gRPC server, which it calls for every request.
func (s *Server) startHTTPAPI() error {
	if s.cfg.HTTPAddress == "" {
		return nil
	}
	api, err := httpapi.New(httpapi.Options{
		GRPC: s.grpc, Dynamic: s.cfg.DynamicConfig, Logger: s.log.With("component", "httpapi"),
	})
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", s.cfg.HTTPAddress)
	if err != nil {
		api.Stop(context.Background())
		return fmt.Errorf("HTTP API listener on %s: %w", s.cfg.HTTPAddress, err)
	}
	s.httpAPI, s.httpAPILis = api, lis
	lis = s.publicListener(lis, tlsconfig.HTTP)
	s.log.Info("HTTP API started", "address", lis.Addr().String(), "tls", s.tls != nil)
	go func() {
		if err := api.Serve(lis); err != nil {
			s.log.Error("HTTP API stopped", "error", err)
		}
	}()
	return nil
}

// stopHTTPAPI stops the HTTP API, letting requests in flight finish for
// a bounded time. It runs before the gRPC server stops, which those
// requests go through.
func (s *Server) stopHTTPAPI() {
	if s.httpAPI == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), httpShutdownTimeout)
	defer cancel()
	s.httpAPI.Stop(ctx)
}

// HTTPAddr is the host:port the HTTP API listens on ("" when it is off or
// before Start).
func (s *Server) HTTPAddr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.httpAPILis == nil {
		return ""
	}
	return s.httpAPILis.Addr().String()
}
