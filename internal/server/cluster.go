package server

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/sundialhq/sundial/internal/history"
	"github.com/sundialhq/sundial/internal/membership"
	"github.com/sundialhq/sundial/internal/persistence"
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
	if !s.cfg.Cluster.Enabled(s.cfg.Roles) {
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
