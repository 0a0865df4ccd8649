package storetest

import (
	"time"

	"github.com/sundialhq/sundial/internal/persistence"
)

func member(role, id string, started, expiry time.Time) persistence.ClusterMember {
	return persistence.ClusterMember{Role: role, Identity: id, RPCAddress: id + ":7234", Host: "host-" + id,
		StartedAt: started, LastHeartbeat: expiry.Add(-5 * time.Second), SessionExpiry: expiry}
}

var membershipTests = map[string]func(*fixture){
	"HeartbeatListExpire": func(f *fixture) {
		t0 := time.Date(2026, 1, 2, 3, 4, 5, 600_000_000, time.UTC)
		a := member("history", "a", t0, t0.Add(10*time.Second))
		b := member("history", "b", t0, t0.Add(20*time.Second))
		m := member("matching", "a", t0, t0.Add(10*time.Second))
		f.must(f.s.HeartbeatClusterMembers(f.ctx, []persistence.ClusterMember{b, a, m}), "heartbeat a, b, m")

		all, err := f.s.ListClusterMembers(f.ctx, time.Time{})
		f.must(err, "list all")
		if len(all) != 3 || all[0] != a || all[1] != b || all[2] != m {
			f.Fatalf("list all = %+v, want [a b m] ordered by role, identity", all)
		}
		alive, err := f.s.ListClusterMembers(f.ctx, t0.Add(15*time.Second))
		f.must(err, "list alive at +15s")
		if len(alive) != 1 || alive[0].Identity != "b" {
			f.Fatalf("alive at +15s = %+v, want only b", alive)
		}
		// A heartbeat replaces the row: a is alive again.
		a.LastHeartbeat, a.SessionExpiry = t0.Add(20*time.Second), t0.Add(30*time.Second)
		f.must(f.s.HeartbeatClusterMembers(f.ctx, []persistence.ClusterMember{a}), "heartbeat a again")
		alive, err = f.s.ListClusterMembers(f.ctx, t0.Add(25*time.Second))
		f.must(err, "list alive at +25s")
		if len(alive) != 1 || alive[0] != a {
			f.Fatalf("alive at +25s = %+v, want a as heartbeated (%+v)", alive, a)
		}
	},
	"DeleteAndPrune": func(f *fixture) {
		t0 := time.Unix(1_800_000_000, 0).UTC()
		rows := []persistence.ClusterMember{
			member("history", "a", t0, t0.Add(time.Second)),
			member("history", "b", t0, t0.Add(2*time.Second)),
			member("history", "c", t0, t0.Add(3*time.Second)),
			member("frontend", "a", t0, t0.Add(3*time.Second)),
		}
		f.must(f.s.HeartbeatClusterMembers(f.ctx, rows), "heartbeat")
		f.must(f.s.DeleteClusterMember(f.ctx, "history", "c"), "delete history/c")
		f.must(f.s.DeleteClusterMember(f.ctx, "history", "missing"), "delete a missing member")
		n, err := f.s.PruneClusterMembers(f.ctx, t0.Add(2*time.Second))
		f.must(err, "prune")
		if n != 2 {
			f.Errorf("pruned %d rows, want 2 (a and b expire at or before +2s)", n)
		}
		left, err := f.s.ListClusterMembers(f.ctx, time.Time{})
		f.must(err, "list")
		if len(left) != 1 || left[0].Role != "frontend" || left[0].Identity != "a" {
			f.Fatalf("left = %+v, want only frontend/a", left)
		}
	},
}
