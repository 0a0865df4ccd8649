package server

import (
	"errors"
	"fmt"
	"net"
	"slices"

	"google.golang.org/grpc"

	"github.com/sundialhq/sundial/internal/membership"
	"github.com/sundialhq/sundial/internal/rpc"
	"github.com/sundialhq/sundial/internal/rpc/rpcpb"
	"github.com/sundialhq/sundial/internal/tlsconfig"
)

// StaticRingEnv names the environment variable that lists the cluster's
// history and matching members ("history=host:port,matching=host:port");
// see docs/DECISIONS.md. It stands in for the membership table.
const StaticRingEnv = "SUNDIAL_STATIC_RING"

// runs reports whether this process runs role.
func (c Config) runs(role string) bool { return slices.Contains(c.Roles, role) }

// clustered reports whether roles reach each other over internal gRPC:
// the cluster's members are known (and then a process may run any subset
// of the roles). Otherwise this process is the whole cluster, wired in
// process as always.
func (c Config) clustered() bool { return len(c.StaticRing) > 0 }

// ring is the membership ring of a clustered process.
func (c Config) ring() membership.Ring {
	self := map[string]string{}
	for _, role := range []string{RoleHistory, RoleMatching} {
		if c.runs(role) {
			self[role] = c.InternalRPC[role]
		}
	}
	return rpc.NewStaticRing(c.StaticRing, self)
}

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
	// A history engine acquires every shard at start: two history members
	// would take the shards from each other while calls are routed by the
	// ring. Refused until shard ownership follows the ring.
	if n := len(slices.DeleteFunc(slices.Clone(c.StaticRing), func(m membership.Member) bool {
		return m.Role != RoleHistory
	})); n > 1 {
		return fmt.Errorf("%s lists %d history members: one history process per cluster until shards follow membership", StaticRingEnv, n)
	}
	for _, role := range []string{RoleHistory, RoleMatching} {
		if !c.runs(role) {
			continue
		}
		addr := c.InternalRPC[role]
		if addr == "" {
			return fmt.Errorf("services.%s.rpc.grpcPort is required when roles run in separate processes", role)
		}
		if !slices.ContainsFunc(c.StaticRing, func(m membership.Member) bool { return m.Role == role && m.RPCAddress == addr }) {
			return fmt.Errorf("%s: this process's %s address %s is not listed", StaticRingEnv, role, addr)
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
		addr := s.cfg.InternalRPC[role]
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
	s.log.Info("internal gRPC serving", "history", s.cfg.InternalRPC[RoleHistory], "matching", s.cfg.InternalRPC[RoleMatching],
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
