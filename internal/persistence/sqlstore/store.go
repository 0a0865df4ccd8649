package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/sundialhq/sundial/internal/persistence"
)

// Config wires a Store. WriteDB and Dialect are required.
type Config struct {
	Dialect Dialect
	// WriteDB runs every write transaction. For SQLite it is a pool of one
	// connection, so writers queue in Go instead of spinning on
	// SQLITE_BUSY.
	WriteDB *sql.DB
	// ReadDB runs single-statement reads outside transactions. Nil means
	// WriteDB. Reads inside a write transaction always use that
	// transaction, never ReadDB (with one shared connection that would
	// deadlock).
	ReadDB *sql.DB
	// Logger receives retries and migrations. Nil discards.
	Logger *slog.Logger
	// Attempts bounds how often a transaction that failed with a transient
	// error before COMMIT is run again (default 3, minimum 1). A failed
	// COMMIT is never retried: its outcome is unknown.
	Attempts int
	// RetryBackoff is the wait before the second attempt; it doubles for
	// each further one (default 10ms).
	RetryBackoff time.Duration
	// GroupCommit commits write transactions that arrive together as one
	// transaction of savepoints (see groupcommit.go). For a WriteDB of one
	// connection (SQLite), where writers queue anyway.
	GroupCommit bool
	// Pipeline, if set, is the fast path of execution writes (see
	// pipeline.go); PostgreSQL only.
	Pipeline Pipeline
	// ServerDatabase says every statement is a network round trip
	// (PostgreSQL, MySQL): completed timer tasks are deleted with one
	// statement (a row-value IN list) instead of one per task, a flush of
	// up to 256 outbox deletes and a matching task's delete are single
	// autocommitted statements (no BEGIN and COMMIT), and task inserts are
	// not prepared separately.
	ServerDatabase bool
}

// Store implements persistence.Store on database/sql. It is safe for
// concurrent use.
type Store struct {
	d       Dialect
	wdb     *sql.DB
	rdb     *sql.DB
	log     *slog.Logger
	tries   int
	backoff time.Duration
	queries sync.Map        // '?' statement -> rebound statement
	vis     visibilityStats // see visibility_stats.go
	grouped bool            // Config.GroupCommit
	group   groupWriter
	// Config.Pipeline and Config.ServerDatabase.
	pipeline Pipeline
	server   bool
}

var _ persistence.Store = (*Store)(nil)

// New returns a Store over already-opened and migrated databases. The
// Store owns the handles: Close closes them.
func New(cfg Config) (*Store, error) {
	if cfg.Dialect == nil || cfg.WriteDB == nil {
		return nil, errors.New("sqlstore: Config.Dialect and Config.WriteDB are required")
	}
	s := &Store{d: cfg.Dialect, wdb: cfg.WriteDB, rdb: cfg.ReadDB, log: cfg.Logger,
		tries: cfg.Attempts, backoff: cfg.RetryBackoff, grouped: cfg.GroupCommit,
		pipeline: cfg.Pipeline, server: cfg.ServerDatabase}
	if s.rdb == nil {
		s.rdb = s.wdb
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.tries < 1 {
		s.tries = 3
	}
	if s.backoff <= 0 {
		s.backoff = 10 * time.Millisecond
	}
	return s, nil
}

// Close closes the database handles.
func (s *Store) Close() error {
	var errR error
	if s.rdb != s.wdb {
		errR = s.rdb.Close()
	}
	return errors.Join(errR, s.wdb.Close())
}

// SchemaVersion returns the schema version recorded in the database (0 when
// no schema was ever applied).
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	return ReadSchemaVersion(ctx, s.rdb, s.d)
}

// q returns query rebound for the dialect, memoized: every statement of
// this package is a constant or one of a small bounded family (multi-row
// inserts up to insertChunk rows, transfer deletes of 2^k tasks), so the
// cache is bounded.
func (s *Store) q(query string) string {
	if v, ok := s.queries.Load(query); ok {
		return v.(string)
	}
	r := s.d.Rebind(query)
	s.queries.Store(query, r)
	return r
}

// dbErr wraps a driver error with the operation's name, inside
// *persistence.UnavailableError when it is transient. A context deadline is
// transient (the database was too slow); a cancellation is returned as is,
// wrapped, so errors.Is(err, context.Canceled) holds.
func (s *Store) dbErr(op string, err error) error {
	if err == nil {
		return nil
	}
	wrapped := fmt.Errorf("sqlstore %s: %s: %w", s.d.Name(), op, err)
	if s.transient(err) {
		return &persistence.UnavailableError{Err: wrapped}
	}
	return wrapped
}

func (s *Store) transient(err error) bool {
	switch {
	case errors.Is(err, context.Canceled):
		return false
	case errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, driver.ErrBadConn),
		errors.Is(err, sql.ErrConnDone):
		return true
	}
	return s.d.Classify(err) == ClassTransient || NetworkError(err)
}

// NetworkError reports whether err is a failure of the connection to a
// database server rather than of the statement: a dial, read or write
// error, a reset or refused connection, or a connection closed mid-reply.
// Dialects of server databases treat these as ClassTransient.
func NetworkError(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNABORTED)
}

func (s *Store) isUnique(err error) bool {
	return err != nil && s.d.Classify(err) == ClassUniqueViolation
}

// write runs fn in one write transaction and commits it. fn returns domain
// errors as they are and driver errors through s.dbErr. A transient error
// before COMMIT rolls back and runs fn again in a new transaction (fn must
// therefore have no effect outside tx); an error from COMMIT itself is
// wrapped in persistence.ErrUnknownOutcome and *persistence.UnavailableError.
func (s *Store) write(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	if s.grouped {
		return s.retry(ctx, op, func() error { return s.groupWrite(ctx, op, fn) })
	}
	return s.retry(ctx, op, func() error {
		tx, err := s.d.BeginWrite(ctx, s.wdb)
		if err != nil {
			return s.dbErr(op+": begin", err)
		}
		if err := fn(tx); err != nil {
			_ = tx.Rollback() // the error that matters is err
			return err
		}
		if err := tx.Commit(); err != nil {
			wrapped := fmt.Errorf("sqlstore %s: %s: commit: %w: %w", s.d.Name(), op, persistence.ErrUnknownOutcome, err)
			return &persistence.UnavailableError{Err: &noRetry{wrapped}}
		}
		return nil
	})
}

// read runs fn, a read on ReadDB, retrying transient failures like write.
func (s *Store) read(ctx context.Context, op string, fn func() error) error {
	return s.retry(ctx, op, fn)
}

// queryAll runs a read-only query (placeholders in the dialect-neutral
// form) and scans every row with scan; a retried read starts over.
func queryAll[T any](ctx context.Context, s *Store, op string, scan func(interface{ Scan(...any) error }) (T, error),
	query string, args ...any) ([]T, error) {
	var out []T
	err := s.read(ctx, op, func() error {
		out = out[:0]
		rows, err := s.rdb.QueryContext(ctx, s.q(query), args...)
		if err != nil {
			return s.dbErr(op, err)
		}
		defer rows.Close()
		for rows.Next() {
			v, err := scan(rows)
			if err != nil {
				return s.dbErr(op, err)
			}
			out = append(out, v)
		}
		return s.dbErr(op, rows.Err())
	})
	return out, err
}

// noRetry marks an error that must not be retried even though it is
// transient (a failed COMMIT). It is transparent to errors.Is/As.
type noRetry struct{ err error }

func (e *noRetry) Error() string { return e.err.Error() }
func (e *noRetry) Unwrap() error { return e.err }

func (s *Store) retry(ctx context.Context, op string, attempt func() error) error {
	wait := s.backoff
	for i := 1; ; i++ {
		err := attempt()
		var un *persistence.UnavailableError
		var nr *noRetry
		if err == nil || !errors.As(err, &un) || errors.As(err, &nr) || i >= s.tries || ctx.Err() != nil {
			return err
		}
		s.log.Warn("sqlstore: transient error, retrying", "op", op, "attempt", i, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		wait *= 2
	}
}

// fenceShard is the first statement of every write transaction on a
// shard's executions, history and outbox: it reads the shard's range_id
// under the dialect's shared lock and fails with
// *persistence.ShardOwnershipLostError unless it is the writer's.
func (s *Store) fenceShard(ctx context.Context, tx *sql.Tx, shardID int32, rangeID int64) error {
	var got int64
	err := tx.QueryRowContext(ctx, s.q("SELECT range_id FROM shards WHERE shard_id = ? "+s.d.SharedLockClause()),
		shardID).Scan(&got)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && got != rangeID) {
		return &persistence.ShardOwnershipLostError{ShardID: shardID, RangeID: rangeID}
	}
	return s.dbErr("read shard range_id", err)
}

// fenceTaskQueue is fenceShard for a task-queue partition.
func (s *Store) fenceTaskQueue(ctx context.Context, tx *sql.Tx, key persistence.TaskQueueKey, rangeID int64) error {
	var got int64
	err := tx.QueryRowContext(ctx, s.q("SELECT range_id FROM task_queues"+
		" WHERE namespace_id = ? AND name = ? AND kind = ? AND partition_id = ? "+s.d.SharedLockClause()),
		key.NamespaceID, key.Name, int32(key.Kind), key.Partition).Scan(&got)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && got != rangeID) {
		return &persistence.TaskQueueLeaseLostError{Key: key, RangeID: rangeID}
	}
	return s.dbErr("read task queue range_id", err)
}

func checkLimit(limit int) error {
	if limit <= 0 {
		return fmt.Errorf("sqlstore: limit must be positive, got %d", limit)
	}
	return nil
}

// Times are stored as integer Unix nanoseconds (UTC), which sort correctly
// and compare exactly on every backend. The zero time.Time is stored as 0
// and 0 reads back as the zero time. Times outside int64 nanoseconds
// (before 1678, after 2262) are clamped.
var (
	minEncodable = time.Unix(0, math.MinInt64+1)
	maxEncodable = time.Unix(0, math.MaxInt64-1)
)

func encodeTime(t time.Time) int64 {
	switch {
	case t.IsZero():
		return 0
	case t.Before(minEncodable):
		return math.MinInt64 + 1
	case t.After(maxEncodable):
		return math.MaxInt64 - 1
	}
	return t.UnixNano()
}

func decodeTime(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}
