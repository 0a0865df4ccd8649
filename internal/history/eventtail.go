package history

import (
	"slices"
	"sync"

	"github.com/sundialhq/sundial/internal/history/statemachine"
	"github.com/sundialhq/sundial/internal/persistence"
)

// Bounds of a cached run's event tail.
const (
	tailMaxEvents = 64
	tailMaxBytes  = 64 << 10
)

// eventTail holds a cached run's most recently written events, encoded as
// stored, with contiguous IDs. The history reads that follow a write — a
// workflow task poll wants the events since the previous task, a parent
// or a client waiting for the close event wants that event — are served
// from it without a store read. Written events never change, so the tail
// cannot go stale: it can only lack events, and a read it cannot serve in
// full goes to the store.
type eventTail struct {
	mu     sync.Mutex
	events []persistence.HistoryEvent
	bytes  int
}

// append adds events just committed. A gap (events written while the run
// was not cached) restarts the tail at evs.
func (t *eventTail) append(evs []persistence.HistoryEvent) {
	if len(evs) == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, ev := range evs {
		if n := len(t.events); n > 0 && t.events[n-1].EventID+1 != ev.EventID {
			t.events, t.bytes = t.events[:0], 0
		}
		t.events = append(t.events, ev)
		t.bytes += len(ev.Data)
	}
	drop := 0
	for len(t.events)-drop > tailMaxEvents || (t.bytes > tailMaxBytes && drop < len(t.events)) {
		t.bytes -= len(t.events[drop].Data)
		drop++
	}
	t.events = slices.Delete(t.events, 0, drop)
}

// clear forgets the events (the run was deleted).
func (t *eventTail) clear() {
	t.mu.Lock()
	t.events, t.bytes = nil, 0
	t.mu.Unlock()
}

// get returns the events with from <= ID < to if the tail holds them all.
func (t *eventTail) get(from, to int64) ([]persistence.HistoryEvent, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := int64(len(t.events))
	if n == 0 || from >= to {
		return nil, false
	}
	first := t.events[0].EventID
	if from < first || to > first+n {
		return nil, false
	}
	return slices.Clone(t.events[from-first : to-first]), true
}

// recentEvents returns key's events with from <= ID < to when the cached
// run's tail holds them all.
func (c *cache) recentEvents(key persistence.WorkflowKey, from, to int64) ([]persistence.HistoryEvent, bool) {
	c.mu.Lock()
	ent := c.m[key]
	c.mu.Unlock()
	if ent == nil {
		return nil, false
	}
	return ent.tail.get(from, to)
}

// seed caches a run just created (state st at record version 1, its first
// events; gen is its shard's acquisition) unless a caller already loaded it, so the calls that follow a
// start (dispatching its first workflow task, the poll's history) find it
// without reading the store. st must not be used by the caller afterwards.
func (c *cache) seed(key persistence.WorkflowKey, gen int64, st *statemachine.State, stateBytes int, events []persistence.HistoryEvent) {
	ent := c.lock(key)
	if ent.st == nil {
		ent.st, ent.version, ent.gen = st, 1, gen
		ent.size.Store(int64(stateBytes))
		ent.tail.append(events)
	}
	c.unlock(key, ent)
}
