package postgres

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sundialhq/sundial/internal/persistence/sqlstore"
)

// Dialect is PostgreSQL's sqlstore.Dialect.
type Dialect struct{}

var (
	_ sqlstore.Dialect         = Dialect{}
	_ sqlstore.MigrationLocker = Dialect{}
)

// Name implements sqlstore.Dialect.
func (Dialect) Name() string { return "postgres" }

// Rebind implements sqlstore.Dialect: '?' becomes $1, $2, …
func (Dialect) Rebind(query string) string {
	if !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for _, r := range query {
		if r != '?' {
			b.WriteRune(r)
			continue
		}
		n++
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(n))
	}
	return b.String()
}

// InsertIgnore implements sqlstore.Dialect.
func (Dialect) InsertIgnore(table string, columns, keyColumns []string) string {
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(columns)), ", ")
	return "INSERT INTO " + table + " (" + strings.Join(columns, ", ") + ") VALUES (" + marks +
		") ON CONFLICT (" + strings.Join(keyColumns, ", ") + ") DO NOTHING"
}

// SharedLockClause implements sqlstore.Dialect.
func (Dialect) SharedLockClause() string { return "FOR SHARE" }

// Classify implements sqlstore.Dialect by SQLSTATE: unique_violation is
// 23505; transient are connection exceptions (class 08), serialization
// failures and deadlocks (40001, 40P01), insufficient resources (53),
// operator intervention such as a server shutting down or a statement or
// lock timeout (57, 55P03), system errors (58) and any failure pgconn
// itself deems safe to retry or a timeout. A failed connect is transient.
func (Dialect) Classify(err error) sqlstore.ErrorClass {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "23505":
			return sqlstore.ClassUniqueViolation
		case pe.Code == "40001", pe.Code == "40P01", pe.Code == "55P03", pe.Code == "25P03",
			strings.HasPrefix(pe.Code, "08"), strings.HasPrefix(pe.Code, "53"),
			strings.HasPrefix(pe.Code, "57"), strings.HasPrefix(pe.Code, "58"):
			return sqlstore.ClassTransient
		}
		return sqlstore.ClassOther
	}
	var ce *pgconn.ConnectError
	// SafeToRetry also covers a connection pgx already closed after a
	// fatal error ("conn closed").
	if errors.As(err, &ce) || pgconn.SafeToRetry(err) || pgconn.Timeout(err) || sqlstore.NetworkError(err) {
		return sqlstore.ClassTransient
	}
	return sqlstore.ClassOther
}

// BeginWrite implements sqlstore.Dialect.
func (Dialect) BeginWrite(ctx context.Context, db *sql.DB) (*sql.Tx, error) {
	return db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
}

// TableExistsQuery implements sqlstore.Dialect.
func (Dialect) TableExistsQuery() string {
	return "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?"
}

// migrationLockKey is an arbitrary constant naming Sundial's migration
// advisory lock.
const migrationLockKey = 0x53756e6469616c // "Sundial"

// MigrationLockStatement implements sqlstore.MigrationLocker.
func (Dialect) MigrationLockStatement() string {
	return "SELECT pg_advisory_xact_lock(" + strconv.Itoa(migrationLockKey) + ")"
}
