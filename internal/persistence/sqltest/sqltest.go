// Package sqltest gives tests a fresh, empty database on the PostgreSQL
// and MySQL servers named by environment variables, so parallel tests
// never share tables. It is imported by tests only.
//
//	SUNDIAL_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test
//	SUNDIAL_TEST_MYSQL=mysql://root@127.0.0.1:3306/test
//
// The path names an existing database to connect to for CREATE DATABASE.
// A test asking for a server whose variable is unset is skipped with a
// message naming the variable. `.ci/run` always sets both.
package sqltest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sundialhq/sundial/internal/persistence/mysql"
	"github.com/sundialhq/sundial/internal/persistence/postgres"
	"github.com/sundialhq/sundial/internal/persistence/sqlstore"
)

// Environment variables naming the test servers.
const (
	PostgresEnv = "SUNDIAL_TEST_POSTGRES"
	MySQLEnv    = "SUNDIAL_TEST_MYSQL"
)

// Server is one kind of test database server.
type Server struct {
	Env    string
	Plugin string // Temporal's sql plugin name
	openDB func(sqlstore.ServerOptions) (*sql.DB, error)
	create string // CREATE DATABASE statement, %s is the name
	drop   string // DROP DATABASE statement
}

// Postgres and MySQL are the servers tests can ask for.
var (
	Postgres = Server{Env: PostgresEnv, Plugin: "postgres12", openDB: postgres.OpenDB,
		create: "CREATE DATABASE %s", drop: "DROP DATABASE IF EXISTS %s WITH (FORCE)"}
	MySQL = Server{Env: MySQLEnv, Plugin: "mysql8", openDB: mysql.OpenDB,
		create: "CREATE DATABASE %s CHARACTER SET utf8mb4", drop: "DROP DATABASE IF EXISTS %s"}
)

// Admin returns the connection options of the server's admin database,
// skipping t when the environment variable is unset.
func (s Server) Admin(t testing.TB) sqlstore.ServerOptions {
	t.Helper()
	raw := os.Getenv(s.Env)
	if raw == "" {
		t.Skipf("%s is not set: no %s server to test against (.ci/run sets it)", s.Env, s.Plugin)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || strings.Trim(u.Path, "/") == "" {
		t.Fatalf("%s=%q: want scheme://user[:password]@host:port/database", s.Env, raw)
	}
	pw, _ := u.User.Password()
	return sqlstore.ServerOptions{Addr: u.Host, Database: strings.Trim(u.Path, "/"),
		User: u.User.Username(), Password: pw, MaxConns: 2}
}

// NewDatabase creates an empty database with a random name and returns
// options that connect to it; it is dropped when t ends.
func (s Server) NewDatabase(t testing.TB) sqlstore.ServerOptions {
	t.Helper()
	admin := s.Admin(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "sundial_t_" + hex.EncodeToString(b[:])
	db, err := s.openDB(admin)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, fmt.Sprintf(s.create, name)); err != nil {
		_ = db.Close()
		t.Fatalf("%s: create database %s: %v", s.Plugin, name, err)
	}
	t.Cleanup(func() {
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, fmt.Sprintf(s.drop, name)); err != nil {
			t.Logf("%s: drop database %s: %v", s.Plugin, name, err)
		}
	})
	o := admin
	o.Database, o.MaxConns = name, 0
	return o
}

// ByPlugin returns the server for a sql plugin name (postgres12,
// postgres12_pgx, mysql8) and whether there is one.
func ByPlugin(plugin string) (Server, bool) {
	switch plugin {
	case "postgres12", "postgres12_pgx", "postgres":
		return Postgres, true
	case "mysql8", "mysql":
		return MySQL, true
	}
	return Server{}, false
}
