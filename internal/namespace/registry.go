// Package namespace keeps the namespace registry: the mapping between a
// namespace's name, its immutable ID and its settings, read through an
// in-memory cache over persistence.NamespaceStore.
package namespace

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"
	"unicode/utf8"

	enumspb "go.temporal.io/api/enums/v1"
	namespacepb "go.temporal.io/api/namespace/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/proto"

	"github.com/sundialhq/sundial/internal/persistence"
)

var (
	// ErrNotFound means no namespace has the given name or ID.
	ErrNotFound = errors.New("namespace not found")
	// ErrAlreadyExists means Create found the name (or ID) taken.
	ErrAlreadyExists = errors.New("namespace already exists")
	// ErrInvalidName means Create was given a name it cannot accept.
	ErrInvalidName = errors.New("invalid namespace name")
	// ErrInvalidRetention means a negative retention. (The minimum a client
	// may ask for is the frontend's policy, not the registry's.)
	ErrInvalidRetention = errors.New("invalid namespace retention")
)

// MaxNameLength bounds namespace names (Temporal's identifier limit).
const MaxNameLength = 1000

// maxUpdateAttempts bounds Update's read-modify-write loop. Updates in one
// process are serialized, so only writers in other processes can make an
// attempt fail.
const maxUpdateAttempts = 5

// Namespace is one registered namespace. It is immutable once returned;
// callers must not modify Describe (clone it before changing). An update
// makes a new Namespace; holders of the old one keep a consistent snapshot.
type Namespace struct {
	ID        string
	Name      string
	Retention time.Duration
	// Describe is the stored description: NamespaceInfo (name, ID, state,
	// description, owner, data, capabilities), Config (retention) and
	// ReplicationConfig. Limits are not stored: they come from dynamic
	// config when described.
	Describe *workflowservice.DescribeNamespaceResponse
}

// Options configures a Registry.
type Options struct {
	Store persistence.NamespaceStore
	// ClusterName is recorded as the active (and only) cluster of new
	// namespaces. Empty means "active", the name Temporal's dev server uses.
	ClusterName string
}

// Registry resolves namespaces by name or ID through a cache over the
// store. Every write (Create, Update) goes to the store first and then
// replaces the cached entry, so within one process a change is visible to
// every user of the registry as soon as the write returns. A miss always
// goes to the store (another process may have registered the namespace
// since); changes made by other processes are picked up by Refresh.
// A deleted namespace is renamed and marked DELETED (MarkDeleted), then
// removed (Remove) once its data is gone. Safe for concurrent use.
type Registry struct {
	store       persistence.NamespaceStore
	clusterName string

	// writeMu serializes the sections that read the store and then
	// overwrite cache entries (Update, Refresh), so an older read can never
	// replace a newer write in the cache.
	writeMu sync.Mutex

	mu     sync.RWMutex
	byName map[string]*Namespace
	byID   map[string]*Namespace
}

// NewRegistry returns a registry over opts.Store.
func NewRegistry(opts Options) *Registry {
	if opts.ClusterName == "" {
		opts.ClusterName = "active"
	}
	return &Registry{
		store:       opts.Store,
		clusterName: opts.ClusterName,
		byName:      map[string]*Namespace{},
		byID:        map[string]*Namespace{},
	}
}

// ClusterName is the cluster every namespace of this registry is active in.
func (r *Registry) ClusterName() string { return r.clusterName }

// GetByName returns the namespace called name, or ErrNotFound.
func (r *Registry) GetByName(ctx context.Context, name string) (*Namespace, error) {
	r.mu.RLock()
	ns := r.byName[name]
	r.mu.RUnlock()
	if ns != nil {
		return ns, nil
	}
	rec, err := r.store.GetNamespaceByName(ctx, name)
	return r.load(rec, err)
}

// GetByID returns the namespace with the given ID, or ErrNotFound.
func (r *Registry) GetByID(ctx context.Context, id string) (*Namespace, error) {
	r.mu.RLock()
	ns := r.byID[id]
	r.mu.RUnlock()
	if ns != nil {
		return ns, nil
	}
	rec, err := r.store.GetNamespaceByID(ctx, id)
	return r.load(rec, err)
}

// List returns every namespace sorted by name, read from the store.
func (r *Registry) List(ctx context.Context) ([]*Namespace, error) {
	recs, err := r.store.ListNamespaces(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*Namespace, 0, len(recs))
	for _, rec := range recs {
		ns, err := decode(rec)
		if err != nil {
			return nil, err
		}
		r.remember(ns)
		out = append(out, ns)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (r *Registry) load(rec persistence.NamespaceRecord, err error) (*Namespace, error) {
	if errors.Is(err, persistence.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	ns, err := decode(rec)
	if err != nil {
		return nil, err
	}
	return r.remember(ns), nil
}

// Refresh re-reads every namespace from the store and replaces the cached
// entries, so changes written by other processes become visible. A
// multi-process deployment calls it periodically (Temporal refreshes its
// namespace cache every 10 s).
func (r *Registry) Refresh(ctx context.Context) error {
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	recs, err := r.store.ListNamespaces(ctx)
	if err != nil {
		return err
	}
	stored := make(map[string]bool, len(recs))
	for _, rec := range recs {
		ns, err := decode(rec)
		if err != nil {
			return err
		}
		r.replace(ns)
		stored[ns.ID] = true
	}
	r.mu.RLock()
	var gone []string
	for id := range r.byID {
		if !stored[id] {
			gone = append(gone, id)
		}
	}
	r.mu.RUnlock()
	for _, id := range gone {
		r.forget(id) // removed by another process
	}
	return nil
}

// remember caches ns unless an entry for its ID exists, and returns the
// cached entry, so every reader sees the same pointer and a read from the
// store never replaces what a write (or Refresh) put there.
func (r *Registry) remember(ns *Namespace) *Namespace {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old := r.byID[ns.ID]; old != nil {
		return old
	}
	r.byID[ns.ID] = ns
	r.byName[ns.Name] = ns
	return ns
}

// replace caches ns over any older entry, dropping the older entry's name
// if ns was renamed; callers hold writeMu.
func (r *Registry) replace(ns *Namespace) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old := r.byID[ns.ID]; old != nil && old.Name != ns.Name && r.byName[old.Name] == old {
		delete(r.byName, old.Name)
	}
	r.byID[ns.ID] = ns
	r.byName[ns.Name] = ns
}

// forget drops the entry for id, so the next lookup reads the store: used
// when a write's outcome is unknown.
func (r *Registry) forget(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old := r.byID[id]; old != nil {
		delete(r.byName, old.Name)
		delete(r.byID, id)
	}
}

// capabilities are what every namespace reports as its capabilities, on
// creation and on every read: only what works (as the reference's
// defaults): eager start, and updates both waited for (sync) and accepted
// then polled (async).
func capabilities() *namespacepb.NamespaceInfo_Capabilities {
	return &namespacepb.NamespaceInfo_Capabilities{EagerWorkflowStart: true, SyncUpdate: true, AsyncUpdate: true}
}

// decode turns a stored record into a Namespace. The record's ID and Name
// columns are authoritative over the encoded description.
func decode(rec persistence.NamespaceRecord) (*Namespace, error) {
	desc := &workflowservice.DescribeNamespaceResponse{}
	if err := proto.Unmarshal(rec.Data, desc); err != nil {
		return nil, fmt.Errorf("namespace: decoding %q (%s): %w", rec.Name, rec.ID, err)
	}
	if desc.NamespaceInfo == nil {
		desc.NamespaceInfo = &namespacepb.NamespaceInfo{State: enumspb.NAMESPACE_STATE_REGISTERED}
	}
	// Capabilities are the server's, not stored: they follow the binary.
	desc.NamespaceInfo.Capabilities = capabilities()
	if desc.Config == nil {
		desc.Config = &namespacepb.NamespaceConfig{}
	}
	desc.NamespaceInfo.Id = rec.ID
	desc.NamespaceInfo.Name = rec.Name
	return &Namespace{
		ID:        rec.ID,
		Name:      rec.Name,
		Retention: desc.Config.GetWorkflowExecutionRetentionTtl().AsDuration(),
		Describe:  desc,
	}, nil
}

func validateName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty", ErrInvalidName)
	case len(name) > MaxNameLength:
		return fmt.Errorf("%w: longer than %d bytes", ErrInvalidName, MaxNameLength)
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: not valid UTF-8", ErrInvalidName)
	}
	return nil
}
