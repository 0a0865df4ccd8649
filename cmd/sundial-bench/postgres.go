package main

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// createDatabase creates database name under the PostgreSQL server of
// dsn and returns a function that drops it again.
func createDatabase(ctx context.Context, dsn, name string) (drop func() error, err error) {
	exec := func(ctx context.Context, sql string) error {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return fmt.Errorf("connecting to %s: %w", redact(dsn), err)
		}
		defer conn.Close(context.Background())
		_, err = conn.Exec(ctx, sql)
		return err
	}
	ident := pgx.Identifier{name}.Sanitize()
	if err := exec(ctx, "CREATE DATABASE "+ident); err != nil {
		return nil, fmt.Errorf("creating database %s: %w", name, err)
	}
	return func() error {
		return exec(context.Background(), "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)")
	}, nil
}

// redact hides a DSN's password in messages.
func redact(dsn string) string {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return "the --postgres server"
	}
	return fmt.Sprintf("%s@%s:%d", cfg.User, cfg.Host, cfg.Port)
}
