package schedule

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	schedulepb "go.temporal.io/api/schedule/v1"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// times lists the first n nominal times of spec after from.
func times(t *testing.T, spec *schedulepb.ScheduleSpec, from time.Time, n int) []string {
	t.Helper()
	s, _, err := Compile(spec)
	require.NoError(t, err)
	var out []string
	for range n {
		next, ok := s.NextNominal(from)
		if !ok {
			break
		}
		out = append(out, next.UTC().Format(time.RFC3339))
		from = next
	}
	return out
}

var base = time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC) // a Monday

func TestIntervalWithPhase(t *testing.T) {
	spec := &schedulepb.ScheduleSpec{Interval: []*schedulepb.IntervalSpec{{
		Interval: durationpb.New(time.Hour), Phase: durationpb.New(19 * time.Minute)}}}
	require.Equal(t, []string{"2026-01-05T10:19:00Z", "2026-01-05T11:19:00Z", "2026-01-05T12:19:00Z"},
		times(t, spec, base, 3))
	// The documented example: 28 days with phase 3d5h23m.
	spec = &schedulepb.ScheduleSpec{Interval: []*schedulepb.IntervalSpec{{
		Interval: durationpb.New(28 * 24 * time.Hour), Phase: durationpb.New(3*24*time.Hour + 5*time.Hour + 23*time.Minute)}}}
	got := times(t, spec, time.Date(2022, 2, 1, 0, 0, 0, 0, time.UTC), 1)
	require.Equal(t, []string{"2022-02-20T05:23:00Z"}, got)
}

func TestStructuredCalendar(t *testing.T) {
	spec := &schedulepb.ScheduleSpec{StructuredCalendar: []*schedulepb.StructuredCalendarSpec{{
		Second: []*schedulepb.Range{{Start: 0}}, Minute: []*schedulepb.Range{{Start: 0, End: 30, Step: 30}},
		Hour: []*schedulepb.Range{{Start: 9, End: 17}}, DayOfMonth: []*schedulepb.Range{{Start: 1, End: 31}},
		Month: []*schedulepb.Range{{Start: 1, End: 12}}, DayOfWeek: []*schedulepb.Range{{Start: 1, End: 5}},
	}}}
	require.Equal(t, []string{"2026-01-05T10:30:00Z", "2026-01-05T11:00:00Z"}, times(t, spec, base, 2))
	// Friday 17:30 is followed by Monday 09:00.
	require.Equal(t, []string{"2026-01-12T09:00:00Z"}, times(t, spec, time.Date(2026, 1, 9, 17, 30, 0, 0, time.UTC), 1))
}

func TestCalendarStringsAndCron(t *testing.T) {
	cal := &schedulepb.ScheduleSpec{Calendar: []*schedulepb.CalendarSpec{{Hour: "12", DayOfWeek: "wed,fri"}}}
	require.Equal(t, []string{"2026-01-07T12:00:00Z", "2026-01-09T12:00:00Z", "2026-01-14T12:00:00Z"}, times(t, cal, base, 3))

	cron := &schedulepb.ScheduleSpec{CronString: []string{"*/15 10 * * *"}}
	require.Equal(t, []string{"2026-01-05T10:15:00Z", "2026-01-05T10:30:00Z", "2026-01-05T10:45:00Z", "2026-01-06T10:00:00Z"},
		times(t, cron, base, 4))

	daily := &schedulepb.ScheduleSpec{CronString: []string{"@daily # comment"}}
	require.Equal(t, []string{"2026-01-06T00:00:00Z"}, times(t, daily, base, 1))

	every := &schedulepb.ScheduleSpec{CronString: []string{"@every 90m/5m"}}
	_, canon, err := Compile(every)
	require.NoError(t, err)
	require.Len(t, canon.Interval, 1)
	require.Empty(t, canon.CronString)
	require.Equal(t, 90*time.Minute, canon.Interval[0].Interval.AsDuration())
	require.Equal(t, 5*time.Minute, canon.Interval[0].Phase.AsDuration())

	tz := &schedulepb.ScheduleSpec{CronString: []string{"CRON_TZ=Asia/Tokyo 0 9 * * *"}}
	_, canon, err = Compile(tz)
	require.NoError(t, err)
	require.Equal(t, "Asia/Tokyo", canon.TimezoneName)
	require.Equal(t, []string{"2026-01-06T00:00:00Z"}, times(t, tz, base, 1)) // 09:00 JST

	seven := &schedulepb.ScheduleSpec{CronString: []string{"30 0 12 1 * * 2027"}}
	require.Equal(t, []string{"2027-01-01T12:00:30Z", "2027-02-01T12:00:30Z"}, times(t, seven, base, 2))
}

func TestCompileRejectsBadSpecs(t *testing.T) {
	for _, spec := range []*schedulepb.ScheduleSpec{
		{CronString: []string{"* * *"}},
		{CronString: []string{"61 * * * *"}},
		{CronString: []string{"@every x"}},
		{Calendar: []*schedulepb.CalendarSpec{{Hour: "25"}}},
		{Interval: []*schedulepb.IntervalSpec{{Interval: durationpb.New(0)}}},
		{TimezoneName: "Not/AZone"},
		{StructuredCalendar: []*schedulepb.StructuredCalendarSpec{{Hour: []*schedulepb.Range{{Start: 30}}}}},
	} {
		_, _, err := Compile(spec)
		var invalid *InvalidSpecError
		require.ErrorAs(t, err, &invalid, "spec %v", spec)
	}
}

func TestExclusionsAndBounds(t *testing.T) {
	spec := &schedulepb.ScheduleSpec{
		Interval:        []*schedulepb.IntervalSpec{{Interval: durationpb.New(time.Hour)}},
		ExcludeCalendar: []*schedulepb.CalendarSpec{{Hour: "12-13", Minute: "*"}},
		StartTime:       timestamppb.New(base.Add(90 * time.Minute)),
		EndTime:         timestamppb.New(base.Add(5 * time.Hour)),
	}
	require.Equal(t, []string{"2026-01-05T14:00:00Z", "2026-01-05T15:00:00Z"}, times(t, spec, base.Add(3*time.Hour), 5))
	require.Equal(t, "2026-01-05T14:00:00Z", times(t, spec, base, 1)[0], "12:00 and 13:00 are excluded")
}

func TestJitterIsDeterministicAndBounded(t *testing.T) {
	spec := &schedulepb.ScheduleSpec{
		Interval: []*schedulepb.IntervalSpec{{Interval: durationpb.New(time.Minute)}},
		Jitter:   durationpb.New(time.Hour),
	}
	s, _, err := Compile(spec)
	require.NoError(t, err)
	differs := false
	after := base
	for range 20 {
		n, a, ok := s.Next("sched-1", after)
		require.True(t, ok)
		n2, a2, _ := s.Next("sched-1", after)
		require.Equal(t, n, n2)
		require.Equal(t, a, a2)
		require.False(t, a.Before(n))
		require.Less(t, a.Sub(n), time.Minute, "jitter stays below the gap to the next time")
		differs = differs || a != n
		after = n
	}
	require.True(t, differs)
}

// TestDSTNewYork pins the reference's rule: wall-clock times are matched
// literally, so 02:30 does not happen on the spring-forward day, happens
// once on the fall-back day, and 01:30 happens twice on the fall-back day.
func TestDSTNewYork(t *testing.T) {
	at230 := &schedulepb.ScheduleSpec{TimezoneName: "America/New_York",
		Calendar: []*schedulepb.CalendarSpec{{Hour: "2", Minute: "30"}}}
	spring := time.Date(2026, 3, 6, 12, 0, 0, 0, time.UTC) // 2026-03-08 is spring-forward
	require.Equal(t, []string{
		"2026-03-07T07:30:00Z", // 02:30 EST
		"2026-03-09T06:30:00Z", // 02:30 EDT; none on the 8th
	}, times(t, at230, spring, 2))
	fall := time.Date(2026, 10, 30, 12, 0, 0, 0, time.UTC) // 2026-11-01 is fall-back
	require.Equal(t, []string{
		"2026-10-31T06:30:00Z", // 02:30 EDT
		"2026-11-01T07:30:00Z", // 02:30 EST, once
		"2026-11-02T07:30:00Z",
	}, times(t, at230, fall, 3))

	at130 := &schedulepb.ScheduleSpec{TimezoneName: "America/New_York",
		Calendar: []*schedulepb.CalendarSpec{{Hour: "1", Minute: "30"}}}
	require.Equal(t, []string{
		"2026-10-31T05:30:00Z",
		"2026-11-01T05:30:00Z", // 01:30 EDT
		"2026-11-01T06:30:00Z", // 01:30 EST
		"2026-11-02T06:30:00Z",
	}, times(t, at130, fall, 4))
}
