package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/sundialhq/sundial/internal/persistence/sqlstore"
)

// Dialect is SQLite's sqlstore.Dialect. It assumes the connections were
// opened by Open: BeginWrite relies on the DSN's _txlock=immediate.
type Dialect struct{}

var _ sqlstore.Dialect = Dialect{}

// Name implements sqlstore.Dialect.
func (Dialect) Name() string { return "sqlite" }

// Rebind implements sqlstore.Dialect: SQLite takes '?' as is.
func (Dialect) Rebind(query string) string { return query }

// InsertIgnore implements sqlstore.Dialect.
func (Dialect) InsertIgnore(table string, columns, keyColumns []string) string {
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(columns)), ", ")
	return "INSERT INTO " + table + " (" + strings.Join(columns, ", ") + ") VALUES (" + marks +
		") ON CONFLICT (" + strings.Join(keyColumns, ", ") + ") DO NOTHING"
}

// SharedLockClause implements sqlstore.Dialect: SQLite has no row locks,
// and BEGIN IMMEDIATE already serializes write transactions.
func (Dialect) SharedLockClause() string { return "" }

// Classify implements sqlstore.Dialect. SQLite reports extended result
// codes; the low byte is the primary code.
func (Dialect) Classify(err error) sqlstore.ErrorClass {
	var e *msqlite.Error
	if !errors.As(err, &e) {
		return sqlstore.ClassOther
	}
	switch code := e.Code(); code & 0xff {
	case sqlite3.SQLITE_CONSTRAINT:
		if code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY || code == sqlite3.SQLITE_CONSTRAINT_UNIQUE {
			return sqlstore.ClassUniqueViolation
		}
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_PROTOCOL,
		sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_FULL, sqlite3.SQLITE_NOMEM:
		return sqlstore.ClassTransient
	}
	return sqlstore.ClassOther
}

// BeginWrite implements sqlstore.Dialect. The write pool's DSN carries
// _txlock=immediate, so this is BEGIN IMMEDIATE: the write lock is taken
// at BEGIN, and a writer never fails to upgrade a read lock mid-transaction.
func (Dialect) BeginWrite(ctx context.Context, db *sql.DB) (*sql.Tx, error) {
	return db.BeginTx(ctx, nil)
}

// TableExistsQuery implements sqlstore.Dialect.
func (Dialect) TableExistsQuery() string {
	return "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?"
}
