package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// execute runs the CLI with args and returns its error.
func execute(args ...string) error {
	root := rootCommand()
	root.SetArgs(args)
	root.SetOut(new(strings.Builder))
	root.SetErr(new(strings.Builder))
	return root.Execute()
}

// Serving the API off loopback without authorization is refused before
// anything is bound, by start-dev and by server, naming the way out.
func TestNonLoopbackWithoutAuthRefused(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "sundial.yaml")
	text := "persistence: {defaultStore: db, datastores: {db: {sql: {pluginName: sqlite, databaseName: " +
		filepath.Join(dir, "server.db") + "}}}}\nservices: {frontend: {rpc: {bindOnIP: 0.0.0.0, grpcPort: 1}}}\n"
	if err := os.WriteFile(cfgFile, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"start-dev", "--ip", "0.0.0.0", "--port", "1", "--db-filename", filepath.Join(dir, "dev.db")},
		{"server", "--config", cfgFile},
	} {
		err := execute(args...)
		if err == nil || !strings.Contains(err.Error(), "non-loopback") || !strings.Contains(err.Error(), "--allow-no-auth") {
			t.Errorf("%v: %v, want the non-loopback refusal", args, err)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*.db*")); len(m) > 0 {
		t.Errorf("databases created before the refusal: %v", m)
	}
}

// start-dev's TLS flags name themselves when a file is missing or the
// pair is incomplete.
func TestStartDevTLSFlags(t *testing.T) {
	dir := t.TempDir()
	present := filepath.Join(dir, "present.pem")
	if err := os.WriteFile(present, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	db := filepath.Join(dir, "dev.db")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--tls-cert", missing, "--tls-key", present}, "--tls-cert: stat " + missing},
		{[]string{"--tls-cert", present, "--tls-key", missing}, "--tls-key: stat " + missing},
		{[]string{"--tls-cert", present}, "--tls-cert and --tls-key go together"},
		{[]string{"--tls-client-ca", present}, "--tls-cert and --tls-key go together"},
		{[]string{"--tls-cert", present, "--tls-key", present, "--tls-client-ca", missing}, "--tls-client-ca: stat " + missing},
	} {
		err := execute(append([]string{"start-dev", "--port", "1", "--db-filename", db}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.args, err, tc.want)
		}
	}
	f := devFlags{tlsCert: present, tlsKey: present, tlsClientCAs: []string{present}}
	g, err := f.tls()
	if err != nil || g.Server.CertFile != present || g.Server.KeyFile != present || !g.Server.RequireClientAuth ||
		len(g.Server.ClientCAFiles) != 1 {
		t.Errorf("tls() = %+v, %v", g, err)
	}
}
