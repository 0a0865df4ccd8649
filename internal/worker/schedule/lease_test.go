package schedule

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	schedulepb "go.temporal.io/api/schedule/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/sundialhq/sundial/internal/config"
	"github.com/sundialhq/sundial/internal/persistence"
	"github.com/sundialhq/sundial/internal/persistence/mysql"
	"github.com/sundialhq/sundial/internal/persistence/postgres"
	"github.com/sundialhq/sundial/internal/persistence/sqlite"
	"github.com/sundialhq/sundial/internal/persistence/sqltest"
)

// startCall is one StartWorkflowExecution a scheduler process made.
type startCall struct {
	process   string
	requestID string
	workflow  string
	at        time.Time
}

// sharedWorkflows is the cluster both scheduler processes act on: it
// records every start call with the process that made it; a call whose
// context has ended records nothing (a killed process acts no more).
type sharedWorkflows struct {
	mu    sync.Mutex
	calls []startCall
}

type processWorkflows struct {
	name string
	all  *sharedWorkflows
	// dying: the process dies at its next start, which hangs until its
	// context ends (counted in hung) and makes it dead.
	dying, dead *atomic.Bool
	hung        *atomic.Int64
}

func (p processWorkflows) StartWorkflowExecution(ctx context.Context, req *workflowservice.StartWorkflowExecutionRequest) (*workflowservice.StartWorkflowExecutionResponse, error) {
	if p.dying.Load() {
		p.dead.Store(true)
		p.hung.Add(1)
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p.all.mu.Lock()
	defer p.all.mu.Unlock()
	p.all.calls = append(p.all.calls, startCall{p.name, req.RequestId, req.WorkflowId, time.Now()})
	return &workflowservice.StartWorkflowExecutionResponse{RunId: "run-" + req.RequestId}, nil
}

func (p processWorkflows) DescribeWorkflowExecution(context.Context, *workflowservice.DescribeWorkflowExecutionRequest) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
		Status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING}}, nil
}

func (p processWorkflows) GetWorkflowExecutionHistory(context.Context, *workflowservice.GetWorkflowExecutionHistoryRequest) (*workflowservice.GetWorkflowExecutionHistoryResponse, error) {
	return &workflowservice.GetWorkflowExecutionHistoryResponse{}, nil
}

func (p processWorkflows) TerminateWorkflowExecution(context.Context, *workflowservice.TerminateWorkflowExecutionRequest) (*workflowservice.TerminateWorkflowExecutionResponse, error) {
	return &workflowservice.TerminateWorkflowExecutionResponse{}, nil
}

func (p processWorkflows) RequestCancelWorkflowExecution(context.Context, *workflowservice.RequestCancelWorkflowExecutionRequest) (*workflowservice.RequestCancelWorkflowExecutionResponse, error) {
	return &workflowservice.RequestCancelWorkflowExecutionResponse{}, nil
}

// deadStore is a process's view of the store: once the process is dead
// nothing it does reaches the store.
type deadStore struct {
	persistence.ScheduleStore
	dead *atomic.Bool
}

var errDead = errors.New("process is dead")

func (d deadStore) ClaimDueSchedules(ctx context.Context, owner string, now, until time.Time, limit int) ([]*persistence.ScheduleRecord, error) {
	if d.dead.Load() {
		return nil, errDead
	}
	return d.ScheduleStore.ClaimDueSchedules(ctx, owner, now, until, limit)
}

func (d deadStore) UpdateSchedule(ctx context.Context, rec *persistence.ScheduleRecord, v int64) error {
	if d.dead.Load() {
		return errDead
	}
	return d.ScheduleStore.UpdateSchedule(ctx, rec, v)
}

func (d deadStore) GetSchedule(ctx context.Context, ns, id string) (*persistence.ScheduleRecord, error) {
	if d.dead.Load() {
		return nil, errDead
	}
	return d.ScheduleStore.GetSchedule(ctx, ns, id)
}

// TestTwoSchedulersShareSchedules: two scheduler processes on one store
// with schedules firing every second. While both run, every action is
// taken by exactly one of them (no request ID is started twice) and both
// take some; when A dies in the middle of a tick (a start hangs, then
// nothing it writes reaches the store: it dies holding leases), B takes
// its schedules over when the leases expire and no scheduled second is
// missed.
func TestTwoSchedulersShareSchedules(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		store, err := sqlite.Open(t.TempDir()+"/s.db", nil)
		require.NoError(t, err)
		t.Cleanup(func() { store.Close() })
		testTwoSchedulers(t, store, store)
	})
	t.Run("postgres", func(t *testing.T) {
		opts := sqltest.Postgres.NewDatabase(t)
		a, err := postgres.Open(t.Context(), opts)
		require.NoError(t, err)
		t.Cleanup(func() { a.Close() })
		b, err := postgres.Open(t.Context(), opts)
		require.NoError(t, err)
		t.Cleanup(func() { b.Close() })
		testTwoSchedulers(t, a, b)
	})
	t.Run("mysql", func(t *testing.T) {
		opts := sqltest.MySQL.NewDatabase(t)
		a, err := mysql.Open(t.Context(), opts)
		require.NoError(t, err)
		t.Cleanup(func() { a.Close() })
		b, err := mysql.Open(t.Context(), opts)
		require.NoError(t, err)
		t.Cleanup(func() { b.Close() })
		testTwoSchedulers(t, a, b)
	})
}

func testTwoSchedulers(t *testing.T, storeA, storeB persistence.ScheduleStore) {
	const n = 20
	const lease = 2 * time.Second
	dyn := config.NewDynamic(map[string]any{KeyLeaseDuration: lease.String(), KeyPollInterval: "100ms"})
	all := &sharedWorkflows{}
	var dyingA, deadA, dyingB, deadB atomic.Bool
	var hungA, hungB atomic.Int64
	newService := func(name string, store persistence.ScheduleStore, dying, dead *atomic.Bool, hung *atomic.Int64) *Service {
		s, err := New(Options{Store: deadStore{store, dead}, Dynamic: dyn, Owner: name, BatchSize: 5, Parallel: 4})
		require.NoError(t, err)
		s.SetWorkflows(processWorkflows{name: name, all: all, dying: dying, dead: dead, hung: hung})
		return s
	}
	a, b := newService("A", storeA, &dyingA, &deadA, &hungA), newService("B", storeB, &dyingB, &deadB, &hungB)
	ns := Namespace{ID: "ns-id", Name: "ns"}
	created := time.Now()
	for i := range n {
		_, err := a.Create(t.Context(), ns, &workflowservice.CreateScheduleRequest{ScheduleId: fmt.Sprintf("s%02d", i),
			Schedule: &schedulepb.Schedule{
				Spec: &schedulepb.ScheduleSpec{Interval: []*schedulepb.IntervalSpec{{Interval: durationpb.New(time.Second)}}},
				Action: &schedulepb.ScheduleAction{Action: &schedulepb.ScheduleAction_StartWorkflow{StartWorkflow: &workflowpb.NewWorkflowExecutionInfo{
					WorkflowId: fmt.Sprintf("wf%02d", i), WorkflowType: &commonpb.WorkflowType{Name: "T"}, TaskQueue: &taskqueuepb.TaskQueue{Name: "q"}}}},
				Policies: &schedulepb.SchedulePolicies{OverlapPolicy: enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL},
			}})
		require.NoError(t, err)
	}
	a.Start()
	b.Start()
	defer a.Stop()
	defer b.Stop()
	time.Sleep(4 * time.Second) // the scenario: both processes share 4 s of firings
	dyingA.Store(true)
	killedAt := time.Now()
	deadline := time.Now().Add(10 * time.Second)
	for hungA.Load() == 0 { // A dies in a tick, holding leases
		require.True(t, time.Now().Before(deadline), "A never took an action after it died")
		time.Sleep(10 * time.Millisecond) // polling a condition
	}
	time.Sleep(2*lease + time.Second) // B takes over A's leases when they expire
	b.Stop()
	stoppedAt := time.Now()

	all.mu.Lock()
	defer all.mu.Unlock()
	byRequest := map[string][]startCall{}
	perProcess := map[string]int{}
	for _, c := range all.calls {
		byRequest[c.requestID] = append(byRequest[c.requestID], c)
		perProcess[c.process]++
	}
	require.Positive(t, perProcess["A"], "A took no action: nothing was shared")
	require.Positive(t, perProcess["B"], "B took no action")
	for id, cs := range byRequest {
		if len(cs) == 1 {
			continue
		}
		// Only a start A made in its last tick may be made again, by B
		// taking the schedule over after A died (the start then dedups on
		// its request ID).
		require.Len(t, cs, 2, "request %s started %d times: %v", id, len(cs), cs)
		require.Equal(t, "A", cs[0].process, "request %s: %v", id, cs)
		require.Equal(t, "B", cs[1].process, "request %s: %v", id, cs)
		require.True(t, cs[1].at.After(killedAt), "request %s started twice while both ran: %v", id, cs)
	}
	// Every schedule ran every second from its creation to shortly before
	// B stopped, with no gap across A's death.
	for i := range n {
		var times []time.Time
		prefix := fmt.Sprintf("wf%02d-", i)
		for _, cs := range byRequest {
			if w := cs[0].workflow; len(w) > len(prefix) && w[:len(prefix)] == prefix {
				ts, err := time.Parse(time.RFC3339, w[len(prefix):])
				require.NoError(t, err)
				times = append(times, ts)
			}
		}
		slices.SortFunc(times, func(x, y time.Time) int { return x.Compare(y) })
		require.NotEmpty(t, times, "schedule %d", i)
		require.False(t, times[0].After(created.Add(2*time.Second)), "schedule %d started late: %v", i, times[0])
		require.False(t, times[len(times)-1].Before(stoppedAt.Add(-2*time.Second)), "schedule %d stopped early: %v", i, times[len(times)-1])
		for j := 1; j < len(times); j++ {
			require.Equal(t, time.Second, times[j].Sub(times[j-1]), "schedule %d: gap at %v", i, times[j-1])
		}
	}
}
