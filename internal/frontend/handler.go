// Package frontend implements Temporal's public WorkflowService over gRPC.
// Every request is validated here (with the reference server's messages and
// codes), its namespace resolved to an ID, and then routed to the history or
// matching role through Go interfaces. This package is the only place where
// errors become gRPC codes (see toServiceError).
package frontend

import (
	"context"
	"errors"
	"log/slog"
	"sort"

	namespacepb "go.temporal.io/api/namespace/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/proto"

	"github.com/sundialhq/sundial/internal/config"
	"github.com/sundialhq/sundial/internal/history"
	"github.com/sundialhq/sundial/internal/namespace"
)

// Matching is what the frontend needs from the matching role: long polls.
// A poll that times out answers an empty (non-nil or nil) response and no
// error.
type Matching interface {
	PollWorkflowTaskQueue(ctx context.Context, namespaceID string, req *workflowservice.PollWorkflowTaskQueueRequest) (*workflowservice.PollWorkflowTaskQueueResponse, error)
	PollActivityTaskQueue(ctx context.Context, namespaceID string, req *workflowservice.PollActivityTaskQueueRequest) (*workflowservice.PollActivityTaskQueueResponse, error)
}

// Options configures a Handler. Namespaces, History and Matching are
// required.
type Options struct {
	Namespaces *namespace.Registry
	History    history.Service
	Matching   Matching
	// Dynamic supplies limits (limit.maxIDLength, limit.blobSize.error, ...);
	// nil means every limit has its default.
	Dynamic *config.Dynamic
	Logger  *slog.Logger
	// ServerVersion is reported by GetSystemInfo and GetClusterInfo.
	ServerVersion string
	// ClusterName, ClusterID, NumShards and PersistenceStore are reported by
	// GetClusterInfo.
	ClusterName      string
	ClusterID        string
	NumShards        int32
	PersistenceStore string
}

// Handler is Sundial's WorkflowService. Methods it does not implement answer
// Unimplemented (from the embedded type), which SDKs tolerate where it
// matters (GetSystemInfo, ShutdownWorker).
type Handler struct {
	workflowservice.UnimplementedWorkflowServiceServer

	opts   Options
	ns     *namespace.Registry
	hist   history.Service
	match  Matching
	logger *slog.Logger
}

var _ workflowservice.WorkflowServiceServer = (*Handler)(nil)

// New returns a Handler over opts.
func New(opts Options) (*Handler, error) {
	if opts.Namespaces == nil || opts.History == nil || opts.Matching == nil {
		return nil, errors.New("frontend: Namespaces, History and Matching are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Handler{opts: opts, ns: opts.Namespaces, hist: opts.History, match: opts.Matching, logger: opts.Logger}, nil
}

func (h *Handler) limits() limits { return readLimits(h.opts.Dynamic) }

// namespaceByName resolves a request's namespace name: InvalidArgument when
// empty or too long, NamespaceNotFound when unknown.
func (h *Handler) namespaceByName(ctx context.Context, name string) (*namespace.Namespace, error) {
	if name == "" {
		return nil, errNamespaceNotSet
	}
	if len(name) > h.limits().maxIDLength {
		return nil, errNamespaceTooLong
	}
	ns, err := h.ns.GetByName(ctx, name)
	if errors.Is(err, namespace.ErrNotFound) {
		return nil, serviceerror.NewNamespaceNotFound(name)
	}
	return ns, err
}

// GetSystemInfo advertises only the capabilities Sundial actually honours:
// a wrong true is worse than false.
func (h *Handler) GetSystemInfo(context.Context, *workflowservice.GetSystemInfoRequest) (*workflowservice.GetSystemInfoResponse, error) {
	return &workflowservice.GetSystemInfoResponse{
		ServerVersion: h.opts.ServerVersion,
		Capabilities: &workflowservice.GetSystemInfoResponse_Capabilities{
			SdkMetadata:                  true,
			InternalErrorDifferentiation: true,
		},
	}, nil
}

// GetClusterInfo describes this (single) cluster.
func (h *Handler) GetClusterInfo(context.Context, *workflowservice.GetClusterInfoRequest) (*workflowservice.GetClusterInfoResponse, error) {
	return &workflowservice.GetClusterInfoResponse{
		SupportedClients:  map[string]string{},
		ServerVersion:     h.opts.ServerVersion,
		ClusterId:         h.opts.ClusterID,
		ClusterName:       h.opts.ClusterName,
		HistoryShardCount: h.opts.NumShards,
		PersistenceStore:  h.opts.PersistenceStore,
		VisibilityStore:   h.opts.PersistenceStore,
	}, nil
}

// DescribeNamespace looks a namespace up by name, or by ID when no name is
// given.
func (h *Handler) DescribeNamespace(ctx context.Context, req *workflowservice.DescribeNamespaceRequest) (*workflowservice.DescribeNamespaceResponse, error) {
	var ns *namespace.Namespace
	var err error
	switch {
	case req.GetNamespace() != "":
		ns, err = h.namespaceByName(ctx, req.GetNamespace())
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
	return resp
}

const (
	defaultListNamespacesPageSize = 100
	maxListNamespacesPageSize     = 1000
)

// ListNamespaces pages through namespaces in name order. The page token is
// the last name returned.
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

// ShutdownWorker acknowledges a worker's shutdown. Sticky queues are not
// released early yet: their tasks fall back to the normal queue on the
// sticky schedule-to-start timeout.
func (h *Handler) ShutdownWorker(ctx context.Context, req *workflowservice.ShutdownWorkerRequest) (*workflowservice.ShutdownWorkerResponse, error) {
	if _, err := h.namespaceByName(ctx, req.GetNamespace()); err != nil {
		return nil, err
	}
	return &workflowservice.ShutdownWorkerResponse{}, nil
}
