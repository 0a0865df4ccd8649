package matching

import (
	"errors"
	"time"

	"github.com/sundialhq/sundial/internal/metrics"
)

// Task-queue statistics: the exact backlog per partition, add and
// dispatch rates, recent pollers (for DescribeTaskQueue), and the poll,
// match and backlog metrics.

const (
	// rateWindow is how many seconds add and dispatch rates average over
	// (the reference server's 30 s).
	rateWindow = 30
	// pollerTTL: a poller unseen for this long is no longer reported
	// (the reference server's matching.pollerHistoryTTL).
	pollerTTL = 5 * time.Minute
	// maxPollerHistory bounds the pollers remembered per task queue.
	maxPollerHistory = 1000
	// defaultPollerRate is reported for pollers that set no rate limit
	// (the reference server's default dispatch rate).
	defaultPollerRate = 100_000
)

// rate counts events in one-second buckets over the last rateWindow
// seconds.
type rate struct {
	secs   [rateWindow]int64 // the Unix second each bucket counts
	counts [rateWindow]int64
}

func (r *rate) add(now time.Time) {
	s := now.Unix()
	i := int(uint64(s) % rateWindow)
	if r.secs[i] != s {
		r.secs[i], r.counts[i] = s, 0
	}
	r.counts[i]++
}

// perSecond is the average rate over the window ending at now.
func (r *rate) perSecond(now time.Time) float64 {
	s := now.Unix()
	var n int64
	for i := range r.secs {
		if age := s - r.secs[i]; age >= 0 && age < rateWindow {
			n += r.counts[i]
		}
	}
	return float64(n) / rateWindow
}

// partStats is one partition's share of the queue's statistics. Guarded
// by taskQueue.mu.
type partStats struct {
	count      int64 // exact backlog rows of the partition
	adds       rate  // tasks added (sync-matched ones count on partition 0)
	dispatches rate  // tasks started (likewise)
}

// pollerInfo is a poller as DescribeTaskQueue reports it.
type pollerInfo struct {
	lastAccess    time.Time
	ratePerSecond float64
}

// addCountLocked moves the backlog count of p (and the queue) by n.
func (q *taskQueue) addCountLocked(p *partition, n int64) {
	q.count += n
	p.stats.count += n
}

// notePoller remembers that identity polled just now.
func (q *taskQueue) notePoller(identity string, rps float64) {
	if rps <= 0 {
		rps = defaultPollerRate
	}
	now := q.e.clock.Now()
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.pollers == nil {
		q.pollers = map[string]*pollerInfo{}
	}
	if p := q.pollers[identity]; p != nil {
		p.lastAccess, p.ratePerSecond = now, rps
		return
	}
	if len(q.pollers) >= maxPollerHistory {
		for id, p := range q.pollers {
			if now.Sub(p.lastAccess) >= pollerTTL {
				delete(q.pollers, id)
			}
		}
		if len(q.pollers) >= maxPollerHistory {
			return
		}
	}
	q.pollers[identity] = &pollerInfo{lastAccess: now, ratePerSecond: rps}
}

// noteAdd counts a task added to p.
func (q *taskQueue) noteAdd(p *partition) {
	now := q.e.clock.Now()
	q.mu.Lock()
	p.stats.adds.add(now)
	q.mu.Unlock()
}

// noteStarted counts t, just started by a poller, as dispatched, and
// records the poll's metrics.
func (q *taskQueue) noteStarted(t *task) {
	now := q.e.clock.Now()
	p := t.part
	if p == nil {
		p = q.parts[0]
	}
	q.mu.Lock()
	p.stats.dispatches.add(now)
	q.mu.Unlock()
	var waited time.Duration
	if t.info.CreatedAt > 0 {
		waited = max(0, now.Sub(time.Unix(0, t.info.CreatedAt)))
	}
	q.e.metrics.PollSucceeded(q.metricLabels(), t.result != nil, waited)
}

// metricLabels returns the queue's metric labels.
func (q *taskQueue) metricLabels() metrics.TaskQueue {
	if l := q.labels.Load(); l != nil {
		return *l
	}
	l := metrics.TaskQueue{Namespace: q.id.namespaceID, Name: q.id.name, Type: metrics.TaskTypeWorkflow}
	if q.e.nsName != nil {
		if name := q.e.nsName(q.id.namespaceID); name != "" {
			l.Namespace = name
		}
	}
	if q.sticky {
		l.Name = metrics.StickyTaskQueue
	}
	if q.id.kind == kindActivity {
		l.Type = metrics.TaskTypeActivity
	}
	q.labels.Store(&l)
	return l
}

// recordAdd records an AddWorkflowTask/AddActivityTask call as a matching
// service request. A sticky queue that is gone is an expected answer.
func (e *Engine) recordAdd(q *taskQueue, start time.Time, err error) {
	if e.metrics == nil {
		return
	}
	op := "AddWorkflowTask"
	if q.id.kind == kindActivity {
		op = "AddActivityTask"
	}
	if errors.Is(err, ErrStickyWorkerUnavailable) {
		err = nil
	}
	e.metrics.Request(metrics.ServiceMatching, op, q.metricLabels().Namespace, e.clock.Now().Sub(start), err)
}

// recordStarted records matching's RecordWorkflowTaskStarted /
// RecordActivityTaskStarted call as a history service request. A task
// found gone is an expected answer.
func (e *Engine) recordStarted(q *taskQueue, start time.Time, err error) {
	if e.metrics == nil {
		return
	}
	op := "RecordWorkflowTaskStarted"
	if q.id.kind == kindActivity {
		op = "RecordActivityTaskStarted"
	}
	if errors.Is(err, ErrTaskGone) {
		err = nil
	}
	e.metrics.Request(metrics.ServiceHistory, op, q.metricLabels().Namespace, e.clock.Now().Sub(start), err)
}

// headCreatedLocked returns the creation time of the oldest task of p
// held in memory (buffer or retry list); ok is false when none is.
func (q *taskQueue) headCreatedLocked(p *partition) (created time.Time, ok bool) {
	consider := func(t *task) {
		if t.info.CreatedAt <= 0 {
			return
		}
		c := time.Unix(0, t.info.CreatedAt)
		if !ok || c.Before(created) {
			created, ok = c, true
		}
	}
	if len(p.buf) > 0 {
		consider(p.buf[0])
	}
	for _, t := range q.retry {
		if t.part == p {
			consider(t)
		}
	}
	return created, ok
}

// registerBacklogGauges exports approximate_backlog_count and
// approximate_backlog_age_seconds for the queues loaded in memory, summed
// (age: the oldest) over queues sharing labels (sticky queues).
func (e *Engine) registerBacklogGauges() {
	if e.metrics == nil {
		return
	}
	labels := []string{metrics.LabelService, metrics.LabelNamespace, metrics.LabelTaskQueue, metrics.LabelTaskType}
	e.metrics.GaugeFunc("approximate_backlog_count", "Exact backlog of loaded task queues (tasks).", labels,
		func(emit func(float64, ...string)) {
			for l, s := range e.backlogByLabels() {
				emit(float64(s.count), metrics.ServiceMatching, l.Namespace, l.Name, l.Type)
			}
		})
	e.metrics.GaugeFunc("approximate_backlog_age_seconds", "Age of the oldest backlog task of loaded task queues.", labels,
		func(emit func(float64, ...string)) {
			for l, s := range e.backlogByLabels() {
				emit(s.age.Seconds(), metrics.ServiceMatching, l.Namespace, l.Name, l.Type)
			}
		})
}

type backlogSummary struct {
	count int64
	age   time.Duration
}

// backlogByLabels sums the loaded queues' backlogs by metric labels.
func (e *Engine) backlogByLabels() map[metrics.TaskQueue]backlogSummary {
	e.mu.Lock()
	qs := make([]*taskQueue, 0, len(e.queues))
	for _, q := range e.queues {
		if q.loaded.Load() {
			qs = append(qs, q)
		}
	}
	e.mu.Unlock()
	now := e.clock.Now()
	out := map[metrics.TaskQueue]backlogSummary{}
	for _, q := range qs {
		l := q.metricLabels()
		s := out[l]
		q.mu.Lock()
		s.count += q.count
		for _, p := range q.parts {
			if c, ok := q.headCreatedLocked(p); ok && p.stats.count > 0 {
				s.age = max(s.age, now.Sub(c))
			}
		}
		q.mu.Unlock()
		out[l] = s
	}
	return out
}
