package history

import (
	"context"
	"time"

	"github.com/sundialhq/sundial/internal/history/queues"
	sm "github.com/sundialhq/sundial/internal/history/statemachine"
	"github.com/sundialhq/sundial/internal/metrics"
	"github.com/sundialhq/sundial/internal/persistence"
)

// Metrics of the history role (Options.Metrics; nil records nothing).
// Latencies are measured with the wall clock on purpose: they describe
// the process, not workflow time.

// taskOperations names outbox task types as the reference server's
// task_requests/task_latency operation label does.
var taskOperations = map[sm.TaskType]string{
	sm.TaskDispatchWorkflowTask: "TransferActiveTaskWorkflowTask",
	sm.TaskDispatchActivity:     "TransferActiveTaskActivity",
	sm.TaskStartChild:           "TransferActiveTaskStartChildExecution",
	sm.TaskNotifyParent:         "TransferActiveTaskCloseExecution",
	sm.TaskParentClosePolicy:    "TransferActiveTaskParentClosePolicy",
	sm.TaskSignalExternal:       "TransferActiveTaskSignalExecution",
	sm.TaskCancelExternal:       "TransferActiveTaskCancelExecution",
	sm.TaskVisibility:           "VisibilityTaskUpsertExecution",
	sm.TaskUserTimer:            "TimerActiveTaskUserTimer",
	sm.TaskActivityTimeout:      "TimerActiveTaskActivityTimeout",
	sm.TaskActivityRetry:        "TimerActiveTaskActivityRetryTimer",
	sm.TaskWorkflowTaskTimeout:  "TimerActiveTaskWorkflowTaskTimeout",
	sm.TaskStickyTimeout:        "TimerActiveTaskWorkflowTaskTimeout",
	sm.TaskWorkflowRunTimeout:   "TimerActiveTaskWorkflowTimeout",
	sm.TaskWorkflowBackoff:      "TimerActiveTaskWorkflowBackoffTimer",
	sm.TaskWorkflowTaskBackoff:  "TimerActiveTaskWorkflowTaskBackoffTimer",
	sm.TaskDeleteRun:            "TimerActiveTaskDeleteHistoryEvent",
}

// outboxExecutor runs one decoded outbox task (see queues.Executor).
type outboxExecutor func(ctx context.Context, ot outboxTask, key persistence.WorkflowKey) error

// executor decodes each outbox row once and runs exec on it, recording
// task_requests, task_errors and task_latency when metrics are on. A task
// whose run or target is gone or closed is done (settled); an undecodable
// row goes to the DLQ at once (queues.Permanent).
func (e *Engine) executor(exec outboxExecutor) queues.Executor {
	m := e.opts.Metrics
	return func(ctx context.Context, row persistence.OutboxTask) error {
		ot, key, err := decodeOutbox(row)
		if err != nil {
			return queues.Permanent(err)
		}
		if m == nil {
			return settled(exec(ctx, ot, key))
		}
		start := time.Now()
		err = settled(exec(ctx, ot, key))
		op, ok := taskOperations[ot.Task.Type]
		if !ok {
			op = "UnknownTask"
		}
		m.Task(op, e.metricNamespace(ot.NamespaceID), time.Since(start), err)
		return err
	}
}

// metricNamespace is the namespace's name for metric labels (its ID when
// it cannot be resolved).
func (e *Engine) metricNamespace(id string) string {
	if name := e.namespaceName(context.Background(), id); name != "" {
		return name
	}
	return id
}

// recordTransition records a written transition of st: its transition
// count and, when it closed the run, the workflow_* outcome counter.
func (e *Engine) recordTransition(st *sm.State, closed bool) {
	m := e.opts.Metrics
	if m == nil || st == nil {
		return
	}
	m.StateTransition(st.StateTransitions)
	if closed {
		m.WorkflowClosed(e.metricNamespace(st.Execution.NamespaceID), st.Execution.Status)
	}
}

// rlockShard takes sh.mu shared, recording the wait as lock_latency.
func (sh *shard) rlockShard() {
	start := time.Now()
	sh.mu.RLock()
	sh.e.opts.Metrics.LockLatency(metrics.LockShard, time.Since(start))
}

// onDeadLetter counts a task moved to the DLQ (dlq_writes, task_dlq_size).
func (e *Engine) onDeadLetter(row persistence.OutboxTask, _ int, _ error) {
	e.dlqSize.Add(1)
	op, ns := "UnknownTask", ""
	if ot, _, err := decodeOutbox(row); err == nil {
		if name, ok := taskOperations[ot.Task.Type]; ok {
			op = name
		}
		ns = e.metricNamespace(ot.NamespaceID)
	}
	e.opts.Metrics.DLQWrite(op, ns)
}

// registerDLQMetrics exports task_dlq_size: the outbox tasks in the DLQ
// (counted from the store at start, then kept up to date by this process).
func (e *Engine) registerDLQMetrics() {
	e.opts.Metrics.GaugeFunc("task_dlq_size", "Outbox tasks in the dead-letter queue (see `sundial admin dlq`).",
		[]string{metrics.LabelService}, func(emit func(float64, ...string)) {
			emit(float64(e.dlqSize.Load()), metrics.ServiceHistory)
		})
}

// registerCacheMetrics exports cache_size: the bytes of encoded state the
// run cache holds.
func (e *Engine) registerCacheMetrics() {
	c := e.cache
	e.opts.Metrics.GaugeFunc("cache_size", "Bytes the history cache counts against its byte budget.",
		[]string{metrics.LabelService, metrics.LabelCacheType}, func(emit func(float64, ...string)) {
			_, total := c.usage()
			emit(float64(total), metrics.ServiceHistory, metrics.CacheMutableState)
		})
}
