package storetest

import (
	"errors"
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
	"UpdateCompareAndSwap": func(f *fixture) {
		f.must(f.s.CreateNamespace(f.ctx, persistence.NamespaceRecord{ID: "id-a", Name: "a", Data: []byte("v1")}), "create")
		f.must(f.s.CreateNamespace(f.ctx, persistence.NamespaceRecord{ID: "id-b", Name: "b", Data: []byte("b1")}), "create b")
		next := []byte("v2")
		f.must(f.s.UpdateNamespace(f.ctx, persistence.NamespaceRecord{ID: "id-a", Name: "a", Data: next}, []byte("v1")), "update v1->v2")
		next[0] = 'X' // the store must not have retained the slice

		err := f.s.UpdateNamespace(f.ctx, persistence.NamespaceRecord{ID: "id-a", Name: "a", Data: []byte("v3")}, []byte("v1"))
		f.wantIs(err, persistence.ErrConditionFailed, "update with stale prevData")
		err = f.s.UpdateNamespace(f.ctx, persistence.NamespaceRecord{ID: "missing", Name: "a", Data: []byte("v3")}, []byte("v2"))
		f.wantIs(err, persistence.ErrNotFound, "update of a missing namespace")
		// Writing the same bytes again is a match, not a lost race.
		f.must(f.s.UpdateNamespace(f.ctx, persistence.NamespaceRecord{ID: "id-a", Name: "a", Data: []byte("v2")}, []byte("v2")), "no-op update")

		byName, err := f.s.GetNamespaceByName(f.ctx, "a")
		f.must(err, "GetNamespaceByName")
		byID, err := f.s.GetNamespaceByID(f.ctx, "id-a")
		f.must(err, "GetNamespaceByID")
		for _, got := range []persistence.NamespaceRecord{byName, byID} {
			if got.ID != "id-a" || got.Name != "a" {
				f.Errorf("got %s/%s, want id-a/a", got.ID, got.Name)
			}
			wantBytes(f.T, got.Data, []byte("v2"), "data after update")
		}
		other, err := f.s.GetNamespaceByID(f.ctx, "id-b")
		f.must(err, "GetNamespaceByID b")
		wantBytes(f.T, other.Data, []byte("b1"), "other namespace's data")
	},
	"RenameAndDelete": func(f *fixture) {
		f.must(f.s.CreateNamespace(f.ctx, persistence.NamespaceRecord{ID: "id-a", Name: "a", Data: []byte("v1")}), "create a")
		f.must(f.s.CreateNamespace(f.ctx, persistence.NamespaceRecord{ID: "id-b", Name: "b", Data: []byte("b1")}), "create b")
		err := f.s.UpdateNamespace(f.ctx, persistence.NamespaceRecord{ID: "id-a", Name: "b", Data: []byte("v2")}, []byte("v1"))
		f.wantIs(err, persistence.ErrAlreadyExists, "rename to a taken name")
		f.must(f.s.UpdateNamespace(f.ctx, persistence.NamespaceRecord{ID: "id-a", Name: "a-deleted", Data: []byte("v2")}, []byte("v1")), "rename")
		_, err = f.s.GetNamespaceByName(f.ctx, "a")
		f.wantIs(err, persistence.ErrNotFound, "old name after rename")
		got, err := f.s.GetNamespaceByName(f.ctx, "a-deleted")
		f.must(err, "new name after rename")
		if got.ID != "id-a" {
			f.Errorf("renamed namespace has ID %s, want id-a", got.ID)
		}
		wantBytes(f.T, got.Data, []byte("v2"), "data after rename")
		// The old name is free again.
		f.must(f.s.CreateNamespace(f.ctx, persistence.NamespaceRecord{ID: "id-c", Name: "a", Data: []byte("c1")}), "reuse old name")

		f.must(f.s.DeleteNamespace(f.ctx, "id-a"), "delete")
		f.must(f.s.DeleteNamespace(f.ctx, "id-a"), "delete again")
		_, err = f.s.GetNamespaceByID(f.ctx, "id-a")
		f.wantIs(err, persistence.ErrNotFound, "deleted namespace by ID")
		list, err := f.s.ListNamespaces(f.ctx)
		f.must(err, "ListNamespaces")
		if len(list) != 2 {
			f.Errorf("ListNamespaces has %d rows after delete, want 2", len(list))
		}
	},
	"ConcurrentUpdatesLoseNothing": func(f *fixture) {
		f.must(f.s.CreateNamespace(f.ctx, persistence.NamespaceRecord{ID: "id-a", Name: "a", Data: []byte("0")}), "create")
		const n = 8
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() { errs[i] = casAppend(f, "id-a", byte('a'+i)) })
		}
		wg.Wait()
		for i := range n {
			f.must(errs[i], "read-modify-write loop")
		}
		got, err := f.s.GetNamespaceByID(f.ctx, "id-a")
		f.must(err, "GetNamespaceByID")
		if len(got.Data) != n+1 {
			f.Errorf("data = %q: want %d appended bytes, every update kept", got.Data, n)
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

// casAppend appends b to a namespace's data with a read-modify-write loop,
// as the namespace registry updates descriptions.
func casAppend(f *fixture, id string, b byte) error {
	for range 1000 {
		cur, err := f.s.GetNamespaceByID(f.ctx, id)
		if err != nil {
			return err
		}
		next := append(append([]byte(nil), cur.Data...), b)
		err = f.s.UpdateNamespace(f.ctx, persistence.NamespaceRecord{ID: id, Data: next}, cur.Data)
		if !errors.Is(err, persistence.ErrConditionFailed) {
			return err
		}
	}
	return errors.New("casAppend: no progress after 1000 attempts")
}
