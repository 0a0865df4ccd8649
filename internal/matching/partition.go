package matching

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sundialhq/sundial/internal/persistence"
)

const (
	// rangeBits: task IDs are rangeID<<rangeBits + seq.
	rangeBits = 20
	// bufferCap bounds the tasks of one partition held in memory (buffered,
	// backing off in the retry list, or being dispatched).
	bufferCap = 1000
	// refillBelow: the partition's buffer is refilled from the store when it
	// holds fewer tasks than this and rows may remain unread.
	refillBelow = bufferCap / 4
	// readBatch bounds one GetTasks call.
	readBatch = 200
	// writeBatch bounds one CreateTasks call (group commit).
	writeBatch = 100
	// maxPendingWrites bounds adds queued for one partition's writer.
	maxPendingWrites = 10_000
	// maxUncertain bounds remembered failed-write ID ranges.
	maxUncertain = 64
	// fillRetryDelay is the wait after a failed backlog read.
	fillRetryDelay = time.Second
)

// errTakeLead tells a queued writer that it now leads the group commit.
var errTakeLead = errors.New("matching: take the write lead")

// partition is one partition of a task queue: its lease, its writer and the
// in-memory window onto its backlog.
//
// Writes and reads of the partition's rows are serialised by ioMu, and a
// writer commits batches in ID order, so rows become visible in ID order and
// reading "after readLevel" never skips a row.
type partition struct {
	q   *taskQueue
	key persistence.TaskQueueKey

	// Guarded by q.mu (and changed only while also holding ioMu, except buf
	// pops and inMem decrements).
	buf       []*task // undispatched tasks in ID order, all with ID <= readLevel
	inMem     int     // tasks of this partition in memory: buf, retry, in dispatch
	readLevel int64   // highest task ID brought into memory (or skipped)
	// caughtUp: every row this engine knows of is at or below readLevel, so
	// freshly written tasks may go straight into buf.
	caughtUp bool
	filling  bool // a fill goroutine runs or is scheduled
	// uncertain: ID ranges of writes whose outcome is unknown; a row found
	// there by a read was not counted yet.
	uncertain []idRange
	stats     partStats // guarded by q.mu

	// notOwned: the ring gives the partition to another member; it holds
	// no lease here and is neither written nor read.
	notOwned atomic.Bool

	ioMu    sync.Mutex
	rangeID int64 // guarded by ioMu; 0: lease before the next write
	nextID  int64 // guarded by ioMu
	endID   int64 // guarded by ioMu; first ID of the next range

	wmu     sync.Mutex
	pending []*pendingWrite // guarded by wmu
	writing bool            // guarded by wmu: some add leads the writes
}

type idRange struct{ first, last int64 }

// pendingWrite is an add waiting for its task to be committed.
type pendingWrite struct {
	t    *task
	done chan error // capacity 1: the write's result, or errTakeLead
}

// load leases the partition and returns its persisted row count.
func (p *partition) load(ctx context.Context) (int64, error) {
	p.ioMu.Lock()
	defer p.ioMu.Unlock()
	rangeID, ackLevel, err := p.q.e.store.LeaseTaskQueue(ctx, p.key)
	if err != nil {
		return 0, err
	}
	n, err := p.q.e.store.CountTasks(ctx, p.key)
	if err != nil {
		return 0, err
	}
	p.setRange(rangeID)
	p.q.mu.Lock()
	p.readLevel = ackLevel
	p.caughtUp = false
	p.q.mu.Unlock()
	return n, nil
}

// setRange adopts a new lease. Requires ioMu.
func (p *partition) setRange(rangeID int64) {
	p.rangeID = rangeID
	p.nextID = rangeID << rangeBits
	p.endID = (rangeID + 1) << rangeBits
}

// persist writes t to the partition's backlog and returns once the write
// has committed (nil) or failed (the store's error; nothing is owed). Adds
// arriving while a write is in flight are committed together by one of
// them (group commit); the wait ignores ctx so that a write that may commit
// is never reported as not done.
func (p *partition) persist(ctx context.Context, t *task) error {
	pw := &pendingWrite{t: t, done: make(chan error, 1)}
	p.wmu.Lock()
	if len(p.pending) >= maxPendingWrites {
		p.wmu.Unlock()
		return ErrBusy
	}
	p.pending = append(p.pending, pw)
	lead := !p.writing
	p.writing = true
	p.wmu.Unlock()
	for {
		if lead {
			p.leadWrites(ctx, pw)
		}
		err := <-pw.done
		if err != errTakeLead {
			return err
		}
		lead = true
	}
}

// leadWrites commits pending batches until self's task is written; then,
// if adds are still pending, it passes the lead to the oldest of them so no
// add leads for long.
func (p *partition) leadWrites(ctx context.Context, self *pendingWrite) {
	for {
		p.wmu.Lock()
		if len(self.done) > 0 {
			if len(p.pending) == 0 {
				p.writing = false
			} else {
				p.pending[0].done <- errTakeLead
			}
			p.wmu.Unlock()
			return
		}
		n := min(len(p.pending), writeBatch)
		batch := make([]*pendingWrite, n)
		copy(batch, p.pending)
		p.pending = append(p.pending[:0], p.pending[n:]...)
		p.wmu.Unlock()

		err := p.writeBatch(ctx, batch)
		for _, pw := range batch {
			pw.done <- err
		}
	}
}

// writeBatch assigns IDs to the batch's tasks, writes them fenced by the
// lease, and on success counts them and makes them dispatchable.
func (p *partition) writeBatch(ctx context.Context, batch []*pendingWrite) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	p.ioMu.Lock()
	defer p.ioMu.Unlock()
	// A sticky queue whose worker has shut down takes no more tasks: an add
	// that passed checkSticky, or waited for a poller, before ShutdownSticky
	// must not land after its drain (which holds ioMu) and wait there for
	// the sticky timeout. The add fails, and history uses the normal queue.
	if p.q.gone() {
		return ErrStickyWorkerUnavailable
	}
	first, err := p.reserveIDs(ctx, len(batch))
	if err != nil {
		return err
	}
	rows := make([]persistence.QueueTask, len(batch))
	for i, pw := range batch {
		rows[i] = pw.t.encode(first + int64(i))
	}
	err = p.q.e.store.CreateTasks(ctx, p.key, p.rangeID, rows)

	q := p.q
	q.mu.Lock()
	defer q.mu.Unlock()
	if err != nil {
		var lost *persistence.TaskQueueLeaseLostError
		if errors.As(err, &lost) {
			p.rangeID = 0
		}
		// The rows may have committed: let a read find (and count) them.
		p.caughtUp = false
		if len(p.uncertain) < maxUncertain {
			p.uncertain = append(p.uncertain, idRange{first, first + int64(len(batch)) - 1})
		}
		q.maybeFillLocked(p)
		return err
	}
	q.addCountLocked(p, int64(len(batch)))
	if p.caughtUp && p.inMem+len(batch) <= bufferCap {
		tasks := make([]*task, len(batch))
		for i, pw := range batch {
			// The add stops touching its task once done is sent, after
			// this; a poller may take it as soon as we unlock.
			pw.t.part, pw.t.id = p, first+int64(i)
			tasks[i] = pw.t
		}
		p.readLevel = tasks[len(tasks)-1].id
		q.enqueueWrittenLocked(p, tasks)
		q.matchLocked()
	} else {
		p.caughtUp = false
		q.maybeFillLocked(p)
	}
	return nil
}

// reserveIDs returns the first of n consecutive task IDs, leasing the
// partition first if it has no lease or its ID range is used up. Requires
// ioMu.
func (p *partition) reserveIDs(ctx context.Context, n int) (int64, error) {
	if p.rangeID == 0 || p.nextID+int64(n) > p.endID {
		// A lease lost to another owner is taken back only while the
		// ring still gives the partition to this process.
		if p.notOwned.Load() || !p.q.e.owns(p.key) {
			return 0, &persistence.TaskQueueLeaseLostError{Key: p.key, RangeID: p.rangeID}
		}
		rangeID, _, err := p.q.e.store.LeaseTaskQueue(ctx, p.key)
		if err != nil {
			return 0, err
		}
		if rangeID != p.rangeID+1 {
			// Another owner may have written rows in between.
			p.q.mu.Lock()
			p.caughtUp = false
			p.q.mu.Unlock()
		}
		p.setRange(rangeID)
	}
	first := p.nextID
	p.nextID += int64(n)
	return first, nil
}

// maybeFillLocked starts a backlog read if the buffer runs low, rows may
// remain unread, memory allows and none is running.
func (q *taskQueue) maybeFillLocked(p *partition) {
	if p.filling || p.caughtUp || len(p.buf) >= refillBelow || p.inMem >= bufferCap || !q.loaded.Load() || p.notOwned.Load() {
		return
	}
	p.filling = q.e.goBackground(func() { q.fill(p) })
}

// fill reads batches of p's backlog into memory until the buffer is full
// enough or the rows run out. After a store error it retries later.
func (q *taskQueue) fill(p *partition) {
	for {
		more, err := q.fillOnce(p)
		if err == nil && more {
			continue
		}
		if err != nil {
			if q.e.bgCtx.Err() == nil {
				q.e.log.Warn("read backlog", "task_queue", q.id.name, "partition", p.key.Partition, "error", err)
			}
			q.e.clock.AfterFunc(fillRetryDelay, func() {
				q.mu.Lock()
				p.filling = false
				q.maybeFillLocked(p)
				q.mu.Unlock()
			})
		}
		return
	}
}

// fillOnce reads one batch. more reports whether another batch is wanted;
// when it is false (and err nil) filling has been cleared.
func (q *taskQueue) fillOnce(p *partition) (more bool, err error) {
	p.ioMu.Lock()
	defer p.ioMu.Unlock()
	q.mu.Lock()
	if p.notOwned.Load() { // dropped after this fill was scheduled
		p.filling = false
		q.mu.Unlock()
		return false, nil
	}
	after, limit := p.readLevel, min(readBatch, bufferCap-p.inMem)
	q.mu.Unlock()
	var rows []persistence.QueueTask
	if limit > 0 {
		ctx, cancel := context.WithTimeout(q.e.bgCtx, storeTimeout)
		rows, err = q.e.store.GetTasks(ctx, p.key, after, limit)
		cancel()
		if err != nil {
			return false, err
		}
	}

	q.mu.Lock()
	defer q.mu.Unlock()
	for _, row := range rows {
		if row.TaskID <= p.readLevel {
			continue // cannot happen under ioMu; be safe against a bad store
		}
		if p.isUncertainLocked(row.TaskID) {
			q.addCountLocked(p, 1)
		}
		p.buf = append(p.buf, decodeTask(p, row))
		p.inMem++
		p.readLevel = row.TaskID
	}
	if limit > 0 && len(rows) < limit {
		p.caughtUp = true
		p.uncertain = nil
	}
	q.matchLocked()
	more = !p.caughtUp && len(p.buf) < refillBelow && p.inMem < bufferCap && !q.e.stopped()
	if !more {
		p.filling = false
	}
	return more, nil
}

func (p *partition) isUncertainLocked(id int64) bool {
	for _, r := range p.uncertain {
		if id >= r.first && id <= r.last {
			return true
		}
	}
	return false
}
