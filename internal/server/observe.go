package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"strconv"
	"time"

	"github.com/sundialhq/sundial/internal/config"
	"github.com/sundialhq/sundial/internal/metrics"
	"github.com/sundialhq/sundial/internal/namespace"
)

// DefaultMetricsPath is where metrics are served unless configured.
const DefaultMetricsPath = "/metrics"

// httpShutdownTimeout bounds the graceful stop of the metrics and pprof
// listeners.
const httpShutdownTimeout = 5 * time.Second

// startObservability creates the metrics registry and starts the
// metrics and pprof HTTP listeners that cfg asks for.
func (s *Server) startObservability() error {
	s.metrics = metrics.New()
	if s.cfg.MetricsAddress != "" {
		mux := http.NewServeMux()
		mux.Handle(s.cfg.MetricsPath, s.metrics.Handler())
		lis, err := s.listenHTTP("metrics", s.cfg.MetricsAddress, mux)
		if err != nil {
			return err
		}
		s.metricsLis = lis
	}
	if s.cfg.PProfAddress != "" {
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		mux.HandleFunc("/debug/pprof/rates", profileRates)
		if _, err := s.listenHTTP("pprof", s.cfg.PProfAddress, mux); err != nil {
			return err
		}
	}
	return nil
}

// profileRates sets the mutex and block profiling rates, off by default:
// /debug/pprof/rates?mutex=N&block=NS samples one contention event in N
// (runtime.SetMutexProfileFraction) and one blocking event per NS
// nanoseconds blocked (runtime.SetBlockProfileRate); 0 turns either off,
// an absent parameter leaves it as it is. Then /debug/pprof/mutex and
// /debug/pprof/block (with ?seconds= for a delta) have samples.
func profileRates(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var set []func()
	for _, p := range []struct {
		name  string
		apply func(int)
	}{
		{"mutex", func(n int) { runtime.SetMutexProfileFraction(n) }},
		{"block", runtime.SetBlockProfileRate},
	} {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			http.Error(w, fmt.Sprintf("%s=%q: want an integer >= 0", p.name, v), http.StatusBadRequest)
			return
		}
		set = append(set, func() { p.apply(n) })
	}
	for _, f := range set {
		f()
	}
	mutex := runtime.SetMutexProfileFraction(-1)
	fmt.Fprintf(w, "mutex fraction %d\n", mutex)
}

// listenHTTP serves h on addr in the background; teardown stops it.
func (s *Server) listenHTTP(what, addr string, h http.Handler) (net.Listener, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s listener on %s: %w", what, addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.httpServers = append(s.httpServers, srv)
	go func() {
		if err := srv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http listener stopped", "listener", what, "error", err)
		}
	}()
	s.log.Info("http listener started", "listener", what, "address", lis.Addr().String())
	return lis, nil
}

// stopHTTP stops the metrics and pprof listeners.
func (s *Server) stopHTTP() {
	for _, srv := range s.httpServers {
		ctx, cancel := context.WithTimeout(context.Background(), httpShutdownTimeout)
		if err := srv.Shutdown(ctx); err != nil {
			_ = srv.Close()
		}
		cancel()
	}
	s.httpServers = nil
}

// MetricsAddr is the host:port serving Prometheus metrics ("" when
// disabled or before Start).
func (s *Server) MetricsAddr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.metricsLis == nil {
		return ""
	}
	return s.metricsLis.Addr().String()
}

// MetricsURL is the full URL of the metrics page ("" when disabled).
func (s *Server) MetricsURL() string {
	addr := s.MetricsAddr()
	if addr == "" {
		return ""
	}
	return "http://" + addr + s.cfg.MetricsPath
}

// namespaceNamer resolves namespace IDs to names for metric labels.
func namespaceNamer(r *namespace.Registry) func(id string) string {
	return func(id string) string {
		ns, err := r.GetByID(context.Background(), id)
		if err != nil {
			return ""
		}
		return ns.Name
	}
}

// observabilityFromStatic applies global.metrics.prometheus
// {listenAddress, handlerPath} and global.pprof.port.
func observabilityFromStatic(g config.Global, cfg *Config) error {
	if g.Metrics != nil && g.Metrics.Prometheus != nil && g.Metrics.Prometheus.ListenAddress != "" {
		p := g.Metrics.Prometheus
		if _, _, err := net.SplitHostPort(p.ListenAddress); err != nil {
			return fmt.Errorf("global.metrics.prometheus.listenAddress %q: want host:port", p.ListenAddress)
		}
		cfg.MetricsAddress, cfg.MetricsPath = p.ListenAddress, p.HandlerPath
	}
	if port := g.PProf.Port; port != 0 {
		if port < 0 || port > 65535 {
			return fmt.Errorf("global.pprof.port %d: want 1-65535", port)
		}
		cfg.PProfAddress = net.JoinHostPort("localhost", strconv.Itoa(port))
	}
	return nil
}
