package rpc

import (
	"context"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundialhq/sundial/internal/history"
	sm "github.com/sundialhq/sundial/internal/history/statemachine"
	"github.com/sundialhq/sundial/internal/persistence"
	"github.com/sundialhq/sundial/internal/rpc/rpcpb"
)

// CrossShardClient is history.CrossShard routed to the target workflow's
// shard owner; local is this process's engine (nil when it runs no
// history, though only history engines use it).
type CrossShardClient struct {
	c     *HistoryClient
	local history.CrossShard
}

var _ history.CrossShard = (*CrossShardClient)(nil)

// CrossShard returns c as a history.CrossShard over local.
func (c *HistoryClient) CrossShard(local history.CrossShard) *CrossShardClient {
	return &CrossShardClient{c: c, local: local}
}

func keyPB(k persistence.WorkflowKey) *rpcpb.WorkflowKey {
	return &rpcpb.WorkflowKey{NamespaceId: k.NamespaceID, WorkflowId: k.WorkflowID, RunId: k.RunID}
}

func keyFromPB(k *rpcpb.WorkflowKey) persistence.WorkflowKey {
	return persistence.WorkflowKey{NamespaceID: k.GetNamespaceId(), WorkflowID: k.GetWorkflowId(), RunID: k.GetRunId()}
}

func signalPB(s sm.SignalInput) *rpcpb.SignalInput {
	return &rpcpb.SignalInput{Name: s.Name, Input: s.Input, Header: s.Header, Identity: s.Identity,
		RequestId: s.RequestID, EndsStartDelay: s.EndsStartDelay}
}

func signalFromPB(s *rpcpb.SignalInput) sm.SignalInput {
	return sm.SignalInput{Name: s.GetName(), Input: s.GetInput(), Header: s.GetHeader(), Identity: s.GetIdentity(),
		RequestID: s.GetRequestId(), EndsStartDelay: s.GetEndsStartDelay()}
}

func (x *CrossShardClient) call(ctx context.Context, namespaceID, workflowID string,
	local func(context.Context) error, remote func(context.Context, rpcpb.HistoryServiceClient) error) error {
	c := x.c
	return c.call(ctx, namespaceID, workflowID,
		func(ctx context.Context, _ HistoryRole) error { return local(ctx) }, remote)
}

func (x *CrossShardClient) StartChild(ctx context.Context, req *history.ChildStartRequest) (*workflowservice.StartWorkflowExecutionResponse, error) {
	var resp *workflowservice.StartWorkflowExecutionResponse
	err := x.call(ctx, req.NamespaceID, req.Request.GetWorkflowId(),
		func(ctx context.Context) (err error) { resp, err = x.local.StartChild(ctx, req); return err },
		func(ctx context.Context, cl rpcpb.HistoryServiceClient) (err error) {
			p := req.Parent
			resp, err = cl.StartChild(ctx, &rpcpb.StartChildRequest{NamespaceId: req.NamespaceID, Request: req.Request,
				Parent: &rpcpb.ParentInfo{NamespaceId: p.NamespaceID, Namespace: p.Namespace, WorkflowId: p.WorkflowID,
					RunId: p.RunID, InitiatedEventId: p.InitiatedEventID},
				RootWorkflowId: req.RootWorkflowID, RootRunId: req.RootRunID})
			return err
		})
	return resp, err
}

func (x *CrossShardClient) RecordChildClosed(ctx context.Context, req *history.ChildClosedRequest) error {
	return x.call(ctx, req.Parent.NamespaceID, req.Parent.WorkflowID,
		func(ctx context.Context) error { return x.local.RecordChildClosed(ctx, req) },
		func(ctx context.Context, cl rpcpb.HistoryServiceClient) error {
			_, err := cl.RecordChildClosed(ctx, &rpcpb.RecordChildClosedRequest{Parent: keyPB(req.Parent),
				InitiatedEventId: req.InitiatedEventID, ChildNamespaceId: req.ChildNamespaceID,
				ChildFirstRunId: req.ChildFirstRunID, CloseEvent: req.CloseEvent})
			return err
		})
}

func (x *CrossShardClient) ApplyParentClosePolicy(ctx context.Context, req *history.ParentCloseRequest) error {
	return x.call(ctx, req.Child.NamespaceID, req.Child.WorkflowID,
		func(ctx context.Context) error { return x.local.ApplyParentClosePolicy(ctx, req) },
		func(ctx context.Context, cl rpcpb.HistoryServiceClient) error {
			_, err := cl.ApplyParentClosePolicy(ctx, &rpcpb.ApplyParentClosePolicyRequest{Parent: keyPB(req.Parent),
				Child: keyPB(req.Child), Policy: req.Policy})
			return err
		})
}

func (x *CrossShardClient) SignalExternal(ctx context.Context, req *history.ExternalSignalRequest) error {
	return x.call(ctx, req.NamespaceID, req.Execution.GetWorkflowId(),
		func(ctx context.Context) error { return x.local.SignalExternal(ctx, req) },
		func(ctx context.Context, cl rpcpb.HistoryServiceClient) error {
			_, err := cl.SignalExternal(ctx, &rpcpb.SignalExternalRequest{Source: keyPB(req.Source),
				NamespaceId: req.NamespaceID, Execution: req.Execution, ChildOnly: req.ChildOnly, Signal: signalPB(req.Signal)})
			return err
		})
}

func (x *CrossShardClient) CancelExternal(ctx context.Context, req *history.ExternalCancelRequest) error {
	return x.call(ctx, req.NamespaceID, req.Execution.GetWorkflowId(),
		func(ctx context.Context) error { return x.local.CancelExternal(ctx, req) },
		func(ctx context.Context, cl rpcpb.HistoryServiceClient) error {
			_, err := cl.CancelExternal(ctx, &rpcpb.CancelExternalRequest{Source: keyPB(req.Source),
				NamespaceId: req.NamespaceID, Execution: req.Execution, ChildOnly: req.ChildOnly,
				RequestId: req.RequestID, Reason: req.Reason})
			return err
		})
}

// The server side: HistoryServer's local engine is also a CrossShard.

func (s *HistoryServer) crossShard() history.CrossShard {
	if x, ok := s.local.(history.CrossShard); ok {
		return x
	}
	return noCrossShard{}
}

// noCrossShard answers for a local history that cannot act on other
// workflows (test fakes): as a host that does not own the key.
type noCrossShard struct{}

func (noCrossShard) StartChild(context.Context, *history.ChildStartRequest) (*workflowservice.StartWorkflowExecutionResponse, error) {
	return nil, ErrNotOwner
}
func (noCrossShard) RecordChildClosed(context.Context, *history.ChildClosedRequest) error {
	return ErrNotOwner
}
func (noCrossShard) ApplyParentClosePolicy(context.Context, *history.ParentCloseRequest) error {
	return ErrNotOwner
}
func (noCrossShard) SignalExternal(context.Context, *history.ExternalSignalRequest) error {
	return ErrNotOwner
}
func (noCrossShard) CancelExternal(context.Context, *history.ExternalCancelRequest) error {
	return ErrNotOwner
}

func (s *HistoryServer) StartChild(ctx context.Context, r *rpcpb.StartChildRequest) (*workflowservice.StartWorkflowExecutionResponse, error) {
	return serve(s, r.GetNamespaceId(), r.GetRequest().GetWorkflowId(), func() (*workflowservice.StartWorkflowExecutionResponse, error) {
		p := r.GetParent()
		return s.crossShard().StartChild(ctx, &history.ChildStartRequest{NamespaceID: r.GetNamespaceId(), Request: r.GetRequest(),
			Parent: &sm.ParentInfo{NamespaceID: p.GetNamespaceId(), Namespace: p.GetNamespace(), WorkflowID: p.GetWorkflowId(),
				RunID: p.GetRunId(), InitiatedEventID: p.GetInitiatedEventId()},
			RootWorkflowID: r.GetRootWorkflowId(), RootRunID: r.GetRootRunId()})
	})
}

func (s *HistoryServer) RecordChildClosed(ctx context.Context, r *rpcpb.RecordChildClosedRequest) (*rpcpb.Empty, error) {
	parent := keyFromPB(r.GetParent())
	return serve(s, parent.NamespaceID, parent.WorkflowID, func() (*rpcpb.Empty, error) {
		return nil, s.crossShard().RecordChildClosed(ctx, &history.ChildClosedRequest{Parent: parent,
			InitiatedEventID: r.GetInitiatedEventId(), ChildNamespaceID: r.GetChildNamespaceId(),
			ChildFirstRunID: r.GetChildFirstRunId(), CloseEvent: r.GetCloseEvent()})
	})
}

func (s *HistoryServer) ApplyParentClosePolicy(ctx context.Context, r *rpcpb.ApplyParentClosePolicyRequest) (*rpcpb.Empty, error) {
	child := keyFromPB(r.GetChild())
	return serve(s, child.NamespaceID, child.WorkflowID, func() (*rpcpb.Empty, error) {
		return nil, s.crossShard().ApplyParentClosePolicy(ctx, &history.ParentCloseRequest{Parent: keyFromPB(r.GetParent()),
			Child: child, Policy: r.GetPolicy()})
	})
}

func (s *HistoryServer) SignalExternal(ctx context.Context, r *rpcpb.SignalExternalRequest) (*rpcpb.Empty, error) {
	return serve(s, r.GetNamespaceId(), r.GetExecution().GetWorkflowId(), func() (*rpcpb.Empty, error) {
		return nil, s.crossShard().SignalExternal(ctx, &history.ExternalSignalRequest{Source: keyFromPB(r.GetSource()),
			NamespaceID: r.GetNamespaceId(), Execution: r.GetExecution(), ChildOnly: r.GetChildOnly(),
			Signal: signalFromPB(r.GetSignal())})
	})
}

func (s *HistoryServer) CancelExternal(ctx context.Context, r *rpcpb.CancelExternalRequest) (*rpcpb.Empty, error) {
	return serve(s, r.GetNamespaceId(), r.GetExecution().GetWorkflowId(), func() (*rpcpb.Empty, error) {
		return nil, s.crossShard().CancelExternal(ctx, &history.ExternalCancelRequest{Source: keyFromPB(r.GetSource()),
			NamespaceID: r.GetNamespaceId(), Execution: r.GetExecution(), ChildOnly: r.GetChildOnly(),
			RequestID: r.GetRequestId(), Reason: r.GetReason()})
	})
}
