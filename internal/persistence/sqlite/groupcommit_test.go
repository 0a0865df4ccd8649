package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sundialhq/sundial/internal/persistence"
)

// TestGroupCommitMembersKeepTheirOwnOutcome runs many writers at once, so
// that they share group transactions, with a mix of writes that must
// succeed and writes that must fail (a second brand-new run of a workflow
// ID, an update at a stale version, a fenced write with a stale range, a
// cancelled context). Each writer must get its own outcome, and exactly
// the successful writes must be in the database.
func TestGroupCommitMembersKeepTheirOwnOutcome(t *testing.T) {
	ctx := t.Context()
	s := openT(t, filepath.Join(t.TempDir(), "sundial.db"))
	defer s.Close()
	if _, err := s.InitCluster(ctx, 1); err != nil {
		t.Fatal(err)
	}
	rangeID, err := s.AcquireShard(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	var taskSeq atomic.Int64
	create := func(ctx context.Context, wf, run string, rangeID int64) error {
		return s.CreateWorkflow(ctx, &persistence.CreateWorkflowRequest{
			ShardID: 0, RangeID: rangeID, Mode: persistence.CurrentBrandNew,
			Current:     persistence.CurrentRun{NamespaceID: "ns", WorkflowID: wf, RunID: run, State: persistence.RunStateRunning},
			State:       []byte("state-" + run),
			NextEventID: 2,
			Events:      []persistence.HistoryEvent{{EventID: 1, Data: []byte("e1")}},
			Tasks:       []persistence.OutboxTask{{Category: persistence.CategoryTransfer, TaskID: rangeID<<20 + taskSeq.Add(1), Data: []byte("t")}},
		})
	}
	// Runs "base-i" exist before the concurrent phase, at version 1.
	const workflows = 16
	for i := range workflows {
		if err := create(ctx, fmt.Sprintf("base-%d", i), fmt.Sprintf("base-run-%d", i), rangeID); err != nil {
			t.Fatal(err)
		}
	}
	update := func(i int, expected int64) error {
		return s.UpdateWorkflow(ctx, &persistence.UpdateWorkflowRequest{
			ShardID: 0, RangeID: rangeID, ExpectedVersion: expected,
			Key:         persistence.WorkflowKey{NamespaceID: "ns", WorkflowID: fmt.Sprintf("base-%d", i), RunID: fmt.Sprintf("base-run-%d", i)},
			State:       []byte(fmt.Sprintf("updated-%d", i)),
			NextEventID: 3,
			Events:      []persistence.HistoryEvent{{EventID: 2, Data: []byte("e2")}},
		})
	}

	const contenders = 4 // brand-new starts per workflow ID
	var wg sync.WaitGroup
	var mu sync.Mutex
	winners := map[string]string{} // workflow ID -> run ID that won
	var errs []error
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	for round := range 3 {
		for i := range workflows {
			for c := range contenders {
				wg.Add(1)
				go func() {
					defer wg.Done()
					wf, run := fmt.Sprintf("new-%d-%d", round, i), fmt.Sprintf("run-%d-%d-%d", round, i, c)
					err := create(ctx, wf, run, rangeID)
					var conflict *persistence.CurrentRunConflictError
					switch {
					case err == nil:
						mu.Lock()
						if prev, ok := winners[wf]; ok {
							errs = append(errs, fmt.Errorf("%s started twice: %s and %s", wf, prev, run))
						}
						winners[wf] = run
						mu.Unlock()
					case !errors.As(err, &conflict):
						fail(fmt.Errorf("create %s/%s: %v, want nil or CurrentRunConflictError", wf, run, err))
					}
				}()
			}
			wg.Add(3)
			go func() { // a stale range never writes
				defer wg.Done()
				err := create(ctx, fmt.Sprintf("stale-%d-%d", round, i), "stale-run", rangeID-1)
				var lost *persistence.ShardOwnershipLostError
				if !errors.As(err, &lost) {
					fail(fmt.Errorf("create with a stale range: %v, want ShardOwnershipLostError", err))
				}
			}()
			go func() { // a cancelled writer fails alone
				defer wg.Done()
				cctx, cancel := context.WithCancel(ctx)
				cancel()
				if err := create(cctx, fmt.Sprintf("cancelled-%d-%d", round, i), "cancelled-run", rangeID); !errors.Is(err, context.Canceled) {
					fail(fmt.Errorf("create with a cancelled context: %v, want context.Canceled", err))
				}
			}()
			go func() { // only the first round's update of base-i is at version 1
				defer wg.Done()
				err := update(i, 1)
				if round == 0 && err != nil && !errors.Is(err, persistence.ErrConditionFailed) {
					fail(fmt.Errorf("update base-%d: %v", i, err))
				}
			}()
		}
	}
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}

	for round := range 3 {
		for i := range workflows {
			wf := fmt.Sprintf("new-%d-%d", round, i)
			cur, err := s.GetCurrentRun(ctx, 0, "ns", wf)
			if err != nil {
				t.Fatalf("current run of %s: %v", wf, err)
			}
			if cur.RunID != winners[wf] {
				t.Errorf("current run of %s is %s, the winner was %q", wf, cur.RunID, winners[wf])
			}
			if _, err := s.GetCurrentRun(ctx, 0, "ns", fmt.Sprintf("stale-%d-%d", round, i)); !errors.Is(err, persistence.ErrNotFound) {
				t.Errorf("stale-range start left a current run: %v", err)
			}
			if _, err := s.GetCurrentRun(ctx, 0, "ns", fmt.Sprintf("cancelled-%d-%d", round, i)); !errors.Is(err, persistence.ErrNotFound) {
				t.Errorf("cancelled start left a current run: %v", err)
			}
		}
	}
	// Exactly one of the three updates of each base run applied.
	for i := range workflows {
		rec, err := s.GetWorkflow(ctx, 0, persistence.WorkflowKey{NamespaceID: "ns", WorkflowID: fmt.Sprintf("base-%d", i), RunID: fmt.Sprintf("base-run-%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		if rec.Version != 2 || string(rec.State) != fmt.Sprintf("updated-%d", i) {
			t.Errorf("base-%d: version %d state %q, want version 2 (one update applied)", i, rec.Version, rec.State)
		}
		events, err := s.ReadHistory(ctx, 0, persistence.WorkflowKey{NamespaceID: "ns", WorkflowID: fmt.Sprintf("base-%d", i), RunID: fmt.Sprintf("base-run-%d", i)}, 1, 100, 100, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != 2 {
			t.Errorf("base-%d has %d events, want 2", i, len(events))
		}
	}
}
