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
	},
}
