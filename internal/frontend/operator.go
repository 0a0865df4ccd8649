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
