package frontend

import (
	"context"
	"errors"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"google.golang.org/grpc/status"

	"github.com/sundialhq/sundial/internal/history"
	"github.com/sundialhq/sundial/internal/matching"
	"github.com/sundialhq/sundial/internal/namespace"
	"github.com/sundialhq/sundial/internal/persistence"
	"github.com/sundialhq/sundial/internal/visibility"
)

// toServiceError is the one place where Sundial's typed errors become
// Temporal service errors (and so gRPC codes). It is applied to every error
// a handler returns (by the interceptor), so handlers return domain errors
// unchanged and validation errors as serviceerrors. Errors it does not know
// become Internal (they mean a bug somewhere); the interceptor logs every
// failed call once, so this function does not log.
func toServiceError(err error) error {
	if err == nil {
		return nil
	}
	var svcErr serviceerror.ServiceError
	if errors.As(err, &svcErr) {
		return err
	}
	if _, ok := status.FromError(err); ok {
		return err // already a gRPC status (e.g. from the health service)
	}

	var queryFailed *history.QueryFailedError
	var precondition *history.FailedPreconditionError
	var alreadyStarted *history.AlreadyStartedError
	var invalid *history.InvalidArgumentError
	var badSearchAttr *visibility.InvalidSearchAttributeError
	var unavailable *persistence.UnavailableError
	var shardLost *persistence.ShardOwnershipLostError
	var leaseLost *persistence.TaskQueueLeaseLostError
	switch {
	case errors.Is(err, history.ErrWorkflowNotFound):
		return serviceerror.NewNotFound("workflow execution not found")
	case errors.Is(err, history.ErrWorkflowCompleted):
		return serviceerror.NewNotFound("workflow execution already completed")
	case errors.Is(err, history.ErrWorkflowTaskNotFound):
		return serviceerror.NewNotFound("workflow task not found.")
	case errors.Is(err, history.ErrActivityTaskNotFound):
		return serviceerror.NewNotFound("activity task not found.")
	case errors.Is(err, history.ErrActivityNotFound):
		return serviceerror.NewNotFound("activity not found.")
	case errors.Is(err, namespace.ErrNotFound):
		return serviceerror.NewNotFound("namespace not found")
	case errors.As(err, &alreadyStarted):
		return serviceerror.NewWorkflowExecutionAlreadyStarted(
			alreadyStarted.Error(),
			alreadyStarted.StartRequestID, alreadyStarted.RunID)
	case errors.Is(err, history.ErrUpdateNotFound):
		return serviceerror.NewNotFound("update not found")
	case errors.Is(err, history.ErrUpdateAbortedByClose):
		return serviceerror.NewNotFound(err.Error())
	case errors.Is(err, history.ErrTooManyInFlightUpdates):
		return serviceerror.NewResourceExhausted(enumspb.RESOURCE_EXHAUSTED_CAUSE_CONCURRENT_LIMIT, "the workflow has too many in-flight updates")
	case errors.As(err, &precondition):
		return serviceerror.NewFailedPrecondition(precondition.Msg)
	case errors.As(err, &queryFailed):
		return serviceerror.NewQueryFailedWithFailure(queryFailed.Msg, queryFailed.Failure)
	case errors.Is(err, history.ErrQueryTimeout):
		return serviceerror.NewDeadlineExceeded(err.Error())
	case errors.Is(err, matching.ErrMalformedQueryToken):
		return serviceerror.NewInvalidArgument("Error deserializing query task token.")
	case errors.Is(err, matching.ErrTooManyQueries):
		return serviceerror.NewResourceExhausted(enumspb.RESOURCE_EXHAUSTED_CAUSE_CONCURRENT_LIMIT, "Too many outstanding queries.")
	case errors.Is(err, matching.ErrQueryTaskNotFound):
		return serviceerror.NewNotFound("query task not found, or already expired")
	case errors.As(err, &invalid):
		return serviceerror.NewInvalidArgument(invalid.Msg)
	case errors.As(err, &badSearchAttr):
		return serviceerror.NewInvalidArgument(badSearchAttr.Msg)
	case errors.Is(err, history.ErrBusy):
		return serviceerror.NewResourceExhausted(enumspb.RESOURCE_EXHAUSTED_CAUSE_BUSY_WORKFLOW, "Workflow is busy.")
	case errors.Is(err, matching.ErrTooManyPollers):
		return serviceerror.NewResourceExhausted(enumspb.RESOURCE_EXHAUSTED_CAUSE_CONCURRENT_LIMIT, "Too many outstanding pollers.")
	case errors.Is(err, matching.ErrBusy):
		return serviceerror.NewResourceExhausted(enumspb.RESOURCE_EXHAUSTED_CAUSE_SYSTEM_OVERLOADED, "Task queue is busy.")
	case errors.As(err, &unavailable), errors.As(err, &shardLost), errors.As(err, &leaseLost),
		errors.Is(err, persistence.ErrUnknownOutcome), errors.Is(err, history.ErrShuttingDown):
		return serviceerror.NewUnavailable(err.Error())
	case errors.Is(err, persistence.ErrConditionFailed):
		// History retries these itself; one that escapes is a lost race
		// that is safe to retry (the store's contract), so not Internal.
		return serviceerror.NewUnavailable("concurrent update, retry: " + err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return serviceerror.NewDeadlineExceeded(err.Error())
	case errors.Is(err, context.Canceled):
		return serviceerror.NewCanceled(err.Error())
	}
	return serviceerror.NewInternal(err.Error())
}
