package server

import (
	"strings"
	"testing"

	"github.com/sundialhq/sundial/internal/membership"
	"github.com/sundialhq/sundial/internal/rpc"
)

func TestRolesInSeparateProcessesNeedTheRing(t *testing.T) {
	members, err := rpc.ParseStaticMembers("history=127.0.0.1:7301,matching=127.0.0.1:7302")
	if err != nil {
		t.Fatal(err)
	}
	internal := map[string]string{RoleHistory: "127.0.0.1:7301", RoleMatching: "127.0.0.1:7302"}
	for _, roles := range [][]string{{"frontend"}, {"history"}, {"matching"}, {"worker"}, {"frontend", "worker"}, {"history", "matching"}} {
		if err := (Config{Roles: roles}).Validate(); err == nil || !strings.Contains(err.Error(), StaticRingEnv) {
			t.Errorf("roles %v without a ring: %v, want a refusal naming %s", roles, err, StaticRingEnv)
		}
		if err := (Config{Roles: roles, StaticRing: members, InternalRPC: internal}).Validate(); err != nil {
			t.Errorf("roles %v with a ring: %v", roles, err)
		}
	}
	if err := (Config{Roles: []string{"history"}, StaticRing: members}).Validate(); err == nil ||
		!strings.Contains(err.Error(), "services.history.rpc.grpcPort") {
		t.Errorf("history with no internal address: %v", err)
	}
	other := map[string]string{RoleHistory: "127.0.0.1:9999"}
	if err := (Config{Roles: []string{"history"}, StaticRing: members, InternalRPC: other}).Validate(); err == nil ||
		!strings.Contains(err.Error(), "not listed") {
		t.Errorf("history at an address the ring does not list: %v", err)
	}
	twoHistories, err := rpc.ParseStaticMembers("history=127.0.0.1:7301,history=127.0.0.1:7303,matching=127.0.0.1:7302")
	if err != nil {
		t.Fatal(err)
	}
	if err := (Config{Roles: []string{"history"}, StaticRing: twoHistories, InternalRPC: internal}).Validate(); err == nil ||
		!strings.Contains(err.Error(), "2 history members") {
		t.Errorf("two history members: %v, want a refusal", err)
	}
	ring := Config{Roles: []string{"history"}, StaticRing: members, InternalRPC: internal}.ring()
	if self, ok := ring.Self(membership.RoleHistory); !ok || self.RPCAddress != "127.0.0.1:7301" {
		t.Errorf("Self(history) = %v, %v", self, ok)
	}
	if _, ok := ring.Self(membership.RoleMatching); ok {
		t.Error("a history-only process is a matching member")
	}
}

func TestParseStaticMembers(t *testing.T) {
	for _, bad := range []string{"", "history", "frontend=127.0.0.1:1", "history=nohost"} {
		if _, err := rpc.ParseStaticMembers(bad); err == nil {
			t.Errorf("ParseStaticMembers(%q) accepted", bad)
		}
	}
}
