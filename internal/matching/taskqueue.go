package matching

import (
	"container/list"
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sundialhq/sundial/internal/metrics"
	"github.com/sundialhq/sundial/internal/persistence"
)

const (
	// maxPollers bounds the pollers waiting on one task queue.
	maxPollers = 10_000
	// defaultSyncMatchWait is matching.syncMatchWaitDuration's default
	// (Temporal's): how long an add waits for a poller before the task is
	// written to the backlog.
	defaultSyncMatchWait = 200 * time.Millisecond
	// recentPoll: an add waits for a poller only if the queue saw a poll
	// this recently, so a queue without workers does not hold up the
	// history task that adds to it.
	recentPoll = 5 * time.Second
)

// taskQueue is one task queue: its partitions, the pollers waiting on it and
// the tasks waiting for a retry.
//
// Invariant (under mu): no poller waits while a task is ready to dispatch.
// Every change that can make a task ready or add a poller ends with
// matchLocked.
type taskQueue struct {
	e     *Engine
	id    queueID
	parts []*partition

	sticky  bool // a worker's sticky queue (set at creation)
	loaded  atomic.Bool
	loadSem chan struct{} // one loader at a time, cancellable
	addRR   atomic.Uint32 // round robin over partitions for adds

	// Guarded by Engine.mu: calls using the queue (acquire..release) and
	// when the last one ended. Only an unused queue may be unloaded.
	users    int
	lastUsed time.Time

	mu      sync.Mutex
	waiters *list.List // of *waiter, oldest first
	// offers: sync-match tasks whose AddTask waits for a poller to come
	// (see offer), oldest first. Never non-empty while a poller waits.
	offers *list.List
	// retry holds persisted tasks handed back by a poller (history failed
	// or the poller went away), each dispatchable from its notBefore.
	retry  []*task
	readRR int   // partition to look at first on the next take
	count  int64 // exact backlog count, see Engine.BacklogCount

	// queries: query tasks waiting for a poller, oldest first; served
	// before any backlog task. queryCount: outstanding DispatchQuery calls.
	queries    []*task
	queryCount int
	// lastPoll: when a poller last started or ended a take (the engine's
	// start for a queue never polled in this process).
	lastPoll time.Time
	// goneUntil: the sticky worker shut down; until then polls return
	// empty and sticky adds and queries fail.
	goneUntil time.Time
	// pollers: recent pollers by identity, for DescribeTaskQueue.
	pollers map[string]*pollerInfo
	// forwarders: task forwarders running; fwdPolls: polls forwarded to
	// the root now (forward.go).
	forwarders int
	fwdPolls   int
	// labels: the queue's metric labels, resolved on first use.
	labels atomic.Pointer[metrics.TaskQueue]
}

// waiter is a poller parked on the queue. A task is delivered by removing
// the waiter from the list and sending on ch, both under taskQueue.mu, so a
// waiter that is no longer listed always has its task in ch.
type waiter struct {
	ch   chan *task // capacity 1
	elem *list.Element
	// forwarder: a task forwarder (forward.go), served after pollers.
	forwarder bool
}

func newTaskQueue(e *Engine, id queueID, n int) *taskQueue {
	q := &taskQueue{e: e, id: id, loadSem: make(chan struct{}, 1), waiters: list.New(), offers: list.New()}
	for i := range n {
		q.parts = append(q.parts, &partition{q: q, key: persistence.TaskQueueKey{
			NamespaceID: id.namespaceID, Name: id.name, Kind: id.kind, Partition: int32(i),
		}})
	}
	return q
}

// ensureLoaded leases every partition, counts its rows and starts reading
// its backlog, once. A failure leaves the queue unloaded; the next call
// tries again (re-leasing is harmless: it only bumps range_id).
func (q *taskQueue) ensureLoaded(ctx context.Context) error {
	if q.loaded.Load() {
		return nil
	}
	select {
	case q.loadSem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-q.loadSem }()
	if q.loaded.Load() {
		return nil
	}
	var total int64
	counts := make([]int64, len(q.parts))
	for i, p := range q.parts {
		if !q.e.owns(p.key) {
			p.notOwned.Store(true)
			continue
		}
		p.notOwned.Store(false)
		n, err := p.load(ctx)
		if err != nil {
			return fmt.Errorf("matching: load task queue %q partition %d: %w", q.id.name, p.key.Partition, err)
		}
		total += n
		counts[i] = n
	}
	q.mu.Lock()
	q.count = total
	for i, p := range q.parts {
		p.stats.count = counts[i]
	}
	q.loaded.Store(true)
	for _, p := range q.parts {
		q.maybeFillLocked(p)
	}
	q.maybeStartForwardersLocked()
	q.mu.Unlock()
	return nil
}

// pickPartition returns the partition for the next add (round robin over
// the partitions this process owns), or nil when it owns none.
func (q *taskQueue) pickPartition() *partition {
	if len(q.parts) == 1 {
		if q.parts[0].notOwned.Load() {
			return nil
		}
		return q.parts[0]
	}
	start := int(q.addRR.Add(1) - 1)
	for i := range q.parts {
		if p := q.parts[(start+i)%len(q.parts)]; !p.notOwned.Load() {
			return p
		}
	}
	return nil
}

// backlog returns the exact backlog count.
func (q *taskQueue) backlog() int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.count
}

// offer hands t to the oldest waiting poller, if any, and waits for the
// poller's verdict. When no poller waits but the queue has no backlog and
// was polled lately, it waits up to matching.syncMatchWaitDuration for one
// to come (Temporal's sync-match wait): a busy worker's pollers are back
// within milliseconds, and a task matched in memory is never written.
// matched is false when no poller took the task. Because AddTask keeps the
// task until the poller reports, a hand-off that loses a race with the
// poller's cancellation, or meets a history error, comes back here and is
// persisted by the caller.
func (q *taskQueue) offer(ctx context.Context, t *task) (res syncResult, matched bool) {
	return q.offerWithin(ctx, t, -1)
}

// offerWithin is offer with the wait for a poller to come: maxWait < 0
// is the sync-match wait; otherwise maxWait if the queue was polled lately.
func (q *taskQueue) offerWithin(ctx context.Context, t *task, maxWait time.Duration) (res syncResult, matched bool) {
	q.mu.Lock()
	front := q.nextWaiterLocked()
	if front == nil {
		wait := maxWait
		if wait < 0 {
			wait = q.syncMatchWaitLocked()
		} else if q.e.clock.Now().Sub(q.lastPoll) > recentPoll {
			wait = 0
		}
		if wait <= 0 {
			q.mu.Unlock()
			return syncResult{}, false
		}
		t.result = make(chan syncResult, 1)
		t.offerElem = q.offers.PushBack(t)
		q.mu.Unlock()
		return q.awaitPoller(ctx, t, wait)
	}
	t.result = make(chan syncResult, 1)
	q.deliverLocked(front, t)
	q.mu.Unlock()
	res = <-t.result
	t.result = nil
	return res, true
}

// syncMatchWaitLocked is how long an add may wait for a poller now: zero
// with a backlog (the task must queue behind it), for a queue not polled
// lately, or a sticky queue whose worker is gone.
func (q *taskQueue) syncMatchWaitLocked() time.Duration {
	wait := q.e.dyn.Duration("matching.syncMatchWaitDuration", defaultSyncMatchWait)
	now := q.e.clock.Now()
	if wait <= 0 || !q.loaded.Load() || q.count > 0 || len(q.retry) > 0 ||
		now.Sub(q.lastPoll) > recentPoll || q.goneLocked(now) {
		return 0
	}
	return wait
}

// awaitPoller waits for a poller to take t from q.offers (then for its
// verdict), for wait, for ctx, or for the engine to stop.
func (q *taskQueue) awaitPoller(ctx context.Context, t *task, wait time.Duration) (res syncResult, matched bool) {
	expired := make(chan struct{})
	timer := q.e.clock.AfterFunc(wait, func() { close(expired) })
	defer timer.Stop()
	select {
	case res = <-t.result:
		t.result = nil
		return res, true
	case <-expired:
	case <-ctx.Done():
	case <-q.e.stopCh:
	}
	q.mu.Lock()
	if t.offerElem != nil {
		q.offers.Remove(t.offerElem)
		t.offerElem = nil
		q.mu.Unlock()
		t.result = nil
		return syncResult{}, false
	}
	q.mu.Unlock()
	res = <-t.result // a poller took it meanwhile
	t.result = nil
	return res, true
}

// takeOfferLocked removes and returns the oldest task waiting in offers.
func (q *taskQueue) takeOfferLocked() *task {
	front := q.offers.Front()
	if front == nil {
		return nil
	}
	t := q.offers.Remove(front).(*task)
	t.offerElem = nil
	return t
}

// deliverLocked gives t to the waiter at elem.
func (q *taskQueue) deliverLocked(elem *list.Element, t *task) {
	w := q.waiters.Remove(elem).(*waiter)
	w.elem = nil
	w.ch <- t // never blocks: capacity 1 and at most one delivery per waiter
}

// matchLocked delivers ready tasks to waiting pollers until one side runs
// out.
func (q *taskQueue) matchLocked() {
	for q.waiters.Len() > 0 {
		t := q.nextReadyLocked()
		if t == nil {
			return
		}
		q.deliverLocked(q.nextWaiterLocked(), t)
	}
}

// nextWaiterLocked is the waiter to hand a task to: the oldest poller, or
// without one the oldest task forwarder (nil: none waits). Forwarders only
// exist in a queue that forwards, so elsewhere this is the list's front.
func (q *taskQueue) nextWaiterLocked() *list.Element {
	front := q.waiters.Front()
	if q.forwarders == 0 {
		return front
	}
	for e := front; e != nil; e = e.Next() {
		if !e.Value.(*waiter).forwarder {
			return e
		}
	}
	return front
}

// nextReadyLocked removes and returns the next dispatchable task: first a
// query still waiting for a poller, then a retry whose backoff has passed,
// then the head of a partition buffer (rotating the starting partition).
// Nil if none.
func (q *taskQueue) nextReadyLocked() *task {
	for len(q.queries) > 0 {
		t := q.queries[0]
		q.queries[0] = nil
		q.queries = q.queries[1:]
		if t.query.pending() {
			return t
		}
	}
	if len(q.retry) > 0 {
		now := q.e.clock.Now()
		for i, t := range q.retry {
			if !t.notBefore.After(now) {
				q.retry = slices.Delete(q.retry, i, i+1)
				return t
			}
		}
	}
	n := len(q.parts)
	for i := range n {
		p := q.parts[(q.readRR+i)%n]
		if len(p.buf) == 0 {
			continue
		}
		t := p.buf[0]
		p.buf[0] = nil
		p.buf = p.buf[1:]
		q.readRR = (q.readRR + i + 1) % n
		q.maybeFillLocked(p)
		return t
	}
	return nil
}

// take returns the next task for a poller, waiting until one is delivered,
// ctx ends, expired is closed or the engine stops (then nil). A task
// returned after ctx ended or the engine stopped must be handed back by the
// caller (dispatch does).
//
// A sticky queue's worker shut down (see ShutdownSticky): take returns nil
// at once, and a waiting poller is released by a nil delivery.
//
// poller is false for a task forwarder (forward.go), which is no poll.
func (q *taskQueue) take(ctx context.Context, expired <-chan struct{}, poller bool) (*task, error) {
	q.mu.Lock()
	if poller {
		now := q.e.clock.Now()
		q.lastPoll = now
		if q.goneLocked(now) {
			q.mu.Unlock()
			return nil, nil
		}
	}
	if t := q.nextReadyLocked(); t != nil {
		q.mu.Unlock()
		return t, nil
	}
	if t := q.takeOfferLocked(); t != nil {
		q.mu.Unlock()
		return t, nil
	}
	if q.waiters.Len() >= maxPollers {
		q.mu.Unlock()
		return nil, ErrTooManyPollers
	}
	w := &waiter{ch: make(chan *task, 1), forwarder: !poller}
	w.elem = q.waiters.PushBack(w)
	q.mu.Unlock()

	select {
	case t := <-w.ch:
		if poller {
			q.touchPoll()
		}
		return t, nil
	case <-ctx.Done():
	case <-expired:
	case <-q.e.stopCh:
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if poller {
		q.lastPoll = q.e.clock.Now()
	}
	if w.elem != nil {
		q.waiters.Remove(w.elem)
		w.elem = nil
		return nil, nil
	}
	return <-w.ch, nil // delivered while we were leaving
}

// touchPoll records that a poller was active just now.
func (q *taskQueue) touchPoll() {
	q.mu.Lock()
	q.lastPoll = q.e.clock.Now()
	q.mu.Unlock()
}

// handBack returns a task a poller took but did not start. A sync-match
// task goes back to its AddTask call; a persisted one to the retry list,
// dispatchable again after backoff; a query still pending to the head of
// the query list (an abandoned one is dropped).
func (q *taskQueue) handBack(t *task, backoff time.Duration) {
	if t.query != nil {
		q.mu.Lock()
		if t.query.pending() {
			q.queries = slices.Insert(q.queries, 0, t)
			q.matchLocked()
		}
		q.mu.Unlock()
		return
	}
	if t.result != nil {
		t.result <- syncResult{backoff: backoff}
		return
	}
	if t.part != nil && t.part.notOwned.Load() {
		return // the partition moved to another member, which reads the row back
	}
	t.notBefore = q.e.clock.Now().Add(backoff)
	q.mu.Lock()
	q.retry = append(q.retry, t)
	q.matchLocked()
	q.mu.Unlock()
	if backoff > 0 {
		q.e.clock.AfterFunc(backoff, q.wake)
	}
}

// wake re-runs matching, for tasks whose retry backoff just passed.
func (q *taskQueue) wake() {
	q.mu.Lock()
	q.matchLocked()
	q.mu.Unlock()
}

// finish ends a task that was started or is to be dropped (stale, expired,
// undecodable): a sync-match task reports done to its AddTask; a persisted
// one has its row deleted and leaves the backlog count. A failed delete is
// logged: the row is past this engine's read level, and after a restart it
// comes back and history reports it gone.
func (q *taskQueue) finish(t *task) {
	if t.result != nil {
		t.result <- syncResult{done: true}
		return
	}
	p := t.part
	q.mu.Lock()
	if !p.notOwned.Load() { // a dropped partition's counts were reset
		q.addCountLocked(p, -1)
		p.inMem--
		q.maybeFillLocked(p)
	}
	q.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	if err := q.e.store.CompleteTask(ctx, p.key, t.id); err != nil {
		q.e.log.Warn("delete backlog task", "task_queue", q.id.name, "partition", p.key.Partition,
			"task_id", t.id, "error", err)
	}
}

// enqueueWrittenLocked places tasks that were just written to p (IDs
// assigned, partition caught up, room checked by the caller): due tasks into
// the buffer, tasks still backing off into the retry list.
func (q *taskQueue) enqueueWrittenLocked(p *partition, tasks []*task) {
	now := q.e.clock.Now()
	for _, t := range tasks {
		p.inMem++
		if d := t.notBefore.Sub(now); d > 0 {
			q.retry = append(q.retry, t)
			q.e.clock.AfterFunc(d, q.wake)
			continue
		}
		p.buf = append(p.buf, t)
	}
}
