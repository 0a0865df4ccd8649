// Package server wires Sundial's roles into one process. It is the one
// place that names concrete types (the SQLite store, the matching and
// history engines, the gRPC server); every other package talks through
// interfaces.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/sundialhq/sundial/internal/audit"
	"github.com/sundialhq/sundial/internal/auth"
	"github.com/sundialhq/sundial/internal/frontend"
	"github.com/sundialhq/sundial/internal/frontend/httpapi"
	"github.com/sundialhq/sundial/internal/history"
	"github.com/sundialhq/sundial/internal/matching"
	"github.com/sundialhq/sundial/internal/membership"
	"github.com/sundialhq/sundial/internal/metrics"
	"github.com/sundialhq/sundial/internal/namespace"
	"github.com/sundialhq/sundial/internal/persistence"
	"github.com/sundialhq/sundial/internal/persistence/metricstore"
	"github.com/sundialhq/sundial/internal/rpc"
	"github.com/sundialhq/sundial/internal/tlsconfig"
	"github.com/sundialhq/sundial/internal/visibility"
	"github.com/sundialhq/sundial/internal/webui"
	"github.com/sundialhq/sundial/internal/worker"
	"github.com/sundialhq/sundial/internal/worker/batch"
	"github.com/sundialhq/sundial/internal/worker/schedule"
)

const (
	clusterName = "active"
	// defaultRetention is the retention of namespaces registered at start.
	defaultRetention = 24 * time.Hour
	// startTimeout bounds start-up work against the database.
	startTimeout = time.Minute
	// gracefulStopTimeout bounds how long Stop waits for in-flight RPCs
	// before closing connections.
	gracefulStopTimeout = 10 * time.Second
)

// Server is a single-process Sundial: frontend, history and matching over
// one store (SQLite, PostgreSQL or MySQL).
type Server struct {
	cfg Config
	log *slog.Logger

	mu       sync.Mutex
	started  bool
	stopped  bool
	store    persistence.Store
	matching *matching.Engine
	history  *history.Engine
	batch    *batch.Worker
	schedule *schedule.Service
	grpc     *grpc.Server
	health   *health.Server
	lis      net.Listener
	served   chan error // receives grpc.Serve's results

	// internal serves history and matching to the other processes of a
	// cluster; conns dials them (both nil in a process that is the whole
	// cluster).
	internal    *grpc.Server
	internalLis []net.Listener
	conns       *rpc.Conns
	// draining is cancelled (drain) when the server stops: a clustered
	// frontend's public long polls end then (drainInterceptor).
	draining context.Context
	drain    context.CancelFunc
	// internodeTLS serves global.tls.internode (nil: plaintext).
	internodeTLS *tlsconfig.Provider

	metrics     *metrics.Metrics
	metricsLis  net.Listener
	adminLis    net.Listener
	httpServers []*http.Server // metrics and pprof

	httpAPI    *httpapi.Server
	httpAPILis net.Listener

	// tls serves the frontend's certificates (nil: plaintext).
	tls *tlsconfig.Provider

	stopAuth context.CancelFunc // stops the JWT key refresh and audit purges
	rawStore persistence.Store  // the store as opened, for optional capabilities
	audit    *audit.Log         // nil when auditing is off
	bindings *auth.Bindings     // nil when authorization is off

	// reclaimer removes the data of deleted namespaces (where the worker
	// role runs: reclaimerRunning).
	reclaimer        *worker.Reclaimer
	reclaimerRunning bool
	ui               *webui.Server
	uiPipe           interface{ Close() error } // the UI's in-memory connection to gRPC
	adminToken       string

	// ring assigns shards and partitions (cluster.go); monitor is it when
	// the process is part of a multi-process cluster, else nil.
	ring    membership.Ring
	monitor *membership.Monitor
	// historyRef and matchingRef are the roles for the membership
	// heartbeat's OnLapse, which must not take s.mu.
	historyRef  atomic.Pointer[history.Engine]
	matchingRef atomic.Pointer[matching.Engine]
}

// New checks cfg and returns a server that is not started yet.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	draining, drain := context.WithCancel(context.Background())
	return &Server{cfg: cfg, log: cfg.Logger, draining: draining, drain: drain}, nil
}

// Start opens the store, checks the shard count, registers namespaces,
// starts matching and history, and serves gRPC. On error everything opened
// so far is closed again. Start may be called once.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.stopped {
		return errors.New("server: Start may be called once, before Stop")
	}
	s.started = true
	if err := s.start(); err != nil {
		s.teardown()
		s.stopped = true
		return err
	}
	return nil
}

func (s *Server) start() error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := s.loadTLS(); err != nil {
		return err
	}
	if err := s.startObservability(); err != nil {
		return err
	}
	if unknown := s.cfg.DynamicConfig.UnknownKeys(); len(unknown) > 0 {
		s.log.Warn("dynamic config keys not implemented by Sundial are ignored", "keys", unknown)
	}
	store, err := openStore(ctx, s.cfg, s.log)
	if err != nil {
		return err
	}
	s.rawStore = store
	store = metricstore.Wrap(store, s.metrics)
	s.store = store
	stored, err := store.InitCluster(ctx, s.cfg.NumShards)
	if err != nil {
		return fmt.Errorf("initializing cluster metadata: %w", err)
	}
	if stored != s.cfg.NumShards {
		return fmt.Errorf("cluster was created with numHistoryShards=%d, configured %d", stored, s.cfg.NumShards)
	}
	if err := s.startMembership(ctx, store); err != nil {
		return err
	}
	namespaces := namespace.NewRegistry(namespace.Options{Store: store, ClusterName: clusterName})
	for _, name := range s.cfg.Namespaces {
		if err := namespaces.EnsureRegistered(ctx, name, defaultRetention); err != nil {
			return fmt.Errorf("registering namespace %q: %w", name, err)
		}
	}

	// hist and match are the roles as the others call them: the engines
	// themselves in a process that is the whole cluster, else clients that
	// route each call to its owner (in process when that is this one).
	var (
		hist  rpc.HistoryRole
		match rpc.MatchingRole
	)
	ring := s.ring
	clustered := s.cfg.clustered()
	if clustered {
		if s.conns, err = s.dialer(); err != nil {
			return err
		}
	} else if tlsconfig.Enabled(s.cfg.InternodeTLS) {
		s.log.Warn("global.tls.internode is not used: this process runs every role, so there is no internode traffic")
	}
	if s.cfg.runs(RoleMatching) {
		// Across processes, a queue's partitions spread over the matching
		// hosts and child partitions forward to the root's owner.
		var fwd matching.Forwarder
		if clustered {
			fwd = rpc.NewMatchingForwarder(ring, s.conns)
		}
		s.matching = matching.New(matching.Options{
			Store: store, Dynamic: s.cfg.DynamicConfig, Clock: s.cfg.Clock, Logger: s.log,
			Metrics: s.metrics, NamespaceName: namespaceNamer(namespaces), Ring: ring, Forwarder: fwd,
		})
		s.matchingRef.Store(s.matching)
		match = s.matching
	}
	if clustered {
		var local rpc.MatchingRole
		if s.matching != nil {
			local = s.matching
		}
		match = rpc.NewMatchingClient(ring, s.conns, s.cfg.DynamicConfig, local)
	}
	searchAttrs := visibility.NewRegistry(visibility.RegistryOptions{
		Store: store, Dynamic: s.cfg.DynamicConfig, Clock: s.cfg.Clock,
	})
	if s.cfg.runs(RoleHistory) {
		if s.history, err = s.newHistory(store, match, namespaces, searchAttrs); err != nil {
			return err
		}
		hist = s.history
	}
	if clustered {
		var local rpc.HistoryRole
		if s.history != nil {
			local = s.history
		}
		hc := rpc.NewHistoryClient(ring, s.conns, s.cfg.NumShards, local)
		if s.history != nil {
			s.history.SetCrossShard(hc.CrossShard(s.history))
		}
		hist = hc
	}
	if s.matching != nil {
		s.matching.SetHistoryClient(hist)
	}
	if s.history != nil {
		if err := s.history.Start(ctx); err != nil {
			return fmt.Errorf("starting history: %w", err)
		}
		s.historyRef.Store(s.history)
	}
	s.reclaimer = worker.NewReclaimer(worker.ReclaimOptions{
		Namespaces: namespaces, History: hist, Visibility: store, SearchAttributes: searchAttrs,
		Schedules: store, BatchJobs: store,
		Logger: s.log.With("component", "worker"), Clock: s.cfg.Clock,
	})
	if s.runsWorker() {
		s.reclaimer.Start()
		s.reclaimerRunning = true
	}
	// The worker role's leases on batch jobs and due schedules name this
	// process (another process takes them over when they expire).
	owner := leaseOwner()
	s.batch, err = batch.New(batch.Options{
		Store: store, Visibility: store, Queries: searchAttrs, Dynamic: s.cfg.DynamicConfig,
		Clock: s.cfg.Clock, Logger: s.log.With("component", "batch"), Owner: owner,
	})
	if err != nil {
		return err
	}
	s.schedule, err = schedule.New(schedule.Options{Store: store, Clock: s.cfg.Clock, Dynamic: s.cfg.DynamicConfig,
		Logger: s.log.With("component", "scheduler"), Owner: owner})
	if err != nil {
		return err
	}
	s.served = make(chan error, 4)
	if err := s.serve(ctx, namespaces, searchAttrs, hist, match); err != nil {
		return err
	}
	if clustered {
		if err := s.startInternal(ring); err != nil {
			return err
		}
	}
	if err := s.startAdmin(); err != nil {
		return err
	}
	return s.startUI()
}

// serve builds the frontend over hist and match and, when this process
// runs the frontend role, serves it on the configured address. The worker
// role's jobs act through the frontend's API in process, so a process
// without the frontend role builds it too, unserved.
func (s *Server) serve(ctx context.Context, namespaces *namespace.Registry, searchAttrs *visibility.Registry,
	hist rpc.HistoryRole, match rpc.MatchingRole) error {
	var lis net.Listener
	var interceptors []grpc.UnaryServerInterceptor
	authz, err := s.startAuth(ctx, s.rawStore)
	if err != nil {
		return err
	}
	if authz != nil {
		interceptors = append(interceptors, authz)
	}
	if s.cfg.clustered() {
		interceptors = append(interceptors, s.drainInterceptor)
	}
	opts := frontend.ServerOptions(s.log.With("component", "grpc"), s.metrics, interceptors...)
	hostAddress := ""
	if s.cfg.runs(RoleFrontend) || !s.cfg.clustered() {
		addr := net.JoinHostPort(s.cfg.IP, strconv.Itoa(s.cfg.Port))
		if lis, err = net.Listen("tcp", addr); err != nil {
			return fmt.Errorf("listening on %s: %w", addr, err)
		}
		if s.tls != nil {
			lis = s.publicListener(lis, tlsconfig.GRPC)
			opts = append(opts, grpc.Creds(tlsconfig.ListenerCredentials()))
		}
		s.lis = lis
		hostAddress = lis.Addr().String()
	}
	var batchWorker frontend.BatchWorker
	if s.runsWorker() {
		batchWorker = s.batch
	}
	handler, err := frontend.New(frontend.Options{
		Namespaces:         namespaces,
		History:            hist,
		Matching:           match,
		Dynamic:            s.cfg.DynamicConfig,
		Logger:             s.log.With("component", "frontend"),
		ServerVersion:      TemporalVersion,
		ClusterName:        clusterName,
		NumShards:          s.cfg.NumShards,
		PersistenceStore:   s.cfg.Store.Plugin,
		Visibility:         s.store,
		SearchAttributes:   searchAttrs,
		TaskQueues:         match,
		BatchJobs:          s.store,
		BatchWorker:        batchWorker,
		HostAddress:        hostAddress,
		NamespaceReclaimer: s.reclaimer,
		Schedules:          s.schedule,
	})
	if err != nil {
		return err
	}
	// The worker role's batch jobs act through the frontend's API, in
	// process.
	if s.runsWorker() {
		s.batch.Start(handler.BatchClient())
	}
	s.schedule.SetWorkflows(frontend.NewLocalWorkflows(handler))
	if lis != nil {
		s.grpc = grpc.NewServer(opts...)
		workflowservice.RegisterWorkflowServiceServer(s.grpc, handler)
		operatorservice.RegisterOperatorServiceServer(s.grpc, frontend.NewOperator(handler))
		s.health = health.NewServer()
		healthpb.RegisterHealthServer(s.grpc, s.health)
		s.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
		s.health.SetServingStatus(workflowservice.WorkflowService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
		go func(g *grpc.Server) { s.served <- g.Serve(lis) }(s.grpc)
	}
	if s.runsWorker() {
		s.schedule.Start()
	}
	if lis == nil {
		if s.cfg.HTTPAddress != "" {
			s.log.Warn("services.frontend.rpc.httpPort is served by frontend processes only: not served here")
		}
		s.log.Info("sundial started", "roles", s.cfg.Roles, "db", describeStore(s.cfg),
			"numHistoryShards", s.cfg.NumShards, "version", Version)
		return nil
	}
	if err := s.startHTTPAPI(); err != nil {
		return err
	}
	if l, exposed := exposedWithoutAuth(s.cfg); exposed {
		s.log.Warn("serving the API off loopback with no authorization, as allowed by allowNoAuth: "+
			"every client that can connect has full access", "listener", l.what, "address", l.host, "tls", s.tls != nil)
	}
	s.log.Info("sundial started", "frontend", lis.Addr().String(), "tls", s.tls != nil, "db", describeStore(s.cfg),
		"numHistoryShards", s.cfg.NumShards, "version", Version)
	return nil
}

// runsWorker: the worker role's jobs (batch operations, schedules,
// namespace data removal) run here. A process that is the whole cluster
// runs them whatever --services says, as it always has.
func (s *Server) runsWorker() bool { return !s.cfg.clustered() || s.cfg.runs(RoleWorker) }

// newHistory builds the history engine over match.
func (s *Server) newHistory(store persistence.Store, match history.MatchingClient, namespaces *namespace.Registry,
	searchAttrs *visibility.Registry) (*history.Engine, error) {
	return history.NewEngine(history.Options{
		Store: store, Matching: match, NumShards: s.cfg.NumShards,
		Visibility: store, CanonicalSearchAttributes: searchAttrs.Canonical,
		Dynamic: s.cfg.DynamicConfig, Clock: s.cfg.Clock, Logger: s.log.With("component", "history"),
		Metrics: s.metrics, Ring: s.ring, HandOffDelay: s.handOffDelay(),
		NamespaceID: func(ctx context.Context, name string) (string, error) {
			ns, err := namespaces.GetByName(ctx, name)
			if err != nil {
				return "", err
			}
			if ns.Deleted() {
				return "", namespace.ErrNotFound
			}
			return ns.ID, nil
		},
		NamespaceName: func(ctx context.Context, id string) string {
			if ns, err := namespaces.GetByID(ctx, id); err == nil {
				return ns.Name
			}
			return ""
		},
		NamespaceRetention: func(id string) time.Duration {
			ns, err := namespaces.GetByID(context.Background(), id)
			if err != nil {
				return 0
			}
			return ns.Retention
		},
	})
}

// FrontendAddr is the host:port the frontend listens on ("" before Start).
func (s *Server) FrontendAddr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lis == nil {
		return ""
	}
	return s.lis.Addr().String()
}

// Database names the database the server uses (no password).
func (s *Server) Database() string { return describeStore(s.cfg) }

// Run starts the server and then Waits.
func (s *Server) Run(ctx context.Context) error {
	if err := s.Start(); err != nil {
		return err
	}
	return s.Wait(ctx)
}

// Wait serves until ctx is done or gRPC serving fails, then stops the
// server. It returns nil after a stop requested through ctx (or by Stop).
func (s *Server) Wait(ctx context.Context) error {
	s.mu.Lock()
	served := s.served
	s.mu.Unlock()
	if served == nil {
		return errors.New("server: Wait before a successful Start")
	}
	select {
	case <-ctx.Done():
		s.Stop()
		return nil
	case err := <-served:
		s.Stop()
		if err == nil || errors.Is(err, grpc.ErrServerStopped) {
			return nil
		}
		return fmt.Errorf("serving gRPC: %w", err)
	}
}

// Stop shuts the server down gracefully; it is idempotent and safe to call
// before or without Start. Order: health reports NOT_SERVING; matching
// releases its long polls (so GracefulStop does not wait on them); the
// HTTP API drains (its calls go through gRPC); gRPC
// drains in-flight calls for a bounded time, then closes connections;
// history stops after its in-flight writes; the store closes last. Batch
// jobs stop first (they stay running in the store and resume at the next
// start).
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return
	}
	s.stopped = true
	s.teardown()
	s.log.Info("sundial stopped")
}

// teardown releases whatever start managed to create, in reverse
// dependency order. Called with s.mu held.
func (s *Server) teardown() {
	if s.ui != nil {
		s.ui.Stop()
	}
	if s.uiPipe != nil {
		_ = s.uiPipe.Close()
	}
	if s.health != nil {
		s.health.Shutdown()
	}
	if s.batch != nil {
		s.batch.Stop() // its actions go through history
	}
	if s.schedule != nil {
		s.schedule.Stop() // before the roles its actions call
	}
	s.leaveCluster()
	if s.matching != nil {
		s.matching.Stop()
	}
	s.stopHTTPAPI()
	s.drain()
	if s.grpc != nil {
		stopGRPC(s.grpc, gracefulStopTimeout)
	} else if s.lis != nil {
		_ = s.lis.Close()
	}
	if s.internal != nil {
		stopGRPC(s.internal, gracefulStopTimeout)
	}
	for _, l := range s.internalLis {
		_ = l.Close()
	}
	if s.reclaimer != nil && s.reclaimerRunning {
		s.reclaimer.Stop()
	}
	if s.history != nil {
		s.history.Stop()
	}
	if s.monitor != nil {
		s.monitor.Stop()
	}
	if s.conns != nil {
		s.conns.Close()
	}
	if s.store != nil {
		if err := s.store.Close(); err != nil {
			s.log.Error("closing database", "error", err)
		}
	}
	s.stopHTTP()
	if s.tls != nil {
		s.tls.Close()
	}
	if s.internodeTLS != nil {
		s.internodeTLS.Close()
	}
	if s.stopAuth != nil {
		s.stopAuth()
	}
}

// stopGRPC stops g gracefully, or forcibly once timeout has passed.
func stopGRPC(g *grpc.Server, timeout time.Duration) {
	done := make(chan struct{})
	go func() {
		g.GracefulStop()
		close(done)
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		g.Stop()
		<-done
	}
}

// leaseOwner names this process in the worker role's leases: host, pid
// and a random part (a restarted process must not inherit its
// predecessor's leases).
func leaseOwner() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s:%d:%s", host, os.Getpid(), uuid.NewString()[:8])
}
