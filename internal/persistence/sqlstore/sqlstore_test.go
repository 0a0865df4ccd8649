package sqlstore

import (
	"math"
	"testing"
	"testing/fstest"
	"time"
)

func TestLoadMigrations(t *testing.T) {
	fsys := fstest.MapFS{
		"v2.sql":    {Data: []byte("-- second\nCREATE TABLE b (x INTEGER);\n")},
		"v1.sql":    {Data: []byte("-- first\nCREATE TABLE a (\n  x INTEGER\n);\n\nCREATE INDEX a_x ON a (x);\nINSERT INTO a VALUES (1)")},
		"README.md": {Data: []byte("not a migration")},
	}
	ms, err := LoadMigrations(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Version != 1 || ms[1].Version != 2 || LatestVersion(ms) != 2 {
		t.Fatalf("migrations %+v", ms)
	}
	want := []string{"CREATE TABLE a (\n  x INTEGER\n);", "CREATE INDEX a_x ON a (x);", "INSERT INTO a VALUES (1)"}
	if len(ms[0].Statements) != len(want) {
		t.Fatalf("v1 statements %q, want %q", ms[0].Statements, want)
	}
	for i := range want {
		if ms[0].Statements[i] != want[i] {
			t.Errorf("statement %d = %q, want %q", i, ms[0].Statements[i], want[i])
		}
	}

	if _, err := LoadMigrations(fstest.MapFS{"v1.sql": {}, "v3.sql": {}}); err == nil {
		t.Error("a gap in versions was accepted")
	}
	if _, err := LoadMigrations(fstest.MapFS{"v2.sql": {}}); err == nil {
		t.Error("migrations not starting at v1 were accepted")
	}
	if _, err := LoadMigrations(fstest.MapFS{}); err == nil {
		t.Error("no migrations was accepted")
	}
}

func TestTimeEncoding(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 6, time.FixedZone("x", 3600))
	if got := decodeTime(encodeTime(now)); !got.Equal(now) || got.Location() != time.UTC {
		t.Errorf("round trip of %v = %v", now, got)
	}
	if n := encodeTime(time.Time{}); n != 0 {
		t.Errorf("zero time encodes as %d, want 0", n)
	}
	if !decodeTime(0).IsZero() {
		t.Error("0 does not decode to the zero time")
	}
	if n := encodeTime(time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC)); n != math.MinInt64+1 {
		t.Errorf("year 1000 encodes as %d, want the clamp", n)
	}
	if n := encodeTime(time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)); n != math.MaxInt64-1 {
		t.Errorf("year 3000 encodes as %d, want the clamp", n)
	}
	a, b := encodeTime(now), encodeTime(now.Add(time.Nanosecond))
	if a >= b {
		t.Errorf("encoding does not preserve order: %d >= %d", a, b)
	}
}
