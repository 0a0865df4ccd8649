package frontend

import (
	"context"

	commonpb "go.temporal.io/api/common/v1"
	failurepb "go.temporal.io/api/failure/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/proto"

	"github.com/sundialhq/sundial/internal/history"
	"github.com/sundialhq/sundial/internal/tasktoken"
)

// activityByIDToken validates a ...ById request and builds the token history
// expects for it: ScheduledEventID 0 (history finds the activity by ID and
// uses its current attempt) and an empty RunID meaning the current run.
// Such tokens are never encoded.
func (h *Handler) activityByIDToken(ctx context.Context, nsName, workflowID, runID, activityID string) (*tasktoken.Token, error) {
	ns, err := h.namespaceByName(ctx, nsName)
	if err != nil {
		return nil, err
	}
	lim := h.limits()
	if err := validateRequiredID(workflowID, "WorkflowId", lim); err != nil {
		return nil, err
	}
	if err := validateRunID(runID); err != nil {
		return nil, err
	}
	if err := validateRequiredID(activityID, "ActivityId", lim); err != nil {
		return nil, err
	}
	return &tasktoken.Token{
		NamespaceID: ns.ID,
		WorkflowID:  workflowID,
		RunID:       runID,
		ActivityID:  activityID,
		Activity:    true,
	}, nil
}

// checkActivityReport validates what every activity report carries besides
// its token: the identity length and the size of each payload or failure.
func (h *Handler) checkActivityReport(identity string, blobs ...proto.Message) error {
	lim := h.limits()
	if err := validateOptionalID(identity, "Identity", lim); err != nil {
		return err
	}
	for _, b := range blobs {
		if err := validateBlob(b, lim); err != nil {
			return err
		}
	}
	return nil
}

// RespondActivityTaskCompleted reports an activity's result.
func (h *Handler) RespondActivityTaskCompleted(ctx context.Context, req *workflowservice.RespondActivityTaskCompletedRequest) (*workflowservice.RespondActivityTaskCompletedResponse, error) {
	tok, err := h.decodeToken(ctx, req.GetNamespace(), req.GetTaskToken(), activityTask)
	if err != nil {
		return nil, err
	}
	if err := h.completeActivity(ctx, tok, req.GetResult(), req.GetIdentity()); err != nil {
		return nil, err
	}
	return &workflowservice.RespondActivityTaskCompletedResponse{}, nil
}

// RespondActivityTaskCompletedById is RespondActivityTaskCompleted for an
// activity named by workflow and activity ID.
func (h *Handler) RespondActivityTaskCompletedById(ctx context.Context, req *workflowservice.RespondActivityTaskCompletedByIdRequest) (*workflowservice.RespondActivityTaskCompletedByIdResponse, error) {
	tok, err := h.activityByIDToken(ctx, req.GetNamespace(), req.GetWorkflowId(), req.GetRunId(), req.GetActivityId())
	if err != nil {
		return nil, err
	}
	if err := h.completeActivity(ctx, tok, req.GetResult(), req.GetIdentity()); err != nil {
		return nil, err
	}
	return &workflowservice.RespondActivityTaskCompletedByIdResponse{}, nil
}

func (h *Handler) completeActivity(ctx context.Context, tok *tasktoken.Token, result *commonpb.Payloads, identity string) error {
	if err := h.checkActivityReport(identity, result); err != nil {
		return err
	}
	return h.hist.RespondActivityTaskCompleted(ctx, tok, result, identity)
}

// RespondActivityTaskFailed reports an activity attempt's failure; history
// decides whether to retry.
func (h *Handler) RespondActivityTaskFailed(ctx context.Context, req *workflowservice.RespondActivityTaskFailedRequest) (*workflowservice.RespondActivityTaskFailedResponse, error) {
	tok, err := h.decodeToken(ctx, req.GetNamespace(), req.GetTaskToken(), activityTask)
	if err != nil {
		return nil, err
	}
	if err := h.failActivity(ctx, tok, req.GetFailure(), req.GetLastHeartbeatDetails(), req.GetIdentity()); err != nil {
		return nil, err
	}
	return &workflowservice.RespondActivityTaskFailedResponse{}, nil
}

// RespondActivityTaskFailedById is RespondActivityTaskFailed for an activity
// named by workflow and activity ID.
func (h *Handler) RespondActivityTaskFailedById(ctx context.Context, req *workflowservice.RespondActivityTaskFailedByIdRequest) (*workflowservice.RespondActivityTaskFailedByIdResponse, error) {
	tok, err := h.activityByIDToken(ctx, req.GetNamespace(), req.GetWorkflowId(), req.GetRunId(), req.GetActivityId())
	if err != nil {
		return nil, err
	}
	if err := h.failActivity(ctx, tok, req.GetFailure(), req.GetLastHeartbeatDetails(), req.GetIdentity()); err != nil {
		return nil, err
	}
	return &workflowservice.RespondActivityTaskFailedByIdResponse{}, nil
}

func (h *Handler) failActivity(ctx context.Context, tok *tasktoken.Token, f *failurepb.Failure, lastHeartbeat *commonpb.Payloads, identity string) error {
	if err := h.checkActivityReport(identity, f, lastHeartbeat); err != nil {
		return err
	}
	return h.hist.RespondActivityTaskFailed(ctx, tok, f, lastHeartbeat, identity)
}

// RespondActivityTaskCanceled reports that an activity honoured a
// cancellation request.
func (h *Handler) RespondActivityTaskCanceled(ctx context.Context, req *workflowservice.RespondActivityTaskCanceledRequest) (*workflowservice.RespondActivityTaskCanceledResponse, error) {
	tok, err := h.decodeToken(ctx, req.GetNamespace(), req.GetTaskToken(), activityTask)
	if err != nil {
		return nil, err
	}
	if err := h.cancelActivity(ctx, tok, req.GetDetails(), req.GetIdentity()); err != nil {
		return nil, err
	}
	return &workflowservice.RespondActivityTaskCanceledResponse{}, nil
}

// RespondActivityTaskCanceledById is RespondActivityTaskCanceled for an
// activity named by workflow and activity ID.
func (h *Handler) RespondActivityTaskCanceledById(ctx context.Context, req *workflowservice.RespondActivityTaskCanceledByIdRequest) (*workflowservice.RespondActivityTaskCanceledByIdResponse, error) {
	tok, err := h.activityByIDToken(ctx, req.GetNamespace(), req.GetWorkflowId(), req.GetRunId(), req.GetActivityId())
	if err != nil {
		return nil, err
	}
	if err := h.cancelActivity(ctx, tok, req.GetDetails(), req.GetIdentity()); err != nil {
		return nil, err
	}
	return &workflowservice.RespondActivityTaskCanceledByIdResponse{}, nil
}

func (h *Handler) cancelActivity(ctx context.Context, tok *tasktoken.Token, details *commonpb.Payloads, identity string) error {
	if err := h.checkActivityReport(identity, details); err != nil {
		return err
	}
	return h.hist.RespondActivityTaskCanceled(ctx, tok, details, identity)
}

// RecordActivityTaskHeartbeat records progress; the answer's
// cancel_requested tells the worker to cancel the activity, activity_paused
// and activity_reset that an operator paused or reset it.
func (h *Handler) RecordActivityTaskHeartbeat(ctx context.Context, req *workflowservice.RecordActivityTaskHeartbeatRequest) (*workflowservice.RecordActivityTaskHeartbeatResponse, error) {
	tok, err := h.decodeToken(ctx, req.GetNamespace(), req.GetTaskToken(), activityTask)
	if err != nil {
		return nil, err
	}
	ans, err := h.heartbeat(ctx, tok, req.GetDetails(), req.GetIdentity())
	if err != nil {
		return nil, err
	}
	return &workflowservice.RecordActivityTaskHeartbeatResponse{CancelRequested: ans.CancelRequested,
		ActivityPaused: ans.Paused, ActivityReset: ans.Reset}, nil
}

// RecordActivityTaskHeartbeatById is RecordActivityTaskHeartbeat for an
// activity named by workflow and activity ID.
func (h *Handler) RecordActivityTaskHeartbeatById(ctx context.Context, req *workflowservice.RecordActivityTaskHeartbeatByIdRequest) (*workflowservice.RecordActivityTaskHeartbeatByIdResponse, error) {
	tok, err := h.activityByIDToken(ctx, req.GetNamespace(), req.GetWorkflowId(), req.GetRunId(), req.GetActivityId())
	if err != nil {
		return nil, err
	}
	ans, err := h.heartbeat(ctx, tok, req.GetDetails(), req.GetIdentity())
	if err != nil {
		return nil, err
	}
	return &workflowservice.RecordActivityTaskHeartbeatByIdResponse{CancelRequested: ans.CancelRequested,
		ActivityPaused: ans.Paused, ActivityReset: ans.Reset}, nil
}

func (h *Handler) heartbeat(ctx context.Context, tok *tasktoken.Token, details *commonpb.Payloads, identity string) (history.HeartbeatAnswer, error) {
	if err := h.checkActivityReport(identity, details); err != nil {
		return history.HeartbeatAnswer{}, err
	}
	return h.hist.RecordActivityTaskHeartbeat(ctx, tok, details, identity)
}
