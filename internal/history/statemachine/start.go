package statemachine

import (
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// DefaultWorkflowTaskTimeout is Temporal's default workflow task
// start-to-close timeout.
const DefaultWorkflowTaskTimeout = 10 * time.Second

// StartInput starts a new run. Request has been validated by the frontend.
type StartInput struct {
	NamespaceID string
	RunID       string
	Request     *workflowservice.StartWorkflowExecutionRequest
}

// Start creates the state and first events of a new run.
func Start(in StartInput, now time.Time) (*State, Output) {
	return start(in, now, nil)
}

// start creates a run; before, when set, adds events between the started
// event and the first workflow task.
func start(in StartInput, now time.Time, before func(m *mutation)) (*State, Output) {
	req := in.Request
	s := &State{NextEventID: 1}
	m := newMutation(s, now)

	execTimeout := req.GetWorkflowExecutionTimeout().AsDuration()
	runTimeout := req.GetWorkflowRunTimeout().AsDuration()
	if runTimeout == 0 || (execTimeout > 0 && runTimeout > execTimeout) {
		runTimeout = execTimeout
	}
	taskTimeout := req.GetWorkflowTaskTimeout().AsDuration()
	if taskTimeout <= 0 {
		taskTimeout = DefaultWorkflowTaskTimeout
	}
	if runTimeout > 0 && taskTimeout > runTimeout {
		taskTimeout = runTimeout
	}
	delay := req.GetWorkflowStartDelay().AsDuration()

	s.Execution = ExecutionInfo{
		NamespaceID:      in.NamespaceID,
		WorkflowID:       req.GetWorkflowId(),
		RunID:            in.RunID,
		FirstRunID:       in.RunID,
		WorkflowType:     req.GetWorkflowType().GetName(),
		TaskQueue:        req.GetTaskQueue().GetName(),
		CreateRequestID:  req.GetRequestId(),
		Status:           enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
		StartTime:        now,
		ExecutionTime:    now.Add(delay),
		ExecutionTimeout: execTimeout,
		RunTimeout:       runTimeout,
		TaskTimeout:      taskTimeout,
	}

	attrs := &historypb.WorkflowExecutionStartedEventAttributes{
		WorkflowId:               req.GetWorkflowId(),
		WorkflowType:             req.GetWorkflowType(),
		TaskQueue:                &taskqueuepb.TaskQueue{Name: req.GetTaskQueue().GetName(), Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
		Header:                   req.GetHeader(),
		Input:                    req.GetInput(),
		WorkflowExecutionTimeout: durationOrNil(execTimeout),
		WorkflowRunTimeout:       durationOrNil(runTimeout),
		WorkflowTaskTimeout:      durationOrNil(taskTimeout),
		OriginalExecutionRunId:   in.RunID,
		FirstExecutionRunId:      in.RunID,
		Identity:                 req.GetIdentity(),
		RetryPolicy:              req.GetRetryPolicy(),
		Attempt:                  1,
		Memo:                     req.GetMemo(),
		SearchAttributes:         req.GetSearchAttributes(),
		FirstWorkflowTaskBackoff: durationOrNil(delay),
		Priority:                 req.GetPriority(),
	}
	if execTimeout > 0 {
		attrs.WorkflowExecutionExpirationTime = timestamppb.New(now.Add(delay + execTimeout))
	}
	if req.GetSearchAttributes() != nil {
		s.SearchAttributes = mustMarshal(req.GetSearchAttributes())
	}
	ev := m.event(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)
	ev.Attributes = &historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes{WorkflowExecutionStartedEventAttributes: attrs}
	m.write(ev)
	if req.GetMemo() != nil {
		s.Memo = mustMarshal(req.GetMemo())
	}
	if before != nil {
		before(m)
	}
	if runTimeout > 0 {
		m.task(Task{Type: TaskWorkflowRunTimeout, Time: now.Add(delay + runTimeout)})
	}
	if delay > 0 {
		m.task(Task{Type: TaskWorkflowBackoff, Time: now.Add(delay)})
	} else {
		m.scheduleWorkflowTask(1, false)
	}
	return s, m.out
}

// FireWorkflowBackoff schedules the first workflow task of a run whose start
// was delayed.
func FireWorkflowBackoff(s *State, now time.Time) (Output, error) {
	if !s.Running() {
		return Output{NoChange: true}, nil
	}
	if s.WorkflowTask != nil || s.NextEventID > 2 {
		return Output{NoChange: true}, nil
	}
	m := newMutation(s, now)
	m.scheduleWorkflowTask(1, false)
	return m.out, nil
}

// TimeoutRun ends the run with WorkflowExecutionTimedOut if it is still
// open and its deadline (due) has passed.
func TimeoutRun(s *State, now time.Time) (Output, error) {
	if !s.Running() {
		return Output{NoChange: true}, nil
	}
	m := newMutation(s, now)
	ev := m.event(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT)
	ev.Attributes = &historypb.HistoryEvent_WorkflowExecutionTimedOutEventAttributes{
		WorkflowExecutionTimedOutEventAttributes: &historypb.WorkflowExecutionTimedOutEventAttributes{
			RetryState: enumspb.RETRY_STATE_TIMEOUT,
		},
	}
	m.close(ev, enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT)
	return m.out, nil
}
