package history

import (
	"context"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	sdkpb "go.temporal.io/api/sdk/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	sm "github.com/sundialhq/sundial/internal/history/statemachine"
	"github.com/sundialhq/sundial/internal/persistence"
)

// DescribeWorkflowExecution reports a run's status, configuration and
// pending work.
func (e *Engine) DescribeWorkflowExecution(ctx context.Context, namespaceID string, req *workflowservice.DescribeWorkflowExecutionRequest) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	key, err := e.resolveRun(ctx, persistence.WorkflowKey{NamespaceID: namespaceID, WorkflowID: req.GetExecution().GetWorkflowId(), RunID: req.GetExecution().GetRunId()})
	if err != nil {
		return nil, err
	}
	var resp *workflowservice.DescribeWorkflowExecutionResponse
	err = e.view(ctx, key, func(st *sm.State) { resp = describe(key, st) })
	return resp, err
}

func describe(key persistence.WorkflowKey, st *sm.State) *workflowservice.DescribeWorkflowExecutionResponse {
	x := st.Execution
	info := &workflowpb.WorkflowExecutionInfo{
		Execution:            &commonpb.WorkflowExecution{WorkflowId: key.WorkflowID, RunId: key.RunID},
		Type:                 &commonpb.WorkflowType{Name: x.WorkflowType},
		StartTime:            timestamppb.New(x.StartTime),
		Status:               x.Status,
		HistoryLength:        st.NextEventID - 1,
		ExecutionTime:        timestamppb.New(x.ExecutionTime),
		TaskQueue:            x.TaskQueue,
		StateTransitionCount: st.StateTransitions,
		HistorySizeBytes:     st.HistorySize,
		FirstRunId:           x.FirstRunID,
		RootExecution:        &commonpb.WorkflowExecution{WorkflowId: x.RootWorkflowID, RunId: x.RootRunID},
		Priority:             sm.WorkflowPriority(st),
	}
	if p := x.Parent; p != nil {
		info.ParentNamespaceId = p.NamespaceID
		info.ParentExecution = &commonpb.WorkflowExecution{WorkflowId: p.WorkflowID, RunId: p.RunID}
	}
	if x.RootWorkflowID == "" {
		info.RootExecution = &commonpb.WorkflowExecution{WorkflowId: key.WorkflowID, RunId: key.RunID}
	}
	if !x.CloseTime.IsZero() {
		info.CloseTime = timestamppb.New(x.CloseTime)
		info.ExecutionDuration = durationpb.New(x.CloseTime.Sub(x.ExecutionTime))
	}
	// Memo, search attributes and reset points are empty messages, never
	// nil, when a run has none: the reference server always sets the
	// first two, and the Go SDK's DescribeWorkflow dereferences them.
	info.Memo, info.SearchAttributes, info.AutoResetPoints = &commonpb.Memo{}, &commonpb.SearchAttributes{}, &workflowpb.ResetPoints{}
	if st.Memo != nil {
		mustDecode(st.Memo, info.Memo)
	}
	if st.SearchAttributes != nil {
		mustDecode(st.SearchAttributes, info.SearchAttributes)
	}
	resp := &workflowservice.DescribeWorkflowExecutionResponse{
		ExecutionConfig: &workflowpb.WorkflowExecutionConfig{
			TaskQueue:                  &taskqueuepb.TaskQueue{Name: x.TaskQueue, Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
			WorkflowExecutionTimeout:   durationpb.New(x.ExecutionTimeout),
			WorkflowRunTimeout:         durationpb.New(x.RunTimeout),
			DefaultWorkflowTaskTimeout: durationpb.New(x.TaskTimeout),
		},
		WorkflowExecutionInfo: info,
		WorkflowExtendedInfo:  extendedInfo(st),
	}
	if st.UserMetadata != nil {
		resp.ExecutionConfig.UserMetadata = &sdkpb.UserMetadata{}
		mustDecode(st.UserMetadata, resp.ExecutionConfig.UserMetadata)
	}
	for _, c := range st.Children {
		resp.PendingChildren = append(resp.PendingChildren, &workflowpb.PendingChildExecutionInfo{
			WorkflowId: c.WorkflowID, RunId: c.RunID, WorkflowTypeName: c.WorkflowType,
			InitiatedId: c.InitiatedEventID, ParentClosePolicy: enumspb.ParentClosePolicy(c.ParentClosePolicy),
		})
	}
	for _, ai := range st.Activities {
		resp.PendingActivities = append(resp.PendingActivities, pendingActivity(ai))
	}
	if wt := st.WorkflowTask; wt != nil {
		resp.PendingWorkflowTask = pendingWorkflowTask(wt)
	}
	return resp
}

func pendingWorkflowTask(wt *sm.WorkflowTaskInfo) *workflowpb.PendingWorkflowTaskInfo {
	p := &workflowpb.PendingWorkflowTaskInfo{
		State:                 enumspb.PENDING_WORKFLOW_TASK_STATE_SCHEDULED,
		ScheduledTime:         timestamppb.New(wt.ScheduledTime),
		OriginalScheduledTime: timestamppb.New(wt.ScheduledTime),
		Attempt:               wt.Attempt,
	}
	if wt.Started() {
		p.State, p.StartedTime = enumspb.PENDING_WORKFLOW_TASK_STATE_STARTED, timestamppb.New(wt.StartedTime)
	}
	return p
}

// extendedInfo is the run's workflow_extended_info, which the reference
// server always sets.
func extendedInfo(st *sm.State) *workflowpb.WorkflowExecutionExtendedInfo {
	x := st.Execution
	ext := &workflowpb.WorkflowExecutionExtendedInfo{
		OriginalStartTime: timestamppb.New(x.StartTime),
		CancelRequested:   st.CancelRequested,
	}
	if !x.ExecutionExpiration.IsZero() {
		ext.ExecutionExpirationTime = timestamppb.New(x.ExecutionExpiration)
	}
	if x.RunTimeout > 0 {
		ext.RunExpirationTime = timestamppb.New(x.ExecutionTime.Add(x.RunTimeout))
	}
	return ext
}

func pendingActivity(ai *sm.ActivityInfo) *workflowpb.PendingActivityInfo {
	p := &workflowpb.PendingActivityInfo{
		ActivityId:         ai.ActivityID,
		ActivityType:       &commonpb.ActivityType{Name: ai.ActivityType},
		State:              enumspb.PENDING_ACTIVITY_STATE_SCHEDULED,
		Attempt:            ai.Attempt,
		MaximumAttempts:    ai.Retry.MaximumAttempts,
		ScheduledTime:      timestamppb.New(ai.AttemptScheduledTime),
		LastWorkerIdentity: ai.LastWorkerIdentity,
		ActivityOptions:    sm.ActivityOptionsOf(ai),
		Priority:           sm.ActivityPriority(ai),
	}
	switch {
	case ai.CancelRequested:
		p.State = enumspb.PENDING_ACTIVITY_STATE_CANCEL_REQUESTED
	case ai.Paused && ai.Started:
		p.State = enumspb.PENDING_ACTIVITY_STATE_PAUSE_REQUESTED
	case ai.Paused:
		p.State = enumspb.PENDING_ACTIVITY_STATE_PAUSED
	case ai.Started:
		p.State = enumspb.PENDING_ACTIVITY_STATE_STARTED
	}
	if ai.Paused {
		p.Paused = true
		p.PauseInfo = &workflowpb.PendingActivityInfo_PauseInfo{
			PauseTime: timestamppb.New(ai.PauseTime),
			PausedBy: &workflowpb.PendingActivityInfo_PauseInfo_Manual_{Manual: &workflowpb.PendingActivityInfo_PauseInfo_Manual{
				Identity: ai.PauseIdentity, Reason: ai.PauseReason,
			}},
		}
	}
	if ai.Started {
		p.LastStartedTime = timestamppb.New(ai.StartedTime)
		p.LastWorkerIdentity = ai.StartedIdentity
	}
	if ai.ScheduleToClose > 0 {
		p.ExpirationTime = timestamppb.New(ai.ScheduledTime.Add(ai.ScheduleToClose))
	}
	if !ai.LastHeartbeat.IsZero() {
		p.LastHeartbeatTime = timestamppb.New(ai.LastHeartbeat)
	}
	if ai.HeartbeatDetails != nil {
		p.HeartbeatDetails = &commonpb.Payloads{}
		mustDecode(ai.HeartbeatDetails, p.HeartbeatDetails)
	}
	if ai.LastFailure != nil {
		p.LastFailure = &failurepb.Failure{}
		mustDecode(ai.LastFailure, p.LastFailure)
	}
	return p
}

// mustDecode decodes proto bytes the state machine wrote itself.
func mustDecode(b []byte, m proto.Message) {
	if err := proto.Unmarshal(b, m); err != nil {
		panic("history: corrupt state field: " + err.Error())
	}
}
