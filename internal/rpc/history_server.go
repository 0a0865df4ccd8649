package rpc

import (
	"context"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundialhq/sundial/internal/history"
	"github.com/sundialhq/sundial/internal/membership"
	"github.com/sundialhq/sundial/internal/rpc/rpcpb"
)

// HistoryServer serves this process's history role to the others. A call
// for a shard the ring gives to another member answers ErrNotOwner, which
// the caller's HistoryClient retries on the owner.
type HistoryServer struct {
	rpcpb.UnimplementedHistoryServiceServer
	ring      membership.Ring
	numShards int32
	local     HistoryRole
}

// NewHistoryServer serves local.
func NewHistoryServer(ring membership.Ring, numShards int32, local HistoryRole) *HistoryServer {
	return &HistoryServer{ring: ring, numShards: numShards, local: local}
}

func (s *HistoryServer) owns(namespaceID, workflowID string) error {
	return ownsKey(s.ring, membership.RoleHistory,
		membership.ShardKey(history.ShardFor(namespaceID, workflowID, s.numShards)))
}

// serve runs f when this process owns the workflow's shard, with the
// answer in wire form; a nil response becomes an empty one.
func serve[Resp any](s *HistoryServer, namespaceID, workflowID string, f func() (*Resp, error)) (*Resp, error) {
	if err := s.owns(namespaceID, workflowID); err != nil {
		return nil, ToStatus(err)
	}
	resp, err := f()
	if err != nil {
		return nil, ToStatus(err)
	}
	if resp == nil {
		resp = new(Resp)
	}
	return resp, nil
}

func (s *HistoryServer) StartWorkflowExecution(ctx context.Context, r *rpcpb.StartWorkflowExecutionRequest) (*workflowservice.StartWorkflowExecutionResponse, error) {
	return serve(s, r.GetNamespaceId(), r.GetRequest().GetWorkflowId(), func() (*workflowservice.StartWorkflowExecutionResponse, error) {
		return s.local.StartWorkflowExecution(ctx, r.GetNamespaceId(), r.GetRequest())
	})
}

func (s *HistoryServer) RespondWorkflowTaskCompleted(ctx context.Context, r *rpcpb.RespondWorkflowTaskCompletedRequest) (*workflowservice.RespondWorkflowTaskCompletedResponse, error) {
	tok := tokenFromPB(r.GetToken())
	return serve(s, tok.NamespaceID, tok.WorkflowID, func() (*workflowservice.RespondWorkflowTaskCompletedResponse, error) {
		return s.local.RespondWorkflowTaskCompleted(ctx, tok, r.GetRequest())
	})
}

func (s *HistoryServer) RespondWorkflowTaskFailed(ctx context.Context, r *rpcpb.RespondWorkflowTaskFailedRequest) (*rpcpb.Empty, error) {
	tok := tokenFromPB(r.GetToken())
	return serve(s, tok.NamespaceID, tok.WorkflowID, func() (*rpcpb.Empty, error) {
		return nil, s.local.RespondWorkflowTaskFailed(ctx, tok, r.GetRequest())
	})
}

func (s *HistoryServer) RespondActivityTaskCompleted(ctx context.Context, r *rpcpb.RespondActivityTaskCompletedRequest) (*rpcpb.Empty, error) {
	tok := tokenFromPB(r.GetToken())
	return serve(s, tok.NamespaceID, tok.WorkflowID, func() (*rpcpb.Empty, error) {
		return nil, s.local.RespondActivityTaskCompleted(ctx, tok, r.GetResult(), r.GetIdentity())
	})
}

func (s *HistoryServer) RespondActivityTaskFailed(ctx context.Context, r *rpcpb.RespondActivityTaskFailedRequest) (*rpcpb.Empty, error) {
	tok := tokenFromPB(r.GetToken())
	return serve(s, tok.NamespaceID, tok.WorkflowID, func() (*rpcpb.Empty, error) {
		return nil, s.local.RespondActivityTaskFailed(ctx, tok, r.GetFailure(), r.GetLastHeartbeat(), r.GetIdentity())
	})
}

func (s *HistoryServer) RespondActivityTaskCanceled(ctx context.Context, r *rpcpb.RespondActivityTaskCanceledRequest) (*rpcpb.Empty, error) {
	tok := tokenFromPB(r.GetToken())
	return serve(s, tok.NamespaceID, tok.WorkflowID, func() (*rpcpb.Empty, error) {
		return nil, s.local.RespondActivityTaskCanceled(ctx, tok, r.GetDetails(), r.GetIdentity())
	})
}

func (s *HistoryServer) RecordActivityTaskHeartbeat(ctx context.Context, r *rpcpb.RecordActivityTaskHeartbeatRequest) (*rpcpb.RecordActivityTaskHeartbeatResponse, error) {
	tok := tokenFromPB(r.GetToken())
	return serve(s, tok.NamespaceID, tok.WorkflowID, func() (*rpcpb.RecordActivityTaskHeartbeatResponse, error) {
		ans, err := s.local.RecordActivityTaskHeartbeat(ctx, tok, r.GetDetails(), r.GetIdentity())
		return &rpcpb.RecordActivityTaskHeartbeatResponse{CancelRequested: ans.CancelRequested, Paused: ans.Paused,
			ActivityReset: ans.Reset}, err
	})
}

func (s *HistoryServer) GetWorkflowExecutionHistory(ctx context.Context, r *rpcpb.GetWorkflowExecutionHistoryRequest) (*workflowservice.GetWorkflowExecutionHistoryResponse, error) {
	return serve(s, r.GetNamespaceId(), r.GetRequest().GetExecution().GetWorkflowId(), func() (*workflowservice.GetWorkflowExecutionHistoryResponse, error) {
		return s.local.GetWorkflowExecutionHistory(ctx, r.GetNamespaceId(), r.GetRequest())
	})
}

func (s *HistoryServer) GetWorkflowExecutionHistoryReverse(ctx context.Context, r *rpcpb.GetWorkflowExecutionHistoryReverseRequest) (*workflowservice.GetWorkflowExecutionHistoryReverseResponse, error) {
	return serve(s, r.GetNamespaceId(), r.GetRequest().GetExecution().GetWorkflowId(), func() (*workflowservice.GetWorkflowExecutionHistoryReverseResponse, error) {
		return s.local.GetWorkflowExecutionHistoryReverse(ctx, r.GetNamespaceId(), r.GetRequest())
	})
}

func (s *HistoryServer) SignalWorkflowExecution(ctx context.Context, r *rpcpb.SignalWorkflowExecutionRequest) (*rpcpb.Empty, error) {
	return serve(s, r.GetNamespaceId(), r.GetRequest().GetWorkflowExecution().GetWorkflowId(), func() (*rpcpb.Empty, error) {
		return nil, s.local.SignalWorkflowExecution(ctx, r.GetNamespaceId(), r.GetRequest())
	})
}

func (s *HistoryServer) SignalWithStartWorkflowExecution(ctx context.Context, r *rpcpb.SignalWithStartWorkflowExecutionRequest) (*workflowservice.SignalWithStartWorkflowExecutionResponse, error) {
	sig := r.GetSignal()
	return serve(s, r.GetNamespaceId(), r.GetStart().GetWorkflowId(), func() (*workflowservice.SignalWithStartWorkflowExecutionResponse, error) {
		return s.local.SignalWithStartWorkflowExecution(ctx, r.GetNamespaceId(), r.GetStart(), history.SignalInput{
			Name: sig.GetName(), Input: sig.GetInput(), Header: sig.GetHeader(), Identity: sig.GetIdentity(),
			RequestID: sig.GetRequestId(), EndsStartDelay: sig.GetEndsStartDelay()})
	})
}

func (s *HistoryServer) RequestCancelWorkflowExecution(ctx context.Context, r *rpcpb.RequestCancelWorkflowExecutionRequest) (*rpcpb.Empty, error) {
	return serve(s, r.GetNamespaceId(), r.GetRequest().GetWorkflowExecution().GetWorkflowId(), func() (*rpcpb.Empty, error) {
		return nil, s.local.RequestCancelWorkflowExecution(ctx, r.GetNamespaceId(), r.GetRequest())
	})
}

func (s *HistoryServer) TerminateWorkflowExecution(ctx context.Context, r *rpcpb.TerminateWorkflowExecutionRequest) (*rpcpb.Empty, error) {
	return serve(s, r.GetNamespaceId(), r.GetRequest().GetWorkflowExecution().GetWorkflowId(), func() (*rpcpb.Empty, error) {
		return nil, s.local.TerminateWorkflowExecution(ctx, r.GetNamespaceId(), r.GetRequest())
	})
}

func (s *HistoryServer) DescribeWorkflowExecution(ctx context.Context, r *rpcpb.DescribeWorkflowExecutionRequest) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	return serve(s, r.GetNamespaceId(), r.GetRequest().GetExecution().GetWorkflowId(), func() (*workflowservice.DescribeWorkflowExecutionResponse, error) {
		return s.local.DescribeWorkflowExecution(ctx, r.GetNamespaceId(), r.GetRequest())
	})
}

func (s *HistoryServer) QueryWorkflow(ctx context.Context, r *rpcpb.QueryWorkflowRequest) (*workflowservice.QueryWorkflowResponse, error) {
	return serve(s, r.GetNamespaceId(), r.GetRequest().GetExecution().GetWorkflowId(), func() (*workflowservice.QueryWorkflowResponse, error) {
		return s.local.QueryWorkflow(ctx, r.GetNamespaceId(), r.GetRequest())
	})
}

func (s *HistoryServer) ResetStickyTaskQueue(ctx context.Context, r *rpcpb.ExecutionRequest) (*rpcpb.Empty, error) {
	return serve(s, r.GetNamespaceId(), r.GetExecution().GetWorkflowId(), func() (*rpcpb.Empty, error) {
		return nil, s.local.ResetStickyTaskQueue(ctx, r.GetNamespaceId(), r.GetExecution())
	})
}

func (s *HistoryServer) UpdateWorkflowExecution(ctx context.Context, r *rpcpb.UpdateWorkflowExecutionRequest) (*workflowservice.UpdateWorkflowExecutionResponse, error) {
	return serve(s, r.GetNamespaceId(), r.GetRequest().GetWorkflowExecution().GetWorkflowId(), func() (*workflowservice.UpdateWorkflowExecutionResponse, error) {
		return s.local.UpdateWorkflowExecution(ctx, r.GetNamespaceId(), r.GetRequest())
	})
}

func (s *HistoryServer) PollWorkflowExecutionUpdate(ctx context.Context, r *rpcpb.PollWorkflowExecutionUpdateRequest) (*workflowservice.PollWorkflowExecutionUpdateResponse, error) {
	return serve(s, r.GetNamespaceId(), r.GetRequest().GetUpdateRef().GetWorkflowExecution().GetWorkflowId(), func() (*workflowservice.PollWorkflowExecutionUpdateResponse, error) {
		return s.local.PollWorkflowExecutionUpdate(ctx, r.GetNamespaceId(), r.GetRequest())
	})
}

func (s *HistoryServer) DeleteWorkflowExecution(ctx context.Context, r *rpcpb.ExecutionRequest) (*rpcpb.Empty, error) {
	return serve(s, r.GetNamespaceId(), r.GetExecution().GetWorkflowId(), func() (*rpcpb.Empty, error) {
		return nil, s.local.DeleteWorkflowExecution(ctx, r.GetNamespaceId(), r.GetExecution())
	})
}

func (s *HistoryServer) ResetWorkflowExecution(ctx context.Context, r *rpcpb.ResetWorkflowExecutionRequest) (*workflowservice.ResetWorkflowExecutionResponse, error) {
	return serve(s, r.GetNamespaceId(), r.GetRequest().GetWorkflowExecution().GetWorkflowId(), func() (*workflowservice.ResetWorkflowExecutionResponse, error) {
		return s.local.ResetWorkflowExecution(ctx, r.GetNamespaceId(), r.GetRequest())
	})
}

func (s *HistoryServer) RecordWorkflowTaskStarted(ctx context.Context, r *rpcpb.RecordStartedRequest) (*workflowservice.PollWorkflowTaskQueueResponse, error) {
	return serve(s, r.GetNamespaceId(), r.GetWorkflowId(), func() (*workflowservice.PollWorkflowTaskQueueResponse, error) {
		return s.local.RecordWorkflowTaskStarted(ctx, recordStartedFromPB(r))
	})
}

func (s *HistoryServer) RecordActivityTaskStarted(ctx context.Context, r *rpcpb.RecordStartedRequest) (*workflowservice.PollActivityTaskQueueResponse, error) {
	return serve(s, r.GetNamespaceId(), r.GetWorkflowId(), func() (*workflowservice.PollActivityTaskQueueResponse, error) {
		return s.local.RecordActivityTaskStarted(ctx, recordStartedFromPB(r))
	})
}
