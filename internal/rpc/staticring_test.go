package rpc

import (
	"fmt"
	"hash/fnv"
	"net"
	"strings"

	"github.com/sundialhq/sundial/internal/membership"
)

// StaticRing is a membership.Ring over a fixed member list for the tests
// of this package: a key goes to the member of its role with the highest
// hash of (key, identity) (rendezvous hashing). It never changes. Servers
// use membership.Monitor.
type StaticRing struct {
	byRole map[string][]membership.Member
	self   map[string]membership.Member
}

var _ membership.Ring = (*StaticRing)(nil)

// NewStaticRing builds a ring of members; self names, per role this
// process runs, its own RPC address among them.
func NewStaticRing(members []membership.Member, self map[string]string) *StaticRing {
	r := &StaticRing{byRole: map[string][]membership.Member{}, self: map[string]membership.Member{}}
	for _, m := range members {
		r.byRole[m.Role] = append(r.byRole[m.Role], m)
		if addr, ok := self[m.Role]; ok && addr == m.RPCAddress {
			r.self[m.Role] = m
		}
	}
	for _, ms := range r.byRole {
		membership.SortByIdentity(ms)
	}
	return r
}

// ParseStaticMembers reads "role=host:port,role=host:port,...".
// Identities are role@address.
func ParseStaticMembers(s string) ([]membership.Member, error) {
	var out []membership.Member
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		role, addr, ok := strings.Cut(item, "=")
		if !ok {
			return nil, fmt.Errorf("static ring member %q: want role=host:port", item)
		}
		switch role {
		case membership.RoleHistory, membership.RoleMatching:
		default:
			return nil, fmt.Errorf("static ring member %q: role must be history or matching", item)
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return nil, fmt.Errorf("static ring member %q: %v", item, err)
		}
		out = append(out, membership.Member{Identity: role + "@" + addr, Role: role, RPCAddress: addr})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("static ring %q lists no member", s)
	}
	return out, nil
}

// Lookup returns the owner of key among role's members.
func (r *StaticRing) Lookup(role, key string) (membership.Member, error) {
	ms := r.byRole[role]
	if len(ms) == 0 {
		return membership.Member{}, membership.ErrNoMembers
	}
	best, bestScore := 0, uint64(0)
	for i, m := range ms {
		h := fnv.New64a()
		h.Write([]byte(key))
		h.Write([]byte{0})
		h.Write([]byte(m.Identity))
		if s := h.Sum64(); i == 0 || s > bestScore {
			best, bestScore = i, s
		}
	}
	return ms[best], nil
}

// Members lists role's members, sorted by identity.
func (r *StaticRing) Members(role string) []membership.Member {
	return append([]membership.Member(nil), r.byRole[role]...)
}

// Self is this process's member for role.
func (r *StaticRing) Self(role string) (membership.Member, bool) {
	m, ok := r.self[role]
	return m, ok
}

// Changed never fires: the ring is fixed.
func (*StaticRing) Changed(string) <-chan struct{} { return nil }
