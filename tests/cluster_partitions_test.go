package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/sundialhq/sundial/internal/membership"
	"github.com/sundialhq/sundial/internal/persistence/sqltest"
)

// Two processes running every role: one task queue's partitions are held
// by both matching processes (each partition by the ring owner of its own
// key, as `sundial admin cluster describe` lists them), and workflows on
// that queue complete, with a worker polling through one frontend only
// (its polls and tasks on the other process's partitions forwarded to the
// root's owner).
func TestClusterSpreadsQueuePartitions(t *testing.T) {
	opts := sqltest.Postgres.NewDatabase(t)
	bin := buildSundial(t)
	ctx := testContext(t, 3*time.Minute)
	cfgFile := filepath.Join(t.TempDir(), "sundial.yaml")
	require.NoError(t, os.WriteFile(cfgFile, []byte(clusterConfig), 0o600))
	env := []string{"SUNDIAL_DB=" + opts.Database, "SUNDIAL_DB_ADDR=" + opts.Addr,
		"SUNDIAL_DB_USER=" + opts.User, "SUNDIAL_DB_PASSWORD=" + opts.Password}

	var procs []*clusterProcess
	t.Cleanup(func() {
		if t.Failed() {
			for _, p := range procs {
				t.Logf("process %s output:\n%s", p.name, p.out.String())
			}
		}
	})
	var c client.Client
	for _, name := range []string{"a", "b"} {
		p := startClusterProcess(t, bin, cfgFile, env, name)
		procs = append(procs, p)
		srv := p.srv
		if name == "a" { // a creates the schema; b starts on it
			c = dialWhenUp(t, ctx, srv.addr, srv.proc)
			t.Cleanup(c.Close)
		}
	}
	// Both matching members live, as each process sees them.
	var members []membership.Member
	eventually(t, ctx, "two matching members", func() error {
		for _, p := range procs {
			d, err := p.describe(ctx)
			if err != nil {
				return fmt.Errorf("%w: %v", errNotYet, err)
			}
			members = members[:0]
			for _, m := range d.Members {
				if m.Role == membership.RoleMatching && m.Alive {
					members = append(members, membership.Member{Identity: m.Identity, Role: m.Role})
				}
			}
			if len(members) != 2 {
				return fmt.Errorf("%w: %s sees %d matching members", errNotYet, p.name, len(members))
			}
		}
		return nil
	})
	ns, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: testNamespace})
	require.NoError(t, err)
	nsID := ns.GetNamespaceInfo().GetId()
	const parts = 4 // matching.numTaskqueueWritePartitions' default
	// A queue whose workflow partitions the ring splits between the two.
	splitQueue := func(kind string) string {
		for i := 0; ; i++ {
			name := fmt.Sprintf("%s-%d", uniqueName(t, kind), i)
			holders := map[string]bool{}
			for p := range parts {
				m, _ := membership.Owner(members, membership.PartitionKey(nsID, name, "workflow", p))
				holders[m.Identity] = true
			}
			if len(holders) == 2 {
				return name
			}
		}
	}
	tq := splitQueue("tq")

	tenv := &testEnv{addr: procs[0].srv.addr, client: c, logs: &lockedBuffer{}}
	tenv.startWorkerOn(t, tq, registerTimerThenActivity)
	const n = 12
	runs := make([]client.WorkflowRun, n)
	for i := range n {
		runs[i], err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("%s-%02d", tq, i), TaskQueue: tq},
			"TimerThenActivity", i, time.Second)
		require.NoError(t, err, "start %d", i)
	}
	for i, run := range runs {
		_, err := checkDurableRun(ctx, c, run, i)
		require.NoError(t, err, "run %d", i)
	}

	// The queue's workflow partitions as the processes hold them: each
	// once, every one held, by both processes.
	var heldBy map[int32]string
	eventually(t, ctx, "the queue's partitions held by both processes", func() error {
		heldBy = map[int32]string{}
		for _, p := range procs {
			d, err := p.describe(ctx)
			if err != nil {
				return fmt.Errorf("%w: %v", errNotYet, err)
			}
			for _, k := range d.Owned.Partitions {
				if k.TaskQueue != tq || k.Kind != "workflow" {
					continue
				}
				if other, dup := heldBy[k.Partition]; dup {
					return fmt.Errorf("%w: partition %d held by %s and %s", errNotYet, k.Partition, other, p.name)
				}
				heldBy[k.Partition] = p.name
			}
		}
		holders := map[string]bool{}
		for _, name := range heldBy {
			holders[name] = true
		}
		if len(heldBy) != parts || len(holders) != 2 {
			return fmt.Errorf("%w: partitions held %v", errNotYet, heldBy)
		}
		return nil
	})

	// ListTaskQueuePartitions names each partition's matching host (its
	// internal address), as the reference names the owning host.
	matchingAddr := map[string]string{}
	for _, p := range procs {
		d, err := p.describe(ctx)
		require.NoError(t, err)
		for _, m := range d.Members {
			if m.Role == membership.RoleMatching && m.Identity == d.Self {
				matchingAddr[p.name] = m.RPCAddress
			}
		}
	}
	require.Len(t, matchingAddr, 2)
	lp, err := c.WorkflowService().ListTaskQueuePartitions(ctx, &workflowservice.ListTaskQueuePartitionsRequest{
		Namespace: testNamespace, TaskQueue: &taskqueuepb.TaskQueue{Name: tq}})
	require.NoError(t, err)
	require.Len(t, lp.GetWorkflowTaskQueuePartitions(), parts)
	for i, part := range lp.GetWorkflowTaskQueuePartitions() {
		require.Equal(t, matchingAddr[heldBy[int32(i)]], part.GetOwnerHostName(), "owner of workflow partition %d (%s)", i, part.GetKey())
	}

	// A backlog spread over both processes' partitions (no worker polls
	// this queue) is described whole through either frontend: each
	// partition's owner is asked.
	idle := splitQueue("idle")
	const backlog = 8
	for i := range backlog {
		_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("%s-%02d", idle, i), TaskQueue: idle},
			"TimerThenActivity", i, time.Second)
		require.NoError(t, err)
	}
	eventually(t, ctx, "the whole backlog described", func() error {
		d, err := c.WorkflowService().DescribeTaskQueue(ctx, &workflowservice.DescribeTaskQueueRequest{Namespace: testNamespace,
			TaskQueue: &taskqueuepb.TaskQueue{Name: idle}, IncludeTaskQueueStatus: true})
		if err != nil {
			return err
		}
		if got := d.GetTaskQueueStatus().GetBacklogCountHint(); got != backlog {
			return fmt.Errorf("%w: backlog %d, want %d", errNotYet, got, backlog)
		}
		return nil
	})
	counts := map[string]int64{}
	for _, p := range procs {
		d, err := p.describe(ctx)
		require.NoError(t, err)
		for _, k := range d.Owned.Partitions {
			if k.TaskQueue == idle && k.Kind == "workflow" {
				counts[p.name]++
			}
		}
	}
	require.Len(t, counts, 2, "the idle queue's partitions by process: %v", counts)
}
