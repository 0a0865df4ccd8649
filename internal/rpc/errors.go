package rpc

import (
	"context"
	"errors"

	"go.temporal.io/api/serviceerror"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sundialhq/sundial/internal/history"
	sm "github.com/sundialhq/sundial/internal/history/statemachine"
	"github.com/sundialhq/sundial/internal/matching"
	"github.com/sundialhq/sundial/internal/namespace"
	"github.com/sundialhq/sundial/internal/persistence"
	"github.com/sundialhq/sundial/internal/rpc/rpcpb"
	"github.com/sundialhq/sundial/internal/tasktoken"
	"github.com/sundialhq/sundial/internal/visibility"
)

// ErrNotOwner is the answer of a process asked about a key (history shard,
// task queue) that the ring gives to another member, or of a role this
// process does not run: ownership moved. Routed clients retry it after
// resolving the owner again.
var ErrNotOwner = errors.New("rpc: this process does not own the key; ownership moved")

// Kinds of typed errors (sentinels are named by the sentinels table).
const (
	kindAlreadyStarted     = "history:AlreadyStartedError"
	kindInvalidArgument    = "history:InvalidArgumentError"
	kindQueryFailed        = "history:QueryFailedError"
	kindFailedPrecondition = "history:FailedPreconditionError"
	kindInvalidSearchAttr  = "visibility:InvalidSearchAttributeError"
	kindUnavailable        = "persistence:UnavailableError"
	kindShardLost          = "persistence:ShardOwnershipLostError"
	kindLeaseLost          = "persistence:TaskQueueLeaseLostError"
)

// sentinels are the errors compared with errors.Is across the roles, by
// wire name. Order matters only for an error that wraps two of them: the
// first listed wins.
var sentinels = []struct {
	kind string
	err  error
}{
	{"rpc:NotOwner", ErrNotOwner},
	{"history:WorkflowNotFound", history.ErrWorkflowNotFound},
	{"history:WorkflowCompleted", history.ErrWorkflowCompleted},
	{"history:WorkflowTaskNotFound", history.ErrWorkflowTaskNotFound},
	{"history:ActivityTaskNotFound", history.ErrActivityTaskNotFound},
	{"history:Busy", history.ErrBusy},
	{"history:QueryTimeout", history.ErrQueryTimeout},
	{"history:ShuttingDown", history.ErrShuttingDown},
	{"history:UpdateNotFound", history.ErrUpdateNotFound},
	{"history:UpdateAbortedByClose", history.ErrUpdateAbortedByClose},
	{"history:TooManyInFlightUpdates", history.ErrTooManyInFlightUpdates},
	{"history:ActivityNotFound", history.ErrActivityNotFound},
	{"statemachine:StaleWorkflowTask", sm.ErrStaleWorkflowTask},
	{"statemachine:StaleActivityTask", sm.ErrStaleActivityTask},
	{"statemachine:Closed", sm.ErrClosed},
	{"statemachine:SignalLimit", sm.ErrSignalLimit},
	{"statemachine:TaskGone", sm.ErrTaskGone},
	{"statemachine:InvalidResetPoint", sm.ErrInvalidResetPoint},
	{"statemachine:TooManyUpdates", sm.ErrTooManyUpdates},
	{"statemachine:ActivityNotFound", sm.ErrActivityNotFound},
	{"matching:TaskGone", matching.ErrTaskGone},
	{"matching:NoSuchPartition", matching.ErrNoSuchPartition},
	{"matching:InvalidRequest", matching.ErrInvalidRequest},
	{"matching:Busy", matching.ErrBusy},
	{"matching:TooManyPollers", matching.ErrTooManyPollers},
	{"matching:NoHistoryClient", matching.ErrNoHistoryClient},
	{"matching:NoPoller", matching.ErrNoPoller},
	{"matching:QueryTaskNotFound", matching.ErrQueryTaskNotFound},
	{"matching:MalformedQueryToken", matching.ErrMalformedQueryToken},
	{"matching:TooManyQueries", matching.ErrTooManyQueries},
	{"matching:StickyWorkerUnavailable", matching.ErrStickyWorkerUnavailable},
	{"persistence:NotFound", persistence.ErrNotFound},
	{"persistence:ConditionFailed", persistence.ErrConditionFailed},
	{"persistence:AlreadyExists", persistence.ErrAlreadyExists},
	{"persistence:UnknownOutcome", persistence.ErrUnknownOutcome},
	{"persistence:InvalidPageToken", persistence.ErrInvalidPageToken},
	{"namespace:NotFound", namespace.ErrNotFound},
	{"namespace:InvalidState", namespace.ErrInvalidState},
	{"tasktoken:Malformed", tasktoken.ErrMalformed},
	{"context:DeadlineExceeded", context.DeadlineExceeded},
	{"context:Canceled", context.Canceled},
}

// ToStatus turns a role's error into the gRPC status error a server
// adapter returns. serviceerrors and statuses go as they are (code,
// message, details); Sundial's own errors go as an rpcpb.Error detail that
// FromStatus turns back into the same Go error.
func ToStatus(err error) error {
	if err == nil {
		return nil
	}
	var svcErr serviceerror.ServiceError
	if errors.As(err, &svcErr) {
		st := serviceerror.ToStatus(svcErr).Proto()
		st.Message = err.Error() // a wrapping error's message, as gRPC reports it
		return status.ErrorProto(st)
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	pb := &rpcpb.Error{Message: err.Error()}
	code := codes.Unknown
	var (
		alreadyStarted *history.AlreadyStartedError
		invalid        *history.InvalidArgumentError
		queryFailed    *history.QueryFailedError
		precondition   *history.FailedPreconditionError
		badSearchAttr  *visibility.InvalidSearchAttributeError
		unavailable    *persistence.UnavailableError
		shardLost      *persistence.ShardOwnershipLostError
		leaseLost      *persistence.TaskQueueLeaseLostError
	)
	switch {
	case errors.As(err, &alreadyStarted):
		pb.Kind, pb.StartRequestId, pb.RunId, pb.WorkflowId, pb.Msg = kindAlreadyStarted,
			alreadyStarted.StartRequestID, alreadyStarted.RunID, alreadyStarted.WorkflowID, alreadyStarted.Msg
	case errors.As(err, &invalid):
		pb.Kind, pb.Msg = kindInvalidArgument, invalid.Msg
	case errors.As(err, &queryFailed):
		pb.Kind, pb.Msg, pb.Failure = kindQueryFailed, queryFailed.Msg, queryFailed.Failure
	case errors.As(err, &precondition):
		pb.Kind, pb.Msg = kindFailedPrecondition, precondition.Msg
	case errors.As(err, &badSearchAttr):
		pb.Kind, pb.Msg = kindInvalidSearchAttr, badSearchAttr.Msg
	case errors.As(err, &shardLost):
		pb.Kind, pb.ShardId, pb.RangeId = kindShardLost, shardLost.ShardID, shardLost.RangeID
		code = codes.Unavailable
	case errors.As(err, &leaseLost):
		pb.Kind, pb.RangeId, pb.Msg = kindLeaseLost, leaseLost.RangeID, leaseLost.Error()
		code = codes.Unavailable
	case errors.As(err, &unavailable):
		pb.Kind, pb.Msg = kindUnavailable, unavailable.Err.Error()
		code = codes.Unavailable
	default:
		for _, s := range sentinels {
			if errors.Is(err, s.err) {
				pb.Kind = s.kind
				break
			}
		}
		switch pb.Kind {
		case "rpc:NotOwner", "history:ShuttingDown":
			code = codes.Unavailable
		case "context:DeadlineExceeded":
			code = codes.DeadlineExceeded
		case "context:Canceled":
			code = codes.Canceled
		}
	}
	st, derr := status.New(code, err.Error()).WithDetails(pb)
	if derr != nil {
		return status.Error(codes.Internal, err.Error())
	}
	return st.Err()
}

// FromStatus is the client side of ToStatus: the Go error the role
// returned, or the serviceerror the status carries. Errors that are not
// statuses (the caller's own context errors) come back unchanged.
func FromStatus(err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	for _, d := range st.Details() {
		if pb, ok := d.(*rpcpb.Error); ok {
			return fromPB(pb)
		}
	}
	return serviceerror.FromStatus(st)
}

func fromPB(pb *rpcpb.Error) error {
	var typed error
	switch pb.Kind {
	case kindAlreadyStarted:
		typed = &history.AlreadyStartedError{StartRequestID: pb.StartRequestId, RunID: pb.RunId,
			WorkflowID: pb.WorkflowId, Msg: pb.Msg}
	case kindInvalidArgument:
		typed = &history.InvalidArgumentError{Msg: pb.Msg}
	case kindQueryFailed:
		typed = &history.QueryFailedError{Msg: pb.Msg, Failure: pb.Failure}
	case kindFailedPrecondition:
		typed = &history.FailedPreconditionError{Msg: pb.Msg}
	case kindInvalidSearchAttr:
		typed = &visibility.InvalidSearchAttributeError{Msg: pb.Msg}
	case kindUnavailable:
		typed = &persistence.UnavailableError{Err: errors.New(pb.Msg)}
	case kindShardLost:
		typed = &persistence.ShardOwnershipLostError{ShardID: pb.ShardId, RangeID: pb.RangeId}
	case kindLeaseLost:
		typed = &persistence.TaskQueueLeaseLostError{RangeID: pb.RangeId}
	default:
		for _, s := range sentinels {
			if s.kind == pb.Kind {
				typed = s.err
				break
			}
		}
	}
	if typed == nil {
		return errors.New(pb.Message)
	}
	if typed.Error() == pb.Message {
		return typed
	}
	return &remoteError{msg: pb.Message, err: typed}
}

// remoteError keeps the server's message of an error that wrapped a known
// one (fmt.Errorf("...: %w", ErrX)), with errors.Is/As still finding it.
type remoteError struct {
	msg string
	err error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.err }
