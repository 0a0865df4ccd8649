package matching

import (
	"context"
	"slices"
	"time"

	"github.com/sundialhq/sundial/internal/membership"
	"github.com/sundialhq/sundial/internal/persistence"
)

// KindName names a task queue kind as membership.PartitionKey and the
// admin endpoint spell it: "workflow" or "activity".
func KindName(k persistence.TaskQueueKind) string {
	if k == kindActivity {
		return "activity"
	}
	return "workflow"
}

// owns reports whether the ring gives the partition to this process:
// each partition goes to the owner of its own key
// (membership.PartitionKey), where the routed clients send its calls.
func (e *Engine) owns(key persistence.TaskQueueKey) bool {
	if e.ring == nil {
		return true
	}
	self, ok := e.ring.Self(membership.RoleMatching)
	if !ok {
		return false
	}
	m, err := e.ring.Lookup(membership.RoleMatching,
		membership.PartitionKey(key.NamespaceID, key.Name, KindName(key.Kind), int(key.Partition)))
	return err == nil && m.Identity == self.Identity
}

// retryGain is how often a partition the ring gives this process but that
// it failed to lease (a database error) is tried again.
const retryGain = 5 * time.Second

// followRing drops the partitions of loaded queues that the ring moves
// away and leases the ones it brings, at each change of the matching
// members, and every retryGain for a lease that failed. Queues not loaded
// take the ring as it is when they load.
func (e *Engine) followRing() {
	defer close(e.ringDone)
	retry := time.NewTicker(retryGain)
	defer retry.Stop()
	for {
		changed := e.ring.Changed(membership.RoleMatching)
		e.reconcile(false)
		select {
		case <-e.stopRing:
			return
		case <-changed:
		case <-retry.C:
		case <-e.resync:
			e.reconcile(true)
		}
	}
}

// Resync drops every partition and leases the ring's share again: for a
// process whose membership lease lapsed (it was paused or cut off past the
// TTL), whose leases were likely taken meanwhile.
func (e *Engine) Resync() {
	if e.resync == nil {
		return
	}
	select {
	case e.resync <- struct{}{}:
	default:
	}
}

func (e *Engine) loadedQueues() []*taskQueue {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []*taskQueue
	for _, q := range e.queues {
		if q.loaded.Load() {
			out = append(out, q)
		}
	}
	return out
}

// reconcile makes the partitions of loaded queues match the ring; with
// dropAll it gives up every partition (a graceful leave).
func (e *Engine) reconcile(dropAll bool) {
	for _, q := range e.loadedQueues() {
		dropped, gainedRoot := false, false
		for _, p := range q.parts {
			own := !dropAll && e.owns(p.key)
			switch {
			case !own && !p.notOwned.Load():
				p.drop()
				dropped = true
			case own && p.notOwned.Load():
				ctx, cancel := context.WithTimeout(e.bgCtx, storeTimeout)
				if err := p.gain(ctx); err != nil && e.bgCtx.Err() == nil {
					e.log.Warn("lease a partition the ring gave this process", "task_queue", q.id.name,
						"partition", p.key.Partition, "error", err)
				} else if err == nil && p.key.Partition == 0 {
					gainedRoot = true
				}
				cancel()
			}
		}
		if dropped {
			q.releaseWaiters()
		}
		if e.fwd != nil {
			q.mu.Lock()
			if gainedRoot {
				q.releaseForwardersLocked() // nothing to forward to any more
			}
			q.maybeStartForwardersLocked()
			q.mu.Unlock()
		}
	}
}

// releaseWaiters ends the polls waiting on a queue that moved away (an
// empty answer: the caller polls again, on the new owner) and sends adds
// waiting for a poller on to be written, which a dropped partition refuses
// as a lost lease (retried on the new owner). Otherwise they would wait
// here, for a task that now goes elsewhere, until their deadline.
func (q *taskQueue) releaseWaiters() {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.waiters.Len() > 0 {
		q.deliverLocked(q.waiters.Front(), nil)
	}
	for t := q.takeOfferLocked(); t != nil; t = q.takeOfferLocked() {
		t.result <- syncResult{}
	}
}

// drop gives the partition up: no lease, no buffered tasks, no count. Its
// rows stay in the store for the new owner, which reads them from the ack
// level; tasks already handed to pollers finish normally.
func (p *partition) drop() {
	p.ioMu.Lock()
	defer p.ioMu.Unlock()
	q := p.q
	q.mu.Lock()
	defer q.mu.Unlock()
	p.notOwned.Store(true)
	p.rangeID = 0
	q.count -= p.stats.count
	p.stats.count = 0
	p.inMem = 0
	p.buf = nil
	q.retry = slices.DeleteFunc(q.retry, func(t *task) bool { return t.part == p && t.result == nil && t.query == nil })
	p.caughtUp = false
	p.uncertain = nil
}

// gain leases a partition the ring brought and starts reading its backlog.
func (p *partition) gain(ctx context.Context) error {
	n, err := p.load(ctx)
	if err != nil {
		return err
	}
	q := p.q
	q.mu.Lock()
	defer q.mu.Unlock()
	p.notOwned.Store(false)
	q.addCountLocked(p, n)
	q.maybeFillLocked(p)
	return nil
}

// ReleasePartitions gives up every partition this process holds (a
// graceful leave before the process exits) and stops following the ring.
func (e *Engine) ReleasePartitions() {
	e.stopFollowing()
	e.reconcile(true)
}

func (e *Engine) stopFollowing() {
	if e.stopRing == nil {
		return
	}
	e.ringOnce.Do(func() { close(e.stopRing) })
	<-e.ringDone
}

// OwnedPartitions lists the partitions of loaded task queues that this
// process holds, ordered by namespace, name, kind and partition.
func (e *Engine) OwnedPartitions() []persistence.TaskQueueKey {
	var out []persistence.TaskQueueKey
	for _, q := range e.loadedQueues() {
		for _, p := range q.parts {
			if !p.notOwned.Load() {
				out = append(out, p.key)
			}
		}
	}
	slices.SortFunc(out, func(a, b persistence.TaskQueueKey) int {
		switch {
		case a.NamespaceID != b.NamespaceID:
			return cmpStr(a.NamespaceID, b.NamespaceID)
		case a.Name != b.Name:
			return cmpStr(a.Name, b.Name)
		case a.Kind != b.Kind:
			return int(a.Kind - b.Kind)
		}
		return int(a.Partition - b.Partition)
	})
	return out
}

func cmpStr(a, b string) int {
	if a < b {
		return -1
	}
	return 1
}
