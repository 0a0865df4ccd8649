package matching

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/api/workflowservice/v1"
)

// AddTaskRequest asks matching to hand one workflow or activity task to a
// poller of TaskQueue (sync match) or persist it in the backlog.
type AddTaskRequest struct {
	NamespaceID      string
	TaskQueue        string
	Sticky           bool // the queue is a worker's sticky queue (one partition)
	WorkflowID       string
	RunID            string
	ScheduledEventID int64
	// ScheduleToStart bounds how long the task may wait; zero means no bound.
	// Expired tasks are dropped (history's own timeout timer handles them).
	ScheduleToStart time.Duration
}

// HistoryClient is what matching needs from history to hand out a task: it
// marks the task started and builds the poll response (including the task
// token). ErrTaskGone means the task is stale (already started, completed,
// or the run closed): matching drops it and serves the poller another task.
// Any other error leaves the task in the backlog to be retried later.
type HistoryClient interface {
	RecordWorkflowTaskStarted(ctx context.Context, req *RecordStartedRequest) (*workflowservice.PollWorkflowTaskQueueResponse, error)
	RecordActivityTaskStarted(ctx context.Context, req *RecordStartedRequest) (*workflowservice.PollActivityTaskQueueResponse, error)
}

// RecordStartedRequest identifies the task being started and the poller.
type RecordStartedRequest struct {
	NamespaceID      string
	WorkflowID       string
	RunID            string
	ScheduledEventID int64
	// PollRequestID is unique per poll, so a retried RecordStarted for the
	// same poll is idempotent.
	PollRequestID string
	Identity      string
	// TaskQueue is the queue the poller polled (a sticky queue name when
	// polling the sticky queue).
	TaskQueue string
}

// ErrTaskGone is returned by HistoryClient for stale tasks.
var ErrTaskGone = errors.New("matching: task no longer exists")
