package rpc

import (
	"context"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sundialhq/sundial/internal/matching"
	"github.com/sundialhq/sundial/internal/membership"
	"github.com/sundialhq/sundial/internal/rpc/rpcpb"
)

// MatchingForwarder is matching.Forwarder across processes: each call goes
// to the owner of the queue's root partition, always over the network (the
// engine forwards only while another process holds the root; should the
// ring say this one, its own server answers, or refuses while its engine
// has not taken the root yet). A call is tried once, never retried: a
// failed forward leaves the work where it is (a task handed back or
// written, a poll waiting here), which is better than waiting on a root
// that moved or died.
type MatchingForwarder struct {
	ring  membership.Ring
	conns *Conns
}

var _ matching.Forwarder = (*MatchingForwarder)(nil)

// NewMatchingForwarder routes over ring.
func NewMatchingForwarder(ring membership.Ring, conns *Conns) *MatchingForwarder {
	return &MatchingForwarder{ring: ring, conns: conns}
}

func (f *MatchingForwarder) toRoot(ctx context.Context, namespaceID, taskQueue string, activity bool,
	remote func(context.Context, rpcpb.MatchingServiceClient) error) error {
	return callOwner(ctx, f.ring, f.conns, membership.RoleMatching, queueKey(namespaceID, taskQueue, activity), false, nil,
		func(ctx context.Context, cc *grpc.ClientConn) error {
			return FromStatus(remote(ctx, rpcpb.NewMatchingServiceClient(cc)))
		})
}

func (f *MatchingForwarder) ForwardTask(ctx context.Context, t *matching.ForwardedTask) (bool, error) {
	var matched bool
	err := f.toRoot(ctx, t.NamespaceID, t.TaskQueue, t.Activity, func(ctx context.Context, cl rpcpb.MatchingServiceClient) error {
		r, err := cl.ForwardTask(ctx, forwardedTaskPB(t))
		matched = r.GetMatched()
		return err
	})
	return matched && err == nil, err
}

func (f *MatchingForwarder) ForwardPollWorkflowTask(ctx context.Context, namespaceID string, req *workflowservice.PollWorkflowTaskQueueRequest) (*workflowservice.PollWorkflowTaskQueueResponse, error) {
	var resp *workflowservice.PollWorkflowTaskQueueResponse
	err := f.toRoot(ctx, namespaceID, req.GetTaskQueue().GetName(), false, func(ctx context.Context, cl rpcpb.MatchingServiceClient) (err error) {
		ctx, cancel := pollContext(ctx)
		defer cancel()
		resp, err = cl.PollWorkflowTaskQueue(ctx, &rpcpb.PollWorkflowTaskQueueRequest{NamespaceId: namespaceID,
			Request: req, Forwarded: true})
		return err
	})
	if pollEnded(ctx, err) {
		return &workflowservice.PollWorkflowTaskQueueResponse{}, nil
	}
	return resp, err
}

func (f *MatchingForwarder) ForwardPollActivityTask(ctx context.Context, namespaceID string, req *workflowservice.PollActivityTaskQueueRequest) (*workflowservice.PollActivityTaskQueueResponse, error) {
	var resp *workflowservice.PollActivityTaskQueueResponse
	err := f.toRoot(ctx, namespaceID, req.GetTaskQueue().GetName(), true, func(ctx context.Context, cl rpcpb.MatchingServiceClient) (err error) {
		ctx, cancel := pollContext(ctx)
		defer cancel()
		resp, err = cl.PollActivityTaskQueue(ctx, &rpcpb.PollActivityTaskQueueRequest{NamespaceId: namespaceID,
			Request: req, Forwarded: true})
		return err
	})
	if pollEnded(ctx, err) {
		return &workflowservice.PollActivityTaskQueueResponse{}, nil
	}
	return resp, err
}

func forwardedTaskPB(t *matching.ForwardedTask) *rpcpb.ForwardTaskRequest {
	pb := &rpcpb.ForwardTaskRequest{NamespaceId: t.NamespaceID, TaskQueue: t.TaskQueue, Activity: t.Activity,
		WorkflowId: t.WorkflowID, RunId: t.RunID, ScheduledEventId: t.ScheduledEventID, Backlog: t.Backlog}
	if !t.CreatedAt.IsZero() {
		pb.CreatedAt = t.CreatedAt.UnixNano()
	}
	if !t.ExpiresAt.IsZero() {
		pb.ExpiresAt = timestamppb.New(t.ExpiresAt)
	}
	return pb
}

func forwardedTaskFromPB(pb *rpcpb.ForwardTaskRequest) *matching.ForwardedTask {
	t := &matching.ForwardedTask{NamespaceID: pb.GetNamespaceId(), TaskQueue: pb.GetTaskQueue(), Activity: pb.GetActivity(),
		WorkflowID: pb.GetWorkflowId(), RunID: pb.GetRunId(), ScheduledEventID: pb.GetScheduledEventId(), Backlog: pb.GetBacklog()}
	if pb.GetCreatedAt() != 0 {
		t.CreatedAt = time.Unix(0, pb.GetCreatedAt())
	}
	if pb.GetExpiresAt() != nil {
		t.ExpiresAt = pb.GetExpiresAt().AsTime()
	}
	return t
}
