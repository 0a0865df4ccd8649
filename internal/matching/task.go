package matching

import (
	"container/list"
	"encoding/json"
	"time"

	"github.com/sundialhq/sundial/internal/persistence"
)

// taskInfo is what a task carries besides its storage identity. It is the
// part that is encoded into persistence.QueueTask.Data (the expiry goes to
// QueueTask.ExpiresAt).
type taskInfo struct {
	WorkflowID       string `json:"w"`
	RunID            string `json:"r"`
	ScheduledEventID int64  `json:"e"`
	// CreatedAt is when matching received the task (Unix nanoseconds; 0
	// for rows written before it was recorded): backlog age and
	// schedule-to-start latency count from it.
	CreatedAt int64 `json:"c,omitempty"`
}

// syncResult is what a poller reports back to the AddTask call that handed
// it a task by sync match.
type syncResult struct {
	// done: the task was started or found stale/expired; nothing to keep.
	done bool
	// backoff before the task may be offered again (when !done).
	backoff time.Duration
}

// task is one task in memory. Exactly one goroutine owns a task at a time:
// an AddTask call, the queue (buffer or retry list), or a poller that took
// it. Ownership moves under taskQueue.mu.
type task struct {
	info      taskInfo
	expiresAt time.Time // zero: never expires

	// Persisted tasks: the partition holding the row and its task ID.
	part *partition
	id   int64
	// bad marks a persisted row whose Data could not be decoded; it is
	// dropped instead of dispatched.
	bad bool

	// Sync-match tasks (never written): the AddTask call waits on result.
	result chan syncResult
	// offerElem: the task waits in taskQueue.offers for a poller to come
	// (guarded by taskQueue.mu).
	offerElem *list.Element

	// Query tasks (never written, never started through history): the
	// waiting DispatchQuery call.
	query *queryTask

	attempts  int       // failed hand-offs to history so far
	notBefore time.Time // earliest time the task may be dispatched again
}

// persisted reports whether the task has a backlog row to delete.
func (t *task) persisted() bool { return t.part != nil }

// expired reports whether the task's ScheduleToStart bound has passed.
func (t *task) expired(now time.Time) bool {
	return !t.expiresAt.IsZero() && !now.Before(t.expiresAt)
}

// encode renders the task as a backlog row with the given ID.
func (t *task) encode(id int64) persistence.QueueTask {
	data, err := json.Marshal(t.info)
	if err != nil {
		// taskInfo holds only strings and ints: Marshal cannot fail.
		panic("matching: encode task: " + err.Error())
	}
	return persistence.QueueTask{TaskID: id, ExpiresAt: t.expiresAt, Data: data}
}

// decodeTask turns a backlog row of partition p into a task. A row that does
// not decode is returned marked bad so the dispatcher deletes it.
func decodeTask(p *partition, row persistence.QueueTask) *task {
	t := &task{part: p, id: row.TaskID, expiresAt: row.ExpiresAt}
	if err := json.Unmarshal(row.Data, &t.info); err != nil {
		t.bad = true
	}
	return t
}

// retryBackoff is the wait before a task that history could not start is
// offered again: 50ms doubling per attempt, capped at 5s.
func retryBackoff(attempts int) time.Duration {
	const (
		initial = 50 * time.Millisecond
		max     = 5 * time.Second
	)
	d := initial
	for i := 0; i < attempts && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}
