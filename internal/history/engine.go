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
	"github.com/sundialhq/sundial/internal/history/statemachine"
	"github.com/sundialhq/sundial/internal/matching"
	"github.com/sundialhq/sundial/internal/membership"
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
	// Ring assigns shards to the history members of the cluster; the
	// engine serves only the shards it owns on the ring and follows its
	// changes. nil: a cluster of one, every shard is this process's.
	Ring membership.Ring
	// RetryAcquire is how often a shard the ring gives this process, but
	// that it could not acquire or lost to another owner, is tried again
	// (default 5 s).
	RetryAcquire time.Duration
	// HandOffDelay is how long the engine waits, once a changing ring
	// gives it shards, before acquiring them: their previous owner sees the
	// same change within one heartbeat and stops them first, so its last
	// calls finish instead of failing on the fence (which still covers a
	// slower one). With a delay and a changing ring, Start acquires
	// nothing itself: the ring follower does, after the delay. 0: at once.
	HandOffDelay time.Duration
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
	// stopRing ends the goroutine following the ring; ringDone is closed
	// when it has.
	stopRing chan struct{}
	ringDone chan struct{}
	resync   chan struct{} // capacity 1: reconcile now (Resync)
	dlqSize  atomic.Int64  // tasks in the DLQ, for task_dlq_size
	xs       crossShard    // reaches workflows of other shards
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
	if opts.RetryAcquire <= 0 {
		opts.RetryAcquire = 5 * time.Second
	}
	e.opts.RetryAcquire = opts.RetryAcquire
	for i := range opts.NumShards {
		sh := &shard{id: i, e: e, lost: true}
		e.shards = append(e.shards, sh)
	}
	return e, nil
}

// Start acquires the shards this process owns (all of them without a
// Ring) and starts their outbox queues, which first run the tasks left in
// the store by earlier owners; with a Ring it then follows the ring's
// changes (see followRing).
func (e *Engine) Start(ctx context.Context) error {
	follow := e.opts.Ring != nil && e.opts.Ring.Changed(membership.RoleHistory) != nil
	var owned []*shard
	for _, sh := range e.shards {
		if e.owns(sh.id) && (!follow || e.opts.HandOffDelay <= 0) {
			owned = append(owned, sh)
		}
	}
	for _, sh := range owned {
		start := time.Now()
		if err := sh.acquire(ctx); err != nil {
			return err
		}
		e.opts.Metrics.ShardAcquired(time.Since(start))
		e.opts.Metrics.ShardItemCreated()
		sh.q.Store(sh.newQueues())
	}
	e.opts.Metrics.AddShards(len(owned))
	n, err := e.opts.Store.CountDLQ(ctx)
	if err != nil {
		return fmt.Errorf("count dead-lettered outbox tasks: %w", err)
	}
	e.dlqSize.Store(n)
	e.opts.Logger.Info("history shards acquired", "count", len(owned), "of", len(e.shards))
	for _, sh := range owned {
		sq := sh.q.Load()
		if err := sq.transfer.Start(ctx); err != nil {
			return fmt.Errorf("recover transfer tasks of shard %d: %w", sh.id, err)
		}
		if err := sq.timer.Start(ctx); err != nil {
			return fmt.Errorf("recover timer tasks of shard %d: %w", sh.id, err)
		}
	}
	if follow {
		e.stopRing, e.ringDone = make(chan struct{}), make(chan struct{})
		e.resync = make(chan struct{}, 1)
		go e.followRing()
	}
	return nil
}

// owns reports whether the ring gives shard id to this process.
func (e *Engine) owns(id int32) bool {
	if e.opts.Ring == nil {
		return true
	}
	self, ok := e.opts.Ring.Self(membership.RoleHistory)
	if !ok {
		return false
	}
	m, err := e.opts.Ring.Lookup(membership.RoleHistory, membership.ShardKey(id))
	return err == nil && m.Identity == self.Identity
}

// followRing moves shards as the ring changes: first it releases the
// shards the ring gave to another member (their in-flight writes finish,
// later ones fail), then it acquires the ones it gained (range_id + 1
// fences off a previous owner that has not noticed yet). A shard this
// process should own but could not acquire, or lost to another owner
// whose view of the ring was behind, is tried again every RetryAcquire.
func (e *Engine) followRing() {
	defer close(e.ringDone)
	retry := time.NewTicker(e.opts.RetryAcquire)
	defer retry.Stop()
	for {
		changed := e.opts.Ring.Changed(membership.RoleHistory)
		e.reconcile()
		select {
		case <-e.stopRing:
			return
		case <-changed:
		case <-retry.C:
		case <-e.resync:
		}
	}
}

// Resync gives up every shard and takes the ring's share again with fresh
// ranges (after the hand-off delay): for a process whose membership lease
// lapsed (membership.MonitorOptions.OnLapse), whose shards were likely
// taken meanwhile. Without it, each stale shard would be noticed only at
// its next fenced write.
func (e *Engine) Resync() {
	if e.resync == nil {
		return
	}
	n := 0
	for _, sh := range e.shards {
		if sh.release() {
			n++
			e.opts.Metrics.AddShards(-1)
			e.opts.Metrics.ShardItemRemoved()
		}
	}
	e.opts.Logger.Warn("history shards released after a membership lapse; taking the ring's share again", "count", n)
	select {
	case e.resync <- struct{}{}:
	default:
	}
}

// reconcile makes the served shards match the ring.
func (e *Engine) reconcile() {
	var gain []*shard
	released := 0
	for _, sh := range e.shards {
		switch own := e.owns(sh.id); {
		case !own && sh.release():
			released++
			e.opts.Metrics.AddShards(-1)
			e.opts.Metrics.ShardItemRemoved()
		case own && !sh.serving():
			gain = append(gain, sh)
		}
	}
	if released > 0 {
		e.opts.Logger.Info("history shards released to other members", "count", released)
	}
	if len(gain) > 0 && e.opts.HandOffDelay > 0 {
		t := time.NewTimer(e.opts.HandOffDelay)
		select {
		case <-e.stopRing:
			t.Stop()
			return
		case <-t.C:
		}
	}
	acquired := 0
	for _, sh := range gain {
		select {
		case <-e.stopRing:
			return
		default:
		}
		if !e.owns(sh.id) { // the ring moved on during the delay
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
		start := time.Now()
		err := sh.acquireAndStart(ctx)
		cancel()
		if err != nil {
			e.opts.Logger.Warn("acquiring a shard the ring gave this process", "shard", sh.id, "error", err)
			continue
		}
		acquired++
		e.opts.Metrics.ShardAcquired(time.Since(start))
		e.opts.Metrics.ShardItemCreated()
		e.opts.Metrics.AddShards(1)
	}
	if acquired > 0 {
		e.opts.Logger.Info("history shards acquired from the ring", "count", acquired)
	}
}

// OwnedShards lists the shards this process serves, in order.
func (e *Engine) OwnedShards() []int32 {
	var out []int32
	for _, sh := range e.shards {
		if sh.serving() {
			out = append(out, sh.id)
		}
	}
	return out
}

// ReleaseShards stops serving every shard (a graceful leave): in-flight
// writes finish, later calls fail with ownership lost (retryable), and
// the outbox queues stop. The ring stops being followed.
func (e *Engine) ReleaseShards() {
	e.stopFollowing()
	n := 0
	for _, sh := range e.shards {
		if sh.release() {
			n++
			e.opts.Metrics.AddShards(-1)
			e.opts.Metrics.ShardItemRemoved()
		}
	}
	e.opts.Logger.Info("history shards released for leaving", "count", n)
}

func (e *Engine) stopFollowing() {
	if e.stopRing == nil {
		return
	}
	select {
	case <-e.stopRing:
	default:
		close(e.stopRing)
	}
	<-e.ringDone
}

// Stop refuses new calls, waits for in-flight ones (their writes finish),
// then stops the queues. Long polls on history are released.
func (e *Engine) Stop() {
	if e.stopped.Swap(true) {
		return
	}
	e.stopFollowing()
	e.watch.closeAll()
	e.ops.drain()
	for _, sh := range e.shards {
		if sq := sh.q.Load(); sq != nil {
			sq.transfer.Stop()
			sq.timer.Stop()
		}
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
