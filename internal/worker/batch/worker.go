package batch

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/sundialhq/sundial/internal/clock"
	"github.com/sundialhq/sundial/internal/config"
	"github.com/sundialhq/sundial/internal/persistence"
	"github.com/sundialhq/sundial/internal/visibility/query"
)

const (
	// KeyRPS caps a job's actions per second (worker.batcherRPS, as the
	// reference server; a request asking for more or for 0 gets this).
	KeyRPS = "worker.batcherRPS"
	// DefaultRPS is the reference server's default for KeyRPS.
	DefaultRPS = 50

	// maxRunningJobs bounds the jobs one worker runs at once; more wait
	// for a later scan.
	maxRunningJobs = 100
	// pageSize is how many targets a query job reads at a time.
	pageSize = 100
	// saveInterval is how often a job writes its progress (and at each
	// page end, and when it closes).
	saveInterval = 250 * time.Millisecond
	// maxAttempts bounds the tries of one action that keeps failing with a
	// retryable error; then it counts as failed.
	maxAttempts = 5
	// retryBackoff is the wait before the second try; it doubles.
	retryBackoff = 200 * time.Millisecond

	// KeyLeaseDuration is how long a worker process's lease on a job (and
	// on a due schedule) lasts: another process takes a job over at most
	// this long (plus a scan) after its runner's process died.
	KeyLeaseDuration = "worker.jobLeaseDuration"
	// DefaultLeaseDuration is KeyLeaseDuration's default.
	DefaultLeaseDuration = 30 * time.Second
)

// LeaseDuration reads KeyLeaseDuration (at least 1 s).
func LeaseDuration(d *config.Dynamic) time.Duration {
	return max(d.Duration(KeyLeaseDuration, DefaultLeaseDuration), time.Second)
}

// QueryParser parses a namespace's visibility query (the search attribute
// registry).
type QueryParser interface {
	Parse(ctx context.Context, namespaceID, text string) (*query.Query, error)
}

// Options configures a Worker. Store, Visibility and Queries are required.
type Options struct {
	Store      persistence.BatchStore
	Visibility persistence.VisibilityStore
	Queries    QueryParser
	Dynamic    *config.Dynamic // nil: defaults
	Clock      clock.Clock     // nil: the wall clock
	Logger     *slog.Logger
	// ScanInterval is how often the worker looks for running jobs it does
	// not run yet (jobs written by another process, or left by a failed
	// runner); Notify makes it look at once. Default 5 s.
	ScanInterval time.Duration
	// Owner names this process in job leases; unique per process
	// (default: a random ID).
	Owner string
}

// Worker runs the running batch jobs of the store until Stop.
type Worker struct {
	opts   Options
	log    *slog.Logger
	wake   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	client  Client
	running map[jobKey]context.CancelFunc
}

type jobKey struct{ namespaceID, jobID string }

// New returns a Worker that does nothing until Start.
func New(opts Options) (*Worker, error) {
	if opts.Store == nil || opts.Visibility == nil || opts.Queries == nil {
		return nil, errors.New("batch: Store, Visibility and Queries are required")
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.ScanInterval <= 0 {
		opts.ScanInterval = 5 * time.Second
	}
	if opts.Owner == "" {
		opts.Owner = uuid.NewString()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Worker{opts: opts, log: opts.Logger, wake: make(chan struct{}, 1), ctx: ctx, cancel: cancel,
		running: map[jobKey]context.CancelFunc{}}, nil
}

// Start begins running jobs, acting through client. It picks up every job
// left running by an earlier process at once.
func (w *Worker) Start(client Client) {
	w.mu.Lock()
	w.client = client
	w.mu.Unlock()
	w.wg.Add(1)
	go w.loop()
}

// Stop stops every runner and waits for them; jobs stay running in the
// store and go on at the next Start. Idempotent.
func (w *Worker) Stop() {
	w.cancel()
	w.wg.Wait()
}

// Notify makes the worker look at the store now: a job was created or
// stopped. It never blocks.
func (w *Worker) Notify() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *Worker) loop() {
	defer w.wg.Done()
	for {
		w.scan()
		tick := make(chan struct{})
		t := w.opts.Clock.AfterFunc(w.opts.ScanInterval, func() { close(tick) })
		select {
		case <-w.ctx.Done():
			t.Stop()
			return
		case <-w.wake:
		case <-tick:
		}
		t.Stop()
	}
}

// scan starts a runner for each running job that has none and whose lease
// it gets (a job leased to another live process is that one's), and stops
// the runners of jobs no longer running (stopped through the API).
func (w *Worker) scan() {
	jobs, err := w.opts.Store.ListRunningBatchJobs(w.ctx, maxRunningJobs)
	if err != nil {
		if w.ctx.Err() == nil {
			w.log.Warn("batch: listing running jobs", "error", err)
		}
		return
	}
	live := make(map[jobKey]bool, len(jobs))
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, j := range jobs {
		k := jobKey{j.NamespaceID, j.JobID}
		live[k] = true
		if _, ok := w.running[k]; ok || w.ctx.Err() != nil {
			continue
		}
		if !w.claim(j) {
			continue
		}
		ctx, cancel := context.WithCancel(w.ctx)
		w.running[k] = cancel
		w.wg.Add(1)
		go w.run(ctx, k, j)
	}
	for k, cancel := range w.running {
		if !live[k] {
			cancel()
		}
	}
}

// claim takes (or renews) the job's lease for this process; false when
// another process's lease is live or the store fails.
func (w *Worker) claim(j *persistence.BatchJob) bool {
	now := w.opts.Clock.Now()
	if j.LeaseOwner != "" && j.LeaseOwner != w.opts.Owner && j.LeaseExpiry.After(now) {
		return false
	}
	err := w.opts.Store.ClaimBatchJob(w.ctx, j.NamespaceID, j.JobID, w.opts.Owner, now, now.Add(LeaseDuration(w.opts.Dynamic)))
	if err != nil && !errors.Is(err, persistence.ErrConditionFailed) && !errors.Is(err, persistence.ErrNotFound) && w.ctx.Err() == nil {
		w.log.Warn("batch: claiming a job", "namespace_id", j.NamespaceID, "job_id", j.JobID, "error", err)
	}
	return err == nil
}

// holdLease renews the runner's lease every third of its duration until
// ctx ends, and cancels the runner when the lease is lost (another process
// took the job, or it closed) or could not be renewed before it expired:
// a process that cannot prove it holds the lease stops acting.
func (w *Worker) holdLease(ctx context.Context, cancel context.CancelFunc, job *persistence.BatchJob) {
	defer w.wg.Done()
	held := w.opts.Clock.Now().Add(LeaseDuration(w.opts.Dynamic))
	for {
		d := LeaseDuration(w.opts.Dynamic)
		if w.sleep(ctx, d/3) != nil {
			return
		}
		now := w.opts.Clock.Now()
		err := w.opts.Store.ClaimBatchJob(ctx, job.NamespaceID, job.JobID, w.opts.Owner, now, now.Add(d))
		switch {
		case err == nil:
			held = now.Add(d)
		case errors.Is(err, persistence.ErrConditionFailed), errors.Is(err, persistence.ErrNotFound):
			cancel()
			return
		case ctx.Err() != nil:
			return
		default:
			w.log.Warn("batch: renewing a job's lease", "job_id", job.JobID, "error", err)
			if !now.Add(d / 3).Before(held) {
				cancel() // it may expire before the next try
				return
			}
		}
	}
}

// run runs one job until it closes, is stopped, loses its lease, or fails
// on the store (then a later scan starts it again from its saved
// progress).
func (w *Worker) run(ctx context.Context, k jobKey, job *persistence.BatchJob) {
	defer w.wg.Done()
	ctx, cancelLease := context.WithCancel(ctx)
	defer cancelLease()
	w.wg.Add(1)
	go w.holdLease(ctx, cancelLease, job)
	defer func() {
		w.mu.Lock()
		if cancel, ok := w.running[k]; ok {
			cancel()
			delete(w.running, k)
		}
		w.mu.Unlock()
	}()
	w.mu.Lock()
	client := w.client
	w.mu.Unlock()
	r := &runner{w: w, client: client, job: job, prog: job.Progress}
	err := r.run(ctx)
	if w.ctx.Err() != nil && !errors.Is(err, errStopped) {
		w.release(job)
	}
	switch {
	case err == nil, errors.Is(err, errStopped), ctx.Err() != nil:
	default:
		w.log.Warn("batch: job interrupted; it resumes at the next scan", "namespace_id", k.namespaceID, "job_id", k.jobID, "error", err)
	}
}

// release ends this process's lease on a job it stopped running because
// the process is stopping, so another (or a restarted) process takes the
// job over at once instead of at the lease's expiry.
func (w *Worker) release(job *persistence.BatchJob) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	now := w.opts.Clock.Now()
	err := w.opts.Store.ClaimBatchJob(ctx, job.NamespaceID, job.JobID, w.opts.Owner, now, now)
	if err != nil && !errors.Is(err, persistence.ErrConditionFailed) && !errors.Is(err, persistence.ErrNotFound) {
		w.log.Warn("batch: releasing a job's lease", "job_id", job.JobID, "error", err)
	}
}

// rps is the job's action rate: the request's, capped by KeyRPS.
func (w *Worker) rps(requested float32) float64 {
	limit := float64(w.opts.Dynamic.Int(KeyRPS, DefaultRPS))
	if limit <= 0 {
		limit = DefaultRPS
	}
	if requested <= 0 || float64(requested) > limit {
		return limit
	}
	return float64(requested)
}

// sleep waits d on the worker's clock, or until ctx is done.
func (w *Worker) sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	done := make(chan struct{})
	t := w.opts.Clock.AfterFunc(d, func() { close(done) })
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-done:
		return nil
	}
}
