package membership

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sundialhq/sundial/internal/persistence"
)

// Defaults of MonitorOptions.
const (
	DefaultHeartbeatInterval = time.Second
	DefaultTTL               = 5 * time.Second
)

// MonitorOptions configures a Monitor.
type MonitorOptions struct {
	Store persistence.MembershipStore
	// Self lists this process's members, one per role it runs; Identity,
	// Role and StartedAt must be set.
	Self []Member
	// Host names the machine in the membership table (default: none).
	Host string
	// HeartbeatInterval is how often the process writes its rows and reads
	// everyone's; TTL how long a row stays alive without a heartbeat.
	HeartbeatInterval time.Duration
	TTL               time.Duration
	Logger            *slog.Logger
	// OnChange is called (from the heartbeat goroutine, without the
	// monitor's lock) after role's member set changed.
	OnChange func(role string, members []Member)
	// OnLapse is called (from the heartbeat goroutine) when a heartbeat
	// succeeds after this process's own lease had run out (it was paused or
	// cut off for longer than the TTL): the others may have taken its keys
	// meanwhile, so whatever it still holds in memory is suspect.
	OnLapse func()
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Monitor is the Ring of a multi-process cluster: each process heartbeats
// one row per role into the database's cluster_membership table, and reads
// the rows of everyone back at the same pace. Members whose row expired
// (TTL without a heartbeat) are dead. A process whose own heartbeat has
// not succeeded within the TTL drops itself from its view (others already
// consider it dead), so it gives up its keys, and returns once its
// heartbeats succeed again.
type Monitor struct {
	opts MonitorOptions

	mu      sync.Mutex
	members map[string][]Member      // live members by role, sorted by Identity
	changed map[string]chan struct{} // closed at the next change of the role
	lastOK  time.Time                // last successful heartbeat
	rows    []persistence.ClusterMember

	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
	started atomic.Bool
}

var _ Ring = (*Monitor)(nil)

// NewMonitor returns a monitor that is not started yet.
func NewMonitor(opts MonitorOptions) (*Monitor, error) {
	if opts.Store == nil || len(opts.Self) == 0 {
		return nil, errors.New("membership: Store and Self are required")
	}
	if opts.HeartbeatInterval <= 0 {
		opts.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if opts.TTL <= 0 {
		opts.TTL = DefaultTTL
	}
	if opts.TTL <= opts.HeartbeatInterval {
		return nil, errors.New("membership: the TTL must be longer than the heartbeat interval")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Monitor{opts: opts, members: map[string][]Member{}, changed: map[string]chan struct{}{},
		stop: make(chan struct{}), done: make(chan struct{})}, nil
}

// Start removes the rows of earlier processes of this host that used the
// same RPC addresses (they are dead: this process holds the ports),
// heartbeats once and reads the members, then keeps doing so in the
// background until Leave or Stop.
func (m *Monitor) Start(ctx context.Context) error {
	rows, err := m.opts.Store.ListClusterMembers(ctx, time.Time{})
	if err != nil {
		return err
	}
	for _, r := range rows {
		for _, s := range m.opts.Self {
			if r.Role == s.Role && s.RPCAddress != "" && r.RPCAddress == s.RPCAddress && r.Identity != s.Identity {
				if err := m.opts.Store.DeleteClusterMember(ctx, r.Role, r.Identity); err != nil {
					return err
				}
			}
		}
	}
	if err := m.beat(ctx); err != nil {
		return err
	}
	m.started.Store(true)
	go m.loop()
	return nil
}

func (m *Monitor) loop() {
	defer close(m.done)
	t := time.NewTicker(m.opts.HeartbeatInterval)
	defer t.Stop()
	prune := 0
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), m.opts.TTL)
		if err := m.beat(ctx); err != nil {
			m.opts.Logger.Warn("membership heartbeat failed", "error", err)
		}
		// Dead rows are removed now and then by whoever sees them, long
		// after they stopped counting.
		if prune++; prune%60 == 0 {
			if _, err := m.opts.Store.PruneClusterMembers(ctx, m.opts.Now().Add(-10*m.opts.TTL)); err != nil {
				m.opts.Logger.Warn("membership prune failed", "error", err)
			}
		}
		cancel()
	}
}

// beat writes this process's rows, reads the live ones and updates the
// view. On failure the view keeps the last rows read, without this
// process once its own lease has run out.
func (m *Monitor) beat(ctx context.Context) error {
	now := m.opts.Now()
	self := make([]persistence.ClusterMember, len(m.opts.Self))
	for i, s := range m.opts.Self {
		self[i] = persistence.ClusterMember{Role: s.Role, Identity: s.Identity, RPCAddress: s.RPCAddress,
			Host: m.opts.Host, StartedAt: s.StartedAt, LastHeartbeat: now, SessionExpiry: now.Add(m.opts.TTL)}
	}
	err := m.opts.Store.HeartbeatClusterMembers(ctx, self)
	var rows []persistence.ClusterMember
	if err == nil {
		rows, err = m.opts.Store.ListClusterMembers(ctx, now)
	}
	m.mu.Lock()
	lapsed := err == nil && !m.lastOK.IsZero() && now.Sub(m.lastOK) >= m.opts.TTL
	if err == nil {
		m.lastOK, m.rows = now, rows
	}
	changes := m.updateLocked(now)
	m.mu.Unlock()
	m.notify(changes)
	if lapsed {
		m.opts.Logger.Warn("membership lease had lapsed: this process was away longer than the TTL",
			"ttl", m.opts.TTL)
		if m.opts.OnLapse != nil {
			m.opts.OnLapse()
		}
	}
	return err
}

// updateLocked recomputes the live members of every role from the last
// rows read, signals the roles whose set changed and returns them.
func (m *Monitor) updateLocked(now time.Time) (changes []change) {
	selfAlive := now.Sub(m.lastOK) < m.opts.TTL
	next := map[string][]Member{}
	for _, r := range m.rows {
		if !r.SessionExpiry.After(now) || (!selfAlive && m.isSelf(r.Role, r.Identity)) {
			continue
		}
		next[r.Role] = append(next[r.Role], Member{Identity: r.Identity, Role: r.Role, RPCAddress: r.RPCAddress,
			StartedAt: r.StartedAt})
	}
	roles := map[string]bool{}
	for role := range next {
		roles[role] = true
	}
	for role := range m.members {
		roles[role] = true
	}
	for role := range roles {
		SortByIdentity(next[role])
		if slices.EqualFunc(next[role], m.members[role], func(a, b Member) bool { return a.Identity == b.Identity }) {
			continue
		}
		m.members[role] = next[role]
		if ch := m.changed[role]; ch != nil {
			close(ch)
			delete(m.changed, role)
		}
		changes = append(changes, change{role, slices.Clone(next[role])})
	}
	return changes
}

// change is a role's new member set, for OnChange.
type change struct {
	role    string
	members []Member
}

// notify calls OnChange for changes, without m.mu (so it may use the ring).
func (m *Monitor) notify(changes []change) {
	if m.opts.OnChange == nil {
		return
	}
	for _, c := range changes {
		m.opts.OnChange(c.role, c.members)
	}
}

func (m *Monitor) isSelf(role, identity string) bool {
	for _, s := range m.opts.Self {
		if s.Role == role && s.Identity == identity {
			return true
		}
	}
	return false
}

// Lookup implements Ring.
func (m *Monitor) Lookup(role, key string) (Member, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := Owner(m.members[role], key)
	if !ok {
		return Member{}, ErrNoMembers
	}
	return o, nil
}

// Members implements Ring.
func (m *Monitor) Members(role string) []Member {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.members[role])
}

// Self implements Ring.
func (m *Monitor) Self(role string) (Member, bool) {
	for _, s := range m.opts.Self {
		if s.Role == role {
			return s, true
		}
	}
	return Member{}, false
}

// Changed implements Ring.
func (m *Monitor) Changed(role string) <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	ch := m.changed[role]
	if ch == nil {
		ch = make(chan struct{})
		m.changed[role] = ch
	}
	return ch
}

// Leave stops heartbeating and deletes this process's rows, so the other
// processes take its keys at their next heartbeat instead of after the
// TTL. It also drops this process from its own view.
func (m *Monitor) Leave(ctx context.Context) {
	m.Stop()
	for _, s := range m.opts.Self {
		if err := m.opts.Store.DeleteClusterMember(ctx, s.Role, s.Identity); err != nil {
			m.opts.Logger.Warn("membership: leaving the cluster", "role", s.Role, "error", err)
		}
	}
	m.mu.Lock()
	m.lastOK = time.Time{}
	changes := m.updateLocked(m.opts.Now())
	m.mu.Unlock()
	m.notify(changes)
}

// Stop stops the heartbeat; the rows expire after the TTL.
func (m *Monitor) Stop() {
	m.once.Do(func() {
		close(m.stop)
	})
	if !m.started.Load() {
		return
	}
	select {
	case <-m.done:
	case <-time.After(m.opts.TTL + time.Second):
	}
}
