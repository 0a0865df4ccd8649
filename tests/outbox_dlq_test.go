package tests

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/proto"

	"github.com/sundialhq/sundial/internal/config"
	"github.com/sundialhq/sundial/internal/persistence"
	"github.com/sundialhq/sundial/internal/server"
)

// gateStore refuses (as a transient outage) every write to the run of
// workflow ID holdFor that would record a child's completion, while hold
// is set: the child's close notification then waits, so the parent can
// close while it still counts the child as running.
type gateStore struct {
	persistence.Store
	holdFor string
	hold    atomic.Bool
	refused atomic.Int32
}

func (s *gateStore) UpdateWorkflow(ctx context.Context, req *persistence.UpdateWorkflowRequest) error {
	if s.hold.Load() && req.Key.WorkflowID == s.holdFor {
		for _, row := range req.Events {
			ev := &historypb.HistoryEvent{}
			if proto.Unmarshal(row.Data, ev) == nil && ev.GetEventType() == enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED {
				s.refused.Add(1)
				return &persistence.UnavailableError{Err: errors.New("injected: child completion held back")}
			}
		}
	}
	return s.Store.UpdateWorkflow(ctx, req)
}

// transferLeft counts the transfer tasks left in the outbox of every shard.
func transferLeft(ctx context.Context, s persistence.Store, shards int32) (int, error) {
	n := 0
	for shard := range shards {
		rows, err := s.GetOutboxTasks(ctx, shard, persistence.CategoryTransfer, time.Time{}, 0, time.Time{}, 1000)
		if err != nil {
			return 0, err
		}
		n += len(rows)
	}
	return n, nil
}

// TestParentClosePolicyOnFinishedChildCompletes: a parent with
// PARENT_CLOSE_POLICY_TERMINATE closes while its child has already
// completed (the child's close has not reached the parent yet). The
// policy task finds the child closed and is done, as on the reference
// server; it is not retried for ever, so the outbox ends up empty and
// nothing is dead-lettered.
func TestParentClosePolicyOnFinishedChildCompletes(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 2*time.Minute)
	logs := &lockedBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server logs:\n%s", logs.String())
		}
	})
	parentID, childID := uniqueName(t, "parent"), uniqueName(t, "child")
	gate := &gateStore{holdFor: parentID}
	const shards = 4
	cfg := server.Config{IP: "127.0.0.1", NumShards: shards, MetricsAddress: "127.0.0.1:0",
		Logger:        slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn})),
		DynamicConfig: config.NewDynamic(nil)}
	cfg.Store, cfg.DBFilename = testBackend(t)
	cfg.WrapStore = func(s persistence.Store) persistence.Store { gate.Store = s; return gate }
	srv, err := server.New(cfg)
	require.NoError(t, err)
	require.NoError(t, srv.Start())
	t.Cleanup(srv.Stop)
	c := dialClient(t, srv.FrontendAddr(), nil)

	tq := uniqueName(t, "tq")
	w := worker.New(c, tq, worker.Options{})
	w.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID: childID, ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_TERMINATE,
		})
		if err := workflow.ExecuteChildWorkflow(cctx, "Finisher").GetChildWorkflowExecution().Get(ctx, nil); err != nil {
			return err
		}
		workflow.GetSignalChannel(ctx, "go").Receive(ctx, nil)
		return nil
	}, workflow.RegisterOptions{Name: "PolicyParent"})
	w.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
		workflow.GetSignalChannel(ctx, "finish").Receive(ctx, nil)
		return nil
	}, workflow.RegisterOptions{Name: "Finisher"})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)

	opts := startOptions(t, tq)
	opts.ID = parentID
	parent, err := c.ExecuteWorkflow(ctx, opts, "PolicyParent")
	require.NoError(t, err)
	eventually(t, ctx, "the child to run", func() error {
		_, err := c.DescribeWorkflowExecution(ctx, childID, "")
		return err
	})
	gate.hold.Store(true)
	require.NoError(t, c.SignalWorkflow(ctx, childID, "", "finish", nil))
	eventually(t, ctx, "the child's completion to be held back", func() error {
		if gate.refused.Load() == 0 {
			return errors.New("no completion refused yet")
		}
		return nil
	})
	require.NoError(t, c.SignalWorkflow(ctx, parentID, "", "go", nil))
	require.NoError(t, parent.Get(ctx, nil))
	gate.hold.Store(false)

	d, err := c.DescribeWorkflowExecution(ctx, childID, "")
	require.NoError(t, err)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, d.GetWorkflowExecutionInfo().GetStatus(),
		"the child finished before the parent closed: the policy must leave it as it was")
	eventually(t, ctx, "the transfer outbox to be empty", func() error {
		n, err := transferLeft(ctx, gate.Store, shards)
		if err != nil || n != 0 {
			return fmt.Errorf("%d transfer tasks left (%v)", n, err)
		}
		return nil
	})
	set, err := scrapeMetrics(srv.MetricsURL())
	require.NoError(t, err)
	require.Equal(t, 0.0, set.sum("task_dlq_size"), "nothing may be dead-lettered")
	require.Equal(t, 0.0, set.sum("dlq_writes"))
}

// visibilityGate fails every visibility write of workflow ID holdFor while
// hold is set.
type visibilityGate struct {
	persistence.Store
	holdFor string
	hold    atomic.Bool
}

func (s *visibilityGate) UpsertVisibility(ctx context.Context, rec *persistence.VisibilityRecord) error {
	if s.hold.Load() && rec.WorkflowID == s.holdFor {
		return errors.New("injected: visibility refuses this run")
	}
	return s.Store.UpsertVisibility(ctx, rec)
}

func adminDo(t *testing.T, method, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// TestOutboxTaskDeadLetteredAndRetried: a task that fails past
// history.outboxMaxAttempts moves to the DLQ (dlq_writes, task_dlq_size),
// is listed by the admin endpoint, and `retry` puts it back so it runs
// again and succeeds.
func TestOutboxTaskDeadLetteredAndRetried(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 2*time.Minute)
	logs := &lockedBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server logs:\n%s", logs.String())
		}
	})
	wfID := uniqueName(t, "wf")
	gate := &visibilityGate{holdFor: wfID}
	gate.hold.Store(true)
	cfg := server.Config{IP: "127.0.0.1", NumShards: 4, MetricsAddress: "127.0.0.1:0", AdminAddress: "127.0.0.1:0",
		Logger:        slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn})),
		DynamicConfig: config.NewDynamic(map[string]any{"history.outboxMaxAttempts": 2})}
	cfg.Store, cfg.DBFilename = testBackend(t)
	cfg.WrapStore = func(s persistence.Store) persistence.Store { gate.Store = s; return gate }
	srv, err := server.New(cfg)
	require.NoError(t, err)
	require.NoError(t, srv.Start())
	t.Cleanup(srv.Stop)
	c := dialClient(t, srv.FrontendAddr(), nil)
	admin := "http://" + srv.AdminAddr()

	opts := startOptions(t, uniqueName(t, "tq"))
	opts.ID = wfID
	_, err = c.ExecuteWorkflow(ctx, opts, "NoWorkerNeeded")
	require.NoError(t, err)

	var listed struct {
		Tasks []server.AdminDLQTask `json:"tasks"`
	}
	eventually(t, ctx, "the visibility task in the DLQ", func() error {
		code, body := adminDo(t, http.MethodGet, admin+"/admin/dlq", srv.AdminToken())
		if code != http.StatusOK {
			return fmt.Errorf("list: %d %s", code, body)
		}
		if err := json.Unmarshal([]byte(body), &listed); err != nil {
			return err
		}
		if len(listed.Tasks) != 1 {
			return fmt.Errorf("DLQ holds %d tasks", len(listed.Tasks))
		}
		return nil
	})
	dead := listed.Tasks[0]
	require.Equal(t, "transfer", dead.Category)
	require.EqualValues(t, 2, dead.Attempts)
	require.Contains(t, dead.LastError, "visibility refuses this run")
	set, err := scrapeMetrics(srv.MetricsURL())
	require.NoError(t, err)
	require.Equal(t, 1.0, set.sum("task_dlq_size"))
	require.Equal(t, 1.0, set.sum("dlq_writes", eq("operation", "VisibilityTaskUpsertExecution")))

	code, body := adminDo(t, http.MethodPost, admin+"/admin/dlq/retry?task=9/1/1", srv.AdminToken())
	require.Equal(t, http.StatusBadRequest, code, "a shard that does not exist: %s", body)
	gate.hold.Store(false)
	code, body = adminDo(t, http.MethodPost, admin+"/admin/dlq/retry?task="+dead.Key, srv.AdminToken())
	require.Equal(t, http.StatusNoContent, code, body)
	eventually(t, ctx, "the retried task to write the run's visibility record", func() error {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: fmt.Sprintf("WorkflowId = %q", wfID)})
		if err != nil || len(resp.GetExecutions()) != 1 {
			return fmt.Errorf("listed %d runs (%v)", len(resp.GetExecutions()), err)
		}
		return nil
	})
	code, _ = adminDo(t, http.MethodPost, admin+"/admin/dlq/retry?task="+dead.Key, srv.AdminToken())
	require.Equal(t, http.StatusNotFound, code, "a task retried already is no longer in the DLQ")
	set, err = scrapeMetrics(srv.MetricsURL())
	require.NoError(t, err)
	require.Equal(t, 0.0, set.sum("task_dlq_size"))
}
