package statemachine

import (
	"time"

	commandpb "go.temporal.io/api/command/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/types/known/durationpb"
)

// chainInput is the StartInput of the run that follows this one.
func (m *mutation) chainInput(nextRunID string, req *workflowservice.StartWorkflowExecutionRequest,
	initiator enumspb.ContinueAsNewInitiator, backoff time.Duration, attempt int32) *StartInput {
	x := m.s.Execution
	return &StartInput{
		NamespaceID: x.NamespaceID, RunID: nextRunID, Request: req,
		ContinuedFrom: x.RunID, Initiator: initiator, Attempt: attempt, FirstRunID: x.FirstRunID,
		ExecutionExpiration: x.ExecutionExpiration, Backoff: backoff, Parent: x.Parent,
		RootWorkflowID: x.RootWorkflowID, RootRunID: x.RootRunID,
	}
}

// sameRequest rebuilds the run's start request (for retries and cron runs,
// which start again with the same input).
func (m *mutation) sameRequest() *workflowservice.StartWorkflowExecutionRequest {
	a := &historypb.WorkflowExecutionStartedEventAttributes{}
	mustUnmarshal(m.s.StartedAttrs, a)
	return &workflowservice.StartWorkflowExecutionRequest{
		WorkflowId: m.s.Execution.WorkflowID, WorkflowType: a.GetWorkflowType(), TaskQueue: a.GetTaskQueue(),
		Input: a.GetInput(), WorkflowRunTimeout: a.GetWorkflowRunTimeout(), WorkflowTaskTimeout: a.GetWorkflowTaskTimeout(),
		WorkflowExecutionTimeout: a.GetWorkflowExecutionTimeout(),
		Identity:                 a.GetIdentity(), RequestId: m.s.Execution.RunID, RetryPolicy: a.GetRetryPolicy(),
		CronSchedule: a.GetCronSchedule(), Memo: m.memo(), SearchAttributes: m.searchAttributes(), Header: a.GetHeader(),
		Priority: a.GetPriority(),
	}
}

func (m *mutation) memo() *commonpb.Memo {
	if m.s.Memo == nil {
		return nil
	}
	memo := &commonpb.Memo{}
	mustUnmarshal(m.s.Memo, memo)
	return memo
}

func (m *mutation) searchAttributes() *commonpb.SearchAttributes {
	if m.s.SearchAttributes == nil {
		return nil
	}
	sa := &commonpb.SearchAttributes{}
	mustUnmarshal(m.s.SearchAttributes, sa)
	return sa
}

// priority is the run's start priority (nil when none was given).
func (m *mutation) priority() *commonpb.Priority {
	if m.s.Execution.Priority == nil {
		return nil
	}
	p := &commonpb.Priority{}
	mustUnmarshal(m.s.Execution.Priority, p)
	return p
}

func (m *mutation) lastCompletionResult() *commonpb.Payloads {
	if m.s.Execution.LastCompletionResult == nil {
		return nil
	}
	p := &commonpb.Payloads{}
	mustUnmarshal(m.s.Execution.LastCompletionResult, p)
	return p
}

// afterFailure decides what follows a run that failed or timed out with
// f: a retry (RETRY_POLICY), the next cron run, or nothing. It returns the
// retry state for the close event and the next run, if any.
func (m *mutation) afterFailure(f *failurepb.Failure, nextRunID string) (enumspb.RetryState, *StartInput) {
	x := m.s.Execution
	state := enumspb.RETRY_STATE_RETRY_POLICY_NOT_SET
	if x.Retry != nil && nextRunID != "" {
		backoff, st := retryDecision(*x.Retry, x.Attempt, f, m.now, x.ExecutionExpiration)
		if st == enumspb.RETRY_STATE_IN_PROGRESS {
			next := m.chainInput(nextRunID, m.sameRequest(), enumspb.CONTINUE_AS_NEW_INITIATOR_RETRY, backoff, x.Attempt+1)
			next.ContinuedFailure, next.LastCompletionResult = f, m.lastCompletionResult()
			return st, next
		}
		state = st
	}
	if next := m.nextCron(nextRunID); next != nil {
		next.ContinuedFailure, next.LastCompletionResult = f, m.lastCompletionResult()
		return state, next
	}
	return state, nil
}

// nextCron is the next cron run, or nil when the run has no schedule or
// the chain's execution time is up.
func (m *mutation) nextCron(nextRunID string) *StartInput {
	x := m.s.Execution
	if x.CronSchedule == "" || nextRunID == "" {
		return nil
	}
	backoff := CronBackoff(x.CronSchedule, m.now)
	if !x.ExecutionExpiration.IsZero() && !m.now.Add(backoff).Before(x.ExecutionExpiration) {
		return nil
	}
	return m.chainInput(nextRunID, m.sameRequest(), enumspb.CONTINUE_AS_NEW_INITIATOR_CRON_SCHEDULE, backoff, 1)
}

// continueAsNew closes the run with WorkflowExecutionContinuedAsNew and
// describes the next run: what the command sets, the rest as this run has.
func (m *mutation) continueAsNew(a *commandpb.ContinueAsNewWorkflowExecutionCommandAttributes, completedID int64, nextRunID string) {
	x := m.s.Execution
	req := &workflowservice.StartWorkflowExecutionRequest{
		WorkflowId: x.WorkflowID, WorkflowType: a.GetWorkflowType(), TaskQueue: a.GetTaskQueue(),
		Input: a.GetInput(), WorkflowRunTimeout: a.GetWorkflowRunTimeout(), WorkflowTaskTimeout: a.GetWorkflowTaskTimeout(),
		RequestId: nextRunID, RetryPolicy: a.GetRetryPolicy(), CronSchedule: x.CronSchedule,
		Memo: a.GetMemo(), SearchAttributes: a.GetSearchAttributes(), Header: a.GetHeader(),
		// The chain keeps its execution timeout and priority (the
		// reference server writes both on every run's started event).
		WorkflowExecutionTimeout: durationpb.New(x.ExecutionTimeout), Priority: m.priority(),
	}
	if req.WorkflowType.GetName() == "" {
		req.WorkflowType = &commonpb.WorkflowType{Name: x.WorkflowType}
	}
	if req.TaskQueue.GetName() == "" {
		req.TaskQueue = &taskqueuepb.TaskQueue{Name: x.TaskQueue, Kind: enumspb.TASK_QUEUE_KIND_NORMAL}
	}
	if req.WorkflowRunTimeout == nil && x.RunTimeout > 0 {
		req.WorkflowRunTimeout = durationpb.New(x.RunTimeout)
	}
	if req.WorkflowTaskTimeout == nil {
		req.WorkflowTaskTimeout = durationpb.New(x.TaskTimeout)
	}
	if req.RetryPolicy == nil && x.Retry != nil {
		req.RetryPolicy = x.Retry.Proto()
	}
	if req.Memo == nil {
		req.Memo = m.memo()
	}
	if req.SearchAttributes == nil {
		req.SearchAttributes = m.searchAttributes()
	}
	initiator := a.GetInitiator()
	if initiator == enumspb.CONTINUE_AS_NEW_INITIATOR_UNSPECIFIED {
		initiator = enumspb.CONTINUE_AS_NEW_INITIATOR_WORKFLOW
	}
	next := m.chainInput(nextRunID, req, initiator, a.GetBackoffStartInterval().AsDuration(), 1)
	next.LastCompletionResult, next.ContinuedFailure = a.GetLastCompletionResult(), a.GetFailure()
	m.out.Next = next

	ev := m.event(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW)
	ev.Attributes = &historypb.HistoryEvent_WorkflowExecutionContinuedAsNewEventAttributes{
		WorkflowExecutionContinuedAsNewEventAttributes: &historypb.WorkflowExecutionContinuedAsNewEventAttributes{
			NewExecutionRunId: nextRunID, WorkflowType: req.WorkflowType, TaskQueue: req.TaskQueue,
			Header: req.Header, Input: req.Input, WorkflowRunTimeout: req.WorkflowRunTimeout,
			WorkflowTaskTimeout: req.WorkflowTaskTimeout, WorkflowTaskCompletedEventId: completedID,
			BackoffStartInterval: a.GetBackoffStartInterval(), Initiator: initiator, Failure: a.GetFailure(),
			LastCompletionResult: a.GetLastCompletionResult(), Memo: req.Memo, SearchAttributes: req.SearchAttributes,
		},
	}
	m.close(ev, enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW)
}

// completeRun closes the run with WorkflowExecutionCompleted; a cron run
// also describes the next run, which gets the result.
func (m *mutation) completeRun(result *commonpb.Payloads, completedID int64, nextRunID string) {
	attrs := &historypb.WorkflowExecutionCompletedEventAttributes{Result: result, WorkflowTaskCompletedEventId: completedID}
	if next := m.nextCron(nextRunID); next != nil {
		next.LastCompletionResult = result
		m.out.Next, attrs.NewExecutionRunId = next, nextRunID
	}
	ev := m.event(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
	ev.Attributes = &historypb.HistoryEvent_WorkflowExecutionCompletedEventAttributes{WorkflowExecutionCompletedEventAttributes: attrs}
	m.close(ev, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED)
}

// failRun closes the run with WorkflowExecutionFailed, retried or followed
// by the next cron run when the policy says so.
func (m *mutation) failRun(f *failurepb.Failure, completedID int64, nextRunID string) {
	state, next := m.afterFailure(f, nextRunID)
	attrs := &historypb.WorkflowExecutionFailedEventAttributes{Failure: f, RetryState: state, WorkflowTaskCompletedEventId: completedID}
	if next != nil {
		m.out.Next, attrs.NewExecutionRunId = next, nextRunID
	}
	ev := m.event(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED)
	ev.Attributes = &historypb.HistoryEvent_WorkflowExecutionFailedEventAttributes{WorkflowExecutionFailedEventAttributes: attrs}
	m.close(ev, enumspb.WORKFLOW_EXECUTION_STATUS_FAILED)
}
