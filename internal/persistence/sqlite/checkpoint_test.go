package sqlite

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/sundialhq/sundial/internal/persistence"
)

// The writer never checkpoints (wal_autocheckpoint is 0, checked at Open);
// the checkpointer's own connection copies committed WAL frames into the
// database file in the background.
func TestCheckpointerCopiesTheWAL(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "sundial.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	if _, err := s.InitCluster(ctx, 4); err != nil {
		t.Fatal(err)
	}
	r, err := s.AcquireShard(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		err := s.CreateWorkflow(ctx, &persistence.CreateWorkflowRequest{
			ShardID: 1, RangeID: r, Mode: persistence.CurrentBrandNew,
			Current: persistence.CurrentRun{NamespaceID: "ns", WorkflowID: fmt.Sprint("wf-", i), RunID: "run",
				State: persistence.RunStateRunning},
			State: []byte("state"), NextEventID: 2, Events: []persistence.HistoryEvent{{EventID: 1, Data: []byte("e1")}},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for s.ckpt.copied.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no WAL frame checkpointed after %d checkpointer runs", s.ckpt.runs.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
