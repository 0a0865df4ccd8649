package matching

import (
	"context"
	"errors"

	"github.com/google/uuid"
)

// pollQueue serves one long poll on q: it takes tasks (sync offers or
// backlog) and asks history to start them, until one starts (ok) or the
// long poll ends (ctx done, interval passed, engine stopped: ok false, nil
// error). Every task it takes is started, dropped, or handed back; none is
// lost. record is history's RecordWorkflowTaskStarted or
// RecordActivityTaskStarted; serveQuery claims a query task for the poller
// (nil for activity queues, which never hold queries). forward, when not
// nil, passes the poll on to the root partition's owner (forward.go; ok
// reports a task in its response) while the root is elsewhere.
func pollQueue[R any](ctx context.Context, e *Engine, q *taskQueue, base RecordStartedRequest,
	record func(context.Context, *RecordStartedRequest) (R, error),
	serveQuery func(*queryTask) (R, bool),
	forward func(context.Context) (R, bool, error)) (resp R, ok bool, err error) {
	defer func() {
		if !ok && err == nil {
			e.metrics.PollTimedOut(q.metricLabels())
		}
	}()
	if e.stopped() || ctx.Err() != nil || q.gone() {
		return resp, false, nil
	}
	if err := q.ensureLoaded(ctx); err != nil {
		if ctx.Err() != nil {
			return resp, false, nil
		}
		return resp, false, err
	}
	expired := make(chan struct{})
	timer := e.clock.AfterFunc(e.longPollInterval(), func() { close(expired) })
	defer timer.Stop()
	// One ID per poll: history treats a repeated RecordStarted of the same
	// task with the same poll ID as a retry, not a second start.
	base.PollRequestID = uuid.NewString()
	for {
		// A task handed back for ctx or Stop is ready again at once: stop
		// before taking it again.
		if ctx.Err() != nil || e.stopped() {
			return resp, false, nil
		}
		var t *task
		if forward != nil && q.rootElsewhere() {
			if t = q.tryTake(); t == nil {
				if resp, ok, done := forwardPoll(ctx, q, forward); done {
					return resp, ok, nil
				}
				// Not forwarded (too many are, or the root's owner
				// refused or could not be reached): wait here a while,
				// then try again.
				if t, err = q.takeBeforeRetry(ctx, expired); err != nil {
					return resp, false, err
				}
				if t == nil {
					select {
					case <-expired:
						return resp, false, nil
					default:
						continue
					}
				}
			}
		}
		if t == nil {
			if t, err = q.take(ctx, expired, true); err != nil || t == nil {
				return resp, false, err
			}
		}
		if t.query != nil {
			if serveQuery == nil {
				panic("matching: query task on a queue without query support")
			}
			if ctx.Err() != nil || e.stopped() {
				q.handBack(t, 0)
				continue // the loop's first check ends the poll
			}
			if resp, ok = serveQuery(t.query); ok {
				return resp, true, nil
			}
			continue // abandoned by its caller meanwhile
		}
		if resp, ok = dispatch(ctx, e, q, t, base, record); ok {
			return resp, true, nil
		}
	}
}

// dispatch tries to start t for the poller. ok means history started it and
// resp is history's response. Otherwise t was dropped (stale, expired,
// undecodable) or handed back (poller gone, engine stopping, history
// error, the latter with a backoff) and the poller may take another task.
func dispatch[R any](ctx context.Context, e *Engine, q *taskQueue, t *task, base RecordStartedRequest,
	record func(context.Context, *RecordStartedRequest) (R, error)) (resp R, ok bool) {
	if ctx.Err() != nil || e.stopped() {
		q.handBack(t, 0)
		return resp, false
	}
	if t.bad {
		e.log.Warn("dropping undecodable backlog task", "task_queue", q.id.name,
			"partition", t.part.key.Partition, "task_id", t.id)
		q.finish(t)
		return resp, false
	}
	if t.expired(e.clock.Now()) {
		e.log.Debug("dropping expired task", "task_queue", q.id.name, "workflow_id", t.info.WorkflowID,
			"scheduled_event_id", t.info.ScheduledEventID)
		q.finish(t)
		return resp, false
	}
	req := base
	req.WorkflowID = t.info.WorkflowID
	req.RunID = t.info.RunID
	req.ScheduledEventID = t.info.ScheduledEventID
	rctx, cancel := context.WithTimeout(ctx, recordStartedTimeout)
	start := e.clock.Now()
	resp, err := record(rctx, &req)
	cancel()
	e.recordStarted(q, start, err)
	switch {
	case err == nil:
		q.noteStarted(t)
		q.finish(t)
		return resp, true
	case errors.Is(err, ErrTaskGone):
		q.finish(t)
	case ctx.Err() != nil:
		q.handBack(t, 0) // the poller left; not the task's fault
	default:
		e.log.Warn("record task started", "task_queue", q.id.name, "workflow_id", t.info.WorkflowID,
			"scheduled_event_id", t.info.ScheduledEventID, "attempt", t.attempts+1, "error", err)
		backoff := retryBackoff(t.attempts)
		t.attempts++
		q.handBack(t, backoff)
	}
	var zero R
	return zero, false
}
