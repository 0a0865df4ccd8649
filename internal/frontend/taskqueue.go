package frontend

import (
	"context"
	"errors"
	"strconv"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sundialhq/sundial/internal/matching"
)

// TaskQueueDescriber is what DescribeTaskQueue and ListTaskQueuePartitions
// need from matching.
type TaskQueueDescriber interface {
	DescribeTaskQueue(ctx context.Context, req matching.DescribeRequest) (*matching.Description, error)
	// NumPartitions is the number of partitions of a normal (or sticky)
	// task queue.
	NumPartitions(sticky bool) int
}

const (
	// unversioned is the versions_info key of unversioned workers.
	unversioned = ""
	// dispatchRateLimit is reported as a queue's rate limit: Sundial sets
	// none, and this is the reference server's default.
	dispatchRateLimit = 100_000
)

// DescribeTaskQueue reports a task queue's pollers and exact backlog. The
// default mode describes one task queue type (task_queue_type, default
// workflow): pollers, `stats` when report_stats is set, and the legacy
// `task_queue_status` when include_task_queue_status is set. The enhanced
// mode (api_mode ENHANCED, as `temporal task-queue describe` and the SDK's
// DescribeTaskQueueEnhanced use) reports every requested type under the
// unversioned entry of versions_info. A name of the form
// "/_sys/NAME/N" describes partition N of NAME only.
func (h *Handler) DescribeTaskQueue(ctx context.Context, req *workflowservice.DescribeTaskQueueRequest) (*workflowservice.DescribeTaskQueueResponse, error) {
	if h.opts.TaskQueues == nil {
		return nil, serviceerror.NewUnimplemented("DescribeTaskQueue is not available")
	}
	ns, err := h.namespaceByName(ctx, req.GetNamespace())
	if err != nil {
		return nil, err
	}
	tq := req.GetTaskQueue()
	if tq.GetName() == "" {
		return nil, serviceerror.NewInvalidArgument("TaskQueue is not set on request.")
	}
	if len(tq.GetName()) > h.limits().maxIDLength {
		return nil, serviceerror.NewInvalidArgument("TaskQueue length exceeds limit.")
	}
	name, partition, err := parsePartition(tq.GetName())
	if err != nil {
		return nil, err
	}
	base := matching.DescribeRequest{NamespaceID: ns.ID, Name: name, Partition: partition,
		Sticky: tq.GetKind() == enumspb.TASK_QUEUE_KIND_STICKY}
	//lint:ignore SA1019 the enhanced mode is deprecated but still used by the CLI and SDKs
	if req.GetApiMode() == enumspb.DESCRIBE_TASK_QUEUE_MODE_ENHANCED {
		return h.describeEnhanced(ctx, req, base)
	}
	typ := req.GetTaskQueueType()
	if typ == enumspb.TASK_QUEUE_TYPE_UNSPECIFIED {
		typ = enumspb.TASK_QUEUE_TYPE_WORKFLOW
	}
	d, err := h.describeType(ctx, base, typ)
	if err != nil {
		return nil, err
	}
	resp := &workflowservice.DescribeTaskQueueResponse{Pollers: pollerInfos(d)}
	if req.GetReportStats() {
		resp.Stats = taskQueueStats(d)
	}
	//lint:ignore SA1019 the legacy status is still what older CLIs print
	if req.GetIncludeTaskQueueStatus() {
		resp.TaskQueueStatus = &taskqueuepb.TaskQueueStatus{
			BacklogCountHint: d.Total.BacklogCount,
			ReadLevel:        d.Total.ReadLevel,
			RatePerSecond:    dispatchRateLimit,
		}
	}
	return resp, nil
}

// describeEnhanced answers the enhanced mode: every requested type (all
// when none is named) under the unversioned build ID.
func (h *Handler) describeEnhanced(ctx context.Context, req *workflowservice.DescribeTaskQueueRequest, base matching.DescribeRequest) (*workflowservice.DescribeTaskQueueResponse, error) {
	if base.Sticky {
		return nil, serviceerror.NewInvalidArgument("sticky queues are not supported in ENHANCED mode")
	}
	//lint:ignore SA1019 the enhanced mode's fields are deprecated with it
	types := req.GetTaskQueueTypes()
	if len(types) == 0 {
		types = []enumspb.TaskQueueType{enumspb.TASK_QUEUE_TYPE_WORKFLOW, enumspb.TASK_QUEUE_TYPE_ACTIVITY}
	}
	info := &taskqueuepb.TaskQueueVersionInfo{TypesInfo: map[int32]*taskqueuepb.TaskQueueTypeInfo{}}
	for _, typ := range types {
		d, err := h.describeType(ctx, base, typ)
		if err != nil {
			return nil, err
		}
		ti := &taskqueuepb.TaskQueueTypeInfo{}
		//lint:ignore SA1019 the enhanced mode's fields are deprecated with it
		if req.GetReportPollers() {
			ti.Pollers = pollerInfos(d)
		}
		if req.GetReportStats() {
			ti.Stats = taskQueueStats(d)
		}
		info.TypesInfo[int32(typ)] = ti
	}
	//lint:ignore SA1019 the enhanced mode's fields are deprecated with it
	if req.GetReportTaskReachability() {
		// With no versioning rules every new task goes to unversioned
		// workers, so the unversioned build ID is reachable.
		info.TaskReachability = enumspb.BUILD_ID_TASK_REACHABILITY_REACHABLE
	}
	return &workflowservice.DescribeTaskQueueResponse{
		VersionsInfo: map[string]*taskqueuepb.TaskQueueVersionInfo{unversioned: info},
	}, nil
}

// describeType describes one type of the queue. Every type the API
// defines is answered, as the reference server does and the Web UI relies
// on (it asks for all of them): Sundial serves no Nexus tasks and a sticky
// queue holds workflow tasks only, so those are described as empty (no
// pollers, no backlog) rather than refused.
func (h *Handler) describeType(ctx context.Context, base matching.DescribeRequest, typ enumspb.TaskQueueType) (*matching.Description, error) {
	switch typ {
	case enumspb.TASK_QUEUE_TYPE_WORKFLOW:
	case enumspb.TASK_QUEUE_TYPE_ACTIVITY:
		if base.Sticky {
			return &matching.Description{}, nil
		}
		base.Activity = true
	case enumspb.TASK_QUEUE_TYPE_NEXUS:
		return &matching.Description{}, nil
	default:
		return nil, serviceerror.NewInvalidArgument("unsupported task queue type " + typ.String())
	}
	d, err := h.opts.TaskQueues.DescribeTaskQueue(ctx, base)
	if errors.Is(err, matching.ErrNoSuchPartition) {
		return nil, serviceerror.NewInvalidArgument("task queue has no partition " + strconv.Itoa(int(base.Partition)))
	}
	return d, err
}

// parsePartition splits a partition name "/_sys/NAME/N" into NAME and N;
// any other name is the whole queue (partition -1).
func parsePartition(name string) (string, int32, error) {
	rest, ok := strings.CutPrefix(name, reservedTaskQueuePrefix)
	if !ok {
		return name, -1, nil
	}
	i := strings.LastIndexByte(rest, '/')
	if i <= 0 {
		return "", 0, serviceerror.NewInvalidArgument("invalid task queue partition name " + name)
	}
	n, err := strconv.ParseInt(rest[i+1:], 10, 32)
	if err != nil || n < 0 {
		return "", 0, serviceerror.NewInvalidArgument("invalid task queue partition name " + name)
	}
	return rest[:i], int32(n), nil
}

func pollerInfos(d *matching.Description) []*taskqueuepb.PollerInfo {
	out := make([]*taskqueuepb.PollerInfo, len(d.Pollers))
	for i, p := range d.Pollers {
		out[i] = &taskqueuepb.PollerInfo{Identity: p.Identity, LastAccessTime: timestamppb.New(p.LastAccessTime),
			RatePerSecond: p.RatePerSecond}
	}
	return out
}

func taskQueueStats(d *matching.Description) *taskqueuepb.TaskQueueStats {
	return &taskqueuepb.TaskQueueStats{
		ApproximateBacklogCount: d.Total.BacklogCount,
		ApproximateBacklogAge:   durationpb.New(d.Total.BacklogAge),
		TasksAddRate:            float32(d.Total.AddRate),
		TasksDispatchRate:       float32(d.Total.DispatchRate),
	}
}

// partitionOwners is implemented by a TaskQueueDescriber that serves a
// cluster: the internal address of the matching host the ring gives each
// partition ("" when no matching host is alive).
type partitionOwners interface {
	PartitionOwner(namespaceID, taskQueue string, activity bool, partition int) string
}

// ListTaskQueuePartitions lists the partitions of a normal task queue's
// workflow and activity queues, as the reference server names them
// (partition 0 is the queue's own name, partition N "/_sys/NAME/N"), each
// with its owner: in a cluster the matching host serving it (its internal
// address), in one process this process.
func (h *Handler) ListTaskQueuePartitions(ctx context.Context, req *workflowservice.ListTaskQueuePartitionsRequest) (*workflowservice.ListTaskQueuePartitionsResponse, error) {
	if h.opts.TaskQueues == nil {
		return nil, serviceerror.NewUnimplemented("ListTaskQueuePartitions is not available")
	}
	ns, err := h.namespaceByName(ctx, req.GetNamespace())
	if err != nil {
		return nil, err
	}
	tq := req.GetTaskQueue()
	switch {
	case tq.GetName() == "":
		return nil, serviceerror.NewInvalidArgument("TaskQueue is not set on request.")
	case len(tq.GetName()) > h.limits().maxIDLength:
		return nil, serviceerror.NewInvalidArgument("TaskQueue length exceeds limit.")
	case strings.HasPrefix(tq.GetName(), reservedTaskQueuePrefix):
		return nil, serviceerror.NewInvalidArgumentf("task queue name cannot start with reserved prefix %v", reservedTaskQueuePrefix)
	}
	n := h.opts.TaskQueues.NumPartitions(tq.GetKind() == enumspb.TASK_QUEUE_KIND_STICKY)
	owners, cluster := h.opts.TaskQueues.(partitionOwners)
	// The activity queue has the same partitions (a sticky queue has no
	// activity tasks, but the reference lists it the same).
	list := func(activity bool) []*taskqueuepb.TaskQueuePartitionMetadata {
		parts := make([]*taskqueuepb.TaskQueuePartitionMetadata, n)
		for i := range parts {
			key := tq.GetName()
			if i > 0 {
				key = reservedTaskQueuePrefix + tq.GetName() + "/" + strconv.Itoa(i)
			}
			owner := h.opts.HostAddress
			if cluster {
				owner = owners.PartitionOwner(ns.ID, tq.GetName(), activity, i)
			}
			parts[i] = &taskqueuepb.TaskQueuePartitionMetadata{Key: key, OwnerHostName: owner}
		}
		return parts
	}
	return &workflowservice.ListTaskQueuePartitionsResponse{
		WorkflowTaskQueuePartitions: list(false),
		ActivityTaskQueuePartitions: list(true),
	}, nil
}
