package persistence

import (
	"context"
	"time"
)

// ClusterMember is one row of the cluster_membership table: one process
// running one role, as it last heartbeated.
type ClusterMember struct {
	Role string
	// Identity is unique per process start.
	Identity string
	// RPCAddress is the host:port of the role's internal gRPC endpoint;
	// empty when the role has none.
	RPCAddress string
	// Host is the machine's name, for operators.
	Host      string
	StartedAt time.Time
	// LastHeartbeat is the time of the member's last heartbeat, and
	// SessionExpiry the time after which, without a newer heartbeat, it is
	// dead. Both are the member's own clock.
	LastHeartbeat time.Time
	SessionExpiry time.Time
}

// MembershipStore keeps cluster_membership. Nothing in it is fenced: a row
// is only ever written by the process it describes (and deleted by it on a
// graceful leave, or by anyone once expired).
type MembershipStore interface {
	// HeartbeatClusterMembers inserts or replaces the rows of members
	// (keyed by Role and Identity) in one transaction.
	HeartbeatClusterMembers(ctx context.Context, members []ClusterMember) error
	// ListClusterMembers returns the members whose SessionExpiry is after
	// aliveAt (every row when aliveAt is zero), ordered by Role, then
	// Identity.
	ListClusterMembers(ctx context.Context, aliveAt time.Time) ([]ClusterMember, error)
	// DeleteClusterMember removes one row; a missing row is not an error.
	DeleteClusterMember(ctx context.Context, role, identity string) error
	// PruneClusterMembers removes the rows whose SessionExpiry is at or
	// before before and returns how many it removed.
	PruneClusterMembers(ctx context.Context, before time.Time) (int64, error)
}
