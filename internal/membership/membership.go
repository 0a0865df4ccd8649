// Package membership tracks which processes of each role are alive and
// assigns keys — history shards, task-queue partitions — to them by
// consistent hashing over the live members of the role. A single process is
// a cluster of one (Single).
package membership

import (
	"errors"
	"sort"
	"strconv"
	"time"
)

// Role names, as `sundial server --services` spells them.
const (
	RoleFrontend = "frontend"
	RoleHistory  = "history"
	RoleMatching = "matching"
	RoleWorker   = "worker"
)

// ErrNoMembers is returned by Lookup when no live member runs the role.
var ErrNoMembers = errors.New("membership: no live member runs this role")

// Member is one process running one role.
type Member struct {
	// Identity is unique per process start (address and start time), so a
	// restarted process is a new member.
	Identity string
	Role     string
	// RPCAddress is the host:port of the process's internal gRPC endpoint
	// (services.<role>.rpc.grpcPort); empty for a cluster of one.
	RPCAddress string
	StartedAt  time.Time
}

// Ring answers which live member of a role owns a key.
//
// Keys: a history shard is strconv.Itoa(shardID); a task-queue partition is
// PartitionKey(namespaceID, taskQueue, kind, partition).
type Ring interface {
	// Lookup returns the live member of role that owns key.
	Lookup(role, key string) (Member, error)
	// Members lists the live members of role, sorted by Identity.
	Members(role string) []Member
	// Self is this process's member for role; false when it does not run it.
	Self(role string) (Member, bool)
	// Changed returns a channel that is closed at the next change of role's
	// member set.
	Changed(role string) <-chan struct{}
}

// ShardKey is the ring key of a history shard.
func ShardKey(shardID int32) string { return itoa(int64(shardID)) }

// PartitionKey is the ring key of a task-queue partition; kind is
// "workflow" or "activity".
func PartitionKey(namespaceID, taskQueue, kind string, partition int) string {
	return namespaceID + "/" + taskQueue + "/" + kind + "/" + itoa(int64(partition))
}

// TaskQueueKey is the ring key of a task queue's root partition, which
// serves what concerns the whole queue (queries, sticky queues, forwarded
// polls and tasks). Every other partition is placed by its own
// PartitionKey (docs/DECISIONS.md, "Matching partitions").
func TaskQueueKey(namespaceID, taskQueue, kind string) string {
	return PartitionKey(namespaceID, taskQueue, kind, 0)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// Single is the ring of a one-process cluster: every key of every role it
// runs belongs to it, and it never changes.
func Single(self ...Member) Ring {
	s := single{byRole: map[string]Member{}}
	for _, m := range self {
		s.byRole[m.Role] = m
	}
	return s
}

type single struct{ byRole map[string]Member }

func (s single) Lookup(role, _ string) (Member, error) {
	m, ok := s.byRole[role]
	if !ok {
		return Member{}, ErrNoMembers
	}
	return m, nil
}

func (s single) Members(role string) []Member {
	m, ok := s.byRole[role]
	if !ok {
		return nil
	}
	return []Member{m}
}

func (s single) Self(role string) (Member, bool) {
	m, ok := s.byRole[role]
	return m, ok
}

// Changed never fires: a cluster of one does not change.
func (single) Changed(string) <-chan struct{} { return nil }

// SortByIdentity sorts members in place by Identity.
func SortByIdentity(ms []Member) {
	sort.Slice(ms, func(i, j int) bool { return ms[i].Identity < ms[j].Identity })
}
