package storetest

import (
	"errors"
	"time"

	"github.com/sundialhq/sundial/internal/persistence"
)

var auditTests = map[string]func(*fixture){
	"AppendListFilterPurge": testAuditAppendList,
	"RoleBindings":          testRoleBindings,
}

func (f *fixture) auditStore() persistence.AuditStore {
	a, ok := f.s.(persistence.AuditStore)
	if !ok {
		f.Fatalf("%T does not implement persistence.AuditStore", f.s)
	}
	return a
}

func testAuditAppendList(f *fixture) {
	a := f.auditStore()
	entries := []persistence.AuditEntry{
		{Time: t0, Subject: "alice", Source: "127.0.0.1:1", API: "StartWorkflowExecution", Namespace: "ns1",
			WorkflowID: "wf", RunID: "run", RequestID: "req", Code: "OK"},
		{Time: t0.Add(time.Minute), Subject: "bob", API: "TerminateWorkflowExecution", Namespace: "ns2", Code: "PermissionDenied"},
		{Time: t0.Add(2 * time.Minute), Subject: "alice", API: "UpdateNamespace", Namespace: "ns2", Target: "ns2", Code: "OK"},
	}
	f.must(a.AppendAudit(f.ctx, entries[:1]), "AppendAudit")
	f.must(a.AppendAudit(f.ctx, entries[1:]), "AppendAudit")
	all, err := a.ListAudit(f.ctx, persistence.AuditFilter{Limit: 10})
	f.must(err, "ListAudit")
	if len(all) != 3 || all[0].ID >= all[1].ID || all[1].ID >= all[2].ID {
		f.Fatalf("ListAudit = %+v, want 3 entries by rising ID", all)
	}
	got := all[0]
	got.ID = 0
	if got != entries[0] {
		f.Errorf("entry read back = %+v, want %+v", got, entries[0])
	}
	count := func(filter persistence.AuditFilter) int {
		filter.Limit = 10
		es, err := a.ListAudit(f.ctx, filter)
		f.must(err, "ListAudit")
		return len(es)
	}
	for name, c := range map[string]struct {
		f    persistence.AuditFilter
		want int
	}{
		"subject":   {persistence.AuditFilter{Subject: "alice"}, 2},
		"namespace": {persistence.AuditFilter{Namespace: "ns2"}, 2},
		"from":      {persistence.AuditFilter{From: t0.Add(time.Minute)}, 2},
		"to":        {persistence.AuditFilter{To: t0.Add(time.Minute)}, 1},
		"after":     {persistence.AuditFilter{AfterID: all[1].ID}, 1},
		"both":      {persistence.AuditFilter{Subject: "alice", Namespace: "ns2"}, 1},
	} {
		if n := count(c.f); n != c.want {
			f.Errorf("ListAudit by %s: %d entries, want %d", name, n, c.want)
		}
	}
	// Whatever bytes a caller sent (NUL, invalid UTF-8) the entry is
	// written, with U+FFFD in their place.
	odd := persistence.AuditEntry{Time: t0.Add(3 * time.Minute), API: "PatchSchedule", Namespace: "ns3",
		RequestID: "a\x00b", Target: "schedule_id:\xff", Code: "InvalidArgument"}
	f.must(a.AppendAudit(f.ctx, []persistence.AuditEntry{odd}), "AppendAudit with NUL and invalid UTF-8")
	back, err := a.ListAudit(f.ctx, persistence.AuditFilter{Namespace: "ns3", Limit: 10})
	f.must(err, "ListAudit")
	if len(back) != 1 || back[0].RequestID != "a\uFFFDb" || back[0].Target != "schedule_id:\uFFFD" {
		f.Errorf("entry with NUL and invalid UTF-8 read back as %+v", back)
	}
	n, err := a.PurgeAuditBefore(f.ctx, t0.Add(90*time.Second))
	f.must(err, "PurgeAuditBefore")
	if n != 2 || count(persistence.AuditFilter{}) != 2 {
		f.Errorf("PurgeAuditBefore removed %d, left %d; want 2 and 2", n, count(persistence.AuditFilter{}))
	}
}

func testRoleBindings(f *fixture) {
	r, ok := f.s.(persistence.RBACStore)
	if !ok {
		f.Fatalf("%T does not implement persistence.RBACStore", f.s)
	}
	b := persistence.RoleBinding{Principal: "user:alice", Namespace: "ns1", Role: "read", CreatedAt: t0}
	f.must(r.PutRoleBinding(f.ctx, b), "PutRoleBinding")
	again := b
	again.CreatedAt = t0.Add(time.Hour)
	f.must(r.PutRoleBinding(f.ctx, again), "PutRoleBinding again")
	f.must(r.PutRoleBinding(f.ctx, persistence.RoleBinding{Principal: "group:ops", Namespace: "temporal-system", Role: "admin",
		CreatedAt: t0}), "PutRoleBinding")
	list, err := r.ListRoleBindings(f.ctx)
	f.must(err, "ListRoleBindings")
	if len(list) != 2 || list[0].Principal != "group:ops" || list[1] != b {
		f.Errorf("ListRoleBindings = %+v, want group:ops then %+v", list, b)
	}
	f.must(r.DeleteRoleBinding(f.ctx, "user:alice", "ns1", "read"), "DeleteRoleBinding")
	if err := r.DeleteRoleBinding(f.ctx, "user:alice", "ns1", "read"); !errors.Is(err, persistence.ErrNotFound) {
		f.Errorf("DeleteRoleBinding of a missing binding = %v, want ErrNotFound", err)
	}
}
