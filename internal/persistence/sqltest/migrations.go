package sqltest

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/sundialhq/sundial/internal/persistence/sqlstore"
)

// Opener opens a backend's store on o (migrating unless o.SkipMigration).
type Opener func(ctx context.Context, o sqlstore.ServerOptions) (io.Closer, error)

// CheckMigrations pins a backend's schema handling: a database at every
// older version reaches the latest in one Open; with SkipMigration an old
// or missing schema is refused with both versions named and left
// untouched; a schema newer than the binary's is refused.
func (s Server) CheckMigrations(t *testing.T, d sqlstore.Dialect, ms []sqlstore.Migration, open Opener) {
	latest := sqlstore.LatestVersion(ms)
	for from := 0; from < latest; from++ {
		t.Run(fmt.Sprintf("From%d", from), func(t *testing.T) {
			o := s.NewDatabase(t)
			db, err := s.openDB(o)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			ctx := t.Context()
			if from > 0 {
				if _, _, err := sqlstore.Migrate(ctx, db, d, ms[:from], nil); err != nil {
					t.Fatalf("migrate to v%d: %v", from, err)
				}
			}
			skip := o
			skip.SkipMigration = true
			if st, err := open(ctx, skip); err == nil {
				st.Close()
				t.Fatalf("SkipMigration opened a database at version %d of %d", from, latest)
			} else if want := fmt.Sprint(latest); !strings.Contains(err.Error(), want) {
				t.Errorf("refusal %q does not name the binary's version %s", err, want)
			}
			if v, _ := sqlstore.ReadSchemaVersion(ctx, db, d); v != from {
				t.Fatalf("refused open changed the version to %d, want %d", v, from)
			}
			st, err := open(ctx, o)
			if err != nil {
				t.Fatalf("open at version %d: %v", from, err)
			}
			st.Close()
			if v, err := sqlstore.ReadSchemaVersion(ctx, db, d); err != nil || v != latest {
				t.Fatalf("version after open = %d, %v; want %d", v, err, latest)
			}
			if st, err := open(ctx, skip); err != nil {
				t.Fatalf("SkipMigration on the latest schema: %v", err)
			} else {
				st.Close()
			}
			if _, err := db.ExecContext(ctx, "UPDATE schema_version SET version = version + 1"); err != nil {
				t.Fatal(err)
			}
			if st, err := open(ctx, o); err == nil {
				st.Close()
				t.Fatal("open of a schema newer than the binary's succeeded")
			}
		})
	}
}
