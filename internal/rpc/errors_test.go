package rpc

import (
	"context"
	"errors"
	"fmt"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	"go.temporal.io/api/serviceerror"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/sundialhq/sundial/internal/history"
	"github.com/sundialhq/sundial/internal/matching"
	"github.com/sundialhq/sundial/internal/persistence"
	"github.com/sundialhq/sundial/internal/visibility"
)

// roundTrip sends err through ToStatus, the status's wire form, and
// FromStatus, as a call across processes does.
func roundTrip(t *testing.T, err error) error {
	t.Helper()
	st, ok := status.FromError(ToStatus(err))
	if !ok {
		t.Fatalf("ToStatus(%v) is not a status", err)
	}
	b, merr := proto.Marshal(st.Proto())
	if merr != nil {
		t.Fatal(merr)
	}
	wire := st.Proto()
	proto.Reset(wire)
	if err := proto.Unmarshal(b, wire); err != nil {
		t.Fatal(err)
	}
	return FromStatus(status.ErrorProto(wire))
}

func TestSentinelErrorsRoundTrip(t *testing.T) {
	for _, s := range sentinels {
		for _, err := range []error{s.err, fmt.Errorf("loading run: %w", s.err)} {
			got := roundTrip(t, err)
			if !errors.Is(got, s.err) {
				t.Errorf("%s: round trip of %q = %v (%T), not errors.Is the sentinel", s.kind, err, got, got)
			}
			if got.Error() != err.Error() {
				t.Errorf("%s: message %q, want %q", s.kind, got.Error(), err.Error())
			}
		}
	}
}

func TestTypedErrorsRoundTrip(t *testing.T) {
	failure := &failurepb.Failure{Message: "handler panicked"}
	alreadyStarted := &history.AlreadyStartedError{StartRequestID: "req", RunID: "run", WorkflowID: "wf"}
	got := roundTrip(t, alreadyStarted)
	var as *history.AlreadyStartedError
	if !errors.As(got, &as) || *as != *alreadyStarted {
		t.Errorf("AlreadyStartedError came back as %#v", got)
	}
	withMsg := &history.AlreadyStartedError{RunID: "run", WorkflowID: "wf", Msg: "Workflow execution already finished successfully."}
	if got := roundTrip(t, withMsg); !errors.As(got, &as) || *as != *withMsg || got.Error() != withMsg.Error() {
		t.Errorf("AlreadyStartedError with Msg came back as %#v", got)
	}

	var qf *history.QueryFailedError
	if got := roundTrip(t, &history.QueryFailedError{Msg: "boom", Failure: failure}); !errors.As(got, &qf) ||
		qf.Msg != "boom" || !proto.Equal(qf.Failure, failure) {
		t.Errorf("QueryFailedError came back as %#v", got)
	}
	var inv *history.InvalidArgumentError
	if got := roundTrip(t, fmt.Errorf("reset: %w", &history.InvalidArgumentError{Msg: "bad reset point"})); !errors.As(got, &inv) ||
		inv.Msg != "bad reset point" || got.Error() != "reset: bad reset point" {
		t.Errorf("wrapped InvalidArgumentError came back as %#v", got)
	}
	var fp *history.FailedPreconditionError
	if got := roundTrip(t, &history.FailedPreconditionError{Msg: "no"}); !errors.As(got, &fp) || fp.Msg != "no" {
		t.Errorf("FailedPreconditionError came back as %#v", got)
	}
	var sa *visibility.InvalidSearchAttributeError
	if got := roundTrip(t, &visibility.InvalidSearchAttributeError{Msg: "unknown attr"}); !errors.As(got, &sa) || sa.Msg != "unknown attr" {
		t.Errorf("InvalidSearchAttributeError came back as %#v", got)
	}
	unavailable := &persistence.UnavailableError{Err: errors.New("connection refused")}
	var ue *persistence.UnavailableError
	if got := roundTrip(t, unavailable); !errors.As(got, &ue) || got.Error() != unavailable.Error() {
		t.Errorf("UnavailableError came back as %#v", got)
	}
	lost := &persistence.ShardOwnershipLostError{ShardID: 3, RangeID: 7}
	var sl *persistence.ShardOwnershipLostError
	if got := roundTrip(t, lost); !errors.As(got, &sl) || *sl != *lost || got.Error() != lost.Error() {
		t.Errorf("ShardOwnershipLostError came back as %#v", got)
	}
	var ll *persistence.TaskQueueLeaseLostError
	lease := &persistence.TaskQueueLeaseLostError{RangeID: 4}
	if got := roundTrip(t, lease); !errors.As(got, &ll) || got.Error() != lease.Error() {
		t.Errorf("TaskQueueLeaseLostError came back as %#v", got)
	}
	if got := roundTrip(t, errors.New("something else")); got.Error() != "something else" {
		t.Errorf("plain error came back as %q", got)
	}
}

// serviceerrors keep their code, message and details.
func TestServiceErrorsRoundTrip(t *testing.T) {
	for _, err := range []error{
		serviceerror.NewWorkflowExecutionAlreadyStarted("already started", "req", "run"),
		serviceerror.NewNamespaceNotFound("ns"),
		serviceerror.NewResourceExhausted(enumspb.RESOURCE_EXHAUSTED_CAUSE_BUSY_WORKFLOW, "Workflow is busy."),
		serviceerror.NewQueryFailedWithFailure("query failed", &failurepb.Failure{Message: "x"}),
		serviceerror.NewInvalidArgument("bad"),
		fmt.Errorf("wrapped: %w", serviceerror.NewNotFound("gone")),
	} {
		got := roundTrip(t, err)
		want := serviceerror.ToStatus(err).Proto()
		want.Message = err.Error()
		if gotSt := serviceerror.ToStatus(got); !proto.Equal(gotSt.Proto(), want) {
			t.Errorf("%v came back as %v (%T)", err, got, got)
		}
	}
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if got := roundTrip(t, serviceerror.NewWorkflowExecutionAlreadyStarted("m", "req", "run")); !errors.As(got, &started) ||
		started.RunId != "run" || started.StartRequestId != "req" {
		t.Errorf("WorkflowExecutionAlreadyStarted lost its details: %#v", got)
	}
}

// The codes of Sundial's own errors: retryable ones are Unavailable for
// anything that only reads the code.
func TestErrorCodes(t *testing.T) {
	for err, want := range map[error]codes.Code{
		ErrNotOwner:              codes.Unavailable,
		history.ErrShuttingDown:  codes.Unavailable,
		context.DeadlineExceeded: codes.DeadlineExceeded,
		context.Canceled:         codes.Canceled,
		&persistence.ShardOwnershipLostError{ShardID: 1}: codes.Unavailable,
		matching.ErrTaskGone:                             codes.Unknown,
	} {
		if got := status.Code(ToStatus(err)); got != want {
			t.Errorf("code of %v = %v, want %v", err, got, want)
		}
	}
}
