package server

import (
	"strings"
	"testing"

	"github.com/sundialhq/sundial/internal/config"
)

// services.<role>.rpc places each role's internal address; a wildcard
// needs global.membership.broadcastAddress; a process joins the cluster
// only when history or matching has an address.
func TestFromStaticClusterAddresses(t *testing.T) {
	const store = "persistence: {defaultStore: x, datastores: {x: {sql: {pluginName: sqlite, databaseName: d}}}}\n"
	parse := func(text string) *config.Static {
		t.Helper()
		st, err := config.Parse("t.yaml", []byte(store+text), func(string) (string, bool) { return "", false })
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		return st
	}
	cfg, err := FromStatic(parse(`
services:
  frontend: {rpc: {grpcPort: 7233, bindOnIP: 10.0.0.5}}
  history: {rpc: {grpcPort: 7234, bindOnIP: 10.0.0.5}}
  matching: {rpc: {grpcPort: 7235, bindOnLocalHost: true}}
  worker: {rpc: {grpcPort: 7239}}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{RoleHistory: "10.0.0.5:7234", RoleMatching: "127.0.0.1:7235", RoleWorker: "10.0.0.5:7239"}
	for role, addr := range want {
		if got := cfg.Cluster.RPCAddresses[role]; got != addr {
			t.Errorf("%s address %q, want %q", role, got, addr)
		}
	}
	if !cfg.Cluster.Enabled(AllRoles) || cfg.Cluster.Enabled([]string{RoleFrontend, RoleWorker}) {
		t.Error("Enabled: want true for a process running history, false for frontend+worker only")
	}

	cfg, err = FromStatic(parse(`
global: {membership: {broadcastAddress: 192.168.1.7}}
services:
  history: {rpc: {grpcPort: 7234, bindOnIP: 0.0.0.0}}
`))
	if err != nil || cfg.Cluster.RPCAddresses[RoleHistory] != "192.168.1.7:7234" {
		t.Errorf("broadcast address: %v, %v", cfg.Cluster.RPCAddresses, err)
	}
	// Only the frontend's address is a wildcard: the role stays out, with
	// a warning.
	cfg, err = FromStatic(parse(`
services:
  frontend: {rpc: {grpcPort: 7233, bindOnIP: 0.0.0.0}}
  history: {rpc: {grpcPort: 7234}}
`))
	if err != nil || len(cfg.Cluster.RPCAddresses) != 0 || len(cfg.Cluster.Warnings) != 1 {
		t.Errorf("inherited wildcard: %+v, %v", cfg.Cluster, err)
	}
	if cfg, err := FromStatic(parse("services: {frontend: {rpc: {grpcPort: 7233}}}")); err != nil || cfg.Cluster.Enabled(AllRoles) {
		t.Errorf("frontend only: %+v, %v; want a cluster of one", cfg.Cluster, err)
	}
	for text, wantErr := range map[string]string{
		"services: {history: {rpc: {grpcPort: 7234, bindOnIP: 0.0.0.0}}}":  "global.membership.broadcastAddress",
		"services: {history: {rpc: {grpcPort: 7234, bindOnIP: nonsense}}}": "services.history.rpc.bindOnIP",
		"global: {membership: {broadcastAddress: host.example}}":           "broadcastAddress",
	} {
		if _, err := FromStatic(parse(text)); err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("FromStatic(%s) = %v, want an error naming %s", text, err, wantErr)
		}
	}
}
