package storetest

import (
	"sync"

	"github.com/sundialhq/sundial/internal/persistence"
)

var clusterTests = map[string]func(*fixture){
	"InitNewSameDifferent": func(f *fixture) {
		got, err := f.s.InitCluster(f.ctx, 16)
		f.must(err, "InitCluster(16) on a new cluster")
		if got != 16 {
			f.Fatalf("new cluster: stored %d, want 16", got)
		}
		got, err = f.s.InitCluster(f.ctx, 16)
		f.must(err, "InitCluster(16) again")
		if got != 16 {
			f.Fatalf("same value: stored %d, want 16", got)
		}
		got, err = f.s.InitCluster(f.ctx, 512)
		f.must(err, "InitCluster(512) on a 16-shard cluster")
		if got != 16 {
			f.Fatalf("different value: returned %d, want the stored 16", got)
		}
	},
}

var namespaceTests = map[string]func(*fixture){
	"CreateGetList": func(f *fixture) {
		data := []byte("description-a")
		a := persistence.NamespaceRecord{ID: "id-a", Name: "zeta", Data: data}
		b := persistence.NamespaceRecord{ID: "id-b", Name: "alpha", Data: []byte("description-b")}
		f.must(f.s.CreateNamespace(f.ctx, a), "CreateNamespace a")
		data[0] = 'X' // the store must not have retained the slice
		f.must(f.s.CreateNamespace(f.ctx, b), "CreateNamespace b")

		byName, err := f.s.GetNamespaceByName(f.ctx, "zeta")
		f.must(err, "GetNamespaceByName")
		byID, err := f.s.GetNamespaceByID(f.ctx, "id-a")
		f.must(err, "GetNamespaceByID")
		for _, got := range []persistence.NamespaceRecord{byName, byID} {
			if got.ID != "id-a" || got.Name != "zeta" {
				f.Errorf("got %s/%s, want id-a/zeta", got.ID, got.Name)
			}
			wantBytes(f.T, got.Data, []byte("description-a"), "namespace data")
		}

		list, err := f.s.ListNamespaces(f.ctx)
		f.must(err, "ListNamespaces")
		names := map[string]string{}
		for _, ns := range list {
			names[ns.Name] = ns.ID
		}
		if len(list) != 2 || names["zeta"] != "id-a" || names["alpha"] != "id-b" {
			f.Errorf("ListNamespaces = %+v, want zeta/id-a and alpha/id-b", list)
		}
	},
	"AlreadyExists": func(f *fixture) {
		f.must(f.s.CreateNamespace(f.ctx, persistence.NamespaceRecord{ID: "id-a", Name: "a", Data: []byte("1")}), "create")
		err := f.s.CreateNamespace(f.ctx, persistence.NamespaceRecord{ID: "id-other", Name: "a", Data: []byte("2")})
		f.wantIs(err, persistence.ErrAlreadyExists, "same name, other ID")
		err = f.s.CreateNamespace(f.ctx, persistence.NamespaceRecord{ID: "id-a", Name: "other", Data: []byte("3")})
		f.wantIs(err, persistence.ErrAlreadyExists, "same ID, other name")

		got, err := f.s.GetNamespaceByName(f.ctx, "a")
		f.must(err, "GetNamespaceByName")
		wantBytes(f.T, got.Data, []byte("1"), "data after failed creates")
		_, err = f.s.GetNamespaceByName(f.ctx, "other")
		f.wantIs(err, persistence.ErrNotFound, "name of a failed create")
		list, err := f.s.ListNamespaces(f.ctx)
		f.must(err, "ListNamespaces")
		if len(list) != 1 {
			f.Errorf("ListNamespaces has %d rows, want 1", len(list))
		}
	},
	"NotFound": func(f *fixture) {
		_, err := f.s.GetNamespaceByName(f.ctx, "missing")
		f.wantIs(err, persistence.ErrNotFound, "GetNamespaceByName")
		_, err = f.s.GetNamespaceByID(f.ctx, "missing")
		f.wantIs(err, persistence.ErrNotFound, "GetNamespaceByID")
		list, err := f.s.ListNamespaces(f.ctx)
		f.must(err, "ListNamespaces on an empty store")
		if len(list) != 0 {
			f.Errorf("ListNamespaces = %+v, want none", list)
		}
	},
}

var shardTests = map[string]func(*fixture){
	"AcquireIncrements": func(f *fixture) {
		r1 := f.acquire(1)
		r2 := f.acquire(1)
		r3 := f.acquire(1)
		if r1 <= 0 || r2 <= r1 || r3 <= r2 {
			f.Errorf("range IDs %d, %d, %d: want positive and strictly increasing", r1, r2, r3)
		}
		if other := f.acquire(2); other <= 0 {
			f.Errorf("first range ID of shard 2 = %d, want positive", other)
		}
		if r4 := f.acquire(1); r4 <= r3 {
			f.Errorf("shard 1 after acquiring shard 2: %d, want > %d", r4, r3)
		}
	},
	"ConcurrentAcquiresAreDistinct": func(f *fixture) {
		const n = 8
		got := make([]int64, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { got[i], errs[i] = f.s.AcquireShard(f.ctx, 7) })
		}
		wg.Wait()
		seen := map[int64]bool{}
		for i := range n {
			f.must(errs[i], "AcquireShard")
			if seen[got[i]] {
				f.Errorf("range ID %d handed out twice", got[i])
			}
			seen[got[i]] = true
		}
	},
}
