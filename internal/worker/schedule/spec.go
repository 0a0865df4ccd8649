// Package schedule is Sundial's native scheduler: schedule specs, the
// persisted schedule state, the API operations the frontend calls, and the
// one loop per process that takes due actions. See docs/SCHEDULES.md for
// the spec rules and docs/DECISIONS.md for why it is not a system
// workflow.
package schedule

import (
	"fmt"
	"hash/fnv"
	"slices"
	"time"

	schedulepb "go.temporal.io/api/schedule/v1"
	"google.golang.org/protobuf/proto"
)

// InvalidSpecError is a spec the scheduler cannot use (InvalidArgument).
type InvalidSpecError struct{ Msg string }

func (e *InvalidSpecError) Error() string { return e.Msg }

func invalidf(format string, args ...any) error {
	return &InvalidSpecError{Msg: fmt.Sprintf(format, args...)}
}

// Spec is a compiled ScheduleSpec: the set of nominal times it matches,
// each shifted by a deterministic jitter. All times are whole seconds.
type Spec struct {
	calendars []*calendar
	excludes  []*calendar
	intervals []interval
	start     time.Time
	end       time.Time
	jitter    time.Duration
	loc       *time.Location
}

type interval struct{ every, phase int64 } // seconds

// empty reports a spec with no calendar and no interval: the schedule
// acts only when triggered or backfilled.
func (sp *Spec) empty() bool { return len(sp.calendars) == 0 && len(sp.intervals) == 0 }

// maxSearchYears bounds how far ahead a calendar is searched: a spec that
// matches nothing (February 30th) ends the search instead of spinning.
const maxSearchYears = 100

// Compile checks spec and compiles it. It also returns the canonical form
// Describe shows: calendar and cron_string compiled into
// structured_calendar, interval and timezone_name.
func Compile(spec *schedulepb.ScheduleSpec) (*Spec, *schedulepb.ScheduleSpec, error) {
	canon := proto.Clone(spec).(*schedulepb.ScheduleSpec)
	if canon == nil {
		canon = &schedulepb.ScheduleSpec{}
	}
	canon.CronString, canon.Calendar, canon.ExcludeCalendar = nil, nil, nil
	for _, c := range spec.GetCalendar() {
		sc, err := compileCalendar(c)
		if err != nil {
			return nil, nil, invalidf("invalid calendar spec: %v", err)
		}
		canon.StructuredCalendar = append(canon.StructuredCalendar, sc)
	}
	for _, c := range spec.GetExcludeCalendar() {
		sc, err := compileCalendar(c)
		if err != nil {
			return nil, nil, invalidf("invalid exclude calendar spec: %v", err)
		}
		canon.ExcludeStructuredCalendar = append(canon.ExcludeStructuredCalendar, sc)
	}
	for _, s := range spec.GetCronString() {
		cc, err := compileCron(s)
		if err != nil {
			return nil, nil, invalidf("invalid cron string: %v", err)
		}
		if cc.timezone != "" {
			if canon.TimezoneName != "" && canon.TimezoneName != cc.timezone {
				return nil, nil, invalidf("invalid cron string: time zone %q conflicts with %q", cc.timezone, canon.TimezoneName)
			}
			canon.TimezoneName = cc.timezone
		}
		if cc.calendar != nil {
			canon.StructuredCalendar = append(canon.StructuredCalendar, cc.calendar)
		}
		if cc.interval != nil {
			canon.Interval = append(canon.Interval, cc.interval)
		}
	}
	s, err := compileStructured(canon)
	if err != nil {
		return nil, nil, err
	}
	return s, canon, nil
}

func compileStructured(canon *schedulepb.ScheduleSpec) (*Spec, error) {
	s := &Spec{loc: time.UTC}
	if canon.GetTimezoneName() != "" {
		loc, err := time.LoadLocation(canon.GetTimezoneName())
		if err != nil {
			return nil, invalidf("invalid time zone name %q", canon.GetTimezoneName())
		}
		s.loc = loc
	}
	for _, sc := range canon.GetStructuredCalendar() {
		c, err := newCalendar(sc)
		if err != nil {
			return nil, err
		}
		s.calendars = append(s.calendars, c)
	}
	for _, sc := range canon.GetExcludeStructuredCalendar() {
		c, err := newCalendar(sc)
		if err != nil {
			return nil, err
		}
		s.excludes = append(s.excludes, c)
	}
	for _, iv := range canon.GetInterval() {
		every := int64(iv.GetInterval().AsDuration() / time.Second)
		phase := int64(iv.GetPhase().AsDuration() / time.Second)
		if every <= 0 || phase < 0 {
			return nil, invalidf("interval must be positive and phase non-negative")
		}
		s.intervals = append(s.intervals, interval{every: every, phase: phase})
	}
	if canon.GetJitter().AsDuration() < 0 {
		return nil, invalidf("jitter must be non-negative")
	}
	s.jitter = canon.GetJitter().AsDuration()
	if canon.StartTime != nil {
		s.start = canon.GetStartTime().AsTime()
	}
	if canon.EndTime != nil {
		s.end = canon.GetEndTime().AsTime()
	}
	return s, nil
}

// Empty reports whether the spec matches no time at all (no calendar and
// no interval): such a schedule only acts when triggered or backfilled.
func (s *Spec) Empty() bool { return len(s.calendars) == 0 && len(s.intervals) == 0 }

// NextNominal returns the first nominal time strictly after after that
// the spec matches (within start and end time, not excluded).
func (s *Spec) NextNominal(after time.Time) (time.Time, bool) {
	if !s.start.IsZero() && after.Before(s.start) {
		after = s.start.Add(-time.Nanosecond)
	}
	for range 10000 { // exclusions are bounded too
		next, ok := s.nextAny(after)
		if !ok || (!s.end.IsZero() && next.After(s.end)) {
			return time.Time{}, false
		}
		if !s.excluded(next) {
			return next, true
		}
		after = next
	}
	return time.Time{}, false
}

func (s *Spec) nextAny(after time.Time) (time.Time, bool) {
	var best time.Time
	found := false
	consider := func(t time.Time, ok bool) {
		if ok && (!found || t.Before(best)) {
			best, found = t, true
		}
	}
	for _, c := range s.calendars {
		consider(c.next(after, s.loc))
	}
	for _, iv := range s.intervals {
		consider(iv.next(after), true)
	}
	return best, found
}

func (s *Spec) excluded(t time.Time) bool {
	w := naive(t.In(s.loc))
	for _, c := range s.excludes {
		if c.matches(w) {
			return true
		}
	}
	return false
}

// Next returns the next action after after: its nominal time and its
// actual time (nominal plus jitter). Actual times rise with nominal ones:
// the jitter is less than the gap to the following nominal time.
func (s *Spec) Next(seed string, after time.Time) (nominal, actual time.Time, ok bool) {
	nominal, ok = s.NextNominal(after)
	if !ok {
		return time.Time{}, time.Time{}, false
	}
	return nominal, s.Jittered(seed, nominal), true
}

// Jittered adds the deterministic jitter for nominal: a hash of the seed
// (the schedule's identity) and the time, so a recomputation after a
// crash gives the same actual time.
func (s *Spec) Jittered(seed string, nominal time.Time) time.Time {
	if s.jitter <= 0 {
		return nominal
	}
	limit := s.jitter
	if following, ok := s.NextNominal(nominal); ok && following.Sub(nominal) < limit {
		limit = following.Sub(nominal)
	}
	if limit <= 0 {
		return nominal
	}
	h := fnv.New64a()
	_, _ = fmt.Fprintf(h, "%s|%d", seed, nominal.Unix())
	return nominal.Add(time.Duration(h.Sum64() % uint64(limit)))
}

func (iv interval) next(after time.Time) time.Time {
	u := after.Unix() // floor for times after 1970
	n := floorDiv(u-iv.phase, iv.every) + 1
	return time.Unix(n*iv.every+iv.phase, 0).UTC()
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// calendar is a StructuredCalendarSpec as lookup tables.
type calendar struct {
	second, minute [60]bool
	hour           [24]bool
	day            [32]bool
	month          [13]bool
	weekday        [7]bool
	years          []*schedulepb.Range // empty: every year
}

func newCalendar(sc *schedulepb.StructuredCalendarSpec) (*calendar, error) {
	c := &calendar{years: sc.GetYear()}
	sets := []struct {
		f      field
		ranges []*schedulepb.Range
		set    func(int32)
	}{
		{fieldSecond, sc.GetSecond(), func(v int32) { c.second[v] = true }},
		{fieldMinute, sc.GetMinute(), func(v int32) { c.minute[v] = true }},
		{fieldHour, sc.GetHour(), func(v int32) { c.hour[v] = true }},
		{fieldDay, sc.GetDayOfMonth(), func(v int32) { c.day[v] = true }},
		{fieldMonth, sc.GetMonth(), func(v int32) { c.month[v] = true }},
		{fieldWeekday, sc.GetDayOfWeek(), func(v int32) { c.weekday[v%7] = true }},
	}
	for _, st := range sets {
		for _, r := range st.ranges {
			start, end, step := bounds(r)
			if start < st.f.min || end > st.f.max || step <= 0 {
				return nil, invalidf("invalid %s range %d-%d/%d", st.f.name, start, end, step)
			}
			for v := start; v <= end; v += step {
				st.set(v)
			}
		}
	}
	return c, nil
}

// bounds reads a Range as the API defines it: an end before the start
// means the start alone; a zero step means 1.
func bounds(r *schedulepb.Range) (start, end, step int32) {
	start, end, step = r.GetStart(), r.GetEnd(), r.GetStep()
	if end < start {
		end = start
	}
	if step == 0 {
		step = 1
	}
	return start, end, step
}

func (c *calendar) yearMatches(y int) bool {
	if len(c.years) == 0 {
		return true
	}
	for _, r := range c.years {
		start, end, step := bounds(r)
		if int32(y) >= start && int32(y) <= end && (int32(y)-start)%step == 0 {
			return true
		}
	}
	return false
}

// naive is a wall-clock time written as the same digits in UTC, so
// calendar arithmetic on it never meets a DST transition.
func naive(t time.Time) time.Time {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	return time.Date(y, mo, d, h, mi, s, 0, time.UTC)
}

func (c *calendar) matches(w time.Time) bool {
	return c.yearMatches(w.Year()) && c.month[w.Month()] && c.day[w.Day()] && c.weekday[w.Weekday()] &&
		c.hour[w.Hour()] && c.minute[w.Minute()] && c.second[w.Second()]
}

// nextWall returns the first matching wall-clock time at or after w
// (naive), or false when none comes within maxSearchYears.
func (c *calendar) nextWall(w time.Time, limitYear int) (time.Time, bool) {
	for w.Year() <= limitYear {
		y, mo, d := w.Date()
		h, mi, s := w.Clock()
		switch {
		case !c.yearMatches(y):
			w = time.Date(y+1, 1, 1, 0, 0, 0, 0, time.UTC)
		case !c.month[mo]:
			w = time.Date(y, mo+1, 1, 0, 0, 0, 0, time.UTC)
		case !c.day[d] || !c.weekday[w.Weekday()]:
			w = time.Date(y, mo, d+1, 0, 0, 0, 0, time.UTC)
		case !c.hour[h]:
			w = time.Date(y, mo, d, h+1, 0, 0, 0, time.UTC)
		case !c.minute[mi]:
			w = time.Date(y, mo, d, h, mi+1, 0, 0, time.UTC)
		case !c.second[s]:
			w = w.Add(time.Second)
		default:
			return w, true
		}
	}
	return time.Time{}, false
}

// dstMargin covers the largest clock jump of any zone: around a fall-back
// a later instant can have an earlier wall-clock time.
const dstMargin = 3 * time.Hour

// next returns the first instant strictly after after whose wall-clock
// time in loc matches. Wall times are matched literally: a time skipped
// by a spring-forward never matches, one repeated by a fall-back matches
// twice (the reference's documented rule).
func (c *calendar) next(after time.Time, loc *time.Location) (time.Time, bool) {
	t0 := after.Truncate(time.Second).Add(time.Second)
	w := naive(t0.In(loc)).Add(-dstMargin)
	limit := w.Year() + maxSearchYears
	var best time.Time
	var stopAt time.Time
	found := false
	for {
		wall, ok := c.nextWall(w, limit)
		if !ok || (found && wall.After(stopAt)) {
			return best, found
		}
		for _, inst := range instants(wall, loc) {
			if !inst.Before(t0) && (!found || inst.Before(best)) {
				if !found {
					stopAt = wall.Add(2 * dstMargin)
				}
				best, found = inst, true
			}
		}
		w = wall.Add(time.Second)
	}
}

// instants returns the instants (zero, one or two, ascending) whose wall
// clock in loc reads wall (naive).
func instants(wall time.Time, loc *time.Location) []time.Time {
	var out []time.Time
	seen := map[int]bool{}
	for _, probe := range []int64{-86400, 0, 86400} {
		_, off := time.Unix(wall.Unix()+probe, 0).In(loc).Zone()
		if seen[off] {
			continue
		}
		seen[off] = true
		inst := time.Unix(wall.Unix()-int64(off), 0)
		if naive(inst.In(loc)).Equal(wall) {
			out = append(out, inst.UTC())
		}
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out
}
