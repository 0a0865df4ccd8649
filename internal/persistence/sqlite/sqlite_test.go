package sqlite_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/sundialhq/sundial/internal/persistence"
	"github.com/sundialhq/sundial/internal/persistence/sqlite"
	"github.com/sundialhq/sundial/internal/persistence/storetest"
)

func openT(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(path, nil)
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	return s
}

func TestConformanceFile(t *testing.T) {
	storetest.RunAll(t, func(t *testing.T) persistence.Store {
		return openT(t, filepath.Join(t.TempDir(), "sundial.db"))
	})
}

func TestConformanceMemory(t *testing.T) {
	storetest.RunAll(t, func(t *testing.T) persistence.Store {
		return openT(t, sqlite.MemoryPath)
	})
}

func TestReopenKeepsData(t *testing.T) {
	// A parent directory that does not exist yet is created.
	path := filepath.Join(t.TempDir(), "a", "b", "sundial.db")
	ctx := t.Context()
	s := openT(t, path)
	if _, err := s.InitCluster(ctx, 8); err != nil {
		t.Fatal(err)
	}
	r, err := s.AcquireShard(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	key := persistence.WorkflowKey{NamespaceID: "ns", WorkflowID: "wf", RunID: "run"}
	err = s.CreateWorkflow(ctx, &persistence.CreateWorkflowRequest{
		ShardID: 3, RangeID: r, Mode: persistence.CurrentBrandNew,
		Current:     persistence.CurrentRun{NamespaceID: "ns", WorkflowID: "wf", RunID: "run", State: persistence.RunStateRunning},
		State:       []byte("state"),
		NextEventID: 2,
		Events:      []persistence.HistoryEvent{{EventID: 1, Data: []byte("e1")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openT(t, path)
	defer s.Close()
	if n, err := s.InitCluster(ctx, 64); err != nil || n != 8 {
		t.Errorf("InitCluster after reopen = %d, %v; want 8", n, err)
	}
	rec, err := s.GetWorkflow(ctx, 3, key)
	if err != nil || string(rec.State) != "state" || rec.Version != 1 {
		t.Fatalf("GetWorkflow after reopen = %+v, %v", rec, err)
	}
	evs, err := s.ReadHistory(ctx, 3, key, 1, 10, 10, false)
	if err != nil || len(evs) != 1 || string(evs[0].Data) != "e1" {
		t.Errorf("ReadHistory after reopen = %+v, %v", evs, err)
	}
	if r2, err := s.AcquireShard(ctx, 3); err != nil || r2 <= r {
		t.Errorf("AcquireShard after reopen = %d, %v; want > %d", r2, err, r)
	}
}

func TestSchemaVersion(t *testing.T) {
	latest := sqlite.LatestSchemaVersion()
	if latest < 1 {
		t.Fatalf("LatestSchemaVersion = %d", latest)
	}
	path := filepath.Join(t.TempDir(), "sundial.db")
	s := openT(t, path)
	v, err := s.SchemaVersion(t.Context())
	if err != nil || v != latest {
		t.Errorf("SchemaVersion = %d, %v; want %d", v, err, latest)
	}
	s.Close()

	// Reopening an up-to-date database is a no-op.
	s = openT(t, path)
	if v, err := s.SchemaVersion(t.Context()); err != nil || v != latest {
		t.Errorf("SchemaVersion after reopen = %d, %v; want %d", v, err, latest)
	}
	s.Close()

	// A database from a newer Sundial is refused.
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(t.Context(), "UPDATE schema_version SET version = version + 1"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if s, err := sqlite.Open(path, nil); err == nil {
		s.Close()
		t.Errorf("Open of a database with a newer schema succeeded")
	}
}

func TestOpenRejectsBadPath(t *testing.T) {
	for _, p := range []string{"", "a?b.db"} {
		if s, err := sqlite.Open(p, nil); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", p)
		}
	}
	// A parent that is a file cannot become a directory.
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := sqlite.Open(filepath.Join(file, "x.db"), nil); err == nil {
		s.Close()
		t.Errorf("Open under a regular file succeeded")
	}
}

// BenchmarkTransitions: see storetest.BenchmarkTransitions (a file
// database, so every op pays its commit's fsync).
func BenchmarkTransitions(b *testing.B) {
	s, err := sqlite.Open(filepath.Join(b.TempDir(), "sundial.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.BenchmarkTransitions(b, s, nil)
}
