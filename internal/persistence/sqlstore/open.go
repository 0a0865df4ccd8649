package sqlstore

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"
)

// ServerOptions is what the server databases (PostgreSQL, MySQL) share:
// how to reach them, how big the pool is and whether the schema may be
// migrated on open. The backend packages turn it into a driver DSN.
type ServerOptions struct {
	// Addr is host:port.
	Addr     string
	Database string
	User     string
	Password string
	// Attributes are extra connection parameters passed to the driver as
	// they are (PostgreSQL run-time parameters, MySQL DSN parameters).
	Attributes map[string]string
	TLS        *TLSOptions
	// MaxConns bounds open connections (default 20); MaxIdleConns idle
	// ones (default MaxConns); MaxConnLifetime recycles connections
	// (default 1h; negative means never).
	MaxConns        int
	MaxIdleConns    int
	MaxConnLifetime time.Duration
	// SkipMigration refuses to open a database whose schema is not the
	// latest instead of migrating it (operators who run `sundial schema`
	// themselves).
	SkipMigration bool
	Logger        *slog.Logger
	// Dial, if set, opens the network connections (tests count round
	// trips with it); nil dials TCP.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// TLSOptions mirrors Temporal's persistence tls block.
type TLSOptions struct {
	Enabled                bool
	CAFile                 string
	CertFile               string
	KeyFile                string
	ServerName             string
	EnableHostVerification bool
}

// Config builds a *tls.Config, or nil when TLS is off.
func (o *TLSOptions) Config(host string) (*tls.Config, error) {
	if o == nil || !o.Enabled {
		return nil, nil
	}
	c := &tls.Config{ServerName: o.ServerName, MinVersion: tls.VersionTLS12}
	if c.ServerName == "" {
		c.ServerName = host
	}
	// Without host verification the chain is still checked when a CA is
	// given; only the name is not (Temporal's meaning of the flag).
	c.InsecureSkipVerify = !o.EnableHostVerification
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls caFile: %w", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls caFile %s: no PEM certificates", o.CAFile)
		}
	}
	if o.CertFile != "" || o.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls certFile/keyFile: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// ConfigurePool applies the pool bounds of o to db.
func (o ServerOptions) ConfigurePool(db *sql.DB) {
	maxConns := o.MaxConns
	if maxConns <= 0 {
		maxConns = 20
	}
	idle := o.MaxIdleConns
	if idle <= 0 || idle > maxConns {
		idle = maxConns
	}
	life := o.MaxConnLifetime
	switch {
	case life == 0:
		life = time.Hour
	case life < 0:
		life = 0
	}
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(idle)
	db.SetConnMaxLifetime(life)
	// Idle connections are dropped before typical server or proxy idle
	// timeouts, so a quiet server does not find them all dead.
	db.SetConnMaxIdleTime(5 * time.Minute)
}

// OpenServerStore brings db's schema to the latest of ms (or, with
// o.SkipMigration, checks that it is the latest) and returns a Store that
// owns db. On error db is closed. The retry policy suits a network
// database: four attempts with 50 ms, 100 ms, 200 ms waits.
//
// The store is a ServerDatabase (fewer round trips); pipeline, if not nil,
// is the fast path of execution writes (Config.Pipeline).
func OpenServerStore(ctx context.Context, db *sql.DB, d Dialect, ms []Migration, o ServerOptions, pipeline Pipeline) (*Store, error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	err := openSchema(ctx, db, d, ms, o.SkipMigration, log)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	s, err := New(Config{Dialect: d, WriteDB: db, Logger: log, Attempts: 4, RetryBackoff: 50 * time.Millisecond,
		Pipeline: pipeline, ServerDatabase: true})
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return s, nil
}

func openSchema(ctx context.Context, db *sql.DB, d Dialect, ms []Migration, skip bool, log *slog.Logger) error {
	if err := db.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlstore: connect to %s: %w", d.Name(), err)
	}
	if skip {
		return SchemaStatus(ctx, db, d, ms)
	}
	from, to, err := Migrate(ctx, db, d, ms, log)
	if err != nil {
		return err
	}
	if from != to {
		log.Info("sqlstore: schema migrated", "dialect", d.Name(), "from", from, "to", to)
	}
	return nil
}

// ErrNoDatabase is returned by the backends' Open when Options name no
// database.
var ErrNoDatabase = errors.New("sqlstore: databaseName is required")
