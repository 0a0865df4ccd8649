package membership

import (
	"slices"
	"sync"
)

// View is a member list of one role set by hand, shared by the rings of
// several in-process engines (tests of hand-off without a membership
// table). Set replaces the list and fires Changed.
type View struct {
	role    string
	mu      sync.Mutex
	members []Member
	changed chan struct{}
}

// NewView returns an empty view of role.
func NewView(role string) *View { return &View{role: role, changed: make(chan struct{})} }

// Set makes ids the live members.
func (v *View) Set(ids ...string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.members = nil
	for _, id := range ids {
		v.members = append(v.members, Member{Identity: id, Role: v.role})
	}
	close(v.changed)
	v.changed = make(chan struct{})
}

// Ring is the view as seen by member self.
func (v *View) Ring(self string) Ring { return viewRing{v, self} }

type viewRing struct {
	v    *View
	self string
}

func (r viewRing) Lookup(_, key string) (Member, error) {
	r.v.mu.Lock()
	defer r.v.mu.Unlock()
	m, ok := Owner(r.v.members, key)
	if !ok {
		return m, ErrNoMembers
	}
	return m, nil
}

func (r viewRing) Members(string) []Member {
	r.v.mu.Lock()
	defer r.v.mu.Unlock()
	return slices.Clone(r.v.members)
}

func (r viewRing) Self(string) (Member, bool) { return Member{Identity: r.self, Role: r.v.role}, true }

func (r viewRing) Changed(string) <-chan struct{} {
	r.v.mu.Lock()
	defer r.v.mu.Unlock()
	return r.v.changed
}
