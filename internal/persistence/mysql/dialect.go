package mysql

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	drv "github.com/go-sql-driver/mysql"

	"github.com/sundialhq/sundial/internal/persistence/sqlstore"
)

// Dialect is MySQL's (and MariaDB's) sqlstore.Dialect. It assumes
// connections opened by OpenDB: conditions count matched rows only with
// clientFoundRows.
type Dialect struct{}

var _ sqlstore.Dialect = Dialect{}

// Name implements sqlstore.Dialect.
func (Dialect) Name() string { return "mysql" }

// Rebind implements sqlstore.Dialect: MySQL takes '?' as is.
func (Dialect) Rebind(query string) string { return query }

// InsertIgnore implements sqlstore.Dialect. ON DUPLICATE KEY UPDATE k = k
// is a no-op on a duplicate yet, unlike INSERT IGNORE, still fails on every
// other error.
func (Dialect) InsertIgnore(table string, columns, keyColumns []string) string {
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(columns)), ", ")
	return "INSERT INTO " + table + " (" + strings.Join(columns, ", ") + ") VALUES (" + marks +
		") ON DUPLICATE KEY UPDATE " + keyColumns[0] + " = " + keyColumns[0]
}

// SharedLockClause implements sqlstore.Dialect. LOCK IN SHARE MODE is
// understood by MySQL 8 and MariaDB alike (FOR SHARE is MySQL only).
func (Dialect) SharedLockClause() string { return "LOCK IN SHARE MODE" }

// Server error numbers the store acts on.
const (
	erDupEntry             = 1062
	erDupEntryWithKeyName  = 1586
	erConCount             = 1040 // too many connections
	erServerShutdown       = 1053
	erLockWaitTimeout      = 1205
	erLockDeadlock         = 1213
	erQueryInterrupted     = 1317
	erNetReadError         = 1158
	erNetReadInterrupted   = 1159
	erNetErrorOnWrite      = 1160
	erNetWriteInterrupted  = 1161
	erConnectionKilled     = 1927 // MariaDB
	erStatementTimeout     = 1969 // MariaDB max_statement_time
	erQueryTimeout         = 3024 // MySQL max_execution_time
	erClientInteractionTmo = 4031 // MySQL: disconnected for inactivity
	crServerGone           = 2006
	crServerLost           = 2013
)

// Classify implements sqlstore.Dialect by server error number; the
// driver's "invalid connection" and network errors are transient too.
func (Dialect) Classify(err error) sqlstore.ErrorClass {
	var me *drv.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case erDupEntry, erDupEntryWithKeyName:
			return sqlstore.ClassUniqueViolation
		case erConCount, erServerShutdown, erLockWaitTimeout, erLockDeadlock, erQueryInterrupted,
			erNetReadError, erNetReadInterrupted, erNetErrorOnWrite, erNetWriteInterrupted,
			erConnectionKilled, erStatementTimeout, erQueryTimeout, erClientInteractionTmo,
			crServerGone, crServerLost:
			return sqlstore.ClassTransient
		}
		return sqlstore.ClassOther
	}
	if errors.Is(err, drv.ErrInvalidConn) || errors.Is(err, drv.ErrPktSync) || errors.Is(err, drv.ErrPktSyncMul) ||
		sqlstore.NetworkError(err) {
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
	return "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?"
}
