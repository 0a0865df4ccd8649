package statemachine

import (
	"math"
	"slices"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"

	commonpb "go.temporal.io/api/common/v1"
	"google.golang.org/protobuf/types/known/durationpb"
)

// DefaultRetryPolicy fills an activity retry policy with Temporal's
// defaults: 1 s initial interval, coefficient 2, maximum 100x initial,
// unlimited attempts.
func DefaultRetryPolicy(p *commonpb.RetryPolicy) RetryPolicy {
	rp := RetryPolicy{
		InitialInterval:    p.GetInitialInterval().AsDuration(),
		BackoffCoefficient: p.GetBackoffCoefficient(),
		MaximumInterval:    p.GetMaximumInterval().AsDuration(),
		MaximumAttempts:    p.GetMaximumAttempts(),
		NonRetryableTypes:  p.GetNonRetryableErrorTypes(),
	}
	if rp.InitialInterval <= 0 {
		rp.InitialInterval = time.Second
	}
	if rp.BackoffCoefficient == 0 {
		rp.BackoffCoefficient = 2
	}
	if rp.MaximumInterval <= 0 {
		rp.MaximumInterval = 100 * rp.InitialInterval
	}
	return rp
}

// Proto returns the policy as the API type.
func (rp RetryPolicy) Proto() *commonpb.RetryPolicy {
	return &commonpb.RetryPolicy{
		InitialInterval:        durationpb.New(rp.InitialInterval),
		BackoffCoefficient:     rp.BackoffCoefficient,
		MaximumInterval:        durationpb.New(rp.MaximumInterval),
		MaximumAttempts:        rp.MaximumAttempts,
		NonRetryableErrorTypes: rp.NonRetryableTypes,
	}
}

// ValidateRetryPolicy returns Temporal's message for an invalid policy, or
// "" when it is valid (nil is valid). MaximumAttempts == 1 skips the other
// checks.
func ValidateRetryPolicy(p *commonpb.RetryPolicy) string {
	if p == nil || p.GetMaximumAttempts() == 1 {
		return ""
	}
	switch {
	case p.GetMaximumAttempts() < 0:
		return "MaximumAttempts cannot be negative on retry policy."
	case p.GetInitialInterval().AsDuration() < 0:
		return "InitialInterval cannot be negative on retry policy."
	case p.GetMaximumInterval().AsDuration() < 0:
		return "MaximumInterval cannot be negative on retry policy."
	case p.GetBackoffCoefficient() != 0 && p.GetBackoffCoefficient() < 1:
		return "BackoffCoefficient cannot be less than 1 on retry policy."
	case p.GetMaximumInterval().AsDuration() > 0 && p.GetMaximumInterval().AsDuration() < p.GetInitialInterval().AsDuration():
		return "MaximumInterval cannot be less than InitialInterval on retry policy."
	}
	return ""
}

// retryDecision decides whether attempt, which failed with f, is retried
// under rp and after how long; deadline (zero: none) is when retrying must
// stop. The state is RETRY_STATE_IN_PROGRESS when it is retried.
func retryDecision(rp RetryPolicy, attempt int32, f *failurepb.Failure, now, deadline time.Time) (time.Duration, enumspb.RetryState) {
	if app := f.GetApplicationFailureInfo(); app != nil {
		if app.GetNonRetryable() || slices.Contains(rp.NonRetryableTypes, app.GetType()) {
			return 0, enumspb.RETRY_STATE_NON_RETRYABLE_FAILURE
		}
	}
	if f.GetCanceledFailureInfo() != nil || f.GetTerminatedFailureInfo() != nil {
		return 0, enumspb.RETRY_STATE_NON_RETRYABLE_FAILURE
	}
	if rp.MaximumAttempts > 0 && attempt >= rp.MaximumAttempts {
		return 0, enumspb.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED
	}
	backoff := time.Duration(float64(rp.InitialInterval) * math.Pow(rp.BackoffCoefficient, float64(attempt-1)))
	if backoff > rp.MaximumInterval || backoff < 0 {
		backoff = rp.MaximumInterval
	}
	if d := f.GetApplicationFailureInfo().GetNextRetryDelay(); d != nil && d.AsDuration() > 0 {
		backoff = d.AsDuration()
	}
	if !deadline.IsZero() && !now.Add(backoff).Before(deadline) {
		return 0, enumspb.RETRY_STATE_TIMEOUT
	}
	return backoff, enumspb.RETRY_STATE_IN_PROGRESS
}
