// Package mysql is the MySQL 8 / MariaDB store: persistence.Store through
// the shared SQL layer (sqlstore) on go-sql-driver/mysql.
//
// Connections use clientFoundRows and interpolateParams (one round trip
// per statement), so an UPDATE's RowsAffected counts the
// rows it matched (the store's conditions depend on it), and transactions
// run at READ COMMITTED with the fences reading range_id LOCK IN SHARE
// MODE. Lock waits are bounded by innodb_lock_wait_timeout (10 s), after
// which the statement fails as transient. MySQL DDL is not transactional:
// the embedded migrations are written to be re-runnable.
package mysql

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"net"
	"time"

	drv "github.com/go-sql-driver/mysql"

	"github.com/sundialhq/sundial/internal/persistence"
	"github.com/sundialhq/sundial/internal/persistence/sqlstore"
)

//go:embed schema/*.sql
var schemaFS embed.FS

// Options configure a connection; see sqlstore.ServerOptions. Attributes
// become session variables (SET name = value, value as written, so quote
// strings: tx_isolation: "'READ-COMMITTED'").
type Options = sqlstore.ServerOptions

// sessionDefaults are session variables set on every connection unless
// Options.Attributes overrides them.
var sessionDefaults = map[string]string{
	"innodb_lock_wait_timeout": "10",
}

// Store is a persistence.Store on MySQL or MariaDB.
type Store struct {
	*sqlstore.Store
}

var _ persistence.Store = (*Store)(nil)

// Migrations returns MySQL's schema steps embedded in the binary.
func Migrations() ([]sqlstore.Migration, error) {
	sub, err := fs.Sub(schemaFS, "schema")
	if err != nil {
		return nil, fmt.Errorf("mysql: embedded schema: %w", err)
	}
	return sqlstore.LoadMigrations(sub)
}

// OpenDB returns a connection pool for o without touching the schema.
// Connections are made lazily.
func OpenDB(o Options) (*sql.DB, error) {
	cfg, err := driverConfig(o)
	if err != nil {
		return nil, err
	}
	conn, err := drv.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("mysql: %w", err)
	}
	db := sql.OpenDB(conn)
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
	s, err := sqlstore.OpenServerStore(ctx, db, Dialect{}, ms, o, nil)
	if err != nil {
		return nil, fmt.Errorf("mysql %s/%s: %w", o.Addr, o.Database, err)
	}
	return &Store{Store: s}, nil
}

func driverConfig(o Options) (*drv.Config, error) {
	if o.Database == "" {
		return nil, sqlstore.ErrNoDatabase
	}
	host, _, err := net.SplitHostPort(o.Addr)
	if err != nil {
		return nil, fmt.Errorf("mysql: connectAddr %q: want host:port: %w", o.Addr, err)
	}
	cfg := drv.NewConfig()
	cfg.Net, cfg.Addr, cfg.DBName = "tcp", o.Addr, o.Database
	cfg.User, cfg.Passwd = o.User, o.Password
	cfg.ClientFoundRows = true
	// Arguments are interpolated by the driver (escaped for the
	// connection's utf8mb4 collation; the driver refuses the unsafe
	// multibyte ones): a statement is then one round trip instead of a
	// server-side prepare, an execute and a close.
	cfg.InterpolateParams = true
	cfg.Timeout = 5 * time.Second
	cfg.Params = map[string]string{}
	for k, v := range sessionDefaults {
		cfg.Params[k] = v
	}
	for k, v := range o.Attributes {
		cfg.Params[k] = v
	}
	if cfg.TLS, err = o.TLS.Config(host); err != nil {
		return nil, fmt.Errorf("mysql: %w", err)
	}
	if o.Dial != nil {
		cfg.DialFunc = o.Dial
	}
	return cfg, nil
}
