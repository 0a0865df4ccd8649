package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// `DB=postgres12 POSTGRES_SEEDS=… sundial server` in a directory that has
// config/development.yaml used to start on that file's SQLite. It is
// refused before anything starts, saying how to choose (schema print
// first: on the old code it succeeds at once instead of serving).
func TestServerRefusesImplicitConfigWithDockerVars(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "config"), 0o755); err != nil {
		t.Fatal(err)
	}
	sample, err := os.ReadFile("../../config/development.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config", "development.yaml"), sample, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	t.Setenv("DB", "postgres12")
	t.Setenv("POSTGRES_SEEDS", "127.0.0.1")
	for _, args := range [][]string{{"schema", "print"}, {"server"}} {
		root := rootCommand()
		root.SetArgs(args)
		root.SetOut(new(strings.Builder))
		root.SetErr(new(strings.Builder))
		err := root.Execute()
		if err == nil {
			t.Fatalf("%v: started", args)
		}
		for _, want := range []string{"config/development.yaml", "DB, POSTGRES_SEEDS", "--config", "unset"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%v: %q does not mention %q", args, err, want)
			}
		}
	}
	// An explicit choice of the file is honoured: schema print runs on it.
	root := rootCommand()
	root.SetArgs([]string{"schema", "print", "--env", "development"})
	out, err := captureStdout(t, root.Execute)
	if err != nil || !strings.Contains(out, "CREATE TABLE") {
		t.Errorf("schema print --env development: %v\n%.300s", err, out)
	}
}

// captureStdout runs fn with os.Stdout redirected to a file.
func captureStdout(t *testing.T, fn func() error) (string, error) {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = f
	runErr := fn()
	os.Stdout = old
	text, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return string(text), runErr
}
