package tests

import (
	"os"
	"testing"

	"github.com/sundialhq/sundial/internal/config"
	"github.com/sundialhq/sundial/internal/persistence/sqltest"
	"github.com/sundialhq/sundial/internal/server"
)

// BackendEnv selects the database the SDK suite runs on: sqlite (the
// default), postgres or mysql. The server databases are reached through
// sqltest's SUNDIAL_TEST_POSTGRES / SUNDIAL_TEST_MYSQL, which must then be
// set; each test gets a database of its own.
const BackendEnv = "SUNDIAL_TEST_BACKEND"

// testBackend returns the store configuration for a new test server and,
// for SQLite, its file.
func testBackend(t *testing.T) (server.StoreConfig, string) {
	t.Helper()
	var srv sqltest.Server
	switch b := os.Getenv(BackendEnv); b {
	case "", "sqlite":
		return server.StoreConfig{Plugin: config.PluginSQLite}, t.TempDir() + "/sundial.db"
	case "postgres":
		srv = sqltest.Postgres
	case "mysql":
		srv = sqltest.MySQL
	default:
		t.Fatalf("%s=%q: want sqlite, postgres or mysql", BackendEnv, b)
	}
	if os.Getenv(srv.Env) == "" {
		t.Fatalf("%s=%s needs %s", BackendEnv, os.Getenv(BackendEnv), srv.Env)
	}
	o := srv.NewDatabase(t)
	o.MaxConns = 10
	return server.StoreConfig{Plugin: srv.Plugin, SQL: o}, ""
}
