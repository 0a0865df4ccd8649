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

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	namespacepb "go.temporal.io/api/namespace/v1"
	replicationpb "go.temporal.io/api/replication/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/sundialhq/sundial/internal/persistence"
)

var (
	// ErrNotFound means no namespace has the given name or ID.
	ErrNotFound = errors.New("namespace not found")
	// ErrAlreadyExists means Register found the name (or ID) taken.
	ErrAlreadyExists = errors.New("namespace already exists")
	// ErrInvalidName means Register was given a name it cannot accept.
	ErrInvalidName = errors.New("invalid namespace name")
)

// MaxNameLength bounds namespace names (Temporal's identifier limit).
const MaxNameLength = 1000

// Namespace is one registered namespace. It is immutable once returned;
// callers must not modify Describe (clone it before changing).
type Namespace struct {
	ID        string
	Name      string
	Retention time.Duration
	// Describe is the stored description: NamespaceInfo (name, ID, state,
	// capabilities), Config (retention) and ReplicationConfig. Limits are
	// not stored: they come from dynamic config when described.
	Describe *workflowservice.DescribeNamespaceResponse
}

// Options configures a Registry.
type Options struct {
	Store persistence.NamespaceStore
	// ClusterName is recorded as the active (and only) cluster of new
	// namespaces. Empty means "active", the name Temporal's dev server uses.
	ClusterName string
}

// Registry resolves namespaces by name or ID. Namespaces are never changed
// or deleted yet, so a positive lookup is cached for the life of the
// process; a miss always goes to the store (another process may have
// registered the namespace since). Safe for concurrent use.
type Registry struct {
	store       persistence.NamespaceStore
	clusterName string

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

// Register creates a namespace with a new random ID. It returns
// ErrAlreadyExists if the name is taken, ErrInvalidName for an empty,
// over-long or non-UTF-8 name or a negative retention, and store errors
// (e.g. *persistence.UnavailableError) as they come.
func (r *Registry) Register(ctx context.Context, name string, retention time.Duration) error {
	if err := validateName(name); err != nil {
		return err
	}
	if retention < 0 {
		return fmt.Errorf("%w: negative retention %v", ErrInvalidName, retention)
	}
	id := uuid.NewString()
	desc := r.newDescription(id, name, retention)
	data, err := proto.Marshal(desc)
	if err != nil {
		return fmt.Errorf("namespace: encoding %q: %w", name, err)
	}
	err = r.store.CreateNamespace(ctx, persistence.NamespaceRecord{ID: id, Name: name, Data: data})
	if errors.Is(err, persistence.ErrAlreadyExists) {
		return fmt.Errorf("%w: %q", ErrAlreadyExists, name)
	}
	if err != nil {
		return err
	}
	r.remember(&Namespace{ID: id, Name: name, Retention: retention, Describe: desc})
	return nil
}

// EnsureRegistered registers name unless it exists already (with any
// retention); safe to call at every start-up and from racing processes.
func (r *Registry) EnsureRegistered(ctx context.Context, name string, retention time.Duration) error {
	_, err := r.GetByName(ctx, name)
	if err == nil {
		return nil
	}
	if !errors.Is(err, ErrNotFound) {
		return err
	}
	err = r.Register(ctx, name, retention)
	if errors.Is(err, ErrAlreadyExists) {
		return nil
	}
	return err
}

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

// remember caches ns and returns the cached entry (the first one wins, so
// every caller sees the same pointer).
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

func (r *Registry) newDescription(id, name string, retention time.Duration) *workflowservice.DescribeNamespaceResponse {
	return &workflowservice.DescribeNamespaceResponse{
		NamespaceInfo: &namespacepb.NamespaceInfo{
			Name:         name,
			Id:           id,
			State:        enumspb.NAMESPACE_STATE_REGISTERED,
			Capabilities: &namespacepb.NamespaceInfo_Capabilities{},
		},
		Config: &namespacepb.NamespaceConfig{
			WorkflowExecutionRetentionTtl: durationpb.New(retention),
			HistoryArchivalState:          enumspb.ARCHIVAL_STATE_DISABLED,
			VisibilityArchivalState:       enumspb.ARCHIVAL_STATE_DISABLED,
		},
		ReplicationConfig: &replicationpb.NamespaceReplicationConfig{
			ActiveClusterName: r.clusterName,
			Clusters:          []*replicationpb.ClusterReplicationConfig{{ClusterName: r.clusterName}},
			State:             enumspb.REPLICATION_STATE_NORMAL,
		},
	}
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
	if desc.NamespaceInfo.Capabilities == nil {
		desc.NamespaceInfo.Capabilities = &namespacepb.NamespaceInfo_Capabilities{}
	}
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
