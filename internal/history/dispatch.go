package history

import (
	"context"
	"errors"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	protocolpb "go.temporal.io/api/protocol/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	sm "github.com/sundialhq/sundial/internal/history/statemachine"
	"github.com/sundialhq/sundial/internal/matching"
	"github.com/sundialhq/sundial/internal/persistence"
	"github.com/sundialhq/sundial/internal/tasktoken"
)

var _ matching.HistoryClient = (*Engine)(nil)

// wftSnapshot is what a workflow task poll response needs, copied under
// the workflow's lock.
type wftSnapshot struct {
	exec        sm.ExecutionInfo
	wt          sm.WorkflowTaskInfo
	prevStarted int64
	nextEventID int64
	transient   []*historypb.HistoryEvent
	messages    []*protocolpb.Message
	// partial: send only the events after the previous started event (the
	// worker has the run cached).
	partial bool
}

func snapshotWFT(st *sm.State, partial bool) *wftSnapshot {
	return &wftSnapshot{
		exec: st.Execution, wt: *st.WorkflowTask, prevStarted: st.LastCompletedWFTStartedEventID,
		nextEventID: st.NextEventID, transient: sm.TransientEvents(st), partial: partial && st.LastCompletedWFTStartedEventID > 0,
		messages: sm.UpdateMessages(st),
	}
}

func taskGone(err error) error {
	if errors.Is(err, sm.ErrTaskGone) || errors.Is(err, ErrWorkflowNotFound) {
		return matching.ErrTaskGone
	}
	return err
}

// RecordWorkflowTaskStarted starts a dispatched workflow task for a poller
// and builds its poll response.
func (e *Engine) RecordWorkflowTaskStarted(ctx context.Context, req *matching.RecordStartedRequest) (*workflowservice.PollWorkflowTaskQueueResponse, error) {
	key := persistence.WorkflowKey{NamespaceID: req.NamespaceID, WorkflowID: req.WorkflowID, RunID: req.RunID}
	var snap *wftSnapshot
	err := e.update(ctx, key, func(st *sm.State, now time.Time) (sm.Output, error) {
		out, err := sm.StartWorkflowTask(st, req.ScheduledEventID, req.PollRequestID, req.Identity, e.limits(), now)
		if err == nil {
			// A worker polling its sticky queue has the run cached.
			snap = snapshotWFT(st, st.WorkflowTask.Sticky && req.TaskQueue == st.WorkflowTask.TaskQueue)
		}
		return out, err
	})
	if err != nil {
		return nil, taskGone(err)
	}
	return e.workflowTaskResponse(ctx, key, snap)
}

// workflowTaskResponse builds a poll response: the token, the history up to
// the started event (paged) and the transient events of a retried task.
func (e *Engine) workflowTaskResponse(ctx context.Context, key persistence.WorkflowKey, snap *wftSnapshot) (*workflowservice.PollWorkflowTaskQueueResponse, error) {
	first := int64(1)
	if snap.partial {
		first = snap.prevStarted + 1
	}
	tok := historyToken{RunID: key.RunID, Next: first, End: snap.nextEventID}
	if len(snap.transient) > 0 {
		tok.Transient = snap.wt.ScheduledEventID
	}
	events, next, err := e.readPage(ctx, key, tok, e.historyPageSize(0))
	if err != nil {
		return nil, err
	}
	if next == nil {
		events = append(events, snap.transient...)
	}
	return &workflowservice.PollWorkflowTaskQueueResponse{
		TaskToken: tasktoken.Encode(&tasktoken.Token{
			NamespaceID: key.NamespaceID, WorkflowID: key.WorkflowID, RunID: key.RunID,
			ScheduledEventID: snap.wt.ScheduledEventID, StartedEventID: snap.wt.StartedEventID, Attempt: snap.wt.Attempt,
		}),
		WorkflowExecution:          &commonpb.WorkflowExecution{WorkflowId: key.WorkflowID, RunId: key.RunID},
		WorkflowType:               &commonpb.WorkflowType{Name: snap.exec.WorkflowType},
		PreviousStartedEventId:     snap.prevStarted,
		StartedEventId:             snap.wt.StartedEventID,
		Attempt:                    snap.wt.Attempt,
		History:                    &historypb.History{Events: events},
		NextPageToken:              next,
		WorkflowExecutionTaskQueue: &taskqueuepb.TaskQueue{Name: snap.exec.TaskQueue, Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
		ScheduledTime:              timestamppb.New(snap.wt.ScheduledTime),
		StartedTime:                timestamppb.New(snap.wt.StartedTime),
		Messages:                   snap.messages,
	}, nil
}

// RecordActivityTaskStarted starts the current attempt of a dispatched
// activity for a poller and builds its poll response.
func (e *Engine) RecordActivityTaskStarted(ctx context.Context, req *matching.RecordStartedRequest) (*workflowservice.PollActivityTaskQueueResponse, error) {
	key := persistence.WorkflowKey{NamespaceID: req.NamespaceID, WorkflowID: req.WorkflowID, RunID: req.RunID}
	var ai sm.ActivityInfo
	var exec sm.ExecutionInfo
	err := e.update(ctx, key, func(st *sm.State, now time.Time) (sm.Output, error) {
		out, err := sm.StartActivity(st, req.ScheduledEventID, req.TaskQueue, req.PollRequestID, req.Identity, now)
		if err == nil {
			ai, exec = *st.Activities[req.ScheduledEventID], st.Execution
		}
		return out, err
	})
	if err != nil {
		return nil, taskGone(err)
	}
	return activityResponse(key, exec, &ai)
}

func activityResponse(key persistence.WorkflowKey, exec sm.ExecutionInfo, ai *sm.ActivityInfo) (*workflowservice.PollActivityTaskQueueResponse, error) {
	attrs := &historypb.ActivityTaskScheduledEventAttributes{}
	if err := proto.Unmarshal(ai.Scheduled, attrs); err != nil {
		return nil, err
	}
	var details *commonpb.Payloads
	if ai.HeartbeatDetails != nil {
		details = &commonpb.Payloads{}
		if err := proto.Unmarshal(ai.HeartbeatDetails, details); err != nil {
			return nil, err
		}
	}
	return &workflowservice.PollActivityTaskQueueResponse{
		TaskToken: tasktoken.Encode(&tasktoken.Token{
			NamespaceID: key.NamespaceID, WorkflowID: key.WorkflowID, RunID: key.RunID,
			ScheduledEventID: ai.ScheduledEventID, Attempt: ai.Attempt, ActivityID: ai.ActivityID, Activity: true,
		}),
		WorkflowType:                &commonpb.WorkflowType{Name: exec.WorkflowType},
		WorkflowExecution:           &commonpb.WorkflowExecution{WorkflowId: key.WorkflowID, RunId: key.RunID},
		ActivityType:                attrs.GetActivityType(),
		ActivityId:                  ai.ActivityID,
		Header:                      attrs.GetHeader(),
		Input:                       attrs.GetInput(),
		HeartbeatDetails:            details,
		ScheduledTime:               timestamppb.New(ai.ScheduledTime),
		CurrentAttemptScheduledTime: timestamppb.New(ai.AttemptScheduledTime),
		StartedTime:                 timestamppb.New(ai.StartedTime),
		Attempt:                     ai.Attempt,
		// The effective timeouts, always set ("0s" for none): SDKs such as
		// TypeScript reject a task without schedule_to_close_timeout.
		ScheduleToCloseTimeout: durationpb.New(ai.ScheduleToClose),
		StartToCloseTimeout:    durationpb.New(ai.StartToClose),
		HeartbeatTimeout:       durationpb.New(ai.Heartbeat),
		RetryPolicy:            ai.Retry.Proto(),
		Priority:               sm.ActivityPriority(ai),
	}, nil
}

func optDuration(d time.Duration) *durationpb.Duration {
	if d == 0 {
		return nil
	}
	return durationpb.New(d)
}
