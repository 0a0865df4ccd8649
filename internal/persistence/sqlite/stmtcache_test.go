package sqlite

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/sundialhq/sundial/internal/persistence/sqlstore"
)

// TestStatementCache checks that cached statements give the same results
// as fresh ones: repeated runs with new arguments, the same query run again
// while its first rows are still open, errors classified as before, more
// distinct statements than the cache holds, and explicit prepares.
func TestStatementCache(t *testing.T) {
	ctx := t.Context()
	db, err := openCached(dsn(filepath.Join(t.TempDir(), "cache.db"), "_txlock=immediate"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // one connection, as the writer: every statement meets the same cache
	if _, err := db.ExecContext(ctx, "CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	const insert = "INSERT INTO kv (k, v) VALUES (?, ?)"
	for i := range 10 {
		if _, err := db.ExecContext(ctx, insert, i, fmt.Sprintf("v%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	// A duplicate key through the cached statement is still a unique
	// violation, and the statement stays usable.
	_, err = db.ExecContext(ctx, insert, 3, "dup")
	if err == nil || (Dialect{}).Classify(err) != sqlstore.ClassUniqueViolation {
		t.Fatalf("duplicate insert: %v, want a unique violation", err)
	}
	if _, err := db.ExecContext(ctx, insert, 10, "v10"); err != nil {
		t.Fatalf("insert after a failed run of the same statement: %v", err)
	}

	// The same query run while its first rows are open, in a transaction
	// (one connection): both see their own results.
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	const sel = "SELECT k, v FROM kv WHERE k >= ? ORDER BY k"
	outer, err := tx.QueryContext(ctx, sel, 8)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for outer.Next() {
		var k int
		var v string
		if err := outer.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM ("+sel+")", k).Scan(&n); err != nil {
			t.Fatal(err)
		}
		inner, err := tx.QueryContext(ctx, sel, k)
		if err != nil {
			t.Fatal(err)
		}
		m := 0
		for inner.Next() {
			m++
		}
		if err := inner.Close(); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d:%s:%d:%d", k, v, n, m))
	}
	if err := outer.Close(); err != nil {
		t.Fatal(err)
	}
	if want := "[8:v8:3:3 9:v9:2:2 10:v10:1:1]"; fmt.Sprint(got) != want {
		t.Errorf("nested runs of one query: %v, want %s", got, want)
	}
	// An explicitly prepared statement works for several runs and its
	// Close gives it back.
	st, err := tx.PrepareContext(ctx, "UPDATE kv SET v = ? WHERE k = ?")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := st.ExecContext(ctx, "updated", i); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}

	// More distinct statements than the cache holds: evicted ones are
	// prepared again.
	for i := range stmtCacheSize + 50 {
		var v string
		q := fmt.Sprintf("SELECT v FROM kv WHERE k = ? AND %d = %d", i, i)
		if err := db.QueryRowContext(ctx, q, 1).Scan(&v); err != nil {
			t.Fatalf("statement %d: %v", i, err)
		}
		if v != "updated" {
			t.Fatalf("statement %d read %q", i, v)
		}
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM kv WHERE v = ?", "updated").Scan(&n); err != nil || n != 3 {
		t.Fatalf("count after eviction: %d, %v; want 3", n, err)
	}
}
