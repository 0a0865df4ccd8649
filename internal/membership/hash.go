package membership

import "hash/fnv"

// Owner returns the member of members that owns key by rendezvous
// (highest random weight) hashing: every member scores the key, the
// highest score wins. Adding or removing one of N members moves only the
// keys that member wins or held, about 1/N of them, and every process
// with the same member list agrees on every owner. ok is false when
// members is empty.
func Owner(members []Member, key string) (m Member, ok bool) {
	if len(members) == 0 {
		return Member{}, false
	}
	hk := hash64(key)
	best, bestScore := 0, uint64(0)
	for i := range members {
		s := score(hash64(members[i].Identity), hk)
		if i == 0 || s > bestScore || (s == bestScore && members[i].Identity < members[best].Identity) {
			best, bestScore = i, s
		}
	}
	return members[best], true
}

func hash64(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// score mixes a member's and a key's hashes (the splitmix64 finalizer), so
// that scores of one key are independent across members.
func score(member, key uint64) uint64 {
	z := member ^ (key + 0x9e3779b97f4a7c15)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
