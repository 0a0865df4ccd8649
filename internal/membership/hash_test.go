package membership

import (
	"fmt"
	"testing"
)

func members(n int, prefix string) []Member {
	out := make([]Member, n)
	for i := range out {
		out[i] = Member{Identity: fmt.Sprintf("%s10.0.0.%d:7234@1700000000%d", prefix, i+1, i), Role: RoleHistory}
	}
	return out
}

func owners(ms []Member, keys int) map[string]string {
	out := map[string]string{}
	for k := range keys {
		key := ShardKey(int32(k))
		m, ok := Owner(ms, key)
		if !ok {
			panic("no owner")
		}
		out[key] = m.Identity
	}
	return out
}

// Keys spread evenly: with 3, 5 and 10 members each owns within 25% of
// its fair share of 4096 shards.
func TestOwnerSpreadsEvenly(t *testing.T) {
	const keys = 4096
	for _, n := range []int{3, 5, 10} {
		count := map[string]int{}
		for _, id := range owners(members(n, ""), keys) {
			count[id]++
		}
		fair := float64(keys) / float64(n)
		if len(count) != n {
			t.Fatalf("%d members: only %d own keys", n, len(count))
		}
		for id, c := range count {
			if dev := (float64(c) - fair) / fair; dev > 0.25 || dev < -0.25 {
				t.Errorf("%d members: %s owns %d keys, fair share %.0f (off by %.0f%%)", n, id, c, fair, dev*100)
			}
		}
	}
}

// Adding or removing one member moves about 1/N of the keys, and only to
// or from that member.
func TestOwnerMovesOneNth(t *testing.T) {
	const keys = 4096
	base := members(4, "")
	before := owners(base, keys)

	grown := append(append([]Member{}, base...), Member{Identity: "new-member"})
	moved := 0
	for key, id := range owners(grown, keys) {
		if id != before[key] {
			moved++
			if id != "new-member" {
				t.Fatalf("key %s moved from %s to %s, not to the new member", key, before[key], id)
			}
		}
	}
	checkShare(t, "adding a 5th member", moved, keys, 5)

	shrunk := base[1:]
	moved = 0
	for key, id := range owners(shrunk, keys) {
		if id != before[key] {
			moved++
			if before[key] != base[0].Identity {
				t.Fatalf("key %s moved from %s, which is still a member", key, before[key])
			}
		}
	}
	checkShare(t, "removing 1 of 4 members", moved, keys, 4)
}

func checkShare(t *testing.T, what string, moved, keys, n int) {
	t.Helper()
	want := float64(keys) / float64(n)
	if f := float64(moved); f < 0.75*want || f > 1.25*want {
		t.Errorf("%s moved %d of %d keys, want about %.0f", what, moved, keys, want)
	}
	t.Logf("%s moved %d of %d keys (1/%d = %.0f)", what, moved, keys, n, want)
}

// Every process agrees: the owner does not depend on the order of the
// member list.
func TestOwnerIgnoresOrder(t *testing.T) {
	ms := members(5, "")
	rev := []Member{ms[4], ms[3], ms[2], ms[1], ms[0]}
	a, b := owners(ms, 1000), owners(rev, 1000)
	for k := range a {
		if a[k] != b[k] {
			t.Fatalf("key %s: %s in one order, %s in the other", k, a[k], b[k])
		}
	}
	if _, ok := Owner(nil, "x"); ok {
		t.Fatal("Owner of no members reported ok")
	}
}
