package rpc

import (
	"context"

	commonpb "go.temporal.io/api/common/v1"
	failurepb "go.temporal.io/api/failure/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"

	"github.com/sundialhq/sundial/internal/history"
	"github.com/sundialhq/sundial/internal/matching"
	"github.com/sundialhq/sundial/internal/membership"
	"github.com/sundialhq/sundial/internal/rpc/rpcpb"
	"github.com/sundialhq/sundial/internal/tasktoken"
)

// HistoryRole is the history role as the other roles use it: the
// frontend's history.Service and matching's HistoryClient.
type HistoryRole interface {
	history.Service
	matching.HistoryClient
}

var (
	_ HistoryRole                 = (*HistoryClient)(nil)
	_ rpcpb.HistoryServiceServer  = (*HistoryServer)(nil)
	_ rpcpb.MatchingServiceServer = (*MatchingServer)(nil)
)

func tokenPB(t *tasktoken.Token) *rpcpb.TaskToken {
	return &rpcpb.TaskToken{NamespaceId: t.NamespaceID, WorkflowId: t.WorkflowID, RunId: t.RunID,
		ScheduledEventId: t.ScheduledEventID, StartedEventId: t.StartedEventID, Attempt: t.Attempt,
		ActivityId: t.ActivityID, Activity: t.Activity}
}

func tokenFromPB(t *rpcpb.TaskToken) *tasktoken.Token {
	return &tasktoken.Token{NamespaceID: t.GetNamespaceId(), WorkflowID: t.GetWorkflowId(), RunID: t.GetRunId(),
		ScheduledEventID: t.GetScheduledEventId(), StartedEventID: t.GetStartedEventId(), Attempt: t.GetAttempt(),
		ActivityID: t.GetActivityId(), Activity: t.GetActivity()}
}

func recordStartedPB(r *matching.RecordStartedRequest) *rpcpb.RecordStartedRequest {
	return &rpcpb.RecordStartedRequest{NamespaceId: r.NamespaceID, WorkflowId: r.WorkflowID, RunId: r.RunID,
		ScheduledEventId: r.ScheduledEventID, PollRequestId: r.PollRequestID, Identity: r.Identity, TaskQueue: r.TaskQueue}
}

func recordStartedFromPB(r *rpcpb.RecordStartedRequest) *matching.RecordStartedRequest {
	return &matching.RecordStartedRequest{NamespaceID: r.GetNamespaceId(), WorkflowID: r.GetWorkflowId(), RunID: r.GetRunId(),
		ScheduledEventID: r.GetScheduledEventId(), PollRequestID: r.GetPollRequestId(), Identity: r.GetIdentity(),
		TaskQueue: r.GetTaskQueue()}
}

// ownsKey returns ErrNotOwner unless this process is the ring's owner of
// key for role.
func ownsKey(ring membership.Ring, role, key string) error {
	self, ok := ring.Self(role)
	if !ok {
		return ErrNotOwner
	}
	owner, err := ring.Lookup(role, key)
	if err != nil || owner.Identity != self.Identity {
		return ErrNotOwner
	}
	return nil
}

// HistoryClient is the history role for a process that may not own the
// workflow's shard: each call goes to the shard's owner.
type HistoryClient struct {
	ring      membership.Ring
	conns     *Conns
	numShards int32
	local     HistoryRole // nil when this process does not run history
}

// NewHistoryClient routes over ring; local is this process's history
// engine, or nil.
func NewHistoryClient(ring membership.Ring, conns *Conns, numShards int32, local HistoryRole) *HistoryClient {
	return &HistoryClient{ring: ring, conns: conns, numShards: numShards, local: local}
}

func (c *HistoryClient) call(ctx context.Context, namespaceID, workflowID string,
	local func(context.Context, HistoryRole) error, remote func(context.Context, rpcpb.HistoryServiceClient) error) error {
	key := membership.ShardKey(history.ShardFor(namespaceID, workflowID, c.numShards))
	return route(ctx, c.ring, c.conns, membership.RoleHistory, key, c.local != nil,
		func(ctx context.Context) error { return local(ctx, c.local) },
		func(ctx context.Context, cc *grpc.ClientConn) error {
			return FromStatus(remote(ctx, rpcpb.NewHistoryServiceClient(cc)))
		})
}

// unary is call for a request/response method.
func unary[Resp any](ctx context.Context, c *HistoryClient, namespaceID, workflowID string,
	local func(context.Context, HistoryRole) (Resp, error),
	remote func(context.Context, rpcpb.HistoryServiceClient) (Resp, error)) (Resp, error) {
	var resp Resp
	err := c.call(ctx, namespaceID, workflowID,
		func(ctx context.Context, h HistoryRole) (err error) { resp, err = local(ctx, h); return err },
		func(ctx context.Context, cl rpcpb.HistoryServiceClient) (err error) {
			resp, err = remote(ctx, cl)
			return err
		})
	return resp, err
}

func (c *HistoryClient) StartWorkflowExecution(ctx context.Context, namespaceID string, req *workflowservice.StartWorkflowExecutionRequest) (*workflowservice.StartWorkflowExecutionResponse, error) {
	return unary(ctx, c, namespaceID, req.GetWorkflowId(),
		func(ctx context.Context, h HistoryRole) (*workflowservice.StartWorkflowExecutionResponse, error) {
			return h.StartWorkflowExecution(ctx, namespaceID, req)
		},
		func(ctx context.Context, cl rpcpb.HistoryServiceClient) (*workflowservice.StartWorkflowExecutionResponse, error) {
			return cl.StartWorkflowExecution(ctx, &rpcpb.StartWorkflowExecutionRequest{NamespaceId: namespaceID, Request: req})
		})
}

func (c *HistoryClient) RespondWorkflowTaskCompleted(ctx context.Context, tok *tasktoken.Token, req *workflowservice.RespondWorkflowTaskCompletedRequest) (*workflowservice.RespondWorkflowTaskCompletedResponse, error) {
	return unary(ctx, c, tok.NamespaceID, tok.WorkflowID,
		func(ctx context.Context, h HistoryRole) (*workflowservice.RespondWorkflowTaskCompletedResponse, error) {
			return h.RespondWorkflowTaskCompleted(ctx, tok, req)
		},
		func(ctx context.Context, cl rpcpb.HistoryServiceClient) (*workflowservice.RespondWorkflowTaskCompletedResponse, error) {
			return cl.RespondWorkflowTaskCompleted(ctx, &rpcpb.RespondWorkflowTaskCompletedRequest{Token: tokenPB(tok), Request: req})
		})
}

func (c *HistoryClient) RespondWorkflowTaskFailed(ctx context.Context, tok *tasktoken.Token, req *workflowservice.RespondWorkflowTaskFailedRequest) error {
	return c.call(ctx, tok.NamespaceID, tok.WorkflowID,
		func(ctx context.Context, h HistoryRole) error { return h.RespondWorkflowTaskFailed(ctx, tok, req) },
		func(ctx context.Context, cl rpcpb.HistoryServiceClient) error {
			_, err := cl.RespondWorkflowTaskFailed(ctx, &rpcpb.RespondWorkflowTaskFailedRequest{Token: tokenPB(tok), Request: req})
			return err
		})
}

func (c *HistoryClient) RespondActivityTaskCompleted(ctx context.Context, tok *tasktoken.Token, result *commonpb.Payloads, identity string) error {
	return c.call(ctx, tok.NamespaceID, tok.WorkflowID,
		func(ctx context.Context, h HistoryRole) error {
			return h.RespondActivityTaskCompleted(ctx, tok, result, identity)
		},
		func(ctx context.Context, cl rpcpb.HistoryServiceClient) error {
			_, err := cl.RespondActivityTaskCompleted(ctx, &rpcpb.RespondActivityTaskCompletedRequest{
				Token: tokenPB(tok), Result: result, Identity: identity})
			return err
		})
}

func (c *HistoryClient) RespondActivityTaskFailed(ctx context.Context, tok *tasktoken.Token, failure *failurepb.Failure, lastHeartbeat *commonpb.Payloads, identity string) error {
	return c.call(ctx, tok.NamespaceID, tok.WorkflowID,
		func(ctx context.Context, h HistoryRole) error {
			return h.RespondActivityTaskFailed(ctx, tok, failure, lastHeartbeat, identity)
		},
		func(ctx context.Context, cl rpcpb.HistoryServiceClient) error {
			_, err := cl.RespondActivityTaskFailed(ctx, &rpcpb.RespondActivityTaskFailedRequest{
				Token: tokenPB(tok), Failure: failure, LastHeartbeat: lastHeartbeat, Identity: identity})
			return err
		})
}

func (c *HistoryClient) RespondActivityTaskCanceled(ctx context.Context, tok *tasktoken.Token, details *commonpb.Payloads, identity string) error {
	return c.call(ctx, tok.NamespaceID, tok.WorkflowID,
		func(ctx context.Context, h HistoryRole) error {
			return h.RespondActivityTaskCanceled(ctx, tok, details, identity)
		},
		func(ctx context.Context, cl rpcpb.HistoryServiceClient) error {
			_, err := cl.RespondActivityTaskCanceled(ctx, &rpcpb.RespondActivityTaskCanceledRequest{
				Token: tokenPB(tok), Details: details, Identity: identity})
			return err
		})
}

func (c *HistoryClient) RecordActivityTaskHeartbeat(ctx context.Context, tok *tasktoken.Token, details *commonpb.Payloads, identity string) (history.HeartbeatAnswer, error) {
	return unary(ctx, c, tok.NamespaceID, tok.WorkflowID,
		func(ctx context.Context, h HistoryRole) (history.HeartbeatAnswer, error) {
			return h.RecordActivityTaskHeartbeat(ctx, tok, details, identity)
		},
		func(ctx context.Context, cl rpcpb.HistoryServiceClient) (history.HeartbeatAnswer, error) {
			resp, err := cl.RecordActivityTaskHeartbeat(ctx, &rpcpb.RecordActivityTaskHeartbeatRequest{
				Token: tokenPB(tok), Details: details, Identity: identity})
			return history.HeartbeatAnswer{CancelRequested: resp.GetCancelRequested(), Paused: resp.GetPaused(),
				Reset: resp.GetActivityReset()}, err
		})
}

func (c *HistoryClient) GetWorkflowExecutionHistory(ctx context.Context, namespaceID string, req *workflowservice.GetWorkflowExecutionHistoryRequest) (*workflowservice.GetWorkflowExecutionHistoryResponse, error) {
	return unary(ctx, c, namespaceID, req.GetExecution().GetWorkflowId(),
		func(ctx context.Context, h HistoryRole) (*workflowservice.GetWorkflowExecutionHistoryResponse, error) {
			return h.GetWorkflowExecutionHistory(ctx, namespaceID, req)
		},
		func(ctx context.Context, cl rpcpb.HistoryServiceClient) (*workflowservice.GetWorkflowExecutionHistoryResponse, error) {
			return cl.GetWorkflowExecutionHistory(ctx, &rpcpb.GetWorkflowExecutionHistoryRequest{NamespaceId: namespaceID, Request: req})
		})
}

func (c *HistoryClient) GetWorkflowExecutionHistoryReverse(ctx context.Context, namespaceID string, req *workflowservice.GetWorkflowExecutionHistoryReverseRequest) (*workflowservice.GetWorkflowExecutionHistoryReverseResponse, error) {
	return unary(ctx, c, namespaceID, req.GetExecution().GetWorkflowId(),
		func(ctx context.Context, h HistoryRole) (*workflowservice.GetWorkflowExecutionHistoryReverseResponse, error) {
			return h.GetWorkflowExecutionHistoryReverse(ctx, namespaceID, req)
		},
		func(ctx context.Context, cl rpcpb.HistoryServiceClient) (*workflowservice.GetWorkflowExecutionHistoryReverseResponse, error) {
			return cl.GetWorkflowExecutionHistoryReverse(ctx, &rpcpb.GetWorkflowExecutionHistoryReverseRequest{NamespaceId: namespaceID, Request: req})
		})
}

func (c *HistoryClient) SignalWorkflowExecution(ctx context.Context, namespaceID string, req *workflowservice.SignalWorkflowExecutionRequest) error {
	return c.call(ctx, namespaceID, req.GetWorkflowExecution().GetWorkflowId(),
		func(ctx context.Context, h HistoryRole) error {
			return h.SignalWorkflowExecution(ctx, namespaceID, req)
		},
		func(ctx context.Context, cl rpcpb.HistoryServiceClient) error {
			_, err := cl.SignalWorkflowExecution(ctx, &rpcpb.SignalWorkflowExecutionRequest{NamespaceId: namespaceID, Request: req})
			return err
		})
}

func (c *HistoryClient) SignalWithStartWorkflowExecution(ctx context.Context, namespaceID string, start *workflowservice.StartWorkflowExecutionRequest, sig history.SignalInput) (*workflowservice.SignalWithStartWorkflowExecutionResponse, error) {
	return unary(ctx, c, namespaceID, start.GetWorkflowId(),
		func(ctx context.Context, h HistoryRole) (*workflowservice.SignalWithStartWorkflowExecutionResponse, error) {
			return h.SignalWithStartWorkflowExecution(ctx, namespaceID, start, sig)
		},
		func(ctx context.Context, cl rpcpb.HistoryServiceClient) (*workflowservice.SignalWithStartWorkflowExecutionResponse, error) {
			return cl.SignalWithStartWorkflowExecution(ctx, &rpcpb.SignalWithStartWorkflowExecutionRequest{
				NamespaceId: namespaceID, Start: start, Signal: &rpcpb.SignalInput{Name: sig.Name, Input: sig.Input,
					Header: sig.Header, Identity: sig.Identity, RequestId: sig.RequestID, EndsStartDelay: sig.EndsStartDelay}})
		})
}

func (c *HistoryClient) RequestCancelWorkflowExecution(ctx context.Context, namespaceID string, req *workflowservice.RequestCancelWorkflowExecutionRequest) error {
	return c.call(ctx, namespaceID, req.GetWorkflowExecution().GetWorkflowId(),
		func(ctx context.Context, h HistoryRole) error {
			return h.RequestCancelWorkflowExecution(ctx, namespaceID, req)
		},
		func(ctx context.Context, cl rpcpb.HistoryServiceClient) error {
			_, err := cl.RequestCancelWorkflowExecution(ctx, &rpcpb.RequestCancelWorkflowExecutionRequest{NamespaceId: namespaceID, Request: req})
			return err
		})
}

func (c *HistoryClient) TerminateWorkflowExecution(ctx context.Context, namespaceID string, req *workflowservice.TerminateWorkflowExecutionRequest) error {
	return c.call(ctx, namespaceID, req.GetWorkflowExecution().GetWorkflowId(),
		func(ctx context.Context, h HistoryRole) error {
			return h.TerminateWorkflowExecution(ctx, namespaceID, req)
		},
		func(ctx context.Context, cl rpcpb.HistoryServiceClient) error {
			_, err := cl.TerminateWorkflowExecution(ctx, &rpcpb.TerminateWorkflowExecutionRequest{NamespaceId: namespaceID, Request: req})
			return err
		})
}

func (c *HistoryClient) DescribeWorkflowExecution(ctx context.Context, namespaceID string, req *workflowservice.DescribeWorkflowExecutionRequest) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	return unary(ctx, c, namespaceID, req.GetExecution().GetWorkflowId(),
		func(ctx context.Context, h HistoryRole) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
			return h.DescribeWorkflowExecution(ctx, namespaceID, req)
		},
		func(ctx context.Context, cl rpcpb.HistoryServiceClient) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
			return cl.DescribeWorkflowExecution(ctx, &rpcpb.DescribeWorkflowExecutionRequest{NamespaceId: namespaceID, Request: req})
		})
}

func (c *HistoryClient) QueryWorkflow(ctx context.Context, namespaceID string, req *workflowservice.QueryWorkflowRequest) (*workflowservice.QueryWorkflowResponse, error) {
	return unary(ctx, c, namespaceID, req.GetExecution().GetWorkflowId(),
		func(ctx context.Context, h HistoryRole) (*workflowservice.QueryWorkflowResponse, error) {
			return h.QueryWorkflow(ctx, namespaceID, req)
		},
		func(ctx context.Context, cl rpcpb.HistoryServiceClient) (*workflowservice.QueryWorkflowResponse, error) {
			return cl.QueryWorkflow(ctx, &rpcpb.QueryWorkflowRequest{NamespaceId: namespaceID, Request: req})
		})
}

func (c *HistoryClient) ResetStickyTaskQueue(ctx context.Context, namespaceID string, exec *commonpb.WorkflowExecution) error {
	return c.call(ctx, namespaceID, exec.GetWorkflowId(),
		func(ctx context.Context, h HistoryRole) error { return h.ResetStickyTaskQueue(ctx, namespaceID, exec) },
		func(ctx context.Context, cl rpcpb.HistoryServiceClient) error {
			_, err := cl.ResetStickyTaskQueue(ctx, &rpcpb.ExecutionRequest{NamespaceId: namespaceID, Execution: exec})
			return err
		})
}

func (c *HistoryClient) UpdateWorkflowExecution(ctx context.Context, namespaceID string, req *workflowservice.UpdateWorkflowExecutionRequest) (*workflowservice.UpdateWorkflowExecutionResponse, error) {
	return unary(ctx, c, namespaceID, req.GetWorkflowExecution().GetWorkflowId(),
		func(ctx context.Context, h HistoryRole) (*workflowservice.UpdateWorkflowExecutionResponse, error) {
			return h.UpdateWorkflowExecution(ctx, namespaceID, req)
		},
		func(ctx context.Context, cl rpcpb.HistoryServiceClient) (*workflowservice.UpdateWorkflowExecutionResponse, error) {
			return cl.UpdateWorkflowExecution(ctx, &rpcpb.UpdateWorkflowExecutionRequest{NamespaceId: namespaceID, Request: req})
		})
}

func (c *HistoryClient) PollWorkflowExecutionUpdate(ctx context.Context, namespaceID string, req *workflowservice.PollWorkflowExecutionUpdateRequest) (*workflowservice.PollWorkflowExecutionUpdateResponse, error) {
	return unary(ctx, c, namespaceID, req.GetUpdateRef().GetWorkflowExecution().GetWorkflowId(),
		func(ctx context.Context, h HistoryRole) (*workflowservice.PollWorkflowExecutionUpdateResponse, error) {
			return h.PollWorkflowExecutionUpdate(ctx, namespaceID, req)
		},
		func(ctx context.Context, cl rpcpb.HistoryServiceClient) (*workflowservice.PollWorkflowExecutionUpdateResponse, error) {
			return cl.PollWorkflowExecutionUpdate(ctx, &rpcpb.PollWorkflowExecutionUpdateRequest{NamespaceId: namespaceID, Request: req})
		})
}

func (c *HistoryClient) DeleteWorkflowExecution(ctx context.Context, namespaceID string, exec *commonpb.WorkflowExecution) error {
	return c.call(ctx, namespaceID, exec.GetWorkflowId(),
		func(ctx context.Context, h HistoryRole) error {
			return h.DeleteWorkflowExecution(ctx, namespaceID, exec)
		},
		func(ctx context.Context, cl rpcpb.HistoryServiceClient) error {
			_, err := cl.DeleteWorkflowExecution(ctx, &rpcpb.ExecutionRequest{NamespaceId: namespaceID, Execution: exec})
			return err
		})
}

func (c *HistoryClient) ResetWorkflowExecution(ctx context.Context, namespaceID string, req *workflowservice.ResetWorkflowExecutionRequest) (*workflowservice.ResetWorkflowExecutionResponse, error) {
	return unary(ctx, c, namespaceID, req.GetWorkflowExecution().GetWorkflowId(),
		func(ctx context.Context, h HistoryRole) (*workflowservice.ResetWorkflowExecutionResponse, error) {
			return h.ResetWorkflowExecution(ctx, namespaceID, req)
		},
		func(ctx context.Context, cl rpcpb.HistoryServiceClient) (*workflowservice.ResetWorkflowExecutionResponse, error) {
			return cl.ResetWorkflowExecution(ctx, &rpcpb.ResetWorkflowExecutionRequest{NamespaceId: namespaceID, Request: req})
		})
}

func (c *HistoryClient) RecordWorkflowTaskStarted(ctx context.Context, req *matching.RecordStartedRequest) (*workflowservice.PollWorkflowTaskQueueResponse, error) {
	return unary(ctx, c, req.NamespaceID, req.WorkflowID,
		func(ctx context.Context, h HistoryRole) (*workflowservice.PollWorkflowTaskQueueResponse, error) {
			return h.RecordWorkflowTaskStarted(ctx, req)
		},
		func(ctx context.Context, cl rpcpb.HistoryServiceClient) (*workflowservice.PollWorkflowTaskQueueResponse, error) {
			return cl.RecordWorkflowTaskStarted(ctx, recordStartedPB(req))
		})
}

func (c *HistoryClient) RecordActivityTaskStarted(ctx context.Context, req *matching.RecordStartedRequest) (*workflowservice.PollActivityTaskQueueResponse, error) {
	return unary(ctx, c, req.NamespaceID, req.WorkflowID,
		func(ctx context.Context, h HistoryRole) (*workflowservice.PollActivityTaskQueueResponse, error) {
			return h.RecordActivityTaskStarted(ctx, req)
		},
		func(ctx context.Context, cl rpcpb.HistoryServiceClient) (*workflowservice.PollActivityTaskQueueResponse, error) {
			return cl.RecordActivityTaskStarted(ctx, recordStartedPB(req))
		})
}
