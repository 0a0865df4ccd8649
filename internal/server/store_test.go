package server

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sundialhq/sundial/internal/config"
	"github.com/sundialhq/sundial/internal/persistence/sqltest"
)

// The sample configs shipped in config/ parse and translate.
func TestSampleConfigs(t *testing.T) {
	env := map[string]string{"POSTGRES_SEEDS": "db", "MYSQL_SEEDS": "db"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	want := map[string]string{"development": config.PluginSQLite, "postgres": config.PluginPostgres, "mysql": config.PluginMySQL}
	for name, plugin := range want {
		path := config.EnvFile("../../config", name)
		text, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		st, err := config.Parse(path, text, lookup)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		cfg, err := FromStatic(st)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if cfg.Store.Plugin != plugin || cfg.Port != 7233 || cfg.NumShards != 4 || cfg.HTTPAddress != "127.0.0.1:7243" {
			t.Errorf("%s: %+v", path, cfg)
		}
		if plugin != config.PluginSQLite && (cfg.Store.SQL.Addr == "" || cfg.Store.SQL.Database != "sundial") {
			t.Errorf("%s: sql %+v", path, cfg.Store.SQL)
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("%s: %v", path, err)
		}
	}
}

// services.frontend.rpc.httpPort places the HTTP API on the frontend's
// IP; without it there is none (as on the reference server).
func TestFromStaticHTTPPort(t *testing.T) {
	const store = "persistence: {defaultStore: x, datastores: {x: {sql: {pluginName: sqlite, databaseName: d}}}}\n"
	for services, want := range map[string]string{
		"": "",
		"services: {frontend: {rpc: {grpcPort: 7000}}}":                    "",
		"services: {frontend: {rpc: {httpPort: 8080, bindOnIP: 0.0.0.0}}}": "0.0.0.0:8080",
		"services: {frontend: {rpc: {httpPort: 7243}}}":                    "127.0.0.1:7243",
	} {
		st, err := config.Parse("t.yaml", []byte(store+services), func(string) (string, bool) { return "", false })
		if err != nil {
			t.Fatalf("%s: %v", services, err)
		}
		cfg, err := FromStatic(st)
		if err != nil {
			t.Fatalf("%s: %v", services, err)
		}
		if cfg.HTTPAddress != want {
			t.Errorf("%q: HTTPAddress %q, want %q", services, cfg.HTTPAddress, want)
		}
	}
	st, err := config.Parse("t.yaml", []byte(store+"services: {frontend: {rpc: {httpPort: -1}}}"), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := FromStatic(st); err == nil || !strings.Contains(err.Error(), "httpPort") {
		t.Errorf("negative httpPort: %v", err)
	}
}

func TestFromStaticErrors(t *testing.T) {
	for text, want := range map[string]string{
		"persistence: {}":                                     "defaultStore",
		"persistence: {defaultStore: x}":                      `"x" is not defined`,
		"persistence: {defaultStore: x, datastores: {x: {}}}": "only sql",
		"persistence: {defaultStore: x, datastores: {x: {sql: {pluginName: cassandra, databaseName: d}}}}":                   "pluginName",
		"persistence: {defaultStore: x, datastores: {x: {sql: {pluginName: postgres12, databaseName: d}}}}":                  "connectAddr",
		"persistence: {defaultStore: x, visibilityStore: y, datastores: {x: {sql: {pluginName: sqlite, databaseName: d}}}}":  "visibilityStore",
		"persistence: {defaultStore: x, datastores: {x: {sql: {pluginName: sqlite, databaseName: d}}}}\nservices: {web: {}}": "web",
	} {
		st, err := config.Parse("t.yaml", []byte(text), func(string) (string, bool) { return "", false })
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		if _, err := FromStatic(st); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("FromStatic(%s) = %v, want an error mentioning %q", text, err, want)
		}
	}
}

func TestRoles(t *testing.T) {
	if err := (Config{Roles: []string{"frontend", "history", "matching"}}).Validate(); err != nil {
		t.Errorf("frontend,history,matching: %v", err)
	}
	if err := (Config{Roles: []string{"history"}}).Validate(); err == nil || !strings.Contains(err.Error(), "same process") {
		t.Errorf("history alone: %v", err)
	}
	if err := (Config{Roles: []string{"frontend", "history", "matching", "web"}}).Validate(); err == nil {
		t.Error("unknown role accepted")
	}
}

// startStore starts a server on cfg's store and stops it.
func startStop(t *testing.T, cfg Config) error {
	t.Helper()
	cfg.Logger = quiet
	s, err := New(cfg)
	if err != nil {
		return err
	}
	if err := s.Start(); err != nil {
		return err
	}
	s.Stop()
	return nil
}

// On every backend: the shard count is recorded at creation and another
// one is refused naming both; with schema migration off, a database
// without the schema is refused, and `sundial schema setup` fixes that.
func TestStoreLifecycle(t *testing.T) {
	backends := map[string]func(t *testing.T) Config{
		"sqlite": func(t *testing.T) Config {
			return Config{DBFilename: filepath.Join(t.TempDir(), "s.db")}
		},
		"postgres": func(t *testing.T) Config {
			return Config{Store: StoreConfig{Plugin: config.PluginPostgres, SQL: sqltest.Postgres.NewDatabase(t)}}
		},
		"mysql": func(t *testing.T) Config {
			return Config{Store: StoreConfig{Plugin: config.PluginMySQL, SQL: sqltest.MySQL.NewDatabase(t)}}
		},
	}
	for name, newCfg := range backends {
		t.Run(name, func(t *testing.T) {
			cfg := newCfg(t)
			cfg.NumShards = 3
			cfg.Store.SkipSchemaMigration = true
			if err := startStop(t, cfg); err == nil || !strings.Contains(err.Error(), "schema") {
				t.Fatalf("start with migration off on an empty database: %v", err)
			}
			sch, err := OpenSchema(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer sch.Close()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if v, err := sch.Setup(ctx); err != nil || v != sch.Latest() {
				t.Fatalf("schema setup = %d, %v", v, err)
			}
			if _, err := sch.Setup(ctx); err == nil {
				t.Error("a second schema setup succeeded")
			}
			if from, to, err := sch.Update(ctx); err != nil || from != to {
				t.Errorf("schema update of a current schema = %d -> %d, %v", from, to, err)
			}
			if err := startStop(t, cfg); err != nil {
				t.Fatalf("start after schema setup: %v", err)
			}
			cfg.NumShards = 5
			err = startStop(t, cfg)
			if err == nil || !strings.Contains(err.Error(), "3") || !strings.Contains(err.Error(), "5") {
				t.Fatalf("start with another shard count: %v, want a refusal naming 3 and 5", err)
			}
		})
	}
}
