package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// configDir writes DIR/development.yaml (SQLite, reading SQLITE_FILE)
// and returns DIR.
func configDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	text := "persistence:\n  defaultStore: s\n  datastores:\n    s:\n      sql:\n        pluginName: sqlite\n        databaseName: ${SQLITE_FILE:x.db}\n"
	if err := os.WriteFile(filepath.Join(dir, "development.yaml"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

var pgEnv = map[string]string{"DB": "postgres12", "POSTGRES_SEEDS": "db.internal", "POSTGRES_PWD": "secret", "DEFAULT_NAMESPACE": "x"}

// The case: docker variables in a directory that has
// config/development.yaml. Neither is picked silently.
func TestLoadRefusesImplicitFileWithDockerVars(t *testing.T) {
	dir := configDir(t)
	_, err := Load(Location{Dir: dir, Env: "development"}, lookupFrom(pgEnv))
	if err == nil {
		t.Fatal("Load succeeded")
	}
	for _, want := range []string{filepath.Join(dir, "development.yaml"), "DB, POSTGRES_SEEDS, POSTGRES_PWD", "--config", "unset"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "DEFAULT_NAMESPACE") {
		t.Errorf("error %q shows a password or DEFAULT_NAMESPACE", err)
	}
}

// Variables the file reads are no conflict: the file uses them.
func TestLoadImplicitFileReadingTheVars(t *testing.T) {
	dir := configDir(t)
	ld, err := Load(Location{Dir: dir, Env: "development"}, lookupFrom(map[string]string{"SQLITE_FILE": "y.db", "DEFAULT_NAMESPACE": "x"}))
	if err != nil {
		t.Fatal(err)
	}
	if ld.From != filepath.Join(dir, "development.yaml") || ld.Static.Persistence.DataStores["s"].SQL.DatabaseName != "y.db" ||
		len(ld.Warnings) != 0 {
		t.Errorf("loaded %+v", ld)
	}
}

// A file chosen explicitly wins; the variables it ignores are a warning.
func TestLoadExplicitFileWarnsOfUnreadVars(t *testing.T) {
	dir := configDir(t)
	for _, loc := range []Location{
		{File: filepath.Join(dir, "development.yaml"), Dir: "config", Env: "development"},
		{Dir: dir, Env: "development", Explicit: true},
	} {
		ld, err := Load(loc, lookupFrom(pgEnv))
		if err != nil {
			t.Fatal(err)
		}
		if ld.Static.Persistence.DataStores["s"].SQL.PluginName != PluginSQLite || len(ld.Warnings) != 1 ||
			!strings.Contains(ld.Warnings[0], "DB, POSTGRES_SEEDS, POSTGRES_PWD") {
			t.Errorf("%+v: warnings %q", loc, ld.Warnings)
		}
	}
}

// Without a file the variables configure the server, and the origin
// names them (passwords hidden).
func TestLoadFromEnvNamesTheVars(t *testing.T) {
	ld, err := Load(Location{Dir: t.TempDir(), Env: "development"}, lookupFrom(pgEnv))
	if err != nil {
		t.Fatal(err)
	}
	if ld.From != "environment variables (DB=postgres12, POSTGRES_SEEDS=db.internal, POSTGRES_PWD=***)" ||
		ld.Static.Persistence.DataStores["default"].SQL.ConnectAddr != "db.internal:5432" {
		t.Errorf("loaded from %q: %+v", ld.From, ld.Static.Persistence)
	}
	if _, err := Load(Location{Dir: t.TempDir(), Env: "development"}, lookupFrom(nil)); err == nil ||
		!strings.Contains(err.Error(), "no configuration") {
		t.Errorf("nothing configured: %v", err)
	}
}

// A template is a file like any other: unused keys are one warning, and
// a refused key fails the load naming the file.
func TestLoadTemplateWarningsAndRefusals(t *testing.T) {
	path, err := filepath.Abs("testdata/docker_template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ld, err := Load(Location{File: path}, lookupFrom(map[string]string{"DB": "sqlite"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(ld.Warnings) != 1 || !strings.Contains(ld.Warnings[0], "accepts but does not use: ") ||
		!strings.Contains(ld.Warnings[0], "archival") {
		t.Errorf("warnings %q", ld.Warnings)
	}
	_, err = Load(Location{File: path}, lookupFrom(map[string]string{"TEMPORAL_AUTH_AUTHORIZER": "default"}))
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "global.authorization.authorizer") {
		t.Errorf("authorization: %v", err)
	}
}
