package server

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/sundialhq/sundial/internal/config"
	"github.com/sundialhq/sundial/internal/persistence"
	"github.com/sundialhq/sundial/internal/persistence/mysql"
	"github.com/sundialhq/sundial/internal/persistence/postgres"
	"github.com/sundialhq/sundial/internal/persistence/sqlite"
	"github.com/sundialhq/sundial/internal/persistence/sqlstore"
)

// openStore opens the configured database, migrating its schema forward
// unless cfg.Store.SkipSchemaMigration (then an outdated schema is an
// error), and applies cfg.WrapStore.
func openStore(ctx context.Context, cfg Config, log *slog.Logger) (persistence.Store, error) {
	var store persistence.Store
	var err error
	o := cfg.Store.SQL
	o.SkipMigration, o.Logger = cfg.Store.SkipSchemaMigration, log.With("component", "sql")
	switch cfg.Store.Plugin {
	case config.PluginPostgres, config.PluginPostgresPGX:
		store, err = postgres.Open(ctx, o)
	case config.PluginMySQL:
		store, err = mysql.Open(ctx, o)
	default:
		if cfg.Store.SkipSchemaMigration {
			if err := checkSQLiteSchema(ctx, cfg.DBFilename); err != nil {
				return nil, err
			}
		}
		store, err = sqlite.Open(cfg.DBFilename, log.With("component", "sqlite"))
	}
	if err != nil {
		return nil, fmt.Errorf("opening database %s: %w", describeStore(cfg), err)
	}
	if cfg.WrapStore != nil {
		store = cfg.WrapStore(store)
	}
	return store, nil
}

// describeStore names the database for logs and errors (no password).
func describeStore(cfg Config) string {
	if cfg.Store.Plugin == config.PluginSQLite {
		return "sqlite " + cfg.DBFilename
	}
	return fmt.Sprintf("%s %s/%s", cfg.Store.Plugin, cfg.Store.SQL.Addr, cfg.Store.SQL.Database)
}

// checkSQLiteSchema refuses a SQLite file whose schema is missing or not
// the latest, without creating or changing it.
func checkSQLiteSchema(ctx context.Context, path string) error {
	if path == MemoryDB {
		return errors.New("schema migration is disabled, but an in-memory SQLite database starts empty")
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("schema migration is disabled and %s cannot be read: %w", path, err)
	}
	sch, err := OpenSchema(Config{DBFilename: path})
	if err != nil {
		return err
	}
	defer sch.Close()
	return sqlstore.SchemaStatus(ctx, sch.db, sch.d, sch.ms)
}

// Schema is a database's schema as `sundial schema` sees it: the
// migrations embedded for its dialect and a connection that has not
// touched the schema.
type Schema struct {
	db   *sql.DB
	d    sqlstore.Dialect
	ms   []sqlstore.Migration
	name string
}

// OpenSchema connects to the database cfg selects (cfg.Store, or SQLite at
// cfg.DBFilename) without creating or migrating anything.
func OpenSchema(cfg Config) (*Schema, error) {
	cfg = cfg.withDefaults()
	s := &Schema{name: describeStore(cfg)}
	var err error
	switch cfg.Store.Plugin {
	case config.PluginPostgres, config.PluginPostgresPGX:
		s.d = postgres.Dialect{}
		if s.ms, err = postgres.Migrations(); err == nil {
			s.db, err = postgres.OpenDB(cfg.Store.SQL)
		}
	case config.PluginMySQL:
		s.d = mysql.Dialect{}
		if s.ms, err = mysql.Migrations(); err == nil {
			s.db, err = mysql.OpenDB(cfg.Store.SQL)
		}
	default:
		s.d = sqlite.Dialect{}
		if s.ms, err = sqlite.Migrations(); err == nil {
			s.db, err = sql.Open("sqlite", cfg.DBFilename+"?_txlock=immediate&_pragma=busy_timeout(5000)")
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.name, err)
	}
	return s, nil
}

// Close closes the connection.
func (s *Schema) Close() error { return s.db.Close() }

// Latest is the schema version this binary brings a database to.
func (s *Schema) Latest() int { return sqlstore.LatestVersion(s.ms) }

// Version is the version recorded in the database (0: no schema).
func (s *Schema) Version(ctx context.Context) (int, error) {
	return sqlstore.ReadSchemaVersion(ctx, s.db, s.d)
}

// Print writes every migration's statements, newest last.
func (s *Schema) Print(w io.Writer) error {
	for _, m := range s.ms {
		if _, err := fmt.Fprintf(w, "-- Sundial schema v%d (%s)\n%s\n\n", m.Version, s.d.Name(), strings.Join(m.Statements, "\n\n")); err != nil {
			return err
		}
	}
	return nil
}

// Setup creates the schema in a database that has none.
func (s *Schema) Setup(ctx context.Context) (int, error) {
	v, err := s.Version(ctx)
	if err != nil {
		return 0, err
	}
	if v != 0 {
		return v, fmt.Errorf("%s already has schema version %d; use `sundial schema update`", s.name, v)
	}
	_, to, err := sqlstore.Migrate(ctx, s.db, s.d, s.ms, nil)
	return to, err
}

// Update migrates the schema from whatever version it has to the latest
// in one run, and returns both versions.
func (s *Schema) Update(ctx context.Context) (from, to int, err error) {
	return sqlstore.Migrate(ctx, s.db, s.d, s.ms, nil)
}
