package queues

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sundialhq/sundial/internal/persistence"
)

// Recovery after an outage.
//
// While the database (or a service a task calls) is down, every task fails
// and backs off: after a 30 s outage the tasks that failed early in it wait
// 32 s or more for their next run, although the database is back. So a
// task that failed with an outage-like error (outageError) is parked: when
// any run or delete of this queue next succeeds, the outage is over and
// every parked task runs again at once, its backoff cut short. Its attempt
// count is kept (the DLQ budget still applies), and a task is released
// early at most once per backoff: one that keeps failing on its own while
// others succeed still backs off, at most twice as often.

type parkedTask struct {
	t   persistence.OutboxTask
	gen uint64
}

// outageError reports whether err looks like the store or a service being
// unavailable rather than the task's own failure.
func outageError(err error) bool {
	var un *persistence.UnavailableError
	if errors.As(err, &un) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var se interface{ GRPCStatus() *status.Status }
	if errors.As(err, &se) {
		switch se.GRPCStatus().Code() {
		case codes.Unavailable, codes.DeadlineExceeded:
			return true
		}
	}
	return false
}

// park records t as waiting out a backoff after an outage-like failure and
// returns the generation its backoff timer must present to unpark it.
func (q *Queue) park(t persistence.OutboxTask) uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.gen++
	q.parked[t.TaskID] = parkedTask{t: t, gen: q.gen}
	q.outage.Store(true)
	return q.gen
}

// unpark runs a parked task whose backoff ended (unless it was released
// early meanwhile); it may be released early again after its next failure.
func (q *Queue) unpark(taskID int64, gen uint64) {
	q.mu.Lock()
	p, ok := q.parked[taskID]
	if !ok || p.gen != gen {
		q.mu.Unlock()
		return
	}
	delete(q.parked, taskID)
	delete(q.early, taskID)
	q.mu.Unlock()
	q.Add(p.t)
}

// recovered is called after a success: the first one after an outage-like
// failure releases the parked tasks not yet released early.
func (q *Queue) recovered() {
	if !q.outage.Load() {
		return
	}
	q.mu.Lock()
	if !q.outage.Swap(false) {
		q.mu.Unlock()
		return
	}
	var release []persistence.OutboxTask
	for id, p := range q.parked {
		if q.early[id] {
			continue
		}
		delete(q.parked, id)
		q.early[id] = true
		release = append(release, p.t)
	}
	q.mu.Unlock()
	if len(release) > 0 {
		q.opts.Logger.Info("store reachable again: running tasks that failed during the outage", "shard", q.opts.ShardID,
			"category", q.opts.Category, "tasks", len(release))
		q.Add(release...)
	}
}
