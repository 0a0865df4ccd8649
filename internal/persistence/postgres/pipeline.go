package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/sundialhq/sundial/internal/persistence/sqlstore"
)

// pipeline returns the store's fast path (sqlstore.Pipeline): the
// statements go out as one pgx batch on a pooled connection, which pgx
// sends with a single Sync, so PostgreSQL runs them as one implicit
// transaction and answers once. Statements are prepared once per
// connection and cached by pgx.
func pipeline(db *sql.DB) sqlstore.Pipeline {
	return func(ctx context.Context, stmts []sqlstore.Statement) error {
		conn, err := db.Conn(ctx)
		if err != nil {
			return &sqlstore.PipelineError{Rejected: true, Err: err}
		}
		defer conn.Close()
		err = conn.Raw(func(dc any) error {
			c, ok := dc.(*stdlib.Conn)
			if !ok {
				return &sqlstore.PipelineError{Rejected: true, Err: fmt.Errorf("postgres: unexpected driver connection %T", dc)}
			}
			b := &pgx.Batch{}
			for _, st := range stmts {
				b.Queue(st.Query, st.Args...)
			}
			br := c.Conn().SendBatch(ctx, b)
			var err error
			for range stmts {
				if _, err = br.Exec(); err != nil {
					break
				}
			}
			return errors.Join(err, br.Close())
		})
		if err == nil {
			return nil
		}
		var pe *sqlstore.PipelineError
		if errors.As(err, &pe) {
			return err
		}
		// A server error means PostgreSQL rolled the implicit transaction
		// back; SafeToRetry means nothing was sent. Anything else (a lost
		// connection, a timeout) may have happened after the commit.
		var pgErr *pgconn.PgError
		rejected := errors.As(err, &pgErr) || pgconn.SafeToRetry(err)
		return &sqlstore.PipelineError{Rejected: rejected, Err: err}
	}
}
