package history

import (
	"fmt"
	"testing"

	"github.com/sundialhq/sundial/internal/history/statemachine"
	"github.com/sundialhq/sundial/internal/persistence"
)

func cacheKey(i int) persistence.WorkflowKey {
	return persistence.WorkflowKey{NamespaceID: "ns", WorkflowID: fmt.Sprintf("wf-%d", i), RunID: "run"}
}

// put caches run i with a state of size bytes, as a load would.
func put(c *cache, i int, size int64) {
	ent := c.lock(cacheKey(i))
	ent.st = &statemachine.State{}
	ent.size.Store(size)
	c.unlock(cacheKey(i), ent)
}

func cached(c *cache, i int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[cacheKey(i)] != nil
}

func TestCacheEvictsLeastRecentlyUsedByCount(t *testing.T) {
	c := newCache(3, 1<<30)
	for i := range 3 {
		put(c, i, 10)
	}
	put(c, 0, 10) // 0 is now the most recently used
	put(c, 3, 10) // over the count: 1 goes
	for i, want := range []bool{true, false, true, true} {
		if cached(c, i) != want {
			t.Errorf("run %d cached = %v, want %v", i, !want, want)
		}
	}
	if n, bytes := c.usage(); n != 3 || bytes != 30 {
		t.Errorf("usage %d runs %d bytes, want 3 runs 30 bytes", n, bytes)
	}
}

func TestCacheStaysWithinItsByteBudget(t *testing.T) {
	const budget = 1000
	c := newCache(1_000_000, budget)
	for i := range 100 {
		put(c, i, int64(50+i%7*20))
		if _, bytes := c.usage(); bytes > budget {
			t.Fatalf("after run %d the cache holds %d bytes, budget %d", i, bytes, budget)
		}
	}
	if !cached(c, 99) || cached(c, 0) {
		t.Error("the newest run should be cached and the oldest evicted")
	}
	// Growth of a cached run (a write) is counted when it is unlocked.
	ent := c.lock(cacheKey(99))
	ent.size.Store(600)
	ent.tail.append([]persistence.HistoryEvent{{EventID: 1, Data: make([]byte, 100)}})
	c.unlock(cacheKey(99), ent)
	if n, bytes := c.usage(); bytes > budget || !cached(c, 99) {
		t.Errorf("after growth: %d runs, %d bytes (budget %d), run 99 cached %v", n, bytes, budget, cached(c, 99))
	}
}

func TestCacheNeverEvictsEntriesInUse(t *testing.T) {
	c := newCache(1, 1<<30)
	held := c.lock(cacheKey(0))
	held.st = &statemachine.State{}
	put(c, 1, 10) // over the count, but 0 is in use: 1 goes
	if !cached(c, 0) || cached(c, 1) {
		t.Fatalf("in-use run evicted (0 cached %v, 1 cached %v)", cached(c, 0), cached(c, 1))
	}
	c.unlock(cacheKey(0), held)
	if n, _ := c.usage(); n != 1 {
		t.Errorf("%d runs cached, want 1", n)
	}
	// A run whose state was dropped (failed write) leaves at once.
	ent := c.lock(cacheKey(0))
	ent.st = nil
	c.unlock(cacheKey(0), ent)
	if n, bytes := c.usage(); n != 0 || bytes != 0 {
		t.Errorf("usage %d runs %d bytes after dropping the state, want 0, 0", n, bytes)
	}
}
