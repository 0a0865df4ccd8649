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
	// Partition is the partition the routed client chose for the task (in
	// a cluster, see Options.Forwarder): the engine writes it there when
	// it owns it. In a cluster of one the engine picks round robin.
	Partition int32
}

// Forwarder carries work from a process that owns child partitions of a
// task queue, but not its root, to the root's owner (the reference's
// forwarding: pollers gather at the root, where tasks are forwarded). It is
// nil in a cluster of one. Calls are bounded by ctx.
type Forwarder interface {
	// ForwardTask offers a task to a poller at the root's owner, sync
	// match only (see Engine.OfferForwardedTask). matched means the root's
	// poller took it and nothing is owed; otherwise (or on an error) the
	// task is still the caller's.
	ForwardTask(ctx context.Context, t *ForwardedTask) (matched bool, err error)
	// ForwardPollWorkflowTask and ForwardPollActivityTask long-poll the
	// queue at the root's owner (never forwarded again there) until ctx
	// ends; an empty response means no task came.
	ForwardPollWorkflowTask(ctx context.Context, namespaceID string, req *workflowservice.PollWorkflowTaskQueueRequest) (*workflowservice.PollWorkflowTaskQueueResponse, error)
	ForwardPollActivityTask(ctx context.Context, namespaceID string, req *workflowservice.PollActivityTaskQueueRequest) (*workflowservice.PollActivityTaskQueueResponse, error)
}

// ForwardedTask is a task a child partition's owner offers to the root.
type ForwardedTask struct {
	NamespaceID      string
	TaskQueue        string
	Activity         bool
	WorkflowID       string
	RunID            string
	ScheduledEventID int64
	CreatedAt        time.Time // when matching first received it (zero: unknown)
	ExpiresAt        time.Time // zero: never
	// Backlog: a persisted task (the root may hold it a little longer for
	// a poller); otherwise an add waiting for a sync match.
	Backlog bool
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
