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
`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{RoleHistory: "10.0.0.5:7234", RoleMatching: "127.0.0.1:7235"}
	for role, addr := range want {
		if got := cfg.Cluster.RPCAddresses[role]; got != addr {
			t.Errorf("%s address %q, want %q", role, got, addr)
		}
	}
	if !cfg.Cluster.Enabled() {
		t.Error("Enabled: want true when history has an internal address")
	}

	cfg, err = FromStatic(parse(`
global: {membership: {broadcastAddress: 192.168.1.7}}
services:
  history: {rpc: {grpcPort: 7234, bindOnIP: 0.0.0.0}}
`))
	if err != nil || cfg.Cluster.RPCAddresses[RoleHistory] != "192.168.1.7:7234" || cfg.Cluster.Listen[RoleHistory] != "0.0.0.0:7234" {
		t.Errorf("broadcast address: %v, listen %v, %v", cfg.Cluster.RPCAddresses, cfg.Cluster.Listen, err)
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
	if cfg, err := FromStatic(parse("services: {frontend: {rpc: {grpcPort: 7233}}}")); err != nil || cfg.Cluster.Enabled() {
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

// Roles split across processes need the cluster's internal addresses; a
// process running history or matching needs its own.
func TestRolesInSeparateProcessesNeedTheCluster(t *testing.T) {
	cluster := ClusterConfig{
		RPCAddresses: map[string]string{RoleHistory: "127.0.0.1:7301", RoleMatching: "127.0.0.1:7302"},
		Listen:       map[string]string{RoleHistory: "127.0.0.1:7301", RoleMatching: "127.0.0.1:7302"},
	}
	for _, roles := range [][]string{{"frontend"}, {"history"}, {"matching"}, {"worker"}, {"frontend", "worker"}, {"history", "matching"}} {
		if err := (Config{Roles: roles}).Validate(); err == nil || !strings.Contains(err.Error(), "grpcPort") {
			t.Errorf("roles %v outside a cluster: %v, want a refusal naming grpcPort", roles, err)
		}
		if err := (Config{Roles: roles, Cluster: cluster}).Validate(); err != nil {
			t.Errorf("roles %v in a cluster: %v", roles, err)
		}
	}
	historyOnly := ClusterConfig{RPCAddresses: map[string]string{RoleHistory: "127.0.0.1:7301"},
		Listen: map[string]string{RoleHistory: "127.0.0.1:7301"}}
	if err := (Config{Roles: []string{"matching"}, Cluster: historyOnly}).Validate(); err == nil ||
		!strings.Contains(err.Error(), "services.matching.rpc.grpcPort") {
		t.Errorf("matching with no internal address: %v", err)
	}
}
