package history

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundialhq/sundial/internal/clock"
	"github.com/sundialhq/sundial/internal/config"
	"github.com/sundialhq/sundial/internal/history/queues"
	"github.com/sundialhq/sundial/internal/history/statemachine"
	"github.com/sundialhq/sundial/internal/matching"
	"github.com/sundialhq/sundial/internal/metrics"
	"github.com/sundialhq/sundial/internal/persistence"
)

// KeyOutboxMaxAttempts is the dynamic-config key of the failed runs after
// which an outbox task moves to the DLQ (default queues.DefaultMaxAttempts).
const KeyOutboxMaxAttempts = "history.outboxMaxAttempts"

// MatchingClient is what history needs from matching.
type MatchingClient interface {
	AddWorkflowTask(ctx context.Context, req *matching.AddTaskRequest) error
	AddActivityTask(ctx context.Context, req *matching.AddTaskRequest) error
	// DispatchQuery hands a query task to a worker and waits for its answer.
	DispatchQuery(ctx context.Context, namespaceID, taskQueue string, sticky bool, task *workflowservice.PollWorkflowTaskQueueResponse) (*matching.QueryResult, error)
}

// Options configures an Engine.
type Options struct {
	Store     persistence.Store
	Matching  MatchingClient
	NumShards int32
	Dynamic   *config.Dynamic
	Clock     clock.Clock
	Logger    *slog.Logger
	// NewRunID makes run IDs (default: random UUIDs).
	NewRunID func() string
	// NamespaceID and NamespaceName resolve namespaces for commands that
	// name another namespace (children, external signals); nil means only
	// the workflow's own namespace can be used.
	NamespaceID   func(ctx context.Context, name string) (string, error)
	NamespaceName func(ctx context.Context, id string) string
	// NamespaceRetention tells how long closed runs of a namespace are
	// kept (nil or 0: one day).
	NamespaceRetention func(namespaceID string) time.Duration
	// Visibility, when set, receives run records for listing.
	Visibility VisibilityWriter
	// CanonicalSearchAttributes validates search attributes against the
	// namespace's registered ones and returns them in the form to store
	// (visibility.Registry.Canonical); bad input is
	// *visibility.InvalidSearchAttributeError. nil accepts all as they are.
	CanonicalSearchAttributes func(ctx context.Context, namespaceID string, sa *commonpb.SearchAttributes) (*commonpb.SearchAttributes, error)
	// Metrics receives the role's metrics (workflow outcomes, locks,
	// shards, outbox tasks, cache); nil records nothing.
	Metrics *metrics.Metrics
}

// Engine is the history role: it owns shards of workflow executions, turns
// API calls and fired timers into state-machine transitions, writes each
// transition in one fenced transaction and runs the resulting outbox tasks.
type Engine struct {
	opts    Options
	shards  []*shard
	cache   *cache
	watch   watchers
	stopped atomic.Bool
	ops     calls
	dlqSize atomic.Int64 // tasks in the DLQ, for task_dlq_size
	xs      crossShard   // reaches workflows of other shards
}

// NewEngine checks opts and returns an engine that is not started yet.
func NewEngine(opts Options) (*Engine, error) {
	if opts.Store == nil || opts.Matching == nil || opts.NumShards <= 0 {
		return nil, errors.New("history: Store, Matching and a positive NumShards are required")
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Dynamic == nil {
		opts.Dynamic = config.NewDynamic(nil)
	}
	if opts.NewRunID == nil {
		opts.NewRunID = newUUID
	}
	e := &Engine{opts: opts, cache: newCache(opts.Dynamic.Int("history.cacheMaxSize", defaultCacheMaxSize),
		int64(opts.Dynamic.Int("history.hostLevelCacheMaxSizeBytes", defaultCacheMaxBytes)))}
	e.watch.m = map[persistence.WorkflowKey]chan struct{}{}
	e.cache.met = opts.Metrics
	e.registerCacheMetrics()
	e.registerDLQMetrics()
	maxAttempts := func() int { return opts.Dynamic.Int(KeyOutboxMaxAttempts, queues.DefaultMaxAttempts) }
	for i := range opts.NumShards {
		sh := &shard{id: i, e: e}
		qopts := queues.Options{ShardID: i, Store: opts.Store, DLQ: opts.Store, Clock: opts.Clock, Logger: opts.Logger,
			MaxAttempts: maxAttempts, OnDeadLetter: e.onDeadLetter}
		qopts.Category, qopts.Execute = persistence.CategoryTransfer, e.executor(e.executeTransfer)
		sh.transfer = queues.New(qopts)
		qopts.Category, qopts.Execute = persistence.CategoryTimer, e.executor(e.executeTimer)
		sh.timer = queues.New(qopts)
		e.shards = append(e.shards, sh)
	}
	return e, nil
}

// Start acquires every shard and starts its outbox queues, which first run
// the tasks left in the store by an earlier process.
func (e *Engine) Start(ctx context.Context) error {
	for _, sh := range e.shards {
		start := time.Now()
		if err := sh.acquire(ctx); err != nil {
			return err
		}
		e.opts.Metrics.ShardAcquired(time.Since(start))
	}
	e.opts.Metrics.AddShards(len(e.shards))
	n, err := e.opts.Store.CountDLQ(ctx)
	if err != nil {
		return fmt.Errorf("count dead-lettered outbox tasks: %w", err)
	}
	e.dlqSize.Store(n)
	e.opts.Logger.Info("history shards acquired", "count", len(e.shards))
	for _, sh := range e.shards {
		if err := sh.transfer.Start(ctx); err != nil {
			return fmt.Errorf("recover transfer tasks of shard %d: %w", sh.id, err)
		}
		if err := sh.timer.Start(ctx); err != nil {
			return fmt.Errorf("recover timer tasks of shard %d: %w", sh.id, err)
		}
	}
	return nil
}

// Stop refuses new calls, waits for in-flight ones (their writes finish),
// then stops the queues. Long polls on history are released.
func (e *Engine) Stop() {
	if e.stopped.Swap(true) {
		return
	}
	e.watch.closeAll()
	e.ops.drain()
	for _, sh := range e.shards {
		sh.transfer.Stop()
		sh.timer.Stop()
	}
}

// begin registers an in-flight call; it fails once Stop has begun. Each
// successful begin is paired with e.ops.Done().
func (e *Engine) begin() error {
	if !e.ops.add() {
		return ErrShuttingDown
	}
	return nil
}

// calls counts in-flight calls so Stop can wait for them. Unlike a
// WaitGroup, adding while a drain waits is allowed (and refused).
type calls struct {
	mu       sync.Mutex
	n        int
	draining bool
	zero     chan struct{}
}

func (c *calls) add() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.draining {
		return false
	}
	c.n++
	return true
}

// Done ends a call registered by add.
func (c *calls) Done() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n--
	if c.n == 0 && c.zero != nil {
		close(c.zero)
		c.zero = nil
	}
}

// drain refuses new calls and waits for the running ones.
func (c *calls) drain() {
	c.mu.Lock()
	c.draining = true
	if c.n == 0 {
		c.mu.Unlock()
		return
	}
	zero := make(chan struct{})
	c.zero = zero
	c.mu.Unlock()
	<-zero
}

func (e *Engine) shardOf(namespaceID, workflowID string) *shard {
	return e.shards[ShardFor(namespaceID, workflowID, e.opts.NumShards)]
}

func (e *Engine) limits() statemachine.Limits {
	d, def := e.opts.Dynamic, statemachine.DefaultLimits
	return statemachine.Limits{
		MaxIDLength:          d.Int("limit.maxIDLength", def.MaxIDLength),
		MaxPendingActivities: d.Int("limit.numPendingActivities.error", def.MaxPendingActivities),
		MaxPendingChildren:   d.Int("limit.numPendingChildExecutions.error", def.MaxPendingChildren),
		MaxPendingSignals:    d.Int("limit.numPendingSignals.error", def.MaxPendingSignals),
		MaxPendingCancels:    d.Int("limit.numPendingCancelRequests.error", def.MaxPendingCancels),
		MaxSignals:           int64(d.Int("history.maximumSignalsPerExecution", int(def.MaxSignals))),
		MaxInFlightUpdates:   d.Int("history.maxInFlightUpdates", def.MaxInFlightUpdates),
		MaxTotalUpdates:      d.Int("history.maxTotalUpdates", def.MaxTotalUpdates),
		MaxBlobSize:          d.Int("limit.blobSize.error", def.MaxBlobSize),
		MaxHistoryEvents:     int64(d.Int("limit.historyCount.error", int(def.MaxHistoryEvents))),
		MaxHistorySize:       int64(d.Int("limit.historySize.error", int(def.MaxHistorySize))),
		SuggestHistoryEvents: int64(d.Int("limit.historyCount.suggestContinueAsNew", int(def.SuggestHistoryEvents))),
		SuggestHistorySize:   int64(d.Int("limit.historySize.suggestContinueAsNew", int(def.SuggestHistorySize))),
	}
}
