// Package sqlstore implements persistence.Store once, on database/sql, for
// every SQL backend. What differs between SQLite, PostgreSQL and MySQL is
// isolated behind Dialect; a backend package supplies a Dialect, its schema
// files and the *sql.DB handles, and nothing else.
//
// Every statement in this package is written with '?' placeholders and
// passed through Dialect.Rebind, and uses only SQL that the three databases
// share (no RETURNING, no row-value comparisons, no upsert outside
// Dialect.InsertIgnore).
//
// Conditions are checked through RowsAffected, which must count matched
// rows: a MySQL DSN needs clientFoundRows=true.
package sqlstore

import (
	"context"
	"database/sql"
)

// ErrorClass sorts a driver error into what the store must do about it.
type ErrorClass int

const (
	// ClassOther is every error the store cannot interpret: it is returned
	// wrapped with context.
	ClassOther ErrorClass = iota
	// ClassUniqueViolation is a primary-key or unique-index violation; the
	// store maps it to the method's "already exists" outcome.
	ClassUniqueViolation
	// ClassTransient is a failure that may go away on its own (busy,
	// locked, lost connection, I/O trouble, serialization failure,
	// deadlock). The statement did not take effect; before COMMIT the store
	// retries the whole transaction a few times and then returns
	// *persistence.UnavailableError.
	ClassTransient
)

// Dialect is everything that differs between the SQL backends. An
// implementation must be safe for concurrent use and is usually a stateless
// value.
type Dialect interface {
	// Name identifies the dialect in errors and logs ("sqlite",
	// "postgres", "mysql").
	Name() string

	// Rebind rewrites a statement written with '?' placeholders into the
	// dialect's placeholder style ($1, $2, … on PostgreSQL). The statements
	// of this package never contain '?' inside string literals.
	Rebind(query string) string

	// InsertIgnore returns an INSERT of one row of columns into table (with
	// '?' placeholders, in column order) that does nothing, without error,
	// when a row with the same keyColumns already exists. SQLite and
	// PostgreSQL use ON CONFLICT (...) DO NOTHING; MySQL uses ON DUPLICATE
	// KEY UPDATE k = k (not INSERT IGNORE, which also swallows other
	// errors).
	InsertIgnore(table string, columns, keyColumns []string) string

	// SharedLockClause is appended to the SELECT that reads a fence row
	// (shard or task-queue range_id) inside a write transaction. It must
	// make a concurrent UPDATE of that row wait until the transaction ends,
	// so a fenced write either commits before the owner changes or sees the
	// new range_id: "FOR SHARE" on PostgreSQL, "LOCK IN SHARE MODE" on
	// MySQL, "" on SQLite, whose write transactions are already serialized.
	SharedLockClause() string

	// Classify sorts an error returned by the driver. It is never given
	// nil, and must look through wrapping (errors.As).
	Classify(err error) ErrorClass

	// BeginWrite starts a transaction that will write. On SQLite it must
	// take the write lock at BEGIN (BEGIN IMMEDIATE), so two writers never
	// both read and then fail to upgrade; on the server databases it is a
	// READ COMMITTED transaction, the fence's shared lock and the
	// conditional updates giving the isolation the store needs.
	BeginWrite(ctx context.Context, db *sql.DB) (*sql.Tx, error)

	// TableExistsQuery returns a query with one '?' placeholder, the table
	// name, whose single row and column is the number of tables of that
	// name in the current database/schema (0 or 1).
	TableExistsQuery() string
}
