package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"time"

	"go.temporal.io/api/serviceerror"
	"google.golang.org/grpc"

	"github.com/sundialhq/sundial/internal/history"
	"github.com/sundialhq/sundial/internal/membership"
	"github.com/sundialhq/sundial/internal/persistence"
	"github.com/sundialhq/sundial/internal/rpc"
	"github.com/sundialhq/sundial/internal/rpc/rpcpb"
	"github.com/sundialhq/sundial/internal/tlsconfig"
)

// Dynamic-config keys of the membership heartbeat (Sundial's own), read
// at start.
const (
	KeyMembershipHeartbeat = "membership.heartbeatInterval"
	KeyMembershipTTL       = "membership.ttl"
)

// leaveTimeout bounds the graceful leave's database writes.
const leaveTimeout = 5 * time.Second

// startMembership builds the ring every role consults: a Monitor over the
// database's cluster_membership table when the process is configured into
// a cluster (ClusterConfig.Enabled), else a cluster of one.
func (s *Server) startMembership(ctx context.Context, store persistence.MembershipStore) error {
	host := s.cfg.Cluster.Host
	if host == "" {
		host, _ = os.Hostname()
	}
	started := time.Now().UTC()
	identity := fmt.Sprintf("%s:%d:%d", host, os.Getpid(), started.UnixNano())
	var self []membership.Member
	for _, role := range s.cfg.Roles {
		addr := s.cfg.Cluster.RPCAddresses[role]
		if role == RoleFrontend && s.cfg.Port != 0 {
			addr = net.JoinHostPort(s.cfg.IP, strconv.Itoa(s.cfg.Port))
		}
		self = append(self, membership.Member{Identity: identity, Role: role, RPCAddress: addr, StartedAt: started})
	}
	for _, w := range s.cfg.Cluster.Warnings {
		s.log.Warn(w)
	}
	if !s.cfg.clustered() {
		s.ring = membership.Single(self...)
		return nil
	}
	mon, err := membership.NewMonitor(membership.MonitorOptions{
		Store: store, Self: self, Host: host,
		HeartbeatInterval: s.cfg.DynamicConfig.Duration(KeyMembershipHeartbeat, membership.DefaultHeartbeatInterval),
		TTL:               s.cfg.DynamicConfig.Duration(KeyMembershipTTL, membership.DefaultTTL),
		Logger:            s.log.With("component", "membership"),
		OnChange: func(role string, members []membership.Member) {
			s.metrics.MembershipChanged(role)
			s.log.Info("cluster membership changed", "role", role, "members", len(members))
		},
		// Started before history; s.history is set before the first
		// background heartbeat can run.
		OnLapse: func() {
			if h := s.historyEngine(); h != nil {
				h.Resync()
			}
			if m := s.matchingRef.Load(); m != nil {
				m.Resync()
			}
		},
	})
	if err != nil {
		return fmt.Errorf("%w (dynamic config %s, %s)", err, KeyMembershipHeartbeat, KeyMembershipTTL)
	}
	if err := mon.Start(ctx); err != nil {
		return fmt.Errorf("joining the cluster membership: %w", err)
	}
	s.monitor, s.ring = mon, mon
	s.log.Info("joined the cluster", "identity", identity, "roles", s.cfg.Roles)
	return nil
}

// handOffDelay is how long history waits before acquiring shards a ring
// change gave it: one heartbeat, by which the previous owner has seen the
// change and stopped them. 0 in a cluster of one.
func (s *Server) handOffDelay() time.Duration {
	if s.monitor == nil {
		return 0
	}
	return s.cfg.DynamicConfig.Duration(KeyMembershipHeartbeat, membership.DefaultHeartbeatInterval)
}

// leaveCluster hands this process's shards and partitions over before it
// exits: it stops serving them (in-flight writes finish), then deletes its
// membership rows so the other members take them at their next heartbeat
// instead of after the TTL. Called with s.mu held, before the roles stop.
func (s *Server) leaveCluster() {
	if s.monitor == nil {
		return
	}
	if s.history != nil {
		s.history.ReleaseShards()
	}
	if s.matching != nil {
		s.matching.ReleasePartitions()
	}
	ctx, cancel := context.WithTimeout(context.Background(), leaveTimeout)
	defer cancel()
	s.monitor.Leave(ctx)
	s.log.Info("left the cluster")
}

// historyEngine returns the history engine without s.mu (the heartbeat
// goroutine calls it while Start or Stop may hold s.mu).
func (s *Server) historyEngine() *history.Engine { return s.historyRef.Load() }

// Ring is the membership ring the roles of this process consult (nil
// before Start).
func (s *Server) Ring() membership.Ring {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ring
}

// runs reports whether this process runs role.
func (c Config) runs(role string) bool { return slices.Contains(c.Roles, role) }

// clustered reports whether roles reach each other over internal gRPC:
// the config gives history or matching an internal address
// (services.<role>.rpc.grpcPort), so every process reading it joins the
// membership table and may run any subset of the roles. Otherwise this
// process is the whole cluster, wired in process as always.
func (c Config) clustered() bool { return c.Cluster.Enabled() }

// checkCluster validates the internal RPC settings of a clustered
// process: each history or matching role it runs has an address listed in
// the ring.
func (c Config) checkCluster() error {
	t := c.InternodeTLS
	if !tlsconfig.Enabled(t) && (t.Client.ServerName != "" || t.Client.DisableHostVerification || t.Client.ForceTLS ||
		len(t.Client.RootCAFiles) > 0 || len(t.Client.RootCAData) > 0) {
		return errors.New("global.tls.internode.client is set but global.tls.internode.server is not: " +
			"every process serves and dials internode TLS with the same group, so set both")
	}
	if !c.clustered() {
		return nil
	}
	for _, role := range []string{RoleHistory, RoleMatching} {
		if !c.runs(role) {
			continue
		}
		if c.Cluster.Listen[role] == "" || c.Cluster.RPCAddresses[role] == "" {
			return fmt.Errorf("services.%s.rpc.grpcPort is required when roles run in separate processes", role)
		}
	}
	return nil
}

// startInternal serves the history and matching roles this process runs
// to the other processes, on each role's services.<role>.rpc address (one
// gRPC server on one or two listeners). Called with s.mu held.
func (s *Server) startInternal(ring membership.Ring) error {
	if s.history == nil && s.matching == nil {
		return nil
	}
	opts := []grpc.ServerOption{grpc.MaxRecvMsgSize(128 << 20), grpc.MaxSendMsgSize(128 << 20)}
	if s.internodeTLS != nil {
		opts = append(opts, grpc.Creds(tlsconfig.ListenerCredentials()))
	}
	g := grpc.NewServer(opts...)
	if s.history != nil {
		rpcpb.RegisterHistoryServiceServer(g, rpc.NewHistoryServer(ring, s.cfg.NumShards, s.history))
	}
	if s.matching != nil {
		rpcpb.RegisterMatchingServiceServer(g, rpc.NewMatchingServer(ring, s.matching))
	}
	s.internal = g
	for _, role := range []string{RoleHistory, RoleMatching} {
		if !s.cfg.runs(role) {
			continue
		}
		addr := s.cfg.Cluster.Listen[role]
		lis, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("listening on %s (services.%s.rpc): %w", addr, role, err)
		}
		if s.internodeTLS != nil {
			lis = s.internodeTLS.Listener(lis, tlsconfig.GRPC)
		}
		s.internalLis = append(s.internalLis, lis)
		go func() { s.served <- g.Serve(lis) }()
	}
	s.log.Info("internal gRPC serving", "history", s.cfg.Cluster.Listen[RoleHistory], "matching", s.cfg.Cluster.Listen[RoleMatching],
		"tls", s.internodeTLS != nil)
	return nil
}

// dialer returns the connections of a clustered process to the others,
// in internode TLS when global.tls.internode is set.
func (s *Server) dialer() (*rpc.Conns, error) {
	if !tlsconfig.Enabled(s.cfg.InternodeTLS) {
		return rpc.NewConns(nil), nil
	}
	p, err := tlsconfig.New(tlsconfig.Options{
		Group: s.cfg.InternodeTLS, Key: "global.tls.internode", RefreshInterval: s.cfg.TLSRefreshInterval,
		Logger: s.log.With("component", "tls"),
	})
	if err != nil {
		return nil, err
	}
	s.internodeTLS = p
	cfg, err := p.ClientConfig(s.cfg.InternodeTLS.Client, "global.tls.internode.client")
	if err != nil {
		return nil, err
	}
	return rpc.NewConns(cfg), nil
}

// longPolls are the public methods that wait server-side for something to
// happen; a leaving frontend ends them (drainLongPolls) instead of holding
// its shutdown for up to gracefulStopTimeout.
var longPolls = map[string]bool{
	"/temporal.api.workflowservice.v1.WorkflowService/PollWorkflowTaskQueue":       true,
	"/temporal.api.workflowservice.v1.WorkflowService/PollActivityTaskQueue":       true,
	"/temporal.api.workflowservice.v1.WorkflowService/GetWorkflowExecutionHistory": true,
	"/temporal.api.workflowservice.v1.WorkflowService/PollWorkflowExecutionUpdate": true,
}

// drainInterceptor ends the public long polls of a clustered frontend when
// it stops (s.draining): a task poll answers empty, as at its deadline,
// and a history or update poll answers Unavailable, which clients retry
// (on another frontend, or this one restarted) — so a rolling restart does
// not wait for them.
func (s *Server) drainInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if !longPolls[info.FullMethod] {
		return handler(ctx, req)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.draining, cancel)()
	resp, err := handler(ctx, req)
	if err != nil && s.draining.Err() != nil {
		return nil, serviceerror.NewUnavailable("frontend is shutting down: retry")
	}
	return resp, err
}
