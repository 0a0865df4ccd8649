package sqlite

import (
	"container/list"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"reflect"

	msqlite "modernc.org/sqlite"
)

// Statement cache. database/sql hands a statement run with arguments
// straight to the driver's ExecContext/QueryContext, and the driver parses
// and compiles it every time: that was about a sixth of the server's CPU
// under load, for the same few dozen statements. A cachingConn keeps each
// connection's compiled statements (modernc.org/sqlite keeps the compiled
// SQLite statement in its driver.Stmt and resets it between runs) and
// reuses them.
//
// A cached statement is lent to one use at a time: a query's statement is
// busy until its rows are closed, so a second run of the same SQL while
// the first rows are open (possible inside a transaction) gets a fresh,
// uncached statement. database/sql never uses a driver.Conn from two
// goroutines at once, and closes rows under the connection's lock, so the
// cache needs no lock of its own.

// stmtCacheSize bounds the statements cached per connection: Sundial's
// statements are constants, except visibility queries, whose variety the
// LRU order keeps from pushing the hot statements out.
const stmtCacheSize = 256

// openCached is sql.Open("sqlite", dsn) with the statement cache.
func openCached(dsn string) (*sql.DB, error) {
	c, err := msqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(cachingConnector{c}), nil
}

type cachingConnector struct{ inner driver.Connector }

func (c cachingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	full, ok := conn.(fullConn)
	if !ok {
		_ = conn.Close()
		return nil, errors.New("sqlite: driver connection lacks the context methods the statement cache needs")
	}
	return &cachingConn{fullConn: full, stmts: map[string]*list.Element{}, lru: list.New()}, nil
}

func (c cachingConnector) Driver() driver.Driver { return c.inner.Driver() }

// fullConn is the modernc.org/sqlite connection's method set that
// database/sql uses.
type fullConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// contextStmt is the modernc.org/sqlite statement's method set.
type contextStmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

type cachingConn struct {
	fullConn
	stmts map[string]*list.Element // query -> element of lru holding *cachedStmt
	lru   *list.List               // front: most recently used
}

type cachedStmt struct {
	query string
	st    contextStmt
	busy  bool
}

var _ fullConn = (*cachingConn)(nil)

// lease returns a compiled statement for query and the function that
// gives it back (for an uncached one: closes it).
func (c *cachingConn) lease(ctx context.Context, query string) (contextStmt, func() error, error) {
	if el, ok := c.stmts[query]; ok {
		cs := el.Value.(*cachedStmt)
		if !cs.busy {
			cs.busy = true
			c.lru.MoveToFront(el)
			return cs.st, func() error { cs.busy = false; return nil }, nil
		}
		st, err := c.prepare(ctx, query)
		if err != nil {
			return nil, nil, err
		}
		return st, st.Close, nil
	}
	st, err := c.prepare(ctx, query)
	if err != nil {
		return nil, nil, err
	}
	c.evict()
	cs := &cachedStmt{query: query, st: st, busy: true}
	c.stmts[query] = c.lru.PushFront(cs)
	return st, func() error { cs.busy = false; return nil }, nil
}

func (c *cachingConn) prepare(ctx context.Context, query string) (contextStmt, error) {
	ds, err := c.fullConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	st, ok := ds.(contextStmt)
	if !ok {
		_ = ds.Close()
		return nil, errors.New("sqlite: driver statement lacks the context methods the statement cache needs")
	}
	return st, nil
}

// evict drops least recently used idle statements until there is room for
// one more.
func (c *cachingConn) evict() {
	for el := c.lru.Back(); el != nil && len(c.stmts) >= stmtCacheSize; {
		prev := el.Prev()
		if cs := el.Value.(*cachedStmt); !cs.busy {
			_ = cs.st.Close()
			c.lru.Remove(el)
			delete(c.stmts, cs.query)
		}
		el = prev
	}
}

// ExecContext implements driver.ExecerContext with a cached statement.
func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	st, release, err := c.lease(ctx, query)
	if err != nil {
		return nil, err
	}
	res, err := st.ExecContext(ctx, args)
	return res, join(err, release())
}

// QueryContext implements driver.QueryerContext with a cached statement,
// lent until the rows are closed.
func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	st, release, err := c.lease(ctx, query)
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(ctx, args)
	if err != nil {
		return nil, join(err, release())
	}
	return &leasedRows{Rows: rows, release: release}, nil
}

// PrepareContext implements driver.ConnPrepareContext: the statement is
// lent until database/sql closes it.
func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	st, release, err := c.lease(ctx, query)
	if err != nil {
		return nil, err
	}
	return &leasedStmt{contextStmt: st, release: release}, nil
}

func (c *cachingConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

// Close closes the cached statements, then the connection.
func (c *cachingConn) Close() error {
	var errs []error
	for _, el := range c.stmts {
		errs = append(errs, el.Value.(*cachedStmt).st.Close())
	}
	c.stmts, c.lru = map[string]*list.Element{}, list.New()
	return errors.Join(errors.Join(errs...), c.fullConn.Close())
}

// join returns err itself unless giving the statement back failed too,
// so driver errors reach callers unwrapped.
func join(err, releaseErr error) error {
	if releaseErr == nil {
		return err
	}
	return errors.Join(err, releaseErr)
}

// leasedStmt is a lent statement whose Close gives it back.
type leasedStmt struct {
	contextStmt
	release func() error
	closed  bool
}

func (s *leasedStmt) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	return s.release()
}

// leasedRows gives its statement back when closed.
type leasedRows struct {
	driver.Rows
	release func() error
	closed  bool
}

func (r *leasedRows) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	return join(r.Rows.Close(), r.release())
}

// The column-type methods of modernc.org/sqlite's rows, passed through.

func (r *leasedRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *leasedRows) ColumnTypeLength(i int) (int64, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeLength); ok {
		return t.ColumnTypeLength(i)
	}
	return 0, false
}

func (r *leasedRows) ColumnTypeNullable(i int) (bool, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeNullable); ok {
		return t.ColumnTypeNullable(i)
	}
	return false, false
}

func (r *leasedRows) ColumnTypePrecisionScale(i int) (int64, int64, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypePrecisionScale); ok {
		return t.ColumnTypePrecisionScale(i)
	}
	return 0, 0, false
}

func (r *leasedRows) ColumnTypeScanType(i int) reflect.Type {
	if t, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}
