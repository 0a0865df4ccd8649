package storetest

import (
	"fmt"
	"strings"
	"time"

	"github.com/sundialhq/sundial/internal/persistence"
)

func schedRec(ns, id string, next time.Time, data string) *persistence.ScheduleRecord {
	return &persistence.ScheduleRecord{NamespaceID: ns, ScheduleID: id, NextRunTime: next, Data: []byte(data)}
}

func renderSchedules(rs []*persistence.ScheduleRecord) string {
	var out []string
	for _, r := range rs {
		next := int64(0)
		if !r.NextRunTime.IsZero() {
			next = r.NextRunTime.UnixNano()
		}
		out = append(out, fmt.Sprintf("%s/%s@%d v%d %s", r.NamespaceID, r.ScheduleID, next, r.Version, r.Data))
	}
	return "[" + strings.Join(out, " ") + "]"
}

func (f *fixture) wantSchedules(got []*persistence.ScheduleRecord, err error, want string, what string) {
	f.Helper()
	f.must(err, what)
	if g := renderSchedules(got); g != want {
		f.Errorf("%s = %s\nwant %s", what, g, want)
	}
}

var scheduleTests = map[string]func(*fixture){
	"CreateGetConflict": func(f *fixture) {
		f.must(f.s.CreateSchedule(f.ctx, schedRec(testNamespace, "a", t0, "d1")), "CreateSchedule")
		f.wantIs(f.s.CreateSchedule(f.ctx, schedRec(testNamespace, "a", t0, "d2")), persistence.ErrAlreadyExists, "second create")
		f.must(f.s.CreateSchedule(f.ctx, schedRec("other-ns", "a", time.Time{}, "o")), "create in other namespace")
		r, err := f.s.GetSchedule(f.ctx, testNamespace, "a")
		f.wantSchedules([]*persistence.ScheduleRecord{r}, err,
			fmt.Sprintf("[%s/a@%d v1 d1]", testNamespace, t0.UnixNano()), "GetSchedule")
		_, err = f.s.GetSchedule(f.ctx, testNamespace, "missing")
		f.wantIs(err, persistence.ErrNotFound, "GetSchedule missing")
	},
	"UpdateIsConditional": func(f *fixture) {
		f.must(f.s.CreateSchedule(f.ctx, schedRec(testNamespace, "a", t0, "d1")), "CreateSchedule")
		next := t0.Add(time.Minute)
		f.must(f.s.UpdateSchedule(f.ctx, schedRec(testNamespace, "a", next, "d2"), 1), "UpdateSchedule")
		f.wantIs(f.s.UpdateSchedule(f.ctx, schedRec(testNamespace, "a", t0, "stale"), 1), persistence.ErrConditionFailed, "stale update")
		f.wantIs(f.s.UpdateSchedule(f.ctx, schedRec(testNamespace, "missing", t0, "x"), 1), persistence.ErrConditionFailed, "update missing")
		r, err := f.s.GetSchedule(f.ctx, testNamespace, "a")
		f.wantSchedules([]*persistence.ScheduleRecord{r}, err,
			fmt.Sprintf("[%s/a@%d v2 d2]", testNamespace, next.UnixNano()), "after update")
	},
	"DeleteListCount": func(f *fixture) {
		for _, id := range []string{"c", "a", "b", "d"} {
			f.must(f.s.CreateSchedule(f.ctx, schedRec(testNamespace, id, time.Time{}, id)), "CreateSchedule")
		}
		f.must(f.s.CreateSchedule(f.ctx, schedRec("other-ns", "x", time.Time{}, "x")), "CreateSchedule other")
		f.must(f.s.DeleteSchedule(f.ctx, testNamespace, "d"), "DeleteSchedule")
		f.wantIs(f.s.DeleteSchedule(f.ctx, testNamespace, "d"), persistence.ErrNotFound, "delete twice")
		rs, err := f.s.ListSchedules(f.ctx, testNamespace, "", 2)
		f.wantSchedules(rs, err, fmt.Sprintf("[%[1]s/a@0 v1 a %[1]s/b@0 v1 b]", testNamespace), "first page")
		rs, err = f.s.ListSchedules(f.ctx, testNamespace, "b", 2)
		f.wantSchedules(rs, err, fmt.Sprintf("[%s/c@0 v1 c]", testNamespace), "second page")
		n, err := f.s.CountSchedules(f.ctx, testNamespace)
		f.must(err, "CountSchedules")
		if n != 3 {
			f.Errorf("CountSchedules = %d, want 3", n)
		}
	},
	"DueAndNextRunTime": func(f *fixture) {
		if _, ok, err := f.s.NextScheduleRunTime(f.ctx); err != nil || ok {
			f.Errorf("NextScheduleRunTime on empty store = %v, %v; want none", ok, err)
		}
		f.must(f.s.CreateSchedule(f.ctx, schedRec(testNamespace, "late", t0.Add(time.Hour), "")), "create")
		f.must(f.s.CreateSchedule(f.ctx, schedRec("other-ns", "early", t0, "")), "create")
		f.must(f.s.CreateSchedule(f.ctx, schedRec(testNamespace, "mid", t0.Add(time.Second), "")), "create")
		f.must(f.s.CreateSchedule(f.ctx, schedRec(testNamespace, "idle", time.Time{}, "")), "create")
		next, ok, err := f.s.NextScheduleRunTime(f.ctx)
		if err != nil || !ok || !next.Equal(t0) {
			f.Errorf("NextScheduleRunTime = %v, %v, %v; want %v", next, ok, err, t0)
		}
		rs, err := f.s.DueSchedules(f.ctx, t0.Add(time.Minute), 10)
		f.wantSchedules(rs, err, fmt.Sprintf("[other-ns/early@%d v1  %s/mid@%d v1 ]",
			t0.UnixNano(), testNamespace, t0.Add(time.Second).UnixNano()), "DueSchedules")
		rs, err = f.s.DueSchedules(f.ctx, t0.Add(time.Minute), 1)
		f.wantSchedules(rs, err, fmt.Sprintf("[other-ns/early@%d v1 ]", t0.UnixNano()), "DueSchedules limit 1")
	}, "LeasesFenceTheScheduler": func(f *fixture) {
		lease := t0.Add(30 * time.Second)
		f.must(f.s.CreateSchedule(f.ctx, schedRec(testNamespace, "a", t0, "d1")), "create a")
		f.must(f.s.CreateSchedule(f.ctx, schedRec(testNamespace, "b", t0.Add(time.Second), "d1")), "create b")
		f.must(f.s.CreateSchedule(f.ctx, schedRec(testNamespace, "later", t0.Add(time.Hour), "d1")), "create later")
		rs, err := f.s.ClaimDueSchedules(f.ctx, "p1", t0.Add(time.Second), lease, 10)
		f.wantSchedules(rs, err, fmt.Sprintf("[%[1]s/a@%[2]d v1 d1 %[1]s/b@%[2]d v1 d1]", testNamespace, lease.UnixNano()), "p1 claims")
		if rs[0].LeaseOwner != "p1" || !rs[0].LeaseExpiry.Equal(lease) {
			f.Errorf("claimed lease = %q until %v", rs[0].LeaseOwner, rs[0].LeaseExpiry)
		}
		rs, err = f.s.ClaimDueSchedules(f.ctx, "p2", t0.Add(2*time.Second), lease.Add(time.Second), 10)
		f.wantSchedules(rs, err, "[]", "p2 while p1's lease lasts")

		// An API write while leased keeps the lease's next run time.
		f.must(f.s.UpdateSchedule(f.ctx, schedRec(testNamespace, "b", t0, "api"), 1), "API update of b")
		r, err := f.s.GetSchedule(f.ctx, testNamespace, "b")
		f.wantSchedules([]*persistence.ScheduleRecord{r}, err, fmt.Sprintf("[%s/b@%d v2 api]", testNamespace, lease.UnixNano()), "b after the API write")
		if r.LeaseOwner != "p1" {
			f.Errorf("lease owner after an API write = %q, want p1", r.LeaseOwner)
		}

		// The holder's write is fenced by its lease and ends it.
		held := schedRec(testNamespace, "a", t0.Add(time.Minute), "d2")
		held.LeaseOwner = "p2"
		f.wantIs(f.s.UpdateSchedule(f.ctx, held, 1), persistence.ErrConditionFailed, "write by a non-holder")
		held.LeaseOwner = "p1"
		f.must(f.s.UpdateSchedule(f.ctx, held, 1), "holder's write")
		r, err = f.s.GetSchedule(f.ctx, testNamespace, "a")
		f.wantSchedules([]*persistence.ScheduleRecord{r}, err, fmt.Sprintf("[%s/a@%d v2 d2]", testNamespace, t0.Add(time.Minute).UnixNano()), "a after the holder's write")
		if r.LeaseOwner != "" || !r.LeaseExpiry.IsZero() {
			f.Errorf("lease after the holder's write = %q until %v, want none", r.LeaseOwner, r.LeaseExpiry)
		}

		// p1 dies holding b: p2 takes it over once the lease has expired,
		// and p1's late writes fail.
		rs, err = f.s.ClaimDueSchedules(f.ctx, "p2", lease, lease.Add(30*time.Second), 10)
		f.wantSchedules(rs, err, fmt.Sprintf("[%s/b@%d v2 api]", testNamespace, lease.Add(30*time.Second).UnixNano()), "p2 takes b over")
		late := schedRec(testNamespace, "b", t0.Add(time.Minute), "late")
		late.LeaseOwner = "p1"
		f.wantIs(f.s.UpdateSchedule(f.ctx, late, 2), persistence.ErrConditionFailed, "p1's late write")
		f.wantIs(f.s.DeleteLeasedSchedule(f.ctx, testNamespace, "b", "p1", 2), persistence.ErrConditionFailed, "p1's late delete")
		f.wantIs(f.s.DeleteLeasedSchedule(f.ctx, testNamespace, "b", "p2", 1), persistence.ErrConditionFailed, "delete at a stale version")
		f.must(f.s.DeleteLeasedSchedule(f.ctx, testNamespace, "b", "p2", 2), "p2 deletes b")
		_, err = f.s.GetSchedule(f.ctx, testNamespace, "b")
		f.wantIs(err, persistence.ErrNotFound, "b after its delete")
	},
}
