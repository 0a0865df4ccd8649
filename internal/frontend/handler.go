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

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundialhq/sundial/internal/config"
	"github.com/sundialhq/sundial/internal/history"
	"github.com/sundialhq/sundial/internal/matching"
	"github.com/sundialhq/sundial/internal/namespace"
	"github.com/sundialhq/sundial/internal/persistence"
	"github.com/sundialhq/sundial/internal/visibility"
)

// Matching is what the frontend needs from the matching role: long polls.
// A poll that times out answers an empty (non-nil or nil) response and no
// error.
type Matching interface {
	PollWorkflowTaskQueue(ctx context.Context, namespaceID string, req *workflowservice.PollWorkflowTaskQueueRequest) (*workflowservice.PollWorkflowTaskQueueResponse, error)
	PollActivityTaskQueue(ctx context.Context, namespaceID string, req *workflowservice.PollActivityTaskQueueRequest) (*workflowservice.PollActivityTaskQueueResponse, error)
	// RespondQueryTaskCompleted routes a worker's query answer to the
	// waiting QueryWorkflow call.
	RespondQueryTaskCompleted(ctx context.Context, namespaceID string, req *workflowservice.RespondQueryTaskCompletedRequest) error
	// ShutdownSticky releases a stopping worker's sticky queue and returns
	// the workflow tasks it held.
	ShutdownSticky(ctx context.Context, namespaceID, stickyQueue string) ([]matching.StickyTask, error)
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
	// ServerVersion is reported by GetSystemInfo and GetClusterInfo: the
	// Temporal release whose API Sundial implements, on which clients gate
	// features.
	ServerVersion string
	// ClusterName, ClusterID, NumShards and PersistenceStore are reported by
	// GetClusterInfo.
	ClusterName      string
	ClusterID        string
	NumShards        int32
	PersistenceStore string
	// Visibility and SearchAttributes serve the list/count/scan methods,
	// GetSearchAttributes and the OperatorService; when nil, those answer
	// Unimplemented.
	Visibility       persistence.VisibilityStore
	SearchAttributes *visibility.Registry
	// TaskQueues serves DescribeTaskQueue and ListTaskQueuePartitions;
	// when nil they answer Unimplemented.
	TaskQueues TaskQueueDescriber
	// BatchJobs serves the batch operation methods (with Visibility and
	// SearchAttributes); when nil, they answer Unimplemented. BatchWorker,
	// when set, is told of new and stopped jobs.
	BatchJobs   persistence.BatchStore
	BatchWorker BatchWorker
	// NamespaceReclaimer, when set, is woken after a namespace is deleted
	// so its data goes at once rather than at the next periodic pass.
	NamespaceReclaimer interface{ Wake() }
	// HostAddress is this process's frontend address (host:port), reported
	// as the owner of task queue partitions and by ListClusters.
	HostAddress string
	// Schedules serves the schedule API; when nil it answers
	// Unimplemented.
	Schedules Schedules
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

func (h *Handler) limits() limits {
	lim := readLimits(h.opts.Dynamic)
	lim.logger = h.logger
	return lim
}

// namespaceByName resolves a request's namespace name: InvalidArgument when
// empty or too long, NamespaceNotFound when unknown or deleted.
func (h *Handler) namespaceByName(ctx context.Context, name string) (*namespace.Namespace, error) {
	return h.lookupNamespace(ctx, name, false)
}

// lookupNamespace is namespaceByName that, with includeDeleted, also finds
// a deleted namespace (renamed "<name>-deleted-<id>"). Deleted namespaces
// serve nothing while their data is removed; only DescribeNamespace and
// ListNamespaces (with include_deleted) show them, as the reference does.
func (h *Handler) lookupNamespace(ctx context.Context, name string, includeDeleted bool) (*namespace.Namespace, error) {
	if name == "" {
		return nil, errNamespaceNotSet
	}
	if len(name) > h.limits().maxIDLength {
		return nil, errNamespaceTooLong
	}
	ns, err := h.ns.GetByName(ctx, name)
	if errors.Is(err, namespace.ErrNotFound) || err == nil && ns.Deleted() && !includeDeleted {
		return nil, serviceerror.NewNamespaceNotFound(name)
	}
	return ns, err
}

// GetSystemInfo advertises only the capabilities Sundial actually honours:
// a wrong true is worse than false. docs/DECISIONS.md has the table of
// every capability and why it is on or off.
func (h *Handler) GetSystemInfo(context.Context, *workflowservice.GetSystemInfoRequest) (*workflowservice.GetSystemInfoResponse, error) {
	return &workflowservice.GetSystemInfoResponse{
		ServerVersion: h.opts.ServerVersion,
		Capabilities: &workflowservice.GetSystemInfoResponse_Capabilities{
			SignalAndQueryHeader:            true,
			InternalErrorDifferentiation:    true,
			ActivityFailureIncludeHeartbeat: true,
			EncodedFailureAttributes:        true,
			UpsertMemo:                      true,
			EagerWorkflowStart:              true,
			SdkMetadata:                     true,
			CountGroupByExecutionStatus:     true,
			SupportsSchedules:               h.opts.Schedules != nil,
		},
	}, nil
}

// supportedClients are the client version ranges GetClusterInfo reports,
// as the reference server does. Sundial does not refuse other versions;
// the map tells tools which clients it is built to serve.
func supportedClients() map[string]string {
	return map[string]string{
		"temporal-go":         "<2.0.0",
		"temporal-java":       "<2.0.0",
		"temporal-php":        "<2.0.0",
		"temporal-typescript": "<2.0.0",
		"temporal-cli":        "<2.0.0",
		"temporal-server":     "<2.0.0",
		"temporal-ui":         "<3.0.0",
	}
}

// GetClusterInfo describes this (single) cluster.
func (h *Handler) GetClusterInfo(context.Context, *workflowservice.GetClusterInfoRequest) (*workflowservice.GetClusterInfoResponse, error) {
	return &workflowservice.GetClusterInfoResponse{
		SupportedClients:  supportedClients(),
		ServerVersion:     h.opts.ServerVersion,
		ClusterId:         h.opts.ClusterID,
		ClusterName:       h.opts.ClusterName,
		HistoryShardCount: h.opts.NumShards,
		PersistenceStore:  h.opts.PersistenceStore,
		VisibilityStore:   h.opts.PersistenceStore,
	}, nil
}
