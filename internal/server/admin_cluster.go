package server

import (
	"net/http"
	"time"

	"github.com/sundialhq/sundial/internal/matching"
	"github.com/sundialhq/sundial/internal/membership"
)

// AdminCluster is what `sundial admin cluster describe` shows: the
// members in the database's membership table (live or not yet pruned),
// which member owns each history shard as this process's ring sees it,
// and what this process itself serves.
type AdminCluster struct {
	// Self is this process's identity; Clustered is false for a cluster of
	// one (no membership table in use).
	Self      string          `json:"self"`
	Clustered bool            `json:"clustered"`
	Members   []AdminMember   `json:"members"`
	Shards    []AdminShard    `json:"shards"`
	Owned     AdminOwnedItems `json:"owned"`
}

// AdminMember is one process running one role.
type AdminMember struct {
	Role          string    `json:"role"`
	Identity      string    `json:"identity"`
	RPCAddress    string    `json:"rpc_address"`
	Host          string    `json:"host,omitempty"`
	StartedAt     time.Time `json:"started_at"`
	LastHeartbeat time.Time `json:"last_heartbeat,omitzero"`
	SessionExpiry time.Time `json:"session_expiry,omitzero"`
	Alive         bool      `json:"alive"`
}

// AdminShard is one history shard and the member the ring gives it to.
type AdminShard struct {
	Shard int32  `json:"shard"`
	Owner string `json:"owner"` // identity; "" when no history member is alive
}

// AdminOwnedItems is what this process serves right now.
type AdminOwnedItems struct {
	Shards     []int32          `json:"shards"`
	Partitions []AdminPartition `json:"partitions"`
}

// AdminPartition is a task-queue partition this process holds the lease of.
type AdminPartition struct {
	NamespaceID string `json:"namespace_id"`
	TaskQueue   string `json:"task_queue"`
	Kind        string `json:"kind"`
	Partition   int32  `json:"partition"`
}

func (s *Server) adminDescribeCluster(w http.ResponseWriter, r *http.Request) {
	out := AdminCluster{Clustered: s.monitor != nil, Members: []AdminMember{}, Shards: []AdminShard{},
		Owned: AdminOwnedItems{Shards: []int32{}, Partitions: []AdminPartition{}}}
	for _, role := range s.cfg.Roles {
		if m, ok := s.ring.Self(role); ok {
			out.Self = m.Identity
			break
		}
	}
	if s.monitor != nil {
		rows, err := s.store.ListClusterMembers(r.Context(), time.Time{})
		if err != nil {
			adminError(w, err)
			return
		}
		now := time.Now()
		for _, m := range rows {
			out.Members = append(out.Members, AdminMember{Role: m.Role, Identity: m.Identity, RPCAddress: m.RPCAddress,
				Host: m.Host, StartedAt: m.StartedAt, LastHeartbeat: m.LastHeartbeat, SessionExpiry: m.SessionExpiry,
				Alive: m.SessionExpiry.After(now)})
		}
	} else {
		for _, role := range s.cfg.Roles {
			for _, m := range s.ring.Members(role) {
				out.Members = append(out.Members, AdminMember{Role: role, Identity: m.Identity, RPCAddress: m.RPCAddress,
					StartedAt: m.StartedAt, Alive: true})
			}
		}
	}
	for i := range s.cfg.NumShards {
		sh := AdminShard{Shard: i}
		if m, err := s.ring.Lookup(membership.RoleHistory, membership.ShardKey(i)); err == nil {
			sh.Owner = m.Identity
		}
		out.Shards = append(out.Shards, sh)
	}
	if s.history != nil {
		out.Owned.Shards = append(out.Owned.Shards, s.history.OwnedShards()...)
	}
	if s.matching != nil {
		for _, k := range s.matching.OwnedPartitions() {
			out.Owned.Partitions = append(out.Owned.Partitions, AdminPartition{NamespaceID: k.NamespaceID,
				TaskQueue: k.Name, Kind: matching.KindName(k.Kind), Partition: k.Partition})
		}
	}
	writeJSON(w, out)
}
