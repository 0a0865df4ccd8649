package namespace

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	namespacepb "go.temporal.io/api/namespace/v1"
	replicationpb "go.temporal.io/api/replication/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/sundialhq/sundial/internal/persistence"
)

// Spec is what a new namespace is created with.
type Spec struct {
	Name        string
	Retention   time.Duration
	Description string
	OwnerEmail  string
	// Data is free-form key/value data for the namespace's users; it is
	// copied.
	Data map[string]string
}

// Change is a partial update of a namespace: zero fields keep their value,
// as UpdateNamespace treats an empty description or owner as "unchanged".
type Change struct {
	Description string
	OwnerEmail  string
	// Data is merged into the existing data (keys in Data win).
	Data map[string]string
	// Retention, when set, replaces the retention.
	Retention *time.Duration
}

// Create registers a namespace with a new random ID and returns it. It
// returns ErrAlreadyExists if the name is taken, ErrInvalidName for an
// empty, over-long or non-UTF-8 name, ErrInvalidRetention for a negative
// retention, and store errors (e.g. *persistence.UnavailableError) as they
// come.
func (r *Registry) Create(ctx context.Context, spec Spec) (*Namespace, error) {
	if err := validateName(spec.Name); err != nil {
		return nil, err
	}
	if spec.Retention < 0 {
		return nil, fmt.Errorf("%w: negative retention %v", ErrInvalidRetention, spec.Retention)
	}
	id := uuid.NewString()
	desc := r.newDescription(id, spec)
	data, err := proto.Marshal(desc)
	if err != nil {
		return nil, fmt.Errorf("namespace: encoding %q: %w", spec.Name, err)
	}
	err = r.store.CreateNamespace(ctx, persistence.NamespaceRecord{ID: id, Name: spec.Name, Data: data})
	if errors.Is(err, persistence.ErrAlreadyExists) {
		return nil, fmt.Errorf("%w: %q", ErrAlreadyExists, spec.Name)
	}
	if err != nil {
		return nil, err
	}
	return r.remember(&Namespace{ID: id, Name: spec.Name, Retention: spec.Retention, Describe: desc}), nil
}

// Register is Create with only a name and a retention.
func (r *Registry) Register(ctx context.Context, name string, retention time.Duration) error {
	_, err := r.Create(ctx, Spec{Name: name, Retention: retention})
	return err
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

// Update applies c to the namespace called name and returns the result.
// It reads the stored description (not the cache, which may lag another
// process), applies c, and writes it back conditioned on the description
// read, retrying when another process won the race; on success the cache
// holds the new namespace before Update returns. Errors: ErrNotFound,
// ErrInvalidRetention, persistence.ErrConditionFailed when the races did
// not stop, and store errors as they come (after which the cached entry is
// dropped, since the write may have happened).
func (r *Registry) Update(ctx context.Context, name string, c Change) (*Namespace, error) {
	if c.Retention != nil && *c.Retention < 0 {
		return nil, fmt.Errorf("%w: negative retention %v", ErrInvalidRetention, *c.Retention)
	}
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	for range maxUpdateAttempts {
		rec, err := r.store.GetNamespaceByName(ctx, name)
		if errors.Is(err, persistence.ErrNotFound) {
			return nil, fmt.Errorf("%w: %q", ErrNotFound, name)
		}
		if err != nil {
			return nil, err
		}
		cur, err := decode(rec)
		if err != nil {
			return nil, err
		}
		next := apply(cur, c)
		if proto.Equal(next.Describe, cur.Describe) {
			r.replace(cur) // nothing to write; still bring the cache up to date
			return cur, nil
		}
		data, err := proto.Marshal(next.Describe)
		if err != nil {
			return nil, fmt.Errorf("namespace: encoding %q: %w", name, err)
		}
		err = r.store.UpdateNamespace(ctx, persistence.NamespaceRecord{ID: rec.ID, Name: rec.Name, Data: data}, rec.Data)
		switch {
		case err == nil:
			r.replace(next)
			return next, nil
		case errors.Is(err, persistence.ErrConditionFailed):
			continue
		case errors.Is(err, persistence.ErrNotFound):
			return nil, fmt.Errorf("%w: %q", ErrNotFound, name)
		default:
			r.forget(rec.ID)
			return nil, err
		}
	}
	return nil, fmt.Errorf("namespace: updating %q: gave up after %d concurrent updates: %w",
		name, maxUpdateAttempts, persistence.ErrConditionFailed)
}

// apply returns cur with c applied, as a new Namespace; cur is unchanged.
func apply(cur *Namespace, c Change) *Namespace {
	desc := proto.Clone(cur.Describe).(*workflowservice.DescribeNamespaceResponse)
	info := desc.NamespaceInfo
	if c.Description != "" {
		info.Description = c.Description
	}
	if c.OwnerEmail != "" {
		info.OwnerEmail = c.OwnerEmail
	}
	if len(c.Data) > 0 {
		if info.Data == nil {
			info.Data = make(map[string]string, len(c.Data))
		}
		maps.Copy(info.Data, c.Data)
	}
	retention := cur.Retention
	if c.Retention != nil {
		retention = *c.Retention
		desc.Config.WorkflowExecutionRetentionTtl = durationpb.New(retention)
	}
	return &Namespace{ID: cur.ID, Name: cur.Name, Retention: retention, Describe: desc}
}

func (r *Registry) newDescription(id string, spec Spec) *workflowservice.DescribeNamespaceResponse {
	return &workflowservice.DescribeNamespaceResponse{
		NamespaceInfo: &namespacepb.NamespaceInfo{
			Name:         spec.Name,
			Id:           id,
			State:        enumspb.NAMESPACE_STATE_REGISTERED,
			Description:  spec.Description,
			OwnerEmail:   spec.OwnerEmail,
			Data:         maps.Clone(spec.Data),
			Capabilities: capabilities(),
		},
		Config: &namespacepb.NamespaceConfig{
			WorkflowExecutionRetentionTtl: durationpb.New(spec.Retention),
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
