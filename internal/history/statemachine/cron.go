package statemachine

import (
	"time"

	"github.com/robfig/cron/v3"
)

// ParseCron parses a cron schedule as Temporal accepts it: standard five
// fields, descriptors (@daily, @every 2s) and a CRON_TZ= prefix.
func ParseCron(spec string) (cron.Schedule, error) {
	return cron.ParseStandard(spec)
}

// CronBackoff is how long after now the schedule next fires (0 for an
// invalid schedule, which the frontend rejects before it gets here).
func CronBackoff(spec string, now time.Time) time.Duration {
	sched, err := ParseCron(spec)
	if err != nil {
		return 0
	}
	next := sched.Next(now)
	if next.IsZero() {
		return 0
	}
	return next.Sub(now)
}
