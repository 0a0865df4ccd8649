package matching

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/sundialhq/sundial/internal/persistence"
)

// Sticky queues.
//
// A sticky queue is one worker's private workflow queue for the runs it has
// cached. It is unavailable — sticky adds and queries fail with
// ErrStickyWorkerUnavailable so history uses the normal queue — while its
// worker is shut down (ShutdownSticky, for matching.stickyShutdownTTL) or
// when no poller has waited on it for matching.stickyPollerUnavailableWindow
// (counted from the engine's start for a queue not polled in this process,
// e.g. after a restart). A periodic sweep drops expired tasks of sticky
// queues (nobody may poll them again) and unloads sticky queues that are
// unused, unpolled and empty for matching.maxTaskqueueIdleTime.

// ErrStickyWorkerUnavailable means a sticky queue's worker shut down or has
// not polled lately; nothing was queued. Use the normal queue instead.
var ErrStickyWorkerUnavailable = errors.New("matching: sticky worker unavailable")

// StickyTask is a workflow task that was waiting on a sticky queue.
type StickyTask struct {
	WorkflowID       string
	RunID            string
	ScheduledEventID int64
}

// maxStickyDrain bounds the tasks one ShutdownSticky returns; tasks beyond
// it stay in the sticky backlog until they expire.
const maxStickyDrain = 10_000

// ShutdownSticky marks a worker's sticky queue gone (the worker called
// ShutdownWorker): its waiting pollers return empty at once, as do later
// polls, and sticky adds and queries fail with ErrStickyWorkerUnavailable
// for matching.stickyShutdownTTL (default 5 min). The tasks the queue held
// are removed from it and returned, so history can dispatch them on the
// normal queue; on a store error the tasks collected so far are returned
// with the error (and must be re-dispatched as well). A query already taken
// by the worker can still be answered. A name that is a normal (non-sticky)
// queue in this engine is left alone.
func (e *Engine) ShutdownSticky(ctx context.Context, namespaceID, stickyQueue string) ([]StickyTask, error) {
	if namespaceID == "" || stickyQueue == "" {
		return nil, ErrInvalidRequest
	}
	id := queueID{namespaceID, stickyQueue, kindWorkflow}
	until := e.clock.Now().Add(e.stickyShutdownTTL())
	q := e.markGone(id, until)
	if q == nil {
		// Not in memory: load it only if it has a backlog to hand back.
		n, err := e.countRows(ctx, id)
		if err != nil || n == 0 {
			return nil, err
		}
		q = e.acquire(id, true)
	}
	defer e.release(q)
	if !q.sticky {
		return nil, nil
	}
	q.shutdown(until)
	held, err := q.drainHeld(ctx)
	out := make([]StickyTask, 0, len(held))
	for _, t := range held {
		if !t.bad {
			out = append(out, StickyTask{WorkflowID: t.info.WorkflowID, RunID: t.info.RunID,
				ScheduledEventID: t.info.ScheduledEventID})
		}
		q.finish(t)
	}
	return out, err
}

// markGone records that the sticky queue id is gone until until and
// returns the queue, acquired, if it is in memory (nil otherwise). If too
// many queues are gone already, only the poller window protects this one.
func (e *Engine) markGone(id queueID, until time.Time) *taskQueue {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.goneSticky[id]; ok || len(e.goneSticky) < maxGoneSticky {
		e.goneSticky[id] = until
	}
	q := e.queues[id]
	if q != nil {
		q.users++
	}
	return q
}

// countRows counts the persisted backlog of a sticky queue's partition.
func (e *Engine) countRows(ctx context.Context, id queueID) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	key := persistence.TaskQueueKey{NamespaceID: id.namespaceID, Name: id.name, Kind: id.kind}
	n, err := e.store.CountTasks(ctx, key)
	if errors.Is(err, persistence.ErrNotFound) {
		return 0, nil
	}
	return n, err
}

// checkSticky returns ErrStickyWorkerUnavailable if the sticky queue q is
// gone or no poller has waited on it within the unavailable window.
func (e *Engine) checkSticky(q *taskQueue) error {
	window := e.stickyWindow()
	now := e.clock.Now()
	q.mu.Lock()
	defer q.mu.Unlock()
	if now.Before(q.goneUntil) {
		return ErrStickyWorkerUnavailable
	}
	if q.waiters.Len() > 0 || now.Sub(q.lastPoll) < window {
		return nil
	}
	return ErrStickyWorkerUnavailable
}

// gone reports whether q is a sticky queue whose worker has shut down.
func (q *taskQueue) gone() bool {
	now := q.e.clock.Now()
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.goneLocked(now)
}

func (q *taskQueue) goneLocked(now time.Time) bool {
	return q.sticky && now.Before(q.goneUntil)
}

// shutdown marks q gone until until, releases its waiting pollers, sends
// adds waiting for a poller on to be written (which a gone queue refuses,
// see writeBatch) and fails its queries that no poller has taken.
func (q *taskQueue) shutdown(until time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.goneUntil = until
	for q.waiters.Len() > 0 {
		q.deliverLocked(q.waiters.Front(), nil)
	}
	for t := q.takeOfferLocked(); t != nil; t = q.takeOfferLocked() {
		t.result <- syncResult{}
	}
	for _, t := range q.queries {
		t.query.finish(queryPending, nil, ErrStickyWorkerUnavailable)
	}
	clear(q.queries)
	q.queries = q.queries[:0]
}

// drainHeld removes the tasks q holds — buffered, backing off, and unread
// in the store, up to maxStickyDrain — and returns them for the caller to
// finish. Tasks a poller is starting right now are left to it.
func (q *taskQueue) drainHeld(ctx context.Context) ([]*task, error) {
	if err := q.ensureLoaded(ctx); err != nil {
		return nil, err
	}
	var held []*task
	for _, p := range q.parts {
		var err error
		if held, err = p.drain(ctx, held); err != nil {
			return held, err
		}
	}
	return held, nil
}

// drain appends p's in-memory and unread tasks to held. Holding ioMu keeps
// fills and writes of p out meanwhile.
func (p *partition) drain(ctx context.Context, held []*task) ([]*task, error) {
	q := p.q
	p.ioMu.Lock()
	defer p.ioMu.Unlock()
	q.mu.Lock()
	held = append(held, p.buf...)
	clear(p.buf)
	p.buf = p.buf[:0]
	q.retry = slices.DeleteFunc(q.retry, func(t *task) bool {
		if t.part == p {
			held = append(held, t)
			return true
		}
		return false
	})
	caughtUp := p.caughtUp
	q.mu.Unlock()
	for !caughtUp && len(held) < maxStickyDrain {
		q.mu.Lock()
		after := p.readLevel
		q.mu.Unlock()
		limit := min(readBatch, maxStickyDrain-len(held))
		rctx, cancel := context.WithTimeout(ctx, storeTimeout)
		rows, err := q.e.store.GetTasks(rctx, p.key, after, limit)
		cancel()
		if err != nil {
			return held, err
		}
		q.mu.Lock()
		for _, row := range rows {
			if row.TaskID <= p.readLevel {
				continue
			}
			if p.isUncertainLocked(row.TaskID) {
				q.addCountLocked(p, 1)
			}
			held = append(held, decodeTask(p, row))
			p.inMem++
			p.readLevel = row.TaskID
		}
		if len(rows) < limit {
			p.caughtUp = true
			p.uncertain = nil
		}
		caughtUp = p.caughtUp
		q.mu.Unlock()
	}
	return held, nil
}

// scheduleSweep arms the next idle sweep unless the engine has stopped.
func (e *Engine) scheduleSweep() {
	e.sweepMu.Lock()
	defer e.sweepMu.Unlock()
	if e.stopped() {
		return
	}
	d := min(max(e.stickyIdleTime()/2, minSweepInterval), maxSweepInterval)
	e.sweepTimer = e.clock.AfterFunc(d, func() { e.goBackground(e.sweep) })
}

// sweep forgets expired shutdown marks, unloads idle sticky queues and
// drops expired tasks of the others, then arms the next sweep.
func (e *Engine) sweep() {
	defer e.scheduleSweep()
	now := e.clock.Now()
	idle := e.stickyIdleTime()
	var others []*taskQueue
	e.mu.Lock()
	for id, until := range e.goneSticky {
		if !now.Before(until) {
			delete(e.goneSticky, id)
		}
	}
	for id, q := range e.queues {
		if !q.sticky {
			continue
		}
		if q.users == 0 && now.Sub(q.lastUsed) >= idle && q.idle(now, idle) {
			delete(e.queues, id)
			continue
		}
		others = append(others, q)
	}
	e.mu.Unlock()
	for _, q := range others {
		q.dropExpired(now)
	}
}

// idle reports whether q has had no poller for idle and holds nothing:
// no waiting poller, query, backlog or task in memory, and no fill running.
func (q *taskQueue) idle(now time.Time, idle time.Duration) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.waiters.Len() > 0 || q.queryCount > 0 || len(q.queries) > 0 || len(q.retry) > 0 ||
		q.count > 0 || now.Sub(q.lastPoll) < idle {
		return false
	}
	for _, p := range q.parts {
		if len(p.buf) > 0 || p.inMem > 0 || p.filling {
			return false
		}
	}
	return true
}

// dropExpired finishes q's buffered and backing-off tasks whose
// ScheduleToStart has passed (history has timed them out already).
func (q *taskQueue) dropExpired(now time.Time) {
	var stale []*task
	isStale := func(t *task) bool {
		if t.expired(now) {
			stale = append(stale, t)
			return true
		}
		return false
	}
	q.mu.Lock()
	for _, p := range q.parts {
		p.buf = slices.DeleteFunc(p.buf, isStale)
	}
	q.retry = slices.DeleteFunc(q.retry, isStale)
	q.mu.Unlock()
	for _, t := range stale {
		q.finish(t)
	}
}

func (e *Engine) stickyWindow() time.Duration {
	return positive(e.dyn.Duration(KeyStickyPollerUnavailableWindow, defaultStickyUnavailable), defaultStickyUnavailable)
}

func (e *Engine) stickyShutdownTTL() time.Duration {
	return positive(e.dyn.Duration(KeyStickyShutdownTTL, defaultStickyShutdownTTL), defaultStickyShutdownTTL)
}

// stickyIdleTime is the idle time before a sticky queue is unloaded; at
// least the unavailable window, so a re-created queue (whose last poll is
// the engine's start) is never more available than the one unloaded.
func (e *Engine) stickyIdleTime() time.Duration {
	d := positive(e.dyn.Duration(KeyMaxTaskQueueIdleTime, defaultMaxTaskQueueIdleTime), defaultMaxTaskQueueIdleTime)
	return max(d, e.stickyWindow())
}

func positive(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
