// Package sqlite is Sundial's embedded store: persistence.Store on a SQLite
// file through the pure-Go modernc.org/sqlite driver (no cgo).
//
// Durability: the database runs in WAL mode with synchronous=FULL, so every
// acknowledged commit has been fsynced to the WAL and survives kill -9 and
// power loss.
//
// Connections: one write connection (every write transaction is BEGIN
// IMMEDIATE on it, so writers queue in Go rather than spinning on
// SQLITE_BUSY) and a small pool of query_only read connections, which WAL
// lets run alongside the writer. ":memory:" uses one shared connection for
// everything, since each connection to ":memory:" is a separate database.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/sundialhq/sundial/internal/persistence"
	"github.com/sundialhq/sundial/internal/persistence/sqlstore"
)

// MemoryPath opens a private in-memory database.
const MemoryPath = ":memory:"

const (
	// busyTimeout bounds SQLite's own wait for another process's lock;
	// sqlstore retries a timed-out transaction twice more.
	busyTimeout = 5 * time.Second
	readConns   = 4
	openTimeout = time.Minute
)

//go:embed schema/*.sql
var schemaFS embed.FS

// Store is a persistence.Store on SQLite. Beyond the interface it offers
// SchemaVersion.
type Store struct {
	*sqlstore.Store
	ckpt *checkpointer // nil for ":memory:"
}

// Close stops the checkpointer and closes the database.
func (s *Store) Close() error {
	var err error
	if s.ckpt != nil {
		err = s.ckpt.stop()
	}
	return errors.Join(err, s.Store.Close())
}

var _ persistence.Store = (*Store)(nil)

// Migrations returns SQLite's schema steps (v1.sql, v2.sql, … embedded in
// the binary), e.g. for printing by `sundial schema`.
func Migrations() ([]sqlstore.Migration, error) {
	sub, err := fs.Sub(schemaFS, "schema")
	if err != nil {
		return nil, fmt.Errorf("sqlite: embedded schema: %w", err)
	}
	return sqlstore.LoadMigrations(sub)
}

// LatestSchemaVersion is the schema version Open brings a database to.
func LatestSchemaVersion() int {
	ms, err := Migrations()
	if err != nil {
		panic(err) // the schema is embedded at build time; a bad one cannot ship
	}
	return sqlstore.LatestVersion(ms)
}

// Open opens (creating it and its parent directories if missing) the
// database at path, or a private in-memory database for MemoryPath, and
// migrates its schema forward to LatestSchemaVersion. A database written by
// a newer Sundial (higher schema version) is refused. logger may be nil.
func Open(path string, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("sqlite: invalid database path %q", path)
	}
	ms, err := Migrations()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), openTimeout)
	defer cancel()

	memory := path == MemoryPath
	if !memory {
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, fmt.Errorf("sqlite: create directory for %s: %w", path, err)
		}
	}
	wdb, err := openWriter(ctx, path, memory)
	if err != nil {
		return nil, err
	}
	from, to, err := sqlstore.Migrate(ctx, wdb, Dialect{}, ms, logger)
	if err != nil {
		_ = wdb.Close()
		return nil, fmt.Errorf("sqlite: %s: %w", path, err)
	}
	if from != to {
		logger.Info("sqlite: schema migrated", "path", path, "from", from, "to", to)
	}
	rdb := wdb
	if !memory {
		if rdb, err = openReaders(ctx, path); err != nil {
			_ = wdb.Close()
			return nil, err
		}
	}
	s, err := sqlstore.New(sqlstore.Config{Dialect: Dialect{}, WriteDB: wdb, ReadDB: rdb, Logger: logger, GroupCommit: true})
	if err != nil {
		_ = wdb.Close()
		if rdb != wdb {
			_ = rdb.Close()
		}
		return nil, err
	}
	st := &Store{Store: s}
	if !memory {
		if st.ckpt, err = startCheckpointer(path, logger); err != nil {
			_ = s.Close()
			return nil, err
		}
	}
	return st, nil
}

func dsn(path string, params ...string) string {
	return path + "?" + strings.Join(params, "&")
}

func busyPragma() string {
	return fmt.Sprintf("_pragma=busy_timeout(%d)", busyTimeout.Milliseconds())
}

// openWriter opens the single write connection and checks the journal mode
// took (WAL can be refused, e.g. on some network file systems).
func openWriter(ctx context.Context, path string, memory bool) (*sql.DB, error) {
	params := []string{busyPragma(), "_txlock=immediate"}
	if !memory {
		// Checkpoints run on their own connection (checkpoint.go).
		params = append(params, "_pragma=journal_mode(WAL)", "_pragma=synchronous(FULL)", "_pragma=wal_autocheckpoint(0)")
	}
	db, err := openCached(dsn(path, params...))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// One connection, never recycled: for ":memory:" the connection is the
	// database.
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	wantJournal := "wal"
	if memory {
		wantJournal = "memory"
	}
	err = checkPragma(ctx, db, "journal_mode", wantJournal)
	if err == nil && !memory {
		err = checkPragma(ctx, db, "synchronous", "2") // FULL
	}
	if err == nil && !memory {
		err = checkPragma(ctx, db, "wal_autocheckpoint", "0")
	}
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return db, nil
}

// openReaders opens the read pool. query_only makes an accidental write on
// it fail instead of racing the write connection for the lock.
func openReaders(ctx context.Context, path string) (*sql.DB, error) {
	db, err := openCached(dsn(path, busyPragma(), "_pragma=query_only(1)"))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s for reading: %w", path, err)
	}
	db.SetMaxOpenConns(readConns)
	db.SetMaxIdleConns(readConns)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sqlite: open %s for reading: %w", path, err)
	}
	return db, nil
}

func checkPragma(ctx context.Context, db *sql.DB, name, want string) error {
	var got string
	if err := db.QueryRowContext(ctx, "PRAGMA "+name).Scan(&got); err != nil {
		return fmt.Errorf("read PRAGMA %s: %w", name, err)
	}
	if !strings.EqualFold(got, want) {
		return fmt.Errorf("PRAGMA %s is %q, want %q", name, got, want)
	}
	return nil
}
