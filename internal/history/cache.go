package history

import (
	"container/list"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sundialhq/sundial/internal/history/statemachine"
	"github.com/sundialhq/sundial/internal/metrics"
	"github.com/sundialhq/sundial/internal/persistence"
)

// Cache bounds: history.cacheMaxSize runs (Sundial's, as before) and
// history.hostLevelCacheMaxSizeBytes bytes (Temporal's key for the
// host-wide cache), counting each run's encoded state and event tail.
const (
	defaultCacheMaxSize  = 10_000
	defaultCacheMaxBytes = 64 << 20
)

// entry is a cached run: its lock and, when loaded, its state and record
// version.
type entry struct {
	mu      sync.Mutex
	refs    int           // guarded by cache.mu
	elem    *list.Element // in cache.lru; guarded by cache.mu
	charged int64         // bytes counted in cache.bytes; guarded by cache.mu
	st      *statemachine.State
	version int64
	gen     int64        // the shard's acquisition st was loaded under
	size    atomic.Int64 // bytes of st encoded, for cache_size
	tail    eventTail    // the run's latest written events (eventtail.go)
}

// bytes is what the entry counts against the cache's byte budget.
func (ent *entry) bytes() int64 {
	ent.tail.mu.Lock()
	tail := ent.tail.bytes
	ent.tail.mu.Unlock()
	return ent.size.Load() + int64(tail)
}

// cache holds runs' states between calls, bounded by count and by bytes
// (encoded state and event tail), evicting the least recently used runs
// first. Entries in use are never evicted, so in-flight calls can hold it
// over its bounds for their duration.
type cache struct {
	mu       sync.Mutex
	max      int
	maxBytes int64
	m        map[persistence.WorkflowKey]*entry
	lru      *list.List       // of persistence.WorkflowKey, most recently used first
	bytes    int64            // sum of the entries' charged bytes
	met      *metrics.Metrics // lock_latency of the workflow lock
}

func newCache(max int, maxBytes int64) *cache {
	return &cache{max: max, maxBytes: maxBytes, m: map[persistence.WorkflowKey]*entry{}, lru: list.New()}
}

// lock returns key's entry, locked.
func (c *cache) lock(key persistence.WorkflowKey) *entry {
	c.mu.Lock()
	ent := c.m[key]
	if ent == nil {
		ent = &entry{}
		c.m[key] = ent
		ent.elem = c.lru.PushFront(key)
	} else {
		c.lru.MoveToFront(ent.elem)
	}
	ent.refs++
	c.mu.Unlock()
	start := time.Now()
	ent.mu.Lock()
	c.met.LockLatency(metrics.LockWorkflow, time.Since(start))
	return ent
}

// unlock releases ent, counts its new size and evicts what the bounds
// require. An entry without a state (a failed load or write) is dropped.
func (c *cache) unlock(key persistence.WorkflowKey, ent *entry) {
	ent.mu.Unlock()
	size := ent.bytes()
	c.mu.Lock()
	ent.refs--
	c.bytes += size - ent.charged
	ent.charged = size
	if ent.refs == 0 && ent.st == nil {
		c.removeLocked(key, ent)
	}
	c.evictLocked()
	c.mu.Unlock()
}

func (c *cache) removeLocked(key persistence.WorkflowKey, ent *entry) {
	delete(c.m, key)
	c.lru.Remove(ent.elem)
	c.bytes -= ent.charged
	ent.charged = 0
}

// evictLocked drops least recently used idle entries while the cache is
// over a bound.
func (c *cache) evictLocked() {
	for el := c.lru.Back(); el != nil && (len(c.m) > c.max || c.bytes > c.maxBytes); {
		prev := el.Prev()
		key := el.Value.(persistence.WorkflowKey)
		if ent := c.m[key]; ent.refs == 0 {
			c.removeLocked(key, ent)
		}
		el = prev
	}
}

// usage returns the cache's entry count and charged bytes.
func (c *cache) usage() (int, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m), c.bytes
}
