// Package statemachine is the pure core of history: it turns (state, input,
// now) into (new state, events, tasks). It does no I/O and never reads the
// clock or a random source; IDs and time are inputs. Functions mutate the
// State they are given: a caller whose write of the result fails must drop
// that State and reload it.
package statemachine

import (
	"encoding/json"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/proto"
)

// State is a run's mutable state, derived from its history plus the facts
// history does not record (activity attempts, heartbeats, transient workflow
// tasks, buffered events). It is encoded with Encode and stored as one blob.
type State struct {
	Execution ExecutionInfo `json:"execution"`
	// NextEventID is the ID the next written event gets.
	NextEventID int64 `json:"next_event_id"`
	// LastCompletedWFTStartedEventID is the started event ID of the last
	// completed workflow task (the SDK's previous_started_event_id).
	LastCompletedWFTStartedEventID int64 `json:"last_wft_started_event_id,omitempty"`
	// WorkflowTask is the pending workflow task, nil if none.
	WorkflowTask *WorkflowTaskInfo `json:"workflow_task,omitempty"`
	// Activities are the pending activities by scheduled event ID.
	Activities map[int64]*ActivityInfo `json:"activities,omitempty"`
	// Timers are the pending user timers by timer ID.
	Timers map[string]*TimerInfo `json:"timers,omitempty"`
	// Buffered holds proto-encoded events that arrived while a workflow
	// task was started; they get IDs when that task ends.
	Buffered [][]byte `json:"buffered,omitempty"`
	// SearchAttributes is the proto-encoded commonpb.SearchAttributes
	// of the run (from the start and later upserts).
	SearchAttributes []byte `json:"search_attributes,omitempty"`
	// Memo is the proto-encoded commonpb.Memo of the run.
	Memo []byte `json:"memo,omitempty"`
	// SignalRequestIDs dedups signals by request ID; SignalCount counts
	// accepted signals against the per-execution limit.
	SignalRequestIDs map[string]bool `json:"signal_request_ids,omitempty"`
	SignalCount      int64           `json:"signal_count,omitempty"`
	// CancelRequestID is set once cancellation was requested.
	CancelRequested bool   `json:"cancel_requested,omitempty"`
	CancelRequestID string `json:"cancel_request_id,omitempty"`
	// Children are pending child workflows by initiated event ID.
	Children map[int64]*ChildInfo `json:"children,omitempty"`
	// ExternalSignals / ExternalCancels are pending SignalExternal /
	// RequestCancelExternal commands by initiated event ID.
	ExternalSignals map[int64]*ExternalInfo `json:"external_signals,omitempty"`
	ExternalCancels map[int64]*ExternalInfo `json:"external_cancels,omitempty"`
	// Updates are the run's workflow updates by update ID.
	Updates map[string]*UpdateInfo `json:"updates,omitempty"`
	// StartedAttrs is the proto-encoded WorkflowExecutionStartedEventAttributes,
	// kept when the run may start a next run (retry policy or cron).
	StartedAttrs []byte `json:"started_attrs,omitempty"`
	// StateTransitions counts written transitions (for describe).
	StateTransitions int64 `json:"state_transitions,omitempty"`
	// HistorySize is the encoded size of the written events, in bytes.
	HistorySize int64 `json:"history_size,omitempty"`
	// UserMetadata is the proto-encoded sdk.v1.UserMetadata given at start
	// (static summary and details), reported by describe.
	UserMetadata []byte `json:"user_metadata,omitempty"`
}

// ExecutionInfo is what a run is.
type ExecutionInfo struct {
	NamespaceID     string                          `json:"namespace_id"`
	WorkflowID      string                          `json:"workflow_id"`
	RunID           string                          `json:"run_id"`
	FirstRunID      string                          `json:"first_run_id"`
	WorkflowType    string                          `json:"workflow_type"`
	TaskQueue       string                          `json:"task_queue"`
	CreateRequestID string                          `json:"create_request_id"`
	Status          enumspb.WorkflowExecutionStatus `json:"status"`
	StartTime       time.Time                       `json:"start_time"`
	ExecutionTime   time.Time                       `json:"execution_time"`
	CloseTime       time.Time                       `json:"close_time,omitempty"`
	// Timeouts; zero means none.
	ExecutionTimeout time.Duration `json:"execution_timeout,omitempty"`
	RunTimeout       time.Duration `json:"run_timeout,omitempty"`
	TaskTimeout      time.Duration `json:"task_timeout"`
	// CloseEventID is the ID of the run's close event once closed.
	CloseEventID int64 `json:"close_event_id,omitempty"`
	// Chain facts carried from run to run (continue-as-new, retry, cron).
	Attempt             int32        `json:"attempt,omitempty"`
	CronSchedule        string       `json:"cron_schedule,omitempty"`
	Retry               *RetryPolicy `json:"retry,omitempty"`
	ExecutionExpiration time.Time    `json:"execution_expiration,omitempty"`
	Parent              *ParentInfo  `json:"parent,omitempty"`
	RootWorkflowID      string       `json:"root_workflow_id,omitempty"`
	RootRunID           string       `json:"root_run_id,omitempty"`
	// Priority is the proto-encoded commonpb.Priority the run was started
	// with; activities inherit the fields their command leaves unset.
	Priority []byte `json:"priority,omitempty"`
	// LastCompletionResult is the proto-encoded result of the last cron
	// run, handed to the next.
	LastCompletionResult []byte `json:"last_completion_result,omitempty"`
	// Sticky queue from the last completion's sticky attributes.
	StickyTaskQueue       string        `json:"sticky_task_queue,omitempty"`
	StickyScheduleToStart time.Duration `json:"sticky_schedule_to_start,omitempty"`
}

// WorkflowTaskInfo is the pending workflow task.
type WorkflowTaskInfo struct {
	ScheduledEventID int64 `json:"scheduled_event_id"`
	// StartedEventID is 0 until started. For a transient task (Transient)
	// the IDs are reserved but the events are not written.
	StartedEventID int64 `json:"started_event_id,omitempty"`
	Attempt        int32 `json:"attempt"`
	Transient      bool  `json:"transient,omitempty"`
	// Speculative: a transient attempt-1 task that carries updates; its
	// events are written only if its outcome must be recorded.
	Speculative bool   `json:"speculative,omitempty"`
	TaskQueue   string `json:"task_queue"`
	// Sticky: TaskQueue is the worker's sticky queue.
	Sticky        bool          `json:"sticky,omitempty"`
	Timeout       time.Duration `json:"timeout"`
	ScheduledTime time.Time     `json:"scheduled_time"`
	StartedTime   time.Time     `json:"started_time,omitempty"`
	RequestID     string        `json:"request_id,omitempty"`
	Identity      string        `json:"identity,omitempty"`
}

// Started reports whether a worker holds the task.
func (w *WorkflowTaskInfo) Started() bool { return w != nil && w.StartedEventID != 0 }

// ActivityInfo is one pending activity.
type ActivityInfo struct {
	ScheduledEventID int64  `json:"scheduled_event_id"`
	ActivityID       string `json:"activity_id"`
	ActivityType     string `json:"activity_type"`
	TaskQueue        string `json:"task_queue"`
	// Scheduled is the proto-encoded ActivityTaskScheduledEventAttributes
	// (input, header, timeouts as filled in) used to build poll responses.
	Scheduled []byte `json:"scheduled"`
	// ScheduledTime is when the activity was first scheduled;
	// AttemptScheduledTime when the current attempt was.
	ScheduledTime        time.Time     `json:"scheduled_time"`
	AttemptScheduledTime time.Time     `json:"attempt_scheduled_time"`
	ScheduleToStart      time.Duration `json:"schedule_to_start,omitempty"`
	ScheduleToClose      time.Duration `json:"schedule_to_close,omitempty"`
	StartToClose         time.Duration `json:"start_to_close,omitempty"`
	Heartbeat            time.Duration `json:"heartbeat,omitempty"`
	Retry                RetryPolicy   `json:"retry"`
	Attempt              int32         `json:"attempt"`
	// Started is true while a worker runs the current attempt.
	Started         bool      `json:"started,omitempty"`
	StartedTime     time.Time `json:"started_time,omitempty"`
	RequestID       string    `json:"request_id,omitempty"`
	StartedIdentity string    `json:"started_identity,omitempty"`
	// HeartbeatDetails is proto-encoded commonpb.Payloads.
	HeartbeatDetails []byte    `json:"heartbeat_details,omitempty"`
	LastHeartbeat    time.Time `json:"last_heartbeat,omitempty"`
	// LastFailure is the proto-encoded failurepb.Failure of the last attempt.
	LastFailure          []byte `json:"last_failure,omitempty"`
	LastWorkerIdentity   string `json:"last_worker_identity,omitempty"`
	CancelRequested      bool   `json:"cancel_requested,omitempty"`
	CancelRequestEventID int64  `json:"cancel_request_event_id,omitempty"`
	// Paused: an operator paused the activity (PauseActivity). A paused
	// attempt that is not started is not dispatched; a started one runs on
	// (its heartbeats answer activity_paused) and, if it fails with retries
	// left, is not retried until unpaused.
	Paused        bool      `json:"paused,omitempty"`
	PauseTime     time.Time `json:"pause_time,omitzero"`
	PauseIdentity string    `json:"pause_identity,omitempty"`
	PauseReason   string    `json:"pause_reason,omitempty"`
	// ResetRequested: ResetActivity found the attempt started; its
	// heartbeats answer activity_reset and its failure restarts the
	// activity at attempt 1 (ResetHeartbeat: without heartbeat details).
	ResetRequested bool `json:"reset_requested,omitempty"`
	ResetHeartbeat bool `json:"reset_heartbeat,omitempty"`
	// Stamp counts re-schedules by operator calls; a retry timer of an
	// older stamp is void.
	Stamp int32 `json:"stamp,omitempty"`
	// Priority is the proto-encoded commonpb.Priority set by
	// UpdateActivityOptions; nil means the scheduled event's.
	Priority []byte `json:"priority,omitempty"`
}

// RetryPolicy is an activity's retry policy with defaults applied.
type RetryPolicy struct {
	InitialInterval    time.Duration `json:"initial_interval"`
	BackoffCoefficient float64       `json:"backoff_coefficient"`
	MaximumInterval    time.Duration `json:"maximum_interval"`
	MaximumAttempts    int32         `json:"maximum_attempts,omitempty"`
	NonRetryableTypes  []string      `json:"non_retryable_types,omitempty"`
}

// TimerInfo is one pending user timer.
type TimerInfo struct {
	TimerID        string    `json:"timer_id"`
	StartedEventID int64     `json:"started_event_id"`
	FireTime       time.Time `json:"fire_time"`
}

// ParentInfo names the parent of a child workflow run.
type ParentInfo struct {
	NamespaceID      string `json:"namespace_id"`
	Namespace        string `json:"namespace"`
	WorkflowID       string `json:"workflow_id"`
	RunID            string `json:"run_id"`
	InitiatedEventID int64  `json:"initiated_event_id"`
}

// ChildInfo is a pending child workflow.
type ChildInfo struct {
	InitiatedEventID int64  `json:"initiated_event_id"`
	NamespaceID      string `json:"namespace_id"`
	Namespace        string `json:"namespace"`
	WorkflowID       string `json:"workflow_id"`
	WorkflowType     string `json:"workflow_type"`
	// RunID is set once the child started (StartedEventID != 0).
	RunID          string `json:"run_id,omitempty"`
	StartedEventID int64  `json:"started_event_id,omitempty"`
	// ParentClosePolicy is the enumspb.ParentClosePolicy value.
	ParentClosePolicy int32 `json:"parent_close_policy"`
	// Initiated is the proto-encoded
	// StartChildWorkflowExecutionInitiatedEventAttributes.
	Initiated []byte `json:"initiated"`
	// UserMetadata is the proto-encoded sdk.v1.UserMetadata of the
	// command, handed to the child's start.
	UserMetadata []byte `json:"user_metadata,omitempty"`
}

// ExternalInfo is a pending signal or cancel request to another workflow.
type ExternalInfo struct {
	InitiatedEventID int64  `json:"initiated_event_id"`
	NamespaceID      string `json:"namespace_id"`
	Namespace        string `json:"namespace"`
	WorkflowID       string `json:"workflow_id"`
	RunID            string `json:"run_id,omitempty"`
	// Initiated is the proto-encoded initiated event attributes.
	Initiated []byte `json:"initiated"`
}

// Running reports whether the run is open.
func (s *State) Running() bool {
	return s.Execution.Status == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
}

// Encode serializes the state for the store.
func (s *State) Encode() ([]byte, error) { return json.Marshal(s) }

// Decode parses a stored state.
func Decode(b []byte) (*State, error) {
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("decode mutable state: %w", err)
	}
	if s.Activities == nil {
		s.Activities = map[int64]*ActivityInfo{}
	}
	if s.Timers == nil {
		s.Timers = map[string]*TimerInfo{}
	}
	return &s, nil
}

// bufferedEvents decodes the buffered events.
func (s *State) bufferedEvents() []*historypb.HistoryEvent {
	out := make([]*historypb.HistoryEvent, 0, len(s.Buffered))
	for _, b := range s.Buffered {
		ev := &historypb.HistoryEvent{}
		if err := proto.Unmarshal(b, ev); err != nil {
			panic(fmt.Sprintf("statemachine: corrupt buffered event: %v", err))
		}
		out = append(out, ev)
	}
	return out
}

func mustMarshal(m proto.Message) []byte {
	b, err := proto.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("statemachine: marshal %T: %v", m, err))
	}
	return b
}

func mustUnmarshal(b []byte, m proto.Message) {
	if err := proto.Unmarshal(b, m); err != nil {
		panic(fmt.Sprintf("statemachine: unmarshal %T: %v", m, err))
	}
}
