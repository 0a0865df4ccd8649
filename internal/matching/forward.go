package matching

import (
	"context"
	"time"

	"github.com/sundialhq/sundial/internal/persistence"
)

// Forwarding between the partitions of a task queue, in a cluster whose
// ring spreads them over matching hosts (docs/DECISIONS.md, "Matching
// partitions"). A process that owns child partitions of a normal queue but
// not its root (rootElsewhere):
//
//   - serves a poll from its own ready tasks, else forwards the poll to the
//     root's owner for the rest of the long poll, so pollers gather at the
//     root; at most matching.forwarderMaxOutstandingPolls polls of a queue
//     are forwarded at once, the others wait here;
//   - runs matching.forwarderMaxOutstandingTasks task forwarders for the
//     queue. Each waits here like a poller and passes the task it receives
//     (a local add's sync-match offer, or a backlog task) to the root's
//     owner for a sync match only (OfferForwardedTask). A backlog task
//     leaves the backlog only when the root's poller took it (finish, as
//     for a local dispatch); otherwise it is handed back, to be served here
//     or forwarded again.
//
// The root's owner never forwards: forwarded polls wait there, forwarded
// tasks are offered to its pollers.

// Dynamic-config keys of forwarding (Temporal's names; per queue and
// process here, where Temporal counts per partition).
const (
	KeyForwarderMaxOutstandingPolls = "matching.forwarderMaxOutstandingPolls"
	KeyForwarderMaxOutstandingTasks = "matching.forwarderMaxOutstandingTasks"
)

const (
	defaultForwardPolls = 20
	defaultForwardTasks = 4
	// maxForwardConcurrency bounds both keys.
	maxForwardConcurrency = 64
	// forwardMatchWait: how long the root holds a forwarded backlog task
	// for one of its pollers (when it was polled lately).
	forwardMatchWait = time.Second
	// forwardMinCycle: a task forwarder whose task was not taken waits
	// until this long after it took the task before it takes another, so
	// a root without pollers is not asked in a loop.
	forwardMinCycle = time.Second
	// forwardRecheck: a task forwarder waiting for a task looks again this
	// often whether the queue still forwards (the ring may have given this
	// process the root).
	forwardRecheck = 5 * time.Second
	// forwardRetryWait: a poll that could not be forwarded waits here this
	// long before it tries again.
	forwardRetryWait = time.Second
	// forwardTaskTimeout bounds one ForwardTask call: the root's wait for a
	// poller, then the poller's RecordStarted.
	forwardTaskTimeout = forwardMatchWait + recordStartedTimeout + 5*time.Second
)

// rootElsewhere reports whether the queue's root partition belongs to
// another process, to which this one forwards. Never in a cluster of one.
func (q *taskQueue) rootElsewhere() bool {
	return q.e.fwd != nil && len(q.parts) > 1 && q.loaded.Load() && q.parts[0].notOwned.Load()
}

// forwardingLocked: the queue forwards (root elsewhere, some child here)
// and the engine runs.
func (q *taskQueue) forwardingLocked() bool {
	if !q.rootElsewhere() || q.e.stopped() {
		return false
	}
	for _, p := range q.parts[1:] {
		if !p.notOwned.Load() {
			return true
		}
	}
	return false
}

func (e *Engine) forwardLimit(key string, def int) int {
	return max(0, min(e.dyn.Int(key, def), maxForwardConcurrency))
}

// maybeStartForwardersLocked starts the queue's task forwarders when it
// forwards and fewer run than the limit.
func (q *taskQueue) maybeStartForwardersLocked() {
	if q.e.fwd == nil || !q.forwardingLocked() {
		return
	}
	for n := q.e.forwardLimit(KeyForwarderMaxOutstandingTasks, defaultForwardTasks); q.forwarders < n; q.forwarders++ {
		if !q.e.goBackground(q.forwardTasks) {
			return
		}
	}
}

// releaseForwardersLocked wakes the task forwarders waiting for a task, so
// they see at once that the queue stopped forwarding.
func (q *taskQueue) releaseForwardersLocked() {
	for e := q.waiters.Front(); e != nil; {
		next := e.Next()
		if e.Value.(*waiter).forwarder {
			q.deliverLocked(e, nil)
		}
		e = next
	}
}

// forwardTasks is one task forwarder: it takes tasks as a poller would and
// forwards them to the root, until the queue stops forwarding or the
// engine stops.
func (q *taskQueue) forwardTasks() {
	for {
		q.mu.Lock()
		if !q.forwardingLocked() || q.forwarders > q.e.forwardLimit(KeyForwarderMaxOutstandingTasks, defaultForwardTasks) {
			q.forwarders--
			q.mu.Unlock()
			return
		}
		q.mu.Unlock()
		start := q.e.clock.Now()
		t, err := q.takeForForward()
		if t == nil {
			if err != nil {
				q.pauseForward(start)
			}
			continue
		}
		if !q.forwardOne(t) {
			q.pauseForward(start)
		}
	}
}

// takeForForward waits, as a waiter that is no poller (it does not count
// as a poll for the sync-match wait), for a task or forwardRecheck.
func (q *taskQueue) takeForForward() (*task, error) {
	expired := make(chan struct{})
	timer := q.e.clock.AfterFunc(forwardRecheck, func() { close(expired) })
	defer timer.Stop()
	return q.take(q.e.bgCtx, expired, false)
}

// pauseForward waits until forwardMinCycle after start, or the engine
// stops.
func (q *taskQueue) pauseForward(start time.Time) {
	d := forwardMinCycle - q.e.clock.Now().Sub(start)
	if d <= 0 {
		return
	}
	done := make(chan struct{})
	timer := q.e.clock.AfterFunc(d, func() { close(done) })
	defer timer.Stop()
	select {
	case <-done:
	case <-q.e.stopCh:
	}
}

// forwardOne offers t to the root and reports whether t is done with (the
// root's poller took it, or it was dropped here as expired or undecodable).
// Otherwise t was handed back.
func (q *taskQueue) forwardOne(t *task) bool {
	e := q.e
	switch {
	case t.query != nil:
		q.handBack(t, 0) // queries go to the root; one left here is for a poller here
		return false
	case t.bad || t.expired(e.clock.Now()):
		q.finish(t)
		return true
	case !q.rootElsewhere():
		q.handBack(t, 0)
		return false
	}
	ft := &ForwardedTask{NamespaceID: q.id.namespaceID, TaskQueue: q.id.name, Activity: q.id.kind == kindActivity,
		WorkflowID: t.info.WorkflowID, RunID: t.info.RunID, ScheduledEventID: t.info.ScheduledEventID,
		ExpiresAt: t.expiresAt, Backlog: t.result == nil}
	if t.info.CreatedAt > 0 {
		ft.CreatedAt = time.Unix(0, t.info.CreatedAt)
	}
	ctx, cancel := context.WithTimeout(e.bgCtx, forwardTaskTimeout)
	matched, err := e.fwd.ForwardTask(ctx, ft)
	cancel()
	if err == nil && matched {
		q.finish(t)
		return true
	}
	if err != nil && e.bgCtx.Err() == nil {
		e.log.Debug("forward a task to the root partition", "task_queue", q.id.name, "error", err)
	}
	q.handBack(t, 0)
	return false
}

// OfferForwardedTask is the root's side of Forwarder.ForwardTask: it
// offers the task to a poller of the queue here, sync match only, and
// reports whether one took it (started it, or found it stale or expired).
// A backlog task waits up to forwardMatchWait for a poller if the queue
// was polled lately; a forwarded add waits as a local add would. Nothing
// is ever written here. A *persistence.TaskQueueLeaseLostError means this
// engine does not hold the root (the ring moved it).
func (e *Engine) OfferForwardedTask(ctx context.Context, ft *ForwardedTask) (bool, error) {
	if ft == nil || ft.NamespaceID == "" || ft.TaskQueue == "" {
		return false, ErrInvalidRequest
	}
	kind := kindWorkflow
	if ft.Activity {
		kind = kindActivity
	}
	q := e.acquire(queueID{ft.NamespaceID, ft.TaskQueue, kind}, false)
	defer e.release(q)
	if err := q.holdRoot(ctx); err != nil {
		return false, err
	}
	t := &task{info: taskInfo{WorkflowID: ft.WorkflowID, RunID: ft.RunID, ScheduledEventID: ft.ScheduledEventID},
		expiresAt: ft.ExpiresAt}
	if !ft.CreatedAt.IsZero() {
		t.info.CreatedAt = ft.CreatedAt.UnixNano()
	}
	if t.expired(e.clock.Now()) {
		return true, nil // dropped, as a poller here would
	}
	wait := time.Duration(-1)
	if ft.Backlog {
		wait = forwardMatchWait
	}
	res, matched := q.offerWithin(ctx, t, wait)
	if matched && res.done && !ft.Backlog {
		q.noteAdd(q.parts[0]) // a sync match counts toward the root's add rate
	}
	return matched && res.done, nil
}

// holdRoot loads the queue and checks that this engine holds its root, as
// forwarded work needs: a *persistence.TaskQueueLeaseLostError if not (the
// ring moved the root and the forwarding process has not seen it yet, or
// this one has not taken it yet).
func (q *taskQueue) holdRoot(ctx context.Context) error {
	if err := q.ensureLoaded(ctx); err != nil {
		return err
	}
	if q.parts[0].notOwned.Load() {
		return &persistence.TaskQueueLeaseLostError{Key: q.parts[0].key}
	}
	return nil
}

// tryTake returns a task ready for a poller now, or nil; it counts as a
// poll.
func (q *taskQueue) tryTake() *task {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.lastPoll = q.e.clock.Now()
	if t := q.nextReadyLocked(); t != nil {
		return t
	}
	return q.takeOfferLocked()
}

// takeBeforeRetry is take for a poll that could not be forwarded: it waits
// at most forwardRetryWait (or until expired, ctx or Stop).
func (q *taskQueue) takeBeforeRetry(ctx context.Context, expired <-chan struct{}) (*task, error) {
	retry := make(chan struct{})
	timer := q.e.clock.AfterFunc(forwardRetryWait, func() { close(retry) })
	defer timer.Stop()
	done := make(chan struct{})
	defer close(done)
	either := make(chan struct{})
	go func() {
		select {
		case <-expired:
		case <-retry:
		case <-done:
			return
		}
		close(either)
	}()
	return q.take(ctx, either, true)
}

// forwardPoll forwards a poll to the root for at most the long poll
// interval, if fewer than the limit are forwarded. done reports that the
// poll ended there (ok: with a task); !done means it was not forwarded or
// the root could not be reached, and the caller waits here.
func forwardPoll[R any](ctx context.Context, q *taskQueue, forward func(context.Context) (R, bool, error)) (resp R, ok, done bool) {
	limit := q.e.forwardLimit(KeyForwarderMaxOutstandingPolls, defaultForwardPolls)
	q.mu.Lock()
	if q.fwdPolls >= limit {
		q.mu.Unlock()
		return resp, false, false
	}
	q.fwdPolls++
	q.mu.Unlock()
	defer func() {
		q.mu.Lock()
		q.fwdPolls--
		q.mu.Unlock()
	}()
	fctx, cancel := context.WithTimeout(ctx, q.e.longPollInterval())
	defer cancel()
	go func() { // Stop ends forwarded polls as it ends waiting ones
		select {
		case <-q.e.stopCh:
			cancel()
		case <-fctx.Done():
		}
	}()
	resp, ok, err := forward(fctx)
	if err != nil {
		if ctx.Err() != nil || q.e.stopped() {
			var zero R
			return zero, false, true
		}
		q.e.log.Debug("forward a poll to the root partition", "task_queue", q.id.name, "error", err)
		var zero R
		return zero, false, false
	}
	return resp, ok, true
}

// routedPartition is the partition for an add the routed client sent for
// partition n: n if this engine owns it, else any it owns (nil: none).
func (q *taskQueue) routedPartition(n int32) *partition {
	if n >= 0 && int(n) < len(q.parts) && !q.parts[n].notOwned.Load() {
		return q.parts[n]
	}
	return q.pickPartition()
}
