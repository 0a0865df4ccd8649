package rpc

import (
	"context"

	activitypb "go.temporal.io/api/activity/v1"
	commonpb "go.temporal.io/api/common/v1"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/sundialhq/sundial/internal/history"
	"github.com/sundialhq/sundial/internal/rpc/rpcpb"
)

// The operator calls on a run's activities and options, routed by the
// run's shard like the rest of history.Service.

func selectorPB(s history.ActivitySelector) *rpcpb.ActivitySelector {
	return &rpcpb.ActivitySelector{Id: s.ID, Type: s.Type, All: s.All}
}

func selectorFromPB(s *rpcpb.ActivitySelector) history.ActivitySelector {
	return history.ActivitySelector{ID: s.GetId(), Type: s.GetType(), All: s.GetAll()}
}

func (c *HistoryClient) PauseActivity(ctx context.Context, namespaceID string, exec *commonpb.WorkflowExecution, in history.PauseActivityInput) error {
	return c.call(ctx, namespaceID, exec.GetWorkflowId(),
		func(ctx context.Context, h HistoryRole) error { return h.PauseActivity(ctx, namespaceID, exec, in) },
		func(ctx context.Context, cl rpcpb.HistoryServiceClient) error {
			_, err := cl.PauseActivity(ctx, &rpcpb.PauseActivityRequest{NamespaceId: namespaceID, Execution: exec,
				Selector: selectorPB(in.Selector), Identity: in.Identity, Reason: in.Reason})
			return err
		})
}

func (c *HistoryClient) UnpauseActivity(ctx context.Context, namespaceID string, exec *commonpb.WorkflowExecution, in history.UnpauseActivityInput) error {
	return c.call(ctx, namespaceID, exec.GetWorkflowId(),
		func(ctx context.Context, h HistoryRole) error { return h.UnpauseActivity(ctx, namespaceID, exec, in) },
		func(ctx context.Context, cl rpcpb.HistoryServiceClient) error {
			_, err := cl.UnpauseActivity(ctx, &rpcpb.UnpauseActivityRequest{NamespaceId: namespaceID, Execution: exec,
				Selector: selectorPB(in.Selector), ResetAttempts: in.ResetAttempts, ResetHeartbeat: in.ResetHeartbeat,
				Delay: durationpb.New(in.Delay)})
			return err
		})
}

func (c *HistoryClient) ResetActivity(ctx context.Context, namespaceID string, exec *commonpb.WorkflowExecution, in history.ResetActivityInput) error {
	return c.call(ctx, namespaceID, exec.GetWorkflowId(),
		func(ctx context.Context, h HistoryRole) error { return h.ResetActivity(ctx, namespaceID, exec, in) },
		func(ctx context.Context, cl rpcpb.HistoryServiceClient) error {
			_, err := cl.ResetActivity(ctx, &rpcpb.ResetActivityRequest{NamespaceId: namespaceID, Execution: exec,
				Selector: selectorPB(in.Selector), ResetHeartbeat: in.ResetHeartbeat, KeepPaused: in.KeepPaused,
				RestoreOriginal: in.RestoreOriginal, Delay: durationpb.New(in.Delay)})
			return err
		})
}

func (c *HistoryClient) UpdateActivityOptions(ctx context.Context, namespaceID string, exec *commonpb.WorkflowExecution, in history.UpdateActivityOptionsInput) (*activitypb.ActivityOptions, error) {
	return unary(ctx, c, namespaceID, exec.GetWorkflowId(),
		func(ctx context.Context, h HistoryRole) (*activitypb.ActivityOptions, error) {
			return h.UpdateActivityOptions(ctx, namespaceID, exec, in)
		},
		func(ctx context.Context, cl rpcpb.HistoryServiceClient) (*activitypb.ActivityOptions, error) {
			resp, err := cl.UpdateActivityOptions(ctx, &rpcpb.UpdateActivityOptionsRequest{NamespaceId: namespaceID,
				Execution: exec, Selector: selectorPB(in.Selector), Options: in.Options, Paths: in.Paths,
				RestoreOriginal: in.RestoreOriginal})
			return resp.GetOptions(), err
		})
}

func (c *HistoryClient) UpdateWorkflowPriority(ctx context.Context, namespaceID string, exec *commonpb.WorkflowExecution, upd *commonpb.Priority, paths []string, identity string) (*commonpb.Priority, error) {
	return unary(ctx, c, namespaceID, exec.GetWorkflowId(),
		func(ctx context.Context, h HistoryRole) (*commonpb.Priority, error) {
			return h.UpdateWorkflowPriority(ctx, namespaceID, exec, upd, paths, identity)
		},
		func(ctx context.Context, cl rpcpb.HistoryServiceClient) (*commonpb.Priority, error) {
			resp, err := cl.UpdateWorkflowPriority(ctx, &rpcpb.UpdateWorkflowPriorityRequest{NamespaceId: namespaceID,
				Execution: exec, Priority: upd, Paths: paths, Identity: identity})
			return resp.GetPriority(), err
		})
}

func (s *HistoryServer) PauseActivity(ctx context.Context, r *rpcpb.PauseActivityRequest) (*rpcpb.Empty, error) {
	return serve(s, r.GetNamespaceId(), r.GetExecution().GetWorkflowId(), func() (*rpcpb.Empty, error) {
		return nil, s.local.PauseActivity(ctx, r.GetNamespaceId(), r.GetExecution(), history.PauseActivityInput{
			Selector: selectorFromPB(r.GetSelector()), Identity: r.GetIdentity(), Reason: r.GetReason()})
	})
}

func (s *HistoryServer) UnpauseActivity(ctx context.Context, r *rpcpb.UnpauseActivityRequest) (*rpcpb.Empty, error) {
	return serve(s, r.GetNamespaceId(), r.GetExecution().GetWorkflowId(), func() (*rpcpb.Empty, error) {
		return nil, s.local.UnpauseActivity(ctx, r.GetNamespaceId(), r.GetExecution(), history.UnpauseActivityInput{
			Selector: selectorFromPB(r.GetSelector()), ResetAttempts: r.GetResetAttempts(),
			ResetHeartbeat: r.GetResetHeartbeat(), Delay: r.GetDelay().AsDuration()})
	})
}

func (s *HistoryServer) ResetActivity(ctx context.Context, r *rpcpb.ResetActivityRequest) (*rpcpb.Empty, error) {
	return serve(s, r.GetNamespaceId(), r.GetExecution().GetWorkflowId(), func() (*rpcpb.Empty, error) {
		return nil, s.local.ResetActivity(ctx, r.GetNamespaceId(), r.GetExecution(), history.ResetActivityInput{
			Selector: selectorFromPB(r.GetSelector()), ResetHeartbeat: r.GetResetHeartbeat(), KeepPaused: r.GetKeepPaused(),
			RestoreOriginal: r.GetRestoreOriginal(), Delay: r.GetDelay().AsDuration()})
	})
}

func (s *HistoryServer) UpdateActivityOptions(ctx context.Context, r *rpcpb.UpdateActivityOptionsRequest) (*rpcpb.UpdateActivityOptionsResponse, error) {
	return serve(s, r.GetNamespaceId(), r.GetExecution().GetWorkflowId(), func() (*rpcpb.UpdateActivityOptionsResponse, error) {
		opts, err := s.local.UpdateActivityOptions(ctx, r.GetNamespaceId(), r.GetExecution(), history.UpdateActivityOptionsInput{
			Selector: selectorFromPB(r.GetSelector()), Options: r.GetOptions(), Paths: r.GetPaths(),
			RestoreOriginal: r.GetRestoreOriginal()})
		return &rpcpb.UpdateActivityOptionsResponse{Options: opts}, err
	})
}

func (s *HistoryServer) UpdateWorkflowPriority(ctx context.Context, r *rpcpb.UpdateWorkflowPriorityRequest) (*rpcpb.UpdateWorkflowPriorityResponse, error) {
	return serve(s, r.GetNamespaceId(), r.GetExecution().GetWorkflowId(), func() (*rpcpb.UpdateWorkflowPriorityResponse, error) {
		p, err := s.local.UpdateWorkflowPriority(ctx, r.GetNamespaceId(), r.GetExecution(), r.GetPriority(), r.GetPaths(), r.GetIdentity())
		return &rpcpb.UpdateWorkflowPriorityResponse{Priority: p}, err
	})
}
