package statemachine

import (
	"time"

	historypb "go.temporal.io/api/history/v1"
)

// TaskType names what an outbox task asks the engine to do.
type TaskType int32

const (
	// Transfer tasks (run as soon as committed).

	// TaskDispatchWorkflowTask hands the workflow task EventID to matching.
	TaskDispatchWorkflowTask TaskType = 1
	// TaskDispatchActivity hands activity EventID (attempt Attempt) to matching.
	TaskDispatchActivity TaskType = 2
	// TaskStartChild starts the child initiated by EventID.
	TaskStartChild TaskType = 3
	// TaskNotifyParent tells the parent that this (closed) child run ended.
	TaskNotifyParent TaskType = 4
	// TaskParentClosePolicy applies a closed parent's policy (TimeoutType
	// holds the enumspb.ParentClosePolicy) to child Target.
	TaskParentClosePolicy TaskType = 5
	// TaskSignalExternal / TaskCancelExternal deliver the signal or cancel
	// request initiated by EventID.
	TaskSignalExternal TaskType = 6
	TaskCancelExternal TaskType = 7
	// TaskVisibility writes the run's visibility record (start, search
	// attribute or memo change, close).
	TaskVisibility TaskType = 8

	// Timer tasks (run at Time).

	// TaskUserTimer fires user timer TimerID started by EventID.
	TaskUserTimer TaskType = 10
	// TaskActivityTimeout checks timeout TimeoutType of activity EventID's
	// attempt Attempt.
	TaskActivityTimeout TaskType = 11
	// TaskActivityRetry dispatches attempt Attempt of activity EventID after
	// its backoff.
	TaskActivityRetry TaskType = 12
	// TaskWorkflowTaskTimeout checks workflow task EventID attempt Attempt.
	TaskWorkflowTaskTimeout TaskType = 13
	// TaskWorkflowRunTimeout ends the run when its run timeout passes.
	TaskWorkflowRunTimeout TaskType = 14
	// TaskWorkflowBackoff schedules the first workflow task after a start
	// delay.
	TaskWorkflowBackoff TaskType = 15
	// TaskWorkflowTaskBackoff dispatches a retried workflow task after its
	// backoff.
	TaskWorkflowTaskBackoff TaskType = 16
	// TaskStickyTimeout moves a sticky workflow task nobody started to the
	// normal queue.
	TaskStickyTimeout TaskType = 17
	// TaskDeleteRun deletes a closed run when its retention ends.
	TaskDeleteRun TaskType = 18
)

// Task is one outbox task produced by a transition. Timer tasks have a
// non-zero Time.
type Task struct {
	Type        TaskType      `json:"t"`
	Time        time.Time     `json:"-"`
	EventID     int64         `json:"e,omitempty"`
	Attempt     int32         `json:"a,omitempty"`
	TimerID     string        `json:"i,omitempty"`
	TimeoutType int32         `json:"o,omitempty"`
	TaskQueue   string        `json:"q,omitempty"`
	Sticky      bool          `json:"s,omitempty"`
	Timeout     time.Duration `json:"d,omitempty"`
	// Stamp is the activity's Stamp when an activity retry was scheduled.
	Stamp int32 `json:"p,omitempty"`
	// Target names another workflow (parent close policies).
	Target *Target `json:"x,omitempty"`
}

// Target is a workflow another run's task acts on.
type Target struct {
	NamespaceID string `json:"n,omitempty"`
	Namespace   string `json:"s,omitempty"`
	WorkflowID  string `json:"w"`
	RunID       string `json:"r,omitempty"`
}

// IsTimer reports whether the task belongs in the timer queue.
func (t *Task) IsTimer() bool { return t.Type >= TaskUserTimer }

// Output is what one transition produced: events to append (IDs assigned,
// contiguous from the state's previous NextEventID) and outbox tasks.
type Output struct {
	Events []*historypb.HistoryEvent
	Tasks  []Task
	// Closed is true when this transition closed the run.
	Closed bool
	// NewWorkflowTaskStarted is true when the transition scheduled and
	// started a new workflow task for return_new_workflow_task.
	NewWorkflowTaskStarted bool
	// EagerActivities are activities started at once for the completing
	// worker, by scheduled event ID.
	EagerActivities []int64
	// Next, when set, is the run that follows this one (continue-as-new,
	// retry, cron); the engine creates it in the same transaction.
	Next *StartInput
	// NoChange is true when the input was an idempotent repeat: nothing to
	// write.
	NoChange bool
}

// Empty reports whether nothing needs to be written.
func (o *Output) Empty() bool { return len(o.Events) == 0 && len(o.Tasks) == 0 }
