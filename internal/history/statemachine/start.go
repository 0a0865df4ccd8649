package statemachine

import (
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// DefaultWorkflowTaskTimeout is Temporal's default workflow task
// start-to-close timeout.
const DefaultWorkflowTaskTimeout = 10 * time.Second

// StartInput starts a new run. Request has been validated by the frontend.
// The chain fields are set when the run follows another run of the same
// workflow (continue-as-new, retry, cron) or has a parent.
type StartInput struct {
	NamespaceID string
	RunID       string
	Request     *workflowservice.StartWorkflowExecutionRequest

	ContinuedFrom        string
	Initiator            enumspb.ContinueAsNewInitiator
	Attempt              int32  // 0 means 1
	FirstRunID           string // "" means RunID
	ExecutionExpiration  time.Time
	Backoff              time.Duration // delay of the first workflow task
	LastCompletionResult *commonpb.Payloads
	ContinuedFailure     *failurepb.Failure
	Parent               *ParentInfo
	RootWorkflowID       string
	RootRunID            string
	// Eager starts the first workflow task at once for the starting worker
	// (request_eager_execution) instead of dispatching it.
	Eager bool
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
	delay := req.GetWorkflowStartDelay().AsDuration() + in.Backoff
	if req.GetCronSchedule() != "" && in.Initiator == enumspb.CONTINUE_AS_NEW_INITIATOR_UNSPECIFIED {
		delay += CronBackoff(req.GetCronSchedule(), now)
	}
	attempt, firstRun := max(in.Attempt, 1), in.FirstRunID
	if firstRun == "" {
		firstRun = in.RunID
	}
	expiration := in.ExecutionExpiration
	if expiration.IsZero() && execTimeout > 0 {
		expiration = now.Add(delay + execTimeout)
	}
	// Only a child names its root in the started event; every other run
	// (top-level, or a continue-as-new/retry/cron run of one) is its own
	// root, as in the reference server.
	var rootExec *commonpb.WorkflowExecution
	root, rootRun := req.GetWorkflowId(), in.RunID
	if in.Parent != nil && in.RootWorkflowID != "" {
		root, rootRun = in.RootWorkflowID, in.RootRunID
		rootExec = &commonpb.WorkflowExecution{WorkflowId: root, RunId: rootRun}
	}

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

		Attempt:             attempt,
		CronSchedule:        req.GetCronSchedule(),
		ExecutionExpiration: expiration,
		Parent:              in.Parent,
		RootWorkflowID:      root,
		RootRunID:           rootRun,
	}
	s.Execution.FirstRunID = firstRun
	if req.GetRetryPolicy() != nil {
		rp := DefaultRetryPolicy(req.GetRetryPolicy())
		s.Execution.Retry = &rp
	}
	if in.LastCompletionResult != nil {
		s.Execution.LastCompletionResult = mustMarshal(in.LastCompletionResult)
	}

	attrs := startedAttributes(in, s.Execution, delay, rootExec)
	if req.GetSearchAttributes() != nil {
		s.SearchAttributes = mustMarshal(req.GetSearchAttributes())
	}
	if req.GetPriority() != nil {
		s.Execution.Priority = mustMarshal(req.GetPriority())
	}
	ev := m.event(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)
	ev.Attributes = &historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes{WorkflowExecutionStartedEventAttributes: attrs}
	if md := req.GetUserMetadata(); md != nil {
		ev.UserMetadata = md
		s.UserMetadata = mustMarshal(md)
	}
	m.write(ev)
	if s.Execution.Retry != nil || s.Execution.CronSchedule != "" {
		s.StartedAttrs = mustMarshal(attrs)
	}
	if req.GetMemo() != nil {
		s.Memo = mustMarshal(req.GetMemo())
	}
	if before != nil {
		before(m)
	}
	m.task(Task{Type: TaskVisibility})
	if deadline := runDeadline(now.Add(delay), runTimeout, expiration); !deadline.IsZero() {
		m.task(Task{Type: TaskWorkflowRunTimeout, Time: deadline})
	}
	if delay > 0 {
		m.task(Task{Type: TaskWorkflowBackoff, Time: now.Add(delay)})
		return s, m.out
	}
	m.scheduleWorkflowTask(1, false)
	if in.Eager {
		m.out.Tasks = m.out.Tasks[:len(m.out.Tasks)-1] // no dispatch: the starter gets the task
		m.startWorkflowTask(req.GetRequestId(), req.GetIdentity(), DefaultLimits)
		m.out.NewWorkflowTaskStarted = true
	}
	return s, m.out
}

// startedAttributes builds a run's WorkflowExecutionStarted attributes from
// its request and the execution info start filled in.
func startedAttributes(in StartInput, x ExecutionInfo, delay time.Duration, rootExec *commonpb.WorkflowExecution) *historypb.WorkflowExecutionStartedEventAttributes {
	req := in.Request
	attrs := &historypb.WorkflowExecutionStartedEventAttributes{
		WorkflowId:               req.GetWorkflowId(),
		WorkflowType:             req.GetWorkflowType(),
		TaskQueue:                &taskqueuepb.TaskQueue{Name: req.GetTaskQueue().GetName(), Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
		Header:                   req.GetHeader(),
		Input:                    req.GetInput(),
		WorkflowExecutionTimeout: echoDuration(req.GetWorkflowExecutionTimeout(), x.ExecutionTimeout),
		WorkflowRunTimeout:       echoDuration(req.GetWorkflowRunTimeout(), x.RunTimeout),
		WorkflowTaskTimeout:      durationpb.New(x.TaskTimeout),
		OriginalExecutionRunId:   in.RunID,
		FirstExecutionRunId:      x.FirstRunID,
		ContinuedExecutionRunId:  in.ContinuedFrom,
		Initiator:                in.Initiator,
		ContinuedFailure:         in.ContinuedFailure,
		LastCompletionResult:     in.LastCompletionResult,
		Identity:                 req.GetIdentity(),
		RetryPolicy:              req.GetRetryPolicy(),
		Attempt:                  x.Attempt,
		CronSchedule:             req.GetCronSchedule(),
		RootWorkflowExecution:    rootExec,
		Memo:                     req.GetMemo(),
		SearchAttributes:         req.GetSearchAttributes(),
		FirstWorkflowTaskBackoff: firstTaskBackoff(in.Initiator, delay),
		Priority:                 req.GetPriority(),
	}
	if !x.ExecutionExpiration.IsZero() {
		attrs.WorkflowExecutionExpirationTime = timestamppb.New(x.ExecutionExpiration)
	}
	if p := in.Parent; p != nil {
		attrs.ParentWorkflowNamespace, attrs.ParentWorkflowNamespaceId = p.Namespace, p.NamespaceID
		attrs.ParentWorkflowExecution = &commonpb.WorkflowExecution{WorkflowId: p.WorkflowID, RunId: p.RunID}
		attrs.ParentInitiatedEventId = p.InitiatedEventID
	}
	return attrs
}

// echoDuration is a start timeout as the reference server writes it: the
// client's value when it sent one (a zero as "0s"), the effective value
// when the server changed it, and nothing when neither was set.
func echoDuration(given *durationpb.Duration, effective time.Duration) *durationpb.Duration {
	if given == nil && effective == 0 {
		return nil
	}
	return durationpb.New(effective)
}

// firstTaskBackoff is WorkflowExecutionStarted.first_workflow_task_backoff:
// always set ("0s" without a delay), except for a workflow's own
// continue-as-new without a backoff, where the reference server passes the
// command's unset value through.
func firstTaskBackoff(initiator enumspb.ContinueAsNewInitiator, delay time.Duration) *durationpb.Duration {
	if delay == 0 && initiator == enumspb.CONTINUE_AS_NEW_INITIATOR_WORKFLOW {
		return nil
	}
	return durationpb.New(delay)
}

// runDeadline is when a run times out: its run timeout or the chain's
// execution expiration, whichever is first (zero: never).
func runDeadline(begin time.Time, runTimeout time.Duration, expiration time.Time) time.Time {
	var d time.Time
	if runTimeout > 0 {
		d = begin.Add(runTimeout)
	}
	if !expiration.IsZero() && (d.IsZero() || expiration.Before(d)) {
		d = expiration
	}
	return d
}

// FireWorkflowBackoff schedules the first workflow task of a run whose start
// was delayed.
func FireWorkflowBackoff(s *State, now time.Time) (Output, error) {
	if !s.Running() {
		return Output{NoChange: true}, nil
	}
	if !awaitingFirstWorkflowTask(s) {
		return Output{NoChange: true}, nil // the delay was ended early
	}
	m := newMutation(s, now)
	m.scheduleWorkflowTask(1, false)
	return m.out, nil
}

// TimeoutRun ends the run with WorkflowExecutionTimedOut if it is still
// open. A run timeout (not the chain's execution expiration) may be
// retried or followed by the next cron run, as run nextRunID.
func TimeoutRun(s *State, nextRunID string, now time.Time) (Output, error) {
	if !s.Running() {
		return Output{NoChange: true}, nil
	}
	m := newMutation(s, now)
	attrs := &historypb.WorkflowExecutionTimedOutEventAttributes{RetryState: enumspb.RETRY_STATE_TIMEOUT}
	if x := s.Execution; x.ExecutionExpiration.IsZero() || now.Before(x.ExecutionExpiration) {
		f := &failurepb.Failure{Message: "workflow run timeout", Source: "Server",
			FailureInfo: &failurepb.Failure_TimeoutFailureInfo{TimeoutFailureInfo: &failurepb.TimeoutFailureInfo{TimeoutType: enumspb.TIMEOUT_TYPE_START_TO_CLOSE}}}
		state, next := m.afterFailure(f, nextRunID)
		if next != nil {
			attrs.RetryState, attrs.NewExecutionRunId, m.out.Next = state, nextRunID, next
		}
	}
	ev := m.event(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT)
	ev.Attributes = &historypb.HistoryEvent_WorkflowExecutionTimedOutEventAttributes{WorkflowExecutionTimedOutEventAttributes: attrs}
	m.close(ev, enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT)
	return m.out, nil
}
