package matching

import (
	"context"
	"errors"
	"sort"
	"time"

	"github.com/sundialhq/sundial/internal/persistence"
)

// ErrNoSuchPartition means DescribeTaskQueue named a partition the queue
// does not have.
var ErrNoSuchPartition = errors.New("matching: no such task queue partition")

// DescribeRequest selects a task queue (all its partitions, or one).
type DescribeRequest struct {
	NamespaceID string
	Name        string
	// Activity selects the activity queue; otherwise the workflow queue.
	Activity bool
	// Sticky selects a worker's sticky queue (workflow queues only).
	Sticky bool
	// Partition is the partition to describe; -1 means all of them.
	Partition int32
}

// Description is a task queue's state as DescribeTaskQueue reports it.
type Description struct {
	// Pollers that polled the queue within the last 5 minutes, most
	// recent first. A poller is served by every partition, so each
	// partition reports the queue's pollers.
	Pollers []Poller
	// Partitions are the described partitions in order.
	Partitions []PartitionStats
	// Total sums the partitions: counts and rates add up, the age is the
	// oldest.
	Total PartitionStats
}

// Poller is a worker's poller.
type Poller struct {
	Identity       string
	LastAccessTime time.Time
	RatePerSecond  float64
}

// PartitionStats describes one partition's backlog.
type PartitionStats struct {
	Partition int32
	// BacklogCount is exact: tasks written and not yet started, found
	// stale or expired.
	BacklogCount int64
	// BacklogAge is the age of the oldest backlog task (0 when empty).
	BacklogAge time.Duration
	// AddRate and DispatchRate are tasks per second over the last 30 s,
	// sync-matched tasks included (counted on partition 0).
	AddRate      float64
	DispatchRate float64
	// ReadLevel is the highest task ID read into memory.
	ReadLevel int64
}

// DescribeTaskQueue reports a task queue's pollers and backlog. It loads
// the queue first if this engine has not (reading the backlog count and
// its oldest task from the store), so the answer is exact after a
// restart too.
func (e *Engine) DescribeTaskQueue(ctx context.Context, req DescribeRequest) (*Description, error) {
	if req.NamespaceID == "" || req.Name == "" {
		return nil, ErrInvalidRequest
	}
	kind := kindWorkflow
	if req.Activity {
		kind = kindActivity
	}
	q := e.acquire(queueID{req.NamespaceID, req.Name, kind}, req.Sticky && !req.Activity)
	defer e.release(q)
	if err := q.ensureLoaded(ctx); err != nil {
		return nil, err
	}
	parts := q.parts
	if req.Partition >= 0 {
		if int(req.Partition) >= len(q.parts) {
			return nil, ErrNoSuchPartition
		}
		parts = q.parts[req.Partition : req.Partition+1]
	}
	now := e.clock.Now()
	d := &Description{Pollers: q.pollersAt(now)}
	for _, p := range parts {
		ps, err := q.partitionStats(ctx, p, now)
		if err != nil {
			return nil, err
		}
		d.Partitions = append(d.Partitions, ps)
		d.Total.BacklogCount += ps.BacklogCount
		d.Total.BacklogAge = max(d.Total.BacklogAge, ps.BacklogAge)
		d.Total.AddRate += ps.AddRate
		d.Total.DispatchRate += ps.DispatchRate
	}
	if len(parts) == 1 {
		d.Total.Partition, d.Total.ReadLevel = parts[0].key.Partition, d.Partitions[0].ReadLevel
	}
	return d, nil
}

// pollersAt lists the pollers seen within pollerTTL of now.
func (q *taskQueue) pollersAt(now time.Time) []Poller {
	q.mu.Lock()
	out := make([]Poller, 0, len(q.pollers))
	for id, p := range q.pollers {
		if now.Sub(p.lastAccess) < pollerTTL {
			out = append(out, Poller{Identity: id, LastAccessTime: p.lastAccess, RatePerSecond: p.ratePerSecond})
		}
	}
	q.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if !out[i].LastAccessTime.Equal(out[j].LastAccessTime) {
			return out[i].LastAccessTime.After(out[j].LastAccessTime)
		}
		return out[i].Identity < out[j].Identity
	})
	return out
}

// partitionStats reads p's statistics. When p has a backlog but none of
// it is in memory (not read yet, or every buffered task is being
// dispatched), the oldest unread row is read from the store for the age.
func (q *taskQueue) partitionStats(ctx context.Context, p *partition, now time.Time) (PartitionStats, error) {
	q.mu.Lock()
	ps := PartitionStats{
		Partition:    p.key.Partition,
		BacklogCount: p.stats.count,
		AddRate:      p.stats.adds.perSecond(now),
		DispatchRate: p.stats.dispatches.perSecond(now),
		ReadLevel:    p.readLevel,
	}
	created, ok := q.headCreatedLocked(p)
	after := p.readLevel
	q.mu.Unlock()
	if ps.BacklogCount <= 0 {
		ps.BacklogCount = 0
		return ps, nil
	}
	if !ok {
		rctx, cancel := context.WithTimeout(ctx, storeTimeout)
		rows, err := q.e.store.GetTasks(rctx, p.key, after, 1)
		cancel()
		if err != nil && !errors.Is(err, persistence.ErrNotFound) {
			return ps, err
		}
		if len(rows) > 0 {
			t := decodeTask(p, rows[0])
			if t.info.CreatedAt > 0 {
				created, ok = time.Unix(0, t.info.CreatedAt), true
			}
		}
	}
	if ok {
		ps.BacklogAge = max(0, now.Sub(created))
	}
	return ps, nil
}
