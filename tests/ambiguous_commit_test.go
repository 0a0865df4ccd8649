package tests

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/sundialhq/sundial/internal/persistence"
	"github.com/sundialhq/sundial/internal/server"
)

// ambiguousStore lets every write reach the database and then, on a
// seeded schedule, reports it as a timeout whose outcome is unknown: the
// worst case for a client, which must not apply the write twice.
type ambiguousStore struct {
	persistence.Store
	mu       sync.Mutex
	rng      *rand.Rand
	percent  int
	injected atomic.Int64
}

func (s *ambiguousStore) lie() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rng.IntN(100) < s.percent
}

// after returns err, or when err is nil and the schedule says so, an
// injected unknown-outcome error.
func (s *ambiguousStore) after(op string, err error) error {
	if err != nil || !s.lie() {
		return err
	}
	s.injected.Add(1)
	return &persistence.UnavailableError{Err: fmt.Errorf("injected: %s committed but reported a timeout: %w",
		op, persistence.ErrUnknownOutcome)}
}

func (s *ambiguousStore) CreateWorkflow(ctx context.Context, req *persistence.CreateWorkflowRequest) error {
	return s.after("CreateWorkflow", s.Store.CreateWorkflow(ctx, req))
}

func (s *ambiguousStore) UpdateWorkflow(ctx context.Context, req *persistence.UpdateWorkflowRequest) error {
	return s.after("UpdateWorkflow", s.Store.UpdateWorkflow(ctx, req))
}

func (s *ambiguousStore) CreateTasks(ctx context.Context, key persistence.TaskQueueKey, rangeID int64, tasks []persistence.QueueTask) error {
	return s.after("CreateTasks", s.Store.CreateTasks(ctx, key, rangeID, tasks))
}

// testSeed is SUNDIAL_TEST_SEED when set (to replay a failure), else
// random; the test logs it.
func testSeed(t *testing.T) uint64 {
	if v := os.Getenv("SUNDIAL_TEST_SEED"); v != "" {
		seed, err := strconv.ParseUint(v, 10, 64)
		require.NoError(t, err, "SUNDIAL_TEST_SEED")
		return seed
	}
	return rand.Uint64()
}

// newEnvWith is newTestEnv with the server configuration adjusted by
// configure (which may set Store, WrapStore, …).
func newEnvWith(t *testing.T, configure func(*server.Config)) *testEnv {
	t.Helper()
	logs := &lockedBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server and SDK logs:\n%s", logs.String())
		}
	})
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg := server.Config{IP: "127.0.0.1", NumShards: 4, Logger: logger.With("component", "server")}
	cfg.Store, cfg.DBFilename = testBackend(t)
	configure(&cfg)
	s, err := server.New(cfg)
	require.NoError(t, err, "server.New")
	require.NoError(t, s.Start(), "server.Start")
	t.Cleanup(s.Stop)
	c := dialClient(t, s.FrontendAddr(), logger.With("component", "sdk"))
	return &testEnv{addr: s.FrontendAddr(), client: c, logs: logs}
}

// newWrappedEnv is newTestEnv with the store wrapped by wrap.
func newWrappedEnv(t *testing.T, wrap func(persistence.Store) persistence.Store) *testEnv {
	t.Helper()
	return newEnvWith(t, func(cfg *server.Config) { cfg.WrapStore = wrap })
}

// Writes that commit but report a timeout (5% of them, seeded): every
// workflow still completes exactly once with a history free of duplicated
// events, because an unknown outcome makes the shard renew its range
// before its next write and callers retry against the committed state.
func TestAmbiguousCommit(t *testing.T) {
	seed := testSeed(t)
	t.Logf("seed %d (replay with SUNDIAL_TEST_SEED=%d)", seed, seed)
	var fault *ambiguousStore
	env := newEnvWith(t, func(cfg *server.Config) {
		cfg.WrapStore = func(s persistence.Store) persistence.Store {
			fault = &ambiguousStore{Store: s, rng: rand.New(rand.NewPCG(seed, seed)), percent: 5}
			return fault
		}
	})
	ctx := testContext(t, 90*time.Second)
	tq := env.startWorker(t, registerTimerThenActivity)

	const n = 40
	runs := make([]client.WorkflowRun, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			opts := client.StartWorkflowOptions{ID: fmt.Sprintf("%s-wf-%02d", tq, i), TaskQueue: tq}
			runs[i], errs[i] = env.client.ExecuteWorkflow(ctx, opts, "TimerThenActivity", i, 200*time.Millisecond)
			if errs[i] != nil {
				errs[i] = fmt.Errorf("start: %w", errs[i])
			} else {
				_, errs[i] = checkDurableRun(ctx, env.client, runs[i], i)
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			events, herr := history(context.Background(), env.client, runs[i].GetID(), runs[i].GetRunID())
			t.Errorf("workflow %d: %v; history %v (%v)", i, err, eventTypes(events), herr)
		}
	}
	require.False(t, t.Failed())
	t.Logf("%d writes reported an unknown outcome after committing", fault.injected.Load())
	require.Positive(t, fault.injected.Load(), "the schedule injected nothing")
}

// registerTimerThenActivity registers shortTimerThenActivityWorkflow as
// "TimerThenActivity" and doubleActivity as "Double".
func registerTimerThenActivity(r worker.Registry) {
	r.RegisterWorkflowWithOptions(shortTimerThenActivityWorkflow, workflow.RegisterOptions{Name: "TimerThenActivity"})
	r.RegisterActivityWithOptions(doubleActivity, activity.RegisterOptions{Name: "Double"})
}

// shortTimerThenActivityWorkflow is timerThenActivityWorkflow with a 5 s
// start-to-close timeout: an activity whose start committed unseen is
// retried after that timeout, which bounds the test.
func shortTimerThenActivityWorkflow(ctx workflow.Context, n int, sleep time.Duration) (int, error) {
	if err := workflow.Sleep(ctx, sleep); err != nil {
		return 0, err
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 5 * time.Second})
	var out int
	err := workflow.ExecuteActivity(ctx, "Double", n).Get(ctx, &out)
	return out, err
}
