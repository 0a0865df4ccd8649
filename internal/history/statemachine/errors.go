package statemachine

import "errors"

var (
	// ErrStaleWorkflowTask: the token does not match the pending workflow
	// task (wrong scheduled ID or attempt, not started, already completed).
	ErrStaleWorkflowTask = errors.New("workflow task not found")
	// ErrStaleActivityTask: the token does not match a started attempt of a
	// pending activity.
	ErrStaleActivityTask = errors.New("activity task not found")
	// ErrClosed: the run is closed.
	ErrClosed = errors.New("workflow execution already completed")
	// ErrSignalLimit: the run accepted its maximum number of signals.
	ErrSignalLimit = errors.New("exceeded workflow execution limit for signal events")
	// ErrTaskGone: a dispatch is for a task that no longer waits to start.
	ErrTaskGone = errors.New("task no longer pending")
	// ErrActivityNotFound: no pending activity matches an operator call's
	// activity ID or type.
	ErrActivityNotFound = errors.New("activity not found")
)
