package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	enumspb "go.temporal.io/api/enums/v1"
)

// completionStats is the operation label of the workflow_* counters, as
// the reference server sets it (the dashboards filter on it).
const completionStats = "CompletionStats"

// Lock names for lock_latency's operation label.
const (
	LockShard    = "ShardLock"
	LockWorkflow = "WorkflowLock"
)

// CacheMutableState is the cache_type of history's run cache.
const CacheMutableState = "mutablestate"

var workflowOutcomeNames = map[enumspb.WorkflowExecutionStatus]string{
	enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:        "workflow_success",
	enumspb.WORKFLOW_EXECUTION_STATUS_FAILED:           "workflow_failed",
	enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:        "workflow_timeout",
	enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED:       "workflow_terminate",
	enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:         "workflow_cancel",
	enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW: "workflow_continued_as_new",
}

func (m *Metrics) defineHistory() {
	m.workflowOutcomes = map[string]*prometheus.CounterVec{}
	for _, name := range workflowOutcomeNames {
		m.workflowOutcomes[name] = m.counter(name, "Runs closed with this outcome, by namespace.",
			LabelService, LabelOperation, LabelNamespace)
	}
	m.stateTransitions = m.histogram("state_transition_count",
		"A run's state transition count after each written transition (rate of _count: transitions per second).",
		countBuckets, LabelService)
	m.lockLatency = m.histogram("lock_latency", "Time to take a shard or workflow lock, in seconds.",
		latencyBuckets, LabelService, LabelOperation)
	m.acquireShards = m.counter("acquire_shards_count", "History shards acquired.", LabelService)
	m.acquireShardsLatency = m.histogram("acquire_shards_latency", "Time to acquire a shard, in seconds.",
		latencyBuckets, LabelService)
	m.numShards = m.gauge("numshards_gauge", "History shards owned by this process.", LabelService)
	m.shardClosed = m.counter("shard_closed_count", "History shards lost to another owner.", LabelService)
	m.shardItemCreated = m.counter("sharditem_created_count", "History shards this process started serving.", LabelService)
	m.shardItemRemoved = m.counter("sharditem_removed_count",
		"History shards this process stopped serving (moved to another member, or lost).", LabelService)
	m.membershipChanged = m.counter("membership_changed_count",
		"Changes of a role's live members as this process sees them; service is the role.", LabelService)
	taskLabels := []string{LabelService, LabelOperation, LabelNamespace}
	m.taskRequests = m.counter("task_requests", "Outbox (transfer/timer/visibility) tasks run, by task type.", taskLabels...)
	m.taskErrors = m.counter("task_errors", "Outbox task runs that failed and will be retried.", taskLabels...)
	m.dlqWrites = m.counter("dlq_writes", "Outbox tasks moved to the dead-letter queue after failing their retry budget"+
		" (see `sundial admin dlq`), by task type.", taskLabels...)
	m.taskLatency = m.histogram("task_latency", "Outbox task run time in seconds.", latencyBuckets, taskLabels...)
	m.cacheRequests = m.counter("cache_requests", "Cache look-ups.", LabelService, LabelCacheType)
	m.cacheMiss = m.counter("cache_miss", "Cache look-ups that had to load from the store.", LabelService, LabelCacheType)
}

// WorkflowClosed counts a run closed with status in namespace (by name):
// workflow_success, _failed, _timeout, _terminate, _cancel or
// _continued_as_new.
func (m *Metrics) WorkflowClosed(namespace string, status enumspb.WorkflowExecutionStatus) {
	if m == nil {
		return
	}
	if c := m.workflowOutcomes[workflowOutcomeNames[status]]; c != nil {
		c.WithLabelValues(ServiceHistory, completionStats, namespace).Inc()
	}
}

// StateTransition observes a run's state transition count after a write.
func (m *Metrics) StateTransition(count int64) {
	if m == nil {
		return
	}
	m.stateTransitions.WithLabelValues(ServiceHistory).Observe(float64(count))
}

// LockLatency observes the wait for lock (LockShard or LockWorkflow).
func (m *Metrics) LockLatency(lock string, d time.Duration) {
	if m == nil {
		return
	}
	m.lockLatency.WithLabelValues(ServiceHistory, lock).Observe(seconds(d))
}

// ShardAcquired counts one shard acquisition that took d.
func (m *Metrics) ShardAcquired(d time.Duration) {
	if m == nil {
		return
	}
	m.acquireShards.WithLabelValues(ServiceHistory).Inc()
	m.acquireShardsLatency.WithLabelValues(ServiceHistory).Observe(seconds(d))
}

// AddShards moves numshards_gauge by delta.
func (m *Metrics) AddShards(delta int) {
	if m == nil {
		return
	}
	m.numShards.WithLabelValues(ServiceHistory).Add(float64(delta))
}

// ShardClosed counts a shard lost to another owner.
func (m *Metrics) ShardClosed() {
	if m == nil {
		return
	}
	m.shardClosed.WithLabelValues(ServiceHistory).Inc()
}

// Task records one run of an outbox task; operation is its type
// ("TransferActiveTaskActivity", "TimerActiveTaskUserTimer", ...).
func (m *Metrics) Task(operation, namespace string, d time.Duration, err error) {
	if m == nil {
		return
	}
	m.taskRequests.WithLabelValues(ServiceHistory, operation, namespace).Inc()
	m.taskLatency.WithLabelValues(ServiceHistory, operation, namespace).Observe(seconds(d))
	if err != nil {
		m.taskErrors.WithLabelValues(ServiceHistory, operation, namespace).Inc()
	}
}

// DLQWrite counts an outbox task of type operation moved to the DLQ.
func (m *Metrics) DLQWrite(operation, namespace string) {
	if m == nil {
		return
	}
	m.dlqWrites.WithLabelValues(ServiceHistory, operation, namespace).Inc()
}

// CacheLookup counts a cache look-up, and a miss when miss is set.
func (m *Metrics) CacheLookup(cacheType string, miss bool) {
	if m == nil {
		return
	}
	m.cacheRequests.WithLabelValues(ServiceHistory, cacheType).Inc()
	if miss {
		m.cacheMiss.WithLabelValues(ServiceHistory, cacheType).Inc()
	}
}

// ShardItemCreated counts a shard this process started serving
// (sharditem_created_count).
func (m *Metrics) ShardItemCreated() {
	if m == nil {
		return
	}
	m.shardItemCreated.WithLabelValues(ServiceHistory).Inc()
}

// ShardItemRemoved counts a shard this process stopped serving: released
// to another member, or lost to another owner (sharditem_removed_count).
func (m *Metrics) ShardItemRemoved() {
	if m == nil {
		return
	}
	m.shardItemRemoved.WithLabelValues(ServiceHistory).Inc()
}

// MembershipChanged counts a change of the live members of role as this
// process sees them (membership_changed_count, service label = role).
func (m *Metrics) MembershipChanged(role string) {
	if m == nil {
		return
	}
	m.membershipChanged.WithLabelValues(role).Inc()
}
