package schedule

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	schedulepb "go.temporal.io/api/schedule/v1"
	"google.golang.org/protobuf/types/known/durationpb"
)

// field describes one calendar field: its bounds and the names it accepts.
type field struct {
	name     string
	min, max int32
	names    map[string]int32
}

var (
	fieldSecond = field{name: "second", min: 0, max: 59}
	fieldMinute = field{name: "minute", min: 0, max: 59}
	fieldHour   = field{name: "hour", min: 0, max: 23}
	fieldDay    = field{name: "day_of_month", min: 1, max: 31}
	fieldMonth  = field{name: "month", min: 1, max: 12, names: map[string]int32{
		"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
		"jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12}}
	fieldYear = field{name: "year", min: 1970, max: 9999}
	// Day of week accepts 0-7 (0 and 7 are Sunday).
	fieldWeekday = field{name: "day_of_week", min: 0, max: 7, names: map[string]int32{
		"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}}
)

// parseField compiles one cron-style field ("*", "x", "x-z", "x/y", "*/y",
// "x-z/y", comma lists) into ranges. "*" for year compiles to no ranges
// (every year), as the structured form defines.
func parseField(f field, s string) ([]*schedulepb.Range, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("invalid %s: empty", f.name)
	}
	if s == "*" && f.name == fieldYear.name {
		return nil, nil
	}
	var out []*schedulepb.Range
	for _, part := range strings.Split(s, ",") {
		r, err := parseRange(f, part)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func parseRange(f field, part string) (*schedulepb.Range, error) {
	step := int32(1)
	body := part
	if i := strings.IndexByte(part, '/'); i >= 0 {
		n, err := strconv.Atoi(part[i+1:])
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("invalid %s step in %q", f.name, part)
		}
		step, body = int32(n), part[:i]
	}
	var start, end int32
	switch {
	case body == "*":
		start, end = f.min, f.max
		if f.name == fieldWeekday.name {
			end = 6
		}
	case strings.Contains(body, "-"):
		i := strings.IndexByte(body, '-')
		a, err := fieldValue(f, body[:i])
		if err != nil {
			return nil, err
		}
		b, err := fieldValue(f, body[i+1:])
		if err != nil {
			return nil, err
		}
		start, end = a, b
	default:
		v, err := fieldValue(f, body)
		if err != nil {
			return nil, err
		}
		start, end = v, v
		if step != 1 { // "x/y": x, x+y, ... up to the field's maximum
			end = f.max
		}
	}
	if end < start {
		return nil, fmt.Errorf("invalid %s range %q", f.name, part)
	}
	return compactRange(start, end, step), nil
}

// compactRange leaves defaults out, as the structured form reads them: an
// end equal to the start and a step of 1 are omitted.
func compactRange(start, end, step int32) *schedulepb.Range {
	r := &schedulepb.Range{Start: start}
	if end != start {
		r.End = end
	}
	if step != 1 {
		r.Step = step
	}
	return r
}

func fieldValue(f field, s string) (int32, error) {
	if v, ok := f.names[strings.ToLower(s)]; ok {
		return v, nil
	}
	if f.names != nil && len(s) > 3 {
		if v, ok := f.names[strings.ToLower(s[:3])]; ok {
			return v, nil // full names: "January", "Monday"
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || int32(n) < f.min || int32(n) > f.max {
		return 0, fmt.Errorf("invalid %s value %q", f.name, s)
	}
	return int32(n), nil
}

// compileCalendar turns a string-form CalendarSpec into the structured
// form, filling each empty field with its documented default.
func compileCalendar(c *schedulepb.CalendarSpec) (*schedulepb.StructuredCalendarSpec, error) {
	def := func(s, d string) string {
		if strings.TrimSpace(s) == "" {
			return d
		}
		return s
	}
	return structured(def(c.GetSecond(), "0"), def(c.GetMinute(), "0"), def(c.GetHour(), "0"),
		def(c.GetDayOfMonth(), "*"), def(c.GetMonth(), "*"), def(c.GetYear(), "*"),
		def(c.GetDayOfWeek(), "*"), c.GetComment())
}

func structured(sec, min, hour, dom, month, year, dow, comment string) (*schedulepb.StructuredCalendarSpec, error) {
	out := &schedulepb.StructuredCalendarSpec{Comment: comment}
	parts := []struct {
		f   field
		s   string
		dst *[]*schedulepb.Range
	}{
		{fieldSecond, sec, &out.Second}, {fieldMinute, min, &out.Minute}, {fieldHour, hour, &out.Hour},
		{fieldDay, dom, &out.DayOfMonth}, {fieldMonth, month, &out.Month}, {fieldYear, year, &out.Year},
		{fieldWeekday, dow, &out.DayOfWeek},
	}
	for _, p := range parts {
		r, err := parseField(p.f, p.s)
		if err != nil {
			return nil, err
		}
		*p.dst = r
	}
	return out, nil
}

var cronShorthands = map[string]string{
	"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
	"@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}

// compiledCron is what one cron string compiles to: a calendar or an
// interval, and maybe a time zone from a CRON_TZ= / TZ= prefix.
type compiledCron struct {
	calendar *schedulepb.StructuredCalendarSpec
	interval *schedulepb.IntervalSpec
	timezone string
}

// compileCron parses a cron_string as ScheduleSpec documents it.
func compileCron(s string) (compiledCron, error) {
	var out compiledCron
	if i := strings.IndexByte(s, '#'); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimSpace(s)
	for _, prefix := range []string{"CRON_TZ=", "TZ="} {
		if strings.HasPrefix(s, prefix) {
			rest := strings.TrimPrefix(s, prefix)
			tz, after, _ := strings.Cut(rest, " ")
			out.timezone, s = tz, strings.TrimSpace(after)
			break
		}
	}
	if strings.HasPrefix(s, "@every") {
		iv, err := parseEvery(strings.TrimSpace(strings.TrimPrefix(s, "@every")))
		if err != nil {
			return out, err
		}
		out.interval = iv
		return out, nil
	}
	if full, ok := cronShorthands[s]; ok {
		s = full
	}
	f := strings.Fields(s)
	var err error
	switch len(f) {
	case 5:
		out.calendar, err = structured("0", f[0], f[1], f[2], f[3], "*", f[4], "")
	case 6:
		out.calendar, err = structured("0", f[0], f[1], f[2], f[3], f[5], f[4], "")
	case 7:
		out.calendar, err = structured(f[0], f[1], f[2], f[3], f[4], f[6], f[5], "")
	default:
		err = fmt.Errorf("invalid cron string %q: want 5, 6 or 7 fields", s)
	}
	return out, err
}

// parseEvery parses "<interval>[/<phase>]" with units s, m, h or d.
func parseEvery(s string) (*schedulepb.IntervalSpec, error) {
	ivText, phaseText, hasPhase := strings.Cut(s, "/")
	iv, err := parseUnitDuration(ivText)
	if err != nil || iv <= 0 {
		return nil, fmt.Errorf("invalid @every interval %q", s)
	}
	out := &schedulepb.IntervalSpec{Interval: durationpb.New(iv)}
	if hasPhase {
		ph, err := parseUnitDuration(phaseText)
		if err != nil {
			return nil, fmt.Errorf("invalid @every phase %q", s)
		}
		out.Phase = durationpb.New(ph)
	}
	return out, nil
}

func parseUnitDuration(s string) (time.Duration, error) {
	if strings.HasSuffix(s, "d") {
		n, err := strconv.Atoi(strings.TrimSuffix(s, "d"))
		if err != nil || n < 0 {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}
