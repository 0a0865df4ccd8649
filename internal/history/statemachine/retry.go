package statemachine

import (
	"time"

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
