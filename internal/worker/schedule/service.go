package schedule

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundialhq/sundial/internal/clock"
	"github.com/sundialhq/sundial/internal/config"
	"github.com/sundialhq/sundial/internal/persistence"
)

// Workflows is how the scheduler acts: the WorkflowService calls it makes,
// with the namespace given by name in each request. Errors are
// go.temporal.io/api serviceerrors (the scheduler tells
// WorkflowExecutionAlreadyStarted and NotFound apart from trouble).
type Workflows interface {
	StartWorkflowExecution(ctx context.Context, req *workflowservice.StartWorkflowExecutionRequest) (*workflowservice.StartWorkflowExecutionResponse, error)
	DescribeWorkflowExecution(ctx context.Context, req *workflowservice.DescribeWorkflowExecutionRequest) (*workflowservice.DescribeWorkflowExecutionResponse, error)
	// GetWorkflowExecutionHistory is asked for a closed run's close event
	// (its result or failure).
	GetWorkflowExecutionHistory(ctx context.Context, req *workflowservice.GetWorkflowExecutionHistoryRequest) (*workflowservice.GetWorkflowExecutionHistoryResponse, error)
	TerminateWorkflowExecution(ctx context.Context, req *workflowservice.TerminateWorkflowExecutionRequest) (*workflowservice.TerminateWorkflowExecutionResponse, error)
	RequestCancelWorkflowExecution(ctx context.Context, req *workflowservice.RequestCancelWorkflowExecutionRequest) (*workflowservice.RequestCancelWorkflowExecutionResponse, error)
}

// Errors of the API operations; the frontend maps them to gRPC codes.
var (
	// ErrNotFound: no such schedule (NotFound).
	ErrNotFound = errors.New("schedule not found")
	// ErrAlreadyExists: the schedule ID is taken (AlreadyExists, as
	// WorkflowExecutionAlreadyStarted: the SDKs look for that type).
	ErrAlreadyExists = errors.New("schedule with this ID is already registered")
	// ErrConflict: the request's conflict token is stale (FailedPrecondition).
	ErrConflict = errors.New("mismatched conflict token")
)

// Dynamic-config keys the scheduler reads.
const (
	// KeyLeaseDuration is how long a process's lease on a due schedule
	// lasts (the key batch jobs use too): a schedule whose process died
	// is taken over when it expires. Its actions are taken within the
	// first three quarters of it.
	KeyLeaseDuration     = "worker.jobLeaseDuration"
	defaultLeaseDuration = 30 * time.Second
	// KeyPollInterval bounds the loop's sleep: a schedule created or
	// changed through another process is seen within it.
	KeyPollInterval     = "worker.schedulePollInterval"
	defaultPollInterval = 2 * time.Second
	// KeyIdleTime is how long a schedule that can take no more actions
	// (not paused, no remaining actions or no future times) is kept after
	// its last action or change before it is deleted (as the reference).
	KeyIdleTime     = "worker.scheduleIdleTime"
	defaultIdleTime = 7 * 24 * time.Hour
)

// Options configures a Service. Store is required; Workflows must be set
// (SetWorkflows) before Start.
type Options struct {
	Store   persistence.ScheduleStore
	Clock   clock.Clock
	Logger  *slog.Logger
	Dynamic *config.Dynamic // nil: defaults
	// Owner names this process in schedule leases; unique per process
	// (default: a random ID).
	Owner string
	// BatchSize bounds the due schedules read per query (default 100).
	BatchSize int
	// Parallel bounds the schedules processed at once (default 8).
	Parallel int
	// Recheck is how often a schedule with a start waiting on running
	// workflows (buffer, cancel-other) or with pause-on-failure and
	// running workflows looks at them again (default 1 s).
	Recheck time.Duration
}

// Service runs schedules: the API operations and the loop that takes due
// actions. One loop per process; several processes share the work: each
// due schedule is processed by the one process that leased it
// (ClaimSchedule), whose writes are conditioned on the lease, and every
// start dedups on its request ID besides.
type Service struct {
	opts Options
	wf   Workflows
	log  *slog.Logger

	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
	started atomic.Bool
}

// New returns a Service that is not running yet.
func New(opts Options) (*Service, error) {
	if opts.Store == nil {
		return nil, errors.New("schedule: Options.Store is required")
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 100
	}
	if opts.Parallel <= 0 {
		opts.Parallel = 8
	}
	if opts.Recheck <= 0 {
		opts.Recheck = time.Second
	}
	if opts.Owner == "" {
		opts.Owner = uuid.NewString()
	}
	return &Service{opts: opts, log: opts.Logger, wake: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}, nil
}

// SetWorkflows sets how actions are taken; call it before Start (the
// frontend that implements it is built after the Service).
func (s *Service) SetWorkflows(wf Workflows) { s.wf = wf }

// Start runs the loop until Stop. SetWorkflows must have been called.
func (s *Service) Start() {
	if s.wf == nil {
		panic("schedule: Start before SetWorkflows")
	}
	s.started.Store(true)
	go s.loop()
}

// Stop ends the loop and waits for it; safe to call more than once, and
// without Start.
func (s *Service) Stop() {
	s.once.Do(func() { close(s.stop) })
	if s.started.Load() {
		<-s.done
	}
}

// notify wakes the loop: a schedule became due earlier than it slept for.
func (s *Service) notify() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Service) loop() {
	defer close(s.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-s.stop
		cancel()
	}()
	for ctx.Err() == nil {
		full, failed := s.pass(ctx)
		if full && !failed {
			continue
		}
		s.idle(ctx, failed)
	}
}

// idle waits until a schedule is due or a wake-up comes: it sleeps until
// the earliest next run time, at most the poll interval (a schedule
// another process created or changed is seen within it), looking at the
// earliest time again after each poll (one indexed read: an idle poll
// writes nothing). After a failed pass it waits Recheck first.
func (s *Service) idle(ctx context.Context, failed bool) {
	for ctx.Err() == nil {
		wait := s.pollInterval()
		if failed {
			wait, failed = s.opts.Recheck, false
		} else if next, ok, err := s.opts.Store.NextScheduleRunTime(ctx); err != nil {
			wait = s.opts.Recheck
		} else if ok {
			if !next.After(s.opts.Clock.Now()) {
				return
			}
			wait = min(wait, next.Sub(s.opts.Clock.Now()))
		}
		if s.sleep(ctx, wait) {
			return
		}
	}
}

// sleep waits d, or until a wake-up (it then reports true) or ctx ends.
func (s *Service) sleep(ctx context.Context, d time.Duration) (woken bool) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-s.wake:
		return true
	case <-t.C:
	}
	return false
}

func (s *Service) pollInterval() time.Duration {
	return max(s.opts.Dynamic.Duration(KeyPollInterval, defaultPollInterval), 100*time.Millisecond)
}

func (s *Service) leaseDuration() time.Duration {
	return max(s.opts.Dynamic.Duration(KeyLeaseDuration, defaultLeaseDuration), time.Second)
}

func (s *Service) idleTime() time.Duration {
	return max(s.opts.Dynamic.Duration(KeyIdleTime, defaultIdleTime), 0)
}

// pass processes one batch of due schedules, each under a lease. full
// reports that the batch was full (more may be due); failed that some
// schedule could not be processed (the loop then waits Recheck instead of
// spinning on it).
func (s *Service) pass(ctx context.Context) (full, failed bool) {
	now := s.opts.Clock.Now()
	lease := s.leaseDuration()
	due, err := s.opts.Store.ClaimDueSchedules(ctx, s.opts.Owner, now, now.Add(lease), s.opts.BatchSize)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("schedule: claiming due schedules", "error", err)
		}
		return false, true
	}
	// Actions are taken in the first three quarters of the lease, so the
	// state is written before another process may take a schedule over
	// (the write is fenced by the lease anyway).
	actBefore := now.Add(lease * 3 / 4)
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, s.opts.Parallel)
	for _, rec := range due {
		sem <- struct{}{}
		wg.Add(1)
		go func(rec *persistence.ScheduleRecord) {
			defer func() { <-sem; wg.Done() }()
			if err := s.processWithRetry(ctx, rec, actBefore); err != nil {
				if ctx.Err() == nil {
					s.log.Warn("schedule: processing", "namespace_id", rec.NamespaceID, "schedule_id", rec.ScheduleID, "error", err)
				}
				mu.Lock()
				failed = true
				mu.Unlock()
			}
		}(rec)
	}
	wg.Wait()
	return len(due) == s.opts.BatchSize, failed
}
