package queues

import (
	"context"
	"errors"
	"time"

	"github.com/sundialhq/sundial/internal/persistence"
)

// Retries and the dead-letter queue.
//
// A task whose executor fails is run again after a backoff that doubles
// from Backoff.Initial up to Backoff.Max, with jitter so that tasks failing
// together (a database outage) do not retry in lock step. After
// MaxAttempts failed runs it is moved to the DLQ, in one transaction with
// the delete of its outbox row, and no longer runs until an operator puts
// it back (`sundial admin dlq retry`). It is never dropped silently. The
// attempt count is kept in memory: a restart gives every task a fresh
// budget, which errs on the side of running a task again.

// permanentError marks an executor error that no retry can cure.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent wraps an executor error that no retry can cure (an undecodable
// row, an unknown task type): the task goes to the DLQ at its first
// failure instead of being dropped or retried.
func Permanent(err error) error { return &permanentError{err: err} }

// Backoff spaces retries: retry n (n >= 1) waits d = Initial*2^(n-1),
// capped at Max, minus a random part of up to Jitter*d, so the wait lies in
// [d*(1-Jitter), d].
type Backoff struct {
	Initial time.Duration
	Max     time.Duration
	Jitter  float64 // in [0, 1]
}

// DefaultBackoff starts at one second and is capped at five minutes, 20 %
// jitter.
var DefaultBackoff = Backoff{Initial: time.Second, Max: 5 * time.Minute, Jitter: 0.2}

// DefaultMaxAttempts is the failed runs after which a task is dead-lettered
// (about eight hours of retries with DefaultBackoff).
const DefaultMaxAttempts = 100

// dlqWriteTimeout bounds one move to the DLQ.
const dlqWriteTimeout = 10 * time.Second

// Delay is the wait before retry n (n >= 1) given r in [0, 1).
func (b Backoff) Delay(n int, r float64) time.Duration {
	d := b.Initial
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	return d - time.Duration(float64(d)*b.Jitter*r)
}

func (q *Queue) maxAttempts() int {
	if q.opts.MaxAttempts == nil {
		return DefaultMaxAttempts
	}
	if n := q.opts.MaxAttempts(); n >= 1 {
		return n
	}
	return DefaultMaxAttempts
}

// forget drops the attempt count of a task that is done.
func (q *Queue) forget(taskID int64) {
	q.mu.Lock()
	delete(q.attempts, taskID)
	delete(q.early, taskID)
	q.mu.Unlock()
}

// failed counts a failed run of t and retries it later or dead-letters it.
func (q *Queue) failed(t persistence.OutboxTask, err error) {
	q.mu.Lock()
	q.attempts[t.TaskID]++
	n := q.attempts[t.TaskID]
	q.mu.Unlock()
	var perm *permanentError
	if q.opts.DLQ != nil && (n >= q.maxAttempts() || errors.As(err, &perm)) {
		q.deadLetter(t, n, err)
		return
	}
	delay := q.opts.Backoff.Delay(n, q.opts.Rand())
	q.opts.Logger.Warn("outbox task failed; will retry", "shard", q.opts.ShardID, "category", q.opts.Category,
		"task_id", t.TaskID, "attempt", n, "retry_in", delay, "error", err)
	// The task keeps its store key; the retry delay is in memory only.
	if outageError(err) {
		gen := q.park(t)
		q.opts.Clock.AfterFunc(delay, func() { q.unpark(t.TaskID, gen) })
		return
	}
	q.opts.Clock.AfterFunc(delay, func() { q.Add(t) })
}

// deadLetter moves t to the DLQ; if that write fails it is tried again
// after a backoff (the task stays in the outbox meanwhile).
func (q *Queue) deadLetter(t persistence.OutboxTask, attempts int, cause error) {
	if q.ctx.Err() != nil {
		return // stopping: the task stays in the outbox for the next owner
	}
	ctx, cancel := context.WithTimeout(context.Background(), dlqWriteTimeout)
	err := q.opts.DLQ.MoveOutboxTaskToDLQ(ctx, q.opts.RangeID(), persistence.DLQTask{
		DLQKey:         persistence.DLQKey{ShardID: q.opts.ShardID, Category: t.Category, TaskID: t.TaskID},
		VisibilityTime: t.VisibilityTime, Data: t.Data, Attempts: int32(attempts),
		LastError: cause.Error(), MovedAt: q.opts.Clock.Now(),
	})
	cancel()
	if err != nil {
		delay := q.opts.Backoff.Delay(attempts, q.opts.Rand())
		q.opts.Logger.Error("moving an outbox task to the DLQ failed; will try again", "shard", q.opts.ShardID,
			"category", q.opts.Category, "task_id", t.TaskID, "retry_in", delay, "error", err)
		q.opts.Clock.AfterFunc(delay, func() { q.deadLetter(t, attempts, cause) })
		return
	}
	q.forget(t.TaskID)
	q.opts.Logger.Error("outbox task moved to the DLQ after failing too often", "shard", q.opts.ShardID,
		"category", q.opts.Category, "task_id", t.TaskID, "attempts", attempts, "error", cause)
	if q.opts.OnDeadLetter != nil {
		q.opts.OnDeadLetter(t, attempts, cause)
	}
}
