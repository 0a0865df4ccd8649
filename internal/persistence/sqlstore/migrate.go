package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Migration takes a database's schema from Version-1 to Version.
type Migration struct {
	Version int
	// Statements run in order, in one transaction on databases with
	// transactional DDL (SQLite, PostgreSQL). MySQL commits each DDL
	// statement on its own, so its migrations must be written to be
	// re-runnable (IF NOT EXISTS).
	Statements []string
}

var migrationName = regexp.MustCompile(`^v([1-9][0-9]*)\.sql$`)

// LoadMigrations reads the files v1.sql, v2.sql, … at the root of fsys.
// Versions must be contiguous from 1. A file is split into statements at
// each ';' that ends a line; lines starting with "--" are comments. (So a
// statement must not contain a line ending in ';' of its own, e.g. a
// trigger body.)
func LoadMigrations(fsys fs.FS) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("sqlstore: read migrations: %w", err)
	}
	var ms []Migration
	for _, e := range entries {
		m := migrationName.FindStringSubmatch(e.Name())
		if e.IsDir() || m == nil {
			continue
		}
		v, _ := strconv.Atoi(m[1]) // the pattern guarantees digits
		text, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, fmt.Errorf("sqlstore: read migration %s: %w", e.Name(), err)
		}
		ms = append(ms, Migration{Version: v, Statements: splitStatements(string(text))})
	}
	if len(ms) == 0 {
		return nil, errors.New("sqlstore: no migrations (v1.sql, v2.sql, …) found")
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i, m := range ms {
		if m.Version != i+1 {
			return nil, fmt.Errorf("sqlstore: migrations must be v1..vN without gaps; found v%d at position %d", m.Version, i+1)
		}
	}
	return ms, nil
}

func splitStatements(text string) []string {
	var out []string
	var cur strings.Builder
	for line := range strings.Lines(text) {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "--") {
			continue
		}
		cur.WriteString(line)
		if strings.HasSuffix(trimmed, ";") {
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
		}
	}
	if rest := strings.TrimSpace(cur.String()); rest != "" {
		out = append(out, rest)
	}
	return out
}

// LatestVersion is the version a database has after all of ms ran.
func LatestVersion(ms []Migration) int { return len(ms) }

// ReadSchemaVersion returns the schema version recorded in db, 0 when the
// database has no schema yet. It changes nothing.
func ReadSchemaVersion(ctx context.Context, db *sql.DB, d Dialect) (int, error) {
	var n int
	if err := db.QueryRowContext(ctx, d.Rebind(d.TableExistsQuery()), "schema_version").Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlstore: look for schema_version: %w", err)
	}
	if n == 0 {
		return 0, nil
	}
	return readVersion(ctx, db)
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func readVersion(ctx context.Context, q queryer) (int, error) {
	var v sql.NullInt64
	if err := q.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_version").Scan(&v); err != nil {
		return 0, fmt.Errorf("sqlstore: read schema_version: %w", err)
	}
	return int(v.Int64), nil
}

// Migrate brings db's schema to the latest of ms, one migration per write
// transaction, and returns the version it found and the version it left.
// Concurrent Migrate calls on one database are safe where BeginWrite
// serializes them (SQLite). A database whose version is newer than ms is
// refused: an older binary must not write a schema it does not know.
func Migrate(ctx context.Context, db *sql.DB, d Dialect, ms []Migration, log *slog.Logger) (from, to int, err error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	latest := LatestVersion(ms)
	from = -1
	for {
		done, v, err := migrateOne(ctx, db, d, ms)
		if err != nil {
			return from, v, err
		}
		if from < 0 {
			from = v
			if done && v > latest {
				return from, v, fmt.Errorf("sqlstore: database schema version %d is newer than this binary's %d; upgrade sundial", v, latest)
			}
		}
		if done {
			return from, v, nil
		}
		log.Info("sqlstore: schema migrated", "dialect", d.Name(), "version", v+1)
	}
}

// MigrationLocker is an optional Dialect capability for databases shared
// by several processes: MigrationLockStatement is run first in every
// migration transaction and must block until no other migration
// transaction holds the lock, releasing it at the transaction's end
// (PostgreSQL: pg_advisory_xact_lock). Without it, two processes migrating
// one database at once may both fail a statement; a restart then finishes.
type MigrationLocker interface {
	MigrationLockStatement() string
}

// SchemaStatus compares db's recorded schema version with ms: nil when it
// is the latest; otherwise an error that says both versions and what to do.
// It changes nothing, so a server started with automatic migration turned
// off uses it to refuse an old (or newer) schema.
func SchemaStatus(ctx context.Context, db *sql.DB, d Dialect, ms []Migration) error {
	v, err := ReadSchemaVersion(ctx, db, d)
	if err != nil {
		return err
	}
	latest := LatestVersion(ms)
	switch {
	case v == 0:
		return fmt.Errorf("sqlstore: the %s database has no Sundial schema (this binary's is version %d); run `sundial schema setup` or allow automatic migration", d.Name(), latest)
	case v < latest:
		return fmt.Errorf("sqlstore: the %s database schema is version %d, this binary needs %d; run `sundial schema update` or allow automatic migration", d.Name(), v, latest)
	case v > latest:
		return fmt.Errorf("sqlstore: database schema version %d is newer than this binary's %d; upgrade sundial", v, latest)
	}
	return nil
}

// migrateOne applies the first migration the database lacks. It reports
// done (nothing to apply) and the version found before applying.
func migrateOne(ctx context.Context, db *sql.DB, d Dialect, ms []Migration) (done bool, found int, err error) {
	tx, err := d.BeginWrite(ctx, db)
	if err != nil {
		return false, 0, fmt.Errorf("sqlstore: migrate: begin: %w", err)
	}
	defer func() {
		if err != nil || done {
			_ = tx.Rollback() // nothing to keep
		}
	}()
	if l, ok := d.(MigrationLocker); ok {
		if _, err := tx.ExecContext(ctx, l.MigrationLockStatement()); err != nil {
			return false, 0, fmt.Errorf("sqlstore: migrate: take the migration lock: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"); err != nil {
		return false, 0, fmt.Errorf("sqlstore: create schema_version: %w", err)
	}
	found, err = readVersion(ctx, tx)
	if err != nil {
		return false, 0, err
	}
	if found >= LatestVersion(ms) {
		return true, found, nil
	}
	m := ms[found]
	for i, stmt := range m.Statements {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return false, found, fmt.Errorf("sqlstore: migration v%d statement %d: %w", m.Version, i+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM schema_version"); err != nil {
		return false, found, fmt.Errorf("sqlstore: migration v%d: clear version: %w", m.Version, err)
	}
	if _, err := tx.ExecContext(ctx, d.Rebind("INSERT INTO schema_version (version) VALUES (?)"), m.Version); err != nil {
		return false, found, fmt.Errorf("sqlstore: migration v%d: record version: %w", m.Version, err)
	}
	if err := tx.Commit(); err != nil {
		return false, found, fmt.Errorf("sqlstore: migration v%d: commit: %w", m.Version, err)
	}
	return false, found, nil
}
