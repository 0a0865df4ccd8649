package tests

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/sundialhq/sundial/internal/persistence/postgres"
	"github.com/sundialhq/sundial/internal/persistence/sqltest"
)

// twoSchedulerDynamicConfig shortens the worker role's leases so a
// killed process's schedules are taken over within seconds.
const twoSchedulerDynamicConfig = `
worker.jobLeaseDuration:
  - value: "3s"
worker.schedulePollInterval:
  - value: "500ms"
`

// TestSchedulesAcrossTwoProcesses: two `sundial server` processes (all
// roles) on one PostgreSQL database run 50 schedules firing every second.
// A starts first; B takes every history shard when it starts, so A's own
// starts fail from then on (the single-owner history of today) while both
// schedulers keep claiming due schedules, each under a lease. A is
// SIGKILLed in the middle of a tick (stopped at a moment it holds leases,
// then killed); B takes its schedules over when the leases expire. Every
// second of every schedule runs exactly once (workflow IDs), and the
// audit shows both processes processed schedules.
func TestSchedulesAcrossTwoProcesses(t *testing.T) {
	opts := sqltest.Postgres.NewDatabase(t)
	bin := buildSundial(t)
	ctx := testContext(t, 3*time.Minute)
	dir := t.TempDir()
	dcFile := filepath.Join(dir, "dynamic.yaml")
	require.NoError(t, os.WriteFile(dcFile, []byte(twoSchedulerDynamicConfig), 0o600))
	cfgFile := filepath.Join(dir, "sundial.yaml")
	require.NoError(t, os.WriteFile(cfgFile, []byte(twoProcessConfig+"dynamicConfigClient:\n  filepath: "+dcFile+"\n"), 0o600))
	env := []string{"SUNDIAL_DB=" + opts.Database, "SUNDIAL_DB_ADDR=" + opts.Addr,
		"SUNDIAL_DB_USER=" + opts.User, "SUNDIAL_DB_PASSWORD=" + opts.Password}
	outA, outB := &lockedBuffer{}, &lockedBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("process A output:\n%s\nprocess B output:\n%s", outA.String(), outB.String())
		}
	})
	a := startConfiguredServer(t, bin, cfgFile, append(env, "SUNDIAL_APP=sundial-a"), outA)
	cA := dialWhenUp(t, ctx, a.addr, a.proc)
	defer cA.Close()
	db, err := postgres.OpenDB(opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	auditSchedules(t, ctx, db)

	const n = 50
	created := time.Now()
	for i := range n {
		_, err := cA.ScheduleClient().Create(ctx, client.ScheduleOptions{
			ID:     fmt.Sprintf("tp-%02d", i),
			Spec:   client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Second}}},
			Action: &client.ScheduleWorkflowAction{ID: fmt.Sprintf("tp-%02d-wf", i), Workflow: scheduleQuick, TaskQueue: "no-worker"},
			// Runs stay open (no worker): ALLOW_ALL starts every second.
			Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL,
		})
		require.NoError(t, err, "create %d", i)
	}
	b := startConfiguredServer(t, bin, cfgFile, append(env, "SUNDIAL_APP=sundial-b"), outB)
	cB := dialWhenUp(t, ctx, b.addr, b.proc)
	defer cB.Close()

	sleepCtx(t, ctx, 5*time.Second) // both processes claim schedules
	heldByA := killHoldingLeases(t, ctx, db, a.proc)
	killedAt := time.Now()
	t.Logf("A killed holding %d schedule leases", heldByA)
	sleepCtx(t, ctx, 8*time.Second) // B alone, past A's leases
	for i := range n {
		require.NoError(t, cB.ScheduleClient().GetHandle(ctx, fmt.Sprintf("tp-%02d", i)).Pause(ctx, client.SchedulePauseOptions{}))
	}
	pausedAt := time.Now()

	var writesA, writesB int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT COUNT(*) FILTER (WHERE app = 'sundial-a' AND at > $1),
		COUNT(*) FILTER (WHERE app = 'sundial-b') FROM write_audit WHERE tbl = 'schedules' AND op = 'UPDATE'`, created).Scan(&writesA, &writesB))
	require.Positive(t, writesA, "A never processed a schedule")
	require.Positive(t, writesB, "B never processed a schedule")
	t.Logf("schedule row updates: A %d, B %d; A killed %v after creation", writesA, writesB, killedAt.Sub(created).Round(time.Second))

	// Every second from the first action to the pause ran once per
	// schedule, with no gap around A's death.
	eventually(t, ctx, "every action up to the pause listed once", func() error {
		runs, err := scheduledRuns(ctx, cB, "tp-")
		if err != nil {
			return err
		}
		perSchedule := map[string][]time.Time{}
		for id, count := range runs {
			if count != 1 {
				t.Fatalf("%s ran %d times", id, count)
			}
			sched := id[:len("tp-00")]
			perSchedule[sched] = append(perSchedule[sched], actionTime(t, id))
		}
		for i := range n {
			sched := fmt.Sprintf("tp-%02d", i)
			times := perSchedule[sched]
			slices.SortFunc(times, func(x, y time.Time) int { return x.Compare(y) })
			switch {
			case len(times) == 0:
				return fmt.Errorf("%s: no run listed", sched)
			case times[0].After(created.Add(time.Duration(n) * time.Second)):
				t.Fatalf("%s: first run %v, long after its creation", sched, times[0])
			case times[len(times)-1].Before(pausedAt.Add(-3 * time.Second)):
				return fmt.Errorf("%s: last run listed %v, paused at %v", sched, times[len(times)-1], pausedAt)
			}
			for j := 1; j < len(times); j++ {
				if times[j].Sub(times[j-1]) != time.Second {
					return fmt.Errorf("%s: gap after %v (%s)", sched, times[j-1], strings.Join(stamps(times), " "))
				}
			}
		}
		return nil
	})
}

// killHoldingLeases SIGKILLs p at a moment it holds schedule leases: it
// stops p (SIGSTOP), and kills it if the database shows leases owned by
// its pid, else lets it run a little and tries again. It returns the
// number of leases p died holding.
func killHoldingLeases(t *testing.T, ctx context.Context, db *sql.DB, p *serverProcess) int {
	t.Helper()
	owner := fmt.Sprintf("%%:%d:%%", p.cmd.Process.Pid)
	for try := 0; try < 200; try++ {
		require.NoError(t, p.cmd.Process.Signal(syscall.SIGSTOP))
		var held int
		require.NoError(t, db.QueryRowContext(ctx, `SELECT COUNT(*) FROM schedules WHERE lease_owner LIKE $1`, owner).Scan(&held))
		if held > 0 {
			p.kill()
			return held
		}
		require.NoError(t, p.cmd.Process.Signal(syscall.SIGCONT))
		sleepCtx(t, ctx, time.Duration(20+try%7*13)*time.Millisecond) // a different point of its work
	}
	t.Fatal("the process never held a schedule lease when stopped")
	return 0
}

func stamps(ts []time.Time) []string {
	out := make([]string, len(ts))
	for i, x := range ts {
		out[i] = x.Format("15:04:05")
	}
	return out
}

// sleepCtx lets a scenario's time pass (not a wait for a condition).
func sleepCtx(t *testing.T, ctx context.Context, d time.Duration) {
	t.Helper()
	select {
	case <-time.After(d):
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
}

// auditSchedules records which process changes schedule rows (see
// installAudit).
func auditSchedules(t *testing.T, ctx context.Context, db *sql.DB) {
	t.Helper()
	for _, stmt := range auditSQL {
		_, err := db.ExecContext(ctx, stmt)
		require.NoError(t, err, stmt)
	}
	_, err := db.ExecContext(ctx, `CREATE TRIGGER audit_schedules AFTER INSERT OR UPDATE OR DELETE ON schedules
		FOR EACH ROW EXECUTE FUNCTION audit_write()`)
	require.NoError(t, err)
}
