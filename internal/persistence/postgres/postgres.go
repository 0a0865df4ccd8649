// Package postgres is the PostgreSQL store: persistence.Store through the
// shared SQL layer (sqlstore) on jackc/pgx/v5's database/sql driver.
//
// Transactions run at READ COMMITTED; the shard and task-queue fences read
// their range_id FOR SHARE, so a concurrent AcquireShard waits for every
// fenced write in flight and a write either commits before the owner
// changes or sees the new range_id.
//
// Every session sets idle_in_transaction_session_timeout: a process that
// stalls inside a transaction (paused, partitioned) has its session ended
// by the server, which releases its locks so another owner can take its
// shards. Its write then fails and never commits.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"sort"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/sundialhq/sundial/internal/persistence"
	"github.com/sundialhq/sundial/internal/persistence/sqlstore"
)

//go:embed schema/*.sql
var schemaFS embed.FS

// Options configure a connection; see sqlstore.ServerOptions.
type Options = sqlstore.ServerOptions

// sessionDefaults are run-time parameters set on every connection unless
// Options.Attributes overrides them.
var sessionDefaults = map[string]string{
	"application_name":                    "sundial",
	"idle_in_transaction_session_timeout": "10s",
}

// Store is a persistence.Store on PostgreSQL.
type Store struct {
	*sqlstore.Store
}

var _ persistence.Store = (*Store)(nil)

// Migrations returns PostgreSQL's schema steps embedded in the binary.
func Migrations() ([]sqlstore.Migration, error) {
	sub, err := fs.Sub(schemaFS, "schema")
	if err != nil {
		return nil, fmt.Errorf("postgres: embedded schema: %w", err)
	}
	return sqlstore.LoadMigrations(sub)
}

// OpenDB returns a connection pool for o without touching the schema (for
// `sundial schema`). Connections are made lazily.
func OpenDB(o Options) (*sql.DB, error) {
	cfg, err := connConfig(o)
	if err != nil {
		return nil, err
	}
	db := stdlib.OpenDB(*cfg)
	o.ConfigurePool(db)
	return db, nil
}

// Open connects, migrates the schema forward (or with o.SkipMigration
// checks it is the latest) and returns the store.
func Open(ctx context.Context, o Options) (*Store, error) {
	ms, err := Migrations()
	if err != nil {
		return nil, err
	}
	db, err := OpenDB(o)
	if err != nil {
		return nil, err
	}
	s, err := sqlstore.OpenServerStore(ctx, db, Dialect{}, ms, o, pipeline(db))
	if err != nil {
		return nil, fmt.Errorf("postgres %s/%s: %w", o.Addr, o.Database, err)
	}
	return &Store{Store: s}, nil
}

// connConfig builds pgx's configuration: a URL for the basics and
// attributes, then the TLS settings.
func connConfig(o Options) (*pgx.ConnConfig, error) {
	if o.Database == "" {
		return nil, sqlstore.ErrNoDatabase
	}
	host, _, err := net.SplitHostPort(o.Addr)
	if err != nil {
		return nil, fmt.Errorf("postgres: connectAddr %q: want host:port: %w", o.Addr, err)
	}
	u := url.URL{Scheme: "postgres", Host: o.Addr, Path: "/" + o.Database}
	if o.User != "" {
		u.User = url.UserPassword(o.User, o.Password)
	}
	q := url.Values{}
	for k, v := range sessionDefaults {
		q.Set(k, v)
	}
	q.Set("connect_timeout", "5")
	q.Set("sslmode", "disable")
	keys := make([]string, 0, len(o.Attributes))
	for k := range o.Attributes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		q.Set(k, o.Attributes[k])
	}
	u.RawQuery = q.Encode()
	cfg, err := pgx.ParseConfig(u.String())
	if err != nil {
		return nil, fmt.Errorf("postgres: connection settings: %w", err)
	}
	tlsCfg, err := o.TLS.Config(host)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if tlsCfg != nil {
		cfg.TLSConfig = tlsCfg
		cfg.Fallbacks = nil
	}
	if o.Dial != nil {
		cfg.DialFunc = o.Dial
	}
	return cfg, nil
}
