package history

import (
	"context"
	"errors"
	"fmt"

	activitypb "go.temporal.io/api/activity/v1"
	commonpb "go.temporal.io/api/common/v1"
	failurepb "go.temporal.io/api/failure/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundialhq/sundial/internal/history/statemachine"
	"github.com/sundialhq/sundial/internal/tasktoken"
)

// Service is the history role's API as the frontend uses it. Requests have
// already been validated by the frontend (IDs, sizes, timeouts, retry
// policies) and the namespace resolved to its ID. Errors are the typed errors
// below, persistence errors (e.g. *persistence.UnavailableError), or context
// errors; the frontend maps them to gRPC codes.
type Service interface {
	StartWorkflowExecution(ctx context.Context, namespaceID string, req *workflowservice.StartWorkflowExecutionRequest) (*workflowservice.StartWorkflowExecutionResponse, error)
	RespondWorkflowTaskCompleted(ctx context.Context, tok *tasktoken.Token, req *workflowservice.RespondWorkflowTaskCompletedRequest) (*workflowservice.RespondWorkflowTaskCompletedResponse, error)
	RespondWorkflowTaskFailed(ctx context.Context, tok *tasktoken.Token, req *workflowservice.RespondWorkflowTaskFailedRequest) error
	// Activity responses. tok.ScheduledEventID == 0 means the token was built
	// from a ...ById request: the engine finds the activity by tok.ActivityID
	// and uses its current attempt.
	RespondActivityTaskCompleted(ctx context.Context, tok *tasktoken.Token, result *commonpb.Payloads, identity string) error
	RespondActivityTaskFailed(ctx context.Context, tok *tasktoken.Token, failure *failurepb.Failure, lastHeartbeat *commonpb.Payloads, identity string) error
	RespondActivityTaskCanceled(ctx context.Context, tok *tasktoken.Token, details *commonpb.Payloads, identity string) error
	RecordActivityTaskHeartbeat(ctx context.Context, tok *tasktoken.Token, details *commonpb.Payloads, identity string) (HeartbeatAnswer, error)
	GetWorkflowExecutionHistory(ctx context.Context, namespaceID string, req *workflowservice.GetWorkflowExecutionHistoryRequest) (*workflowservice.GetWorkflowExecutionHistoryResponse, error)
	GetWorkflowExecutionHistoryReverse(ctx context.Context, namespaceID string, req *workflowservice.GetWorkflowExecutionHistoryReverseRequest) (*workflowservice.GetWorkflowExecutionHistoryReverseResponse, error)
	SignalWorkflowExecution(ctx context.Context, namespaceID string, req *workflowservice.SignalWorkflowExecutionRequest) error
	// SignalWithStartWorkflowExecution signals the workflow's open run or
	// starts start (validated, defaults filled) with sig as first event.
	SignalWithStartWorkflowExecution(ctx context.Context, namespaceID string, start *workflowservice.StartWorkflowExecutionRequest, sig SignalInput) (*workflowservice.SignalWithStartWorkflowExecutionResponse, error)
	RequestCancelWorkflowExecution(ctx context.Context, namespaceID string, req *workflowservice.RequestCancelWorkflowExecutionRequest) error
	TerminateWorkflowExecution(ctx context.Context, namespaceID string, req *workflowservice.TerminateWorkflowExecutionRequest) error
	DescribeWorkflowExecution(ctx context.Context, namespaceID string, req *workflowservice.DescribeWorkflowExecutionRequest) (*workflowservice.DescribeWorkflowExecutionResponse, error)
	// QueryWorkflow asks a worker to answer a query; a worker-side failure
	// is *QueryFailedError.
	QueryWorkflow(ctx context.Context, namespaceID string, req *workflowservice.QueryWorkflowRequest) (*workflowservice.QueryWorkflowResponse, error)
	ResetStickyTaskQueue(ctx context.Context, namespaceID string, exec *commonpb.WorkflowExecution) error
	UpdateWorkflowExecution(ctx context.Context, namespaceID string, req *workflowservice.UpdateWorkflowExecutionRequest) (*workflowservice.UpdateWorkflowExecutionResponse, error)
	PollWorkflowExecutionUpdate(ctx context.Context, namespaceID string, req *workflowservice.PollWorkflowExecutionUpdateRequest) (*workflowservice.PollWorkflowExecutionUpdateResponse, error)
	// DeleteWorkflowExecution terminates the run if open and deletes it.
	DeleteWorkflowExecution(ctx context.Context, namespaceID string, exec *commonpb.WorkflowExecution) error
	// ResetWorkflowExecution resets a run to a workflow task as a new run
	// (the response's run ID), terminating the open current run; a bad
	// reset point is *InvalidArgumentError.
	ResetWorkflowExecution(ctx context.Context, namespaceID string, req *workflowservice.ResetWorkflowExecutionRequest) (*workflowservice.ResetWorkflowExecutionResponse, error)
	// Operator calls on a run's pending activities (the current run when
	// exec has no run ID). No pending activity with the ID or type is
	// ErrActivityNotFound; bad options are *InvalidArgumentError.
	PauseActivity(ctx context.Context, namespaceID string, exec *commonpb.WorkflowExecution, in PauseActivityInput) error
	UnpauseActivity(ctx context.Context, namespaceID string, exec *commonpb.WorkflowExecution, in UnpauseActivityInput) error
	ResetActivity(ctx context.Context, namespaceID string, exec *commonpb.WorkflowExecution, in ResetActivityInput) error
	UpdateActivityOptions(ctx context.Context, namespaceID string, exec *commonpb.WorkflowExecution, in UpdateActivityOptionsInput) (*activitypb.ActivityOptions, error)
	// UpdateWorkflowPriority applies the priority paths of an options
	// update mask and returns the run's priority after it (nil: none).
	UpdateWorkflowPriority(ctx context.Context, namespaceID string, exec *commonpb.WorkflowExecution, upd *commonpb.Priority, paths []string, identity string) (*commonpb.Priority, error)
}

var (
	// ErrWorkflowNotFound: the workflow ID or run does not exist (NotFound).
	ErrWorkflowNotFound = errors.New("workflow execution not found")
	// ErrWorkflowCompleted: the run is closed (NotFound "workflow execution
	// already completed").
	ErrWorkflowCompleted = errors.New("workflow execution already completed")
	// ErrWorkflowTaskNotFound: stale workflow task token (NotFound).
	ErrWorkflowTaskNotFound = errors.New("workflow task not found")
	// ErrActivityTaskNotFound: stale activity task token (NotFound).
	ErrActivityTaskNotFound = errors.New("activity task not found")
	// ErrActivityNotFound: no pending activity has the ID or type an
	// operator call names (NotFound).
	ErrActivityNotFound = errors.New("activity not found")
	// ErrBusy: the workflow is too contended right now (ResourceExhausted,
	// cause BUSY_WORKFLOW); safe to retry.
	ErrBusy = errors.New("workflow is busy")
	// ErrQueryTimeout: no worker answered the query in time
	// (DeadlineExceeded).
	ErrQueryTimeout = errors.New("query timed out: no worker answered before the deadline (is a worker polling the workflow's task queue?)")
	// ErrShuttingDown: the history role is stopping (Unavailable).
	ErrShuttingDown = errors.New("history is shutting down")
)

// AlreadyStartedError: a start found an open run with another request ID,
// or a closed run its reuse policy refuses (AlreadyExists,
// WorkflowExecutionAlreadyStarted). Msg, when set, is the message for the
// client in the reference server's words; without it the run is reported
// as running.
type AlreadyStartedError struct {
	StartRequestID string
	RunID          string
	WorkflowID     string
	Msg            string
}

func (e *AlreadyStartedError) Error() string {
	if e.Msg != "" {
		return e.Msg
	}
	return fmt.Sprintf("Workflow execution is already running. WorkflowId: %v, RunId: %v.", e.WorkflowID, e.RunID)
}

// InvalidArgumentError: the request is well-formed but not acceptable in the
// current state (InvalidArgument).
type InvalidArgumentError struct{ Msg string }

func (e *InvalidArgumentError) Error() string { return e.Msg }

// SignalInput is a signal as the state machine takes it.
type SignalInput = statemachine.SignalInput

// QueryFailedError: the worker's query handler failed (InvalidArgument with
// QueryFailedFailure).
type QueryFailedError struct {
	Msg     string
	Failure *failurepb.Failure
}

func (e *QueryFailedError) Error() string { return e.Msg }

// FailedPreconditionError: the run's state does not allow the call
// (FailedPrecondition).
type FailedPreconditionError struct{ Msg string }

func (e *FailedPreconditionError) Error() string { return e.Msg }
