package frontend

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"
	"unicode/utf8"

	enumspb "go.temporal.io/api/enums/v1"
	namespacepb "go.temporal.io/api/namespace/v1"
	replicationpb "go.temporal.io/api/replication/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/sundialhq/sundial/internal/namespace"
)

// Namespace endpoints. Messages follow the reference server's wording where
// it has one; what Sundial does not support (global namespaces, state
// changes, bad binaries, search-attribute aliases) is refused with a clear
// error rather than silently dropped.
var (
	errInvalidRetentionPeriod  = serviceerror.NewInvalidArgument("A valid retention period is not set on request.")
	errGlobalNamespaceDisabled = serviceerror.NewInvalidArgument("Cannot register global namespace when not enabled")
	errNamespaceNotUTF8        = serviceerror.NewInvalidArgument("Namespace is not a valid UTF-8 string.")
	errNamespaceStateChange    = serviceerror.NewUnimplemented("Namespace state changes are not supported yet.")
	errBadBinaries             = serviceerror.NewUnimplemented("Bad binaries are not supported; use worker versioning.")
	errSearchAttributeAliases  = serviceerror.NewUnimplemented("Custom search attribute aliases are not supported yet.")
	errReplicationState        = serviceerror.NewInvalidArgument("Replication state can only be NORMAL: namespaces are local to this cluster.")
)

// Retention bounds. The minimum is Temporal's dynamic-config key for local
// namespaces (every Sundial namespace is local), with a default of one day
// where the reference server has one hour. Longer retentions are capped,
// not refused, as the reference server caps every duration at 100 years.
const (
	keyNamespaceMinRetention     = "system.namespaceMinRetentionLocal"
	defaultNamespaceMinRetention = 24 * time.Hour
	maxNamespaceRetention        = 100 * 365 * 24 * time.Hour
)

const (
	defaultListNamespacesPageSize = 100
	maxListNamespacesPageSize     = 1000
)

// RegisterNamespace creates a namespace. It is usable by every API of this
// process as soon as the call returns.
func (h *Handler) RegisterNamespace(ctx context.Context, req *workflowservice.RegisterNamespaceRequest) (*workflowservice.RegisterNamespaceResponse, error) {
	name := req.GetNamespace()
	if err := h.validateNewNamespaceName(name); err != nil {
		return nil, err
	}
	if req.GetIsGlobalNamespace() {
		return nil, errGlobalNamespaceDisabled
	}
	if err := h.checkClusters(req.GetActiveClusterName(), req.GetClusters()); err != nil {
		return nil, err
	}
	retention, err := h.retention(req.GetWorkflowExecutionRetentionPeriod())
	if err != nil {
		return nil, err
	}
	// Archival states are ignored, as the reference server ignores them
	// when the cluster has no archival configured.
	ns, err := h.ns.Create(ctx, namespace.Spec{
		Name:        name,
		Retention:   retention,
		Description: req.GetDescription(),
		OwnerEmail:  req.GetOwnerEmail(),
		Data:        req.GetData(),
	})
	if err != nil {
		return nil, namespaceWriteError(name, err)
	}
	h.logger.Info("namespace registered", "namespace", name, "namespace_id", ns.ID, "retention", retention)
	return &workflowservice.RegisterNamespaceResponse{}, nil
}

// DescribeNamespace looks a namespace up by name, or by ID when no name is
// given.
func (h *Handler) DescribeNamespace(ctx context.Context, req *workflowservice.DescribeNamespaceRequest) (*workflowservice.DescribeNamespaceResponse, error) {
	var ns *namespace.Namespace
	var err error
	switch {
	case req.GetNamespace() != "":
		// A deleted namespace is described (state DELETED) under its new
		// name, as the reference server does.
		ns, err = h.lookupNamespace(ctx, req.GetNamespace(), true)
	case req.GetId() != "":
		ns, err = h.ns.GetByID(ctx, req.GetId())
		if errors.Is(err, namespace.ErrNotFound) {
			err = serviceerror.NewNamespaceNotFound(req.GetId())
		}
	default:
		err = errNamespaceNotSet
	}
	if err != nil {
		return nil, err
	}
	return h.describe(ns), nil
}

// describe returns a copy of the stored description with the current
// limits filled in.
func (h *Handler) describe(ns *namespace.Namespace) *workflowservice.DescribeNamespaceResponse {
	resp := proto.Clone(ns.Describe).(*workflowservice.DescribeNamespaceResponse)
	lim := h.limits()
	resp.NamespaceInfo.Limits = &namespacepb.NamespaceInfo_Limits{
		BlobSizeLimitError: int64(lim.blobSizeError),
		MemoSizeLimitError: int64(lim.memoSizeError),
	}
	// The reference server always has a (possibly empty) bad-binaries
	// message; clients read config.badBinaries.binaries.
	if resp.Config != nil && resp.Config.BadBinaries == nil {
		resp.Config.BadBinaries = &namespacepb.BadBinaries{}
	}
	return resp
}

// ListNamespaces pages through namespaces in name order. The page token is
// the last name returned, so paging is stable while namespaces are added:
// a namespace is never listed twice, and every namespace that existed when
// the listing started is listed once.
func (h *Handler) ListNamespaces(ctx context.Context, req *workflowservice.ListNamespacesRequest) (*workflowservice.ListNamespacesResponse, error) {
	size := int(req.GetPageSize())
	if size <= 0 {
		size = defaultListNamespacesPageSize
	}
	size = min(size, maxListNamespacesPageSize)
	all, err := h.ns.List(ctx)
	if err != nil {
		return nil, err
	}
	if !req.GetNamespaceFilter().GetIncludeDeleted() {
		all = slices.DeleteFunc(all, (*namespace.Namespace).Deleted)
	}
	after := string(req.GetNextPageToken())
	start := sort.Search(len(all), func(i int) bool { return all[i].Name > after })
	if len(req.GetNextPageToken()) == 0 {
		start = 0
	}
	resp := &workflowservice.ListNamespacesResponse{}
	for i := start; i < len(all) && len(resp.Namespaces) < size; i++ {
		resp.Namespaces = append(resp.Namespaces, h.describe(all[i]))
	}
	if end := start + len(resp.Namespaces); end < len(all) {
		resp.NextPageToken = []byte(all[end-1].Name)
	}
	return resp, nil
}

// UpdateNamespace changes a namespace's description, owner, data (merged)
// and retention, and answers the namespace as updated. Every user of the
// registry in this process sees the change when the call returns.
func (h *Handler) UpdateNamespace(ctx context.Context, req *workflowservice.UpdateNamespaceRequest) (*workflowservice.UpdateNamespaceResponse, error) {
	name := req.GetNamespace()
	cur, err := h.namespaceByName(ctx, name)
	if err != nil {
		return nil, err
	}
	change, err := h.namespaceChange(req, cur)
	if err != nil {
		return nil, err
	}
	ns, err := h.ns.Update(ctx, name, change)
	if err != nil {
		return nil, namespaceWriteError(name, err)
	}
	h.logger.Info("namespace updated", "namespace", name, "namespace_id", ns.ID)
	d := h.describe(ns)
	return &workflowservice.UpdateNamespaceResponse{
		NamespaceInfo:     d.GetNamespaceInfo(),
		Config:            d.GetConfig(),
		ReplicationConfig: d.GetReplicationConfig(),
		FailoverVersion:   d.GetFailoverVersion(),
		IsGlobalNamespace: d.GetIsGlobalNamespace(),
	}, nil
}

// namespaceChange validates an UpdateNamespace request for namespace cur
// and turns it into a registry change. Archival states are ignored (see
// RegisterNamespace). A retention equal to the current one is no change
// and is not checked against the minimum: the CLI sends the current
// retention with every update, and a namespace created under a lower
// minimum must stay updatable.
func (h *Handler) namespaceChange(req *workflowservice.UpdateNamespaceRequest, cur *namespace.Namespace) (namespace.Change, error) {
	var c namespace.Change
	if req.GetPromoteNamespace() {
		return c, serviceerror.NewInvalidArgumentf("global namespace is not enabled on this cluster, "+
			"cannot update global namespace or promote local namespace: %v", req.GetNamespace())
	}
	if info := req.GetUpdateInfo(); info != nil {
		if s := info.GetState(); s != enumspb.NAMESPACE_STATE_UNSPECIFIED && s != enumspb.NAMESPACE_STATE_REGISTERED {
			return c, errNamespaceStateChange
		}
		c.Description, c.OwnerEmail, c.Data = info.GetDescription(), info.GetOwnerEmail(), info.GetData()
	}
	if cfg := req.GetConfig(); cfg != nil {
		if len(cfg.GetBadBinaries().GetBinaries()) > 0 {
			return c, errBadBinaries
		}
		if len(cfg.GetCustomSearchAttributeAliases()) > 0 {
			return c, errSearchAttributeAliases
		}
		if ttl := cfg.GetWorkflowExecutionRetentionTtl(); ttl != nil && !proto.Equal(ttl, durationpb.New(cur.Retention)) {
			retention, err := h.retention(ttl)
			if err != nil {
				return c, err
			}
			c.Retention = &retention
		}
	}
	if bad := req.GetDeleteBadBinary(); bad != "" {
		// None can exist: adding them is refused above.
		return c, serviceerror.NewInvalidArgumentf("Bad binary checksum %v doesn't exists.", bad)
	}
	if rc := req.GetReplicationConfig(); rc != nil {
		if s := rc.GetState(); s != enumspb.REPLICATION_STATE_UNSPECIFIED && s != enumspb.REPLICATION_STATE_NORMAL {
			return c, errReplicationState
		}
		if err := h.checkClusters(rc.GetActiveClusterName(), rc.GetClusters()); err != nil {
			return c, err
		}
	}
	return c, nil
}

// validateNewNamespaceName applies the reference server's rules to a name
// being registered: set, valid UTF-8, at most limit.maxIDLength bytes. It
// does not restrict the characters, as the reference server does not.
func (h *Handler) validateNewNamespaceName(name string) error {
	switch {
	case name == "":
		return errNamespaceNotSet
	case !utf8.ValidString(name):
		return errNamespaceNotUTF8
	case len(name) > min(h.limits().maxIDLength, namespace.MaxNameLength):
		return errNamespaceTooLong
	}
	return nil
}

// retention validates a requested retention: a valid, non-negative
// duration of at least system.namespaceMinRetentionLocal, capped at 100
// years.
func (h *Handler) retention(d *durationpb.Duration) (time.Duration, error) {
	if d == nil || d.CheckValid() != nil {
		return 0, errInvalidRetentionPeriod
	}
	ttl := min(d.AsDuration(), maxNamespaceRetention)
	minimum := h.opts.Dynamic.Duration(keyNamespaceMinRetention, defaultNamespaceMinRetention)
	if ttl < 0 || ttl < minimum {
		return 0, errInvalidRetentionPeriod
	}
	return ttl, nil
}

// checkClusters accepts only this cluster as the active one and as the
// replication set: namespaces are local to one cluster.
func (h *Handler) checkClusters(active string, clusters []*replicationpb.ClusterReplicationConfig) error {
	ours := h.ns.ClusterName()
	if active != "" && active != ours {
		return serviceerror.NewInvalidArgumentf("Invalid cluster name: %s (the only cluster is %s).", active, ours)
	}
	for _, c := range clusters {
		if c.GetClusterName() != ours {
			return serviceerror.NewInvalidArgumentf("Invalid cluster name: %s (the only cluster is %s).", c.GetClusterName(), ours)
		}
	}
	return nil
}

// namespaceWriteError maps the registry's errors for a create or update of
// name to Temporal's; others (store trouble) pass to toServiceError.
func namespaceWriteError(name string, err error) error {
	switch {
	case errors.Is(err, namespace.ErrAlreadyExists):
		return serviceerror.NewNamespaceAlreadyExistsf("Namespace %q already exists", name)
	case errors.Is(err, namespace.ErrNotFound):
		return serviceerror.NewNamespaceNotFound(name)
	case errors.Is(err, namespace.ErrInvalidRetention):
		return errInvalidRetentionPeriod
	case errors.Is(err, namespace.ErrInvalidName):
		return serviceerror.NewInvalidArgument(fmt.Sprintf("Invalid namespace name %.100q: %v", name, err))
	}
	return err
}
