// Package matching implements the matching role: task queues, their
// partitions, the persisted backlog and the long-poll matcher.
//
// A task queue is (namespace ID, name, kind workflow|activity). A normal
// queue has N partitions (dynamic config matching.numTaskqueueWritePartitions,
// read when the queue is loaded); a worker's sticky queue has one. A
// partition is the unit of storage and ownership: its row is leased with its
// own range_id (persistence.TaskQueueStore.LeaseTaskQueue), every backlog
// write is fenced by it, and task IDs are rangeID<<20 + seq, so they rise
// across owners; the partition re-leases when its 2^20 IDs are used up.
//
// In a cluster of one every partition of a queue is local: an add picks a
// partition round robin, a poll is served from any partition's backlog
// (rotating the starting partition), and a waiting poller can be matched by
// a task added to any partition. With a membership ring (Options.Ring, see
// ring.go) the engine leases, writes and reads only the partitions the ring
// gives it (each placed by its own key, so a queue spreads over hosts), and
// drops the others when the ring moves them. A process holding child
// partitions of a queue but not its root forwards polls and tasks to the
// root's owner (Options.Forwarder, forward.go).
//
// Matching is sync first: a task added while a poller waits goes straight to
// that poller and is never written. Otherwise it is written to its
// partition's backlog (group-committed, fenced) before AddTask returns, and
// dispatched later in task-ID order per partition. Queues are loaded lazily
// on first use; a bounded in-memory buffer per partition is refilled from
// the store in batches, so a backlog written before a crash is served after
// a restart.
//
// Queries (query.go) are workflow tasks that are never written: they wait
// in memory for a poller, ahead of the backlog, and their answer comes back
// through RespondQueryTaskCompleted. Sticky queues (sticky.go) reject work
// once their worker shut down or stopped polling, so history falls back to
// the normal queue, and are unloaded when idle.
package matching

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundialhq/sundial/internal/clock"
	"github.com/sundialhq/sundial/internal/config"
	"github.com/sundialhq/sundial/internal/membership"
	"github.com/sundialhq/sundial/internal/metrics"
	"github.com/sundialhq/sundial/internal/persistence"
)

// Dynamic-config keys read by matching (Temporal's names).
const (
	KeyNumWritePartitions         = "matching.numTaskqueueWritePartitions"
	KeyLongPollExpirationInterval = "matching.longPollExpirationInterval"
	// KeyQueryPollerTimeout bounds how long DispatchQuery waits for a poller
	// to take a query task (Sundial's own key), see DispatchQuery.
	KeyQueryPollerTimeout = "matching.queryPollerTimeout"
	// KeyStickyPollerUnavailableWindow: a sticky queue with no poller for
	// this long rejects sticky adds and queries with
	// ErrStickyWorkerUnavailable.
	KeyStickyPollerUnavailableWindow = "matching.stickyPollerUnavailableWindow"
	// KeyStickyShutdownTTL: how long a sticky queue stays gone after
	// ShutdownSticky (Sundial's own key).
	KeyStickyShutdownTTL = "matching.stickyShutdownTTL"
	// KeyMaxTaskQueueIdleTime: a sticky queue unused, unpolled and empty
	// for this long is unloaded from memory.
	KeyMaxTaskQueueIdleTime = "matching.maxTaskqueueIdleTime"
)

const (
	defaultNumPartitions = 4
	defaultLongPoll      = 60 * time.Second
	// maxPartitions bounds a misconfigured partition count.
	maxPartitions = 64
	// storeTimeout bounds store calls made on a detached context (backlog
	// writes, deletes, loads, counts).
	storeTimeout = 10 * time.Second
	// recordStartedTimeout bounds one RecordStarted call to history.
	recordStartedTimeout = 10 * time.Second

	defaultQueryPollerTimeout   = 10 * time.Second
	defaultStickyUnavailable    = 10 * time.Second
	defaultStickyShutdownTTL    = 5 * time.Minute
	defaultMaxTaskQueueIdleTime = 5 * time.Minute
	minSweepInterval            = 10 * time.Millisecond
	maxSweepInterval            = time.Minute
	maxGoneSticky               = 100_000
)

// Task-queue kinds (persistence.TaskQueueKind mirrors enumspb.TaskQueueType).
const (
	kindWorkflow persistence.TaskQueueKind = 1
	kindActivity persistence.TaskQueueKind = 2
)

var (
	// ErrInvalidRequest means a request lacks a namespace ID or task queue
	// name. The frontend validates first; this guards direct callers.
	ErrInvalidRequest = errors.New("matching: namespace ID and task queue name are required")
	// ErrBusy means a partition already has too many backlog writes queued;
	// nothing was written and the caller should retry later.
	ErrBusy = errors.New("matching: too many pending backlog writes")
	// ErrTooManyPollers means a task queue already has the maximum number of
	// waiting pollers.
	ErrTooManyPollers = errors.New("matching: too many pollers waiting on the task queue")
	// ErrNoHistoryClient means SetHistoryClient was not called before the
	// first poll (a wiring bug).
	ErrNoHistoryClient = errors.New("matching: history client not set")
)

// Options configures an Engine. Store is required; the rest default.
type Options struct {
	Store   persistence.TaskQueueStore
	Dynamic *config.Dynamic
	Clock   clock.Clock
	Logger  *slog.Logger
	// Metrics receives poll, match and backlog metrics; nil records
	// nothing.
	Metrics *metrics.Metrics
	// NamespaceName names a namespace ID for metric labels; nil (or "")
	// labels with the ID.
	NamespaceName func(namespaceID string) string
	// Ring assigns task-queue partitions to the matching members of the
	// cluster (membership.PartitionKey, each partition on its own): the
	// engine leases only the partitions it owns and drops those the ring
	// moves away. nil: a cluster of one, every partition is this
	// process's.
	Ring membership.Ring
	// Forwarder carries polls and tasks of queues whose root partition
	// another process owns to that process (forward.go); nil in a cluster
	// of one, where nothing is forwarded.
	Forwarder Forwarder
}

// withDefaults returns o with nil fields filled.
func (o Options) withDefaults() Options {
	if o.Dynamic == nil {
		o.Dynamic = config.NewDynamic(nil)
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Validate reports whether o (after defaults) can build an Engine.
func (o Options) Validate() error {
	if o.Store == nil {
		return errors.New("matching: Options.Store is required")
	}
	return nil
}

// queueID names a task queue (all of its partitions).
type queueID struct {
	namespaceID string
	name        string
	kind        persistence.TaskQueueKind
}

// Engine is the matching role. All methods are safe for concurrent use.
type Engine struct {
	store persistence.TaskQueueStore
	dyn   *config.Dynamic
	clock clock.Clock
	log   *slog.Logger
	hist  atomic.Pointer[HistoryClient]

	metrics *metrics.Metrics
	nsName  func(namespaceID string) string
	ring    membership.Ring // nil: every partition is ours
	fwd     Forwarder       // nil: nothing is forwarded
	// stopRing ends the goroutine following the ring (nil: none runs).
	stopRing chan struct{}
	ringDone chan struct{}
	ringOnce sync.Once
	resync   chan struct{} // capacity 1: Resync

	stopCh   chan struct{}
	stopOnce sync.Once
	bgCtx    context.Context // cancelled by Stop; for backlog reads
	cancelBg context.CancelFunc
	bgMu     sync.Mutex     // orders wg.Add against Stop
	wg       sync.WaitGroup // backlog-reading goroutines

	started time.Time // engine start: a never-polled sticky queue's "last poll"

	sweepMu    sync.Mutex
	sweepTimer clock.Timer // next idle sweep; guarded by sweepMu

	qmu     sync.Mutex
	queries map[string]*queryTask // outstanding queries by token ID; guarded by qmu

	mu     sync.Mutex
	queues map[queueID]*taskQueue
	// goneSticky: sticky queues shut down by their worker, with the time
	// until which they stay gone (survives unloading the queue).
	goneSticky map[queueID]time.Time
}

// New returns an engine. It panics if opts (after defaults) fail Validate:
// that is a wiring bug. Call SetHistoryClient before the first poll.
func New(opts Options) *Engine {
	opts = opts.withDefaults()
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &Engine{
		store:      opts.Store,
		dyn:        opts.Dynamic,
		clock:      opts.Clock,
		log:        opts.Logger.With("component", "matching"),
		metrics:    opts.Metrics,
		nsName:     opts.NamespaceName,
		ring:       opts.Ring,
		fwd:        opts.Forwarder,
		stopCh:     make(chan struct{}),
		bgCtx:      ctx,
		cancelBg:   cancel,
		started:    opts.Clock.Now(),
		queries:    map[string]*queryTask{},
		queues:     map[queueID]*taskQueue{},
		goneSticky: map[queueID]time.Time{},
	}
	e.registerBacklogGauges()
	e.scheduleSweep()
	if e.ring != nil && e.ring.Changed(membership.RoleMatching) != nil {
		e.stopRing, e.ringDone = make(chan struct{}), make(chan struct{})
		e.resync = make(chan struct{}, 1)
		go e.followRing()
	}
	return e
}

// SetHistoryClient sets the client used to mark tasks started. It exists to
// break the history<->matching wiring cycle and must be called before the
// first poll.
func (e *Engine) SetHistoryClient(h HistoryClient) { e.hist.Store(&h) }

func (e *Engine) history() HistoryClient {
	if p := e.hist.Load(); p != nil {
		return *p
	}
	return nil
}

// Stop makes every waiting poller return an empty response at once and
// every later poll return empty at once. Adds keep working (a task then
// always goes to the backlog), so in-flight adds finish normally. Stop
// waits for the engine's background backlog reads to end.
func (e *Engine) Stop() {
	e.stopFollowing()
	e.stopOnce.Do(func() {
		e.bgMu.Lock()
		close(e.stopCh)
		e.bgMu.Unlock()
		e.cancelBg()
		e.sweepMu.Lock()
		if e.sweepTimer != nil {
			e.sweepTimer.Stop()
		}
		e.sweepMu.Unlock()
	})
	e.wg.Wait()
}

// goBackground runs f in a goroutine that Stop waits for, unless the
// engine has stopped (then it reports false and does nothing).
func (e *Engine) goBackground(f func()) bool {
	e.bgMu.Lock()
	defer e.bgMu.Unlock()
	if e.stopped() {
		return false
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		f()
	}()
	return true
}

func (e *Engine) stopped() bool {
	select {
	case <-e.stopCh:
		return true
	default:
		return false
	}
}

// AddWorkflowTask hands a workflow task to a waiting poller or writes it to
// the backlog. A nil return means the task is matching's responsibility: it
// was started, found stale, or its backlog row committed. An error means
// nothing is owed (the caller retries): store errors are returned as is
// (*persistence.TaskQueueLeaseLostError, *persistence.UnavailableError, …),
// or ErrBusy. A sync match waits for the poller's RecordStarted call, so the
// caller must not hold anything RecordWorkflowTaskStarted needs.
//
// With req.Sticky, ErrStickyWorkerUnavailable means the sticky queue's
// worker shut down or has not polled for matching.stickyPollerUnavailableWindow
// (nothing was written): dispatch the task on the normal queue instead.
// Sticky tasks should carry ScheduleToStart: an unclaimed one is dropped once
// expired, and only then may an idle sticky queue be unloaded.
func (e *Engine) AddWorkflowTask(ctx context.Context, req *AddTaskRequest) error {
	return e.addTask(ctx, kindWorkflow, req)
}

// AddActivityTask is AddWorkflowTask for activity tasks.
func (e *Engine) AddActivityTask(ctx context.Context, req *AddTaskRequest) error {
	return e.addTask(ctx, kindActivity, req)
}

func (e *Engine) addTask(ctx context.Context, kind persistence.TaskQueueKind, req *AddTaskRequest) (err error) {
	if req == nil || req.NamespaceID == "" || req.TaskQueue == "" {
		return ErrInvalidRequest
	}
	q := e.acquire(queueID{req.NamespaceID, req.TaskQueue, kind}, req.Sticky)
	defer e.release(q)
	now := e.clock.Now()
	defer func() { e.recordAdd(q, now, err) }()
	if req.Sticky && kind == kindWorkflow {
		if err := e.checkSticky(q); err != nil {
			return err
		}
	}
	t := &task{info: taskInfo{
		WorkflowID:       req.WorkflowID,
		RunID:            req.RunID,
		ScheduledEventID: req.ScheduledEventID,
		CreatedAt:        now.UnixNano(),
	}}
	if req.ScheduleToStart > 0 {
		t.expiresAt = now.Add(req.ScheduleToStart)
	}
	if e.fwd != nil {
		// Loaded first, so that the queue's task forwarders, if any, wait
		// for this task's offer (forward.go).
		if err := q.ensureLoaded(ctx); err != nil {
			return err
		}
	}
	if res, matched := q.offer(ctx, t); matched {
		if res.done {
			q.noteAdd(q.parts[0])
			return nil
		}
		t.notBefore = e.clock.Now().Add(res.backoff)
	}
	if err := q.ensureLoaded(ctx); err != nil {
		return err
	}
	var p *partition
	if e.fwd != nil {
		p = q.routedPartition(req.Partition)
	} else {
		p = q.pickPartition()
	}
	if p == nil {
		return &persistence.TaskQueueLeaseLostError{Key: q.parts[0].key}
	}
	if err := p.persist(ctx, t); err != nil {
		return err
	}
	q.noteAdd(p)
	return nil
}

// PollWorkflowTaskQueue long-polls the queue named by req.TaskQueue (sticky
// when its Kind is STICKY). It returns history's response for the task it
// started, with BacklogCountHint set, or an empty response when the long
// poll interval passes, ctx ends, or the engine stops. Errors: only
// ErrInvalidRequest, ErrTooManyPollers, ErrNoHistoryClient and store errors
// while loading the queue.
func (e *Engine) PollWorkflowTaskQueue(ctx context.Context, namespaceID string, req *workflowservice.PollWorkflowTaskQueueRequest) (*workflowservice.PollWorkflowTaskQueueResponse, error) {
	return e.pollWorkflow(ctx, namespaceID, req, false)
}

// PollWorkflowTaskQueueForwarded is PollWorkflowTaskQueue for a poll a
// child partition's owner forwarded here (Forwarder): it waits here and
// is never forwarded again. A *persistence.TaskQueueLeaseLostError means
// this engine does not hold the queue's root (the forwarder's ring is
// ahead or behind); the forwarding process then serves the poll itself.
func (e *Engine) PollWorkflowTaskQueueForwarded(ctx context.Context, namespaceID string, req *workflowservice.PollWorkflowTaskQueueRequest) (*workflowservice.PollWorkflowTaskQueueResponse, error) {
	return e.pollWorkflow(ctx, namespaceID, req, true)
}

func (e *Engine) pollWorkflow(ctx context.Context, namespaceID string, req *workflowservice.PollWorkflowTaskQueueRequest, forwarded bool) (*workflowservice.PollWorkflowTaskQueueResponse, error) {
	q, base, err := e.pollTarget(namespaceID, kindWorkflow, req.GetTaskQueue().GetName(),
		req.GetTaskQueue().GetKind(), req.GetIdentity(), 0)
	if err != nil {
		return nil, err
	}
	defer e.release(q)
	if forwarded {
		if err := q.holdRoot(ctx); err != nil {
			return nil, err
		}
	}
	h := e.history()
	record := func(ctx context.Context, r *RecordStartedRequest) (*workflowservice.PollWorkflowTaskQueueResponse, error) {
		resp, err := h.RecordWorkflowTaskStarted(ctx, r)
		if err == nil && resp == nil {
			err = errors.New("matching: history returned no workflow task response")
		}
		return resp, err
	}
	var forward func(context.Context) (*workflowservice.PollWorkflowTaskQueueResponse, bool, error)
	if e.fwd != nil && !forwarded {
		forward = func(ctx context.Context) (*workflowservice.PollWorkflowTaskQueueResponse, bool, error) {
			resp, err := e.fwd.ForwardPollWorkflowTask(ctx, namespaceID, req)
			return resp, len(resp.GetTaskToken()) > 0, err
		}
	}
	resp, ok, err := pollQueue(ctx, e, q, base, record, claimQuery, forward)
	if err != nil {
		return nil, err
	}
	if !ok {
		return &workflowservice.PollWorkflowTaskQueueResponse{}, nil
	}
	if resp.Query == nil {
		// A query response is the DispatchQuery caller's message: left as
		// is. A response forwarded from the root has the root's backlog.
		resp.BacklogCountHint += q.backlog()
	}
	return resp, nil
}

// PollActivityTaskQueue is PollWorkflowTaskQueue for activity tasks (the
// activity response has no backlog hint).
func (e *Engine) PollActivityTaskQueue(ctx context.Context, namespaceID string, req *workflowservice.PollActivityTaskQueueRequest) (*workflowservice.PollActivityTaskQueueResponse, error) {
	return e.pollActivity(ctx, namespaceID, req, false)
}

// PollActivityTaskQueueForwarded is PollWorkflowTaskQueueForwarded for
// activity tasks.
func (e *Engine) PollActivityTaskQueueForwarded(ctx context.Context, namespaceID string, req *workflowservice.PollActivityTaskQueueRequest) (*workflowservice.PollActivityTaskQueueResponse, error) {
	return e.pollActivity(ctx, namespaceID, req, true)
}

func (e *Engine) pollActivity(ctx context.Context, namespaceID string, req *workflowservice.PollActivityTaskQueueRequest, forwarded bool) (*workflowservice.PollActivityTaskQueueResponse, error) {
	q, base, err := e.pollTarget(namespaceID, kindActivity, req.GetTaskQueue().GetName(),
		req.GetTaskQueue().GetKind(), req.GetIdentity(), req.GetTaskQueueMetadata().GetMaxTasksPerSecond().GetValue())
	if err != nil {
		return nil, err
	}
	defer e.release(q)
	if forwarded {
		if err := q.holdRoot(ctx); err != nil {
			return nil, err
		}
	}
	h := e.history()
	record := func(ctx context.Context, r *RecordStartedRequest) (*workflowservice.PollActivityTaskQueueResponse, error) {
		resp, err := h.RecordActivityTaskStarted(ctx, r)
		if err == nil && resp == nil {
			err = errors.New("matching: history returned no activity task response")
		}
		return resp, err
	}
	var forward func(context.Context) (*workflowservice.PollActivityTaskQueueResponse, bool, error)
	if e.fwd != nil && !forwarded {
		forward = func(ctx context.Context) (*workflowservice.PollActivityTaskQueueResponse, bool, error) {
			resp, err := e.fwd.ForwardPollActivityTask(ctx, namespaceID, req)
			return resp, len(resp.GetTaskToken()) > 0, err
		}
	}
	resp, ok, err := pollQueue(ctx, e, q, base, record, nil, forward)
	if err != nil {
		return nil, err
	}
	if !ok {
		return &workflowservice.PollActivityTaskQueueResponse{}, nil
	}
	return resp, nil
}

// pollTarget checks a poll and returns its queue, acquired (the caller
// releases it), and the poll's part of RecordStartedRequest.
func (e *Engine) pollTarget(namespaceID string, kind persistence.TaskQueueKind, name string,
	tqKind enumspb.TaskQueueKind, identity string, rps float64) (*taskQueue, RecordStartedRequest, error) {
	if namespaceID == "" || name == "" {
		return nil, RecordStartedRequest{}, ErrInvalidRequest
	}
	if e.history() == nil {
		return nil, RecordStartedRequest{}, ErrNoHistoryClient
	}
	sticky := tqKind == enumspb.TASK_QUEUE_KIND_STICKY
	q := e.acquire(queueID{namespaceID, name, kind}, sticky)
	q.notePoller(identity, rps)
	base := RecordStartedRequest{NamespaceID: namespaceID, Identity: identity, TaskQueue: name}
	return q, base, nil
}

// BacklogCount returns the exact number of backlog tasks of the queue:
// persisted and not yet started, found stale or expired. For a queue this
// engine has loaded it is the in-memory count; otherwise the store's rows
// are counted (without leasing). It returns -1 if the store cannot be read.
func (e *Engine) BacklogCount(namespaceID, name string, kind persistence.TaskQueueKind) int64 {
	e.mu.Lock()
	q := e.queues[queueID{namespaceID, name, kind}]
	e.mu.Unlock()
	if q != nil && q.loaded.Load() {
		return q.backlog()
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	var total int64
	for i := range e.numPartitions(false) {
		key := persistence.TaskQueueKey{NamespaceID: namespaceID, Name: name, Kind: kind, Partition: int32(i)}
		n, err := e.store.CountTasks(ctx, key)
		if errors.Is(err, persistence.ErrNotFound) {
			continue
		}
		if err != nil {
			e.log.Warn("count backlog", "namespace_id", namespaceID, "task_queue", name, "error", err)
			return -1
		}
		total += n
	}
	return total
}

// acquire returns the queue, creating it (unloaded) on first use, and
// keeps it from being unloaded until the matching release. The partition
// count is fixed when the queue is created.
func (e *Engine) acquire(id queueID, sticky bool) *taskQueue {
	e.mu.Lock()
	defer e.mu.Unlock()
	q := e.queues[id]
	if q == nil {
		q = newTaskQueue(e, id, e.numPartitions(sticky))
		q.sticky = sticky
		q.lastPoll = e.started // never polled in this process
		if sticky {
			q.goneUntil = e.goneSticky[id]
		}
		e.queues[id] = q
	}
	q.users++
	return q
}

// release ends a use begun by acquire.
func (e *Engine) release(q *taskQueue) {
	e.mu.Lock()
	defer e.mu.Unlock()
	q.users--
	q.lastUsed = e.clock.Now()
	if q.users < 0 {
		panic("matching: task queue released more often than acquired")
	}
}

// NumPartitions is the number of partitions a normal (sticky) task queue
// has: matching.numTaskqueueWritePartitions (default 4), sticky queues 1.
func (e *Engine) NumPartitions(sticky bool) int { return e.numPartitions(sticky) }

func (e *Engine) numPartitions(sticky bool) int { return NumPartitions(e.dyn, sticky) }

// NumPartitions is the number of partitions of a normal (or sticky) task
// queue under dyn, as every process of the cluster computes it.
func NumPartitions(dyn *config.Dynamic, sticky bool) int {
	if sticky {
		return 1
	}
	n := dyn.Int(KeyNumWritePartitions, defaultNumPartitions)
	return max(1, min(n, maxPartitions))
}

func (e *Engine) longPollInterval() time.Duration {
	d := e.dyn.Duration(KeyLongPollExpirationInterval, defaultLongPoll)
	if d <= 0 {
		return defaultLongPoll
	}
	return d
}
