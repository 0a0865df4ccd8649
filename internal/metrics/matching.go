package metrics

import "time"

// TaskQueue labels matching's metrics: the namespace name, the task queue
// name (StickyTaskQueue for every sticky queue, to bound cardinality) and
// TaskTypeWorkflow or TaskTypeActivity.
type TaskQueue struct {
	Namespace string
	Name      string
	Type      string
}

// Values of the task_type and taskqueue labels.
const (
	TaskTypeWorkflow = "Workflow"
	TaskTypeActivity = "Activity"
	StickyTaskQueue  = "__sticky__"
)

func (m *Metrics) defineMatching() {
	m.pollSuccess = m.counter("poll_success", "Polls that returned a task (sync match or backlog).", taskQueueLabels...)
	m.pollSuccessSync = m.counter("poll_success_sync", "Polls that returned a task matched in memory, never written.",
		taskQueueLabels...)
	m.pollTimeouts = m.counter("poll_timeouts", "Polls that returned empty when the long poll ended.", taskQueueLabels...)
	m.syncMatchLatency = m.histogram("syncmatch_latency",
		"Time from a task's arrival to its start by a waiting poller, in seconds.", latencyBuckets, taskQueueLabels...)
	m.asyncMatchLatency = m.histogram("asyncmatch_latency",
		"Time a backlog task waited from its arrival to its start, in seconds.", latencyBuckets, taskQueueLabels...)
	m.scheduleToStart = m.histogram("task_schedule_to_start_latency",
		"Server-side schedule-to-start latency: from a task's arrival in matching to its start by a worker, in seconds.",
		latencyBuckets, taskQueueLabels...)
}

func (tq TaskQueue) values() []string {
	return []string{ServiceMatching, tq.Namespace, tq.Name, tq.Type}
}

// PollSucceeded counts a poll that got a task; sync means the task was
// handed over in memory by its AddTask call. waited is the task's time
// from arrival to start.
func (m *Metrics) PollSucceeded(tq TaskQueue, sync bool, waited time.Duration) {
	if m == nil {
		return
	}
	lv := tq.values()
	m.pollSuccess.WithLabelValues(lv...).Inc()
	m.scheduleToStart.WithLabelValues(lv...).Observe(seconds(waited))
	if sync {
		m.pollSuccessSync.WithLabelValues(lv...).Inc()
		m.syncMatchLatency.WithLabelValues(lv...).Observe(seconds(waited))
	} else {
		m.asyncMatchLatency.WithLabelValues(lv...).Observe(seconds(waited))
	}
}

// PollTimedOut counts a poll that ended empty.
func (m *Metrics) PollTimedOut(tq TaskQueue) {
	if m == nil {
		return
	}
	m.pollTimeouts.WithLabelValues(tq.values()...).Inc()
}
