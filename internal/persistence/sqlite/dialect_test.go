package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/sundialhq/sundial/internal/persistence"
	"github.com/sundialhq/sundial/internal/persistence/sqlite"
	"github.com/sundialhq/sundial/internal/persistence/sqlstore"
)

// lockFile opens path outside the store and holds its write lock until the
// test ends.
func lockFile(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = tx.Rollback()
		_ = db.Close()
	})
}

func TestClassifyBusy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sundial.db")
	openT(t, path).Close()
	lockFile(t, path)

	db, err := sql.Open("sqlite", path+"?_txlock=immediate&_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, err = db.Begin()
	if err == nil {
		t.Fatal("BEGIN IMMEDIATE succeeded while another connection holds the write lock")
	}
	if c := (sqlite.Dialect{}).Classify(err); c != sqlstore.ClassTransient {
		t.Errorf("Classify(%v) = %d, want ClassTransient", err, c)
	}
	if c := (sqlite.Dialect{}).Classify(errors.New("other")); c != sqlstore.ClassOther {
		t.Errorf("Classify(non-sqlite error) = %d, want ClassOther", c)
	}
}

// TestLockedDatabaseIsUnavailable: a write that cannot get the lock before
// its deadline reports *persistence.UnavailableError, not a bare error.
func TestLockedDatabaseIsUnavailable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sundial.db")
	s := openT(t, path)
	defer s.Close()
	lockFile(t, path)

	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	_, err := s.AcquireShard(ctx, 1)
	var un *persistence.UnavailableError
	if !errors.As(err, &un) {
		t.Fatalf("AcquireShard on a locked database: %v, want *UnavailableError", err)
	}
}
