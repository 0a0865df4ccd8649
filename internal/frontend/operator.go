package frontend

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"

	"github.com/sundialhq/sundial/internal/namespace"
	"github.com/sundialhq/sundial/internal/persistence"
	"github.com/sundialhq/sundial/internal/visibility/searchattr"
)

// OperatorHandler is Sundial's OperatorService: custom search attributes
// per namespace. Other methods answer Unimplemented.
type OperatorHandler struct {
	operatorservice.UnimplementedOperatorServiceServer
	h *Handler
}

var _ operatorservice.OperatorServiceServer = (*OperatorHandler)(nil)

// NewOperator returns the OperatorService sharing h's namespaces, limits
// and visibility store.
func NewOperator(h *Handler) *OperatorHandler { return &OperatorHandler{h: h} }

// operatorNamespace resolves the namespace of a search attribute request.
func (o *OperatorHandler) operatorNamespace(ctx context.Context, name string) (*namespace.Namespace, error) {
	return o.h.visibilityNamespace(ctx, name)
}

// AddSearchAttributes defines custom search attributes in a namespace.
// Adding an attribute that exists with the same type is a no-op; with
// another type it is AlreadyExists.
func (o *OperatorHandler) AddSearchAttributes(ctx context.Context, req *operatorservice.AddSearchAttributesRequest) (*operatorservice.AddSearchAttributesResponse, error) {
	ns, err := o.operatorNamespace(ctx, req.GetNamespace())
	if err != nil {
		return nil, err
	}
	existing, err := o.h.opts.Visibility.GetSearchAttributes(ctx, ns.ID)
	if err != nil {
		return nil, err
	}
	for _, name := range sortedKeys(req.GetSearchAttributes()) {
		if t, ok := existing[name]; ok && t != req.GetSearchAttributes()[name] {
			return nil, serviceerror.NewAlreadyExists(fmt.Sprintf("Search attribute %s already exists with type %s.", name, searchattr.TypeName(t)))
		}
	}
	err = o.h.opts.SearchAttributes.Add(ctx, ns.ID, req.GetSearchAttributes())
	if errors.Is(err, persistence.ErrAlreadyExists) {
		return nil, serviceerror.NewAlreadyExists("Search attribute already exists with another type.")
	}
	if err != nil {
		return nil, err
	}
	return &operatorservice.AddSearchAttributesResponse{}, nil
}

// RemoveSearchAttributes removes custom search attributes from a
// namespace, and their indexed values; runs keep the values they recorded.
func (o *OperatorHandler) RemoveSearchAttributes(ctx context.Context, req *operatorservice.RemoveSearchAttributesRequest) (*operatorservice.RemoveSearchAttributesResponse, error) {
	ns, err := o.operatorNamespace(ctx, req.GetNamespace())
	if err != nil {
		return nil, err
	}
	existing, err := o.h.opts.Visibility.GetSearchAttributes(ctx, ns.ID)
	if err != nil {
		return nil, err
	}
	for _, name := range req.GetSearchAttributes() {
		if _, system := searchattr.System(name); !system {
			if _, ok := existing[name]; !ok {
				return nil, serviceerror.NewNotFound(fmt.Sprintf("Search attribute %s doesn't exist.", name))
			}
		}
	}
	err = o.h.opts.SearchAttributes.Remove(ctx, ns.ID, req.GetSearchAttributes())
	if errors.Is(err, persistence.ErrNotFound) {
		return nil, serviceerror.NewNotFound("Search attribute doesn't exist.")
	}
	if err != nil {
		return nil, err
	}
	return &operatorservice.RemoveSearchAttributesResponse{}, nil
}

// ListSearchAttributes lists a namespace's custom attributes and the system
// ones.
func (o *OperatorHandler) ListSearchAttributes(ctx context.Context, req *operatorservice.ListSearchAttributesRequest) (*operatorservice.ListSearchAttributesResponse, error) {
	ns, err := o.operatorNamespace(ctx, req.GetNamespace())
	if err != nil {
		return nil, err
	}
	custom, err := o.h.opts.Visibility.GetSearchAttributes(ctx, ns.ID)
	if err != nil {
		return nil, err
	}
	return &operatorservice.ListSearchAttributesResponse{
		CustomAttributes: custom,
		SystemAttributes: searchattr.SystemTypes(),
		StorageSchema:    map[string]string{},
	}, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ListClusters lists the one cluster Sundial has, as the reference server
// lists its own cluster: connection enabled, no replication.
func (o *OperatorHandler) ListClusters(_ context.Context, req *operatorservice.ListClustersRequest) (*operatorservice.ListClustersResponse, error) {
	if len(req.GetNextPageToken()) > 0 {
		return nil, serviceerror.NewInvalidArgument("invalid next page token")
	}
	opts := o.h.opts
	return &operatorservice.ListClustersResponse{Clusters: []*operatorservice.ClusterMetadata{{
		ClusterName:            opts.ClusterName,
		ClusterId:              opts.ClusterID,
		Address:                opts.HostAddress,
		HistoryShardCount:      opts.NumShards,
		InitialFailoverVersion: 1,
		IsConnectionEnabled:    true,
	}}}, nil
}

// DeleteNamespace marks a namespace deleted and renames it
// "<name>-deleted-<first 5 characters of its ID>" (answered as
// deleted_namespace), as the reference server does: from then on its old
// name is unknown and free, and calls naming it get NamespaceNotFound.
// Its runs, search attributes and record are removed in the background
// (worker.Reclaimer). The request may name the namespace, its ID, or both
// (then they must agree). A delete delay is refused: Sundial removes the
// data as soon as it can.
func (o *OperatorHandler) DeleteNamespace(ctx context.Context, req *operatorservice.DeleteNamespaceRequest) (*operatorservice.DeleteNamespaceResponse, error) {
	if d := req.GetNamespaceDeleteDelay(); d != nil && d.AsDuration() != 0 {
		return nil, serviceerror.NewUnimplemented("NamespaceDeleteDelay is not implemented by Sundial yet; delete without a delay.")
	}
	name, err := o.deleteTarget(ctx, req.GetNamespace(), req.GetNamespaceId())
	if err != nil {
		return nil, err
	}
	ns, err := o.h.ns.MarkDeleted(ctx, name)
	switch {
	case errors.Is(err, namespace.ErrNotFound):
		return nil, serviceerror.NewNamespaceNotFound(name)
	case errors.Is(err, namespace.ErrInvalidState):
		return nil, serviceerror.NewFailedPrecondition("Namespace has invalid state: Deleted. Must be Registered or Deprecated.")
	case errors.Is(err, namespace.ErrAlreadyExists):
		return nil, serviceerror.NewAlreadyExists(fmt.Sprintf("Namespace %s cannot be deleted: its deleted name is taken by another namespace.", name))
	case err != nil:
		return nil, err
	}
	o.h.logger.Info("namespace deleted; removing its data in the background", "namespace", name,
		"namespace_id", ns.ID, "deleted_namespace", ns.Name)
	if r := o.h.opts.NamespaceReclaimer; r != nil {
		r.Wake()
	}
	return &operatorservice.DeleteNamespaceResponse{DeletedNamespace: ns.Name}, nil
}

// deleteTarget resolves the namespace a DeleteNamespace request names.
func (o *OperatorHandler) deleteTarget(ctx context.Context, name, id string) (string, error) {
	if id == "" {
		_, err := o.h.lookupNamespace(ctx, name, true) // validates the name
		return name, err
	}
	ns, err := o.h.ns.GetByID(ctx, id)
	if errors.Is(err, namespace.ErrNotFound) {
		return "", serviceerror.NewNamespaceNotFound(id)
	}
	if err != nil {
		return "", err
	}
	if name != "" && name != ns.Name {
		return "", serviceerror.NewInvalidArgument("Namespace and NamespaceId name different namespaces.")
	}
	return ns.Name, nil
}
