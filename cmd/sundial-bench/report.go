package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"
)

// result is a run's figures. Pointers are nil when the figure could not be
// measured (no /metrics, no PID); the JSON then has null.
type result struct {
	Workload      string    `json:"workload"`
	Driver        string    `json:"driver"` // sdk or raw
	Count         int       `json:"count"`
	Concurrency   int       `json:"concurrency"`
	DurationSec   float64   `json:"duration_sec"` // measured window
	WarmupSec     float64   `json:"warmup_sec"`
	Backend       string    `json:"backend"` // sqlite (spawned), postgres (spawned) or external
	Address       string    `json:"address"`
	ServerBin     string    `json:"server_bin,omitempty"`
	Date          time.Time `json:"date"`
	GoVersion     string    `json:"go_version"`
	CPUs          int       `json:"cpus"`
	Completed     int       `json:"completed"` // workflows that completed in the window
	Failed        int       `json:"failed"`    // workflows that failed at any time in the run
	FirstError    string    `json:"first_error,omitempty"`
	WorkflowsPS   float64   `json:"workflows_per_sec"`
	ActivitiesPS  float64   `json:"activities_per_sec,omitempty"`
	SignalsPS     float64   `json:"signals_per_sec,omitempty"`
	TimersPS      float64   `json:"timers_per_sec,omitempty"`
	ChildrenPS    float64   `json:"children_per_sec,omitempty"`
	TransitionsPS *float64  `json:"state_transitions_per_sec"`

	StartMs latencies `json:"start_workflow_ms"` // StartWorkflowExecution, as the client sees it
	E2EMs   latencies `json:"end_to_end_ms"`     // start call to result

	ScheduleToStartP95Ms *float64 `json:"schedule_to_start_p95_ms"` // server side, from /metrics
	PollSyncRate         *float64 `json:"poll_sync_rate"`           // poll_success_sync / poll_success

	ServerCPUSec     *float64 `json:"server_cpu_sec"`
	ServerCPUSource  string   `json:"server_cpu_source,omitempty"`
	ServerCPUPer1000 *float64 `json:"server_cpu_sec_per_1000_workflows"`
	DBCPUSec         *float64 `json:"db_cpu_sec"`
	DBCPUPer1000     *float64 `json:"db_cpu_sec_per_1000_workflows"`
	ClientCPUPer1000 *float64 `json:"client_cpu_sec_per_1000_workflows"` // this process: SDK worker and runner
	ServerPeakRSSMB  *float64 `json:"server_peak_rss_mb"`
	ServerRSSMB      *float64 `json:"server_rss_mb"`

	Idle *idleResult `json:"idle,omitempty"`
}

type latencies struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
	N   int     `json:"n"`
}

// idleResult is the idle workload's memory figures.
type idleResult struct {
	Open               int64    `json:"open_workflows"`
	FirstTaskDone      int64    `json:"first_task_done"`
	StartSec           float64  `json:"start_sec"` // time to start them all
	RSSBeforeMB        *float64 `json:"rss_before_mb"`
	RSSAfterMB         *float64 `json:"rss_after_mb"`
	PeakRSSMB          *float64 `json:"peak_rss_mb"`
	BytesPerWorkflow   *float64 `json:"rss_bytes_per_open_workflow"`
	HeapMB             *float64 `json:"heap_mb"`             // memory_heap after a GC
	CacheBytes         *float64 `json:"history_cache_bytes"` // cache_size
	RSSAt100kMBExtrap  *float64 `json:"rss_at_100k_mb_extrapolated,omitempty"`
	ExtrapolationNotes string   `json:"extrapolation,omitempty"`
}

func newResult(o *options) *result {
	r := &result{Workload: o.workload, Count: o.count, Concurrency: o.concurrency,
		WarmupSec: o.warmup.Seconds(), Date: time.Now().UTC().Truncate(time.Second),
		GoVersion: runtime.Version(), CPUs: runtime.NumCPU(), Backend: "external", Address: o.address}
	if o.workload == "idle" {
		r.WarmupSec = 0
	}
	return r
}

func ptr(v float64) *float64 { return &v }

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// fill computes the figures from the outcomes and the counters of w.
func (r *result) fill(outs []outcome, w window, obs *observer, o *options) {
	from, to := w.a.at, w.b.at
	secs := to.Sub(from).Seconds()
	r.DurationSec = secs
	var starts, e2e []time.Duration
	for _, oc := range outs {
		if oc.err != nil {
			r.Failed++
			if r.FirstError == "" {
				r.FirstError = oc.err.Error()
			}
			continue
		}
		if !oc.begin.Before(from) && oc.begin.Before(to) {
			starts = append(starts, oc.startTook)
		}
		if o.workload != "idle" && !oc.end.Before(from) && oc.end.Before(to) {
			r.Completed++
			e2e = append(e2e, oc.end.Sub(oc.begin))
		}
	}
	if o.workload == "idle" {
		r.Completed = len(starts)
	}
	r.StartMs = latencyFigures(starts, true)
	r.E2EMs = latencyFigures(e2e, false)
	if secs > 0 {
		r.WorkflowsPS = float64(r.Completed) / secs
		per := float64(r.Completed*o.count) / secs
		switch o.workload {
		case "activities":
			r.ActivitiesPS = per
		case "signals":
			r.SignalsPS = per
		case "timers":
			r.TimersPS = per
		case "children":
			r.ChildrenPS = per
		}
		if n, ok := w.histogramCountDelta("state_transition_count"); ok {
			r.TransitionsPS = ptr(n / secs)
		}
	}
	if p, ok := w.histogramQuantile("task_schedule_to_start_latency", 0.95); ok {
		r.ScheduleToStartP95Ms = ptr(p * 1000)
	}
	if all, ok := w.counterDelta("poll_success"); ok && all > 0 {
		if sync, ok := w.counterDelta("poll_success_sync"); ok {
			r.PollSyncRate = ptr(sync / all)
		}
	}
	if cpu, src, ok := w.serverCPU(); ok {
		r.ServerCPUSec, r.ServerCPUSource = ptr(cpu), src
		if r.Completed > 0 {
			r.ServerCPUPer1000 = ptr(cpu / float64(r.Completed) * 1000)
		}
	}
	if cpu, ok := w.clientCPU(); ok && r.Completed > 0 {
		r.ClientCPUPer1000 = ptr(cpu / float64(r.Completed) * 1000)
	}
	if obs.hasDB() {
		cpu := w.dbCPU()
		r.DBCPUSec = ptr(cpu)
		if r.Completed > 0 {
			r.DBCPUPer1000 = ptr(cpu / float64(r.Completed) * 1000)
		}
	}
	if m := memoryOf(obs.pid); m.hwm > 0 {
		r.ServerPeakRSSMB, r.ServerRSSMB = ptr(mb(m.hwm)), ptr(mb(m.rss))
	}
}

func (r *result) fillIdle(open, firstDone int64, before, after memory, startTook time.Duration, b snapshot) {
	id := &idleResult{Open: open, FirstTaskDone: firstDone, StartSec: startTook.Seconds()}
	if before.rss > 0 && after.rss > 0 {
		id.RSSBeforeMB, id.RSSAfterMB, id.PeakRSSMB = ptr(mb(before.rss)), ptr(mb(after.rss)), ptr(mb(after.hwm))
		if open > 0 {
			per := float64(after.rss-before.rss) / float64(open)
			id.BytesPerWorkflow = ptr(per)
			if open < 100_000 {
				id.RSSAt100kMBExtrap = ptr(mb(before.rss) + per*100_000/(1<<20))
				id.ExtrapolationNotes = fmt.Sprintf("linear from %d open workflows: RSS before + 100,000 x bytes per open workflow", open)
			}
		}
	}
	if v, ok := gaugeOrCounter(b.metrics, "memory_heap"); ok {
		id.HeapMB = ptr(v / (1 << 20))
	}
	if v, ok := gaugeOrCounter(b.metrics, "cache_size"); ok {
		id.CacheBytes = ptr(v)
	}
	r.Idle = id
	r.WorkflowsPS = 0
	if startTook > 0 {
		r.WorkflowsPS = float64(open) / startTook.Seconds()
	}
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

func latencyFigures(ds []time.Duration, p99 bool) latencies {
	sortDurations(ds)
	l := latencies{P50: ms(percentile(ds, 0.50)), P95: ms(percentile(ds, 0.95)), N: len(ds)}
	if p99 {
		l.P99 = ms(percentile(ds, 0.99))
	}
	return l
}

// summary is the one-line result.
func (r *result) summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "sundial-bench %s count=%d c=%d %s %.0fs: ", r.Workload, r.Count, r.Concurrency, r.Backend, r.DurationSec)
	if r.Driver == "raw" {
		b.WriteString("[raw driver] ")
	}
	if r.Idle != nil {
		id := r.Idle
		fmt.Fprintf(&b, "%d open workflows (started at %.0f/s), RSS %s -> %s (peak %s), %s/open workflow, heap %s, history cache %s",
			id.Open, r.WorkflowsPS, fmtMB(id.RSSBeforeMB), fmtMB(id.RSSAfterMB), fmtMB(id.PeakRSSMB),
			fmtBytes(id.BytesPerWorkflow), fmtMB(id.HeapMB), fmtBytes(id.CacheBytes))
		if id.RSSAt100kMBExtrap != nil {
			fmt.Fprintf(&b, ", RSS at 100k ~%s (extrapolated)", fmtMB(id.RSSAt100kMBExtrap))
		}
		fmt.Fprintf(&b, "; start p50/p95/p99 %.1f/%.1f/%.1f ms; failed %d", r.StartMs.P50, r.StartMs.P95, r.StartMs.P99, r.Failed)
		return b.String()
	}
	fmt.Fprintf(&b, "%.1f wf/s", r.WorkflowsPS)
	for _, x := range []struct {
		v    float64
		unit string
	}{{r.ActivitiesPS, "activities/s"}, {r.SignalsPS, "signals/s"}, {r.TimersPS, "timers/s"}, {r.ChildrenPS, "children/s"}} {
		if x.v > 0 {
			fmt.Fprintf(&b, ", %.1f %s", x.v, x.unit)
		}
	}
	fmt.Fprintf(&b, ", %s transitions/s", fmtF(r.TransitionsPS, 0))
	fmt.Fprintf(&b, "; start p50/p95/p99 %.1f/%.1f/%.1f ms; e2e p50/p95 %.0f/%.0f ms",
		r.StartMs.P50, r.StartMs.P95, r.StartMs.P99, r.E2EMs.P50, r.E2EMs.P95)
	fmt.Fprintf(&b, "; schedule-to-start p95 %s ms; poll sync %s", fmtF(r.ScheduleToStartP95Ms, 1), fmtPct(r.PollSyncRate))
	fmt.Fprintf(&b, "; server CPU %s s/1000 wf", fmtF(r.ServerCPUPer1000, 2))
	if r.DBCPUPer1000 != nil {
		fmt.Fprintf(&b, " + db %s s/1000 wf", fmtF(r.DBCPUPer1000, 2))
	}
	fmt.Fprintf(&b, " (client %s); peak RSS %s; completed %d, failed %d", fmtF(r.ClientCPUPer1000, 2), fmtMB(r.ServerPeakRSSMB), r.Completed, r.Failed)
	return b.String()
}

func fmtF(v *float64, prec int) string {
	if v == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.*f", prec, *v)
}

func fmtPct(v *float64) string {
	if v == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.1f%%", *v*100)
}

func fmtMB(v *float64) string {
	if v == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.0f MB", *v)
}

func fmtBytes(v *float64) string {
	switch {
	case v == nil:
		return "n/a"
	case *v >= 1<<20:
		return fmt.Sprintf("%.1f MB", *v/(1<<20))
	case *v >= 1<<10:
		return fmt.Sprintf("%.1f KB", *v/(1<<10))
	}
	return fmt.Sprintf("%.0f B", *v)
}

func (r *result) writeJSON(file string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(file, append(b, '\n'), 0o644)
}
